//! The one report model, and the writers that render it.
//!
//! Every writer takes a [`Report`] and returns bytes; only [`files`] touches the file system, and
//! it writes atomically (temp file + rename) so a report on disk is always whole.

pub mod escape;
pub mod files;
pub mod format;
pub mod format_cache;
pub mod format_classes;
pub mod format_curves;
pub mod format_deployment;
pub mod format_images;
pub mod format_noise;
pub mod format_populations;
pub mod format_roofline;
pub mod format_shards;
pub mod gate_values;
pub mod html;
mod html_curves;
mod html_noise;
mod html_populations;
mod html_roofline;
pub mod json;
pub mod junit;
pub mod language_model;
pub mod language_model_html;
pub mod language_model_markdown;
pub mod machine;
pub mod markdown;
pub mod part;
pub mod terminal;

use crate::metrics::{FidelityMetrics, OutputKind};
use crate::model::ModelInfo;
use serde::Serialize;
use std::path::PathBuf;

/// Version of the JSON report layout; bumped on any incompatible change.
/// 2: `machine`, per-model `integer_kernels`/`kernels`/`exact_integer`/`twin_of`, the one-pass
/// batch-invariance fields, speed budgets and rounds. 5: per-model `output_selection`,
/// `output_layout`, `output_producer`, `class_labels`; output kind `labels`; probability loyalty,
/// its interval, the JS histogram and disagreement probabilities may be null (label-only models).
pub const SCHEMA_VERSION: u32 = 5;

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Report {
    pub schema_version: u32,
    /// The evaluation's name (suite name, or the teacher's folder).
    pub name: String,
    pub tool: Tool,
    /// False while students are still running (or when a run was interrupted).
    pub complete: bool,
    /// The CPU and the kernel class its numbers come from (quantized models differ between classes).
    pub machine: crate::machine::MachineInfo,
    pub runtime: RuntimeInfo,
    pub data: DataInfo,
    pub batching: Batching,
    pub conventions: Conventions,
    pub statistics: StatisticsInfo,
    /// How attacks were run; absent when attacks are off.
    pub attack: Option<crate::plan::AttackSettings>,
    /// How the natural-noise stage ran; absent when it is off.
    pub noise: Option<crate::plan::NoiseSettings>,
    /// How speed was measured; absent with --no-speed.
    pub speed: Option<crate::speed::SpeedSettings>,
    /// Timing field: peak resident memory of the whole run, in bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Timing field: the machine's measured roofs (fp32 and int8 GEMM, memory bandwidth); absent
    /// with --no-speed.
    pub peaks: Option<crate::roofline::MachinePeaks>,
    /// Why `peaks` is absent although speed was measured.
    pub peaks_note: Option<String>,
    /// What measured energy, or why nothing could; absent with --no-speed.
    pub energy: Option<crate::energy::EnergySource>,
    pub teacher: ModelReport,
    pub students: Vec<StudentReport>,
    /// Set by `fidelity merge`: the parts the report was merged from.
    pub shards: Option<format_shards::ShardsInfo>,
    /// Every gate check, passed ones included; empty when no gate was set.
    pub gate: crate::gate::GateOutcome,
}

impl Report {
    /// Passed when every check passed (and trivially when there are no gates).
    pub fn verdict(&self) -> &'static str {
        if !format::has_gate(&self.gate) {
            "no gates"
        } else if self.gate.all_passed() {
            "pass"
        } else {
            "fail"
        }
    }
}

/// How intervals, tests and groups were computed.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct StatisticsInfo {
    #[serde(flatten)]
    pub settings: crate::subgroups::SubgroupSettings,
    /// Attribute columns the groups come from.
    pub group_attributes: Vec<String>,
    /// How each interval was computed; absent when intervals are off (`--bootstrap 0`).
    pub interval_methods: Option<crate::stats::IntervalMethods>,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Tool {
    pub name: std::borrow::Cow<'static, str>,
    pub version: std::borrow::Cow<'static, str>,
}

