//! What a graph says about its outputs, for choosing the one to read as class scores: the op that
//! computes each output, the class labels of scikit-learn-style classifiers, and the ZipMap that
//! skl2onnx puts at the end of every classifier by default.
//!
//! A ZipMap turns the probability tensor `X [batch, classes]` into a sequence of maps
//! `{label_j: X[i, j]}`, one per example, with `label_j` from its `classlabels_int64s` or
//! `classlabels_strings` attribute. [`without_zipmap`] removes that node and declares `X` as the
//! graph output instead: ONNX Runtime then returns the same numbers as one tensor, in the order of
//! the ZipMap's keys, instead of a million little maps.

use super::decode::{Graph, Node};
use super::proto;
use prost::Message;
use serde::Serialize;

/// The classes a classifier node or ZipMap names, in output-column order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub enum ClassLabels {
    Ints(Vec<i64>),
    Strings(Vec<String>),
}

impl ClassLabels {
    pub fn len(&self) -> usize {
        match self {
            Self::Ints(v) => v.len(),
            Self::Strings(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The labels as text, in column order.
    pub fn names(&self) -> Vec<String> {
        match self {
            Self::Ints(v) => v.iter().map(i64::to_string).collect(),
            Self::Strings(v) => v.clone(),
        }
    }

    /// Integer labels that are exactly the column indices 0, 1, …, n−1.
    pub fn are_indices(&self) -> bool {
        matches!(self, Self::Ints(v) if v.iter().enumerate().all(|(i, &l)| l == i as i64))
    }
}

/// A ZipMap at the end of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct ZipMap {
    /// The graph output it produces (a sequence of maps).
    pub output: String,
    /// The probability tensor it reads.
    pub input: String,
    pub labels: ClassLabels,
}

/// What the graph says about its outputs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutputFacts {
    /// Per graph output (in graph order): the op that computes it, looking through ops that only
    /// move, reshape or cast values; `None` for an output that is a graph input or initializer.
    pub producers: Vec<(String, Option<String>)>,
    pub zipmap: Option<ZipMap>,
    /// Class labels of the graph's classifier node (or ZipMap), when it has one.
    pub class_labels: Option<ClassLabels>,
}

impl OutputFacts {
    pub fn producer(&self, output: &str) -> Option<&str> {
        self.producers.iter().find(|(name, _)| name == output).and_then(|(_, op)| op.as_deref())
    }
}

/// Ops whose output holds the same numbers as their first input.
const PASS_THROUGH: [&str; 7] = ["Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Cast", "CastLike"];
/// ai.onnx.ml classifiers: they carry their classes as attributes.
const CLASSIFIERS: [&str; 4] = ["LinearClassifier", "SVMClassifier", "TreeEnsembleClassifier", "ZipMap"];

pub(super) fn facts(g: &Graph) -> OutputFacts {
    let producer_of = |name: &str| g.nodes.iter().find(|n| n.outputs.iter().any(|o| o == name));
    let producers = g
        .outputs
        .iter()
        .map(|o| {
            let mut node = producer_of(&o.name);
            // Bounded: a malformed graph with a cycle of Identities must not loop forever.
            for _ in 0..g.nodes.len() {
                match node {
                    Some(n) if PASS_THROUGH.contains(&n.op_type.as_str()) => node = n.input(0).and_then(producer_of),
                    _ => break,
                }
            }
            (o.name.clone(), node.map(|n| n.op_type.clone()))
        })
        .collect();
    let zipmap = g.nodes.iter().filter(|n| n.op_type == "ZipMap").find_map(|n| {
        let output = n.outputs.first().filter(|o| g.outputs.iter().any(|go| &go.name == *o))?;
        Some(ZipMap { output: output.clone(), input: n.input(0)?.to_string(), labels: labels_of(n)? })
    });
    let class_labels = g.nodes.iter().filter(|n| CLASSIFIERS.contains(&n.op_type.as_str())).find_map(labels_of);
    OutputFacts { producers, zipmap, class_labels }
}

fn labels_of(n: &Node) -> Option<ClassLabels> {
    if let Some(a) = n.attr("classlabels_strings").filter(|a| !a.strings.is_empty()) {
        return Some(ClassLabels::Strings(a.strings.clone()));
    }
    ["classlabels_int64s", "classlabels_ints"].iter().find_map(|k| n.attr_ints(k)).map(|v| ClassLabels::Ints(v.to_vec()))
}

/// The model with its final ZipMap removed and the ZipMap's input declared as the graph output
/// (float32 `[batch, classes]`), or `None` when the graph has no ZipMap producing an output.
/// Only the top-level graph changes; every other field of the file is kept as decoded.
pub fn without_zipmap(bytes: &[u8]) -> Result<Option<(Vec<u8>, ZipMap)>, String> {
    // Cheap test first: only skl2onnx-style files pay for a decode here.
    if !bytes.windows(6).any(|w| w == b"ZipMap") {
        return Ok(None);
    }
    let mut model = proto::ModelProto::decode(bytes).map_err(|e| format!("not a readable ONNX model: {e}"))?;
    let Some(graph) = model.graph.as_mut() else { return Ok(None) };
    let is_output = |name: &str, graph: &proto::GraphProto| graph.output.iter().any(|o| o.name.as_deref() == Some(name));
    let Some(index) = graph.node.iter().position(|n| {
        n.op_type.as_deref() == Some("ZipMap") && n.output.first().is_some_and(|o| is_output(o, graph)) && n.input.first().is_some_and(|i| !i.is_empty())
    }) else {
        return Ok(None);
    };
    let node = graph.node.remove(index);
    let attr_strings = |k: &str| node.attribute.iter().find(|a| a.name.as_deref() == Some(k)).map(|a| a.strings.clone());
    let attr_ints = |k: &str| node.attribute.iter().find(|a| a.name.as_deref() == Some(k)).map(|a| a.ints.clone());
    let labels = match (attr_strings("classlabels_strings").filter(|s| !s.is_empty()), attr_ints("classlabels_int64s")) {
        (Some(s), _) => ClassLabels::Strings(s.iter().map(|b| String::from_utf8_lossy(b).into_owned()).collect()),
        (None, Some(i)) if !i.is_empty() => ClassLabels::Ints(i),
        _ => return Err("its ZipMap node names no classes (neither classlabels_int64s nor classlabels_strings)".into()),
    };
    let (output, input) = (node.output[0].clone(), node.input[0].clone());
    let slot = graph.output.iter().position(|o| o.name.as_deref() == Some(output.as_str())).unwrap_or(graph.output.len());
    let declared = graph.value_info.iter().find(|v| v.name.as_deref() == Some(input.as_str())).cloned();
    let tensor = declared.unwrap_or_else(|| float_matrix(&input, labels.len()));
    if slot < graph.output.len() {
        graph.output[slot] = tensor;
    } else {
        graph.output.push(tensor);
    }
    Ok(Some((model.encode_to_vec(), ZipMap { output, input, labels })))
}

/// A `float32 [N, classes]` value info.
fn float_matrix(name: &str, classes: usize) -> proto::ValueInfoProto {
    use proto::tensor_shape_proto::{dimension, Dimension};
    let dim = |value| Dimension { value: Some(value), ..Default::default() };
    let shape = proto::TensorShapeProto { dim: vec![dim(dimension::Value::DimParam("N".into())), dim(dimension::Value::DimValue(classes as i64))] };
    let tensor = proto::type_proto::Tensor { elem_type: Some(1), shape: Some(shape) };
    proto::ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(proto::TypeProto { value: Some(proto::type_proto::Value::TensorType(tensor)), ..Default::default() }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/exporters").join(name)).unwrap()
    }

    #[test]
    fn a_zipmap_is_replaced_by_the_tensor_it_reads() {
        let bytes = fixture("sklearn_strings.onnx");
        let before = crate::onnx::OnnxGraph::decode(bytes.clone()).unwrap().output_facts();
        let zipmap = before.zipmap.clone().unwrap();
        assert_eq!((zipmap.output.as_str(), zipmap.input.as_str()), ("output_probability", "probabilities"));
        assert_eq!(zipmap.labels, ClassLabels::Strings(vec!["<=50K".into(), ">50K".into()]));
        assert_eq!(before.class_labels, Some(zipmap.labels.clone()));
        let (rewritten, again) = without_zipmap(&bytes).unwrap().unwrap();
        assert_eq!(again, zipmap);
        let model = proto::ModelProto::decode(rewritten.as_slice()).unwrap();
        let graph = model.graph.unwrap();
        assert!(graph.node.iter().all(|n| n.op_type.as_deref() != Some("ZipMap")));
        let names: Vec<&str> = graph.output.iter().filter_map(|o| o.name.as_deref()).collect();
        assert_eq!(names, ["output_label", "probabilities"], "the ZipMap's slot holds its input");
        // The rest of the file is as it was: the same initializers, opsets and nodes otherwise.
        let original = proto::ModelProto::decode(bytes.as_slice()).unwrap();
        assert_eq!(original.opset_import, model.opset_import);
        assert_eq!(original.graph.unwrap().node.len(), graph.node.len() + 1);
    }

    #[test]
    fn graphs_without_a_zipmap_are_left_alone_and_producers_look_through_reshapes() {
        for name in ["sklearn_no_zipmap.onnx", "binary_logit.onnx", "keras_sigmoid.onnx"] {
            assert!(without_zipmap(&fixture(name)).unwrap().is_none(), "{name}");
        }
        let facts = crate::onnx::OnnxGraph::decode(fixture("keras_sigmoid.onnx")).unwrap().output_facts();
        assert_eq!(facts.producer("dense/Sigmoid:0"), Some("Sigmoid"));
        let facts = crate::onnx::OnnxGraph::decode(fixture("sklearn_no_zipmap.onnx")).unwrap().output_facts();
        assert_eq!(facts.class_labels, Some(ClassLabels::Ints(vec![0, 1])));
        assert!(facts.class_labels.unwrap().are_indices());
        assert!(!ClassLabels::Ints(vec![1, 2]).are_indices());
        assert!(without_zipmap(b"not a model with ZipMap inside").is_err());
    }
}
