//! Every model over the data, a chunk at a time: read a chunk, tokenize it once, run the teacher
//! and each student on it, and keep only compact per-example records (what the paired bootstrap
//! resamples) plus running sums. Memory then follows the chunk size; the records cost 10 bytes per
//! example and student (what the paired bootstrap needs), plus 8 per example and group attribute.
//!
//! The serving-condition rules of [`serving`](crate::inference::serving) are applied to the first chunk:
//! its batch-invariance check decides each model's batching for the rest of the data.

use super::inputs::{Chunk, ChunkReader, Chunks};
use super::CompareError;
use crate::data::LabelNames;
use crate::inference::invariance::{BatchInvariance, InvarianceSettings};
use crate::inference::serving::{run_model, Batchings, ModelBatching, ModelRun};
use crate::inference::{compare, run_pass_with_progress, BatchOrder, BatchPlan, EvalError, ProbabilityTable};
use crate::metrics::{ExampleComparison, FidelityAccumulator, FidelityMetrics, LogBase, OutputKind};
use crate::model::static_shape::ShapeProblem;
use crate::model::{Backend, ModelError};
use crate::report::Disagreement;
use crate::stats::PairedSamples;
use crate::subgroups::{Group, GroupsBuilder};

/// How each model runs: the batchings the plan asks for.
pub struct Batching {
    pub batch_size: usize,
    pub order: BatchOrder,
    pub serving_batch_size: usize,
    pub invariance: InvarianceSettings,
    pub outputs: Option<OutputKind>,
}

impl Batching {
    pub fn of(plan: &crate::plan::ComparePlan) -> Self {
        Self {
            batch_size: plan.batch_size,
            order: plan.batch_order,
            serving_batch_size: plan.serving_batch_size,
            invariance: plan.invariance,
            outputs: plan.outputs,
        }
    }
}

/// One model's pass over all chunks.
pub struct ModelTrack {
    pub output_kind: OutputKind,
    /// Whether the kind was detected (true) or given by `--outputs`.
    pub output_kind_detected: bool,
    pub batching: ModelBatching,
    /// The check on the first chunk.
    pub invariance: Option<BatchInvariance>,
    /// Time inside the backend's `predict`, all chunks.
    pub inference_seconds: f64,
    pub classes: usize,
    /// Text examples cut to the model's fixed sequence length (`None`: it has none, or the data is
    /// not text).
    pub truncated_examples: Option<usize>,
}

/// Examples of `chunk` longer than a model's fixed sequence length (text data only).
fn truncated(backend: &dyn Backend, chunk: &Chunk) -> Option<usize> {
    let length = backend.info().static_shape.sequence?;
    let source = chunk.source.as_ref();
    let text = source.len() > 0 && source.batch_of(&[0]).pad_id.is_some();
    text.then(|| (0..source.len()).filter(|&i| source.length(i) > length).count())
}

/// A model whose graph fixes its batch dimension runs in batches of exactly that size, in file
/// order: it cannot run under another batching, so batch invariance is not checked.
fn fixed_batch_run(backend: &mut dyn Backend, chunk: &Chunk, b: &Batching, size: usize, bar: &indicatif::ProgressBar) -> Result<ModelRun, EvalError> {
    let plan = BatchPlan::new(chunk.source.as_ref(), size, BatchOrder::File);
    let origin = |i: usize| chunk.examples[i].origin.clone();
    let pass = run_pass_with_progress(backend, chunk.source.as_ref(), &plan, b.outputs, &origin, bar)?;
    let reason = format!(
        "its graph fixes the batch dimension at {size}: batches of exactly {size} in file order, the last filled with copies of its last row (their outputs dropped); batch invariance not checked, as it cannot run under another batching"
    );
    Ok(ModelRun { pass, invariance: None, batching: ModelBatching { batch_size: size, order: BatchOrder::File, reason } })
}

