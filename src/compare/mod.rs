//! `fidelity compare`: load, encode, run the teacher, then each student; write the report after
//! every student so an interrupted run keeps what it finished.

pub mod attack_run;
mod inputs;
pub mod model_run;

use crate::data::text::TextError;
use crate::data::{DataError, Example};
use crate::evaluate::{compare, EvalError};
use model_run::{plans, run_model, Batchings, ModelRun};
use crate::model::label_names::LabelNamesError;
use crate::model::onnx::RuntimeError;
use crate::model::{Backend, LabelNames, ModelError, OnnxBackend, Runtime};
use crate::plan::ComparePlan;
use crate::report::files::{write_reports, WriteError};
use crate::report::{self, Batching, Conventions, DataInfo, ModelReport, Report, RuntimeInfo, StatisticsInfo, StudentReport};
use crate::subgroups::{analyse, define_groups};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum CompareError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    LabelNames(#[from] LabelNamesError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Text(#[from] TextError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Eval(#[from] EvalError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("attack: {0}")]
    Attack(#[from] crate::attack::AttackError),
    #[error("model {model} must have exactly one float32 input for --feature-columns, but has: {inputs}; give the data as .npz with one array per input")]
    FeatureInput { model: String, inputs: String },
    #[error("model {model}: its {config} orders the classes as [{student}] but the teacher's id2label is [{teacher}]; fidelity compares class i with class i, so it refuses. Re-export the student with the teacher's class order")]
    LabelOrder { model: String, config: String, student: String, teacher: String },
    #[error("{config} names {names} classes (id2label) but model {model} outputs {classes}; use the config.json that belongs to the model")]
    LabelNamesCount { config: String, names: usize, model: String, classes: usize },
}

/// Prints progress to stderr unless quiet.
struct Progress {
    quiet: bool,
}

impl Progress {
    fn say(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("fidelity: {}", message.as_ref());
        }
    }
}

fn model_report(backend: &dyn Backend, run: &ModelRun, accuracy: Option<f64>, session_memory_bytes: Option<u64>) -> ModelReport {
    ModelReport {
        info: backend.info().clone(),
        output_kind: run.pass.output_kind,
        output_kind_detected: run.pass.output_kind_detected,
        accuracy,
        batching: run.batching.clone(),
        batch_invariance: run.invariance.clone(),
        inference_seconds: run.pass.inference_seconds,
        speed: None,
        session_memory_bytes,
        hub: None,
        size: None,
        size_note: None,
        attack: None,
    }
}

fn check_labels(plan: &ComparePlan, examples: &[Example], classes: usize) -> Result<(), EvalError> {
    match examples.iter().find(|e| e.label.is_some_and(|l| l >= classes)) {
        Some(e) => Err(EvalError::LabelOutOfRange {
            path: plan.data.display().to_string(),
            origin: e.origin.clone(),
            label: e.label.unwrap_or_default(),
            classes,
            last: classes.saturating_sub(1),
        }),
        None => Ok(()),
    }
}

/// The first `limit` examples (file order) where student and teacher labels differ.
fn disagreements(
    comparisons: &[crate::metrics::ExampleComparison],
    teacher: &crate::evaluate::ProbabilityTable,
    student: &crate::evaluate::ProbabilityTable,
    examples: &[Example],
    names: Option<&LabelNames>,
    limit: usize,
) -> Vec<report::Disagreement> {
    let name = |c: usize| names.and_then(|n| n.names().get(c).cloned()).unwrap_or_else(|| c.to_string());
    comparisons
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.agrees())
        .take(limit)
        .map(|(i, c)| report::Disagreement {
            origin: examples[i].origin.clone(),
            text: examples[i].text.clone(),
            text_pair: examples[i].text_pair.clone(),
            gold: c.gold.map(name),
            teacher: name(c.teacher_label),
            teacher_probability: teacher.row(i)[c.teacher_label],
            student: name(c.student_label),
            student_probability: student.row(i)[c.student_label],
        })
        .collect()
}

