//! Quantiles of a sample, with numpy's default ("linear") interpolation.

use super::bootstrap::Interval;

/// The two-sided percentile interval of a bootstrap distribution at `confidence` (e.g. 0.95),
/// non-finite values (statistics undefined in a resample) left out; `None` when none is left.
pub fn percentile_interval(mut values: Vec<f64>, confidence: f64) -> Option<Interval> {
    values.retain(|v| v.is_finite());
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let alpha = 1.0 - confidence;
    Some(Interval { lower: quantile_sorted(&values, alpha / 2.0), upper: quantile_sorted(&values, 1.0 - alpha / 2.0) })
}

/// The `q`-quantile (0 ≤ q ≤ 1) of an already sorted, non-empty sample:
/// position `q·(n−1)`, interpolated linearly between its neighbours (`numpy.quantile` default).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    debug_assert!(!sorted.is_empty());
    let pos = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_numpy_linear_quantiles() {
        // numpy.quantile([1, 2, 3, 4], [0.025, 0.5, 0.975]) = [1.075, 2.5, 3.925]
        let s = [1.0, 2.0, 3.0, 4.0];
        assert!((quantile_sorted(&s, 0.025) - 1.075).abs() < 1e-12);
        assert!((quantile_sorted(&s, 0.5) - 2.5).abs() < 1e-12);
        assert!((quantile_sorted(&s, 0.975) - 3.925).abs() < 1e-12);
        assert_eq!(quantile_sorted(&[5.0], 0.3), 5.0);
    }
}
