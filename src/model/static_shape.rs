//! Static-shape exports: `torch.onnx.export` without `dynamic_axes` (and every mobile, NPU or
//! TensorRT build) fixes an input's batch dimension, its sequence length, or both. fidelity reads
//! the declared dims at load and fits every batch to them, so such a model runs wherever a dynamic
//! one does (evaluation, attacks, noise, populations, speed):
//!
//! - a fixed batch dimension B: the batch is cut into runs of exactly B rows, the last filled up with
//!   copies of its last row, whose outputs are dropped;
//! - a fixed sequence length L on the token inputs of text data: each row is padded to L (input ids
//!   with the tokenizer's pad id, the attention mask and token types with 0) or cut to its first L
//!   tokens. Cut rows are counted by the pipeline (from the token lengths) and reported.
//!
//! Dims it cannot meet are refused before any model runs, by [`StaticShape::check`].

use crate::data::{Batch, InputTensor};
use ndarray::{Array2, Axis};
use serde::Serialize;

/// Why the data cannot be fed to a model.
#[derive(Debug, PartialEq)]
pub enum ShapeProblem {
    /// The data does not give this input at all.
    Missing { input: String },
    /// A fixed dim the data cannot meet, in words.
    Dims(String),
}

/// What a model's graph fixes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct StaticShape {
    /// The batch dimension every input declares, when it is a number.
    pub batch: Option<usize>,
    /// The sequence length of the token inputs (integer inputs of rank 2), when it is a number.
    pub sequence: Option<usize>,
    /// Every input's declared dims (−1: dynamic), for checks and messages.
    #[serde(skip)]
    pub declared: Vec<(String, Vec<i64>)>,
}

fn fixed(d: i64) -> Option<usize> {
    (d > 0).then_some(d as usize)
}

fn show(dims: &[i64]) -> String {
    format!("[{}]", dims.iter().map(|&d| if d > 0 { d.to_string() } else { "?".into() }).collect::<Vec<_>>().join(", "))
}

impl StaticShape {
    /// From each input's name, whether it holds integers (token ids), and declared dims.
    pub fn from_inputs(inputs: &[(String, bool, Vec<i64>)]) -> Result<Self, String> {
        let declared: Vec<(String, Vec<i64>)> = inputs.iter().map(|(n, _, d)| (n.clone(), d.clone())).collect();
        let one_value = |what: &str, values: Vec<(&str, Option<usize>)>| -> Result<Option<usize>, String> {
            let fixed: Vec<(&str, usize)> = values.iter().filter_map(|&(n, v)| Some((n, v?))).collect();
            match fixed.first() {
                None => Ok(None),
                Some(&(_, v)) if fixed.len() == values.len() && fixed.iter().all(|&(_, x)| x == v) => Ok(Some(v)),
                Some(_) => Err(format!(
                    "its inputs declare different {what}s ({}); fidelity feeds every input the same {what}: re-export it with one",
                    inputs.iter().map(|(n, _, d)| format!("{n} {}", show(d))).collect::<Vec<_>>().join(", ")
                )),
            }
        };
        let batch = one_value("batch dimension", inputs.iter().filter(|(_, _, d)| !d.is_empty()).map(|(n, _, d)| (n.as_str(), fixed(d[0]))).collect())?;
        let tokens = inputs.iter().filter(|(_, int, d)| *int && d.len() == 2).map(|(n, _, d)| (n.as_str(), fixed(d[1]))).collect();
        let sequence = one_value("sequence length", tokens)?;
        Ok(Self { batch, sequence, declared })
    }

    pub fn is_dynamic(&self) -> bool {
        self.batch.is_none() && self.sequence.is_none()
    }

    /// Checks that `sample` (a batch of the data, one row is enough) can be fitted to the declared
    /// dims: every input present, every fixed dim but the batch and a text sequence met.
    pub fn check(&self, sample: &Batch, text: bool) -> Result<(), ShapeProblem> {
        for (name, dims) in &self.declared {
            let Some(tensor) = sample.get(name) else {
                return Err(ShapeProblem::Missing { input: name.clone() });
            };
            let given = tensor.shape();
            let sequence_input = text && matches!(tensor, InputTensor::Int64(_)) && dims.len() == 2;
            let meets = given.len() == dims.len() && dims.iter().zip(&given).enumerate().all(|(k, (&d, &g))| k == 0 || d <= 0 || (k == 1 && sequence_input) || d as usize == g);
            if !meets {
                let given = format!("[batch, {}]", given.iter().skip(1).map(usize::to_string).collect::<Vec<_>>().join(", "));
                return Err(ShapeProblem::Dims(format!(
                    "its input {name} is declared {} but the data gives {given}; give data of that shape (an .npz array per input), or re-export the model with those dims dynamic",
                    show(dims)
                )));
            }
        }
        Ok(())
    }

