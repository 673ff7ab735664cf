//! Hugging Face Hub references: `hf://org/name[@revision]` names a model repository, resolved to
//! local files in the standard Hugging Face cache through the `hf-hub` crate.
//!
//! A repository qualifies when it has `model.onnx` or `onnx/model.onnx` (the first that exists, in
//! that order), with `tokenizer.json` and `config.json` taken beside the model or else from the
//! repository's root, and external ONNX data (`model.onnx_data` / `model.onnx.data`) downloaded
//! next to the model.
//!
//! Online, the repo info at the revision gives the commit SHA and the file list; the files are then
//! downloaded *at that commit* (so a branch that moves mid-download cannot mix two commits) into
//! `<cache>/models--org--name/{blobs,snapshots/<sha>}`, and `refs/<revision>` records the commit,
//! so a later offline run finds them. Offline (`HF_HUB_OFFLINE=1`, which hf-hub does not read
//! itself) nothing touches the network: `refs/<revision>` gives the commit and
//! `snapshots/<sha>/` the files. When the hub cannot be reached at all (a transport error or a 5xx),
//! a cached copy is used as huggingface_hub does, and the result says `offline: true`.

use hf_hub::{HFClient, HFError};
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
/// Where the model graph may be, in order of preference.
pub const MODEL_FILES: [&str; 2] = ["model.onnx", "onnx/model.onnx"];

const EXPECTED: &str = "expected hf://org/name or hf://org/name@revision (a Hugging Face model repository, optionally at a branch, tag or commit)";

/// A model reference `hf://org/name[@revision]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HubRef {
    /// `org/name`, or a legacy single-segment `name`.
    pub repo: String,
    /// Branch, tag or commit; `None` means `main`.
    pub revision: Option<String>,
}

impl HubRef {
    /// `None` when `s` does not start with `hf://` (it is a path, not a hub reference); an error
    /// naming the reference and the expected form when it does but is malformed.
    pub fn parse(s: &str) -> Option<Result<HubRef, String>> {
        let rest = s.strip_prefix(SCHEME)?;
        let (repo, revision) = match rest.split_once('@') {
            Some((repo, revision)) => (repo, Some(revision)),
            None => (rest, None),
        };
        let parsed = HubRef { repo: repo.to_string(), revision: revision.map(str::to_string) };
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
        Ok(())
    }
}

