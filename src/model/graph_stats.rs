//! Size and cost of an ONNX model, read from the model file itself: parameter count, nonzero
//! parameters, bytes of weights, operator counts and an estimate of floating-point operations per
//! example.
//!
//! The file is read with a small protobuf reader written for the handful of `onnx.proto` fields
//! needed here (no generated code, no new crate). Unknown fields of every wire type are skipped;
//! anything malformed or truncated is an `Err` naming the message and field, never a panic. Only the
//! top-level graph is read: subgraphs (the bodies of `If`, `Loop`, `Scan`) are neither counted nor
//! costed, and an assumption says so when a graph has them.
//!
//! # Size
//!
//! - `parameters`: elements of every initializer and sparse initializer (from `dims`; a scalar is
//!   one element), whatever the element type: quantization scales and zero points and the small
//!   integer constants of a graph (axes, shapes) count too.
//! - `nonzero_parameters`: elements that are not zero. A value is zero when all its bytes are zero,
//!   except that for floating-point types the sign bit is ignored (−0.0 counts as zero); for the
//!   `FNUZ` float8 types the byte 0x80 is NaN, not −0, and counts as nonzero. Read from `raw_data`
//!   (little-endian) or from the typed fields (`float_data`, `int32_data`, `int64_data`,
//!   `double_data`, `uint64_data`; strings count when not empty). Quantized weights are judged by
//!   their stored integers: an int8 weight equal to its zero point but not to 0 counts as nonzero.
//!   Sparse initializers count `prod(dims)` parameters and the nonzero values they store.
//!   Initializers with external data (`data_location = EXTERNAL`) are not read: their elements
//!   count as nonzero, and an assumption says so. So do elements of data types this reader does not
//!   interpret (none in ONNX 1.20 except `UNDEFINED`).
//! - `parameter_bytes`: the length of `raw_data` when present, otherwise the elements times the
//!   element size (sub-byte types packed, strings by their lengths); sparse initializers count
//!   their values and indices; no protobuf overhead.
//! - `op_counts`: nodes of the top-level graph per `op_type`, sorted by name.
//!
//! # FLOPs per example
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
//! Shapes come from a light symbolic shape propagation over the graph (nodes in file order, as ONNX
//! requires). Every dimension is a monomial `c · batch^i · sequence^j` or unknown: the first
//! dimension of each graph input is the batch; the second dimension of an integer (int32/int64)
//! rank-2 graph input, unless it is a fixed number, is the sequence (token ids), and so is any other
//! input dimension with the same `dim_param` name; initializers have their fixed dims. Shapes pass
//! through element-wise ops (with broadcasting), Gather, MatMul/Gemm, Conv and pooling (strides,
//! pads, dilations, `auto_pad`, `ceil_mode`), reductions (`axes` as attribute or constant input,
//! `keepdims`), Reshape with a constant shape, Transpose, (Un)Squeeze, Flatten, Concat, Slice and
//! Split with constant arguments, Expand, Pad, Cast, (De)QuantizeLinear, DynamicQuantizeLinear,
//! and Constant/ConstantOfShape. Shapes declared in the file (`value_info`, graph outputs) fill in
//! what propagation leaves unknown. "Per example" divides the output's element count by the batch;
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

use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Debug, Clone, PartialEq, serde::Serialize, schemars::JsonSchema)]
pub struct GraphStats {
    /// Elements in all initializers (weights and biases), whatever their type.
    pub parameters: u64,
    /// Initializer elements that are not zero (pruned models keep their zeros on disk).
    pub nonzero_parameters: u64,
    /// Bytes of initializer data (raw_data or typed fields), not counting protobuf overhead.
    pub parameter_bytes: u64,
    /// Estimated floating-point operations for ONE example, counting a multiply-add as 2, for
    /// MatMul / Gemm / MatMulInteger / Conv / ConvInteger (and QLinearMatMul / QLinearConv) nodes.
    pub flops_per_example: f64,
    /// Nodes per op type, sorted by name (for the report).
    pub op_counts: Vec<(String, u64)>,
    /// What the FLOPs estimate assumed, e.g. "sequence length 24 (data mean)".
    pub assumptions: Vec<String>,
}

/// Reads `bytes` (a serialized `ModelProto`) and measures it; `sequence_length` is the number of
/// tokens per example to cost sequence dimensions at (the data's mean length, typically). Errors
/// name the problem but not the file, which the caller adds.
pub fn graph_stats(bytes: &[u8], sequence_length: Option<f64>) -> Result<GraphStats, String> {
    if let Some(l) = sequence_length {
        if !(l.is_finite() && l > 0.0) {
            return Err(format!("sequence length must be a positive number, got {l}"));
        }
    }
    if bytes.is_empty() {
        return Err("the file is empty, not an ONNX model".to_string());
    }
    let graph = parse_model(bytes).map_err(|e| format!("not a readable ONNX model: {e}"))?;
    analyse(&graph, sequence_length)
}

/// The graph's integer kernels (see [`super::integer_kernels`]): parses the file and reads the
/// range of every int8 initializer stored as `raw_data` (an int8 initializer in typed fields or in
/// external data has an unknown range). Errors as [`graph_stats`].
pub fn integer_kernels(bytes: &[u8]) -> Result<super::integer_kernels::IntegerKernels, String> {
    if bytes.is_empty() {
        return Err("the file is empty, not an ONNX model".to_string());
    }
    let graph = parse_model(bytes).map_err(|e| format!("not a readable ONNX model: {e}"))?;
    const INT8: i64 = 3;
    let ranges: HashMap<&str, Option<(i8, i8)>> = graph
        .initializers
        .iter()
        .filter(|t| t.data_type == INT8)
        .map(|t| {
            let range = t.raw.filter(|_| !t.external).and_then(|raw| {
                let values = raw.iter().map(|&b| b as i8);
                values.clone().min().zip(values.max())
            });
            (t.name.as_str(), range)
        })
        .collect();
    let nodes: Vec<super::integer_kernels::NodeView<'_>> =
        graph.nodes.iter().map(|n| super::integer_kernels::NodeView { op_type: &n.op_type, inputs: &n.inputs, outputs: &n.outputs }).collect();
    Ok(super::integer_kernels::find(&nodes, &ranges))
}

// ---------------------------------------------------------------------------------------------
// Protobuf wire format
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
enum Wire<'a> {
    Varint(u64),
    Fixed64(u64),
    Bytes(&'a [u8]),
    Fixed32(u32),
}

impl Wire<'_> {
    fn kind(&self) -> &'static str {
        match self {
            Wire::Varint(_) => "a varint",
            Wire::Fixed64(_) => "a 64-bit value",
            Wire::Bytes(_) => "length-delimited",
            Wire::Fixed32(_) => "a 32-bit value",
        }
    }
}

/// The fields of one message, in order.
struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
    msg: &'static str,
}

impl<'a> Fields<'a> {
    fn new(buf: &'a [u8], msg: &'static str) -> Self {
        Self { buf, pos: 0, msg }
    }

    fn varint(&mut self) -> Result<u64, String> {
        let mut value = 0u64;
        for i in 0..10u32 {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(format!("{}: truncated varint (file cut short?)", self.msg));
            };
            self.pos += 1;
            if i == 9 && byte > 1 {
                return Err(format!("{}: varint longer than 64 bits", self.msg));
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!("{}: varint longer than 10 bytes", self.msg))
    }

    fn take(&mut self, n: u64, field: u32) -> Result<&'a [u8], String> {
        let left = self.buf.len().saturating_sub(self.pos);
        if n > left as u64 {
            return Err(format!("{}: field {field} needs {n} bytes but only {left} remain (file cut short or corrupted?)", self.msg));
        }
        let start = self.pos;
        self.pos += n as usize;
        Ok(&self.buf[start..self.pos])
    }

    fn next(&mut self) -> Result<Option<(u32, Wire<'a>)>, String> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let field = key >> 3;
        if field == 0 || field > 0x1FFF_FFFF {
            return Err(format!("{}: invalid field number {field}", self.msg));
        }
        let field = field as u32;
        let value = match key & 7 {
            0 => Wire::Varint(self.varint()?),
            1 => Wire::Fixed64(le_u64(self.take(8, field)?)),
            2 => {
                let n = self.varint()?;
                Wire::Bytes(self.take(n, field)?)
            }
            5 => Wire::Fixed32(le_u64(self.take(4, field)?) as u32),
            w => return Err(format!("{}: field {field} has wire type {w}, which ONNX never uses (not an ONNX file, or corrupted)", self.msg)),
        };
        Ok(Some((field, value)))
    }
}

fn le_u64(bytes: &[u8]) -> u64 {
    bytes.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

fn wrong_wire(msg: &str, field: u32, got: Wire<'_>, expected: &str) -> String {
    format!("{msg}: field {field} is {}, expected {expected}", got.kind())
}

fn want_varint(v: Wire<'_>, msg: &str, field: u32) -> Result<u64, String> {
    match v {
        Wire::Varint(x) => Ok(x),
        other => Err(wrong_wire(msg, field, other, "a varint")),
    }
}

fn want_bytes<'a>(v: Wire<'a>, msg: &str, field: u32) -> Result<&'a [u8], String> {
    match v {
        Wire::Bytes(b) => Ok(b),
        other => Err(wrong_wire(msg, field, other, "length-delimited")),
    }
}

fn want_string(v: Wire<'_>, msg: &str, field: u32) -> Result<String, String> {
    Ok(String::from_utf8_lossy(want_bytes(v, msg, field)?).into_owned())
}

/// A repeated varint field, packed or not.
fn each_varint(v: Wire<'_>, msg: &'static str, field: u32, mut f: impl FnMut(u64)) -> Result<(), String> {
    match v {
        Wire::Varint(x) => f(x),
        Wire::Bytes(b) => {
            let mut r = Fields::new(b, msg);
            while r.pos < b.len() {
                f(r.varint()?);
            }
        }
        other => return Err(wrong_wire(msg, field, other, "varints")),
    }
    Ok(())
}

/// A repeated fixed-width field (4 or 8 bytes), packed or not.
fn each_fixed(v: Wire<'_>, msg: &str, field: u32, width: usize, mut f: impl FnMut(u64)) -> Result<(), String> {
    match (v, width) {
        (Wire::Fixed32(x), 4) => f(u64::from(x)),
        (Wire::Fixed64(x), 8) => f(x),
        (Wire::Bytes(b), _) => {
            if b.len() % width != 0 {
                return Err(format!("{msg}: packed field {field} holds {} bytes, not a multiple of {width}", b.len()));
            }
            for chunk in b.chunks_exact(width) {
                f(le_u64(chunk));
            }
        }
        (other, _) => return Err(wrong_wire(msg, field, other, &format!("{}-bit values", width * 8))),
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ONNX messages (only what is needed)
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Graph<'a> {
    nodes: Vec<Node>,
    initializers: Vec<RawTensor<'a>>,
    sparse: Vec<RawSparse<'a>>,
    inputs: Vec<ValueInfo>,
    outputs: Vec<ValueInfo>,
    value_info: Vec<ValueInfo>,
}

#[derive(Default)]
struct Node {
    name: String,
    op_type: String,
    inputs: Vec<String>,
    outputs: Vec<String>,
    attrs: Vec<Attr>,
}

#[derive(Default)]
struct Attr {
    name: String,
    f: Option<f32>,
    i: Option<i64>,
    ints: Option<Vec<i64>>,
    floats: usize,
    s: Option<String>,
    t: Option<TensorSummary>,
    has_graph: bool,
}

#[derive(Default)]
struct RawTensor<'a> {
    name: String,
    dims: Vec<i64>,
    data_type: i64,
    raw: Option<&'a [u8]>,
    typed: Vec<(u32, Wire<'a>)>,
    external: bool,
}

#[derive(Default)]
struct RawSparse<'a> {
    values: RawTensor<'a>,
    indices: RawTensor<'a>,
    dims: Vec<i64>,
}

#[derive(Default)]
struct ValueInfo {
    name: String,
    elem_type: Option<i64>,
    /// None: no shape declared (unknown rank).
    dims: Option<Vec<DimInfo>>,
}

