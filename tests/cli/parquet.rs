//! Parquet data (fixtures/make_parquet.py wrote the copies with pyarrow): the same rows give the
//! same report as the JSONL and .npz originals, apart from what names the file and the clock.

use crate::util::{compare_report, fidelity, fixture, without_keys};
use serde_json::Value;

/// What differs legitimately between two runs on two copies of the same rows: the clock, the
/// library's location, the data file's path and format, and how its rows are named ("line 12" in
/// JSONL is "row 12" in Parquet, both 1-based, the tweets JSONL has no blank lines).
fn comparable(report: Value) -> Value {
    let text = without_keys(
        report,
        &["inference_seconds", "onnxruntime_seconds", "cache", "library", "library_origin", "speed", "session_memory_bytes", "peak_rss_bytes", "path", "format"],
    )
    .to_string();
    serde_json::from_str(&text.replace("\"origin\":\"line ", "\"origin\":\"row ")).unwrap()
}

fn suite_report(suite: &str, extra: &[&str]) -> Value {
    let suite = crate::util::root().join("suites").join(suite);
    let mut args = vec!["--suite", suite.to_str().unwrap(), "--no-speed"];
    args.extend(extra);
    compare_report(&args).1
}

#[test]
fn the_tweets_suite_on_its_parquet_copy_gives_the_jsonl_report() {
    let parquet_data = fixture("tweets/test.parquet");
    let jsonl = suite_report("tweets.toml", &[]);
    let parquet = suite_report("tweets.toml", &["--data", &parquet_data]);
    assert_eq!((parquet["data"]["format"].as_str(), parquet["data"]["examples"].as_u64()), (Some("parquet"), Some(2000)));
    assert!(parquet["students"][0]["disagreements"][0]["origin"].as_str().unwrap().starts_with("row "));
    assert!(comparable(jsonl) == comparable(parquet), "the Parquet copy of tweets gives another report than its JSONL");
}

#[test]
fn the_adult_suite_on_its_parquet_copy_gives_the_npz_report() {
    let parquet_data = fixture("adult/test.parquet");
    let npz = suite_report("adult.toml", &["--bootstrap", "200"]);
    let parquet = suite_report("adult.toml", &["--bootstrap", "200", "--data", &parquet_data, "--feature-columns", "f*"]);
    assert_eq!((parquet["data"]["format"].as_str(), parquet["data"]["examples"].as_u64()), (Some("parquet"), Some(6000)));
    assert_eq!(parquet["data"]["columns"]["features"].as_array().unwrap().len(), 46, "f* matched the 46 feature columns in file order");
    // The models, their metrics, groups, intervals and attacks: everything but how the input was described.
    let (npz, parquet) = (comparable(npz), comparable(parquet));
    for key in ["teacher", "students", "gates"] {
        assert!(npz[key] == parquet[key], "{key} differs between the .npz and Parquet copies of Adult");
    }
}

#[test]
fn a_truncated_or_mistyped_parquet_file_exits_2_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("tweets/test.parquet")).unwrap();
    let cut = dir.path().join("cut.parquet");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (t, s) = (fixture("tweets/teacher.onnx"), fixture("tweets/int8.onnx"));
    let r = fidelity(["compare", &t, &s, "--data", cut.to_str().unwrap(), "--quiet"], dir.path());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("cut.parquet") && r.stderr.contains("not a readable Parquet file"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);

    let data = fixture("tweets/test.parquet");
    let r = fidelity(["compare", &t, &s, "--data", &data, "--text-column", "body", "--quiet"], dir.path());
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no column 'body'") && r.stderr.contains("id, text, label, topic") && r.stderr.contains("--text-column"), "{}", r.stderr);
}
