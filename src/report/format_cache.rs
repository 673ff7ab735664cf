//! The line that says where each model's outputs came from when the output cache is on: read
//! (no inference ran) or computed, per stage, with the evaluation entry's key (every key is in the
//! JSON). It differs run to run, as timings do, so the Markdown and HTML writers put it between
//! timing markers.

use super::Report;
use crate::cache::{CacheOutcome, CacheStage, CacheUse};

/// "output cache: teacher read, no inference (evaluation, attack, noise; key 11da2ecb9edb2f92);
/// int8 computed and stored (evaluation, attack, noise; key 63a31f09f280e2a4)"; `None` with the
/// cache off.
pub fn cache_line(report: &Report) -> Option<String> {
    let models = std::iter::once(&report.teacher).chain(report.students.iter().map(|s| &s.model));
    let parts: Vec<String> = models.filter(|m| !m.cache.is_empty()).map(|m| model_part(&m.info.name, &m.cache)).collect();
    (!parts.is_empty()).then(|| format!("output cache: {}", parts.join("; ")))
}

/// One model: its stages grouped by what happened to them.
fn model_part(name: &str, uses: &[CacheUse]) -> String {
    let mut groups: Vec<(String, Vec<&str>)> = Vec::new();
    for c in uses {
        let what = match c.outputs {
            CacheOutcome::Read => "read, no inference".to_string(),
            CacheOutcome::Refreshed => "partly read, the rest recomputed and stored".to_string(),
            other => other.describe().to_string(),
        };
        match groups.iter_mut().find(|(w, _)| *w == what) {
            Some((_, stages)) => stages.push(stage_name(c.stage)),
            None => groups.push((what, vec![stage_name(c.stage)])),
        }
    }
    let key = uses.iter().find(|c| c.stage == CacheStage::Evaluation).map_or(String::new(), |c| format!("; key {}", &c.key[..c.key.len().min(16)]));
    let notes: Vec<&str> = uses.iter().filter_map(|c| c.note.as_deref()).collect();
    let described: Vec<String> = groups.iter().map(|(what, stages)| format!("{what} ({})", stages.join(", "))).collect();
    let notes = if notes.is_empty() { String::new() } else { format!(" [{}]", notes.join("; ")) };
    format!("{name} {}{key}{notes}", described.join(", "))
}

fn stage_name(stage: CacheStage) -> &'static str {
    match stage {
        CacheStage::Evaluation => "evaluation",
        CacheStage::Attack => "attack",
        CacheStage::Noise => "noise",
        CacheStage::Populations => "populations",
    }
}
