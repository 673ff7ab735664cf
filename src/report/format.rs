//! Number formatting shared by the writers (percent with two decimals, as the loyalty paper).

use crate::stats::Interval;
use crate::subgroups::analysis::McNemar;

pub fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{:.2}", 100.0 * v))
}

/// Mean KL in nats; "inf" when some example's KL is infinite, "-" when a model gives labels only.
pub fn mean_kl(f: &crate::metrics::FidelityMetrics) -> String {
    match (f.mean_kl, f.probability_loyalty) {
        (Some(k), _) => format!("{k:.4}"),
        (None, None) => "-".into(),
        (None, Some(_)) => "inf".into(),
    }
}

pub fn signed_percent(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{:+.2}", 100.0 * v))
}

/// "97.20 [96.50, 97.90]" (percent), or the point alone without an interval.
pub fn with_interval(point: Option<f64>, interval: Option<Interval>, signed: bool) -> String {
    let fmt = |x: f64| if signed { format!("{:+.2}", 100.0 * x) } else { format!("{:.2}", 100.0 * x) };
    match (point, interval) {
        (Some(p), Some(i)) => format!("{} [{}, {}]", fmt(p), fmt(i.lower), fmt(i.upper)),
        (Some(p), None) => fmt(p),
        _ => "-".into(),
    }
}

/// The adjusted p-value when there is one, else the raw one.
pub fn p_value(m: Option<&McNemar>) -> String {
    match m {
        Some(McNemar { p_adjusted: Some(p), .. }) | Some(McNemar { p_value: p, p_adjusted: None, .. }) => {
            if *p < 1e-4 {
                format!("{p:.1e}")
            } else {
                format!("{p:.4}")
            }
        }
        None => "-".into(),
    }
}

/// A metric value as a gate shows it: plain number, 4 decimals (thresholds are plain numbers).
pub fn plain(x: Option<f64>) -> String {
    x.map_or_else(|| "unavailable".into(), |v| format!("{v:.4}"))
}

pub fn correction_name(c: crate::stats::Correction) -> &'static str {
    match c {
        crate::stats::Correction::Holm => "Holm",
        crate::stats::Correction::BenjaminiHochberg => "Benjamini-Hochberg",
    }
}

/// Marks the start and end of a report part that holds measured timings, which differ run to run
/// (the reports/ freshness test skips what lies between).
pub const TIMING_START: &str = "<!-- timing:start -->";
pub const TIMING_END: &str = "<!-- timing:end -->";

/// Measured rounds at the evaluation batch size (the speedup's), from the teacher.
pub fn speed_rounds(report: &super::Report) -> usize {
    report.teacher.speed.as_ref().and_then(|s| s.throughput.iter().find(|t| t.batch_size == s.speedup_batch_size)).map_or(0, |t| t.rounds)
}

/// "within a 2.5 s budget" or "no time budget".
pub fn speed_budget(report: &super::Report) -> String {
    match report.speed.as_ref().map(|s| s.budget) {
        Some(crate::speed::SpeedBudget::Seconds(b)) => format!("within a {b:.1} s budget"),
        _ => "no time budget".into(),
    }
}

/// The speed table: header and one row per model (teacher first); empty without measurements.
pub fn speed_rows(report: &super::Report) -> (Vec<String>, Vec<Vec<String>>) {
    let Some(settings) = &report.speed else { return (vec![], vec![]) };
    let models: Vec<CostView> = std::iter::once(&report.teacher)
        .chain(report.students.iter().map(|s| &s.model))
        .filter_map(|m| Some(CostView { info: &m.info, speed: m.speed.as_ref()?, session_memory_bytes: m.session_memory_bytes, size: m.size.as_ref() }))
        .collect();
    cost_rows(&settings.batch_sizes, report.batching.batch_size, &models)
}

/// What the speed-and-size table shows of one model (from `compare` or `bench`).
pub struct CostView<'a> {
    pub info: &'a crate::model::ModelInfo,
    pub speed: &'a crate::speed::ModelSpeed,
    pub session_memory_bytes: Option<u64>,
    pub size: Option<&'a crate::onnx::GraphStats>,
}

