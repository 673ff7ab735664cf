//! From raw model outputs to probability rows.
//!
//! A classifier's ONNX graph ends either in logits or in probabilities (a Softmax node). fidelity
//! detects which (every row non-negative and summing to 1 within [`SUM_TOLERANCE`]) unless told, then
//! works in f64: a numerically stable softmax for logits, a renormalisation for probabilities (as
//! scipy's `jensenshannon` renormalises its inputs).
//!
//! A binary classifier with one output column (the sigmoid head of Keras and many PyTorch models)
//! becomes a two-class row: a logit `z` becomes `softmax([0, z]) = [1 − σ(z), σ(z)]`, a probability
//! `p` becomes `[1 − p, p]`, both in f64, so it compares with a two-class teacher. A label-only model
//! arrives as one-hot rows ([`OutputKind::Labels`]): its labels count, its "probabilities" do not.

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
    /// Class labels only (one-hot rows): label metrics hold, probability metrics are not available.
    Labels,
}

impl OutputKind {
    /// Whether the rows carry the model's probabilities (not only its labels).
    pub fn has_probabilities(self) -> bool {
        self != Self::Labels
    }
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
    #[error(
        "output row {row} holds {value}, not a probability in [0, 1]; the one-column output was taken \
         to be a probability: pass `--outputs logits` if it is a logit"
    )]
    NotProbability { row: usize, value: f32 },
    #[error("output row {row} is empty")]
    Empty { row: usize },
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
    if let [p] = row {
        return (0.0..=1.0).contains(p);
    }
    let sum: f64 = row.iter().map(|&x| x as f64).sum();
    row.iter().all(|&x| x >= 0.0) && (sum - 1.0).abs() <= SUM_TOLERANCE
}

/// Detects the output kind from a batch of rows: probabilities when every row is a probability row
/// (for one column: every value in [0, 1]). `graph` is what the graph says, when it says it: a
/// one-column output computed by a Sigmoid is a probability, one computed by a linear op a logit,
/// whatever the values of one batch (a logit head can output values in [0, 1] by chance).
pub fn detect_output_kind<'a>(rows: impl Iterator<Item = &'a [f32]>, graph: Option<OutputKind>) -> OutputKind {
    let mut rows = rows.peekable();
    if let (Some(kind), Some([_])) = (graph, rows.peek()) {
        return kind;
    }
    if rows.all(is_probability_row) {
        OutputKind::Probabilities
    } else {
        OutputKind::Logits
    }
}

/// What the op computing a one-column output says about it: Sigmoid (or Softmax) → probability; an
/// op that ends a linear layer → logit; anything else → nothing (the values decide).
pub fn kind_from_producer(op: Option<&str>) -> Option<OutputKind> {
    match op? {
        "Sigmoid" | "Softmax" | "HardSigmoid" => Some(OutputKind::Probabilities),
        "Gemm" | "MatMul" | "Add" | "Conv" | "MatMulInteger" | "QGemm" | "QLinearMatMul" | "MatMulIntegerToFloat" | "DynamicQuantizeMatMul" => {
            Some(OutputKind::Logits)
        }
        _ => None,
    }
}

/// Converts one output row into a probability row that sums to 1 in f64 (two entries for a
/// one-column row).
///
/// `row_index` only labels errors. Non-finite outputs are always an error: metrics are never
/// computed on NaN.
pub fn to_probabilities(row: &[f32], kind: OutputKind, row_index: usize) -> Result<Vec<f64>, ProbabilityError> {
    if let Some(&value) = row.iter().find(|x| !x.is_finite()) {
        return Err(ProbabilityError::NonFinite { row: row_index, value });
    }
    match (kind, row) {
        (_, []) => Err(ProbabilityError::Empty { row: row_index }),
        (OutputKind::Logits, &[z]) => Ok(softmax(&[0.0, z])),
        (OutputKind::Probabilities | OutputKind::Labels, &[p]) => {
            if !(0.0..=1.0).contains(&p) {
                return Err(ProbabilityError::NotProbability { row: row_index, value: p });
            }
            Ok(vec![1.0 - p as f64, p as f64])
        }
        (OutputKind::Logits, _) => Ok(softmax(row)),
        (OutputKind::Probabilities | OutputKind::Labels, _) => {
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
        assert_eq!(detect_output_kind(probs.iter().map(|r| r.as_slice()), None), OutputKind::Probabilities);
        let logits: Vec<Vec<f32>> = vec![vec![0.2, 0.8], vec![-1.0, 3.0]];
        assert_eq!(detect_output_kind(logits.iter().map(|r| r.as_slice()), None), OutputKind::Logits);
        // A graph hint never overrides the sums of a multi-column output.
        assert_eq!(detect_output_kind(logits.iter().map(|r| r.as_slice()), Some(OutputKind::Probabilities)), OutputKind::Logits);
    }

    #[test]
    fn one_column_outputs_are_binary_logits_or_probabilities() {
        let in_range: Vec<Vec<f32>> = vec![vec![0.2], vec![0.9]];
        let rows = || in_range.iter().map(|r| r.as_slice());
        assert_eq!(detect_output_kind(rows(), None), OutputKind::Probabilities);
        // A linear head's logits that happen to lie in [0, 1] are still logits.
        assert_eq!(detect_output_kind(rows(), kind_from_producer(Some("Gemm"))), OutputKind::Logits);
        assert_eq!(detect_output_kind(rows(), kind_from_producer(Some("Sigmoid"))), OutputKind::Probabilities);
        let wide: Vec<Vec<f32>> = vec![vec![-2.0], vec![0.5]];
        assert_eq!(detect_output_kind(wide.iter().map(|r| r.as_slice()), None), OutputKind::Logits);
        // z -> [1 - sigmoid(z), sigmoid(z)]; p -> [1 - p, p], in f64.
        let z = 1.5f32;
        let sigmoid = 1.0 / (1.0 + (-(z as f64)).exp());
        let p = to_probabilities(&[z], OutputKind::Logits, 0).unwrap();
        assert_abs_diff_eq!(p[1], sigmoid, epsilon = 1e-15);
        assert_abs_diff_eq!(p[0], 1.0 - sigmoid, epsilon = 1e-15);
        let q = to_probabilities(&[0.1], OutputKind::Probabilities, 0).unwrap();
        assert_eq!(q, vec![1.0 - 0.1f32 as f64, 0.1f32 as f64]);
        let e = to_probabilities(&[1.5], OutputKind::Probabilities, 4).unwrap_err();
        assert_eq!(e, ProbabilityError::NotProbability { row: 4, value: 1.5 });
        assert!(e.to_string().contains("--outputs logits"));
        assert_eq!(to_probabilities(&[], OutputKind::Logits, 2), Err(ProbabilityError::Empty { row: 2 }));
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
        fn a_binary_logit_is_a_two_class_logit_against_zero(z in -40.0f32..40.0) {
            let one = to_probabilities(&[z], OutputKind::Logits, 0).unwrap();
            let two = to_probabilities(&[0.0, z], OutputKind::Logits, 0).unwrap();
            prop_assert_eq!(&one, &two);
            prop_assert!((one[1] - 1.0 / (1.0 + (-(z as f64)).exp())).abs() < 1e-15);
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
