//! FLOPs per example, from the propagated shapes.
//!
//! A multiply-add counts 2. Only these nodes are costed; everything else (Gather embedding
//! lookups, element-wise ops, reductions, Softmax, normalisations) counts 0:
//!
//! - `MatMul`, `MatMulInteger`, `QLinearMatMul` (B = input 3), and ONNX Runtime's
//!   `FusedMatMul`, `MatMulIntegerToFloat`, `DynamicQuantizeMatMul`: **2 · K · (output elements per
//!   example)**, K being the shared dimension read from B. With B a `[K, N]` weight and A shaped
//!   `[batch, K]` that is 2·K·N; with A `[batch, sequence, K]` it is 2·K·N·sequence; an
//!   activation × activation product (attention scores) is costed the same way when both shapes
//!   are known.
//! - `Gemm`: the same, with K from B respecting `transB` (output `[M, N]`, one row per example).
//! - `Conv`, `ConvInteger`, `QLinearConv` (W = input 3) with weight `[M, C/group, k1, k2, …]`:
//!   **2 · M · (C/group) · k1 · k2 · … per output position**, times the output positions of one
//!   example.
//!
//! Shapes come from [`super::shapes`]. "Per example" divides the output's element count by the batch;
//! a sequence dimension counts `sequence_length` (1 when `None`, with an assumption).
//!
//! So a text model that pools its tokens before its dense layers (the tweet fixtures) costs the
//! same at any sequence length, while a transformer's projections cost `sequence_length` rows each
//! and its attention products grow with its square (an assumption notes that costing the mean
//! length underestimates the mean cost then).
//!
//! When a MatMul/Gemm output shape cannot be inferred but B is a fixed `[K, N]` (an initializer,
//! possibly behind DequantizeLinear/Cast/Transpose, which propagation sees through), the cost is
//! 2·K·N times `sequence_length` rows if the model is a sequence model (a symbolic-length integer
//! rank-2 input) and 1 row otherwise, with an assumption. A MatMul whose B shape is unknown is not
//! costed (assumption). A Conv whose output size cannot be inferred counts one output position
//! (assumption). Heavy ops that are not costed (`Einsum`, `ConvTranspose`, `LSTM`, `GRU`, `RNN`,
//! ONNX Runtime's `Attention` family, `MatMulNBits`, `QGemm`) are listed in an assumption.

use super::decode::{Graph, Node};
use super::dims::{per_example, product, Dim, Mono};
use super::shapes::Shapes;
use std::collections::HashMap;

/// What costing the nodes found: the estimate, the highest power of the sequence length in it,
/// and the nodes costed by a fallback or not at all (their labels, for the assumptions).
#[derive(Default)]
pub(super) struct Cost {
    pub(super) flops: f64,
    /// The part of `flops` in integer kernels (MatMulInteger, ConvInteger, QLinear*, and ONNX
    /// Runtime's integer matmuls): the roofline judges a model mostly in them by the int8 roof.
    pub(super) integer_flops: f64,
    pub(super) seq_power: u32,
    pub(super) fallback: Vec<String>,
    pub(super) uncosted_mm: Vec<String>,
    pub(super) conv_one_position: Vec<String>,
    pub(super) uncosted_conv: Vec<String>,
    /// Nodes with a subgraph attribute.
    pub(super) subgraphs: usize,
}

const INTEGER_OPS: [&str; 6] = ["MatMulInteger", "QLinearMatMul", "MatMulIntegerToFloat", "DynamicQuantizeMatMul", "ConvInteger", "QLinearConv"];

/// How a node's cost is read: per-example rows of a sequence model, at the given length.
struct Costing {
    sequence_model: bool,
    length: f64,
}

