//! Stage 1, load: the ONNX Runtime library, the class names, and every model, before any data
//! is read (so a bad model file fails in seconds, and CSV features know the teacher's input
//! name); then the checks that need only the models: class order and class counts.

use super::{CompareError, Progress};
use crate::data::LabelNames;
use crate::inference::EvalError;
use crate::model::{Backend, ModelError, OnnxBackend, Runtime};
use crate::plan::ComparePlan;

/// The loaded models and the resident-memory growth while each session was created.
pub struct Loaded {
    pub teacher: OnnxBackend,
    pub students: Vec<OnnxBackend>,
    /// Teacher first.
    pub memory: Vec<Option<u64>>,
}

/// How a model of the plan (or a member of its population) is loaded.
pub fn session_settings(plan: &ComparePlan, m: &crate::plan::ModelSource, classes_hint: Option<usize>) -> crate::model::session::SessionSettings {
    crate::model::session::SessionSettings {
        device: m.device,
        allow_fallback: plan.allow_fallback,
        exact_integer: m.exact_integer,
        twin_of: m.twin_of.clone(),
        output: m.output.clone(),
        classes_hint,
        runtime: m.runtime.clone(),
        image_feed: match &plan.inputs {
            crate::plan::InputPlan::Images(images) => images.feed_of(&m.name),
            _ => None,
        },
    }
}

/// Loads every model of the plan (before any data is read, so a bad model file fails in seconds).
pub fn load_models(plan: &ComparePlan, runtime: &Runtime) -> Result<Loaded, ModelError> {
    let mut memory = Vec::new();
    let mut load = |m: &crate::plan::ModelSource, classes_hint: Option<usize>| {
        let before = crate::speed::memory::rss_bytes();
        let backend = OnnxBackend::load(runtime, &m.name, &m.path, &session_settings(plan, m, classes_hint));
        memory.push(before.zip(crate::speed::memory::rss_bytes()).map(|(b, a)| a.saturating_sub(b)));
        backend
    };
    let teacher = load(&plan.teacher, None)?;
    // A label-only student whose graph names no classes has the teacher's.
    let hint = teacher.info().classes;
    let students = plan.students.iter().map(|m| load(m, hint)).collect::<Result<Vec<_>, _>>()?;
    Ok(Loaded { teacher, students, memory })
}

/// Everything the later stages run on.
pub struct Session {
    pub runtime: Runtime,
    pub label_names: Option<LabelNames>,
    pub models: Loaded,
}

pub fn load(plan: &ComparePlan, progress: &Progress) -> Result<Session, CompareError> {
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
    // An image folder without id2label: its class folders, sorted, name the classes.
    let label_names = match label_names {
        None if plan.data_format == crate::data::DataFormat::ImageFolder && plan.columns.label.is_some() => {
            Some(LabelNames::new(crate::data::image_folder::class_folders(&plan.data)?))
        }
        names => names,
    };
    let models = load_models(plan, &runtime)?;
    if let Some(teacher_names) = &label_names {
        check_class_order(plan, teacher_names)?;
    }
    check_class_counts(plan, &models)?;
    Ok(Session { runtime, label_names, models })
}

/// A student with its own config.json must name the classes as the teacher does, in the same
/// order: class i is compared with class i, so a reordered id2label would compare silently wrong.
fn check_class_order(plan: &ComparePlan, teacher_names: &LabelNames) -> Result<(), CompareError> {
    for s in &plan.students {
        let Some(own) = s.config() else { continue };
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
    Ok(())
}

/// Class counts the graphs state: a mismatch fails before any inference.
fn check_class_counts(plan: &ComparePlan, models: &Loaded) -> Result<(), CompareError> {
    let Some(expected) = models.teacher.info().classes else { return Ok(()) };
    for s in &models.students {
        if let Some(got) = s.info().classes.filter(|&c| c != expected) {
            return Err(EvalError::ClassCount { model: s.info().name.clone(), got, reference: format!("the teacher ({})", plan.teacher.name), expected }.into());
        }
    }
    Ok(())
}
