//! Each model's slot in the output cache for a pass (the evaluation, the attack, noise and
//! population stages): the key made from the plan (see [`crate::cache::key`] for what is in it and
//! why), opened in the cache folder.

use crate::cache::key::{content_sha256, CacheKey};
use crate::cache::{CacheStage, ModelCache, OutputCache};
use crate::model::{Backend, ModelInfo};
use crate::plan::{ComparePlan, InputPlan, ModelSource};
use serde_json::{json, Value};
use std::path::Path;

/// Bumped whenever fidelity computes a model's probability rows differently (softmax, output
/// selection): every older entry then misses.
const OUTPUTS_VERSION: u32 = 1;

/// Every model's slot in the output cache for `stage` (teacher first); none when the cache is off.
/// `settings`: what, beyond the evaluation's key, the stage's model calls depend on (its own
/// settings; `chunk_size` for the evaluation). A cache that cannot be opened, or data that cannot
/// be hashed, is a warning: the run computes everything.
pub fn slots(plan: &ComparePlan, onnxruntime: &str, infos: &[&ModelInfo], stage: CacheStage, settings: Value) -> Vec<Option<ModelCache>> {
    let Some(dir) = &plan.cache else { return vec![] };
    let opened = OutputCache::open(dir).and_then(|cache| Ok((cache, RunIdentity::of(plan, onnxruntime)?)));
    let (cache, run) = match opened {
        Ok(opened) => opened,
        Err(e) => {
            eprintln!("fidelity: warning: the output cache {} cannot be used ({e}); every model is computed", dir.display());
            return vec![];
        }
    };
    let sources = std::iter::once(&plan.teacher).chain(&plan.students);
    sources
        .zip(infos)
        .map(|(source, info)| match key(plan, source, info, &run, stage, &settings) {
            Ok(key) => Some(cache.slot(key, &source.name, stage)),
            Err(e) => {
                eprintln!("fidelity: warning: {}: its files cannot be hashed for the output cache ({e}); computed", source.name);
                None
            }
        })
        .collect()
}

/// The slots of a later stage (attack, noise, populations) of `session`'s models; none for a
/// shard's slice, whose stages run another part of the sample.
pub fn stage_slots(plan: &ComparePlan, session: &super::load::Session, stage: CacheStage, settings: Value, shard: bool) -> Vec<Option<ModelCache>> {
    if shard {
        return vec![];
    }
    let models = &session.models;
    let infos: Vec<&ModelInfo> = std::iter::once(models.teacher.info()).chain(models.students.iter().map(|s| s.info())).collect();
    slots(plan, &session.runtime.version, &infos, stage, settings)
}

/// Slot `m` of `slots`, if any.
pub fn slot(slots: &mut [Option<ModelCache>], m: usize) -> Option<&mut ModelCache> {
    slots.get_mut(m).and_then(Option::as_mut)
}

/// Finishes a later stage's slots and records each model's use in the report (teacher first).
pub fn record(report: &mut crate::report::Report, slots: Vec<Option<ModelCache>>) {
    let models = std::iter::once(&mut report.teacher).chain(report.students.iter_mut().map(|s| &mut s.model));
    for (model, slot) in models.zip(slots) {
        if let Some(slot) = slot {
            model.cache.push(slot.finish(None, 0));
        }
    }
}

/// What the whole run shares: the runtime, the machine and the data.
struct RunIdentity {
    onnxruntime: String,
    kernel_class: String,
    /// The data's content hash (see [`content_sha256`]).
    data_sha256: String,
}

impl RunIdentity {
    fn of(plan: &ComparePlan, onnxruntime: &str) -> std::io::Result<Self> {
        Ok(Self {
            onnxruntime: onnxruntime.to_string(),
            kernel_class: crate::machine::MachineInfo::detect().kernels.class,
            data_sha256: data_sha256(&plan.data)?,
        })
    }
}

/// The data's content hash, computed once per process for a data file (every cached stage's key
/// has it; a large file is not read four times): remembered by path, size and modification time.
/// An image folder is hashed each time (its files can change without the folder's time changing).
fn data_sha256(path: &Path) -> std::io::Result<String> {
    type Seen = Vec<(std::path::PathBuf, u64, Option<std::time::SystemTime>, String)>;
    static SEEN: std::sync::Mutex<Seen> = std::sync::Mutex::new(Vec::new());
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return content_sha256(path);
    }
    let (len, modified) = (meta.len(), meta.modified().ok());
    let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((.., hash)) = seen.iter().find(|(p, l, m, _)| p == path && *l == len && *m == modified) {
        return Ok(hash.clone());
    }
    let hash = content_sha256(path)?;
    seen.push((path.to_path_buf(), len, modified, hash.clone()));
    Ok(hash)
}

/// The key of model `source`'s outputs in `stage`.
fn key(plan: &ComparePlan, source: &ModelSource, info: &ModelInfo, run: &RunIdentity, stage: CacheStage, settings: &Value) -> std::io::Result<CacheKey> {
    let columns = &plan.columns;
    Ok(CacheKey::new(json!({
        "stage": stage,
        "outputs_version": OUTPUTS_VERSION,
        "model": model_description(source, info)?,
        "onnxruntime": run.onnxruntime,
        "kernel_class": run.kernel_class,
        "data": {
            "sha256": run.data_sha256,
            "format": plan.data_format,
            "text": columns.text,
            "text_pair": columns.text_pair,
            "features": columns.features,
            "image": columns.image,
        },
        "inputs": inputs_description(plan, source)?,
        "batching": {
            "batch_size": plan.batch_size,
            "batch_order": plan.batch_order,
            "serving_batch_size": plan.serving_batch_size,
            "invariance": plan.invariance,
            "outputs": plan.outputs,
        },
        "settings": settings,
    })))
}

/// The model's bytes and how its session runs.
fn model_description(source: &ModelSource, info: &ModelInfo) -> std::io::Result<Value> {
    let folder = info.path.parent().unwrap_or(Path::new("."));
    let external: Vec<Value> =
        info.external_data.iter().map(|name| Ok(json!({ "name": name, "sha256": content_sha256(&folder.join(name))? }))).collect::<std::io::Result<_>>()?;
    let runtime = &source.runtime;
    Ok(json!({
        "sha256": info.sha256,
        "external_data": external,
        "device": source.device,
        "provider": info.provider,
        "exact_integer": source.exact_integer,
        "output": info.output,
        "optimization": runtime.optimization,
        "session_config": runtime.config,
    }))
}

/// The tokenizer's bytes and options, or this model's image preprocessing.
fn inputs_description(plan: &ComparePlan, source: &ModelSource) -> std::io::Result<Value> {
    Ok(match &plan.inputs {
        InputPlan::Text { tokenizer, max_length } => json!({ "tokenizer_sha256": content_sha256(tokenizer)?, "max_length": max_length }),
        InputPlan::Tensors => json!("tensors"),
        InputPlan::Images(images) => {
            let own = images.models.iter().find(|(name, ..)| *name == source.name).map(|(.., k)| &images.distinct[*k]);
            json!({ "preprocessing": own })
        }
    })
}
