//! Does a model's output for an example depend on which other examples share its batch?
//!
//! Dynamically quantized models (`quantize_dynamic`) compute activation scales over the whole input
//! tensor, so an example's probabilities move with its batch companions and their padding; fp32
//! models move by float noise at most. An evaluator that batches differently from production then
//! reports a loyalty production never sees. The check: on a seeded sample, compare the outputs the
//! evaluation pass already produced (each example in its evaluation batch, with its companions and
//! padding) with the example run alone (batch size 1, no companions, no padding), which changes
//! both at once. A model is invariant when no probability moves by more than the tolerance.
//!
//! Cost: one batch-1 run per checked example and nothing else. The sample is visited in a seeded
//! random order and the check stops once [`DEPENDENT_EXAMPLES`] examples have moved beyond the
//! tolerance: the verdict is then certain, and the largest and mean change and the flips are those
//! of the examples run (the report says how many). An invariant model runs the whole sample.

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

/// Examples checked by default: a few dozen, drawn across the first chunk.
pub const DEFAULT_SAMPLE: usize = 32;

/// Examples beyond the tolerance after which a model is shown batch-dependent and the check stops.
pub const DEPENDENT_EXAMPLES: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct InvarianceSettings {
    /// Examples checked at most (0 turns the check off).
    pub sample: usize,
    pub seed: u64,
    pub tolerance: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct BatchInvariance {
    /// Examples run at batch size 1 and compared.
    pub sample: usize,
    /// Examples drawn for the check; fewer run when it stopped early.
    pub drawn: usize,
    /// Stopped after `DEPENDENT_EXAMPLES` examples moved beyond the tolerance.
    pub stopped_early: bool,
    /// The evaluation batch size the outputs were compared against.
    pub batch_size: usize,
    pub tolerance: f64,
    /// Largest |Δp| over checked examples and classes, evaluation batching vs batch size 1.
    pub max_change: f64,
    /// Mean over checked examples of the example's largest |Δp|.
    pub mean_change: f64,
    /// Checked examples whose predicted class changes at batch size 1.
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
    let mut order = sample_indices(source.len(), settings.sample, settings.seed);
    let drawn = order.len();
    let mut rng = Rng::stream(settings.seed, 0xB47C);
    for i in (1..order.len()).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let model = backend.info().name.clone();
    let largest = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    let (mut max_change, mut sum, mut flips, mut run, mut dependent) = (0.0f64, 0.0, 0, 0, 0);
    for &i in &order {
        let scores = backend.predict(&source.batch_of(&[i]))?;
        let row = scores.rows().into_iter().next().map(|r| r.to_vec()).unwrap_or_default();
        let alone = to_probabilities(&row, kind, i).map_err(|e| EvalError::Output {
            model: model.clone(),
            origin: format!("example {}", i + 1),
            message: e.to_string(),
        })?;
        let reference = reference.row(i);
        let change = largest(reference, &alone);
        max_change = max_change.max(change);
        sum += change;
        flips += usize::from(argmax(&alone) != argmax(reference));
        run += 1;
        dependent += usize::from(change > settings.tolerance);
        if dependent >= DEPENDENT_EXAMPLES {
            break;
        }
    }
    Ok(BatchInvariance {
        sample: run,
        drawn,
        stopped_early: run < drawn,
        batch_size,
        tolerance: settings.tolerance,
        max_change,
        mean_change: if run == 0 { 0.0 } else { sum / run as f64 },
        flips,
        invariant: max_change <= settings.tolerance,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inference::run_pass;
    use crate::inference::source::{BatchOrder, BatchPlan};
    use crate::inference::test_models::{texts, BatchScaledModel, CountingModel};

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
        assert!((c.max_change - (p(1.0) - p(0.25))).abs() < 1e-6, "{c:?}");
        assert!(c.flips > 0, "0.25 < 0.5 but 1 > 0.5: the prediction flips");
    }

    #[test]
    fn a_dependent_model_stops_after_enough_evidence_and_an_invariant_one_runs_the_whole_sample() {
        let data = texts(&(0..40).map(|i| if i % 2 == 0 { &[5][..] } else { &[5, 5, 5][..] }).collect::<Vec<_>>());
        let plan = BatchPlan::new(&data, 4, BatchOrder::File);
        let settings = InvarianceSettings { sample: 40, seed: 1, tolerance: DEFAULT_TOLERANCE };
        let mut dependent = BatchScaledModel::new();
        let pass = run_pass(&mut dependent, &data, &plan, None, &|i| i.to_string()).unwrap();
        let c = check_batch_invariance(&mut dependent, &data, &pass.probabilities, pass.output_kind, 4, settings).unwrap();
        assert!(!c.invariant && c.stopped_early && c.drawn == 40);
        assert!(c.sample >= DEPENDENT_EXAMPLES && c.sample < 40, "{c:?}");
        let mut invariant = CountingModel::new(false);
        let pass = run_pass(&mut invariant, &data, &plan, None, &|i| i.to_string()).unwrap();
        let c = check_batch_invariance(&mut invariant, &data, &pass.probabilities, pass.output_kind, 4, settings).unwrap();
        assert!(c.invariant && !c.stopped_early && c.sample == 40);
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
