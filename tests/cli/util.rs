//! Shared helpers: run the binary, read reports, compare floats.

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(path: &str) -> String {
    root().join("fixtures").join(path).to_string_lossy().into_owned()
}

/// The fidelity binary, run through `FIDELITY_TEST_WRAPPER` when it is set (for example
/// `qemu-x86_64 -cpu Haswell`: scripts/test-kernel-classes.sh runs the golden-value tests on
/// another kernel class that way; scripts/golden.sh runs its Python under the same wrapper).
/// Every run gets an output cache of its own (`FIDELITY_CACHE`): runs of different tests would
/// otherwise read each other's entries, and fill the user's cache. Tests of the cache pass --cache.
pub fn command() -> Command {
    let mut c = match std::env::var("FIDELITY_TEST_WRAPPER").ok().filter(|w| !w.trim().is_empty()) {
        Some(wrapper) => {
            let mut words = wrapper.split_whitespace();
            let mut c = Command::new(words.next().unwrap());
            c.args(words).arg(env!("CARGO_BIN_EXE_fidelity"));
            c
        }
        None => Command::new(env!("CARGO_BIN_EXE_fidelity")),
    };
    c.env("FIDELITY_CACHE", own_output_cache());
    c
}

/// A fresh folder under target/test-output-cache/ (emptied when a test run starts).
pub fn own_output_cache() -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    static CLEARED: std::sync::Once = std::sync::Once::new();
    let root = root().join("target").join("test-output-cache");
    CLEARED.call_once(|| {
        let _ = std::fs::remove_dir_all(&root);
    });
    root.join(format!("{}-{}", std::process::id(), NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed)))
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn fidelity<I, S>(args: I, cwd: &Path) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let Output { status, stdout, stderr } = command().args(args).current_dir(cwd).output().expect("the fidelity binary runs");
    Run { code: status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&stdout).into_owned(), stderr: String::from_utf8_lossy(&stderr).into_owned() }
}

/// Runs `fidelity compare` with `args` plus `--out <tmp>/report.json` and returns the parsed report.
pub fn compare_report(args: &[&str]) -> (Run, Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let mut all: Vec<String> = vec!["compare".into()];
    all.extend(args.iter().map(|s| s.to_string()));
    all.extend(["--out".into(), out.to_string_lossy().into_owned(), "--quiet".into()]);
    let run = fidelity(&all, dir.path());
    assert_eq!(run.code, 0, "fidelity failed:\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    (run, report)
}

/// This machine's ONNX Runtime kernel class, as `fidelity machine --json` reports it.
pub fn kernel_class() -> String {
    let run = fidelity(["machine", "--json"], &root());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let machine: Value = serde_json::from_str(&run.stdout).unwrap();
    machine["kernels"]["class"].as_str().unwrap().to_string()
}

/// The committed golden values of a fixture case (fixtures/CASE/golden.json), made on the kernel
/// class they record.
pub fn committed_golden(case: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(&format!("{case}/golden.json"))).unwrap()).unwrap()
}

/// Golden values of a fixture case as ONNX Runtime computes them on THIS machine: made once per
/// test run by scripts/golden.sh (Python onnxruntime of the same version + numpy/scipy/statsmodels,
/// from the committed files only). The int8 fixtures' numbers depend on the CPU's integer
/// kernels, so numbers made on another kind of CPU are never asserted here (issue 13).
/// FIDELITY_GOLDEN=committed uses the committed values instead, without Python, and only where
/// this machine's kernel class is the one they were made on.
pub fn golden(case: &str) -> Value {
    static MADE: std::sync::Mutex<BTreeMap<String, Value>> = std::sync::Mutex::new(BTreeMap::new());
    let mut made = MADE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(v) = made.get(case) {
        return v.clone();
    }
    let value = if std::env::var("FIDELITY_GOLDEN").is_ok_and(|v| v == "committed") {
        let committed = committed_golden(case);
        let here = kernel_class();
        assert_eq!(committed["kernel_class"], here.as_str(), "FIDELITY_GOLDEN=committed: fixtures/{case}/golden.json was made on another kernel class than this machine's; unset it so scripts/golden.sh makes this machine's values");
        committed
    } else {
        let dir = root().join("target").join("golden");
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join(format!("{case}.json"));
        let made =
            Command::new("bash").arg(root().join("scripts/golden.sh")).args([case, out.to_str().unwrap()]).current_dir(root()).output().expect("bash runs");
        assert!(
            made.status.success(),
            "scripts/golden.sh {case} failed (it needs python3 and PyPI once; FIDELITY_GOLDEN=committed uses the committed values on their kernel class):\n{}\n{}",
            String::from_utf8_lossy(&made.stdout),
            String::from_utf8_lossy(&made.stderr)
        );
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap()
    };
    made.insert(case.to_string(), value.clone());
    value
}

/// Asserts that `actual[key]` equals `expected[key]` within `tol` (both null also counts).
#[track_caller]
pub fn assert_close(actual: &Value, expected: &Value, key: &str, tol: f64, context: &str) {
    let (a, e) = (&actual[key], &expected[key]);
    match (a.as_f64(), e.as_f64()) {
        (Some(x), Some(y)) => assert!((x - y).abs() <= tol, "{context}: {key} = {x}, golden {y} (tolerance {tol})"),
        (None, None) if a.is_null() && e.is_null() => {}
        _ => panic!("{context}: {key} = {a}, golden {e}"),
    }
}

pub fn student<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["students"].as_array().unwrap().iter().find(|s| s["model"]["name"] == name).unwrap_or_else(|| panic!("no student {name}"))
}

/// `v` without every field named in `keys`, at any depth (timings, machine facts, ...).
pub fn without_keys(mut v: Value, keys: &[&str]) -> Value {
    fn strip(v: &mut Value, keys: &[&str]) {
        match v {
            Value::Object(m) => {
                keys.iter().for_each(|k| {
                    m.remove(*k);
                });
                m.values_mut().for_each(|x| strip(x, keys));
            }
            Value::Array(a) => a.iter_mut().for_each(|x| strip(x, keys)),
            _ => {}
        }
    }
    strip(&mut v, keys);
    v
}
