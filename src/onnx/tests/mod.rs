//! Tests of the ONNX reader: (a) hand-built models with hand-computed expectations, (b) the
//! fixture models against the `onnx` package's own counts (`fixtures/model_facts.json`), (c)
//! truncated, corrupted and crafted input: errors, never panics.
//!
//! Test models are written with a small protobuf encoder of their own (below), so the decoder is
//! tested against bytes it did not produce, unknown fields and odd encodings included.

mod fixtures;
mod hand_built;
mod malformed;
mod random;

use super::{graph_stats, GraphStats};

// ---- a hand-written protobuf encoder for test models ----

pub(super) fn varint(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}
pub(super) fn key(field: u32, wire: u8, out: &mut Vec<u8>) {
    varint((u64::from(field) << 3) | u64::from(wire), out);
}
pub(super) fn f_bytes(field: u32, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    key(field, 2, &mut out);
    varint(data.len() as u64, &mut out);
    out.extend_from_slice(data);
    out
}
pub(super) fn f_int(field: u32, v: i64) -> Vec<u8> {
    let mut out = Vec::new();
    key(field, 0, &mut out);
    varint(v as u64, &mut out);
    out
}
pub(super) fn f_str(field: u32, s: &str) -> Vec<u8> {
    f_bytes(field, s.as_bytes())
}
pub(super) fn packed_varints(field: u32, values: &[i64]) -> Vec<u8> {
    let mut body = Vec::new();
    for &v in values {
        varint(v as u64, &mut body);
    }
    f_bytes(field, &body)
}
pub(super) fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}
pub(super) fn f32_le(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// TensorProto with raw_data (dims unpacked, as many writers do).
pub(super) fn tensor_raw(name: &str, data_type: i64, dims: &[i64], raw: &[u8]) -> Vec<u8> {
    let mut parts: Vec<Vec<u8>> = dims.iter().map(|&d| f_int(1, d)).collect();
    parts.push(f_int(2, data_type));
    parts.push(f_str(8, name));
    parts.push(f_bytes(9, raw));
    cat(&parts)
}
pub(super) fn tensor_f32(name: &str, dims: &[i64], values: &[f32]) -> Vec<u8> {
    tensor_raw(name, 1, dims, &f32_le(values))
}
/// TensorProto with packed float_data (field 4) and packed dims.
pub(super) fn tensor_float_data(name: &str, dims: &[i64], values: &[f32]) -> Vec<u8> {
    cat(&[packed_varints(1, dims), f_int(2, 1), f_bytes(4, &f32_le(values)), f_str(8, name)])
}
pub(super) fn tensor_ints(name: &str, data_type: i64, field: u32, dims: &[i64], values: &[i64]) -> Vec<u8> {
    cat(&[packed_varints(1, dims), f_int(2, data_type), packed_varints(field, values), f_str(8, name)])
}

pub(super) enum D<'a> {
    V(i64),
    P(&'a str),
}
pub(super) use D::{P, V};

pub(super) fn value_info(name: &str, elem_type: i64, dims: &[D<'_>]) -> Vec<u8> {
    let dims: Vec<Vec<u8>> = dims
        .iter()
        .map(|d| {
            f_bytes(
                1,
                &match d {
                    V(v) => f_int(1, *v),
                    P(p) => f_str(2, p),
                },
            )
        })
        .collect();
    let tensor_type = cat(&[f_int(1, elem_type), f_bytes(2, &cat(&dims))]);
    cat(&[f_str(1, name), f_bytes(2, &f_bytes(1, &tensor_type))])
}
pub(super) fn attr_i(name: &str, v: i64) -> Vec<u8> {
    cat(&[f_str(1, name), f_int(3, v), f_int(20, 2)])
}
pub(super) fn attr_ints(name: &str, v: &[i64]) -> Vec<u8> {
    let mut parts = vec![f_str(1, name)];
    parts.extend(v.iter().map(|&x| f_int(8, x)));
    parts.push(f_int(20, 7));
    cat(&parts)
}
pub(super) fn attr_s(name: &str, s: &str) -> Vec<u8> {
    cat(&[f_str(1, name), f_str(4, s), f_int(20, 3)])
}
pub(super) fn node(op: &str, inputs: &[&str], outputs: &[&str], attrs: &[Vec<u8>]) -> Vec<u8> {
    let mut parts: Vec<Vec<u8>> = inputs.iter().map(|i| f_str(1, i)).collect();
    parts.extend(outputs.iter().map(|o| f_str(2, o)));
    parts.push(f_str(3, &format!("{op}_{}", outputs.first().copied().unwrap_or(""))));
    parts.push(f_str(4, op));
    parts.extend(attrs.iter().map(|a| f_bytes(5, a)));
    cat(&parts)
}
pub(super) struct G {
    pub(super) nodes: Vec<Vec<u8>>,
    pub(super) inits: Vec<Vec<u8>>,
    pub(super) inputs: Vec<Vec<u8>>,
    pub(super) outputs: Vec<Vec<u8>>,
    value_info: Vec<Vec<u8>>,
}
pub(super) fn graph(g: &G) -> Vec<u8> {
    let mut parts = Vec::new();
    parts.extend(g.nodes.iter().map(|n| f_bytes(1, n)));
    parts.push(f_str(2, "test"));
    parts.extend(g.inits.iter().map(|t| f_bytes(5, t)));
    parts.extend(g.inputs.iter().map(|v| f_bytes(11, v)));
    parts.extend(g.outputs.iter().map(|v| f_bytes(12, v)));
    parts.extend(g.value_info.iter().map(|v| f_bytes(13, v)));
    cat(&parts)
}
pub(super) fn model(g: &G) -> Vec<u8> {
    let opset = cat(&[f_str(1, ""), f_int(2, 17)]);
    cat(&[f_int(1, 8), f_str(2, "test"), f_bytes(7, &graph(g)), f_bytes(8, &opset)])
}
pub(super) fn stats(g: &G, l: Option<f64>) -> GraphStats {
    graph_stats(&model(g), l).unwrap_or_else(|e| panic!("{e}"))
}
pub(super) fn ops(list: &[(&str, u64)]) -> Vec<(String, u64)> {
    list.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}
pub(super) const FLOAT: i64 = 1;
pub(super) const INT8: i64 = 3;
pub(super) const INT64: i64 = 7;

pub(super) fn tabular_matmul() -> G {
    G {
        nodes: vec![node("MatMul", &["x", "W"], &["h"], &[]), node("Add", &["h", "b"], &["y"], &[])],
        inits: vec![
            // 4 zeros (one of them -0.0) out of 12.
            tensor_f32("W", &[4, 3], &[1.0, 0.0, 2.0, 0.0, 0.0, 3.0, -0.0, 4.0, 5.0, 6.0, 7.0, 8.0]),
            tensor_f32("b", &[3], &[0.5, 0.0, 1.0]),
        ],
        inputs: vec![value_info("x", FLOAT, &[P("N"), V(4)])],
        outputs: vec![value_info("y", FLOAT, &[P("N"), V(3)])],
        value_info: vec![],
    }
}

pub(super) fn fixture(rel: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The byte range of the payload of top-level field `field` (length-delimited), read with the
/// test's own varint reader.
pub(super) fn field_range(bytes: &[u8], field: u64) -> std::ops::Range<usize> {
    let mut pos = 0;
    let read_varint = |pos: &mut usize| {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = bytes[*pos];
            *pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                break;
            }
        }
        v
    };
    while pos < bytes.len() {
        let key = read_varint(&mut pos);
        match key & 7 {
            0 => {
                read_varint(&mut pos);
            }
            1 => pos += 8,
            5 => pos += 4,
            2 => {
                let n = read_varint(&mut pos) as usize;
                if key >> 3 == field {
                    return pos..pos + n;
                }
                pos += n;
            }
            w => panic!("wire type {w} in a fixture"),
        }
    }
    panic!("no field {field}");
}

#[test]
fn proto_is_generated_from_the_vendored_file() {
    use sha2::Digest;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/onnx/proto");
    let proto = std::fs::read(dir.join("onnx-ml.proto")).unwrap();
    let generated = std::fs::read_to_string(dir.join("onnx.rs")).unwrap();
    let want = format!("// onnx-ml.proto sha256: {:x}", sha2::Sha256::digest(&proto));
    assert!(generated.lines().take(3).any(|l| l == want), "src/onnx/proto/onnx.rs is stale: run scripts/generate-onnx-proto.sh");
}
