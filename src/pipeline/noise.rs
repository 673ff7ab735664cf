//! Stage 3b, noise: a seeded sample of the data, perturbed at each noise level, through every
//! model. Every model sees the same noisy inputs; clean and noisy copies run in the same batches
//! (sample order, the evaluation batch size), so a change of label is the noise's doing, not the
//! batching's. Each level is made, run on every model and dropped before the next, so memory
//! holds one noisy copy of the sample at a time.

use super::attack::{TensorModel, TextModel};
use super::inputs::AttackInputs;
use super::CompareError;
use crate::attack::{TensorClassifier, TextClassifier, TextInput};
use crate::data::Example;
use crate::metrics::{argmax, OutputKind};
use crate::model::Backend;
use crate::noise::robustness::{compare, model_noise, Labels};
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
        AttackInputs::Text(_) => Ok(SampleInputs::Text(
            examples.iter().map(|e| TextInput { text: e.text.clone().unwrap_or_default(), pair: e.text_pair.clone() }).collect(),
        )),
        AttackInputs::Tensor { values, .. } => Ok(SampleInputs::Tensor(values.clone())),
        AttackInputs::Unsupported(why) => Err(CompareError::Noise(why.replace("attacks need", "the noise stage needs").replace("to attack", "to perturb"))),
    }
}

/// The clean inputs at `level`: example `sample[k]` draws from its own stream.
fn perturb(clean: &SampleInputs, sample: &[usize], level: &NoiseLevel, seed: u64) -> SampleInputs {
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
        SampleInputs::Tensor(values) => {
            let spread = tensor::spread(values);
            let mut noisy = values.clone();
            for (mut row, &i) in noisy.axis_iter_mut(Axis(0)).zip(sample) {
                let flat: Vec<f32> = row.iter().copied().collect();
                let out = tensor::gaussian(&flat, &spread, level.rate, &mut example_rng(seed, level, i));
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
        (SampleInputs::Tensor(values), AttackInputs::Tensor { input, .. }) => {
            let mut model = TensorModel::new(backend, input, kind);
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

/// Runs every level on every model and fills in the teacher's, each model's and each student's
/// noise results.
pub fn noise_all(
    plan: &crate::plan::ComparePlan,
    settings: &NoiseSettings,
    session: &mut super::load::Session,
    evaluated: &super::evaluate::Evaluated,
    report: &mut crate::report::Report,
    progress: &super::Progress,
) -> Result<(), CompareError> {
    let data = &evaluated.data;
    let sample = crate::inference::invariance::sample_indices(data.examples, settings.examples, settings.seed);
    let models = &mut session.models;
    let (examples, inputs) = super::inputs::read_sample(plan, models.teacher.info(), session.label_names.as_ref(), &sample)?;
    let gold: Vec<Option<usize>> = examples.iter().map(|e| e.label).collect();
    let clean = clean_inputs(&inputs, &examples)?;
    let kinds: Vec<OutputKind> = data.models.iter().map(|m| m.output_kind).collect();
    let mut backends: Vec<&mut dyn Backend> = std::iter::once(&mut models.teacher as &mut dyn Backend).chain(models.students.iter_mut().map(|s| s as &mut dyn Backend)).collect();
    progress.say(format!("noise: {} examples, {} levels, {} models", sample.len(), settings.levels.len(), backends.len()));
    let clean_labels = backends.iter_mut().zip(&kinds).map(|(b, &k)| labels(&mut **b, k, &inputs, &clean, plan.batch_size)).collect::<Result<Vec<_>, _>>()?;
    let (mut own, mut versus) = (vec![Vec::new(); backends.len()], vec![Vec::new(); backends.len() - 1]);
    let mut saved = Vec::new();
    for level in &settings.levels {
        let noisy = perturb(&clean, &sample, level, settings.seed);
        if settings.save.is_some() {
            saved_lines(&mut saved, level, &sample, &noisy);
        }
        let noisy_labels = backends.iter_mut().zip(&kinds).map(|(b, &k)| labels(&mut **b, k, &inputs, &noisy, plan.batch_size)).collect::<Result<Vec<_>, _>>()?;
        let of = |m: usize| Labels { clean: &clean_labels[m], noisy: &noisy_labels[m] };
        for (m, results) in own.iter_mut().enumerate() {
            results.push(model_noise(*level, &gold, of(m)));
        }
        for (s, results) in versus.iter_mut().enumerate() {
            results.push(compare(*level, &gold, of(0), of(s + 1), plan.subgroups.bootstrap));
        }
    }
    if let Some(path) = &settings.save {
        crate::report::files::write_atomically(path, &saved)?;
    }
    let mut own = own.into_iter();
    report.teacher.noise = own.next();
    for ((student, mine), theirs) in report.students.iter_mut().zip(own).zip(versus) {
        student.model.noise = Some(mine);
        student.noise = Some(theirs);
    }
    Ok(())
}
