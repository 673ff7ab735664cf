//! Divergences between two discrete distributions.
//!
//! Conventions follow `scipy.spatial.distance.jensenshannon` and `scipy.stats.entropy`, which the
//! loyalty paper (Xu et al. 2021) used: inputs are probability rows that already sum to 1
//! (see [`super::probability`]), `0 · log 0 = 0`, and the log base is explicit.

use serde::Serialize;

/// The base of the logarithm used for divergences. Natural log by default, as in scipy.
///
/// In base 2 the Jensen–Shannon divergence is bounded by 1; in base e by ln 2.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema, Default)]
#[serde(rename_all = "snake_case")]
pub enum LogBase {
    #[default]
    E,
    Two,
}

impl LogBase {
    /// Divides a natural-log quantity by this to change base.
    fn ln_of_base(self) -> f64 {
        match self {
            LogBase::E => 1.0,
            LogBase::Two => std::f64::consts::LN_2,
        }
    }

    /// The name written in reports: "e" or "2".
    pub fn label(self) -> &'static str {
        match self {
            LogBase::E => "e",
            LogBase::Two => "2",
        }
    }
}

/// `x · ln(x / y)` with scipy's `rel_entr` conventions: 0 when `x == 0`, +∞ when `y == 0 < x`.
fn rel_entr(x: f64, y: f64) -> f64 {
    if x == 0.0 {
        0.0
    } else if y == 0.0 {
        f64::INFINITY
    } else {
        x * (x / y).ln()
    }
}

/// Kullback–Leibler divergence KL(p‖q) in natural log; +∞ when q has a zero where p has mass.
///
/// Equal to `scipy.stats.entropy(p, q)` for rows that sum to 1.
pub fn kl_divergence(p: &[f64], q: &[f64]) -> f64 {
    debug_assert_eq!(p.len(), q.len());
    p.iter().zip(q).map(|(&x, &y)| rel_entr(x, y)).sum()
}

/// Jensen–Shannon divergence in the given base: (KL(p‖m) + KL(q‖m)) / 2 with m = (p + q) / 2.
///
/// Always finite and in [0, log_base(2)]; symmetric; 0 exactly when p == q.
pub fn js_divergence(p: &[f64], q: &[f64], base: LogBase) -> f64 {
    debug_assert_eq!(p.len(), q.len());
    let sum: f64 = p
        .iter()
        .zip(q)
        .map(|(&x, &y)| {
            let m = 0.5 * (x + y);
            rel_entr(x, m) + rel_entr(y, m)
        })
        .sum();
    // Rounding can leave a tiny negative value for (nearly) identical rows; scipy clips the same way
    // before its square root.
    (0.5 * sum / base.ln_of_base()).max(0.0)
}

/// Jensen–Shannon distance: the square root of [`js_divergence`], as scipy's `jensenshannon`
/// returns. Probability loyalty is `1 − js_distance(p_teacher, p_student)`.
pub fn js_distance(p: &[f64], q: &[f64], base: LogBase) -> f64 {
    js_divergence(p, q, base).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use proptest::prelude::*;

    // Values documented in scipy.spatial.distance.jensenshannon's docstring.
    #[test]
    fn matches_scipy_documented_values() {
        assert_abs_diff_eq!(js_distance(&[1.0, 0.0], &[0.5, 0.5], LogBase::E), 0.46450140402245893, epsilon = 1e-15);
        assert_abs_diff_eq!(js_distance(&[1.0, 0.0, 0.0], &[0.0, 1.0, 0.0], LogBase::Two), 1.0, epsilon = 1e-15);
        assert_abs_diff_eq!(js_distance(&[1.0, 0.0, 0.0], &[1.0, 0.0, 0.0], LogBase::Two), 0.0);
    }

    #[test]
    fn kl_matches_hand_computation() {
        // KL([0.5, 0.5] ‖ [0.9, 0.1]) = 0.5 ln(0.5/0.9) + 0.5 ln(0.5/0.1)
        let expected = 0.5 * (0.5f64 / 0.9).ln() + 0.5 * (0.5f64 / 0.1).ln();
        assert_abs_diff_eq!(kl_divergence(&[0.5, 0.5], &[0.9, 0.1]), expected, epsilon = 1e-15);
        assert_eq!(kl_divergence(&[0.5, 0.5], &[1.0, 0.0]), f64::INFINITY);
        assert_eq!(kl_divergence(&[1.0, 0.0], &[0.5, 0.5]), 2f64.ln());
    }

    fn distribution(len: usize) -> impl Strategy<Value = Vec<f64>> {
        proptest::collection::vec(0.0f64..1.0, len).prop_filter_map("all zero", |v| {
            let s: f64 = v.iter().sum();
            (s > 1e-9).then(|| v.iter().map(|x| x / s).collect())
        })
    }

    fn pair() -> impl Strategy<Value = (Vec<f64>, Vec<f64>)> {
        (2usize..8).prop_flat_map(|n| (distribution(n), distribution(n)))
    }

    proptest! {
        #[test]
        fn js_is_symmetric_bounded_and_zero_on_identity((p, q) in pair()) {
            for base in [LogBase::E, LogBase::Two] {
                let d = js_distance(&p, &q, base);
                prop_assert!((d - js_distance(&q, &p, base)).abs() < 1e-12);
                let bound = match base { LogBase::E => 2f64.ln().sqrt(), LogBase::Two => 1.0 };
                prop_assert!((0.0..=bound + 1e-12).contains(&d));
                prop_assert!(js_distance(&p, &p, base) < 1e-7);
            }
        }

        #[test]
        fn base_two_is_base_e_rescaled((p, q) in pair()) {
            let e = js_divergence(&p, &q, LogBase::E);
            let two = js_divergence(&p, &q, LogBase::Two);
            prop_assert!((two * 2f64.ln() - e).abs() < 1e-12);
        }

        #[test]
        fn kl_is_non_negative((p, q) in pair()) {
            prop_assert!(kl_divergence(&p, &q) >= -1e-12);
        }
    }
}
