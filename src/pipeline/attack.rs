//! Black-box attacks inside `compare`: the same seeded sample of examples for every model, each
//! model attacked directly, and the teacher's successful adversarial examples replayed on every
//! student (transfer). The model side of the attack seams ([`TextClassifier`], [`TensorClassifier`])
//! is built here from the tokenizer or the tensor data and the model's [`Backend`].

use super::inputs::AttackInputs;
use crate::attack::records::{without_input, AttackRecords};
use crate::attack::{
    AttackError, AttackOutcome, AttackStatus, AttackSummary, GroupAttack, ModelAttack, SynonymTable, TensorAttack, TensorAttackSettings, TensorClassifier,
    TensorExample, TextAttack, TextAttackSettings, TextClassifier, TextExample, TextInput,
};
use crate::cache::replay::Replayed;
use crate::data::text::{text_batch, TextEncoder};
use crate::data::{Batch, Example, InputTensor};
use crate::metrics::probability::to_probabilities;
use crate::metrics::{argmax, OutputKind};
use crate::model::Backend;
use crate::plan::AttackSettings;
use crate::subgroups::Group;
use crate::vision::{preprocess_all, ImagePlan, Pixels};
use ndarray::{ArrayD, ArrayViewD, Axis};

/// A model as the text attack sees it: texts in, probability rows out, through the tokenizer.
pub struct TextModel<'a> {
    backend: &'a mut dyn Backend,
    encoder: &'a TextEncoder,
    kind: OutputKind,
}

impl<'a> TextModel<'a> {
    pub fn new(backend: &'a mut dyn Backend, encoder: &'a TextEncoder, kind: OutputKind) -> Self {
        Self { backend, encoder, kind }
    }
}

fn model_error(backend: &dyn Backend, message: impl std::fmt::Display) -> AttackError {
    AttackError::Model(format!("model {}: {message}", backend.info().name))
}

fn probabilities(backend: &mut dyn Backend, batch: &Batch, kind: OutputKind) -> Result<Vec<Vec<f64>>, AttackError> {
    let scores = backend.predict(batch).map_err(|e| AttackError::Model(e.to_string()))?;
    scores.rows().into_iter().enumerate().map(|(i, r)| to_probabilities(&r.to_vec(), kind, i).map_err(|e| model_error(backend, e))).collect()
}

impl TextClassifier for TextModel<'_> {
    fn classify(&mut self, inputs: &[TextInput]) -> Result<Vec<Vec<f64>>, AttackError> {
        let examples: Vec<Example> = inputs
            .iter()
            .map(|t| Example {
                origin: "attack".into(),
                text: Some(t.text.clone()),
                text_pair: t.pair.clone(),
                label: None,
                attributes: vec![],
                features: vec![],
                image: None,
            })
            .collect();
        let encoded = self.encoder.encode(&examples).map_err(|e| model_error(self.backend, e))?;
        probabilities(self.backend, &text_batch(&encoded.items, encoded.pad_id), self.kind)
    }
}

/// A model as the tensor attack sees it: a batch of float inputs in. Image files: the inputs are
/// pixels in [0, 1] (`[k, height, width, 3]`), rounded back to 8 bits and preprocessed as each
/// model's own preprocessing says, so the attack and the noise work on valid images.
pub struct TensorModel<'a> {
    backend: &'a mut dyn Backend,
    input: &'a str,
    kind: OutputKind,
    images: Option<&'a ImagePlan>,
}

impl<'a> TensorModel<'a> {
    pub fn new(backend: &'a mut dyn Backend, input: &'a str, kind: OutputKind, images: Option<&'a ImagePlan>) -> Self {
        Self { backend, input, kind, images }
    }
}

