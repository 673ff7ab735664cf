//! Hugging Face Hub references: `hf://org/name[@revision][/path]` names a model repository (and a
//! file or folder inside it), `hf://datasets/org/name[@revision]/path` a data file in a dataset
//! repository; both resolve to local files in the standard Hugging Face cache through the `hf-hub`
//! crate, under the same cache and offline rules (a dataset's cache folder is
//! `datasets--org--name`).
//!
//! Without a path, a repository qualifies when it has `model.onnx` or `onnx/model.onnx` (the first
//! that exists, in that order); `hf://org/name/onnx/model_quantized.onnx` names the file, so a
//! teacher and its quantized student from one repository compare in one command. `tokenizer.json`
//! and `config.json` are taken beside the model or else from the repository's root, and external
//! ONNX data (`model.onnx_data` / `model.onnx.data`) is downloaded next to the model (see
//! [`super::layout`]). The revision ends at the next `/` (as in huggingface_hub's `hf://` paths),
//! except `refs/pr/N` and `refs/convert/NAME`; `%2F` writes a `/` inside a branch name.
//!
//! Online, the repo info at the revision gives the commit SHA and the file list; the files are then
//! downloaded *at that commit* (so a branch that moves mid-download cannot mix two commits) into
//! `<cache>/models--org--name/{blobs,snapshots/<sha>}`, and `refs/<revision>` records the commit,
//! so a later offline run finds them. Offline (`HF_HUB_OFFLINE=1`, which hf-hub does not read
//! itself) nothing touches the network: `refs/<revision>` gives the commit and
//! `snapshots/<sha>/` the files. When the hub cannot be reached at all (a transport error or a 5xx),
//! a cached copy is used as huggingface_hub does, and the result says `offline: true`.

use serde::Serialize;
use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// The prefix that marks a hub reference.
pub const SCHEME: &str = "hf://";
/// Where references resolve without `HF_ENDPOINT`.
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";
/// The revision of a reference without `@revision`.
pub const DEFAULT_REVISION: &str = "main";
pub use super::layout::MODEL_FILES;
use super::layout;

const EXPECTED: &str = "expected hf://org/name, hf://org/name@revision or hf://org/name[@revision]/path/in/repo.onnx (a Hugging Face model repository, optionally at a branch, tag or commit, optionally a file or folder in it), or hf://datasets/org/name[@revision]/path/to/data.parquet (a file in a dataset repository)";

/// The prefix of dataset repositories in references and in the Hub's URLs.
const DATASETS: &str = "datasets/";

/// Which kind of Hub repository a reference names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RepoKind {
    #[default]
    Model,
    Dataset,
}

impl RepoKind {
    /// `models` or `datasets`: the start of the repository's cache folder.
    pub fn plural(self) -> &'static str {
        match self {
            RepoKind::Model => "models",
            RepoKind::Dataset => "datasets",
        }
    }
}

/// A reference `hf://[datasets/]org/name[@revision][/path]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRef {
    /// A model repository (`hf://org/name`) or a dataset repository (`hf://datasets/org/name`).
    pub kind: RepoKind,
    /// `org/name`, or a legacy single-segment `name`.
    pub repo: String,
    /// Branch, tag or commit; `None` means `main`.
    pub revision: Option<String>,
    /// A file (`onnx/model_quantized.onnx`) or folder inside the repository; `None`: its root.
    pub path: Option<String>,
}

/// `refs/pr/1/onnx/m.onnx` → (`refs/pr/1`, `onnx/m.onnx`); `v1/x.onnx` → (`v1`, `x.onnx`).
fn split_revision(after_at: &str) -> (String, Option<&str>) {
    let special = ["refs/pr/", "refs/convert/"].iter().find(|p| after_at.starts_with(**p));
    let skip = special.map_or(0, |p| p.len());
    let (revision, path) = match after_at[skip..].split_once('/') {
        Some((r, path)) => (&after_at[..skip + r.len()], Some(path)),
        None => (after_at, None),
    };
    (revision.replace("%2F", "/").replace("%2f", "/"), path)
}

