//! The report from the evaluation stage: data, batching, conventions, and one entry per model with
//! its metrics and statistics. Later stages fill in attacks, speed and size.

use super::evaluate::{Evaluated, ModelTrack};
use super::load::Session;
use crate::machine::MachineInfo;
use crate::model::Backend;
use crate::plan::ComparePlan;
use crate::report::{self, Batching, Conventions, DataInfo, ModelReport, Report, RuntimeInfo, StatisticsInfo, StudentReport};
use crate::subgroups::analyse_students;

fn model_report(backend: &dyn Backend, track: &ModelTrack, accuracy: Option<f64>, session_memory_bytes: Option<u64>, machine: &MachineInfo) -> ModelReport {
    ModelReport {
        cache: vec![],
        kernels: report::machine::kernel_note(backend.info(), machine),
        info: backend.info().clone(),
        output_kind: track.output_kind,
        output_kind_detected: track.output_kind_detected,
        accuracy,
        batching: track.batching.clone(),
        truncated_examples: track.truncated_examples,
        batch_invariance: track.invariance.clone(),
        inference_seconds: track.inference_seconds,
        onnxruntime_seconds: backend.runtime_seconds(),
        speed: None,
        roofline: None,
        session_memory_bytes,
        hub: None,
        size: None,
        size_note: None,
        attack: None,
        noise: None,
        population: None,
    }
}

/// What a report says of the models that ran: teacher first.
pub struct RanModels<'a> {
    pub runtime: &'a crate::model::Runtime,
    pub label_names: Option<&'a crate::data::LabelNames>,
    pub backends: Vec<&'a dyn Backend>,
    /// Resident-memory growth while each session was created.
    pub memory: &'a [Option<u64>],
}

pub fn report(plan: &ComparePlan, session: &Session, evaluated: &Evaluated) -> Report {
    let models = &session.models;
    let backends = std::iter::once(&models.teacher as &dyn Backend).chain(models.students.iter().map(|s| s as &dyn Backend)).collect();
    let ran = RanModels { runtime: &session.runtime, label_names: session.label_names.as_ref(), backends, memory: &models.memory };
    report_for(plan, &ran, evaluated)
}

/// [`report`] for models that are not the session's (multiple choice: LMs scoring choices).
pub fn report_for(plan: &ComparePlan, models: &RanModels, evaluated: &Evaluated) -> Report {
    let (runtime, data) = (models.runtime, &evaluated.data);
    let machine = MachineInfo::detect();
    let teacher = ModelReport {
        hub: plan.teacher.hub.clone(),
        cache: data.caches.first().cloned().flatten().into_iter().collect(),
        ..model_report(models.backends[0], &data.models[0], data.teacher.finish().teacher_accuracy, models.memory[0], &machine)
    };
    Report {
        schema_version: report::SCHEMA_VERSION,
        name: plan.name.clone(),
        tool: report::Tool::default(),
        complete: false,
        runtime: RuntimeInfo {
            onnxruntime_version: runtime.version.clone(),
            library: runtime.library.path.clone(),
            library_origin: runtime.library.origin.clone(),
            integer_numerics: plan.integer_numerics,
        },
        data: DataInfo {
            path: plan.data.clone(),
            hub: plan.data_hub.clone(),
            format: plan.data_format,
            examples: data.examples,
            labelled: data.labelled.iter().filter(|&&l| l).count(),
            columns: evaluated.columns.clone(),
            inputs: evaluated.inputs.clone(),
            label_names: models.label_names.map(|l| l.names().to_vec()),
        },
        batching: Batching {
            batch_size: plan.batch_size,
            order: plan.batch_order,
            serving_batch_size: plan.serving_batch_size,
            chunk_size: evaluated.chunk_size,
            padding: evaluated.padding.into(),
            invariance: plan.invariance,
        },
        conventions: Conventions::new(plan.js_base),
        statistics: StatisticsInfo {
            settings: plan.subgroups,
            group_attributes: plan.columns.groups.clone(),
            interval_methods: (plan.subgroups.bootstrap.resamples > 0).then_some(crate::stats::bootstrap::METHODS),
        },
        speed: plan.speed.clone(),
        attack: plan.attack.clone(),
        noise: plan.noise.clone(),
        peak_rss_bytes: None,
        peaks: None,
        peaks_note: None,
        energy: None,
        teacher,
        students: students(plan, models, evaluated, &machine),
        shards: None,
        gate: crate::gate::GateOutcome { checks: vec![], passed: 0, failed: 0, not_judged: vec![] },
        machine,
    }
}

