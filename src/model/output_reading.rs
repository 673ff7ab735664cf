//! One model's chosen output (see [`super::output_choice`]) and how a run's value of it becomes
//! rows of raw class scores: float scores as they are ([batch] becomes [batch, 1], a binary head),
//! labels as one-hot rows over the model's classes. float16 and bfloat16 scores are widened to
//! float32, which holds each of them exactly; float64 scores are rounded to float32, the precision
//! every model's scores are carried at (metrics then compute in f64).

use super::output_choice::{choose, Element, OutputLayout, OutputSignature};
use super::session::SessionSettings;
use crate::onnx::outputs::{ClassLabels, OutputFacts, ZipMap};
use ndarray::{Array2, Axis, Ix2};
use ort::session::Session;
use ort::value::{DynValue, TensorElementType, ValueType};
use std::collections::HashMap;

pub(super) struct OutputReading {
    /// The session output fetched.
    pub read: String,
    /// The graph output it stands for (a ZipMap's output, read through its input).
    pub shown: String,
    pub selection: String,
    pub layout: OutputLayout,
    pub classes: Option<usize>,
    pub class_labels: Option<ClassLabels>,
    /// The element type of the output read (scores or labels).
    pub element: TensorElementType,
    labels: LabelIndex,
}

/// From a label value to its class index.
enum LabelIndex {
    /// The value is the index, below this many classes.
    Indices(usize),
    Ints(HashMap<i64, usize>),
    Strings(HashMap<String, usize>),
}

fn signature(name: &str, ty: &ValueType) -> OutputSignature {
    let (element, dims) = match ty {
        ValueType::Tensor { ty: TensorElementType::Float32 | TensorElementType::Float16 | TensorElementType::Bfloat16 | TensorElementType::Float64, shape, .. } => {
            (Element::Float, shape.to_vec())
        }
        ValueType::Tensor {
            ty: TensorElementType::Int64 | TensorElementType::Int32 | TensorElementType::String, shape, ..
        } => (Element::Label, shape.to_vec()),
        ValueType::Tensor { shape, .. } => (Element::Other, shape.to_vec()),
        _ => (Element::Other, vec![]),
    };
    OutputSignature { name: name.to_string(), element, dims, display: ty.to_string() }
}

impl OutputReading {
    pub(super) fn new(session: &Session, settings: &SessionSettings, zipmap: Option<&ZipMap>, facts: &OutputFacts) -> Result<Self, String> {
        let outputs: Vec<OutputSignature> = session.outputs().iter().map(|o| signature(o.name(), o.dtype())).collect();
        // `--output output_probability` names the ZipMap, which is read through its input.
        let requested = settings.output.as_deref().map(|r| match zipmap {
            Some(z) if z.output == r => z.input.as_str(),
            _ => r,
        });
        let choice = choose(&outputs, requested)?;
        let through_zipmap = zipmap.filter(|z| z.input == choice.name);
        let class_labels = through_zipmap.map(|z| z.labels.clone()).or_else(|| facts.class_labels.clone());
        if let Some(ClassLabels::Ints(v)) = class_labels.as_ref().filter(|l| matches!(l, ClassLabels::Ints(_)) && !l.are_indices()) {
            return Err(format!(
                "names its classes {} (its classifier's labels); fidelity compares class i with class i and reads integer data labels as class indices 0..{}, so these would be compared wrongly: train and export it on labels 0..{} (scikit-learn's LabelEncoder)",
                v.iter().map(i64::to_string).collect::<Vec<_>>().join(", "),
                v.len().saturating_sub(1),
                v.len().saturating_sub(1)
            ));
        }
        let mut selection = choice.selection.clone();
        if let Some(z) = through_zipmap {
            selection.push_str(&format!(
                "; skl2onnx ZipMap '{}' read through its input tensor '{}', classes in the order of its keys ({})",
                z.output,
                z.input,
                z.labels.names().join(", ")
            ));
        }
        let classes = match choice.layout {
            OutputLayout::Scores => choice.columns.map(|c| if c == 1 { 2 } else { c }),
            OutputLayout::Labels => class_labels.as_ref().map(ClassLabels::len).or(settings.classes_hint),
        };
        let labels = match (&class_labels, choice.layout) {
            (Some(ClassLabels::Strings(v)), _) => LabelIndex::Strings(v.iter().enumerate().map(|(i, l)| (l.clone(), i)).collect()),
            (Some(ClassLabels::Ints(v)), _) => LabelIndex::Ints(v.iter().enumerate().map(|(i, &l)| (l, i)).collect()),
            (None, OutputLayout::Labels) => LabelIndex::Indices(classes.ok_or_else(|| {
                format!(
                    "gives labels only ('{}') and does not say how many classes there are; the teacher does not either (a label-only teacher needs a classifier node with class labels, or a student with class scores)",
                    choice.name
                )
            })?),
            (None, OutputLayout::Scores) => LabelIndex::Indices(0),
        };
        let element = session.outputs().iter().find(|o| o.name() == choice.name).and_then(|o| o.dtype().tensor_type()).unwrap_or(TensorElementType::Float32);
        let shown = through_zipmap.map_or(choice.name.clone(), |z| z.output.clone());
        Ok(Self { read: choice.name, shown, selection, layout: choice.layout, classes, class_labels, element, labels })
    }

