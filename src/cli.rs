//! Command-line definitions (clap). Nothing downstream reads these: [`crate::plan`] merges them with
//! an optional suite file into a validated plan first. Options that a suite can set are `Option`s
//! here, so "not given" is told apart from "given the default"; defaults live in the plan.

use crate::data::DataFormat;
use crate::inference::BatchOrder;
use crate::stats::Correction;
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "fidelity", version, about = "Can a compressed model replace its teacher? Label and probability loyalty, flips, subgroups, release gates.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compare a teacher ONNX classifier with one or more compressed students on the same data.
    Compare(Box<CompareArgs>),
    /// Measure speed and size only (no fidelity metrics).
    ///
    /// Latency, throughput, speedup over the teacher (measured interleaved), session memory,
    /// parameters and FLOPs, on the first examples of the data. Takes compare's options (a suite
    /// too); writes JSON only with --out.
    Bench(Box<CompareArgs>),
    /// Where inside the network a student departs from its teacher: every matched intermediate
    /// tensor's error (cumulative, and the error each node adds itself), the first divergent node,
    /// per-weight errors. One teacher, one student; compare's data options.
    Locate(Box<LocateArgs>),
    /// Merge the part files of `compare --shard K/N` runs into the report one run would have
    /// written, and judge its gates (exit 0 passed, 1 a gate failed, 2 the parts do not belong
    /// together).
    Merge(MergeArgs),
    /// Render a JSON report again: print its terminal table and write the Markdown, HTML or JUnit
    /// files asked for (the Python API's notebooks render reports this way).
    Render(RenderArgs),
    /// The output cache: list its entries, total its size, remove old ones.
    Cache {
        #[command(subcommand)]
        action: CacheAction,
        /// The cache folder [default: outputs/ in fidelity's cache directory].
        #[arg(long, env = "FIDELITY_CACHE", value_name = "DIR", global = true)]
        cache: Option<PathBuf>,
    },
    /// Print the JSON schema of the report (committed as reports/report.schema.json).
    Schema,
    /// Describe this machine: the CPU, its kernel-selecting features and the ONNX Runtime kernel
    /// class they give (quantized models compute different numbers on different classes).
    Machine {
        /// Print JSON (the report's `machine` block) instead of one line.
        #[arg(long)]
        json: bool,
        /// Also measure (or read from the cache) this machine's roofs through ONNX Runtime: peak
        /// fp32 and int8 GEMM and memory bandwidth, as the reports' rooflines use them.
        #[arg(long)]
        peaks: bool,
        /// Intra-op threads for the peaks, as `compare --threads` [default: ONNX Runtime's].
        #[arg(long, requires = "peaks")]
        threads: Option<usize>,
        /// ONNX Runtime shared library (libonnxruntime.so) to load instead of the cached/fetched one.
        #[arg(long, env = "ORT_DYLIB_PATH")]
        ort_lib: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// A JSON report written by `fidelity compare` or `fidelity merge`.
    pub report: PathBuf,
    #[command(flatten)]
    pub also: ExtraReports,
    /// Print nothing (only write the files).
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum CacheAction {
    /// One line per entry: key, model, examples, size, when last used, the data's hash.
    Ls,
    /// The cache's total size.
    Du,
    /// Remove entries not used for DAYS days (every entry without --older-than), and the
    /// temporary files of killed runs.
    Prune {
        /// Remove only entries last used more than this many days ago (fractions allowed).
        #[arg(long, value_name = "DAYS")]
        older_than: Option<f64>,
    },
}

/// The reports written beside the JSON one (`compare` and `merge` take the same flags).
#[derive(Debug, Args, Default)]
pub struct ExtraReports {
    /// Also write a Markdown report here.
    #[arg(long)]
    pub markdown: Option<PathBuf>,
    /// Also write a self-contained HTML fairness report here.
    #[arg(long)]
    pub html: Option<PathBuf>,
    /// Also write a JUnit XML file here (one test case per gate check).
    #[arg(long)]
    pub junit: Option<PathBuf>,
}

#[derive(Debug, Args, Default)]
pub struct MergeArgs {
    /// The part files, every shard's once, in any order.
    #[arg(required = true)]
    pub parts: Vec<PathBuf>,
    /// Where to write the JSON report [default: the parts' name without .shard-K-of-N.part].
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub also: ExtraReports,
    /// Groups shown per student in the terminal table.
    #[arg(long)]
    pub show_groups: Option<usize>,
}

/// `fidelity locate`: compare's options plus the sample and the threshold.
#[derive(Debug, Args, Default)]
pub struct LocateArgs {
    #[command(flatten)]
    pub compare: CompareArgs,
    /// Examples in the seeded sample (--seed) the tensors are compared on.
    #[arg(long, default_value_t = 256)]
    pub examples: usize,
    /// A tensor whose cumulative SQNR is below this many dB has diverged; the first such tensor
    /// in topological order is reported.
    #[arg(long, default_value_t = 30.0, allow_negative_numbers = true)]
    pub threshold_db: f64,
    /// QDQ students: bypass the K nodes with the worst local error one at a time (each computes
    /// in float again), re-run the sample, and report each bypass's gain; then add bypasses in
    /// order of gain until --target holds.
    #[arg(long, default_value_t = 10)]
    pub ablate: usize,
    /// What the chosen bypasses must reach: label_loyalty>=V or probability_loyalty>=V.
    #[arg(long, default_value = "label_loyalty>=0.99")]
    pub target: String,
    /// Write the student with the chosen bypasses here (an ONNX file `fidelity compare` can check).
    #[arg(long)]
    pub write_patched: Option<PathBuf>,
}

#[derive(Debug, Args, Default)]
pub struct CompareArgs {
    /// Teacher model: PATH.onnx or NAME=PATH.onnx (or the suite's teacher).
    pub teacher: Option<String>,
    /// Student models, each PATH.onnx or NAME=PATH.onnx (default name: the file stem).
    pub students: Vec<String>,
    /// Suite file (TOML) describing the evaluation; flags given here override its values.
    #[arg(long, env = "FIDELITY_SUITE")]
    pub suite: Option<PathBuf>,
    /// Evaluation data: .jsonl, .csv (with a header), .parquet or .npz, or a file in a Hugging Face
    /// dataset repository, hf://datasets/org/name[@revision]/path/to/data.parquet.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Data format, when the file extension does not say.
    #[arg(long, value_enum)]
    pub data_format: Option<DataFormat>,
    /// Hugging Face tokenizer.json [default: tokenizer.json beside the teacher].
    #[arg(long)]
    pub tokenizer: Option<PathBuf>,
    /// Hugging Face config.json whose id2label names the classes [default: config.json beside the teacher, if any].
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Feature columns of tabular data (comma-separated; `f*` matches every column starting with
    /// `f`, in file order): they form the model's float input instead of text.
    #[arg(long, value_delimiter = ',')]
    pub feature_columns: Vec<String>,
    /// Column holding the text (the premise, for text pairs) [default: text].
    #[arg(long)]
    pub text_column: Option<String>,
    /// Column holding the second text of a pair (e.g. the NLI hypothesis).
    #[arg(long)]
    pub text_pair_column: Option<String>,
    /// Column holding the gold label, as a class index or a class name from id2label [default: label].
    #[arg(long)]
    pub label_column: Option<String>,
    /// The data has no labels: measure loyalty only (no accuracy, no flips).
    #[arg(long)]
    pub unlabelled: bool,
    /// Subgroup attribute column to keep with each example (repeatable).
    #[arg(long = "group-column")]
    pub group_columns: Vec<String>,
    #[command(flatten)]
    pub images: ImageArgs,
    /// Take group columns with very many distinct values as they are (refused by default: more
    /// than 1,000 values, or more than 50 making up over half the rows, is an identifier).
    #[arg(long)]
    pub allow_many_groups: bool,
    /// Groups per student in the terminal table, the most harmed first (reports keep every group) [default: 20].
    #[arg(long)]
    pub show_groups: Option<usize>,
    /// Groups smaller than this are reported as too small to judge (no interval, no test, no rank) [default: 30].
    #[arg(long)]
    pub min_group_size: Option<usize>,
    /// Bootstrap resamples for confidence intervals; 0 turns intervals off [default: 1000].
    #[arg(long)]
    pub bootstrap: Option<usize>,
    /// Two-sided confidence level of the intervals [default: 0.95].
    #[arg(long)]
    pub confidence: Option<f64>,
    /// Seed of every random draw (bootstrap resamples, batch-invariance sample) [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Multiple-testing control across subgroups for McNemar p-values [default: holm].
    #[arg(long, value_enum)]
    pub correction: Option<Correction>,
    /// Examples per ONNX Runtime call during evaluation; each batch is padded to its longest example [default: 32].
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// How evaluation batches are formed: file order, or sorted by length within each chunk (less
    /// padding; kept only for models the batch-invariance check shows invariant) [default: file].
    #[arg(long, value_enum)]
    pub batch_order: Option<BatchOrder>,
    /// The batch size production serves at (1 for latency serving) [default: --batch-size].
    /// Models whose outputs depend on their batch are re-run at it, in file order.
    #[arg(long)]
    pub serving_batch_size: Option<usize>,
    /// Examples read, tokenized and run through every model per step; memory follows it, not the
    /// file size. Rounded up to a multiple of both batch sizes [default: 8192].
    #[arg(long)]
    pub chunk_size: Option<usize>,
    /// Integer numerics of quantized models: `cpu` (what this CPU computes), `exact` (ONNX Runtime's
    /// session.x64quantprecision: exact u8s8 products, as on VNNI/AMX/ARM CPUs), or `both` (each
    /// student whose int8 weights can saturate also runs exactly, as NAME-exact) [default: cpu].
    #[arg(long, value_enum)]
    pub integer_numerics: Option<crate::machine::IntegerNumerics>,
    /// Examples at most in the seeded batch-invariance check of every model (each run alone and
    /// compared with its evaluation batch; stops once 8 move beyond the tolerance); 0 turns it off [default: 32].
    #[arg(long)]
    pub invariance_sample: Option<usize>,
    /// Largest probability change between batchings still counted as float noise [default: 1e-5].
    #[arg(long)]
    pub invariance_tolerance: Option<f64>,
    /// Maximum tokens per example when the tokenizer sets no truncation itself [default: 512].
    #[arg(long)]
    pub max_length: Option<usize>,
    /// What the models are: a causal language model's [batch, seq, vocab] logits are scored token
    /// by token; `multiple-choice` scores a causal LM's choices ({context, choices, label} rows);
    /// `auto` tells it from the teacher's graph (past_key_values inputs, or logits as wide as its
    /// tokenizer's vocabulary) and, for a language model, from a JSONL file's first row (an array
    /// in the choices column) [default: auto].
    #[arg(long, value_enum)]
    pub task: Option<Task>,
    /// Language models: tokens per window; multiple choice: tokens per context + choice (the
    /// context cut from the left to fit) [default: 512, or fewer positions in the teacher's config.json].
    #[arg(long)]
    pub context: Option<usize>,
    /// Multiple choice: the JSONL field holding each row's choices (an array of strings); the
    /// context is --text-column's [default: choices; the text column defaults to context].
    #[arg(long)]
    pub choices_column: Option<String>,
    /// Multiple choice: a choice's score, whose softmax over the row's choices is the model's
    /// choice distribution: `sum` of its tokens' log-probabilities given the context (lm-evaluation-harness's
    /// acc), `per-token`, or `per-character` (its acc_norm) [default: sum].
    #[arg(long, value_enum)]
    pub choice_score: Option<crate::lm::choices::ChoiceScore>,
    /// Language models: tokens between window starts; below --context windows overlap and each
    /// token is scored once [default: the context].
    #[arg(long)]
    pub stride: Option<usize>,
    /// Language models: the first scored target in each window: `half` (llama.cpp's convention,
    /// targets from context/2 + 1, so figures compare with llama-perplexity's), or an index, 1 for
    /// every token [default: half].
    #[arg(long)]
    pub score_from: Option<String>,
    /// Language models: token counts for the head/torso/tail buckets, a JSON array indexed by
    /// token id (e.g. counted on the training corpus) [default: counted on the evaluated text].
    #[arg(long)]
    pub token_counts: Option<PathBuf>,
    /// Language models: write the N positions where each student departs most from the teacher
    /// (largest KL) to NAME.worst.jsonl beside the report, with context and both top-5s.
    #[arg(long, value_name = "N")]
    pub dump_worst: Option<usize>,
    /// Log base of the Jensen-Shannon divergence in probability loyalty [default: e].
    #[arg(long, value_enum)]
    pub js_base: Option<JsBase>,
    /// What the models output: detect per model, or say [default: auto].
    #[arg(long, value_enum)]
    pub outputs: Option<OutputsArg>,
    /// The graph output to read as class scores, for every model (NAME) or one (MODEL=NAME);
    /// repeatable. Without it, fidelity picks a float32 [batch, classes] output by name and shape
    /// (and says which in the report).
    #[arg(long = "output", value_name = "[MODEL=]NAME")]
    pub outputs_named: Vec<String>,
    /// Folder of the output cache: each model's outputs on the data, stored once and read by later
    /// runs with the same model bytes, data, tokenizer and settings (README, "Teacher outputs
    /// cached") [default: outputs/ in fidelity's cache directory].
    #[arg(long, env = "FIDELITY_CACHE", value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Compute every model's outputs; neither read nor write the output cache (wins over --cache
    /// and FIDELITY_CACHE).
    #[arg(long)]
    pub no_cache: bool,
    /// Skip the speed measurement (latency, throughput, speedup over the teacher).
    #[arg(long)]
    pub no_speed: bool,
    /// Batch sizes of the throughput measurement, the batch-size curve (comma-separated)
    /// [default: 1,2,4,8,16,32,64,128,256].
    #[arg(long, value_delimiter = ',')]
    pub speed_batch_sizes: Vec<usize>,
    /// Examples used by the speed measurement (the first ones) [default: 256].
    #[arg(long)]
    pub speed_examples: Option<usize>,
    /// Measured rounds per batch size, after one warm-up round [default: 5].
    #[arg(long)]
    pub speed_repetitions: Option<usize>,
    /// Seconds the speed measurement may take at most; it then stops adding latency examples and
    /// rounds (at least 8 examples and 3 rounds per batch size run). 0: no limit, the whole
    /// --speed-examples and --speed-repetitions [default: the larger of 10 % of the evaluation
    /// pass's time and 0.5 s per model].
    #[arg(long)]
    pub speed_budget: Option<f64>,
    /// Attack this many examples (a seeded sample of the data's rows, the same for every model; rows without a gold label are left out) with a
    /// black-box attack; 0 turns attacks off [default: 0].
    #[arg(long)]
    pub attack_n: Option<usize>,
    /// Query budget per attacked example [default: 300].
    #[arg(long)]
    pub attack_queries: Option<usize>,
    /// Text attack: largest share of words changed [default: 0.2].
    #[arg(long)]
    pub attack_max_share: Option<f64>,
    /// Text attack: candidates tried per word [default: 30].
    #[arg(long)]
    pub attack_candidates: Option<usize>,
    /// Text attack: synonym file, JSON {"word": ["candidate", ...]} [default: the WordNet table built in].
    #[arg(long)]
    pub attack_synonyms: Option<PathBuf>,
    /// Tensor attack: L-infinity radius of the perturbation [default: 0.1; image files: 8/255, in
    /// pixels before each model's preprocessing, rounded down to whole 8-bit levels].
    #[arg(long)]
    pub attack_epsilon: Option<f32>,
    /// Image files: write every successful adversarial image as a PNG, DIR/MODEL/ROW.png.
    #[arg(long, value_name = "DIR")]
    pub attack_out: Option<PathBuf>,
    /// Measure robustness to natural noise: the same seeded noisy copy of a sample for every model,
    /// at each level of --noise-levels (off by default; a suite's [noise] table turns it on).
    #[arg(long)]
    pub noise: bool,
    /// Noise levels, KIND:RATE, comma-separated: typos:R (keyboard slips on each letter with
    /// probability R), dropout:R (each word dropped with probability R), gaussian:M (tensors: M
    /// times each feature's standard deviation) [default: typos:0.05,typos:0.15,dropout:0.1,dropout:0.25
    /// for text; gaussian:0.1,gaussian:0.25,gaussian:0.5 for tensors]. Implies --noise.
    #[arg(long, value_delimiter = ',')]
    pub noise_levels: Vec<String>,
    /// Examples in the noise sample (seeded, the same for every model and level) [default: 1000];
    /// 0 turns noise off.
    #[arg(long)]
    pub noise_examples: Option<usize>,
    /// Write every noisy input to this JSONL file, one line per level and example, to read what the
    /// models were given. Implies --noise.
    #[arg(long)]
    pub noise_out: Option<PathBuf>,
    /// Turn off the noise stage a suite turns on.
    #[arg(long, conflicts_with_all = ["noise", "noise_levels"])]
    pub no_noise: bool,
    /// A model's ONNX Runtime session setting, repeatable: MODEL:KEY=VALUE with KEY optimization
    /// (disable, basic, extended, layout, all), threads (its own intra-op pool) or a session.*
    /// config entry. A student may be the teacher's own file under other settings: its loyalty is
    /// then what the runtime change costs, its speed what it buys.
    #[arg(long = "session-option", value_name = "MODEL:KEY=VALUE")]
    pub session_options: Vec<String>,
    /// Add a member to a population, repeatable: ROLE=PATH, ROLE being `teacher` or a student's
    /// name (e.g. --population teacher=seed1.onnx --population int8=int8-seed1.onnx). The role's
    /// own model is the population's first member; Compression Identified Exemplars are reported
    /// for every student against the teacher's population.
    #[arg(long = "population", value_name = "ROLE=PATH")]
    pub populations: Vec<String>,
    /// Release gate, repeatable: `[STUDENT:] METRIC >= VALUE | METRIC <= VALUE [per-group] [interval]`,
    /// e.g. 'label_loyalty >= 0.97' or 'int8: accuracy_drop <= 0.03 per-group interval'.
    #[arg(long = "gate")]
    pub gates: Vec<String>,
    /// Evaluate only shard K of N (1 <= K <= N: whole chunks of the data, in order) and write a
    /// part file beside --out (NAME.shard-K-of-N.part) for `fidelity merge`. `--shard auto` reads
    /// K/N from a Slurm job array or a Kubernetes Indexed Job (with --shards N); so does
    /// `--shard` without a value (put it after the models).
    #[arg(long, value_name = "K/N|auto", num_args = 0..=1, default_missing_value = "auto")]
    pub shard: Option<String>,
    /// The number of shards, for `--shard auto` under a Kubernetes Indexed Job (its completions).
    #[arg(long, value_name = "N")]
    pub shards: Option<usize>,
    /// Where to write the JSON report [default: reports/<suite name or teacher's folder>.json].
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub also: ExtraReports,
    /// Device for every model: cpu, cuda[:N] or tensorrt[:N] [default: cpu, or each model's suite device].
    #[arg(long)]
    pub device: Option<String>,
    /// Device for the teacher alone (e.g. teacher on cuda:0, students on cpu).
    #[arg(long)]
    pub teacher_device: Option<String>,
    /// Run a model on the CPU when its GPU provider cannot load, instead of failing; the report
    /// records the provider actually used and ONNX Runtime's reason.
    #[arg(long)]
    pub allow_fallback: bool,
    /// Threads for ONNX Runtime (per session) and for fidelity's own parallel work [default: all cores].
    /// Results do not depend on it.
    #[arg(long)]
    pub threads: Option<usize>,
    /// ONNX Runtime shared library (libonnxruntime.so) to load instead of the cached/fetched one.
    #[arg(long, env = "ORT_DYLIB_PATH")]
    pub ort_lib: Option<PathBuf>,
    /// Print nothing but the table and errors.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Image data and how each model's images are preprocessed. By default every model reads the
/// `preprocessor_config.json` (or timm `config.json`) beside it; a flag replaces that step for
/// every model.
#[derive(Debug, Args, Default, Clone)]
pub struct ImageArgs {
    /// Column of a CSV/JSONL/Parquet manifest holding each example's image path (relative to the
    /// manifest) [default: image, when the teacher has a preprocessor_config.json]. An image
    /// folder (--data DIR, one sub-folder per class) needs none.
    #[arg(long)]
    pub image_column: Option<String>,
    /// Resize every image to exactly H,W pixels (one number: a square).
    #[arg(long, value_name = "H,W", value_delimiter = ',', num_args = 1..=2)]
    pub image_size: Vec<u32>,
    /// Resize the short side to N pixels, keeping the aspect ratio.
    #[arg(long, value_name = "N", conflicts_with = "image_size")]
    pub resize_shortest: Option<u32>,
    /// Center crop to H,W pixels after the resize (one number: a square).
    #[arg(long, value_name = "H,W", value_delimiter = ',', num_args = 1..=2)]
    pub crop: Vec<u32>,
    /// Resampling filter of the resize, as Pillow's: nearest, bilinear, bicubic, lanczos, box, hamming.
    #[arg(long, value_name = "FILTER")]
    pub resample: Option<String>,
    /// Per-channel mean subtracted after rescaling to [0, 1] (e.g. 0.485,0.456,0.406).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true)]
    pub mean: Vec<f32>,
    /// Per-channel standard deviation divided by (e.g. 0.229,0.224,0.225).
    #[arg(long, value_delimiter = ',')]
    pub std: Vec<f32>,
    /// Memory layout of the model's image input [default: nchw].
    #[arg(long, value_enum)]
    pub layout: Option<crate::vision::Layout>,
    /// Colour channels the model takes: 3 (RGB) or 1 (grey, as Pillow's convert("L")) [default: 3].
    #[arg(long)]
    pub channels: Option<u8>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    Auto,
    /// A classifier (text, pairs, tabular): the default before language models.
    Classify,
    CausalLm,
    /// A causal LM scoring the choices of {context, choices, label} rows: a classifier over choices.
    MultipleChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
pub enum JsBase {
    #[value(name = "e")]
    #[serde(rename = "e")]
    E,
    #[value(name = "2")]
    #[serde(rename = "2")]
    Two,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutputsArg {
    Auto,
    Logits,
    Probabilities,
}
