//! Raw arguments to a validated plan: paths resolved, defaults applied, contradictions refused.

use crate::cli::{CompareArgs, JsBase, OutputsArg};
use crate::compare::attack_run::AttackSettings;
use crate::data::{Columns, DataFormat};
use crate::evaluate::invariance::{InvarianceSettings, DEFAULT_TOLERANCE};
use crate::evaluate::BatchOrder;
use crate::gate::{GateMetric, GateSpec};
use crate::machine::IntegerNumerics;
use crate::metrics::{LogBase, OutputKind};
use crate::model::{hub, Device};
use crate::speed::{SpeedBudget, SpeedSettings};
use crate::stats::BootstrapSettings;
use crate::subgroups::SubgroupSettings;
use crate::suite::{self, Suite};
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum PlanError {
    #[error("--batch-size, --serving-batch-size and --chunk-size must be at least 1")]
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
    Device(String),
    #[error("{0}")]
    Attack(String),
    #[error("{0}")]
    Hub(String),
    #[error("--threads must be at least 1 (leave it out to use every core)")]
    Threads,
    #[error("--speed-batch-sizes, --speed-examples and --speed-repetitions must be at least 1, and --speed-budget a positive number of seconds or 0 for no limit (or pass --no-speed)")]
    Speed,
    #[error("suite gate: {0}")]
    SuiteGate(String),
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
}

impl ModelSource {
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
            self.name = resolved.repo.rsplit('/').next().unwrap_or(&resolved.repo).to_string();
        }
        self.path = resolved.model.clone();
        self.hub = Some(resolved);
        Ok(self)
    }

    /// "PATH" or "NAME=PATH"; a path that exists as written wins over the NAME= reading.
    fn parse(arg: &str) -> Self {
        if let Some((name, path)) = arg.split_once('=') {
            if !Path::new(arg).exists() && !name.is_empty() && !name.contains(['/', '\\']) {
                return Self { name: name.into(), path: path.into(), device: Device::Cpu, hub: None, exact_integer: false, twin_of: None };
            }
        }
        let path = PathBuf::from(arg);
        let name = path.file_stem().map(|s| s.to_string_lossy().to_string()).unwrap_or_else(|| arg.to_string());
        Self { name, path, device: Device::Cpu, hub: None, exact_integer: false, twin_of: None }
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
    pub data: PathBuf,
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
    pub ort_lib: Option<PathBuf>,
    pub allow_fallback: bool,
    pub threads: Option<usize>,
    pub quiet: bool,
    pub subgroups: SubgroupSettings,
    /// `None`: no speed measurement.
    pub speed: Option<SpeedSettings>,
    /// `None`: no attacks.
    pub attack: Option<AttackSettings>,
}

fn beside(model: &Path, file: &str) -> PathBuf {
    model.parent().unwrap_or(Path::new(".")).join(file)
}

/// The teacher's folder name ("fixtures/tweets/teacher.onnx" -> "tweets").
fn folder_name(teacher: &Path) -> String {
    teacher
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_else(|| "fidelity".into())
}

fn check_models(teacher: &ModelSource, students: &[ModelSource]) -> Result<(), PlanError> {
    if students.is_empty() {
        return Err(PlanError::NoStudents);
    }
    let all: Vec<&ModelSource> = std::iter::once(teacher).chain(students).collect();
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
    Ok(())
}

/// `exact`: every model runs with exact integer products. `both`: each student whose int8 weights
/// can saturate is followed by its exact twin `NAME-exact` (same file, same device). A graph
/// fidelity cannot read gets no twin; ONNX Runtime still reports its own load errors later.
fn apply_integer_numerics(numerics: IntegerNumerics, teacher: &mut ModelSource, students: &mut Vec<ModelSource>) -> Result<(), PlanError> {
    match numerics {
        IntegerNumerics::Cpu => {}
        IntegerNumerics::Exact => std::iter::once(teacher).chain(students.iter_mut()).for_each(|m| m.exact_integer = true),
        IntegerNumerics::Both => {
            let mut with_twins = Vec::with_capacity(students.len() * 2);
            for s in students.drain(..) {
                let prone = std::fs::read(&s.path).ok().and_then(|b| crate::model::graph_stats::integer_kernels(&b).ok()).is_some_and(|k| k.saturation_prone());
                let twin = prone.then(|| ModelSource { name: format!("{}-exact", s.name), exact_integer: true, twin_of: Some(s.name.clone()), ..s.clone() });
                with_twins.push(s);
                with_twins.extend(twin);
            }
            *students = with_twins;
            let names: Vec<&str> = std::iter::once(teacher.name.as_str()).chain(students.iter().map(|s| s.name.as_str())).collect();
            if let Some(dup) = names.iter().enumerate().find_map(|(i, n)| names[..i].contains(n).then_some(*n)) {
                return Err(PlanError::DuplicateName { name: dup.to_string() });
            }
        }
    }
    Ok(())
}

