//! The natural-noise stage against an independent reference: fidelity writes the noisy inputs it
//! gave the models (`--noise-out`), and fixtures/noise_reference.py runs the committed models on
//! them and on the clean examples through Python onnxruntime and computes every figure with numpy
//! (and, for Adult, checks the noise's scale). Both run on this machine, so the int8 numbers agree
//! on any kernel class.

use crate::util::{assert_close, compare_report, fidelity, fixture, root, student};
use serde_json::Value;
use std::process::Command;

const STUDENTS: [&str; 3] = ["pruned", "distilled", "int8"];

/// The reference's figures for the noisy inputs in `noisy` (scripts/golden.sh noise ...).
fn reference(case: &str, noisy: &std::path::Path) -> Value {
    let out = noisy.with_extension("reference.json");
    let made = Command::new("bash")
        .arg(root().join("scripts/golden.sh"))
        .args(["noise", out.to_str().unwrap(), case, noisy.to_str().unwrap()])
        .current_dir(root())
        .output()
        .expect("bash runs");
    assert!(made.status.success(), "fixtures/noise_reference.py failed:\n{}\n{}", String::from_utf8_lossy(&made.stdout), String::from_utf8_lossy(&made.stderr));
    serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
}

fn spec(level: &Value) -> String {
    format!("{}:{}", level["kind"].as_str().unwrap(), level["rate"].as_f64().unwrap())
}

/// Every figure of the report's noise section equals the reference's to 1e-12.
fn check(report: &Value, expected: &Value, case: &str) {
    let levels = report["noise"]["levels"].as_array().unwrap();
    assert!(!levels.is_empty(), "{case}: no noise levels ran");
    for (l, level) in levels.iter().enumerate() {
        let want = &expected["levels"][spec(level)];
        assert!(want.is_object(), "{case}: the reference has no level {}", spec(level));
        let own = |m: &Value| m["noise"][l].clone();
        for (name, model) in std::iter::once(("teacher", &report["teacher"])).chain(STUDENTS.iter().map(|s| (*s, &student(report, s)["model"]))) {
            let context = format!("{case} {name} at {}", spec(level));
            assert_eq!(own(model)["level"], *level, "{context}");
            for key in ["clean_accuracy", "noisy_accuracy", "accuracy_drop", "stability"] {
                assert_close(&own(model), &want["models"][name], key, 1e-12, &context);
            }
        }
        for name in STUDENTS {
            let got = &student(report, name)["noise"][l];
            let context = format!("{case} {name} against the teacher at {}", spec(level));
            for key in ["label_loyalty", "clean_label_loyalty", "noisy_accuracy_drop", "robustness_gap"] {
                assert_close(got, &want["students"][name], key, 1e-12, &context);
            }
            let iv = &got["intervals"]["robustness_gap"];
            let (lo, hi, point) = (iv["lower"].as_f64().unwrap(), iv["upper"].as_f64().unwrap(), got["robustness_gap"].as_f64().unwrap());
            assert!(lo <= point && point <= hi, "{context}: the gap's interval [{lo}, {hi}] misses {point}");
        }
    }
}

fn run_with_noise(suite: &str, extra: &[&str]) -> (Value, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let noisy = dir.path().join("noisy.jsonl");
    let suite = root().join("suites").join(suite);
    let mut args = vec!["--suite", suite.to_str().unwrap(), "--noise", "--noise-out", noisy.to_str().unwrap(), "--integer-numerics", "cpu"];
    args.extend(["--no-speed", "--attack-n", "0", "--bootstrap", "200"]);
    args.extend(extra);
    let (_, report) = compare_report(&args);
    (report, dir)
}

#[test]
fn tweets_noise_matches_the_numpy_reference() {
    let (report, dir) = run_with_noise("tweets.toml", &[]);
    let expected = reference("tweets", &dir.path().join("noisy.jsonl"));
    let sample = expected["sample"].as_array().unwrap();
    assert_eq!(sample.len(), 1000, "the default sample is 1000 of the 2000 examples");
    assert!(sample.windows(2).all(|w| w[0].as_u64() < w[1].as_u64()), "the sample is in data order");
    check(&report, &expected, "tweets");
}

#[test]
fn adult_noise_matches_the_numpy_reference_and_has_the_asked_scale() {
    let (report, dir) = run_with_noise("adult.toml", &[]);
    let expected = reference("adult", &dir.path().join("noisy.jsonl"));
    check(&report, &expected, "adult");
    for (level, c) in expected["noise_checks"].as_object().unwrap() {
        let (mean, std) = (c["z_mean"].as_f64().unwrap(), c["z_std"].as_f64().unwrap());
        // 1000 × 46 standard normal draws: the mean's standard error is 0.005, the std's 0.0033.
        assert!(mean.abs() < 0.03 && (std - 1.0).abs() < 0.03, "{level}: (noisy - clean) / (rate sigma) has mean {mean}, std {std}");
        assert_eq!(c["constant_features_unchanged"], true, "{level}");
    }
}

fn noisy_lines(dir: &tempfile::TempDir, level: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir.path().join("noisy.jsonl")).unwrap();
    text.lines().filter(|l| l.contains(&format!("\"level\":\"{level}\""))).map(String::from).collect()
}

