//! A student's positions summed up: every statistic `llama-perplexity --kl-divergence` prints,
//! defined exactly as llama.cpp defines them (tools/perplexity/perplexity.cpp, `kl_divergence`),
//! so the two can be held side by side, and fidelity's own (reverse KL, JS, probability loyalty,
//! flips). llama.cpp's "Q" is the student, its "base" the teacher.
//!
//! llama.cpp's ± is `sqrt((Σx²/n − x̄²)/(n − 1))`, 0 when n ≤ 10: a standard error that treats
//! tokens as independent. Percentiles interpolate linearly between sorted values at
//! `fraction · (n − 1)` (numpy's default), the median as the mean of the two middle values.
//! Where fidelity differs, it is more exact: logits are never rounded (llama.cpp stores the base
//! model's log-probabilities in 16 bits and drops those below e^−16 from the KL sum).
//!
//! Sums run in the order positions were scored (document, then window, then index), never in
//! parallel, so a run gives the same bits whatever the thread count.

use super::position::Position;
use serde::{Deserialize, Serialize};

/// A value and llama.cpp's token-independent uncertainty of it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Estimate {
    pub value: f64,
    /// llama.cpp's ±, treating tokens as independent.
    pub token_sigma: f64,
}

/// Percentiles of a per-position value, as llama.cpp lists them (a fraction of 0.999 is "99.9%").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Percentiles {
    pub max: f64,
    /// `[fraction, value]` from the highest fraction down.
    pub at: Vec<(f64, f64)>,
    pub median: f64,
    pub min: f64,
}

pub const KLD_FRACTIONS: [f64; 8] = [0.999, 0.99, 0.95, 0.90, 0.10, 0.05, 0.01, 0.001];
pub const DELTA_P_FRACTIONS: [f64; 10] = [0.999, 0.99, 0.95, 0.90, 0.75, 0.25, 0.10, 0.05, 0.01, 0.001];

/// Sums over scored positions, each position counted with a weight (1 in the run; a bootstrap
/// resample's Poisson weight of the position's window): everything the statistics need but the
/// percentiles.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Moments {
    pub count: f64,
    nll: f64,
    nll2: f64,
    nll_base: f64,
    nll_base2: f64,
    nll_nll_base: f64,
    kld: f64,
    kld2: f64,
    p_diff: f64,
    p_diff2: f64,
    p_diff4: f64,
    same_top: f64,
    reverse_kld: f64,
    js: f64,
    loyalty: f64,
    teacher_right: f64,
    student_right: f64,
    negative_flips: f64,
    positive_flips: f64,
}

impl Moments {
    /// Adds one position; `js_scale` turns nats into the report's base (1 or 1/ln 2).
    pub fn add(&mut self, p: &Position, js_scale: f64) {
        let flag = |b: bool| if b { 1.0 } else { 0.0 };
        let d = p.delta_p();
        let js = p.js * js_scale;
        let one = Moments {
            count: 1.0,
            nll: p.nll_student,
            nll2: p.nll_student * p.nll_student,
            nll_base: p.nll_teacher,
            nll_base2: p.nll_teacher * p.nll_teacher,
            nll_nll_base: p.nll_student * p.nll_teacher,
            kld: p.kl_teacher_student,
            kld2: p.kl_teacher_student * p.kl_teacher_student,
            p_diff: d,
            p_diff2: d * d,
            p_diff4: d * d * d * d,
            same_top: flag(p.same_top()),
            reverse_kld: p.kl_student_teacher,
            js,
            loyalty: 1.0 - js.sqrt(),
            teacher_right: flag(p.teacher_right()),
            student_right: flag(p.student_right()),
            negative_flips: flag(p.teacher_right() && !p.student_right()),
            positive_flips: flag(!p.teacher_right() && p.student_right()),
        };
        self.add_weighted(&one, 1.0);
    }

