//! Flags and suite to a validated [`LmPlan`]: `compare` on causal language models. Which kind of
//! comparison a run is comes first ([`task`]): `--task`, else the teacher's graph and the data.

use super::resolve::{beside, folder_name, models, reports, Sources};
use super::{ModelSource, PlanError, ReportPaths};
use crate::cli::{CompareArgs, JsBase, Task};
use crate::data::Columns;
use crate::lm::documents::DocumentFormat;
use crate::lm::windows::ScoreFrom;
use crate::metrics::LogBase;
use crate::suite::{self, Suite};
use std::path::PathBuf;

/// Everything `compare` needs for language models, validated.
#[derive(Debug, Clone)]
pub struct LmPlan {
    pub name: String,
    pub teacher: ModelSource,
    pub students: Vec<ModelSource>,
    pub data: PathBuf,
    pub format: DocumentFormat,
    /// The text column and group columns of table data.
    pub columns: Columns,
    pub tokenizer: PathBuf,
    pub context: usize,
    pub stride: usize,
    pub score_from: ScoreFrom,
    /// Windows per batch.
    pub batch_size: usize,
    pub js_base: LogBase,
    /// Token counts for the frequency buckets; `None`: counted on the evaluated text.
    pub token_counts: Option<PathBuf>,
    pub gates: Vec<crate::gate::GateSpec>,
    /// `--dump-worst N` (0: none).
    pub dump_worst: usize,
    /// Buckets with fewer scored positions are not named the worst.
    pub min_positions: usize,
    /// Resamples (0: no intervals), confidence and seed of the intervals over windows.
    pub bootstrap: crate::stats::BootstrapSettings,
    pub threads: Option<usize>,
    pub ort_lib: Option<PathBuf>,
    pub reports: ReportPaths,
    pub quiet: bool,
}

/// Windows per batch unless `--batch-size` says: few, since a batch's logits are
/// windows × context × vocabulary floats per model.
const DEFAULT_WINDOWS_PER_BATCH: usize = 4;

pub(super) fn with_suite<T>(args: &CompareArgs, f: impl FnOnce(&Sources) -> Result<T, PlanError>) -> Result<T, PlanError> {
    let loaded = args.suite.as_deref().map(suite::load).transpose()?;
    let empty = Suite::default();
    let src = Sources { args, s: loaded.as_ref().map_or(&empty, |l| &l.suite), loaded: loaded.as_ref() };
    f(&src)
}

pub(super) fn tokenizer_path(src: &Sources, teacher: &ModelSource) -> PathBuf {
    let given = src.args.tokenizer.clone().or_else(|| src.s.data.tokenizer.as_deref().map(|p| src.resolve(p)));
    given.unwrap_or_else(|| match (&teacher.hub, &teacher.folder) {
        (Some(h), _) if h.tokenizer.is_some() => h.tokenizer.clone().unwrap_or_default(),
        (_, Some(f)) => f.tokenizer.clone().unwrap_or_else(|| beside(&teacher.path, "tokenizer.json")),
        _ => beside(&teacher.path, "tokenizer.json"),
    })
}

/// Which comparison this `compare` is: `--task` (or the suite's `task`) says, else the teacher's
/// graph (see [`crate::lm::detect::looks_causal`]), and for a language model the data: a JSONL
/// file whose first row holds an array in the choices column is multiple choice. When the teacher
/// cannot be read, the classifier path runs and reports the problem as it always has.
pub fn task(args: &CompareArgs) -> Result<Task, PlanError> {
    with_suite(args, |src| {
        let given = args.task.or(src.s.evaluation.task).unwrap_or(Task::Auto);
        if given != Task::Auto {
            return Ok(given);
        }
        let Ok((teacher, _, _)) = models(src) else { return Ok(Task::Classify) };
        let Ok(graph) = crate::onnx::OnnxGraph::read(&teacher.path) else { return Ok(Task::Classify) };
        let vocabulary = tokenizers::Tokenizer::from_file(tokenizer_path(src, &teacher)).ok().map(|t| t.get_vocab_size(true));
        if !crate::lm::detect::looks_causal(&graph.interface(), vocabulary) {
            return Ok(Task::Classify);
        }
        let data = args.data.clone().or_else(|| src.s.data.path.as_deref().map(|p| src.resolve(p)));
        let choices = data.is_some_and(|d| crate::data::choice_rows::first_row_has_choices(&d, &choices_column(src)));
        Ok(if choices { Task::MultipleChoice } else { Task::CausalLm })
    })
}

/// The JSONL field holding a multiple-choice row's choices.
pub(super) fn choices_column(src: &Sources) -> String {
    src.args.choices_column.clone().or_else(|| src.s.data.choices_column.clone()).unwrap_or_else(|| "choices".into())
}

/// The suite's gates, then the flags': only metrics measured on language models, on students
/// that are compared.
fn gates(src: &Sources, students: &[ModelSource]) -> Result<Vec<crate::gate::GateSpec>, PlanError> {
    let mut gates = src.s.gates.iter().cloned().map(|g| g.into_spec().map_err(PlanError::SuiteGate)).collect::<Result<Vec<_>, _>>()?;
    for g in &src.args.gates {
        gates.push(crate::gate::GateSpec::parse(g).map_err(PlanError::Gate)?);
    }
    for g in &gates {
        if !g.metric.for_language_models() {
            let known: Vec<&str> = crate::gate::metric::ALL.iter().filter(|m| m.for_language_models()).map(|m| m.name()).collect();
            return Err(PlanError::Gate(format!("gate on {} is not measured on language models; these are: {}", g.metric.name(), known.join(", "))));
        }
        if let Some(unknown) = g.students.iter().find(|n| !students.iter().any(|s| &s.name == *n)) {
            let names: Vec<&str> = students.iter().map(|s| s.name.as_str()).collect();
            return Err(PlanError::Gate(format!(
                "gate on {} names student '{unknown}', which is not compared (students: {})",
                g.metric.name(),
                names.join(", ")
            )));
        }
    }
    Ok(gates)
}

