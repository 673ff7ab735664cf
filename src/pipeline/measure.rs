//! Stage 4, measure: speed (teacher and students interleaved, within the time budget) and size
//! (read from each ONNX file).

use super::load::Session;
use super::{CompareError, Evaluated, Progress};
use crate::model::Backend;
use crate::plan::ComparePlan;
use crate::report::Report;

/// Size and dense FLOPs read from the ONNX file; sequence models are costed at `sequence_length`
/// tokens (the data's mean). The error is a note for the report.
pub fn model_size(path: &std::path::Path, sequence_length: Option<f64>) -> Result<crate::onnx::GraphStats, String> {
    // Read from its path, so a model's external data files are found beside it.
    let mut stats = crate::onnx::OnnxGraph::read(path).and_then(|g| g.stats(sequence_length)).map_err(|e| format!("size not read: {e}"))?;
    if let Some(l) = sequence_length {
        stats.assumptions.iter_mut().filter(|a| a.contains("sequence length")).for_each(|a| a.push_str(&format!(" (data mean {l:.1} tokens)")));
    }
    Ok(stats)
}

/// What ONNX Runtime did for each model before the (deliberately repeated) speed runs, then speed
/// and size.
pub fn measure(plan: &ComparePlan, session: &mut Session, evaluated: &Evaluated, report: &mut Report, progress: &Progress) -> Result<(), CompareError> {
    let models = &mut session.models;
    report.teacher.onnxruntime_seconds = models.teacher.runtime_seconds();
    for (entry, student) in report.students.iter_mut().zip(&models.students) {
        entry.model.onnxruntime_seconds = student.runtime_seconds();
    }
    if let Some(settings) = &plan.speed {
        progress.say("measuring speed (teacher and students interleaved)");
        let mut backends: Vec<&mut dyn Backend> =
            std::iter::once(&mut models.teacher as &mut dyn Backend).chain(models.students.iter_mut().map(|s| s as &mut dyn Backend)).collect();
        let bar = crate::progress::bar(0, "speed", plan.quiet);
        let (mut meter, energy) = crate::energy::open(plan.teacher.device);
        report.energy = Some(energy);
        // The report states the budget as run: seconds, or unlimited.
        let budget = settings.budget.seconds(evaluated.seconds, backends.len());
        report.speed = Some(crate::speed::SpeedSettings {
            budget: budget.map_or(crate::speed::SpeedBudget::Unlimited, crate::speed::SpeedBudget::Seconds),
            ..settings.clone()
        });
        let speeds = crate::speed::measure_with_progress(&mut backends, evaluated.data.first_chunk.source.as_ref(), settings, plan.batch_size, budget, &bar, meter.as_deref_mut())?;
        crate::progress::finish(bar);
        let mut speeds = speeds.into_iter();
        report.teacher.speed = speeds.next();
        for (s, speed) in report.students.iter_mut().zip(speeds) {
            s.model.speed = Some(speed);
        }
    }
    let mean_length = evaluated.data.length_sum / evaluated.data.examples.max(1) as f64;
    let sequence_length = (mean_length > 0.0).then_some(mean_length);
    for m in std::iter::once(&mut report.teacher).chain(report.students.iter_mut().map(|s| &mut s.model)) {
        match model_size(&m.info.path, sequence_length) {
            Ok(stats) => m.size = Some(stats),
            Err(note) => m.size_note = Some(note),
        }
    }
    if plan.speed.is_some() {
        roofline(plan, &session.runtime, report, progress);
    }
    report.peak_rss_bytes = crate::speed::memory::peak_rss_bytes();
    Ok(())
}

/// The machine's peaks (cached per machine), then every measured model's roofline points.
fn roofline(plan: &ComparePlan, runtime: &crate::model::Runtime, report: &mut Report, progress: &Progress) {
    if crate::roofline::peaks::cached_file(runtime, plan.teacher.device, &report.machine).is_none_or(|f| !f.exists()) {
        progress.say("measuring this machine's peaks (once per machine: GEMM fp32 and int8, memory bandwidth)");
    }
    match crate::roofline::peaks::cached_or_measured(runtime, plan.teacher.device, &report.machine) {
        Ok(peaks) => {
            for m in std::iter::once(&mut report.teacher).chain(report.students.iter_mut().map(|s| &mut s.model)) {
                if let (Some(size), Some(speed)) = (&m.size, &m.speed) {
                    m.roofline = crate::roofline::roofline(size, &speed.throughput, &peaks);
                }
            }
            report.peaks = Some(peaks);
        }
        Err(note) => report.peaks_note = Some(note),
    }
}