/// A level's noise depends on the seed, the level and the example only: not on which other levels
/// run, nor on the thread count; rate 0 gives the clean inputs and costs nothing.
#[test]
fn noise_is_a_function_of_seed_level_and_example() {
    let (_, alone) = run_with_noise("tweets.toml", &["--noise-levels", "typos:0.05", "--noise-examples", "300"]);
    let (_, beside) = run_with_noise("tweets.toml", &["--noise-levels", "dropout:0.1,typos:0.05", "--noise-examples", "300", "--threads", "1"]);
    let lines = noisy_lines(&alone, "typos:0.05");
    assert_eq!(lines.len(), 300);
    assert_eq!(lines, noisy_lines(&beside, "typos:0.05"));

    let (report, zero) = run_with_noise("tweets.toml", &["--noise-levels", "typos:0,dropout:0", "--noise-examples", "300"]);
    let clean: Vec<Value> = std::fs::read_to_string(fixture("tweets/test.jsonl")).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    for line in noisy_lines(&zero, "typos:0").iter().chain(&noisy_lines(&zero, "dropout:0")) {
        let row: Value = serde_json::from_str(line).unwrap();
        assert_eq!(row["text"], clean[row["example"].as_u64().unwrap() as usize]["text"], "rate 0 changed a text");
    }
    for name in STUDENTS {
        for c in student(&report, name)["noise"].as_array().unwrap() {
            assert_eq!((c["robustness_gap"].as_f64(), &c["label_loyalty"]), (Some(0.0), &c["clean_label_loyalty"]), "{name}: rate 0 cost something");
            assert_eq!(c["intervals"]["robustness_gap"], serde_json::json!({"lower": 0.0, "upper": 0.0}));
        }
        assert!(student(&report, name)["model"]["noise"].as_array().unwrap().iter().all(|m| m["stability"] == 1.0));
    }
}

#[test]
fn noise_gates_judge_the_worst_level() {
    let dir = tempfile::tempdir().unwrap();
    let suite = root().join("suites/tweets.toml");
    let run = |gate: &str| {
        let args = ["compare", "--suite", suite.to_str().unwrap(), "--noise-examples", "300", "--no-speed", "--attack-n", "0", "--bootstrap", "100", "--gate", gate, "-q"];
        let out = dir.path().join("r.json");
        let run = fidelity(args.iter().copied().chain(["--out", out.to_str().unwrap()]), dir.path());
        (run, serde_json::from_str::<Value>(&std::fs::read_to_string(&out).unwrap()).unwrap())
    };
    let (passed, report) = run("pruned: noise_robustness_gap <= 0.5");
    assert_eq!(passed.code, 0, "{}", passed.stderr);
    let worst = student(&report, "pruned")["noise"].as_array().unwrap().iter().map(|c| c["robustness_gap"].as_f64().unwrap()).fold(f64::MIN, f64::max);
    let check = report["gate"]["checks"].as_array().unwrap().iter().find(|c| c["metric"] == "noise_robustness_gap" && c["student"] == "pruned").unwrap();
    assert_close(check, &serde_json::json!({ "value": worst }), "value", 0.0, "the gate's value is the worst level's gap");
    let (failed, _) = run("pruned: noise_label_loyalty >= 0.99");
    assert_eq!(failed.code, 1, "pruned keeps far less than 99 % of the teacher's noisy labels:\n{}", failed.stdout);
}

#[test]
fn bad_noise_settings_exit_2_naming_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let suite = root().join("suites/tweets.toml");
    let s = suite.to_str().unwrap();
    let cases: [(&[&str], &str); 5] = [
        (&["--noise-levels", "blur:0.1"], "unknown kind 'blur'"),
        (&["--noise-levels", "gaussian:0.1"], "the data is text; use typos:RATE or dropout:RATE"),
        (&["--noise-levels", "typos:1.5"], "must be a probability between 0 and 1"),
        (&["--no-noise", "--gate", "noise_label_loyalty >= 0.9"], "needs the noise stage: pass --noise"),
        (&["--no-noise", "--noise-out", "x.jsonl"], "noise is off here"),
    ];
    for (extra, message) in cases {
        let run = fidelity(["compare", "--suite", s].iter().copied().chain(extra.iter().copied()), dir.path());
        assert_eq!(run.code, 2, "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{extra:?}: {}", run.stderr);
    }
    let adult = root().join("suites/adult.toml");
    let run = fidelity(["compare", "--suite", adult.to_str().unwrap(), "--noise-levels", "typos:0.1"], dir.path());
    assert!(run.code == 2 && run.stderr.contains("the data is tensors; use gaussian:RATE"), "{}", run.stderr);
}

/// Without labels there is no accuracy, but loyalty and stability are still measured.
#[test]
fn unlabelled_data_gets_loyalty_and_stability() {
    let f = |p: &str| fixture(&format!("tweets/{p}"));
    let (_, report) = compare_report(&[&f("teacher.onnx"), &f("pruned.onnx"), "--data", &f("test.jsonl"), "--unlabelled", "--noise", "--noise-examples", "200", "--no-speed"]);
    let c = &student(&report, "pruned")["noise"][0];
    assert!(c["robustness_gap"].is_null() && c["noisy_accuracy_drop"].is_null() && c["label_loyalty"].as_f64().unwrap() < 1.0, "{c}");
    let m = &report["teacher"]["noise"][0];
    assert!(m["noisy_accuracy"].is_null() && m["stability"].as_f64().unwrap() < 1.0, "{m}");
}
