//! Flags and suite to a validated [`LocatePlan`]: `compare`'s data, tokenizer and batching options
//! for one teacher and one student, plus the sample and the divergence threshold.

use super::{ComparePlan, PlanError};
use crate::cli::LocateArgs;
use std::path::PathBuf;

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
            [("--shard", c.shard.is_some()), ("--markdown/--html/--junit", c.also.markdown.is_some() || c.also.html.is_some() || c.also.junit.is_some())];
        if let Some((flag, _)) = refused.iter().find(|f| f.1) {
            return Err(PlanError::Locate(format!("{flag} is not available for locate (it writes its own table and, with --out, JSON)")));
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
        compare.speed = None;
        compare.attack = None;
        compare.noise = None;
        Ok(Self { examples: args.examples, seed: c.seed.unwrap_or(0), threshold_db: args.threshold_db, chunk_size: CHUNK_ROWS, out: c.out.clone(), compare })
    }
}