#[derive(Default, Clone)]
enum DimInfo {
    Value(i64),
    Param(String),
    #[default]
    Unset,
}

fn parse_model(bytes: &[u8]) -> Result<Graph<'_>, String> {
    const M: &str = "ModelProto";
    let mut graph = Graph::default();
    let mut seen = false;
    let mut r = Fields::new(bytes, M);
    while let Some((field, v)) = r.next()? {
        if field == 7 {
            parse_graph(want_bytes(v, M, field)?, &mut graph)?;
            seen = true;
        }
    }
    if !seen {
        return Err("it has no graph (ModelProto field 7)".to_string());
    }
    if graph.outputs.is_empty() {
        return Err("its graph declares no outputs".to_string());
    }
    Ok(graph)
}

fn parse_graph<'a>(buf: &'a [u8], g: &mut Graph<'a>) -> Result<(), String> {
    const M: &str = "GraphProto";
    let mut r = Fields::new(buf, M);
    while let Some((field, v)) = r.next()? {
        match field {
            1 => {
                let i = g.nodes.len();
                let mut node = Node::default();
                parse_node(want_bytes(v, M, field)?, &mut node).map_err(|e| format!("graph node {i}: {e}"))?;
                g.nodes.push(node);
            }
            5 => {
                let i = g.initializers.len();
                let mut t = RawTensor::default();
                parse_tensor(want_bytes(v, M, field)?, &mut t).map_err(|e| format!("initializer {i}: {e}"))?;
                g.initializers.push(t);
            }
            15 => {
                let i = g.sparse.len();
                let mut s = RawSparse::default();
                parse_sparse(want_bytes(v, M, field)?, &mut s).map_err(|e| format!("sparse initializer {i}: {e}"))?;
                g.sparse.push(s);
            }
            11..=13 => {
                let what = match field {
                    11 => "input",
                    12 => "output",
                    _ => "value_info",
                };
                let mut vi = ValueInfo::default();
                parse_value_info(want_bytes(v, M, field)?, &mut vi).map_err(|e| format!("graph {what}: {e}"))?;
                match field {
                    11 => g.inputs.push(vi),
                    12 => g.outputs.push(vi),
                    _ => g.value_info.push(vi),
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse_node(buf: &[u8], node: &mut Node) -> Result<(), String> {
    const M: &str = "NodeProto";
    let mut r = Fields::new(buf, M);
    while let Some((field, v)) = r.next()? {
        match field {
            1 => node.inputs.push(want_string(v, M, field)?),
            2 => node.outputs.push(want_string(v, M, field)?),
            3 => node.name = want_string(v, M, field)?,
            4 => node.op_type = want_string(v, M, field)?,
            5 => {
                let mut a = Attr::default();
                parse_attr(want_bytes(v, M, field)?, &mut a)?;
                node.attrs.push(a);
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse_attr(buf: &[u8], a: &mut Attr) -> Result<(), String> {
    const M: &str = "AttributeProto";
    let mut r = Fields::new(buf, M);
    while let Some((field, v)) = r.next()? {
        match field {
            1 => a.name = want_string(v, M, field)?,
            2 => match v {
                Wire::Fixed32(x) => a.f = Some(f32::from_bits(x)),
                other => return Err(wrong_wire(M, field, other, "a 32-bit float")),
            },
            3 => a.i = Some(want_varint(v, M, field)? as i64),
            4 => a.s = Some(want_string(v, M, field)?),
            5 => {
                let mut t = RawTensor::default();
                parse_tensor(want_bytes(v, M, field)?, &mut t)?;
                a.t = Some(summarize(&t).map_err(|e| format!("attribute tensor: {e}"))?);
            }
            6 | 11 => {
                want_bytes(v, M, field)?;
                a.has_graph = true;
            }
            7 => each_fixed(v, M, field, 4, |_| a.floats += 1)?,
            8 => {
                let ints = a.ints.get_or_insert_with(Vec::new);
                each_varint(v, M, field, |x| ints.push(x as i64))?;
            }
            _ => {}
        }
    }
    Ok(())
}

fn parse_tensor<'a>(buf: &'a [u8], t: &mut RawTensor<'a>) -> Result<(), String> {
    const M: &str = "TensorProto";
    let mut r = Fields::new(buf, M);
    while let Some((field, v)) = r.next()? {
        match field {
            1 => each_varint(v, M, field, |x| t.dims.push(x as i64))?,
            2 => t.data_type = want_varint(v, M, field)? as i64,
            4 | 5 | 6 | 7 | 10 | 11 => t.typed.push((field, v)),
            8 => t.name = want_string(v, M, field)?,
            9 => t.raw = Some(want_bytes(v, M, field)?),
            13 => {
                want_bytes(v, M, field)?;
            }
            14 => t.external = want_varint(v, M, field)? == 1,
            _ => {}
        }
    }
    Ok(())
}

fn parse_sparse<'a>(buf: &'a [u8], s: &mut RawSparse<'a>) -> Result<(), String> {
    const M: &str = "SparseTensorProto";
    let mut r = Fields::new(buf, M);
    while let Some((field, v)) = r.next()? {
        match field {
            1 => parse_tensor(want_bytes(v, M, field)?, &mut s.values).map_err(|e| format!("values: {e}"))?,
            2 => parse_tensor(want_bytes(v, M, field)?, &mut s.indices).map_err(|e| format!("indices: {e}"))?,
            3 => each_varint(v, M, field, |x| s.dims.push(x as i64))?,
            _ => {}
        }
    }
    Ok(())
}

fn parse_value_info(buf: &[u8], vi: &mut ValueInfo) -> Result<(), String> {
    const M: &str = "ValueInfoProto";
    let mut r = Fields::new(buf, M);
    while let Some((field, v)) = r.next()? {
        match field {
            1 => vi.name = want_string(v, M, field)?,
            2 => parse_type(want_bytes(v, M, field)?, vi)?,
            _ => {}
        }
    }
    Ok(())
}

fn parse_type(buf: &[u8], vi: &mut ValueInfo) -> Result<(), String> {
    const M: &str = "TypeProto";
    let mut r = Fields::new(buf, M);
    while let Some((field, v)) = r.next()? {
        // 1: tensor_type; 8: sparse_tensor_type (same layout for the fields read here).
        if field == 1 || field == 8 {
            let mut t = Fields::new(want_bytes(v, M, field)?, "TypeProto.Tensor");
            while let Some((f2, v2)) = t.next()? {
                match f2 {
                    1 => vi.elem_type = Some(want_varint(v2, "TypeProto.Tensor", f2)? as i64),
                    2 => {
                        let dims = vi.dims.get_or_insert_with(Vec::new);
                        let mut s = Fields::new(want_bytes(v2, "TypeProto.Tensor", f2)?, "TensorShapeProto");
                        while let Some((f3, v3)) = s.next()? {
                            if f3 == 1 {
                                dims.push(parse_dim(want_bytes(v3, "TensorShapeProto", f3)?)?);
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

fn parse_dim(buf: &[u8]) -> Result<DimInfo, String> {
    const M: &str = "TensorShapeProto.Dimension";
    let mut d = DimInfo::Unset;
    let mut r = Fields::new(buf, M);
    while let Some((field, v)) = r.next()? {
        match field {
            1 => d = DimInfo::Value(want_varint(v, M, field)? as i64),
            2 => d = DimInfo::Param(want_string(v, M, field)?),
            _ => {}
        }
    }
    Ok(d)
}

// ---------------------------------------------------------------------------------------------
// Tensor contents
// ---------------------------------------------------------------------------------------------

/// How the elements of a data type are stored and when one is zero.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// Integers (and bool, and the FNUZ float8 types, whose only zero is all-zero bits).
    Int {
        size: u64,
    },
    /// IEEE-like floats: zero whatever the sign bit. `comp` is the size of one component
    /// (complex types have two).
    Float {
        size: u64,
        comp: u64,
    },
    /// FLOAT8E8M0: a power of two, never zero.
    NeverZero,
    /// Sub-byte types, packed LSB first in `raw_data`.
    Packed {
        bits: u32,
        float: bool,
    },
    Str,
    Unknown,
}

fn kind_of(data_type: i64) -> Kind {
    match data_type {
        1 => Kind::Float { size: 4, comp: 4 },
        2 | 3 | 9 | 18 | 20 => Kind::Int { size: 1 },
        4 | 5 => Kind::Int { size: 2 },
        6 | 12 => Kind::Int { size: 4 },
        7 | 13 => Kind::Int { size: 8 },
        8 => Kind::Str,
        10 | 16 => Kind::Float { size: 2, comp: 2 },
        11 => Kind::Float { size: 8, comp: 8 },
        14 => Kind::Float { size: 8, comp: 4 },
        15 => Kind::Float { size: 16, comp: 8 },
        17 | 19 => Kind::Float { size: 1, comp: 1 },
        21 | 22 => Kind::Packed { bits: 4, float: false },
        23 => Kind::Packed { bits: 4, float: true },
        24 => Kind::NeverZero,
        25 | 26 => Kind::Packed { bits: 2, float: false },
        27 | 28 => Kind::Packed { bits: 6, float: true },
        _ => Kind::Unknown,
    }
}

/// Bytes that `n` elements take in `raw_data`; None for strings and unknown types.
fn storage_bytes(kind: Kind, n: u64) -> Option<u64> {
    match kind {
        Kind::Int { size } | Kind::Float { size, .. } => n.checked_mul(size),
        Kind::NeverZero => Some(n),
        Kind::Packed { bits, .. } => n.checked_mul(u64::from(bits)).map(|b| b.div_ceil(8)),
        Kind::Str | Kind::Unknown => None,
    }
}

/// Is a little-endian float component zero, ignoring its sign bit?
fn float_bytes_zero(c: &[u8]) -> bool {
    match c.split_last() {
        Some((last, rest)) => last & 0x7f == 0 && rest.iter().all(|&b| b == 0),
        None => true,
    }
}

fn packed_zero(value: u64, bits: u32, float: bool) -> bool {
    let mask = (1u64 << bits) - 1;
    let v = value & mask;
    if float {
        v & (mask >> 1) == 0
    } else {
        v == 0
    }
}

#[derive(Debug, Clone, Default)]
struct TensorSummary {
    dims: Vec<u64>,
    elements: u64,
    nonzero: u64,
    bytes: u64,
    external: bool,
    unknown_type: Option<i64>,
    /// Values of small int32/int64 tensors (axes, shapes), for shape propagation.
    ints: Option<Vec<i64>>,
}

const SMALL_INTS: u64 = 64;
/// Shapes of higher rank are dropped (unknown); ONNX Runtime itself stops far below.
const MAX_RANK: usize = 64;

fn summarize(t: &RawTensor<'_>) -> Result<TensorSummary, String> {
    let mut dims = Vec::with_capacity(t.dims.len());
    let mut elements = 1u64;
    for &d in &t.dims {
        let d = u64::try_from(d).map_err(|_| format!("negative dimension {d} in dims {:?}", t.dims))?;
        dims.push(d);
        elements = elements.checked_mul(d).ok_or_else(|| format!("dims {:?} hold more than 2^64 elements", t.dims))?;
    }
    let n = elements;
    let kind = kind_of(t.data_type);
    let mut s = TensorSummary { dims, elements: n, ..Default::default() };
    if kind == Kind::Unknown {
        s.unknown_type = Some(t.data_type);
    }
    if t.external {
        s.external = true;
        s.nonzero = n;
        s.bytes = storage_bytes(kind, n).unwrap_or(0);
        return Ok(s);
    }
    let raw = t.raw.filter(|r| !r.is_empty() || t.typed.is_empty());
    if let Some(raw) = raw {
        match kind {
            Kind::Str => return Err("a string tensor cannot use raw_data".to_string()),
            Kind::Unknown => {
                s.nonzero = n;
                s.bytes = raw.len() as u64;
                return Ok(s);
            }
            _ => {}
        }
        let expected = storage_bytes(kind, n).ok_or_else(|| format!("dims {:?} are too large", t.dims))?;
        if raw.len() as u64 != expected {
            return Err(format!("raw_data holds {} bytes but dims {:?} of data type {} need {expected}", raw.len(), t.dims, t.data_type));
        }
        s.bytes = expected;
        s.nonzero = match kind {
            Kind::Int { size } => raw.chunks_exact(size as usize).filter(|c| c.iter().any(|&b| b != 0)).count() as u64,
            Kind::Float { size, comp } => raw.chunks_exact(size as usize).filter(|e| !e.chunks_exact(comp as usize).all(float_bytes_zero)).count() as u64,
            Kind::NeverZero => n,
            Kind::Packed { bits, float } => {
                let mut count = 0u64;
                for i in 0..n {
                    let bit = i * u64::from(bits);
                    let at = (bit / 8) as usize;
                    let lo = u64::from(raw.get(at).copied().unwrap_or(0));
                    let hi = u64::from(raw.get(at + 1).copied().unwrap_or(0));
                    if !packed_zero((lo | (hi << 8)) >> (bit % 8), bits, float) {
                        count += 1;
                    }
                }
                count
            }
            Kind::Str | Kind::Unknown => 0,
        };
        if n <= SMALL_INTS && (t.data_type == 6 || t.data_type == 7) {
            let width = if t.data_type == 6 { 4 } else { 8 };
            s.ints = Some(raw.chunks_exact(width).map(|c| if width == 4 { le_u64(c) as u32 as i32 as i64 } else { le_u64(c) as i64 }).collect());
        }
        return Ok(s);
    }

    // Typed fields.
    let (field, width) = match kind {
        Kind::Float { comp: 4, .. } => (4, 4),
        Kind::Float { comp: 8, .. } => (10, 8),
        Kind::Int { size: 8 } if t.data_type == 7 => (7, 0),
        Kind::Int { size: 8 } | Kind::Int { size: 4 } if t.data_type == 13 || t.data_type == 12 => (11, 0),
        Kind::Str => (6, 0),
        Kind::Unknown => {
            s.nonzero = n;
            return Ok(s);
        }
        _ => (5, 0),
    };
    let field_name = match field {
        4 => "float_data",
        5 => "int32_data",
        6 => "string_data",
        7 => "int64_data",
        10 => "double_data",
        _ => "uint64_data",
    };
    let mut values: Vec<u64> = Vec::new();
    let mut count_values = 0u64;
    let mut string_bytes = 0u64;
    let mut string_nonzero = 0u64;
    let keep = n <= SMALL_INTS;
    for &(f, v) in t.typed.iter().filter(|(f, _)| *f == field) {
        let mut push = |x: u64| {
            count_values += 1;
            if keep {
                values.push(x);
            }
        };
        match field {
            6 => {
                let b = want_bytes(v, "TensorProto", f)?;
                count_values += 1;
                string_bytes += b.len() as u64;
                string_nonzero += u64::from(!b.is_empty());
            }
            4 | 10 => each_fixed(v, "TensorProto", f, width, &mut push)?,
            _ => each_varint(v, "TensorProto", f, &mut push)?,
        }
    }
    let per_value = match kind {
        Kind::Packed { bits, .. } if 8 % bits == 0 => u64::from(8 / bits),
        _ => 1,
    };
    let comps = match kind {
        Kind::Float { size, comp } => size / comp,
        _ => 1,
    };
    let expected_values = match kind {
        Kind::Packed { .. } => n.div_ceil(per_value),
        _ => n.checked_mul(comps).ok_or_else(|| format!("dims {:?} are too large", t.dims))?,
    };
    if count_values != expected_values {
        if count_values == 0 {
            return Err(format!("no data: dims {:?} need {n} elements but the tensor stores none", t.dims));
        }
        return Err(format!("{field_name} holds {count_values} values but dims {:?} of data type {} need {expected_values}", t.dims, t.data_type));
    }
    if kind == Kind::Str {
        s.nonzero = string_nonzero;
        s.bytes = string_bytes;
        return Ok(s);
    }
    s.bytes = storage_bytes(kind, n).unwrap_or(0);
    // Walk the values again (no allocation for large tensors).
    let mut nonzero = 0u64;
    let mut index = 0u64; // value index
    let mut group_zero = true;
    let mut visit = |x: u64| {
        match kind {
            Kind::Int { .. } => nonzero += u64::from(x != 0),
            Kind::NeverZero => nonzero += 1,
            Kind::Float { comp, .. } => {
                let sign_free = match comp {
                    1 => x & 0x7f,
                    2 => x & 0x7fff,
                    4 => x & 0x7fff_ffff,
                    _ => x & 0x7fff_ffff_ffff_ffff,
                };
                group_zero &= sign_free == 0;
                if (index + 1).is_multiple_of(comps) {
                    nonzero += u64::from(!group_zero);
                    group_zero = true;
                }
            }
            Kind::Packed { bits, float } => {
                for j in 0..per_value {
                    if index * per_value + j < n && !packed_zero(x >> (j * u64::from(bits)), bits, float) {
                        nonzero += 1;
                    }
                }
            }
            Kind::Str | Kind::Unknown => {}
        }
        index += 1;
    };
    for &(f, v) in t.typed.iter().filter(|(f, _)| *f == field) {
        match field {
            4 | 10 => each_fixed(v, "TensorProto", f, width, &mut visit)?,
            _ => each_varint(v, "TensorProto", f, &mut visit)?,
        }
    }
    s.nonzero = nonzero;
    if n <= SMALL_INTS && (t.data_type == 6 || t.data_type == 7) && keep {
        s.ints = Some(values.iter().map(|&x| if t.data_type == 6 { x as i64 as i32 as i64 } else { x as i64 }).collect());
    }
    Ok(s)
}

// ---------------------------------------------------------------------------------------------
// Symbolic shapes
// ---------------------------------------------------------------------------------------------

/// `coef · batch^batch · sequence^seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Mono {
    coef: u64,
    batch: u32,
    seq: u32,
}

type Dim = Option<Mono>;
type Shape = Vec<Dim>;

const ONE: Mono = Mono { coef: 1, batch: 0, seq: 0 };
const BATCH: Mono = Mono { coef: 1, batch: 1, seq: 0 };
const SEQ: Mono = Mono { coef: 1, batch: 0, seq: 1 };

fn fixed(n: u64) -> Dim {
    Some(Mono { coef: n, batch: 0, seq: 0 })
}

fn fixed_i(n: i64) -> Dim {
    u64::try_from(n).ok().and_then(fixed)
}

impl Mono {
    fn mul(self, o: Mono) -> Option<Mono> {
        Some(Mono { coef: self.coef.checked_mul(o.coef)?, batch: self.batch.checked_add(o.batch)?, seq: self.seq.checked_add(o.seq)? })
    }

    fn div(self, o: Mono) -> Option<Mono> {
        if o.coef == 0 || !self.coef.is_multiple_of(o.coef) {
            return None;
        }
        Some(Mono { coef: self.coef / o.coef, batch: self.batch.checked_sub(o.batch)?, seq: self.seq.checked_sub(o.seq)? })
    }

    fn as_fixed(self) -> Option<u64> {
        (self.batch == 0 && self.seq == 0).then_some(self.coef)
    }

    fn eval(self, sequence: f64) -> f64 {
        let pow = i32::try_from(self.seq).unwrap_or(i32::MAX);
        self.coef as f64 * sequence.powi(pow)
    }
}

fn product(dims: &[Dim]) -> Dim {
    dims.iter().try_fold(ONE, |acc, d| acc.mul((*d)?))
}

/// Elements of one example: the product of the dims, divided by the batch.
fn per_example(shape: &[Dim]) -> Option<Mono> {
    let p = product(shape)?;
    match p.batch {
        0 => Some(p),
        1 => Some(Mono { batch: 0, ..p }),
        _ => None,
    }
}

fn broadcast(shapes: &[&[Dim]]) -> Shape {
    let rank = shapes.iter().map(|s| s.len()).max().unwrap_or(0);
    (0..rank)
        .map(|i| {
            // i-th dimension counting from the right.
            let dims: Vec<Dim> = shapes.iter().filter(|s| s.len() > i).map(|s| s[s.len() - 1 - i]).filter(|d| *d != Some(ONE)).collect();
            match dims.first() {
                None => Some(ONE),
                Some(first) if dims.iter().all(|d| d == first) => *first,
                _ => None,
            }
        })
        .rev()
        .collect()
}

fn norm_axis(axis: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis.checked_add(r)? } else { axis };
    (0..r).contains(&a).then_some(a as usize)
}

impl Node {
    fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().rev().find(|a| a.name == name)
    }
    fn attr_i(&self, name: &str) -> Option<i64> {
        self.attr(name).and_then(|a| a.i)
    }
    fn attr_ints(&self, name: &str) -> Option<&[i64]> {
        self.attr(name).and_then(|a| a.ints.as_deref())
    }
    fn attr_s(&self, name: &str) -> Option<&str> {
        self.attr(name).and_then(|a| a.s.as_deref())
    }
    fn input(&self, i: usize) -> Option<&str> {
        self.inputs.get(i).map(String::as_str).filter(|s| !s.is_empty())
    }
    fn label(&self, index: usize) -> String {
        if !self.name.is_empty() {
            format!("'{}'", self.name)
        } else if let Some(out) = self.outputs.first().filter(|o| !o.is_empty()) {
            format!("producing '{out}'")
        } else {
            format!("#{index}")
        }
    }
}

enum Arg<'a> {
    Absent,
    Const(&'a [i64]),
    Dynamic,
}

#[derive(Default)]
struct Shapes {
    shapes: HashMap<String, Shape>,
    consts: HashMap<String, Vec<i64>>,
}

impl Shapes {
    fn get(&self, node: &Node, i: usize) -> Option<&Shape> {
        node.input(i).and_then(|n| self.shapes.get(n))
    }

    fn int_arg(&self, node: &Node, i: usize) -> Arg<'_> {
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
    fn attr_or_input(&self, node: &Node, attr: &str, i: usize) -> Option<Option<Vec<i64>>> {
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
    fn infer(&mut self, node: &Node) -> Vec<Option<Shape>> {
        let mut out: Vec<Option<Shape>> = vec![None; node.outputs.len()];
        if out.is_empty() {
            return out;
        }
        let x = self.get(node, 0).cloned();
        let op = node.op_type.as_str();
        let first: Option<Shape> = match op {
            "Identity"
            | "Cast"
            | "CastLike"
            | "Relu"
            | "LeakyRelu"
            | "PRelu"
            | "Sigmoid"
            | "HardSigmoid"
            | "HardSwish"
            | "Tanh"
            | "Erf"
            | "Sqrt"
            | "Reciprocal"
            | "Neg"
            | "Abs"
            | "Exp"
            | "Log"
            | "Floor"
            | "Ceil"
            | "Round"
            | "Sign"
            | "Sin"
            | "Cos"
            | "Softmax"
            | "LogSoftmax"
            | "Softplus"
            | "Softsign"
            | "Selu"
            | "Elu"
            | "Celu"
            | "Gelu"
            | "FastGelu"
            | "BiasGelu"
            | "QuickGelu"
            | "Mish"
            | "Dropout"
            | "Clip"
            | "DequantizeLinear"
            | "QuantizeLinear"
            | "DynamicQuantizeLinear"
            | "LayerNormalization"
            | "SimplifiedLayerNormalization"
            | "SkipLayerNormalization"
            | "SkipSimplifiedLayerNormalization"
            | "BatchNormalization"
            | "InstanceNormalization"
            | "GroupNormalization"
            | "LpNormalization"
            | "IsNaN"
            | "IsInf"
            | "Not"
            | "BitwiseNot"
            | "Shrink"
            | "ThresholdedRelu"
            | "Hardmax" => x.clone(),
            "Add" | "Sub" | "Mul" | "Div" | "Pow" | "Max" | "Min" | "Sum" | "Mean" | "Where" | "Equal" | "Less" | "LessOrEqual" | "Greater"
            | "GreaterOrEqual" | "And" | "Or" | "Xor" | "Mod" | "BitShift" | "BitwiseAnd" | "BitwiseOr" | "BitwiseXor" => {
                let all: Option<Vec<&[Dim]>> = (0..node.inputs.len()).map(|i| self.get(node, i).map(Vec::as_slice)).collect();
                all.filter(|v| !v.is_empty()).map(|v| broadcast(&v))
            }
            "MatMul" | "MatMulInteger" | "QLinearMatMul" | "MatMulIntegerToFloat" | "DynamicQuantizeMatMul" | "FusedMatMul" => {
                let b_idx = if op == "QLinearMatMul" { 3 } else { 1 };
                let fused = op == "FusedMatMul";
                match (x.as_deref(), self.get(node, b_idx)) {
                    (Some(a), Some(b)) => {
                        matmul_shape(a, b, fused && node.attr_i("transA").unwrap_or(0) != 0, fused && node.attr_i("transB").unwrap_or(0) != 0)
                    }
                    _ => None,
                }
            }
            "Gemm" => match (x.as_deref(), self.get(node, 1)) {
                (Some(a), Some(b)) if a.len() == 2 && b.len() == 2 => {
                    let m = a[usize::from(node.attr_i("transA").unwrap_or(0) != 0)];
                    let n = b[usize::from(node.attr_i("transB").unwrap_or(0) == 0)];
                    Some(vec![m, n])
                }
                _ => None,
            },
            "Conv" | "ConvInteger" | "QLinearConv" => {
                let w_idx = if op == "QLinearConv" { 3 } else { 1 };
                match (x.as_deref(), self.get(node, w_idx)) {
                    (Some(xs), Some(w)) if xs.len() >= 3 && w.len() == xs.len() => {
                        let kernel: Option<Vec<i64>> = match node.attr_ints("kernel_shape") {
                            Some(k) => Some(k.to_vec()),
                            None => w[2..].iter().map(|d| d.and_then(Mono::as_fixed).map(|v| v as i64)).collect(),
                        };
                        let spatial = kernel.and_then(|k| window_shape(node, &xs[2..], &k, false));
                        spatial.map(|sp| {
                            let mut s = vec![xs[0], w[0]];
                            s.extend(sp);
                            s
                        })
                    }
                    _ => None,
                }
            }
            "MaxPool" | "AveragePool" | "LpPool" => match (x.as_deref(), node.attr_ints("kernel_shape")) {
                (Some(xs), Some(k)) if xs.len() >= 3 => {
                    let ceil = node.attr_i("ceil_mode").unwrap_or(0) != 0;
                    window_shape(node, &xs[2..], k, ceil).map(|sp| {
                        let mut s = vec![xs[0], xs[1]];
                        s.extend(sp);
                        s
                    })
                }
                _ => None,
            },
            "GlobalAveragePool" | "GlobalMaxPool" | "GlobalLpPool" => x.as_ref().filter(|s| s.len() >= 2).map(|s| {
                let mut o = vec![s[0], s[1]];
                o.extend(std::iter::repeat_n(Some(ONE), s.len() - 2));
                o
            }),
            "Gather" => match (x.as_deref(), self.get(node, 1)) {
                (Some(data), Some(idx)) => norm_axis(node.attr_i("axis").unwrap_or(0), data.len()).map(|a| {
                    let mut s = data[..a].to_vec();
                    s.extend_from_slice(idx);
                    s.extend_from_slice(&data[a + 1..]);
                    s
                }),
                _ => None,
            },
            "ReduceSum" | "ReduceMean" | "ReduceMax" | "ReduceMin" | "ReduceProd" | "ReduceL1" | "ReduceL2" | "ReduceLogSum" | "ReduceLogSumExp"
            | "ReduceSumSquare" => {
                let keep = node.attr_i("keepdims").unwrap_or(1) != 0;
                let noop = node.attr_i("noop_with_empty_axes").unwrap_or(0) != 0;
                match (x.as_deref(), self.attr_or_input(node, "axes", 1)) {
                    (Some(xs), Some(axes)) => reduce_shape(xs, axes.filter(|a| !a.is_empty()), keep, noop),
                    _ => None,
                }
            }
            "ArgMax" | "ArgMin" => x.as_deref().and_then(|xs| {
                let keep = node.attr_i("keepdims").unwrap_or(1) != 0;
                reduce_shape(xs, Some(vec![node.attr_i("axis").unwrap_or(0)]), keep, false)
            }),
            "Unsqueeze" => match (x.as_deref(), self.attr_or_input(node, "axes", 1)) {
                (Some(xs), Some(Some(axes))) => {
                    let rank = xs.len() + axes.len();
                    let norm: Option<HashSet<usize>> = axes.iter().map(|&a| norm_axis(a, rank)).collect();
                    norm.filter(|set| set.len() == axes.len()).map(|set| {
                        let mut rest = xs.iter();
                        (0..rank).map(|i| if set.contains(&i) { Some(ONE) } else { rest.next().copied().flatten() }).collect()
                    })
                }
                _ => None,
            },
            "Squeeze" => match (x.as_deref(), self.attr_or_input(node, "axes", 1)) {
                (Some(xs), Some(Some(axes))) if !axes.is_empty() => {
                    let norm: Option<HashSet<usize>> = axes.iter().map(|&a| norm_axis(a, xs.len())).collect();
                    norm.map(|set| xs.iter().enumerate().filter(|(i, _)| !set.contains(i)).map(|(_, d)| *d).collect())
                }
                (Some(xs), Some(_)) if xs.iter().all(Option::is_some) => Some(xs.iter().copied().filter(|d| *d != Some(ONE)).collect()),
                _ => None,
            },
            "Transpose" => x.as_deref().and_then(|xs| {
                let perm: Vec<i64> = match node.attr_ints("perm") {
                    Some(p) => p.to_vec(),
                    None => (0..xs.len() as i64).rev().collect(),
                };
                let mut seen = vec![false; xs.len()];
                let ok = perm.len() == xs.len()
                    && perm.iter().all(|&p| match usize::try_from(p).ok().filter(|&p| p < xs.len()) {
                        Some(p) if !seen[p] => {
                            seen[p] = true;
                            true
                        }
                        _ => false,
                    });
                ok.then(|| perm.iter().map(|&p| xs[p as usize]).collect())
            }),
            "Flatten" => x.as_deref().and_then(|xs| {
                let axis = node.attr_i("axis").unwrap_or(1);
                let a = if axis < 0 { axis.checked_add(xs.len() as i64)? } else { axis };
                let a = usize::try_from(a).ok().filter(|&a| a <= xs.len())?;
                Some(vec![product(&xs[..a]), product(&xs[a..])])
            }),
            "Reshape" => match (x.as_deref(), self.int_arg(node, 1)) {
                (Some(xs), Arg::Const(target)) => reshape(xs, target, node.attr_i("allowzero").unwrap_or(0) != 0),
                (None, Arg::Const(target)) if target.iter().all(|&v| v > 0) => Some(target.iter().map(|&v| fixed_i(v)).collect()),
                _ => None,
            },
            "Concat" => {
                let all: Option<Vec<&Shape>> = (0..node.inputs.len()).map(|i| self.get(node, i)).collect();
                all.filter(|v| !v.is_empty()).and_then(|v| concat_shape(&v, node.attr_i("axis").unwrap_or(0)))
            }
            "Slice" => x.as_deref().and_then(|xs| slice_shape(self, node, xs)),
            "Split" => {
                // Fills every output.
                if let Some(xs) = x.as_deref() {
                    if let Some(shapes) = split_shapes(self, node, xs) {
                        for (o, s) in out.iter_mut().zip(shapes) {
                            *o = Some(s);
                        }
                    }
                }
                return out;
            }
            "Expand" => match (x.as_deref(), self.int_arg(node, 1)) {
                (Some(xs), Arg::Const(target)) => {
                    let t: Shape = target.iter().map(|&v| fixed_i(v)).collect();
                    Some(broadcast(&[xs, &t]))
                }
                _ => None,
            },
            "Pad" => x.as_deref().and_then(|xs| {
                let pads = match node.attr_ints("pads") {
                    Some(p) => p.to_vec(),
                    None => match self.int_arg(node, 1) {
                        Arg::Const(p) => p.to_vec(),
                        _ => return None,
                    },
                };
                if node.input(3).is_some() || pads.len() != 2 * xs.len() {
                    return None;
                }
                Some(
                    xs.iter()
                        .enumerate()
                        .map(|(i, d)| {
                            let add = pads[i].checked_add(pads[i + xs.len()])?;
                            if add == 0 {
                                return *d;
                            }
                            let v = i64::try_from(d.and_then(|m| m.as_fixed())?).ok()?.checked_add(add)?;
                            fixed_i(v)
                        })
                        .collect(),
                )
            }),
            "Shape" => (node.attrs.is_empty()).then(|| vec![x.as_ref().and_then(|s| fixed(s.len() as u64))]),
            "Constant" => {
                if let Some(t) = node.attr("value").and_then(|a| a.t.as_ref()) {
                    if let Some(ints) = &t.ints {
                        self.consts.insert(node.outputs[0].clone(), ints.clone());
                    }
                    Some(t.dims.iter().map(|&d| fixed(d)).collect())
                } else if let Some(i) = node.attr_i("value_int") {
                    self.consts.insert(node.outputs[0].clone(), vec![i]);
                    Some(vec![])
                } else if let Some(v) = node.attr_ints("value_ints") {
                    self.consts.insert(node.outputs[0].clone(), v.to_vec());
                    Some(vec![fixed(v.len() as u64)])
                } else if node.attr("value_float").is_some_and(|a| a.f.is_some()) {
                    Some(vec![])
                } else {
                    node.attr("value_floats").map(|a| vec![fixed(a.floats as u64)])
                }
            }
            "ConstantOfShape" => match self.int_arg(node, 0) {
                Arg::Const(v) => Some(v.iter().map(|&d| fixed_i(d)).collect()),
                _ => None,
            },
            _ => None,
        };
        out[0] = first;
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
}

fn matmul_shape(a: &[Dim], b: &[Dim], trans_a: bool, trans_b: bool) -> Option<Shape> {
    if a.is_empty() || b.is_empty() {
        return None;
    }
    let mut a2: Shape = if a.len() == 1 { vec![Some(ONE), a[0]] } else { a.to_vec() };
    let mut b2: Shape = if b.len() == 1 { vec![b[0], Some(ONE)] } else { b.to_vec() };
    if trans_a {
        let n = a2.len();
        a2.swap(n - 1, n - 2);
    }
    if trans_b {
        let n = b2.len();
        b2.swap(n - 1, n - 2);
    }
    let mut out = broadcast(&[&a2[..a2.len() - 2], &b2[..b2.len() - 2]]);
    if a.len() > 1 {
        out.push(a2[a2.len() - 2]);
    }
    if b.len() > 1 {
        out.push(b2[b2.len() - 1]);
    }
    Some(out)
}

/// Spatial output dims of a Conv or pooling window.
fn window_shape(node: &Node, input: &[Dim], kernel: &[i64], ceil_mode: bool) -> Option<Shape> {
    let n = input.len();
    if kernel.len() != n {
        return None;
    }
    let ones = vec![1i64; n];
    let strides = node.attr_ints("strides").unwrap_or(&ones);
    let dilations = node.attr_ints("dilations").unwrap_or(&ones);
    let zeros = vec![0i64; 2 * n];
    let pads = node.attr_ints("pads").unwrap_or(&zeros);
    if strides.len() != n || dilations.len() != n || pads.len() != 2 * n {
        return None;
    }
    let auto_pad = node.attr_s("auto_pad").unwrap_or("NOTSET");
    (0..n)
        .map(|i| {
            let (k, s, d) = (i128::from(kernel[i]), i128::from(strides[i]), i128::from(dilations[i]));
            if k < 1 || s < 1 || d < 1 {
                return Some(None);
            }
            let window = d * (k - 1) + 1;
            let pad = i128::from(pads[i]) + i128::from(pads[i + n]);
            let Some(len) = input[i] else { return Some(None) };
            match len.as_fixed() {
                Some(v) => {
                    let v = i128::from(v);
                    let out = match auto_pad {
                        "SAME_UPPER" | "SAME_LOWER" => (v + s - 1) / s,
                        "VALID" => {
                            if v < window {
                                return Some(None);
                            }
                            (v - window) / s + 1
                        }
                        _ => {
                            let span = v + pad - window;
                            if span < 0 {
                                return Some(None);
                            }
                            if ceil_mode {
                                (span + s - 1) / s + 1
                            } else {
                                span / s + 1
                            }
                        }
                    };
                    Some(u64::try_from(out).ok().and_then(fixed))
                }
                None => {
                    // A symbolic length keeps its size only through a stride-1 "same" window.
                    let same = s == 1 && (auto_pad.starts_with("SAME") || (auto_pad == "NOTSET" && pad == window - 1));
                    Some(if same { Some(len) } else { None })
                }
            }
        })
        .collect::<Option<Vec<Dim>>>()
}

fn reduce_shape(xs: &[Dim], axes: Option<Vec<i64>>, keep: bool, noop: bool) -> Option<Shape> {
    let set: HashSet<usize> = match axes {
        None if noop => return Some(xs.to_vec()),
        None => (0..xs.len()).collect(),
        Some(a) => a.iter().map(|&a| norm_axis(a, xs.len())).collect::<Option<_>>()?,
    };
    Some(xs.iter().enumerate().filter_map(|(i, d)| if set.contains(&i) { keep.then_some(Some(ONE)) } else { Some(*d) }).collect())
}

fn reshape(xs: &[Dim], target: &[i64], allowzero: bool) -> Option<Shape> {
    let mut out: Shape = Vec::with_capacity(target.len());
    let mut infer_at = None;
    for (i, &v) in target.iter().enumerate() {
        match v {
            -1 => {
                if infer_at.replace(i).is_some() {
                    return None;
                }
                out.push(None);
            }
            0 if !allowzero => out.push(*xs.get(i)?),
            v if v >= 0 => out.push(fixed_i(v)),
            _ => return None,
        }
    }
    if let Some(i) = infer_at {
        let others: Shape = out.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, d)| *d).collect();
        out[i] = match (product(xs), product(&others)) {
            (Some(total), Some(rest)) => total.div(rest),
            _ => None,
        };
    }
    Some(out)
}

fn concat_shape(shapes: &[&Shape], axis: i64) -> Option<Shape> {
    let rank = shapes[0].len();
    if shapes.iter().any(|s| s.len() != rank) {
        return None;
    }
    let a = norm_axis(axis, rank)?;
    Some(
        (0..rank)
            .map(|i| {
                if i == a {
                    let first = shapes[0][i]?;
                    shapes.iter().try_fold(Mono { coef: 0, ..first }, |acc, s| {
                        let d = s[i]?;
                        (d.batch == acc.batch && d.seq == acc.seq).then(|| acc.coef.checked_add(d.coef).map(|c| Mono { coef: c, ..acc }))?
                    })
                } else {
                    let first = shapes[0][i];
                    shapes.iter().all(|s| s[i] == first).then_some(first).flatten()
                }
            })
            .collect(),
    )
}

fn slice_shape(ctx: &Shapes, node: &Node, xs: &[Dim]) -> Option<Shape> {
    let get = |attr: &str, i: usize| -> Option<Option<Vec<i64>>> { ctx.attr_or_input(node, attr, i) };
    let starts = get("starts", 1)??;
    let ends = get("ends", 2)??;
    let axes = get("axes", 3)?.unwrap_or_else(|| (0..starts.len() as i64).collect());
    let steps = match ctx.int_arg(node, 4) {
        Arg::Absent => vec![1; starts.len()],
        Arg::Const(v) => v.to_vec(),
        Arg::Dynamic => return None,
    };
    if ends.len() != starts.len() || axes.len() != starts.len() || steps.len() != starts.len() {
        return None;
    }
    let mut out = xs.to_vec();
    for j in 0..starts.len() {
        let a = norm_axis(axes[j], xs.len())?;
        let (start, end, step) = (starts[j], ends[j], steps[j]);
        out[a] = match xs[a].and_then(Mono::as_fixed) {
            Some(len) => {
                let len = i128::from(len);
                let clamp = |v: i64, lo: i128, hi: i128| -> i128 {
                    let v = i128::from(v);
                    let v = if v < 0 { v + len } else { v };
                    v.clamp(lo, hi)
                };
                let n = if step > 0 {
                    let (s, e) = (clamp(start, 0, len), clamp(end, 0, len));
                    if e > s {
                        (e - s + i128::from(step) - 1) / i128::from(step)
                    } else {
                        0
                    }
                } else if step < 0 {
                    let (s, e) = (clamp(start, -1, len - 1), clamp(end, -1, len - 1));
                    if s > e {
                        (s - e - i128::from(step) - 1) / -i128::from(step)
                    } else {
                        0
                    }
                } else {
                    return None;
                };
                u64::try_from(n).ok().and_then(fixed)
            }
            None => {
                if step == 1 && start == 0 && end >= i64::from(i32::MAX) {
                    xs[a] // the whole axis
                } else if step == 1 && start >= 0 && end >= start && end < i64::from(i32::MAX) {
                    fixed_i(end - start) // a leading window, e.g. the [CLS] token; assumes the axis is that long
                } else {
                    None
                }
            }
        };
    }
    Some(out)
}

fn split_shapes(ctx: &Shapes, node: &Node, xs: &[Dim]) -> Option<Vec<Shape>> {
    let a = norm_axis(node.attr_i("axis").unwrap_or(0), xs.len())?;
    let k = node.outputs.len();
    let sizes: Vec<Dim> = match ctx.attr_or_input(node, "split", 1)? {
        Some(split) if split.len() == k => split.iter().map(|&v| fixed_i(v)).collect(),
        Some(_) => return None,
        None => {
            let d = xs[a].and_then(Mono::as_fixed).filter(|&d| k > 0 && d % k as u64 == 0);
            vec![d.and_then(|d| fixed(d / k as u64)); k]
        }
    };
    Some(
        sizes
            .into_iter()
            .map(|s| {
                let mut o = xs.to_vec();
                o[a] = s;
                o
            })
            .collect(),
    )
}

fn merge(inferred: Option<Shape>, declared: Option<&Shape>) -> Option<Shape> {
    match (inferred, declared) {
        (Some(a), Some(b)) if a.len() == b.len() => Some(a.iter().zip(b).map(|(x, y)| x.or(*y)).collect()),
        (Some(a), _) => Some(a),
        (None, Some(b)) => Some(b.clone()),
        (None, None) => None,
    }
}

// ---------------------------------------------------------------------------------------------
// The analysis
// ---------------------------------------------------------------------------------------------

const UNCOSTED_HEAVY: &[&str] =
    &["Attention", "ConvTranspose", "Einsum", "GRU", "GroupQueryAttention", "LSTM", "MatMulNBits", "MultiHeadAttention", "QAttention", "QGemm", "RNN"];

fn format_length(l: f64) -> String {
    if l.fract() == 0.0 && l.abs() < 1e15 {
        format!("{}", l as i64)
    } else {
        let s = format!("{l:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn analyse(g: &Graph<'_>, sequence_length: Option<f64>) -> Result<GraphStats, String> {
    let overflow = || "the parameter count overflows 64 bits".to_string();
    let mut parameters = 0u64;
    let mut nonzero = 0u64;
    let mut bytes = 0u64;
    let mut external = (0usize, 0u64);
    let mut unknown_types: BTreeMap<i64, usize> = BTreeMap::new();
    let mut ctx = Shapes::default();
    let mut initializer_names: HashSet<&str> = HashSet::new();

    for (i, t) in g.initializers.iter().enumerate() {
        let s = summarize(t).map_err(|e| format!("initializer {i} ('{}'): {e}", t.name))?;
        parameters = parameters.checked_add(s.elements).ok_or_else(overflow)?;
        nonzero = nonzero.checked_add(s.nonzero).ok_or_else(overflow)?;
        bytes = bytes.checked_add(s.bytes).ok_or_else(overflow)?;
        if s.external {
            external.0 += 1;
            external.1 = external.1.saturating_add(s.elements);
        }
        if let Some(dt) = s.unknown_type {
            *unknown_types.entry(dt).or_default() += 1;
        }
        initializer_names.insert(t.name.as_str());
        ctx.shapes.insert(t.name.clone(), s.dims.iter().map(|&d| fixed(d)).collect());
        if let Some(ints) = s.ints {
            ctx.consts.insert(t.name.clone(), ints);
        }
    }
    for (i, sp) in g.sparse.iter().enumerate() {
        let err = |e: String| format!("sparse initializer {i} ('{}'): {e}", sp.values.name);
        let values = summarize(&sp.values).map_err(|e| err(format!("values: {e}")))?;
        let indices = summarize(&sp.indices).map_err(|e| err(format!("indices: {e}")))?;
        let mut elements = 1u64;
        let mut dims = Vec::new();
        for &d in &sp.dims {
            let d = u64::try_from(d).map_err(|_| err(format!("negative dimension {d}")))?;
            elements = elements.checked_mul(d).ok_or_else(|| err("dims hold more than 2^64 elements".into()))?;
            dims.push(fixed(d));
        }
        parameters = parameters.checked_add(elements).ok_or_else(overflow)?;
        nonzero = nonzero.checked_add(values.nonzero).ok_or_else(overflow)?;
        bytes = bytes.checked_add(values.bytes).and_then(|b| b.checked_add(indices.bytes)).ok_or_else(overflow)?;
        if values.external || indices.external {
            external.0 += 1;
            external.1 = external.1.saturating_add(values.elements);
        }
        if let Some(dt) = values.unknown_type {
            *unknown_types.entry(dt).or_default() += 1;
        }
        initializer_names.insert(sp.values.name.as_str());
        ctx.shapes.insert(sp.values.name.clone(), dims);
    }

    let mut ops: BTreeMap<&str, u64> = BTreeMap::new();
    for n in &g.nodes {
        *ops.entry(n.op_type.as_str()).or_default() += 1;
    }

    // Graph inputs: the batch, the sequence.
    let fed: Vec<&ValueInfo> = g.inputs.iter().filter(|v| !initializer_names.contains(v.name.as_str())).collect();
    let is_token_input = |v: &ValueInfo| matches!(v.elem_type, Some(6 | 7)) && v.dims.as_ref().is_some_and(|d| d.len() == 2);
    let mut batch_names: HashSet<&str> = HashSet::new();
    let mut seq_names: HashSet<&str> = HashSet::new();
    let mut sequence_model = false;
    for v in &fed {
        if let Some(dims) = &v.dims {
            if let Some(DimInfo::Param(p)) = dims.first() {
                batch_names.insert(p);
            }
            if is_token_input(v) {
                match &dims[1] {
                    DimInfo::Value(x) if *x > 0 => {}
                    DimInfo::Param(p) => {
                        seq_names.insert(p);
                        sequence_model = true;
                    }
                    _ => sequence_model = true,
                }
            }
        }
    }
    let declared_dim = |d: &DimInfo| -> Dim {
        match d {
            DimInfo::Value(v) if *v > 0 => fixed_i(*v),
            DimInfo::Param(p) if batch_names.contains(p.as_str()) => Some(BATCH),
            DimInfo::Param(p) if seq_names.contains(p.as_str()) => Some(SEQ),
            _ => None,
        }
    };
    for v in &fed {
        if let Some(dims) = &v.dims {
            let token = is_token_input(v);
            let shape: Shape = dims
                .iter()
                .enumerate()
                .map(|(k, d)| match (k, d) {
                    (0, _) => Some(BATCH),
                    (1, DimInfo::Value(x)) if token && *x > 0 => fixed_i(*x),
                    (1, _) if token => Some(SEQ),
                    _ => declared_dim(d),
                })
                .collect();
            ctx.shapes.insert(v.name.clone(), shape);
        }
    }
    let declared: HashMap<&str, Shape> =
        g.value_info.iter().chain(&g.outputs).filter_map(|v| v.dims.as_ref().map(|d| (v.name.as_str(), d.iter().map(&declared_dim).collect()))).collect();

    let l = sequence_length.unwrap_or(1.0);
    let mut flops = 0.0f64;
    let mut seq_power = 0u32;
    let mut fallback: Vec<String> = Vec::new();
    let mut uncosted_mm: Vec<String> = Vec::new();
    let mut conv_one_position: Vec<String> = Vec::new();
    let mut uncosted_conv: Vec<String> = Vec::new();
    let mut subgraphs = 0usize;

    for (index, node) in g.nodes.iter().enumerate() {
        if node.attrs.iter().any(|a| a.has_graph) {
            subgraphs += 1;
        }
        let inferred = ctx.infer(node);
        for (name, shape) in node.outputs.iter().zip(inferred) {
            if name.is_empty() {
                continue;
            }
            if let Some(s) = merge(shape, declared.get(name.as_str())) {
                ctx.shapes.insert(name.clone(), s);
            }
        }
        let out = node.outputs.first().and_then(|o| ctx.shapes.get(o));
        let op = node.op_type.as_str();
        match op {
            "MatMul" | "MatMulInteger" | "QLinearMatMul" | "MatMulIntegerToFloat" | "DynamicQuantizeMatMul" | "FusedMatMul" | "Gemm" => {
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
                    flops += 2.0 * m.eval(l);
                    if m.coef > 0 {
                        seq_power = seq_power.max(m.seq);
                    }
                    continue;
                }
                let fixed_b: Option<(u64, u64)> = b.filter(|b| b.len() == 2).and_then(|b| {
                    let (d0, d1) = (b[0]?.as_fixed()?, b[1]?.as_fixed()?);
                    Some(if trans_b { (d1, d0) } else { (d0, d1) })
                });
                match fixed_b {
                    Some((k, n)) => {
                        let rows = if sequence_model { l } else { 1.0 };
                        flops += 2.0 * k as f64 * n as f64 * rows;
                        if sequence_model && k > 0 && n > 0 {
                            seq_power = seq_power.max(1);
                        }
                        fallback.push(node.label(index));
                    }
                    None => uncosted_mm.push(node.label(index)),
                }
            }
            "Conv" | "ConvInteger" | "QLinearConv" => {
                let w_idx = if op == "QLinearConv" { 3 } else { 1 };
                let per_position = ctx.get(node, w_idx).filter(|w| w.len() >= 3).and_then(|w| product(w)).and_then(Mono::as_fixed);
                let Some(per_position) = per_position else {
                    uncosted_conv.push(node.label(index));
                    continue;
                };
                let positions = out.filter(|o| o.len() >= 3).and_then(|o| product(&o[2..])).filter(|m| m.batch == 0);
                match positions {
                    Some(p) => {
                        flops += 2.0 * per_position as f64 * p.eval(l);
                        if per_position > 0 && p.coef > 0 {
                            seq_power = seq_power.max(p.seq);
                        }
                    }
                    None => {
                        flops += 2.0 * per_position as f64;
                        conv_one_position.push(node.label(index));
                    }
                }
            }
            _ => {}
        }
    }
    if !flops.is_finite() {
        return Err("the FLOPs estimate overflows (absurd dimensions?)".to_string());
    }

    let mut assumptions = Vec::new();
    if seq_power > 0 {
        assumptions.push(match sequence_length {
            Some(l) => format!("sequence length {}", format_length(l)),
            None => "sequence length not given: 1 token assumed".to_string(),
        });
        if seq_power >= 2 {
            assumptions.push(
                "attention cost grows with the square of the sequence length: costed at one length, it \
                 understates the mean cost over varied lengths"
                    .to_string(),
            );
        }
    } else if sequence_model {
        assumptions.push("no costed op depends on the sequence length (embedding lookups and pooling are not costed)".to_string());
    }
    let first = |v: &[String]| v.first().cloned().unwrap_or_default();
    if !fallback.is_empty() {
        assumptions.push(format!(
            "{} with an input shape that could not be inferred (first: {}): costed at {} per example",
            plural(fallback.len(), "MatMul/Gemm node", "MatMul/Gemm nodes"),
            first(&fallback),
            if sequence_model { "one row per token" } else { "one row" }
        ));
    }
    if !uncosted_mm.is_empty() {
        assumptions.push(format!(
            "{} with operand shapes that could not be inferred not costed (first: {})",
            plural(uncosted_mm.len(), "MatMul/Gemm node", "MatMul/Gemm nodes"),
            first(&uncosted_mm)
        ));
    }
    if !conv_one_position.is_empty() {
        assumptions.push(format!(
            "{} with an output size that could not be inferred (first: {}): costed at one output position",
            plural(conv_one_position.len(), "Conv node", "Conv nodes"),
            first(&conv_one_position)
        ));
    }
    if !uncosted_conv.is_empty() {
        assumptions.push(format!(
            "{} with a weight shape that could not be inferred not costed (first: {})",
            plural(uncosted_conv.len(), "Conv node", "Conv nodes"),
            first(&uncosted_conv)
        ));
    }
    let heavy: Vec<String> = ops.iter().filter(|(op, _)| UNCOSTED_HEAVY.contains(op)).map(|(op, n)| format!("{n} {op}")).collect();
    if !heavy.is_empty() {
        assumptions.push(format!("not costed: {}", heavy.join(", ")));
    }
    if subgraphs > 0 {
        assumptions.push(format!("subgraphs of {} (If/Loop/Scan bodies) neither counted nor costed", plural(subgraphs, "node", "nodes")));
    }
    if external.0 > 0 {
        assumptions.push(format!(
            "external data not read ({}, {} elements): counted as nonzero",
            plural(external.0, "initializer", "initializers"),
            external.1
        ));
    }
    for (dt, count) in &unknown_types {
        assumptions.push(format!("data type {dt} not interpreted ({}): counted as nonzero", plural(*count, "initializer", "initializers")));
    }

    Ok(GraphStats {
        parameters,
        nonzero_parameters: nonzero,
        parameter_bytes: bytes,
        flops_per_example: flops,
        op_counts: ops.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
        assumptions,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::rng::Rng;

    // ---- a hand-written protobuf encoder for test models ----

    fn varint(mut v: u64, out: &mut Vec<u8>) {
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
    fn key(field: u32, wire: u8, out: &mut Vec<u8>) {
        varint((u64::from(field) << 3) | u64::from(wire), out);
    }
    fn f_bytes(field: u32, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        key(field, 2, &mut out);
        varint(data.len() as u64, &mut out);
        out.extend_from_slice(data);
        out
    }
    fn f_int(field: u32, v: i64) -> Vec<u8> {
        let mut out = Vec::new();
        key(field, 0, &mut out);
        varint(v as u64, &mut out);
        out
    }
    fn f_str(field: u32, s: &str) -> Vec<u8> {
        f_bytes(field, s.as_bytes())
    }
    fn packed_varints(field: u32, values: &[i64]) -> Vec<u8> {
        let mut body = Vec::new();
        for &v in values {
            varint(v as u64, &mut body);
        }
        f_bytes(field, &body)
    }
    fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
        parts.concat()
    }
    fn f32_le(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// TensorProto with raw_data (dims unpacked, as many writers do).
    fn tensor_raw(name: &str, data_type: i64, dims: &[i64], raw: &[u8]) -> Vec<u8> {
        let mut parts: Vec<Vec<u8>> = dims.iter().map(|&d| f_int(1, d)).collect();
        parts.push(f_int(2, data_type));
        parts.push(f_str(8, name));
        parts.push(f_bytes(9, raw));
        cat(&parts)
    }
    fn tensor_f32(name: &str, dims: &[i64], values: &[f32]) -> Vec<u8> {
        tensor_raw(name, 1, dims, &f32_le(values))
    }
    /// TensorProto with packed float_data (field 4) and packed dims.
    fn tensor_float_data(name: &str, dims: &[i64], values: &[f32]) -> Vec<u8> {
        cat(&[packed_varints(1, dims), f_int(2, 1), f_bytes(4, &f32_le(values)), f_str(8, name)])
    }
    fn tensor_ints(name: &str, data_type: i64, field: u32, dims: &[i64], values: &[i64]) -> Vec<u8> {
        cat(&[packed_varints(1, dims), f_int(2, data_type), packed_varints(field, values), f_str(8, name)])
    }

    enum D<'a> {
        V(i64),
        P(&'a str),
    }
    use D::{P, V};

    fn value_info(name: &str, elem_type: i64, dims: &[D<'_>]) -> Vec<u8> {
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
    fn attr_i(name: &str, v: i64) -> Vec<u8> {
        cat(&[f_str(1, name), f_int(3, v), f_int(20, 2)])
    }
    fn attr_ints(name: &str, v: &[i64]) -> Vec<u8> {
        let mut parts = vec![f_str(1, name)];
        parts.extend(v.iter().map(|&x| f_int(8, x)));
        parts.push(f_int(20, 7));
        cat(&parts)
    }
    fn attr_s(name: &str, s: &str) -> Vec<u8> {
        cat(&[f_str(1, name), f_str(4, s), f_int(20, 3)])
    }
    fn node(op: &str, inputs: &[&str], outputs: &[&str], attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut parts: Vec<Vec<u8>> = inputs.iter().map(|i| f_str(1, i)).collect();
        parts.extend(outputs.iter().map(|o| f_str(2, o)));
        parts.push(f_str(3, &format!("{op}_{}", outputs.first().copied().unwrap_or(""))));
        parts.push(f_str(4, op));
        parts.extend(attrs.iter().map(|a| f_bytes(5, a)));
        cat(&parts)
    }
    struct G {
        nodes: Vec<Vec<u8>>,
        inits: Vec<Vec<u8>>,
        inputs: Vec<Vec<u8>>,
        outputs: Vec<Vec<u8>>,
        value_info: Vec<Vec<u8>>,
    }
    fn graph(g: &G) -> Vec<u8> {
        let mut parts = Vec::new();
        parts.extend(g.nodes.iter().map(|n| f_bytes(1, n)));
        parts.push(f_str(2, "test"));
        parts.extend(g.inits.iter().map(|t| f_bytes(5, t)));
        parts.extend(g.inputs.iter().map(|v| f_bytes(11, v)));
        parts.extend(g.outputs.iter().map(|v| f_bytes(12, v)));
        parts.extend(g.value_info.iter().map(|v| f_bytes(13, v)));
        cat(&parts)
    }
    fn model(g: &G) -> Vec<u8> {
        let opset = cat(&[f_str(1, ""), f_int(2, 17)]);
        cat(&[f_int(1, 8), f_str(2, "test"), f_bytes(7, &graph(g)), f_bytes(8, &opset)])
    }
    fn stats(g: &G, l: Option<f64>) -> GraphStats {
        graph_stats(&model(g), l).unwrap_or_else(|e| panic!("{e}"))
    }
    fn ops(list: &[(&str, u64)]) -> Vec<(String, u64)> {
        list.iter().map(|(k, v)| (k.to_string(), *v)).collect()
    }
    const FLOAT: i64 = 1;
    const INT8: i64 = 3;
    const INT64: i64 = 7;

    // ---- (a) hand-built models, hand-computed expectations ----

    fn tabular_matmul() -> G {
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

    #[test]
    fn matmul_on_tabular_input_costs_two_k_n() {
        let s = stats(&tabular_matmul(), Some(24.0));
        assert_eq!(s.parameters, 15);
        assert_eq!(s.nonzero_parameters, 10);
        assert_eq!(s.parameter_bytes, 60);
        assert_eq!(s.flops_per_example, 2.0 * 4.0 * 3.0);
        assert_eq!(s.op_counts, ops(&[("Add", 1), ("MatMul", 1)]));
        assert!(s.assumptions.is_empty(), "{:?}", s.assumptions);
        // The sequence length is irrelevant to a tabular model.
        assert_eq!(stats(&tabular_matmul(), None), s);
    }

    #[test]
    fn gemm_respects_trans_b_and_typed_float_data() {
        let g = G {
            nodes: vec![node("Gemm", &["x", "W1", "c1"], &["h"], &[attr_i("transB", 1)]), node("Gemm", &["h", "W2"], &["y"], &[attr_i("transB", 0)])],
            inits: vec![
                // [N=2, K=5] stored transposed, typed float_data with a -0.0.
                tensor_float_data("W1", &[2, 5], &[1.0, -0.0, 2.0, 3.0, 0.0, 4.0, 5.0, 6.0, 7.0, 8.0]),
                tensor_float_data("c1", &[2], &[0.0, 0.0]),
                tensor_f32("W2", &[2, 7], &[1.0; 14]),
            ],
            inputs: vec![value_info("x", FLOAT, &[P("batch"), V(5)])],
            outputs: vec![value_info("y", FLOAT, &[P("batch"), V(7)])],
            value_info: vec![],
        };
        let s = stats(&g, None);
        assert_eq!(s.parameters, 10 + 2 + 14);
        assert_eq!(s.nonzero_parameters, 8 + 14);
        assert_eq!(s.parameter_bytes, 4 * 26);
        assert_eq!(s.flops_per_example, 2.0 * 5.0 * 2.0 + 2.0 * 2.0 * 7.0);
        assert_eq!(s.op_counts, ops(&[("Gemm", 2)]));
    }

    #[test]
    fn conv_costs_per_output_position_from_strides_pads_and_groups() {
        let g = G {
            nodes: vec![
                // [N,3,8,8] -> [N,4,4,4]: (8 + 2 - 3) / 2 + 1 = 4.
                node("Conv", &["x", "W1"], &["h"], &[attr_ints("pads", &[1, 1, 1, 1]), attr_ints("strides", &[2, 2])]),
                // groups 2: W2 [8, 4/2, 1, 1] -> [N,8,4,4].
                node("Conv", &["h", "W2"], &["y"], &[attr_i("group", 2)]),
            ],
            inits: vec![tensor_f32("W1", &[4, 3, 3, 3], &[1.0; 108]), tensor_f32("W2", &[8, 2, 1, 1], &[1.0; 16])],
            inputs: vec![value_info("x", FLOAT, &[P("N"), V(3), V(8), V(8)])],
            outputs: vec![value_info("y", FLOAT, &[P("N"), V(8), V(4), V(4)])],
            value_info: vec![],
        };
        let s = stats(&g, None);
        assert_eq!(s.parameters, 124);
        assert_eq!(s.flops_per_example, 2.0 * (4.0 * 3.0 * 9.0) * 16.0 + 2.0 * (8.0 * 2.0) * 16.0);
        assert!(s.assumptions.is_empty(), "{:?}", s.assumptions);

        // SAME_UPPER padding, stride 2 on a 7x7 input: ceil(7/2) = 4.
        let same = G {
            nodes: vec![node("Conv", &["x", "W1"], &["y"], &[attr_s("auto_pad", "SAME_UPPER"), attr_ints("strides", &[2, 2])])],
            inits: vec![tensor_f32("W1", &[4, 3, 3, 3], &[1.0; 108])],
            inputs: vec![value_info("x", FLOAT, &[P("N"), V(3), V(7), V(7)])],
            outputs: vec![value_info("y", FLOAT, &[P("N"), V(4), P("h"), P("w")])],
            value_info: vec![],
        };
        assert_eq!(stats(&same, None).flops_per_example, 2.0 * 108.0 * 16.0);
    }

    #[test]
    fn conv_output_size_comes_from_value_info_or_counts_one_position() {
        let mut g = G {
            nodes: vec![node("Conv", &["x", "W"], &["y"], &[])],
            inits: vec![tensor_f32("W", &[4, 3, 3, 3], &[1.0; 108])],
            inputs: vec![value_info("x", FLOAT, &[P("N"), V(3), P("H"), P("W")])],
            outputs: vec![value_info("y", FLOAT, &[P("N"), V(4), P("H2"), P("W2")])],
            value_info: vec![],
        };
        let s = stats(&g, None);
        assert_eq!(s.flops_per_example, 2.0 * 108.0);
        assert!(s.assumptions.iter().any(|a| a.contains("one output position")), "{:?}", s.assumptions);

        g.outputs = vec![value_info("y", FLOAT, &[P("N"), V(4), V(5), V(5)])];
        let s = stats(&g, None);
        assert_eq!(s.flops_per_example, 2.0 * 108.0 * 25.0);
        assert!(s.assumptions.is_empty(), "{:?}", s.assumptions);
    }

    fn token_model(pool: bool) -> G {
        let mut nodes = vec![node("Gather", &["emb", "ids"], &["e"], &[attr_i("axis", 0)])];
        let mut inits = vec![tensor_f32("emb", &[10, 4], &[1.0; 40]), tensor_f32("W", &[4, 2], &[1.0; 8])];
        if pool {
            // ReduceSum-13 style: axes as a constant int64 input.
            nodes.push(node("ReduceSum", &["e", "axes"], &["p"], &[attr_i("keepdims", 0)]));
            inits.push(tensor_raw("axes", INT64, &[1], &1i64.to_le_bytes()));
            nodes.push(node("MatMul", &["p", "W"], &["y"], &[]));
        } else {
            nodes.push(node("MatMul", &["e", "W"], &["y"], &[]));
        }
        G {
            nodes,
            inits,
            inputs: vec![value_info("ids", INT64, &[P("batch"), P("sequence")])],
            outputs: vec![value_info("y", FLOAT, &[P("batch"), P("out")])],
            value_info: vec![],
        }
    }

    #[test]
    fn per_token_matmul_costs_sequence_length_rows() {
        let s = stats(&token_model(false), Some(24.0));
        assert_eq!(s.flops_per_example, 2.0 * 4.0 * 2.0 * 24.0);
        assert_eq!(s.assumptions, vec!["sequence length 24".to_string()]);
        assert_eq!(s.op_counts, ops(&[("Gather", 1), ("MatMul", 1)]));
        assert_eq!(stats(&token_model(false), Some(23.5)).flops_per_example, 2.0 * 4.0 * 2.0 * 23.5);
        let s = stats(&token_model(false), None);
        assert_eq!(s.flops_per_example, 2.0 * 4.0 * 2.0);
        assert_eq!(s.assumptions, vec!["sequence length not given: 1 token assumed".to_string()]);
    }

    #[test]
    fn pooled_text_model_cost_does_not_depend_on_sequence_length() {
        let s = stats(&token_model(true), Some(24.0));
        assert_eq!(s.flops_per_example, 2.0 * 4.0 * 2.0);
        assert_eq!(s.parameters, 40 + 8 + 1);
        assert_eq!(s.assumptions.len(), 1);
        assert!(s.assumptions[0].contains("no costed op depends on the sequence length"));
    }

    #[test]
    fn attention_scores_cost_the_square_of_the_sequence() {
        let g = G {
            nodes: vec![
                node("Gather", &["emb", "ids"], &["q"], &[]),
                node("Transpose", &["q"], &["kt"], &[attr_ints("perm", &[0, 2, 1])]),
                node("MatMul", &["q", "kt"], &["scores"], &[]),
                node("ReduceMean", &["scores"], &["y"], &[attr_ints("axes", &[2]), attr_i("keepdims", 0)]),
            ],
            inits: vec![tensor_f32("emb", &[10, 4], &[1.0; 40])],
            inputs: vec![value_info("ids", INT64, &[P("b"), P("s")])],
            outputs: vec![value_info("y", FLOAT, &[P("b"), P("s")])],
            value_info: vec![],
        };
        let s = stats(&g, Some(10.0));
        assert_eq!(s.flops_per_example, 2.0 * 4.0 * 10.0 * 10.0);
        assert!(s.assumptions.iter().any(|a| a.contains("square")), "{:?}", s.assumptions);
    }

    #[test]
    fn quantized_weights_directly_or_behind_dequantize_and_transpose() {
        let g = G {
            nodes: vec![
                node("DynamicQuantizeLinear", &["x"], &["xq", "xs", "xz"], &[]),
                node("MatMulInteger", &["xq", "Wq", "xz", "Wz"], &["m1"], &[]),
                node("Cast", &["m1"], &["h1"], &[attr_i("to", 1)]),
                node("DequantizeLinear", &["W2q", "W2s", "W2z"], &["W2"], &[]),
                node("MatMul", &["h1", "W2"], &["h2"], &[]),
                node("Transpose", &["W3t"], &["W3"], &[]),
                node("MatMul", &["h2", "W3"], &["y"], &[]),
            ],
            inits: vec![
                // int8 [4,3]: 3 zero bytes; 0x80 (-128) is not zero.
                tensor_raw("Wq", INT8, &[4, 3], &[0, 1, 2, 0, 0x80, 3, 4, 5, 0, 6, 7, 8]),
                tensor_ints("Wz", INT8, 5, &[], &[0]),
                tensor_raw("W2q", INT8, &[3, 2], &[1, 2, 3, 4, 5, 6]),
                tensor_float_data("W2s", &[], &[0.1]),
                tensor_ints("W2z", INT8, 5, &[], &[0]),
                // [N=5, K=2] transposed to [2, 5].
                tensor_f32("W3t", &[5, 2], &[1.0; 10]),
            ],
            inputs: vec![value_info("x", FLOAT, &[P("N"), V(4)])],
            outputs: vec![value_info("y", FLOAT, &[P("N"), V(5)])],
            value_info: vec![],
        };
        let s = stats(&g, None);
        assert_eq!(s.flops_per_example, 2.0 * 4.0 * 3.0 + 2.0 * 3.0 * 2.0 + 2.0 * 2.0 * 5.0);
        assert_eq!(s.parameters, 12 + 1 + 6 + 1 + 1 + 10);
        assert_eq!(s.nonzero_parameters, 9 + 6 + 1 + 10);
        assert_eq!(s.parameter_bytes, 12 + 1 + 6 + 4 + 1 + 40);
        assert!(s.assumptions.is_empty(), "{:?}", s.assumptions);
    }

    #[test]
    fn unknown_shapes_fall_back_to_rows_with_an_assumption() {
        let mut g = tabular_matmul();
        g.nodes.insert(0, node("SomeCustomOp", &["x"], &["x2"], &[]));
        g.nodes[1] = node("MatMul", &["x2", "W"], &["h"], &[]);
        let s = stats(&g, Some(24.0));
        assert_eq!(s.flops_per_example, 24.0);
        let fallback = |a: &String| a.contains("could not be inferred") && a.contains("one row");
        assert!(s.assumptions.iter().any(fallback), "{:?}", s.assumptions);

        // A sequence model: one row per token.
        let mut t = token_model(false);
        t.nodes.insert(1, node("SomeCustomOp", &["e"], &["e2"], &[]));
        t.nodes[2] = node("MatMul", &["e2", "W"], &["y"], &[]);
        let s = stats(&t, Some(24.0));
        assert_eq!(s.flops_per_example, 2.0 * 4.0 * 2.0 * 24.0);
        assert!(s.assumptions.iter().any(|a| a.contains("one row per token")), "{:?}", s.assumptions);

        // B unknown: not costed.
        let mut u = tabular_matmul();
        u.nodes.insert(0, node("SomeCustomOp", &["W"], &["Wx"], &[]));
        u.nodes[1] = node("MatMul", &["x", "Wx"], &["h"], &[]);
        let s = stats(&u, None);
        assert_eq!(s.flops_per_example, 0.0);
        assert!(s.assumptions.iter().any(|a| a.contains("not costed")), "{:?}", s.assumptions);
    }

    #[test]
    fn nonzero_counting_across_element_types() {
        let f16 = [0x00u8, 0x80, 0x00, 0x3c, 0x00, 0x00]; // -0.0, 1.0, 0.0
        let f64s: Vec<u8> = [-0.0f64, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut external = cat(&[f_int(1, 10), f_int(1, 10), f_int(2, FLOAT), f_str(8, "ext"), f_int(14, 1)]);
        external.extend(f_bytes(13, &cat(&[f_str(1, "location"), f_str(2, "weights.bin")])));
        let g = G {
            nodes: vec![node("Identity", &["x"], &["y"], &[])],
            inits: vec![
                tensor_raw("f16", 10, &[3], &f16),
                tensor_raw("f64", 11, &[2], &f64s),
                tensor_ints("i64", INT64, 7, &[3], &[0, 5, -3]),
                tensor_ints("i32", 6, 5, &[2], &[-1, 0]),
                tensor_raw("u8", 2, &[4], &[0, 255, 0, 1]),
                tensor_raw("bool", 9, &[2], &[1, 0]),
                tensor_raw("int4", 22, &[3], &[0x10, 0x00]),             // 0, 1, 0
                tensor_raw("bf16", 16, &[2], &[0x00, 0x80, 0x80, 0x3f]), // -0.0, 1.0
                tensor_raw("e4m3fnuz", 18, &[2], &[0x80, 0x00]),         // NaN, 0
                tensor_ints("f16typed", 10, 5, &[2], &[0x8000, 0x3c00]),
                external,
            ],
            inputs: vec![value_info("x", FLOAT, &[P("N"), V(4)])],
            outputs: vec![value_info("y", FLOAT, &[P("N"), V(4)])],
            value_info: vec![],
        };
        let s = stats(&g, None);
        assert_eq!(s.parameters, 3 + 2 + 3 + 2 + 4 + 2 + 3 + 2 + 2 + 2 + 100);
        assert_eq!(s.nonzero_parameters, 1 + 1 + 2 + 1 + 2 + 1 + 1 + 1 + 1 + 1 + 100);
        assert_eq!(s.parameter_bytes, 6 + 16 + 24 + 8 + 4 + 2 + 2 + 4 + 2 + 4 + 400);
        assert_eq!(s.assumptions, vec!["external data not read (1 initializer, 100 elements): counted as nonzero".to_string()]);
    }

    #[test]
    fn sparse_initializers_count_dims_and_stored_values() {
        let values = tensor_f32("S", &[3], &[1.0, 0.0, 2.0]);
        let indices = tensor_ints("", INT64, 7, &[3], &[0, 5, 9]);
        let sparse = cat(&[f_bytes(1, &values), f_bytes(2, &indices), packed_varints(3, &[2, 5])]);
        let mut bytes = model(&tabular_matmul());
        // Splice the sparse initializer into the graph: rebuild with an extra field 15.
        let mut g = graph(&tabular_matmul());
        g.extend(f_bytes(15, &sparse));
        bytes.clear();
        bytes.extend(cat(&[f_int(1, 8), f_bytes(7, &g)]));
        let s = graph_stats(&bytes, None).unwrap();
        assert_eq!(s.parameters, 15 + 10);
        assert_eq!(s.nonzero_parameters, 10 + 2);
        assert_eq!(s.parameter_bytes, 60 + 12 + 24);
    }

    #[test]
    fn unknown_fields_of_every_wire_type_are_skipped() {
        let junk = || {
            let mut out = f_int(99, 12345);
            key(98, 1, &mut out);
            out.extend_from_slice(&7u64.to_le_bytes());
            out.extend(f_bytes(97, b"\x08\x01whatever"));
            key(96, 5, &mut out);
            out.extend_from_slice(&3u32.to_le_bytes());
            out
        };
        let base = tabular_matmul();
        let g = G {
            nodes: base.nodes.iter().map(|n| cat(&[junk(), n.clone(), junk()])).collect(),
            inits: base.inits.iter().map(|t| cat(&[junk(), t.clone(), junk()])).collect(),
            inputs: base.inputs.iter().map(|v| cat(&[v.clone(), junk()])).collect(),
            outputs: base.outputs.iter().map(|v| cat(&[junk(), v.clone()])).collect(),
            value_info: vec![],
        };
        let mut graph_bytes = graph(&g);
        graph_bytes.extend(junk());
        let bytes = cat(&[junk(), f_int(1, 8), f_bytes(7, &graph_bytes), junk()]);
        assert_eq!(graph_stats(&bytes, None).unwrap(), stats(&base, None));
    }

    #[test]
    fn malformed_models_are_errors_naming_the_problem() {
        let err = |bytes: &[u8]| graph_stats(bytes, None).unwrap_err();
        assert!(err(b"").contains("empty"));
        assert!(err(&[0x0b, 0x00]).contains("wire type 3"), "{}", err(&[0x0b, 0x00]));
        let long_varint = [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert!(err(&long_varint).contains("varint longer"), "{}", err(&long_varint));
        assert!(err(&[0x08, 0x80]).contains("truncated varint"));
        assert!(err(&f_int(1, 8)).contains("no graph"));
        assert!(err(&[0x3a, 0x05, 0x01]).contains("needs 5 bytes"));

        let mut g = tabular_matmul();
        g.inits[0] = tensor_raw("W", FLOAT, &[4, 3], &[0u8; 40]);
        let e = err(&model(&g));
        assert!(e.contains("'W'") && e.contains("raw_data holds 40 bytes") && e.contains("need 48"), "{e}");

        g.inits[0] = tensor_float_data("W", &[4, 3], &[1.0; 5]);
        let e = err(&model(&g));
        assert!(e.contains("float_data holds 5 values"), "{e}");

        g.inits[0] = tensor_f32("W", &[-4, 3], &[1.0; 12]);
        assert!(err(&model(&g)).contains("negative dimension"));

        g.inits[0] = cat(&[f_int(1, 4), f_int(1, 3), f_int(2, FLOAT), f_str(8, "W")]);
        assert!(err(&model(&g)).contains("no data"));

        let mut no_outputs = tabular_matmul();
        no_outputs.outputs.clear();
        assert!(err(&model(&no_outputs)).contains("no outputs"));

        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(graph_stats(&model(&tabular_matmul()), Some(bad)).is_err());
        }
    }

    #[test]
    fn crafted_graphs_cannot_blow_up_shapes() {
        // Gather(x, x) doubles the rank at every step: 40 steps would be 2^40 dimensions.
        let mut nodes = Vec::new();
        let mut prev = "x".to_string();
        for i in 0..40 {
            let next = format!("g{i}");
            nodes.push(node("Gather", &[&prev, &prev], &[&next], &[]));
            prev = next;
        }
        nodes.push(node("MatMul", &[&prev, "W"], &["y"], &[]));
        let g = G {
            nodes,
            inits: vec![tensor_f32("W", &[2, 2], &[1.0; 4])],
            inputs: vec![value_info("x", INT64, &[P("N"), V(2)])],
            outputs: vec![value_info("y", FLOAT, &[P("N"), V(2)])],
            value_info: vec![],
        };
        let s = stats(&g, None);
        assert_eq!(s.flops_per_example, 8.0, "unknown shape: the fallback of one row");
        // Absurd dims are errors, not overflows.
        let mut big = tabular_matmul();
        big.inits.push(cat(&[f_int(1, i64::MAX), f_int(1, i64::MAX), f_int(2, FLOAT), f_str(8, "huge"), f_int(14, 1)]));
        assert!(graph_stats(&model(&big), None).unwrap_err().contains("more than 2^64"));
    }

    #[test]
    fn random_graphs_of_known_ops_never_panic() {
        // Shape propagation on nonsense: random ops wired to random tensors, random attributes
        // with extreme values, constant int inputs with extreme values.
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

    // ---- (b) the fixture models against fixtures/model_facts.json ----

    fn fixture(rel: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(rel);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn fixture_models_match_model_facts_json() {
        let facts: serde_json::Value = serde_json::from_slice(&fixture("model_facts.json")).unwrap();
        let facts = facts.as_object().unwrap();
        assert_eq!(facts.len(), 11, "one entry per fixture model");
        for (rel, f) in facts {
            let l = f["sequence_length"].as_f64().unwrap();
            let s = graph_stats(&fixture(rel), Some(l)).unwrap_or_else(|e| panic!("{rel}: {e}"));
            assert_eq!(s.parameters, f["parameters"].as_u64().unwrap(), "{rel} parameters");
            assert_eq!(s.nonzero_parameters, f["nonzero_parameters"].as_u64().unwrap(), "{rel} nonzero");
            assert_eq!(s.parameter_bytes, f["parameter_bytes"].as_u64().unwrap(), "{rel} bytes");
            let want = f["flops_per_example"].as_f64().unwrap();
            assert!((s.flops_per_example - want).abs() <= 1e-9 * want.abs(), "{rel} flops {} vs {want}", s.flops_per_example);
            let want_ops: Vec<(String, u64)> = f["op_counts"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
            assert_eq!(s.op_counts, want_ops, "{rel} op counts");
            // Every fixture's costed ops are exact: nothing guessed.
            assert!(s.assumptions.iter().all(|a| a.starts_with("no costed op depends")), "{rel}: {:?}", s.assumptions);
        }
    }

    // ---- (c) truncated and garbage input: errors, never panics ----

    /// Offset where the top-level graph field ends.
    fn graph_end(bytes: &[u8]) -> usize {
        let mut r = Fields::new(bytes, "test");
        while let Some((field, _)) = r.next().unwrap() {
            if field == 7 {
                return r.pos;
            }
        }
        panic!("no graph");
    }

    #[test]
    fn every_prefix_of_a_fixture_model_is_an_error_or_the_same_answer() {
        for rel in ["adult/int8.onnx", "adult/teacher.onnx", "errors/two_class.onnx"] {
            let bytes = fixture(rel);
            let full = graph_stats(&bytes, Some(24.0)).unwrap();
            let end = graph_end(&bytes);
            for n in 0..bytes.len() {
                match graph_stats(&bytes[..n], Some(24.0)) {
                    Err(e) => assert!(!e.is_empty()),
                    Ok(s) => {
                        assert!(n >= end, "{rel}: prefix of {n} bytes (graph ends at {end}) parsed");
                        assert_eq!(s, full);
                    }
                }
            }
        }
    }

    #[test]
    fn truncated_graph_contents_never_panic() {
        // Cut the graph message itself at every length and re-wrap it with a correct length, so
        // the cut lands inside nodes, tensors and shapes rather than at the top level.
        let bytes = fixture("adult/int8.onnx");
        let mut r = Fields::new(&bytes, "test");
        let mut graph_bytes: &[u8] = &[];
        while let Some((field, v)) = r.next().unwrap() {
            if let (7, Wire::Bytes(b)) = (field, v) {
                graph_bytes = b;
            }
        }
        let mut errors = 0;
        for n in 0..graph_bytes.len() {
            let m = cat(&[f_int(1, 8), f_bytes(7, &graph_bytes[..n])]);
            if graph_stats(&m, None).is_err() {
                errors += 1;
            }
        }
        assert!(errors > graph_bytes.len() / 2, "{errors} errors of {}", graph_bytes.len());
    }

    #[test]
    fn random_bytes_and_corrupted_models_never_panic() {
        let mut rng = Rng::new(20240517);
        for _ in 0..5000 {
            let len = rng.below(400) as usize;
            let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
            assert!(graph_stats(&bytes, Some(24.0)).is_err(), "random bytes parsed: {bytes:?}");
        }
        // Random edits of real models (overwrite, insert, delete a byte): any answer but a panic.
        // GRAPH_STATS_FUZZ_ROUNDS raises the count for a longer local run.
        let rounds: u64 = std::env::var("GRAPH_STATS_FUZZ_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
        for rel in ["adult/int8.onnx", "adult/pruned.onnx", "errors/nan_output.onnx", "tweets/distilled.onnx"] {
            let original = fixture(rel);
            for _ in 0..rounds {
                let mut bytes = original.clone();
                for _ in 0..1 + rng.below(4) {
                    let at = rng.below(bytes.len() as u64) as usize;
                    match rng.below(3) {
                        0 => bytes[at] = rng.next_u64() as u8,
                        1 => bytes.insert(at, rng.next_u64() as u8),
                        _ => {
                            bytes.remove(at);
                        }
                    }
                }
                let _ = graph_stats(&bytes, Some(24.0));
            }
        }
    }
}