impl StudentTally {
    /// Adds one chunk's comparisons (`memberships[j]`: example `j`'s groups by discovery id).
    #[allow(clippy::too_many_arguments)]
    fn add_chunk(&mut self, chunk: &Chunk, teacher: &ProbabilityTable, student: &ProbabilityTable, golds: &[Option<usize>], memberships: &[Vec<usize>], base: LogBase, names: Option<&LabelNames>) {
        let comparison = compare(teacher, student, golds, base);
        for (j, c) in comparison.examples.iter().enumerate() {
            self.metrics.add(c);
            self.classes.add(c);
            for &id in &memberships[j] {
                if id >= self.groups.len() {
                    self.groups.resize(id + 1, FidelityAccumulator::default());
                }
                self.groups[id].add(c);
            }
            self.samples.push(&c.paired_sample());
            if !c.agrees() && self.disagreements.len() < DISAGREEMENTS {
                self.disagreements.push(disagreement(chunk, j, c, teacher, student, names));
            }
        }
    }

    /// A tally whose per-example records are `n` placeholders (a merge places each part's rows).
    pub fn with_rows(n: usize) -> Self {
        Self { samples: PairedSamples::with_len(n), ..Self::default() }
    }
}

impl ModelTrack {
    /// The track of a model whose first chunk came from the cache: the decisions the run that
    /// computed it took, and no inference time.
    fn cached(track: &crate::cache::CachedTrack, backend: &dyn Backend, chunk: &Chunk) -> Self {
        Self {
            output_kind: track.output_kind,
            output_kind_detected: track.output_kind_detected,
            batching: track.batching.clone(),
            invariance: track.invariance.clone(),
            inference_seconds: 0.0,
            classes: track.classes,
            truncated_examples: truncated(backend, chunk),
        }
    }

    /// What the cache keeps of this track.
    pub fn to_cached(&self) -> crate::cache::CachedTrack {
        crate::cache::CachedTrack {
            output_kind: self.output_kind,
            output_kind_detected: self.output_kind_detected,
            batching: self.batching.clone(),
            invariance: self.invariance.clone(),
            classes: self.classes,
            inference_seconds: self.inference_seconds,
        }
    }

    /// Counts a later chunk that came from the cache.
    fn add_cached_chunk(&mut self, backend: &dyn Backend, chunk: &Chunk) {
        if let (Some(total), Some(more)) = (self.truncated_examples.as_mut(), truncated(backend, chunk)) {
            *total += more;
        }
    }

    /// Runs the first chunk under the serving-condition rules; they fix the model's batching.
    pub(super) fn first(backend: &mut dyn Backend, chunk: &Chunk, b: &Batching, bar: &indicatif::ProgressBar) -> Result<(Self, ProbabilityTable), EvalError> {
        let (evaluation, serving) = crate::inference::serving::plans(chunk.source.as_ref(), b.batch_size, b.order, b.serving_batch_size);
        let batchings = Batchings { source: chunk.source.as_ref(), evaluation, serving, invariance: b.invariance, outputs: b.outputs };
        let origin = |i: usize| chunk.examples[i].origin.clone();
        let run = match backend.info().static_shape.batch {
            Some(size) => fixed_batch_run(backend, chunk, b, size, bar)?,
            None => run_model(backend, &batchings, &origin, bar)?,
        };
        let track = Self {
            truncated_examples: truncated(backend, chunk),
            output_kind: run.pass.output_kind,
            output_kind_detected: run.pass.output_kind_detected,
            batching: run.batching,
            invariance: run.invariance,
            inference_seconds: run.pass.inference_seconds,
            classes: run.pass.probabilities.classes,
        };
        Ok((track, run.pass.probabilities))
    }

    /// Runs a later chunk with the batching the first chunk fixed.
    pub(super) fn next(&mut self, backend: &mut dyn Backend, chunk: &Chunk, bar: &indicatif::ProgressBar) -> Result<ProbabilityTable, EvalError> {
        let plan = BatchPlan::new(chunk.source.as_ref(), self.batching.batch_size, self.batching.order);
        let origin = |i: usize| chunk.examples[i].origin.clone();
        let pass = run_pass_with_progress(backend, chunk.source.as_ref(), &plan, Some(self.output_kind), &origin, bar)?;
        self.inference_seconds += pass.inference_seconds;
        if let (Some(total), Some(more)) = (self.truncated_examples.as_mut(), truncated(backend, chunk)) {
            *total += more;
        }
        if pass.probabilities.classes != self.classes {
            return Err(EvalError::ClassCount {
                model: backend.info().name.clone(),
                got: pass.probabilities.classes,
                reference: "its first batch".into(),
                expected: self.classes,
            });
        }
        Ok(pass.probabilities)
    }
}