impl Default for Tool {
    fn default() -> Self {
        Self { name: env!("CARGO_PKG_NAME").into(), version: env!("CARGO_PKG_VERSION").into() }
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct RuntimeInfo {
    pub onnxruntime_version: String,
    pub library: PathBuf,
    pub library_origin: String,
    /// `cpu`, `exact` or `both` (see `ModelInfo::exact_integer`).
    pub integer_numerics: crate::machine::IntegerNumerics,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct DataInfo {
    pub path: PathBuf,
    /// For data named `hf://datasets/org/name[@revision]/path`: the repository, the commit it came
    /// from and the file (`path` is then its copy in the Hugging Face cache).
    pub hub: Option<crate::model::hub::ResolvedData>,
    pub format: crate::data::DataFormat,
    pub examples: usize,
    pub labelled: usize,
    pub columns: crate::data::Columns,
    pub inputs: InputsInfo,
    pub label_names: Option<Vec<String>>,
}

/// One model's preprocessing of the images, as the report records it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ImagePreprocessingInfo {
    pub model: String,
    /// Where it was read: "preprocessor_config.json (ViTImageProcessor)", "flags", "the teacher's (…)".
    pub source: String,
    pub file: Option<PathBuf>,
    pub steps: crate::vision::Preprocessing,
    /// Shape of one preprocessed image ([channels, height, width] or [height, width, channels]).
    pub shape: Vec<usize>,
}

/// What the models were fed.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InputsInfo {
    Text {
        tokenizer: PathBuf,
        max_length: usize,
        /// Examples cut to `max_length` tokens.
        truncated: usize,
        /// Examples with an empty text: counted, kept (the model sees only special tokens).
        empty_texts: usize,
        pad_id: u32,
    },
    Tensors {
        /// (name, shape) of every array.
        arrays: Vec<(String, Vec<usize>)>,
    },
    /// Image files, decoded once and preprocessed as each model says.
    Images {
        /// "image folder DIR" or "manifest column 'image'".
        source: String,
        /// Images decoded (each once, whatever the number of models).
        decoded: usize,
        /// Distinct preprocessings run on every image.
        distinct_preprocessings: usize,
        /// Each model's preprocessing, teacher first.
        models: Vec<ImagePreprocessingInfo>,
    },
    /// Multiple choice on causal LMs: each row's context with each of its choices.
    Choices {
        tokenizer: PathBuf,
        /// Choices per row: the classes compared.
        choices: usize,
        /// How a choice's token log-probabilities become its score; the softmax over a row's
        /// scores is the model's choice distribution.
        score: crate::lm::choices::ChoiceScore,
        scoring: String,
        /// Tokens per context + choice.
        max_tokens: usize,
        /// Rows with a context cut from the left to fit `max_tokens`.
        truncated: usize,
    },
}

/// How examples were grouped into batches; dynamically quantized models depend on it. Each model
/// also records the batching its own numbers come from (`ModelReport::batching`).
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Batching {
    /// Evaluation batch size.
    pub batch_size: usize,
    pub order: crate::inference::BatchOrder,
    /// The batch size production serves at; batch-dependent models are re-run at it.
    pub serving_batch_size: usize,
    /// Examples streamed through every model per step (a multiple of both batch sizes). The
    /// batch-invariance sample is drawn from the first chunk; length-sorted batches sort within a chunk.
    pub chunk_size: usize,
    pub padding: std::borrow::Cow<'static, str>,
    pub invariance: crate::inference::invariance::InvarianceSettings,
}

/// Every convention the numbers depend on, stated in the report itself.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Conventions {
    pub js_log_base: std::borrow::Cow<'static, str>,
    pub probability_loyalty: std::borrow::Cow<'static, str>,
    pub label_loyalty: std::borrow::Cow<'static, str>,
    pub argmax_ties: std::borrow::Cow<'static, str>,
    pub flip_rates: std::borrow::Cow<'static, str>,
    pub kl: std::borrow::Cow<'static, str>,
    pub probabilities: std::borrow::Cow<'static, str>,
    pub intervals: std::borrow::Cow<'static, str>,
    pub mcnemar: std::borrow::Cow<'static, str>,
    pub groups: std::borrow::Cow<'static, str>,
    pub representation: std::borrow::Cow<'static, str>,
    pub amplification: std::borrow::Cow<'static, str>,
    pub harm_ranking: std::borrow::Cow<'static, str>,
    pub classes: std::borrow::Cow<'static, str>,
    pub attacks: std::borrow::Cow<'static, str>,
    pub noise: std::borrow::Cow<'static, str>,
    pub populations: std::borrow::Cow<'static, str>,
}

