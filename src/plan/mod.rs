//! Raw arguments to a validated plan: paths resolved, defaults applied, contradictions refused.

mod attack;
mod images;
pub mod language_model;
pub mod locate;
pub mod multiple_choice;
mod noise;
mod populations;
mod resolve;

use crate::data::{Columns, DataFormat};
use crate::gate::GateSpec;
use crate::inference::invariance::InvarianceSettings;
use crate::inference::BatchOrder;
use crate::machine::IntegerNumerics;
use crate::metrics::{LogBase, OutputKind};
use crate::model::{hub, Device};
use crate::speed::SpeedSettings;
use crate::subgroups::SubgroupSettings;
use crate::suite;
pub use attack::AttackSettings;
pub use noise::NoiseSettings;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PlanError {
    /// `fidelity locate`'s own flags.
    #[error("{0}")]
    Locate(String),
    /// Image data and preprocessing.
    #[error("{0}")]
    Images(String),
    #[error("--batch-size, --serving-batch-size and --chunk-size must be at least 1")]
    BatchSize,
    #[error("--confidence must be between 0 and 1 (e.g. 0.95), got {0}")]
    Confidence(f64),
    #[error("--output {flag}: no model is named '{model}' (the models are: {models}); write --output MODEL=OUTPUT, or --output OUTPUT for every model")]
    OutputModel { flag: String, model: String, models: String },
    #[error("--group-column {0} is given twice")]
    DuplicateGroup(String),
    #[error("--invariance-tolerance must be a non-negative number, got {0}")]
    Tolerance(f64),
    #[error("--max-length must be at least 2 (room for the special tokens)")]
    MaxLength,
    #[error("{first} and {second} are the same file ({path}) with the same settings; give each model once, or give one of them other runtime settings (optimization, threads, session.* config)")]
    SameModel { first: String, second: String, path: PathBuf },
    #[error("two models are named '{name}'; name them apart with NAME=PATH")]
    DuplicateName { name: String },
    #[error("model {name}: {path} does not exist or is not a file")]
    MissingModel { name: String, path: PathBuf },
    #[error("data file {path} does not exist or is not a file (--data)")]
    MissingData { path: PathBuf },
    #[error("no tokenizer: {path} does not exist. Pass --tokenizer with the model's tokenizer.json")]
    MissingTokenizer { path: PathBuf },
    #[error("--tokenizer {path} is for text data, but this data is tensors (.npz or --feature-columns); drop --tokenizer")]
    TokenizerWithTensors { path: PathBuf },
    #[error(transparent)]
    Format(#[from] crate::data::DataError),
    #[error(transparent)]
    Suite(#[from] suite::SuiteError),
    #[error("no teacher: give TEACHER.onnx STUDENT.onnx... or --suite with a [teacher] table")]
    NoTeacher,
    #[error("no students: give at least one STUDENT.onnx after the teacher, or [[students]] in the suite")]
    NoStudents,
    #[error("no data: pass --data FILE, or set [data] path in the suite")]
    NoData,
    #[error("{0}")]
    Gate(String),
    #[error("{0}")]
    LanguageModel(String),
    #[error("{0}")]
    Device(String),
    #[error("{0}")]
    Attack(String),
    #[error("{0}")]
    Hub(String),
    #[error("{0}")]
    Noise(String),
    #[error("{0}")]
    Population(String),
    #[error("{0}")]
    SessionOption(String),
    #[error("model {name}: {why}")]
    ModelFolder { name: String, why: String },
    #[error("--threads must be at least 1 (leave it out to use every core)")]
    Threads,
    #[error("--speed-batch-sizes, --speed-examples and --speed-repetitions must be at least 1, and --speed-budget a positive number of seconds or 0 for no limit (or pass --no-speed)")]
    Speed,
    #[error("suite gate: {0}")]
    SuiteGate(String),
    #[error("{0}")]
    Shard(String),
}

/// A model to load.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSource {
    pub name: String,
    pub path: PathBuf,
    pub device: Device,
    /// Set for `hf://` references: what the hub resolved (commit, tokenizer, config).
    pub hub: Option<hub::ResolvedModel>,
    /// Run with ONNX Runtime's `session.x64quantprecision` (exact integer products).
    pub exact_integer: bool,
    /// For an exact twin (`--integer-numerics both`): the student it is the twin of.
    pub twin_of: Option<String>,
    /// The graph output to read (`--output`, a suite model's `output`); `None` chooses.
    pub output: Option<String>,
    /// `tokenizer.json` and `config.json` of a model folder or hub repository (beside the model,
    /// else at the folder's root); `None` for a plain file, whose are looked for beside it.
    pub folder: Option<crate::model::layout::LocalModel>,
    /// Optimisation level, own thread pool, `session.*` config entries (suite fields, --session-option).
    pub runtime: crate::model::runtime_settings::RuntimeSettings,
    /// More members of this model's population (other seeds of the same method): run for the
    /// population analysis only, with this model's settings.
    pub population: Vec<PathBuf>,
}

impl ModelSource {
    /// A CPU model with nothing else set.
    pub fn new(name: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        Self { name: name.into(), path: path.into(), device: Device::Cpu, hub: None, exact_integer: false, twin_of: None, output: None, folder: None, population: vec![], runtime: Default::default() }
    }

    /// Resolves an `hf://org/name[@revision]` path through the hub (or its cache); local paths
    /// pass through. A hub model's default name is the repository's last segment.
    fn resolve_hub(mut self, named: bool) -> Result<Self, PlanError> {
        let raw = self.path.to_string_lossy().into_owned();
        let Some(reference) = hub::HubRef::parse(&raw) else { return Ok(self) };
        let reference = reference.map_err(PlanError::Hub)?;
        let resolved = hub::resolve(&reference, &raw).map_err(|e| PlanError::Hub(e.to_string()))?;
        if resolved.offline && !hub::HubSettings::from_env().offline {
            eprintln!("fidelity: hub unreachable, using the cached commit {} of {}", resolved.revision, resolved.repo);
        }
        if !named {
            self.name = hub_default_name(&reference, &resolved.repo);
        }
        self.path = resolved.model.clone();
        self.folder = Some(crate::model::layout::LocalModel { model: resolved.model.clone(), tokenizer: resolved.tokenizer.clone(), config: resolved.config.clone() });
        self.hub = Some(resolved);
        Ok(self)
    }

    /// A local folder (a transformers/optimum export, a transformers.js layout) stands for the
    /// model in it (see [`crate::model::layout`]); its default name is the folder's.
    fn resolve_folder(mut self, named: bool) -> Result<Self, PlanError> {
        if !self.path.is_dir() {
            return Ok(self);
        }
        let found = crate::model::layout::local_folder(&self.path).map_err(|why| PlanError::ModelFolder { name: self.name.clone(), why })?;
        if !named {
            let canonical = self.path.canonicalize().unwrap_or_else(|_| self.path.clone());
            self.name = canonical.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| self.name.clone());
        }
        self.path = found.model.clone();
        self.folder = Some(found);
        Ok(self)
    }

    /// Resolves a hub reference or a local folder to the model file; a plain file passes through.
    fn resolve_location(self, named: bool) -> Result<Self, PlanError> {
        self.resolve_hub(named)?.resolve_folder(named)
    }

    /// Where the model's `config.json` is, if it has one.
    pub fn config(&self) -> Option<PathBuf> {
        match &self.folder {
            Some(f) => f.config.clone(),
            None => Some(self.path.parent().unwrap_or(Path::new(".")).join("config.json")).filter(|p| p.is_file()),
        }
    }
}