impl HubRef {
    /// `None` when `s` does not start with `hf://` (it is a path, not a hub reference); an error
    /// naming the reference and the expected form when it does but is malformed.
    pub fn parse(s: &str) -> Option<Result<HubRef, String>> {
        let rest = s.strip_prefix(SCHEME)?;
        let (kind, rest) = match rest.strip_prefix(DATASETS) {
            Some(rest) => (RepoKind::Dataset, rest),
            None => (RepoKind::Model, rest),
        };
        let (repo, revision, path) = match rest.split_once('@') {
            Some((repo, after)) => {
                let (revision, path) = split_revision(after);
                (repo.to_string(), Some(revision), path)
            }
            // The first two segments are the repository; the rest is a path inside it.
            None => match rest.match_indices('/').nth(1) {
                Some((at, _)) => (rest[..at].to_string(), None, Some(&rest[at + 1..])),
                None => (rest.to_string(), None, None),
            },
        };
        let parsed = HubRef { kind, repo, revision, path: path.map(str::to_string) };
        Some(parsed.validate().map(|()| parsed).map_err(|why| format!("`{s}` is not a valid Hugging Face reference: {why}; {EXPECTED}")))
    }

    /// The revision asked for: the one given, else `main`.
    pub fn revision_or_default(&self) -> &str {
        self.revision.as_deref().unwrap_or(DEFAULT_REVISION)
    }

    /// Checks the repository id and revision (also for a `HubRef` built by hand: both end up in
    /// cache paths, so `..` and the like are refused).
    fn validate(&self) -> Result<(), String> {
        if self.repo.is_empty() {
            return Err("the repository is missing".into());
        }
        let parts: Vec<&str> = self.repo.split('/').collect();
        if parts.len() > 2 {
            return Err(format!("`{}` has {} parts separated by `/`, a repository has at most two (org/name)", self.repo, parts.len()));
        }
        for part in &parts {
            check_name(part).map_err(|why| format!("repository `{}`: {why}", self.repo))?;
        }
        if let Some(revision) = &self.revision {
            check_revision(revision)?;
        }
        if let Some(path) = &self.path {
            check_path(path)?;
        }
        if self.kind == RepoKind::Dataset && (self.path.is_none() || parts.len() != 2) {
            return Err("a dataset reference names its org, its name and a data file in it (hf://datasets/org/name/data/test.parquet)".into());
        }
        Ok(())
    }

    /// The repository's folder in the cache: `models--org--name` or `datasets--org--name`.
    pub fn cache_folder(&self) -> String {
        format!("{}--{}", self.kind.plural(), self.repo.replace('/', "--"))
    }
}

impl fmt::Display for HubRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = if self.kind == RepoKind::Dataset { DATASETS } else { "" };
        write!(f, "{SCHEME}{prefix}{}", self.repo)?;
        if let Some(r) = &self.revision {
            write!(f, "@{r}")?;
        }
        match &self.path {
            Some(p) => write!(f, "/{p}"),
            None => Ok(()),
        }
    }
}

/// The Hub's rules for an org or repository name: letters, digits, `-`, `_`, `.`; no `--` or `..`
/// (the cache folder joins the parts with `--`); not starting or ending with `-` or `.`; at most 96
/// characters.
fn check_name(part: &str) -> Result<(), String> {
    if part.is_empty() {
        return Err("an empty name (org and name are both needed around `/`)".into());
    }
    if let Some(c) = part.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))) {
        return Err(format!("`{part}` contains {c:?}; names use letters, digits, `-`, `_` and `.`"));
    }
    if part.len() > 96 {
        return Err(format!("`{part}` is longer than 96 characters"));
    }
    if part.starts_with(['-', '.']) || part.ends_with(['-', '.']) || part.contains("--") || part.contains("..") {
        return Err(format!("`{part}` starts or ends with `-` or `.`, or contains `--` or `..`"));
    }
    Ok(())
}

/// A path inside a repository: `/`-separated segments, none empty, `.` or `..`, no backslash or
/// control character (it ends up in a cache path).
fn check_path(path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err("the path after the repository is empty (drop the trailing `/`)".into());
    }
    if path.chars().any(|c| c.is_control() || c == '\\') {
        return Err(format!("the path `{path}` contains a control character or `\\`"));
    }
    if path.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
        return Err(format!("the path `{path}` has an empty, `.` or `..` part between slashes"));
    }
    Ok(())
}

