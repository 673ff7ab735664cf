//! Where the ONNX Runtime shared library comes from.
//!
//! fidelity loads ONNX Runtime at run time (`ort`'s `load-dynamic`), so one binary runs any
//! ONNX Runtime from 1.2x to 1.32 that a host already has. In order:
//! 1. an explicit path: `--ort-lib` or `ORT_DYLIB_PATH`;
//! 2. when the binary runs from a Python environment (installed by `pip install fidelity`: the
//!    wheel depends on `onnxruntime`), that environment's `onnxruntime/capi/` library: no second
//!    download, and the version the user's own Python code runs;
//! 3. the cache: `$FIDELITY_CACHE_DIR`, else `$XDG_CACHE_HOME/fidelity`, else `~/.cache/fidelity`,
//!    holding `onnxruntime-<PINNED_VERSION>/`;
//! 4. a first-run fetch of the pinned PyPI `onnxruntime` wheel with `python3 -m pip download`
//!    (`$FIDELITY_PYTHON` overrides the interpreter), whose `onnxruntime/capi/` libraries are
//!    extracted into the cache. ort's own binary download is off: its CDN is not reachable from
//!    many CI machines, PyPI usually is.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use thiserror::Error;

/// The ONNX Runtime version fetched when no library is given. Fixture golden values were computed
/// with the same version.
pub const PINNED_VERSION: &str = "1.31.1";

#[derive(Debug, Error)]
pub enum RuntimeLibraryError {
    #[error("ONNX Runtime library {path} (from {origin}) does not exist. Point --ort-lib or ORT_DYLIB_PATH at libonnxruntime.so, or unset it to let fidelity fetch ONNX Runtime {PINNED_VERSION}")]
    ExplicitMissing { path: PathBuf, origin: String },
    #[error("no ONNX Runtime library found. Tried: {tried}. Fix: install python3 with pip (fidelity then fetches onnxruntime=={PINNED_VERSION} from PyPI on first run), or pass --ort-lib / set ORT_DYLIB_PATH to a libonnxruntime shared library (1.20 or newer)")]
    NotFound { tried: String },
}

/// Where the library was found, for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct LibraryLocation {
    pub path: PathBuf,
    pub origin: String,
}

fn library_file_name(version: &str) -> String {
    if cfg!(target_os = "macos") {
        format!("libonnxruntime.{version}.dylib")
    } else if cfg!(target_os = "windows") {
        "onnxruntime.dll".to_string()
    } else {
        format!("libonnxruntime.so.{version}")
    }
}

/// fidelity's cache directory.
pub fn cache_dir() -> Option<PathBuf> {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("FIDELITY_CACHE_DIR").or_else(|| var("XDG_CACHE_HOME").map(|p| p.join("fidelity"))).or_else(|| var("HOME").map(|p| p.join(".cache").join("fidelity")))
}

/// Finds (or fetches) the library. `explicit` is the `--ort-lib` / `ORT_DYLIB_PATH` value.
pub fn locate(explicit: Option<&Path>) -> Result<LibraryLocation, RuntimeLibraryError> {
    if let Some(path) = explicit {
        let origin = "--ort-lib / ORT_DYLIB_PATH".to_string();
        return if path.is_file() {
            Ok(LibraryLocation { path: path.to_path_buf(), origin })
        } else {
            Err(RuntimeLibraryError::ExplicitMissing { path: path.to_path_buf(), origin })
        };
    }
    let mut tried = vec!["--ort-lib / ORT_DYLIB_PATH (not set)".to_string()];
    if let Some(found) = std::env::current_exe().ok().and_then(|exe| python_environment_library(&exe)) {
        let origin = format!("the onnxruntime package of the Python environment {}", found.environment.display());
        return Ok(LibraryLocation { path: found.library, origin });
    }
    let Some(cache) = cache_dir() else {
        tried.push("the cache (no FIDELITY_CACHE_DIR, XDG_CACHE_HOME or HOME)".into());
        return Err(RuntimeLibraryError::NotFound { tried: tried.join("; ") });
    };
    let dir = cache.join(format!("onnxruntime-{PINNED_VERSION}"));
    let lib = dir.join(library_file_name(PINNED_VERSION));
    if lib.is_file() {
        return Ok(LibraryLocation { path: lib, origin: format!("cache {}", dir.display()) });
    }
    tried.push(format!("the cache ({} is absent)", lib.display()));
    match fetch_wheel_into(&cache, &dir) {
        Ok(()) if lib.is_file() => Ok(LibraryLocation { path: lib, origin: format!("fetched into {}", dir.display()) }),
        Ok(()) => {
            tried.push(format!("the PyPI wheel onnxruntime=={PINNED_VERSION} (it has no {})", library_file_name(PINNED_VERSION)));
            Err(RuntimeLibraryError::NotFound { tried: tried.join("; ") })
        }
        Err(why) => {
            tried.push(format!("fetching onnxruntime=={PINNED_VERSION} with pip ({why})"));
            Err(RuntimeLibraryError::NotFound { tried: tried.join("; ") })
        }
    }
}

/// The onnxruntime library of the Python environment a binary lives in.
pub struct EnvironmentLibrary {
    /// The environment's root (the venv, conda env or `~/.local`).
    pub environment: PathBuf,
    pub library: PathBuf,
}

