//! Which student tensor holds what a teacher tensor holds.
//!
//! In order of trust:
//! - **qdq**: ONNX Runtime's quantizer keeps the float tensor `X` and adds `X → QuantizeLinear →
//!   DequantizeLinear → X_DequantizeLinear_Output` (or, for a graph output, renames the float one
//!   `X_QuantizeLinear_Input` and gives the pair's output the name `X`). The consumers read the
//!   pair's output, so that is the tensor compared with the teacher's `X`; the one before the pair
//!   is kept too (the error the pair itself adds, as `qdq_loss_debug` reports it).
//! - **name**: the student computes a tensor of the same name (pruned students; dynamic
//!   quantization, whose `MatMulInteger` chains end in the original output's name).
//! - **structure**: a node of the same op type whose inputs are already matched to the teacher
//!   node's inputs, position by position (an exporter that renamed its tensors).
//!
//! Nothing is ever paired by position in the file. A student whose layers' weights do not have the
//! teacher's shapes is another network (a distilled one): matching its inside would pair unlike
//! layers that happen to share a name, so only its inputs and its class scores are compared.

use super::graph::GraphView;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

pub const DEQUANT_OUTPUT_SUFFIX: &str = "_DequantizeLinear_Output";
pub const QUANT_INPUT_SUFFIX: &str = "_QuantizeLinear_Input";
pub use crate::onnx::rewrite::WEIGHT_SUFFIX;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    Name,
    Qdq,
    Structure,
}

impl MatchedBy {
    pub fn label(self) -> &'static str {
        match self {
            MatchedBy::Name => "name",
            MatchedBy::Qdq => "qdq",
            MatchedBy::Structure => "structure",
        }
    }
}

/// One teacher tensor and the student's.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorMatch {
    pub teacher: String,
    /// What the student's consumers read (for QDQ, the pair's output).
    pub student: String,
    /// QDQ only: the student's tensor before the QuantizeLinear/DequantizeLinear pair.
    pub student_before_qdq: Option<String>,
    pub by: MatchedBy,
    /// The teacher node producing it (index into the teacher's nodes); `None` for a graph input
    /// the student quantizes.
    pub teacher_node: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Architecture {
    /// The teacher's layers, compressed: inner tensors are matched.
    Same,
    /// Another network: only inputs and class scores are compared.
    Other { reason: String },
}

#[derive(Debug, Clone)]
pub struct Matching {
    /// In the teacher's topological order.
    pub pairs: Vec<TensorMatch>,
    pub architecture: Architecture,
    /// Teacher tensors computed by a node that no student tensor matches.
    pub unmatched_teacher: Vec<String>,
    /// Student tensors in no pair, leaving out quantization internals (below).
    pub unmatched_student: Vec<String>,
    /// Student tensors in no pair made by quantization ops (QuantizeLinear, DequantizeLinear,
    /// DynamicQuantizeLinear, MatMulInteger, ConvInteger, their casts) or from weights alone.
    pub quantization_internal: usize,
}

const QUANTIZATION_OPS: [&str; 6] = ["QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger", "ConvInteger", "QLinearMatMul"];

/// Matches every tensor a teacher node computes to the student's.
pub fn match_tensors(teacher: &GraphView, student: &GraphView) -> Matching {
    let architecture = architecture(teacher, student);
    let (pairs, unmatched_teacher) = if architecture == Architecture::Same {
        Matcher::new(teacher, student).run()
    } else {
        (vec![], teacher.nodes.iter().flat_map(|n| n.outputs.iter().filter(|o| !o.is_empty()).cloned()).collect())
    };
    let (unmatched_student, quantization_internal) = student_leftovers(student, &pairs);
    Matching { pairs, architecture, unmatched_teacher, unmatched_student, quantization_internal }
}

fn architecture(teacher: &GraphView, student: &GraphView) -> Architecture {
    if teacher.weight_shapes() == student.weight_shapes() {
        return Architecture::Same;
    }
    Architecture::Other {
        reason: format!(
            "its layers' weights have other shapes than the teacher's ({} weight tensors against {}): another network, so only inputs and class scores are compared",
            student.weight_shapes().len(),
            teacher.weight_shapes().len()
        ),
    }
}

/// Matching state while the teacher's nodes are walked in order.
struct Matcher<'g> {
    teacher: &'g GraphView,
    student: &'g GraphView,
    student_producers: HashMap<&'g str, usize>,
    /// Student tensor -> teacher tensor, for structure matching; graph inputs match by name.
    to_teacher: HashMap<String, String>,
    teacher_constants: HashSet<String>,
    student_constants: HashSet<String>,
    used_student_nodes: HashSet<usize>,
    pairs: Vec<TensorMatch>,
}

