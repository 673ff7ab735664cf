//! One model over the whole dataset: raw outputs become probability rows in f64.

use super::source::{batch_ranges, BatchSource};
use super::EvalError;
use crate::metrics::probability::{detect_output_kind, to_probabilities};
use crate::metrics::OutputKind;
use crate::model::Backend;
use std::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct PassOptions {
    pub batch_size: usize,
    /// `None`: detect from the first batch.
    pub outputs: Option<OutputKind>,
}

/// Probability rows for every example, flat: row `i` is `values[i*classes..(i+1)*classes]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbabilityTable {
    pub classes: usize,
    pub values: Vec<f64>,
}

impl ProbabilityTable {
    pub fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.classes..(i + 1) * self.classes]
    }

    pub fn len(&self) -> usize {
        self.values.len() / self.classes.max(1)
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

/// What one pass of a model produced.
#[derive(Debug, Clone)]
pub struct ModelPass {
    pub output_kind: OutputKind,
    /// Whether the kind was detected (true) or given by `--outputs` (false).
    pub output_kind_detected: bool,
    pub probabilities: ProbabilityTable,
    /// Time spent inside the backend's `predict`, in seconds.
    pub inference_seconds: f64,
    pub batches: usize,
}

/// Runs `backend` over every batch of `source` in order. `origin(i)` names example `i` in messages.
pub fn run_pass(
    backend: &mut dyn Backend,
    source: &dyn BatchSource,
    options: PassOptions,
    origin: &dyn Fn(usize) -> String,
) -> Result<ModelPass, EvalError> {
    let model = backend.info().name.clone();
    let mut kind = options.outputs;
    let mut values = Vec::new();
    let mut classes = 0;
    let mut inference_seconds = 0.0;
    let mut batches = 0;
    for range in batch_ranges(source.len(), options.batch_size) {
        let batch = source.batch(range.clone());
        let started = Instant::now();
        let scores = backend.predict(&batch)?;
        inference_seconds += started.elapsed().as_secs_f64();
        batches += 1;
        if classes == 0 {
            classes = scores.ncols();
        } else if scores.ncols() != classes {
            return Err(EvalError::ClassCount { model: model.clone(), got: scores.ncols(), reference: "its first batch".into(), expected: classes });
        }
        let kind = *kind.get_or_insert_with(|| detect_output_kind(scores.rows().into_iter().map(|r| r.to_slice().unwrap_or(&[]))));
        for (offset, row) in scores.rows().into_iter().enumerate() {
            let row: Vec<f32> = row.to_vec();
            let index = range.start + offset;
            let probs = to_probabilities(&row, kind, index).map_err(|e| EvalError::Output {
                model: model.clone(),
                origin: origin(index),
                message: e.to_string(),
            })?;
            values.extend(probs);
        }
    }
    Ok(ModelPass {
        output_kind: kind.unwrap_or(OutputKind::Logits),
        output_kind_detected: options.outputs.is_none(),
        probabilities: ProbabilityTable { classes, values },
        inference_seconds,
        batches,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::text::{EncodedText, EncodedTexts};
    use crate::data::{Batch, InputTensor};
    use crate::model::{ModelError, ModelInfo};
    use ndarray::Array2;

    /// A deterministic bag-of-ids model: class-0 score = number of id 5 tokens, class-1 score = 1.
    /// When `probabilities`, it outputs softmax-normalised rows instead of logits.
    struct CountingModel {
        info: ModelInfo,
        probabilities: bool,
        calls: Vec<usize>,
    }

    impl CountingModel {
        fn new(probabilities: bool) -> Self {
            let info = ModelInfo {
                name: "counting".into(),
                path: "mem".into(),
                sha256: String::new(),
                bytes: 0,
                inputs: vec![crate::model::InputInfo { name: "input_ids".into(), element_type: "int64".into() }],
                output: "logits".into(),
                classes: Some(2),
                provider: "test".into(),
            };
            Self { info, probabilities, calls: vec![] }
        }
    }

    impl Backend for CountingModel {
        fn info(&self) -> &ModelInfo {
            &self.info
        }
        fn predict(&mut self, batch: &Batch) -> Result<Array2<f32>, ModelError> {
            self.calls.push(batch.rows);
            let Some(InputTensor::Int64(ids)) = batch.get("input_ids") else { unreachable!() };
            let mut out = Array2::zeros((batch.rows, 2));
            for (r, row) in ids.rows().into_iter().enumerate() {
                let fives = row.iter().filter(|&&x| x == 5).count() as f32;
                let (a, b) = (fives, 1.0f32);
                if self.probabilities {
                    let (ea, eb) = (a.exp(), b.exp());
                    out[[r, 0]] = ea / (ea + eb);
                    out[[r, 1]] = eb / (ea + eb);
                } else {
                    out[[r, 0]] = a;
                    out[[r, 1]] = b;
                }
            }
            Ok(out)
        }
    }

    fn texts(ids: &[&[u32]]) -> EncodedTexts {
        EncodedTexts {
            items: ids.iter().map(|i| EncodedText { ids: i.to_vec(), type_ids: vec![0; i.len()] }).collect(),
            truncated: 0,
            pad_id: 0,
            max_length: 16,
        }
    }

    #[test]
    fn batches_in_order_and_detects_logits_or_probabilities() {
        let data = texts(&[&[5, 5, 5], &[1], &[5], &[5, 5]]);
        let options = PassOptions { batch_size: 3, outputs: None };
        let mut logits = CountingModel::new(false);
        let a = run_pass(&mut logits, &data, options, &|i| format!("line {i}")).unwrap();
        assert_eq!(logits.calls, vec![3, 1]);
        assert_eq!((a.output_kind, a.output_kind_detected), (OutputKind::Logits, true));
        let mut probs = CountingModel::new(true);
        let b = run_pass(&mut probs, &data, options, &|i| format!("line {i}")).unwrap();
        assert_eq!(b.output_kind, OutputKind::Probabilities);
        // Same model as logits or as probabilities: the same probability rows.
        for (x, y) in a.probabilities.values.iter().zip(&b.probabilities.values) {
            assert!((x - y).abs() < 1e-6);
        }
        // 3 fives: softmax([3, 1])[0] = 1 / (1 + e^-2)
        assert!((a.probabilities.row(0)[0] - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-12);
    }

    #[test]
    fn a_forced_kind_that_does_not_fit_names_the_example() {
        let data = texts(&[&[5, 5, 5]]);
        let mut logits = CountingModel::new(false);
        let options = PassOptions { batch_size: 8, outputs: Some(OutputKind::Probabilities) };
        let err = run_pass(&mut logits, &data, options, &|i| format!("line {}", i + 1)).unwrap_err().to_string();
        assert!(err.contains("model counting, line 1") && err.contains("--outputs logits"), "{err}");
    }
}
