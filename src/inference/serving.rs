//! One model's evaluation under the serving-condition rules:
//!
//! 1. run under the evaluation batching (`--batch-size`, `--batch-order`);
//! 2. check batch invariance on a seeded sample;
//! 3. a model whose outputs depend on its batch is re-run in file order at the serving batch size
//!    (`--serving-batch-size`, default the evaluation batch size) when the evaluation batching
//!    differs from it, so its numbers are what production, batching that way, gets.
//!
//! Length-sorted evaluation batching is therefore only kept for models shown invariant; with the
//! check off, every model runs under the serving batching directly.

use crate::inference::invariance::{check_batch_invariance, BatchInvariance, InvarianceSettings};
use crate::inference::{run_pass_with_progress, BatchOrder, BatchPlan, BatchSource, EvalError, ModelPass};
use crate::metrics::OutputKind;
use crate::model::Backend;
use serde::Serialize;

/// The batching that produced a model's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ModelBatching {
    pub batch_size: usize,
    pub order: BatchOrder,
    /// Why this batching (e.g. re-run at the serving batch size).
    pub reason: String,
}

pub struct ModelRun {
    pub pass: ModelPass,
    pub invariance: Option<BatchInvariance>,
    pub batching: ModelBatching,
}

pub struct Batchings<'a> {
    pub source: &'a dyn BatchSource,
    pub evaluation: BatchPlan,
    pub serving: BatchPlan,
    pub invariance: InvarianceSettings,
    pub outputs: Option<OutputKind>,
}

impl Batchings<'_> {
    fn same_batching(&self) -> bool {
        self.evaluation.batch_size == self.serving.batch_size && self.evaluation.order == self.serving.order
    }
}

/// Runs one model under the rules above, advancing `bar` by one per example run.
pub fn run_model(backend: &mut dyn Backend, b: &Batchings, origin: &dyn Fn(usize) -> String, bar: &indicatif::ProgressBar) -> Result<ModelRun, EvalError> {
    let run_pass = |backend: &mut dyn Backend, source: &dyn BatchSource, plan: &BatchPlan, outputs: Option<OutputKind>, origin: &dyn Fn(usize) -> String| {
        run_pass_with_progress(backend, source, plan, outputs, origin, bar)
    };
    run_model_inner(backend, b, origin, &run_pass)
}

type PassFn<'a> = dyn Fn(&mut dyn Backend, &dyn BatchSource, &BatchPlan, Option<OutputKind>, &dyn Fn(usize) -> String) -> Result<ModelPass, EvalError> + 'a;

fn run_model_inner(backend: &mut dyn Backend, b: &Batchings, origin: &dyn Fn(usize) -> String, run_pass: &PassFn) -> Result<ModelRun, EvalError> {
    let serving = |reason: &str| ModelBatching { batch_size: b.serving.batch_size, order: b.serving.order, reason: reason.into() };
    if b.invariance.sample == 0 {
        let pass = run_pass(backend, b.source, &b.serving, b.outputs, origin)?;
        return Ok(ModelRun { pass, invariance: None, batching: serving("serving batching (batch-invariance check off)") });
    }
    let pass = run_pass(backend, b.source, &b.evaluation, b.outputs, origin)?;
    let check = check_batch_invariance(backend, b.source, &pass.probabilities, pass.output_kind, b.evaluation.batch_size, b.invariance)?;
    let evaluation = |reason: &str| ModelBatching { batch_size: b.evaluation.batch_size, order: b.evaluation.order, reason: reason.into() };
    let (pass, batching) = if check.invariant {
        (pass, evaluation("evaluation batching; the model is batch-invariant"))
    } else if b.same_batching() {
        (pass, evaluation("evaluation batching = serving batching; the model depends on its batch, so these numbers hold for this batching only"))
    } else {
        let rerun = run_pass(backend, b.source, &b.serving, Some(pass.output_kind), origin)?;
        let rerun = ModelPass { output_kind_detected: pass.output_kind_detected, inference_seconds: pass.inference_seconds + rerun.inference_seconds, ..rerun };
        (rerun, serving("re-run at the serving batching: the model depends on its batch"))
    };
    Ok(ModelRun { pass, invariance: Some(check), batching })
}

/// Builds both batch plans.
pub fn plans(source: &dyn BatchSource, batch_size: usize, order: BatchOrder, serving_batch_size: usize) -> (BatchPlan, BatchPlan) {
    (BatchPlan::new(source, batch_size, order), BatchPlan::new(source, serving_batch_size, BatchOrder::File))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inference::invariance::DEFAULT_TOLERANCE;
    use crate::inference::test_models::{texts, BatchScaledModel, CountingModel};

    fn batchings(source: &dyn BatchSource, order: BatchOrder, serving: usize, sample: usize) -> Batchings<'_> {
        let (evaluation, serving) = plans(source, 4, order, serving);
        Batchings { source, evaluation, serving, invariance: InvarianceSettings { sample, seed: 1, tolerance: DEFAULT_TOLERANCE }, outputs: None }
    }

    #[test]
    fn batch_dependent_models_are_rerun_at_the_serving_batch_size() {
        let data = texts(&[&[5], &[5, 5, 5, 5], &[5, 5], &[5, 1], &[5, 5, 5], &[1], &[5, 5, 1], &[5]]);
        let origin = |i: usize| i.to_string();
        let run = run_model(&mut BatchScaledModel::new(), &batchings(&data, BatchOrder::File, 1, 8), &origin, &indicatif::ProgressBar::hidden()).unwrap();
        assert!(!run.invariance.as_ref().unwrap().invariant);
        assert_eq!((run.batching.batch_size, run.batching.order), (1, BatchOrder::File));
        let alone = crate::inference::run_pass(&mut BatchScaledModel::new(), &data, &BatchPlan::new(&data, 1, BatchOrder::File), None, &origin).unwrap();
        assert_eq!(run.pass.probabilities, alone.probabilities);
    }

    #[test]
    fn length_sorting_is_kept_only_for_invariant_models() {
        let data = texts(&[&[5], &[5, 5, 5, 5], &[5, 5], &[5, 1], &[5, 5, 5], &[1], &[5, 5, 1], &[5]]);
        let origin = |i: usize| i.to_string();
        let b = batchings(&data, BatchOrder::LengthSorted, 4, 8);
        let invariant = run_model(&mut CountingModel::new(false), &b, &origin, &indicatif::ProgressBar::hidden()).unwrap();
        assert_eq!(invariant.batching.order, BatchOrder::LengthSorted);
        let dependent = run_model(&mut BatchScaledModel::new(), &b, &origin, &indicatif::ProgressBar::hidden()).unwrap();
        assert_eq!(dependent.batching.order, BatchOrder::File);
        let off =
            run_model(&mut CountingModel::new(false), &batchings(&data, BatchOrder::LengthSorted, 4, 0), &origin, &indicatif::ProgressBar::hidden()).unwrap();
        assert_eq!(off.batching.order, BatchOrder::File, "unchecked models use the serving batching");
        assert!(off.invariance.is_none());
    }
}
