//! Bytes moved per example, for the roofline: a simple, stated model of the memory traffic a
//! graph causes, from the propagated shapes.
//!
//! - **Weights** (`weight_bytes`): every initializer a node reads, read whole once per batch (and the
//!   learned parameters classic-ML operators keep in attributes). An initializer read only as the
//!   table of `Gather` (an embedding) is the exception: only the rows gathered are read, and they
//!   are counted per example, as the bytes of the Gather's output.
//! - **Activations** (`activation_bytes_per_example`): every tensor a node produces is written once,
//!   and read once by each node that consumes it; graph inputs are read by their consumers. Only
//!   tensors with one batch dimension count per example (shape arithmetic and constants are tiny and
//!   per batch). A sequence dimension is costed at the sequence length given.
//! - Element sizes come from the data types: declared inputs, initializers, `Cast`'s `to`, the
//!   quantization ops' outputs (uint8/int8 and int32 accumulators), comparisons (bool), index
//!   outputs (int64); any other op's output has its first input's type (float when unknown).
//!
//! So bytes per batch of B examples = weights + B · activations, and arithmetic intensity at batch
//! size B = B · FLOPs / (weights + B · activations). It ignores caches (a layer whose weights and
//! activations fit in cache moves less), fusion (ONNX Runtime fuses some element-wise ops, which
//! then move less) and the kernels' own re-reads (a GEMM tile reads its operands more than once).

use super::decode::{Graph, Node};
use super::dims::{product, Mono};
use super::shapes::Shapes;
use super::size::Size;
use std::collections::{HashMap, HashSet};

/// The traffic model's figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Traffic {
    /// Bytes of weights read once per batch.
    pub weight_bytes: u64,
    /// Bytes per example: inputs, intermediate tensors (written once, read by each consumer) and
    /// gathered embedding rows.
    pub activation_bytes_per_example: f64,
    /// Tensors a node produces whose size per example is unknown (not counted).
    pub unsized_tensors: usize,
}

impl Traffic {
    /// Bytes moved by a batch of `batch` examples.
    pub fn bytes_per_batch(&self, batch: usize) -> f64 {
        self.weight_bytes as f64 + batch as f64 * self.activation_bytes_per_example
    }
}

const FLOAT: i64 = 1;
const UINT8: i64 = 2;
const INT32: i64 = 6;
const INT64: i64 = 7;
const BOOL: i64 = 9;

/// Bytes of one element of ONNX data type `t` (4 when unknown).
fn element_bytes(t: i64) -> f64 {
    match t {
        2 | 3 | 9 | 17..=20 => 1.0,
        4 | 5 | 10 | 16 => 2.0,
        7 | 11 | 13 | 14 => 8.0,
        15 => 16.0,
        21 | 22 => 0.5,
        _ => 4.0,
    }
}

/// The data type of each output of `node`, given the types known so far.
fn output_types(node: &Node, types: &HashMap<String, i64>) -> Vec<i64> {
    let input = |i: usize| node.inputs.get(i).and_then(|n| types.get(n)).copied();
    let first = input(0).unwrap_or(FLOAT);
    let one = |t: i64| vec![t; node.outputs.len()];
    match node.op_type.as_str() {
        "Cast" => one(node.attr_i("to").unwrap_or(FLOAT)),
        "QuantizeLinear" => one(input(2).unwrap_or(UINT8)),
        "DynamicQuantizeLinear" => vec![UINT8, FLOAT, UINT8],
        "DequantizeLinear" => one(input(1).unwrap_or(FLOAT)),
        "MatMulInteger" | "ConvInteger" => one(INT32),
        "QLinearMatMul" | "QLinearConv" => one(input(7).unwrap_or(UINT8)),
        "MatMulIntegerToFloat" | "DynamicQuantizeMatMul" => one(FLOAT),
        "Shape" | "Size" | "NonZero" | "ArgMax" | "ArgMin" => one(INT64),
        "TopK" => vec![first, INT64],
        "Equal" | "Less" | "Greater" | "LessOrEqual" | "GreaterOrEqual" | "Not" | "And" | "Or" | "Xor" | "IsNaN" | "IsInf" => one(BOOL),
        _ => one(first),
    }
}

/// Bytes of one example of tensor `name`: `None` when its shape is unknown, 0 when it has no batch
/// dimension.
fn per_example_bytes(ctx: &Shapes, types: &HashMap<String, i64>, name: &str, sequence_length: f64) -> Option<f64> {
    let elements: Mono = product(ctx.shapes.get(name)?)?;
    let bytes = element_bytes(types.get(name).copied().unwrap_or(FLOAT));
    Some(match elements.batch {
        1 => Mono { batch: 0, ..elements }.eval(sequence_length) * bytes,
        _ => 0.0,
    })
}

/// The traffic of `g`, after shape propagation has filled `ctx`.
pub(super) fn traffic(g: &Graph, ctx: &Shapes, size: &Size<'_>, sequence_length: f64) -> Traffic {
    let mut types: HashMap<String, i64> = g.inputs.iter().filter_map(|v| Some((v.name.clone(), v.elem_type?))).collect();
    for t in &g.initializers {
        if let Some(dt) = t.data_type {
            types.insert(t.name().to_string(), i64::from(dt));
        }
    }
    // Initializers read only as a Gather's table: an embedding, read row by row.
    let mut read_whole: HashSet<&str> = HashSet::new();
    let mut tables: HashSet<&str> = HashSet::new();
    for n in &g.nodes {
        for (i, input) in n.inputs.iter().enumerate() {
            if size.initializer_names.contains(input.as_str()) {
                if n.op_type == "Gather" && i == 0 {
                    tables.insert(input);
                } else {
                    read_whole.insert(input);
                }
            }
        }
    }
    let weight_bytes = read_whole.iter().map(|name| size.initializer_bytes.get(name).copied().unwrap_or(0)).sum::<u64>() + size.attribute_bytes;
    let mut activation = 0.0;
    let mut unsized_count = 0;
    for n in &g.nodes {
        for input in n.inputs.iter().filter(|i| !i.is_empty() && !size.initializer_names.contains(i.as_str())) {
            activation += per_example_bytes(ctx, &types, input, sequence_length).unwrap_or(0.0);
        }
        for (output, t) in n.outputs.iter().zip(output_types(n, &types)) {
            if output.is_empty() {
                continue;
            }
            types.insert(output.clone(), t);
            match per_example_bytes(ctx, &types, output, sequence_length) {
                Some(b) => {
                    // A Gather from an embedding table reads the rows it writes.
                    let gathered = n.op_type == "Gather" && n.inputs.first().is_some_and(|t| tables.contains(t.as_str()) && !read_whole.contains(t.as_str()));
                    activation += if gathered { 2.0 * b } else { b };
                }
                None => unsized_count += 1,
            }
        }
    }
    Traffic { weight_bytes, activation_bytes_per_example: activation, unsized_tensors: unsized_count }
}
