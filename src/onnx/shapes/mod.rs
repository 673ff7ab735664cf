//! Light symbolic shape propagation over the top-level graph, nodes in file order (as ONNX
//! requires).
//!
//! The first dimension of each graph input is the batch; the second dimension of an integer
//! (int32/int64) rank-2 graph input, unless it is a fixed number, is the sequence (token ids), and
//! so is any other input dimension with the same `dim_param` name; initializers have their fixed
//! dims. Shapes pass through element-wise ops (with broadcasting), Gather, MatMul/Gemm, Conv and
//! pooling (strides, pads, dilations, `auto_pad`, `ceil_mode`), reductions (`axes` as attribute or
//! constant input, `keepdims`), Reshape with a constant shape, Transpose, (Un)Squeeze, Flatten,
//! Concat, Slice and Split with constant arguments, Expand, Pad, Cast, (De)QuantizeLinear,
//! DynamicQuantizeLinear, and Constant/ConstantOfShape ([`compute`]: ops that contract or window
//! their input; [`layout`]: ops that move or select elements). Shapes declared in the file
//! (`value_info`, graph outputs) fill in what propagation leaves unknown.

mod compute;
mod inputs;
mod layout;

pub(super) use inputs::seed;

use super::decode::Node;
use super::dims::{broadcast, Dim, Shape, ONE};
use std::collections::HashMap;

/// Shapes of higher rank are dropped (unknown); ONNX Runtime itself stops far below.
const MAX_RANK: usize = 64;

/// Ops whose output has their first input's shape.
const SAME_SHAPE: &[&str] = &[
    "Identity",
    "Cast",
    "CastLike",
    "Relu",
    "LeakyRelu",
    "PRelu",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "Tanh",
    "Erf",
    "Sqrt",
    "Reciprocal",
    "Neg",
    "Abs",
    "Exp",
    "Log",
    "Floor",
    "Ceil",
    "Round",
    "Sign",
    "Sin",
    "Cos",
    "Softmax",
    "LogSoftmax",
    "Softplus",
    "Softsign",
    "Selu",
    "Elu",
    "Celu",
    "Gelu",
    "FastGelu",
    "BiasGelu",
    "QuickGelu",
    "Mish",
    "Dropout",
    "Clip",
    "DequantizeLinear",
    "QuantizeLinear",
    "DynamicQuantizeLinear",
    "LayerNormalization",
    "SimplifiedLayerNormalization",
    "SkipLayerNormalization",
    "SkipSimplifiedLayerNormalization",
    "BatchNormalization",
    "InstanceNormalization",
    "GroupNormalization",
    "LpNormalization",
    "IsNaN",
    "IsInf",
    "Not",
    "BitwiseNot",
    "Shrink",
    "ThresholdedRelu",
    "Hardmax",
];

/// Ops whose output broadcasts all their inputs.
const BROADCAST: &[&str] = &[
    "Add",
    "Sub",
    "Mul",
    "Div",
    "Pow",
    "Max",
    "Min",
    "Sum",
    "Mean",
    "Where",
    "Equal",
    "Less",
    "LessOrEqual",
    "Greater",
    "GreaterOrEqual",
    "And",
    "Or",
    "Xor",
    "Mod",
    "BitShift",
    "BitwiseAnd",
    "BitwiseOr",
    "BitwiseXor",
];

/// An integer-list input of a node.
pub(super) enum Arg<'a> {
    Absent,
    Const(&'a [i64]),
    Dynamic,
}

/// What propagation knows so far: the shape of every named value, and the values of small
/// constant integer tensors (axes, shapes, pads).
#[derive(Default)]
pub(in crate::onnx) struct Shapes {
    pub(in crate::onnx) shapes: HashMap<String, Shape>,
    pub(in crate::onnx) consts: HashMap<String, Vec<i64>>,
}

impl Shapes {
    pub(in crate::onnx) fn get(&self, node: &Node, i: usize) -> Option<&Shape> {
        node.input(i).and_then(|n| self.shapes.get(n))
    }

