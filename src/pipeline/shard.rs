//! `fidelity compare --shard K/N`: load the models, find the slice, take the first chunk's batching
//! decisions, evaluate the slice, measure speed, and write the part file (see [`crate::shard`] for the slicing).

use super::evaluate::{check_classes, check_input_shapes, Batching, ClassChecks, ModelTrack, Resume, Slice};
use super::inputs::{chunk_size, text_encoder, ChunkReader};
use super::load::Session;
use super::{assemble, evaluate, load, measure, CompareError, Progress};
use crate::model::Backend;
use crate::plan::ComparePlan;
use crate::shard::identity::DataIdentity;
use crate::report::part::{GroupSums, Part, PartHeader, PartModel, PartState, StudentSums, PART_FORMAT};
use crate::shard::Shard;
use serde_json::json;
use std::path::{Path, PathBuf};

/// What a shard wrote.
pub struct PartWritten {
    pub path: PathBuf,
    pub shard: Shard,
    pub rows: std::ops::Range<usize>,
    pub total_rows: usize,
}

/// The part file of shard `shard` beside the report path: `NAME.shard-K-of-N.part`.
pub fn part_path(json: &Path, shard: Shard) -> PathBuf {
    let stem = json.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "fidelity".into());
    json.with_file_name(format!("{stem}.shard-{}-of-{}.part", shard.index + 1, shard.count))
}

pub fn run(plan: &ComparePlan, shard: Shard) -> Result<PartWritten, CompareError> {
    let progress = Progress { quiet: plan.quiet };
    if plan.noise.as_ref().is_some_and(|n| n.save.is_some()) {
        return Err(CompareError::Shard("--noise-out writes the whole noise sample, which a shard does not hold: run --noise-out without --shard".into()));
    }
    let mut session = load::load(plan, &progress)?;
    let total_rows = crate::data::stream::count_rows(&plan.data, plan.data_format, &plan.columns)?;
    let chunk = chunk_size(plan.chunk_size, plan.batch_size, plan.serving_batch_size);
    let rows = shard.rows(total_rows, chunk);
    progress.say(format!("shard {shard}: rows {}-{} of {total_rows} (chunks of {chunk})", rows.start + 1, rows.end));
    let data = DataIdentity::of(&plan.data).map_err(|source| crate::data::DataError::Io { path: plan.data.clone(), source })?;
    let mut header = PartHeader {
        format: PART_FORMAT,
        fidelity_version: env!("CARGO_PKG_VERSION").into(),
        shard,
        first_row: rows.start,
        end_row: rows.end,
        total_rows,
        models: backends(&session).iter().map(|b| PartModel { name: b.info().name.clone(), sha256: b.info().sha256.clone() }).collect(),
        data,
        rows_sha256: None,
        plan: plan_fingerprint(plan, &session, chunk),
        gates: plan.gates.clone(),
        state: None,
        columns: vec![],
    };
    let path = part_path(&plan.reports.json, shard);
    let written = PartWritten { path: path.clone(), shard, rows: rows.clone(), total_rows };
    if rows.is_empty() {
        progress.say(format!("shard {shard} holds no rows ({total_rows} rows make fewer chunks than shards); part written to {}", path.display()));
        Part { header, samples: vec![], attributes: Default::default(), population: None }.write(&path)?;
        return Ok(written);
    }
    let tracks = if rows.start > 0 { first_chunk_tracks(plan, &mut session, chunk, &progress)? } else { vec![] };
    let evaluated = evaluate::evaluate_all(plan, &mut session, &progress, Some(Slice { start: rows.start, resume: Resume { rows: rows.len(), tracks } }))?;
    let mut report = assemble::report(plan, &session, &evaluated);
    let scope = super::inputs::Scope { total_rows, rows: rows.clone() };
    let attack = match &plan.attack {
        Some(settings) => Some(super::attack::attack_all(plan, settings, &mut session, &evaluated, &mut report, &progress, Some(&scope))?),
        None => None,
    };
    let noise = match &plan.noise {
        Some(settings) => Some(super::noise::noise_all(plan, settings, &mut session, &evaluated, &mut report, &progress, Some(scope.clone()))?),
        None => None,
    };
    let population = match plan.has_populations() {
        true => Some(super::populations::populations_all(plan, &mut session, &evaluated, &mut report, &progress, Some(&scope))?),
        false => None,
    };
    measure::measure(plan, &mut session, &evaluated, &mut report, &progress)?;
    report.gate = crate::gate::evaluate(&plan.gates, &report.students);
    let data = evaluated.data;
    header.rows_sha256 = data.rows_sha256.clone();
    let students = data
        .students
        .iter()
        .enumerate()
        .map(|(s, tally)| StudentSums {
            metrics: tally.metrics.clone(),
            classes: tally.classes.counts(),
            disagreements: tally.disagreements.clone(),
            groups: data.groups.iter().zip(&data.group_tallies[s]).map(|(g, sums)| GroupSums { attributes: g.attributes.clone(), sums: sums.clone() }).collect(),
        })
        .collect();
    header.state = Some(PartState { classes: data.models[0].classes, length_sum: data.length_sum, attack, noise, population_members: population.as_ref().map(|p| p.labels.iter().map(Vec::len).collect()), teacher: data.teacher.clone(), students, attribute_values: data.attributes.values.clone(), report });
    let samples = data.students.into_iter().map(|t| t.samples).collect();
    Part { header, samples, attributes: data.attributes, population }.write(&path)?;
    progress.say(format!("shard {shard}: {} examples; part written to {}", rows.len(), path.display()));
    Ok(written)
}

