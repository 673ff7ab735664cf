//! Running one model over batches of the data: what [`crate::pipeline`] calls for every model.
//!
//! - [`source`]: where batches come from (encoded text, tensors) and which examples share one.
//! - [`pass`]: one model over every batch, outputs turned into probability rows.
//! - [`invariance`]: whether a model's outputs depend on its batch companions.
//! - [`serving`]: the serving-condition rules (which batching each model's numbers come from).
//! - [`paired`]: a student's probability rows against the teacher's.

pub mod invariance;
pub mod paired;
pub mod pass;
pub mod serving;
pub mod source;
#[cfg(test)]
pub(crate) mod test_models;

use thiserror::Error;

pub use paired::{compare, StudentComparison};
pub use pass::{run_pass, run_pass_with_progress, ModelPass, ProbabilityTable};
pub use source::{BatchOrder, BatchPlan, BatchSource};

use crate::model::ModelError;

#[derive(Debug, Error)]
pub enum EvalError {
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("model {model}, {origin}: {message}")]
    Output { model: String, origin: String, message: String },
    #[error("model {model} outputs {got} classes but {reference} has {expected}; fidelity compares models over the same classes")]
    ClassCount { model: String, got: usize, reference: String, expected: usize },
    #[error("{path}: {origin}: label {label} is outside the model's {classes} classes (0..{last})")]
    LabelOutOfRange { path: String, origin: String, label: usize, classes: usize, last: usize },
}
