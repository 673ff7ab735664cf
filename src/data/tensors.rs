//! Tensor data: models whose inputs are float feature vectors or images rather than text.
//!
//! Two sources: an `.npz` archive (one array per model input, first axis = examples, plus a label
//! array and attribute arrays), or the feature columns of a CSV (stacked into one `[n, d]` input
//! named after the model's float input). No padding: every example already has its full shape.

use super::npy::{read_npz, NpyArray, NpyData, NpyError};
use super::source_error as err;
use super::{Batch, Columns, DataError, Example, InputTensor};
use crate::model::LabelNames;
use ndarray::{Array2, ArrayD, Axis, IxDyn};
use std::path::Path;

/// Named arrays whose first axis is the example.
#[derive(Debug, Clone)]
pub struct TensorData {
    pub n: usize,
    pub tensors: Vec<(String, InputTensor)>,
}

impl TensorData {
    /// Stacks every example's CSV features into one `[n, d]` float input called `input`.
    pub fn from_features(examples: &[Example], input: &str) -> Self {
        let d = examples.first().map_or(0, |e| e.features.len());
        let flat: Vec<f32> = examples.iter().flat_map(|e| e.features.iter().copied()).collect();
        let array = ArrayD::from_shape_vec(IxDyn(&[examples.len(), d]), flat).unwrap_or_else(|_| ArrayD::zeros(IxDyn(&[0, d])));
        Self { n: examples.len(), tensors: vec![(input.to_string(), InputTensor::Float32(array))] }
    }

    /// `(name, shape)` of every array, for the report.
    pub fn shapes(&self) -> Vec<(String, Vec<usize>)> {
        self.tensors
            .iter()
            .map(|(n, t)| {
                let shape = match t {
                    InputTensor::Int64(a) => a.shape().to_vec(),
                    InputTensor::Float32(a) => a.shape().to_vec(),
                };
                (n.clone(), shape)
            })
            .collect()
    }

    /// The examples at `indices`, in that order.
    pub fn batch_of(&self, indices: &[usize]) -> Batch {
        let tensors = self
            .tensors
            .iter()
            .map(|(name, t)| {
                let part = match t {
                    InputTensor::Int64(a) => InputTensor::Int64(a.select(Axis(0), indices)),
                    InputTensor::Float32(a) => InputTensor::Float32(a.select(Axis(0), indices)),
                };
                (name.clone(), part)
            })
            .collect();
        Batch { rows: indices.len(), tensors }
    }
}

fn as_strings(array: &NpyArray) -> Vec<String> {
    match &array.data {
        NpyData::Str(v) => v.clone(),
        NpyData::I64(v) => v.iter().map(i64::to_string).collect(),
        NpyData::F32(v) => v.iter().map(f32::to_string).collect(),
    }
}

