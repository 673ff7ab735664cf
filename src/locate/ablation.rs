//! The action: which nodes to keep in float so the student passes. For a QDQ student, the nodes
//! with the worst local error are bypassed one at a time (the node computes in float again, as
//! `quantize_static(..., nodes_to_exclude=[...])` leaves it) and the student re-run on the sample;
//! then bypasses are added in order of their gain until the target is reached. The result is a
//! `nodes_to_exclude` list and, with `--write-patched`, the patched student.

use super::report::TensorRow;
use crate::data::Batch;
use crate::metrics::divergence::js_distance;
use crate::metrics::probability::{argmax, to_probabilities};
use crate::metrics::{LogBase, OutputKind};
use crate::model::session::SessionSettings;
use crate::model::{Backend, OnnxBackend, Runtime};
use crate::onnx::proto::ModelProto;
use crate::onnx::rewrite::{bypass, encode};
pub use crate::plan::locate::{AblationMetric, Target};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Loyalty {
    pub label_loyalty: f64,
    pub probability_loyalty: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Bypass {
    /// The student's node computing in float again.
    pub node: String,
    /// The teacher's node it stands for (what `nodes_to_exclude` names).
    pub teacher_node: String,
    pub op_type: String,
    pub tensor: String,
    pub local_sqnr_db: f64,
    pub loyalty: Loyalty,
    /// Loyalty with the bypass minus the student's own.
    pub label_gain: f64,
    pub probability_gain: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Ablation {
    pub target_metric: AblationMetric,
    pub target: f64,
    /// The student as it is, on the sample.
    pub student: Loyalty,
    /// One bypass at a time, worst local error first.
    pub bypasses: Vec<Bypass>,
    /// Bypasses added in order of gain until the target was reached (empty when the student
    /// reaches it as it is).
    pub chosen: Vec<String>,
    pub chosen_loyalty: Option<Loyalty>,
    pub reached: bool,
    /// For `onnxruntime.quantization.quantize_static(..., nodes_to_exclude=[...])`.
    pub nodes_to_exclude: Vec<String>,
    /// Where `--write-patched` wrote the student with the chosen bypasses.
    pub patched: Option<PathBuf>,
}

/// What ablation re-runs: the sample's batches and the teacher's probability rows for each.
pub struct Sample {
    pub batches: Vec<(Batch, Vec<Vec<f64>>)>,
    pub student_kind: OutputKind,
    pub js_base: LogBase,
}

/// Everything ablation needs besides the rows.
pub struct Setup<'a> {
    pub runtime: &'a Runtime,
    pub name: &'a str,
    pub student_path: &'a Path,
    pub settings: SessionSettings,
    pub teacher: &'a ModelProto,
    pub student: &'a ModelProto,
    pub sample: &'a Sample,
    /// Float tensors whose QDQ pair also computes a folded Relu (see [`folded_pairs`]).
    pub keep: std::collections::HashSet<String>,
}

/// Student tensors before a QDQ pair that stand for another teacher tensor than the pair's output
/// (the teacher's Add output before a Relu the quantizer folded into the pair): bypassing such a
/// pair would drop the Relu.
pub fn folded_pairs(rows: &[TensorRow]) -> std::collections::HashSet<String> {
    rows.iter()
        .filter_map(|r| r.student_before_qdq.as_ref())
        .filter(|pre| rows.iter().any(|o| o.student_before_qdq.is_none() && &o.student == *pre))
        .cloned()
        .collect()
}

/// Candidate nodes: the student nodes behind the `k` rows with the worst local error, each once,
/// that read a quantize/dequantize pair.
pub fn candidates<'r>(rows: &'r [TensorRow], student: &ModelProto, k: usize) -> Vec<(String, &'r TensorRow)> {
    let mut sorted: Vec<&'r TensorRow> = rows.iter().filter(|r| r.local.is_some()).collect();
    sorted
        .sort_by(|a, b| a.local.as_ref().map(|l| l.sqnr_db).unwrap_or(f64::INFINITY).total_cmp(&b.local.as_ref().map(|l| l.sqnr_db).unwrap_or(f64::INFINITY)));
    let nodes = student.graph.as_ref().map(|g| g.node.as_slice()).unwrap_or(&[]);
    let mut chosen: Vec<(String, &'r TensorRow)> = Vec::new();
    for row in sorted {
        let tensor = row.student_before_qdq.as_deref().unwrap_or(&row.student);
        let Some(node) = nodes.iter().find(|n| n.output.iter().any(|o| o == tensor)) else { continue };
        let name = node.name.clone().unwrap_or_default();
        let reads_pair = node.input.iter().any(|i| nodes.iter().any(|p| p.op_type.as_deref() == Some("DequantizeLinear") && p.output.iter().any(|o| o == i)));
        if name.is_empty() || !reads_pair || chosen.iter().any(|(n, _)| *n == name) {
            continue;
        }
        chosen.push((name, row));
        if chosen.len() == k {
            break;
        }
    }
    chosen
}

/// Runs the bypasses and the greedy set.
pub fn ablate(setup: &Setup, rows: &[TensorRow], k: usize, target: Target, student: Loyalty, write_patched: Option<&Path>) -> Result<Ablation, String> {
    let mut bypasses = Vec::new();
    for (node, row) in candidates(rows, setup.student, k) {
        let loyalty = evaluate(setup, std::slice::from_ref(&node))?;
        bypasses.push(Bypass {
            label_gain: loyalty.label_loyalty - student.label_loyalty,
            probability_gain: loyalty.probability_loyalty - student.probability_loyalty,
            node,
            teacher_node: row.node.clone(),
            op_type: row.op_type.clone(),
            tensor: row.tensor.clone(),
            local_sqnr_db: row.local.as_ref().map_or(f64::NAN, |l| l.sqnr_db),
            loyalty,
        });
    }
    let value = |l: &Loyalty| match target.metric {
        AblationMetric::LabelLoyalty => l.label_loyalty,
        AblationMetric::ProbabilityLoyalty => l.probability_loyalty,
    };
    let mut order: Vec<&Bypass> = bypasses.iter().collect();
    order.sort_by(|a, b| value(&b.loyalty).total_cmp(&value(&a.loyalty)));
    let (mut chosen, mut chosen_loyalty, mut reached) = (Vec::new(), None, value(&student) >= target.at_least);
    for b in order {
        if reached {
            break;
        }
        chosen.push(b.node.clone());
        let l = evaluate(setup, &chosen)?;
        reached = value(&l) >= target.at_least;
        chosen_loyalty = Some(l);
    }
    // quantize_static keeps node names: a student node named as a teacher node is that node.
    let teacher_names: std::collections::HashSet<&str> = setup.teacher.graph.iter().flat_map(|g| &g.node).filter_map(|n| n.name.as_deref()).collect();
    let nodes_to_exclude = chosen
        .iter()
        .filter_map(|n| bypasses.iter().find(|b| &b.node == n))
        .map(|b| if teacher_names.contains(b.node.as_str()) { b.node.clone() } else { b.teacher_node.clone() })
        .collect();
    let mut patched = None;
    if let (Some(path), false) = (write_patched, chosen.is_empty()) {
        let model = bypass(setup.student, setup.teacher, &chosen, &setup.keep)?;
        std::fs::write(path, encode(&model)).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        patched = Some(path.to_path_buf());
    }
    Ok(Ablation { target_metric: target.metric, target: target.at_least, student, bypasses, chosen, chosen_loyalty, reached, nodes_to_exclude, patched })
}

/// The student with `nodes` bypassed, run on the sample in its optimised session.
fn evaluate(setup: &Setup, nodes: &[String]) -> Result<Loyalty, String> {
    let model = bypass(setup.student, setup.teacher, nodes, &setup.keep)?;
    let dir = PatchedFolder::new(setup.student_path, &encode(&model))?;
    let mut backend = OnnxBackend::load(setup.runtime, setup.name, &dir.model, &setup.settings).map_err(|e| e.to_string())?;
    let (mut agree, mut js, mut n) = (0usize, 0.0, 0usize);
    for (batch, teacher) in &setup.sample.batches {
        let scores = backend.predict(batch).map_err(|e| e.to_string())?;
        for (i, (row, t)) in scores.rows().into_iter().zip(teacher).enumerate() {
            let p = to_probabilities(&row.to_vec(), setup.sample.student_kind, i).map_err(|e| format!("{}: {e}", setup.name))?;
            agree += usize::from(argmax(&p) == argmax(t));
            js += js_distance(t, &p, setup.sample.js_base);
            n += 1;
        }
    }
    let n = n.max(1) as f64;
    Ok(Loyalty { label_loyalty: agree as f64 / n, probability_loyalty: 1.0 - js / n })
}

/// A private folder holding a patched model and links to the original's external data files, so
/// the session finds them where the file says; removed when dropped.
struct PatchedFolder {
    dir: PathBuf,
    model: PathBuf,
}

impl PatchedFolder {
    fn new(original: &Path, bytes: &[u8]) -> Result<Self, String> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!("fidelity-locate-{}-{}", std::process::id(), MADE.fetch_add(1, Ordering::Relaxed)));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let folder = Self { model: dir.join("patched.onnx"), dir };
        std::fs::write(&folder.model, bytes).map_err(|e| format!("cannot write {}: {e}", folder.model.display()))?;
        let source_dir = original.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let files = crate::onnx::OnnxGraph::decode(bytes.to_vec()).map(|g| g.external_files()).unwrap_or_default();
        for f in files {
            crate::model::external_data::link_or_copy(&source_dir.join(&f), &folder.dir.join(&f))?;
        }
        Ok(folder)
    }
}

impl Drop for PatchedFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