/// What is kept of one student's comparison with the teacher.
#[derive(Default)]
pub struct StudentTally {
    pub metrics: FidelityAccumulator,
    /// Per group, by the groups builder's discovery id.
    groups: Vec<FidelityAccumulator>,
    /// Per example, in data order.
    pub samples: PairedSamples,
    /// The first disagreements in file order.
    pub disagreements: Vec<Disagreement>,
    /// (gold, teacher, student) label counts, for the per-class table.
    pub classes: crate::classes::ClassTally,
}

/// The whole streamed evaluation (of a shard: its rows).
pub struct Evaluation {
    /// Teacher first, then the students in order.
    pub models: Vec<ModelTrack>,
    pub students: Vec<StudentTally>,
    /// The teacher against itself (its accuracy).
    pub teacher: FidelityAccumulator,
    pub groups: Vec<Group>,
    /// Per student and group (report order), the group's metrics.
    pub group_metrics: Vec<Vec<FidelityMetrics>>,
    /// Per student and group (report order), the sums behind `group_metrics` (what a shard keeps).
    pub group_tallies: Vec<Vec<FidelityAccumulator>>,
    /// Every example's group attribute values (what a merge rebuilds the groups from).
    pub attributes: crate::subgroups::AttributeColumns,
    /// Per example: has a gold label.
    pub labelled: Vec<bool>,
    pub examples: usize,
    /// Sum of example lengths in tokens (0 for tensors).
    pub length_sum: f64,
    /// The first chunk, kept for the speed measurement.
    pub first_chunk: Chunk,
    /// A shard's: SHA-256 of the rows it read (see [`crate::shard::identity::RowsDigest`]).
    pub rows_sha256: Option<String>,
    /// Per model (teacher first): where its outputs came from, when the cache is on.
    pub caches: Vec<Option<crate::cache::CacheUse>>,
}

/// Checks made once the teacher's class count is known.
pub struct ClassChecks<'a> {
    pub data_path: &'a std::path::Path,
    pub label_names: Option<&'a LabelNames>,
    pub config: Option<&'a std::path::Path>,
    pub teacher_name: &'a str,
    /// `--allow-many-groups`: take group columns with very many distinct values as they are.
    pub allow_many_groups: bool,
}

fn check_group_columns(builder: &GroupsBuilder, rows: usize, finished: bool, checks: &ClassChecks) -> Result<(), CompareError> {
    if checks.allow_many_groups {
        return Ok(());
    }
    match crate::subgroups::too_many_values(builder.distinct_values(), rows, finished) {
        Some((column, distinct)) => Err(CompareError::TooManyGroups { column, distinct, rows, path: checks.data_path.display().to_string() }),
        None => Ok(()),
    }
}

/// Disagreements listed per student.
pub const DISAGREEMENTS: usize = 10;

/// Where a shard's evaluation starts: its reader stands at the shard's first row, it reads `rows`
/// rows, and every model's batching was fixed on the data's first chunk (see `crate::shard`).
pub struct Resume {
    pub rows: usize,
    pub tracks: Vec<ModelTrack>,
}

