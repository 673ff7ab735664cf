//! `fidelity compare`: load, encode, run the teacher, then each student; write the report after
//! every student so an interrupted run keeps what it finished.

pub mod attack_run;
pub mod evaluation;
pub mod inputs;
pub mod model_run;

use crate::data::text::TextError;
use crate::data::DataError;
use crate::evaluate::EvalError;
use crate::machine::MachineInfo;
use crate::model::label_names::LabelNamesError;
use crate::model::onnx::RuntimeError;
use crate::model::{Backend, LabelNames, ModelError, OnnxBackend, Runtime};
use crate::plan::ComparePlan;
use crate::report::files::{write_reports, WriteError};
use crate::report::{self, Batching, Conventions, DataInfo, ModelReport, Report, RuntimeInfo, StatisticsInfo, StudentReport};
use crate::subgroups::analyse_samples;
use evaluation::ModelTrack;
use inputs::ChunkReader;
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

fn model_report(backend: &dyn Backend, track: &ModelTrack, accuracy: Option<f64>, session_memory_bytes: Option<u64>, machine: &MachineInfo) -> ModelReport {
    ModelReport {
        kernels: report::machine::kernel_note(backend.info(), machine),
        info: backend.info().clone(),
        output_kind: track.output_kind,
        output_kind_detected: track.output_kind_detected,
        accuracy,
        batching: track.batching.clone(),
        batch_invariance: track.invariance.clone(),
        inference_seconds: track.inference_seconds,
        onnxruntime_seconds: backend.runtime_seconds(),
        speed: None,
        session_memory_bytes,
        hub: None,
        size: None,
        size_note: None,
        attack: None,
    }
}

/// The loaded models and the resident-memory growth while each session was created.
pub(crate) struct Loaded {
    pub teacher: OnnxBackend,
    pub students: Vec<OnnxBackend>,
    /// Teacher first.
    pub memory: Vec<Option<u64>>,
}

/// Loads every model of the plan (before any data is read, so a bad model file fails in seconds).
pub(crate) fn load_models(plan: &ComparePlan, runtime: &Runtime) -> Result<Loaded, ModelError> {
    let mut memory = Vec::new();
    let mut load = |m: &crate::plan::ModelSource| {
        let before = crate::speed::memory::rss_bytes();
        let settings = crate::model::onnx::SessionSettings {
            device: m.device,
            allow_fallback: plan.allow_fallback,
            exact_integer: m.exact_integer,
            twin_of: m.twin_of.clone(),
        };
        let backend = OnnxBackend::load(runtime, &m.name, &m.path, &settings);
        memory.push(before.zip(crate::speed::memory::rss_bytes()).map(|(b, a)| a.saturating_sub(b)));
        backend
    };
    let teacher = load(&plan.teacher)?;
    let students = plan.students.iter().map(&mut load).collect::<Result<Vec<_>, _>>()?;
    Ok(Loaded { teacher, students, memory })
}

/// Size and dense FLOPs read from the ONNX file; sequence models are costed at `sequence_length`
/// tokens (the data's mean). The error is a note for the report.
pub(crate) fn model_size(path: &std::path::Path, sequence_length: Option<f64>) -> Result<crate::model::graph_stats::GraphStats, String> {
    let mut stats = std::fs::read(path)
        .map_err(|e| e.to_string())
        .and_then(|b| crate::model::graph_stats::graph_stats(&b, sequence_length))
        .map_err(|e| format!("size not read: {e}"))?;
    if let Some(l) = sequence_length {
        stats.assumptions.iter_mut().filter(|a| a.contains("sequence length")).for_each(|a| a.push_str(&format!(" (data mean {l:.1} tokens)")));
    }
    Ok(stats)
}

