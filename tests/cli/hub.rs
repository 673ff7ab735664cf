//! Hugging Face Hub references (`hf://org/name[@revision]`) resolved against a mock hub on
//! loopback, then offline from the cache it filled. Nothing here reaches a real host: every
//! endpoint is 127.0.0.1, and the settings are passed explicitly (no process-wide environment).
//!
//! The mock answers what hf-hub 1.0 asks (see its `fetch_repo_info` and `download_file_to_cache`):
//! - `GET /api/models/{repo}/revision/{rev}`: JSON with `id`, `sha` (the commit) and `siblings`
//!   (`rfilename` per file); 404 with `X-Error-Code: RepoNotFound` / `RevisionNotFound`.
//! - `HEAD|GET /{repo}/resolve/{rev}/{file}`: small files 200 with `ETag`, `X-Repo-Commit` and
//!   `Content-Length`; `.onnx*` files as the Hub serves LFS files: 302 to `/cdn/{sha256}` with
//!   `X-Linked-Etag`, `X-Linked-Size` and `X-Repo-Commit` (hf-hub reads the HEAD's headers without
//!   following, then GETs and follows); 404 with `X-Error-Code: EntryNotFound`.
//! - `HEAD|GET /cdn/{sha256}`: the bytes.
//!
//! Every answer closes its connection (`Connection: close`); hf-hub sends no `Range` for these
//! downloads.

use crate::util::fixture;
use fidelity::model::hub::{resolve_data_with, resolve_with, HubError, HubRef, HubSettings, ResolvedData, ResolvedModel};
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

const TEACHER_SHA: &str = "1111111111111111111111111111111111111111";
const INT8_SHA: &str = "2222222222222222222222222222222222222222";
const EXTERNAL_SHA: &str = "3333333333333333333333333333333333333333";
const TORCH_SHA: &str = "4444444444444444444444444444444444444444";
const GATED_SHA: &str = "5555555555555555555555555555555555555555";
const JS_SHA: &str = "6666666666666666666666666666666666666666";
const DATA_SHA: &str = "7777777777777777777777777777777777777777";
const SHARD_SHA: &str = "8888888888888888888888888888888888888888";
const NO_SHARD_SHA: &str = "9999999999999999999999999999999999999999";

/// The external-data pruned student with its data file renamed in the graph to a name the layout
/// does not guess, in a subfolder: `shard/weights.b` (as long as `model.onnx_data`, so the
/// protobuf stays valid when the bytes are swapped).
fn renamed_external_graph() -> Vec<u8> {
    let (from, to) = (b"model.onnx_data", b"shard/weights.b");
    let mut bytes = read("deployed/external/model.onnx");
    let mut swapped = 0;
    for i in 0..=bytes.len() - from.len() {
        if &bytes[i..i + from.len()] == from {
            bytes[i..i + from.len()].copy_from_slice(to);
            swapped += 1;
        }
    }
    assert!(swapped > 0, "the graph names model.onnx_data");
    bytes
}
const TOKEN: &str = "hf_test_token";
/// The mock stops after this many connections even if a test never drops it.
const MAX_CONNECTIONS: usize = 200;

struct MockRepo {
    id: &'static str,
    sha: &'static str,
    /// Branches and tags that point at `sha` (`main` and `v1.0`).
    refs: &'static [&'static str],
    files: Vec<(&'static str, Vec<u8>)>,
    /// Only this token may read it (403 otherwise).
    token: Option<&'static str>,
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(fixture(path)).unwrap()
}

