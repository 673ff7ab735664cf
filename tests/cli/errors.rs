//! Bad input: exit 2 and a one-line message that names the problem; never a panic.

use crate::util::{fidelity, fixture};

pub fn fails_with(args: &[&str], needles: &[&str]) {
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
    fails_with(&[&fixture("adult/teacher.onnx"), &fixture("adult/int8.onnx"), "--data", "/nonexistent/data.npz"], &["/nonexistent/data.npz", "--data"]);
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
fn a_model_with_only_an_argmax_output_is_compared_by_its_labels() {
    // int64 [batch] labels with no class list in the graph: the teacher's three classes.
    let args = [fixture("tweets/teacher.onnx"), fixture("errors/int_output.onnx"), "--data".into(), fixture("tweets/test.jsonl"), "--no-speed".into(), "--bootstrap".into(), "0".into()];
    let report = crate::util::compare_report(&args.iter().map(String::as_str).collect::<Vec<_>>()).1;
    let s = crate::util::student(&report, "int_output");
    assert_eq!((s["model"]["output"].as_str(), s["model"]["output_kind"].as_str(), s["model"]["classes"].as_u64()), (Some("label"), Some("labels"), Some(3)));
    assert!(s["fidelity"]["label_loyalty"].is_number() && s["fidelity"]["probability_loyalty"].is_null());
    // A label-only teacher whose graph does not name its classes cannot say how many there are.
    fails_with(
        &[&fixture("errors/int_output.onnx"), &fixture("tweets/teacher.onnx"), "--data", &fixture("tweets/test.jsonl"), "--tokenizer", &fixture("tweets/tokenizer.json")],
        &["model int_output", "labels only ('label')", "how many classes"],
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

fn tweets(student: &str, data: &str, extra: &[&str]) -> Vec<String> {
    let mut v = vec![fixture("tweets/teacher.onnx"), student.to_string(), "--data".into(), data.to_string()];
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn fails(args: Vec<String>, needles: &[&str]) {
    fails_with(&args.iter().map(String::as_str).collect::<Vec<_>>(), needles);
}

fn write(dir: &std::path::Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn a_truncated_onnx_file() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("tweets/int8.onnx")).unwrap();
    let cut = dir.path().join("cut.onnx");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    fails(tweets(cut.to_str().unwrap(), &fixture("tweets/test.jsonl"), &[]), &["model cut", "cut.onnx", "not a loadable ONNX model"]);
}

#[test]
fn a_student_whose_config_orders_the_classes_differently() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("tweets/int8.onnx"), dir.path().join("int8.onnx")).unwrap();
    write(dir.path(), "config.json", r#"{"id2label": {"0": "positive", "1": "neutral", "2": "negative"}}"#);
    fails(
        tweets(dir.path().join("int8.onnx").to_str().unwrap(), &fixture("tweets/test.jsonl"), &[]),
        &["model int8", "config.json", "[positive, neutral, negative]", "[negative, neutral, positive]", "refuses"],
    );
}

#[test]
fn a_model_input_the_data_cannot_provide() {
    fails(
        vec![
            fixture("adult/teacher.onnx"),
            fixture("adult/int8.onnx"),
            "--data".into(),
            fixture("tweets/test.jsonl"),
            "--tokenizer".into(),
            fixture("tweets/tokenizer.json"),
            "--unlabelled".into(),
        ],
        &["model teacher needs input 'features'", "input_ids, attention_mask, token_type_ids"],
    );
}

#[test]
fn an_empty_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "empty.jsonl", "\n\n");
    fails(tweets(&fixture("tweets/int8.onnx"), &data, &[]), &["empty.jsonl", "no examples"]);
}

#[test]
fn a_malformed_jsonl_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "bad.jsonl", "{\"text\": \"fine\", \"label\": \"neutral\"}\n{\"text\": \"broken\"\n");
    fails(tweets(&fixture("tweets/int8.onnx"), &data, &[]), &["bad.jsonl: line 2", "not valid JSON"]);
}

#[test]
fn a_csv_without_the_text_column() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.csv", "body,label\nhello,neutral\n");
    fails(tweets(&fixture("tweets/int8.onnx"), &data, &[]), &["d.csv", "no column 'text'", "body, label", "--text-column"]);
}

#[test]
fn a_label_outside_the_class_range() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.jsonl", "{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"label\": 7}\n");
    fails(tweets(&fixture("tweets/int8.onnx"), &data, &[]), &["d.jsonl: line 2", "label 7 is outside the model's 3 classes"]);
}

#[test]
fn an_unknown_label_name() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "d.jsonl", "{\"text\": \"a\", \"label\": \"ecstatic\"}\n");
    fails(tweets(&fixture("tweets/int8.onnx"), &data, &[]), &["d.jsonl: line 1", "'ecstatic'", "negative, neutral, positive"]);
}

#[test]
fn an_output_folder_that_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = write(dir.path(), "file", "not a folder");
    fails(
        tweets(&fixture("tweets/int8.onnx"), &fixture("tweets/test.jsonl"), &["--no-speed", "--out", &format!("{blocker}/r.json")]),
        &["cannot write report", "r.json", "--out"],
    );
}

#[test]
fn no_students() {
    let dir = tempfile::tempdir().unwrap();
    let run = fidelity(["compare", &fixture("tweets/teacher.onnx"), "--data", &fixture("tweets/test.jsonl")], dir.path());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("no students"), "{}", run.stderr);
}

#[test]
fn a_zero_batch_size() {
    fails(tweets(&fixture("tweets/int8.onnx"), &fixture("tweets/test.jsonl"), &["--batch-size", "0"]), &["--batch-size", "at least 1"]);
}

