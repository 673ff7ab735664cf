//! The attack section of a plan.

use serde::Serialize;

/// Attack settings from flags and suite.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct AttackSettings {
    /// Examples attacked (a seeded sample of the data's rows, the same for every model; rows without a gold label are left out).
    pub examples: usize,
    pub seed: u64,
    /// Per-example query budget.
    pub max_queries: usize,
    /// Text: largest share of words changed.
    pub max_perturbed_share: f64,
    /// Text: candidates per word.
    pub max_candidates: usize,
    /// Text: the user's synonym file; absent = the WordNet table compiled in.
    pub synonyms: Option<std::path::PathBuf>,
    /// Tensors: L∞ radius.
    pub epsilon: f32,
    /// `--attack-out`: where image files' adversarial images are written as PNGs.
    #[serde(skip)]
    pub out: Option<std::path::PathBuf>,
}