/// The speed-and-size table: one row per model, the teacher first.
pub fn cost_rows(batch_sizes: &[usize], batch_size: usize, models: &[CostView]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut header = vec!["model".to_string(), format!("speedup @{batch_size}"), "latency p50 (ms)".into(), "p95 (ms)".into()];
    let mut sizes: Vec<usize> = batch_sizes.to_vec();
    if !sizes.contains(&batch_size) {
        sizes.push(batch_size);
    }
    sizes.sort_unstable();
    header.extend(sizes.iter().map(|b| format!("ex/s @{b}")));
    header.extend(["session memory (MB)".to_string(), "file (MB)".to_string(), "params".to_string(), "nonzero".to_string(), "dense FLOPs/ex".to_string()]);
    let rows = models
        .iter()
        .map(|m| {
            let sp = m.speed;
            let mut row = vec![
                m.info.name.clone(),
                sp.speedup.map_or_else(|| "1.00x".into(), |s| format!("{:.2}x ({:.2}-{:.2})", s.median, s.min, s.max)),
                format!("{:.3}", sp.latency_ms_p50),
                format!("{:.3}", sp.latency_ms_p95),
            ];
            row.extend(
                sizes
                    .iter()
                    .map(|b| sp.throughput.iter().find(|t| t.batch_size == *b).map_or_else(|| "-".into(), |t| format!("{:.0}", t.examples_per_second.median))),
            );
            row.push(m.session_memory_bytes.map_or_else(|| "-".into(), |b| format!("{:.1}", b as f64 / 1e6)));
            row.push(format!("{:.2}", m.info.bytes as f64 / 1e6));
            row.extend(graph_cells(m.size));
            row
        })
        .collect();
    (header, rows)
}

/// The attack table: one row per model (teacher first); empty when attacks were off.
pub fn attack_rows(report: &super::Report) -> (Vec<String>, Vec<Vec<String>>) {
    if report.attack.is_none() {
        return (vec![], vec![]);
    }
    let header =
        ["model", "attacked", "after-attack acc", "success rate", "mean queries", "perturbed share", "transfer from teacher"].map(String::from).to_vec();
    let rows = std::iter::once(&report.teacher)
        .chain(report.students.iter().map(|s| &s.model))
        .filter_map(|m| {
            let a = m.attack.as_ref()?;
            let s = &a.summary;
            Some(vec![
                m.info.name.clone(),
                s.attacked.to_string(),
                percent(s.after_attack_accuracy),
                percent(s.attack_success_rate),
                s.mean_queries.map_or_else(|| "-".into(), |q| format!("{q:.1}")),
                percent(s.mean_perturbed_share),
                a.transfer.as_ref().map_or_else(|| "-".into(), |t| format!("{} ({} of {})", percent(t.transfer_success_rate), t.fooled, t.replayed)),
            ])
        })
        .collect();
    (header, rows)
}

/// Parameters, nonzero share and dense FLOPs per example of a model ("-" when not read).
pub fn size_cells(m: &super::ModelReport) -> Vec<String> {
    graph_cells(m.size.as_ref())
}

fn graph_cells(size: Option<&crate::onnx::GraphStats>) -> Vec<String> {
    match size {
        Some(g) => vec![
            g.parameters.to_string(),
            format!("{:.1}%", 100.0 * g.nonzero_parameters as f64 / g.parameters.max(1) as f64),
            format!("{:.0}", g.flops_per_example),
        ],
        None => vec!["-".into(), "-".into(), "-".into()],
    }
}

/// "95%": the interval level as headers show it.
pub fn level(report: &super::Report) -> String {
    format!("{:.0}%", 100.0 * report.statistics.settings.bootstrap.confidence)
}

/// The students table every writer shows: teacher first, then each student with intervals.
pub fn student_rows(report: &super::Report) -> (Vec<String>, Vec<Vec<String>>) {
    let level = level(report);
    let header = ["model", "Acc", &format!("ΔAcc [{level}]"), &format!("L-L [{level}]"), &format!("P-L [{level}]"), "NFR", "PFR", "KL", "McNemar p"]
        .map(String::from)
        .to_vec();
    let mut rows = vec![vec![
        report.teacher.info.name.clone(),
        percent(report.teacher.accuracy),
        "-".into(),
        "100.00".into(),
        "100.00".into(),
        "-".into(),
        "-".into(),
        "-".into(),
        "-".into(),
    ]];
    for s in &report.students {
        let (f, iv) = (&s.fidelity, s.statistics.intervals.as_ref());
        rows.push(vec![
            s.model.info.name.clone(),
            percent(f.student_accuracy),
            with_interval(f.accuracy_delta, iv.and_then(|i| i.accuracy_delta), true),
            with_interval(Some(f.label_loyalty), iv.map(|i| i.label_loyalty), false),
            with_interval(f.probability_loyalty, iv.and_then(|i| i.probability_loyalty), false),
            percent(f.negative_flip_rate),
            percent(f.positive_flip_rate),
            mean_kl(f),
            p_value(s.statistics.mcnemar.as_ref()),
        ]);
    }
    (header, rows)
}