    /// `batch` fitted to the declared dims: the runs to make, each with how many of its rows are
    /// real (the first ones). Token inputs are fitted only in text batches (`pad_id` set).
    pub fn fit(&self, batch: &Batch) -> Vec<(Batch, usize)> {
        let batch = match (self.sequence, batch.pad_id) {
            (Some(l), Some(pad_id)) => with_sequence_length(batch, l, pad_id, self),
            _ => batch.clone(),
        };
        let Some(b) = self.batch.filter(|&b| b != batch.rows && batch.rows > 0) else {
            let rows = batch.rows;
            return vec![(batch, rows)];
        };
        (0..batch.rows)
            .step_by(b)
            .map(|start| {
                let real = b.min(batch.rows - start);
                let rows: Vec<usize> = (start..start + b).map(|r| r.min(start + real - 1)).collect();
                (select_rows(&batch, &rows), real)
            })
            .collect()
    }
}

/// The rows at `rows` (repeats allowed) of every tensor.
fn select_rows(batch: &Batch, rows: &[usize]) -> Batch {
    let tensors = batch.tensors.iter().map(|(n, t)| (n.clone(), t.select(rows))).collect();
    Batch { rows: rows.len(), tensors, pad_id: batch.pad_id }
}

/// Token inputs (integer, rank 2, declared with the fixed length) padded or cut to `length`.
fn with_sequence_length(batch: &Batch, length: usize, pad_id: i64, shape: &StaticShape) -> Batch {
    let is_token_input = |name: &str| shape.declared.iter().any(|(n, d)| n == name && d.len() == 2 && d[1] > 0);
    let tensors = batch
        .tensors
        .iter()
        .map(|(n, t)| match t {
            InputTensor::Int64(a) if is_token_input(n) && a.ncols() != length => {
                let fill = if n == "input_ids" { pad_id } else { 0 };
                let mut out = Array2::from_elem((a.nrows(), length), fill);
                let keep = length.min(a.ncols());
                out.slice_mut(ndarray::s![.., ..keep]).assign(&a.slice(ndarray::s![.., ..keep]));
                (n.clone(), InputTensor::Int64(out))
            }
            _ => (n.clone(), t.clone()),
        })
        .collect();
    Batch { rows: batch.rows, tensors, pad_id: batch.pad_id }
}

