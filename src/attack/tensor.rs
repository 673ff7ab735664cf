//! A score-based black-box attack on float inputs: SimBA (Guo et al. 2019, "Simple Black-box
//! Adversarial Attacks") in the coordinate basis, constrained to the L∞ ball of radius ε.
//!
//! Per example, with gold label y and budget B (queries = rows sent to the model):
//!
//! 1. The original: its probability row is given (0 queries) or asked for (1 query). If argmax ≠ y
//!    the example is [`AttackStatus::Skipped`] with 0 queries.
//! 2. Coordinates are visited in a random order (a permutation drawn from
//!    `Rng::stream(seed, key)`, so the same example gets the same order for every model). For a
//!    coordinate whose original value is x₀, the candidates are the current input with that
//!    coordinate set to x₀ + ε and to x₀ − ε (clipped to `clip`, dropped when equal to the current
//!    value or outside the ball): both go in one call of (at most) 2 rows. This is SimBA's ±ε step
//!    with the L∞ vertex values instead of an L2 step, and both signs at once instead of one after
//!    the other (same queries in the worst case, one call per coordinate).
//! 3. If a candidate moves the prediction away from y, the one with the lowest P(y) is the
//!    adversarial example (success). Otherwise the candidate with the lowest P(y) is kept if it
//!    lowers P(y). After a full pass over the coordinates a new pass starts in a fresh order, so a
//!    coordinate can switch sides; a pass that keeps nothing ends the attack (each of its candidates
//!    was tried against the final input, so another pass would repeat the same queries).
//! 4. Every step is truncated to the budget left, so B is never exceeded.
//!
//! Every input sent to the model lies within the L∞ ball: |x − x₀| ≤ ε per coordinate, checked in
//! f64 after f32 rounding (a value that rounds outside is moved one ulp inwards), and within
//! `clip` when given. Coordinates whose original lies outside `clip` may only move inside the
//! ball ∩ clip, which can be empty (then they are left alone).

use super::outcome::{AttackOutcome, AttackStatus};
use super::{argmax, check_row, pack, AttackError, TensorClassifier};
use crate::stats::rng::Rng;
use ndarray::{ArrayD, ArrayViewD, IxDyn};

#[derive(Debug, Clone, PartialEq)]
pub struct TensorAttackSettings {
    /// Radius of the L∞ ball, > 0 (`--attack-epsilon`), in the units of the model's input.
    pub epsilon: f32,
    /// Per-example query budget, > 0 (`--attack-queries`).
    pub max_queries: usize,
    /// Seeds the coordinate orders (with each example's key).
    pub seed: u64,
    /// Valid input range (`--attack-clip LO,HI`), e.g. (0, 1) for pixels.
    pub clip: Option<(f32, f32)>,
}

impl TensorAttackSettings {
    pub fn validate(&self) -> Result<(), AttackError> {
        let setting = |flag, expected, value: String| Err(AttackError::Setting { flag, expected, value });
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return setting("--attack-epsilon", "a positive radius of the L∞ ball", self.epsilon.to_string());
        }
        if self.max_queries == 0 {
            return setting("--attack-queries", "a positive number of queries per example", "0".into());
        }
        if let Some((lo, hi)) = self.clip {
            if !(lo.is_finite() && hi.is_finite() && lo <= hi) {
                return setting("--attack-clip", "LO,HI with finite LO ≤ HI", format!("{lo},{hi}"));
            }
        }
        Ok(())
    }
}

/// One example to attack: the input (its own shape, no batch axis), gold label, optionally the
/// model's probability row for it (then the original costs no query), and a key that picks its
/// random stream (e.g. its row in the data file: the same for every model, for a fair comparison).
#[derive(Debug, Clone)]
pub struct TensorExample<'a> {
    pub input: ArrayViewD<'a, f32>,
    pub gold: usize,
    pub original: Option<&'a [f64]>,
    pub key: u64,
}

#[derive(Debug, Clone)]
pub struct TensorAttack {
    settings: TensorAttackSettings,
}

enum Step {
    Original,
    Coordinate { coordinate: usize, values: Vec<f32> },
    Done,
}

struct Job {
    original: Vec<f32>,
    current: Vec<f32>,
    gold: usize,
    queries: usize,
    gold_probability: f64,
    rng: Rng,
    order: Vec<usize>,
    next: usize,
    kept_in_pass: bool,
    step: Step,
    /// Rows of the pending step, flattened.
    pending: Vec<f32>,
    pending_rows: usize,
    outcome: Option<AttackOutcome<ArrayD<f32>>>,
}

