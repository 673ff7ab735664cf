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

/// Running sums of one student's scored positions.
#[derive(Debug, Clone, Default)]
pub struct Sums {
    pub count: usize,
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
    same_top: usize,
    reverse_kld: f64,
    js: f64,
    loyalty: f64,
    teacher_right: usize,
    student_right: usize,
    negative_flips: usize,
    positive_flips: usize,
    kld_values: Vec<f64>,
    p_diff_values: Vec<f64>,
}

impl Sums {
    /// Adds one position; `js_scale` turns nats into the report's base (1 or 1/ln 2).
    pub fn add(&mut self, p: &Position, js_scale: f64) {
        self.count += 1;
        self.nll += p.nll_student;
        self.nll2 += p.nll_student * p.nll_student;
        self.nll_base += p.nll_teacher;
        self.nll_base2 += p.nll_teacher * p.nll_teacher;
        self.nll_nll_base += p.nll_student * p.nll_teacher;
        self.kld += p.kl_teacher_student;
        self.kld2 += p.kl_teacher_student * p.kl_teacher_student;
        let d = p.delta_p();
        self.p_diff += d;
        self.p_diff2 += d * d;
        self.p_diff4 += d * d * d * d;
        self.same_top += usize::from(p.same_top());
        self.reverse_kld += p.kl_student_teacher;
        let js = p.js * js_scale;
        self.js += js;
        self.loyalty += 1.0 - js.sqrt();
        self.teacher_right += usize::from(p.teacher_right());
        self.student_right += usize::from(p.student_right());
        self.negative_flips += usize::from(p.teacher_right() && !p.student_right());
        self.positive_flips += usize::from(!p.teacher_right() && p.student_right());
        self.kld_values.push(p.kl_teacher_student);
        self.p_diff_values.push(d);
    }
}

/// llama.cpp's `mean_and_uncertainty`.
fn mean_and_sigma(sum: f64, sum2: f64, n: usize) -> Estimate {
    if n < 1 {
        return Estimate { value: 0.0, token_sigma: 0.0 };
    }
    let f = sum / n as f64;
    let df = sum2 / n as f64 - f * f;
    Estimate { value: f, token_sigma: if df > 0.0 && n > 10 { (df / (n - 1) as f64).sqrt() } else { 0.0 } }
}

/// llama.cpp's `covariance` (of the two means: divided by n − 1 once more).
fn covariance(a: f64, b: f64, ab: f64, n: usize) -> f64 {
    if n < 10 {
        return 0.0;
    }
    (ab / n as f64 - (a / n as f64) * (b / n as f64)) / (n - 1) as f64
}

/// Linear interpolation between sorted values at `fraction · (n − 1)`.
pub fn percentile(sorted: &[f64], fraction: f64) -> f64 {
    if fraction <= 0.0 {
        return sorted[0];
    }
    if fraction >= 1.0 {
        return sorted[sorted.len() - 1];
    }
    let p = fraction * (sorted.len() - 1) as f64;
    let i = p.floor() as usize;
    let w = p - i as f64;
    (1.0 - w) * sorted[i] + w * sorted[(i + 1).min(sorted.len() - 1)]
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n.is_multiple_of(2) {
        0.5 * (sorted[n / 2] + sorted[n / 2 - 1])
    } else {
        sorted[n / 2]
    }
}

fn percentiles(mut values: Vec<f64>, fractions: &[f64]) -> Option<Percentiles> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some(Percentiles { max: values[values.len() - 1], at: fractions.iter().map(|&f| (f, percentile(&values, f))).collect(), median: median(&values), min: values[0] })
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
}

impl Sums {
    pub fn finish(self) -> TokenStatistics {
        let n = self.count;
        let per = |x: usize| if n == 0 { f64::NAN } else { x as f64 / n as f64 };
        let mean = |x: f64| if n == 0 { f64::NAN } else { x / n as f64 };
        let log_ppl = mean_and_sigma(self.nll, self.nll2, n);
        let ppl = Estimate { value: log_ppl.value.exp(), token_sigma: log_ppl.value.exp() * log_ppl.token_sigma };
        let log_base = mean_and_sigma(self.nll_base, self.nll_base2, n);
        let ppl_teacher = Estimate { value: log_base.value.exp(), token_sigma: log_base.value.exp() * log_base.token_sigma };
        let cov = covariance(self.nll, self.nll_base, self.nll_nll_base, n);
        let ratio_sigma = (log_ppl.token_sigma.powi(2) + log_base.token_sigma.powi(2) - 2.0 * cov).sqrt();
        let ln_ppl_ratio = Estimate { value: log_ppl.value - log_base.value, token_sigma: ratio_sigma };
        let ratio = ln_ppl_ratio.value.exp();
        let ppl_cov = ppl.value * ppl_teacher.value * cov;
        let same_top = per(self.same_top);
        let mse = mean_and_sigma(self.p_diff2, self.p_diff4, n);
        let rms = mse.value.sqrt();
        TokenStatistics {
            tokens: n,
            ppl,
            ppl_teacher,
            nll_correlation: cov / (log_ppl.token_sigma * log_base.token_sigma),
            ln_ppl_ratio,
            ppl_ratio: Estimate { value: ratio, token_sigma: ratio * ratio_sigma },
            ppl_difference: Estimate { value: ppl.value - ppl_teacher.value, token_sigma: (ppl.token_sigma.powi(2) + ppl_teacher.token_sigma.powi(2) - 2.0 * ppl_cov).sqrt() },
            mean_kld: mean_and_sigma(self.kld, self.kld2, n),
            kld: percentiles(self.kld_values, &KLD_FRACTIONS),
            mean_delta_p: mean_and_sigma(self.p_diff, self.p_diff2, n),
            delta_p: percentiles(self.p_diff_values, &DELTA_P_FRACTIONS),
            rms_delta_p: Estimate { value: rms, token_sigma: 0.5 / rms * mse.token_sigma },
            same_top_p: Estimate { value: same_top, token_sigma: (same_top * (1.0 - same_top) / (n as f64 - 1.0)).sqrt() },
            mean_reverse_kld: mean(self.reverse_kld),
            mean_js: mean(self.js),
            probability_loyalty: mean(self.loyalty),
            teacher_accuracy: per(self.teacher_right),
            student_accuracy: per(self.student_right),
            negative_flip_rate: per(self.negative_flips),
            positive_flip_rate: per(self.positive_flips),
        }
    }
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
        assert_eq!(median(&v), 3.0);
        assert_eq!(median(&[1.0, 2.0, 9.0]), 2.0);
    }

    #[test]
    fn uncertainty_is_zero_for_ten_tokens_or_fewer_as_in_llama_cpp() {
        assert_eq!(mean_and_sigma(10.0, 30.0, 10).token_sigma, 0.0);
        let e = mean_and_sigma(11.0, 22.0, 11);
        assert!((e.value - 1.0).abs() < 1e-15 && (e.token_sigma - (1.0f64 / 10.0).sqrt()).abs() < 1e-12);
    }
}
