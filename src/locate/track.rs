//! What is kept per matched tensor while batches stream: running sums (cumulative, local and the
//! QDQ pair's own error), a bounded sample of per-example SQNR for percentiles, and running sums
//! tying each example's error to its output (JS distance, flipped label). Memory grows with the
//! number of tensors, not with examples × tensors: the per-example sample holds at most
//! [`PER_EXAMPLE_SAMPLE`] values per tensor (all of them up to that many examples).

use super::tensor_error::{ErrorSums, TensorError};
use crate::stats::quantile::quantile_sorted;
use crate::stats::rng::Rng;
use serde::{Deserialize, Serialize};

pub const PER_EXAMPLE_SAMPLE: usize = 4096;

/// Per-example SQNR percentiles (dB): the low ones are the examples a tensor serves worst.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExamplePercentiles {
    pub p1: f64,
    pub p5: f64,
    pub p50: f64,
    pub p95: f64,
    /// Examples the percentiles are taken over (a uniform sample beyond 4,096).
    pub examples: usize,
}

/// How a tensor's per-example error goes with the example's output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OutcomeTie {
    /// Pearson correlation of the example's SQNR (dB) with its teacher–student JS distance:
    /// negative when a worse tensor goes with a worse output. `None` when either is constant.
    pub correlation_with_js: Option<f64>,
    /// Mean per-example SQNR on examples whose predicted label flipped, and on the others.
    pub mean_sqnr_flipped_db: Option<f64>,
    pub mean_sqnr_kept_db: Option<f64>,
}

#[derive(Debug, Clone, Default)]
struct Pearson {
    n: f64,
    x: f64,
    y: f64,
    xx: f64,
    yy: f64,
    xy: f64,
}

impl Pearson {
    fn add(&mut self, x: f64, y: f64) {
        self.n += 1.0;
        self.x += x;
        self.y += y;
        self.xx += x * x;
        self.yy += y * y;
        self.xy += x * y;
    }

    fn value(&self) -> Option<f64> {
        let cov = self.xy - self.x * self.y / self.n;
        let vx = self.xx - self.x * self.x / self.n;
        let vy = self.yy - self.y * self.y / self.n;
        (self.n >= 2.0 && vx > 1e-12 * self.xx.max(1.0) && vy > 1e-18).then(|| (cov / (vx * vy).sqrt()).clamp(-1.0, 1.0))
    }
}

/// Running state of one tensor pair.
pub struct Track {
    pub cumulative: ErrorSums,
    pub local: Option<ErrorSums>,
    pub qdq: Option<ErrorSums>,
    /// Batches whose shapes differed (left out).
    pub shape_mismatches: usize,
    sample: Vec<f64>,
    seen: u64,
    rng: Rng,
    ties: Pearson,
    flipped: (f64, u64),
    kept: (f64, u64),
    per_example: bool,
}

impl Track {
    pub fn new(seed: u64, index: u64, local: bool, qdq: bool) -> Self {
        Self {
            cumulative: ErrorSums::default(),
            local: local.then(ErrorSums::default),
            qdq: qdq.then(ErrorSums::default),
            shape_mismatches: 0,
            sample: Vec::new(),
            seen: 0,
            rng: Rng::stream(seed, 0x10CA7E + index),
            ties: Pearson::default(),
            flipped: (0.0, 0),
            kept: (0.0, 0),
            per_example: true,
        }
    }