/// A hub model's default name: the repository's last segment, or, for a file inside it, that
/// file's stem (`hf://org/m/onnx/model_quantized.onnx` → `model_quantized`), so a teacher and a
/// student of one repository get different names.
fn hub_default_name(reference: &hub::HubRef, repo: &str) -> String {
    let last = |s: &str| s.trim_end_matches('/').rsplit('/').next().unwrap_or(s).to_string();
    match reference.path.as_deref() {
        Some(p) if p.ends_with(".onnx") => last(p).trim_end_matches(".onnx").to_string(),
        Some(p) => last(p),
        None => last(repo),
    }
}

impl ModelSource {

    /// "PATH" or "NAME=PATH"; a path that exists as written wins over the NAME= reading.
    fn parse(arg: &str) -> Self {
        if let Some((name, path)) = arg.split_once('=') {
            if !Path::new(arg).exists() && !name.is_empty() && !name.contains(['/', '\\']) {
                return Self::new(name, path);
            }
        }
        let path = PathBuf::from(arg);
        let name = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| arg.to_string());
        Self::new(name, path)
    }
}

/// What the models take.
#[derive(Debug, Clone, PartialEq)]
pub enum InputPlan {
    /// Text through a Hugging Face tokenizer.
    Text { tokenizer: PathBuf, max_length: usize },
    /// Float features or pre-normalised images: an `.npz` archive, or CSV/JSONL feature columns.
    Tensors,
    /// Image files (an image folder or a manifest), preprocessed as each model says.
    Images(crate::vision::ImagePlan),
}