/// Reads an `.npz` archive: `columns.label` and `columns.groups` name the label and attribute
/// arrays; every other array whose first axis has the same length is a candidate model input.
pub fn read_npz_dataset(
    path: &Path,
    columns: &Columns,
    labels: Option<&LabelNames>,
) -> Result<(Vec<Example>, TensorData), DataError> {
    let arrays = read_npz(path).map_err(|e| match e {
        NpyError::Archive { message, .. } => err(path, "archive", message),
        NpyError::Array { array, message, .. } => err(path, &format!("array '{array}'"), message),
    })?;
    let available = || arrays.iter().map(|(n, a)| format!("{n} {:?}", a.shape)).collect::<Vec<_>>().join(", ");
    let find = |name: &str, what: &'static str, flag: &'static str| {
        arrays.iter().find(|(n, _)| n == name).map(|(_, a)| a).ok_or_else(|| DataError::MissingColumn {
            path: path.to_path_buf(),
            column: name.to_string(),
            what,
            flag,
            available: available(),
        })
    };
    let label_array = match &columns.label {
        Some(l) => Some(find(l, "the gold label; pass --unlabelled for data without labels", "--label-column")?),
        None => None,
    };
    let group_arrays = columns
        .groups
        .iter()
        .map(|g| find(g, "a subgroup attribute", "--group-column").map(as_strings))
        .collect::<Result<Vec<_>, _>>()?;
    let n = match (label_array, arrays.first()) {
        (Some(a), _) | (None, Some((_, a))) => a.shape.first().copied().unwrap_or(0),
        (None, None) => 0,
    };
    let mut tensors = Vec::new();
    for (name, array) in &arrays {
        let is_meta = columns.label.as_deref() == Some(name.as_str()) || columns.groups.contains(name);
        if array.shape.first() != Some(&n) {
            return Err(err(path, &format!("array '{name}'"), format!("has shape {:?}, but the data has {n} examples (first axis)", array.shape)));
        }
        if is_meta {
            continue;
        }
        match &array.data {
            NpyData::F32(v) => tensors.push((name.clone(), InputTensor::Float32(ArrayD::from_shape_vec(IxDyn(&array.shape), v.clone()).map_err(|e| err(path, name, e.to_string()))?))),
            NpyData::I64(v) if array.shape.len() == 2 => tensors.push((name.clone(), InputTensor::Int64(Array2::from_shape_vec((array.shape[0], array.shape[1]), v.clone()).map_err(|e| err(path, name, e.to_string()))?))),
            _ => {} // not a model input (e.g. ids or extra metadata): ignored
        }
    }
    let label_strings = label_array.map(as_strings);
    let mut examples = Vec::with_capacity(n);
    for i in 0..n {
        let origin = format!("row {}", i + 1);
        let label = match &label_strings {
            Some(l) => Some(super::columns::parse_label(&l[i], labels).map_err(|m| err(path, &origin, m))?),
            None => None,
        };
        let attributes = group_arrays.iter().map(|g| g[i].clone()).collect();
        examples.push(Example { origin, text: None, text_pair: None, label, attributes, features: vec![] });
    }
    if examples.is_empty() {
        return Err(DataError::Empty { path: path.to_path_buf() });
    }
    Ok((examples, TensorData { n, tensors }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_slice_the_first_axis() {
        let a = ArrayD::from_shape_vec(IxDyn(&[3, 2]), vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let data = TensorData { n: 3, tensors: vec![("x".into(), InputTensor::Float32(a))] };
        let b = data.batch_of(&[2, 0]);
        assert_eq!(b.rows, 2);
        let Some(InputTensor::Float32(x)) = b.get("x") else { panic!() };
        assert_eq!(x.as_slice().unwrap(), &[5.0, 6.0, 1.0, 2.0]);
    }

    #[test]
    fn image_batches_keep_their_shape() {
        // [examples, channels, height, width], as an .npz of images for a small CNN gives.
        let a = ArrayD::from_shape_fn(IxDyn(&[3, 1, 2, 2]), |i| (i[0] * 10 + i[2] * 2 + i[3]) as f32);
        let data = TensorData { n: 3, tensors: vec![("pixels".into(), InputTensor::Float32(a))] };
        let b = data.batch_of(&[1, 2]);
        let Some(InputTensor::Float32(x)) = b.get("pixels") else { panic!() };
        assert_eq!(x.shape(), &[2, 1, 2, 2]);
        assert_eq!(x.as_slice().unwrap(), &[10.0, 11.0, 12.0, 13.0, 20.0, 21.0, 22.0, 23.0]);
    }

    #[test]
    fn stacks_csv_features() {
        let ex = |f: Vec<f32>| Example { origin: "row".into(), text: None, text_pair: None, label: Some(0), attributes: vec![], features: f };
        let data = TensorData::from_features(&[ex(vec![1.0, 2.0]), ex(vec![3.0, 4.0])], "features");
        assert_eq!(data.shapes(), vec![("features".to_string(), vec![2, 2])]);
    }
}
