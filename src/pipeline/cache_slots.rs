//! Each model's slot in the output cache for the evaluation pass: the key made from the plan (see
//! [`crate::cache::key`] for what is in it and why), opened in the cache folder.

use crate::cache::key::{content_sha256, CacheKey};
use crate::cache::{ModelCache, OutputCache};
use crate::model::{Backend, ModelInfo};
use crate::plan::{ComparePlan, InputPlan, ModelSource};
use serde_json::{json, Value};
use std::path::Path;

/// Bumped whenever fidelity computes a model's probability rows differently (softmax, output
/// selection): every older entry then misses.
const OUTPUTS_VERSION: u32 = 1;

/// Every model's slot in the output cache (`plan.cache`); none when the cache is off. A cache that
/// cannot be opened, or data that cannot be hashed, is a warning: the run computes everything.
pub fn slots(plan: &ComparePlan, onnxruntime: &str, backends: &[&mut dyn Backend], chunk_size: usize) -> Vec<Option<ModelCache>> {
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
        .zip(backends)
        .map(|(source, backend)| match evaluation_key(plan, source, backend.info(), &run, chunk_size) {
            Ok(key) => Some(cache.slot(key, &source.name)),
            Err(e) => {
                eprintln!("fidelity: warning: {}: its files cannot be hashed for the output cache ({e}); computed", source.name);
                None
            }
        })
        .collect()
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
            data_sha256: content_sha256(&plan.data)?,
        })
    }
}

/// The key of model `source`'s outputs in the evaluation pass (`chunk_size`: the pass's chunk size).
fn evaluation_key(plan: &ComparePlan, source: &ModelSource, info: &ModelInfo, run: &RunIdentity, chunk_size: usize) -> std::io::Result<CacheKey> {
    let columns = &plan.columns;
    Ok(CacheKey::new(json!({
        "stage": "evaluation",
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
            "chunk_size": chunk_size,
            "invariance": plan.invariance,
            "outputs": plan.outputs,
        },
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