fn repos() -> Vec<MockRepo> {
    let refs: &[&str] = &["main", "v1.0"];
    vec![
        MockRepo {
            id: "fidelity-test/tweets-teacher",
            sha: TEACHER_SHA,
            refs,
            files: vec![
                (".gitattributes", b"*.onnx filter=lfs diff=lfs merge=lfs -text\n".to_vec()),
                ("README.md", b"# teacher\n".to_vec()),
                ("model.onnx", read("tweets/teacher.onnx")),
                ("tokenizer.json", read("tweets/tokenizer.json")),
                ("config.json", read("tweets/config.json")),
            ],
            token: None,
        },
        MockRepo {
            id: "fidelity-test/tweets-int8",
            sha: INT8_SHA,
            refs,
            files: vec![
                ("onnx/model.onnx", read("tweets/int8.onnx")),
                ("onnx/model_quantized.onnx", read("tweets/int8.onnx")),
                ("tokenizer.json", read("tweets/tokenizer.json")),
                ("config.json", read("tweets/config.json")),
            ],
            token: None,
        },
        // The transformers.js layout: the model and its quantized copy under onnx/, the tokenizer
        // and config at the root.
        MockRepo {
            id: "fidelity-test/tweets-js",
            sha: JS_SHA,
            refs,
            files: vec![
                ("onnx/model.onnx", read("tweets/teacher.onnx")),
                ("onnx/model_quantized.onnx", read("tweets/int8.onnx")),
                ("tokenizer.json", read("tweets/tokenizer.json")),
                ("config.json", read("tweets/config.json")),
            ],
            token: None,
        },
        MockRepo {
            id: "fidelity-test/external-data",
            sha: EXTERNAL_SHA,
            refs,
            // optimum's layout for a large export: the graph and its weights in model.onnx_data.
            files: vec![
                ("model.onnx", read("deployed/external/model.onnx")),
                ("model.onnx_data", read("deployed/external/model.onnx_data")),
                ("tokenizer.json", read("tweets/tokenizer.json")),
                ("config.json", read("tweets/config.json")),
            ],
            token: None,
        },
        MockRepo {
            id: "fidelity-test/pytorch-only",
            sha: TORCH_SHA,
            refs,
            files: vec![("pytorch_model.bin", b"weights".to_vec()), ("onnx/model_quantized.onnx", b"q".to_vec()), ("config.json", b"{}".to_vec())],
            token: None,
        },
        // A dataset repository (ids of datasets carry their `datasets/` prefix here, as in the
        // Hub's resolve URLs), with the tweets test set as Parquet and as JSONL.
        MockRepo {
            id: "datasets/fidelity-test/tweets-data",
            sha: DATA_SHA,
            refs,
            files: vec![
                ("README.md", b"# tweets\n".to_vec()),
                ("data/test.parquet", read("tweets/test.parquet")),
                ("data/test.jsonl", read("tweets/test.jsonl")),
            ],
            token: None,
        },
        MockRepo {
            id: "fidelity-test/external-shards",
            sha: SHARD_SHA,
            refs,
            files: vec![
                ("model.onnx", renamed_external_graph()),
                ("shard/weights.b", read("deployed/external/model.onnx_data")),
                ("tokenizer.json", read("tweets/tokenizer.json")),
                ("config.json", read("tweets/config.json")),
            ],
            token: None,
        },
        MockRepo { id: "fidelity-test/external-missing", sha: NO_SHARD_SHA, refs, files: vec![("model.onnx", renamed_external_graph())], token: None },
        MockRepo { id: "fidelity-test/gated", sha: GATED_SHA, refs, files: vec![("model.onnx", b"gated".to_vec())], token: Some("hf_right") },
    ]
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// One request the mock received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    path: String,
    authorization: Option<String>,
    user_agent: Option<String>,
}

struct State {
    repos: Vec<MockRepo>,
    seen: Mutex<Vec<Seen>>,
    stop: AtomicBool,
    /// Drop every connection without an answer (a hub that cannot be reached).
    down: AtomicBool,
}

/// A Hugging Face Hub on 127.0.0.1: one thread, one connection at a time, at most
/// [`MAX_CONNECTIONS`], stopped and joined on drop.
struct MockHub {
    addr: SocketAddr,
    state: Arc<State>,
    thread: Option<JoinHandle<()>>,
}

impl MockHub {
    fn start() -> MockHub {
        check_no_proxy();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State { repos: repos(), seen: Mutex::new(Vec::new()), stop: AtomicBool::new(false), down: AtomicBool::new(false) });
        let shared = Arc::clone(&state);
        let thread = std::thread::spawn(move || {
            for _ in 0..MAX_CONNECTIONS {
                let Ok((stream, _)) = listener.accept() else { break };
                if shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let _ = serve(stream, &shared, addr);
            }
        });
        MockHub { addr, state, thread: Some(thread) }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn settings(&self, cache: &Path) -> HubSettings {
        HubSettings { endpoint: self.endpoint(), cache: cache.to_path_buf(), offline: false, token: Some(TOKEN.into()) }
    }

    fn seen(&self) -> Vec<Seen> {
        self.state.seen.lock().unwrap().clone()
    }

    fn set_down(&self, down: bool) {
        self.state.down.store(down, Ordering::SeqCst);
    }
}