/// Where reports go.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportPaths {
    pub json: PathBuf,
    pub markdown: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub junit: Option<PathBuf>,
}

/// Everything `compare` needs, validated.
#[derive(Debug, Clone)]
pub struct ComparePlan {
    /// Names the evaluation (the suite's name, or the teacher's folder).
    pub name: String,
    pub teacher: ModelSource,
    pub students: Vec<ModelSource>,
    /// The data file (for an `hf://datasets/...` reference, its copy in the Hugging Face cache).
    pub data: PathBuf,
    /// Set for `hf://datasets/...` data: what the hub resolved (repository, commit, file).
    pub data_hub: Option<hub::ResolvedData>,
    pub data_format: DataFormat,
    pub columns: Columns,
    pub inputs: InputPlan,
    pub config: Option<PathBuf>,
    pub batch_size: usize,
    pub batch_order: BatchOrder,
    pub serving_batch_size: usize,
    pub integer_numerics: IntegerNumerics,
    /// Examples per streamed step (before rounding to whole batches).
    pub chunk_size: usize,
    pub invariance: InvarianceSettings,
    pub js_base: LogBase,
    pub outputs: Option<OutputKind>,
    pub gates: Vec<GateSpec>,
    pub reports: ReportPaths,
    /// `--shard`: evaluate one slice and write a part file instead of reports.
    pub shard: Option<crate::shard::Shard>,
    pub ort_lib: Option<PathBuf>,
    pub allow_fallback: bool,
    /// Group columns with very many distinct values are taken as they are.
    pub allow_many_groups: bool,
    /// Groups per student in the terminal table.
    pub show_groups: usize,
    pub threads: Option<usize>,
    pub quiet: bool,
    pub subgroups: SubgroupSettings,
    /// `None`: no speed measurement.
    pub speed: Option<SpeedSettings>,
    /// `None`: no attacks.
    pub attack: Option<AttackSettings>,
    /// `None`: no natural-noise stage.
    pub noise: Option<NoiseSettings>,
    /// The output cache's folder (`--cache`, `FIDELITY_CACHE`, else fidelity's cache directory);
    /// `None` with `--no-cache`.
    pub cache: Option<PathBuf>,
}

impl ComparePlan {
    /// Some role names more than one model.
    pub fn has_populations(&self) -> bool {
        std::iter::once(&self.teacher).chain(&self.students).any(|m| !m.population.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_arguments_take_optional_names() {
        let cpu = Device::Cpu;
        assert_eq!(
            ModelSource::parse("a/b/int8.onnx"),
            ModelSource { device: cpu, ..ModelSource::new("int8", "a/b/int8.onnx") }
        );
        assert_eq!(
            ModelSource::parse("q=a/b/m.onnx"),
            ModelSource { device: cpu, ..ModelSource::new("q", "a/b/m.onnx") }
        );
        assert_eq!(ModelSource::parse("a/x=y.onnx").path, PathBuf::from("a/x=y.onnx"));
    }
}
