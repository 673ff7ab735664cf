//! Sentiment tweets (text, BERT-style WordPiece): the foundation's acceptance checks against
//! golden values from fixtures/make_tweets.py (onnxruntime 1.31.1 + numpy + scipy).

use crate::util::{assert_close, compare_report, fidelity, fixture, golden, student};
use serde_json::Value;

const STUDENTS: [&str; 3] = ["pruned", "distilled", "int8"];

fn models() -> Vec<String> {
    ["teacher", "pruned", "distilled", "int8"].iter().map(|m| fixture(&format!("tweets/{m}.onnx"))).collect()
}

fn run(extra: &[&str]) -> Value {
    let mut args = models();
    args.extend(["--data".into(), fixture("tweets/test.jsonl"), "--bootstrap".into(), "0".into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    compare_report(&args.iter().map(String::as_str).collect::<Vec<_>>()).1
}

/// Compares every student of a report with one `by_batch_size` block of the golden file.
fn assert_matches(report: &Value, golden: &Value, loyalty_key: &str) {
    assert_close(&report["teacher"], &golden["teacher"], "accuracy", 1e-6, "teacher");
    for name in STUDENTS {
        let f = &student(report, name)["fidelity"];
        let g = &golden["students"][name];
        assert_close(f, &serde_json::json!({ "student_accuracy": g["accuracy"] }), "student_accuracy", 1e-6, name);
        for key in ["label_loyalty", "mean_kl", "negative_flip_rate", "positive_flip_rate"] {
            assert_close(f, g, key, 1e-6, name);
        }
        assert_close(f, &serde_json::json!({ "probability_loyalty": g[loyalty_key] }), "probability_loyalty", 1e-6, name);
        for key in ["agreements", "negative_flips", "positive_flips"] {
            assert_eq!(f[key], g[key], "{name}: {key}");
        }
    }
}

#[test]
fn report_matches_golden_values_at_batch_32() {
    let report = run(&[]);
    assert_eq!(report["batching"]["batch_size"], 32);
    assert_eq!(report["conventions"]["js_log_base"], "e");
    assert_eq!(report["data"]["examples"], 2000);
    assert_eq!(report["complete"], true);
    assert_matches(&report, &golden("tweets")["by_batch_size"]["32"], "probability_loyalty");
    // The distilled student ends in Softmax; the others output logits. Both are detected.
    assert_eq!(student(&report, "distilled")["model"]["output_kind"], "probabilities");
    assert_eq!(student(&report, "int8")["model"]["output_kind"], "logits");
    // The distilled graph has no token_type_ids input: inputs are discovered per model.
    let inputs: Vec<&str> = student(&report, "distilled")["model"]["inputs"].as_array().unwrap().iter().map(|i| i["name"].as_str().unwrap()).collect();
    assert_eq!(inputs, ["input_ids", "attention_mask"]);
}

#[test]
fn js_base_two_matches_scipy_base_two() {
    let report = run(&["--js-base", "2"]);
    assert_eq!(report["conventions"]["js_log_base"], "2");
    assert_matches(&report, &golden("tweets")["by_batch_size"]["32"], "probability_loyalty_base2");
}

#[test]
fn batch_size_one_matches_golden_values_at_batch_one() {
    // Dynamic int8 quantization depends on batch composition: golden values state their batching.
    let report = run(&["--batch-size", "1"]);
    assert_eq!(report["batching"]["batch_size"], 1);
    assert_matches(&report, &golden("tweets")["by_batch_size"]["1"], "probability_loyalty");
}

#[test]
fn the_teacher_against_itself_is_perfectly_loyal() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("same.onnx");
    std::fs::copy(fixture("tweets/teacher.onnx"), &copy).unwrap();
    let (_, report) = compare_report(&[&fixture("tweets/teacher.onnx"), copy.to_str().unwrap(), "--data", &fixture("tweets/test.jsonl"), "--bootstrap", "0"]);
    let f = &student(&report, "same")["fidelity"];
    assert_eq!(f["label_loyalty"], 1.0);
    assert_eq!(f["probability_loyalty"], 1.0);
    assert_eq!(f["negative_flip_rate"], 0.0);
    assert_eq!(f["positive_flip_rate"], 0.0);
    assert_eq!(f["mean_kl"], 0.0);
    assert_eq!(f["accuracy_delta"], 0.0);
}

#[test]
fn csv_and_jsonl_of_the_same_rows_give_the_same_report() {
    // test.csv holds the first 300 rows of test.jsonl.
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("first300.jsonl");
    let text = std::fs::read_to_string(fixture("tweets/test.jsonl")).unwrap();
    std::fs::write(&jsonl, text.lines().take(300).collect::<Vec<_>>().join("\n") + "\n").unwrap();
    let with = |data: &str| {
        let mut args = models();
        args.extend(["--data", data, "--bootstrap", "0", "--group-column", "topic", "--tokenizer", &fixture("tweets/tokenizer.json")].map(String::from));
        compare_report(&args.iter().map(String::as_str).collect::<Vec<_>>()).1
    };
    let (a, b) = (with(&fixture("tweets/test.csv")), with(jsonl.to_str().unwrap()));
    assert_eq!(a["data"]["examples"], 300);
    for name in STUDENTS {
        assert_eq!(student(&a, name)["fidelity"], student(&b, name)["fidelity"], "{name}");
        assert_eq!(student(&a, name)["statistics"]["groups"], student(&b, name)["statistics"]["groups"], "{name}");
    }
}

#[test]
fn readme_command_prints_the_table_and_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["compare".to_string()];
    args.extend(models());
    args.extend(["--data".into(), fixture("tweets/test.jsonl"), "--group-column".into(), "topic".into()]);
    let run = fidelity(&args, dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    for name in ["teacher", "pruned", "distilled", "int8"] {
        assert!(run.stdout.lines().any(|l| l.starts_with(name)), "no row for {name}:\n{}", run.stdout);
    }
    assert!(run.stdout.contains("L-L") && run.stdout.contains("P-L") && run.stdout.contains("log base e"));
    assert!(run.stdout.contains("topic=airline"), "topic groups appear with intervals:\n{}", run.stdout);
    // Default report path: reports/<teacher's folder>.json, relative to the working directory.
    let report: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("reports/tweets.json")).unwrap()).unwrap();
    let airline = student(&report, "int8")["statistics"]["groups"].as_array().unwrap().iter().find(|g| g["name"] == "topic=airline").cloned().unwrap();
    assert!(airline["intervals"]["label_loyalty"]["lower"].is_number());
}

#[test]
fn model_sizes_match_the_onnx_python_package() {
    // fixtures/model_facts.json: parameters and nonzero counts from `onnx` + numpy.
    let facts: Value = serde_json::from_str(&std::fs::read_to_string(fixture("model_facts.json")).unwrap()).unwrap();
    let report = run(&["--no-speed"]);
    let models = std::iter::once(&report["teacher"]).chain(report["students"].as_array().unwrap().iter().map(|s| &s["model"]));
    for m in models {
        let name = m["name"].as_str().unwrap();
        let expected = &facts[format!("tweets/{name}.onnx")];
        for key in ["parameters", "nonzero_parameters", "parameter_bytes"] {
            assert_eq!(m["size"][key], expected[key], "{name}: {key}");
        }
        // The tweet models average their tokens before any matrix product: FLOPs do not depend on
        // the sequence length, so the data's mean length gives the script's figure.
        assert_close(&m["size"], expected, "flops_per_example", 1e-9, name);
    }
    let pruned = &student(&report, "pruned")["model"]["size"];
    assert!(pruned["nonzero_parameters"].as_f64().unwrap() / pruned["parameters"].as_f64().unwrap() < 0.11, "the pruned student is ~90 % zeros");
}
