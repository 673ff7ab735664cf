//! The data side of a comparison: examples plus the batch source every model runs over.

use super::CompareError;
use crate::data::tensors::{read_npz_dataset, TensorData};
use crate::data::text::TextEncoder;
use crate::data::{read_dataset, Columns, DataFormat, Example};
use crate::evaluate::BatchSource;
use crate::model::{LabelNames, ModelInfo};
use crate::plan::{ComparePlan, InputPlan};
use crate::report::InputsInfo;

pub struct PreparedData {
    pub examples: Vec<Example>,
    /// The columns as read (feature patterns expanded).
    pub columns: Columns,
    pub source: Box<dyn BatchSource>,
    pub info: InputsInfo,
    /// Padding policy, for the report.
    pub padding: &'static str,
    /// What attacks perturb: the tokenizer (text) or the float tensor (tensor data).
    pub attack_inputs: AttackInputs,
}

/// The pieces an attack needs to build new model inputs.
pub enum AttackInputs {
    Text(TextEncoder),
    /// The float input's name and, per example, its values (first axis = examples).
    Tensor { input: String, values: ndarray::ArrayD<f32> },
    /// Several inputs or no float input: attacks are not supported.
    Unsupported(String),
}

/// Reads the data and prepares model inputs; `teacher` names the float input CSV features feed.
pub fn prepare(plan: &ComparePlan, teacher: &ModelInfo, labels: Option<&LabelNames>) -> Result<PreparedData, CompareError> {
    match &plan.inputs {
        InputPlan::Text { tokenizer, max_length } => {
            let dataset = read_dataset(&plan.data, plan.data_format, &plan.columns, labels)?;
            let encoder = TextEncoder::from_file(tokenizer, *max_length)?;
            let encoded = encoder.encode(&dataset.examples)?;
            let padding = "each batch padded to its longest example (pad id, attention mask 0, token type 0)";
            Ok(PreparedData {
                info: InputsInfo::Text {
                    tokenizer: tokenizer.clone(),
                    max_length: encoded.max_length,
                    truncated: encoded.truncated,
                    empty_texts: encoded.empty,
                    pad_id: encoded.pad_id,
                },
                examples: dataset.examples,
                columns: dataset.columns,
                source: Box::new(encoded),
                padding,
                attack_inputs: AttackInputs::Text(encoder),
            })
        }
        InputPlan::Tensors => {
            let (examples, columns, data) = if plan.data_format == DataFormat::Npz {
                let (examples, data) = read_npz_dataset(&plan.data, &plan.columns, labels)?;
                (examples, plan.columns.clone(), data)
            } else {
                let dataset = read_dataset(&plan.data, plan.data_format, &plan.columns, labels)?;
                let input = float_input(teacher)?;
                let data = TensorData::from_features(&dataset.examples, &input);
                (dataset.examples, dataset.columns, data)
            };
            let attack_inputs = match data.tensors.as_slice() {
                [(name, crate::data::InputTensor::Float32(values))] => AttackInputs::Tensor { input: name.clone(), values: values.clone() },
                _ => AttackInputs::Unsupported(format!("attacks need exactly one float input; the data gives {}", data.shapes().iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", "))),
            };
            Ok(PreparedData {
                info: InputsInfo::Tensors { arrays: data.shapes() },
                examples,
                columns,
                source: Box::new(data),
                padding: "none: tensors have fixed shapes",
                attack_inputs,
            })
        }
    }
}

/// The one float input that CSV feature columns feed.
fn float_input(teacher: &ModelInfo) -> Result<String, CompareError> {
    let floats: Vec<&str> =
        teacher.inputs.iter().filter(|i| i.element_type == "float32").map(|i| i.name.as_str()).collect();
    match floats.as_slice() {
        [one] if teacher.inputs.len() == 1 => Ok(one.to_string()),
        _ => Err(CompareError::FeatureInput {
            model: teacher.name.clone(),
            inputs: teacher.inputs.iter().map(|i| format!("{} ({})", i.name, i.element_type)).collect::<Vec<_>>().join(", "),
        }),
    }
}