    /// `self += w · other`, field by field.
    pub fn add_weighted(&mut self, o: &Moments, w: f64) {
        self.count += w * o.count;
        self.nll += w * o.nll;
        self.nll2 += w * o.nll2;
        self.nll_base += w * o.nll_base;
        self.nll_base2 += w * o.nll_base2;
        self.nll_nll_base += w * o.nll_nll_base;
        self.kld += w * o.kld;
        self.kld2 += w * o.kld2;
        self.p_diff += w * o.p_diff;
        self.p_diff2 += w * o.p_diff2;
        self.p_diff4 += w * o.p_diff4;
        self.same_top += w * o.same_top;
        self.reverse_kld += w * o.reverse_kld;
        self.js += w * o.js;
        self.loyalty += w * o.loyalty;
        self.teacher_right += w * o.teacher_right;
        self.student_right += w * o.student_right;
        self.negative_flips += w * o.negative_flips;
        self.positive_flips += w * o.positive_flips;
    }
}

/// One student's scored positions: the sums of the whole run and of each window (the bootstrap's
/// unit), and each position's KL and Δp with its window (for percentiles).
#[derive(Debug, Clone, Default)]
pub struct Sums {
    pub total: Moments,
    pub per_window: Vec<Moments>,
    /// `(KL, window)` per position, in scoring order.
    pub kld_values: Vec<(f64, u32)>,
    pub p_diff_values: Vec<f64>,
}

impl Sums {
    /// Adds one position of window `window` (windows are numbered from 0 in scoring order).
    pub fn add(&mut self, p: &Position, window: u32, js_scale: f64) {
        self.total.add(p, js_scale);
        if self.per_window.len() <= window as usize {
            self.per_window.resize(window as usize + 1, Moments::default());
        }
        self.per_window[window as usize].add(p, js_scale);
        self.kld_values.push((p.kl_teacher_student, window));
        self.p_diff_values.push(p.delta_p());
    }
}

/// llama.cpp's `mean_and_uncertainty`.
fn mean_and_sigma(sum: f64, sum2: f64, n: f64) -> Estimate {
    if n < 1.0 {
        return Estimate { value: 0.0, token_sigma: 0.0 };
    }
    let f = sum / n;
    let df = sum2 / n - f * f;
    Estimate { value: f, token_sigma: if df > 0.0 && n > 10.0 { (df / (n - 1.0)).sqrt() } else { 0.0 } }
}

/// llama.cpp's `covariance` (of the two means: divided by n − 1 once more).
fn covariance(a: f64, b: f64, ab: f64, n: f64) -> f64 {
    if n < 10.0 {
        return 0.0;
    }
    (ab / n - (a / n) * (b / n)) / (n - 1.0)
}

/// llama.cpp's percentile: linear between sorted values at `fraction · (n − 1)` (numpy's
/// default); its median (the middle value, or the mean of the two) is the same at 0.5.
pub use crate::stats::quantile::quantile_sorted as percentile;

/// Percentiles of values sorted beforehand.
pub fn percentiles(sorted: &[f64], fractions: &[f64]) -> Option<Percentiles> {
    if sorted.is_empty() {
        return None;
    }
    Some(Percentiles {
        max: sorted[sorted.len() - 1],
        at: fractions.iter().map(|&f| (f, percentile(sorted, f))).collect(),
        median: percentile(sorted, 0.5),
        min: sorted[0],
    })
}

