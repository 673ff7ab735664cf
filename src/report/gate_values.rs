//! Where each gate metric's value and interval come from in a student's report: the report is
//! what the gate judges ([`crate::gate::Subject`]).

use super::StudentReport;
use crate::gate::{GateMetric, Measured, Subject};
use crate::stats::Interval;
use crate::subgroups::GroupReport;

/// `-x + 0.0`: a drop of "minus zero" reads as 0.
fn negate(i: Interval) -> Interval {
    Interval { lower: -i.upper + 0.0, upper: -i.lower + 0.0 }
}

fn drop(delta: Option<f64>) -> Option<f64> {
    delta.map(|d| -d + 0.0)
}

impl Subject for StudentReport {
    fn name(&self) -> &str {
        &self.model.info.name
    }

    /// Value and interval over all examples.
    fn overall(&self, metric: GateMetric) -> Measured {
        let s = self;
        let f = &s.fidelity;
        let iv = s.statistics.intervals.as_ref();
        match metric {
            GateMetric::Accuracy => (f.student_accuracy, iv.and_then(|i| i.student_accuracy)),
            GateMetric::AccuracyDrop => (drop(f.accuracy_delta), iv.and_then(|i| i.accuracy_delta).map(negate)),
            GateMetric::LabelLoyalty => (Some(f.label_loyalty), iv.map(|i| i.label_loyalty)),
            GateMetric::ProbabilityLoyalty => (f.probability_loyalty, iv.and_then(|i| i.probability_loyalty)),
            GateMetric::NegativeFlipRate => (f.negative_flip_rate, None),
            GateMetric::PositiveFlipRate => (f.positive_flip_rate, None),
            GateMetric::MeanKl => (f.mean_kl, None),
            GateMetric::BatchDependence => (s.model.batch_invariance.as_ref().map(|b| b.max_change), None),
            GateMetric::AfterAttackAccuracy => (s.model.attack.as_ref().and_then(|a| a.summary.after_attack_accuracy), None),
            GateMetric::AttackSuccessRate => (s.model.attack.as_ref().and_then(|a| a.summary.attack_success_rate), None),
            GateMetric::TransferSuccessRate => (s.model.attack.as_ref().and_then(|a| a.transfer.as_ref()?.transfer_success_rate), None),
        }
    }

    fn unjudged_groups(&self) -> Vec<(String, String)> {
        self.statistics
            .groups
            .iter()
            .filter(|g| g.too_small)
            .map(|g| (g.name.clone(), format!("too small to judge (n = {}, below the minimum group size)", g.metrics.n)))
            .collect()
    }

    fn groups(&self, metric: GateMetric) -> Vec<(String, Measured)> {
        self.statistics.groups.iter().filter(|g| !g.too_small).map(|g| (g.name.clone(), group(metric, g, self))).collect()
    }
}

/// Value and interval within one group (`s` gives the group's attack results).
fn group(metric: GateMetric, g: &GroupReport, s: &StudentReport) -> Measured {
    let attack = || s.model.attack.as_ref()?.groups.iter().find(|a| a.name == g.name).map(|a| &a.summary);
    let m = &g.metrics;
    let iv = g.intervals.as_ref();
    match metric {
        GateMetric::Accuracy => (m.student_accuracy, iv.and_then(|i| i.student_accuracy)),
        GateMetric::AccuracyDrop => (drop(m.accuracy_delta), iv.and_then(|i| i.accuracy_delta).map(negate)),
        GateMetric::LabelLoyalty => (Some(m.label_loyalty), iv.map(|i| i.label_loyalty)),
        GateMetric::ProbabilityLoyalty => (m.probability_loyalty, iv.and_then(|i| i.probability_loyalty)),
        GateMetric::NegativeFlipRate => (m.negative_flip_rate, None),
        GateMetric::PositiveFlipRate => (m.positive_flip_rate, None),
        GateMetric::MeanKl => (m.mean_kl, None),
        GateMetric::BatchDependence => (None, None),
        GateMetric::AfterAttackAccuracy => (attack().and_then(|a| a.after_attack_accuracy), None),
        GateMetric::AttackSuccessRate => (attack().and_then(|a| a.attack_success_rate), None),
        GateMetric::TransferSuccessRate => (None, None),
    }
}