    pub(super) fn int_arg(&self, node: &Node, i: usize) -> Arg<'_> {
        match node.input(i) {
            None => Arg::Absent,
            Some(name) => match self.consts.get(name) {
                Some(v) => Arg::Const(v),
                None => Arg::Dynamic,
            },
        }
    }

    /// An integer list given as attribute `attr` (older opsets) or as constant input `i`.
    /// Outer None: input present but not constant.
    pub(super) fn attr_or_input(&self, node: &Node, attr: &str, i: usize) -> Option<Option<Vec<i64>>> {
        if let Some(v) = node.attr_ints(attr) {
            return Some(Some(v.to_vec()));
        }
        match self.int_arg(node, i) {
            Arg::Absent => Some(None),
            Arg::Const(v) => Some(Some(v.to_vec())),
            Arg::Dynamic => None,
        }
    }

    /// Output shapes of a node (one entry per output; None where unknown).
    pub(in crate::onnx) fn infer(&mut self, node: &Node) -> Vec<Option<Shape>> {
        let mut out: Vec<Option<Shape>> = vec![None; node.outputs.len()];
        if out.is_empty() {
            return out;
        }
        let x = self.get(node, 0).cloned();
        let op = node.op_type.as_str();
        if op == "Split" {
            // Fills every output.
            if let Some(shapes) = x.as_deref().and_then(|xs| layout::split(self, node, xs)) {
                for (o, s) in out.iter_mut().zip(shapes) {
                    *o = Some(s);
                }
            }
            return out;
        }
        out[0] = if op == "Constant" { layout::constant(self, node) } else { self.first_output(node, op, x.as_deref()) };
        // A guard for crafted graphs (Gather(x, x) chains double the rank each time).
        for o in out.iter_mut() {
            if o.as_ref().is_some_and(|s| s.len() > MAX_RANK) {
                *o = None;
            }
        }
        match op {
            "DynamicQuantizeLinear" => {
                for o in out.iter_mut().skip(1) {
                    *o = Some(vec![]);
                }
            }
            "Dropout" | "MaxPool" if out.len() > 1 => out[1] = out[0].clone(),
            _ => {}
        }
        out
    }

    /// The shape of a node's first output, `x` being its first input's.
    fn first_output(&self, node: &Node, op: &str, x: Option<&[Dim]>) -> Option<Shape> {
        if SAME_SHAPE.contains(&op) {
            return x.map(<[Dim]>::to_vec);
        }
        if BROADCAST.contains(&op) {
            let all: Option<Vec<&[Dim]>> = (0..node.inputs.len()).map(|i| self.get(node, i).map(Vec::as_slice)).collect();
            return all.filter(|v| !v.is_empty()).map(|v| broadcast(&v));
        }
        match op {
            "MatMul" | "MatMulInteger" | "QLinearMatMul" | "MatMulIntegerToFloat" | "DynamicQuantizeMatMul" | "FusedMatMul" => compute::matmul(self, node, x),
            "Gemm" => compute::gemm(self, node, x),
            "Conv" | "ConvInteger" | "QLinearConv" => compute::conv(self, node, x),
            "MaxPool" | "AveragePool" | "LpPool" => compute::pool(node, x),
            "GlobalAveragePool" | "GlobalMaxPool" | "GlobalLpPool" => x.filter(|s| s.len() >= 2).map(|s| {
                let mut o = vec![s[0], s[1]];
                o.extend(std::iter::repeat_n(Some(ONE), s.len() - 2));
                o
            }),
            "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" | "ReduceProd" | "ReduceL1" | "ReduceL2" | "ReduceLogSum" | "ReduceLogSumExp"
            | "ReduceSumSquare" => compute::reduce(self, node, x),
            "ArgMax" | "ArgMin" => compute::arg_reduce(node, x),
            "Gather" => layout::gather(self, node, x),
            "Unsqueeze" => layout::unsqueeze(self, node, x),
            "Squeeze" => layout::squeeze(self, node, x),
            "Transpose" => layout::transpose(node, x),
            "Flatten" => layout::flatten(node, x),
            "Reshape" => layout::reshape_op(self, node, x),
            "Concat" => {
                let all: Option<Vec<&Shape>> = (0..node.inputs.len()).map(|i| self.get(node, i)).collect();
                all.filter(|v| !v.is_empty()).and_then(|v| layout::concat(&v, node.attr_i("axis").unwrap_or(0)))
            }
            "Slice" => x.and_then(|xs| layout::slice(self, node, xs)),
            "Expand" => layout::expand(self, node, x),
            "Pad" => layout::pad(self, node, x),
            "Shape" => (node.attrs.is_empty()).then(|| vec![x.and_then(|s| super::dims::fixed(s.len() as u64))]),
            "ConstantOfShape" => match self.int_arg(node, 0) {
                Arg::Const(v) => Some(v.iter().map(|&d| super::dims::fixed_i(d)).collect()),
                _ => None,
            },
            _ => None,
        }
    }
}
