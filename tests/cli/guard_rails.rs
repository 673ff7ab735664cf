//! Guard rails on what users commonly pass by mistake: identifier columns as subgroups, labels
//! written as floats, and group tables too long for a terminal.

use crate::errors::fails_with;
use crate::util::{compare_report, fidelity, fixture, student};

#[test]
fn an_identifier_column_is_refused_as_a_group_column_unless_allowed() {
    let (teacher, int8, data) = (fixture("tweets/teacher.onnx"), fixture("tweets/int8.onnx"), fixture("tweets/test.jsonl"));
    fails_with(
        &[&teacher, &int8, "--data", &data, "--group-column", "id", "--no-speed"],
        &["test.jsonl", "--group-column id", "2000 distinct values in 2000 rows", "identifier", "--allow-many-groups"],
    );
    let (_, report) = compare_report(&[&teacher, &int8, "--data", &data, "--group-column", "id", "--allow-many-groups", "--bootstrap", "0", "--no-speed"]);
    let groups = student(&report, "int8")["statistics"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2000);
    assert!(groups.iter().all(|g| g["too_small"] == true));
}

#[test]
fn the_terminal_shows_the_most_harmed_groups_and_the_report_keeps_all() {
    let args = [
        &fixture("adult/teacher.onnx"),
        &fixture("adult/pruned.onnx"),
        "--data",
        &fixture("adult/test.npz"),
        "--group-column",
        "sex",
        "--group-column",
        "race",
    ];
    let (run, report) = compare_report(&[&args[..], &["--bootstrap", "0", "--no-speed", "--show-groups", "3"]].concat());
    let groups = student(&report, "pruned")["statistics"]["groups"].as_array().unwrap();
    assert!(groups.len() > 3);
    assert!(run.stdout.contains(&format!("(3 of {} groups shown", groups.len())), "{}", run.stdout);
    for g in groups {
        let name = g["name"].as_str().unwrap();
        // A row starts with the group's name, then the two spaces between columns.
        let listed = run.stdout.lines().any(|l| l.strip_prefix(name).is_some_and(|rest| rest.starts_with("  ")));
        assert_eq!(listed, g["harm_rank"].as_u64().is_some_and(|r| r <= 3), "{name}: shown only when among the 3 most harmed");
    }
}

#[test]
fn labels_written_as_whole_floats_are_class_indices() {
    let dir = tempfile::tempdir().unwrap();
    let original = std::fs::read_to_string(fixture("adult/test.csv")).unwrap();
    let label_at = original.lines().next().unwrap().split(',').position(|c| c == "label").unwrap();
    let rewrite = |f: &dyn Fn(&str) -> String| -> String {
        original
            .lines()
            .enumerate()
            .map(|(i, line)| {
                let mut cells: Vec<String> = line.split(',').map(String::from).collect();
                if i > 0 {
                    cells[label_at] = f(&cells[label_at]);
                }
                cells.join(",")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    let floats = dir.path().join("floats.csv");
    std::fs::write(&floats, rewrite(&|l| format!("{l}.0"))).unwrap();
    let models = [fixture("adult/teacher.onnx"), fixture("adult/int8.onnx")];
    let run = |data: &str| compare_report(&[&models[0], &models[1], "--data", data, "--feature-columns", "f*", "--bootstrap", "0", "--no-speed"]).1;
    let (want, got) = (run(&fixture("adult/test.csv")), run(floats.to_str().unwrap()));
    assert_eq!(student(&got, "int8")["fidelity"], student(&want, "int8")["fidelity"]);
    assert_eq!(got["teacher"]["accuracy"], want["teacher"]["accuracy"]);

    let halves = dir.path().join("halves.csv");
    std::fs::write(&halves, rewrite(&|l| if l == "1" { "1.5".into() } else { l.to_string() })).unwrap();
    fails_with(&[&models[0], &models[1], "--data", halves.to_str().unwrap(), "--feature-columns", "f*"], &["halves.csv", "1.5", "whole numbers"]);
}

#[test]
fn a_per_group_gate_lists_the_groups_it_did_not_judge_and_may_fail_them() {
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("gate.junit.xml");
    let base = [&fixture("adult/teacher.onnx"), &fixture("adult/int8.onnx"), "--data", &fixture("adult/test.npz"), "--group-column", "race"];
    let gate = "int8: accuracy_drop <= 0.5 per-group";
    let (run, report) = compare_report(
        &[&base[..], &["--bootstrap", "0", "--no-speed", "--min-group-size", "200", "--gate", gate, "--junit", junit.to_str().unwrap()]].concat(),
    );
    let groups = student(&report, "int8")["statistics"]["groups"].as_array().unwrap();
    let small: Vec<&str> = groups.iter().filter(|g| g["too_small"] == true).map(|g| g["name"].as_str().unwrap()).collect();
    assert!(!small.is_empty() && small.len() < groups.len(), "the fixture needs judged and unjudged groups: {small:?}");
    let not_judged = report["gate"]["not_judged"].as_array().unwrap();
    assert_eq!(not_judged.iter().map(|n| n["group"].as_str().unwrap()).collect::<Vec<_>>(), small);
    assert!(not_judged.iter().all(|n| n["counted_as"] == "skip" && n["reason"].as_str().unwrap().contains("too small")));
    assert_eq!(report["gate"]["checks"].as_array().unwrap().len(), groups.len() - small.len(), "skipped groups are not checks");
    assert!(run.stdout.contains(&format!("{} groups not judged (too small), skipped", small.len())), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("skip int8 · {} · accuracy_drop <= 0.5: not judged", small[0])), "{}", run.stdout);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(xml.matches("<skipped message=").count(), small.len(), "{xml}");
    assert!(xml.contains(&format!("skipped=\"{}\"", small.len())), "{xml}");

    // Counted as failed: the same groups become failed checks and the gate fails (exit 1).
    let out = dir.path().join("fail.json");
    let mut args: Vec<&str> = vec!["compare"];
    args.extend(base);
    let fail_gate = format!("{gate} unjudged-fail");
    args.extend(["--bootstrap", "0", "--no-speed", "--min-group-size", "200", "--gate", &fail_gate, "--quiet", "--out", out.to_str().unwrap()]);
    let run = fidelity(&args, dir.path());
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(report["gate"]["failed"].as_u64().unwrap() as usize, small.len());
    assert!(report["gate"]["not_judged"].as_array().unwrap().iter().all(|n| n["counted_as"] == "fail"));
}