fn students(plan: &ComparePlan, models: &RanModels, evaluated: &Evaluated, machine: &MachineInfo) -> Vec<StudentReport> {
    let data = &evaluated.data;
    let numbers = DataNumbers { teacher: &data.teacher, students: &data.students, groups: &data.groups, group_metrics: &data.group_metrics, classes: data.models[0].classes };
    let names = class_names(models.label_names.map(|l| l.names()), models.backends[0].info());
    let mut out = Vec::with_capacity(models.backends.len() - 1);
    for (s, (&student, numbers)) in models.backends[1..].iter().zip(student_numbers(&numbers, plan.subgroups, plan.js_base, names.as_deref())).enumerate() {
        let model = ModelReport {
            hub: plan.students[s].hub.clone(),
            cache: data.caches.get(s + 1).cloned().flatten().into_iter().collect(),
            ..model_report(student, &data.models[s + 1], None, models.memory[s + 1], machine)
        };
        let mut student_report = StudentReport {
            model,
            js_histogram: numbers.js_histogram,
            disagreements: numbers.disagreements,
            classes: numbers.classes,
            noise: None,
            cie: None,
            fidelity: numbers.fidelity,
            statistics: numbers.statistics,
        };
        settle(&mut student_report, data.models[0].output_kind.has_probabilities());
        out.push(student_report);
    }
    out
}

/// Class names from config.json's id2label, else the teacher's own string class labels.
pub fn class_names(config: Option<&[String]>, teacher: &crate::model::ModelInfo) -> Option<Vec<String>> {
    config.map(<[String]>::to_vec).or_else(|| teacher.class_labels.as_ref().map(|c| c.names()))
}

/// The sums a report's numbers come from: one run's, or `fidelity merge`'s over its parts.
pub struct DataNumbers<'a> {
    pub teacher: &'a crate::metrics::FidelityAccumulator,
    pub students: &'a [super::evaluate::StudentTally],
    pub groups: &'a [crate::subgroups::Group],
    pub group_metrics: &'a [Vec<crate::metrics::FidelityMetrics>],
    /// The teacher's class count.
    pub classes: usize,
}

/// One student's numbers from the data.
pub struct StudentNumbers {
    pub fidelity: crate::metrics::FidelityMetrics,
    pub statistics: crate::subgroups::SubgroupSummary,
    pub js_histogram: Option<report::Histogram>,
    pub disagreements: Vec<report::Disagreement>,
    pub classes: crate::classes::ClassReport,
}

/// Every student's metrics, intervals, tests, groups, histogram and per-class table.
pub fn student_numbers(n: &DataNumbers, settings: crate::subgroups::SubgroupSettings, js_base: crate::metrics::LogBase, class_names: Option<&[String]>) -> Vec<StudentNumbers> {
    let js_upper = match js_base {
        crate::metrics::LogBase::E => std::f64::consts::LN_2.sqrt(),
        crate::metrics::LogBase::Two => 1.0,
    };
    let finished: Vec<_> = n.students.iter().map(|t| t.metrics.finish()).collect();
    let samples: Vec<_> = n.students.iter().map(|t| &t.samples).collect();
    let statistics = analyse_students(&samples, &finished, n.groups, n.group_metrics, settings);
    n.students
        .iter()
        .zip(finished.into_iter().zip(statistics))
        .map(|(tally, (fidelity, statistics))| StudentNumbers {
            js_histogram: Some(report::Histogram::new(tally.samples.loyalties().iter().map(|l| 1.0 - l), js_upper, 20)),
            disagreements: tally.disagreements.clone(),
            classes: crate::classes::analyse(&tally.classes, n.classes, class_names, settings),
            fidelity,
            statistics,
        })
        .collect()
}

/// Puts a merge's numbers into a report made from one of its parts.
pub fn set_numbers(report: &mut Report, teacher: &crate::metrics::FidelityAccumulator, numbers: Vec<StudentNumbers>) {
    report.teacher.accuracy = teacher.finish().teacher_accuracy;
    let teacher_probabilities = report.teacher.output_kind.has_probabilities();
    for (student, numbers) in report.students.iter_mut().zip(numbers) {
        student.fidelity = numbers.fidelity;
        student.statistics = numbers.statistics;
        student.js_histogram = numbers.js_histogram;
        student.disagreements = numbers.disagreements;
        student.classes = numbers.classes;
        settle(student, teacher_probabilities);
    }
}

/// The student's accuracy from its metrics; a pair without probabilities loses what needs them.
fn settle(student: &mut StudentReport, teacher_probabilities: bool) {
    student.model.accuracy = student.fidelity.student_accuracy;
    if !(teacher_probabilities && student.model.output_kind.has_probabilities()) {
        without_probabilities(student);
    }
}

/// A pair where a model gives labels only: its one-hot rows were compared like probabilities (so
/// every label statistic is exact), and now every number that needs real probabilities is taken out
/// of the report, to read "not available", never a number made from one-hot rows.
fn without_probabilities(s: &mut StudentReport) {
    s.fidelity = s.fidelity.clone().without_probabilities();
    s.js_histogram = None;
    if let Some(iv) = s.statistics.intervals.as_mut() {
        iv.probability_loyalty = None;
    }
    for g in &mut s.statistics.groups {
        g.metrics = g.metrics.clone().without_probabilities();
        if let Some(iv) = g.intervals.as_mut() {
            iv.probability_loyalty = None;
        }
    }
    for d in &mut s.disagreements {
        d.teacher_probability = None;
        d.student_probability = None;
    }
}
