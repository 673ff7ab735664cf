//! Suite files: one TOML file under `suites/` describes one evaluation (models, data, columns,
//! statistics, gates, outputs). Paths in a suite are relative to the suite file. Command-line flags
//! override suite values (see [`crate::plan`]). Unknown keys are errors, reported with their line.

use crate::cli::{JsBase, OutputsArg};
use crate::data::DataFormat;
use crate::gate::spec::GateTable;
use crate::inference::BatchOrder;
use crate::stats::Correction;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum SuiteError {
    #[error("cannot read suite {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("suite {path}, line {line}{key}: {message}")]
    Invalid { path: PathBuf, line: usize, key: String, message: String },
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// Names the reports (`reports/<name>.*`).
    pub name: Option<String>,
    pub description: Option<String>,
    pub teacher: Option<SuiteModel>,
    #[serde(default)]
    pub students: Vec<SuiteModel>,
    #[serde(default)]
    pub data: SuiteData,
    #[serde(default)]
    pub evaluation: SuiteEvaluation,
    #[serde(default)]
    pub statistics: SuiteStatistics,
    #[serde(default)]
    pub attack: SuiteAttack,
    /// Present: the natural-noise stage runs.
    pub noise: Option<SuiteNoise>,
    #[serde(default)]
    pub gates: Vec<GateTable>,
    #[serde(default)]
    pub output: SuiteOutput,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteModel {
    pub name: Option<String>,
    /// One model, or a population: `["seed0.onnx", "seed1.onnx", ...]`, the first being the one
    /// compared pairwise and the rest more members of its population.
    pub path: ModelPaths,
    /// cpu, cuda[:N] or tensorrt[:N].
    pub device: Option<String>,
    /// The graph output to read as class scores (as `--output MODEL=NAME`).
    pub output: Option<String>,
    /// ONNX Runtime graph optimisation: disable, basic, extended, layout or all.
    pub optimization: Option<String>,
    /// Intra-op threads of the model's own pool.
    pub threads: Option<usize>,
    /// `session.*` config entries, e.g. `config = { "session.disable_prepacking" = "1" }`.
    #[serde(default)]
    pub config: std::collections::BTreeMap<String, String>,
}

impl SuiteModel {
    /// The model's runtime settings, checked as `--session-option` checks them.
    pub fn runtime_settings(&self) -> Result<crate::model::runtime_settings::RuntimeSettings, String> {
        let mut settings = crate::model::runtime_settings::RuntimeSettings::default();
        if let Some(o) = &self.optimization {
            settings.set("optimization", o)?;
        }
        if let Some(t) = self.threads {
            settings.set("threads", &t.to_string())?;
        }
        for (k, v) in &self.config {
            settings.set(k, v)?;
        }
        Ok(settings)
    }
}

/// A suite model's `path`: one file, or the files of a population.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ModelPaths {
    One(PathBuf),
    Population(Vec<PathBuf>),
}

