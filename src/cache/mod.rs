//! Model outputs computed once: a content-addressed cache of each model's probability rows on a
//! data set, so a release check against a fixed teacher costs only the new student's inference.
//!
//! - [`key`]: what an output depends on, hashed into the entry's key;
//! - [`entry`]: one entry on disk (exact f64 rows, zstd, checksummed, written atomically);
//! - [`manage`]: `fidelity cache ls|du|prune`.
//!
//! A run asks [`OutputCache::slot`] for each model: a slot whose entry is present serves its
//! chunks as long as each chunk's model inputs hash to what the entry recorded
//! ([`inputs_digest`]); a chunk that differs, or a missing or damaged entry, is computed, and the
//! slot writes the entry anew (the chunks that still matched are copied over as they are). Every
//! failure to read or write the cache is a warning and a recomputation, never a failed run.

pub mod entry;
pub mod key;
pub mod manage;
pub mod replay;

use crate::data::{Batch, InputTensor};
use crate::inference::invariance::BatchInvariance;
use crate::inference::serving::ModelBatching;
use crate::inference::{BatchSource, ProbabilityTable};
use crate::metrics::OutputKind;
use entry::{EntryError, EntryReader, EntryWriter, InputsDigest};
pub use key::CacheKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// Entries are `<key>.outputs` in the cache folder.
pub const ENTRY_EXTENSION: &str = "outputs";

/// The cache folder: `--cache DIR`, else `FIDELITY_CACHE`, else `outputs/` in fidelity's cache
/// directory (beside the ONNX Runtime library it fetches).
pub fn default_dir() -> Option<PathBuf> {
    crate::model::runtime_library::cache_dir().map(|d| d.join("outputs"))
}

/// The cache folder of a run.
pub struct OutputCache {
    dir: PathBuf,
}

impl OutputCache {
    /// Creates the folder when missing.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        Ok(Self { dir: dir.to_path_buf() })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn entry_path(&self, key: &CacheKey) -> PathBuf {
        self.dir.join(format!("{}.{ENTRY_EXTENSION}", key.hex))
    }

    /// The slot of one model's outputs in one stage: reading the entry when it is present and sound.
    pub fn slot(&self, key: CacheKey, model: &str, stage: CacheStage) -> ModelCache {
        let path = self.entry_path(&key);
        let (dir, model) = (self.dir.clone(), model.to_string());
        let mut slot = ModelCache { key, stage, model, path, temporary_dir: dir, reader: None, writer: None, read: 0, computed: 0, note: None };
        match EntryReader::open::<EntryMeta>(&slot.path) {
            Ok((reader, meta)) => slot.reader = Some((reader, meta)),
            Err(EntryError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => slot.warn(format!("the cache entry {} {e}; recomputed", slot.path.display())),
        }
        slot
    }
}

/// What an entry records besides the rows: the key's description and the decisions the run took
/// on the first chunk (batching, output kind), so a run that reads the entry takes the same.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntryMeta {
    pub key: String,
    pub description: serde_json::Value,
    /// The model's name in the run that wrote the entry.
    pub model: String,
    pub created_unix: u64,
    pub examples: usize,
    pub chunks: usize,
    /// The evaluation pass's decisions (absent for the other stages, whose entries are the model's
    /// answers to the stage's queries, in order).
    pub track: Option<CachedTrack>,
}

/// A model's evaluation decisions, as [`crate::pipeline::evaluate::ModelTrack`] holds them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CachedTrack {
    pub output_kind: OutputKind,
    pub output_kind_detected: bool,
    pub batching: ModelBatching,
    pub invariance: Option<BatchInvariance>,
    pub classes: usize,
    /// Inference time of the run that computed the rows.
    pub inference_seconds: f64,
}

/// The passes whose model outputs are cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CacheStage {
    Evaluation,
    Attack,
    Noise,
    Populations,
}

/// Where a model's outputs in one pass came from, as the report says it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CacheUse {
    pub stage: CacheStage,
    /// The entry's key: SHA-256 of everything the outputs depend on (README, "Teacher outputs
    /// cached").
    pub key: String,
    pub outputs: CacheOutcome,
    /// Chunks (the evaluation pass) or model calls (the other stages) read from the cache, and all
    /// of them in the pass.
    pub chunks_read: usize,
    pub chunks: usize,
    /// Why an entry was not used or not stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CacheOutcome {
    /// Every output came from the cache: the model ran no inference in this pass.
    Read,
    /// Computed (no entry) and stored.
    Stored,
    /// An entry was there but did not match (note says why): recomputed and stored again.
    Refreshed,
    /// Computed; storing failed (note says why).
    NotStored,
}

impl CacheOutcome {
    pub fn describe(self) -> &'static str {
        match self {
            CacheOutcome::Read => "read from the cache",
            CacheOutcome::Stored => "computed and stored in the cache",
            CacheOutcome::Refreshed => "recomputed and stored again",
            CacheOutcome::NotStored => "computed, not stored",
        }
    }
}

/// One model's outputs in one pass: served from its entry while the chunks match, else computed
/// and written.
pub struct ModelCache {
    key: CacheKey,
    stage: CacheStage,
    model: String,
    path: PathBuf,
    temporary_dir: PathBuf,
    reader: Option<(EntryReader, EntryMeta)>,
    writer: Option<EntryWriter>,
    read: usize,
    computed: usize,
    note: Option<String>,
}

impl ModelCache {
    pub fn key(&self) -> &CacheKey {
        &self.key
    }

    fn warn(&mut self, message: String) {
        eprintln!("fidelity: warning: {}: {message}", self.model);
        self.note.get_or_insert(message);
    }

