//! Serving conditions: dynamically quantized models depend on their batch; fidelity checks every
//! model, flags the dependent ones, and computes their numbers under the serving batching.

use crate::util::{assert_close, compare_report, fixture, golden, student};
use serde_json::Value;

fn run(extra: &[&str]) -> (crate::util::Run, Value) {
    let mut args: Vec<String> = ["teacher", "pruned", "distilled", "int8"].iter().map(|m| fixture(&format!("tweets/{m}.onnx"))).collect();
    args.extend(["--data".into(), fixture("tweets/test.jsonl"), "--bootstrap".into(), "0".into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    compare_report(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn loyalty_matches(report: &Value, name: &str, golden: &Value) {
    let f = &student(report, name)["fidelity"];
    for key in ["label_loyalty", "probability_loyalty", "negative_flip_rate", "positive_flip_rate"] {
        assert_close(f, &golden["students"][name], key, 1e-6, name);
    }
}

#[test]
fn the_int8_student_is_flagged_and_the_fp32_teacher_is_not() {
    let (run, report) = run(&[]);
    let int8 = &student(&report, "int8")["model"]["batch_invariance"];
    assert_eq!(int8["invariant"], false);
    assert!(int8["max_change"].as_f64().unwrap() > 1e-3, "{int8}");
    let teacher = &report["teacher"]["batch_invariance"];
    assert_eq!(teacher["invariant"], true);
    assert!(teacher["max_change"].as_f64().unwrap() < 1e-5, "{teacher}");
    assert!(run.stdout.contains("batch-dependent: int8"), "{}", run.stdout);
    assert!(run.stdout.contains("batch-invariant: teacher, pruned, distilled"), "{}", run.stdout);
    assert_eq!(student(&report, "int8")["model"]["batching"]["batch_size"], 32);
    // The check stops once the int8 model is shown dependent; the fp32 ones run the whole sample.
    assert_eq!((&int8["sample"], &int8["stopped_early"], &int8["drawn"]), (&Value::from(8), &Value::from(true), &Value::from(32)));
    assert_eq!((&teacher["sample"], &teacher["stopped_early"]), (&Value::from(32), &Value::from(false)));
}

#[test]
fn the_adult_int8_student_is_flagged_and_the_fp32_students_are_not() {
    let mut args: Vec<String> = ["teacher", "pruned", "distilled", "int8"].iter().map(|m| fixture(&format!("adult/{m}.onnx"))).collect();
    args.extend(["--data", &fixture("adult/test.npz"), "--bootstrap", "0", "--no-speed"].map(String::from));
    let (_, report) = compare_report(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(report["teacher"]["batch_invariance"]["invariant"], true);
    for (name, invariant) in [("pruned", true), ("distilled", true), ("int8", false)] {
        let check = &student(&report, name)["model"]["batch_invariance"];
        assert_eq!(check["invariant"], invariant, "{name}: {check}");
    }
}

#[test]
fn serving_batch_size_one_reruns_only_the_batch_dependent_student() {
    let (_, report) = run(&["--serving-batch-size", "1"]);
    let g = golden("tweets");
    assert_eq!(student(&report, "int8")["model"]["batching"]["batch_size"], 1);
    assert_eq!(student(&report, "pruned")["model"]["batching"]["batch_size"], 32);
    // int8 numbers are those of an independent implementation at batch size 1; the invariant models
    // give the same numbers at either batch size.
    loyalty_matches(&report, "int8", &g["by_batch_size"]["1"]);
    loyalty_matches(&report, "distilled", &g["by_batch_size"]["1"]);
}

#[test]
fn length_sorted_batching_is_kept_only_where_it_cannot_change_the_numbers() {
    let (_, report) = run(&["--batch-order", "length-sorted"]);
    let g = golden("tweets");
    assert_eq!(student(&report, "pruned")["model"]["batching"]["order"], "length-sorted");
    assert_eq!(student(&report, "int8")["model"]["batching"]["order"], "file");
    for name in ["pruned", "distilled", "int8"] {
        loyalty_matches(&report, name, &g["by_batch_size"]["32"]);
    }
}
