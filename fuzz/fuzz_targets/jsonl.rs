//! JSONL reader: any bytes give examples or a DataError, never a panic.
#![no_main]
use fidelity::data::{parse_examples, Columns, DataFormat};
use fidelity::model::LabelNames;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let columns = Columns { text_pair: Some("hypothesis".into()), groups: vec!["topic".into()], ..Columns::default() };
    let labels = LabelNames::new(vec!["negative".into(), "neutral".into(), "positive".into()]);
    let _ = parse_examples(data, Path::new("fuzz.jsonl"), DataFormat::Jsonl, &columns, Some(&labels));
    let _ = parse_examples(data, Path::new("fuzz.jsonl"), DataFormat::Jsonl, &Columns::default(), None);
});