    /// What an entry's parts are: chunks of the data, or the model's calls in a later stage.
    fn unit(&self) -> &'static str {
        if self.stage == CacheStage::Evaluation {
            "chunk"
        } else {
            "model call"
        }
    }

    /// The first chunk's decisions, while the entry is being read from its start.
    pub fn track(&self) -> Option<&CachedTrack> {
        self.reader.as_ref().filter(|_| self.computed == 0).and_then(|(_, meta)| meta.track.as_ref())
    }

    /// This chunk's rows from the entry, if it still serves and the chunk's inputs are those it
    /// recorded; otherwise `None`, and from here on every chunk is computed (and kept, through
    /// [`ModelCache::keep`]).
    pub fn read(&mut self, digest: &InputsDigest) -> Option<ProbabilityTable> {
        let (reader, _) = self.reader.as_mut()?;
        let before = reader.position();
        let why = match reader.chunk(digest) {
            Ok(Some(table)) => {
                self.read += 1;
                return Some(table);
            }
            Ok(None) => format!("{} {} is not what the cache entry was computed from; recomputed from there", self.unit(), self.read + 1),
            Err(e) => format!("the cache entry {} {e}; recomputed from {} {}", self.path.display(), self.unit(), self.read + 1),
        };
        self.warn(why);
        let prefix = self.reader.take().map(|(reader, _)| (reader, before));
        self.start_writer(prefix);
        None
    }

    /// Starts the new entry; `prefix`: the old entry and where its last matching chunk ends, whose
    /// chunks are copied over as they are.
    fn start_writer(&mut self, prefix: Option<(EntryReader, u64)>) {
        static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let temporary = self.temporary_dir.join(format!(".{}.{}-{n}.tmp", self.key.hex, std::process::id()));
        let made = EntryWriter::create(temporary, self.path.clone()).and_then(|mut w| {
            if let Some((reader, end)) = prefix {
                reader.copy_chunks_into(end, &mut w)?;
            }
            Ok(w)
        });
        match made {
            Ok(w) => self.writer = Some(w),
            Err(e) => self.warn(format!("cannot write the cache entry in {}: {e}", self.temporary_dir.display())),
        }
    }

    /// Keeps a computed chunk for the entry.
    pub fn keep(&mut self, digest: &InputsDigest, table: &ProbabilityTable) {
        if self.computed == 0 && self.reader.is_none() && self.writer.is_none() && self.read == 0 {
            self.start_writer(None);
        }
        self.computed += 1;
        if let Some(w) = self.writer.as_mut() {
            if let Err(e) = w.chunk(digest, table) {
                self.writer = None;
                self.warn(format!("cannot write the cache entry: {e}"));
            }
        }
    }

    /// Commits what was computed and says where the outputs came from.
    pub fn finish(mut self, track: Option<CachedTrack>, examples: usize) -> CacheUse {
        let chunks = self.read + self.computed;
        let outcome = if self.computed == 0 && self.reader.is_none() {
            self.note.get_or_insert_with(|| "the pass made no model call".into());
            CacheOutcome::NotStored
        } else if self.computed == 0 {
            if let Some((reader, _)) = &self.reader {
                // Marks the entry used: `fidelity cache prune --older-than` counts from the last use.
                reader.touch();
            }
            CacheOutcome::Read
        } else {
            let meta = EntryMeta {
                key: self.key.hex.clone(),
                description: self.key.description.clone(),
                model: self.model.clone(),
                created_unix: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
                examples,
                chunks,
                track,
            };
            let had_entry = self.note.is_some();
            match self.writer.take().map(|w| w.commit(&meta)) {
                Some(Ok(_)) if had_entry => CacheOutcome::Refreshed,
                Some(Ok(_)) => CacheOutcome::Stored,
                Some(Err(e)) => {
                    self.warn(format!("cannot write the cache entry {}: {e}", self.path.display()));
                    CacheOutcome::NotStored
                }
                None => CacheOutcome::NotStored,
            }
        };
        CacheUse { stage: self.stage, key: self.key.hex, outputs: outcome, chunks_read: self.read, chunks, note: self.note }
    }
}

/// The digest of the inputs `model` reads from a chunk: every tensor of the batch (text: ids, mask
/// and type ids; tensors: the arrays), or the model's own image tensor, with names, types and
/// shapes, 64 rows at a time.
pub fn inputs_digest(source: &dyn BatchSource, image_feed: Option<&str>) -> InputsDigest {
    let mut hasher = Sha256::new();
    hasher.update((source.len() as u64).to_le_bytes());
    let indices: Vec<usize> = (0..source.len()).collect();
    for rows in indices.chunks(64) {
        hash_batch(&mut hasher, &source.batch_of(rows), image_feed);
    }
    hasher.finalize().into()
}

/// The digest of one model call's inputs: every tensor of `batch`.
pub fn batch_digest(batch: &Batch) -> InputsDigest {
    let mut hasher = Sha256::new();
    hasher.update((batch.rows as u64).to_le_bytes());
    hash_batch(&mut hasher, batch, None);
    hasher.finalize().into()
}

fn hash_batch(hasher: &mut Sha256, batch: &Batch, image_feed: Option<&str>) {
    let mut bytes = Vec::new();
    for (name, tensor) in &batch.tensors {
        if image_feed.is_some_and(|feed| feed != name) {
            continue;
        }
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update(tensor.dtype_name().as_bytes());
        for d in tensor.shape() {
            hasher.update((d as u64).to_le_bytes());
        }
        bytes.clear();
        match tensor {
            InputTensor::Int64(a) => bytes.extend(a.iter().flat_map(|v| v.to_le_bytes())),
            InputTensor::Float32(a) => bytes.extend(a.iter().flat_map(|v| v.to_bits().to_le_bytes())),
        }
        hasher.update(&bytes);
    }
}
