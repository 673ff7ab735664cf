//! A batch of model inputs: named tensors whose first dimension is the batch.
//!
//! Text becomes `input_ids`, `attention_mask` and `token_type_ids`; each model takes the ones its
//! graph declares (see [`crate::model::session`]).

use ndarray::{Array2, ArrayD};

/// One named input tensor.
#[derive(Debug, Clone, PartialEq)]
pub enum InputTensor {
    Int64(Array2<i64>),
    Float32(ArrayD<f32>),
}

impl InputTensor {
    /// The rows at `rows` (in that order, repeats allowed).
    pub fn select(&self, rows: &[usize]) -> Self {
        match self {
            InputTensor::Int64(a) => InputTensor::Int64(a.select(ndarray::Axis(0), rows)),
            InputTensor::Float32(a) => InputTensor::Float32(a.select(ndarray::Axis(0), rows)),
        }
    }

    /// Its dimensions, the batch first.
    pub fn shape(&self) -> Vec<usize> {
        match self {
            InputTensor::Int64(a) => a.shape().to_vec(),
            InputTensor::Float32(a) => a.shape().to_vec(),
        }
    }

    pub fn dtype_name(&self) -> &'static str {
        match self {
            InputTensor::Int64(_) => "int64",
            InputTensor::Float32(_) => "float32",
        }
    }
}

/// Named input tensors for `rows` examples.
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    pub rows: usize,
    pub tensors: Vec<(String, InputTensor)>,
    /// For tokenized text, the tokenizer's pad id (a static-shape model's token inputs are padded
    /// with it); `None` for tensor data, whose shapes are the data's own.
    pub pad_id: Option<i64>,
}

impl Batch {
    pub fn get(&self, name: &str) -> Option<&InputTensor> {
        self.tensors.iter().find(|(n, _)| n == name).map(|(_, t)| t)
    }

    pub fn names(&self) -> Vec<&str> {
        self.tensors.iter().map(|(n, _)| n.as_str()).collect()
    }
}
