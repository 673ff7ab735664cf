//! Shape propagation on random graphs of the ops it knows.

use super::*;
use crate::stats::rng::Rng;

/// Ops the propagation knows, and the attributes they read.
const OPS: &[&str] = &[
    "MatMul",
    "Gemm",
    "Conv",
    "QLinearConv",
    "QLinearMatMul",
    "FusedMatMul",
    "MaxPool",
    "AveragePool",
    "GlobalAveragePool",
    "Gather",
    "ReduceSum",
    "ReduceMean",
    "ArgMax",
    "Unsqueeze",
    "Squeeze",
    "Transpose",
    "Flatten",
    "Reshape",
    "Concat",
    "Slice",
    "Split",
    "Expand",
    "Pad",
    "Shape",
    "Constant",
    "ConstantOfShape",
    "Add",
    "Where",
    "DynamicQuantizeLinear",
    "Dropout",
    "Relu",
    "Cast",
];

const ATTRS: &[&str] = &[
    "axes",
    "axis",
    "perm",
    "pads",
    "strides",
    "dilations",
    "kernel_shape",
    "split",
    "transA",
    "transB",
    "keepdims",
    "group",
    "allowzero",
    "ceil_mode",
    "value_ints",
    "value_int",
    "starts",
    "ends",
];

#[test]
fn random_graphs_of_known_ops_never_panic() {
    // Shape propagation on nonsense: random ops wired to random tensors, random attributes
    // with extreme values, constant int inputs with extreme values.
    let extremes = [i64::MIN, -3, -2, -1, 0, 1, 2, 3, 7, i64::MAX, 1 << 40];
    let rounds: u64 = std::env::var("GRAPH_STATS_FUZZ_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let mut rng = Rng::new(7);
    let pick = |rng: &mut Rng| extremes[rng.below(extremes.len() as u64) as usize];
    for _ in 0..rounds {
        let mut names: Vec<String> = vec!["x".into(), "ids".into(), "W".into(), "c".into()];
        let mut nodes = Vec::new();
        for i in 0..1 + rng.below(12) {
            let op = OPS[rng.below(OPS.len() as u64) as usize];
            let inputs: Vec<String> = (0..rng.below(5)).map(|_| names[rng.below(names.len() as u64) as usize].clone()).collect();
            let outputs: Vec<String> = (0..1 + rng.below(3)).map(|j| format!("t{i}_{j}")).collect();
            let attrs: Vec<Vec<u8>> = (0..rng.below(4))
                .map(|_| {
                    let name = ATTRS[rng.below(ATTRS.len() as u64) as usize];
                    if rng.below(2) == 0 {
                        attr_i(name, pick(&mut rng))
                    } else {
                        let v: Vec<i64> = (0..rng.below(6)).map(|_| pick(&mut rng)).collect();
                        attr_ints(name, &v)
                    }
                })
                .collect();
            let ins: Vec<&str> = inputs.iter().map(String::as_str).collect();
            let outs: Vec<&str> = outputs.iter().map(String::as_str).collect();
            nodes.push(node(op, &ins, &outs, &attrs));
            names.extend(outputs);
        }
        let c: Vec<i64> = (0..rng.below(5)).map(|_| pick(&mut rng)).collect();
        let g = G {
            nodes,
            inits: vec![tensor_f32("W", &[2, 3, 1, 1], &[1.0; 6]), tensor_ints("c", INT64, 7, &[c.len() as i64], &c)],
            inputs: vec![value_info("x", FLOAT, &[P("N"), V(3), V(5), P("w")]), value_info("ids", INT64, &[P("N"), P("S")])],
            outputs: vec![value_info("t0_0", FLOAT, &[P("N")])],
            value_info: vec![],
        };
        let _ = graph_stats(&model(&g), Some(3.5));
    }
}
