//! Where each gate metric's value and interval come from in a student's report: the report is
//! what the gate judges ([`crate::gate::Subject`]).

use super::StudentReport;
use crate::gate::{GateMetric, Measured, Subject};
use crate::noise::NoiseComparison;
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
            GateMetric::NoiseAccuracyDrop => worst_level(s, |c| (c.noisy_accuracy_drop, c.intervals.as_ref().and_then(|i| i.noisy_accuracy_drop)), true),
            GateMetric::NoiseRobustnessGap => worst_level(s, |c| (c.robustness_gap, c.intervals.as_ref().and_then(|i| i.robustness_gap)), true),
            GateMetric::NoiseLabelLoyalty => worst_level(s, |c| (Some(c.label_loyalty), c.intervals.as_ref().map(|i| i.label_loyalty)), false),
            // Refused for classifiers when the plan is made.
            GateMetric::MeanKld | GateMetric::KldP99 | GateMetric::SameTopP | GateMetric::PplRatio => (None, None),
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
        GateMetric::TransferSuccessRate | GateMetric::NoiseAccuracyDrop | GateMetric::NoiseRobustnessGap | GateMetric::NoiseLabelLoyalty => (None, None),
        GateMetric::MeanKld | GateMetric::KldP99 | GateMetric::SameTopP | GateMetric::PplRatio => (None, None),
    }
}

/// A noise metric at the worst level: the largest value over the levels (the smallest, when
/// `larger_is_worse` is false), with the interval whose bounds are the largest (smallest) bounds
/// over the levels, so a gate judged on the interval fails exactly when some level clearly fails.
/// No interval unless every level has one.
fn worst_level(s: &StudentReport, metric: impl Fn(&NoiseComparison) -> Measured, larger_is_worse: bool) -> Measured {
    let measured: Vec<Measured> = s.noise.iter().flatten().map(metric).filter(|(v, _)| v.is_some()).collect();
    let pick = |a: f64, b: f64| if larger_is_worse { a.max(b) } else { a.min(b) };
    let value = measured.iter().filter_map(|(v, _)| *v).reduce(pick);
    let intervals: Option<Vec<Interval>> = measured.iter().map(|(_, i)| *i).collect();
    let interval = intervals
        .filter(|i| !i.is_empty())
        .map(|i| i.into_iter().reduce(|a, b| Interval { lower: pick(a.lower, b.lower), upper: pick(a.upper, b.upper) }).unwrap_or(Interval { lower: 0.0, upper: 0.0 }));
    (value, interval)
}
