//! From the file's bytes to the graph facts the rest of this module reads.
//!
//! The bytes are decoded by prost's generated types ([`super::proto`]); this file keeps only what
//! size, shapes and cost need of the top-level graph (nodes with their attributes, initializers,
//! declared inputs, outputs and value infos) and turns decoding failures into one readable line.
//! Subgraphs (the bodies of `If`, `Loop`, `Scan`) are decoded but only noted, not walked.

use super::proto;
use super::tensor::{summarize, TensorSummary};
use prost::bytes::Bytes;
use prost::Message;

/// The top-level graph of a model.
pub(super) struct Graph {
    pub(super) nodes: Vec<Node>,
    pub(super) initializers: Vec<proto::TensorProto>,
    pub(super) sparse: Vec<proto::SparseTensorProto>,
    pub(super) inputs: Vec<ValueInfo>,
    pub(super) outputs: Vec<ValueInfo>,
    pub(super) value_info: Vec<ValueInfo>,
}

pub(super) struct Node {
    pub(super) name: String,
    pub(super) op_type: String,
    pub(super) inputs: Vec<String>,
    pub(super) outputs: Vec<String>,
    pub(super) attrs: Vec<Attr>,
}

/// An attribute, reduced to what shape propagation reads.
pub(super) struct Attr {
    pub(super) name: String,
    pub(super) f: Option<f32>,
    pub(super) i: Option<i64>,
    /// None when the attribute stores no integers.
    pub(super) ints: Option<Vec<i64>>,
    pub(super) floats: usize,
    /// Of those, the ones that are not zero.
    pub(super) floats_nonzero: usize,
    pub(super) s: Option<String>,
    /// Repeated strings (e.g. `classlabels_strings` of a classifier or ZipMap).
    pub(super) strings: Vec<String>,
    pub(super) t: Option<TensorSummary>,
    pub(super) has_graph: bool,
}

pub(super) struct ValueInfo {
    pub(super) name: String,
    pub(super) elem_type: Option<i64>,
    /// None: no shape declared (unknown rank).
    pub(super) dims: Option<Vec<DimInfo>>,
}

#[derive(Clone)]
pub(super) enum DimInfo {
    Value(i64),
    Param(String),
    Unset,
}

/// Decodes a serialized `ModelProto`. Errors name the problem but not the file, which the caller adds.
pub(super) fn decode(bytes: Bytes) -> Result<Graph, String> {
    if bytes.is_empty() {
        return Err("the file is empty, not an ONNX model".to_string());
    }
    let model = proto::ModelProto::decode(bytes).map_err(|e| format!("not a readable ONNX model: {}", describe(&e)))?;
    let graph = model.graph.ok_or_else(|| "not a readable ONNX model: it has no graph (ModelProto field 7)".to_string())?;
    if graph.output.is_empty() {
        return Err("not a readable ONNX model: its graph declares no outputs".to_string());
    }
    let nodes = graph
        .node
        .into_iter()
        .enumerate()
        .map(|(i, n)| node(n).map_err(|e| format!("not a readable ONNX model: graph node {i}: {e}")))
        .collect::<Result<_, _>>()?;
    Ok(Graph {
        nodes,
        initializers: graph.initializer,
        sparse: graph.sparse_initializer,
        inputs: graph.input.into_iter().map(value_info).collect(),
        outputs: graph.output.into_iter().map(value_info).collect(),
        value_info: graph.value_info.into_iter().map(value_info).collect(),
    })
}

/// prost's message without its generic prefix, plus what the likely cause is.
fn describe(e: &prost::DecodeError) -> String {
    let text = e.to_string();
    let text = text.strip_prefix("failed to decode Protobuf message: ").unwrap_or(&text).to_string();
    let hint = if ["buffer underflow", "invalid varint", "delimited length exceeded"].iter().any(|k| text.contains(k)) {
        " (file cut short or corrupted?)"
    } else if text.contains("wire type") || text.contains("invalid key") || text.contains("invalid tag") || text.contains("group tag") {
        " (not an ONNX file, or corrupted)"
    } else {
        ""
    };
    format!("{text}{hint}")
}

fn node(n: proto::NodeProto) -> Result<Node, String> {
    let attrs = n.attribute.into_iter().map(attr).collect::<Result<_, _>>()?;
    Ok(Node { name: n.name.unwrap_or_default(), op_type: n.op_type.unwrap_or_default(), inputs: n.input, outputs: n.output, attrs })
}

fn attr(a: proto::AttributeProto) -> Result<Attr, String> {
    let t = match &a.t {
        Some(t) => Some(summarize(t).map_err(|e| format!("attribute tensor: {e}"))?),
        None => None,
    };
    Ok(Attr {
        name: a.name.unwrap_or_default(),
        f: a.f,
        i: a.i,
        ints: (!a.ints.is_empty()).then_some(a.ints),
        floats: a.floats.len(),
        floats_nonzero: a.floats.iter().filter(|x| **x != 0.0).count(),
        s: a.s.map(|s| String::from_utf8_lossy(&s).into_owned()),
        strings: a.strings.iter().map(|s| String::from_utf8_lossy(s).into_owned()).collect(),
        t,
        has_graph: a.g.is_some() || !a.graphs.is_empty(),
    })
}

fn value_info(v: proto::ValueInfoProto) -> ValueInfo {
    use proto::type_proto::Value;
    let (elem_type, shape) = match v.r#type.and_then(|t| t.value) {
        Some(Value::TensorType(t)) => (t.elem_type, t.shape),
        Some(Value::SparseTensorType(t)) => (t.elem_type, t.shape),
        _ => (None, None),
    };
    let dims = shape.map(|s| s.dim.into_iter().map(dim).collect());
    ValueInfo { name: v.name.unwrap_or_default(), elem_type: elem_type.map(i64::from), dims }
}

fn dim(d: proto::tensor_shape_proto::Dimension) -> DimInfo {
    use proto::tensor_shape_proto::dimension::Value;
    match d.value {
        Some(Value::DimValue(v)) => DimInfo::Value(v),
        Some(Value::DimParam(p)) => DimInfo::Param(p),
        None => DimInfo::Unset,
    }
}

impl Node {
    pub(super) fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().rev().find(|a| a.name == name)
    }
    pub(super) fn attr_i(&self, name: &str) -> Option<i64> {
        self.attr(name).and_then(|a| a.i)
    }
    pub(super) fn attr_ints(&self, name: &str) -> Option<&[i64]> {
        self.attr(name).and_then(|a| a.ints.as_deref())
    }
    pub(super) fn attr_s(&self, name: &str) -> Option<&str> {
        self.attr(name).and_then(|a| a.s.as_deref())
    }
    pub(super) fn input(&self, i: usize) -> Option<&str> {
        self.inputs.get(i).map(String::as_str).filter(|s| !s.is_empty())
    }
    /// How an assumption names the node: its name, else its first output, else its index.
    pub(super) fn label(&self, index: usize) -> String {
        if !self.name.is_empty() {
            format!("'{}'", self.name)
        } else if let Some(out) = self.outputs.first().filter(|o| !o.is_empty()) {
            format!("producing '{out}'")
        } else {
            format!("#{index}")
        }
    }
}