impl ComparePlan {
    /// Merges the flags with the suite (if any): a flag given wins over the suite, the suite over
    /// the default.
    pub fn from_args(args: &CompareArgs) -> Result<Self, PlanError> {
        let loaded = args.suite.as_deref().map(suite::load).transpose()?;
        let empty = Suite::default();
        let s = loaded.as_ref().map_or(&empty, |l| &l.suite);
        let resolve = |p: &Path| loaded.as_ref().map_or_else(|| p.to_path_buf(), |l| l.resolve(p));
        let device = |text: &str, origin: &str| text.parse::<Device>().map_err(|e| PlanError::Device(format!("{origin}: {e}")));
        let global = match &args.device {
            Some(d) => Some(device(d, "--device")?),
            None => s.evaluation.device.as_deref().map(|d| device(d, "suite [evaluation] device")).transpose()?,
        };
        let suite_model = |m: &suite::SuiteModel| -> Result<ModelSource, PlanError> {
            // A hub reference is not a path: it must not be joined to the suite's folder.
            let raw = m.path.to_string_lossy();
            let path = if raw.starts_with(hub::SCHEME) { m.path.clone() } else { resolve(&m.path) };
            let source = match &m.name {
                Some(name) => ModelSource { name: name.clone(), path, device: Device::Cpu, hub: None, exact_integer: false, twin_of: None },
                None => ModelSource::parse(&path.to_string_lossy()),
            };
            let mut source = source.resolve_hub(m.name.is_some())?;
            source.device = match (&args.device, &m.device) {
                (None, Some(d)) => device(d, &format!("suite device of model {}", source.name))?,
                _ => global.unwrap_or_default(),
            };
            Ok(source)
        };
        let from_flag = |x: &str| -> Result<ModelSource, PlanError> {
            let named = x.split_once('=').is_some_and(|(n, _)| !n.contains(['/', '\\']) && !n.is_empty());
            ModelSource { device: global.unwrap_or_default(), ..ModelSource::parse(x) }.resolve_hub(named)
        };

        let mut teacher = match (&args.teacher, &s.teacher) {
            (Some(t), _) => from_flag(t)?,
            (None, Some(t)) => suite_model(t)?,
            (None, None) => return Err(PlanError::NoTeacher),
        };
        if let Some(d) = &args.teacher_device {
            teacher.device = device(d, "--teacher-device")?;
        }
        let mut students: Vec<ModelSource> = if args.students.is_empty() {
            s.students.iter().map(suite_model).collect::<Result<_, _>>()?
        } else {
            args.students.iter().map(|x| from_flag(x)).collect::<Result<_, _>>()?
        };
        check_models(&teacher, &students)?;
        let integer_numerics = args.integer_numerics.or(s.evaluation.integer_numerics).unwrap_or_default();
        apply_integer_numerics(integer_numerics, &mut teacher, &mut students)?;

        let batch_size = args.batch_size.or(s.evaluation.batch_size).unwrap_or(32);
        let serving_batch_size = args.serving_batch_size.or(s.evaluation.serving_batch_size).unwrap_or(batch_size);
        let chunk_size = args.chunk_size.unwrap_or(crate::compare::inputs::CHUNK_EXAMPLES);
        if batch_size == 0 || serving_batch_size == 0 || chunk_size == 0 {
            return Err(PlanError::BatchSize);
        }
        let tolerance = args.invariance_tolerance.or(s.statistics.invariance_tolerance).unwrap_or(DEFAULT_TOLERANCE);
        // Written so that NaN is refused too.
        if tolerance.is_nan() || tolerance < 0.0 {
            return Err(PlanError::Tolerance(tolerance));
        }
        let max_length = args.max_length.or(s.evaluation.max_length).unwrap_or(512);
        if max_length < 2 {
            return Err(PlanError::MaxLength);
        }
        let confidence = args.confidence.or(s.statistics.confidence).unwrap_or(0.95);
        if !(confidence > 0.0 && confidence < 1.0) {
            return Err(PlanError::Confidence(confidence));
        }
        let groups = if args.group_columns.is_empty() { s.data.group_columns.clone() } else { args.group_columns.clone() };
        for (i, g) in groups.iter().enumerate() {
            if groups[..i].contains(g) {
                return Err(PlanError::DuplicateGroup(g.clone()));
            }
        }

        let data = args.data.clone().or_else(|| s.data.path.as_deref().map(resolve)).ok_or(PlanError::NoData)?;
        if !data.is_file() {
            return Err(PlanError::MissingData { path: data });
        }
        let data_format = match args.data_format.or(s.data.format) {
            Some(f) => f,
            None => DataFormat::from_path(&data)?,
        };
        let features = if args.feature_columns.is_empty() { s.data.feature_columns.clone() } else { args.feature_columns.clone() };
        let tensors = data_format == DataFormat::Npz || !features.is_empty();
        let tokenizer = args.tokenizer.clone().or_else(|| s.data.tokenizer.as_deref().map(resolve));
        let inputs = if tensors {
            if let Some(t) = tokenizer {
                return Err(PlanError::TokenizerWithTensors { path: t });
            }
            InputPlan::Tensors
        } else {
            let tokenizer = match (tokenizer, &teacher.hub) {
                (Some(t), _) => t,
                (None, Some(h)) => h.tokenizer.clone().ok_or_else(|| PlanError::Hub(format!("{} has no tokenizer.json: pass --tokenizer", h.reference)))?,
                (None, None) => beside(&teacher.path, "tokenizer.json"),
            };
            if !tokenizer.is_file() {
                return Err(PlanError::MissingTokenizer { path: tokenizer });
            }
            InputPlan::Text { tokenizer, max_length }
        };
        let config = args.config.clone().or_else(|| s.data.config.as_deref().map(resolve)).or_else(|| match &teacher.hub {
            Some(h) => h.config.clone(),
            None => Some(beside(&teacher.path, "config.json")).filter(|p| p.is_file()),
        });
        let unlabelled = args.unlabelled || s.data.unlabelled;
        let columns = Columns {
            text: (!tensors).then(|| args.text_column.clone().or(s.data.text_column.clone()).unwrap_or_else(|| "text".into())),
            text_pair: args.text_pair_column.clone().or(s.data.text_pair_column.clone()).filter(|_| !tensors),
            label: (!unlabelled).then(|| args.label_column.clone().or(s.data.label_column.clone()).unwrap_or_else(|| "label".into())),
            groups,
            features,
        };

        let seed = args.seed.or(s.statistics.seed).unwrap_or(0);
        let invariance = InvarianceSettings {
            sample: args.invariance_sample.or(s.statistics.invariance_sample).unwrap_or(crate::evaluate::invariance::DEFAULT_SAMPLE),
            seed,
            tolerance,
        };
        let a = &s.attack;
        let attack_n = args.attack_n.or(a.examples).unwrap_or(0);
        let attack = (attack_n > 0).then(|| AttackSettings {
            examples: attack_n,
            seed,
            max_queries: args.attack_queries.or(a.queries).unwrap_or(300),
            max_perturbed_share: args.attack_max_share.or(a.max_share).unwrap_or(0.2),
            max_candidates: args.attack_candidates.or(a.candidates).unwrap_or(30),
            synonyms: args.attack_synonyms.clone().or_else(|| a.synonyms.as_deref().map(resolve)),
            epsilon: args.attack_epsilon.or(a.epsilon).unwrap_or(0.1),
        });
        if let Some(at) = &attack {
            if unlabelled {
                return Err(PlanError::Attack("attacks need gold labels, but the data is --unlabelled".into()));
            }
            if at.max_queries == 0 {
                return Err(PlanError::Attack("--attack-queries must be at least 1: an attack with no queries cannot run".into()));
            }
            if let Some(p) = at.synonyms.as_ref().filter(|p| !p.is_file()) {
                return Err(PlanError::Attack(format!("--attack-synonyms {}: no such file", p.display())));
            }
        }
        let mut gates = s.gates.iter().cloned().map(|g| g.into_spec().map_err(PlanError::SuiteGate)).collect::<Result<Vec<_>, _>>()?;
        for g in &args.gates {
            gates.push(GateSpec::parse(g).map_err(PlanError::Gate)?);
        }
        for g in &gates {
            if g.metric.needs_attack() && attack_n == 0 {
                return Err(PlanError::Gate(format!("gate on {} needs attacks: pass --attack-n N (or [attack] examples in the suite)", g.metric.name())));
            }
            if unlabelled && g.metric.needs_labels() {
                return Err(PlanError::Gate(format!("gate on {} needs labels, but the data is --unlabelled", g.metric.name())));
            }
            if g.metric == GateMetric::BatchDependence && invariance.sample == 0 {
                return Err(PlanError::Gate("gate on batch_dependence needs the batch-invariance check: --invariance-sample must be above 0".into()));
            }
            if let Some(unknown) = g.students.iter().find(|n| !students.iter().any(|s| &s.name == *n)) {
                return Err(PlanError::Gate(format!(
                    "gate on {} names student '{unknown}', which is not compared (students: {})",
                    g.metric.name(),
                    students.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
                )));
            }
        }

        let speed = (!args.no_speed && s.evaluation.speed.unwrap_or(true)).then(|| {
            let defaults = SpeedSettings::default();
            SpeedSettings {
                batch_sizes: [&args.speed_batch_sizes, &s.evaluation.speed_batch_sizes]
                    .into_iter()
                    .find(|b| !b.is_empty())
                    .cloned()
                    .unwrap_or(defaults.batch_sizes),
                examples: args.speed_examples.or(s.evaluation.speed_examples).unwrap_or(defaults.examples),
                warmup: defaults.warmup,
                repetitions: args.speed_repetitions.or(s.evaluation.speed_repetitions).unwrap_or(defaults.repetitions),
                budget: match args.speed_budget.or(s.evaluation.speed_budget) {
                    None => SpeedBudget::Auto,
                    Some(0.0) => SpeedBudget::Unlimited,
                    Some(b) => SpeedBudget::Seconds(b),
                },
            }
        });
        if let Some(sp) = &speed {
            let bad_budget = matches!(sp.budget, SpeedBudget::Seconds(b) if !(b.is_finite() && b > 0.0));
            if sp.batch_sizes.contains(&0) || sp.examples == 0 || sp.repetitions == 0 || bad_budget {
                return Err(PlanError::Speed);
            }
        }
        let name = s.name.clone().unwrap_or_else(|| match &teacher.hub {
            Some(_) => teacher.name.clone(),
            None => folder_name(&teacher.path),
        });
        let in_suite = loaded.is_some();
        let default_report = |ext: &str| PathBuf::from("reports").join(format!("{name}.{ext}"));
        let report_path = |flag: &Option<PathBuf>, key: &Option<PathBuf>, ext: &str| {
            flag.clone().or_else(|| key.as_deref().map(resolve)).or_else(|| in_suite.then(|| default_report(ext)))
        };
        let reports = ReportPaths {
            json: report_path(&args.out, &s.output.json, "json").unwrap_or_else(|| default_report("json")),
            markdown: report_path(&args.markdown, &s.output.markdown, "md"),
            html: report_path(&args.html, &s.output.html, "html"),
            junit: report_path(&args.junit, &s.output.junit, "junit.xml"),
        };

        Ok(Self {
            name,
            teacher,
            students,
            data,
            data_format,
            columns,
            inputs,
            config,
            batch_size,
            batch_order: args.batch_order.or(s.evaluation.batch_order).unwrap_or(BatchOrder::File),
            integer_numerics,
            serving_batch_size,
            chunk_size,
            invariance,
            js_base: match args.js_base.or(s.evaluation.js_base).unwrap_or(JsBase::E) {
                JsBase::E => LogBase::E,
                JsBase::Two => LogBase::Two,
            },
            outputs: match args.outputs.or(s.evaluation.outputs).unwrap_or(OutputsArg::Auto) {
                OutputsArg::Auto => None,
                OutputsArg::Logits => Some(OutputKind::Logits),
                OutputsArg::Probabilities => Some(OutputKind::Probabilities),
            },
            gates,
            reports,
            ort_lib: args.ort_lib.clone(),
            allow_fallback: args.allow_fallback || s.evaluation.allow_fallback,
            threads: match args.threads {
                Some(0) => return Err(PlanError::Threads),
                t => t,
            },
            quiet: args.quiet,
            speed,
            attack,
            subgroups: SubgroupSettings {
                min_group_size: args.min_group_size.or(s.statistics.min_group_size).unwrap_or(30),
                bootstrap: BootstrapSettings { resamples: args.bootstrap.or(s.statistics.bootstrap).unwrap_or(1000), confidence, seed },
                correction: args.correction.or(s.statistics.correction).unwrap_or_default(),
            },
        })
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
            ModelSource { name: "int8".into(), path: "a/b/int8.onnx".into(), device: cpu, hub: None, exact_integer: false, twin_of: None }
        );
        assert_eq!(
            ModelSource::parse("q=a/b/m.onnx"),
            ModelSource { name: "q".into(), path: "a/b/m.onnx".into(), device: cpu, hub: None, exact_integer: false, twin_of: None }
        );
        assert_eq!(ModelSource::parse("a/x=y.onnx").path, PathBuf::from("a/x=y.onnx"));
    }
}
