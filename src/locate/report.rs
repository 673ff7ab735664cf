//! The locate report: one row per matched tensor in the teacher's topological order, and what is
//! derived from the rows (the first divergent tensor, error gains, totals by op type). Every
//! writer (terminal, JSON) renders this model.

use super::matching::{Architecture, MatchedBy};
use super::tensor_error::TensorError;
use super::track::{ExamplePercentiles, OutcomeTie};
use super::weights::WeightComparison;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LocateReport {
    pub fidelity_version: String,
    pub teacher: ModelRef,
    pub student: ModelRef,
    pub data: LocateData,
    /// ONNX Runtime version, and how the tensors were read.
    pub onnxruntime: String,
    pub graphs: String,
    pub architecture: Architecture,
    /// Cumulative SQNR below this is divergent.
    pub threshold_db: f64,
    /// The first row (topological order) whose cumulative SQNR is below the threshold.
    pub first_divergent: Option<String>,
    pub tensors: Vec<TensorRow>,
    /// The class probabilities both models output (from their optimised sessions, as `compare`
    /// runs them), compared like a tensor.
    pub probabilities: OutputsRow,
    pub unmatched: Unmatched,
    pub weights: Vec<WeightComparison>,
    pub by_op_type: Vec<OpTotals>,
    /// `--ablate K` on a QDQ student: bypasses and the set that reaches `--target`.
    pub ablation: Option<super::ablation::Ablation>,
    pub notes: Vec<String>,
    pub seconds: f64,
    /// Peak resident memory of the process, when the platform says.
    pub peak_memory_bytes: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ModelRef {
    pub name: String,
    pub path: PathBuf,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LocateData {
    pub path: PathBuf,
    pub rows: usize,
    pub seed: u64,
    pub batch_size: usize,
    /// The sampled rows (0-based data rows), batch by batch, as they were run.
    pub batches: Vec<Vec<usize>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TensorRow {
    /// The teacher's tensor.
    pub tensor: String,
    /// The student's tensor compared with it (what the student's consumers read).
    pub student: String,
    /// QDQ only: the student's tensor before its quantize/dequantize pair.
    pub student_before_qdq: Option<String>,
    pub node: String,
    pub op_type: String,
    pub matched_by: MatchedBy,
    /// Position in the teacher's topological order (node index).
    pub depth: usize,
    /// Student tensor against the teacher's, both models on the same inputs.
    pub cumulative: TensorError,
    /// The error the node adds itself: the student's node fed the teacher's tensors.
    pub local: Option<TensorError>,
    /// QDQ only: the pair's own error (before against after), `qdq_loss_debug`'s `qdq_err`.
    pub qdq: Option<TensorError>,
    /// Relative L2 error out / the worst relative L2 error of the node's matched inputs: above 1
    /// the node amplifies what it inherits. `None` when its inputs carry no error.
    pub gain: Option<f64>,
    pub per_example_sqnr_db: Option<ExamplePercentiles>,
    pub outcome: Option<OutcomeTie>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OutputsRow {
    pub examples: usize,
    /// Examples whose predicted label differs.
    pub flips: usize,
    pub label_loyalty: f64,
    /// Mean Jensen–Shannon distance (in `compare`'s base, `--js-base`) and 1 − that.
    pub mean_js_distance: f64,
    pub probability_loyalty: f64,
    pub error: TensorError,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Unmatched {
    pub teacher: Vec<String>,
    pub student: Vec<String>,
    /// Student tensors made by quantization ops, in no pair (expected).
    pub quantization_internal: usize,
    /// Matched tensors that are not floating point (shapes, indices): not compared.
    pub not_float: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OpTotals {
    pub op_type: String,
    pub tensors: usize,
    /// Lowest local SQNR among them (cumulative where no local error was measured).
    pub worst_local_sqnr_db: Option<f64>,
    pub mean_local_sqnr_db: Option<f64>,
}

impl LocateReport {
    /// Rows by local SQNR, worst first (rows without a local measurement left out).
    pub fn worst_local(&self, k: usize) -> Vec<&TensorRow> {
        let mut rows: Vec<&TensorRow> = self.tensors.iter().filter(|r| r.local.is_some()).collect();
        rows.sort_by(|a, b| local_db(a).total_cmp(&local_db(b)));
        rows.truncate(k);
        rows
    }
}

fn local_db(r: &TensorRow) -> f64 {
    r.local.as_ref().map_or(f64::INFINITY, |l| l.sqnr_db)
}

/// The first row whose cumulative SQNR is below `threshold_db`.
pub fn first_divergent(rows: &[TensorRow], threshold_db: f64) -> Option<String> {
    rows.iter().find(|r| r.cumulative.sqnr_db < threshold_db).map(|r| r.tensor.clone())
}

/// Totals per op type, in order of first appearance.
pub fn by_op_type(rows: &[TensorRow]) -> Vec<OpTotals> {
    let mut order: Vec<String> = Vec::new();
    for r in rows {
        if !order.contains(&r.op_type) {
            order.push(r.op_type.clone());
        }
    }
    order
        .into_iter()
        .map(|op| {
            let values: Vec<f64> = rows.iter().filter(|r| r.op_type == op).map(|r| r.local.as_ref().unwrap_or(&r.cumulative).sqnr_db).collect();
            let finite: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
            OpTotals {
                tensors: values.len(),
                worst_local_sqnr_db: finite.iter().copied().reduce(f64::min),
                mean_local_sqnr_db: (!finite.is_empty()).then(|| finite.iter().sum::<f64>() / finite.len() as f64),
                op_type: op,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(tensor: &str, op: &str, cumulative: f64, local: Option<f64>) -> TensorRow {
        let e = |db: f64| TensorError { sqnr_db: db, relative_l2: Some(10f64.powf(-db / 20.0)), cosine: None, max_abs_diff: 0.0, elements: 1, nan: 0, inf: 0 };
        TensorRow {
            tensor: tensor.into(),
            student: tensor.into(),
            student_before_qdq: None,
            node: tensor.into(),
            op_type: op.into(),
            matched_by: MatchedBy::Name,
            depth: 0,
            cumulative: e(cumulative),
            local: local.map(e),
            qdq: None,
            gain: None,
            per_example_sqnr_db: None,
            outcome: None,
        }
    }

    #[test]
    fn first_divergent_is_the_first_below_the_threshold_and_totals_go_by_op() {
        let rows = [row("a", "MatMul", 45.0, Some(45.0)), row("b", "Add", 31.0, Some(50.0)), row("c", "MatMul", 12.0, Some(13.0)), row("d", "Add", 5.0, None)];
        assert_eq!(first_divergent(&rows, 30.0).as_deref(), Some("c"));
        assert_eq!(first_divergent(&rows, 4.0), None);
        let totals = by_op_type(&rows);
        assert_eq!(totals.iter().map(|t| t.op_type.as_str()).collect::<Vec<_>>(), ["MatMul", "Add"]);
        assert_eq!(totals[0].worst_local_sqnr_db, Some(13.0));
        assert_eq!(totals[1].worst_local_sqnr_db, Some(5.0), "cumulative where no local error");
    }
}