/// A git revision as a cache path can hold it: non-empty, no whitespace or control characters, no
/// backslash, no empty, `.` or `..` segment between slashes (`refs/pr/1` is fine).
fn check_revision(revision: &str) -> Result<(), String> {
    if revision.is_empty() {
        return Err("the revision after `@` is empty".into());
    }
    if revision.chars().any(|c| c.is_whitespace() || c.is_control() || c == '\\' || c == '@') {
        return Err(format!("the revision `{revision}` contains whitespace, a control character, `\\` or `@`"));
    }
    if revision.split('/').any(|seg| seg.is_empty() || seg == "." || seg == "..") {
        return Err(format!("the revision `{revision}` has an empty, `.` or `..` part between slashes"));
    }
    Ok(())
}

/// Where and how references resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubSettings {
    /// Hub base URL, without a trailing slash.
    pub endpoint: String,
    /// The hub cache directory (holding `models--org--name/`).
    pub cache: PathBuf,
    /// Never touch the network: resolve from the cache only.
    pub offline: bool,
    /// Bearer token. `None` leaves hf-hub its own lookup (`HF_TOKEN_PATH`, then `$HF_HOME/token`
    /// as written by `hf auth login`).
    pub token: Option<String>,
}

impl HubSettings {
    /// From the environment, as huggingface_hub reads it: `HF_ENDPOINT`; `HF_HUB_CACHE`, else
    /// `HUGGINGFACE_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else
    /// `~/.cache/huggingface/hub`; `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) = 1/true/yes/on;
    /// `HF_TOKEN` (ignored under `HF_HUB_DISABLE_IMPLICIT_TOKEN`).
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// [`HubSettings::from_env`] over any variable lookup (empty values count as unset).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let var = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let home = var("HOME").or_else(|| var("USERPROFILE"));
        let expand = |p: String| -> PathBuf {
            match (p.strip_prefix("~/").or_else(|| (p == "~").then_some("")), &home) {
                (Some(rest), Some(home)) => Path::new(home).join(rest),
                _ => PathBuf::from(p),
            }
        };
        let endpoint = var("HF_ENDPOINT").map(|e| e.trim().trim_end_matches('/').to_string()).unwrap_or_else(|| DEFAULT_ENDPOINT.to_string());
        let cache = var("HF_HUB_CACHE")
            .or_else(|| var("HUGGINGFACE_HUB_CACHE"))
            .map(expand)
            .or_else(|| var("HF_HOME").map(|h| expand(h).join("hub")))
            .or_else(|| var("XDG_CACHE_HOME").map(|x| expand(x).join("huggingface").join("hub")))
            .unwrap_or_else(|| match &home {
                Some(home) => Path::new(home).join(".cache").join("huggingface").join("hub"),
                None => std::env::temp_dir().join("huggingface").join("hub"),
            });
        let truthy = |name: &str| var(name).is_some_and(|v| matches!(v.trim().to_ascii_uppercase().as_str(), "1" | "ON" | "YES" | "TRUE"));
        let offline = truthy("HF_HUB_OFFLINE") || truthy("TRANSFORMERS_OFFLINE");
        let token = var("HF_TOKEN").map(|t| t.trim().to_string()).filter(|_| var("HF_HUB_DISABLE_IMPLICIT_TOKEN").is_none());
        HubSettings { endpoint, cache, offline, token }
    }
}

/// A hub model directory resolved to local files.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ResolvedModel {
    /// The reference as given, e.g. "hf://org/name@main".
    pub reference: String,
    pub repo: String,
    /// The commit SHA the files came from.
    pub revision: String,
    /// The model's file inside the repository, e.g. `onnx/model_quantized.onnx`.
    pub file: String,
    /// That file in the cache's snapshot of that commit.
    pub model: PathBuf,
    /// `tokenizer.json` beside the model, else at the repository's root, if the repository has it.
    pub tokenizer: Option<PathBuf>,
    /// `config.json` beside the model, else at the repository's root, if the repository has it.
    pub config: Option<PathBuf>,
    /// Resolved from the cache without the network (offline mode, or the hub could not be reached).
    pub offline: bool,
}

