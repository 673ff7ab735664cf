//! Each teacher weight against the student's: the same tensor (pruned, fine-tuned) or its quantized
//! form dequantized, `(q − zero_point) · scale`, per tensor or per channel along the axis
//! (`DequantizeLinear`'s `axis` for QDQ weights; for dynamic quantization, whose `MatMulInteger`
//! takes the scale as an initializer, the last axis with as many entries as the scale). SQNR as
//! ONNX Runtime's `compute_weight_error` defines it, and the share of exact zeros on both sides.

use super::matching::WEIGHT_SUFFIX;
use super::tensor_error::sqnr_db;
use crate::onnx::proto::{ModelProto, NodeProto, TensorProto};
use crate::onnx::values::values;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct WeightComparison {
    pub name: String,
    /// The student's initializer (`W` or `W_quantized`).
    pub student: String,
    /// "same" (a float tensor of the same name) or "dequantized".
    pub stored_as: String,
    pub elements: u64,
    pub sqnr_db: f64,
    /// Exact zeros / elements.
    pub teacher_zeros: f64,
    pub student_zeros: f64,
}

/// Teacher float initializers of two or more dimensions (layer weights, embeddings), and those the
/// student quantized (biases), that the student has.
pub fn compare_weights(teacher: &ModelProto, student: &ModelProto) -> (Vec<WeightComparison>, Vec<String>) {
    let (Some(tg), Some(sg)) = (teacher.graph.as_ref(), student.graph.as_ref()) else { return (vec![], vec![]) };
    let student_inits: HashMap<&str, &TensorProto> = sg.initializer.iter().map(|t| (t.name.as_deref().unwrap_or(""), t)).collect();
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    const FLOATS: [i32; 4] = [1, 10, 11, 16];
    for t in tg.initializer.iter().filter(|t| FLOATS.contains(&t.data_type.unwrap_or(0))) {
        let name = t.name.as_deref().unwrap_or("");
        let quantized = format!("{name}{WEIGHT_SUFFIX}");
        // Layer weights, and whatever the quantizer quantized (biases); not float constants.
        if t.dims.len() < 2 && !student_inits.contains_key(quantized.as_str()) {
            continue;
        }
        let result = if let Some(s) = student_inits.get(name).filter(|s| s.dims == t.dims) {
            same(t, s)
        } else if let Some(q) = student_inits.get(quantized.as_str()).filter(|q| q.dims == t.dims) {
            dequantized(name, t, q, &sg.node, &student_inits)
        } else {
            continue;
        };
        match result {
            Ok(row) => rows.push(row),
            Err(e) => notes.push(format!("weight {name}: {e}")),
        }
    }
    (rows, notes)
}

fn same(t: &TensorProto, s: &TensorProto) -> Result<WeightComparison, String> {
    let (x, y) = (values(t)?, values(s)?);
    Ok(row(t, s, "same", &x, &y))
}

