//! Where the model graph, its external data, tokenizer and config are in a model folder, as
//! Hugging Face tools lay them out: a transformers/optimum export has `model.onnx` with
//! `config.json` and `tokenizer.json` beside it; a transformers.js repository has `onnx/model.onnx`
//! and `onnx/model_quantized.onnx` with the tokenizer and config at the root. One rule for a hub
//! repository (its file list) and a local folder (its files):
//!
//! - a file named explicitly (`onnx/model_quantized.onnx`) is the model;
//! - a folder (the repository root, or a folder inside it) holds `model.onnx`, else `onnx/model.onnx`;
//! - external data (`<model>_data`, `<model>.data`) comes along when present;
//! - `tokenizer.json` and `config.json` are taken beside the model, else from the folder's root.

use std::path::{Path, PathBuf};

/// Where the model graph may be inside a folder, in order of preference.
pub const MODEL_FILES: [&str; 2] = ["model.onnx", "onnx/model.onnx"];

/// The files of one model, as paths relative to the folder (`/`-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub model: String,
    pub external_data: Vec<String>,
    pub tokenizer: Option<String>,
    pub config: Option<String>,
}

/// Picks the model's files: `target` is a file (ends in `.onnx`) or a folder inside the root
/// (`None` or empty: the root itself); `has(path)` says whether the root holds that file.
pub fn pick(has: impl Fn(&str) -> bool, target: Option<&str>) -> Option<Selection> {
    let target = target.map(|t| t.trim_matches('/')).filter(|t| !t.is_empty());
    let model = match target {
        Some(file) if file.ends_with(".onnx") => has(file).then(|| file.to_string())?,
        Some(folder) => MODEL_FILES.iter().map(|f| format!("{folder}/{f}")).find(|f| has(f))?,
        None => MODEL_FILES.iter().find(|f| has(f))?.to_string(),
    };
    let dir = model.rsplit_once('/').map_or(String::new(), |(d, _)| format!("{d}/"));
    // The folder asked for, else the root: where tokenizer.json and config.json are looked for next.
    let root = match target {
        Some(folder) if !folder.ends_with(".onnx") => format!("{folder}/"),
        _ => String::new(),
    };
    let external_data = [format!("{model}_data"), format!("{model}.data")].into_iter().filter(|f| has(f)).collect();
    let beside_or_root = |name: &str| [format!("{dir}{name}"), format!("{root}{name}"), name.to_string()].into_iter().find(|f| has(f));
    Some(Selection { tokenizer: beside_or_root("tokenizer.json"), config: beside_or_root("config.json"), model, external_data })
}

/// A local model folder: its files as paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalModel {
    pub model: PathBuf,
    pub tokenizer: Option<PathBuf>,
    pub config: Option<PathBuf>,
}

/// The model in a local folder; the error says what the folder holds instead.
pub fn local_folder(dir: &Path) -> Result<LocalModel, String> {
    let selection = pick(|f| dir.join(f).is_file(), None).ok_or_else(|| {
        let mut onnx: Vec<String> = ["", "onnx"]
            .iter()
            .filter_map(|sub| std::fs::read_dir(dir.join(sub)).ok())
            .flat_map(|entries| entries.filter_map(|e| e.ok()).map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "onnx"))
            .filter_map(|p| p.strip_prefix(dir).ok().map(|r| r.display().to_string()))
            .collect();
        onnx.sort();
        let found = if onnx.is_empty() { "it has no .onnx file".to_string() } else { format!("it has {}: name one of them", onnx.join(", ")) };
        format!("the folder {} has neither model.onnx nor onnx/model.onnx; {found}", dir.display())
    })?;
    Ok(LocalModel { model: dir.join(&selection.model), tokenizer: selection.tokenizer.map(|t| dir.join(t)), config: selection.config.map(|c| dir.join(c)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn in_list<'a>(names: &'a [&'a str]) -> impl Fn(&str) -> bool + 'a {
        move |f| names.contains(&f)
    }

    #[test]
    fn picks_the_model_its_data_tokenizer_and_config() {
        let s = pick(in_list(&["README.md", "model.onnx", "onnx/model.onnx", "tokenizer.json", "config.json"]), None).unwrap();
        assert_eq!(s, Selection { model: "model.onnx".into(), external_data: vec![], tokenizer: Some("tokenizer.json".into()), config: Some("config.json".into()) });
        let s = pick(in_list(&["onnx/model.onnx", "onnx/model.onnx_data", "onnx/config.json", "config.json", "tokenizer.json"]), None).unwrap();
        assert_eq!(s.model, "onnx/model.onnx");
        assert_eq!(s.external_data, vec!["onnx/model.onnx_data".to_string()]);
        assert_eq!(s.config.as_deref(), Some("onnx/config.json"));
        assert_eq!(s.tokenizer.as_deref(), Some("tokenizer.json"));
        let s = pick(in_list(&["model.onnx", "model.onnx.data"]), None).unwrap();
        assert_eq!((s.external_data, s.tokenizer, s.config), (vec!["model.onnx.data".to_string()], None, None));
        assert_eq!(pick(in_list(&["onnx/model_quantized.onnx", "pytorch_model.bin"]), None), None);
    }

    #[test]
    fn a_named_file_or_folder_inside_the_root() {
        let files = ["onnx/model.onnx", "onnx/model_quantized.onnx", "tokenizer.json", "config.json", "int8/model.onnx", "int8/config.json"];
        let s = pick(in_list(&files), Some("onnx/model_quantized.onnx")).unwrap();
        assert_eq!((s.model.as_str(), s.tokenizer.as_deref(), s.config.as_deref()), ("onnx/model_quantized.onnx", Some("tokenizer.json"), Some("config.json")));
        let s = pick(in_list(&files), Some("int8/")).unwrap();
        assert_eq!((s.model.as_str(), s.config.as_deref(), s.tokenizer.as_deref()), ("int8/model.onnx", Some("int8/config.json"), Some("tokenizer.json")));
        assert_eq!(pick(in_list(&files), Some("onnx/model_fp16.onnx")), None);
        assert_eq!(pick(in_list(&files), Some("")).unwrap().model, "onnx/model.onnx");
    }

    #[test]
    fn local_folders_resolve_or_say_what_they_hold() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("onnx")).unwrap();
        std::fs::write(dir.path().join("onnx/model_quantized.onnx"), b"x").unwrap();
        let e = local_folder(dir.path()).unwrap_err();
        assert!(e.contains("neither model.onnx nor onnx/model.onnx") && e.contains("onnx/model_quantized.onnx"), "{e}");
        std::fs::write(dir.path().join("onnx/model.onnx"), b"x").unwrap();
        std::fs::write(dir.path().join("tokenizer.json"), b"{}").unwrap();
        let m = local_folder(dir.path()).unwrap();
        assert_eq!(m.model, dir.path().join("onnx/model.onnx"));
        assert_eq!(m.tokenizer, Some(dir.path().join("tokenizer.json")));
        assert_eq!(m.config, None);
    }
}
