//! Populations and Compression Identified Exemplars against an independent reference:
//! fixtures/population_reference.py runs the 20 committed tweets models (5 seeds each of teacher,
//! pruned, distilled, int8) through Python onnxruntime on this machine and computes every figure
//! with numpy.

use crate::util::{assert_close, compare_report, fidelity, fixture, root, student};
use serde_json::Value;
use std::process::Command;

fn reference() -> Value {
    let out = root().join("target/golden/populations.json");
    std::fs::create_dir_all(out.parent().unwrap()).unwrap();
    let made = Command::new("bash").arg(root().join("scripts/golden.sh")).args(["populations", out.to_str().unwrap()]).current_dir(root()).output().expect("bash runs");
    assert!(made.status.success(), "fixtures/population_reference.py failed:\n{}\n{}", String::from_utf8_lossy(&made.stdout), String::from_utf8_lossy(&made.stderr));
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

#[test]
fn tweets_populations_and_cie_match_the_numpy_reference() {
    let suite = root().join("suites/tweets.toml");
    let (_, report) = compare_report(&[
        "--suite",
        suite.to_str().unwrap(),
        "--integer-numerics",
        "cpu",
        "--no-speed",
        "--attack-n",
        "0",
        "--noise-levels",
        "typos:0.05",
        "--noise-examples",
        "50",
    ]);
    let expected = reference();
    for role in ["teacher", "pruned", "distilled", "int8"] {
        let model = if role == "teacher" { &report["teacher"] } else { &student(&report, role)["model"] };
        let (got, want) = (&model["population"], &expected["populations"][role]);
        let names: Vec<&Value> = got["members"].as_array().unwrap().iter().map(|m| &m["name"]).collect();
        assert_eq!(names, want["members"].as_array().unwrap().iter().collect::<Vec<_>>(), "{role}: members in order");
        for (m, a) in got["members"].as_array().unwrap().iter().zip(want["accuracies"].as_array().unwrap()) {
            assert_close(m, &serde_json::json!({ "accuracy": a }), "accuracy", 1e-12, &format!("{role} member {}", m["name"]));
        }
        for key in ["mean_accuracy", "accuracy_std", "min_accuracy", "max_accuracy", "modal_accuracy"] {
            assert_close(got, want, key, 1e-12, role);
        }
    }
    for role in ["pruned", "distilled", "int8"] {
        let (got, want) = (&student(&report, role)["cie"], &expected["cie"][role]);
        assert_eq!((&got["cie"], &got["examples"], &got["teacher_members"], &got["student_members"]), (&want["cie"], &want["examples"], &Value::from(5), &Value::from(5)), "{role}");
        for key in ["cie_share", "teacher_accuracy_on_cie", "teacher_accuracy_elsewhere", "student_accuracy_on_cie", "student_accuracy_elsewhere"] {
            assert_close(got, want, key, 1e-12, role);
        }
        let groups = got["groups"].as_array().unwrap();
        for w in want["groups"].as_array().unwrap() {
            let g = groups.iter().find(|g| g["name"] == w["name"]).unwrap_or_else(|| panic!("{role}: no group {}", w["name"]));
            assert_eq!((&g["n"], &g["cie"]), (&w["n"], &w["cie"]), "{role} {}", w["name"]);
            assert_close(g, w, "cie_share", 1e-12, role);
            assert_close(g, w, "representation", 1e-12, role);
        }
    }
    // Hooker et al.'s finding holds here: both populations are far less accurate on the CIE.
    let pruned = &student(&report, "pruned")["cie"];
    assert!(pruned["teacher_accuracy_on_cie"].as_f64() < pruned["teacher_accuracy_elsewhere"].as_f64());
}

#[test]
fn populations_from_flags_and_their_errors() {
    let f = |p: &str| fixture(&format!("tweets/{p}"));
    let (t1, p1) = (f("populations/teacher-seed1.onnx"), f("populations/pruned-seed1.onnx"));
    let teacher_flag = format!("teacher={t1}");
    let pruned_flag = format!("pruned={p1}");
    let (_, report) = compare_report(&[&f("teacher.onnx"), &f("pruned.onnx"), "--data", &f("test.jsonl"), "--population", &teacher_flag, "--population", &pruned_flag, "--no-speed"]);
    let c = &student(&report, "pruned")["cie"];
    assert_eq!((c["teacher_members"].as_u64(), c["student_members"].as_u64()), (Some(2), Some(2)));
    assert_eq!(report["teacher"]["population"]["members"][1]["name"], "teacher-seed1");

    let dir = tempfile::tempdir().unwrap();
    let missing = format!("teacher={}", f("populations/nope.onnx"));
    let twice = format!("teacher={}", f("teacher.onnx"));
    let cases: [(&str, &str); 4] = [
        ("nobody=x.onnx", "no role is named 'nobody' (the roles are: teacher, pruned)"),
        ("teacher", "write ROLE=PATH"),
        (&missing, "does not exist or is not a file"),
        (&twice, "is given twice"),
    ];
    for (flag, message) in cases {
        let run = fidelity(["compare", &f("teacher.onnx"), &f("pruned.onnx"), "--data", &f("test.jsonl"), "--population", flag], dir.path());
        assert_eq!(run.code, 2, "{flag}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{flag}: {}", run.stderr);
    }
}
