//! Flags and suite to a validated [`LocatePlan`]: `compare`'s data, tokenizer and batching options
//! for one teacher and one student, plus the sample and the divergence threshold.

use super::{ComparePlan, PlanError};
use crate::cli::LocateArgs;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AblationMetric {
    LabelLoyalty,
    ProbabilityLoyalty,
}

/// `--target METRIC>=VALUE`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Target {
    pub metric: AblationMetric,
    pub at_least: f64,
}

impl Target {
    pub fn parse(text: &str) -> Result<Self, String> {
        let fix = "write it as label_loyalty>=0.99 or probability_loyalty>=0.995";
        let (name, value) = text.split_once(">=").ok_or_else(|| format!("--target {text}: {fix}"))?;
        let metric = match name.trim() {
            "label_loyalty" => AblationMetric::LabelLoyalty,
            "probability_loyalty" => AblationMetric::ProbabilityLoyalty,
            other => return Err(format!("--target {text}: no metric '{other}'; {fix}")),
        };
        let at_least: f64 = value.trim().parse().map_err(|_| format!("--target {text}: '{}' is not a number; {fix}", value.trim()))?;
        if !(0.0..=1.0).contains(&at_least) {
            return Err(format!("--target {text}: loyalties are between 0 and 1"));
        }
        Ok(Self { metric, at_least })
    }
}

#[derive(Debug, Clone)]
pub struct LocatePlan {
    /// The teacher and exactly one student.
    pub compare: ComparePlan,
    /// Examples in the seeded sample.
    pub examples: usize,
    pub seed: u64,
    pub threshold_db: f64,
    /// Rows read per step (batches never span two).
    pub chunk_size: usize,
    /// The JSON report, when asked for.
    pub out: Option<PathBuf>,
    /// The HTML page, when asked for.
    pub html: Option<PathBuf>,
    /// Nodes with the worst local error to bypass one at a time (0: none).
    pub ablate: usize,
    pub target: Target,
    pub write_patched: Option<PathBuf>,
}

/// Examples per batch unless `--batch-size` says: every tensor of the graph comes back for each
/// batch, so a batch costs (tensors × batch) floats at once.
const DEFAULT_BATCH: usize = 8;
/// Batches never span two chunks; a large chunk keeps them whole for any usual sample.
const CHUNK_ROWS: usize = 65_536;

impl LocatePlan {
    pub fn from_args(args: &LocateArgs) -> Result<Self, PlanError> {
        let c = &args.compare;
        let refused =
            [("--shard", c.shard.is_some()), ("--markdown/--junit", c.also.markdown.is_some() || c.also.junit.is_some())];
        if let Some((flag, _)) = refused.iter().find(|f| f.1) {
            return Err(PlanError::Locate(format!("{flag} is not available for locate (it writes its own table and, with --out and --html, JSON and HTML)")));
        }
        let mut compare = ComparePlan::resolve(c)?;
        if compare.students.len() != 1 {
            return Err(PlanError::Locate(format!(
                "locate compares one student with the teacher; {} were given ({}). Run it once per student",
                compare.students.len(),
                compare.students.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
        if compare.has_populations() {
            return Err(PlanError::Locate("populations are not available for locate: give one teacher and one student file".into()));
        }
        if c.batch_size.is_none() {
            compare.batch_size = DEFAULT_BATCH;
        }
        if args.examples == 0 {
            return Err(PlanError::Locate("--examples must be at least 1".into()));
        }
        if !args.threshold_db.is_finite() {
            return Err(PlanError::Locate(format!("--threshold-db must be a number of decibels; got {}", args.threshold_db)));
        }
        let target = Target::parse(&args.target).map_err(PlanError::Locate)?;
        if args.write_patched.is_some() && args.ablate == 0 {
            return Err(PlanError::Locate("--write-patched needs --ablate K (K >= 1): the patched student is the bypasses that reach --target".into()));
        }
        compare.speed = None;
        compare.attack = None;
        compare.noise = None;
        Ok(Self {
            examples: args.examples,
            seed: c.seed.unwrap_or(0),
            threshold_db: args.threshold_db,
            chunk_size: CHUNK_ROWS,
            out: c.out.clone(),
            html: c.also.html.clone(),
            ablate: args.ablate,
            target,
            write_patched: args.write_patched.clone(),
            compare,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_or_say_how_to_write_them() {
        assert_eq!(Target::parse("label_loyalty>=0.99").unwrap(), Target { metric: AblationMetric::LabelLoyalty, at_least: 0.99 });
        assert_eq!(Target::parse(" probability_loyalty >= 0.995 ").unwrap().metric, AblationMetric::ProbabilityLoyalty);
        assert!(Target::parse("accuracy>=0.9").unwrap_err().contains("no metric 'accuracy'"));
        assert!(Target::parse("label_loyalty<=0.9").unwrap_err().contains("label_loyalty>=0.99"));
        assert!(Target::parse("label_loyalty>=2").unwrap_err().contains("between 0 and 1"));
    }
}
