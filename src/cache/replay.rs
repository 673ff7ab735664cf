//! The later stages' model calls through the cache: a model wrapped in [`Replayed`] answers each
//! call from its slot's entry while the call's inputs are those the entry recorded at that place
//! (the attack, noise and population stages call a model in an order fixed by the seed, the
//! sample and the model's own answers, so a model whose answers come from the cache is called the
//! same way again), and otherwise runs the model and keeps its answer for a new entry.
//!
//! Answers are stored as the f32 scores the model returned (widened to f64, exactly), so every
//! later step computes from the same numbers. Speed is never measured through it.

use super::{batch_digest, ModelCache};
use crate::data::Batch;
use crate::inference::ProbabilityTable;
use crate::model::{Backend, ModelError, ModelInfo};
use ndarray::Array2;

/// A model whose calls go through its slot (none: straight to the model).
pub struct Replayed<'a> {
    inner: &'a mut dyn Backend,
    slot: Option<&'a mut ModelCache>,
}

impl<'a> Replayed<'a> {
    pub fn new(inner: &'a mut dyn Backend, slot: Option<&'a mut ModelCache>) -> Self {
        Self { inner, slot }
    }
}

impl Backend for Replayed<'_> {
    fn info(&self) -> &ModelInfo {
        self.inner.info()
    }

    fn predict(&mut self, batch: &Batch) -> Result<Array2<f32>, ModelError> {
        let Some(slot) = self.slot.as_deref_mut() else { return self.inner.predict(batch) };
        let digest = batch_digest(batch);
        if let Some(table) = slot.read(&digest) {
            let rows = table.len();
            // Widened from f32 when stored: narrowing gives the model's own scores back.
            let scores = table.values.iter().map(|&v| v as f32).collect();
            return Array2::from_shape_vec((rows, table.classes), scores)
                .map_err(|e| ModelError::Inference { model: self.inner.info().name.clone(), message: format!("a cached answer has the wrong shape: {e}") });
        }
        let scores = self.inner.predict(batch)?;
        slot.keep(&digest, &ProbabilityTable { classes: scores.ncols(), values: scores.iter().map(|&v| f64::from(v)).collect() });
        Ok(scores)
    }

    fn runtime_seconds(&self) -> Option<f64> {
        self.inner.runtime_seconds()
    }
}
