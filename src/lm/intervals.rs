//! Intervals that respect correlation: a Poisson bootstrap over windows (the unit), the same
//! resamples for every student, so students are compared on the same tokens. Tokens of a window
//! share their context, so they are not independent: llama.cpp's token σ understates the
//! uncertainty, and the report says by how much (the interval's half-width in token σ; 1.96 at
//! 95 % if tokens were independent).
//!
//! In resample `r`, window `u` weighs `w ~ Poisson(1)` ([`unit_weight`]: a hash of seed, r, u);
//! every statistic is recomputed from the weighted sums, percentiles from the positions repeated
//! `w` times (exactly: a walk over the positions sorted once). The interval is the percentile
//! interval of the resampled values at `--confidence`.

use super::statistics::{point_statistics, Moments, Sums, KLD_FRACTIONS};
use crate::stats::bootstrap::poisson::unit_weight;
use crate::stats::bootstrap::{BootstrapSettings, Interval};
use crate::stats::quantile::percentile_interval;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TokenIntervals {
    /// "window": what a resample draws.
    pub unit: String,
    /// Windows with at least one scored position.
    pub units: usize,
    pub resamples: usize,
    pub confidence: f64,
    pub ppl: Option<Interval>,
    pub ppl_teacher: Option<Interval>,
    pub ln_ppl_ratio: Option<Interval>,
    pub ppl_ratio: Option<Interval>,
    pub mean_kld: Option<Interval>,
    /// `[fraction, interval]` of KLD percentiles, the median (0.5) included.
    pub kld: Vec<(f64, Option<Interval>)>,
    pub same_top_p: Option<Interval>,
    pub mean_delta_p: Option<Interval>,
    pub rms_delta_p: Option<Interval>,
    pub probability_loyalty: Option<Interval>,
    pub negative_flip_rate: Option<Interval>,
    pub positive_flip_rate: Option<Interval>,
    /// Teacher's top-1 accuracy minus the student's.
    pub accuracy_drop: Option<Interval>,
    /// The mean KLD interval's half-width over llama.cpp's token σ.
    pub mean_kld_half_width_in_token_sigmas: Option<f64>,
    /// The same for ln(PPL ratio).
    pub ln_ppl_ratio_half_width_in_token_sigmas: Option<f64>,
}

/// The KLD fractions given intervals: llama.cpp's and the median.
fn fractions() -> Vec<f64> {
    let mut f = KLD_FRACTIONS.to_vec();
    f.push(0.5);
    f
}

/// Percentiles of the positions repeated by their window's weight, `sorted` by value: rank `k` of
/// the repeated sequence is found by a walk of cumulative weights; linear between ranks at
/// `fraction · (n − 1)` as [`crate::stats::quantile::quantile_sorted`].
pub fn weighted_percentiles(sorted: &[(f64, u32)], weights: &[u32], fractions: &[f64]) -> Vec<f64> {
    let total: u64 = sorted.iter().map(|&(_, u)| u64::from(weights[u as usize])).sum();
    if total == 0 {
        return vec![f64::NAN; fractions.len()];
    }
    // (rank, which fraction, lower or upper neighbour), walked in rank order.
    let mut wanted: Vec<(u64, usize, bool)> = Vec::with_capacity(2 * fractions.len());
    for (i, &f) in fractions.iter().enumerate() {
        let pos = f.clamp(0.0, 1.0) * (total - 1) as f64;
        wanted.push((pos.floor() as u64, i, false));
        wanted.push((pos.ceil() as u64, i, true));
    }
    wanted.sort_unstable();
    let (mut lo, mut hi) = (vec![f64::NAN; fractions.len()], vec![f64::NAN; fractions.len()]);
    let (mut cum, mut next) = (0u64, 0usize);
    for &(v, u) in sorted {
        cum += u64::from(weights[u as usize]);
        while next < wanted.len() && wanted[next].0 < cum {
            let (_, i, upper) = wanted[next];
            if upper {
                hi[i] = v;
            } else {
                lo[i] = v;
            }
            next += 1;
        }
    }
    fractions
        .iter()
        .enumerate()
        .map(|(i, &f)| {
            let pos = f.clamp(0.0, 1.0) * (total - 1) as f64;
            lo[i] + (hi[i] - lo[i]) * (pos - pos.floor())
        })
        .collect()
}