    /// One run's value of the output as raw score rows.
    pub(super) fn scores(&self, value: &DynValue) -> Result<Array2<f32>, String> {
        match self.layout {
            OutputLayout::Scores => {
                let e = |e: ort::Error| e.to_string();
                let array = match self.element {
                    TensorElementType::Float16 => value.try_extract_array::<half::f16>().map_err(e)?.mapv(f32::from),
                    TensorElementType::Bfloat16 => value.try_extract_array::<half::bf16>().map_err(e)?.mapv(f32::from),
                    TensorElementType::Float64 => value.try_extract_array::<f64>().map_err(e)?.mapv(|x| x as f32),
                    _ => value.try_extract_array::<f32>().map_err(e)?.to_owned(),
                };
                let array = if array.ndim() == 1 { array.insert_axis(Axis(1)) } else { array };
                array.into_dimensionality::<Ix2>().map_err(|e| format!("output '{}': {e}", self.read))
            }
            OutputLayout::Labels => self.one_hot(value),
        }
    }

    fn one_hot(&self, value: &DynValue) -> Result<Array2<f32>, String> {
        let e = |e: ort::Error| e.to_string();
        let indices: Vec<Result<usize, String>> = match self.element {
            TensorElementType::String => value.try_extract_string_array().map_err(e)?.iter().map(|l| self.index_of_name(l)).collect(),
            TensorElementType::Int32 => value.try_extract_array::<i32>().map_err(e)?.iter().map(|&l| self.index_of(l as i64)).collect(),
            _ => value.try_extract_array::<i64>().map_err(e)?.iter().map(|&l| self.index_of(l)).collect(),
        };
        let classes = self.classes.unwrap_or(0);
        let mut rows = Array2::zeros((indices.len(), classes));
        for (row, index) in indices.into_iter().enumerate() {
            rows[[row, index?]] = 1.0;
        }
        Ok(rows)
    }

    fn index_of(&self, label: i64) -> Result<usize, String> {
        let classes = self.classes.unwrap_or(0);
        match &self.labels {
            LabelIndex::Indices(n) if (0..*n as i64).contains(&label) => Ok(label as usize),
            LabelIndex::Ints(map) if map.contains_key(&label) => Ok(map[&label]),
            _ => Err(format!("label output '{}' gave {label}, which is not one of its {classes} classes", self.read)),
        }
    }

    fn index_of_name(&self, label: &str) -> Result<usize, String> {
        match &self.labels {
            LabelIndex::Strings(map) => map.get(label).copied().ok_or_else(|| format!("label output '{}' gave '{label}', which is not one of its classes", self.read)),
            _ => Err(format!("label output '{}' gave the string '{label}', but the graph names no string classes", self.read)),
        }
    }
}
