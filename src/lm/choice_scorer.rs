//! A causal LM seen as a classifier over choices: [`ChoiceTexts`] is the batch source of
//! tokenized multiple-choice rows, [`ChoiceScorer`] the backend that turns a batch of them into
//! one score per choice ([`super::choices`]). The classifier pipeline then compares teacher and
//! students exactly as it compares classifiers.
//!
//! A batch of `b` rows with `k` choices each is one ONNX Runtime run of `b·k` sequences (context
//! and choice), padded at the end to the longest; it travels through [`Batch`] as `input_ids`
//! `[b·k, length]` and `choice_spans` `[b·k, 3]` (tokens, first choice token, characters).

use super::choices::{choice_log_probability, ChoiceScore, ChoiceSequence};
use super::model::LmModel;
use super::windows::Window;
use crate::data::batch::{Batch, InputTensor};
use crate::inference::BatchSource;
use crate::model::{Backend, Device, ModelError, ModelInfo};
use ndarray::Array2;

const SPANS: &str = "choice_spans";

/// Every row's sequences, one per choice.
pub struct ChoiceTexts {
    pub rows: Vec<Vec<ChoiceSequence>>,
}

impl BatchSource for ChoiceTexts {
    fn len(&self) -> usize {
        self.rows.len()
    }

    fn batch_of(&self, indices: &[usize]) -> Batch {
        let sequences: Vec<&ChoiceSequence> = indices.iter().flat_map(|&i| &self.rows[i]).collect();
        let length = sequences.iter().map(|s| s.tokens.len()).max().unwrap_or(0);
        let mut ids = Array2::<i64>::zeros((sequences.len(), length));
        let mut spans = Array2::<i64>::zeros((sequences.len(), 3));
        for (n, s) in sequences.iter().enumerate() {
            for (j, &t) in s.tokens.iter().enumerate() {
                ids[[n, j]] = i64::from(t);
            }
            spans[[n, 0]] = s.tokens.len() as i64;
            spans[[n, 1]] = s.start as i64;
            spans[[n, 2]] = s.characters as i64;
        }
        Batch { rows: indices.len(), tensors: vec![("input_ids".into(), InputTensor::Int64(ids)), (SPANS.into(), InputTensor::Int64(spans))], pad_id: None }
    }

    /// The row's longest sequence.
    fn length(&self, i: usize) -> usize {
        self.rows[i].iter().map(|s| s.tokens.len()).max().unwrap_or(0)
    }
}

/// The sequences of a batch made by [`ChoiceTexts::batch_of`].
fn sequences(batch: &Batch) -> Option<Vec<ChoiceSequence>> {
    let (Some(InputTensor::Int64(ids)), Some(InputTensor::Int64(spans))) = (batch.get("input_ids"), batch.get(SPANS)) else { return None };
    let as_usize = |x: i64| usize::try_from(x).ok();
    spans
        .rows()
        .into_iter()
        .zip(ids.rows())
        .map(|(span, row)| {
            let length = as_usize(span[0])?;
            let tokens = row.iter().take(length).map(|&t| u32::try_from(t).ok()).collect::<Option<Vec<_>>>()?;
            Some(ChoiceSequence { tokens, start: as_usize(span[1])?, characters: as_usize(span[2])? })
        })
        .collect()
}

pub struct ChoiceScorer {
    model: LmModel,
    info: ModelInfo,
    score: ChoiceScore,
}

impl ChoiceScorer {
    pub fn new(model: LmModel, device: Device, score: ChoiceScore) -> Self {
        let (output, element_type) = model.logits();
        let lm = &model.info;
        let info = ModelInfo {
            image_feed: None,
            name: lm.name.clone(),
            path: lm.path.clone(),
            sha256: lm.sha256.clone(),
            bytes: lm.bytes,
            external_data: vec![],
            inputs: model.inputs(),
            output: output.to_string(),
            output_element_type: element_type.into(),
            static_shape: Default::default(),
            output_selection: format!("a causal LM ({}); each choice scored by {}", lm.interface, score.describe()),
            output_layout: crate::model::output_choice::OutputLayout::Scores,
            output_producer: None,
            class_labels: None,
            classes: None,
            device,
            provider: device.provider().to_string(),
            fallback: None,
            integer_kernels: Some(lm.integer_kernels.clone()),
            exact_integer: false,
            twin_of: None,
            runtime_settings: Default::default(),
        };
        Self { model, info, score }
    }

    pub fn vocabulary(&self) -> usize {
        self.model.info.vocabulary
    }
}

impl Backend for ChoiceScorer {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    /// One score per choice: the row's choices are its "classes", the scores its logits.
    fn predict(&mut self, batch: &Batch) -> Result<Array2<f32>, ModelError> {
        let model = self.info.name.clone();
        let sequences =
            sequences(batch).ok_or_else(|| ModelError::Inference { model: model.clone(), message: "not a batch of multiple-choice rows".into() })?;
        let k = sequences.len().checked_div(batch.rows).unwrap_or(0);
        let windows: Vec<Window> = sequences.iter().map(|s| Window { document: 0, start: 0, tokens: s.tokens.clone(), scored: 0..0 }).collect();
        let logits = self.model.run(&windows.iter().collect::<Vec<_>>())?;
        let mut scores = Array2::<f32>::zeros((batch.rows, k));
        for (n, s) in sequences.iter().enumerate() {
            let sum = choice_log_probability(s, |j| logits.row(n, j));
            // Summed in f64; the classifier machinery reads scores as float32 logits.
            scores[[n / k.max(1), n % k.max(1)]] = self.score.score(sum, s.tokens.len() - s.start, s.characters) as f32;
        }
        Ok(scores)
    }

    fn runtime_seconds(&self) -> Option<f64> {
        Some(self.model.runtime_seconds)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_carries_every_choice_sequence_back_intact() {
        let seq = |tokens: Vec<u32>, start: usize| ChoiceSequence { tokens, start, characters: 7 };
        let texts = ChoiceTexts {
            rows: vec![
                vec![seq(vec![1, 2, 3], 2), seq(vec![1, 2], 1)],
                vec![seq(vec![4, 5, 6, 7], 3), seq(vec![4, 9], 1)],
                vec![seq(vec![8, 8], 1), seq(vec![8, 1, 1], 1)],
            ],
        };
        assert_eq!((texts.len(), texts.length(1)), (3, 4));
        let batch = texts.batch_of(&[2, 0]);
        assert_eq!(batch.rows, 2);
        let back = sequences(&batch).unwrap();
        let want: Vec<ChoiceSequence> = texts.rows[2].iter().chain(&texts.rows[0]).cloned().collect();
        assert_eq!(back, want);
    }
}