impl fmt::Display for HubRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEME}{}", self.repo)?;
        match &self.revision {
            Some(r) => write!(f, "@{r}"),
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
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct ResolvedModel {
    /// The reference as given, e.g. "hf://org/name@main".
    pub reference: String,
    pub repo: String,
    /// The commit SHA the files came from.
    pub revision: String,
    /// `model.onnx` or `onnx/model.onnx` in the cache's snapshot of that commit.
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
    #[error("{reference}: offline mode is on (HF_HUB_OFFLINE) and the Hugging Face cache at {cache} has no {missing}. Run once without HF_HUB_OFFLINE to download it into that cache, or point HF_HUB_CACHE (or HF_HOME) at a cache that has it")]
    NotCached { reference: String, cache: PathBuf, missing: String },
    #[error("{reference}: cannot reach {endpoint} ({message}), and the Hugging Face cache at {cache} has no copy of it ({missing}). Check the connection and HF_ENDPOINT, or fill the cache on a connected machine and set HF_HUB_OFFLINE=1")]
    Unreachable { reference: String, endpoint: String, message: String, cache: PathBuf, missing: String },
    #[error("{reference}: {what} not found at {endpoint}. Check the spelling on {endpoint}/{repo}; a private or gated repository also needs HF_TOKEN")]
    NotFound { reference: String, repo: String, what: String, endpoint: String },
    #[error("{reference}: {endpoint} refused access to {repo} ({message}). {fix}")]
    Access { reference: String, repo: String, endpoint: String, message: String, fix: String },
    #[error("{reference}: the repository has neither model.onnx nor onnx/model.onnx at commit {revision} ({endpoint}/{repo}); {found}. fidelity needs an ONNX export, e.g. `optimum-cli export onnx --model {repo} DIR`, or a repository that ships one")]
    NoModel { reference: String, repo: String, revision: String, endpoint: String, found: String },
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

/// Resolves `reference` (given on the command line as `raw`) to files in `settings.cache`:
/// from the cache alone when `settings.offline`, otherwise from `settings.endpoint`.
pub fn resolve_with(reference: &HubRef, raw: &str, settings: &HubSettings) -> Result<ResolvedModel, HubError> {
    reference.validate().map_err(|why| HubError::Reference {
        reference: raw.to_string(),
        message: format!("`{raw}` is not a valid Hugging Face reference: {why}; {EXPECTED}"),
    })?;
    if settings.offline {
        return from_cache(reference, raw, &settings.cache).map_err(|missing| HubError::NotCached {
            reference: raw.to_string(),
            cache: settings.cache.clone(),
            missing,
        });
    }
    let ctx = Context { reference, raw, settings };
    let mut builder = HFClient::builder()
        .endpoint(settings.endpoint.clone())
        .cache_dir(settings.cache.clone())
        .user_agent(format!("fidelity/{}; hf-hub/1.0.0", env!("CARGO_PKG_VERSION")));
    if let Some(token) = &settings.token {
        builder = builder.token(token.clone());
    }
    let client = builder.build_sync().map_err(|e| HubError::Hub {
        reference: raw.to_string(),
        endpoint: settings.endpoint.clone(),
        message: format!("cannot set up the hub client: {e}"),
    })?;
    let (owner, name) = hf_hub::split_id(&reference.repo);
    let repo = client.model(owner, name);
    let revision = reference.revision_or_default();

    let info = match repo.info().revision(revision.to_string()).send() {
        Ok(info) => info,
        Err(e) if unreachable(&e) => {
            return from_cache(reference, raw, &settings.cache).map_err(|missing| HubError::Unreachable {
                reference: raw.to_string(),
                endpoint: settings.endpoint.clone(),
                message: describe(&e),
                cache: settings.cache.clone(),
                missing,
            });
        }
        Err(e) => return Err(ctx.info_error(e)),
    };
    let sha = info.sha.filter(|s| !s.is_empty()).ok_or_else(|| HubError::Hub {
        reference: raw.to_string(),
        endpoint: settings.endpoint.clone(),
        message: format!("the repo info of {} at {revision} has no commit sha", reference.repo),
    })?;
    let files: Vec<String> = info.siblings.unwrap_or_default().into_iter().map(|s| s.rfilename).collect();
    let selection = Selection::pick(&files).ok_or_else(|| {
        let onnx: Vec<&str> = files.iter().map(String::as_str).filter(|f| f.ends_with(".onnx")).collect();
        HubError::NoModel {
            reference: raw.to_string(),
            repo: reference.repo.clone(),
            revision: sha.clone(),
            endpoint: settings.endpoint.clone(),
            found: if onnx.is_empty() { "it has no .onnx file".into() } else { format!("its ONNX files are: {}", onnx.join(", ")) },
        }
    })?;

    let download = |file: &str| -> Result<PathBuf, HubError> {
        repo.download_file().filename(file.to_string()).revision(sha.clone()).send().map_err(|e| ctx.download_error(file, e))
    };
    let model = download(&selection.model)?;
    for data in &selection.external_data {
        download(data)?;
    }
    let tokenizer = selection.tokenizer.as_deref().map(download).transpose()?;
    let config = selection.config.as_deref().map(download).transpose()?;

    // hf-hub records refs/<revision> only for downloads by branch or tag; these were by commit.
    if !is_commit_hash(revision) {
        let path = settings.cache.join(repo_folder(&reference.repo)).join("refs").join(revision);
        let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, &sha));
        written.map_err(|source| HubError::Cache { reference: raw.to_string(), path, cache: settings.cache.clone(), source })?;
    }
    Ok(ResolvedModel { reference: raw.to_string(), repo: reference.repo.clone(), revision: sha, model, tokenizer, config, offline: false })
}

/// The cache folder of a model repository: `models--org--name`.
pub fn repo_folder(repo: &str) -> String {
    format!("models--{}", repo.replace('/', "--"))
}

fn is_commit_hash(revision: &str) -> bool {
    revision.len() == 40 && revision.chars().all(|c| c.is_ascii_hexdigit())
}

