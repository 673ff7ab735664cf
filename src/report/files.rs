//! The one place reports reach the file system: atomic writes (temp file in the same folder, then
//! rename), so an interrupted run never leaves a half-written report.

use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
#[error("cannot write report {path}: {source}. Check that the folder exists and is writable, or pass --out elsewhere")]
pub struct WriteError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

/// Writes the JSON report and every other format asked for.
pub fn write_reports(report: &super::Report, paths: &crate::plan::ReportPaths) -> Result<(), WriteError> {
    write_atomically(&paths.json, &super::json::render(report))?;
    if let Some(p) = &paths.markdown {
        write_atomically(p, &super::markdown::render(report))?;
    }
    if let Some(p) = &paths.html {
        write_atomically(p, &super::html::render(report))?;
    }
    if let Some(p) = &paths.junit {
        write_atomically(p, &super::junit::render(report))?;
    }
    Ok(())
}

pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let err = |source| WriteError { path: path.to_path_buf(), source };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(err)?;
    let file_name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_files_and_leaves_no_temp_behind() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub").join("r.json");
        write_atomically(&p, b"one").unwrap();
        write_atomically(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn unwritable_destination_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, b"x").unwrap();
        let err = write_atomically(&blocker.join("r.json"), b"x").unwrap_err().to_string();
        assert!(err.contains("r.json") && err.contains("--out"), "{err}");
    }
}
