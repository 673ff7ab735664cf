//! Models as they are deployed (issue 33): float16 and bfloat16 students, and students whose
//! weights live in external data files. The fixtures are fixtures/make_deployed.py's; the reference
//! values are fixtures/deployed_reference.py's (Python onnxruntime + numpy + scipy, made on this
//! machine by scripts/golden.sh).

use crate::util::{compare_report, fidelity, fixture, golden, student};
use serde_json::Value;

fn tweets(p: &str) -> String {
    fixture(&format!("tweets/{p}"))
}

fn deployed(p: &str) -> String {
    fixture(&format!("deployed/{p}"))
}

/// Every count equal, every rate within 1e-9 of the reference.
fn assert_matches_reference(report: &Value, name: &str, reference: &Value) {
    let f = &student(report, name)["fidelity"];
    for key in ["agreements", "negative_flips", "positive_flips"] {
        assert_eq!(f[key], reference[key], "{name}: {key}");
    }
    for (ours, theirs) in [("label_loyalty", "label_loyalty"), ("probability_loyalty", "probability_loyalty"), ("mean_kl", "mean_kl"), ("student_accuracy", "accuracy")] {
        let (a, b) = (f[ours].as_f64().unwrap(), reference[theirs].as_f64().unwrap());
        assert!((a - b).abs() <= 1e-9, "{name}: {ours} = {a}, reference {b}");
    }
}

#[test]
fn float16_and_bfloat16_students_match_onnxruntime_and_numpy() {
    let reference = golden("deployed");
    let (run, report) = compare_report(&[
        &tweets("teacher.onnx"),
        &deployed("tweets-fp16.onnx"),
        &deployed("tweets-bf16-out.onnx"),
        "--data",
        &tweets("test.jsonl"),
        "--bootstrap",
        "0",
        "--no-speed",
    ]);
    for name in ["tweets-fp16", "tweets-bf16-out"] {
        assert_matches_reference(&report, name, &reference[name]);
    }
    let fp16 = &student(&report, "tweets-fp16")["model"];
    assert_eq!(fp16["output_element_type"], "float16");
    assert_eq!(student(&report, "tweets-bf16-out")["model"]["output_element_type"], "bfloat16");
    assert_eq!(report["teacher"]["output_element_type"], "float32");
    assert!(fp16["inputs"].as_array().unwrap().iter().all(|i| i["element_type"] == "int64"), "ids stay int64: {}", fp16["inputs"]);
    assert!(run.stdout.contains("models as deployed: tweets-fp16 output logits float16 (widened exactly)"), "{}", run.stdout);

    // Float features rounded to float16 for an fp16 input, as numpy's astype does (nearest even).
    let adult = |p: &str| fixture(&format!("adult/{p}"));
    let (run, report) = compare_report(&[
        &adult("teacher.onnx"),
        &deployed("adult-fp16.onnx"),
        &deployed("adult-bf16-out.onnx"),
        "--data",
        &adult("test.npz"),
        "--bootstrap",
        "0",
        "--no-speed",
    ]);
    for name in ["adult-fp16", "adult-bf16-out"] {
        assert_matches_reference(&report, name, &reference[name]);
    }
    assert_eq!(student(&report, "adult-fp16")["model"]["inputs"][0]["element_type"], "float16");
    assert!(run.stdout.contains("adult-fp16 inputs features float16 (features converted from float32)"), "{}", run.stdout);
}

#[test]
fn an_fp16_teacher_takes_csv_feature_columns_and_is_attacked_and_noised() {
    // Every stage on a float16 model: CSV features into a float16 input, the tensor attack, noise
    // and speed. Its student is the float32 teacher, so loyalty is high but not perfect.
    let adult = |p: &str| fixture(&format!("adult/{p}"));
    let (_, report) = compare_report(&[
        &deployed("adult-fp16.onnx"),
        &format!("fp32={}", adult("teacher.onnx")),
        "--data",
        &adult("test.csv"),
        "--feature-columns",
        "f*",
        "--label-column",
        "label",
        "--bootstrap",
        "0",
        "--attack-n",
        "20",
        "--noise",
        "--noise-examples",
        "100",
        "--speed-batch-sizes",
        "1,8",
        "--speed-examples",
        "32",
    ]);
    let f = &student(&report, "fp32")["fidelity"];
    assert!(f["label_loyalty"].as_f64().unwrap() > 0.99, "{f}");
    assert!(report["teacher"]["attack"].is_object() && report["teacher"]["speed"].is_object(), "attack and speed ran on the fp16 teacher");
}

#[test]
fn a_model_with_external_data_loads_from_its_own_folder_and_reports_as_the_single_file_model() {
    let run_with = |pruned: &str| {
        compare_report(&[&tweets("teacher.onnx"), &format!("pruned={pruned}"), "--data", &tweets("test.jsonl"), "--bootstrap", "200", "--no-speed"]).1
    };
    let single = run_with(&tweets("pruned.onnx"));
    // compare_report runs in a temporary directory: the data file is found beside the model, not
    // in the working directory.
    let external = run_with(&deployed("external/model.onnx"));
    let (a, b) = (student(&single, "pruned"), student(&external, "pruned"));
    for key in ["fidelity", "statistics", "js_histogram", "disagreements", "classes"] {
        assert_eq!(a[key], b[key], "{key}");
    }
    let model = &b["model"];
    assert_eq!(model["external_data"], serde_json::json!(["model.onnx_data"]));
    let on_disk = |p: &str| std::fs::metadata(deployed(p)).unwrap().len();
    assert_eq!(model["bytes"].as_u64(), Some(on_disk("external/model.onnx") + on_disk("external/model.onnx_data")), "the file and its data");
    assert!(single["students"][0]["model"].get("external_data").is_none(), "absent for a single-file model");
    // fidelity's own reading sizes the external tensors from the graph and counts their nonzero
    // weights by streaming the data file: the pruned student's 10 % shows as in the single file.
    assert_eq!(model["size"], a["model"]["size"]);
    assert!(model["size"]["nonzero_parameters"].as_u64().unwrap() < model["size"]["parameters"].as_u64().unwrap() / 5, "{}", model["size"]);
}

