//! The line that says where each model's outputs came from when the output cache is on: read
//! (no inference ran) or computed, per stage, with the evaluation entry's key (every key is in the
//! JSON). It differs run to run, as timings do, so the Markdown and HTML writers put it between
//! timing markers.

use super::Report;
use crate::cache::{CacheOutcome, CacheStage, CacheUse};

/// "output cache: teacher read, no inference (evaluation, attack, noise); key 11da2ecb9edb2f92;
/// int8 computed and stored in the cache (evaluation, attack, noise); key 63a31f09f280e2a4", or,
/// with three models or more all alike, "output cache: all 5 models computed and stored in the
/// cache (evaluation, attack); keys in the JSON report"; `None` with the cache off.
pub fn cache_line(report: &Report) -> Option<String> {
    let models = std::iter::once(&report.teacher).chain(report.students.iter().map(|s| &s.model));
    line(&models.map(|m| (m.info.name.as_str(), m.cache.as_slice())).collect::<Vec<_>>())
}

/// The line from each model's name and cache uses (teacher first).
fn line(models: &[(&str, &[CacheUse])]) -> Option<String> {
    let models: Vec<&(&str, &[CacheUse])> = models.iter().filter(|(_, uses)| !uses.is_empty()).collect();
    let (_, first) = models.first()?;
    // Every model the same way (a first run: all computed): one phrase, the keys are in the JSON.
    let alike = |uses: &[CacheUse]| {
        uses.len() == first.len()
            && uses.iter().zip(first.iter()).all(|(a, b)| a.stage == b.stage && a.outputs == b.outputs && a.note.is_none() && b.note.is_none())
    };
    if models.len() > 2 && models.iter().all(|(_, uses)| alike(uses)) {
        let described: Vec<String> = model_groups(first).iter().map(|(what, stages)| format!("{what} ({})", stages.join(", "))).collect();
        return Some(format!("output cache: all {} models {}; keys in the JSON report", models.len(), described.join(", ")));
    }
    let parts: Vec<String> = models.iter().map(|(name, uses)| model_part(name, uses)).collect();
    Some(format!("output cache: {}", parts.join("; ")))
}

/// A model's stages grouped by what happened to them, in stage order.
fn model_groups(uses: &[CacheUse]) -> Vec<(String, Vec<&'static str>)> {
    let mut groups: Vec<(String, Vec<&'static str>)> = Vec::new();
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
    groups
}

/// One model: its stages grouped by what happened to them.
fn model_part(name: &str, uses: &[CacheUse]) -> String {
    let groups = model_groups(uses);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn used(stage: CacheStage, outputs: CacheOutcome) -> CacheUse {
        CacheUse { stage, key: "11da2ecb9edb2f92aaaa".into(), outputs, chunks_read: 0, chunks: 1, note: None }
    }

    #[test]
    fn names_each_model_unless_all_went_alike() {
        let read = [used(CacheStage::Evaluation, CacheOutcome::Read), used(CacheStage::Attack, CacheOutcome::Read)];
        let stored = [used(CacheStage::Evaluation, CacheOutcome::Stored), used(CacheStage::Attack, CacheOutcome::Stored)];
        let daily = line(&[("teacher", &read), ("int8", &stored)]).unwrap();
        assert_eq!(
            daily,
            "output cache: teacher read, no inference (evaluation, attack); key 11da2ecb9edb2f92; int8 computed and stored in the cache (evaluation, attack); key 11da2ecb9edb2f92"
        );
        let first = line(&[("teacher", &stored), ("a", &stored), ("b", &stored)]).unwrap();
        assert_eq!(first, "output cache: all 3 models computed and stored in the cache (evaluation, attack); keys in the JSON report");
        let mixed = [used(CacheStage::Evaluation, CacheOutcome::Read), used(CacheStage::Attack, CacheOutcome::Stored)];
        assert!(line(&[("teacher", &mixed), ("a", &mixed), ("b", &mixed)])
            .unwrap()
            .ends_with("read, no inference (evaluation), computed and stored in the cache (attack); keys in the JSON report"));
        assert_eq!(line(&[("teacher", &[]), ("int8", &[])]), None, "the cache off: no line");
    }
}
