//! The metrics a gate can threshold, and where each one's value and interval come from.

use crate::stats::Interval;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GateMetric {
    /// Student accuracy.
    Accuracy,
    /// Teacher accuracy minus student accuracy (relative to the teacher; positive = worse).
    AccuracyDrop,
    LabelLoyalty,
    ProbabilityLoyalty,
    NegativeFlipRate,
    PositiveFlipRate,
    MeanKl,
    /// Largest probability change between batchings (batch-invariance check); `<= 1e-5` requires invariance.
    BatchDependence,
    /// Accuracy left after the black-box attack (needs `--attack-n`).
    AfterAttackAccuracy,
    /// Successes / originally correct examples of the attack.
    AttackSuccessRate,
    /// Share of the teacher's adversarial examples that also fool the student.
    TransferSuccessRate,
    /// Teacher's minus student's accuracy on noisy inputs, at the worst noise level (needs `--noise`).
    NoiseAccuracyDrop,
    /// Student's accuracy drop under noise minus the teacher's, at the worst noise level.
    NoiseRobustnessGap,
    /// Label loyalty on noisy inputs, at the worst noise level.
    NoiseLabelLoyalty,
    /// Language models: mean KL(teacher‖student) per token, nats.
    MeanKld,
    /// Language models: the 99th percentile of the per-token KL.
    KldP99,
    /// Language models: share of tokens where both models' top token agree (llama.cpp's "same
    /// top p", the token-level label loyalty).
    SameTopP,
    /// Language models: the student's perplexity over the teacher's.
    PplRatio,
}

pub const ALL: [GateMetric; 18] = [
    GateMetric::Accuracy,
    GateMetric::AccuracyDrop,
    GateMetric::LabelLoyalty,
    GateMetric::ProbabilityLoyalty,
    GateMetric::NegativeFlipRate,
    GateMetric::PositiveFlipRate,
    GateMetric::MeanKl,
    GateMetric::BatchDependence,
    GateMetric::AfterAttackAccuracy,
    GateMetric::AttackSuccessRate,
    GateMetric::TransferSuccessRate,
    GateMetric::NoiseAccuracyDrop,
    GateMetric::NoiseRobustnessGap,
    GateMetric::NoiseLabelLoyalty,
    GateMetric::MeanKld,
    GateMetric::KldP99,
    GateMetric::SameTopP,
    GateMetric::PplRatio,
];

/// A metric's value and interval for one subject.
pub type Measured = (Option<f64>, Option<Interval>);

impl GateMetric {
    pub fn name(self) -> &'static str {
        match self {
            GateMetric::Accuracy => "accuracy",
            GateMetric::AccuracyDrop => "accuracy_drop",
            GateMetric::LabelLoyalty => "label_loyalty",
            GateMetric::ProbabilityLoyalty => "probability_loyalty",
            GateMetric::NegativeFlipRate => "negative_flip_rate",
            GateMetric::PositiveFlipRate => "positive_flip_rate",
            GateMetric::MeanKl => "mean_kl",
            GateMetric::BatchDependence => "batch_dependence",
            GateMetric::AfterAttackAccuracy => "after_attack_accuracy",
            GateMetric::AttackSuccessRate => "attack_success_rate",
            GateMetric::TransferSuccessRate => "transfer_success_rate",
            GateMetric::NoiseAccuracyDrop => "noise_accuracy_drop",
            GateMetric::NoiseRobustnessGap => "noise_robustness_gap",
            GateMetric::NoiseLabelLoyalty => "noise_label_loyalty",
            GateMetric::MeanKld => "mean_kld",
            GateMetric::KldP99 => "kld_p99",
            GateMetric::SameTopP => "same_top_p",
            GateMetric::PplRatio => "ppl_ratio",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn known() -> String {
        ALL.map(|m| m.name()).join(", ")
    }

    /// Measured on causal language models only.
    pub fn language_model_only(self) -> bool {
        matches!(self, GateMetric::MeanKld | GateMetric::KldP99 | GateMetric::SameTopP | GateMetric::PplRatio)
    }

    /// Measured on causal language models (per token; `label_loyalty` is `same_top_p` there,
    /// `mean_kl` is `mean_kld`, accuracy is top-1 against the next token).
    pub fn for_language_models(self) -> bool {
        self.language_model_only()
            || matches!(
                self,
                GateMetric::Accuracy | GateMetric::AccuracyDrop | GateMetric::LabelLoyalty | GateMetric::ProbabilityLoyalty | GateMetric::NegativeFlipRate | GateMetric::PositiveFlipRate | GateMetric::MeanKl
            )
    }

    /// Needs gold labels.
    pub fn needs_labels(self) -> bool {
        matches!(self, GateMetric::Accuracy | GateMetric::AccuracyDrop | GateMetric::NegativeFlipRate | GateMetric::PositiveFlipRate | GateMetric::NoiseAccuracyDrop | GateMetric::NoiseRobustnessGap)
            || self.needs_attack()
    }

    /// Needs the noise stage to have run.
    pub fn needs_noise(self) -> bool {
        matches!(self, GateMetric::NoiseAccuracyDrop | GateMetric::NoiseRobustnessGap | GateMetric::NoiseLabelLoyalty)
    }

    /// Needs attacks to have run.
    pub fn needs_attack(self) -> bool {
        matches!(self, GateMetric::AfterAttackAccuracy | GateMetric::AttackSuccessRate | GateMetric::TransferSuccessRate)
    }
}
