//! Streaming: the data passes through every model a chunk at a time. The numbers must not depend on
//! the chunk size (apart from the batch-invariance sample, drawn from the first chunk), and a bad
//! row in a late chunk still fails cleanly.

use crate::util::{fidelity, fixture};
use serde_json::Value;

/// The report without what legitimately depends on the chunk size or the clock.
fn comparable(v: Value) -> Value {
    crate::util::without_keys(
        v,
        &[
            "inference_seconds",
            "cache",
            "onnxruntime_seconds",
            "library",
            "library_origin",
            "speed",
            "session_memory_bytes",
            "peak_rss_bytes",
            "chunk_size",
            "batch_invariance",
        ],
    )
}

fn run(args: &[String], chunk: Option<&str>) -> Value {
    let mut all = args.to_vec();
    if let Some(c) = chunk {
        all.extend(["--chunk-size".into(), c.into()]);
    }
    let (_, report) = crate::util::compare_report(&all.iter().map(String::as_str).collect::<Vec<_>>());
    if let Some(c) = chunk {
        assert_eq!(report["batching"]["chunk_size"].as_u64(), c.parse().ok(), "the chunk size is reported");
    }
    report
}

#[test]
fn text_results_do_not_depend_on_the_chunk_size() {
    let f = |p: &str| fixture(&format!("tweets/{p}"));
    // Serving batch 8 != evaluation batch 32: batch-dependent models are re-run at 8 in every chunk.
    let args: Vec<String> = [f("teacher.onnx"), f("pruned.onnx"), f("int8.onnx"), "--data".into(), f("test.jsonl")]
        .into_iter()
        .chain(["--group-column", "topic", "--attack-n", "30", "--bootstrap", "200", "--serving-batch-size", "8", "--no-speed"].map(String::from))
        .collect();
    let whole = run(&args, None);
    let chunked = run(&args, Some("96"));
    assert_eq!(whole["batching"]["chunk_size"], 8192, "2,000 rows fit one default chunk");
    assert_eq!(whole["data"]["examples"], 2000);
    assert!(whole["students"][1]["model"]["attack"]["attacked"].as_u64() == Some(30));
    // Both clocks are recorded for every model. Which is larger is not asserted: time inside ONNX
    // Runtime covers more calls (invariance check, attacks) but the pass also counts tokenizing,
    // and on a loaded machine either can win.
    for m in std::iter::once(&whole["teacher"]).chain(whole["students"].as_array().unwrap().iter().map(|s| &s["model"])) {
        let (all, pass) = (m["onnxruntime_seconds"].as_f64().unwrap(), m["inference_seconds"].as_f64().unwrap());
        assert!(pass > 0.0 && all > 0.0 && pass.is_finite() && all.is_finite(), "{all}, {pass}");
    }
    assert!(comparable(whole) == comparable(chunked), "a 96-example chunk changes the numbers");
}

#[test]
fn csv_feature_results_do_not_depend_on_the_chunk_size() {
    let f = |p: &str| fixture(&format!("adult/{p}"));
    let args: Vec<String> = [f("teacher.onnx"), f("pruned.onnx"), f("int8.onnx"), "--data".into(), f("test.csv")]
        .into_iter()
        .chain(
            ["--feature-columns", "f*", "--group-column", "sex", "--group-column", "race", "--attack-n", "20", "--bootstrap", "100", "--no-speed"]
                .map(String::from),
        )
        .collect();
    let whole = run(&args, None);
    let chunked = run(&args, Some("64"));
    assert_eq!(whole["data"]["inputs"]["arrays"][0][1], serde_json::json!([1000, 46]), "the shape counts every chunk");
    assert_eq!(whole["teacher"]["attack"]["attacked"], 20);
    assert!(comparable(whole) == comparable(chunked), "64-example chunks change the numbers");
}

#[test]
fn a_bad_row_in_a_late_chunk_exits_2_naming_it_and_writes_no_report() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("late.jsonl");
    let mut lines: Vec<String> = std::fs::read_to_string(fixture("tweets/test.jsonl")).unwrap().lines().map(str::to_string).collect();
    lines[1500] = "{\"text\": \"fine\", \"label\": \"sarcastic\"}".into();
    std::fs::write(&data, lines.join("\n")).unwrap();
    let out = dir.path().join("r.json");
    let t = |p: &str| fixture(&format!("tweets/{p}"));
    let r = fidelity(
        ["compare", &t("teacher.onnx"), &t("int8.onnx"), "--data", data.to_str().unwrap(), "--chunk-size", "64", "--quiet", "--out", out.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("line 1501") && r.stderr.contains("sarcastic"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
    assert!(!out.exists(), "no report from a run that stopped on bad data");
}

/// `src` rewritten with every member stored (`np.savez`) or deflated (`np.savez_compressed`).
fn rezip(src: &str, dst: &std::path::Path, method: zip::CompressionMethod) {
    let mut archive = zip::ZipArchive::new(std::fs::File::open(src).unwrap()).unwrap();
    let mut out = zip::ZipWriter::new(std::fs::File::create(dst).unwrap());
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).unwrap();
        let name = entry.name().unwrap().to_string();
        out.start_file(name, zip::write::SimpleFileOptions::default().compression_method(method)).unwrap();
        std::io::copy(&mut entry, &mut out).unwrap();
    }
    out.finish().unwrap();
}

#[test]
fn npz_archives_stream_stored_or_compressed_with_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let (stored, deflated) = (dir.path().join("stored.npz"), dir.path().join("deflated.npz"));
    rezip(&fixture("adult/test.npz"), &stored, zip::CompressionMethod::Stored);
    rezip(&fixture("adult/test.npz"), &deflated, zip::CompressionMethod::Deflated);
    let f = |p: &str| fixture(&format!("adult/{p}"));
    let args = |data: &std::path::Path| -> Vec<String> {
        [f("teacher.onnx"), f("int8.onnx"), "--data".into(), data.to_string_lossy().into_owned()]
            .into_iter()
            .chain(["--group-column", "sex", "--group-column", "race", "--attack-n", "20", "--bootstrap", "100", "--no-speed"].map(String::from))
            .collect()
    };
    // The same data under another file name.
    let without_path = |mut v: Value| {
        v["data"]["path"] = Value::Null;
        comparable(v)
    };
    let reference = without_path(run(&args(&deflated), None));
    assert_eq!(reference["data"]["inputs"]["arrays"][0][1][1], 46);
    for data in [&stored, &deflated] {
        for chunk in [None, Some("1024"), Some("128")] {
            let report = run(&args(data), chunk);
            assert!(without_path(report) == reference, "{} in chunks of {chunk:?} differs", data.display());
        }
    }
}
