//! Stage 3b, noise: a seeded sample of the data, perturbed at each noise level, through every
//! model. Every model sees the same noisy inputs; clean and noisy copies run in the same batches
//! (sample order, the evaluation batch size), so a change of label is the noise's doing, not the
//! batching's. Each level is made, run on every model and dropped before the next, so memory
//! holds one noisy copy of the sample at a time.

use super::attack::{TensorModel, TextModel};
use super::inputs::AttackInputs;
use super::CompareError;
use crate::attack::{TensorClassifier, TextClassifier, TextInput};
use crate::cache::replay::Replayed;
use crate::data::Example;
use crate::metrics::{argmax, OutputKind};
use crate::model::Backend;
use crate::noise::labels::NoiseLabels;
use crate::noise::{example_rng, tensor, text, NoiseKind, NoiseLevel};
use crate::plan::NoiseSettings;
use ndarray::{ArrayD, Axis};

/// The sample's inputs, clean or at one noise level, in sample order.
enum SampleInputs {
    Text(Vec<TextInput>),
    Tensor(ArrayD<f32>),
}

fn clean_inputs(inputs: &AttackInputs, examples: &[Example]) -> Result<SampleInputs, CompareError> {
    match inputs {
        AttackInputs::Text(_) => {
            Ok(SampleInputs::Text(examples.iter().map(|e| TextInput { text: e.text.clone().unwrap_or_default(), pair: e.text_pair.clone() }).collect()))
        }
        AttackInputs::Tensor { values, .. } => Ok(SampleInputs::Tensor(values.clone())),
        AttackInputs::Unsupported(why) => Err(CompareError::Noise(why.replace("attacks need", "the noise stage needs").replace("to attack", "to perturb"))),
    }
}

/// The clean inputs at `level`: example `sample[k]` draws from its own stream; tensors scale by
/// `spread`, each feature's spread over the whole sample.
fn perturb(clean: &SampleInputs, sample: &[usize], level: &NoiseLevel, seed: u64, spread: &[f64]) -> SampleInputs {
    match clean {
        SampleInputs::Text(texts) => SampleInputs::Text(
            texts
                .iter()
                .zip(sample)
                .map(|(t, &i)| {
                    let mut rng = example_rng(seed, level, i);
                    let mut apply = |s: &str| match level.kind {
                        NoiseKind::Dropout => text::word_dropout(s, level.rate, &mut rng),
                        _ => text::characters(s, level.rate, &mut rng),
                    };
                    let text = apply(&t.text);
                    TextInput { text, pair: t.pair.as_deref().map(&mut apply) }
                })
                .collect(),
        ),
        SampleInputs::Tensor(values) if level.kind.for_images() => {
            // Pixels in [0, 1]: corrupted as 8-bit images, the result back on the same grid.
            let mut noisy = values.clone();
            let shape = values.shape().to_vec();
            for (mut row, &i) in noisy.axis_iter_mut(Axis(0)).zip(sample) {
                let bytes: Vec<u8> = row.iter().map(|&x| (x.clamp(0.0, 1.0) * 255.0).round() as u8).collect();
                let image = crate::vision::Pixels::new(shape[2] as u32, shape[1] as u32, 3, bytes);
                let out = crate::noise::image::corrupt(&image, level.kind.name(), level.rate as usize, &mut example_rng(seed, level, i));
                row.iter_mut().zip(out.data).for_each(|(x, v)| *x = f32::from(v) / 255.0);
            }
            SampleInputs::Tensor(noisy)
        }
        SampleInputs::Tensor(values) => {
            let mut noisy = values.clone();
            for (mut row, &i) in noisy.axis_iter_mut(Axis(0)).zip(sample) {
                let flat: Vec<f32> = row.iter().copied().collect();
                let out = tensor::gaussian(&flat, spread, level.rate, &mut example_rng(seed, level, i));
                row.iter_mut().zip(out).for_each(|(x, v)| *x = v);
            }
            SampleInputs::Tensor(noisy)
        }
    }
}