/// Streams the data through every model (`models[0]` is the teacher). `caches[m]`: model `m`'s
/// slot in the output cache (none, or an empty vector: computed, not cached).
#[allow(clippy::too_many_arguments)]
pub fn evaluate(
    reader: &mut dyn Chunks,
    chunk_size: usize,
    models: &mut [&mut dyn Backend],
    batching: &Batching,
    group_columns: &[String],
    base: LogBase,
    checks: &ClassChecks,
    resume: Option<Resume>,
    mut caches: Vec<Option<crate::cache::ModelCache>>,
    bar: &indicatif::ProgressBar,
) -> Result<Evaluation, CompareError> {
    let mut digest = resume.is_some().then(crate::shard::identity::RowsDigest::default);
    let (mut left, mut tracks) = match resume {
        Some(r) => (r.rows, r.tracks),
        None => (usize::MAX, Vec::with_capacity(models.len())),
    };
    let mut students: Vec<StudentTally> = (1..models.len()).map(|_| StudentTally::default()).collect();
    let mut teacher = FidelityAccumulator::default();
    let mut builder = GroupsBuilder::new(group_columns);
    let mut attributes = crate::subgroups::AttributeColumns::new(group_columns.len());
    let (mut labelled, mut examples, mut length_sum) = (Vec::new(), 0, 0.0);
    let mut first_chunk = None;
    while left > 0 {
        let Some(chunk) = reader.next_chunk(chunk_size.min(left))? else { break };
        left -= chunk.examples.len();
        if first_chunk.is_none() {
            check_input_shapes(models, &chunk)?;
        }
        let mut tables = Vec::with_capacity(models.len());
        for (m, backend) in models.iter_mut().enumerate() {
            bar.set_message(format!("({})", backend.info().name));
            let slot = caches.get_mut(m).and_then(Option::as_mut);
            tables.push(model_chunk(&mut **backend, &chunk, m, &mut tracks, slot, batching, checks, bar)?);
        }
        let classes = tracks[0].classes;
        check_labels(&chunk, classes, checks)?;
        let golds: Vec<Option<usize>> = chunk.examples.iter().map(|e| e.label).collect();
        let memberships: Vec<Vec<usize>> = chunk.examples.iter().map(|e| builder.add(&e.attributes)).collect();
        chunk.examples.iter().for_each(|e| attributes.push(&e.attributes));
        if let Some(d) = digest.as_mut() {
            chunk.examples.iter().for_each(|e| d.add(e));
        }
        check_group_columns(&builder, examples + chunk.examples.len(), false, checks)?;
        for (j, gold) in golds.iter().enumerate() {
            let row = tables[0].row(j);
            teacher.add(&ExampleComparison::new(row, row, *gold, base));
            length_sum += chunk.source.length(j) as f64;
        }
        labelled.extend(golds.iter().map(Option::is_some));
        for (tally, table) in students.iter_mut().zip(&tables[1..]) {
            tally.add_chunk(&chunk, &tables[0], table, &golds, &memberships, base, checks.label_names);
        }
        examples += chunk.examples.len();
        if first_chunk.is_none() {
            first_chunk = Some(chunk);
        }
    }
    // Readers refuse a file without examples, so there is a first chunk; this names the file if not.
    let first_chunk = first_chunk.ok_or_else(|| crate::data::DataError::Empty { path: checks.data_path.to_path_buf() })?;
    check_group_columns(&builder, examples, true, checks)?;
    let (groups, position) = builder.finish();
    let group_tallies: Vec<Vec<FidelityAccumulator>> = students.iter().map(|tally| in_report_order(&tally.groups, &position, groups.len())).collect();
    let group_metrics = group_tallies.iter().map(|t| t.iter().map(FidelityAccumulator::finish).collect()).collect();
    Ok(Evaluation {
        caches: caches.into_iter().zip(&tracks).map(|(slot, track)| slot.map(|s| s.finish(Some(track.to_cached()), examples))).collect(),
        models: tracks,
        students,
        teacher,
        groups,
        group_metrics,
        group_tallies,
        attributes,
        labelled,
        examples,
        length_sum,
        first_chunk,
        rows_sha256: digest.map(|d| d.finish()),
    })
}

/// Model `m`'s rows of one chunk: from its cache slot while the entry serves, else computed (the
/// first chunk under the serving-condition rules, later ones with the batching they fixed) and
/// kept for the entry.
#[allow(clippy::too_many_arguments)]
fn model_chunk(
    backend: &mut dyn Backend,
    chunk: &Chunk,
    m: usize,
    tracks: &mut Vec<ModelTrack>,
    mut slot: Option<&mut crate::cache::ModelCache>,
    batching: &Batching,
    checks: &ClassChecks,
    bar: &indicatif::ProgressBar,
) -> Result<ProbabilityTable, CompareError> {
    let digest = slot.as_ref().map(|_| crate::cache::inputs_digest(chunk.source.as_ref(), backend.info().image_feed.as_deref()));
    // A model's first chunk is read only with the decisions the entry recorded for it.
    let first = tracks.len() <= m;
    let cached = slot.as_mut().zip(digest.as_ref()).and_then(|(s, d)| {
        let track = if first { Some(s.track()?.clone()) } else { None };
        Some((track, s.read(d)?))
    });
    if let Some((first_track, table)) = cached {
        match (first_track, tracks.get_mut(m)) {
            (Some(cached_track), _) => {
                let track = ModelTrack::cached(&cached_track, backend, chunk);
                check_classes(&track, backend.info().name.as_str(), tracks.first(), checks)?;
                tracks.push(track);
            }
            (None, Some(track)) => track.add_cached_chunk(backend, chunk),
            (None, None) => {}
        }
        bar.inc(table.len() as u64);
        return Ok(table);
    }
    let table = match tracks.get_mut(m) {
        Some(track) => track.next(backend, chunk, bar)?,
        None => {
            let (track, table) = ModelTrack::first(backend, chunk, batching, bar)?;
            check_classes(&track, backend.info().name.as_str(), tracks.first(), checks)?;
            tracks.push(track);
            table
        }
    };
    if let Some((s, d)) = slot.zip(digest.as_ref()) {
        s.keep(d, &table);
    }
    Ok(table)
}

