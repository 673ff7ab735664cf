//! Tensor facts for the size columns: elements, nonzero elements, bytes, and the values of small
//! integer tensors (axes, shapes) that shape propagation needs.
//!
//! - elements come from `dims` (a scalar is one element), whatever the element type: quantization
//!   scales and zero points and the small integer constants of a graph count too.
//! - A value is zero when all its bytes are zero, except that for floating-point types the sign bit
//!   is ignored (−0.0 counts as zero); for the `FNUZ` float8 types the byte 0x80 is NaN, not −0,
//!   and counts as nonzero. Read from `raw_data` (little-endian) or from the typed fields
//!   (`float_data`, `int32_data`, `int64_data`, `double_data`, `uint64_data`; strings count when
//!   not empty). Quantized weights are judged by their stored integers: an int8 weight equal to its
//!   zero point but not to 0 counts as nonzero.
//! - Tensors with external data (`data_location = EXTERNAL`) are not read: their elements count as
//!   nonzero. So do elements of data types this reader does not interpret (none in ONNX 1.20
//!   except `UNDEFINED`).
//! - bytes: the length of `raw_data` when present, otherwise the elements times the element size
//!   (sub-byte types packed, strings by their lengths); no protobuf overhead.

use super::proto::TensorProto;

/// How the elements of a data type are stored and when one is zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
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

