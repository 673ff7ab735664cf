//! A merged report's provenance: the parts it was merged from, and where its speed comes from (one
//! line every writer shows; absent for a single run).

use super::Report;
use serde::{Deserialize, Serialize};

/// How a merged report was made (`fidelity merge`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ShardsInfo {
    pub count: usize,
    /// What is merged and what is not: speed and timing fields are measured per part.
    pub note: String,
    /// Every part, in slice order.
    pub parts: Vec<PartInfo>,
}

/// One part as merged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PartInfo {
    /// `K/N`.
    pub shard: String,
    /// Its rows `first_row..end_row` of the data (0-based, end excluded).
    pub first_row: usize,
    pub end_row: usize,
    /// SHA-256 of the rows the shard read; absent for a shard without rows.
    pub rows_sha256: Option<String>,
    /// The CPU it ran on (absent for a shard without rows: it ran no model).
    pub machine: Option<String>,
    /// Timing field: each model's speed on that part's machine, teacher first.
    pub speed: Vec<PartSpeed>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PartSpeed {
    pub model: String,
    pub speed: Option<crate::speed::ModelSpeed>,
}

/// "merged from 7 parts (shards 1/7 to 7/7); speed measured per part: ...".
pub fn shards_line(report: &Report) -> Option<String> {
    let shards = report.shards.as_ref()?;
    Some(format!("merged from {} parts: {}", shards.parts.len(), shards.note))
}