/// One model's label for every sampled example, in batches of `batch_size`.
fn labels(backend: &mut dyn Backend, kind: OutputKind, inputs: &AttackInputs, sample: &SampleInputs, batch_size: usize) -> Result<Vec<usize>, CompareError> {
    let batch_size = batch_size.max(1);
    let mut out = Vec::new();
    match (sample, inputs) {
        (SampleInputs::Text(texts), AttackInputs::Text(encoder)) => {
            let mut model = TextModel::new(backend, encoder, kind);
            for chunk in texts.chunks(batch_size) {
                out.extend(model.classify(chunk)?.iter().map(|p| argmax(p)));
            }
        }
        (SampleInputs::Tensor(values), AttackInputs::Tensor { input, images, .. }) => {
            let mut model = TensorModel::new(backend, input, kind, images.as_ref());
            for start in (0..values.shape()[0]).step_by(batch_size) {
                let end = (start + batch_size).min(values.shape()[0]);
                out.extend(model.classify(values.slice_axis(Axis(0), (start..end).into()))?.iter().map(|p| argmax(p)));
            }
        }
        _ => return Err(CompareError::Noise("the sample's inputs and the models' inputs differ in kind".into())),
    }
    Ok(out)
}

/// One line of `--noise-out` per example of a level.
fn saved_lines(out: &mut Vec<u8>, level: &NoiseLevel, sample: &[usize], noisy: &SampleInputs) {
    let mut line = |value: serde_json::Value| {
        out.extend(value.to_string().bytes());
        out.push(b'\n');
    };
    match noisy {
        SampleInputs::Text(texts) => {
            for (t, &i) in texts.iter().zip(sample) {
                line(serde_json::json!({ "level": level.spec(), "example": i, "text": t.text, "text_pair": t.pair }));
            }
        }
        SampleInputs::Tensor(values) => {
            for (row, &i) in values.axis_iter(Axis(0)).zip(sample) {
                // As f64: each value prints exactly and reads back as the same float32.
                let features: Vec<f64> = row.iter().map(|&x| f64::from(x)).collect();
                line(serde_json::json!({ "level": level.spec(), "example": i, "features": features }));
            }
        }
    }
}

/// Image files: each noisy image as a PNG in a folder beside `--noise-out` (`NAME.images/LEVEL/`),
/// and a JSONL line naming it.
fn saved_images(out: &mut Vec<u8>, path: &std::path::Path, level: &NoiseLevel, sample: &[usize], values: &ArrayD<f32>) -> Result<(), CompareError> {
    let folder_name = format!("{}.images", path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "noise".into()));
    let folder = path.with_file_name(&folder_name).join(level.spec().replace(':', "-"));
    std::fs::create_dir_all(&folder).map_err(|e| CompareError::Noise(format!("cannot create {}: {e}", folder.display())))?;
    let shape = values.shape();
    for (row, &i) in values.axis_iter(Axis(0)).zip(sample) {
        let bytes: Vec<u8> = row.iter().map(|&x| (x.clamp(0.0, 1.0) * 255.0).round() as u8).collect();
        let file = folder.join(format!("{i}.png"));
        crate::vision::decode::write_png(&crate::vision::Pixels::new(shape[2] as u32, shape[1] as u32, 3, bytes), &file)
            .map_err(|e| CompareError::Noise(format!("cannot write {}: {e}", file.display())))?;
        let relative = format!("{folder_name}/{}/{i}.png", level.spec().replace(':', "-"));
        out.extend(serde_json::json!({ "level": level.spec(), "example": i, "image": relative }).to_string().bytes());
        out.push(b'\n');
    }
    Ok(())
}

/// Fills in the teacher's, each model's and each student's noise results from every model's labels.
pub fn fill(labels: &NoiseLabels, settings: &NoiseSettings, bootstrap: crate::stats::BootstrapSettings, report: &mut crate::report::Report) {
    let (own, versus) = labels.results(&settings.levels, bootstrap);
    let mut own = own.into_iter();
    report.teacher.noise = own.next();
    for ((student, mine), theirs) in report.students.iter_mut().zip(own).zip(versus) {
        student.model.noise = Some(mine);
        student.noise = Some(theirs);
    }
}

