//! Command-line definitions (clap). Nothing downstream reads these: [`crate::plan`] turns them
//! into a validated plan first.

use crate::data::DataFormat;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(name = "fidelity", version, about = "Can a compressed model replace its teacher? Label and probability loyalty, flips, accuracy.")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compare a teacher ONNX classifier with one or more compressed students on the same data.
    Compare(CompareArgs),
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Teacher model: PATH.onnx or NAME=PATH.onnx.
    pub teacher: String,
    /// Student models, each PATH.onnx or NAME=PATH.onnx (default name: the file stem).
    #[arg(required = true)]
    pub students: Vec<String>,
    /// Evaluation data: a .jsonl (one JSON object per line) or .csv file with a header.
    #[arg(long)]
    pub data: PathBuf,
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
    /// Column holding the text (the premise, for text pairs).
    #[arg(long, default_value = "text")]
    pub text_column: String,
    /// Column holding the second text of a pair (e.g. the NLI hypothesis).
    #[arg(long)]
    pub text_pair_column: Option<String>,
    /// Column holding the gold label, as a class index or a class name from id2label.
    #[arg(long, default_value = "label")]
    pub label_column: String,
    /// The data has no labels: measure loyalty only (no accuracy, no flips).
    #[arg(long)]
    pub unlabelled: bool,
    /// Subgroup attribute column to keep with each example (repeatable).
    #[arg(long = "group-column")]
    pub group_columns: Vec<String>,
    /// Groups smaller than this are reported as too small to judge (no interval, no test, no rank).
    #[arg(long, default_value_t = 30)]
    pub min_group_size: usize,
    /// Bootstrap resamples for confidence intervals (0 turns intervals off).
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Two-sided confidence level of the intervals.
    #[arg(long, default_value_t = 0.95)]
    pub confidence: f64,
    /// Seed of every random draw (bootstrap resamples).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Multiple-testing control across subgroups for McNemar p-values.
    #[arg(long, value_enum, default_value = "holm")]
    pub correction: crate::stats::Correction,
    /// Examples per ONNX Runtime call during evaluation; each batch is padded to its longest example.
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// How evaluation batches are formed: file order, or sorted by length (less padding; kept only
    /// for models the batch-invariance check shows invariant).
    #[arg(long, value_enum, default_value = "file")]
    pub batch_order: crate::evaluate::BatchOrder,
    /// The batch size production serves at (1 for latency serving) [default: --batch-size].
    /// Models whose outputs depend on their batch are re-run at it, in file order.
    #[arg(long)]
    pub serving_batch_size: Option<usize>,
    /// Examples in the seeded batch-invariance check of every model (0 turns it off).
    #[arg(long, default_value_t = 256)]
    pub invariance_sample: usize,
    /// Largest probability change between batchings still counted as float noise.
    #[arg(long, default_value_t = crate::evaluate::invariance::DEFAULT_TOLERANCE)]
    pub invariance_tolerance: f64,
    /// Maximum tokens per example when the tokenizer sets no truncation itself.
    #[arg(long, default_value_t = 512)]
    pub max_length: usize,
    /// Log base of the Jensen-Shannon divergence in probability loyalty.
    #[arg(long, value_enum, default_value = "e")]
    pub js_base: JsBase,
    /// What the models output: detect per model, or say.
    #[arg(long, value_enum, default_value = "auto")]
    pub outputs: OutputsArg,
    /// Where to write the JSON report [default: reports/<teacher's folder name>.json].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// ONNX Runtime shared library (libonnxruntime.so) to load instead of the cached/fetched one.
    #[arg(long, env = "ORT_DYLIB_PATH")]
    pub ort_lib: Option<PathBuf>,
    /// Print nothing but the table and errors.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum JsBase {
    #[value(name = "e")]
    E,
    #[value(name = "2")]
    Two,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputsArg {
    Auto,
    Logits,
    Probabilities,
}