impl<'g> Matcher<'g> {
    fn new(teacher: &'g GraphView, student: &'g GraphView) -> Self {
        Self {
            teacher,
            student,
            student_producers: student.producers(),
            to_teacher: student.inputs.iter().filter(|i| teacher.inputs.contains(i)).map(|i| (i.clone(), i.clone())).collect(),
            teacher_constants: teacher.constants(),
            student_constants: student.constants(),
            used_student_nodes: HashSet::new(),
            pairs: Vec::new(),
        }
    }

    fn produced_by(&self, name: &str, op: &str) -> bool {
        self.student_producers.get(name).is_some_and(|&i| self.student.nodes[i].op_type == op)
    }

    fn run(mut self) -> (Vec<TensorMatch>, Vec<String>) {
        // Graph inputs the student quantizes first: their pair's error is the first the data meets.
        for input in self.teacher.inputs.iter().filter(|i| self.student.inputs.contains(i)) {
            let post = format!("{input}{DEQUANT_OUTPUT_SUFFIX}");
            if self.produced_by(&post, "DequantizeLinear") {
                self.push(TensorMatch {
                    teacher: input.clone(),
                    student: post,
                    student_before_qdq: Some(input.clone()),
                    by: MatchedBy::Qdq,
                    teacher_node: None,
                });
            }
        }
        let mut unmatched = Vec::new();
        for (index, node) in self.teacher.nodes.iter().enumerate() {
            let missing: Vec<String> = node.outputs.iter().filter(|o| !o.is_empty()).filter(|t| !self.by_name(t, index)).cloned().collect();
            if !missing.is_empty() && !self.by_structure(index, &missing) {
                unmatched.extend(missing);
            }
        }
        (self.pairs, unmatched)
    }

    fn push(&mut self, m: TensorMatch) {
        self.to_teacher.insert(m.student.clone(), m.teacher.clone());
        if let Some(pre) = &m.student_before_qdq {
            self.to_teacher.insert(pre.clone(), m.teacher.clone());
        }
        if let Some(&i) = self.student_producers.get(m.student_before_qdq.as_deref().unwrap_or(&m.student)) {
            self.used_student_nodes.insert(i);
        }
        self.pairs.push(m);
    }

    /// QDQ naming, then the same name; false when neither finds the tensor.
    fn by_name(&mut self, t: &str, index: usize) -> bool {
        let qdq = [format!("{t}{DEQUANT_OUTPUT_SUFFIX}"), format!("{t}{DEQUANT_OUTPUT_SUFFIX}_1")]
            .into_iter()
            .find(|post| self.produced_by(post, "DequantizeLinear"))
            .map(|post| (post, self.student_producers.contains_key(t).then(|| t.to_string())))
            .or_else(|| {
                let pre = format!("{t}{QUANT_INPUT_SUFFIX}");
                (self.produced_by(t, "DequantizeLinear") && self.student_producers.contains_key(pre.as_str())).then(|| (t.to_string(), Some(pre)))
            });
        let found = match qdq {
            Some((post, pre)) => TensorMatch { teacher: t.into(), student: post, student_before_qdq: pre, by: MatchedBy::Qdq, teacher_node: Some(index) },
            None if self.student_producers.contains_key(t) => {
                TensorMatch { teacher: t.into(), student: t.into(), student_before_qdq: None, by: MatchedBy::Name, teacher_node: Some(index) }
            }
            None => return false,
        };
        self.push(found);
        true
    }

    /// The same op over the matched counterparts of the node's inputs, position by position.
    fn by_structure(&mut self, index: usize, missing: &[String]) -> bool {
        let node = &self.teacher.nodes[index];
        let corresponds = |s: &str, t: &str| {
            if self.teacher_constants.contains(t) {
                self.student_constants.contains(s)
            } else {
                self.to_teacher.get(s).is_some_and(|m| m == t)
            }
        };
        let candidate = self.student.nodes.iter().enumerate().find(|(i, s)| {
            !self.used_student_nodes.contains(i)
                && s.op_type == node.op_type
                && s.inputs.len() == node.inputs.len()
                && s.outputs.len() == node.outputs.len()
                && node.inputs.iter().zip(&s.inputs).all(|(t, s)| t.is_empty() == s.is_empty() && (t.is_empty() || corresponds(s, t)))
        });
        let Some((i, s)) = candidate else { return false };
        self.used_student_nodes.insert(i);
        for (t, st) in node.outputs.iter().zip(&s.outputs).filter(|(t, _)| missing.contains(t)) {
            self.push(TensorMatch { teacher: t.clone(), student: st.clone(), student_before_qdq: None, by: MatchedBy::Structure, teacher_node: Some(index) });
        }
        true
    }
}