#[test]
fn a_data_path_that_is_a_folder() {
    let dir = tempfile::tempdir().unwrap();
    fails(tweets(&fixture("tweets/int8.onnx"), dir.path().to_str().unwrap(), &[]), &["data file", "is not a file", "--data"]);
}

#[test]
fn long_and_empty_texts_are_kept_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let long = "delayed flight again ".repeat(100);
    let data = write(
        dir.path(),
        "d.jsonl",
        &format!("{{\"text\": \"{long}\", \"label\": 0}}\n{{\"text\": \"\", \"label\": 1}}\n{{\"text\": \"fine\", \"label\": 2}}\n"),
    );
    let (run, report) =
        crate::util::compare_report(&[&fixture("tweets/teacher.onnx"), &fixture("tweets/int8.onnx"), "--data", &data, "--bootstrap", "0", "--no-speed"]);
    assert_eq!(report["data"]["inputs"]["truncated"], 1);
    assert_eq!(report["data"]["inputs"]["empty_texts"], 1);
    assert_eq!(report["data"]["examples"], 3);
    assert!(run.stdout.contains("1 examples were truncated to 128 tokens") && run.stdout.contains("1 examples have an empty text"), "{}", run.stdout);
}

#[test]
fn token_ids_outside_the_model_vocabulary() {
    // A tokenizer that knows a word the model's 3,000-row embedding table does not.
    let dir = tempfile::tempdir().unwrap();
    let mut tokenizer: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(fixture("tweets/tokenizer.json")).unwrap()).unwrap();
    tokenizer["model"]["vocab"]["zzzqqq"] = serde_json::json!(5000);
    let tok = write(dir.path(), "tokenizer.json", &tokenizer.to_string());
    let data = write(dir.path(), "d.jsonl", "{\"text\": \"zzzqqq\", \"label\": 0}\n");
    fails(
        tweets(&fixture("tweets/int8.onnx"), &data, &["--tokenizer", &tok]),
        &["model teacher failed during inference", "outside the model's vocabulary", "--tokenizer"],
    );
}

/// Writes an uncompressed .npz holding `features` as int64 (the model wants float32) and labels.
fn npz_with_int_features(path: &std::path::Path) {
    fn npy(descr: &str, shape: &str, body: &[u8]) -> Vec<u8> {
        let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend((header.len() as u16).to_le_bytes());
        out.extend(header.as_bytes());
        out.extend(body);
        out
    }
    let features: Vec<u8> = (0..4 * 46).flat_map(|_| 0i64.to_le_bytes()).collect();
    let labels: Vec<u8> = [0i64, 1, 0, 1].iter().flat_map(|x| x.to_le_bytes()).collect();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    use std::io::Write;
    zip.start_file("features.npy", options).unwrap();
    zip.write_all(&npy("<i8", "(4, 46)", &features)).unwrap();
    zip.start_file("label.npy", options).unwrap();
    zip.write_all(&npy("<i8", "(4,)", &labels)).unwrap();
    zip.finish().unwrap();
}

#[test]
fn a_wrong_input_dtype() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ints.npz");
    npz_with_int_features(&data);
    fails(
        vec![fixture("adult/teacher.onnx"), fixture("adult/int8.onnx"), "--data".into(), data.to_string_lossy().into_owned()],
        &["model teacher", "input 'features' must be float32", "int64"],
    );
}

#[test]
fn a_gate_naming_a_student_that_is_not_compared() {
    fails(
        tweets(&fixture("tweets/int8.onnx"), &fixture("tweets/test.jsonl"), &["--gate", "distilled: label_loyalty >= 0.9"]),
        &["names student 'distilled'", "students: int8"],
    );
}

#[test]
fn a_confidence_level_outside_0_1() {
    fails(tweets(&fixture("tweets/int8.onnx"), &fixture("tweets/test.jsonl"), &["--confidence", "95"]), &["--confidence", "between 0 and 1", "95"]);
}

#[test]
fn a_feature_column_holding_text() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read_to_string(fixture("adult/test.csv")).unwrap();
    let mut lines: Vec<String> = full.lines().take(4).map(String::from).collect();
    let cells: Vec<&str> = lines[2].split(',').collect();
    let mut broken: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
    broken[3] = "n/a".into();
    lines[2] = broken.join(",");
    let data = write(dir.path(), "d.csv", &(lines.join("\n") + "\n"));
    fails(
        vec![fixture("adult/teacher.onnx"), fixture("adult/int8.onnx"), "--data".into(), data, "--feature-columns".into(), "f*".into()],
        &["d.csv: row 2", "feature column 'f3'", "'n/a'", "not a number"],
    );
}

#[test]
fn a_tokenizer_for_tensor_data() {
    fails(
        vec![
            fixture("adult/teacher.onnx"),
            fixture("adult/int8.onnx"),
            "--data".into(),
            fixture("adult/test.npz"),
            "--tokenizer".into(),
            fixture("tweets/tokenizer.json"),
        ],
        &["--tokenizer", "is for text data", "drop --tokenizer"],
    );
}

#[test]
fn a_group_column_given_twice() {
    fails(
        tweets(&fixture("tweets/int8.onnx"), &fixture("tweets/test.jsonl"), &["--group-column", "topic", "--group-column", "topic"]),
        &["--group-column topic", "twice"],
    );
}

#[test]
fn a_missing_suite_says_so_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = fidelity(["compare", "--suite", "nope.toml"], dir.path());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("cannot read suite nope.toml"), "{}", run.stderr);
    assert_eq!(run.stderr.matches("No such file or directory").count(), 1, "the cause is not repeated: {}", run.stderr);
}