impl Drop for MockHub {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// reqwest honours HTTP(S)_PROXY and ALL_PROXY without exempting loopback: the mock is only
/// reachable when NO_PROXY covers it.
fn check_no_proxy() {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let proxied = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"].iter().any(|k| var(k).is_some());
    let exempt = var("NO_PROXY").or_else(|| var("no_proxy")).is_some_and(|n| n.contains("127.0.0.1") || n.trim() == "*");
    assert!(!proxied || exempt, "a proxy is configured: set NO_PROXY=127.0.0.1 so the hub tests reach their mock hub on loopback");
}

fn serve(mut stream: TcpStream, state: &State, addr: SocketAddr) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if stream.read(&mut byte)? == 0 || head.len() > 64 * 1024 {
            return Ok(());
        }
        head.push(byte[0]);
    }
    if state.down.load(Ordering::SeqCst) {
        return Ok(()); // dropped without an answer
    }
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.split("\r\n");
    let mut first = lines.next().unwrap_or("").split(' ');
    let (method, target) = (first.next().unwrap_or("").to_string(), first.next().unwrap_or("").to_string());
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|l| l.split_once(':').filter(|(k, _)| k.trim().eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_string()))
    };
    let path = target.split('?').next().unwrap_or("").to_string();
    state.seen.lock().unwrap().push(Seen {
        method: method.clone(),
        path: path.clone(),
        authorization: header("authorization"),
        user_agent: header("user-agent"),
    });
    let answer = route(state, &path, header("authorization").as_deref(), addr);
    let mut out = format!("HTTP/1.1 {}\r\nConnection: close\r\nContent-Length: {}\r\n", answer.status, answer.body.len());
    for (k, v) in &answer.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    stream.write_all(out.as_bytes())?;
    if method != "HEAD" {
        stream.write_all(&answer.body)?;
    }
    stream.flush()
}

