//! Outputs as real exporters write them (issue 15, part 1): skl2onnx with and without ZipMap, with
//! string classes, label-only models, one-column binary heads (PyTorch logit, Keras sigmoid), a
//! Keras softmax, and a graph with several outputs; against golden values from
//! fixtures/make_exporters.py (onnxruntime's own outputs, numpy, scipy), made on this machine.

use crate::errors::fails_with;
use crate::util::{assert_close, compare_report, fixture, golden, student};
use serde_json::Value;

const STUDENTS: [&str; 9] = [
    "sklearn_zipmap",
    "sklearn_no_zipmap",
    "sklearn_strings",
    "sklearn_labels_only",
    "sklearn_int_labels_only",
    "binary_logit",
    "keras_sigmoid",
    "keras_softmax",
    "multi_output",
];
const POINT: [&str; 9] = [
    "teacher_accuracy",
    "student_accuracy",
    "accuracy_delta",
    "label_loyalty",
    "probability_loyalty",
    "negative_flip_rate",
    "positive_flip_rate",
    "mean_kl",
    "agreements",
];

fn run(extra: &[&str]) -> Value {
    let mut args = vec![fixture("adult/teacher.onnx")];
    args.extend(STUDENTS.iter().map(|s| fixture(&format!("exporters/{s}.onnx"))));
    args.extend(["--data", &fixture("adult/test.npz"), "--no-speed"].map(String::from));
    args.extend(extra.iter().map(|s| s.to_string()));
    compare_report(&args.iter().map(String::as_str).collect::<Vec<_>>()).1
}

#[test]
fn every_exporter_output_matches_an_independent_computation() {
    let report = run(&["--bootstrap", "100", "--group-column", "sex"]);
    let golden = golden("exporters");
    for name in STUDENTS {
        let s = student(&report, name);
        let g = &golden["students"][name];
        assert_eq!(s["model"]["output"], g["output"], "{name}: the output read");
        for key in POINT {
            assert_close(&s["fidelity"], &g["overall"], key, 1e-9, name);
        }
    }
}

#[test]
fn label_only_models_report_probability_metrics_as_not_available() {
    let report = run(&["--bootstrap", "100", "--group-column", "sex"]);
    for name in ["sklearn_labels_only", "sklearn_int_labels_only"] {
        let s = student(&report, name);
        assert_eq!(s["model"]["output_kind"], "labels", "{name}");
        assert_eq!(s["model"]["output_layout"], "labels", "{name}");
        assert_eq!(s["model"]["output_kind_detected"], false, "{name}");
        assert!(s["fidelity"]["probability_loyalty"].is_null() && s["fidelity"]["mean_kl"].is_null(), "{name}: {}", s["fidelity"]);
        assert_eq!(s["fidelity"]["kl_infinite"], 0, "{name}");
        assert!(s["js_histogram"].is_null(), "{name}");
        let intervals = &s["statistics"]["intervals"];
        assert!(intervals["probability_loyalty"].is_null() && intervals["label_loyalty"]["lower"].is_number(), "{name}: {intervals}");
        for g in s["statistics"]["groups"].as_array().unwrap() {
            assert!(g["probability_loyalty"].is_null() && g["mean_kl"].is_null() && g["label_loyalty"].is_number(), "{name}: {g}");
        }
        for d in s["disagreements"].as_array().unwrap() {
            assert!(d["student_probability"].is_null() && d["teacher_probability"].is_null(), "{name}: {d}");
        }
    }
    // String classes come from the graph (ZipMap keys, classifier labels).
    assert_eq!(student(&report, "sklearn_strings")["model"]["class_labels"], serde_json::json!(["<=50K", ">50K"]));
    assert_eq!(student(&report, "sklearn_zipmap")["model"]["class_labels"], serde_json::json!([0, 1]));
}

#[test]
fn the_report_says_which_output_was_read_and_how() {
    let report = run(&["--bootstrap", "0"]);
    let model = |name: &str| student(&report, name)["model"].clone();
    let zipmap = model("sklearn_zipmap");
    let selection = zipmap["output_selection"].as_str().unwrap();
    assert!(selection.contains("ZipMap 'output_probability'") && selection.contains("'probabilities'") && selection.contains("keys (0, 1)"), "{selection}");
    assert_eq!(zipmap["output_kind"], "probabilities");
    let multi = model("multi_output");
    let selection = multi["output_selection"].as_str().unwrap();
    assert!(selection.contains("probabilities") && selection.contains("hidden, logits") && selection.contains("--output"), "{selection}");
    // One column: a Gemm's logit and a Sigmoid's probability, both two-class rows now.
    let logit = model("binary_logit");
    assert_eq!((logit["output_kind"].as_str(), logit["output_producer"].as_str(), logit["classes"].as_u64()), (Some("logits"), Some("Gemm"), Some(2)));
    let sigmoid = model("keras_sigmoid");
    assert_eq!((sigmoid["output_kind"].as_str(), sigmoid["output_producer"].as_str()), (Some("probabilities"), Some("Sigmoid")));
    assert_eq!(model("keras_softmax")["output_kind"], "probabilities");
}

