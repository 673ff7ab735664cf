//! Tokenization through the library matches the python `tokenizers` encodings stored in the
//! golden file, for single texts and for text pairs (token type 1 on the second text).

use crate::util::{fixture, golden};
use fidelity::data::text::TextEncoder;
use fidelity::data::Example;
use std::path::Path;

fn example(text: &str, pair: Option<&str>) -> Example {
    Example { origin: "test".into(), text: Some(text.into()), text_pair: pair.map(String::from), label: None, attributes: vec![], features: vec![], image: None }
}

fn ids(v: &serde_json::Value) -> Vec<u32> {
    v.as_array().unwrap().iter().map(|x| x.as_u64().unwrap() as u32).collect()
}

#[test]
fn single_texts_and_pairs_encode_as_python_tokenizers_does() {
    let encoder = TextEncoder::from_file(Path::new(&fixture("tweets/tokenizer.json")), 512).unwrap();
    let golden = golden("tweets");
    for e in golden["first_examples"].as_array().unwrap() {
        let out = encoder.encode(&[example(e["text"].as_str().unwrap(), None)]).unwrap();
        assert_eq!(out.items[0].ids, ids(&e["input_ids"]));
        assert_eq!(out.items[0].type_ids, ids(&e["token_type_ids"]));
    }
    for e in golden["pair_examples"].as_array().unwrap() {
        let out = encoder.encode(&[example(e["premise"].as_str().unwrap(), e["hypothesis"].as_str())]).unwrap();
        assert_eq!(out.items[0].ids, ids(&e["input_ids"]));
        assert_eq!(out.items[0].type_ids, ids(&e["token_type_ids"]));
    }
    assert_eq!(encoder.encode(&[example("x", None)]).unwrap().pad_id, 0);
}

#[test]
fn long_texts_are_truncated_and_counted() {
    // The fixture tokenizer truncates at 128 tokens itself.
    let encoder = TextEncoder::from_file(Path::new(&fixture("tweets/tokenizer.json")), 512).unwrap();
    let long = "delayed flight again ".repeat(100);
    let out = encoder.encode(&[example(&long, None), example("short", None)]).unwrap();
    assert_eq!(out.items[0].ids.len(), 128);
    assert_eq!(out.truncated, 1);
    assert_eq!(out.max_length, 128);
}