/// For a binary at `exe` installed by pip (`<env>/bin/fidelity`, `<env>\Scripts\fidelity.exe`),
/// the `onnxruntime` package's shared library in that environment's site-packages
/// (`<env>/lib/python3.X/site-packages/onnxruntime/capi/libonnxruntime.so.1.X.Y`,
/// `<env>\Lib\site-packages\onnxruntime\capi\onnxruntime.dll`); `None` for a binary elsewhere.
pub fn python_environment_library(exe: &Path) -> Option<EnvironmentLibrary> {
    let environment = exe.parent()?.parent()?.to_path_buf();
    let lib = environment.join("lib");
    let mut site_packages: Vec<PathBuf> = std::fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("python"))
        .map(|e| e.path().join("site-packages"))
        .collect();
    site_packages.sort();
    site_packages.push(environment.join("Lib").join("site-packages"));
    let library = site_packages.iter().map(|s| s.join("onnxruntime").join("capi")).find_map(|capi| {
        let mut names: Vec<PathBuf> = std::fs::read_dir(&capi).ok()?.flatten().map(|e| e.path()).filter(|p| is_runtime_library(p)).collect();
        names.sort();
        names.pop()
    })?;
    Some(EnvironmentLibrary { environment, library })
}

/// `libonnxruntime.so.1.X.Y`, `libonnxruntime.1.X.Y.dylib` or `onnxruntime.dll` (not the providers'
/// libraries beside it).
fn is_runtime_library(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    name.starts_with("libonnxruntime.so") || (name.starts_with("libonnxruntime.") && name.ends_with(".dylib")) || name == "onnxruntime.dll"
}

/// Downloads the pinned wheel with pip and extracts its `onnxruntime/capi/` libraries into `target`.
/// Concurrent first runs (parallel tests) wait for one fetch instead of racing.
fn fetch_wheel_into(cache: &Path, target: &Path) -> Result<(), String> {
    std::fs::create_dir_all(cache).map_err(|e| format!("cannot create {}: {e}", cache.display()))?;
    let lock = cache.join(format!("onnxruntime-{PINNED_VERSION}.lock"));
    let Some(_guard) = super::cache_lock::acquire(&lock, || target.is_dir(), Duration::from_secs(600))? else {
        return Ok(()); // another process finished the fetch
    };
    if target.is_dir() {
        return Ok(());
    }
    let python = std::env::var("FIDELITY_PYTHON").unwrap_or_else(|_| "python3".into());
    let staging = cache.join(format!(".fetch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    eprintln!("fidelity: first run: fetching ONNX Runtime {PINNED_VERSION} from PyPI with `{python} -m pip download` into {}", target.display());
    let result = download_and_extract(&python, &staging)
        .and_then(|()| std::fs::rename(staging.join("lib"), target).map_err(|e| format!("cannot move into {}: {e}", target.display())));
    let _ = std::fs::remove_dir_all(&staging);
    result
}

fn download_and_extract(python: &str, staging: &Path) -> Result<(), String> {
    let run = |args: &[&str]| -> Result<(), String> {
        let out = Command::new(python).args(args).output().map_err(|e| format!("cannot run {python}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let last = stderr.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("no message");
            Err(format!("`{python} {}` failed: {last}", args.first().copied().unwrap_or("")))
        }
    };
    let wheels = staging.join("wheels");
    let wheels_s = wheels.to_string_lossy().to_string();
    let spec = format!("onnxruntime=={PINNED_VERSION}");
    run(&["-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps", "--only-binary=:all:", "-d", &wheels_s, &spec])?;
    // The wheel is a zip; Python (already needed for pip) extracts it, so fidelity needs no zip crate.
    const EXTRACT: &str = "import glob, os, sys, zipfile\n\
        wheel = glob.glob(os.path.join(sys.argv[1], 'onnxruntime-*.whl'))[0]\n\
        os.makedirs(sys.argv[2], exist_ok=True)\n\
        z = zipfile.ZipFile(wheel)\n\
        for name in z.namelist():\n\
        \x20   base = os.path.basename(name)\n\
        \x20   if name.startswith('onnxruntime/capi/') and (base.startswith('libonnxruntime') or base == 'onnxruntime.dll'):\n\
        \x20       open(os.path.join(sys.argv[2], base), 'wb').write(z.read(name))\n";
    let lib = staging.join("lib").to_string_lossy().to_string();
    run(&["-c", EXTRACT, &wheels_s, &lib])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_missing_path_is_a_clear_error() {
        let err = locate(Some(Path::new("/nonexistent/libonnxruntime.so"))).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/libonnxruntime.so") && err.contains("ORT_DYLIB_PATH"), "{err}");
    }

    #[test]
    fn a_binary_in_a_python_environment_finds_its_onnxruntime_package() {
        let env = tempfile::tempdir().unwrap();
        let capi = env.path().join("lib/python3.11/site-packages/onnxruntime/capi");
        std::fs::create_dir_all(&capi).unwrap();
        std::fs::create_dir_all(env.path().join("bin")).unwrap();
        for name in ["libonnxruntime.so.1.22.0", "libonnxruntime_providers_shared.so", "onnxruntime_pybind11_state.so"] {
            std::fs::write(capi.join(name), b"").unwrap();
        }
        let found = python_environment_library(&env.path().join("bin/fidelity")).unwrap();
        assert_eq!(found.library, capi.join("libonnxruntime.so.1.22.0"));
        assert_eq!(found.environment, env.path());
        // A binary outside an environment with onnxruntime (target/release/fidelity) finds nothing.
        let elsewhere = tempfile::tempdir().unwrap();
        assert!(python_environment_library(&elsewhere.path().join("release/fidelity")).is_none());
    }

    #[test]
    fn library_name_carries_the_version() {
        assert!(library_file_name("1.31.1").contains("1.31.1") || cfg!(target_os = "windows"));
    }
}
