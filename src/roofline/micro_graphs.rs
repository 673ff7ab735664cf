//! The three micro-graphs the machine peaks are measured with, built in memory as ONNX models (no
//! file, no Python): ONNX Runtime runs them through the same execution provider, thread pool and
//! kernels (MLAS on the CPU) as the models it compares, so the roofs are the ones those models meet.
//!
//! - fp32 GEMM: `Y = MatMul(A, B)`, A an `[n, n]` float input, B an `[n, n]` float initializer
//!   (a weight, so ONNX Runtime pre-packs it as it does for a model's weights): 2·n³ FLOPs a run.
//! - int8 GEMM: `Y = MatMulInteger(A, B)`, A `[n, n]` uint8 input, B `[n, n]` int8 initializer
//!   with values in [-64, 63] (no u8s8 saturation on any CPU), int32 output: 2·n³ integer ops a run.
//! - bandwidth: `Y = Add(X, c)`, X a float vector of `elements` values, c a scalar initializer:
//!   each run reads and writes `4 · elements` bytes, counted as 8 · elements (STREAM's convention:
//!   the write-allocate read is not counted). The vector is far larger than any cache.

use crate::onnx::proto::{self, tensor_shape_proto::dimension, type_proto};
use prost::Message;

const FLOAT: i32 = 1;
const UINT8: i32 = 2;
const INT8: i32 = 3;
const INT32: i32 = 6;

/// One micro-graph: the serialized model, its input's name, element type and shape, and the
/// operations (FLOPs, integer ops or bytes) one run performs.
pub struct MicroGraph {
    pub bytes: Vec<u8>,
    pub input: &'static str,
    pub shape: Vec<usize>,
    pub work_per_run: f64,
}

fn value_info(name: &str, elem_type: i32, dims: &[usize]) -> proto::ValueInfoProto {
    let dim = dims.iter().map(|&d| proto::tensor_shape_proto::Dimension { value: Some(dimension::Value::DimValue(d as i64)), ..Default::default() }).collect();
    proto::ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(proto::TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor { elem_type: Some(elem_type), shape: Some(proto::TensorShapeProto { dim }) })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn initializer(name: &str, data_type: i32, dims: &[usize], raw: Vec<u8>) -> proto::TensorProto {
    proto::TensorProto {
        name: Some(name.to_string()),
        data_type: Some(data_type),
        dims: dims.iter().map(|&d| d as i64).collect(),
        raw_data: Some(raw.into()),
        ..Default::default()
    }
}

fn model(op: &str, inputs: Vec<proto::ValueInfoProto>, node_inputs: &[&str], init: proto::TensorProto, output: proto::ValueInfoProto) -> Vec<u8> {
    let node = proto::NodeProto {
        op_type: Some(op.to_string()),
        input: node_inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.name.clone().unwrap_or_default()],
        ..Default::default()
    };
    proto::ModelProto {
        ir_version: Some(8),
        opset_import: vec![proto::OperatorSetIdProto { domain: Some(String::new()), version: Some(13) }],
        producer_name: Some("fidelity machine peaks".to_string()),
        graph: Some(proto::GraphProto {
            name: Some(format!("peak-{}", op.to_lowercase())),
            node: vec![node],
            initializer: vec![init],
            input: inputs,
            output: vec![output],
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

/// A deterministic weight pattern: small values, never all equal (nothing for an optimiser to fold).
fn pattern(i: usize) -> i8 {
    ((i * 37 + 11) % 128) as i8 - 64
}

/// `A[n, n] × B[n, n]` in fp32.
pub fn fp32_gemm(n: usize) -> MicroGraph {
    let raw: Vec<u8> = (0..n * n).flat_map(|i| (f32::from(pattern(i)) / 64.0).to_le_bytes()).collect();
    let bytes = model("MatMul", vec![value_info("A", FLOAT, &[n, n])], &["A", "B"], initializer("B", FLOAT, &[n, n], raw), value_info("Y", FLOAT, &[n, n]));
    MicroGraph { bytes, input: "A", shape: vec![n, n], work_per_run: 2.0 * (n as f64).powi(3) }
}

/// `A[n, n] (uint8) × B[n, n] (int8)` accumulated in int32.
pub fn int8_gemm(n: usize) -> MicroGraph {
    let raw: Vec<u8> = (0..n * n).map(|i| pattern(i) as u8).collect();
    let bytes = model("MatMulInteger", vec![value_info("A", UINT8, &[n, n])], &["A", "B"], initializer("B", INT8, &[n, n], raw), value_info("Y", INT32, &[n, n]));
    MicroGraph { bytes, input: "A", shape: vec![n, n], work_per_run: 2.0 * (n as f64).powi(3) }
}

/// `X[elements] + c`: bytes read plus bytes written.
pub fn bandwidth(elements: usize) -> MicroGraph {
    let bytes = model("Add", vec![value_info("X", FLOAT, &[elements])], &["X", "c"], initializer("c", FLOAT, &[], 1.0f32.to_le_bytes().to_vec()), value_info("Y", FLOAT, &[elements]));
    MicroGraph { bytes, input: "X", shape: vec![elements], work_per_run: 8.0 * elements as f64 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_graphs_decode_and_count_their_work() {
        for (g, op, flops) in [(fp32_gemm(8), "MatMul", 2.0 * 512.0), (int8_gemm(8), "MatMulInteger", 2.0 * 512.0)] {
            let stats = crate::onnx::graph_stats(&g.bytes, None).unwrap();
            assert_eq!(stats.op_counts, vec![(op.to_string(), 1)]);
            // fidelity's own cost model agrees with the work each run is credited with.
            assert_eq!(stats.flops_per_example * 8.0, flops);
            assert_eq!(g.work_per_run, flops);
        }
        let b = bandwidth(1000);
        assert_eq!(crate::onnx::graph_stats(&b.bytes, None).unwrap().op_counts, vec![("Add".to_string(), 1)]);
        assert_eq!(b.work_per_run, 8000.0);
        // Weights stay within [-64, 63], where no u8s8 kernel saturates, and vary.
        let w: Vec<i8> = (0..1000).map(pattern).collect();
        assert!(w.iter().all(|&v| (-64..=63).contains(&v)) && w.iter().any(|&v| v != w[0]));
    }
}
