//! `fidelity bench`: the cost side alone. Speed (latency, throughput, speedup over the teacher,
//! measured interleaved) and size (parameters, nonzero, bytes, dense FLOPs) of every model, on the
//! first examples of the data, without running the fidelity comparison.
//!
//! It takes `compare`'s plan (models, data, devices, tokenizer, speed options, a suite), so the
//! figures are those the Speed column of `compare` would show.

use crate::data::LabelNames;
use crate::model::{Backend, ModelInfo, Runtime};
use crate::onnx::GraphStats;
use crate::pipeline::inputs::{self, ChunkReader};
use crate::pipeline::{load_models, model_size, CompareError, Loaded};
use crate::plan::ComparePlan;
use crate::report::format::{cost_rows, CostView};
use crate::report::{RuntimeInfo, Tool};
use crate::speed::{ModelSpeed, SpeedSettings};
use serde::Serialize;
use std::fmt::Write;
use std::path::PathBuf;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum BenchError {
    #[error("fidelity bench measures speed: drop --no-speed (or the suite's speed = false)")]
    NoSpeed,
    #[error(transparent)]
    Compare(#[from] CompareError),
}

/// One model's cost.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ModelCost {
    pub info: ModelInfo,
    pub speed: ModelSpeed,
    /// Resident-memory growth while the session was created.
    pub session_memory_bytes: Option<u64>,
    pub size: Option<GraphStats>,
    pub size_note: Option<String>,
    /// Its points under the machine's roofs.
    pub roofline: Option<crate::roofline::Roofline>,
}

/// What `fidelity bench` measured; its JSON is this struct.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct BenchReport {
    /// Speed is the system's, not the model's: the CPU it was measured on.
    pub machine: crate::machine::MachineInfo,
    pub tool: Tool,
    pub runtime: RuntimeInfo,
    pub data: PathBuf,
    /// Examples the measurement used (the first of the data).
    pub examples: usize,
    /// Mean tokens per example over those (text data); FLOPs are costed at it.
    pub mean_length: Option<f64>,
    /// Batch size of the speedup figure.
    pub batch_size: usize,
    pub settings: SpeedSettings,
    /// The teacher first.
    pub models: Vec<ModelCost>,
    pub peak_rss_bytes: Option<u64>,
    /// The machine's measured roofs, or why they are absent.
    pub peaks: Result<crate::roofline::MachinePeaks, String>,
    /// What measured energy, or why nothing could.
    pub energy: crate::energy::EnergySource,
}