impl Conventions {
    pub fn new(base: crate::metrics::LogBase) -> Self {
        Self {
            js_log_base: base.label().into(),
            probability_loyalty: "mean over examples of 1 - sqrt(JS(P_teacher || P_student)), JS in the stated log base (scipy.spatial.distance.jensenshannon)".into(),
            label_loyalty: "share of examples where argmax(student) = argmax(teacher)".into(),
            argmax_ties: "lowest class index wins (numpy.argmax)".into(),
            flip_rates: "negative flip: teacher right and student wrong; positive flip: teacher wrong and student right; both over labelled examples".into(),
            kl: "mean KL(P_teacher || P_student) in nats; null when a student gives zero probability to a class the teacher does not (counted in kl_infinite)".into(),
            probabilities: "logits go through a float64 softmax; probability outputs (rows non-negative, summing to 1 within 1e-4) are renormalised in float64".into(),
            intervals: "paired bootstrap, percentile method (numpy linear quantiles). Accuracies, their difference and label loyalty: the row bootstrap's distribution (n examples drawn with replacement, teacher and student outcomes taken together), drawn as multinomial counts of the teacher x student outcome table, the teacher's margin first and then each student's cells within it; group g uses seed + g + 1. Probability loyalty: Poisson bootstrap, each example weighted Poisson(1) from a hash of (seed, resample, example), the same weights for every student and group of a resample. Students share seeds, not rows: no interval compares two students".into(),
            mcnemar: "exact two-sided McNemar test on teacher-vs-student correctness: min(1, 2 P(X <= min(b, c))), X ~ Binomial(b + c, 1/2), b = teacher right & student wrong, c = teacher wrong & student right; p_adjusted across the judged groups of one student".into(),
            groups: "each attribute alone, then every pair of attributes crossed; groups below min_group_size are too small to judge: point metrics only, no interval, test or rank".into(),
            representation: "share of the teacher-student disagreements that fall in the group, divided by the group's share of the data".into(),
            amplification: "((err_s,g - err_t,g) / err_t,g) / ((err_s - err_t) / err_t), err = 1 - accuracy; null when a denominator is 0 (after Hooker et al. 2020)".into(),
            harm_ranking: "judged groups by accuracy change, most negative first; ties by lower label loyalty".into(),
            classes: "per class c over the labelled examples: support = gold c; recall = gold c and predicted c / support; precision = gold c and predicted c / predicted c; differences student - teacher; flip rates and McNemar's test on the class's examples, p_adjusted across the judged classes with the groups' correction; intervals of the differences: paired bootstrap drawn as multinomial counts of the class's cells (gold, teacher and student each c or not, and unlabelled), seed fixed by the seed and the class; classes below min_group_size get point values only; most hurt: the judged class whose recall fell most (ties: precision), named only when it fell; transitions: teacher label x student label counts over every example".into(),
            attacks: "TextAttack conventions: after-attack accuracy = (originally correct - successes) / attacked, examples already misclassified count as failures of the model and cost 0 queries; attack success rate = successes / originally correct; mean queries over originally-correct examples; perturbed share = changed words / words, mean over successes; every model row sent is one query; transfer success rate = teacher adversarial examples that also fool the student / teacher successes the student classified correctly before (in its own attack's first query). The sample: a seeded draw of the data's rows, those with a gold label attacked, in groups of 64 drawn rows that no model call mixes. Text: word importance by deletion, greedy synonym substitution (WordNet by default: no context or part-of-speech check, no inflections), stop words kept; pairs perturb the second text. Tensors: SimBA in an L-infinity ball; image files: on the decoded pixels in [0, 1], epsilon in whole 8-bit levels, every query preprocessed as each model's own preprocessing says".into(),
            noise: "natural noise on a seeded sample of the data, the same noisy inputs for every model; each example's noise from a stream of (seed, level, example index). Text: typos:r = each ASCII letter, with probability r, gets one of four slips chosen uniformly (a neighbouring QWERTY key instead, deleted, a neighbouring key inserted after it, swapped with the next character), in the text and its pair; dropout:r = each word dropped with probability r. Tensors: gaussian:m = N(0, (m sigma_j)^2) added to feature j, sigma_j its population standard deviation over the sample; an image-shaped input (rank > 2) takes one sigma over all its values. Image files: NAME:s = an ImageNet-C corruption (gaussian_noise, shot_noise, gaussian_blur, brightness, contrast, jpeg_compression, pixelate) at severity s = 1-5 with Hendrycks and Dietterich's constants, on the 8-bit image before each model's preprocessing. Clean and noisy copies run in the same batches (sample order). Per model: clean and noisy accuracy over the sample's labelled examples, accuracy drop = clean - noisy, stability = share whose noisy label is the model's own clean label. Per student: label loyalty on noisy inputs, noisy accuracy drop = teacher's noisy accuracy - student's, robustness gap = student's accuracy drop - teacher's; intervals: paired bootstrap drawn as multinomial counts of the 64 cells (labelled, teacher clean/noisy right, student clean/noisy right, noisy labels agree). Gates on noise metrics take the worst level, and for interval judging the worst bounds over levels".into(),
            populations: "a role naming several models (seeds of one method) is a population; its first model is the one compared pairwise, every member runs over the data with that model's settings and batching. Modal label: the class most members give, ties to the lowest class index. CIE (Compression Identified Exemplars, Hooker et al. 2020): examples where the teacher population's modal label differs from the student population's; CIE share over every example; accuracy on CIE and elsewhere: each member's accuracy over the labelled examples of the subset, averaged over the members; per group: its CIE share and representation = (group's share of the CIE) / (group's share of the data). Seed noise: the sample standard deviation (n - 1) of the members' accuracies".into(),
        }
    }

