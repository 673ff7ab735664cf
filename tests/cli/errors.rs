//! Bad input: exit 2 and a one-line message that names the problem; never a panic.

use crate::util::{fidelity, fixture};

fn fails_with(args: &[&str], needles: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let mut all = vec!["compare"];
    all.extend(args);
    all.push("--quiet");
    let run = fidelity(&all, dir.path());
    assert_eq!(run.code, 2, "expected exit 2\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one line on stderr, got:\n{}", run.stderr);
    assert!(lines[0].starts_with("error: "), "{}", lines[0]);
    for n in needles {
        assert!(lines[0].contains(n), "'{n}' missing from: {}", lines[0]);
    }
    assert!(!run.stderr.contains("panicked"));
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "no report is written on error");
}

#[test]
fn a_missing_model_file() {
    fails_with(
        &[&fixture("adult/teacher.onnx"), "/nonexistent/student.onnx", "--data", &fixture("adult/test.npz")],
        &["model student", "/nonexistent/student.onnx", "does not exist"],
    );
}

#[test]
fn a_file_that_is_not_onnx() {
    let dir = tempfile::tempdir().unwrap();
    let bogus = dir.path().join("bogus.onnx");
    std::fs::write(&bogus, "this is not a protobuf").unwrap();
    fails_with(
        &[&fixture("adult/teacher.onnx"), bogus.to_str().unwrap(), "--data", &fixture("adult/test.npz")],
        &["model bogus", "bogus.onnx", "not a loadable ONNX model"],
    );
}

#[test]
fn a_missing_data_file() {
    fails_with(
        &[&fixture("adult/teacher.onnx"), &fixture("adult/int8.onnx"), "--data", "/nonexistent/data.npz"],
        &["/nonexistent/data.npz", "--data"],
    );
}

#[test]
fn the_same_model_twice() {
    let t = fixture("adult/teacher.onnx");
    fails_with(&[&t, &format!("again={t}"), "--data", &fixture("adult/test.npz")], &["same file", "teacher", "again"]);
}

#[test]
fn a_missing_feature_column() {
    fails_with(
        &[&fixture("adult/teacher.onnx"), &fixture("adult/int8.onnx"), "--data", &fixture("adult/test.csv"), "--feature-columns", "g*"],
        &["test.csv", "no column 'g*'", "--feature-columns"],
    );
}

#[test]
fn a_student_with_another_class_count() {
    fails_with(
        &[&fixture("tweets/teacher.onnx"), &fixture("errors/two_class.onnx"), "--data", &fixture("tweets/test.jsonl")],
        &["model two_class outputs 2 classes", "teacher", "has 3"],
    );
}

#[test]
fn a_model_without_float_class_scores() {
    fails_with(
        &[&fixture("tweets/teacher.onnx"), &fixture("errors/int_output.onnx"), "--data", &fixture("tweets/test.jsonl")],
        &["model int_output", "no float32 output shaped [batch, classes]", "label"],
    );
}

#[test]
fn nan_outputs_are_never_averaged() {
    fails_with(
        &[&fixture("tweets/teacher.onnx"), &fixture("errors/nan_output.onnx"), "--data", &fixture("tweets/test.jsonl")],
        &["model nan_output", "line 1", "non-finite", "NaN"],
    );
}

#[test]
fn a_gpu_device_without_its_provider() {
    // The fetched ONNX Runtime is the CPU build: ONNX Runtime's own message is passed on.
    fails_with(
        &[&fixture("tweets/teacher.onnx"), &fixture("tweets/int8.onnx"), "--data", &fixture("tweets/test.jsonl"), "--device", "cuda"],
        &["model teacher", "cannot run on cuda:0", "CUDA execution provider is not enabled in this build", "--allow-fallback"],
    );
}

#[test]
fn allow_fallback_runs_on_the_cpu_and_says_so() {
    let (run, report) = crate::util::compare_report(&[
        &fixture("tweets/teacher.onnx"),
        &fixture("tweets/int8.onnx"),
        "--data",
        &fixture("tweets/test.jsonl"),
        "--bootstrap",
        "0",
        "--device",
        "cuda:0",
        "--allow-fallback",
    ]);
    assert_eq!(report["teacher"]["provider"], "CPUExecutionProvider");
    assert_eq!(report["teacher"]["device"]["cuda"], 0);
    assert!(report["teacher"]["fallback"].as_str().unwrap().contains("CUDA"));
    assert!(run.stdout.contains("asked for cuda:0 but runs on CPUExecutionProvider"), "{}", run.stdout);
}

#[test]
fn an_unknown_device() {
    fails_with(
        &[&fixture("tweets/teacher.onnx"), &fixture("tweets/int8.onnx"), "--data", &fixture("tweets/test.jsonl"), "--device", "tpu"],
        &["--device", "unknown device 'tpu'", "cuda[:N]"],
    );
}
