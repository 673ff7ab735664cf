//! Release gates as data: threshold specs in, a list of checks out (metric, subject, value,
//! interval, threshold, passed), from which the exit code follows. Every report shows every check,
//! passed ones included.
//!
//! Judging on the interval (`interval`): a `>=` threshold fails only when the interval's upper bound
//! is below it, a `<=` threshold only when its lower bound is above it — fail when the data are
//! clear that the model misses, not on noise. Metrics without an interval are judged on the point.

pub mod metric;
pub mod spec;

pub use metric::{GateMetric, Measured};
pub use spec::{GateSpec, Judge, Op, Scope, Unjudged};

use crate::stats::Interval;
use serde::Serialize;

/// One evaluated threshold for one subject (a student, or a group of a student).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Check {
    pub metric: GateMetric,
    pub student: String,
    /// The group, for per-group gates.
    pub group: Option<String>,
    pub value: Option<f64>,
    pub interval: Option<Interval>,
    pub op: Op,
    pub threshold: f64,
    pub judged_on: Judge,
    pub passed: bool,
    /// Why a check could not be judged as asked (e.g. no interval, metric unavailable).
    pub note: Option<String>,
}

impl Check {
    /// "int8 · sex=Female · label_loyalty >= 0.97".
    pub fn name(&self) -> String {
        let subject = match &self.group {
            Some(g) => format!("{} · {g}", self.student),
            None => self.student.clone(),
        };
        format!("{subject} · {} {} {}", self.metric.name(), self.op.symbol(), self.threshold)
    }
}

/// A group a per-group gate did not judge, and why. With `unjudged = fail` it is also a failed
/// check; with `skip` (the default) it is only listed.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct NotJudged {
    pub metric: GateMetric,
    pub student: String,
    pub group: String,
    pub op: Op,
    pub threshold: f64,
    pub reason: String,
    pub counted_as: Unjudged,
}

impl NotJudged {
    /// "int8 · race=Other · accuracy_drop <= 0.02", as [`Check::name`].
    pub fn name(&self) -> String {
        format!("{} · {} · {} {} {}", self.student, self.group, self.metric.name(), self.op.symbol(), self.threshold)
    }
}

/// The gate's verdict over all checks.
#[derive(Default, Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct GateOutcome {
    pub checks: Vec<Check>,
    pub passed: usize,
    pub failed: usize,
    /// Groups of per-group gates that were not judged (every one is listed, whatever it counts as).
    pub not_judged: Vec<NotJudged>,
}

impl GateOutcome {
    pub fn all_passed(&self) -> bool {
        self.failed == 0
    }
}

fn judge(value: Option<f64>, interval: Option<Interval>, op: Op, threshold: f64, on: Judge) -> (bool, Judge, Option<String>) {
    let Some(v) = value else { return (false, on, Some("metric unavailable for this subject".into())) };
    match (on, interval) {
        (Judge::Interval, Some(i)) => {
            let passed = match op {
                Op::AtLeast => i.upper >= threshold,
                Op::AtMost => i.lower <= threshold,
            };
            (passed, Judge::Interval, None)
        }
        (Judge::Interval, None) => (op.holds(v, threshold), Judge::Point, Some("no interval for this metric or subject: judged on the point".into())),
        (Judge::Point, _) => (op.holds(v, threshold), Judge::Point, None),
    }
}

/// What a gate judges: one student, with each metric measured over all examples and within
/// each group large enough to judge. The report implements it (`report::gate_values`), so the
/// gate knows metrics and thresholds, not the report's layout.
pub trait Subject {
    fn name(&self) -> &str;
    fn overall(&self, metric: GateMetric) -> Measured;
    fn groups(&self, metric: GateMetric) -> Vec<(String, Measured)>;
    /// Groups that cannot be judged, with the reason.
    fn unjudged_groups(&self) -> Vec<(String, String)>;
}

fn checks_for_subject(spec: &GateSpec, s: &impl Subject, out: &mut Vec<Check>, not_judged: &mut Vec<NotJudged>) {
    let mut push = |group: Option<String>, (value, interval): Measured| {
        let (passed, judged_on, note) = judge(value, interval, spec.op, spec.threshold, spec.judge);
        out.push(Check {
            metric: spec.metric,
            student: s.name().to_string(),
            group,
            value,
            interval,
            op: spec.op,
            threshold: spec.threshold,
            judged_on,
            passed,
            note,
        });
    };
    match spec.scope {
        Scope::Overall => push(None, s.overall(spec.metric)),
        Scope::EveryGroup => {
            for (name, measured) in s.groups(spec.metric) {
                push(Some(name), measured);
            }
            for (group, reason) in s.unjudged_groups() {
                if spec.unjudged == Unjudged::Fail {
                    out.push(Check {
                        metric: spec.metric,
                        student: s.name().to_string(),
                        group: Some(group.clone()),
                        value: None,
                        interval: None,
                        op: spec.op,
                        threshold: spec.threshold,
                        judged_on: spec.judge,
                        passed: false,
                        note: Some(format!("not judged: {reason}; this gate counts unjudged groups as failed")),
                    });
                }
                not_judged.push(NotJudged {
                    metric: spec.metric,
                    student: s.name().to_string(),
                    group,
                    op: spec.op,
                    threshold: spec.threshold,
                    reason,
                    counted_as: spec.unjudged,
                });
            }
        }
    }
}

/// Evaluates every spec against the subjects it names (all of them when it names none).
pub fn evaluate<S: Subject>(specs: &[GateSpec], subjects: &[S]) -> GateOutcome {
    let (mut checks, mut not_judged) = (Vec::new(), Vec::new());
    for spec in specs {
        for s in subjects.iter().filter(|s| spec.students.is_empty() || spec.students.iter().any(|n| n == s.name())) {
            checks_for_subject(spec, s, &mut checks, &mut not_judged);
        }
    }
    let passed = checks.iter().filter(|c| c.passed).count();
    GateOutcome { failed: checks.len() - passed, passed, checks, not_judged }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_judging_fails_only_when_the_interval_is_clear() {
        let i = Some(Interval { lower: 0.95, upper: 0.99 });
        // point 0.96 < 0.97 fails on the point, passes on the interval (upper 0.99 >= 0.97).
        assert!(!judge(Some(0.96), i, Op::AtLeast, 0.97, Judge::Point).0);
        assert!(judge(Some(0.96), i, Op::AtLeast, 0.97, Judge::Interval).0);
        // the whole interval below the threshold fails either way.
        assert!(!judge(Some(0.96), i, Op::AtLeast, 0.995, Judge::Interval).0);
        // <=: fails only when the lower bound is above.
        assert!(judge(Some(0.97), i, Op::AtMost, 0.96, Judge::Interval).0);
        assert!(!judge(Some(0.97), i, Op::AtMost, 0.94, Judge::Interval).0);
        // no interval: the point, with a note.
        let (passed, on, note) = judge(Some(0.5), None, Op::AtMost, 0.6, Judge::Interval);
        assert!(passed && on == Judge::Point && note.is_some());
        // no value: fails with a note.
        assert!(!judge(None, None, Op::AtLeast, 0.1, Judge::Point).0);
    }
}
