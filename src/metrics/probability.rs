//! From raw model outputs to probability rows.
//!
//! A classifier's ONNX graph ends either in logits or in probabilities (a Softmax node). fidelity
//! detects which (every row non-negative and summing to 1 within [`SUM_TOLERANCE`]) unless told, then
//! works in f64: a numerically stable softmax for logits, a renormalisation for probabilities (as
//! scipy's `jensenshannon` renormalises its inputs).

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// How far from 1 a row of a probability output may sum (float32 softmax rounding is ~1e-7 per entry).
pub const SUM_TOLERANCE: f64 = 1e-4;

/// What a model's output rows are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputKind {
    Logits,
    Probabilities,
}

#[derive(Debug, Error, PartialEq)]
pub enum ProbabilityError {
    #[error("output row {row} holds a non-finite value ({value})")]
    NonFinite { row: usize, value: f32 },
    #[error(
        "output row {row} is not a probability row (sums to {sum}, smallest entry {min}); \
         the model was taken to output probabilities: pass `--outputs logits` if it outputs logits"
    )]
    NotProbabilities { row: usize, sum: f64, min: f64 },
}

/// Index of the largest entry; ties go to the lowest index (as `numpy.argmax`).
pub fn argmax(row: &[f64]) -> usize {
    let mut best = 0;
    for (i, &x) in row.iter().enumerate().skip(1) {
        if x > row[best] {
            best = i;
        }
    }
    best
}

/// Numerically stable softmax in f64: exp(x − max) / Σ exp(x − max).
pub fn softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x as f64));
    let exps: Vec<f64> = logits.iter().map(|&x| (x as f64 - max).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.into_iter().map(|e| e / sum).collect()
}

fn is_probability_row(row: &[f32]) -> bool {
    let sum: f64 = row.iter().map(|&x| x as f64).sum();
    row.iter().all(|&x| x >= 0.0) && (sum - 1.0).abs() <= SUM_TOLERANCE
}

/// Detects the output kind from a batch of rows: probabilities when every row is a probability row.
pub fn detect_output_kind<'a>(mut rows: impl Iterator<Item = &'a [f32]>) -> OutputKind {
    if rows.all(is_probability_row) {
        OutputKind::Probabilities
    } else {
        OutputKind::Logits
    }
}

/// Converts one output row into a probability row that sums to 1 in f64.
///
/// `row_index` only labels errors. Non-finite outputs are always an error: metrics are never
/// computed on NaN.
pub fn to_probabilities(row: &[f32], kind: OutputKind, row_index: usize) -> Result<Vec<f64>, ProbabilityError> {
    if let Some(&value) = row.iter().find(|x| !x.is_finite()) {
        return Err(ProbabilityError::NonFinite { row: row_index, value });
    }
    match kind {
        OutputKind::Logits => Ok(softmax(row)),
        OutputKind::Probabilities => {
            let sum: f64 = row.iter().map(|&x| x as f64).sum();
            let min = row.iter().fold(f64::INFINITY, |m, &x| m.min(x as f64));
            if min < 0.0 || (sum - 1.0).abs() > SUM_TOLERANCE {
                return Err(ProbabilityError::NotProbabilities { row: row_index, sum, min });
            }
            Ok(row.iter().map(|&x| x as f64 / sum).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use proptest::prelude::*;

    #[test]
    fn softmax_matches_hand_values_and_survives_huge_logits() {
        let p = softmax(&[0.0, 0.0, 2f32.ln()]);
        // exp(0), exp(0), exp(ln 2) -> 1, 1, 2 over 4
        assert_abs_diff_eq!(p[0], 0.25, epsilon = 1e-7);
        assert_abs_diff_eq!(p[2], 0.5, epsilon = 1e-7);
        let big = softmax(&[1000.0, 1000.0, -1000.0]);
        assert_abs_diff_eq!(big[0], 0.5, epsilon = 1e-15);
        assert_eq!(big[2], 0.0);
    }

    #[test]
    fn argmax_breaks_ties_to_the_lowest_index() {
        assert_eq!(argmax(&[0.2, 0.4, 0.4]), 1);
        assert_eq!(argmax(&[0.5, 0.5]), 0);
        assert_eq!(argmax(&[0.1, 0.2, 0.7]), 2);
    }

    #[test]
    fn detects_probabilities_and_logits() {
        let probs: Vec<Vec<f32>> = vec![vec![0.2, 0.8], vec![1.0, 0.0]];
        assert_eq!(detect_output_kind(probs.iter().map(|r| r.as_slice())), OutputKind::Probabilities);
        let logits: Vec<Vec<f32>> = vec![vec![0.2, 0.8], vec![-1.0, 3.0]];
        assert_eq!(detect_output_kind(logits.iter().map(|r| r.as_slice())), OutputKind::Logits);
    }

    #[test]
    fn non_finite_and_invalid_rows_are_errors() {
        assert!(matches!(to_probabilities(&[f32::NAN, 1.0], OutputKind::Logits, 7), Err(ProbabilityError::NonFinite { row: 7, .. })));
        assert!(matches!(to_probabilities(&[0.7, 0.7], OutputKind::Probabilities, 3), Err(ProbabilityError::NotProbabilities { row: 3, .. })));
    }

    proptest! {
        #[test]
        fn softmax_is_a_distribution_and_keeps_the_argmax(
            logits in proptest::collection::vec(-50.0f32..50.0, 2..10)
        ) {
            let p = softmax(&logits);
            prop_assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
            prop_assert!(p.iter().all(|&x| (0.0..=1.0).contains(&x)));
            let as_f64: Vec<f64> = logits.iter().map(|&x| x as f64).collect();
            prop_assert_eq!(argmax(&p), argmax(&as_f64));
        }

        #[test]
        fn softmax_is_shift_invariant(
            logits in proptest::collection::vec(-20.0f32..20.0, 2..6), shift in -20.0f32..20.0
        ) {
            let shifted: Vec<f32> = logits.iter().map(|x| x + shift).collect();
            for (a, b) in softmax(&logits).iter().zip(softmax(&shifted)) {
                prop_assert!((a - b).abs() < 1e-5);
            }
        }
    }
}