impl TensorAttack {
    pub fn new(settings: TensorAttackSettings) -> Result<Self, AttackError> {
        settings.validate()?;
        Ok(Self { settings })
    }

    pub fn settings(&self) -> &TensorAttackSettings {
        &self.settings
    }

    /// Attacks one example; every step is one `classify` call.
    pub fn attack<C: TensorClassifier + ?Sized>(
        &self,
        model: &mut C,
        input: ArrayViewD<'_, f32>,
        gold: usize,
        original: Option<&[f64]>,
        key: u64,
    ) -> Result<AttackOutcome<ArrayD<f32>>, AttackError> {
        let example = TensorExample { input, gold, original, key };
        Ok(self.attack_batch(model, &[example], usize::MAX)?.remove(0))
    }

    /// Attacks examples of one shape in lockstep: each call carries the pending steps of as many
    /// examples as fit in `max_rows` rows (steps are never split). Each example's queries and
    /// outcome are those of [`Self::attack`] for a batch-invariant model.
    pub fn attack_batch<C: TensorClassifier + ?Sized>(
        &self,
        model: &mut C,
        examples: &[TensorExample<'_>],
        max_rows: usize,
    ) -> Result<Vec<AttackOutcome<ArrayD<f32>>>, AttackError> {
        self.attack_batch_with_progress(model, examples, max_rows, &mut |_| {})
    }

    /// [`Self::attack_batch`], calling `progress(finished examples so far)` once before the
    /// first model call and after every call.
    pub fn attack_batch_with_progress<C: TensorClassifier + ?Sized>(
        &self,
        model: &mut C,
        examples: &[TensorExample<'_>],
        max_rows: usize,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<AttackOutcome<ArrayD<f32>>>, AttackError> {
        let Some(shape) = examples.first().map(|e| e.input.shape().to_vec()) else { return Ok(Vec::new()) };
        let mut jobs = Vec::with_capacity(examples.len());
        for (index, example) in examples.iter().enumerate() {
            let fail = |message: String| AttackError::Example { example: index, message };
            if example.input.shape() != shape.as_slice() {
                return Err(fail(format!("shape {:?} differs from the first example's {shape:?}", example.input.shape())));
            }
            if let Some(v) = example.input.iter().find(|v| !v.is_finite()) {
                return Err(fail(format!("the input holds a non-finite value ({v})")));
            }
            jobs.push(self.start(example)?);
        }
        progress(jobs.iter().filter(|j| j.outcome.is_some()).count());
        loop {
            let taken = pack(jobs.iter().enumerate().map(|(i, j)| (i, j.pending_rows)), max_rows);
            if taken.is_empty() {
                break;
            }
            let rows: usize = taken.iter().map(|(_, r)| r.len()).sum();
            let mut flat = Vec::with_capacity(rows * jobs[taken[0].0].original.len());
            for (i, _) in &taken {
                flat.append(&mut jobs[*i].pending);
            }
            let batch_shape: Vec<usize> = std::iter::once(rows).chain(shape.iter().copied()).collect();
            let batch = ArrayD::from_shape_vec(IxDyn(&batch_shape), flat).expect("rows of the example's shape");
            let answer = model.classify(batch.view())?;
            if answer.len() != rows {
                return Err(AttackError::RowCount { expected: rows, got: answer.len() });
            }
            let mut answer = answer.into_iter();
            for (i, range) in taken {
                let part: Vec<Vec<f64>> = answer.by_ref().take(range.len()).collect();
                for (k, row) in part.iter().enumerate() {
                    check_row(row, jobs[i].gold, range.start + k)?;
                }
                self.feed(&mut jobs[i], &part, &shape);
            }
            progress(jobs.iter().filter(|j| j.outcome.is_some()).count());
        }
        Ok(jobs.into_iter().map(|j| j.outcome.expect("a job without pending rows has finished")).collect())
    }

    fn start(&self, example: &TensorExample<'_>) -> Result<Job, AttackError> {
        let original: Vec<f32> = example.input.iter().copied().collect();
        let mut rng = Rng::stream(self.settings.seed, example.key);
        let order = permutation(&mut rng, original.len());
        let mut job = Job {
            current: original.clone(),
            original,
            gold: example.gold,
            queries: 0,
            gold_probability: 0.0,
            rng,
            order,
            next: 0,
            kept_in_pass: false,
            step: Step::Original,
            pending: Vec::new(),
            pending_rows: 0,
            outcome: None,
        };
        match example.original {
            Some(row) => {
                check_row(row, example.gold, 0)?;
                self.after_original(&mut job, row, example.input.shape());
            }
            None => {
                job.pending = job.original.clone();
                job.pending_rows = 1;
                job.queries = 1;
            }
        }
        Ok(job)
    }

    fn finish(&self, job: &mut Job, status: AttackStatus, shape: &[usize]) {
        let changed = job.current.iter().zip(&job.original).filter(|(a, b)| a != b).count();
        let adversarial = (status == AttackStatus::Succeeded).then(|| ArrayD::from_shape_vec(IxDyn(shape), job.current.clone()).expect("the example's shape"));
        let queries = if status == AttackStatus::Skipped { 0 } else { job.queries };
        let perturbed_words = if status == AttackStatus::Skipped { 0 } else { changed };
        job.outcome = Some(AttackOutcome { status, queries, perturbed_words, words: job.original.len(), adversarial });
        job.step = Step::Done;
        job.pending.clear();
        job.pending_rows = 0;
    }

    fn feed(&self, job: &mut Job, rows: &[Vec<f64>], shape: &[usize]) {
        let gold = job.gold;
        match std::mem::replace(&mut job.step, Step::Done) {
            Step::Original => self.after_original(job, &rows[0], shape),
            Step::Coordinate { coordinate, values } => {
                let lowest =
                    |keep: &dyn Fn(&[f64]) -> bool| (0..rows.len()).filter(|&k| keep(&rows[k])).min_by(|&a, &b| rows[a][gold].total_cmp(&rows[b][gold]));
                if let Some(k) = lowest(&|r| argmax(r) != gold) {
                    job.current[coordinate] = values[k];
                    return self.finish(job, AttackStatus::Succeeded, shape);
                }
                if let Some(k) = lowest(&|_| true).filter(|&k| rows[k][gold] < job.gold_probability) {
                    job.current[coordinate] = values[k];
                    job.gold_probability = rows[k][gold];
                    job.kept_in_pass = true;
                }
                self.advance(job, shape);
            }
            Step::Done => unreachable!("a finished attack is never fed"),
        }
    }

    fn after_original(&self, job: &mut Job, row: &[f64], shape: &[usize]) {
        if argmax(row) != job.gold {
            return self.finish(job, AttackStatus::Skipped, shape);
        }
        job.gold_probability = row[job.gold];
        self.advance(job, shape);
    }

    /// Queues the next coordinate's candidates, or finishes the attack as failed.
    fn advance(&self, job: &mut Job, shape: &[usize]) {
        loop {
            let budget_left = self.settings.max_queries.saturating_sub(job.queries);
            if budget_left == 0 {
                return self.finish(job, AttackStatus::Failed, shape);
            }
            if job.next == job.order.len() {
                if !job.kept_in_pass {
                    return self.finish(job, AttackStatus::Failed, shape);
                }
                job.order = permutation(&mut job.rng, job.original.len());
                job.next = 0;
                job.kept_in_pass = false;
            }
            let coordinate = job.order[job.next];
            job.next += 1;
            let (x0, now) = (job.original[coordinate], job.current[coordinate]);
            let mut values: Vec<f32> = Vec::with_capacity(2);
            for sign in [1.0f32, -1.0] {
                if let Some(v) = ball_value(x0, self.settings.epsilon, sign, self.settings.clip) {
                    if v != now && !values.contains(&v) {
                        values.push(v);
                    }
                }
            }
            values.truncate(budget_left);
            if values.is_empty() {
                continue;
            }
            for &v in &values {
                let start = job.pending.len();
                job.pending.extend_from_slice(&job.current);
                job.pending[start + coordinate] = v;
            }
            job.pending_rows = values.len();
            job.queries += values.len();
            job.step = Step::Coordinate { coordinate, values };
            return;
        }
    }
}

/// x₀ + sign·ε, moved inwards until it is within ε of x₀ in f64, then clipped; None when the clip
/// range and the ball do not meet there.
fn ball_value(x0: f32, epsilon: f32, sign: f32, clip: Option<(f32, f32)>) -> Option<f32> {
    let inside = |v: f32| ((v as f64) - (x0 as f64)).abs() <= epsilon as f64;
    let mut v = x0 + sign * epsilon;
    while !inside(v) {
        v = if sign > 0.0 { v.next_down() } else { v.next_up() };
    }
    if let Some((lo, hi)) = clip {
        v = v.clamp(lo, hi);
    }
    inside(v).then_some(v)
}

/// A uniformly random order of `0..n` (Fisher–Yates).
fn permutation(rng: &mut Rng, n: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    order
}

#[cfg(test)]
#[path = "tensor_tests.rs"]
mod tests;