pub(super) fn kind_of(data_type: i64) -> Kind {
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
pub(super) fn storage_bytes(kind: Kind, n: u64) -> Option<u64> {
    match kind {
        Kind::Int { size } | Kind::Float { size, .. } => n.checked_mul(size),
        Kind::NeverZero => Some(n),
        Kind::Packed { bits, .. } => n.checked_mul(u64::from(bits)).map(|b| b.div_ceil(8)),
        Kind::Str | Kind::Unknown => None,
    }
}

/// Is a little-endian float component zero, ignoring its sign bit?
pub(super) fn float_bytes_zero(c: &[u8]) -> bool {
    match c.split_last() {
        Some((last, rest)) => last & 0x7f == 0 && rest.iter().all(|&b| b == 0),
        None => true,
    }
}

pub(super) fn packed_zero(value: u64, bits: u32, float: bool) -> bool {
    let mask = (1u64 << bits) - 1;
    let v = value & mask;
    if float {
        v & (mask >> 1) == 0
    } else {
        v == 0
    }
}

#[derive(Debug, Clone, Default)]
pub(super) struct TensorSummary {
    pub(super) dims: Vec<u64>,
    pub(super) elements: u64,
    pub(super) nonzero: u64,
    pub(super) bytes: u64,
    pub(super) external: bool,
    pub(super) unknown_type: Option<i64>,
    /// Values of small int32/int64 tensors (axes, shapes), for shape propagation.
    pub(super) ints: Option<Vec<i64>>,
}

const SMALL_INTS: u64 = 64;
/// `TensorProto.DataLocation.EXTERNAL`.
const EXTERNAL: i32 = 1;
const INT32: i64 = 6;
const INT64: i64 = 7;

pub(super) fn summarize(t: &TensorProto) -> Result<TensorSummary, String> {
    let data_type = i64::from(t.data_type.unwrap_or(0));
    let (dims, n) = element_count(&t.dims)?;
    let kind = kind_of(data_type);
    let mut s = TensorSummary { dims, elements: n, ..Default::default() };
    if kind == Kind::Unknown {
        s.unknown_type = Some(data_type);
    }
    if t.data_location == Some(EXTERNAL) {
        s.external = true;
        s.nonzero = n;
        s.bytes = storage_bytes(kind, n).unwrap_or(0);
        return Ok(s);
    }
    match t.raw_data.as_ref().filter(|r| !r.is_empty() || !has_typed_values(t)) {
        Some(raw) => from_raw(s, raw, kind, data_type, &t.dims),
        None => from_typed(s, t, kind, data_type),
    }
}

/// The dims as unsigned numbers and their product.
fn element_count(dims: &[i64]) -> Result<(Vec<u64>, u64), String> {
    let mut out = Vec::with_capacity(dims.len());
    let mut elements = 1u64;
    for &d in dims {
        let d = u64::try_from(d).map_err(|_| format!("negative dimension {d} in dims {dims:?}"))?;
        out.push(d);
        elements = elements.checked_mul(d).ok_or_else(|| format!("dims {dims:?} hold more than 2^64 elements"))?;
    }
    Ok((out, elements))
}

fn has_typed_values(t: &TensorProto) -> bool {
    !(t.float_data.is_empty()
        && t.int32_data.is_empty()
        && t.string_data.is_empty()
        && t.int64_data.is_empty()
        && t.double_data.is_empty()
        && t.uint64_data.is_empty())
}

fn le_u64(bytes: &[u8]) -> u64 {
    bytes.iter().rev().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

fn from_raw(mut s: TensorSummary, raw: &[u8], kind: Kind, data_type: i64, dims: &[i64]) -> Result<TensorSummary, String> {
    let n = s.elements;
    match kind {
        Kind::Str => return Err("a string tensor cannot use raw_data".to_string()),
        Kind::Unknown => {
            s.nonzero = n;
            s.bytes = raw.len() as u64;
            return Ok(s);
        }
        _ => {}
    }
    let expected = storage_bytes(kind, n).ok_or_else(|| format!("dims {dims:?} are too large"))?;
    if raw.len() as u64 != expected {
        return Err(format!("raw_data holds {} bytes but dims {dims:?} of data type {data_type} need {expected}", raw.len()));
    }
    s.bytes = expected;
    s.nonzero = raw_nonzero(raw, kind, n);
    if n <= SMALL_INTS && (data_type == INT32 || data_type == INT64) {
        let width = if data_type == INT32 { 4 } else { 8 };
        s.ints = Some(raw.chunks_exact(width).map(|c| if width == 4 { le_u64(c) as u32 as i32 as i64 } else { le_u64(c) as i64 }).collect());
    }
    Ok(s)
}

/// A data type whose nonzero elements can be counted byte-wise in pieces, and its element size.
pub(super) fn element_bytes(data_type: i64) -> Option<(Kind, usize)> {
    match kind_of(data_type) {
        k @ (Kind::Int { size } | Kind::Float { size, .. }) => Some((k, size as usize)),
        _ => None,
    }
}

pub(super) fn raw_nonzero(raw: &[u8], kind: Kind, n: u64) -> u64 {
    match kind {
        Kind::Int { size } => raw.chunks_exact(size as usize).filter(|c| c.iter().any(|&b| b != 0)).count() as u64,
        Kind::Float { size, comp } => raw.chunks_exact(size as usize).filter(|e| !e.chunks_exact(comp as usize).all(float_bytes_zero)).count() as u64,
        Kind::NeverZero => n,
        Kind::Packed { bits, float } => (0..n)
            .filter(|i| {
                let bit = i * u64::from(bits);
                let at = (bit / 8) as usize;
                let lo = u64::from(raw.get(at).copied().unwrap_or(0));
                let hi = u64::from(raw.get(at + 1).copied().unwrap_or(0));
                !packed_zero((lo | (hi << 8)) >> (bit % 8), bits, float)
            })
            .count() as u64,
        Kind::Str | Kind::Unknown => 0,
    }
}

/// The typed field a data type is stored in when `raw_data` is not used, each value as the 64 bits
/// the wire carried (int32 sign-extended, floats by their bits).
fn typed_values(t: &TensorProto, kind: Kind, data_type: i64) -> (&'static str, Vec<u64>) {
    match kind {
        Kind::Float { comp: 4, .. } => ("float_data", t.float_data.iter().map(|f| u64::from(f.to_bits())).collect()),
        Kind::Float { comp: 8, .. } => ("double_data", t.double_data.iter().map(|f| f.to_bits()).collect()),
        Kind::Int { size: 8 } if data_type == INT64 => ("int64_data", t.int64_data.iter().map(|&v| v as u64).collect()),
        Kind::Int { size: 8 } | Kind::Int { size: 4 } if data_type == 13 || data_type == 12 => ("uint64_data", t.uint64_data.clone()),
        _ => ("int32_data", t.int32_data.iter().map(|&v| i64::from(v) as u64).collect()),
    }
}

fn from_typed(mut s: TensorSummary, t: &TensorProto, kind: Kind, data_type: i64) -> Result<TensorSummary, String> {
    let n = s.elements;
    match kind {
        Kind::Unknown => {
            s.nonzero = n;
            return Ok(s);
        }
        Kind::Str => {
            check_count("string_data", t.string_data.len() as u64, n, n, &t.dims, data_type)?;
            s.nonzero = t.string_data.iter().filter(|b| !b.is_empty()).count() as u64;
            s.bytes = t.string_data.iter().map(|b| b.len() as u64).sum();
            return Ok(s);
        }
        _ => {}
    }
    let (field_name, values) = typed_values(t, kind, data_type);
    let expected = match kind {
        Kind::Packed { bits, .. } => n.div_ceil(values_per_word(bits)),
        Kind::Float { size, comp } => n.checked_mul(size / comp).ok_or_else(|| format!("dims {:?} are too large", t.dims))?,
        _ => n,
    };
    check_count(field_name, values.len() as u64, expected, n, &t.dims, data_type)?;
    s.bytes = storage_bytes(kind, n).unwrap_or(0);
    s.nonzero = typed_nonzero(&values, kind, n);
    if n <= SMALL_INTS && (data_type == INT32 || data_type == INT64) {
        s.ints = Some(values.iter().map(|&x| if data_type == INT32 { x as i64 as i32 as i64 } else { x as i64 }).collect());
    }
    Ok(s)
}

/// `expected` values (two per complex element, several sub-byte elements per word) for `n` elements.
fn check_count(field_name: &str, count: u64, expected: u64, n: u64, dims: &[i64], data_type: i64) -> Result<(), String> {
    if count == expected {
        return Ok(());
    }
    if count == 0 {
        return Err(format!("no data: dims {dims:?} need {n} elements but the tensor stores none"));
    }
    Err(format!("{field_name} holds {count} values but dims {dims:?} of data type {data_type} need {expected}"))
}

/// Sub-byte values packed into one int32_data entry.
fn values_per_word(bits: u32) -> u64 {
    if 8 % bits == 0 {
        u64::from(8 / bits)
    } else {
        1
    }
}

fn typed_nonzero(values: &[u64], kind: Kind, n: u64) -> u64 {
    match kind {
        Kind::Int { .. } => values.iter().filter(|&&x| x != 0).count() as u64,
        Kind::NeverZero => values.len() as u64,
        Kind::Float { size, comp } => {
            let sign_free = |x: u64| match comp {
                1 => x & 0x7f,
                2 => x & 0x7fff,
                4 => x & 0x7fff_ffff,
                _ => x & 0x7fff_ffff_ffff_ffff,
            };
            values.chunks((size / comp) as usize).filter(|element| element.iter().any(|&x| sign_free(x) != 0)).count() as u64
        }
        Kind::Packed { bits, float } => {
            let per = values_per_word(bits);
            let mut nonzero = 0;
            for (index, &x) in values.iter().enumerate() {
                for j in 0..per {
                    if index as u64 * per + j < n && !packed_zero(x >> (j * u64::from(bits)), bits, float) {
                        nonzero += 1;
                    }
                }
            }
            nonzero
        }
        Kind::Str | Kind::Unknown => 0,
    }
}
