//! Number formatting shared by the writers (percent with two decimals, as the loyalty paper).

use crate::stats::Interval;
use crate::subgroups::analysis::McNemar;

pub fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{:.2}", 100.0 * v))
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

/// The speed table: header and one row per model (teacher first); empty without measurements.
pub fn speed_rows(report: &super::Report) -> (Vec<String>, Vec<Vec<String>>) {
    let Some(settings) = &report.speed else { return (vec![], vec![]) };
    let mut header = vec!["model".to_string(), format!("speedup @{}", report.batching.batch_size), "latency p50 (ms)".into(), "p95 (ms)".into()];
    let mut sizes: Vec<usize> = settings.batch_sizes.clone();
    if !sizes.contains(&report.batching.batch_size) {
        sizes.push(report.batching.batch_size);
    }
    sizes.sort_unstable();
    header.extend(sizes.iter().map(|b| format!("ex/s @{b}")));
    header.extend(["session memory (MB)".to_string(), "file (MB)".to_string(), "params".to_string(), "nonzero".to_string(), "dense FLOPs/ex".to_string()]);
    let rows = std::iter::once(&report.teacher)
        .chain(report.students.iter().map(|s| &s.model))
        .filter_map(|m| {
            let sp = m.speed.as_ref()?;
            let mut row = vec![
                m.info.name.clone(),
                sp.speedup.map_or_else(|| "1.00x".into(), |s| format!("{:.2}x ({:.2}-{:.2})", s.median, s.min, s.max)),
                format!("{:.3}", sp.latency_ms_p50),
                format!("{:.3}", sp.latency_ms_p95),
            ];
            row.extend(sizes.iter().map(|b| {
                sp.throughput.iter().find(|t| t.batch_size == *b).map_or_else(|| "-".into(), |t| format!("{:.0}", t.examples_per_second.median))
            }));
            row.push(m.session_memory_bytes.map_or_else(|| "-".into(), |b| format!("{:.1}", b as f64 / 1e6)));
            row.push(format!("{:.2}", m.info.bytes as f64 / 1e6));
            row.extend(size_cells(m));
            Some(row)
        })
        .collect();
    (header, rows)
}

/// The attack table: one row per model (teacher first); empty when attacks were off.
pub fn attack_rows(report: &super::Report) -> (Vec<String>, Vec<Vec<String>>) {
    if report.attack.is_none() {
        return (vec![], vec![]);
    }
    let header = ["model", "attacked", "after-attack acc", "success rate", "mean queries", "perturbed share", "transfer from teacher"].map(String::from).to_vec();
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
    match &m.size {
        Some(g) => vec![
            g.parameters.to_string(),
            format!("{:.1}%", 100.0 * g.nonzero_parameters as f64 / g.parameters.max(1) as f64),
            format!("{:.0}", g.flops_per_example),
        ],
        None => vec!["-".into(), "-".into(), "-".into()],
    }
}