/// Every model's declared inputs against the data's first example, before any model runs: a fixed
/// dim the data cannot meet, or an input it does not give, is refused here, not by ONNX Runtime
/// after the teacher's pass.
pub(super) fn check_input_shapes(models: &[&mut dyn Backend], chunk: &Chunk) -> Result<(), CompareError> {
    if chunk.source.is_empty() {
        return Ok(());
    }
    let sample = chunk.source.batch_of(&[0]);
    for m in models {
        let info = m.info();
        // An image model reads its own preprocessing's tensor, whatever its input is called.
        let own = info.image_feed.as_ref().map(|feed| crate::data::Batch {
            rows: sample.rows,
            tensors: info.inputs.iter().take(1).filter_map(|i| sample.get(feed).map(|t| (i.name.clone(), t.clone()))).collect(),
            pad_id: None,
        });
        let sample = own.as_ref().unwrap_or(&sample);
        info.static_shape.check(sample, sample.pad_id.is_some()).map_err(|problem| match problem {
            ShapeProblem::Missing { input } => ModelError::MissingInput { model: info.name.clone(), input, provided: sample.names().join(", ") },
            ShapeProblem::Dims(message) => ModelError::Inputs { model: info.name.clone(), path: info.path.clone(), message },
        })?;
    }
    Ok(())
}

/// Per-group sums by discovery id, put in the groups' report order (`position[id]`).
fn in_report_order(by_id: &[FidelityAccumulator], position: &[usize], groups: usize) -> Vec<FidelityAccumulator> {
    let mut sums = vec![FidelityAccumulator::default(); groups];
    for (id, acc) in by_id.iter().enumerate() {
        sums[position[id]] = acc.clone();
    }
    sums
}

/// A student's class count must be the teacher's; the config's names must count the teacher's classes.
pub(super) fn check_classes(track: &ModelTrack, name: &str, teacher: Option<&ModelTrack>, checks: &ClassChecks) -> Result<(), CompareError> {
    match teacher {
        Some(t) if track.classes != t.classes => Err(EvalError::ClassCount {
            model: name.to_string(),
            got: track.classes,
            reference: format!("the teacher ({})", checks.teacher_name),
            expected: t.classes,
        }
        .into()),
        Some(_) => Ok(()),
        None => match (checks.label_names, checks.config) {
            (Some(names), Some(config)) if names.len() != track.classes => {
                Err(CompareError::LabelNamesCount { config: config.display().to_string(), names: names.len(), model: name.to_string(), classes: track.classes })
            }
            _ => Ok(()),
        },
    }
}

fn check_labels(chunk: &Chunk, classes: usize, checks: &ClassChecks) -> Result<(), EvalError> {
    match chunk.examples.iter().find(|e| e.label.is_some_and(|l| l >= classes)) {
        Some(e) => Err(EvalError::LabelOutOfRange {
            path: checks.data_path.display().to_string(),
            origin: e.origin.clone(),
            label: e.label.unwrap_or_default(),
            classes,
            last: classes.saturating_sub(1),
        }),
        None => Ok(()),
    }
}