/// Pixels in [0, 1] (`[k, height, width, 3]`) as the model inputs of the preprocessing `feed`
/// names (the model's own: no query pays for the other models' preprocessings).
fn preprocessed(inputs: ArrayViewD<'_, f32>, images: &ImagePlan, feed: Option<&str>) -> Result<Batch, AttackError> {
    let shape = inputs.shape();
    let (k, h, w) = (shape[0], shape[1] as u32, shape[2] as u32);
    let per = inputs.len() / k.max(1);
    let flat: Vec<f32> = inputs.iter().copied().collect();
    let pixels: Vec<Pixels> =
        flat.chunks(per.max(1)).take(k).map(|row| Pixels::new(w, h, 3, row.iter().map(|&x| (x.clamp(0.0, 1.0) * 255.0).round() as u8).collect())).collect();
    let names: Vec<String> = (0..k).map(|i| format!("perturbed image {i}")).collect();
    let own = (0..images.distinct.len()).find(|&i| Some(crate::vision::feed_name(i).as_str()) == feed);
    let data = match own {
        Some(i) => {
            let mut data = preprocess_all(&pixels, &names, &images.distinct[i..=i]).map_err(|e| AttackError::Model(e.to_string()))?;
            data.tensors.iter_mut().for_each(|(name, _)| *name = crate::vision::feed_name(i));
            data
        }
        None => preprocess_all(&pixels, &names, &images.distinct).map_err(|e| AttackError::Model(e.to_string()))?,
    };
    Ok(data.batch_of(&(0..k).collect::<Vec<_>>()))
}

impl TensorClassifier for TensorModel<'_> {
    fn classify(&mut self, inputs: ArrayViewD<'_, f32>) -> Result<Vec<Vec<f64>>, AttackError> {
        let batch = match self.images {
            Some(images) => preprocessed(inputs, images, self.backend.info().image_feed.as_deref())?,
            None => Batch { rows: inputs.shape()[0], tensors: vec![(self.input.to_string(), InputTensor::Float32(inputs.to_owned()))], pad_id: None },
        };
        probabilities(self.backend, &batch, self.kind)
    }
}

/// Everything attacks need that does not change between models.
pub struct AttackContext<'a> {
    pub settings: &'a AttackSettings,
    /// Built for the attacked examples only, in sample order.
    pub inputs: &'a AttackInputs,
    /// The attacked examples, in sample order (`examples[k]` is example `sample[k]`).
    pub examples: &'a [Example],
    /// Attacked example indices in the whole data, ascending.
    pub sample: Vec<usize>,
    pub groups: &'a [Group],
    pub batch_size: usize,
    pub synonyms: &'a SynonymTable,
    pub quiet: bool,
}

/// Either attack's outcomes, keeping the adversarial inputs for transfer.
pub enum Outcomes {
    Text(Vec<AttackOutcome<TextInput>>),
    Tensor(Vec<AttackOutcome<ArrayD<f32>>>),
}

impl Outcomes {
    fn summary_of(&self, keep: impl Fn(usize) -> bool) -> AttackSummary {
        match self {
            Outcomes::Text(o) => AttackSummary::from_outcomes(&o.iter().enumerate().filter(|(k, _)| keep(*k)).map(|(_, o)| o.clone()).collect::<Vec<_>>()),
            Outcomes::Tensor(o) => AttackSummary::from_outcomes(&o.iter().enumerate().filter(|(k, _)| keep(*k)).map(|(_, o)| o.clone()).collect::<Vec<_>>()),
        }
    }
}

fn text_input(e: &Example) -> TextInput {
    TextInput { text: e.text.clone().unwrap_or_default(), pair: e.text_pair.clone() }
}

/// A backend that counts the rows it is sent (the attack's queries).
struct QueryCounter<'a> {
    inner: &'a mut dyn Backend,
    rows: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Backend for QueryCounter<'_> {
    fn info(&self) -> &crate::model::ModelInfo {
        self.inner.info()
    }
    fn predict(&mut self, batch: &Batch) -> Result<ndarray::Array2<f32>, crate::model::ModelError> {
        self.rows.fetch_add(batch.rows as u64, std::sync::atomic::Ordering::Relaxed);
        self.inner.predict(batch)
    }
    fn runtime_seconds(&self) -> Option<f64> {
        self.inner.runtime_seconds()
    }
}

