//! Speed and memory: "models don't have a speed, systems do" — so every figure is measured on this
//! machine, this ONNX Runtime and this device, and every student is compared with the teacher
//! measured interleaved (teacher, student, teacher, ...) in the same run, so machine noise hits both.
//!
//! - latency at batch size 1: each sampled example run alone, models interleaved per example;
//!   p50 and p95 per model;
//! - throughput per batch size: after warm-up, `repetitions` rounds; in each round every model runs
//!   the same batches back to back (repeated until the teacher's part lasts 20 ms, so small models
//!   are timed above the noise); examples per second per round, median and range;
//! - speedup = teacher time / student time, per round, at the evaluation batch size: median and range;
//! - memory: resident-set growth while a model's session was created and first run.
//!
//! Budget: the measurement is bounded in time ([`SpeedBudget`]). Latency gets 30 % of it and
//! every throughput batch size an equal share of the rest; a phase stops adding examples or rounds
//! once its share is spent, after at least [`MIN_LATENCY_EXAMPLES`] examples and [`MIN_ROUNDS`]
//! rounds (so a median and a range exist), and a round covers only as many batches as let the
//! minimum rounds fit in the share. The report says how many of each ran.

pub mod energy_figure;
pub mod memory;

use crate::energy::EnergyMeter;
pub use energy_figure::EnergyFigure;
use crate::inference::{BatchPlan, BatchSource, EvalError};
use crate::model::Backend;
use serde::Serialize;
use std::time::Instant;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct SpeedSettings {
    /// Batch sizes for throughput.
    pub batch_sizes: Vec<usize>,
    /// Examples used at most (the first ones of the data).
    pub examples: usize,
    pub warmup: usize,
    /// Measured rounds per batch size at most.
    pub repetitions: usize,
    /// How long the measurement may take.
    pub budget: SpeedBudget,
}

impl Default for SpeedSettings {
    fn default() -> Self {
        Self { batch_sizes: DEFAULT_BATCH_SIZES.to_vec(), examples: 256, warmup: 1, repetitions: 5, budget: SpeedBudget::Auto }
    }
}

/// Throughput batch sizes when none are named: powers of two from 1 to 256 (the batch-size curve).
pub const DEFAULT_BATCH_SIZES: [usize; 9] = [1, 2, 4, 8, 16, 32, 64, 128, 256];

/// Time allowed to the speed measurement.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SpeedBudget {
    /// The larger of [`AUTO_SHARE`] of the evaluation pass's wall time and [`AUTO_PER_MODEL`]
    /// seconds per model: speed costs a tenth of the job, never less than a useful minimum.
    Auto,
    Seconds(f64),
    /// Every example and round asked for.
    Unlimited,
}

pub const AUTO_SHARE: f64 = 0.10;
pub const AUTO_PER_MODEL: f64 = 0.5;
pub const MIN_LATENCY_EXAMPLES: usize = 8;
pub const MIN_ROUNDS: usize = 3;

impl SpeedBudget {
    /// Seconds for `models` models after an evaluation pass of `evaluation_seconds` (None: unlimited).
    pub fn seconds(self, evaluation_seconds: f64, models: usize) -> Option<f64> {
        match self {
            Self::Auto => Some((AUTO_SHARE * evaluation_seconds).max(AUTO_PER_MODEL * models as f64)),
            Self::Seconds(s) => Some(s),
            Self::Unlimited => None,
        }
    }
}

/// Median and range of repeated measurements.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Spread {
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        Some(Self { median: quantile(&v, 0.5), min: v[0], max: v[v.len() - 1] })
    }
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    crate::stats::quantile::quantile_sorted(sorted, q)
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Throughput {
    pub batch_size: usize,
    /// Examples per second.
    pub examples_per_second: Spread,
    /// Measured rounds (within the budget).
    pub rounds: usize,
    /// Examples each model ran per round (the batches repeated until a round lasts 20 ms).
    pub examples_per_round: usize,
    /// Milliseconds per batch at the median rate (batch size / examples per second).
    pub batch_ms: f64,
    /// Teacher time / this model's time per round at this batch size (absent for the teacher).
    pub speedup: Option<Spread>,
    /// Energy per example over the same rounds (absent where no counter is readable).
    pub energy: Option<EnergyFigure>,
}