fn backends(session: &Session) -> Vec<&dyn Backend> {
    std::iter::once(&session.models.teacher as &dyn Backend).chain(session.models.students.iter().map(|s| s as &dyn Backend)).collect()
}

/// The batching each model gets from the data's first chunk in a single run (the batch-invariance
/// check, a batch-dependent model's re-run at the serving batching, the detected output kind): a
/// shard that does not hold the first chunk runs it once more, its outputs dropped, to take the
/// same decisions.
fn first_chunk_tracks(plan: &ComparePlan, session: &mut Session, chunk: usize, progress: &Progress) -> Result<Vec<ModelTrack>, CompareError> {
    let encoder = text_encoder(plan)?;
    let label_names = session.label_names.as_ref();
    let models = &mut session.models;
    let mut reader = ChunkReader::open(plan, models.teacher.info(), label_names, encoder.as_ref())?;
    let first = reader.next_chunk(chunk)?.ok_or_else(|| crate::data::DataError::Empty { path: plan.data.clone() })?;
    progress.say(format!("the first chunk ({} rows) once more, for the batching decisions a single run takes on it", first.examples.len()));
    let checks = ClassChecks { data_path: &plan.data, label_names, config: plan.config.as_deref(), teacher_name: &plan.teacher.name, allow_many_groups: plan.allow_many_groups };
    let mut backends: Vec<&mut dyn Backend> =
        std::iter::once(&mut models.teacher as &mut dyn Backend).chain(models.students.iter_mut().map(|s| s as &mut dyn Backend)).collect();
    check_input_shapes(&backends, &first)?;
    let bar = crate::progress::counter("first chunk", plan.quiet);
    let batching = Batching::of(plan);
    let mut tracks: Vec<ModelTrack> = Vec::with_capacity(backends.len());
    for backend in backends.iter_mut() {
        let (mut track, _) = ModelTrack::first(&mut **backend, &first, &batching, &bar)?;
        check_classes(&track, backend.info().name.as_str(), tracks.first(), &checks)?;
        // The slice's own time and truncations are counted from its rows.
        track.inference_seconds = 0.0;
        track.truncated_examples = track.truncated_examples.map(|_| 0);
        tracks.push(track);
    }
    crate::progress::finish(bar);
    Ok(tracks)
}

/// Every option that changes a number, and what the models and tokenizer are: parts merge only
/// when theirs are equal. The CPU's kernel class is in it: quantized models compute other numbers
/// on another class (README, "Numbers and CPU kinds"), so parts from two classes do not merge.
pub fn plan_fingerprint(plan: &ComparePlan, session: &Session, chunk: usize) -> serde_json::Value {
    let sources = std::iter::once(&plan.teacher).chain(&plan.students);
    let models: Vec<_> = sources
        .zip(backends(session))
        .map(|(source, backend)| {
            json!({
                "name": source.name,
                "sha256": backend.info().sha256,
                "device": format!("{:?}", source.device),
                "exact_integer": source.exact_integer,
                "output": source.output,
                "runtime": source.runtime,
                "population": source.population.iter().map(|p| json!({ "path": p, "sha256": file_sha256(p) })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let inputs = match &plan.inputs {
        crate::plan::InputPlan::Text { tokenizer, max_length } => json!({ "tokenizer_sha256": file_sha256(tokenizer), "max_length": max_length }),
        crate::plan::InputPlan::Tensors => json!("tensors"),
        crate::plan::InputPlan::Images(images) => json!({ "images": images.distinct }),
    };
    json!({
        "models": models,
        "onnxruntime": session.runtime.version,
        "kernel_class": crate::machine::MachineInfo::detect().kernels.class,
        "integer_numerics": plan.integer_numerics,
        "data_format": plan.data_format,
        "columns": plan.columns,
        "inputs": inputs,
        "label_names": session.label_names.as_ref().map(|l| l.names().to_vec()),
        "batch_size": plan.batch_size,
        "batch_order": plan.batch_order,
        "serving_batch_size": plan.serving_batch_size,
        "chunk_size": chunk,
        "invariance": plan.invariance,
        "outputs": plan.outputs,
        "js_base": plan.js_base,
        "statistics": plan.subgroups,
        "allow_many_groups": plan.allow_many_groups,
        "attack": plan.attack,
        "noise": plan.noise,
    })
}

fn file_sha256(path: &Path) -> String {
    use sha2::Digest;
    std::fs::read(path).map(|bytes| format!("{:x}", sha2::Sha256::digest(&bytes))).unwrap_or_else(|e| format!("unreadable: {e}"))
}
