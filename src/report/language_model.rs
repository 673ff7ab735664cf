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
    /// Every gate check, passed ones included; empty when no gate was set.
    pub gate: crate::gate::GateOutcome,
    /// Timing field: seconds of the whole comparison (loading, tokenizing, inference, statistics).
    pub run_seconds: f64,
}

impl LmReport {
    pub fn verdict(&self) -> &'static str {
        if self.gate.checks.is_empty() && self.gate.not_judged.is_empty() {
            "no gates"
        } else if self.gate.all_passed() {
            "pass"
        } else {
            "fail"
        }
    }
}

/// A student as a gate sees it: token statistics overall, and each value of each group column
/// (documents' groups) large enough to judge, on its point (buckets have no intervals).
impl crate::gate::Subject for LmStudentReport {
    fn name(&self) -> &str {
        &self.model.model.name
    }

    fn overall(&self, metric: crate::gate::GateMetric) -> crate::gate::Measured {
        let i = self.tokens.intervals.as_ref();
        let kld_p99 = i.and_then(|i| i.kld.iter().find(|(f, _)| (f - 0.99).abs() < 1e-12).and_then(|(_, x)| *x));
        token_metric(metric, &self.tokens, i, kld_p99)
    }

    fn groups(&self, metric: crate::gate::GateMetric) -> Vec<(String, crate::gate::Measured)> {
        self.group_buckets().filter(|(_, _, judged)| *judged).map(|(name, b, _)| (name, token_metric(metric, &b.statistics, None, None))).collect()
    }

    fn unjudged_groups(&self) -> Vec<(String, String)> {
        self.group_buckets()
            .filter(|(_, _, judged)| !judged)
            .map(|(name, b, _)| (name, format!("{} scored positions, fewer than --min-group-size", b.positions)))
            .collect()
    }
}

impl LmStudentReport {
    /// ("column=value", bucket, judged) of every group column's buckets.
    fn group_buckets(&self) -> impl Iterator<Item = (String, &crate::lm::breakdown::Bucket, bool)> {
        self.breakdowns
            .iter()
            .filter_map(|b| Some((b.by.strip_prefix("group:")?, b)))
            .flat_map(|(column, b)| b.buckets.iter().map(move |k| (format!("{column}={}", k.name), k, k.positions >= b.min_positions)))
    }
}

/// A gate metric's value and interval from token statistics.
fn token_metric(
    metric: crate::gate::GateMetric,
    t: &TokenStatistics,
    i: Option<&crate::lm::intervals::TokenIntervals>,
    kld_p99: Option<crate::stats::Interval>,
) -> crate::gate::Measured {
    use crate::gate::GateMetric as M;
    let p99 = t.kld.as_ref().and_then(|p| p.at.iter().find(|(f, _)| (f - 0.99).abs() < 1e-12).map(|(_, v)| *v));
    match metric {
        M::MeanKld | M::MeanKl => (Some(t.mean_kld.value), i.and_then(|i| i.mean_kld)),
        M::KldP99 => (p99, kld_p99),
        M::SameTopP | M::LabelLoyalty => (Some(t.same_top_p.value), i.and_then(|i| i.same_top_p)),
        M::PplRatio => (Some(t.ppl_ratio.value), i.and_then(|i| i.ppl_ratio)),
        M::ProbabilityLoyalty => (Some(t.probability_loyalty), i.and_then(|i| i.probability_loyalty)),
        M::NegativeFlipRate => (Some(t.negative_flip_rate), i.and_then(|i| i.negative_flip_rate)),
        M::PositiveFlipRate => (Some(t.positive_flip_rate), i.and_then(|i| i.positive_flip_rate)),
        M::AccuracyDrop => (Some(t.teacher_accuracy - t.student_accuracy), i.and_then(|i| i.accuracy_drop)),
        M::Accuracy => (Some(t.student_accuracy), None),
        _ => (None, None),
    }
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
            format!(
                "max {:.4}{unit}  99% {:.4}{unit}  median {:.4}{unit}  1% {:.4}{unit}  min {:.4}{unit}",
                p.max * scale,
                at(0.99) * scale,
                p.median * scale,
                at(0.01) * scale,
                p.min * scale
            )
        }
    }
}

/// The terminal view: per student, llama.cpp's headline statistics and fidelity's.
pub fn render_terminal(r: &LmReport) -> String {
    let mut out = String::new();
    let d = &r.data;
    let _ = writeln!(
        out,
        "{}: causal LM, {} documents, {} windows of up to {} tokens (stride {}), {} positions scored from {}",
        r.name, d.documents, d.windows, d.context, d.stride, d.scored_positions, d.score_from
    );
    let _ = writeln!(out, "teacher {}: {}", r.teacher.model.name, r.teacher.model.interface);
    if let Some(i) = r.students.first().and_then(|s| s.tokens.intervals.as_ref()) {
        let _ = writeln!(
            out,
            "± is llama.cpp's token σ (tokens as independent); [..] the {:.0} % interval of a bootstrap over {} windows ({} resamples)",
            100.0 * i.confidence,
            i.units,
            i.resamples
        );
    }
    for s in &r.students {
        let t = &s.tokens;
        let i = t.intervals.as_ref();
        let _ = writeln!(out, "\nstudent {}: {}", s.model.model.name, s.model.model.interface);
        let _ =
            writeln!(out, "  PPL student / teacher      {}{} / {}", pm(&t.ppl, 1.0, 4), ci(i.and_then(|i| i.ppl.as_ref()), 1.0, 4), pm(&t.ppl_teacher, 1.0, 4));
        let _ = writeln!(
            out,
            "  PPL ratio                  {}{}   Cor(ln PPL) {:.2}%",
            pm(&t.ppl_ratio, 1.0, 5),
            ci(i.and_then(|i| i.ppl_ratio.as_ref()), 1.0, 5),
            100.0 * t.nll_correlation
        );
        let wider = i.and_then(|i| i.mean_kld_half_width_in_token_sigmas).map(|x| format!(" (half-width {x:.1} token σ)")).unwrap_or_default();
        let _ = writeln!(
            out,
            "  mean KLD                   {}{}{wider}   reverse {:.6}",
            pm(&t.mean_kld, 1.0, 6),
            ci(i.and_then(|i| i.mean_kld.as_ref()), 1.0, 6),
            t.mean_reverse_kld
        );
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
    if !r.gate.checks.is_empty() || !r.gate.not_judged.is_empty() {
        let _ = writeln!(out, "\ngates:");
        for c in &r.gate.checks {
            let value = c.value.map_or_else(|| "unavailable".into(), |v| format!("{v:.6}"));
            let interval = c.interval.map(|i| format!(" [{:.6}, {:.6}]", i.lower, i.upper)).unwrap_or_default();
            let on = if c.judged_on == crate::gate::Judge::Interval { ", on the interval" } else { "" };
            let _ = writeln!(
                out,
                "  {} {}: {value}{interval}{on}{}",
                if c.passed { "pass" } else { "FAIL" },
                c.name(),
                c.note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
            );
        }
        for n in &r.gate.not_judged {
            let _ = writeln!(out, "  not judged {}: {}", n.name(), n.reason);
        }
    }
    let _ = writeln!(out, "\nverdict: {}", r.verdict());
    out
}