/// The longest sequence the teacher's Hugging Face `config.json` allows (`max_position_embeddings`,
/// `n_positions` or `n_ctx`), when it has one.
pub(super) fn config_positions(teacher: &ModelSource) -> Option<usize> {
    let config: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(teacher.config()?).ok()?).ok()?;
    ["max_position_embeddings", "n_positions", "n_ctx"].iter().find_map(|k| config[k].as_u64()).and_then(|n| usize::try_from(n).ok()).filter(|&n| n >= 2)
}

/// `--context`, `--stride` and `--score-from`, checked together. The context defaults to 512,
/// or to the teacher's positions (its `config.json`) when fewer.
fn windowing(src: &Sources, teacher: &ModelSource) -> Result<(usize, usize, ScoreFrom), PlanError> {
    let (args, s) = (src.args, src.s);
    let context = args.context.or(s.evaluation.context).unwrap_or_else(|| config_positions(teacher).map_or(512, |n| n.min(512)));
    let stride = args.stride.or(s.evaluation.stride).unwrap_or(context);
    let score_text = args.score_from.clone().or_else(|| s.evaluation.score_from.as_ref().map(|v| v.text())).unwrap_or_else(|| "half".into());
    let score_from = ScoreFrom::parse(&score_text).map_err(PlanError::LanguageModel)?;
    if context < 2 || stride == 0 || stride > context {
        return Err(PlanError::LanguageModel(format!(
            "--context must be at least 2 and --stride between 1 and the context; got context {context}, stride {stride}"
        )));
    }
    if score_from.first_target(context) >= context {
        return Err(PlanError::LanguageModel(format!("--score-from {score_text} leaves nothing to score in a window of {context} tokens")));
    }
    Ok((context, stride, score_from))
}

impl LmPlan {
    /// ln of the JS base: divides nats into the report's base.
    pub fn js_base_ln(&self) -> f64 {
        match self.js_base {
            LogBase::E => 1.0,
            LogBase::Two => std::f64::consts::LN_2,
        }
    }

    pub fn from_args(args: &CompareArgs) -> Result<Self, PlanError> {
        with_suite(args, |src| {
            let s = src.s;
            let (teacher, students, _) = models(src)?;
            if students.is_empty() {
                return Err(PlanError::NoStudents);
            }
            let data = args.data.clone().or_else(|| s.data.path.as_deref().map(|p| src.resolve(p))).ok_or(PlanError::NoData)?;
            if !data.exists() {
                return Err(PlanError::MissingData { path: data });
            }
            let format = DocumentFormat::of(&data, args.data_format.or(s.data.format))?;
            let columns = Columns {
                text: Some(args.text_column.clone().or_else(|| s.data.text_column.clone()).unwrap_or_else(|| "text".into())),
                label: None,
                groups: if args.group_columns.is_empty() { s.data.group_columns.clone() } else { args.group_columns.clone() },
                ..Columns::default()
            };
            if !matches!(format, DocumentFormat::Table(_)) && !columns.groups.is_empty() {
                return Err(PlanError::LanguageModel(format!(
                    "--group-column needs table data (JSONL, CSV or Parquet, one document per row); {} is plain text",
                    data.display()
                )));
            }
            let tokenizer = tokenizer_path(src, &teacher);
            if !tokenizer.is_file() {
                return Err(PlanError::MissingTokenizer { path: tokenizer });
            }
            let (context, stride, score_from) = windowing(src, &teacher)?;
            let batch_size = args.batch_size.or(s.evaluation.batch_size).unwrap_or(DEFAULT_WINDOWS_PER_BATCH);
            if batch_size == 0 {
                return Err(PlanError::BatchSize);
            }
            let confidence = args.confidence.or(s.statistics.confidence).unwrap_or(0.95);
            if !(confidence > 0.0 && confidence < 1.0) {
                return Err(PlanError::Confidence(confidence));
            }
            let bootstrap = crate::stats::BootstrapSettings {
                resamples: args.bootstrap.or(s.statistics.bootstrap).unwrap_or(1000),
                confidence,
                seed: args.seed.or(s.statistics.seed).unwrap_or(0),
            };
            let token_counts = args.token_counts.clone().or_else(|| s.evaluation.token_counts.as_deref().map(|p| src.resolve(p)));
            if let Some(p) = token_counts.as_ref().filter(|p| !p.is_file()) {
                return Err(PlanError::LanguageModel(format!("--token-counts {}: no such file", p.display())));
            }
            let name = s.name.clone().unwrap_or_else(|| folder_name(&teacher.path));
            let gates = gates(src, &students)?;
            Ok(Self {
                gates,
                reports: reports(src, &name),
                name,
                teacher,
                students,
                data,
                format,
                columns,
                tokenizer,
                context,
                stride,
                score_from,
                batch_size,
                bootstrap,
                token_counts,
                dump_worst: args.dump_worst.unwrap_or(0),
                min_positions: args.min_group_size.or(s.statistics.min_group_size).unwrap_or(30),
                js_base: match args.js_base.or(s.evaluation.js_base).unwrap_or(JsBase::E) {
                    JsBase::E => LogBase::E,
                    JsBase::Two => LogBase::Two,
                },
                threads: match args.threads {
                    Some(0) => return Err(PlanError::Threads),
                    t => t,
                },
                ort_lib: args.ort_lib.clone(),
                quiet: args.quiet,
            })
        })
    }
}
