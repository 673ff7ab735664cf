//! Raw arguments to a validated plan: paths resolved, defaults applied, contradictions refused.

use crate::cli::{CompareArgs, JsBase, OutputsArg};
use crate::data::{Columns, DataFormat};
use crate::metrics::{LogBase, OutputKind};
use crate::evaluate::invariance::InvarianceSettings;
use crate::evaluate::BatchOrder;
use crate::stats::BootstrapSettings;
use crate::subgroups::SubgroupSettings;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PlanError {
    #[error("--batch-size and --serving-batch-size must be at least 1")]
    BatchSize,
    #[error("--confidence must be between 0 and 1 (e.g. 0.95), got {0}")]
    Confidence(f64),
    #[error("--group-column {0} is given twice")]
    DuplicateGroup(String),
    #[error("--invariance-tolerance must be a non-negative number, got {0}")]
    Tolerance(f64),
    #[error("--max-length must be at least 2 (room for the special tokens)")]
    MaxLength,
    #[error("{first} and {second} are the same file ({path}); give each model once")]
    SameModel { first: String, second: String, path: PathBuf },
    #[error("two models are named '{name}'; name them apart with NAME=PATH")]
    DuplicateName { name: String },
    #[error("model {name}: {path} does not exist")]
    MissingModel { name: String, path: PathBuf },
    #[error("data file {path} does not exist (--data)")]
    MissingData { path: PathBuf },
    #[error("no tokenizer: {path} does not exist. Pass --tokenizer with the model's tokenizer.json")]
    MissingTokenizer { path: PathBuf },
    #[error("--tokenizer {path} is for text data, but this data is tensors (.npz or --feature-columns); drop --tokenizer")]
    TokenizerWithTensors { path: PathBuf },
    #[error(transparent)]
    Format(#[from] crate::data::DataError),
}

/// A model to load.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSource {
    pub name: String,
    pub path: PathBuf,
}

impl ModelSource {
    /// "PATH" or "NAME=PATH"; a path that exists as written wins over the NAME= reading.
    fn parse(arg: &str) -> Self {
        if let Some((name, path)) = arg.split_once('=') {
            if !Path::new(arg).exists() && !name.is_empty() && !name.contains(['/', '\\']) {
                return Self { name: name.into(), path: path.into() };
            }
        }
        let path = PathBuf::from(arg);
        let name = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| arg.to_string());
        Self { name, path }
    }
}

/// What the models take.
#[derive(Debug, Clone, PartialEq)]
pub enum InputPlan {
    /// Text through a Hugging Face tokenizer.
    Text { tokenizer: PathBuf, max_length: usize },
    /// Float features or images: an `.npz` archive, or CSV/JSONL feature columns.
    Tensors,
}

/// Everything `compare` needs, validated.
#[derive(Debug, Clone)]
pub struct ComparePlan {
    pub teacher: ModelSource,
    pub students: Vec<ModelSource>,
    pub data: PathBuf,
    pub data_format: DataFormat,
    pub columns: Columns,
    pub inputs: InputPlan,
    pub config: Option<PathBuf>,
    pub batch_size: usize,
    pub batch_order: BatchOrder,
    pub serving_batch_size: usize,
    pub invariance: InvarianceSettings,
    pub js_base: LogBase,
    pub outputs: Option<OutputKind>,
    pub out: PathBuf,
    pub ort_lib: Option<PathBuf>,
    pub quiet: bool,
    pub subgroups: SubgroupSettings,
}

fn beside(model: &Path, file: &str) -> PathBuf {
    model.parent().unwrap_or(Path::new(".")).join(file)
}

/// The default report name: the teacher's folder ("fixtures/tweets/teacher.onnx" -> "tweets").
fn default_out(teacher: &Path) -> PathBuf {
    let case = teacher
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_else(|| "fidelity".into());
    PathBuf::from("reports").join(format!("{case}.json"))
}

