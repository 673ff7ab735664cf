//! The report of a language-model comparison (`compare` on causal LMs): one model that the JSON
//! and terminal writers render. Token statistics are defined in [`crate::lm::statistics`].

use crate::lm::model::LmModelInfo;
use crate::lm::statistics::{Estimate, Percentiles, TokenStatistics};
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use std::path::PathBuf;

/// Version of the language-model report layout.
pub const LM_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LmReport {
    pub schema_version: u32,
    /// Always "causal_lm": tells this report from a classifier's.
    pub task: String,
    pub name: String,
    pub tool: super::Tool,
    pub complete: bool,
    pub machine: crate::machine::MachineInfo,
    pub runtime: super::RuntimeInfo,
    pub data: LmDataInfo,
    pub conventions: LmConventions,
    pub teacher: LmModelReport,
    pub students: Vec<LmStudentReport>,
    /// Timing field: seconds of the whole run.
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LmDataInfo {
    pub path: PathBuf,
    pub format: crate::lm::documents::DocumentFormat,
    pub text_column: Option<String>,
    pub group_columns: Vec<String>,
    pub tokenizer: PathBuf,
    pub tokenizer_sha256: String,
    pub documents: usize,
    /// Documents too short to give a window of two tokens.
    pub documents_without_windows: usize,
    pub windows: usize,
    /// Tokens in all windows (overlaps counted once per window).
    pub window_tokens: usize,
    /// Positions scored per model pair.
    pub scored_positions: usize,
    pub context: usize,
    pub stride: usize,
    pub score_from: String,
    pub windows_per_batch: usize,
    /// Where the head/torso/tail token counts come from.
    pub token_counts: String,
    /// `--dump-worst`: the JSONL file of each student's worst positions.
    pub worst_positions: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LmConventions {
    pub kld: String,
    pub js_base: crate::metrics::LogBase,
    pub probability_loyalty: String,
    pub uncertainty: String,
    pub top_token: String,
    pub tokenization: String,
}

impl LmConventions {
    pub fn new(js_base: crate::metrics::LogBase) -> Self {
        Self {
            kld: "KL(teacher||student) in nats, from full-precision logits (llama.cpp: KL(base||Q))".into(),
            js_base,
            probability_loyalty: format!("mean over positions of 1 - sqrt(JS), JS in base {}", js_base.label()),
            uncertainty: "token_sigma is llama.cpp's: sqrt((mean(x^2) - mean(x)^2) / (n - 1)), 0 for n <= 10, treating tokens as independent".into(),
            top_token: "the first of equal maxima".into(),
            tokenization: "each document tokenized alone with the tokenizer's own special tokens, no truncation".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LmModelReport {
    #[serde(flatten)]
    pub model: LmModelInfo,
    /// Timing field: seconds inside ONNX Runtime (session build and runs).
    pub onnxruntime_seconds: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LmStudentReport {
    #[serde(flatten)]
    pub model: LmModelReport,
    pub tokens: TokenStatistics,
    /// The long tail: by target frequency, position, teacher entropy and group.
    pub breakdowns: Vec<crate::lm::breakdown::Breakdown>,
}

fn pm(e: &Estimate, scale: f64, digits: usize) -> String {
    format!("{:.digits$} ± {:.digits$}", e.value * scale, e.token_sigma * scale)
}

/// " [lo, hi]" at the run's confidence, or nothing without intervals.
fn ci(i: Option<&crate::stats::Interval>, scale: f64, digits: usize) -> String {
    i.map(|i| format!("  [{:.digits$}, {:.digits$}]", i.lower * scale, i.upper * scale)).unwrap_or_default()
}

fn percentile_line(p: &Option<Percentiles>, scale: f64, unit: &str) -> String {
    match p {
        None => "-".into(),
        Some(p) => {
            let at = |f: f64| p.at.iter().find(|(x, _)| (x - f).abs() < 1e-12).map_or(f64::NAN, |(_, v)| *v);
            format!("max {:.4}{unit}  99% {:.4}{unit}  median {:.4}{unit}  1% {:.4}{unit}  min {:.4}{unit}", p.max * scale, at(0.99) * scale, p.median * scale, at(0.01) * scale, p.min * scale)
        }
    }
}

/// The terminal view: per student, llama.cpp's headline statistics and fidelity's.
pub fn render_terminal(r: &LmReport) -> String {
    let mut out = String::new();
    let d = &r.data;
    let _ = writeln!(out, "{}: causal LM, {} documents, {} windows of up to {} tokens (stride {}), {} positions scored from {}", r.name, d.documents, d.windows, d.context, d.stride, d.scored_positions, d.score_from);
    let _ = writeln!(out, "teacher {}: {}", r.teacher.model.name, r.teacher.model.interface);
    if let Some(i) = r.students.first().and_then(|s| s.tokens.intervals.as_ref()) {
        let _ = writeln!(out, "± is llama.cpp's token σ (tokens as independent); [..] the {:.0} % interval of a bootstrap over {} windows ({} resamples)", 100.0 * i.confidence, i.units, i.resamples);
    }
    for s in &r.students {
        let t = &s.tokens;
        let i = t.intervals.as_ref();
        let _ = writeln!(out, "\nstudent {}: {}", s.model.model.name, s.model.model.interface);
        let _ = writeln!(out, "  PPL student / teacher      {}{} / {}", pm(&t.ppl, 1.0, 4), ci(i.and_then(|i| i.ppl.as_ref()), 1.0, 4), pm(&t.ppl_teacher, 1.0, 4));
        let _ = writeln!(out, "  PPL ratio                  {}{}   Cor(ln PPL) {:.2}%", pm(&t.ppl_ratio, 1.0, 5), ci(i.and_then(|i| i.ppl_ratio.as_ref()), 1.0, 5), 100.0 * t.nll_correlation);
        let wider = i.and_then(|i| i.mean_kld_half_width_in_token_sigmas).map(|x| format!(" (half-width {x:.1} token σ)")).unwrap_or_default();
        let _ = writeln!(out, "  mean KLD                   {}{}{wider}   reverse {:.6}", pm(&t.mean_kld, 1.0, 6), ci(i.and_then(|i| i.mean_kld.as_ref()), 1.0, 6), t.mean_reverse_kld);
        let _ = writeln!(out, "  KLD                        {}", percentile_line(&t.kld, 1.0, ""));
        let _ = writeln!(out, "  same top p                 {} %{}", pm(&t.same_top_p, 100.0, 3), ci(i.and_then(|i| i.same_top_p.as_ref()), 100.0, 3));
        let _ = writeln!(out, "  Δp mean / RMS              {} % / {} %", pm(&t.mean_delta_p, 100.0, 3), pm(&t.rms_delta_p, 100.0, 3));
        let _ = writeln!(out, "  Δp                         {}", percentile_line(&t.delta_p, 100.0, "%"));
        let _ = writeln!(out, "  probability loyalty        {:.6} (JS base {})", t.probability_loyalty, r.conventions.js_base.label());
        let _ = writeln!(
            out,
            "  top-1 = target             teacher {:.4}, student {:.4}; flips: negative {:.4}, positive {:.4}",
            t.teacher_accuracy, t.student_accuracy, t.negative_flip_rate, t.positive_flip_rate
        );
        for b in &s.breakdowns {
            let cells: Vec<String> = b.buckets.iter().map(|k| format!("{} {:.4} (n={})", k.name, k.statistics.mean_kld.value, k.positions)).collect();
            let worst = b.worst.as_deref().map(|w| format!("; worst: {w}")).unwrap_or_default();
            let _ = writeln!(out, "  mean KLD by {:<16} {}{worst}", b.by.replace('_', " "), cells.join(", "));
        }
    }
    out
}
