//! The metrics a gate can threshold, and where each one's value and interval come from.

use crate::report::StudentReport;
use crate::stats::Interval;
use crate::subgroups::GroupReport;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
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
}

pub const ALL: [GateMetric; 11] = [
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
];

type Measured = (Option<f64>, Option<Interval>);

/// `-x + 0.0`: a drop of "minus zero" reads as 0.
fn negate(i: Interval) -> Interval {
    Interval { lower: -i.upper + 0.0, upper: -i.lower + 0.0 }
}

fn drop(delta: Option<f64>) -> Option<f64> {
    delta.map(|d| -d + 0.0)
}

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
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        ALL.into_iter().find(|m| m.name() == name)
    }

    pub fn known() -> String {
        ALL.map(|m| m.name()).join(", ")
    }

    /// Needs gold labels.
    pub fn needs_labels(self) -> bool {
        matches!(self, GateMetric::Accuracy | GateMetric::AccuracyDrop | GateMetric::NegativeFlipRate | GateMetric::PositiveFlipRate) || self.needs_attack()
    }

    /// Needs attacks to have run.
    pub fn needs_attack(self) -> bool {
        matches!(self, GateMetric::AfterAttackAccuracy | GateMetric::AttackSuccessRate | GateMetric::TransferSuccessRate)
    }

    /// Value and interval over all examples.
    pub fn overall(self, s: &StudentReport) -> Measured {
        let f = &s.fidelity;
        let iv = s.statistics.intervals.as_ref();
        match self {
            GateMetric::Accuracy => (f.student_accuracy, iv.and_then(|i| i.student_accuracy)),
            GateMetric::AccuracyDrop => (drop(f.accuracy_delta), iv.and_then(|i| i.accuracy_delta).map(negate)),
            GateMetric::LabelLoyalty => (Some(f.label_loyalty), iv.map(|i| i.label_loyalty)),
            GateMetric::ProbabilityLoyalty => (Some(f.probability_loyalty), iv.map(|i| i.probability_loyalty)),
            GateMetric::NegativeFlipRate => (f.negative_flip_rate, None),
            GateMetric::PositiveFlipRate => (f.positive_flip_rate, None),
            GateMetric::MeanKl => (f.mean_kl, None),
            GateMetric::BatchDependence => (s.model.batch_invariance.as_ref().map(|b| b.max_change), None),
            GateMetric::AfterAttackAccuracy => (s.model.attack.as_ref().and_then(|a| a.summary.after_attack_accuracy), None),
            GateMetric::AttackSuccessRate => (s.model.attack.as_ref().and_then(|a| a.summary.attack_success_rate), None),
            GateMetric::TransferSuccessRate => (s.model.attack.as_ref().and_then(|a| a.transfer.as_ref()?.transfer_success_rate), None),
        }
    }

    /// Value and interval within one group (`s` gives the group's attack results).
    pub fn group(self, g: &GroupReport, s: &StudentReport) -> Measured {
        let attack = || s.model.attack.as_ref()?.groups.iter().find(|a| a.name == g.name).map(|a| &a.summary);
        let m = &g.metrics;
        let iv = g.intervals.as_ref();
        match self {
            GateMetric::Accuracy => (m.student_accuracy, iv.and_then(|i| i.student_accuracy)),
            GateMetric::AccuracyDrop => (drop(m.accuracy_delta), iv.and_then(|i| i.accuracy_delta).map(negate)),
            GateMetric::LabelLoyalty => (Some(m.label_loyalty), iv.map(|i| i.label_loyalty)),
            GateMetric::ProbabilityLoyalty => (Some(m.probability_loyalty), iv.map(|i| i.probability_loyalty)),
            GateMetric::NegativeFlipRate => (m.negative_flip_rate, None),
            GateMetric::PositiveFlipRate => (m.positive_flip_rate, None),
            GateMetric::MeanKl => (m.mean_kl, None),
            GateMetric::BatchDependence => (None, None),
            GateMetric::AfterAttackAccuracy => (attack().and_then(|a| a.after_attack_accuracy), None),
            GateMetric::AttackSuccessRate => (attack().and_then(|a| a.attack_success_rate), None),
            GateMetric::TransferSuccessRate => (None, None),
        }
    }
}