impl ModelPaths {
    /// The model compared pairwise, and the other members of its population.
    pub fn split(&self) -> Option<(&PathBuf, &[PathBuf])> {
        match self {
            ModelPaths::One(p) => Some((p, &[])),
            ModelPaths::Population(all) => all.split_first(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteData {
    pub path: Option<PathBuf>,
    pub format: Option<DataFormat>,
    pub tokenizer: Option<PathBuf>,
    pub config: Option<PathBuf>,
    pub text_column: Option<String>,
    pub text_pair_column: Option<String>,
    pub label_column: Option<String>,
    /// Multiple choice: the JSONL field holding each row's choices (see `--choices-column`).
    pub choices_column: Option<String>,
    #[serde(default)]
    pub unlabelled: bool,
    #[serde(default)]
    pub group_columns: Vec<String>,
    /// See `--allow-many-groups`.
    #[serde(default)]
    pub allow_many_groups: bool,
    #[serde(default)]
    pub feature_columns: Vec<String>,
    /// Image manifests: the column holding each image's path (see `--image-column`).
    pub image_column: Option<String>,
    /// Preprocessing flags for every model, as on the command line (see `fidelity compare --help`).
    #[serde(default)]
    pub image_size: Vec<u32>,
    pub resize_shortest: Option<u32>,
    #[serde(default)]
    pub crop: Vec<u32>,
    pub resample: Option<String>,
    #[serde(default)]
    pub mean: Vec<f32>,
    #[serde(default)]
    pub std: Vec<f32>,
    pub layout: Option<crate::vision::Layout>,
    pub channels: Option<u8>,
}

/// `score_from = "half"` or `score_from = 1`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ScoreFromValue {
    Index(usize),
    Text(String),
}

impl ScoreFromValue {
    pub fn text(&self) -> String {
        match self {
            Self::Index(k) => k.to_string(),
            Self::Text(t) => t.clone(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteEvaluation {
    /// Device for every model without its own.
    pub device: Option<String>,
    #[serde(default)]
    pub allow_fallback: bool,
    pub batch_size: Option<usize>,
    pub batch_order: Option<BatchOrder>,
    pub serving_batch_size: Option<usize>,
    pub integer_numerics: Option<crate::machine::IntegerNumerics>,
    pub max_length: Option<usize>,
    pub task: Option<crate::cli::Task>,
    pub context: Option<usize>,
    pub stride: Option<usize>,
    pub score_from: Option<ScoreFromValue>,
    pub token_counts: Option<PathBuf>,
    /// Multiple choice: see `--choice-score`.
    pub choice_score: Option<crate::lm::choices::ChoiceScore>,
    pub js_base: Option<JsBase>,
    pub outputs: Option<OutputsArg>,
    /// Measure speed (default true).
    pub speed: Option<bool>,
    #[serde(default)]
    pub speed_batch_sizes: Vec<usize>,
    pub speed_examples: Option<usize>,
    pub speed_repetitions: Option<usize>,
    pub speed_budget: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteStatistics {
    pub bootstrap: Option<usize>,
    pub confidence: Option<f64>,
    pub seed: Option<u64>,
    pub correction: Option<Correction>,
    pub min_group_size: Option<usize>,
    pub invariance_sample: Option<usize>,
    pub invariance_tolerance: Option<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteAttack {
    pub examples: Option<usize>,
    pub queries: Option<usize>,
    pub max_share: Option<f64>,
    pub candidates: Option<usize>,
    pub synonyms: Option<PathBuf>,
    pub epsilon: Option<f32>,
}

/// `[noise]`: `levels = ["typos:0.05", "dropout:0.1"]`, `examples = 1000` (0 turns it off).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteNoise {
    pub examples: Option<usize>,
    pub levels: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteOutput {
    /// See `--show-groups`.
    pub show_groups: Option<usize>,
    pub json: Option<PathBuf>,
    pub markdown: Option<PathBuf>,
    pub html: Option<PathBuf>,
    pub junit: Option<PathBuf>,
}

/// A parsed suite and the folder its relative paths start from.
#[derive(Debug, Clone)]
pub struct LoadedSuite {
    pub path: PathBuf,
    pub suite: Suite,
    base: PathBuf,
}

impl LoadedSuite {
    /// A suite path, resolved against the suite's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            normalize(&self.base.join(p))
        }
    }
}

/// Collapses `dir/..` and `.` lexically ("suites/../fixtures/x" -> "fixtures/x"), so reports show
/// the paths a user would type. Leading `..` are kept.
fn normalize(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.last(), Some(Component::Normal(_))) => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    if out.is_empty() {
        PathBuf::from(".")
    } else {
        out.iter().collect()
    }
}

/// The 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

pub fn parse(text: &str, path: &Path) -> Result<Suite, SuiteError> {
    toml::from_str::<Suite>(text).map_err(|e| {
        let span = e.span().unwrap_or(0..0);
        let key = text.get(span.clone()).map(str::trim).filter(|k| !k.is_empty() && k.len() < 60 && !k.contains('\n'));
        SuiteError::Invalid {
            path: path.to_path_buf(),
            line: line_of(text, span.start),
            key: key.map(|k| format!(" ({k})")).unwrap_or_default(),
            message: e.message().trim().to_string(),
        }
    })
}

pub fn load(path: &Path) -> Result<LoadedSuite, SuiteError> {
    let text = std::fs::read_to_string(path).map_err(|source| SuiteError::Io { path: path.to_path_buf(), source })?;
    let suite = parse(&text, path)?;
    let base = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    Ok(LoadedSuite { path: path.to_path_buf(), suite, base })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_full_suite() {
        let s = parse(
            r#"
name = "t"
[teacher]
path = "m/teacher.onnx"
[[students]]
name = "q"
path = "m/int8.onnx"
[data]
path = "d.jsonl"
group_columns = ["topic"]
[evaluation]
batch_size = 8
batch_order = "length-sorted"
js_base = "2"
[statistics]
correction = "bh"
[[gates]]
metric = "label_loyalty"
min = 0.97
scope = "every-group"
judge = "interval"
[output]
html = "r.html"
"#,
            Path::new("s.toml"),
        )
        .unwrap();
        assert_eq!(s.students[0].name.as_deref(), Some("q"));
        assert_eq!(s.evaluation.batch_order, Some(BatchOrder::LengthSorted));
        assert_eq!(s.evaluation.js_base, Some(JsBase::Two));
        assert_eq!(s.statistics.correction, Some(Correction::BenjaminiHochberg));
        assert_eq!(s.gates.len(), 1);
    }

    #[test]
    fn paths_are_normalised_lexically() {
        assert_eq!(normalize(Path::new("suites/../fixtures/a.onnx")), PathBuf::from("fixtures/a.onnx"));
        assert_eq!(normalize(Path::new("./x/./y")), PathBuf::from("x/y"));
        assert_eq!(normalize(Path::new("../up")), PathBuf::from("../up"));
    }

    #[test]
    fn errors_name_the_line_and_key() {
        let err = parse("name = \"t\"\n[evaluation]\nbatchsize = 3\n", Path::new("suites/x.toml")).unwrap_err().to_string();
        assert!(err.contains("suites/x.toml, line 3") && err.contains("batchsize"), "{err}");
        let err = parse("[evaluation]\nbatch_size = \"big\"\n", Path::new("x.toml")).unwrap_err().to_string();
        assert!(err.contains("line 2"), "{err}");
    }
}
