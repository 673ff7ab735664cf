//! McNemar's exact test on paired correctness (teacher vs student on the same examples).
//!
//! Only discordant pairs matter: `b` = teacher right and student wrong, `c` = teacher wrong and
//! student right. Under the null hypothesis (equal accuracy) `b ~ Binomial(b + c, 1/2)`; the
//! two-sided p-value is `min(1, 2 · P(X ≤ min(b, c)))`, 1 when there are no discordant pairs —
//! exactly `statsmodels.stats.contingency_tables.mcnemar(table, exact=True).pvalue`.

/// Exact two-sided McNemar p-value from the two discordant counts.
pub fn mcnemar_exact(b: u64, c: u64) -> f64 {
    let n = b + c;
    if n == 0 {
        return 1.0;
    }
    let k = b.min(c);
    (2.0 * binomial_half_cdf(k, n)).min(1.0)
}

/// P(X ≤ k) for X ~ Binomial(n, 1/2), summed in log space so large n neither overflows nor
/// underflows early.
fn binomial_half_cdf(k: u64, n: u64) -> f64 {
    let ln_half_n = -(n as f64) * std::f64::consts::LN_2;
    // ln C(n, i) built up term by term: C(n, i+1) = C(n, i) · (n − i) / (i + 1).
    let mut ln_choose = 0.0f64;
    let mut terms = Vec::with_capacity(k as usize + 1);
    for i in 0..=k {
        if i > 0 {
            ln_choose += ((n - i + 1) as f64).ln() - (i as f64).ln();
        }
        terms.push(ln_choose + ln_half_n);
    }
    let max = terms.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let sum: f64 = terms.iter().map(|t| (t - max).exp()).sum();
    (max + sum.ln()).exp().min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_statsmodels_values() {
        // statsmodels mcnemar([[0, 10], [2, 0]], exact=True).pvalue = 0.03857421875 (= 2 * 79/4096)
        assert!((mcnemar_exact(10, 2) - 0.03857421875).abs() < 1e-15);
        assert!((mcnemar_exact(2, 10) - 0.03857421875).abs() < 1e-15);
        // equal counts: p = 1
        assert_eq!(mcnemar_exact(5, 5), 1.0);
        assert_eq!(mcnemar_exact(0, 0), 1.0);
        // b = 0, c = 3: 2 * 0.5^3 = 0.25
        assert!((mcnemar_exact(0, 3) - 0.25).abs() < 1e-15);
    }

    #[test]
    fn large_counts_stay_finite_and_tiny() {
        let p = mcnemar_exact(5000, 4000);
        assert!(p > 0.0 && p < 1e-20, "{p}");
        let p = mcnemar_exact(50_000, 50_100);
        assert!(p > 0.7 && p <= 1.0, "{p}");
    }
}