/// One model's measured cost.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ModelSpeed {
    /// Examples timed alone (within the budget).
    pub latency_examples: usize,
    pub latency_ms_p50: f64,
    pub latency_ms_p95: f64,
    pub throughput: Vec<Throughput>,
    /// Teacher time / this model's time at `speedup_batch_size`, per round (absent for the teacher).
    pub speedup: Option<Spread>,
    pub speedup_batch_size: usize,
    /// The batch size at which the median speedup over the teacher is largest (students).
    pub best_speedup_batch_size: Option<usize>,
    /// Energy per example at `speedup_batch_size` (absent where no counter is readable).
    pub energy: Option<EnergyFigure>,
}

/// Share of the budget for the latency phase; the throughput batch sizes share the rest.
const LATENCY_SHARE: f64 = 0.3;

/// Shortest round worth timing: below it, timer resolution and scheduler noise dominate small models.
const MIN_ROUND_SECONDS: f64 = 0.02;

/// Runs every model over `batches`, `iterations` times in a row; returns seconds per model.
fn round(models: &mut [&mut dyn Backend], inputs: &[crate::data::Batch], iterations: usize) -> Result<Vec<f64>, EvalError> {
    Ok(metered_round(models, inputs, iterations, None)?.into_iter().map(|(s, _)| s).collect())
}

