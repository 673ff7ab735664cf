//! CSV reader, text and feature columns: any bytes give examples or a DataError, never a panic.
#![no_main]
use fidelity::data::{parse_examples, Columns, DataFormat};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let _ = parse_examples(data, Path::new("fuzz.csv"), DataFormat::Csv, &Columns { groups: vec!["g".into()], ..Columns::default() }, None);
    let features = Columns { text: None, features: vec!["f*".into()], ..Columns::default() };
    let _ = parse_examples(data, Path::new("fuzz.csv"), DataFormat::Csv, &features, None);
});
