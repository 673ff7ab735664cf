//! Parquet reader: any bytes (a damaged footer, page headers, dictionary pages, codec streams)
//! give examples or a DataError, never a panic. Seeds are the fixtures' Parquet files.
#![no_main]
use fidelity::data::{parse_examples, Columns, DataFormat};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let text = Columns { groups: vec!["topic".into()], ..Columns::default() };
    let _ = parse_examples(data, Path::new("fuzz.parquet"), DataFormat::Parquet, &text, None);
    let features = Columns { text: None, features: vec!["f*".into()], groups: vec!["sex".into()], ..Columns::default() };
    let _ = parse_examples(data, Path::new("fuzz.parquet"), DataFormat::Parquet, &features, None);
});