/// [`round`], reading `meter` before and after each model's part: (seconds, joules) per model.
fn metered_round(
    models: &mut [&mut dyn Backend],
    inputs: &[crate::data::Batch],
    iterations: usize,
    mut meter: Option<&mut (dyn EnergyMeter + 'static)>,
) -> Result<Vec<(f64, Option<f64>)>, EvalError> {
    let mut out = Vec::with_capacity(models.len());
    for m in models.iter_mut() {
        let before = meter.as_mut().and_then(|e| e.joules());
        let started = Instant::now();
        for _ in 0..iterations {
            for batch in inputs {
                m.predict(batch)?;
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let after = meter.as_mut().and_then(|e| e.joules());
        out.push((seconds, before.zip(after).map(|(b, a)| a - b)));
    }
    Ok(out)
}

/// Measures every model (index 0 is the teacher) on the first `settings.examples` examples.
pub fn measure(
    models: &mut [&mut dyn Backend],
    source: &dyn BatchSource,
    settings: &SpeedSettings,
    speedup_batch_size: usize,
    budget_seconds: Option<f64>,
) -> Result<Vec<ModelSpeed>, EvalError> {
    measure_with_progress(models, source, settings, speedup_batch_size, budget_seconds, &indicatif::ProgressBar::hidden(), None)
}

/// [`measure`], advancing `bar` through the latency examples and the throughput rounds, and
/// reading `meter` (when given) around each model's part of every throughput round.
pub fn measure_with_progress(
    models: &mut [&mut dyn Backend],
    source: &dyn BatchSource,
    settings: &SpeedSettings,
    speedup_batch_size: usize,
    budget_seconds: Option<f64>,
    bar: &indicatif::ProgressBar,
    mut meter: Option<&mut (dyn EnergyMeter + 'static)>,
) -> Result<Vec<ModelSpeed>, EvalError> {
    let n = settings.examples.min(source.len()).max(1).min(source.len());
    let count = models.len();
    let mut sizes = settings.batch_sizes.clone();
    if !sizes.contains(&speedup_batch_size) {
        sizes.push(speedup_batch_size);
    }
    sizes.sort_unstable();
    sizes.dedup();
    bar.set_length((n + sizes.len() * (settings.warmup + settings.repetitions.max(1))) as u64);
    let share = |part: f64| budget_seconds.map(|b| b * part);
    let latency_budget = share(LATENCY_SHARE);
    let size_budget = share((1.0 - LATENCY_SHARE) / sizes.len() as f64);
    let latencies = latency(models, source, n, latency_budget, bar)?;
    let mut throughput = vec![Vec::new(); count];
    let mut speedups = vec![Vec::new(); count];
    let mut energy = vec![None; count];
    for &size in &sizes {
        let Rounds { rates, examples, speedups: round_speedups, joules_per_example } =
            rounds_at(models, source, size, n, settings, size_budget, bar, meter.as_deref_mut())?;
        for k in 0..count {
            let figure = EnergyFigure::of(&joules_per_example[k]);
            if size == speedup_batch_size {
                speedups[k].extend(&round_speedups[k]);
                energy[k] = figure;
            }
            if let Some(s) = Spread::of(&rates[k]) {
                throughput[k].push(Throughput {
                    batch_size: size,
                    examples_per_second: s,
                    rounds: rates[k].len(),
                    examples_per_round: examples,
                    batch_ms: 1e3 * size as f64 / s.median.max(1e-12),
                    speedup: Spread::of(&round_speedups[k]),
                    energy: figure,
                });
            }
        }
    }
    Ok((0..count)
        .map(|k| {
            let mut l = latencies[k].clone();
            l.sort_by(f64::total_cmp);
            let best = throughput[k].iter().filter_map(|t| Some((t.speedup?.median, t.batch_size))).max_by(|a, b| a.0.total_cmp(&b.0)).map(|(_, b)| b);
            ModelSpeed {
                latency_examples: l.len(),
                latency_ms_p50: quantile(&l, 0.5),
                latency_ms_p95: quantile(&l, 0.95),
                throughput: throughput[k].clone(),
                speedup: Spread::of(&speedups[k]),
                speedup_batch_size,
                best_speedup_batch_size: best,
                energy: energy[k],
            }
        })
        .collect())
}

fn spent(started: Instant, budget: Option<f64>) -> bool {
    budget.is_some_and(|b| started.elapsed().as_secs_f64() >= b)
}

/// Latency in milliseconds: each example alone, models interleaved per example.
fn latency(
    models: &mut [&mut dyn Backend],
    source: &dyn BatchSource,
    n: usize,
    budget: Option<f64>,
    bar: &indicatif::ProgressBar,
) -> Result<Vec<Vec<f64>>, EvalError> {
    let mut latencies = vec![Vec::with_capacity(n); models.len()];
    let started = Instant::now();
    for i in 0..n {
        if i >= MIN_LATENCY_EXAMPLES && spent(started, budget) {
            break;
        }
        let batch = source.batch_of(&[i]);
        for (k, m) in models.iter_mut().enumerate() {
            let started = Instant::now();
            m.predict(&batch)?;
            latencies[k].push(started.elapsed().as_secs_f64() * 1e3);
        }
        bar.inc(1);
    }
    Ok(latencies)
}

/// What the rounds at one batch size measured, per model.
struct Rounds {
    /// Examples per second, one entry per round.
    rates: Vec<Vec<f64>>,
    /// Examples in one round.
    examples: usize,
    /// Teacher time / model time per round (students).
    speedups: Vec<Vec<f64>>,
    /// Joules per example, one entry per round whose counter reads succeeded.
    joules_per_example: Vec<Vec<f64>>,
}

/// Throughput rounds at one batch size, models interleaved within each round.
#[allow(clippy::too_many_arguments)]
fn rounds_at(
    models: &mut [&mut dyn Backend],
    source: &dyn BatchSource,
    size: usize,
    n: usize,
    settings: &SpeedSettings,
    size_budget: Option<f64>,
    bar: &indicatif::ProgressBar,
    mut meter: Option<&mut (dyn EnergyMeter + 'static)>,
) -> Result<Rounds, EvalError> {
    let count = models.len();
    let mut speedups = vec![Vec::new(); count];
    let plan = BatchPlan::new(source, size, crate::inference::BatchOrder::File);
    let mut batches: Vec<Vec<usize>> = plan.batches.into_iter().take(n.div_ceil(size.max(1))).collect();
    let started = Instant::now();
    // Within a budget a round covers as many of the batches as lets the warm-up and the minimum
    // rounds fit in this size's share, judged by one batch through every model (cold, so
    // an overestimate): large models then time a batch or two, not the whole sample.
    // That first batch is the first warm-up round.
    let mut warmed = 0;
    if let (Some(share), true) = (size_budget, settings.warmup > 0) {
        let one: f64 = round(models, &[source.batch_of(&batches[0])], 1)?.iter().sum();
        let fit = (share / (settings.warmup + MIN_ROUNDS) as f64 / one.max(1e-9)).floor() as usize;
        batches.truncate(fit.clamp(1, batches.len()));
        warmed = 1;
        bar.inc(1);
    }
    let inputs: Vec<_> = batches.iter().map(|b| source.batch_of(b)).collect();
    for _ in warmed..settings.warmup {
        round(models, &inputs, 1)?;
        bar.inc(1);
    }
    // Repeat the batches within a round until the teacher's round lasts long enough to time.
    let once = round(&mut models[..1], &inputs, 1)?[0];
    let iterations = ((MIN_ROUND_SECONDS / once.max(1e-9)).ceil() as usize).clamp(1, 10_000);
    let examples = iterations * batches.iter().map(Vec::len).sum::<usize>();
    let mut rates = vec![Vec::new(); count];
    let mut joules_per_example = vec![Vec::new(); count];
    for r in 0..settings.repetitions.max(1) {
        if r >= MIN_ROUNDS && spent(started, size_budget) {
            break;
        }
        let measured = metered_round(models, &inputs, iterations, meter.as_deref_mut())?;
        bar.inc(1);
        for (k, &(seconds, joules)) in measured.iter().enumerate() {
            rates[k].push(examples as f64 / seconds.max(1e-12));
            if k > 0 {
                speedups[k].push(measured[0].0 / seconds.max(1e-12));
            }
            if let Some(j) = joules {
                joules_per_example[k].push(j / examples as f64);
            }
        }
    }
    Ok(Rounds { rates, examples, speedups, joules_per_example })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inference::test_models::{texts, CountingModel};

    #[test]
    fn spreads_and_measurements_have_the_right_shape() {
        let s = Spread::of(&[3.0, 1.0, 2.0]).unwrap();
        assert_eq!((s.median, s.min, s.max), (2.0, 1.0, 3.0));
        assert!(Spread::of(&[]).is_none());
        let data = texts(&[&[5], &[5, 5], &[1], &[5, 1], &[2]]);
        let (mut a, mut b) = (CountingModel::new(false), CountingModel::new(false));
        let mut models: Vec<&mut dyn Backend> = vec![&mut a, &mut b];
        let settings = SpeedSettings { batch_sizes: vec![1, 2], examples: 4, warmup: 1, repetitions: 3, budget: SpeedBudget::Unlimited };
        let speed = measure(&mut models, &data, &settings, 2, None).unwrap();
        assert_eq!(speed.len(), 2);
        assert!(speed[0].speedup.is_none() && speed[1].speedup.is_some());
        assert_eq!(speed[1].throughput.iter().map(|t| t.batch_size).collect::<Vec<_>>(), vec![1, 2]);
        assert!(speed[0].latency_ms_p95 >= speed[0].latency_ms_p50);
        // 4 latency calls, then per batch size 1 warm-up round and 3 rounds of whole repetitions.
        assert!(b.calls.len() >= 4 + 4 * (4 + 2));
        assert_eq!((b.calls.len() - 4 - 4 - 2) % 3, 0, "rounds repeat whole sets of batches");
        assert_eq!((speed[1].latency_examples, speed[1].throughput[0].rounds), (4, 3));
        // The batch-size curve: a speedup at every size for the student, none for the teacher;
        // the best batch size is one of them, and the time per batch follows from the rate.
        assert!(speed[0].throughput.iter().all(|t| t.speedup.is_none()) && speed[1].throughput.iter().all(|t| t.speedup.is_some()));
        assert!(speed[1].best_speedup_batch_size.is_some_and(|b| [1, 2].contains(&b)) && speed[0].best_speedup_batch_size.is_none());
        let t = &speed[1].throughput[1];
        assert!((t.batch_ms - 1e3 * 2.0 / t.examples_per_second.median).abs() < 1e-9);
        assert_eq!(speed[1].throughput.iter().find(|t| t.batch_size == 2).and_then(|t| t.speedup), speed[1].speedup, "the headline speedup is the one at its batch size");
    }

    /// Gains one joule between consecutive readings; after `blind_after` readings it gives none.
    struct OneJoulePerReading {
        total: f64,
        readings: usize,
        blind_after: Option<usize>,
    }

    impl EnergyMeter for OneJoulePerReading {
        fn joules(&mut self) -> Option<f64> {
            self.readings += 1;
            self.total += 1.0;
            if self.blind_after.is_some_and(|n| self.readings > n) {
                return None;
            }
            Some(self.total)
        }
    }

    #[test]
    fn the_meter_is_read_around_each_models_part_of_every_round() {
        let data = texts(&[&[5], &[5, 5], &[1], &[5, 1], &[2]]);
        let (mut a, mut b) = (CountingModel::new(false), CountingModel::new(false));
        let mut models: Vec<&mut dyn Backend> = vec![&mut a, &mut b];
        let settings = SpeedSettings { batch_sizes: vec![1, 2], examples: 4, warmup: 1, repetitions: 3, budget: SpeedBudget::Unlimited };
        let mut meter = OneJoulePerReading { total: 0.0, readings: 0, blind_after: None };
        let speed = measure_with_progress(&mut models, &data, &settings, 2, None, &indicatif::ProgressBar::hidden(), Some(&mut meter)).unwrap();
        // Two readings per model per measured round: 2 sizes x 3 rounds x 2 models x 2.
        assert_eq!(meter.readings, 24);
        for s in &speed {
            for t in &s.throughput {
                // One joule per part, spread over the round's examples.
                let e = t.energy.unwrap();
                assert!((e.joules_per_example.median - 1.0 / t.examples_per_round as f64).abs() < 1e-12, "{e:?}");
                assert!((e.wh_per_million_examples - e.joules_per_example.median * 1e6 / 3600.0).abs() < 1e-9);
            }
            assert_eq!(s.energy, s.throughput.iter().find(|t| t.batch_size == 2).unwrap().energy, "the headline figure is at the speedup batch size");
        }
        // A counter that stops answering leaves no figure rather than a wrong one.
        let mut blind = OneJoulePerReading { total: 0.0, readings: 0, blind_after: Some(0) };
        let speed = measure_with_progress(&mut models, &data, &settings, 2, None, &indicatif::ProgressBar::hidden(), Some(&mut blind)).unwrap();
        assert!(speed.iter().all(|s| s.energy.is_none() && s.throughput.iter().all(|t| t.energy.is_none())));
        assert!(measure(&mut models, &data, &settings, 2, None).unwrap().iter().all(|s| s.energy.is_none()), "no meter, no figure");
    }

    #[test]
    fn a_spent_budget_keeps_the_minimum_examples_and_rounds() {
        let data = texts(&(0..40).map(|_| &[5u32][..]).collect::<Vec<_>>());
        let (mut a, mut b) = (CountingModel::new(false), CountingModel::new(false));
        let mut models: Vec<&mut dyn Backend> = vec![&mut a, &mut b];
        let settings = SpeedSettings { batch_sizes: vec![1, 4], examples: 40, warmup: 1, repetitions: 10, budget: SpeedBudget::Seconds(1e-9) };
        let speed = measure(&mut models, &data, &settings, 4, Some(1e-9)).unwrap();
        assert_eq!(speed[1].latency_examples, MIN_LATENCY_EXAMPLES);
        assert!(speed[1].throughput.iter().all(|t| t.rounds == MIN_ROUNDS), "{:?}", speed[1].throughput);
        let full = measure(&mut models, &data, &SpeedSettings { budget: SpeedBudget::Unlimited, ..settings }, 4, None).unwrap();
        assert_eq!((full[1].latency_examples, full[1].throughput[0].rounds), (40, 10));
    }

    #[test]
    fn the_automatic_budget_is_a_tenth_of_the_evaluation_or_half_a_second_per_model() {
        assert_eq!(SpeedBudget::Auto.seconds(100.0, 5), Some(10.0));
        assert_eq!(SpeedBudget::Auto.seconds(1.0, 5), Some(2.5));
        assert_eq!(SpeedBudget::Unlimited.seconds(100.0, 5), None);
        assert_eq!(SpeedBudget::Seconds(3.0).seconds(100.0, 5), Some(3.0));
    }
}