/// Attacks one model over the sample.
pub fn attack_model(ctx: &AttackContext, backend: &mut dyn Backend, kind: OutputKind) -> Result<(Outcomes, ModelAttack), AttackError> {
    let name = backend.info().name.clone();
    let bar = crate::progress::bar(ctx.sample.len() as u64, &format!("attack {name}"), ctx.quiet);
    // Rows sent to the model are the attack's queries: counted for the progress line.
    let queries = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let mut counted = QueryCounter { inner: backend, rows: queries.clone() };
    let backend: &mut dyn Backend = &mut counted;
    let mut progress = |done: usize| {
        bar.set_message(format!("examples attacked, {} queries", queries.load(std::sync::atomic::Ordering::Relaxed)));
        bar.set_position(done as u64);
    };
    let golds: Vec<usize> = ctx.examples.iter().map(|e| e.label.unwrap_or(0)).collect();
    let outcomes = match ctx.inputs {
        AttackInputs::Text(encoder) => {
            let settings = TextAttackSettings {
                max_queries: ctx.settings.max_queries,
                max_perturbed_share: ctx.settings.max_perturbed_share,
                max_candidates: ctx.settings.max_candidates,
                seed: ctx.settings.seed,
            };
            let attack = TextAttack::new(settings, ctx.synonyms)?;
            let inputs: Vec<TextInput> = ctx.examples.iter().map(text_input).collect();
            let examples: Vec<TextExample> = inputs.iter().zip(&golds).map(|(input, &gold)| TextExample { input, gold, original: None }).collect();
            let mut model = TextModel { backend, encoder, kind };
            Outcomes::Text(attack.attack_batch_with_progress(&mut model, &examples, ctx.batch_size, &mut progress)?)
        }
        AttackInputs::Tensor { input, values, images } => {
            // Pixels: the ball lies on the 8-bit grid (ε a whole number of levels), inside [0, 1].
            let (epsilon, clip) = match images {
                Some(_) => (((ctx.settings.epsilon * 255.0).floor().max(1.0)) / 255.0, Some((0.0, 1.0))),
                None => (ctx.settings.epsilon, None),
            };
            let settings = TensorAttackSettings { epsilon, max_queries: ctx.settings.max_queries, seed: ctx.settings.seed, clip };
            let attack = TensorAttack::new(settings)?;
            let examples: Vec<TensorExample> = ctx
                .sample
                .iter()
                .zip(&golds)
                .enumerate()
                .map(|(k, (&i, &gold))| TensorExample { input: values.index_axis(Axis(0), k), gold, original: None, key: i as u64 })
                .collect();
            let mut model = TensorModel { backend, input, kind, images: images.as_ref() };
            Outcomes::Tensor(attack.attack_batch_with_progress(&mut model, &examples, ctx.batch_size, &mut progress)?)
        }
        AttackInputs::Unsupported(why) => return Err(AttackError::Model(why.clone())),
    };
    crate::progress::finish(bar);
    let summary = outcomes.summary_of(|_| true);
    let groups = ctx
        .groups
        .iter()
        .map(|g| {
            let members: std::collections::HashSet<usize> = g.members.iter().copied().collect();
            GroupAttack { name: g.name.clone(), summary: outcomes.summary_of(|k| members.contains(&ctx.sample[k])) }
        })
        .filter(|g| g.summary.attacked > 0)
        .collect();
    Ok((outcomes, ModelAttack { summary, groups, transfer: None }))
}

