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