/// The error with its innermost cause (hf-hub's transport errors hide "Connection refused" and the
/// like a few sources deep).
fn describe(e: &HFError) -> String {
    let top = e.to_string();
    let mut root: Option<&dyn std::error::Error> = None;
    let mut next = std::error::Error::source(e);
    while let Some(cause) = next {
        root = Some(cause);
        next = cause.source();
    }
    match root.map(|r| r.to_string()) {
        Some(cause) if !top.contains(&cause) => format!("{top}: {cause}"),
        _ => top,
    }
}

/// A failure to reach the hub at all (no HTTP answer, or a 5xx), where a cached copy may stand in.
fn unreachable(e: &HFError) -> bool {
    match e {
        HFError::Request { .. } => true,
        HFError::Http { context } => context.status.is_server_error(),
        _ => false,
    }
}

/// The files to fetch, chosen from the repository's file list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Selection {
    model: String,
    external_data: Vec<String>,
    tokenizer: Option<String>,
    config: Option<String>,
}

impl Selection {
    fn pick(files: &[String]) -> Option<Selection> {
        let has = |f: &str| files.iter().any(|x| x == f);
        let model = MODEL_FILES.iter().find(|f| has(f))?.to_string();
        let dir = model.rsplit_once('/').map_or(String::new(), |(d, _)| format!("{d}/"));
        let external_data = [format!("{model}_data"), format!("{model}.data")].into_iter().filter(|f| has(f)).collect();
        let beside_or_root = |name: &str| [format!("{dir}{name}"), name.to_string()].into_iter().find(|f| has(f));
        Some(Selection { tokenizer: beside_or_root("tokenizer.json"), config: beside_or_root("config.json"), model, external_data })
    }
}

/// Resolution from the cache alone; the error is what is missing, for the caller's message.
fn from_cache(reference: &HubRef, raw: &str, cache: &Path) -> Result<ResolvedModel, String> {
    let folder = cache.join(repo_folder(&reference.repo));
    let revision = reference.revision_or_default();
    let sha = if is_commit_hash(revision) {
        revision.to_string()
    } else {
        let ref_file = folder.join("refs").join(revision);
        match std::fs::read_to_string(&ref_file) {
            Ok(s) if is_commit_hash(s.trim()) => s.trim().to_string(),
            _ => return Err(format!("record of {} at {revision} ({} is missing)", reference.repo, ref_file.display())),
        }
    };
    let snapshot = folder.join("snapshots").join(&sha);
    let Some(model) = MODEL_FILES.iter().map(|f| snapshot.join(f)).find(|p| p.is_file()) else {
        return Err(format!("model.onnx or onnx/model.onnx of {} at commit {sha} (looked in {})", reference.repo, snapshot.display()));
    };
    let dir = model.parent().unwrap_or(&snapshot).to_path_buf();
    let beside_or_root = |name: &str| [dir.join(name), snapshot.join(name)].into_iter().find(|p| p.is_file());
    Ok(ResolvedModel {
        reference: raw.to_string(),
        repo: reference.repo.clone(),
        revision: sha,
        tokenizer: beside_or_root("tokenizer.json"),
        config: beside_or_root("config.json"),
        model,
        offline: true,
    })
}

/// What error messages need.
struct Context<'a> {
    reference: &'a HubRef,
    raw: &'a str,
    settings: &'a HubSettings,
}

