//! Black-box adversarial attacks: how much of a model's accuracy survives an attacker who only sees
//! its output probabilities (ONNX Runtime gives no gradients).
//!
//! - [`text`]: a TextFooler-family word-substitution attack (Jin et al. 2020): word importance by
//!   deletion, then greedy substitution from candidate sets, under a query budget and a maximum
//!   share of words changed. For text pairs (NLI) only the second text is perturbed.
//! - [`tensor`]: SimBA (Guo et al. 2019) in the coordinate basis with an L∞ constraint, for float
//!   inputs.
//! - [`synonyms`]: where substitution candidates come from (a user JSON file, or the WordNet table
//!   compiled into the binary); [`stop_words`]: words the text attack never touches.
//! - [`outcome`]: one example's result and the TextAttack-convention metrics over many.
//!
//! The models are behind two seams, [`TextClassifier`] and [`TensorClassifier`]: a batch of inputs
//! in, one probability row per input out. Query accounting (the same for both attacks):
//!
//! - every input row sent to `classify` is one query, charged to the example it belongs to; an
//!   example never sends more rows than its budget;
//! - the original input costs one query, unless the caller passes its probability row (then 0);
//! - an example the model already gets wrong is [`AttackStatus::Skipped`] and reports 0 queries,
//!   even when its original row was computed by the attack (TextAttack's convention);
//! - the candidates of one step (all deletions, one word's candidate set, SimBA's ±ε pair) go to
//!   the model in one call. `attack_batch` runs several examples in lockstep and concatenates their
//!   steps into one call (never splitting a step), which is what makes attacks fast; each example's
//!   queries and result are unchanged by this, for a model whose output for an input does not depend
//!   on the rest of its batch (dynamically quantized int8 models are not such models).

pub mod outcome;
pub mod records;
pub mod stop_words;
pub mod synonyms;
pub mod tensor;
pub mod text;
mod words;

pub use outcome::{AttackOutcome, AttackStatus, AttackSummary, GroupAttack, ModelAttack, Transfer};
pub use stop_words::StopWords;
pub use synonyms::SynonymTable;
pub use tensor::{TensorAttack, TensorAttackSettings, TensorExample};
pub use text::{TextAttack, TextAttackSettings, TextExample};

use serde::Serialize;
use std::path::PathBuf;
use thiserror::Error;

/// One text input: a single text or a pair (NLI); attacks perturb `text` for singles and ONLY the
/// second text (`pair`) for pairs.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct TextInput {
    pub text: String,
    pub pair: Option<String>,
}

impl TextInput {
    pub fn single(text: impl Into<String>) -> Self {
        Self { text: text.into(), pair: None }
    }

    pub fn pair(text: impl Into<String>, pair: impl Into<String>) -> Self {
        Self { text: text.into(), pair: Some(pair.into()) }
    }
}

/// A black-box text classifier: probability rows (each summing to 1) for a batch of inputs, in order.
/// One call = one ONNX Runtime call in production, so attacks batch all candidates of one step into
/// one call.
pub trait TextClassifier {
    fn classify(&mut self, inputs: &[TextInput]) -> Result<Vec<Vec<f64>>, AttackError>;
}

/// A black-box classifier over float tensors: `inputs` has shape [batch, ...example shape]; returns
/// probability rows.
pub trait TensorClassifier {
    fn classify(&mut self, inputs: ndarray::ArrayViewD<'_, f32>) -> Result<Vec<Vec<f64>>, AttackError>;
}

#[derive(Debug, Error)]
pub enum AttackError {
    /// The model failed (the classifier's own message, naming the model).
    #[error("{0}")]
    Model(String),
    #[error("{flag} must be {expected}, got {value}")]
    Setting { flag: &'static str, expected: &'static str, value: String },
    #[error("synonym file {path}: {message}")]
    SynonymFile { path: PathBuf, message: String },
    #[error("the classifier returned {got} probability rows for {expected} inputs")]
    RowCount { expected: usize, got: usize },
    #[error("probability row {row} is not usable ({message})")]
    BadRow { row: usize, message: String },
    #[error("gold label {label} is out of range: the classifier gives {classes} classes")]
    Label { label: usize, classes: usize },
    #[error("attack example {example}: {message}")]
    Example { example: usize, message: String },
}

/// Checks one probability row of a model answer: finite, and long enough to hold `gold`.
pub(crate) fn check_row(row: &[f64], gold: usize, row_index: usize) -> Result<(), AttackError> {
    if let Some(value) = row.iter().find(|x| !x.is_finite()) {
        return Err(AttackError::BadRow { row: row_index, message: format!("non-finite value {value}") });
    }
    if gold >= row.len() {
        return Err(AttackError::Label { label: gold, classes: row.len() });
    }
    Ok(())
}

/// Index of the largest entry; ties go to the lowest index (as everywhere in fidelity).
pub(crate) fn argmax(row: &[f64]) -> usize {
    crate::metrics::argmax(row)
}

/// Chooses which pending steps go into the next classify call when examples run in lockstep:
/// `steps` gives (job, rows of its pending step) in job order; steps are taken whole, in order,
/// skipping any that would push the call past `max_rows` (a single larger step still goes alone).
/// Returns (job, its rows' range in the call).
pub(crate) fn pack(steps: impl Iterator<Item = (usize, usize)>, max_rows: usize) -> Vec<(usize, std::ops::Range<usize>)> {
    let mut taken = Vec::new();
    let mut rows = 0;
    for (job, len) in steps {
        if len == 0 || (rows > 0 && rows + len > max_rows) {
            continue;
        }
        taken.push((job, rows..rows + len));
        rows += len;
    }
    taken
}