/// Runs the whole comparison and returns the final report (also written to `plan.out`).
pub fn run(plan: &ComparePlan) -> Result<Report, CompareError> {
    let progress = Progress { quiet: plan.quiet };
    let runtime = Runtime::load(plan.ort_lib.as_deref(), plan.threads)?;
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
    let Loaded { mut teacher, mut students, memory } = load_models(plan, &runtime)?;

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
                return Err(
                    EvalError::ClassCount { model: s.info().name.clone(), got, reference: format!("the teacher ({})", plan.teacher.name), expected }.into()
                );
            }
        }
    }
    let encoder = inputs::text_encoder(plan)?;
    let mut reader = ChunkReader::open(plan, teacher.info(), label_names.as_ref(), encoder.as_ref())?;
    let chunk_size = inputs::chunk_size(plan.chunk_size, plan.batch_size, plan.serving_batch_size);
    let batching = evaluation::Batching {
        batch_size: plan.batch_size,
        order: plan.batch_order,
        serving_batch_size: plan.serving_batch_size,
        invariance: plan.invariance,
        outputs: plan.outputs,
    };
    let checks =
        evaluation::ClassChecks { data_path: &plan.data, label_names: label_names.as_ref(), config: plan.config.as_deref(), teacher_name: &plan.teacher.name };
    progress.say(format!("evaluating {} models on {} in chunks of {chunk_size} examples", students.len() + 1, plan.data.display()));
    let bar = crate::progress::counter("evaluating", plan.quiet);
    let mut models: Vec<&mut dyn Backend> =
        std::iter::once(&mut teacher as &mut dyn Backend).chain(students.iter_mut().map(|s| s as &mut dyn Backend)).collect();
    let evaluation_started = std::time::Instant::now();
    let evaluated = evaluation::evaluate(&mut reader, chunk_size, &mut models, &batching, &plan.columns.groups, plan.js_base, &checks, &bar)?;
    let evaluation_seconds = evaluation_started.elapsed().as_secs_f64();
    crate::progress::finish(bar);
    drop(models);
    progress.say(format!("{} examples from {}", evaluated.examples, plan.data.display()));
    for (m, track) in std::iter::once(&teacher as &dyn Backend).chain(students.iter().map(|s| s as &dyn Backend)).zip(&evaluated.models) {
        progress.say(format!("{}: {:.2} s in ONNX Runtime", m.info().name, track.inference_seconds));
    }
    let tally = reader.tally();
    let machine = MachineInfo::detect();

    let mut report = Report {
        schema_version: report::SCHEMA_VERSION,
        name: plan.name.clone(),
        tool: report::Tool::default(),
        complete: false,
        machine: machine.clone(),
        runtime: RuntimeInfo {
            onnxruntime_version: runtime.version.clone(),
            library: runtime.library.path.clone(),
            library_origin: runtime.library.origin.clone(),
            integer_numerics: plan.integer_numerics,
        },
        data: DataInfo {
            path: plan.data.clone(),
            format: plan.data_format,
            examples: evaluated.examples,
            labelled: evaluated.labelled.iter().filter(|&&l| l).count(),
            columns: reader.columns().clone(),
            inputs: tally.info.clone(),
            label_names: label_names.as_ref().map(|l| l.names().to_vec()),
        },
        batching: Batching {
            batch_size: plan.batch_size,
            order: plan.batch_order,
            serving_batch_size: plan.serving_batch_size,
            chunk_size,
            padding: tally.padding,
            invariance: plan.invariance,
        },
        conventions: Conventions::new(plan.js_base),
        statistics: StatisticsInfo { settings: plan.subgroups, group_attributes: plan.columns.groups.clone() },
        speed: plan.speed.clone(),
        attack: plan.attack.clone(),
        peak_rss_bytes: None,
        teacher: ModelReport {
            hub: plan.teacher.hub.clone(),
            ..model_report(&teacher, &evaluated.models[0], evaluated.teacher.clone().finish().teacher_accuracy, memory[0], &machine)
        },
        students: Vec::with_capacity(students.len()),
        gate: crate::gate::GateOutcome { checks: vec![], passed: 0, failed: 0 },
    };
    let js_upper = match plan.js_base {
        crate::metrics::LogBase::E => std::f64::consts::LN_2.sqrt(),
        crate::metrics::LogBase::Two => 1.0,
    };
    for (s, (student, tally)) in students.iter().zip(&evaluated.students).enumerate() {
        let metrics = tally.metrics.clone().finish();
        let statistics = analyse_samples(&tally.samples, &metrics, &evaluated.groups, &evaluated.group_metrics[s], plan.subgroups);
        report.students.push(StudentReport {
            model: ModelReport {
                hub: plan.students[s].hub.clone(),
                ..model_report(student, &evaluated.models[s + 1], metrics.student_accuracy, memory[s + 1], &machine)
            },
            js_histogram: report::Histogram::new(tally.samples.loyalties().iter().map(|l| 1.0 - l), js_upper, 20),
            disagreements: tally.disagreements.clone(),
            fidelity: metrics,
            statistics,
        });
    }
    report.gate = crate::gate::evaluate(&plan.gates, &report);
    write_reports(&report, &plan.reports)?;

    if let Some(settings) = &plan.attack {
        let labelled: Vec<usize> = (0..evaluated.labelled.len()).filter(|&i| evaluated.labelled[i]).collect();
        let sample: Vec<usize> =
            crate::evaluate::invariance::sample_indices(labelled.len(), settings.examples, settings.seed).into_iter().map(|k| labelled[k]).collect();
        let (examples, attack_inputs) = inputs::attack_sample(plan, teacher.info(), label_names.as_ref(), &sample)?;
        let owned = settings.synonyms.as_deref().map(crate::attack::SynonymTable::from_json_file).transpose()?;
        let ctx = attack_run::AttackContext {
            settings,
            inputs: &attack_inputs,
            examples: &examples,
            sample,
            groups: &evaluated.groups,
            batch_size: plan.batch_size,
            synonyms: owned.as_ref().unwrap_or_else(|| crate::attack::SynonymTable::wordnet()),
            quiet: plan.quiet,
        };
        progress.say(format!("attacking {} examples per model", ctx.sample.len()));
        let (teacher_outcomes, teacher_attack) = attack_run::attack_model(&ctx, &mut teacher, evaluated.models[0].output_kind)?;
        report.teacher.attack = Some(teacher_attack);
        for (s, (student, entry)) in students.iter_mut().zip(report.students.iter_mut()).enumerate() {
            let kind = evaluated.models[s + 1].output_kind;
            let (_, mut direct) = attack_run::attack_model(&ctx, student, kind)?;
            let right: Vec<bool> = ctx.sample.iter().map(|&i| evaluated.students[s].samples.get(i).student_correct == Some(true)).collect();
            direct.transfer = Some(attack_run::transfer(&ctx, &teacher_outcomes, student, kind, &right)?);
            entry.model.attack = Some(direct);
        }
        write_reports(&report, &plan.reports)?;
    }
    // Everything ONNX Runtime did for each model before the (deliberately repeated) speed runs.
    report.teacher.onnxruntime_seconds = teacher.runtime_seconds();
    for (entry, student) in report.students.iter_mut().zip(&students) {
        entry.model.onnxruntime_seconds = student.runtime_seconds();
    }
    if let Some(settings) = &plan.speed {
        progress.say("measuring speed (teacher and students interleaved)");
        let mut models: Vec<&mut dyn Backend> =
            std::iter::once(&mut teacher as &mut dyn Backend).chain(students.iter_mut().map(|s| s as &mut dyn Backend)).collect();
        let bar = crate::progress::bar(0, "speed", plan.quiet);
        // The report states the budget as run: seconds, or unlimited.
        let budget = settings.budget.seconds(evaluation_seconds, models.len());
        report.speed = Some(crate::speed::SpeedSettings {
            budget: budget.map_or(crate::speed::SpeedBudget::Unlimited, crate::speed::SpeedBudget::Seconds),
            ..settings.clone()
        });
        let speeds = crate::speed::measure_with_progress(&mut models, evaluated.first_chunk.source.as_ref(), settings, plan.batch_size, budget, &bar)?;
        crate::progress::finish(bar);
        let mut speeds = speeds.into_iter();
        report.teacher.speed = speeds.next();
        for (s, speed) in report.students.iter_mut().zip(speeds) {
            s.model.speed = Some(speed);
        }
    }
    let mean_length = evaluated.length_sum / evaluated.examples.max(1) as f64;
    let sequence_length = (mean_length > 0.0).then_some(mean_length);
    for m in std::iter::once(&mut report.teacher).chain(report.students.iter_mut().map(|s| &mut s.model)) {
        match model_size(&m.info.path, sequence_length) {
            Ok(stats) => m.size = Some(stats),
            Err(note) => m.size_note = Some(note),
        }
    }
    report.peak_rss_bytes = crate::speed::memory::peak_rss_bytes();
    report.complete = true;
    report.gate = crate::gate::evaluate(&plan.gates, &report);
    write_reports(&report, &plan.reports)?;
    progress.say(format!("report written to {}", plan.reports.json.display()));
    Ok(report)
}