#[derive(Debug, Error)]
pub enum HubError {
    #[error("{message}")]
    Reference { reference: String, message: String },
    #[error("{reference}: its graph keeps weights in {files}, which the repository does not have at commit {revision} ({endpoint}/{repo}); the model cannot load without them: upload them beside the graph")]
    MissingExternal { reference: String, files: String, revision: String, endpoint: String, repo: String },
    #[error("{reference}: offline mode is on (HF_HUB_OFFLINE) and the Hugging Face cache at {cache} has no {missing}. Run once without HF_HUB_OFFLINE to download it into that cache, or point HF_HUB_CACHE (or HF_HOME) at a cache that has it")]
    NotCached { reference: String, cache: PathBuf, missing: String },
    #[error("{reference}: cannot reach {endpoint} ({message}), and the Hugging Face cache at {cache} has no copy of it ({missing}). Check the connection and HF_ENDPOINT, or fill the cache on a connected machine and set HF_HUB_OFFLINE=1")]
    Unreachable { reference: String, endpoint: String, message: String, cache: PathBuf, missing: String },
    #[error("{reference}: {what} not found at {endpoint}. Check the spelling on {endpoint}/{repo}; a private or gated repository also needs HF_TOKEN")]
    NotFound { reference: String, repo: String, what: String, endpoint: String },
    #[error("{reference}: {endpoint} refused access to {repo} ({message}). {fix}")]
    Access { reference: String, repo: String, endpoint: String, message: String, fix: String },
    #[error("{reference}: the repository has {wanted} at commit {revision} ({endpoint}/{repo}); {found}. Name one of its .onnx files (hf://{repo}/path/model.onnx), or export one, e.g. `optimum-cli export onnx --model {repo} DIR`")]
    NoModel { reference: String, repo: String, revision: String, endpoint: String, found: String, wanted: String },
    #[error("{reference}: the dataset repository has no {file} at commit {revision} ({endpoint}/datasets/{repo}); {found}. Name one of its files (hf://datasets/{repo}/path/to/file.parquet)")]
    NoDataFile { reference: String, repo: String, file: String, revision: String, endpoint: String, found: String },
    #[error("{reference}: downloading {file} from {endpoint} into the cache at {cache} failed: {message}. Check the connection, free disk space and write access to the cache (HF_HUB_CACHE selects another), then run again")]
    Download { reference: String, file: String, endpoint: String, cache: PathBuf, message: String },
    #[error("{reference}: cannot write {path} in the Hugging Face cache: {source}. Check write access to {cache}, or point HF_HUB_CACHE elsewhere")]
    Cache { reference: String, path: PathBuf, cache: PathBuf, source: std::io::Error },
    #[error("{reference}: {endpoint} answered unexpectedly ({message}). Is HF_ENDPOINT a Hugging Face Hub (default {DEFAULT_ENDPOINT})?")]
    Hub { reference: String, endpoint: String, message: String },
}

/// [`resolve_with`] under [`HubSettings::from_env`].
pub fn resolve(reference: &HubRef, raw: &str) -> Result<ResolvedModel, HubError> {
    resolve_with(reference, raw, &HubSettings::from_env())
}

/// A data file in a dataset repository, resolved to a local file.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ResolvedData {
    /// The reference as given, e.g. "hf://datasets/org/name/data/test.parquet".
    pub reference: String,
    pub repo: String,
    /// The commit SHA the file came from.
    pub revision: String,
    /// The file inside the repository.
    pub file: String,
    /// That file in the cache's snapshot of that commit.
    pub local: PathBuf,
    /// Resolved from the cache without the network (offline mode, or the hub could not be reached).
    pub offline: bool,
}

/// Resolves `hf://org/name[@revision][/path]` (given as `raw`) to a model's files in
/// `settings.cache`: from the cache alone when `settings.offline`, otherwise from `settings.endpoint`.
pub fn resolve_with(reference: &HubRef, raw: &str, settings: &HubSettings) -> Result<ResolvedModel, HubError> {
    if reference.kind != RepoKind::Model {
        return Err(HubError::Reference { reference: raw.to_string(), message: format!("`{raw}` names a dataset; a model is a model repository, hf://org/name[/path/model.onnx]") });
    }
    let pick = |has: &dyn Fn(&str) -> bool| layout::pick(has, reference.path.as_deref());
    let files = |s: &layout::Selection| {
        let mut files = vec![s.model.clone()];
        files.extend(s.external_data.iter().cloned());
        files.extend(s.tokenizer.iter().cloned());
        files.extend(s.config.iter().cloned());
        files
    };
    let none = |listed: &[String], sha: &str| {
        let onnx: Vec<&str> = listed.iter().map(String::as_str).filter(|f| f.ends_with(".onnx")).collect();
        HubError::NoModel {
            wanted: wanted(reference),
            reference: raw.to_string(),
            repo: reference.repo.clone(),
            revision: sha.to_string(),
            endpoint: settings.endpoint.clone(),
            found: if onnx.is_empty() { "it has no .onnx file".into() } else { format!("its ONNX files are: {}", onnx.join(", ")) },
        }
    };
    let (selection, fetched) = fetch(reference, raw, settings, pick, &files, none)?;
    let more = external::named_by_graph(&selection.model, &fetched.path(&selection.model), &files(&selection));
    if !more.is_empty() {
        // From the commit the graph came from, whatever the branch says now.
        let at_commit = HubRef { revision: Some(fetched.sha.clone()), ..reference.clone() };
        let all_of = |has: &dyn Fn(&str) -> bool| Some(more.clone()).filter(|m| m.iter().all(|f| has(f)));
        let missing = |_: &[String], sha: &str| HubError::MissingExternal {
            reference: raw.to_string(),
            files: more.join(", "),
            revision: sha.to_string(),
            endpoint: settings.endpoint.clone(),
            repo: reference.repo.clone(),
        };
        fetch(&at_commit, raw, settings, all_of, |m: &Vec<String>| m.clone(), missing)?;
    }
    Ok(ResolvedModel {
        reference: raw.to_string(),
        repo: reference.repo.clone(),
        file: selection.model.clone(),
        model: fetched.path(&selection.model),
        tokenizer: selection.tokenizer.as_deref().map(|t| fetched.path(t)),
        config: selection.config.as_deref().map(|c| fetched.path(c)),
        revision: fetched.sha,
        offline: fetched.offline,
    })
}