/// Stacks the real rows of each run's scores.
pub fn stack(parts: Vec<(Array2<f32>, usize)>) -> Result<Array2<f32>, String> {
    let views: Vec<_> = parts.iter().map(|(s, real)| s.slice(ndarray::s![..*real, ..])).collect();
    ndarray::concatenate(Axis(0), &views).map_err(|e| format!("cannot stack the runs' outputs: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_batch(lengths: &[usize]) -> Batch {
        let width = lengths.iter().copied().max().unwrap_or(0);
        let mut ids = Array2::from_elem((lengths.len(), width), 9);
        let mut mask = Array2::zeros((lengths.len(), width));
        for (r, &l) in lengths.iter().enumerate() {
            for c in 0..l {
                ids[[r, c]] = (10 * r + c) as i64 + 100;
                mask[[r, c]] = 1;
            }
        }
        Batch { rows: lengths.len(), tensors: vec![("input_ids".into(), InputTensor::Int64(ids)), ("attention_mask".into(), InputTensor::Int64(mask))], pad_id: Some(9) }
    }

    fn static_text(batch: i64, length: i64) -> StaticShape {
        StaticShape::from_inputs(&[("input_ids".into(), true, vec![batch, length]), ("attention_mask".into(), true, vec![batch, length])]).unwrap()
    }

    fn ints(b: &Batch, name: &str) -> Array2<i64> {
        match b.get(name).unwrap() {
            InputTensor::Int64(a) => a.clone(),
            InputTensor::Float32(_) => panic!("not ints"),
        }
    }

    #[test]
    fn declared_dims_give_the_batch_and_the_sequence_length() {
        assert_eq!((static_text(1, 128).batch, static_text(1, 128).sequence), (Some(1), Some(128)));
        assert!(static_text(-1, -1).is_dynamic());
        let features = StaticShape::from_inputs(&[("features".into(), false, vec![8, 46])]).unwrap();
        assert_eq!((features.batch, features.sequence), (Some(8), None), "a float input has no sequence");
        let mixed = StaticShape::from_inputs(&[("input_ids".into(), true, vec![1, 128]), ("attention_mask".into(), true, vec![8, 128])]);
        assert!(mixed.unwrap_err().contains("different batch dimensions (input_ids [1, 128], attention_mask [8, 128])"));
        let half = StaticShape::from_inputs(&[("input_ids".into(), true, vec![-1, 128]), ("attention_mask".into(), true, vec![-1, -1])]);
        assert!(half.is_err(), "one input fixed and one dynamic cannot both be fed one batch");
    }

    #[test]
    fn a_fixed_batch_runs_in_exact_batches_padded_with_the_last_row() {
        let runs = static_text(4, -1).fit(&text_batch(&[3, 1, 2, 2, 1, 3]));
        assert_eq!(runs.iter().map(|(b, real)| (b.rows, *real)).collect::<Vec<_>>(), vec![(4, 4), (4, 2)]);
        let last = ints(&runs[1].0, "input_ids");
        assert_eq!(last.row(1), last.row(2), "copies of the last real row");
        assert_eq!(last.row(1), last.row(3));
        assert_eq!(ints(&runs[0].0, "input_ids").row(0), ints(&text_batch(&[3, 1, 2, 2, 1, 3]), "input_ids").row(0));
        let scores: Vec<(Array2<f32>, usize)> = runs.iter().map(|(b, real)| (Array2::from_elem((b.rows, 2), *real as f32), *real)).collect();
        assert_eq!(stack(scores).unwrap().nrows(), 6, "padded rows' outputs are dropped");
        assert_eq!(static_text(4, -1).fit(&text_batch(&[1, 2, 3, 4])).len(), 1, "an exact batch runs as it is");
    }

    #[test]
    fn a_fixed_sequence_length_pads_with_the_pad_id_and_mask_zero_or_cuts() {
        let runs = static_text(-1, 5).fit(&text_batch(&[3, 2]));
        let (ids, mask) = (ints(&runs[0].0, "input_ids"), ints(&runs[0].0, "attention_mask"));
        assert_eq!(ids.row(0).to_vec(), vec![100, 101, 102, 9, 9]);
        assert_eq!(mask.row(1).to_vec(), vec![1, 1, 0, 0, 0]);
        let cut = static_text(-1, 2).fit(&text_batch(&[3, 1]));
        assert_eq!(ints(&cut[0].0, "input_ids").row(0).to_vec(), vec![100, 101], "the first L tokens");
        // Tensor data (no pad id) is not fitted: its shapes are checked instead.
        let tensor = Batch { pad_id: None, ..text_batch(&[3]) };
        assert_eq!(ints(&static_text(-1, 5).fit(&tensor)[0].0, "input_ids").ncols(), 3);
    }

    #[test]
    fn dims_the_data_cannot_meet_are_named_with_the_fix() {
        let features = |n: usize| Batch { rows: 1, tensors: vec![("features".into(), InputTensor::Float32(ndarray::ArrayD::zeros(vec![1, n])))], pad_id: None };
        let model = StaticShape::from_inputs(&[("features".into(), false, vec![1, 46])]).unwrap();
        assert!(model.check(&features(46), false).is_ok());
        let Err(ShapeProblem::Dims(err)) = model.check(&features(45), false) else { panic!("not refused") };
        assert!(err.contains("features is declared [1, 46] but the data gives [batch, 45]"), "{err}");
        let missing = StaticShape::from_inputs(&[("pixel_values".into(), false, vec![-1, 3])]).unwrap().check(&features(3), false);
        assert_eq!(missing, Err(ShapeProblem::Missing { input: "pixel_values".into() }));
        assert!(static_text(1, 128).check(&text_batch(&[3]), true).is_ok(), "text is fitted to the sequence length");
        assert!(static_text(1, 128).check(&Batch { pad_id: None, ..text_batch(&[3]) }, false).is_err(), "integer tensors are not");
    }
}
