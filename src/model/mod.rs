//! Models: the [`Backend`] seam every evaluation goes through, the ONNX Runtime implementation,
//! where the ONNX Runtime library comes from, and class names from `config.json`.

pub mod cache_lock;
pub mod device;
pub mod external_data;
pub mod hub;
pub mod layout;
pub mod micro;
pub mod output_choice;
mod output_reading;
pub mod runtime_library;
pub mod runtime_settings;
pub mod session;
pub mod static_shape;

use crate::data::Batch;
use ndarray::Array2;
use serde::Serialize;
use std::path::PathBuf;
use thiserror::Error;

pub use device::Device;
pub use session::{OnnxBackend, Runtime};

/// What a loaded model is, for reports and messages.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ModelInfo {
    /// Short name used in tables ("teacher", or the file stem).
    pub name: String,
    pub path: PathBuf,
    /// Of the model file itself (external data files are not hashed: see `external_data`).
    pub sha256: String,
    /// The model file and its external data files together.
    pub bytes: u64,
    /// External data files holding its weights, relative to the model's folder (empty: none).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub external_data: Vec<String>,
    /// Graph inputs fidelity feeds.
    pub inputs: Vec<InputInfo>,
    /// The graph output read as class scores.
    pub output: String,
    /// Its ONNX element type, e.g. "float32", "float16" or "int64" (labels).
    pub output_element_type: String,
    /// The batch dimension and sequence length its graph fixes (absent: both dynamic).
    #[serde(skip_serializing_if = "static_shape::StaticShape::is_dynamic", default)]
    pub static_shape: static_shape::StaticShape,
    /// Why that output: the rule that chose it, and the others there were.
    pub output_selection: String,
    /// Class scores, or labels only.
    pub output_layout: output_choice::OutputLayout,
    /// The op computing the output (looking through reshapes and casts), when the graph says.
    pub output_producer: Option<String>,
    /// The classes the graph's classifier names (skl2onnx: ZipMap keys, classifier labels).
    pub class_labels: Option<crate::onnx::outputs::ClassLabels>,
    /// Number of classes when the graph states it (2 for a one-column binary head); otherwise
    /// learned from the first batch.
    pub classes: Option<usize>,
    /// The device asked for.
    pub device: Device,
    /// Execution provider the session actually runs on.
    pub provider: String,
    /// Why the session fell back to the CPU (with --allow-fallback): ONNX Runtime's message.
    pub fallback: Option<String>,
    /// Integer kernels in the graph (absent when fidelity's reader cannot read the graph).
    pub integer_kernels: Option<crate::onnx::integer_kernels::IntegerKernels>,
    /// Run with ONNX Runtime's `session.x64quantprecision = 1`: int8 weights outside [-64, 64]
    /// rewritten to uint8 so that the exact u8u8 GEMM runs (`--integer-numerics`).
    pub exact_integer: bool,
    /// For an exact twin: the student whose file and settings it shares.
    pub twin_of: Option<String>,
    /// Session settings other than ONNX Runtime's defaults (absent when there are none).
    #[serde(skip_serializing_if = "runtime_settings::RuntimeSettings::is_default", default)]
    pub runtime_settings: runtime_settings::RuntimeSettings,
    /// Image data: the batch tensor holding this model's preprocessing of the images (the report
    /// states each model's preprocessing in its data section instead).
    #[serde(skip)]
    pub image_feed: Option<String>,
}

/// One graph input.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct InputInfo {
    pub name: String,
    /// ONNX element type, e.g. "int64" or "float32".
    pub element_type: String,
}

/// The execution seam: one batch in, one row of raw class scores (logits or probabilities) per
/// example out. ONNX Runtime implements it; tests implement it with small deterministic models.
pub trait Backend {
    fn info(&self) -> &ModelInfo;
    fn predict(&mut self, batch: &Batch) -> Result<Array2<f32>, ModelError>;
    /// Seconds spent inside the runtime so far (session creation and runs), when the backend knows.
    fn runtime_seconds(&self) -> Option<f64> {
        None
    }
}

#[derive(Debug, Error)]
pub enum ModelError {
    #[error("model {model}: cannot read {path}: {source}")]
    Io { model: String, path: PathBuf, source: std::io::Error },
    #[error("model {model}: {path} is not a loadable ONNX model ({message}). Is the file complete, and is it an .onnx file?")]
    Load { model: String, path: PathBuf, message: String },
    #[error("model {model} {message}")]
    NoClassOutput { model: String, message: String },
    #[error("model {model} ({}): {message}", path.display())]
    Inputs { model: String, path: PathBuf, message: String },
    #[error("model {model} needs input '{input}', which the data does not provide (fidelity provides: {provided})")]
    MissingInput { model: String, input: String, provided: String },
    #[error("model {model}: input '{input}' must be {expected}, but the data gives {given}")]
    InputType { model: String, input: String, expected: String, given: String },
    #[error("model {model}: cannot run on {device}: {message}. Pass --allow-fallback to run it on the CPU instead, or point --ort-lib at an onnxruntime-gpu library that has this provider")]
    Provider { model: String, device: Device, message: String },
    #[error("model {model} failed during inference: {message}")]
    Inference { model: String, message: String },
    #[error("model {model} returned {got} rows of class scores for a batch of {expected}")]
    OutputRows { model: String, expected: usize, got: usize },
}