/// Runs the whole comparison and returns the final report (also written to `plan.out`).
pub fn run(plan: &ComparePlan) -> Result<Report, CompareError> {
    let progress = Progress { quiet: plan.quiet };
    let mut runtime = Runtime::load(plan.ort_lib.as_deref())?;
    runtime.threads = plan.threads;
    if let Some(n) = plan.threads {
        // The global pool can be set once per process; a library caller may have set it already.
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
    }
    progress.say(format!("ONNX Runtime {} from {}", runtime.version, runtime.library.path.display()));

    let label_names = match &plan.config {
        Some(path) => LabelNames::from_config(path)?,
        None => None,
    };
    // Load every model before reading the data, so a bad model file fails in seconds, and CSV
    // features know the teacher's input name.
    let mut memory = Vec::new();
    let mut load = |m: &crate::plan::ModelSource| {
        let before = crate::speed::memory::rss_bytes();
        let backend = OnnxBackend::load(&runtime, &m.name, &m.path, m.device, plan.allow_fallback);
        memory.push(before.zip(crate::speed::memory::rss_bytes()).map(|(b, a)| a.saturating_sub(b)));
        backend
    };
    let mut teacher = load(&plan.teacher)?;
    let mut students = plan.students.iter().map(&mut load).collect::<Result<Vec<_>, _>>()?;

    // A student with its own config.json must name the classes as the teacher does, in the same
    // order: class i is compared with class i, so a reordered id2label would compare silently wrong.
    if let Some(teacher_names) = &label_names {
        for s in &plan.students {
            let own = match &s.hub {
                Some(h) => match &h.config {
                    Some(c) => c.clone(),
                    None => continue,
                },
                None => s.path.parent().unwrap_or(std::path::Path::new(".")).join("config.json"),
            };
            if plan.config.as_deref().and_then(|c| c.canonicalize().ok()) == own.canonicalize().ok() || !own.is_file() {
                continue;
            }
            if let Some(names) = LabelNames::from_config(&own)? {
                if names.names() != teacher_names.names() {
                    return Err(CompareError::LabelOrder {
                        model: s.name.clone(),
                        config: own.display().to_string(),
                        student: names.names().join(", "),
                        teacher: teacher_names.names().join(", "),
                    });
                }
            }
        }
    }
    // Class counts the graphs state: a mismatch fails before any inference.
    if let Some(expected) = teacher.info().classes {
        for s in &students {
            if let Some(got) = s.info().classes.filter(|&c| c != expected) {
                return Err(EvalError::ClassCount {
                    model: s.info().name.clone(),
                    got,
                    reference: format!("the teacher ({})", plan.teacher.name),
                    expected,
                }
                .into());
            }
        }
    }
    let data = inputs::prepare(plan, teacher.info(), label_names.as_ref())?;
    let labels: Vec<Option<usize>> = data.examples.iter().map(|e| e.label).collect();
    let attribute_values: Vec<Vec<String>> = data.examples.iter().map(|e| e.attributes.clone()).collect();
    let groups = define_groups(&plan.columns.groups, &attribute_values);
    progress.say(format!("{} examples from {}", data.examples.len(), plan.data.display()));

    let origin = |i: usize| data.examples[i].origin.clone();
    let (evaluation, serving) = plans(data.source.as_ref(), plan.batch_size, plan.batch_order, plan.serving_batch_size);
    let batchings = Batchings { source: data.source.as_ref(), evaluation, serving, invariance: plan.invariance, outputs: plan.outputs, quiet: plan.quiet };
    let teacher_run = run_model(&mut teacher, &batchings, &origin)?;
    let teacher_pass = &teacher_run.pass;
    let classes = teacher_pass.probabilities.classes;
    if let (Some(names), Some(config)) = (&label_names, &plan.config) {
        if names.len() != classes {
            return Err(CompareError::LabelNamesCount {
                config: config.display().to_string(),
                names: names.len(),
                model: plan.teacher.name.clone(),
                classes,
            });
        }
    }
    check_labels(plan, &data.examples, classes)?;
    let self_comparison = compare(&teacher_pass.probabilities, &teacher_pass.probabilities, &labels, plan.js_base);
    progress.say(format!("{}: {:.2} s in ONNX Runtime", plan.teacher.name, teacher_pass.inference_seconds));

    let mut report = Report {
        schema_version: report::SCHEMA_VERSION,
        name: plan.name.clone(),
        tool: report::Tool::default(),
        complete: false,
        runtime: RuntimeInfo {
            onnxruntime_version: runtime.version.clone(),
            library: runtime.library.path.clone(),
            library_origin: runtime.library.origin.clone(),
        },
        data: DataInfo {
            path: plan.data.clone(),
            format: plan.data_format,
            examples: data.examples.len(),
            labelled: labels.iter().filter(|l| l.is_some()).count(),
            columns: data.columns.clone(),
            inputs: data.info.clone(),
            label_names: label_names.as_ref().map(|l| l.names().to_vec()),
        },
        batching: Batching {
            batch_size: plan.batch_size,
            order: plan.batch_order,
            serving_batch_size: plan.serving_batch_size,
            padding: data.padding,
            invariance: plan.invariance,
        },
        conventions: Conventions::new(plan.js_base),
        statistics: StatisticsInfo { settings: plan.subgroups, group_attributes: plan.columns.groups.clone() },
        speed: plan.speed.clone(),
        attack: plan.attack.clone(),
        peak_rss_bytes: None,
        teacher: ModelReport { hub: plan.teacher.hub.clone(), ..model_report(&teacher, &teacher_run, self_comparison.metrics.teacher_accuracy, memory[0]) },
        students: Vec::with_capacity(students.len()),
        gate: crate::gate::GateOutcome { checks: vec![], passed: 0, failed: 0 },
    };

    let mut student_predictions = Vec::with_capacity(students.len());
    for student in students.iter_mut() {
        let run = run_model(student, &batchings, &origin)?;
        let pass = &run.pass;
        if pass.probabilities.classes != classes {
            return Err(EvalError::ClassCount {
                model: student.info().name.clone(),
                got: pass.probabilities.classes,
                reference: format!("the teacher ({})", plan.teacher.name),
                expected: classes,
            }
            .into());
        }
        let comparison = compare(&teacher_pass.probabilities, &pass.probabilities, &labels, plan.js_base);
        progress.say(format!("{}: {:.2} s in ONNX Runtime", student.info().name, pass.inference_seconds));
        let statistics = analyse(&comparison.examples, &comparison.metrics, &groups, plan.subgroups);
        student_predictions.push((pass.output_kind, comparison.examples.iter().map(|c| c.student_label).collect::<Vec<_>>()));
        let js_upper = match plan.js_base {
            crate::metrics::LogBase::E => std::f64::consts::LN_2.sqrt(),
            crate::metrics::LogBase::Two => 1.0,
        };
        let js_histogram = report::Histogram::new(comparison.examples.iter().map(|c| 1.0 - c.probability_loyalty), js_upper, 20);
        let disagreements = disagreements(&comparison.examples, &teacher_pass.probabilities, &pass.probabilities, &data.examples, label_names.as_ref(), 10);
        report.students.push(StudentReport {
            model: ModelReport {
                hub: plan.students[report.students.len()].hub.clone(),
                ..model_report(student, &run, comparison.metrics.student_accuracy, memory[report.students.len() + 1])
            },
            fidelity: comparison.metrics,
            statistics,
            js_histogram,
            disagreements,
        });
        report.gate = crate::gate::evaluate(&plan.gates, &report);
        write_reports(&report, &plan.reports)?;
    }
    if let Some(settings) = &plan.attack {
        let labelled: Vec<usize> = (0..labels.len()).filter(|&i| labels[i].is_some()).collect();
        let sample: Vec<usize> = crate::evaluate::invariance::sample_indices(labelled.len(), settings.examples, settings.seed).into_iter().map(|k| labelled[k]).collect();
        let owned = settings.synonyms.as_deref().map(crate::attack::SynonymTable::from_json_file).transpose()?;
        let ctx = attack_run::AttackContext {
            settings,
            inputs: &data.attack_inputs,
            examples: &data.examples,
            sample,
            groups: &groups,
            batch_size: plan.batch_size,
            synonyms: owned.as_ref().unwrap_or_else(|| crate::attack::SynonymTable::wordnet()),
            quiet: plan.quiet,
        };
        progress.say(format!("attacking {} examples per model", ctx.sample.len()));
        let (teacher_outcomes, teacher_attack) = attack_run::attack_model(&ctx, &mut teacher, teacher_run.pass.output_kind)?;
        report.teacher.attack = Some(teacher_attack);
        for ((student, (kind, predictions)), entry) in students.iter_mut().zip(&student_predictions).zip(report.students.iter_mut()) {
            let (_, mut direct) = attack_run::attack_model(&ctx, student, *kind)?;
            direct.transfer = Some(attack_run::transfer(&ctx, &teacher_outcomes, student, *kind, predictions)?);
            entry.model.attack = Some(direct);
        }
        write_reports(&report, &plan.reports)?;
    }
    if let Some(settings) = &plan.speed {
        progress.say("measuring speed (teacher and students interleaved)");
        let mut models: Vec<&mut dyn Backend> = std::iter::once(&mut teacher as &mut dyn Backend).chain(students.iter_mut().map(|s| s as &mut dyn Backend)).collect();
        let speeds = crate::speed::measure(&mut models, data.source.as_ref(), settings, plan.batch_size)?;
        let mut speeds = speeds.into_iter();
        report.teacher.speed = speeds.next();
        for (s, speed) in report.students.iter_mut().zip(speeds) {
            s.model.speed = Some(speed);
        }
    }
    let mean_length = (0..data.source.len()).map(|i| data.source.length(i) as f64).sum::<f64>() / data.source.len().max(1) as f64;
    let sequence_length = (mean_length > 0.0).then_some(mean_length);
    for m in std::iter::once(&mut report.teacher).chain(report.students.iter_mut().map(|s| &mut s.model)) {
        match std::fs::read(&m.info.path).map_err(|e| e.to_string()).and_then(|b| crate::model::graph_stats::graph_stats(&b, sequence_length)) {
            Ok(mut stats) => {
                if let Some(l) = sequence_length {
                    stats.assumptions.iter_mut().filter(|a| a.contains("sequence length")).for_each(|a| a.push_str(&format!(" (data mean {l:.1} tokens)")));
                }
                m.size = Some(stats);
            }
            Err(e) => m.size_note = Some(format!("size not read: {e}")),
        }
    }
    report.peak_rss_bytes = crate::speed::memory::peak_rss_bytes();
    report.complete = true;
    report.gate = crate::gate::evaluate(&plan.gates, &report);
    write_reports(&report, &plan.reports)?;
    progress.say(format!("report written to {}", plan.reports.json.display()));
    Ok(report)
}