/// Every gate check: (passed, cells). Writers mark failures their own way.
pub fn gate_rows(report: &super::Report) -> (Vec<String>, Vec<(bool, Vec<String>)>) {
    let header = ["result", "check", "value", "interval", "judged on", "note"].map(String::from).to_vec();
    let rows = report
        .gate
        .checks
        .iter()
        .map(|c| {
            (
                c.passed,
                vec![
                    if c.passed { "pass".into() } else { "FAIL".into() },
                    c.name(),
                    plain(c.value),
                    c.interval.map_or_else(|| "-".into(), |i| format!("[{:.4}, {:.4}]", i.lower, i.upper)),
                    format!("{:?}", c.judged_on).to_lowercase(),
                    c.note.clone().unwrap_or_default(),
                ],
            )
        })
        .chain(
            report
                .gate
                .not_judged
                .iter()
                .filter(|n| n.counted_as == crate::gate::Unjudged::Skip)
                .map(|n| (true, vec!["skipped".into(), n.name(), "-".into(), "-".into(), "-".into(), format!("not judged: {}", n.reason)])),
        )
        .collect();
    (header, rows)
}

/// "13 of 13 checks passed", plus the groups a per-group gate skipped, if any.
pub fn gate_summary(gate: &crate::gate::GateOutcome) -> String {
    let skipped = gate.not_judged.iter().filter(|n| n.counted_as == crate::gate::Unjudged::Skip).count();
    let also = if skipped > 0 { format!("; {skipped} groups not judged (too small), skipped") } else { String::new() };
    format!("{} of {} checks passed{also}", gate.passed, gate.checks.len())
}

/// Whether there is anything for a gate section to show.
pub fn has_gate(gate: &crate::gate::GateOutcome) -> bool {
    !gate.checks.is_empty() || !gate.not_judged.is_empty()
}

/// One student's groups: (too small, cells).
pub fn group_rows(report: &super::Report, s: &super::StudentReport) -> (Vec<String>, Vec<(bool, Vec<String>)>) {
    let level = level(report);
    let min = report.statistics.settings.min_group_size;
    let header = [
        "group",
        "n",
        "share",
        "Acc T",
        "Acc S",
        &format!("ΔAcc [{level}]"),
        &format!("L-L [{level}]"),
        "P-L",
        "repr",
        "ampl",
        &format!("p ({})", correction_name(report.statistics.settings.correction)),
        "rank",
    ]
    .map(String::from)
    .to_vec();
    let rows = s
        .statistics
        .groups
        .iter()
        .map(|g| {
            let iv = g.intervals.as_ref();
            (
                g.too_small,
                vec![
                    g.name.clone(),
                    g.metrics.n.to_string(),
                    format!("{:.1}%", 100.0 * g.share),
                    percent(g.metrics.teacher_accuracy),
                    percent(g.metrics.student_accuracy),
                    with_interval(g.metrics.accuracy_delta, iv.and_then(|i| i.accuracy_delta), true),
                    with_interval(Some(g.metrics.label_loyalty), iv.map(|i| i.label_loyalty), false),
                    percent(g.metrics.probability_loyalty),
                    g.representation.map_or_else(|| "-".into(), |r| format!("{r:.2}")),
                    g.amplification.map_or_else(|| "-".into(), |a| format!("{a:.2}")),
                    if g.too_small { "-".into() } else { p_value(g.mcnemar.as_ref()) },
                    if g.too_small { format!("too small (< {min})") } else { g.harm_rank.map_or_else(String::new, |r| format!("#{r}")) },
                ],
            )
        })
        .collect();
    (header, rows)
}

/// "multiple choice: 4 choices per row, each scored by ...": how a multiple-choice run's classes
/// came to be, and how many contexts were cut; `None` for other data.
pub fn choices_line(report: &super::Report) -> Option<String> {
    let super::InputsInfo::Choices { choices, scoring, max_tokens, truncated, .. } = &report.data.inputs else { return None };
    let cut = match truncated {
        0 => String::new(),
        n => format!("; {n} rows had their context cut from the left to fit {max_tokens} tokens"),
    };
    Some(format!("multiple choice: {choices} choices per row (the classes), each scored by {scoring}; the softmax over a row's scores is its choice distribution{cut}"))
}

/// "teacher-O0 optimization=disable; teacher-1thread threads=1": the models whose sessions do not
/// run on ONNX Runtime's defaults; `None` when every model does.
pub fn runtime_settings_line(report: &super::Report) -> Option<String> {
    let models = std::iter::once(&report.teacher).chain(report.students.iter().map(|s| &s.model));
    let described: Vec<String> = models
        .filter(|m| !m.info.runtime_settings.is_default())
        .map(|m| {
            let r = &m.info.runtime_settings;
            let mut parts: Vec<String> = Vec::new();
            if let Some(o) = r.optimization {
                parts.push(format!("optimization={}", serde_json::to_value(o).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()));
            }
            if let Some(t) = r.threads {
                parts.push(format!("threads={t} (own pool)"));
            }
            parts.extend(r.config.iter().map(|(k, v)| format!("{k}={v}")));
            format!("{} {}", m.info.name, parts.join(", "))
        })
        .collect();
    (!described.is_empty()).then(|| format!("runtime settings other than ONNX Runtime's defaults: {}", described.join("; ")))
}
