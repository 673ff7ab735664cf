//! One cache entry on disk: a model's probability rows on one data set, chunk by chunk, exactly as
//! computed (f64 bit patterns), with what the run decided on the first chunk.
//!
//! Layout, all integers little-endian:
//!
//! ```text
//! "FIDELITY-OUTPUTS" format:u32
//! frame*            kind:u8 length:u64 zstd(payload)      kind 1: a chunk, kind 2: the entry's metadata (last)
//! meta_offset:u64 sha256(every byte before it):[32] "FIDOUTOK"
//! ```
//!
//! A chunk's payload is the digest of the model inputs it was computed from, its row and class
//! counts and the rows' f64 values, byte planes shuffled (the sign and exponent bytes of
//! probabilities repeat, so zstd then finds them). The checksum is verified over the whole file
//! before the first row is used, so a truncated or damaged entry is never half read. A writer
//! writes a temporary file beside the entries and renames it into place: a killed run leaves no
//! entry (only a temporary file `fidelity cache prune` removes), and two runs writing one key each
//! rename a complete file.

use crate::inference::ProbabilityTable;
use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 16] = b"FIDELITY-OUTPUTS";
const END: &[u8; 8] = b"FIDOUTOK";
/// Bumped when the layout changes; older entries then read as damaged and are recomputed.
pub const FORMAT: u32 = 1;
const HEADER: u64 = 20;
const TRAILER: u64 = 8 + 32 + 8;
const CHUNK: u8 = 1;
const META: u8 = 2;
/// zstd level: 3 is zstd's default, fast enough that writing costs a small share of inference.
const LEVEL: i32 = 3;

/// The digest of a chunk's model inputs (see [`super::inputs_digest`]).
pub type InputsDigest = [u8; 32];

/// Writes one entry to a temporary file; [`EntryWriter::commit`] puts it in place.
pub struct EntryWriter {
    temporary: PathBuf,
    target: PathBuf,
    /// `None` once committed.
    out: Option<HashingWriter<BufWriter<File>>>,
}