fn dequantized(name: &str, t: &TensorProto, q: &TensorProto, nodes: &[NodeProto], inits: &HashMap<&str, &TensorProto>) -> Result<WeightComparison, String> {
    let q_name = q.name.as_deref().unwrap_or("");
    let dq = nodes.iter().find(|n| n.op_type.as_deref() == Some("DequantizeLinear") && n.input.first().map(String::as_str) == Some(q_name));
    let (scale_name, zero_name, axis) = match dq {
        Some(n) => {
            let axis = n.attribute.iter().find(|a| a.name.as_deref() == Some("axis")).and_then(|a| a.i).unwrap_or(1);
            (n.input.get(1).cloned().unwrap_or_default(), n.input.get(2).cloned(), Some(axis))
        }
        None => (format!("{name}_scale"), Some(format!("{name}_zero_point")), None),
    };
    let scale = values(inits.get(scale_name.as_str()).ok_or_else(|| format!("its scale '{scale_name}' is not an initializer"))?)?;
    let zero = match zero_name.as_deref().and_then(|z| inits.get(z)) {
        Some(z) => values(z)?,
        None => vec![0.0; scale.len()],
    };
    if zero.len() != scale.len() || scale.is_empty() {
        return Err(format!("scale and zero point have {} and {} entries", scale.len(), zero.len()));
    }
    let dims: Vec<usize> = q.dims.iter().map(|&d| d as usize).collect();
    let channel_axis = if scale.len() == 1 {
        None
    } else {
        let rank = dims.len() as i64;
        let axis = match axis {
            Some(a) => (if a < 0 { a + rank } else { a }) as usize,
            None => (0..dims.len()).rev().find(|&a| dims[a] == scale.len()).ok_or_else(|| format!("no axis has the scale's {} entries", scale.len()))?,
        };
        if dims.get(axis) != Some(&scale.len()) {
            return Err(format!("axis {axis} of dims {dims:?} does not have the scale's {} entries", scale.len()));
        }
        Some(axis)
    };
    // Row-major: the channel of flat index i is (i / inner) % dims[axis].
    let inner: usize = channel_axis.map_or(1, |a| dims[a + 1..].iter().product());
    let raw = values(q)?;
    let y: Vec<f64> = raw
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let c = channel_axis.map_or(0, |a| (i / inner) % dims[a]);
            // float32 arithmetic, as DequantizeLinear computes it.
            ((v - zero[c]) as f32 * scale[c] as f32) as f64
        })
        .collect();
    Ok(row(t, q, "dequantized", &values(t)?, &y))
}

fn row(t: &TensorProto, s: &TensorProto, stored_as: &str, x: &[f64], y: &[f64]) -> WeightComparison {
    let signal: f64 = x.iter().map(|v| v * v).sum();
    let noise: f64 = x.iter().zip(y).map(|(a, b)| (a - b) * (a - b)).sum();
    let zeros = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().filter(|x| **x == 0.0).count() as f64 / v.len() as f64 };
    WeightComparison {
        name: t.name.clone().unwrap_or_default(),
        student: s.name.clone().unwrap_or_default(),
        stored_as: stored_as.into(),
        elements: x.len() as u64,
        sqnr_db: sqnr_db(signal, noise),
        teacher_zeros: zeros(x),
        student_zeros: zeros(y),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    fn model(path: &str) -> ModelProto {
        ModelProto::decode(std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(path)).unwrap().as_slice()).unwrap()
    }

    #[test]
    fn quantized_pruned_and_other_networks() {
        let teacher = model("adult/teacher.onnx");
        let (qdq, notes) = compare_weights(&teacher, &model("locate/adult-qdq.onnx"));
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(qdq.iter().map(|w| w.name.as_str()).collect::<Vec<_>>(), ["W1", "b1", "W2", "b2", "W3", "b3"]);
        assert!(qdq.iter().all(|w| w.stored_as == "dequantized" && w.sqnr_db > 20.0), "{qdq:?}");
        let (dynamic, _) = compare_weights(&teacher, &model("adult/int8.onnx"));
        assert_eq!(dynamic.len(), 3);
        let (pruned, _) = compare_weights(&teacher, &model("adult/pruned.onnx"));
        assert!(pruned.iter().all(|w| w.stored_as == "same" && w.student_zeros > w.teacher_zeros));
        let (distilled, _) = compare_weights(&teacher, &model("adult/distilled.onnx"));
        assert!(distilled.is_empty(), "shapes differ: not the same weights");
        // A broken scale shows in the weight it scales, and only there.
        let (broken, _) = compare_weights(&teacher, &model("locate/adult-qdq-broken.onnx"));
        let w2 = broken.iter().find(|w| w.name == "W2").unwrap();
        assert!(w2.sqnr_db < 0.0, "{w2:?}");
        assert!(broken.iter().zip(&qdq).all(|(b, q)| b.name == "W2" || b == q));
    }
}