    /// One batch: the cumulative comparison, and the local one (`local`, the cut student's
    /// tensor) and the QDQ pair's (`before_qdq`, the student's tensor before its pair) where this
    /// track keeps them. `js[i]` and `flipped[i]` describe example i's outputs. The three are summed
    /// block by block (an example, or 64 Ki elements), so each block of the teacher's and the
    /// student's tensor is read from memory once and from cache after.
    pub fn add(&mut self, teacher: &[f32], student: &[f32], local: Option<&[f32]>, before_qdq: Option<&[f32]>, js: &[f64], flipped: &[bool]) {
        let fits = |x: Option<&[f32]>| x.is_none_or(|x| x.len() == teacher.len());
        if teacher.len() != student.len() || !fits(local) || !fits(before_qdq) {
            self.shape_mismatches += 1;
            return;
        }
        let rows = js.len();
        let per_example = self.per_example && rows > 0 && teacher.len().is_multiple_of(rows);
        // A tensor that does not lead with the batch dimension has no per-example view.
        self.per_example = per_example;
        let block = if per_example { (teacher.len() / rows).max(1) } else { 1 << 16 };
        for (i, start) in (0..teacher.len()).step_by(block).enumerate() {
            let range = start..(start + block).min(teacher.len());
            let (t, s) = (&teacher[range.clone()], &student[range.clone()]);
            let sums = ErrorSums::of(t, s);
            if per_example {
                let v = sums.sqnr_db();
                self.keep(v);
                self.ties.add(v, js[i]);
                let slot = if flipped[i] { &mut self.flipped } else { &mut self.kept };
                slot.0 += v;
                slot.1 += 1;
            }
            self.cumulative.merge(&sums);
            if let (Some(l), Some(acc)) = (local, self.local.as_mut()) {
                acc.merge(&ErrorSums::of(t, &l[range.clone()]));
            }
            if let (Some(pre), Some(acc)) = (before_qdq, self.qdq.as_mut()) {
                acc.merge(&ErrorSums::of(&pre[range], s));
            }
        }
    }

    fn keep(&mut self, v: f64) {
        self.seen += 1;
        if self.sample.len() < PER_EXAMPLE_SAMPLE {
            self.sample.push(v);
        } else {
            let j = self.rng.below(self.seen) as usize;
            if j < PER_EXAMPLE_SAMPLE {
                self.sample[j] = v;
            }
        }
    }

    pub fn percentiles(&self) -> Option<ExamplePercentiles> {
        if !self.per_example || self.sample.is_empty() {
            return None;
        }
        let mut sorted = self.sample.clone();
        sorted.sort_by(f64::total_cmp);
        let q = |p: f64| quantile_sorted(&sorted, p);
        Some(ExamplePercentiles { p1: q(0.01), p5: q(0.05), p50: q(0.5), p95: q(0.95), examples: sorted.len() })
    }

    pub fn outcome(&self) -> Option<OutcomeTie> {
        if !self.per_example || self.seen == 0 {
            return None;
        }
        let mean = |(s, n): (f64, u64)| (n > 0).then(|| s / n as f64);
        Some(OutcomeTie { correlation_with_js: self.ties.value(), mean_sqnr_flipped_db: mean(self.flipped), mean_sqnr_kept_db: mean(self.kept) })
    }

    pub fn errors(&self) -> (TensorError, Option<TensorError>, Option<TensorError>) {
        ((&self.cumulative).into(), self.local.as_ref().map(Into::into), self.qdq.as_ref().map(Into::into))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pearson_matches_a_direct_computation() {
        let (xs, ys) = ([1.0, 2.0, 3.0, 4.0], [2.0, 1.0, 4.0, 3.0]);
        let mut p = Pearson::default();
        xs.iter().zip(&ys).for_each(|(x, y)| p.add(*x, *y));
        // numpy.corrcoef([1,2,3,4], [2,1,4,3])[0, 1] = 0.6
        assert!((p.value().unwrap() - 0.6).abs() < 1e-12);
        let mut flat = Pearson::default();
        flat.add(1.0, 1.0);
        flat.add(1.0, 2.0);
        assert_eq!(flat.value(), None);
    }

    #[test]
    fn per_example_values_feed_percentiles_and_outcome_ties() {
        let mut t = Track::new(0, 0, false, false);
        // Two examples of two values each: the first is exact, the second 20 dB off.
        t.add(&[1.0, 0.0, 3.0, 4.0], &[1.0, 0.0, 3.0, 4.5], None, None, &[0.0, 0.3], &[false, true]);
        let tie = t.outcome().unwrap();
        assert!((tie.mean_sqnr_flipped_db.unwrap() - 20.0).abs() < 1e-9);
        assert!(tie.mean_sqnr_kept_db.unwrap() > 300.0);
        assert!((tie.correlation_with_js.unwrap() + 1.0).abs() < 1e-12);
        assert_eq!(t.percentiles().unwrap().examples, 2);
        let mut odd = Track::new(0, 1, false, false);
        odd.add(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], None, None, &[0.0, 0.0], &[false, false]);
        assert!(odd.percentiles().is_none() && odd.outcome().is_none(), "3 values do not split into 2 examples");
    }
}
