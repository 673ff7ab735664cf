//! One model over the whole dataset: raw outputs become probability rows in f64.

use super::source::{BatchPlan, BatchSource};
use super::EvalError;
use crate::metrics::probability::{detect_output_kind, kind_from_producer, to_probabilities};
use crate::metrics::OutputKind;
use crate::model::Backend;
use std::time::Instant;

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
    /// Rows in example order, whatever the batch order was.
    pub probabilities: ProbabilityTable,
    /// Time spent inside the backend's `predict`, in seconds.
    pub inference_seconds: f64,
    pub batches: usize,
}

/// Runs `backend` over the batches of `plan`. `outputs`: the output kind, or `None` to detect it
/// from the first batch. `origin(i)` names example `i` in messages.
pub fn run_pass(
    backend: &mut dyn Backend,
    source: &dyn BatchSource,
    plan: &BatchPlan,
    outputs: Option<OutputKind>,
    origin: &dyn Fn(usize) -> String,
) -> Result<ModelPass, EvalError> {
    run_pass_with_progress(backend, source, plan, outputs, origin, &indicatif::ProgressBar::hidden())
}

/// [`run_pass`], advancing `progress` by one per example.
pub fn run_pass_with_progress(
    backend: &mut dyn Backend,
    source: &dyn BatchSource,
    plan: &BatchPlan,
    outputs: Option<OutputKind>,
    origin: &dyn Fn(usize) -> String,
    progress: &indicatif::ProgressBar,
) -> Result<ModelPass, EvalError> {
    let model = backend.info().name.clone();
    // A label-only model has one reading whatever --outputs says.
    let fixed = (backend.info().output_layout == crate::model::output_choice::OutputLayout::Labels).then_some(OutputKind::Labels);
    let graph_hint = kind_from_producer(backend.info().output_producer.as_deref());
    let mut kind = fixed.or(outputs);
    let mut values = Vec::new();
    let mut classes = 0;
    let mut inference_seconds = 0.0;
    for indices in &plan.batches {
        let batch = source.batch_of(indices);
        let started = Instant::now();
        let scores = backend.predict(&batch)?;
        inference_seconds += started.elapsed().as_secs_f64();
        // A one-column (binary) output becomes two probability columns.
        let width = if scores.ncols() == 1 { 2 } else { scores.ncols() };
        if classes == 0 {
            classes = width;
            values = vec![0.0; source.len() * classes];
        } else if width != classes {
            return Err(EvalError::ClassCount { model: model.clone(), got: width, reference: "its first batch".into(), expected: classes });
        }
        let kind = *kind.get_or_insert_with(|| detect_output_kind(scores.rows().into_iter().map(|r| r.to_slice().unwrap_or(&[])), graph_hint));
        for (row, &index) in scores.rows().into_iter().zip(indices) {
            let row: Vec<f32> = row.to_vec();
            let probs =
                to_probabilities(&row, kind, index).map_err(|e| EvalError::Output { model: model.clone(), origin: origin(index), message: e.to_string() })?;
            values[index * classes..(index + 1) * classes].copy_from_slice(&probs);
        }
        progress.inc(indices.len() as u64);
    }
    Ok(ModelPass {
        output_kind: kind.unwrap_or(OutputKind::Logits),
        output_kind_detected: fixed.is_none() && outputs.is_none(),
        probabilities: ProbabilityTable { classes, values },
        inference_seconds,
        batches: plan.batches.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inference::source::BatchOrder;
    use crate::inference::test_models::{texts, CountingModel};

    #[test]
    fn batches_in_order_and_detects_logits_or_probabilities() {
        let data = texts(&[&[5, 5, 5], &[1], &[5], &[5, 5]]);
        let plan = BatchPlan::new(&data, 3, BatchOrder::File);
        let mut logits = CountingModel::new(false);
        let a = run_pass(&mut logits, &data, &plan, None, &|i| format!("line {i}")).unwrap();
        assert_eq!(logits.calls, vec![3, 1]);
        assert_eq!((a.output_kind, a.output_kind_detected), (OutputKind::Logits, true));
        let mut probs = CountingModel::new(true);
        let b = run_pass(&mut probs, &data, &plan, None, &|i| format!("line {i}")).unwrap();
        assert_eq!(b.output_kind, OutputKind::Probabilities);
        // Same model as logits or as probabilities: the same probability rows.
        for (x, y) in a.probabilities.values.iter().zip(&b.probabilities.values) {
            assert!((x - y).abs() < 1e-6);
        }
        // 3 fives: softmax([3, 1])[0] = 1 / (1 + e^-2)
        assert!((a.probabilities.row(0)[0] - 1.0 / (1.0 + (-2.0f64).exp())).abs() < 1e-12);
        // Length-sorted batches put rows back in example order.
        let sorted = BatchPlan::new(&data, 3, BatchOrder::LengthSorted);
        let c = run_pass(&mut CountingModel::new(false), &data, &sorted, None, &|i| format!("line {i}")).unwrap();
        assert_eq!(c.probabilities, a.probabilities);
    }

    #[test]
    fn a_forced_kind_that_does_not_fit_names_the_example() {
        let data = texts(&[&[5, 5, 5]]);
        let mut logits = CountingModel::new(false);
        let plan = BatchPlan::new(&data, 8, BatchOrder::File);
        let err = run_pass(&mut logits, &data, &plan, Some(OutputKind::Probabilities), &|i| format!("line {}", i + 1)).unwrap_err().to_string();
        assert!(err.contains("model counting, line 1") && err.contains("--outputs logits"), "{err}");
    }
}