    /// The conventions as (heading, text), in the order every writer lists them.
    pub fn entries(&self) -> [(&'static str, &str); 16] {
        [
            ("probability loyalty", self.probability_loyalty.as_ref()),
            ("label loyalty", self.label_loyalty.as_ref()),
            ("ties", self.argmax_ties.as_ref()),
            ("flip rates", self.flip_rates.as_ref()),
            ("KL", self.kl.as_ref()),
            ("probabilities", self.probabilities.as_ref()),
            ("intervals", self.intervals.as_ref()),
            ("McNemar", self.mcnemar.as_ref()),
            ("groups", self.groups.as_ref()),
            ("representation", self.representation.as_ref()),
            ("amplification", self.amplification.as_ref()),
            ("harm ranking", self.harm_ranking.as_ref()),
            ("classes", self.classes.as_ref()),
            ("attacks", self.attacks.as_ref()),
            ("noise", self.noise.as_ref()),
            ("populations", self.populations.as_ref()),
        ]
    }
}

/// One model as run.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ModelReport {
    #[serde(flatten)]
    pub info: ModelInfo,
    pub output_kind: OutputKind,
    pub output_kind_detected: bool,
    pub accuracy: Option<f64>,
    /// The batching this model's numbers come from.
    pub batching: crate::inference::serving::ModelBatching,
    /// Text examples cut to the model's fixed sequence length (`info.static_shape.sequence`);
    /// absent when it has none or the data is not text. Its numbers describe the cut inputs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub truncated_examples: Option<usize>,
    /// Whether the model's outputs depend on batch composition (absent when the check is off).
    pub batch_invariance: Option<crate::inference::invariance::BatchInvariance>,
    /// For a model with integer kernels: the kernel class its numbers hold for, and a warning
    /// where this CPU's u8s8 GEMM can saturate on its weights.
    pub kernels: Option<machine::KernelNote>,
    /// Where the model's outputs came from, per cached pass: the output cache's key, and whether
    /// they were read from it (no inference ran) or computed (and stored). Absent with the cache
    /// off. A run-dependent field, like the timings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cache: Vec<crate::cache::CacheUse>,
    /// Timing field: seconds inside ONNX Runtime for the whole pass (0 when the outputs were
    /// read from the cache).
    pub inference_seconds: f64,
    /// Timing field: all seconds inside ONNX Runtime for this model up to the speed measurement:
    /// session creation, evaluation, batch-invariance check, attacks. `fidelity compare`'s wall
    /// time over the sum of these is fidelity's own overhead (benches/own_speed.sh).
    pub onnxruntime_seconds: Option<f64>,
    /// Timing field: measured latency, throughput and speedup over the teacher.
    pub speed: Option<crate::speed::ModelSpeed>,
    /// Timing field: the model under the machine's roofs, one point per measured batch size
    /// (absent without speed, peaks or a FLOPs estimate).
    pub roofline: Option<crate::roofline::Roofline>,
    /// Timing field: resident-memory growth while the model's session was created.
    pub session_memory_bytes: Option<u64>,
    /// The hub reference this model came from, with the commit it resolved to.
    pub hub: Option<crate::model::hub::ResolvedModel>,
    /// Parameters, nonzero parameters and estimated FLOPs per example, read from the ONNX file.
    pub size: Option<crate::onnx::GraphStats>,
    /// Why `size` is absent (the file's graph could not be read by fidelity's reader).
    pub size_note: Option<String>,
    /// Black-box attack results on the attacked sample (with transfer from the teacher, for students).
    pub attack: Option<crate::attack::ModelAttack>,
    /// Accuracy and stability on the noise sample, per noise level.
    pub noise: Option<Vec<crate::noise::ModelNoise>>,
    /// When the role names several models: each member's accuracy and their spread (seed noise).
    pub population: Option<crate::populations::PopulationSummary>,
}