struct Answer {
    status: &'static str,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

fn not_found(code: &str, message: &str, commit: Option<&str>) -> Answer {
    let mut headers = vec![("X-Error-Code", code.to_string()), ("X-Error-Message", message.to_string()), ("Content-Type", "application/json".into())];
    if let Some(c) = commit {
        headers.push(("X-Repo-Commit", c.to_string()));
    }
    Answer { status: "404 Not Found", headers, body: serde_json::json!({ "error": message }).to_string().into_bytes() }
}

fn route(state: &State, path: &str, authorization: Option<&str>, addr: SocketAddr) -> Answer {
    if let Some(hash) = path.strip_prefix("/cdn/") {
        let blob = state.repos.iter().flat_map(|r| &r.files).find(|(_, bytes)| sha256(bytes) == hash);
        return match blob {
            Some((_, bytes)) => Answer {
                status: "200 OK",
                headers: vec![("ETag", format!("\"{hash}\"")), ("Content-Type", "application/octet-stream".into())],
                body: bytes.clone(),
            },
            None => not_found("EntryNotFound", "no such blob", None),
        };
    }
    let dataset_info = path.strip_prefix("/api/datasets/").map(|rest| format!("datasets/{rest}"));
    let (repo_id, rev, file) = if let Some(rest) = path.strip_prefix("/api/models/").or(dataset_info.as_deref()) {
        match rest.split_once("/revision/") {
            Some((repo, rev)) => (repo, rev, None),
            None => (rest, "main", None),
        }
    } else if let Some((repo, rest)) = path.trim_start_matches('/').split_once("/resolve/") {
        match rest.split_once('/') {
            Some((rev, file)) => (repo, rev, Some(file)),
            None => return not_found("EntryNotFound", "no file", None),
        }
    } else {
        return not_found("RepoNotFound", "no such route", None);
    };
    let Some(repo) = state.repos.iter().find(|r| r.id == repo_id) else {
        return not_found("RepoNotFound", "Repository not found", None);
    };
    if let Some(needed) = repo.token {
        if authorization != Some(format!("Bearer {needed}").as_str()) {
            return Answer {
                status: "403 Forbidden",
                headers: vec![("X-Error-Code", "GatedRepo".into()), ("X-Error-Message", "Access to this model is restricted".into())],
                body: vec![],
            };
        }
    }
    if rev != repo.sha && !repo.refs.contains(&rev) {
        return not_found("RevisionNotFound", &format!("Invalid rev id: {rev}"), None);
    }
    let Some(file) = file else {
        let siblings: Vec<_> = repo.files.iter().map(|(name, _)| serde_json::json!({ "rfilename": name })).collect();
        let info = serde_json::json!({ "_id": "0123", "id": repo.id, "modelId": repo.id, "sha": repo.sha, "private": false, "siblings": siblings });
        return Answer { status: "200 OK", headers: vec![("Content-Type", "application/json".into())], body: info.to_string().into_bytes() };
    };
    let Some((_, bytes)) = repo.files.iter().find(|(name, _)| *name == file) else {
        return not_found("EntryNotFound", &format!("{file} does not exist on {rev}"), Some(repo.sha));
    };
    let hash = sha256(bytes);
    if file.contains(".onnx") || file.ends_with(".parquet") {
        // An LFS file: the Hub redirects to its CDN and names the blob in X-Linked-* headers.
        Answer {
            status: "302 Found",
            headers: vec![
                ("Location", format!("http://{addr}/cdn/{hash}")),
                ("X-Repo-Commit", repo.sha.to_string()),
                ("X-Linked-Etag", format!("\"{hash}\"")),
                ("X-Linked-Size", bytes.len().to_string()),
            ],
            body: vec![],
        }
    } else {
        Answer {
            status: "200 OK",
            headers: vec![
                ("ETag", format!("\"{}\"", &hash[..40])),
                ("X-Repo-Commit", repo.sha.to_string()),
                ("Content-Type", "application/octet-stream".into()),
            ],
            body: bytes.clone(),
        }
    }
}

fn reference(raw: &str) -> HubRef {
    HubRef::parse(raw).expect("an hf:// reference").expect("a valid reference")
}

fn assert_same_bytes(path: &Path, fixture_path: &str) {
    assert_eq!(std::fs::read(path).unwrap(), read(fixture_path), "{} differs from fixtures/{fixture_path}", path.display());
}

#[track_caller]
fn assert_mentions(message: &str, parts: &[&str]) {
    for part in parts {
        assert!(message.contains(part), "`{part}` is not in the message: {message}");
    }
}

#[test]
fn hub_reference_resolves_from_the_mock_hub_then_offline_from_its_cache() {
    let hub = MockHub::start();
    let cache = tempfile::tempdir().unwrap();
    let raw = "hf://fidelity-test/tweets-teacher";
    let online = resolve_with(&reference(raw), raw, &hub.settings(cache.path())).unwrap();

    let snapshot = cache.path().join("models--fidelity-test--tweets-teacher").join("snapshots").join(TEACHER_SHA);
    assert_eq!(
        online,
        ResolvedModel {
            reference: raw.into(),
            repo: "fidelity-test/tweets-teacher".into(),
            revision: TEACHER_SHA.into(),
            file: "model.onnx".into(),
            model: snapshot.join("model.onnx"),
            tokenizer: Some(snapshot.join("tokenizer.json")),
            config: Some(snapshot.join("config.json")),
            offline: false,
        }
    );
    assert_same_bytes(&online.model, "tweets/teacher.onnx");
    assert_same_bytes(online.tokenizer.as_ref().unwrap(), "tweets/tokenizer.json");
    assert_same_bytes(online.config.as_ref().unwrap(), "tweets/config.json");
    let refs = cache.path().join("models--fidelity-test--tweets-teacher").join("refs");
    assert_eq!(std::fs::read_to_string(refs.join("main")).unwrap(), TEACHER_SHA);
    // Only what fidelity needs was fetched, by commit, with the token and fidelity's user agent.
    let seen = hub.seen();
    let paths: Vec<String> = seen.iter().map(|s| format!("{} {}", s.method, s.path)).collect();
    assert_eq!(paths[0], "GET /api/models/fidelity-test/tweets-teacher/revision/main");
    for file in ["model.onnx", "tokenizer.json", "config.json"] {
        assert!(paths.contains(&format!("HEAD /fidelity-test/tweets-teacher/resolve/{TEACHER_SHA}/{file}")), "{paths:#?}");
    }
    assert!(!paths.iter().any(|p| p.contains("README.md") || p.contains(".gitattributes")), "{paths:#?}");
    for s in &seen {
        assert_eq!(s.authorization.as_deref(), Some("Bearer hf_test_token"), "{s:?}");
        assert!(s.user_agent.as_deref().is_some_and(|ua| ua.starts_with("fidelity/")), "{s:?}");
    }

    // A tag at the same commit asks the hub for its commit, and finds the files already cached.
    let tagged =
        resolve_with(&reference("hf://fidelity-test/tweets-teacher@v1.0"), "hf://fidelity-test/tweets-teacher@v1.0", &hub.settings(cache.path())).unwrap();
    assert_eq!((tagged.revision.as_str(), &tagged.model), (TEACHER_SHA, &online.model));
    assert_eq!(std::fs::read_to_string(refs.join("v1.0")).unwrap(), TEACHER_SHA);
    assert_eq!(hub.seen().iter().filter(|s| s.path.contains("/resolve/")).count(), seen.iter().filter(|s| s.path.contains("/resolve/")).count());

    // The hub is gone; offline mode resolves the same files from the cache.
    drop(hub);
    let offline = HubSettings { endpoint: "http://127.0.0.1:9".into(), cache: cache.path().into(), offline: true, token: None };
    let again = resolve_with(&reference(raw), raw, &offline).unwrap();
    assert_eq!(again, ResolvedModel { offline: true, ..online.clone() });
    assert_same_bytes(&again.model, "tweets/teacher.onnx");
    for rev in ["v1.0", TEACHER_SHA] {
        let raw = format!("{raw}@{rev}");
        let r = resolve_with(&reference(&raw), &raw, &offline).unwrap();
        assert_eq!((r.revision.as_str(), &r.model, r.offline), (TEACHER_SHA, &online.model, true));
    }
}

#[test]
fn hub_reference_offline_with_an_empty_cache_is_a_clear_error() {
    let cache = tempfile::tempdir().unwrap();
    let raw = "hf://fidelity-test/tweets-teacher@v1.0";
    let offline = HubSettings { endpoint: "http://127.0.0.1:9".into(), cache: cache.path().into(), offline: true, token: None };
    let e = resolve_with(&reference(raw), raw, &offline).unwrap_err();
    assert!(matches!(e, HubError::NotCached { .. }), "{e:?}");
    let cache_dir = cache.path().display().to_string();
    assert_mentions(&e.to_string(), &[raw, "offline mode is on", "HF_HUB_OFFLINE", &cache_dir, "refs/v1.0", "Run once without HF_HUB_OFFLINE"]);
}

#[test]
fn hub_reference_finds_the_model_under_onnx() {
    let hub = MockHub::start();
    let cache = tempfile::tempdir().unwrap();
    let raw = "hf://fidelity-test/tweets-int8@main";
    let r = resolve_with(&reference(raw), raw, &hub.settings(cache.path())).unwrap();
    let snapshot = cache.path().join("models--fidelity-test--tweets-int8").join("snapshots").join(INT8_SHA);
    assert_eq!(r.revision, INT8_SHA);
    assert_eq!(r.model, snapshot.join("onnx").join("model.onnx"));
    assert_same_bytes(&r.model, "tweets/int8.onnx");
    // The tokenizer and config live at the repository's root, not beside the model.
    assert_eq!(r.tokenizer, Some(snapshot.join("tokenizer.json")));
    assert_eq!(r.config, Some(snapshot.join("config.json")));
    assert!(!hub.seen().iter().any(|s| s.path.contains("model_quantized")));
    drop(hub);
    let offline = HubSettings { endpoint: "http://127.0.0.1:9".into(), cache: cache.path().into(), offline: true, token: None };
    assert_eq!(resolve_with(&reference(raw), raw, &offline).unwrap(), ResolvedModel { offline: true, ..r });
}

#[test]
fn hub_reference_downloads_external_data_next_to_the_model() {
    let hub = MockHub::start();
    let cache = tempfile::tempdir().unwrap();
    let raw = "hf://fidelity-test/external-data";
    let r = resolve_with(&reference(raw), raw, &hub.settings(cache.path())).unwrap();
    let data = r.model.with_file_name("model.onnx_data");
    assert_same_bytes(&data, "deployed/external/model.onnx_data");
    assert_same_bytes(&r.model, "deployed/external/model.onnx");
}

#[test]
fn the_external_data_files_a_graph_names_are_fetched_from_its_commit() {
    let hub = MockHub::start();
    let cache = tempfile::tempdir().unwrap();
    let raw = "hf://fidelity-test/external-shards";
    let r = resolve_with(&reference(raw), raw, &hub.settings(cache.path())).unwrap();
    assert_same_bytes(&r.model.with_file_name("shard").join("weights.b"), "deployed/external/model.onnx_data");
    // Offline, the snapshot has them too.
    let offline = HubSettings { endpoint: "http://127.0.0.1:9".into(), cache: cache.path().into(), offline: true, token: None };
    assert_eq!(resolve_with(&reference(raw), raw, &offline).unwrap(), ResolvedModel { offline: true, ..r });

    let raw = "hf://fidelity-test/external-missing";
    let e = resolve_with(&reference(raw), raw, &hub.settings(cache.path())).unwrap_err();
    assert!(matches!(e, HubError::MissingExternal { .. }), "{e:?}");
    assert_mentions(&e.to_string(), &[raw, "shard/weights.b", NO_SHARD_SHA, "upload them beside the graph"]);
}

#[test]
fn compare_takes_a_hub_model_with_external_data() {
    check_no_proxy();
    let hub = MockHub::start();
    let dir = tempfile::tempdir().unwrap();
    let f = |p: &str| crate::util::fixture(p);
    let (_, local) = crate::util::compare_report(&[&f("tweets/teacher.onnx"), &f("tweets/pruned.onnx"), "--data", &f("tweets/test.jsonl"), "--bootstrap", "0", "--no-speed"]);
    for (repo, data) in [("external-data", "model.onnx_data"), ("external-shards", "shard/weights.b")] {
        let student = format!("pruned=hf://fidelity-test/{repo}");
        let report = compare_through_hub(["hf://fidelity-test/tweets-teacher", &student], dir.path(), &hub.endpoint(), false, &format!("{repo}.json"));
        let student = &report["students"][0];
        assert_eq!(student["model"]["external_data"], serde_json::json!([data]));
        // The same weights as the local single-file pruned student: the same numbers.
        assert_eq!(student["fidelity"], local["students"][0]["fidelity"], "{repo}");
    }
}

#[test]
fn hub_reference_to_an_unknown_repository_or_revision_is_a_clear_error() {
    let hub = MockHub::start();
    let cache = tempfile::tempdir().unwrap();
    let endpoint = hub.endpoint();
    let raw = "hf://fidelity-test/missing";
    let e = resolve_with(&reference(raw), raw, &hub.settings(cache.path())).unwrap_err();
    assert!(matches!(e, HubError::NotFound { .. }), "{e:?}");
    assert_mentions(&e.to_string(), &[raw, "repository fidelity-test/missing not found", &endpoint, "HF_TOKEN"]);

    let raw = "hf://fidelity-test/tweets-teacher@no-such-tag";
    let e = resolve_with(&reference(raw), raw, &hub.settings(cache.path())).unwrap_err();
    assert_mentions(&e.to_string(), &[raw, "revision no-such-tag of repository fidelity-test/tweets-teacher not found", &endpoint]);
    // Nothing was cached for either.
    assert!(std::fs::read_dir(cache.path()).unwrap().next().is_none());
}

#[test]
fn hub_reference_without_an_onnx_model_is_a_clear_error() {
    let hub = MockHub::start();
    let cache = tempfile::tempdir().unwrap();
    let raw = "hf://fidelity-test/pytorch-only";
    let e = resolve_with(&reference(raw), raw, &hub.settings(cache.path())).unwrap_err();
    assert!(matches!(e, HubError::NoModel { .. }), "{e:?}");
    assert_mentions(&e.to_string(), &[raw, "neither model.onnx nor onnx/model.onnx", TORCH_SHA, "onnx/model_quantized.onnx", "optimum-cli export onnx"]);
}

#[test]
fn hub_reference_refused_access_names_the_token() {
    let hub = MockHub::start();
    let cache = tempfile::tempdir().unwrap();
    let raw = "hf://fidelity-test/gated";
    let wrong = HubSettings { token: Some("hf_wrong".into()), ..hub.settings(cache.path()) };
    let e = resolve_with(&reference(raw), raw, &wrong).unwrap_err();
    assert!(matches!(e, HubError::Access { .. }), "{e:?}");
    assert_mentions(&e.to_string(), &[raw, &hub.endpoint(), "HF_TOKEN", "gated"]);
    let right = HubSettings { token: Some("hf_right".into()), ..hub.settings(cache.path()) };
    assert_eq!(resolve_with(&reference(raw), raw, &right).unwrap().revision, GATED_SHA);
}

/// A hub that cannot be reached (connections dropped: hf-hub retries them, then gives up) falls
/// back to a cached copy, as huggingface_hub does, and says so; without one, the error says what
/// to do.
#[test]
fn hub_reference_falls_back_to_the_cache_when_the_hub_is_unreachable() {
    let hub = MockHub::start();
    let cache = tempfile::tempdir().unwrap();
    let raw = "hf://fidelity-test/tweets-int8";
    let online = resolve_with(&reference(raw), raw, &hub.settings(cache.path())).unwrap();
    hub.set_down(true);
    let fallback = resolve_with(&reference(raw), raw, &hub.settings(cache.path())).unwrap();
    assert_eq!(fallback, ResolvedModel { offline: true, ..online });

    let empty = tempfile::tempdir().unwrap();
    let e = resolve_with(&reference(raw), raw, &hub.settings(empty.path())).unwrap_err();
    assert!(matches!(e, HubError::Unreachable { .. }), "{e:?}");
    let empty_dir = empty.path().display().to_string();
    assert_mentions(&e.to_string(), &[raw, "cannot reach", &hub.endpoint(), &empty_dir, "HF_HUB_OFFLINE=1"]);
}

/// The environment that points the binary at a mock hub and a cache.
fn hub_env(endpoint: &str, cache: &Path, offline: bool) -> Vec<(&'static str, String)> {
    vec![
        ("HF_ENDPOINT", endpoint.to_string()),
        ("HF_HUB_CACHE", cache.display().to_string()),
        ("HF_HUB_OFFLINE", if offline { "1" } else { "0" }.to_string()),
        ("HF_TOKEN", TOKEN.to_string()),
        ("NO_PROXY", "127.0.0.1".to_string()),
    ]
}

/// [`crate::util::fidelity`] with extra environment variables on the child process.
fn fidelity_with_env(args: &[&str], cwd: &Path, env: &[(&'static str, String)]) -> crate::util::Run {
    let out = crate::util::command().args(args).current_dir(cwd).envs(env.iter().map(|(k, v)| (*k, v.as_str()))).output().expect("the fidelity binary runs");
    crate::util::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `fidelity compare TEACHER STUDENT` on the tweets test set through the hub at `endpoint` (or its
/// cache in `dir/cache`, offline), returning the report written to `dir/out`.
fn compare_through_hub(models: [&str; 2], dir: &Path, endpoint: &str, offline: bool, out: &str) -> serde_json::Value {
    let (out, data) = (dir.join(out), crate::util::fixture("tweets/test.jsonl"));
    let args = ["compare", models[0], models[1], "--data", &data, "--bootstrap", "0", "--no-speed", "--quiet", "--out", out.to_str().unwrap()];
    let r = fidelity_with_env(&args, dir, &hub_env(endpoint, &dir.join("cache"), offline));
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap()
}

#[test]
fn compare_takes_hub_references_online_then_offline() {
    check_no_proxy();
    let hub = MockHub::start();
    let dir = tempfile::tempdir().unwrap();
    let endpoint = hub.endpoint();
    let run = |offline: bool, out: &str| compare_through_hub(["hf://fidelity-test/tweets-teacher", "int8=hf://fidelity-test/tweets-int8@v1.0"], dir.path(), &endpoint, offline, out);
    let online = run(false, "online.json");
    assert_eq!(online["teacher"]["name"], "tweets-teacher", "a hub model is named after its repository");
    assert_eq!(online["teacher"]["hub"]["repo"], "fidelity-test/tweets-teacher");
    assert_eq!(online["teacher"]["hub"]["revision"].as_str().unwrap().len(), 40, "the resolved commit is recorded");
    assert_eq!(online["students"][0]["model"]["hub"]["reference"], "hf://fidelity-test/tweets-int8@v1.0");
    // The tokenizer and config came from the teacher's repository: same numbers as the local files.
    let golden = crate::util::golden("tweets");
    let f = &online["students"][0]["fidelity"];
    assert!((f["label_loyalty"].as_f64().unwrap() - golden["by_batch_size"]["32"]["students"]["int8"]["label_loyalty"].as_f64().unwrap()).abs() < 1e-9);
    drop(hub);
    let offline = run(true, "offline.json");
    assert_eq!(offline["teacher"]["hub"]["offline"], true);
    assert_eq!(offline["students"][0]["fidelity"], online["students"][0]["fidelity"]);
}

#[test]
fn a_teacher_and_its_quantized_copy_from_one_repository_online_then_offline() {
    check_no_proxy();
    let hub = MockHub::start();
    let dir = tempfile::tempdir().unwrap();
    let data = crate::util::fixture("tweets/test.jsonl");
    let endpoint = hub.endpoint();
    let models = ["hf://fidelity-test/tweets-js", "hf://fidelity-test/tweets-js/onnx/model_quantized.onnx"];
    let run = |offline: bool, out: &str| compare_through_hub(models, dir.path(), &endpoint, offline, out);
    let online = run(false, "online.json");
    assert_eq!(online["teacher"]["name"], "tweets-js");
    assert_eq!(online["teacher"]["hub"]["file"], "onnx/model.onnx");
    let student = &online["students"][0];
    assert_eq!(student["model"]["name"], "model_quantized", "a file in a repository is named after the file");
    assert_eq!(student["model"]["hub"]["file"], "onnx/model_quantized.onnx");
    assert_eq!(student["model"]["hub"]["revision"], JS_SHA);
    // Tokenizer and config from the repository's root: the numbers of the local fixture files.
    let golden = crate::util::golden("tweets");
    let want = &golden["by_batch_size"]["32"]["students"]["int8"];
    for key in ["label_loyalty", "probability_loyalty", "mean_kl", "negative_flip_rate"] {
        crate::util::assert_close(&student["fidelity"], want, key, 1e-9, "hf:// int8 file");
    }
    assert_eq!(online["data"]["label_names"], serde_json::json!(["negative", "neutral", "positive"]));
    drop(hub);
    let offline = run(true, "offline.json");
    assert_eq!(offline["students"][0]["model"]["hub"]["offline"], true);
    assert_eq!(offline["students"][0]["fidelity"], student["fidelity"]);
    // A file the repository does not have names it and the files it does have.
    let hub = MockHub::start();
    let args = ["compare", "hf://fidelity-test/tweets-js", "hf://fidelity-test/tweets-js/onnx/model_fp16.onnx", "--data", &data, "--quiet"];
    let r = fidelity_with_env(&args, dir.path(), &hub_env(&hub.endpoint(), &dir.path().join("cache2"), false));
    assert_eq!(r.code, 2, "{}", r.stderr);
    for part in ["has no onnx/model_fp16.onnx", "onnx/model_quantized.onnx"] {
        assert!(r.stderr.contains(part), "{part} not in {}", r.stderr);
    }
}

#[test]
fn a_dataset_file_resolves_from_the_mock_hub_then_offline_from_its_cache() {
    let hub = MockHub::start();
    let cache = tempfile::tempdir().unwrap();
    let raw = "hf://datasets/fidelity-test/tweets-data/data/test.parquet";
    let online = resolve_data_with(&reference(raw), raw, &hub.settings(cache.path())).unwrap();
    let snapshot = cache.path().join("datasets--fidelity-test--tweets-data").join("snapshots").join(DATA_SHA);
    assert_eq!(
        online,
        ResolvedData {
            reference: raw.into(),
            repo: "fidelity-test/tweets-data".into(),
            revision: DATA_SHA.into(),
            file: "data/test.parquet".into(),
            local: snapshot.join("data").join("test.parquet"),
            offline: false,
        }
    );
    assert_same_bytes(&online.local, "tweets/test.parquet");
    let paths: Vec<String> = hub.seen().iter().map(|s| format!("{} {}", s.method, s.path)).collect();
    assert_eq!(paths[0], "GET /api/datasets/fidelity-test/tweets-data/revision/main");
    assert!(paths.contains(&format!("HEAD /datasets/fidelity-test/tweets-data/resolve/{DATA_SHA}/data/test.parquet")), "{paths:#?}");
    assert!(!paths.iter().any(|p| p.contains("test.jsonl") || p.contains("README")), "only the file asked for: {paths:#?}");
    let refs = cache.path().join("datasets--fidelity-test--tweets-data").join("refs").join("main");
    assert_eq!(std::fs::read_to_string(refs).unwrap(), DATA_SHA);

    // A file the repository lacks names the data files it has.
    let missing = "hf://datasets/fidelity-test/tweets-data/data/train.parquet";
    let e = resolve_data_with(&reference(missing), missing, &hub.settings(cache.path())).unwrap_err();
    assert_mentions(&e.to_string(), &[missing, "no data/train.parquet", DATA_SHA, "data/test.parquet, data/test.jsonl"]);
    let unknown = "hf://datasets/fidelity-test/nothing/data.parquet";
    let e = resolve_data_with(&reference(unknown), unknown, &hub.settings(cache.path())).unwrap_err();
    assert_mentions(&e.to_string(), &["dataset repository fidelity-test/nothing", "/datasets/fidelity-test/nothing"]);

    drop(hub);
    let offline = HubSettings { endpoint: "http://127.0.0.1:9".into(), cache: cache.path().into(), offline: true, token: None };
    assert_eq!(resolve_data_with(&reference(raw), raw, &offline).unwrap(), ResolvedData { offline: true, ..online });
    let e = resolve_data_with(&reference(missing), missing, &offline).unwrap_err();
    assert_mentions(&e.to_string(), &["offline mode is on", "data/train.parquet"]);
}

#[test]
fn compare_reads_parquet_data_from_a_dataset_repository_online_then_offline() {
    check_no_proxy();
    let hub = MockHub::start();
    let dir = tempfile::tempdir().unwrap();
    let f = |p: &str| crate::util::fixture(&format!("tweets/{p}"));
    let data = "hf://datasets/fidelity-test/tweets-data@v1.0/data/test.parquet";
    let run = |endpoint: &str, offline: bool, out: &str| {
        let out = dir.path().join(out);
        let args = ["compare", &f("teacher.onnx"), &f("int8.onnx"), "--data", data, "--group-column", "topic", "--bootstrap", "0", "--no-speed", "--quiet", "--out", out.to_str().unwrap()];
        let r = fidelity_with_env(&args, dir.path(), &hub_env(endpoint, &dir.path().join("cache"), offline));
        assert_eq!(r.code, 0, "{}", r.stderr);
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(out).unwrap()).unwrap()
    };
    let online = run(&hub.endpoint(), false, "online.json");
    let hub_info = &online["data"]["hub"];
    assert_eq!((hub_info["repo"].as_str(), hub_info["revision"].as_str(), hub_info["file"].as_str()), (Some("fidelity-test/tweets-data"), Some(DATA_SHA), Some("data/test.parquet")));
    assert_eq!((online["data"]["format"].as_str(), online["data"]["examples"].as_u64()), (Some("parquet"), Some(2000)));
    // The numbers of the local JSONL file.
    let golden = crate::util::golden("tweets");
    crate::util::assert_close(&online["students"][0]["fidelity"], &golden["by_batch_size"]["32"]["students"]["int8"], "label_loyalty", 1e-9, "hf://datasets parquet");
    drop(hub);
    let offline = run("http://127.0.0.1:9", true, "offline.json");
    assert_eq!(offline["data"]["hub"]["offline"], true);
    for key in ["fidelity", "statistics", "disagreements"] {
        assert_eq!(offline["students"][0][key], online["students"][0][key], "{key}");
    }
}