/// Replays the teacher's successful adversarial inputs on a student, in batches of the evaluation
/// batch size in sample order; `student_right[k]`: the student classified attacked example `k`
/// correctly before its own attack. Per example: (replayed, fooled).
pub fn transfer(
    ctx: &AttackContext,
    teacher: &Outcomes,
    backend: &mut dyn Backend,
    kind: OutputKind,
    student_right: &[bool],
) -> Result<Vec<(bool, bool)>, AttackError> {
    // Teacher successes on examples the student got right.
    let chosen: Vec<usize> = (0..ctx.sample.len())
        .filter(|&k| {
            let success = match teacher {
                Outcomes::Text(o) => o[k].status == AttackStatus::Succeeded,
                Outcomes::Tensor(o) => o[k].status == AttackStatus::Succeeded,
            };
            success && student_right[k]
        })
        .collect();
    let mut flags = vec![(false, false); ctx.sample.len()];
    for chunk in chosen.chunks(ctx.batch_size.max(1)) {
        let rows = match (teacher, ctx.inputs) {
            (Outcomes::Text(o), AttackInputs::Text(encoder)) => {
                let inputs: Vec<TextInput> = chunk.iter().filter_map(|&k| o[k].adversarial.clone()).collect();
                TextModel { backend: &mut *backend, encoder, kind }.classify(&inputs)?
            }
            (Outcomes::Tensor(o), AttackInputs::Tensor { input, images, .. }) => {
                let views: Vec<ArrayViewD<f32>> = chunk.iter().filter_map(|&k| o[k].adversarial.as_ref().map(|a| a.view())).collect();
                let stacked = ndarray::stack(Axis(0), &views).map_err(|e| AttackError::Model(e.to_string()))?;
                TensorModel { backend: &mut *backend, input, kind, images: images.as_ref() }.classify(stacked.view())?
            }
            _ => return Err(AttackError::Model("teacher outcomes and inputs differ in kind".into())),
        };
        for (row, &k) in rows.iter().zip(chunk) {
            flags[k] = (true, Some(argmax(row)) != ctx.examples[k].label);
        }
    }
    Ok(flags)
}

/// `--attack-out DIR` on image files: each successful adversarial image of `model` as
/// `DIR/MODEL/ROW.png` (ROW: the example's 0-based row in the data), the 8-bit image the model saw.
fn write_adversarial(ctx: &AttackContext, model: &str, outcomes: &Outcomes) -> Result<(), AttackError> {
    let (Some(dir), Outcomes::Tensor(outcomes), AttackInputs::Tensor { images: Some(_), .. }) = (&ctx.settings.out, outcomes, ctx.inputs) else {
        return Ok(());
    };
    let folder = dir.join(model);
    std::fs::create_dir_all(&folder).map_err(|e| AttackError::Model(format!("--attack-out: cannot create {}: {e}", folder.display())))?;
    for (o, &row) in outcomes.iter().zip(&ctx.sample) {
        let (AttackStatus::Succeeded, Some(image)) = (o.status, &o.adversarial) else { continue };
        let shape = image.shape();
        let bytes: Vec<u8> = image.iter().map(|&x| (x.clamp(0.0, 1.0) * 255.0).round() as u8).collect();
        let file = folder.join(format!("{row}.png"));
        crate::vision::decode::write_png(&Pixels::new(shape[1] as u32, shape[0] as u32, 3, bytes), &file)
            .map_err(|e| AttackError::Model(format!("--attack-out: cannot write {}: {e}", file.display())))?;
    }
    Ok(())
}

/// Drawn examples attacked together: one model call never mixes two attack groups, so a shard
/// that runs the whole groups around its rows sends the single run's batches.
pub const ATTACK_GROUP: usize = 64;

fn outcomes_without_inputs(o: &Outcomes) -> Vec<AttackOutcome<()>> {
    match o {
        Outcomes::Text(o) => o.iter().map(without_input).collect(),
        Outcomes::Tensor(o) => o.iter().map(without_input).collect(),
    }
}

/// Puts every model's attack results into the report.
pub fn fill(report: &mut crate::report::Report, records: &AttackRecords, groups: &[Group]) {
    let mut attacks = records.model_attacks(groups).into_iter();
    report.teacher.attack = attacks.next();
    for (entry, attack) in report.students.iter_mut().zip(attacks) {
        entry.model.attack = Some(attack);
    }
}

