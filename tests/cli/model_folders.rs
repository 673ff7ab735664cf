//! A model folder as a model reference (issue 15, part 2): a transformers/optimum export
//! (`model.onnx` with `config.json` and `tokenizer.json` beside it) and the transformers.js layout
//! (`onnx/model.onnx`, tokenizer and config at the root) compare as their files do.

use crate::errors::fails_with;
use crate::util::{assert_close, compare_report, fixture, golden, student};

fn copy(from: &str, to: &std::path::Path) {
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(fixture(from), to).unwrap();
}

#[test]
fn optimum_and_transformers_js_folders_compare_as_their_files() {
    let dir = tempfile::tempdir().unwrap();
    let (optimum, js) = (dir.path().join("tweets-optimum"), dir.path().join("tweets-js-int8"));
    copy("tweets/teacher.onnx", &optimum.join("model.onnx"));
    copy("tweets/tokenizer.json", &optimum.join("tokenizer.json"));
    copy("tweets/config.json", &optimum.join("config.json"));
    copy("tweets/int8.onnx", &js.join("onnx/model.onnx"));
    copy("tweets/config.json", &js.join("config.json"));
    let args = [optimum.to_str().unwrap(), js.to_str().unwrap(), "--data", &fixture("tweets/test.jsonl"), "--bootstrap", "0", "--no-speed"];
    let report = compare_report(&args).1;
    assert_eq!(report["teacher"]["name"], "tweets-optimum", "a folder is named after itself, not its model.onnx");
    assert_eq!(report["teacher"]["path"], optimum.join("model.onnx").to_str().unwrap());
    assert_eq!(report["data"]["label_names"], serde_json::json!(["negative", "neutral", "positive"]), "config.json beside the model");
    let s = student(&report, "tweets-js-int8");
    assert_eq!(s["model"]["path"], js.join("onnx/model.onnx").to_str().unwrap());
    let want = &golden("tweets")["by_batch_size"]["32"]["students"]["int8"];
    for key in ["label_loyalty", "probability_loyalty", "mean_kl"] {
        assert_close(&s["fidelity"], want, key, 1e-9, "folder int8");
    }
}

#[test]
fn a_folder_without_a_model_names_what_it_holds() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("export");
    copy("tweets/int8.onnx", &folder.join("onnx/model_quantized.onnx"));
    fails_with(
        &[&fixture("tweets/teacher.onnx"), folder.to_str().unwrap(), "--data", &fixture("tweets/test.jsonl")],
        &["model export", "neither model.onnx nor onnx/model.onnx", "onnx/model_quantized.onnx"],
    );
}