struct HashingWriter<W: Write> {
    inner: W,
    hasher: Sha256,
    written: u64,
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl EntryWriter {
    /// Starts an entry that will be `target` once committed; the temporary file is `temporary`.
    pub fn create(temporary: PathBuf, target: PathBuf) -> std::io::Result<Self> {
        let file = File::create(&temporary)?;
        let mut out = HashingWriter { inner: BufWriter::with_capacity(1 << 20, file), hasher: Sha256::new(), written: 0 };
        out.write_all(MAGIC)?;
        out.write_all(&FORMAT.to_le_bytes())?;
        Ok(Self { temporary, target, out: Some(out) })
    }

    /// Appends one chunk's rows.
    pub fn chunk(&mut self, digest: &InputsDigest, table: &ProbabilityTable) -> std::io::Result<()> {
        let mut payload = Vec::with_capacity(48 + table.values.len() * 8);
        payload.extend_from_slice(digest);
        payload.extend_from_slice(&(table.len() as u64).to_le_bytes());
        payload.extend_from_slice(&(table.classes as u64).to_le_bytes());
        shuffle_into(&table.values, &mut payload);
        self.frame(CHUNK, &payload)
    }

    fn frame(&mut self, kind: u8, payload: &[u8]) -> std::io::Result<()> {
        let out = self.out.as_mut().ok_or_else(|| std::io::Error::other("the entry is already committed"))?;
        write_frame(out, kind, payload)
    }

    /// Appends bytes that are already whole frames (another entry's chunks, copied as they are).
    fn raw(&mut self, reader: &mut impl Read) -> std::io::Result<()> {
        let out = self.out.as_mut().ok_or_else(|| std::io::Error::other("the entry is already committed"))?;
        std::io::copy(reader, out).map(|_| ())
    }

    /// Writes the metadata and the checksum, syncs, and renames the entry into place.
    pub fn commit<M: Serialize>(mut self, meta: &M) -> std::io::Result<PathBuf> {
        let mut out = self.out.take().ok_or_else(|| std::io::Error::other("the entry is already committed"))?;
        let meta_offset = out.written;
        write_frame(&mut out, META, &serde_json::to_vec(meta).map_err(std::io::Error::other)?)?;
        out.write_all(&meta_offset.to_le_bytes())?;
        let checksum = out.hasher.clone().finalize();
        out.inner.write_all(&checksum)?;
        out.inner.write_all(END)?;
        let file = out.inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        if let Err(e) = std::fs::rename(&self.temporary, &self.target) {
            let _ = std::fs::remove_file(&self.temporary);
            return Err(e);
        }
        Ok(self.target.clone())
    }
}

impl Drop for EntryWriter {
    /// An entry that was not committed (the run failed) leaves nothing behind.
    fn drop(&mut self) {
        if self.out.is_some() {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

fn write_frame(out: &mut impl Write, kind: u8, payload: &[u8]) -> std::io::Result<()> {
    let packed = zstd::bulk::compress(payload, LEVEL)?;
    out.write_all(&[kind])?;
    out.write_all(&(packed.len() as u64).to_le_bytes())?;
    out.write_all(&packed)
}

/// Why an entry cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum EntryError {
    #[error("cannot read it: {0}")]
    Io(#[from] std::io::Error),
    #[error("it is damaged or truncated ({0})")]
    Damaged(String),
}

/// Reads a verified entry: the metadata at once, the chunks in order.
pub struct EntryReader {
    file: BufReader<File>,
    /// Where the metadata frame starts: the chunks end there.
    chunks_end: u64,
    position: u64,
    pub bytes: u64,
}

impl EntryReader {
    /// Opens `path`, verifies its checksum over every byte, and reads its metadata.
    pub fn open<M: DeserializeOwned>(path: &Path) -> Result<(Self, M), EntryError> {
        let damaged = |why: &str| EntryError::Damaged(why.to_string());
        let mut file = File::open(path)?;
        let bytes = file.metadata()?.len();
        if bytes < HEADER + TRAILER {
            return Err(damaged("shorter than an empty entry"));
        }
        let mut head = [0u8; HEADER as usize];
        file.read_exact(&mut head)?;
        if &head[..16] != MAGIC {
            return Err(damaged("not a fidelity outputs entry"));
        }
        if head[16..20] != FORMAT.to_le_bytes() {
            return Err(damaged("written in another format version"));
        }
        let mut tail = [0u8; TRAILER as usize];
        file.seek(SeekFrom::Start(bytes - TRAILER))?;
        file.read_exact(&mut tail)?;
        if &tail[40..] != END {
            return Err(damaged("no end marker: the write did not finish"));
        }
        let meta_offset = u64::from_le_bytes(tail[..8].try_into().unwrap_or_default());
        if !(HEADER..bytes - TRAILER).contains(&meta_offset) {
            return Err(damaged("metadata offset out of range"));
        }
        file.seek(SeekFrom::Start(0))?;
        let mut hasher = Sha256::new();
        std::io::copy(&mut (&mut file).take(bytes - 40), &mut HashSink(&mut hasher))?;
        if hasher.finalize().as_slice() != &tail[8..40] {
            return Err(damaged("checksum mismatch"));
        }
        let mut file = BufReader::with_capacity(1 << 20, file);
        file.seek(SeekFrom::Start(meta_offset))?;
        let (kind, json) = read_frame(&mut file)?;
        if kind != META {
            return Err(damaged("no metadata frame"));
        }
        let meta = serde_json::from_slice(&json).map_err(|e| EntryError::Damaged(format!("metadata: {e}")))?;
        file.seek(SeekFrom::Start(HEADER))?;
        Ok((Self { file, chunks_end: meta_offset, position: HEADER, bytes }, meta))
    }

    /// Where the next chunk's frame starts.
    pub fn position(&self) -> u64 {
        self.position
    }

    /// Copies this entry's chunk frames before `end` (a [`EntryReader::position`]) into `writer`.
    pub fn copy_chunks_into(mut self, end: u64, writer: &mut EntryWriter) -> std::io::Result<()> {
        self.file.seek(SeekFrom::Start(HEADER))?;
        writer.raw(&mut (&mut self.file).take(end.saturating_sub(HEADER)))
    }

    /// Sets the file's modification time to now: the entry was used.
    pub fn touch(&self) {
        let _ = self.file.get_ref().set_modified(std::time::SystemTime::now());
    }

    /// The next chunk's rows if they were computed from inputs with `digest`; `None` when the entry
    /// has no more chunks or this one was computed from other inputs.
    pub fn chunk(&mut self, digest: &InputsDigest) -> Result<Option<ProbabilityTable>, EntryError> {
        if self.position >= self.chunks_end {
            return Ok(None);
        }
        let (kind, payload) = read_frame(&mut self.file)?;
        self.position = self.file.stream_position()?;
        if kind != CHUNK || payload.len() < 48 {
            return Err(EntryError::Damaged("a chunk frame is malformed".into()));
        }
        if payload[..32] != digest[..] {
            return Ok(None);
        }
        let rows = u64::from_le_bytes(payload[32..40].try_into().unwrap_or_default()) as usize;
        let classes = u64::from_le_bytes(payload[40..48].try_into().unwrap_or_default()) as usize;
        let values = unshuffle(&payload[48..]);
        if values.len() != rows.saturating_mul(classes) {
            return Err(EntryError::Damaged("a chunk's row count does not match its values".into()));
        }
        Ok(Some(ProbabilityTable { classes, values }))
    }
}

/// An entry's metadata without verifying its rows (for `fidelity cache ls`).
pub fn read_meta<M: DeserializeOwned>(path: &Path) -> Result<M, EntryError> {
    let mut file = File::open(path)?;
    let bytes = file.metadata()?.len();
    if bytes < HEADER + TRAILER {
        return Err(EntryError::Damaged("shorter than an empty entry".into()));
    }
    let mut tail = [0u8; TRAILER as usize];
    file.seek(SeekFrom::Start(bytes - TRAILER))?;
    file.read_exact(&mut tail)?;
    let meta_offset = u64::from_le_bytes(tail[..8].try_into().unwrap_or_default());
    if &tail[40..] != END || !(HEADER..bytes - TRAILER).contains(&meta_offset) {
        return Err(EntryError::Damaged("no end marker".into()));
    }
    file.seek(SeekFrom::Start(meta_offset))?;
    let (_, json) = read_frame(&mut BufReader::new(file))?;
    serde_json::from_slice(&json).map_err(|e| EntryError::Damaged(format!("metadata: {e}")))
}

struct HashSink<'a>(&'a mut Sha256);

impl Write for HashSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Frames are at most this large once decompressed (a chunk of 1M rows × 1,000 classes is 8 GB:
/// far beyond what a chunk holds); a corrupt length cannot make the reader allocate more.
const MAX_FRAME: u64 = 16 << 30;

fn read_frame(file: &mut impl Read) -> Result<(u8, Vec<u8>), EntryError> {
    let mut head = [0u8; 9];
    file.read_exact(&mut head)?;
    let length = u64::from_le_bytes(head[1..].try_into().unwrap_or_default());
    if length > MAX_FRAME {
        return Err(EntryError::Damaged("a frame length is out of range".into()));
    }
    let mut packed = vec![0u8; length as usize];
    file.read_exact(&mut packed)?;
    let payload = zstd::stream::decode_all(packed.as_slice()).map_err(|e| EntryError::Damaged(format!("a frame does not decompress: {e}")))?;
    Ok((head[0], payload))
}

/// `values`' bytes as 8 planes: every value's byte 0, then every byte 1, ...
fn shuffle_into(values: &[f64], out: &mut Vec<u8>) {
    let start = out.len();
    out.resize(start + values.len() * 8, 0);
    let planes = &mut out[start..];
    for (i, v) in values.iter().enumerate() {
        for (b, byte) in v.to_le_bytes().into_iter().enumerate() {
            planes[b * values.len() + i] = byte;
        }
    }
}

fn unshuffle(planes: &[u8]) -> Vec<f64> {
    let n = planes.len() / 8;
    (0..n)
        .map(|i| {
            let mut bytes = [0u8; 8];
            for (b, byte) in bytes.iter_mut().enumerate() {
                *byte = planes[b * n + i];
            }
            f64::from_le_bytes(bytes)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn write(dir: &Path, tables: &[ProbabilityTable]) -> PathBuf {
        let mut w = EntryWriter::create(dir.join("e.tmp"), dir.join("e.entry")).unwrap();
        for (i, t) in tables.iter().enumerate() {
            w.chunk(&[i as u8; 32], t).unwrap();
        }
        w.commit(&serde_json::json!({ "chunks": tables.len() })).unwrap()
    }

    fn table(classes: usize, values: Vec<f64>) -> ProbabilityTable {
        ProbabilityTable { classes, values }
    }

    #[test]
    fn reads_back_every_bit_and_refuses_other_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let tables = [table(2, vec![0.1, 0.9, 1.0 / 3.0, 2.0 / 3.0]), table(2, vec![f64::MIN_POSITIVE, 1.0 - 1e-17])];
        let path = write(dir.path(), &tables);
        assert!(!dir.path().join("e.tmp").exists(), "renamed into place");
        let (mut r, meta): (EntryReader, serde_json::Value) = EntryReader::open(&path).unwrap();
        assert_eq!(meta["chunks"], 2);
        assert_eq!(r.chunk(&[0; 32]).unwrap().unwrap(), tables[0]);
        assert!(r.chunk(&[9; 32]).unwrap().is_none(), "a chunk made from other inputs is not used");
        assert!(r.chunk(&[2; 32]).unwrap().is_none(), "no more chunks");
    }

    #[test]
    fn any_damaged_byte_or_truncation_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), &[table(3, (0..300).map(|i| i as f64 / 7.0).collect())]);
        let good = std::fs::read(&path).unwrap();
        for at in [0, 17, 25, good.len() / 2, good.len() - 45, good.len() - 20, good.len() - 1] {
            let mut bad = good.clone();
            bad[at] ^= 0x40;
            std::fs::write(&path, &bad).unwrap();
            assert!(matches!(EntryReader::open::<serde_json::Value>(&path), Err(EntryError::Damaged(_))), "byte {at}");
        }
        for keep in [0, 10, good.len() / 2, good.len() - 1] {
            std::fs::write(&path, &good[..keep]).unwrap();
            assert!(matches!(EntryReader::open::<serde_json::Value>(&path), Err(EntryError::Damaged(_))), "first {keep} bytes");
        }
    }

    #[test]
    fn an_uncommitted_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = EntryWriter::create(dir.path().join("e.tmp"), dir.path().join("e.entry")).unwrap();
        w.chunk(&[0; 32], &table(2, vec![0.5, 0.5])).unwrap();
        drop(w);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    proptest! {
        #[test]
        fn shuffling_round_trips(values in proptest::collection::vec(proptest::num::f64::ANY, 0..64)) {
            let mut bytes = vec![];
            shuffle_into(&values, &mut bytes);
            let back = unshuffle(&bytes);
            prop_assert_eq!(values.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), back.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        }
    }
}