impl Context<'_> {
    fn access_fix(&self) -> String {
        if self.settings.token.is_some() {
            "The token in HF_TOKEN cannot read it: for a gated model accept its terms on the model's page, or use a token with access".into()
        } else {
            "Set HF_TOKEN to a token that can read it (a gated model also needs its terms accepted on the model's page)".into()
        }
    }

    fn not_found(&self, code: Option<&str>) -> HubError {
        let revision = self.reference.revision_or_default();
        let what = match code {
            Some("RevisionNotFound") => format!("revision {revision} of repository {}", self.reference.repo),
            Some("RepoNotFound") => format!("repository {}", self.reference.repo),
            _ => format!("repository {} (or its revision {revision})", self.reference.repo),
        };
        HubError::NotFound { reference: self.raw.to_string(), repo: self.reference.repo.clone(), what, endpoint: self.settings.endpoint.clone() }
    }

    /// Errors of the repo info request.
    fn info_error(&self, e: HFError) -> HubError {
        let (raw, endpoint, repo) = (self.raw.to_string(), self.settings.endpoint.clone(), self.reference.repo.clone());
        match e {
            HFError::RepoNotFound { context, .. } | HFError::RevisionNotFound { context, .. } => {
                self.not_found(context.as_ref().and_then(|c| c.error_code.as_deref()))
            }
            // The Hub answers 401 for a repository that does not exist (or is private) when asked
            // without a token.
            HFError::AuthRequired { context } if context.error_code.as_deref() == Some("RepoNotFound") => self.not_found(Some("RepoNotFound")),
            e @ (HFError::AuthRequired { .. } | HFError::Forbidden { .. }) => {
                HubError::Access { reference: raw, repo, endpoint, message: e.to_string(), fix: self.access_fix() }
            }
            e => HubError::Hub { reference: raw, endpoint, message: describe(&e) },
        }
    }

    /// Errors of one file download.
    fn download_error(&self, file: &str, e: HFError) -> HubError {
        match e {
            e @ (HFError::AuthRequired { .. } | HFError::Forbidden { .. }) => HubError::Access {
                reference: self.raw.to_string(),
                repo: self.reference.repo.clone(),
                endpoint: self.settings.endpoint.clone(),
                message: format!("{file}: {e}"),
                fix: self.access_fix(),
            },
            e => HubError::Download {
                reference: self.raw.to_string(),
                file: file.to_string(),
                endpoint: self.settings.endpoint.clone(),
                cache: self.settings.cache.clone(),
                message: describe(&e),
            },
        }
    }
}

#[cfg(test)]
mod tests {
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
        assert_eq!(ok("hf://org/name"), HubRef { repo: "org/name".into(), revision: None });
        assert_eq!(ok("hf://org/name@v1.0"), HubRef { repo: "org/name".into(), revision: Some("v1.0".into()) });
        assert_eq!(ok("hf://gpt2"), HubRef { repo: "gpt2".into(), revision: None });
        assert_eq!(ok("hf://Org_1/my-model.v2@refs/pr/1").revision.as_deref(), Some("refs/pr/1"));
        let sha = "0123456789abcdef0123456789abcdef01234567";
        assert_eq!(ok(&format!("hf://org/name@{sha}")).revision.as_deref(), Some(sha));
        assert_eq!(ok("hf://org/name").revision_or_default(), "main");
        assert_eq!(ok("hf://org/name@v1").to_string(), "hf://org/name@v1");
        assert_eq!(ok("hf://gpt2").to_string(), "hf://gpt2");
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
            "hf://a/b/c",
            "hf://org/name@",
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
        assert!(err("hf://a/b/c").contains("3 parts"));
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

    #[test]
    fn picks_the_model_its_data_tokenizer_and_config() {
        let files = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let s = Selection::pick(&files(&["README.md", "model.onnx", "onnx/model.onnx", "tokenizer.json", "config.json"])).unwrap();
        assert_eq!(
            s,
            Selection { model: "model.onnx".into(), external_data: vec![], tokenizer: Some("tokenizer.json".into()), config: Some("config.json".into()) }
        );
        let s = Selection::pick(&files(&["onnx/model.onnx", "onnx/model.onnx_data", "onnx/config.json", "config.json", "tokenizer.json"])).unwrap();
        assert_eq!(s.model, "onnx/model.onnx");
        assert_eq!(s.external_data, vec!["onnx/model.onnx_data".to_string()]);
        assert_eq!(s.config.as_deref(), Some("onnx/config.json"));
        assert_eq!(s.tokenizer.as_deref(), Some("tokenizer.json"));
        let s = Selection::pick(&files(&["model.onnx", "model.onnx.data"])).unwrap();
        assert_eq!((s.external_data, s.tokenizer, s.config), (vec!["model.onnx.data".to_string()], None, None));
        assert_eq!(Selection::pick(&files(&["onnx/model_quantized.onnx", "pytorch_model.bin"])), None);
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
        let sneaky = HubRef { repo: "org/name".into(), revision: Some("../../x".into()) };
        assert!(matches!(resolve_with(&sneaky, "s", &settings), Err(HubError::Reference { .. })));
    }
}