#[test]
fn a_missing_external_data_file_is_exit_2_naming_the_model_and_the_file_before_any_model_runs() {
    let dir = tempfile::tempdir().unwrap();
    let lonely = dir.path().join("model.onnx");
    std::fs::copy(deployed("external/model.onnx"), &lonely).unwrap();
    let out = dir.path().join("report.json");
    let run = fidelity(
        ["compare", &tweets("teacher.onnx"), lonely.to_str().unwrap(), "--data", &tweets("test.jsonl"), "--out", out.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let looked_for = dir.path().join("model.onnx_data");
    assert!(run.stderr.contains("model ") && run.stderr.contains(looked_for.to_str().unwrap()) && run.stderr.contains("does not exist"), "{}", run.stderr);
    assert!(!out.exists(), "no report: nothing ran");
    assert!(!run.stderr.contains("teacher:") && !run.stdout.contains("label loyalty"), "no model ran:\n{}\n{}", run.stdout, run.stderr);
}

#[test]
fn static_shape_exports_run_in_their_own_batches_and_give_the_teachers_labels() {
    let (run, report) = compare_report(&[
        &tweets("teacher.onnx"),
        &deployed("tweets-static-1x128.onnx"),
        &deployed("tweets-static-8x128.onnx"),
        "--data",
        &tweets("test.jsonl"),
        "--bootstrap",
        "0",
        "--speed-batch-sizes",
        "1,32",
        "--speed-examples",
        "64",
    ]);
    for (name, batch) in [("tweets-static-1x128", 1), ("tweets-static-8x128", 8)] {
        let s = student(&report, name);
        let f = &s["fidelity"];
        // The same weights: only the padding differs, and the mean pooling ignores it.
        assert_eq!(f["agreements"], f["n"], "{name}: the teacher's labels exactly");
        assert!(f["probability_loyalty"].as_f64().unwrap() > 1.0 - 1e-6, "{name}: {f}");
        let m = &s["model"];
        assert_eq!(m["static_shape"], serde_json::json!({"batch": batch, "sequence": 128}), "{name}");
        assert_eq!(m["batching"]["batch_size"], batch, "{name}: its own batch size whatever --batch-size is");
        assert!(m["batching"]["reason"].as_str().unwrap().contains("fixes the batch dimension"), "{name}");
        assert!(m["batch_invariance"].is_null(), "{name}: it cannot run under another batching");
        assert_eq!(m["truncated_examples"], 0, "{name}: no tweet is longer than 128 tokens");
        assert!(m["speed"]["throughput"].as_array().unwrap().len() == 2, "{name}: speed at any batch size");
    }
    assert!(report["teacher"].get("static_shape").is_none(), "absent for a dynamic model");
    assert!(run.stdout.contains("tweets-static-8x128 static batch 8, static sequence length 128 (inputs padded to it; 0 examples cut)"), "{}", run.stdout);
}

#[test]
fn a_short_static_sequence_cuts_the_long_texts_says_so_and_matches_the_reference() {
    let reference = &golden("deployed")["tweets-static-1x32"];
    let (run, report) =
        compare_report(&[&tweets("teacher.onnx"), &deployed("tweets-static-1x32.onnx"), "--data", &tweets("test.jsonl"), "--bootstrap", "0", "--no-speed"]);
    assert_matches_reference(&report, "tweets-static-1x32", reference);
    let m = &student(&report, "tweets-static-1x32")["model"];
    assert_eq!(m["truncated_examples"], reference["examples_longer_than_32_tokens"]);
    let warning = format!(
        "warning: tweets-static-1x32 has a fixed sequence length of 32 tokens: {} of 2000 examples were cut to their first 32",
        reference["examples_longer_than_32_tokens"]
    );
    assert!(run.stdout.contains(&warning), "{}", run.stdout);
}

/// How many model-examples the evaluation counter reached (0 when no model ran).
fn examples_run(stderr: &str) -> u64 {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("evaluating: ")?.split_whitespace().next()?.replace(',', "").parse().ok())
        .max()
        .unwrap_or(0)
}

#[test]
fn inputs_the_data_cannot_fill_are_exit_2_naming_model_input_and_dims_before_any_model_runs() {
    let dir = tempfile::tempdir().unwrap();
    let adult = |p: &str| fixture(&format!("adult/{p}"));
    // (An input the data does not give at all is refused the same way: tests/cli/errors.rs.)
    for (model, data, expected) in [(deployed("adult-40-features.onnx"), adult("test.npz"), "input features is declared [?, 40] but the data gives [batch, 46]")] {
        let out = dir.path().join("report.json");
        let run = fidelity(["compare", &adult("teacher.onnx"), &model, "--data", &data, "--out", out.to_str().unwrap()], dir.path());
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains(expected) && run.stderr.contains(&model), "{model}: {}", run.stderr);
        assert!(!out.exists(), "no report");
        assert_eq!(examples_run(&run.stderr), 0, "no model ran: {}", run.stderr);
    }
}
