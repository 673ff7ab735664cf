//! Gate specifications: from `--gate` expressions and suite `[[gates]]` tables.

use super::metric::GateMetric;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub enum Op {
    #[serde(rename = ">=")]
    AtLeast,
    #[serde(rename = "<=")]
    AtMost,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::AtLeast => ">=",
            Op::AtMost => "<=",
        }
    }

    pub fn holds(self, value: f64, threshold: f64) -> bool {
        match self {
            Op::AtLeast => value >= threshold,
            Op::AtMost => value <= threshold,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Over all examples.
    #[default]
    Overall,
    /// In every group large enough to judge (the worst group decides).
    #[serde(alias = "per-group", alias = "every_group")]
    EveryGroup,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Judge {
    #[default]
    Point,
    Interval,
}

/// What a per-group gate does with a group it cannot judge (too small for `--min-group-size`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Unjudged {
    /// Listed as not judged; the verdict does not count it.
    #[default]
    Skip,
    /// Listed, and counted as a failed check.
    Fail,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct GateSpec {
    pub metric: GateMetric,
    pub op: Op,
    pub threshold: f64,
    /// Students it applies to; empty = all.
    pub students: Vec<String>,
    pub scope: Scope,
    pub judge: Judge,
    /// Per-group gates: what a group too small to judge does to the verdict.
    pub unjudged: Unjudged,
}

/// A gate as a suite writes it:
/// `{ metric = "label_loyalty", min = 0.97, students = ["int8"], scope = "every-group", judge = "interval" }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateTable {
    pub metric: String,
    pub min: Option<f64>,
    pub max: Option<f64>,
    #[serde(default)]
    pub students: Vec<String>,
    #[serde(default)]
    pub scope: Scope,
    #[serde(default)]
    pub judge: Judge,
    /// `"skip"` (default) or `"fail"`.
    #[serde(default)]
    pub unjudged: Unjudged,
}

fn metric(name: &str) -> Result<GateMetric, String> {
    GateMetric::parse(name).ok_or_else(|| format!("unknown metric '{name}'; known metrics: {}", GateMetric::known()))
}

impl GateTable {
    pub fn into_spec(self) -> Result<GateSpec, String> {
        let (op, threshold) = match (self.min, self.max) {
            (Some(v), None) => (Op::AtLeast, v),
            (None, Some(v)) => (Op::AtMost, v),
            _ => return Err(format!("gate on '{}' needs exactly one of `min` or `max`", self.metric)),
        };
        if !threshold.is_finite() {
            return Err(format!("gate on '{}' has a non-finite threshold", self.metric));
        }
        Ok(GateSpec { metric: metric(&self.metric)?, op, threshold, students: self.students, scope: self.scope, judge: self.judge, unjudged: self.unjudged })
    }
}

impl GateSpec {
    /// Parses `[STUDENT:] METRIC >= VALUE [per-group] [interval] [unjudged-fail]` (or `<=`).
    pub fn parse(expr: &str) -> Result<Self, String> {
        let usage = || format!("cannot read gate '{expr}': write `[STUDENT:] METRIC >= VALUE [per-group] [interval]`, e.g. 'int8: label_loyalty >= 0.97'");
        let (students, rest) = match expr.split_once(':') {
            Some((s, rest)) if !s.contains(['>', '<', '=']) => (vec![s.trim().to_string()], rest),
            _ => (vec![], expr),
        };
        let (op, at) = if let Some(i) = rest.find(">=") {
            (Op::AtLeast, i)
        } else if let Some(i) = rest.find("<=") {
            (Op::AtMost, i)
        } else {
            return Err(usage());
        };
        let metric = metric(rest[..at].trim())?;
        let mut words = rest[at + 2..].split_whitespace();
        let threshold: f64 = words.next().and_then(|w| w.parse().ok()).filter(|v: &f64| v.is_finite()).ok_or_else(usage)?;
        let (mut scope, mut judge, mut unjudged) = (Scope::Overall, Judge::Point, Unjudged::Skip);
        for w in words {
            match w {
                "per-group" | "every-group" => scope = Scope::EveryGroup,
                "interval" => judge = Judge::Interval,
                "unjudged-fail" => unjudged = Unjudged::Fail,
                "unjudged-skip" => unjudged = Unjudged::Skip,
                _ => return Err(format!("cannot read gate '{expr}': unknown word '{w}' (use per-group, interval, unjudged-fail)")),
            }
        }
        Ok(Self { metric, op, threshold, students, scope, judge, unjudged })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_expressions() {
        let g = GateSpec::parse("int8: accuracy_drop <= 0.03 per-group interval").unwrap();
        assert_eq!(g.students, vec!["int8".to_string()]);
        assert_eq!((g.metric, g.op, g.threshold, g.scope, g.judge), (GateMetric::AccuracyDrop, Op::AtMost, 0.03, Scope::EveryGroup, Judge::Interval));
        let g = GateSpec::parse("label_loyalty>=0.97").unwrap();
        assert!(g.students.is_empty() && g.op == Op::AtLeast && g.scope == Scope::Overall);
        assert!(GateSpec::parse("loyalty >= 0.9").unwrap_err().contains("known metrics"));
        assert!(GateSpec::parse("label_loyalty > 0.9").unwrap_err().contains("cannot read gate"));
        assert!(GateSpec::parse("label_loyalty >= 0.9 sometimes").unwrap_err().contains("sometimes"));
        assert_eq!(GateSpec::parse("accuracy_drop <= 0.02 per-group unjudged-fail").unwrap().unjudged, Unjudged::Fail);
        assert_eq!(GateSpec::parse("accuracy_drop <= 0.02 per-group").unwrap().unjudged, Unjudged::Skip);
    }

    #[test]
    fn tables_need_exactly_one_bound() {
        let t = GateTable {
            metric: "accuracy".into(),
            min: Some(0.8),
            max: Some(0.9),
            students: vec![],
            scope: Scope::Overall,
            judge: Judge::Point,
            unjudged: Unjudged::Skip,
        };
        assert!(t.into_spec().unwrap_err().contains("exactly one"));
    }
}