/// Data files fidelity reads, for messages listing what a dataset repository has.
const DATA_EXTENSIONS: [&str; 6] = [".parquet", ".pq", ".jsonl", ".ndjson", ".csv", ".npz"];

/// Resolves `hf://datasets/org/name[@revision]/path` to the data file in the cache, under the same
/// rules as [`resolve_with`].
pub fn resolve_data_with(reference: &HubRef, raw: &str, settings: &HubSettings) -> Result<ResolvedData, HubError> {
    let Some(file) = reference.path.clone().filter(|_| reference.kind == RepoKind::Dataset) else {
        return Err(HubError::Reference {
            reference: raw.to_string(),
            message: format!("`{raw}` is not a data file in a dataset repository; data on the Hub is named hf://datasets/org/name[@revision]/path/to/data.parquet"),
        });
    };
    let pick = |has: &dyn Fn(&str) -> bool| has(&file).then(|| file.clone());
    let none = |listed: &[String], sha: &str| {
        let data: Vec<&str> = listed.iter().map(String::as_str).filter(|f| DATA_EXTENSIONS.iter().any(|x| f.ends_with(x))).collect();
        HubError::NoDataFile {
            reference: raw.to_string(),
            repo: reference.repo.clone(),
            file: file.clone(),
            revision: sha.to_string(),
            endpoint: settings.endpoint.clone(),
            found: if data.is_empty() { "it has no .parquet, .jsonl or .csv file".into() } else { format!("its data files are: {}", data.join(", ")) },
        }
    };
    let (file, fetched) = fetch(reference, raw, settings, pick, |f: &String| vec![f.clone()], none)?;
    Ok(ResolvedData { reference: raw.to_string(), repo: reference.repo.clone(), local: fetched.path(&file), file, revision: fetched.sha, offline: fetched.offline })
}

/// [`resolve_data_with`] under [`HubSettings::from_env`].
pub fn resolve_data(reference: &HubRef, raw: &str) -> Result<ResolvedData, HubError> {
    resolve_data_with(reference, raw, &HubSettings::from_env())
}

/// The cache folder of a model repository: `models--org--name`.
pub fn repo_folder(repo: &str) -> String {
    HubRef { kind: RepoKind::Model, repo: repo.to_string(), revision: None, path: None }.cache_folder()
}

/// What the reference needs from the repository, for messages: "neither model.onnx nor
/// onnx/model.onnx", "no onnx/model_fp16.onnx", "neither int8/model.onnx nor int8/onnx/model.onnx".
fn wanted(reference: &HubRef) -> String {
    match reference.path.as_deref() {
        Some(file) if reference.kind == RepoKind::Dataset => format!("no {file}"),
        Some(file) if file.ends_with(".onnx") => format!("no {file}"),
        Some(folder) => format!("neither {folder}/model.onnx nor {folder}/onnx/model.onnx"),
        None => "neither model.onnx nor onnx/model.onnx".into(),
    }
}

mod external;
mod fetch;
use fetch::fetch;

#[cfg(test)]
mod tests;
