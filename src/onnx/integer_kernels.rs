//! Which integer kernels a graph runs, and whether any of them can saturate on CPUs whose u8s8
//! GEMM adds products in int16 (AVX2, AVX-512 without VNNI: see [`crate::machine::kernels`]).
//!
//! The operators and weight positions are ONNX Runtime's own list for its precision rewrite
//! (`s8_overflow_ops` in `onnxruntime/core/optimizer/qdq_transformer/avx2_weight_s8_to_u8.cc`,
//! 1.31): QAttention (1), MatMulIntegerToFloat (1), DynamicQuantizeMatMul (1), QGemm (3),
//! MatMulInteger (1), QLinearMatMul (3), QLinearConv (3), DequantizeLinear (0: QDQ weights), and
//! DynamicQuantizeLSTM (1 and 2). ConvInteger takes no int8 weights there. A weight counts as
//! saturation-prone when it is an int8 initializer with a value outside [-64, 64], ONNX Runtime's
//! own test (`Int8TensorProto2Uint8`); within that range two u8·s8 products cannot leave int16.
//! Activations are taken as uint8, which is what those x86 kernels run (DynamicQuantizeLinear
//! always produces uint8).

use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, HashMap};

/// Integer arithmetic in a graph.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IntegerKernels {
    /// Operator types that run integer kernels (or, for QDQ graphs, DequantizeLinear feeding a
    /// MatMul, Gemm or Conv, which ONNX Runtime fuses into one), sorted.
    pub ops: Vec<String>,
    /// int8 weight tensors of u8s8 operators with values outside [-64, 64] (their range is read
    /// from the file; one whose values cannot be read counts too).
    pub saturation_prone_weights: usize,
}

impl IntegerKernels {
    pub fn any(&self) -> bool {
        !self.ops.is_empty()
    }

    /// Whether a saturating u8s8 GEMM (and `session.x64quantprecision`) can change this graph's numbers.
    pub fn saturation_prone(&self) -> bool {
        self.saturation_prone_weights > 0
    }
}

/// Ops that compute in integers whatever their inputs.
const INTEGER_OPS: [&str; 10] = [
    "MatMulInteger",
    "ConvInteger",
    "QLinearMatMul",
    "QLinearConv",
    "QGemm",
    "QAttention",
    "MatMulIntegerToFloat",
    "DynamicQuantizeMatMul",
    "DynamicQuantizeLSTM",
    "DynamicQuantizeLinear",
];

/// (operator, int8 weight inputs) that ONNX Runtime's precision rewrite knows.
const WEIGHT_INPUTS: [(&str, &[usize]); 9] = [
    ("QAttention", &[1]),
    ("MatMulIntegerToFloat", &[1]),
    ("DynamicQuantizeMatMul", &[1]),
    ("QGemm", &[3]),
    ("MatMulInteger", &[1]),
    ("QLinearMatMul", &[3]),
    ("QLinearConv", &[3]),
    ("DequantizeLinear", &[0]),
    ("DynamicQuantizeLSTM", &[1, 2]),
];

/// One node: its op type, its inputs and its outputs.
pub struct NodeView<'a> {
    pub op_type: &'a str,
    pub inputs: &'a [String],
    pub outputs: &'a [String],
}

/// Finds the integer kernels of `nodes`; `int8_ranges` maps every int8 initializer to its
/// (min, max), or `None` when its values were not readable.
pub fn find(nodes: &[NodeView<'_>], int8_ranges: &HashMap<&str, Option<(i8, i8)>>) -> IntegerKernels {
    let feeds_gemm = |name: &str| nodes.iter().any(|c| matches!(c.op_type, "MatMul" | "Gemm" | "Conv") && c.inputs.iter().any(|i| i == name));
    let mut ops = BTreeSet::new();
    let mut prone = BTreeSet::new();
    for n in nodes {
        let qdq = n.op_type == "DequantizeLinear" && n.outputs.iter().any(|o| feeds_gemm(o));
        if INTEGER_OPS.contains(&n.op_type) || n.op_type.starts_with("QLinear") || qdq {
            ops.insert(n.op_type.to_string());
        }
        if n.op_type == "DequantizeLinear" && !qdq {
            continue;
        }
        let Some((_, positions)) = WEIGHT_INPUTS.iter().find(|(op, _)| *op == n.op_type) else { continue };
        for &p in positions.iter() {
            let Some(weight) = n.inputs.get(p) else { continue };
            if let Some(range) = int8_ranges.get(weight.as_str()) {
                if range.is_none_or(|(lo, hi)| lo < -64 || hi > 64) {
                    prone.insert(weight.as_str());
                }
            }
        }
    }
    IntegerKernels { ops: ops.into_iter().collect(), saturation_prone_weights: prone.len() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn dynamic_int8_with_wide_weights_is_saturation_prone() {
        let (i1, o1, i2, o2) = (names(&["x"]), names(&["xq", "s", "z"]), names(&["xq", "W", "z", "wz"]), names(&["y"]));
        let nodes =
            [NodeView { op_type: "DynamicQuantizeLinear", inputs: &i1, outputs: &o1 }, NodeView { op_type: "MatMulInteger", inputs: &i2, outputs: &o2 }];
        let wide = HashMap::from([("W", Some((-127i8, 90i8))), ("wz", Some((0, 0)))]);
        let k = find(&nodes, &wide);
        assert_eq!(k.ops, ["DynamicQuantizeLinear", "MatMulInteger"]);
        assert_eq!(k.saturation_prone_weights, 1);
        let narrow = HashMap::from([("W", Some((-64i8, 64i8)))]);
        assert!(!find(&nodes, &narrow).saturation_prone(), "[-64, 64] cannot saturate");
        let unreadable = HashMap::from([("W", None)]);
        assert!(find(&nodes, &unreadable).saturation_prone(), "unknown values count as prone");
    }

    #[test]
    fn a_float_graph_has_no_integer_kernels() {
        let (i, o) = (names(&["x", "W"]), names(&["y"]));
        let k = find(&[NodeView { op_type: "MatMul", inputs: &i, outputs: &o }], &HashMap::new());
        assert!(!k.any() && !k.saturation_prone());
    }

    #[test]
    fn qdq_weights_feeding_a_matmul_count_and_other_dequantize_nodes_do_not() {
        let (dq_in, dq_out, mm_in, mm_out) = (names(&["Wq", "s", "z"]), names(&["W"]), names(&["x", "W"]), names(&["y"]));
        let (lone_in, lone_out) = (names(&["Eq", "s", "z"]), names(&["E"]));
        let nodes = [
            NodeView { op_type: "DequantizeLinear", inputs: &dq_in, outputs: &dq_out },
            NodeView { op_type: "MatMul", inputs: &mm_in, outputs: &mm_out },
            NodeView { op_type: "DequantizeLinear", inputs: &lone_in, outputs: &lone_out },
        ];
        let ranges = HashMap::from([("Wq", Some((-128i8, 127i8))), ("Eq", Some((-128i8, 127i8)))]);
        let k = find(&nodes, &ranges);
        assert_eq!(k.ops, ["DequantizeLinear"]);
        assert_eq!(k.saturation_prone_weights, 1, "the embedding's DequantizeLinear feeds no GEMM");
    }
}