/// Propagates shapes through every node, in file order, and costs the MatMul/Gemm/Conv family.
pub(super) fn cost_nodes(
    g: &Graph,
    ctx: &mut Shapes,
    declared: &HashMap<&str, super::dims::Shape>,
    sequence_model: bool,
    sequence_length: Option<f64>,
) -> Result<Cost, String> {
    let how = Costing { sequence_model, length: sequence_length.unwrap_or(1.0) };
    let mut cost = Cost::default();
    for (index, node) in g.nodes.iter().enumerate() {
        if node.attrs.iter().any(|a| a.has_graph) {
            cost.subgraphs += 1;
        }
        let inferred = ctx.infer(node);
        for (name, shape) in node.outputs.iter().zip(inferred) {
            if name.is_empty() {
                continue;
            }
            if let Some(s) = super::dims::merge(shape, declared.get(name.as_str())) {
                ctx.shapes.insert(name.clone(), s);
            }
        }
        let before = cost.flops;
        match node.op_type.as_str() {
            "MatMul" | "MatMulInteger" | "QLinearMatMul" | "MatMulIntegerToFloat" | "DynamicQuantizeMatMul" | "FusedMatMul" | "Gemm" => {
                matmul_cost(ctx, node, index, &how, &mut cost)
            }
            "Conv" | "ConvInteger" | "QLinearConv" => conv_cost(ctx, node, index, &how, &mut cost),
            _ => {}
        }
        if INTEGER_OPS.contains(&node.op_type.as_str()) {
            cost.integer_flops += cost.flops - before;
        }
    }
    if !cost.flops.is_finite() {
        return Err("the FLOPs estimate overflows (absurd dimensions?)".to_string());
    }
    Ok(cost)
}

fn matmul_cost(ctx: &Shapes, node: &Node, index: usize, how: &Costing, cost: &mut Cost) {
    let op = node.op_type.as_str();
    let out = node.outputs.first().and_then(|o| ctx.shapes.get(o));
    let b_idx = if op == "QLinearMatMul" { 3 } else { 1 };
    let trans_b = matches!(op, "Gemm" | "FusedMatMul") && node.attr_i("transB").unwrap_or(0) != 0;
    let b = ctx.get(node, b_idx);
    let k: Dim = match b {
        Some(b) if op == "Gemm" => (b.len() == 2).then(|| b[usize::from(trans_b)]).flatten(),
        Some(b) if b.len() >= 2 => b[b.len() - if trans_b { 1 } else { 2 }],
        Some(b) if b.len() == 1 => b[0],
        _ => None,
    };
    let exact = match (k, out.and_then(|o| per_example(o))) {
        (Some(k), Some(p)) if k.batch == 0 => k.mul(p),
        _ => None,
    };
    if let Some(m) = exact {
        cost.flops += 2.0 * m.eval(how.length);
        if m.coef > 0 {
            cost.seq_power = cost.seq_power.max(m.seq);
        }
        return;
    }
    let fixed_b: Option<(u64, u64)> = b.filter(|b| b.len() == 2).and_then(|b| {
        let (d0, d1) = (b[0]?.as_fixed()?, b[1]?.as_fixed()?);
        Some(if trans_b { (d1, d0) } else { (d0, d1) })
    });
    match fixed_b {
        Some((k, n)) => {
            let rows = if how.sequence_model { how.length } else { 1.0 };
            cost.flops += 2.0 * k as f64 * n as f64 * rows;
            if how.sequence_model && k > 0 && n > 0 {
                cost.seq_power = cost.seq_power.max(1);
            }
            cost.fallback.push(node.label(index));
        }
        None => cost.uncosted_mm.push(node.label(index)),
    }
}

fn conv_cost(ctx: &Shapes, node: &Node, index: usize, how: &Costing, cost: &mut Cost) {
    let out = node.outputs.first().and_then(|o| ctx.shapes.get(o));
    let w_idx = if node.op_type == "QLinearConv" { 3 } else { 1 };
    let per_position = ctx.get(node, w_idx).filter(|w| w.len() >= 3).and_then(|w| product(w)).and_then(Mono::as_fixed);
    let Some(per_position) = per_position else {
        cost.uncosted_conv.push(node.label(index));
        return;
    };
    let positions = out.filter(|o| o.len() >= 3).and_then(|o| product(&o[2..])).filter(|m| m.batch == 0);
    match positions {
        Some(p) => {
            cost.flops += 2.0 * per_position as f64 * p.eval(how.length);
            if per_position > 0 && p.coef > 0 {
                cost.seq_power = cost.seq_power.max(p.seq);
            }
        }
        None => {
            cost.flops += 2.0 * per_position as f64;
            cost.conv_one_position.push(node.label(index));
        }
    }
}