/// Measures every model of `plan`.
pub fn run(plan: &ComparePlan) -> Result<BenchReport, BenchError> {
    let settings = plan.speed.clone().ok_or(BenchError::NoSpeed)?;
    let runtime = Runtime::load(plan.ort_lib.as_deref(), plan.threads).map_err(CompareError::from)?;
    if let Some(n) = plan.threads {
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
    }
    let label_names = match &plan.config {
        Some(path) => LabelNames::from_config(path).map_err(CompareError::from)?,
        None => None,
    };
    let Loaded { mut teacher, mut students, memory } = load_models(plan, &runtime).map_err(CompareError::from)?;
    let encoder = inputs::text_encoder(plan)?;
    let mut reader = ChunkReader::open(plan, teacher.info(), label_names.as_ref(), encoder.as_ref())?;
    // The measurement reads the first examples only; an empty file is refused by the reader.
    let Some(chunk) = reader.next_chunk(settings.examples.max(1))? else {
        return Err(CompareError::from(crate::data::DataError::Empty { path: plan.data.clone() }).into());
    };
    let n = chunk.source.len();
    let lengths: f64 = (0..n).map(|i| chunk.source.length(i) as f64).sum();
    let mean_length = (lengths > 0.0).then(|| lengths / n as f64);
    // Measuring speed is all `bench` does: the automatic budget (a share of an evaluation that does
    // not happen here) does not apply; an explicit --speed-budget does.
    let budget = match settings.budget {
        crate::speed::SpeedBudget::Seconds(s) => Some(s),
        _ => None,
    };
    let (mut meter, energy) = crate::energy::open(plan.teacher.device);
    let machine = crate::machine::MachineInfo::detect();
    let speeds = {
        let mut models: Vec<&mut dyn Backend> =
            std::iter::once(&mut teacher as &mut dyn Backend).chain(students.iter_mut().map(|s| s as &mut dyn Backend)).collect();
        let bar = crate::progress::bar(0, "speed", plan.quiet);
        let speeds = crate::speed::measure_with_progress(&mut models, chunk.source.as_ref(), &settings, plan.batch_size, budget, &bar, meter.as_deref_mut())
            .map_err(CompareError::from)?;
        crate::progress::finish(bar);
        speeds
    };
    let models = std::iter::once(&teacher)
        .chain(students.iter())
        .zip(speeds)
        .zip(memory)
        .map(|((m, speed), session_memory_bytes)| {
            let (size, size_note) = match model_size(&m.info().path, mean_length) {
                Ok(s) => (Some(s), None),
                Err(note) => (None, Some(note)),
            };
            ModelCost { info: m.info().clone(), speed, session_memory_bytes, size, size_note, roofline: None }
        })
        .collect::<Vec<_>>();
    let peaks = crate::roofline::peaks::cached_or_measured(&runtime, plan.teacher.device, &machine);
    let mut models = models;
    if let Ok(p) = &peaks {
        for m in &mut models {
            m.roofline = m.size.as_ref().and_then(|s| crate::roofline::roofline(s, &m.speed.throughput, p));
        }
    }
    Ok(BenchReport {
        tool: Tool::default(),
        runtime: RuntimeInfo {
            onnxruntime_version: runtime.version.clone(),
            library: runtime.library.path.clone(),
            library_origin: runtime.library.origin.clone(),
            integer_numerics: plan.integer_numerics,
        },
        machine,
        data: plan.data.clone(),
        examples: n,
        mean_length,
        batch_size: plan.batch_size,
        settings,
        models,
        peak_rss_bytes: crate::speed::memory::peak_rss_bytes(),
        peaks,
        energy,
    })
}

/// The terminal table.
pub fn render(report: &BenchReport) -> String {
    let mut out = String::new();
    let provider = report.models.first().map_or("-", |m| m.info.provider.as_str());
    let _ = writeln!(
        out,
        "fidelity {} bench · {} · first {} examples{} · ONNX Runtime {} ({})\n",
        report.tool.version,
        report.data.display(),
        report.examples,
        report.mean_length.map_or_else(String::new, |l| format!(" (mean {l:.1} tokens)")),
        report.runtime.onnxruntime_version,
        provider,
    );
    let _ = writeln!(out, "Machine: {}\n", report.machine.summary());
    let views: Vec<CostView> = report
        .models
        .iter()
        .map(|m| CostView { info: &m.info, speed: &m.speed, session_memory_bytes: m.session_memory_bytes, size: m.size.as_ref() })
        .collect();
    let (header, rows) = cost_rows(&report.settings.batch_sizes, report.batch_size, &views);
    out.push_str(&crate::report::terminal::render_table(&std::iter::once(header).chain(rows).collect::<Vec<_>>()));
    let _ = writeln!(
        out,
        "\nSpeedup: teacher time / model time per round at batch {}, median (range) of {} rounds, models interleaved. Latency: batch 1, {} examples.",
        report.batch_size,
        report.models.first().and_then(|m| m.speed.throughput.iter().find(|t| t.batch_size == report.batch_size)).map_or(0, |t| t.rounds),
        report.models.first().map_or(0, |m| m.speed.latency_examples)
    );
    for m in report.models.iter().filter_map(|m| m.size_note.as_ref().map(|n| (&m.info.name, n))) {
        let _ = writeln!(out, "{}: {}", m.0, m.1);
    }
    out
}
