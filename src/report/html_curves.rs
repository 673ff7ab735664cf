//! The HTML report's batch-size curves: throughput and time per batch against the batch size,
//! log-log, one line per model.

use super::escape::markup as esc;
use super::html::{legend_entry, series_colour};
use super::Report;
use std::fmt::Write;


/// Both charts, or nothing when fewer than two batch sizes were measured.
pub fn curves(report: &Report) -> String {
    let models = super::format_curves::measured(report);
    let lines = |value: &dyn Fn(&crate::speed::Throughput) -> f64| -> Vec<(String, &'static str, Vec<(f64, f64)>)> {
        models
            .iter()
            .enumerate()
            .map(|(i, (name, s))| {
                (name.to_string(), series_colour(i), s.throughput.iter().map(|t| (t.batch_size as f64, value(t))).collect())
            })
            .filter(|(_, _, p): &(String, &str, Vec<(f64, f64)>)| p.len() > 1)
            .collect()
    };
    let throughput = lines(&|t| t.examples_per_second.median);
    if throughput.is_empty() {
        return String::new();
    }
    let batch_time = lines(&|t| t.batch_ms);
    format!("<div class=\"charts\">{}{}</div>", chart("throughput", "examples per second", &throughput), chart("batch-time", "milliseconds per batch", &batch_time))
}

fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let (a, b) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    (a..=b).map(|e| 10f64.powi(e)).collect()
}

fn chart(kind: &str, what: &str, lines: &[(String, &str, Vec<(f64, f64)>)]) -> String {
    let points = || lines.iter().flat_map(|(_, _, p)| p.iter().copied());
    let (xmax, ymin, ymax) = (points().map(|p| p.0).fold(1.0, f64::max), points().map(|p| p.1).fold(f64::MAX, f64::min).max(1e-9), points().map(|p| p.1).fold(0.0, f64::max));
    let (ylo, yhi) = (10f64.powf(ymin.log10().floor()), 10f64.powf(ymax.log10().ceil().max(ymin.log10().floor() + 1.0)));
    let (left, plot_w, plot_h, top, legend_w) = (56.0, 300.0, 180.0, 24.0, 130.0);
    let x = |b: f64| left + b.log2() / xmax.log2().max(1.0) * plot_w;
    let y = |v: f64| top + (1.0 - (v.max(ylo).log10() - ylo.log10()) / (yhi.log10() - ylo.log10())) * plot_h;
    let (w, h) = (left + plot_w + legend_w, top + plot_h + 40.0);
    let mut svg = format!("<svg class=\"chart chart-curve\" data-kind=\"{kind}\" role=\"img\" aria-label=\"{what} against batch size\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">");
    for v in log_ticks(ylo, yhi) {
        let (right, at) = (left + plot_w, y(v));
        let _ = write!(svg, "<line x1=\"{left}\" x2=\"{right:.1}\" y1=\"{at:.1}\" y2=\"{at:.1}\" stroke=\"#e5e8ee\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{v}</text>", left - 6.0, at + 4.0);
    }
    let mut sizes: Vec<f64> = points().map(|p| p.0).collect();
    sizes.sort_by(f64::total_cmp);
    sizes.dedup();
    for b in sizes {
        let _ = write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{b}</text>", x(b), top + plot_h + 16.0);
    }
    let _ = write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">batch size (log scale)</text><text x=\"{left}\" y=\"14\">{what} (log scale)</text>", left + plot_w / 2.0, h - 4.0);
    for (k, (name, colour, p)) in lines.iter().enumerate() {
        let path: Vec<String> = p.iter().map(|&(b, v)| format!("{:.1},{:.1}", x(b), y(v))).collect();
        let _ = write!(svg, "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>", path.join(" "));
        for &(b, v) in p {
            let _ = write!(svg, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"><title>{} at batch {b}: {v:.3}</title></circle>", x(b), y(v), esc(name));
        }
        legend_entry(&mut svg, k, left + plot_w + 16.0, top, colour, name);
    }
    svg.push_str("</svg>");
    svg
}
