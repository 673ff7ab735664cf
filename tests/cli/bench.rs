//! `fidelity bench`: speed and size alone, on the first examples of the data.

use crate::util::{fidelity, fixture};
use serde_json::Value;

#[test]
fn bench_measures_every_model_and_sizes_match_the_onnx_package() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench.json");
    let r = fidelity(
        [
            "bench",
            "--suite",
            &crate::util::root().join("suites/tweets.toml").to_string_lossy(),
            "--speed-examples",
            "64",
            "--speed-repetitions",
            "3",
            "--out",
            out.to_str().unwrap(),
        ],
        dir.path(),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The suite runs int8 with exact integer numerics too (int8-exact, the same file).
    for name in ["teacher", "pruned", "distilled", "int8", "int8-exact"] {
        assert!(r.stdout.lines().any(|l| l.starts_with(name)), "{name} missing:\n{}", r.stdout);
    }
    assert!(r.stdout.contains("speedup @32") && r.stdout.contains("first 64 examples"), "{}", r.stdout);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["examples"], 64);
    let facts: Value = serde_json::from_str(&std::fs::read_to_string(fixture("model_facts.json")).unwrap()).unwrap();
    let models = report["models"].as_array().unwrap();
    assert_eq!(models.len(), 5);
    for (k, m) in models.iter().enumerate() {
        let name = m["info"]["name"].as_str().unwrap().trim_end_matches("-exact");
        for key in ["parameters", "nonzero_parameters", "parameter_bytes"] {
            assert_eq!(m["size"][key], facts[format!("tweets/{name}.onnx")][key], "{name}: {key}");
        }
        let speed = &m["speed"];
        let sizes: Vec<u64> = speed["throughput"].as_array().unwrap().iter().map(|t| t["batch_size"].as_u64().unwrap()).collect();
        assert_eq!(sizes, vec![1, 2, 4, 8, 16, 32, 64, 128, 256], "{name}: the default batch-size curve");
        assert!(speed["latency_ms_p50"].as_f64().unwrap() > 0.0 && speed["latency_ms_p95"].as_f64() >= speed["latency_ms_p50"].as_f64());
        if k == 0 {
            assert!(speed["speedup"].is_null(), "the teacher is the reference");
        } else {
            let s = &speed["speedup"];
            let (lo, mid, hi) = (s["min"].as_f64().unwrap(), s["median"].as_f64().unwrap(), s["max"].as_f64().unwrap());
            assert!(0.0 < lo && lo <= mid && mid <= hi, "{name}: {s}");
        }
    }
    let written: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(written, vec![std::ffi::OsString::from("bench.json")], "bench writes only --out (never the suite's reports)");
}

#[test]
fn bench_without_speed_is_a_usage_error() {
    let t = |p: &str| fixture(&format!("tweets/{p}"));
    let r = fidelity(["bench", &t("teacher.onnx"), &t("int8.onnx"), "--data", &t("test.jsonl"), "--no-speed"], std::path::Path::new("."));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("drop --no-speed") && r.stderr.trim().lines().count() == 1, "{}", r.stderr);
}