#[test]
fn output_names_one_output_per_model_or_for_all() {
    let report = run(&["--bootstrap", "0", "--output", "multi_output=logits"]);
    let golden = &golden("exporters")["multi_output_logits"];
    let s = student(&report, "multi_output");
    assert_eq!(s["model"]["output"], "logits");
    assert_eq!(s["model"]["output_selection"], "named by --output");
    assert_eq!(s["model"]["output_kind"], "logits");
    for key in POINT {
        assert_close(&s["fidelity"], &golden["overall"], key, 1e-9, "multi_output via logits");
    }
    // The ZipMap's own name reads it through its input, as by default.
    let report = run(&["--bootstrap", "0", "--output", "sklearn_zipmap=output_probability"]);
    assert_eq!(student(&report, "sklearn_zipmap")["model"]["output"], "output_probability");
}

#[test]
fn output_flags_that_name_nothing_are_errors() {
    let (t, s) = (fixture("adult/teacher.onnx"), fixture("exporters/multi_output.onnx"));
    let data = fixture("adult/test.npz");
    fails_with(&[&t, &s, "--data", &data, "--output", "multi_output=scores"], &["model multi_output", "no output 'scores'", "hidden", "logits", "probabilities"]);
    fails_with(&[&t, &s, "--data", &data, "--output", "student=logits"], &["--output student=logits", "no model is named 'student'", "teacher, multi_output"]);
    fails_with(&[&t, &s, "--data", &data, "--output", "teacher=logits", "--output", "multi_output=hidden"], &["model multi_output", "outputs 8 classes"]);
}

#[test]
fn a_probability_gate_on_a_label_only_model_fails_as_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let args = [
        "compare",
        &fixture("adult/teacher.onnx"),
        &fixture("exporters/sklearn_labels_only.onnx"),
        "--data",
        &fixture("adult/test.npz"),
        "--no-speed",
        "--bootstrap",
        "0",
        "--gate",
        "probability_loyalty >= 0.5",
        "--gate",
        "label_loyalty >= 0.5",
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    let run = crate::util::fidelity(args, dir.path());
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let checks = report["gate"]["checks"].as_array().unwrap();
    let by_metric = |m: &str| checks.iter().find(|c| c["metric"] == m).unwrap_or_else(|| panic!("no {m} check in {checks:?}"));
    assert_eq!(by_metric("probability_loyalty")["passed"], false);
    assert!(by_metric("probability_loyalty")["note"].as_str().unwrap().contains("unavailable"));
    assert_eq!(by_metric("label_loyalty")["passed"], true);
}

#[test]
fn a_one_column_output_forced_to_probabilities_must_hold_probabilities() {
    let (t, s) = (fixture("exporters/keras_softmax.onnx"), fixture("exporters/binary_logit.onnx"));
    fails_with(&[&t, &s, "--data", &fixture("adult/test.npz"), "--outputs", "probabilities"], &["binary_logit", "not a probability in [0, 1]", "--outputs logits"]);
    // Forced to logits (with a logit teacher), the head compares as by default (detected from its Gemm).
    let t = fixture("adult/teacher.onnx");
    let args = [t.as_str(), s.as_str(), "--data", &fixture("adult/test.npz"), "--no-speed", "--bootstrap", "0"];
    let detected = compare_report(&args).1;
    let forced = compare_report(&[&args[..], &["--outputs", "logits"]].concat()).1;
    assert_eq!(student(&detected, "binary_logit")["fidelity"], student(&forced, "binary_logit")["fidelity"]);
    assert_eq!(student(&forced, "binary_logit")["model"]["output_kind_detected"], false);
}

#[test]
fn a_suite_names_the_output_per_model() {
    let dir = tempfile::tempdir().unwrap();
    let suite = dir.path().join("exporters.toml");
    let toml = format!(
        "name = \"exporters\"\n[teacher]\npath = '{}'\n[[students]]\npath = '{}'\noutput = \"logits\"\n[data]\npath = '{}'\n[evaluation]\nspeed = false\n[statistics]\nbootstrap = 0\n",
        fixture("adult/teacher.onnx"),
        fixture("exporters/multi_output.onnx"),
        fixture("adult/test.npz")
    );
    std::fs::write(&suite, toml).unwrap();
    let report = compare_report(&["--suite", suite.to_str().unwrap()]).1;
    let s = student(&report, "multi_output");
    assert_eq!(s["model"]["output"], "logits");
    assert_close(&s["fidelity"], &golden("exporters")["multi_output_logits"]["overall"], "probability_loyalty", 1e-9, "suite output");
}
