//! Small deterministic models behind the [`Backend`] seam, for unit tests of everything above it.

use crate::data::text::{EncodedText, EncodedTexts};
use crate::data::{Batch, InputTensor};
use crate::model::{Backend, InputInfo, ModelError, ModelInfo};
use ndarray::Array2;

fn info(name: &str) -> ModelInfo {
    ModelInfo {
        image_feed: None,
        name: name.into(),
        path: "memory".into(),
        sha256: String::new(),
        bytes: 0,
        external_data: vec![],
        inputs: vec![InputInfo { name: "input_ids".into(), element_type: "int64".into() }],
        output: "logits".into(),
        output_element_type: "float32".into(),
        static_shape: Default::default(),
        output_selection: "test".into(),
        output_layout: crate::model::output_choice::OutputLayout::Scores,
        output_producer: None,
        class_labels: None,
        classes: Some(2),
        device: crate::model::Device::Cpu,
        provider: "test".into(),
        fallback: None,
        integer_kernels: None,
        exact_integer: false,
        twin_of: None,
        runtime_settings: Default::default(),
    }
}

fn fives(batch: &Batch) -> Vec<f32> {
    let Some(InputTensor::Int64(ids)) = batch.get("input_ids") else { return vec![] };
    ids.rows().into_iter().map(|r| r.iter().filter(|&&x| x == 5).count() as f32).collect()
}

/// A bag-of-ids model: class-0 score = number of id-5 tokens, class-1 score = 1. With
/// `probabilities`, it outputs the softmax of those scores instead of logits.
pub struct CountingModel {
    info: ModelInfo,
    probabilities: bool,
    /// Batch sizes it was called with.
    pub calls: Vec<usize>,
}

impl CountingModel {
    pub fn new(probabilities: bool) -> Self {
        Self { info: info("counting"), probabilities, calls: vec![] }
    }
}

impl Backend for CountingModel {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn predict(&mut self, batch: &Batch) -> Result<Array2<f32>, ModelError> {
        self.calls.push(batch.rows);
        let mut out = Array2::zeros((batch.rows, 2));
        for (r, a) in fives(batch).into_iter().enumerate() {
            if self.probabilities {
                let (ea, eb) = (a.exp(), 1f32.exp());
                out[[r, 0]] = ea / (ea + eb);
                out[[r, 1]] = eb / (ea + eb);
            } else {
                out[[r, 0]] = a;
                out[[r, 1]] = 1.0;
            }
        }
        Ok(out)
    }
}

/// A model that depends on its batch, as a dynamically quantized one does: class-0 score is the
/// example's count of id-5 tokens divided by the largest count in the batch, class-1 score 0.5.
pub struct BatchScaledModel {
    info: ModelInfo,
    calls: usize,
}

impl BatchScaledModel {
    pub fn new() -> Self {
        Self { info: info("batch-scaled"), calls: 0 }
    }

    /// How many batches it ran.
    pub fn predict_calls(&self) -> usize {
        self.calls
    }
}

impl Backend for BatchScaledModel {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn predict(&mut self, batch: &Batch) -> Result<Array2<f32>, ModelError> {
        self.calls += 1;
        let counts = fives(batch);
        let max = counts.iter().cloned().fold(1.0f32, f32::max);
        let mut out = Array2::zeros((batch.rows, 2));
        for (r, a) in counts.into_iter().enumerate() {
            out[[r, 0]] = a / max;
            out[[r, 1]] = 0.5;
        }
        Ok(out)
    }
}

/// Encoded texts with the given ids.
pub fn texts(ids: &[&[u32]]) -> EncodedTexts {
    EncodedTexts {
        items: ids.iter().map(|i| EncodedText { ids: i.to_vec(), type_ids: vec![0; i.len()] }).collect(),
        truncated: 0,
        empty: 0,
        pad_id: 0,
        max_length: 16,
    }
}
