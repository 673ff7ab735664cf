//! The folder ONNX Runtime reads a model's external data files from.
//!
//! Normally the model's own folder. ONNX Runtime refuses a data file whose resolved path leaves that
//! folder, and the Hugging Face cache keeps every file as a link from `snapshots/<commit>/` to
//! `blobs/<hash>`: a hub model's data always "escapes". For such a model fidelity makes a private
//! folder of hard links (the same bytes on disk, no copy, nothing read) under the files' own names,
//! removed when the model is dropped; where a hard link cannot be made (another file system) the file
//! is copied there instead.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Where the data files are found, and the private folder to remove afterwards (if one was made).
#[derive(Debug)]
pub struct ExternalFolder {
    pub path: PathBuf,
    made: bool,
}

impl Drop for ExternalFolder {
    fn drop(&mut self) {
        if self.made {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

/// The folder for `files` (relative to `model_dir`, already checked to exist).
pub fn folder(model_dir: &Path, files: &[String]) -> Result<ExternalFolder, String> {
    let dir = std::path::absolute(model_dir).unwrap_or_else(|_| model_dir.to_path_buf());
    let canonical_dir = dir.canonicalize().map_err(|e| format!("cannot resolve {}: {e}", dir.display()))?;
    let resolved = |f: &String| dir.join(f).canonicalize().map_err(|e| format!("cannot resolve {}: {e}", dir.join(f).display()));
    let targets = files.iter().map(|f| Ok((f, resolved(f)?))).collect::<Result<Vec<_>, String>>()?;
    if targets.iter().all(|(_, t)| t.starts_with(&canonical_dir)) {
        return Ok(ExternalFolder { path: dir, made: false });
    }
    static MADE: AtomicUsize = AtomicUsize::new(0);
    let private = std::env::temp_dir().join(format!("fidelity-external-{}-{}", std::process::id(), MADE.fetch_add(1, Ordering::Relaxed)));
    let folder = ExternalFolder { path: private, made: true };
    for (name, target) in targets {
        link_or_copy(&target, &folder.path.join(name))?;
    }
    Ok(folder)
}

/// Puts `from` at `to` (its folders made): a hard link, or a copy where links cannot be made
/// (another file system).
pub fn link_or_copy(from: &Path, to: &Path) -> Result<(), String> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    }
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map_err(|e| format!("cannot link or copy {} to {}: {e}", from.display(), to.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_inside_the_folder_are_read_there_and_linked_files_get_a_private_folder() {
        let root = tempfile::tempdir().unwrap();
        let (snapshot, blobs) = (root.path().join("snapshots/abc"), root.path().join("blobs"));
        std::fs::create_dir_all(&snapshot).unwrap();
        std::fs::create_dir_all(&blobs).unwrap();
        std::fs::write(snapshot.join("plain.onnx_data"), b"weights").unwrap();
        let plain = folder(&snapshot, &["plain.onnx_data".into()]).unwrap();
        assert_eq!(plain.path, snapshot, "no private folder when nothing escapes");

        // The Hugging Face cache's layout: a link to a blob outside the snapshot.
        std::fs::write(blobs.join("f00"), b"hub weights").unwrap();
        std::os::unix::fs::symlink(blobs.join("f00"), snapshot.join("model.onnx_data")).unwrap();
        let private = folder(&snapshot, &["model.onnx_data".into()]).unwrap();
        let data = private.path.join("model.onnx_data");
        assert_ne!(private.path, snapshot);
        assert_eq!(std::fs::read(&data).unwrap(), b"hub weights");
        assert!(data.canonicalize().unwrap().starts_with(private.path.canonicalize().unwrap()), "resolves inside its folder");
        let path = private.path.clone();
        drop(private);
        assert!(!path.exists(), "removed with the model");
        assert!(blobs.join("f00").exists(), "the blob stays");
    }
}
