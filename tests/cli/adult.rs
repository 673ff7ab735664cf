//! UCI Adult (tabular, float features): per-group metrics and McNemar tests against golden values
//! from fixtures/make_adult.py (numpy, scipy, statsmodels, fairlearn), batch size 32, file order.

use crate::util::{assert_close, compare_report, fixture, golden, student};
use serde_json::Value;

const STUDENTS: [&str; 3] = ["pruned", "distilled", "int8"];
const POINT: [&str; 7] =
    ["teacher_accuracy", "student_accuracy", "accuracy_delta", "label_loyalty", "probability_loyalty", "negative_flip_rate", "positive_flip_rate"];

fn adult_args(data: &str) -> Vec<String> {
    let mut args: Vec<String> = ["teacher", "pruned", "distilled", "int8"].iter().map(|m| fixture(&format!("adult/{m}.onnx"))).collect();
    args.extend(["--data".into(), fixture(&format!("adult/{data}")), "--group-column".into(), "sex".into(), "--group-column".into(), "race".into()]);
    args
}

fn run(extra: &[&str]) -> Value {
    let mut args = adult_args("test.npz");
    args.extend(extra.iter().map(|s| s.to_string()));
    compare_report(&args.iter().map(String::as_str).collect::<Vec<_>>()).1
}

#[test]
fn per_group_table_matches_golden_values() {
    let report = run(&["--bootstrap", "200"]);
    let golden = golden("adult");
    assert_close(&report["teacher"], &golden["teacher"], "accuracy", 1e-12, "teacher");
    for name in STUDENTS {
        let s = student(&report, name);
        let g = &golden["students"][name];
        for key in POINT {
            assert_close(&s["fidelity"], &g["overall"], key, 1e-9, &format!("{name} overall"));
        }
        assert_eq!(s["statistics"]["mcnemar"]["b"], g["overall"]["mcnemar"]["b"]);
        assert_close(&s["statistics"]["mcnemar"], &g["overall"]["mcnemar"], "p_value", 1e-9, name);
        let groups = s["statistics"]["groups"].as_array().unwrap();
        let expected = g["groups"].as_array().unwrap();
        assert_eq!(groups.len(), expected.len(), "{name}: group count");
        for (a, e) in groups.iter().zip(expected) {
            let context = format!("{name} {}", e["name"]);
            assert_eq!(a["name"], e["name"], "group order");
            assert_eq!(a["n"], e["n"], "{context}");
            assert_eq!(a["too_small"], e["too_small"], "{context}");
            for key in POINT.iter().chain(&["share", "disagreement_share", "representation", "amplification"]) {
                assert_close(a, e, key, 1e-9, &context);
            }
            assert_eq!(a["mcnemar"]["b"], e["mcnemar"]["b"], "{context}");
            assert_eq!(a["mcnemar"]["c"], e["mcnemar"]["c"], "{context}");
            assert_close(&a["mcnemar"], &e["mcnemar"], "p_value", 1e-9, &context);
            let holm = serde_json::json!({ "p": e["p_holm"] });
            assert_close(&serde_json::json!({ "p": a["mcnemar"]["p_adjusted"] }), &holm, "p", 1e-9, &context);
        }
    }
}

#[test]
fn benjamini_hochberg_matches_statsmodels() {
    let report = run(&["--bootstrap", "0", "--correction", "bh"]);
    let golden = golden("adult");
    for name in STUDENTS {
        let groups = student(&report, name)["statistics"]["groups"].as_array().unwrap().clone();
        for (a, e) in groups.iter().zip(golden["students"][name]["groups"].as_array().unwrap()) {
            let (a, e) = (serde_json::json!({ "p": a["mcnemar"]["p_adjusted"] }), serde_json::json!({ "p": e["p_bh"] }));
            assert_close(&a, &e, "p", 1e-9, name);
        }
    }
}