fn disagreement(
    chunk: &Chunk,
    j: usize,
    c: &ExampleComparison,
    teacher: &ProbabilityTable,
    student: &ProbabilityTable,
    names: Option<&LabelNames>,
) -> Disagreement {
    let name = |k: usize| names.and_then(|n| n.names().get(k).cloned()).unwrap_or_else(|| k.to_string());
    let example = &chunk.examples[j];
    Disagreement {
        origin: example.origin.clone(),
        text: example.text.clone(),
        text_pair: example.text_pair.clone(),
        gold: c.gold.map(name),
        teacher: name(c.teacher_label),
        teacher_probability: Some(teacher.row(j)[c.teacher_label]),
        student: name(c.student_label),
        student_probability: Some(student.row(j)[c.student_label]),
    }
}

/// The evaluation stage's results: the per-model tracks and per-student tallies, and what the
/// report says about the data and the batching.
pub struct Evaluated {
    pub data: Evaluation,
    /// Wall time of the evaluation pass (the speed budget is a share of it).
    pub seconds: f64,
    pub chunk_size: usize,
    pub columns: crate::data::Columns,
    pub inputs: crate::report::InputsInfo,
    pub padding: &'static str,
}

/// A shard's slice: it starts at row `start`.
pub struct Slice {
    pub start: usize,
    pub resume: Resume,
}

/// Stage 2, evaluate: every model over the data (a shard: over its slice), a chunk at a time.
pub fn evaluate_all(plan: &crate::plan::ComparePlan, session: &mut super::load::Session, progress: &super::Progress, slice: Option<Slice>) -> Result<Evaluated, CompareError> {
    let encoder = super::inputs::text_encoder(plan)?;
    let label_names = session.label_names.as_ref();
    let models = &mut session.models;
    let mut reader = ChunkReader::open(plan, models.teacher.info(), label_names, encoder.as_ref())?;
    if let Some(slice) = &slice {
        reader.skip(slice.start)?;
    }
    let chunk_size = super::inputs::chunk_size(plan.chunk_size, plan.batch_size, plan.serving_batch_size);
    let batching = Batching::of(plan);
    let checks = ClassChecks {
        data_path: &plan.data,
        label_names,
        config: plan.config.as_deref(),
        teacher_name: &plan.teacher.name,
        allow_many_groups: plan.allow_many_groups,
    };
    progress.say(format!("evaluating {} models on {} in chunks of {chunk_size} examples", models.students.len() + 1, plan.data.display()));
    let bar = crate::progress::counter("evaluating", plan.quiet);
    let mut backends: Vec<&mut dyn Backend> =
        std::iter::once(&mut models.teacher as &mut dyn Backend).chain(models.students.iter_mut().map(|s| s as &mut dyn Backend)).collect();
    // A shard's slice is not cached: its first-chunk decisions come from the data's first chunk.
    let caches = match slice {
        None => {
            let infos: Vec<&crate::model::ModelInfo> = backends.iter().map(|b| b.info()).collect();
            super::cache_slots::slots(plan, &session.runtime.version, &infos, crate::cache::CacheStage::Evaluation, serde_json::json!({ "chunk_size": chunk_size }))
        }
        Some(_) => vec![],
    };
    let started = std::time::Instant::now();
    let data = evaluate(&mut reader, chunk_size, &mut backends, &batching, &plan.columns.groups, plan.js_base, &checks, slice.map(|s| s.resume), caches, &bar)?;
    let seconds = started.elapsed().as_secs_f64();
    crate::progress::finish(bar);
    drop(backends);
    progress.say(format!("{} examples from {}", data.examples, plan.data.display()));
    let all = std::iter::once(&models.teacher as &dyn Backend).chain(models.students.iter().map(|s| s as &dyn Backend));
    for (i, (m, track)) in all.zip(&data.models).enumerate() {
        match data.caches.get(i).and_then(Option::as_ref) {
            Some(c) if c.outputs == crate::cache::CacheOutcome::Read => progress.say(format!("{}: outputs read from the cache (key {})", m.info().name, &c.key[..16])),
            Some(c) => progress.say(format!("{}: {:.2} s in ONNX Runtime; outputs {} (key {})", m.info().name, track.inference_seconds, c.outputs.describe(), &c.key[..16])),
            None => progress.say(format!("{}: {:.2} s in ONNX Runtime", m.info().name, track.inference_seconds)),
        }
    }
    let tally = reader.tally();
    Ok(Evaluated { seconds, chunk_size, columns: reader.columns().clone(), inputs: tally.info.clone(), padding: tally.padding, data })
}