/// One student compared with the teacher.
#[derive(Debug, Clone, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct StudentReport {
    pub model: ModelReport,
    pub fidelity: FidelityMetrics,
    /// Intervals, McNemar test and per-group results.
    pub statistics: crate::subgroups::SubgroupSummary,
    /// Distribution of the per-example Jensen–Shannon distance to the teacher; absent when a model
    /// gives labels only.
    pub js_histogram: Option<Histogram>,
    /// The first examples (file order) where the student's label differs from the teacher's.
    pub disagreements: Vec<Disagreement>,
    /// Per class: recall, precision, flips, McNemar tests and intervals; the label transitions.
    pub classes: crate::classes::ClassReport,
    /// Per noise level: loyalty to the teacher on noisy inputs and the robustness gap, with intervals.
    pub noise: Option<Vec<crate::noise::NoiseComparison>>,
    /// With populations: the Compression Identified Exemplars against the teacher's population.
    pub cie: Option<crate::populations::CieReport>,
}

/// Equal-width bins over `[0, upper]`.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Histogram {
    pub upper: f64,
    pub counts: Vec<u64>,
}

impl Histogram {
    /// Bins `values` (all within `[0, upper]`) into `bins` equal bins; the top edge is inclusive.
    pub fn new(values: impl Iterator<Item = f64>, upper: f64, bins: usize) -> Self {
        let mut counts = vec![0u64; bins.max(1)];
        for v in values {
            let b = ((v / upper) * bins as f64).floor().clamp(0.0, (bins - 1) as f64) as usize;
            counts[b] += 1;
        }
        Self { upper, counts }
    }
}

/// One example the student labels differently from the teacher.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Disagreement {
    /// "line 12" / "row 12".
    pub origin: String,
    /// The text (and pair), for text data.
    pub text: Option<String>,
    pub text_pair: Option<String>,
    pub gold: Option<String>,
    pub teacher: String,
    /// The teacher's probability of its label; absent for a label-only model.
    pub teacher_probability: Option<f64>,
    pub student: String,
    pub student_probability: Option<f64>,
}
