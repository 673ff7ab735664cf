//! An initializer's numbers as float64, for comparing weights (a quantized weight against the
//! teacher's float one). Raw little-endian data or ONNX's typed fields; tensors in external files
//! and types a weight is never stored in are an error naming the tensor.

use super::proto::TensorProto;

const FLOAT: i32 = 1;
const UINT8: i32 = 2;
const INT8: i32 = 3;
const UINT16: i32 = 4;
const INT16: i32 = 5;
const INT32: i32 = 6;
const INT64: i32 = 7;
const FLOAT16: i32 = 10;
const DOUBLE: i32 = 11;
const BFLOAT16: i32 = 16;
const EXTERNAL: i32 = 1;

/// The tensor's elements in row-major order, as float64 (exact for every type read here).
pub fn values(t: &TensorProto) -> Result<Vec<f64>, String> {
    let name = t.name.as_deref().unwrap_or("");
    if t.data_location == Some(EXTERNAL) {
        return Err(format!("initializer '{name}' is stored in an external data file (not read for weight comparison)"));
    }
    let data_type = t.data_type.unwrap_or(0);
    let values = match t.raw_data.as_ref() {
        Some(raw) => from_raw(raw, data_type),
        None => from_typed(t, data_type),
    }
    .ok_or_else(|| format!("initializer '{name}' has element type {data_type}, not one a weight is compared in"))?;
    let expected: i64 = t.dims.iter().product();
    if values.len() as i64 != expected {
        return Err(format!("initializer '{name}' holds {} values for dims {:?}", values.len(), t.dims));
    }
    Ok(values)
}

fn from_raw(raw: &[u8], data_type: i32) -> Option<Vec<f64>> {
    let le2 = |c: &[u8]| u16::from_le_bytes([c[0], c[1]]);
    Some(match data_type {
        FLOAT => raw.chunks_exact(4).map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect(),
        DOUBLE => raw.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8]))).collect(),
        FLOAT16 => raw.chunks_exact(2).map(|c| f64::from(half::f16::from_bits(le2(c)))).collect(),
        BFLOAT16 => raw.chunks_exact(2).map(|c| f64::from(half::bf16::from_bits(le2(c)))).collect(),
        UINT8 => raw.iter().map(|&b| f64::from(b)).collect(),
        INT8 => raw.iter().map(|&b| f64::from(b as i8)).collect(),
        UINT16 => raw.chunks_exact(2).map(|c| f64::from(le2(c))).collect(),
        INT16 => raw.chunks_exact(2).map(|c| f64::from(le2(c) as i16)).collect(),
        INT32 => raw.chunks_exact(4).map(|c| f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]]))).collect(),
        INT64 => raw.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f64).collect(),
        _ => return None,
    })
}

fn from_typed(t: &TensorProto, data_type: i32) -> Option<Vec<f64>> {
    Some(match data_type {
        FLOAT => t.float_data.iter().map(|&x| f64::from(x)).collect(),
        DOUBLE => t.double_data.clone(),
        // ONNX keeps these in int32_data: the value itself, or the 16 bits of a half.
        UINT8 | INT8 | UINT16 | INT16 | INT32 => t.int32_data.iter().map(|&x| f64::from(x)).collect(),
        FLOAT16 => t.int32_data.iter().map(|&x| f64::from(half::f16::from_bits(x as u16))).collect(),
        BFLOAT16 => t.int32_data.iter().map(|&x| f64::from(half::bf16::from_bits(x as u16))).collect(),
        INT64 => t.int64_data.iter().map(|&x| x as f64).collect(),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(data_type: i32, dims: Vec<i64>) -> TensorProto {
        TensorProto { data_type: Some(data_type), dims, name: Some("w".into()), ..Default::default() }
    }

    #[test]
    fn raw_and_typed_storage_read_the_same_numbers() {
        let raw = TensorProto { raw_data: Some(vec![0xff, 0x01, 0x80].into()), ..tensor(INT8, vec![3]) };
        assert_eq!(values(&raw).unwrap(), [-1.0, 1.0, -128.0]);
        let typed = TensorProto { int32_data: vec![-1, 1, -128], ..tensor(INT8, vec![3]) };
        assert_eq!(values(&typed).unwrap(), [-1.0, 1.0, -128.0]);
        let floats = TensorProto { raw_data: Some([1.5f32.to_le_bytes(), (-2.0f32).to_le_bytes()].concat().into()), ..tensor(FLOAT, vec![1, 2]) };
        assert_eq!(values(&floats).unwrap(), [1.5, -2.0]);
        let half = TensorProto { int32_data: vec![i32::from(half::f16::from_f32(0.5).to_bits())], ..tensor(FLOAT16, vec![1]) };
        assert_eq!(values(&half).unwrap(), [0.5]);
    }

    #[test]
    fn wrong_counts_external_data_and_strings_are_errors() {
        let short = TensorProto { float_data: vec![1.0], ..tensor(FLOAT, vec![2]) };
        assert!(values(&short).unwrap_err().contains("holds 1 values"));
        let external = TensorProto { data_location: Some(EXTERNAL), ..tensor(FLOAT, vec![2]) };
        assert!(values(&external).unwrap_err().contains("external"));
        assert!(values(&tensor(8, vec![0])).unwrap_err().contains("element type 8"));
    }
}