impl ComparePlan {
    pub fn from_args(args: &CompareArgs) -> Result<Self, PlanError> {
        if args.batch_size == 0 || args.serving_batch_size == Some(0) {
            return Err(PlanError::BatchSize);
        }
        if !(args.invariance_tolerance >= 0.0) {
            return Err(PlanError::Tolerance(args.invariance_tolerance));
        }
        if args.max_length < 2 {
            return Err(PlanError::MaxLength);
        }
        if !(args.confidence > 0.0 && args.confidence < 1.0) {
            return Err(PlanError::Confidence(args.confidence));
        }
        for (i, g) in args.group_columns.iter().enumerate() {
            if args.group_columns[..i].contains(g) {
                return Err(PlanError::DuplicateGroup(g.clone()));
            }
        }
        let teacher = ModelSource::parse(&args.teacher);
        let students: Vec<ModelSource> = args.students.iter().map(|s| ModelSource::parse(s)).collect();
        let all: Vec<&ModelSource> = std::iter::once(&teacher).chain(&students).collect();
        for m in &all {
            if !m.path.is_file() {
                return Err(PlanError::MissingModel { name: m.name.clone(), path: m.path.clone() });
            }
        }
        for (i, a) in all.iter().enumerate() {
            for b in &all[i + 1..] {
                if a.name == b.name {
                    return Err(PlanError::DuplicateName { name: a.name.clone() });
                }
                if a.path.canonicalize().ok() == b.path.canonicalize().ok() {
                    return Err(PlanError::SameModel { first: a.name.clone(), second: b.name.clone(), path: a.path.clone() });
                }
            }
        }
        if !args.data.is_file() {
            return Err(PlanError::MissingData { path: args.data.clone() });
        }
        let data_format = match args.data_format {
            Some(f) => f,
            None => DataFormat::from_path(&args.data)?,
        };
        let tensors = data_format == DataFormat::Npz || !args.feature_columns.is_empty();
        let inputs = if tensors {
            if let Some(t) = &args.tokenizer {
                return Err(PlanError::TokenizerWithTensors { path: t.clone() });
            }
            InputPlan::Tensors
        } else {
            let tokenizer = args.tokenizer.clone().unwrap_or_else(|| beside(&teacher.path, "tokenizer.json"));
            if !tokenizer.is_file() {
                return Err(PlanError::MissingTokenizer { path: tokenizer });
            }
            InputPlan::Text { tokenizer, max_length: args.max_length }
        };
        let config = args.config.clone().or_else(|| Some(beside(&teacher.path, "config.json")).filter(|p| p.is_file()));
        let columns = Columns {
            text: (!tensors).then(|| args.text_column.clone()),
            text_pair: args.text_pair_column.clone().filter(|_| !tensors),
            label: (!args.unlabelled).then(|| args.label_column.clone()),
            groups: args.group_columns.clone(),
            features: args.feature_columns.clone(),
        };
        Ok(Self {
            out: args.out.clone().unwrap_or_else(|| default_out(&teacher.path)),
            teacher,
            students,
            data: args.data.clone(),
            data_format,
            columns,
            inputs,
            config,
            batch_size: args.batch_size,
            batch_order: args.batch_order,
            serving_batch_size: args.serving_batch_size.unwrap_or(args.batch_size),
            invariance: InvarianceSettings { sample: args.invariance_sample, seed: args.seed, tolerance: args.invariance_tolerance },
            js_base: match args.js_base {
                JsBase::E => LogBase::E,
                JsBase::Two => LogBase::Two,
            },
            outputs: match args.outputs {
                OutputsArg::Auto => None,
                OutputsArg::Logits => Some(OutputKind::Logits),
                OutputsArg::Probabilities => Some(OutputKind::Probabilities),
            },
            ort_lib: args.ort_lib.clone(),
            quiet: args.quiet,
            subgroups: SubgroupSettings {
                min_group_size: args.min_group_size,
                bootstrap: BootstrapSettings { resamples: args.bootstrap, confidence: args.confidence, seed: args.seed },
                correction: args.correction,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_arguments_take_optional_names() {
        assert_eq!(ModelSource::parse("a/b/int8.onnx"), ModelSource { name: "int8".into(), path: "a/b/int8.onnx".into() });
        assert_eq!(ModelSource::parse("q=a/b/m.onnx"), ModelSource { name: "q".into(), path: "a/b/m.onnx".into() });
        assert_eq!(ModelSource::parse("a/x=y.onnx").path, PathBuf::from("a/x=y.onnx"));
    }
}
