//! Black-box attacks through the CLI: every model attacked on the same seeded sample, results in
//! the report and the table, transfer from the teacher, determinism, bad settings.

use crate::util::{compare_report, fidelity, fixture, student};
use serde_json::Value;

fn run(case: &str, data: &str, extra: &[&str]) -> (crate::util::Run, Value) {
    let mut args: Vec<String> = ["teacher", "pruned", "distilled", "int8"].iter().map(|m| fixture(&format!("{case}/{m}.onnx"))).collect();
    args.extend(["--data".into(), fixture(&format!("{case}/{data}")), "--bootstrap".into(), "0".into(), "--no-speed".into()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    compare_report(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn check_summary(a: &Value, attacked: u64) {
    assert_eq!(a["attacked"], attacked);
    let (correct, succeeded) = (a["originally_correct"].as_f64().unwrap(), a["succeeded"].as_f64().unwrap());
    let aa = a["after_attack_accuracy"].as_f64().unwrap();
    assert!((aa - (correct - succeeded) / attacked as f64).abs() < 1e-12, "after-attack accuracy convention");
    assert!((a["attack_success_rate"].as_f64().unwrap() - succeeded / correct).abs() < 1e-12);
    assert!(a["mean_queries"].as_f64().unwrap() <= 300.0);
}

#[test]
fn text_attack_results_for_the_teacher_and_every_student() {
    let (run, report) = run("tweets", "test.jsonl", &["--attack-n", "60", "--group-column", "topic"]);
    check_summary(&report["teacher"]["attack"], 60);
    for name in ["pruned", "distilled", "int8"] {
        let a = &student(&report, name)["model"]["attack"];
        check_summary(a, 60);
        let t = &a["transfer"];
        assert!(t["replayed"].as_u64().unwrap() <= report["teacher"]["attack"]["succeeded"].as_u64().unwrap());
        assert!(a["groups"].as_array().unwrap().iter().map(|g| g["attacked"].as_u64().unwrap()).sum::<u64>() == 60, "groups partition the sample");
    }
    assert!(run.stdout.lines().next().is_some());
    let header = run.stdout.lines().find(|l| l.starts_with("model")).unwrap();
    assert!(header.contains("AA") && header.contains("ASR") && header.contains("#Q"), "{header}");
    assert!(run.stdout.contains("transferred: pruned"), "{}", run.stdout);
    assert!(report["conventions"]["attacks"].as_str().unwrap().contains("cost 0 queries"));
}

#[test]
fn two_runs_with_the_same_seed_attack_identically() {
    let (_, a) = run("tweets", "test.jsonl", &["--attack-n", "30", "--seed", "5"]);
    let (_, b) = run("tweets", "test.jsonl", &["--attack-n", "30", "--seed", "5"]);
    for name in ["pruned", "distilled", "int8"] {
        assert_eq!(student(&a, name)["model"]["attack"], student(&b, name)["model"]["attack"]);
    }
    assert_eq!(a["teacher"]["attack"], b["teacher"]["attack"]);
}

#[test]
fn tensor_attack_on_tabular_models() {
    let (_, report) = run("adult", "test.npz", &["--attack-n", "40", "--attack-epsilon", "0.2", "--attack-queries", "200"]);
    check_summary(&report["teacher"]["attack"], 40);
    assert!(report["teacher"]["attack"]["succeeded"].as_u64().unwrap() > 0, "an eps=0.2 box breaks some tabular examples");
    assert!(student(&report, "int8")["model"]["attack"]["transfer"]["replayed"].is_number());
}

#[test]
fn an_attack_budget_of_zero_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = |p: &str| fixture(&format!("tweets/{p}"));
    let run = fidelity(
        ["compare", &f("teacher.onnx"), &f("int8.onnx"), "--data", &f("test.jsonl"), "--attack-n", "10", "--attack-queries", "0", "--quiet"],
        dir.path(),
    );
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--attack-queries") && run.stderr.contains("at least 1"), "{}", run.stderr);
}

#[test]
fn gates_on_attack_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let f = |p: &str| fixture(&format!("tweets/{p}"));
    let args = |gate: &str| {
        vec![
            "compare".to_string(),
            f("teacher.onnx"),
            f("pruned.onnx"),
            f("int8.onnx"),
            "--data".into(),
            f("test.jsonl"),
            "--attack-n".into(),
            "40".into(),
            "--no-speed".into(),
            "--bootstrap".into(),
            "0".into(),
            "--quiet".into(),
            "--gate".into(),
            gate.to_string(),
        ]
    };
    // The int8 student is fooled by nearly every teacher adversarial example: a tight gate fails.
    let run = fidelity(args("int8: transfer_success_rate <= 0.5"), dir.path());
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("FAIL int8 · transfer_success_rate <= 0.5"));
    let run = fidelity(args("after_attack_accuracy >= 0.0"), dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    // Without attacks, an attack gate is a configuration error.
    let run =
        fidelity(["compare", &f("teacher.onnx"), &f("int8.onnx"), "--data", &f("test.jsonl"), "--quiet", "--gate", "attack_success_rate <= 0.5"], dir.path());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("--attack-n"), "{}", run.stderr);
}

#[test]
fn without_a_terminal_progress_comes_as_plain_lines_naming_phase_model_and_queries() {
    // Regression (issue 14): a long attack in a CI log printed nothing at all.
    let dir = tempfile::tempdir().unwrap();
    let f = |p: &str| fixture(&format!("tweets/{p}"));
    let run = crate::util::fidelity(
        ["compare", &f("teacher.onnx"), &f("int8.onnx"), "--data", &f("test.jsonl"), "--attack-n", "20", "--no-speed", "--bootstrap", "0", "--out", "r.json"],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(lines.iter().any(|l| l.starts_with("fidelity: evaluating: ") && l.contains("model-examples")), "{}", run.stderr);
    for model in ["teacher", "int8"] {
        let line = lines
            .iter()
            .find(|l| l.starts_with(&format!("fidelity: attack {model}: ")))
            .unwrap_or_else(|| panic!("no attack line for {model}:\n{}", run.stderr));
        assert!(line.contains("/20") && line.contains("eta"), "{line}");
    }
    assert!(lines.iter().any(|l| l.contains("queries")), "{}", run.stderr);
    assert!(!run.stderr.contains('\r') && !run.stderr.contains("\u{1b}["), "plain lines, no terminal control codes");
    let quiet = crate::util::fidelity(
        ["compare", &f("teacher.onnx"), &f("int8.onnx"), "--data", &f("test.jsonl"), "--no-speed", "--quiet", "--out", "q.json"],
        dir.path(),
    );
    assert_eq!(quiet.stderr, "", "--quiet silences progress");
}
