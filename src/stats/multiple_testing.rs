//! Multiple-testing control across subgroups, as `statsmodels.stats.multitest.multipletests`
//! computes adjusted p-values (`method='holm'` and `method='fdr_bh'`).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Correction {
    /// Holm–Bonferroni: controls the family-wise error rate.
    #[default]
    Holm,
    /// Benjamini–Hochberg: controls the false discovery rate.
    #[value(name = "bh")]
    #[serde(rename = "bh")]
    BenjaminiHochberg,
}

impl Correction {
    pub fn adjust(self, p: &[f64]) -> Vec<f64> {
        match self {
            Correction::Holm => holm(p),
            Correction::BenjaminiHochberg => benjamini_hochberg(p),
        }
    }
}

fn ascending_order(p: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..p.len()).collect();
    order.sort_by(|&a, &b| p[a].total_cmp(&p[b]).then(a.cmp(&b)));
    order
}

/// Holm step-down adjusted p-values, in input order.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut adjusted = vec![0.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in ascending_order(p).iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

/// Benjamini–Hochberg step-up adjusted p-values, in input order.
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut adjusted = vec![0.0; m];
    let mut running = 1.0f64;
    let order = ascending_order(p);
    for (rank, &i) in order.iter().enumerate().rev() {
        running = running.min((m as f64 / (rank + 1) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const P: [f64; 5] = [0.01, 0.04, 0.03, 0.005, 0.5];

    #[test]
    fn holm_matches_statsmodels() {
        // multipletests([0.01, 0.04, 0.03, 0.005, 0.5], method='holm')[1]
        let expected = [0.04, 0.09, 0.09, 0.025, 0.5];
        for (a, e) in holm(&P).iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{a} vs {e}");
        }
    }

    #[test]
    fn bh_matches_statsmodels() {
        // multipletests([0.01, 0.04, 0.03, 0.005, 0.5], method='fdr_bh')[1]
        let expected = [0.025, 0.05, 0.05, 0.025, 0.5];
        for (a, e) in benjamini_hochberg(&P).iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{a} vs {e}");
        }
    }

    proptest! {
        #[test]
        fn adjusted_values_are_bounded_and_ordered(p in proptest::collection::vec(0.0f64..1.0, 1..30)) {
            let h = holm(&p);
            let b = benjamini_hochberg(&p);
            for i in 0..p.len() {
                prop_assert!(h[i] >= p[i] - 1e-15 && h[i] <= 1.0);
                prop_assert!(b[i] >= p[i] - 1e-15 && b[i] <= h[i] + 1e-12);
            }
        }
    }
}
