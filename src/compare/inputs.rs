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
}

/// Reads the data and prepares model inputs; `teacher` names the float input CSV features feed.
pub fn prepare(plan: &ComparePlan, teacher: &ModelInfo, labels: Option<&LabelNames>) -> Result<PreparedData, CompareError> {
    match &plan.inputs {
        InputPlan::Text { tokenizer, max_length } => {
            let dataset = read_dataset(&plan.data, plan.data_format, &plan.columns, labels)?;
            let encoder = TextEncoder::from_file(tokenizer, *max_length)?;
            let encoded = encoder.encode(&dataset.examples)?;
            Ok(PreparedData {
                info: InputsInfo::Text {
                    tokenizer: tokenizer.clone(),
                    max_length: encoded.max_length,
                    truncated: encoded.truncated,
                    pad_id: encoded.pad_id,
                },
                examples: dataset.examples,
                columns: dataset.columns,
                source: Box::new(encoded),
                padding: "each batch padded to its longest example (pad id, attention mask 0, token type 0)",
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
            Ok(PreparedData {
                info: InputsInfo::Tensors { arrays: data.shapes() },
                examples,
                columns,
                source: Box::new(data),
                padding: "none: tensors have fixed shapes",
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
