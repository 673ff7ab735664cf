//! Class names from a Hugging Face `config.json` (`id2label`).

use serde_json::Value;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// Class names in class-index order.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(transparent)]
pub struct LabelNames(Vec<String>);

#[derive(Debug, Error)]
pub enum LabelNamesError {
    #[error("cannot read {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not valid JSON: {source}")]
    Json { path: PathBuf, source: serde_json::Error },
    #[error("{path}: id2label {problem}; expected {{\"0\": \"name\", \"1\": \"name\", ...}} with indices 0..n-1")]
    Shape { path: PathBuf, problem: String },
}

impl LabelNames {
    pub fn new(names: Vec<String>) -> Self {
        Self(names)
    }

    pub fn names(&self) -> &[String] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.0.iter().position(|n| n == name)
    }

    /// Reads `id2label` from a config.json; `Ok(None)` when the file has no `id2label`.
    pub fn from_config(path: &Path) -> Result<Option<Self>, LabelNamesError> {
        let text = std::fs::read_to_string(path).map_err(|source| LabelNamesError::Io { path: path.into(), source })?;
        let json: Value = serde_json::from_str(&text).map_err(|source| LabelNamesError::Json { path: path.into(), source })?;
        let Some(map) = json.get("id2label") else { return Ok(None) };
        let shape = |problem: String| LabelNamesError::Shape { path: path.into(), problem };
        let map = map.as_object().ok_or_else(|| shape("is not an object".into()))?;
        let mut names = vec![None; map.len()];
        for (key, value) in map {
            let idx: usize = key.parse().map_err(|_| shape(format!("has a non-integer key '{key}'")))?;
            let slot = names.get_mut(idx).ok_or_else(|| shape(format!("has index {idx} beyond {} classes", map.len())))?;
            let name = value.as_str().ok_or_else(|| shape(format!("maps {idx} to a non-string")))?;
            *slot = Some(name.to_string());
        }
        let names: Option<Vec<String>> = names.into_iter().collect();
        Ok(Some(Self(names.ok_or_else(|| shape("skips an index".into()))?)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_id2label_in_index_order() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.json");
        std::fs::write(&p, r#"{"id2label": {"1": "pos", "0": "neg"}}"#).unwrap();
        let l = LabelNames::from_config(&p).unwrap().unwrap();
        assert_eq!(l.names(), &["neg".to_string(), "pos".to_string()]);
        std::fs::write(&p, r#"{"id2label": {"0": "neg", "2": "pos"}}"#).unwrap();
        assert!(LabelNames::from_config(&p).unwrap_err().to_string().contains("index 2"));
        std::fs::write(&p, r#"{"hidden_size": 4}"#).unwrap();
        assert!(LabelNames::from_config(&p).unwrap().is_none());
    }
}