/// One student's statistics over the scored positions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenStatistics {
    /// Scored positions (tokens predicted).
    pub tokens: usize,
    /// llama.cpp "Mean PPL(Q)".
    pub ppl: Estimate,
    /// llama.cpp "Mean PPL(base)": the teacher's perplexity on the same tokens.
    pub ppl_teacher: Estimate,
    /// llama.cpp "Cor(ln(PPL(Q)), ln(PPL(base)))", a fraction (llama.cpp prints it in %).
    pub nll_correlation: f64,
    /// llama.cpp "Mean ln(PPL(Q)/PPL(base))".
    pub ln_ppl_ratio: Estimate,
    /// llama.cpp "Mean PPL(Q)/PPL(base)".
    pub ppl_ratio: Estimate,
    /// llama.cpp "Mean PPL(Q)-PPL(base)".
    pub ppl_difference: Estimate,
    /// llama.cpp "Mean KLD": KL(teacher‖student), nats.
    pub mean_kld: Estimate,
    /// llama.cpp's KLD maximum, percentiles, median and minimum.
    pub kld: Option<Percentiles>,
    /// llama.cpp "Mean Δp" (a fraction; llama.cpp prints %).
    pub mean_delta_p: Estimate,
    pub delta_p: Option<Percentiles>,
    /// llama.cpp "RMS Δp".
    pub rms_delta_p: Estimate,
    /// llama.cpp "Same top p": the fraction of positions where both models' top token agree
    /// (fidelity's label loyalty).
    pub same_top_p: Estimate,
    /// Mean KL(student‖teacher), nats.
    pub mean_reverse_kld: f64,
    /// Mean Jensen–Shannon divergence, in the report's base.
    pub mean_js: f64,
    /// Mean of 1 − √JS per position (the report's base).
    pub probability_loyalty: f64,
    /// Top-1 = target, each model.
    pub teacher_accuracy: f64,
    pub student_accuracy: f64,
    /// Teacher's top-1 is the target and the student's is not, per scored position.
    pub negative_flip_rate: f64,
    /// The reverse.
    pub positive_flip_rate: f64,
    /// KL(teacher‖student) per position counted in bins of half a decade: `[upper edge, count]`,
    /// the first bin from 0, the last to infinity (absent for buckets).
    pub kld_histogram: Option<Vec<(f64, usize)>>,
    /// Bootstrap intervals over windows; absent with `--bootstrap 0`.
    pub intervals: Option<super::intervals::TokenIntervals>,
}

impl Sums {
    /// The statistics of the whole run (intervals are added by [`super::intervals`]).
    pub fn finish(&self) -> TokenStatistics {
        let mut kld: Vec<f64> = self.kld_values.iter().map(|v| v.0).collect();
        kld.sort_by(f64::total_cmp);
        let mut dp = self.p_diff_values.clone();
        dp.sort_by(f64::total_cmp);
        let mut t = point_statistics(&self.total);
        t.kld = percentiles(&kld, &KLD_FRACTIONS);
        t.delta_p = percentiles(&dp, &DELTA_P_FRACTIONS);
        t.kld_histogram = Some(log_histogram(kld.iter().copied()));
        t
    }
}