fn student_leftovers(student: &GraphView, pairs: &[TensorMatch]) -> (Vec<String>, usize) {
    let used: HashSet<&str> = pairs.iter().flat_map(|p| std::iter::once(p.student.as_str()).chain(p.student_before_qdq.as_deref())).collect();
    let constants = student.constants();
    let mut internal: HashSet<&str> = HashSet::new();
    let mut leftovers = Vec::new();
    for n in &student.nodes {
        let quantizing = QUANTIZATION_OPS.contains(&n.op_type.as_str())
            || (n.op_type == "Cast" && n.inputs.first().is_some_and(|i| internal.contains(i.as_str())))
            || n.inputs.iter().filter(|i| !i.is_empty()).all(|i| internal.contains(i.as_str()) || constants.contains(i));
        for o in n.outputs.iter().filter(|o| !o.is_empty()) {
            if quantizing && !used.contains(o.as_str()) {
                internal.insert(o);
            }
            if !used.contains(o.as_str()) && !quantizing {
                leftovers.push(o.clone());
            }
        }
    }
    let internal_unused = internal.iter().filter(|o| !used.contains(*o)).count();
    (leftovers, internal_unused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn graph(path: &str) -> GraphView {
        let bytes = std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(path)).unwrap();
        GraphView::of(&crate::onnx::proto::ModelProto::decode(bytes.as_slice()).unwrap())
    }

    fn pair<'m>(m: &'m Matching, teacher: &str) -> Option<&'m TensorMatch> {
        m.pairs.iter().find(|p| p.teacher == teacher)
    }

    #[test]
    fn qdq_students_match_through_their_pairs() {
        let m = match_tensors(&graph("adult/teacher.onnx"), &graph("locate/adult-qdq.onnx"));
        assert_eq!(m.architecture, Architecture::Same);
        let features = pair(&m, "features").unwrap();
        assert_eq!((features.student.as_str(), features.teacher_node), ("features_DequantizeLinear_Output", None), "the input's own pair");
        let mm2 = pair(&m, "mm2").unwrap();
        assert_eq!((mm2.student.as_str(), mm2.student_before_qdq.as_deref(), mm2.by), ("mm2_DequantizeLinear_Output", Some("mm2"), MatchedBy::Qdq));
        // The graph output: the float tensor was renamed, the pair's output took the name.
        let logits = pair(&m, "logits").unwrap();
        assert_eq!((logits.student.as_str(), logits.student_before_qdq.as_deref()), ("logits", Some("logits_QuantizeLinear_Input")));
        // The quantizer folded Relu into the pair: the teacher's Add output z1 is the student's
        // tensor before h1's pair, found by structure (an Add over matched inputs).
        let z1 = pair(&m, "z1").unwrap();
        assert_eq!((z1.student.as_str(), z1.by), ("h1", MatchedBy::Structure));
        assert!(m.unmatched_teacher.is_empty(), "{:?}", m.unmatched_teacher);
        assert!(m.unmatched_student.is_empty(), "{:?}", m.unmatched_student);
        assert!(m.quantization_internal > 0);
    }

    #[test]
    fn dynamic_int8_matches_by_name_and_hides_its_integer_chain() {
        let m = match_tensors(&graph("adult/teacher.onnx"), &graph("adult/int8.onnx"));
        assert_eq!(m.architecture, Architecture::Same);
        assert_eq!(m.pairs.len(), 8, "dynamic quantization quantizes inputs inside the graph: no input pair");
        assert!(m.pairs.iter().all(|p| p.by == MatchedBy::Name && p.teacher == p.student));
        assert!(m.unmatched_teacher.is_empty() && m.unmatched_student.is_empty(), "{:?}", m.unmatched_student);
    }

    #[test]
    fn renamed_tensors_match_by_structure_and_other_networks_do_not_match() {
        let teacher = graph("adult/teacher.onnx");
        let mut renamed = teacher.clone();
        let rename = |s: &mut String| {
            if !s.is_empty() && !renamed_keep(s) {
                *s = format!("x/{s}");
            }
        };
        for n in &mut renamed.nodes {
            n.inputs.iter_mut().for_each(rename);
            n.outputs.iter_mut().for_each(rename);
        }
        let m = match_tensors(&teacher, &renamed);
        assert_eq!(m.pairs.len(), 8);
        assert!(m.pairs.iter().all(|p| p.by == MatchedBy::Structure && p.student == format!("x/{}", p.teacher)));
        let other = match_tensors(&teacher, &graph("adult/distilled.onnx"));
        assert!(matches!(other.architecture, Architecture::Other { .. }));
        assert!(other.pairs.is_empty(), "mm1, z1, h1 share names but not layers");
    }

    /// Inputs and weights keep their names in the renamed copy.
    fn renamed_keep(s: &str) -> bool {
        s == "features" || s.starts_with('W') || s.starts_with('b')
    }
}
