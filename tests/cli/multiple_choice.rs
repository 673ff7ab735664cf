//! Multiple choice on causal LMs (issue 34, part 5): a cloze test on held-out *Persuasion*
//! (fixtures/make_lm_choices.py) scored by the Jane Austen LM and its students. Every classifier
//! number the choice distributions give is checked against fixtures/choice_reference.py
//! (onnxruntime + numpy + scipy, lm-evaluation-harness's tokenization written out), made on this
//! machine by scripts/golden.sh.

use crate::language_model::refused;
use crate::util::{fidelity, fixture, golden, root};
use serde_json::Value;

const STUDENTS: [&str; 4] = ["int8", "int4", "fp16", "pruned"];

fn lm(file: &str) -> String {
    fixture(&format!("lm/{file}"))
}

/// Every model on the cloze rows, auto-detected as multiple choice; the JSON report.
fn run(extra: &[&str]) -> (crate::util::Run, Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("mc.json");
    let mut args: Vec<String> = vec!["compare".into(), lm("teacher.onnx")];
    args.extend(STUDENTS.iter().map(|s| lm(&format!("{s}.onnx"))));
    args.extend(["--data", &lm("cloze.jsonl"), "--group-column", "chapter", "--quiet", "--out", out.to_str().unwrap()].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    let run = fidelity(&args, &root());
    assert!(run.code == 0 || run.code == 1, "{}\n{}", run.stdout, run.stderr);
    let report = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    (run, report)
}

#[track_caller]
fn close(got: &Value, want: &Value, what: &str) {
    let (x, y) = (got.as_f64().unwrap_or_else(|| panic!("{what}: {got}")), want.as_f64().unwrap());
    assert!((x - y).abs() <= 1e-9, "{what}: fidelity {x}, reference {y}");
}

/// One student's (or one group's) numbers against the reference's.
fn matches(got: &Value, mcnemar: &Value, want: &Value, what: &str) {
    assert_eq!(got["n"], want["n"], "{what}: n");
    for k in ["teacher_accuracy", "student_accuracy", "label_loyalty", "probability_loyalty", "mean_kl"] {
        close(&got[k], &want[k], &format!("{what} {k}"));
    }
    for k in ["agreements", "negative_flips", "positive_flips"] {
        assert_eq!(got[k], want[k], "{what}: {k}");
    }
    assert_eq!((&mcnemar["b"], &mcnemar["c"]), (&want["negative_flips"], &want["positive_flips"]), "{what}: McNemar's discordant pairs");
    close(&mcnemar["p_value"], &want["mcnemar_p"], &format!("{what} McNemar p"));
}

fn check_mode(report: &Value, reference: &Value, mode: &str) {
    assert_eq!(report["data"]["examples"], reference["rows"]);
    let inputs = &report["data"]["inputs"];
    assert_eq!((&inputs["kind"], &inputs["choices"], &inputs["score"], &inputs["max_tokens"]), (&"choices".into(), &4.into(), &mode.into(), &128.into()));
    assert_eq!(inputs["truncated"], reference["truncated"], "rows whose context was cut to 128 tokens");
    for (s, name) in report["students"].as_array().unwrap().iter().zip(STUDENTS) {
        assert_eq!(s["model"]["name"], name);
        let want = &reference[mode][name];
        matches(&s["fidelity"], &s["statistics"]["mcnemar"], want, &format!("{mode} {name}"));
        let groups = s["statistics"]["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 4, "{name}: one group per chapter");
        for g in groups {
            let group = g["name"].as_str().unwrap();
            matches(g, &g["mcnemar"], &want["groups"][group], &format!("{mode} {name} {group}"));
        }
    }
}

#[test]
fn every_classifier_number_of_the_choice_distributions_matches_the_reference() {
    let reference = golden("choices");
    let (run, report) = run(&["--bootstrap", "200"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    check_mode(&report, &reference, "sum");
    // The classifier report around them: choices are the classes, the teacher's accuracy is its own.
    close(&report["teacher"]["accuracy"], &reference["sum"]["int8"]["teacher_accuracy"], "teacher accuracy");
    assert_eq!(report["teacher"]["output_kind"], "logits");
    assert!(report["teacher"]["output_selection"].as_str().unwrap().contains("lm-evaluation-harness's acc"));
    assert!(report["students"][0]["statistics"]["intervals"]["label_loyalty"]["lower"].is_number(), "paired bootstrap intervals");
    assert_eq!(report["students"][0]["classes"]["classes"].as_array().map(Vec::len), Some(4), "per-choice table");
    assert!(run.stdout.contains("multiple choice: 4 choices per row") && run.stdout.contains("67 rows had their context cut"), "{}", run.stdout);
}

#[test]
fn markdown_and_html_reports_say_how_choices_were_scored() {
    let dir = tempfile::tempdir().unwrap();
    let (md, html) = (dir.path().join("mc.md"), dir.path().join("mc.html"));
    run(&["--bootstrap", "0", "--markdown", md.to_str().unwrap(), "--html", html.to_str().unwrap()]);
    let md = std::fs::read_to_string(md).unwrap();
    let html = std::fs::read_to_string(html).unwrap();
    assert!(md.contains("multiple choice: 4 choices per row (the classes)") && md.contains("lm-evaluation-harness's acc)"), "{md}");
    assert!(html.contains("multiple choice: 4 choices per row (the classes)") && html.contains("lm-evaluation-harness&#39;s acc)"), "{html}");
}

#[test]
fn per_character_scores_match_the_reference() {
    let (_, report) = run(&["--choice-score", "per-character", "--bootstrap", "0", "--task", "multiple-choice"]);
    check_mode(&report, &golden("choices"), "per-character");
}

#[test]
fn gates_judge_the_choice_metrics_with_exit_codes() {
    let (gated, report) = run(&["--bootstrap", "0", "--gate", "label_loyalty >= 0.97", "--gate", "negative_flip_rate <= 0.02"]);
    assert_eq!(gated.code, 1, "pruned breaks both gates:\n{}", gated.stdout);
    let checks = report["gate"]["checks"].as_array().unwrap();
    let failed: Vec<&str> = checks.iter().filter(|c| c["passed"] == false).map(|c| c["student"].as_str().unwrap()).collect();
    assert_eq!(failed, ["pruned", "pruned"], "{checks:?}");
    let (passed, _) = run(&["--bootstrap", "0", "--gate", "int8: label_loyalty >= 0.97"]);
    assert_eq!(passed.code, 0, "{}", passed.stdout);
}

#[test]
fn bad_multiple_choice_input_is_refused_naming_the_row_or_flag() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<String> = std::fs::read_to_string(lm("cloze.jsonl")).unwrap().lines().take(20).map(String::from).collect();
    let write = |name: &str, edit: &dyn Fn(usize, &mut Value)| {
        let text: Vec<String> = rows
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut v: Value = serde_json::from_str(l).unwrap();
                edit(i, &mut v);
                v.to_string()
            })
            .collect();
        let path = dir.path().join(name);
        std::fs::write(&path, text.join("\n")).unwrap();
        path.to_string_lossy().into_owned()
    };
    let (teacher, int8) = (lm("teacher.onnx"), lm("int8.onnx"));
    let three = write("three.jsonl", &|i, v| {
        if i == 11 {
            v["choices"].as_array_mut().unwrap().pop();
            v["label"] = 0.into();
        }
    });
    refused(&[&teacher, &int8, "--data", &three], "line 12: 3 choices, but the first row has 4");
    let label = write("label.jsonl", &|i, v| {
        if i == 4 {
            v["label"] = 7.into();
        }
    });
    refused(&[&teacher, &int8, "--data", &label, "--task", "multiple-choice"], "line 5: label 7 is not a choice");
    let empty = write("empty.jsonl", &|i, v| {
        if i == 2 {
            v["choices"][1] = "".into();
        }
    });
    refused(&[&teacher, &int8, "--data", &empty], "line 3: choice 1 (\"\") adds no token");
    let renamed = write("renamed.jsonl", &|_, v| {
        let c = v.as_object_mut().unwrap().remove("choices").unwrap();
        v["options"] = c;
    });
    refused(&[&teacher, &int8, "--data", &renamed, "--task", "multiple-choice"], "no column 'choices'");
    refused(&[&teacher, &lm("other-vocab.onnx"), "--data", &lm("cloze.jsonl")], "must share the teacher's vocabulary");
    refused(&[&teacher, &int8, "--data", &lm("cloze.jsonl"), "--attack-n", "5"], "not available for multiple choice");
    refused(&[&teacher, &int8, "--data", &lm("cloze.jsonl"), "--stride", "5"], "--stride is not available for multiple choice");
    refused(
        &[&fixture("tweets/teacher.onnx"), &fixture("tweets/int8.onnx"), "--data", &fixture("tweets/test.jsonl"), "--choice-score", "sum"],
        "--choice-score is for causal language models",
    );
}