/// Values of one resample, in [`TokenIntervals`] order.
fn resample(sums: &Sums, sorted: &[(f64, u32)], weights: &[u32]) -> Vec<f64> {
    let mut m = Moments::default();
    for (w, unit) in weights.iter().zip(&sums.per_window) {
        if *w > 0 {
            m.add_weighted(unit, f64::from(*w));
        }
    }
    let t = point_statistics(&m);
    let mut out = vec![
        t.ppl.value,
        t.ppl_teacher.value,
        t.ln_ppl_ratio.value,
        t.ppl_ratio.value,
        t.mean_kld.value,
        t.same_top_p.value,
        t.mean_delta_p.value,
        t.rms_delta_p.value,
        t.probability_loyalty,
        t.negative_flip_rate,
        t.positive_flip_rate,
        t.teacher_accuracy - t.student_accuracy,
    ];
    out.extend(weighted_percentiles(sorted, weights, &fractions()));
    out
}

/// The bootstrap intervals of one student; `None` with no resamples.
pub fn intervals(sums: &Sums, settings: &BootstrapSettings) -> Option<TokenIntervals> {
    if settings.resamples == 0 || sums.per_window.is_empty() {
        return None;
    }
    let mut sorted = sums.kld_values.clone();
    sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let units = sums.per_window.len();
    let scored_units = sums.per_window.iter().filter(|m| m.count > 0.0).count();
    let values: Vec<Vec<f64>> = (0..settings.resamples as u64)
        .into_par_iter()
        .map(|r| {
            let weights: Vec<u32> = (0..units as u32).map(|u| unit_weight(settings.seed, r, u)).collect();
            resample(sums, &sorted, &weights)
        })
        .collect();
    let column = |k: usize| percentile_interval(values.iter().map(|v| v[k]).collect(), settings.confidence);
    let point = sums.finish();
    let half_width = |i: &Option<Interval>, sigma: f64| i.as_ref().filter(|_| sigma > 0.0).map(|i| (i.upper - i.lower) / 2.0 / sigma);
    let mean_kld = column(4);
    let ln_ppl_ratio = column(2);
    Some(TokenIntervals {
        unit: "window".into(),
        units: scored_units,
        resamples: settings.resamples,
        confidence: settings.confidence,
        ppl: column(0),
        ppl_teacher: column(1),
        mean_kld_half_width_in_token_sigmas: half_width(&mean_kld, point.mean_kld.token_sigma),
        ln_ppl_ratio_half_width_in_token_sigmas: half_width(&ln_ppl_ratio, point.ln_ppl_ratio.token_sigma),
        ln_ppl_ratio,
        ppl_ratio: column(3),
        mean_kld,
        same_top_p: column(5),
        mean_delta_p: column(6),
        rms_delta_p: column(7),
        probability_loyalty: column(8),
        negative_flip_rate: column(9),
        positive_flip_rate: column(10),
        accuracy_drop: column(11),
        kld: fractions().iter().enumerate().map(|(i, &f)| (f, column(12 + i))).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// The walk gives exactly the percentiles of the expanded sample.
        #[test]
        fn weighted_percentiles_equal_those_of_the_repeated_values(values in prop::collection::vec(-5.0f64..5.0, 1..60), w in prop::collection::vec(0u32..4, 60), f in prop::collection::vec(0.0f64..=1.0, 1..6)) {
            let units: Vec<u32> = (0..values.len() as u32).map(|i| i % 7).collect();
            let mut sorted: Vec<(f64, u32)> = values.iter().copied().zip(units).collect();
            sorted.sort_by(|a, b| a.0.total_cmp(&b.0));
            let got = weighted_percentiles(&sorted, &w[..7], &f);
            let expanded: Vec<f64> = sorted.iter().flat_map(|&(v, u)| std::iter::repeat_n(v, w[u as usize] as usize)).collect();
            for (g, &f) in got.iter().zip(&f) {
                if expanded.is_empty() {
                    prop_assert!(g.is_nan());
                } else {
                    let want = crate::stats::quantile::quantile_sorted(&expanded, f);
                    prop_assert!((g - want).abs() <= 1e-12, "{g} vs {want} at {f}");
                }
            }
        }
    }
}
