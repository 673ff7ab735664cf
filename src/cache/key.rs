//! What a cached model output depends on, and the key made from it.
//!
//! The key is the SHA-256 of a canonical JSON description (object keys sorted; made by
//! [`crate::pipeline::cache_slots`]): the model's bytes
//! (the file and every external data file), how its session runs (device, the execution provider
//! it got, exact integer products, the output read, optimisation level and `session.*` entries),
//! the ONNX Runtime version and the CPU's kernel class (quantized models compute other numbers on
//! another class: README, "Numbers and CPU kinds"), the data's content and format and the columns
//! the inputs come from, the tokenizer's bytes and options or the model's image preprocessing,
//! and the batching (batch size and order, serving batch size, chunk size, batch-invariance check,
//! output kind). Paths are not in it: a copy of the same bytes elsewhere finds the same entry.
//!
//! Thread counts are left out: ONNX Runtime's results do not depend on them (each output element
//! is reduced by one thread in one order), and CI machines with other core counts should share
//! entries. Group and label columns are left out too: they change no model input. Beyond the key,
//! every chunk's entry carries the digest of the inputs it was computed from
//! ([`super::inputs_digest`]), so a chunk whose inputs differ is recomputed whatever the key says.

use serde_json::Value;
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// A cache key: its hex digest and the description it was made from (kept in the entry, shown by
/// `fidelity cache ls`).
#[derive(Debug, Clone, PartialEq)]
pub struct CacheKey {
    pub hex: String,
    pub description: Value,
}

impl CacheKey {
    pub fn new(description: Value) -> Self {
        // serde_json's maps are sorted by key: the text is canonical.
        let hex = format!("{:x}", Sha256::digest(description.to_string().as_bytes()));
        Self { hex, description }
    }

    /// The first 16 hex digits, as reports print it.
    pub fn short(&self) -> &str {
        &self.hex[..16]
    }
}

/// SHA-256 of a file's bytes; of a folder (an image folder), of every file under it in sorted
/// order, each as its relative path and its bytes.
pub fn content_sha256(path: &Path) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    if path.is_dir() {
        let mut files = Vec::new();
        collect_files(path, &mut files)?;
        files.sort();
        for file in files {
            let relative = file.strip_prefix(path).unwrap_or(&file).to_string_lossy().into_owned();
            hasher.update((relative.len() as u64).to_le_bytes());
            hasher.update(relative.as_bytes());
            hasher.update(hash_file(&file)?.as_bytes());
        }
    } else {
        return hash_file(path);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

fn hash_file(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

fn collect_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    use serde_json::json;

    #[test]
    fn the_key_is_canonical_and_every_value_counts() {
        let a = CacheKey::new(json!({ "b": 1, "a": { "y": [1, 2], "x": "t" } }));
        let b = CacheKey::new(serde_json::from_str(r#"{"a":{"x":"t","y":[1,2]},"b":1}"#).unwrap());
        assert_eq!(a.hex, b.hex, "key order does not matter");
        assert_ne!(a.hex, CacheKey::new(json!({ "b": 1, "a": { "y": [2, 1], "x": "t" } })).hex);
        assert_eq!(a.hex.len(), 64);
    }

    #[test]
    fn a_folder_hashes_its_files_paths_and_bytes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("cat")).unwrap();
        std::fs::write(dir.path().join("cat/1.png"), b"one").unwrap();
        let first = content_sha256(dir.path()).unwrap();
        std::fs::write(dir.path().join("cat/1.png"), b"One").unwrap();
        let edited = content_sha256(dir.path()).unwrap();
        assert_ne!(first, edited);
        std::fs::rename(dir.path().join("cat"), dir.path().join("dog")).unwrap();
        assert_ne!(content_sha256(dir.path()).unwrap(), edited, "a moved file is another label");
    }
}
