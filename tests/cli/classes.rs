//! Per-class tables and the label-transition matrix against golden values computed independently
//! (fixtures/per_class.py: numpy counts, scipy's binomial test, Holm written from its definition)
//! on the machine under test, for the tweets (3 classes) and Adult (2 classes) fixtures.

use crate::util::{assert_close, compare_report, fixture, golden, student};
use serde_json::Value;

const VALUES: [&str; 8] =
    ["teacher_recall", "student_recall", "recall_delta", "teacher_precision", "student_precision", "precision_delta", "negative_flip_rate", "positive_flip_rate"];

fn check(report: &Value, expected: &Value, students: &[&str], case: &str) {
    assert!(expected.is_object(), "{case}: the golden values have no per-class block; they come from scripts/golden.sh (unset FIDELITY_GOLDEN=committed: the committed golden.json predates it)");
    for name in students {
        let classes = &student(report, name)["classes"];
        let want = &expected[name];
        let rows = classes["classes"].as_array().unwrap();
        let want_rows = want["classes"].as_array().unwrap();
        assert_eq!(rows.len(), want_rows.len(), "{case} {name}: class count");
        for (r, w) in rows.iter().zip(want_rows) {
            let context = format!("{case} {name} class {}", w["class"]);
            assert_eq!(r["class"], w["class"], "{context}");
            for key in ["support", "negative_flips", "positive_flips", "too_small"] {
                assert_eq!(r[key], w[key], "{context}: {key}");
            }
            for key in VALUES {
                assert_close(r, w, key, 1e-12, &context);
            }
            assert_close(&r["mcnemar"], &serde_json::json!({"p_value": w["mcnemar_p"], "p_adjusted": w["p_adjusted"]}), "p_value", 1e-9, &context);
            assert_close(&r["mcnemar"], &serde_json::json!({"p_value": w["mcnemar_p"], "p_adjusted": w["p_adjusted"]}), "p_adjusted", 1e-9, &context);
            if let Some(iv) = r["intervals"]["recall_delta"].as_object() {
                let (lo, hi, point) = (iv["lower"].as_f64().unwrap(), iv["upper"].as_f64().unwrap(), r["recall_delta"].as_f64().unwrap());
                assert!(lo <= point && point <= hi, "{context}: the recall interval [{lo}, {hi}] misses {point}");
            }
        }
        assert_eq!(classes["most_hurt"], want["most_hurt"], "{case} {name}: most hurt class");
        // The transition matrix, from the report's nonzero cells.
        let names: Vec<&str> = want_rows.iter().map(|w| w["class"].as_str().unwrap()).collect();
        let mut matrix = vec![vec![0u64; names.len()]; names.len()];
        for t in classes["transitions"].as_array().unwrap() {
            let at = |k: &str| names.iter().position(|n| *n == t[k].as_str().unwrap()).unwrap();
            matrix[at("teacher")][at("student")] = t["count"].as_u64().unwrap();
        }
        let want_matrix: Vec<Vec<u64>> = serde_json::from_value(want["transitions"].clone()).unwrap();
        assert_eq!(matrix, want_matrix, "{case} {name}: transitions");
    }
}

#[test]
fn tweets_per_class_tables_match_golden_values() {
    let f = |p: &str| fixture(&format!("tweets/{p}"));
    let (run, report) = compare_report(&[&f("teacher.onnx"), &f("pruned.onnx"), &f("distilled.onnx"), &f("int8.onnx"), "--data", &f("test.jsonl"), "--bootstrap", "200", "--no-speed"]);
    check(&report, &golden("tweets")["classes_b32"], &["pruned", "distilled", "int8"], "tweets");
    // The summary names the class that lost most recall, and the terminal shows the table.
    let pruned = &student(&report, "pruned")["classes"]["most_hurt"];
    if let Some(class) = pruned.as_str() {
        assert!(run.stdout.contains("most hurt class: pruned → ") && run.stdout.contains(class), "{}", run.stdout);
        assert!(run.stdout.contains("pruned by class"), "{}", run.stdout);
    }
}

#[test]
fn adult_per_class_tables_match_golden_values() {
    let mut args: Vec<String> = ["teacher", "pruned", "distilled", "int8"].iter().map(|m| fixture(&format!("adult/{m}.onnx"))).collect();
    args.extend(["--data", &fixture("adult/test.npz"), "--bootstrap", "200", "--no-speed"].map(String::from));
    let (_, report) = compare_report(&args.iter().map(String::as_str).collect::<Vec<_>>());
    check(&report, &golden("adult")["classes"], &["pruned", "distilled", "int8"], "adult");
}
