//! Does a model's output for an example depend on which other examples share its batch?
//!
//! Dynamically quantized models (`quantize_dynamic`) compute activation scales over the whole input
//! tensor, so an example's probabilities move with its batch companions and their padding; fp32
//! models move by float noise at most. An evaluator that batches differently from production then
//! reports a loyalty production never sees. The check: on a seeded sample, compare the evaluation
//! outputs with (a) every sampled example run alone (batch size 1) and (b) the sample shuffled into
//! batches of the evaluation size (other companions). A model is invariant when no probability
//! moves by more than the tolerance.

use super::pass::ProbabilityTable;
use super::source::BatchSource;
use super::EvalError;
use crate::metrics::probability::to_probabilities;
use crate::metrics::{argmax, OutputKind};
use crate::model::Backend;
use crate::stats::rng::Rng;
use serde::Serialize;

/// Float noise: fp32 models stay below this between batchings.
pub const DEFAULT_TOLERANCE: f64 = 1e-5;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct InvarianceSettings {
    /// Examples checked (0 turns the check off).
    pub sample: usize,
    pub seed: u64,
    pub tolerance: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct BatchInvariance {
    /// Examples checked.
    pub sample: usize,
    /// The evaluation batch size the outputs were compared against.
    pub batch_size: usize,
    pub tolerance: f64,
    /// Largest |Δp| over examples and classes, evaluation batching vs batch size 1.
    pub max_change_batch_1: f64,
    /// Largest |Δp|, evaluation batching vs the same batch size with other companions.
    pub max_change_recomposed: f64,
    /// The larger of the two.
    pub max_change: f64,
    /// Mean over checked examples and both alternatives of the example's largest |Δp|.
    pub mean_change: f64,
    /// Checked examples whose predicted class changes under either alternative.
    pub flips: usize,
    /// `max_change <= tolerance`.
    pub invariant: bool,
}

/// A seeded sample of `k` example indices out of `n`, ascending.
pub fn sample_indices(n: usize, k: usize, seed: u64) -> Vec<usize> {
    let mut rng = Rng::stream(seed, 0x1A7);
    let mut all: Vec<usize> = (0..n).collect();
    let k = k.min(n);
    for i in 0..k {
        let j = i + rng.below((n - i) as u64) as usize;
        all.swap(i, j);
    }
    let mut chosen = all[..k].to_vec();
    chosen.sort_unstable();
    chosen
}

/// Runs the check for one model against `reference`, its outputs under the evaluation batching.
pub fn check_batch_invariance(
    backend: &mut dyn Backend,
    source: &dyn BatchSource,
    reference: &ProbabilityTable,
    kind: OutputKind,
    batch_size: usize,
    settings: InvarianceSettings,
) -> Result<BatchInvariance, EvalError> {
    let sample = sample_indices(source.len(), settings.sample, settings.seed);
    let model = backend.info().name.clone();
    let mut run = |indices: &[usize]| -> Result<Vec<Vec<f64>>, EvalError> {
        let scores = backend.predict(&source.batch_of(indices))?;
        scores
            .rows()
            .into_iter()
            .zip(indices)
            .map(|(row, &i)| {
                to_probabilities(&row.to_vec(), kind, i).map_err(|e| EvalError::Output {
                    model: model.clone(),
                    origin: format!("example {}", i + 1),
                    message: e.to_string(),
                })
            })
            .collect()
    };
    // (a) every example alone.
    let mut alone = Vec::with_capacity(sample.len());
    for &i in &sample {
        alone.push(run(&[i])?.remove(0));
    }
    // (b) the sample shuffled, in batches of the evaluation size.
    let mut shuffled = sample.clone();
    let mut rng = Rng::stream(settings.seed, 0xB47C);
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut recomposed = vec![Vec::new(); source.len()];
    for chunk in shuffled.chunks(batch_size.max(1)) {
        for (row, &i) in run(chunk)?.into_iter().zip(chunk) {
            recomposed[i] = row;
        }
    }
    let largest = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    let (mut max_1, mut max_r, mut sum, mut flips) = (0.0f64, 0.0f64, 0.0, 0);
    for (k, &i) in sample.iter().enumerate() {
        let reference = reference.row(i);
        let (d1, dr) = (largest(reference, &alone[k]), largest(reference, &recomposed[i]));
        max_1 = max_1.max(d1);
        max_r = max_r.max(dr);
        sum += d1 + dr;
        let label = argmax(reference);
        flips += usize::from(argmax(&alone[k]) != label || argmax(&recomposed[i]) != label);
    }
    let max_change = max_1.max(max_r);
    Ok(BatchInvariance {
        sample: sample.len(),
        batch_size,
        tolerance: settings.tolerance,
        max_change_batch_1: max_1,
        max_change_recomposed: max_r,
        max_change,
        mean_change: if sample.is_empty() { 0.0 } else { sum / (2 * sample.len()) as f64 },
        flips,
        invariant: max_change <= settings.tolerance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluate::run_pass;
    use crate::evaluate::source::{BatchOrder, BatchPlan};
    use crate::evaluate::test_models::{texts, BatchScaledModel, CountingModel};

    fn data() -> crate::data::text::EncodedTexts {
        // Counts of id 5: 1, 4, 2, 1, 3, 0, 2, 1 -> batch maxima differ by composition.
        texts(&[&[5], &[5, 5, 5, 5], &[5, 5], &[5, 1], &[5, 5, 5], &[1], &[5, 5, 1], &[5]])
    }

    fn settings() -> InvarianceSettings {
        InvarianceSettings { sample: 8, seed: 3, tolerance: DEFAULT_TOLERANCE }
    }

    #[test]
    fn an_order_independent_model_is_invariant() {
        let data = data();
        let plan = BatchPlan::new(&data, 4, BatchOrder::File);
        let mut m = CountingModel::new(false);
        let pass = run_pass(&mut m, &data, &plan, None, &|i| i.to_string()).unwrap();
        let c = check_batch_invariance(&mut m, &data, &pass.probabilities, pass.output_kind, 4, settings()).unwrap();
        assert!(c.invariant && c.max_change == 0.0 && c.flips == 0);
        assert_eq!(c.sample, 8);
    }

    #[test]
    fn a_batch_dependent_model_is_flagged_with_its_largest_change() {
        let data = data();
        let plan = BatchPlan::new(&data, 4, BatchOrder::File);
        let mut m = BatchScaledModel::new();
        let pass = run_pass(&mut m, &data, &plan, None, &|i| i.to_string()).unwrap();
        let c = check_batch_invariance(&mut m, &data, &pass.probabilities, pass.output_kind, 4, settings()).unwrap();
        assert!(!c.invariant);
        // Example 0 (one 5) in the first batch (max 4) scores 0.25; alone it scores 1.
        let p = |a: f64| 1.0 / (1.0 + (0.5 - a).exp());
        assert!((c.max_change_batch_1 - (p(1.0) - p(0.25))).abs() < 1e-6, "{c:?}");
        assert!(c.flips > 0, "0.25 < 0.5 but 1 > 0.5: the prediction flips");
    }

    #[test]
    fn samples_are_seeded_distinct_and_sorted() {
        let a = sample_indices(100, 10, 3);
        assert_eq!(a, sample_indices(100, 10, 3));
        assert_ne!(a, sample_indices(100, 10, 4));
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(sample_indices(5, 10, 1), vec![0, 1, 2, 3, 4]);
    }
}