/// Every statistic but the percentiles, from the (possibly weighted) sums.
pub fn point_statistics(m: &Moments) -> TokenStatistics {
    let n = m.count;
    let per = |x: f64| if n == 0.0 { f64::NAN } else { x / n };
    let log_ppl = mean_and_sigma(m.nll, m.nll2, n);
    let ppl = Estimate { value: log_ppl.value.exp(), token_sigma: log_ppl.value.exp() * log_ppl.token_sigma };
    let log_base = mean_and_sigma(m.nll_base, m.nll_base2, n);
    let ppl_teacher = Estimate { value: log_base.value.exp(), token_sigma: log_base.value.exp() * log_base.token_sigma };
    let cov = covariance(m.nll, m.nll_base, m.nll_nll_base, n);
    let ratio_sigma = (log_ppl.token_sigma.powi(2) + log_base.token_sigma.powi(2) - 2.0 * cov).sqrt();
    let ln_ppl_ratio = Estimate { value: log_ppl.value - log_base.value, token_sigma: ratio_sigma };
    let ratio = ln_ppl_ratio.value.exp();
    let ppl_cov = ppl.value * ppl_teacher.value * cov;
    let same_top = per(m.same_top);
    let mse = mean_and_sigma(m.p_diff2, m.p_diff4, n);
    let rms = mse.value.sqrt();
    TokenStatistics {
        tokens: n as usize,
        ppl,
        ppl_teacher,
        nll_correlation: cov / (log_ppl.token_sigma * log_base.token_sigma),
        ln_ppl_ratio,
        ppl_ratio: Estimate { value: ratio, token_sigma: ratio * ratio_sigma },
        ppl_difference: Estimate {
            value: ppl.value - ppl_teacher.value,
            token_sigma: (ppl.token_sigma.powi(2) + ppl_teacher.token_sigma.powi(2) - 2.0 * ppl_cov).sqrt(),
        },
        mean_kld: mean_and_sigma(m.kld, m.kld2, n),
        kld: None,
        mean_delta_p: mean_and_sigma(m.p_diff, m.p_diff2, n),
        delta_p: None,
        rms_delta_p: Estimate { value: rms, token_sigma: 0.5 / rms * mse.token_sigma },
        same_top_p: Estimate { value: same_top, token_sigma: (same_top * (1.0 - same_top) / (n - 1.0)).sqrt() },
        mean_reverse_kld: per(m.reverse_kld),
        mean_js: per(m.js),
        probability_loyalty: per(m.loyalty),
        teacher_accuracy: per(m.teacher_right),
        student_accuracy: per(m.student_right),
        negative_flip_rate: per(m.negative_flips),
        positive_flip_rate: per(m.positive_flips),
        kld_histogram: None,
        intervals: None,
    }
}

/// Upper edges of the KL histogram's bins: 10^-6, 10^-5.5, ... 10^1, then infinity.
pub fn histogram_edges() -> Vec<f64> {
    let r = std::f64::consts::SQRT_2 * 2.23606797749979; // sqrt(10)
    let decades = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1.0];
    let mut e: Vec<f64> = decades.iter().flat_map(|&d| [d, d * r]).collect();
    e.push(10.0);
    e.push(f64::INFINITY);
    e
}

/// Counts of `values` below each edge and at or above the one before.
pub fn log_histogram(values: impl Iterator<Item = f64>) -> Vec<(f64, usize)> {
    let edges = histogram_edges();
    let mut counts = vec![0usize; edges.len()];
    for v in values {
        counts[edges.partition_point(|&e| e <= v).min(edges.len() - 1)] += 1;
    }
    edges.into_iter().zip(counts).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate_as_numpy_does() {
        let v = [1.0, 2.0, 4.0, 8.0];
        assert_eq!(percentile(&v, 0.5), 3.0);
        assert!((percentile(&v, 0.9) - 6.8).abs() < 1e-12);
        assert_eq!(percentile(&v, 1.0), 8.0);
        assert_eq!(percentile(&[1.0, 2.0, 9.0], 0.5), 2.0, "llama.cpp's median");
    }

    #[test]
    fn the_histogram_counts_every_value_once_in_half_decades() {
        let h = log_histogram([0.0, 5e-7, 1e-6, 2e-6, 0.5, 10.0, 1e9].into_iter());
        assert_eq!(h.len(), 16);
        assert_eq!(h.iter().map(|b| b.1).sum::<usize>(), 7);
        assert_eq!(h[0].1, 2, "0 and 5e-7 are below 1e-6");
        assert_eq!(h[1].1, 2, "1e-6 and 2e-6 are in [1e-6, 10^-5.5)");
        assert_eq!(h[15].1, 2, "10 and 1e9 are at or above 10");
    }

    #[test]
    fn uncertainty_is_zero_for_ten_tokens_or_fewer_as_in_llama_cpp() {
        assert_eq!(mean_and_sigma(10.0, 30.0, 10.0).token_sigma, 0.0);
        let e = mean_and_sigma(11.0, 22.0, 11.0);
        assert!((e.value - 1.0).abs() < 1e-15 && (e.token_sigma - (1.0f64 / 10.0).sqrt()).abs() < 1e-12);
    }
}
