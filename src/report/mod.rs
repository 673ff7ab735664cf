//! The one report model, and the writers that render it.
//!
//! Every writer takes a [`Report`] and returns bytes; only [`files`] touches the file system, and
//! it writes atomically (temp file + rename) so a report on disk is always whole.

pub mod files;
pub mod json;
pub mod terminal;

use crate::metrics::{FidelityMetrics, OutputKind};
use crate::model::ModelInfo;
use serde::Serialize;
use std::path::PathBuf;

/// Version of the JSON report layout; bumped on any incompatible change.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: Tool,
    /// False while students are still running (or when a run was interrupted).
    pub complete: bool,
    pub runtime: RuntimeInfo,
    pub data: DataInfo,
    pub batching: Batching,
    pub conventions: Conventions,
    pub teacher: ModelReport,
    pub students: Vec<StudentReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub name: &'static str,
    pub version: &'static str,
}

impl Default for Tool {
    fn default() -> Self {
        Self { name: env!("CARGO_PKG_NAME"), version: env!("CARGO_PKG_VERSION") }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RuntimeInfo {
    pub onnxruntime_version: String,
    pub library: PathBuf,
    pub library_origin: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DataInfo {
    pub path: PathBuf,
    pub format: crate::data::DataFormat,
    pub examples: usize,
    pub labelled: usize,
    pub columns: crate::data::Columns,
    pub tokenizer: PathBuf,
    pub max_length: usize,
    /// Examples cut to `max_length` tokens.
    pub truncated: usize,
    pub label_names: Option<Vec<String>>,
}

/// How examples were grouped into batches; dynamically quantized models depend on it.
#[derive(Debug, Clone, Serialize)]
pub struct Batching {
    pub batch_size: usize,
    pub order: &'static str,
    pub padding: &'static str,
    pub pad_id: u32,
}

/// Every convention the numbers depend on, stated in the report itself.
#[derive(Debug, Clone, Serialize)]
pub struct Conventions {
    pub js_log_base: &'static str,
    pub probability_loyalty: &'static str,
    pub label_loyalty: &'static str,
    pub argmax_ties: &'static str,
    pub flip_rates: &'static str,
    pub kl: &'static str,
    pub probabilities: &'static str,
}

impl Conventions {
    pub fn new(base: crate::metrics::LogBase) -> Self {
        Self {
            js_log_base: base.label(),
            probability_loyalty: "mean over examples of 1 - sqrt(JS(P_teacher || P_student)), JS in the stated log base (scipy.spatial.distance.jensenshannon)",
            label_loyalty: "share of examples where argmax(student) = argmax(teacher)",
            argmax_ties: "lowest class index wins (numpy.argmax)",
            flip_rates: "negative flip: teacher right and student wrong; positive flip: teacher wrong and student right; both over labelled examples",
            kl: "mean KL(P_teacher || P_student) in nats; null when a student gives zero probability to a class the teacher does not (counted in kl_infinite)",
            probabilities: "logits go through a float64 softmax; probability outputs (rows non-negative, summing to 1 within 1e-4) are renormalised in float64",
        }
    }
}

/// One model as run.
#[derive(Debug, Clone, Serialize)]
pub struct ModelReport {
    #[serde(flatten)]
    pub info: ModelInfo,
    pub output_kind: OutputKind,
    pub output_kind_detected: bool,
    pub accuracy: Option<f64>,
    /// Timing field: seconds inside ONNX Runtime for the whole pass.
    pub inference_seconds: f64,
}

/// One student compared with the teacher.
#[derive(Debug, Clone, Serialize)]
pub struct StudentReport {
    pub model: ModelReport,
    pub fidelity: FidelityMetrics,
}
