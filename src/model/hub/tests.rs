//! Reference parsing, environment settings and offline resolution (the network side is tested
//! against a loopback mock hub in tests/cli/hub.rs).

use super::*;
use std::collections::HashMap;

fn ok(s: &str) -> HubRef {
    HubRef::parse(s).expect("an hf:// reference").unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn err(s: &str) -> String {
    match HubRef::parse(s).expect("an hf:// reference") {
        Ok(r) => panic!("{s} parsed as {r:?}"),
        Err(e) => e,
    }
}

#[test]
fn parses_references() {
    let r = |repo: &str, revision: Option<&str>, path: Option<&str>| HubRef { kind: RepoKind::Model, repo: repo.into(), revision: revision.map(Into::into), path: path.map(Into::into) };
    assert_eq!(ok("hf://org/name"), r("org/name", None, None));
    assert_eq!(ok("hf://org/name@v1.0"), r("org/name", Some("v1.0"), None));
    assert_eq!(ok("hf://gpt2"), r("gpt2", None, None));
    assert_eq!(ok("hf://Org_1/my-model.v2@refs/pr/1").revision.as_deref(), Some("refs/pr/1"));
    // A file or folder inside the repository, after the revision when there is one.
    assert_eq!(ok("hf://org/name/onnx/model_quantized.onnx"), r("org/name", None, Some("onnx/model_quantized.onnx")));
    assert_eq!(ok("hf://org/name@v1/onnx/model.onnx"), r("org/name", Some("v1"), Some("onnx/model.onnx")));
    assert_eq!(ok("hf://org/name@refs/pr/3/int8"), r("org/name", Some("refs/pr/3"), Some("int8")));
    assert_eq!(ok("hf://org/name@feature%2Fx/m.onnx"), r("org/name", Some("feature/x"), Some("m.onnx")));
    assert_eq!(ok("hf://org/name@v1/onnx/model.onnx").to_string(), "hf://org/name@v1/onnx/model.onnx");
    let sha = "0123456789abcdef0123456789abcdef01234567";
    assert_eq!(ok(&format!("hf://org/name@{sha}")).revision.as_deref(), Some(sha));
    assert_eq!(ok("hf://org/name").revision_or_default(), "main");
    assert_eq!(ok("hf://org/name@v1").to_string(), "hf://org/name@v1");
    assert_eq!(ok("hf://gpt2").to_string(), "hf://gpt2");
}

#[test]
fn parses_dataset_references() {
    let d = ok("hf://datasets/org/name@refs/convert/parquet/default/test/0000.parquet");
    assert_eq!(d.kind, RepoKind::Dataset);
    assert_eq!((d.repo.as_str(), d.revision.as_deref(), d.path.as_deref()), ("org/name", Some("refs/convert/parquet"), Some("default/test/0000.parquet")));
    assert_eq!(d.cache_folder(), "datasets--org--name");
    assert_eq!(d.to_string(), "hf://datasets/org/name@refs/convert/parquet/default/test/0000.parquet");
    let d = ok("hf://datasets/org/name/data/test.parquet");
    assert_eq!((d.kind, d.revision.as_deref(), d.path.as_deref()), (RepoKind::Dataset, None, Some("data/test.parquet")));
    assert_eq!(ok("hf://org/name").cache_folder(), "models--org--name");
    // A dataset needs its org, name and a file.
    for bad in ["hf://datasets/org/name", "hf://datasets/org/name@v1", "hf://datasets/name"] {
        let e = err(bad);
        assert!(e.contains(&format!("`{bad}`")) && e.contains("hf://datasets/org/name/data/test.parquet"), "{bad}: {e}");
    }
}

#[test]
fn a_model_reference_is_not_data_and_a_dataset_is_not_a_model() {
    let settings = HubSettings { endpoint: "http://127.0.0.1:9".into(), cache: std::env::temp_dir(), offline: true, token: None };
    let e = resolve_data_with(&ok("hf://org/name/data.parquet"), "hf://org/name/data.parquet", &settings).unwrap_err().to_string();
    assert!(e.contains("hf://datasets/org/name"), "{e}");
    let e = resolve_with(&ok("hf://datasets/org/name/m.onnx"), "hf://datasets/org/name/m.onnx", &settings).unwrap_err().to_string();
    assert!(e.contains("names a dataset"), "{e}");
}

#[test]
fn paths_are_not_references() {
    assert_eq!(HubRef::parse("fixtures/tweets/teacher.onnx"), None);
    assert_eq!(HubRef::parse("teacher=hf://org/name"), None);
    assert_eq!(HubRef::parse("HF://org/name"), None);
    assert_eq!(HubRef::parse("hf:/org/name"), None);
}

#[test]
fn malformed_references_name_themselves_and_the_expected_form() {
    for bad in [
        "hf://",
        "hf://org/name@",
        "hf://org/name/a//b.onnx",
        "hf://org/name/../x.onnx",
        "hf://org/name@v1/",
        "hf:///name",
        "hf://org/",
        "hf://org/name/",
        "hf://@main",
        "hf://org/na me",
        "hf://org/-name",
        "hf://org/na--me",
        "hf://org/na..me",
        "hf://org/name@a b",
        "hf://org/name@../../etc",
        "hf://org/name@refs//x",
        "hf://org/name@main@v2",
    ] {
        let e = err(bad);
        assert!(e.contains(&format!("`{bad}`")), "{bad}: {e}");
        assert!(e.contains("hf://org/name@revision"), "{bad}: {e}");
    }
    assert!(err("hf://").contains("missing"));
    assert!(err("hf://org/name/../x.onnx").contains("`..`"));
    assert!(err("hf://org/name@").contains("revision"));
    assert!(err(&format!("hf://org/{}", "x".repeat(97))).contains("96"));
}

#[test]
fn settings_follow_the_huggingface_environment() {
    let with = |vars: &[(&str, &str)]| {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        HubSettings::from_lookup(|k| map.get(k).cloned())
    };
    let plain = with(&[("HOME", "/home/u")]);
    assert_eq!(plain, HubSettings { endpoint: DEFAULT_ENDPOINT.into(), cache: "/home/u/.cache/huggingface/hub".into(), offline: false, token: None });
    assert_eq!(with(&[("HOME", "/home/u"), ("XDG_CACHE_HOME", "/x")]).cache, PathBuf::from("/x/huggingface/hub"));
    assert_eq!(with(&[("HOME", "/home/u"), ("XDG_CACHE_HOME", "/x"), ("HF_HOME", "/hf")]).cache, PathBuf::from("/hf/hub"));
    assert_eq!(with(&[("HOME", "/home/u"), ("HF_HOME", "~/hf")]).cache, PathBuf::from("/home/u/hf/hub"));
    assert_eq!(with(&[("HF_HOME", "/hf"), ("HUGGINGFACE_HUB_CACHE", "/old")]).cache, PathBuf::from("/old"));
    assert_eq!(with(&[("HF_HOME", "/hf"), ("HUGGINGFACE_HUB_CACHE", "/old"), ("HF_HUB_CACHE", "/c")]).cache, PathBuf::from("/c"));
    assert_eq!(with(&[("HF_HUB_CACHE", ""), ("HF_HOME", "/hf")]).cache, PathBuf::from("/hf/hub"));
    assert_eq!(with(&[("HF_ENDPOINT", "http://127.0.0.1:9/")]).endpoint, "http://127.0.0.1:9");
    for on in ["1", "true", "YES", "on"] {
        assert!(with(&[("HF_HUB_OFFLINE", on)]).offline, "{on}");
    }
    for off in ["0", "false", "", "no"] {
        assert!(!with(&[("HF_HUB_OFFLINE", off)]).offline, "{off}");
    }
    assert!(with(&[("TRANSFORMERS_OFFLINE", "1")]).offline);
    assert_eq!(with(&[("HF_TOKEN", "hf_abc")]).token.as_deref(), Some("hf_abc"));
    assert_eq!(with(&[("HF_TOKEN", "hf_abc"), ("HF_HUB_DISABLE_IMPLICIT_TOKEN", "1")]).token, None);
}

/// A cache laid out by hand as huggingface_hub writes it (plain files instead of symlinks).
#[test]
fn resolves_offline_from_a_hand_made_cache() {
    let cache = tempfile::tempdir().unwrap();
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let folder = cache.path().join("models--org--name");
    std::fs::create_dir_all(folder.join("refs")).unwrap();
    std::fs::write(folder.join("refs/main"), format!("{sha}\n")).unwrap();
    let snap = folder.join("snapshots").join(sha);
    std::fs::create_dir_all(snap.join("onnx")).unwrap();
    for f in ["onnx/model.onnx", "tokenizer.json", "config.json"] {
        std::fs::write(snap.join(f), f).unwrap();
    }
    let settings = HubSettings { endpoint: "http://127.0.0.1:9".into(), cache: cache.path().into(), offline: true, token: None };
    let r = resolve_with(&ok("hf://org/name"), "hf://org/name", &settings).unwrap();
    assert_eq!(
        r,
        ResolvedModel {
            reference: "hf://org/name".into(),
            repo: "org/name".into(),
            revision: sha.into(),
            file: "onnx/model.onnx".into(),
            model: snap.join("onnx/model.onnx"),
            tokenizer: Some(snap.join("tokenizer.json")),
            config: Some(snap.join("config.json")),
            offline: true,
        }
    );
    // A commit needs no ref; a tag that was never fetched is not in the cache.
    assert_eq!(resolve_with(&ok(&format!("hf://org/name@{sha}")), "x", &settings).unwrap().revision, sha);
    let e = resolve_with(&ok("hf://org/name@v2"), "hf://org/name@v2", &settings).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, HubError::NotCached { .. }), "{e:?}");
    for part in ["hf://org/name@v2", "offline mode is on", "HF_HUB_OFFLINE", &cache.path().display().to_string(), "refs/v2"] {
        assert!(msg.contains(part), "{part} not in: {msg}");
    }
    // A hand-built reference with a path-like revision is refused before touching the disk.
    let sneaky = HubRef { kind: RepoKind::Model, repo: "org/name".into(), revision: Some("../../x".into()), path: None };
    assert!(matches!(resolve_with(&sneaky, "s", &settings), Err(HubError::Reference { .. })));
    let sneaky = HubRef { kind: RepoKind::Model, repo: "org/name".into(), revision: None, path: Some("../../x.onnx".into()) };
    assert!(matches!(resolve_with(&sneaky, "s", &settings), Err(HubError::Reference { .. })));
    // A file inside the repository, from the cache; tokenizer and config from the root.
    let r = resolve_with(&ok("hf://org/name/onnx/model.onnx"), "x", &settings).unwrap();
    assert_eq!((r.file.as_str(), r.config), ("onnx/model.onnx", Some(snap.join("config.json"))));
    let e = resolve_with(&ok("hf://org/name/onnx/model_fp16.onnx"), "x", &settings).unwrap_err().to_string();
    assert!(e.contains("onnx/model_fp16.onnx"), "{e}");
}
