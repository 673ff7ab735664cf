//! The line that says where each model's outputs came from when the output cache is on: read
//! (no inference ran) or computed, with the entry's key. It differs run to run, as timings do, so
//! the Markdown and HTML writers put it between timing markers.

use super::Report;
use crate::cache::{CacheOutcome, CacheStage};

/// "output cache: teacher read (key 5d04dc795e8d8efa, no inference); int8 computed and stored
/// (key 6ee61737d8b8b908)"; `None` with the cache off.
pub fn cache_line(report: &Report) -> Option<String> {
    let models = std::iter::once(&report.teacher).chain(report.students.iter().map(|s| &s.model));
    let parts: Vec<String> = models
        .flat_map(|m| m.cache.iter().map(move |c| (m, c)))
        .map(|(m, c)| {
            let what = match c.outputs {
                CacheOutcome::Read => "read, no inference".to_string(),
                CacheOutcome::Refreshed => format!("{} of {} chunks read, the rest recomputed and stored", c.chunks_read, c.chunks),
                other => other.describe().to_string(),
            };
            let note = c.note.as_ref().map_or(String::new(), |n| format!(": {n}"));
            let stage = if c.stage == CacheStage::Evaluation {
                String::new()
            } else {
                format!(" in the {} stage", serde_json::to_value(c.stage).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default())
            };
            format!("{}{stage} {what} (key {}){note}", m.info.name, &c.key[..c.key.len().min(16)])
        })
        .collect();
    (!parts.is_empty()).then(|| format!("output cache: {}", parts.join("; ")))
}