/// Runs every level on every model over the sample members in `scope` and fills in the noise
/// results (a shard's are its part's; the merge fills them in from every part's).
pub fn noise_all(
    plan: &crate::plan::ComparePlan,
    settings: &NoiseSettings,
    session: &mut super::load::Session,
    evaluated: &super::evaluate::Evaluated,
    report: &mut crate::report::Report,
    progress: &super::Progress,
    scope: Option<super::inputs::Scope>,
) -> Result<NoiseLabels, CompareError> {
    let data = &evaluated.data;
    let scope = scope.unwrap_or(super::inputs::Scope { total_rows: data.examples, rows: 0..data.examples });
    // Drawn from the whole data's rows, so every shard draws the single run's sample.
    let sample = crate::inference::invariance::sample_indices(scope.total_rows, settings.examples, settings.seed);
    let (first, end) = (sample.partition_point(|&i| i < scope.rows.start), sample.partition_point(|&i| i < scope.rows.end));
    // Members run in the single run's batches (sample order): a shard also runs the members that
    // share a batch with its first and last, outside its rows, and drops their labels.
    let batch = plan.batch_size.max(1);
    let run = (first / batch * batch)..(end.div_ceil(batch) * batch).min(sample.len());
    let mut slots =
        super::cache_slots::stage_slots(plan, session, crate::cache::CacheStage::Noise, serde_json::json!(settings), scope.rows != (0..scope.total_rows));
    let models = &mut session.models;
    let tensors = matches!(plan.inputs, crate::plan::InputPlan::Tensors);
    // Tensors scale noise by each feature's spread over the whole sample: read all of it.
    let read = if tensors { 0..sample.len() } else { run.clone() };
    let (examples, inputs) = super::inputs::read_sample(plan, models.teacher.info(), session.label_names.as_ref(), &sample[read.clone()])?;
    let all_clean = clean_inputs(&inputs, &examples)?;
    let spread = match &all_clean {
        SampleInputs::Tensor(values) => tensor::spread(values),
        SampleInputs::Text(_) => vec![],
    };
    let local = (run.start - read.start)..(run.end - read.start);
    let clean = match all_clean {
        SampleInputs::Text(t) => SampleInputs::Text(t[local.clone()].to_vec()),
        SampleInputs::Tensor(v) => SampleInputs::Tensor(v.slice_axis(Axis(0), local.clone().into()).to_owned()),
    };
    let kept = (first - run.start)..(end - run.start);
    let kinds: Vec<OutputKind> = data.models.iter().map(|m| m.output_kind).collect();
    // Every model's calls go through its cache slot: a model found there runs no noisy input.
    let mut each_slot = slots.iter_mut().map(Option::as_mut);
    let owned = std::iter::once(&mut models.teacher).chain(models.students.iter_mut());
    let mut replayed: Vec<Replayed> = owned.map(|m| Replayed::new(m, each_slot.next().flatten())).collect();
    let mut backends: Vec<&mut dyn Backend> = replayed.iter_mut().map(|r| r as &mut dyn Backend).collect();
    progress.say(format!("noise: {} examples, {} levels, {} models", end - first, settings.levels.len(), backends.len()));
    let mut labels_of = |inputs_at: &SampleInputs| -> Result<Vec<Vec<usize>>, CompareError> {
        backends.iter_mut().zip(&kinds).map(|(b, &k)| labels(&mut **b, k, &inputs, inputs_at, plan.batch_size).map(|l| l[kept.clone()].to_vec())).collect()
    };
    let mut held =
        NoiseLabels { first, gold: examples[local.clone()][kept.clone()].iter().map(|e| e.label).collect(), clean: labels_of(&clean)?, noisy: vec![] };
    let mut saved = Vec::new();
    for level in &settings.levels {
        let noisy = perturb(&clean, &sample[run.clone()], level, settings.seed, &spread);
        match (&settings.save, &noisy, &plan.inputs) {
            (Some(path), SampleInputs::Tensor(values), crate::plan::InputPlan::Images(_)) => {
                saved_images(&mut saved, path, level, &sample[run.clone()], values)?
            }
            (Some(_), ..) => saved_lines(&mut saved, level, &sample[run.clone()], &noisy),
            (None, ..) => {}
        }
        held.noisy.push(labels_of(&noisy)?);
    }
    if let Some(path) = &settings.save {
        crate::report::files::write_atomically(path, &saved)?;
    }
    drop(backends);
    drop((replayed, each_slot));
    fill(&held, settings, plan.subgroups.bootstrap, report);
    super::cache_slots::record(report, slots);
    Ok(held)
}