/// Stage 3, attack: a seeded sample of the data's rows (those with a gold label are attacked),
/// the same for every model, attacked in groups of [`ATTACK_GROUP`] drawn rows; each student also
/// replays the teacher's successful adversarial examples (transfer). A shard (`scope`) attacks the
/// groups that hold its rows and keeps its rows' records.
pub fn attack_all(
    plan: &crate::plan::ComparePlan,
    settings: &AttackSettings,
    session: &mut super::load::Session,
    evaluated: &super::evaluate::Evaluated,
    report: &mut crate::report::Report,
    progress: &super::Progress,
    scope: Option<&super::inputs::Scope>,
) -> Result<AttackRecords, super::CompareError> {
    let data = &evaluated.data;
    let (total, rows) = scope.map_or((data.examples, 0..data.examples), |s| (s.total_rows, s.rows.clone()));
    let drawn = crate::inference::invariance::sample_indices(total, settings.examples, settings.seed);
    let (first, end) = (drawn.partition_point(|&i| i < rows.start), drawn.partition_point(|&i| i < rows.end));
    let run = (first / ATTACK_GROUP * ATTACK_GROUP)..(end.div_ceil(ATTACK_GROUP) * ATTACK_GROUP).min(drawn.len());
    let mut slots = super::cache_slots::stage_slots(plan, session, crate::cache::CacheStage::Attack, serde_json::json!(settings), scope.is_some());
    let models = &mut session.models;
    let (examples, attack_inputs) = super::inputs::read_sample(plan, models.teacher.info(), session.label_names.as_ref(), &drawn[run.clone()])?;
    // Every model's calls go through its cache slot: a model found there runs no attack query.
    let mut each_slot = slots.iter_mut().map(Option::as_mut);
    let mut teacher_model = Replayed::new(&mut models.teacher, each_slot.next().flatten());
    let mut student_models: Vec<Replayed> = models.students.iter_mut().map(|s| Replayed::new(s, each_slot.next().flatten())).collect();
    let owned = settings.synonyms.as_deref().map(SynonymTable::from_json_file).transpose()?;
    let synonyms = owned.as_ref().unwrap_or_else(|| SynonymTable::wordnet());
    let kinds: Vec<OutputKind> = data.models.iter().map(|m| m.output_kind).collect();
    let labelled = examples.iter().filter(|e| e.label.is_some()).count();
    progress.say(format!("attacking {labelled} examples per model"));
    let mut records = AttackRecords { first, outcomes: vec![vec![]; kinds.len()], transfer: vec![vec![]; kinds.len() - 1], ..Default::default() };
    for start in run.clone().step_by(ATTACK_GROUP) {
        let local: Vec<usize> = ((start - run.start)..(start + ATTACK_GROUP).min(run.end) - run.start).filter(|&j| examples[j].label.is_some()).collect();
        if local.is_empty() {
            continue;
        }
        let sliced;
        let inputs = match &attack_inputs {
            AttackInputs::Tensor { input, values, images } => {
                sliced = AttackInputs::Tensor { input: input.clone(), values: values.select(Axis(0), &local), images: images.clone() };
                &sliced
            }
            other => other,
        };
        let group_examples: Vec<Example> = local.iter().map(|&j| examples[j].clone()).collect();
        let ctx = AttackContext {
            settings,
            inputs,
            examples: &group_examples,
            sample: local.iter().map(|&j| drawn[run.start + j]).collect(),
            groups: &[],
            batch_size: plan.batch_size,
            synonyms,
            quiet: plan.quiet,
        };
        let (teacher, _) = attack_model(&ctx, &mut teacher_model, kinds[0])?;
        write_adversarial(&ctx, teacher_model.info().name.as_str(), &teacher)?;
        let mut outcomes = vec![outcomes_without_inputs(&teacher)];
        let mut transfers = Vec::with_capacity(student_models.len());
        for (s, student) in student_models.iter_mut().enumerate() {
            let (direct, _) = attack_model(&ctx, student, kinds[s + 1])?;
            write_adversarial(&ctx, student.info().name.as_str(), &direct)?;
            let direct = outcomes_without_inputs(&direct);
            let right: Vec<bool> = direct.iter().map(|o| o.status != AttackStatus::Skipped).collect();
            transfers.push(transfer(&ctx, &teacher, student, kinds[s + 1], &right)?);
            outcomes.push(direct);
        }
        // Only the examples of this run's rows are kept (a shard's neighbours keep theirs).
        for (k, &j) in local.iter().enumerate() {
            if (first..end).contains(&(run.start + j)) {
                records.rows.push(ctx.sample[k]);
                records.outcomes.iter_mut().zip(&outcomes).for_each(|(r, o)| r.push(o[k].clone()));
                records.transfer.iter_mut().zip(&transfers).for_each(|(r, t)| r.push(t[k]));
            }
        }
    }
    drop((teacher_model, student_models, each_slot));
    fill(report, &records, &data.groups);
    super::cache_slots::record(report, slots);
    Ok(records)
}
