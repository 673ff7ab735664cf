//! Shared helpers: run the binary, read reports, compare floats.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(path: &str) -> String {
    root().join("fixtures").join(path).to_string_lossy().into_owned()
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
    let Output { status, stdout, stderr } =
        Command::new(env!("CARGO_BIN_EXE_fidelity")).args(args).current_dir(cwd).output().expect("the fidelity binary runs");
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

pub fn golden(case: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(&format!("{case}/golden.json"))).unwrap()).unwrap()
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
