//! What a part says about the data, without reading the whole file: its size and a SHA-256 of its
//! first and last mebibyte. A shard reads only its own rows; this identity tells a merge that
//! every part read the same file (an edit that keeps the size and both ends is not caught: the
//! parts' row hashes record what each shard read).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

const EDGE: u64 = 1 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataIdentity {
    pub bytes: u64,
    /// SHA-256 of the first and the last MiB (the whole file when it is smaller than 2 MiB).
    pub ends_sha256: String,
}

impl DataIdentity {
    pub fn of(path: &Path) -> std::io::Result<Self> {
        let mut file = std::fs::File::open(path)?;
        let bytes = file.metadata()?.len();
        let mut hasher = Sha256::new();
        let mut buffer = Vec::with_capacity(EDGE as usize);
        if bytes <= 2 * EDGE {
            file.read_to_end(&mut buffer)?;
            hasher.update(&buffer);
        } else {
            file.by_ref().take(EDGE).read_to_end(&mut buffer)?;
            hasher.update(&buffer);
            buffer.clear();
            file.seek(SeekFrom::Start(bytes - EDGE))?;
            file.take(EDGE).read_to_end(&mut buffer)?;
            hasher.update(&buffer);
        }
        Ok(Self { bytes, ends_sha256: format!("{:x}", hasher.finalize()) })
    }
}

/// A SHA-256 of the examples a shard read, as parsed: each one's texts, label, group values and
/// features, in order (what the shard computed its numbers from, whatever the file format).
#[derive(Default)]
pub struct RowsDigest(Sha256);

impl RowsDigest {
    pub fn add(&mut self, e: &crate::data::Example) {
        let h = &mut self.0;
        for text in [&e.text, &e.text_pair] {
            match text {
                Some(t) => {
                    h.update((t.len() as u64).to_le_bytes());
                    h.update(t.as_bytes());
                }
                None => h.update(u64::MAX.to_le_bytes()),
            }
        }
        h.update(e.label.map_or(u64::MAX, |l| l as u64).to_le_bytes());
        for a in &e.attributes {
            h.update((a.len() as u64).to_le_bytes());
            h.update(a.as_bytes());
        }
        e.features.iter().for_each(|f| h.update(f.to_bits().to_le_bytes()));
    }

    pub fn finish(self) -> String {
        format!("{:x}", self.0.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_ends_count_and_the_middle_of_a_large_file_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.bin");
        let mut bytes = vec![7u8; 3 << 20];
        std::fs::write(&path, &bytes).unwrap();
        let a = DataIdentity::of(&path).unwrap();
        bytes[(3 << 20) - 1] = 8;
        std::fs::write(&path, &bytes).unwrap();
        let b = DataIdentity::of(&path).unwrap();
        assert_ne!(a, b, "the last byte is in the identity");
        bytes[3 << 19] = 9;
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(DataIdentity::of(&path).unwrap(), b, "the middle is not read");
        assert_eq!(a.bytes, 3 << 20);
    }
}
