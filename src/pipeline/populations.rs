//! Stage 3c, populations: when a role names several models (seeds of one method), every member of
//! every population runs over the data once more, with its role's settings and batching, and the
//! report gets each population's accuracy spread and each student's Compression Identified
//! Exemplars against the teacher's population. The roles' own models run again in this pass
//! rather than keeping every model's labels through the evaluation, which would cost memory
//! per example whether or not populations are asked for.

use super::evaluate::{Batching, ModelTrack};
use super::CompareError;
use crate::cache::replay::Replayed;
use crate::inference::EvalError;
use crate::metrics::argmax;
use crate::model::{Backend, OnnxBackend};
use crate::plan::ModelSource;
use crate::populations::{cie, summary, PopulationLabels};
use std::path::PathBuf;

/// The name a member goes by: its file's stem (`teacher-seed1`), numbered if two stems agree.
fn member_names(role: &ModelSource) -> Vec<(String, PathBuf)> {
    let mut names: Vec<(String, PathBuf)> = vec![(role.name.clone(), role.path.clone())];
    for (k, p) in role.population.iter().enumerate() {
        let stem = p.file_stem().map_or_else(|| format!("{}#{}", role.name, k + 2), |s| s.to_string_lossy().into_owned());
        let name = if names.iter().any(|(n, _)| *n == stem) { format!("{stem}#{}", k + 2) } else { stem };
        names.push((name, p.clone()));
    }
    names
}

/// Every member's label of every example in `scope` (all of them by default). A shard that does
/// not hold the first chunk runs it first, labels dropped, for the batching decisions a single run
/// takes there.
fn run_members(
    plan: &crate::plan::ComparePlan,
    session: &mut super::load::Session,
    extras: &mut [Vec<OnnxBackend>],
    quiet: bool,
    scope: Option<&super::inputs::Scope>,
    slots: &mut [Option<crate::cache::ModelCache>],
) -> Result<PopulationLabels, CompareError> {
    let encoder = super::inputs::text_encoder(plan)?;
    let models = &mut session.models;
    let mut reader = super::inputs::ChunkReader::open(plan, models.teacher.info(), session.label_names.as_ref(), encoder.as_ref())?;
    let chunk_size = super::inputs::chunk_size(plan.chunk_size, plan.batch_size, plan.serving_batch_size);
    let batching = Batching::of(plan);
    // Each role's own model goes through its cache slot (its other members are computed).
    let mut each_slot = slots.iter_mut().map(Option::as_mut);
    let owns = std::iter::once(&mut models.teacher).chain(models.students.iter_mut());
    let mut owns: Vec<Replayed> = owns.map(|m| Replayed::new(m, each_slot.next().flatten())).collect();
    let mut roles: Vec<Vec<&mut dyn Backend>> = owns
        .iter_mut()
        .zip(extras.iter_mut())
        .map(|(own, more)| std::iter::once(own as &mut dyn Backend).chain(more.iter_mut().map(|m| m as &mut dyn Backend)).collect())
        .collect();
    let mut tracks: Vec<Vec<Option<ModelTrack>>> = roles.iter().map(|r| r.iter().map(|_| None).collect()).collect();
    let mut labels: Vec<Vec<Vec<u16>>> = roles.iter().map(|r| vec![Vec::new(); r.len()]).collect();
    let mut gold = Vec::new();
    let bar = crate::progress::counter("populations", quiet);
    let (start, mut left) = scope.map_or((0, usize::MAX), |s| (s.rows.start, s.rows.len()));
    let mut read = 0;
    while left > 0 {
        let Some(chunk) = reader.next_chunk(if read < start { chunk_size } else { chunk_size.min(left) })? else { break };
        read += chunk.examples.len();
        let decide_only = read <= start;
        if !decide_only {
            left -= chunk.examples.len();
            gold.extend(chunk.examples.iter().map(|e| e.label));
        }
        for (r, members) in roles.iter_mut().enumerate() {
            for (k, backend) in members.iter_mut().enumerate() {
                let table = match &mut tracks[r][k] {
                    Some(track) => track.next(&mut **backend, &chunk, &bar)?,
                    None => {
                        let (track, table) = ModelTrack::first(&mut **backend, &chunk, &batching, &bar)?;
                        let expected = tracks[0][0].as_ref().map_or(track.classes, |t| t.classes);
                        if track.classes != expected {
                            let model = backend.info().name.clone();
                            return Err(EvalError::ClassCount { model, got: track.classes, reference: "the teacher".into(), expected }.into());
                        }
                        tracks[r][k] = Some(track);
                        table
                    }
                };
                if !decide_only {
                    labels[r][k].extend((0..table.len()).map(|i| argmax(table.row(i)) as u16));
                }
            }
        }
        if decide_only && start > read {
            reader.skip(start - read)?;
            read = start;
        }
    }
    crate::progress::finish(bar);
    Ok(PopulationLabels { gold, labels })
}

/// Each role's summary and each student's CIE against the teacher's population; `names[r]`: role
/// `r`'s members as (name, path).
pub fn fill(report: &mut crate::report::Report, held: &PopulationLabels, names: &[Vec<(String, PathBuf)>], groups: &[crate::subgroups::Group]) {
    let summaries: Vec<summary::PopulationSummary> = names.iter().zip(&held.labels).map(|(n, l)| summary::summarise(&held.gold, l, n)).collect();
    let mut summaries = summaries.into_iter();
    report.teacher.population = summaries.next();
    for ((student, s), l) in report.students.iter_mut().zip(summaries).zip(&held.labels[1..]) {
        student.model.population = Some(s);
        student.cie = Some(cie::analyse(&held.gold, &held.labels[0], l, groups));
    }
}

/// Runs the populations and fills in each role's summary and each student's CIE.
pub fn populations_all(
    plan: &crate::plan::ComparePlan,
    session: &mut super::load::Session,
    evaluated: &super::evaluate::Evaluated,
    report: &mut crate::report::Report,
    progress: &super::Progress,
    scope: Option<&super::inputs::Scope>,
) -> Result<PopulationLabels, CompareError> {
    let roles: Vec<&ModelSource> = std::iter::once(&plan.teacher).chain(&plan.students).collect();
    let hint = session.models.teacher.info().classes;
    let mut extras = Vec::with_capacity(roles.len());
    for (r, role) in roles.iter().enumerate() {
        let names = member_names(role);
        let settings = super::load::session_settings(plan, role, if r == 0 { None } else { hint });
        let loaded = names[1..].iter().map(|(name, path)| OnnxBackend::load(&session.runtime, name, path, &settings)).collect::<Result<Vec<_>, _>>()?;
        extras.push(loaded);
    }
    let sizes: Vec<String> = roles.iter().map(|r| format!("{} {}", r.name, r.population.len() + 1)).collect();
    progress.say(format!("populations: {}", sizes.join(", ")));
    let mut slots = super::cache_slots::stage_slots(
        plan,
        session,
        crate::cache::CacheStage::Populations,
        serde_json::json!({ "chunk_size": plan.chunk_size }),
        scope.is_some(),
    );
    let held = run_members(plan, session, &mut extras, plan.quiet, scope, &mut slots)?;
    let names: Vec<_> = roles.iter().map(|role| member_names(role)).collect();
    fill(report, &held, &names, &evaluated.data.groups);
    super::cache_slots::record(report, slots);
    Ok(held)
}