#[test]
fn batch_size_one_matches_golden_values_at_batch_one() {
    let report = run(&["--bootstrap", "0", "--batch-size", "1"]);
    let golden = &golden("adult")["batch_size_1"];
    for name in STUDENTS {
        for key in POINT {
            assert_close(&student(&report, name)["fidelity"], &golden["students"][name]["overall"], key, 1e-9, name);
        }
    }
}

#[test]
fn small_groups_are_reported_as_too_small_and_intervals_are_seeded() {
    let a = run(&["--bootstrap", "300", "--seed", "11"]);
    let b = run(&["--bootstrap", "300", "--seed", "11"]);
    let groups = student(&a, "pruned")["statistics"]["groups"].as_array().unwrap();
    let small: Vec<&Value> = groups.iter().filter(|g| g["too_small"] == true).collect();
    assert!(!small.is_empty());
    for g in &small {
        assert!(g["n"].as_u64().unwrap() < 30);
        assert!(g["intervals"].is_null() && g["harm_rank"].is_null() && g["mcnemar"]["p_adjusted"].is_null());
        assert!(g["teacher_accuracy"].is_number(), "point metrics are still shown");
    }
    assert_eq!(student(&a, "pruned")["statistics"], student(&b, "pruned")["statistics"], "same seed, same intervals");
    let c = run(&["--bootstrap", "300", "--seed", "12"]);
    assert_ne!(student(&a, "pruned")["statistics"]["intervals"], student(&c, "pruned")["statistics"]["intervals"]);
}

#[test]
fn a_group_of_five_is_too_small_to_judge() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("five.csv");
    let full = std::fs::read_to_string(fixture("adult/test.csv")).unwrap();
    // Keep the header and 60 rows, relabelling the race of five of them as a new group.
    let mut lines: Vec<String> = full.lines().take(61).map(str::to_string).collect();
    for line in lines.iter_mut().skip(1).take(5) {
        let cut = line.rfind(',').unwrap();
        line.truncate(cut);
        line.push_str(",Tiny");
    }
    std::fs::write(&csv, lines.join("\n") + "\n").unwrap();
    let mut args: Vec<String> = ["teacher", "int8"].iter().map(|m| fixture(&format!("adult/{m}.onnx"))).collect();
    args.extend(["--data", csv.to_str().unwrap(), "--feature-columns", "f*", "--group-column", "race", "--bootstrap", "50"].map(String::from));
    let (run, report) = compare_report(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let tiny = student(&report, "int8")["statistics"]["groups"].as_array().unwrap().iter().find(|g| g["name"] == "race=Tiny").cloned().unwrap();
    assert_eq!(tiny["n"], 5);
    assert_eq!(tiny["too_small"], true);
    assert!(run.stdout.contains("race=Tiny") && run.stdout.contains("too small (< 30)"), "{}", run.stdout);
}

#[test]
fn csv_feature_columns_match_golden_values_for_those_rows() {
    // test.csv holds the first 1000 rows of test.npz, floats written to round-trip exactly; at batch
    // size 1 rows do not affect each other, so golden batch-1 outputs of those rows apply.
    let mut args = adult_args("test.csv");
    args.extend(["--feature-columns", "f*", "--bootstrap", "0", "--batch-size", "1"].map(String::from));
    let (_, report) = compare_report(&args.iter().map(String::as_str).collect::<Vec<_>>());
    let golden = &golden("adult")["csv_rows_batch_1"];
    assert_eq!(report["data"]["examples"], golden["rows"]);
    assert_eq!(report["data"]["inputs"]["arrays"][0][0], "features");
    assert_eq!(report["data"]["columns"]["features"].as_array().unwrap().len(), 46);
    assert_close(&report["teacher"], &golden["teacher"], "accuracy", 1e-12, "teacher");
    for name in STUDENTS {
        for key in POINT {
            assert_close(&student(&report, name)["fidelity"], &golden["students"][name]["overall"], key, 1e-9, name);
        }
    }
}
