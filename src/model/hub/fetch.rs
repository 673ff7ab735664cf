//! The resolution model and dataset references share: the repo info at the revision online (the
//! commit and the file list), downloads at that commit, the `refs/` record; the snapshot offline
//! or when the hub cannot be reached; and the mapping of hf-hub's errors to [`HubError`]s.

use super::{wanted, HubError, HubRef, HubSettings, RepoKind, DATASETS, EXPECTED};
use hf_hub::{HFClient, HFError};
use std::path::{Path, PathBuf};

/// The local copies of a resolution's files, all from one commit.
pub(super) struct Fetched {
    pub(super) sha: String,
    paths: Vec<(String, PathBuf)>,
    pub(super) offline: bool,
}

impl Fetched {
    pub(super) fn path(&self, file: &str) -> PathBuf {
        self.paths.iter().find(|(f, _)| f == file).map(|(_, p)| p.clone()).unwrap_or_default()
    }
}

/// The resolution both kinds share: `pick(has)` chooses from the repository's files (the file
/// list at the commit online, the snapshot offline), `files` lists what the choice needs
/// downloaded, `none(listed, sha)` is the error when nothing qualifies online.
pub(super) fn fetch<S>(
    reference: &HubRef,
    raw: &str,
    settings: &HubSettings,
    pick: impl Fn(&dyn Fn(&str) -> bool) -> Option<S>,
    files: impl Fn(&S) -> Vec<String>,
    none: impl Fn(&[String], &str) -> HubError,
) -> Result<(S, Fetched), HubError> {
    reference.validate().map_err(|why| HubError::Reference {
        reference: raw.to_string(),
        message: format!("`{raw}` is not a valid Hugging Face reference: {why}; {EXPECTED}"),
    })?;
    if settings.offline {
        return from_cache(reference, &settings.cache, &pick, &files).map_err(|missing| HubError::NotCached {
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
    let revision = reference.revision_or_default();
    let listed = |siblings: Option<Vec<hf_hub::repository::RepoSibling>>| siblings.unwrap_or_default().into_iter().map(|s| s.rfilename).collect::<Vec<String>>();
    let info = match reference.kind {
        RepoKind::Model => client.model(owner, name).info().revision(revision.to_string()).send().map(|i| (i.sha, listed(i.siblings))),
        RepoKind::Dataset => client.dataset(owner, name).info().revision(revision.to_string()).send().map(|i| (i.sha, listed(i.siblings))),
    };
    let (sha, listed) = match info {
        Ok(info) => info,
        Err(e) if unreachable(&e) => {
            return from_cache(reference, &settings.cache, &pick, &files).map_err(|missing| HubError::Unreachable {
                reference: raw.to_string(),
                endpoint: settings.endpoint.clone(),
                message: describe(&e),
                cache: settings.cache.clone(),
                missing,
            });
        }
        Err(e) => return Err(ctx.info_error(e)),
    };
    let sha = sha.filter(|s| !s.is_empty()).ok_or_else(|| HubError::Hub {
        reference: raw.to_string(),
        endpoint: settings.endpoint.clone(),
        message: format!("the repo info of {} at {revision} has no commit sha", reference.repo),
    })?;
    let selection = pick(&|f: &str| listed.iter().any(|x| x == f)).ok_or_else(|| none(&listed, &sha))?;

    let download = |file: &str| -> Result<PathBuf, HubError> {
        let result = match reference.kind {
            RepoKind::Model => client.model(owner, name).download_file().filename(file.to_string()).revision(sha.clone()).send(),
            RepoKind::Dataset => client.dataset(owner, name).download_file().filename(file.to_string()).revision(sha.clone()).send(),
        };
        result.map_err(|e| ctx.download_error(file, e))
    };
    let paths = files(&selection).into_iter().map(|f| download(&f).map(|p| (f, p))).collect::<Result<Vec<_>, _>>()?;

    // hf-hub records refs/<revision> only for downloads by branch or tag; these were by commit.
    if !is_commit_hash(revision) {
        let path = settings.cache.join(reference.cache_folder()).join("refs").join(revision);
        let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(&path, &sha));
        written.map_err(|source| HubError::Cache { reference: raw.to_string(), path, cache: settings.cache.clone(), source })?;
    }
    Ok((selection, Fetched { sha, paths, offline: false }))
}

pub(super) fn is_commit_hash(revision: &str) -> bool {
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

/// Resolution from the cache alone; the error is what is missing, for the caller's message.
fn from_cache<S>(reference: &HubRef, cache: &Path, pick: &impl Fn(&dyn Fn(&str) -> bool) -> Option<S>, files: &impl Fn(&S) -> Vec<String>) -> Result<(S, Fetched), String> {
    let folder = cache.join(reference.cache_folder());
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
    let Some(selection) = pick(&|f: &str| snapshot.join(f).is_file()) else {
        return Err(format!("{} of {} at commit {sha} (looked in {})", wanted(reference).trim_start_matches("no "), reference.repo, snapshot.display()));
    };
    let paths = files(&selection).into_iter().map(|f| (f.clone(), snapshot.join(&f))).collect();
    Ok((selection, Fetched { sha, paths, offline: true }))
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
        let (kind, repo) = match self.reference.kind {
            RepoKind::Model => ("repository", self.reference.repo.clone()),
            RepoKind::Dataset => ("dataset repository", format!("{DATASETS}{}", self.reference.repo)),
        };
        let what = match code {
            Some("RevisionNotFound") => format!("revision {revision} of {kind} {}", self.reference.repo),
            Some("RepoNotFound") => format!("{kind} {}", self.reference.repo),
            _ => format!("{kind} {} (or its revision {revision})", self.reference.repo),
        };
        HubError::NotFound { reference: self.raw.to_string(), repo, what, endpoint: self.settings.endpoint.clone() }
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
