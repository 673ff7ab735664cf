//! The HTML report's natural-noise section: the table, and one line chart per kind of noise
//! (accuracy against the noise rate, rate 0 being the clean sample; stability when unlabelled).

use super::escape::markup as esc;
use super::format::percent;
use super::html::{legend_entry, series_colour, table};
use super::Report;
use crate::noise::{ModelNoise, NoiseKind};
use std::fmt::Write;


pub fn noise_section(report: &Report) -> String {
    let (header, rows) = super::format_noise::noise_rows(report);
    if rows.is_empty() {
        return String::new();
    }
    let rows: Vec<(String, Vec<String>)> = rows.into_iter().map(|r| (String::new(), r.iter().map(|c| esc(c)).collect())).collect();
    let charts: String = NoiseKind::ALL.into_iter().map(|k| chart(report, k)).collect();
    let worst = super::format_noise::worst_gap(report).map_or_else(String::new, |w| format!("<p><strong>{}</strong></p>", esc(&w)));
    format!(
        "<section id=\"noise\"><h2>Robustness to natural noise</h2>{worst}<div class=\"charts\">{charts}</div>{}<p class=\"note\">{}</p></section>",
        table(&header, &rows),
        esc(&super::format_noise::noise_note(report))
    )
}

/// (name, colour, the model's results) for the teacher and every student.
fn series(report: &Report) -> Vec<(&str, &'static str, &[ModelNoise])> {
    let teacher = report.teacher.noise.as_deref().map(|n| (report.teacher.info.name.as_str(), series_colour(0), n));
    let students = report.students.iter().enumerate().filter_map(|(i, s)| {
        let colour = series_colour(i + 1);
        s.model.noise.as_deref().map(|n| (s.model.info.name.as_str(), colour, n))
    });
    teacher.into_iter().chain(students).collect()
}

/// One kind's chart; empty when no level of that kind ran.
fn chart(report: &Report, kind: NoiseKind) -> String {
    let all = series(report);
    let labelled = report.data.labelled > 0;
    // Points (rate, value) per model: the clean sample at rate 0, then each level of this kind.
    let points: Vec<(&str, &str, Vec<(f64, f64)>)> = all
        .iter()
        .map(|(name, colour, levels)| {
            let mine: Vec<&ModelNoise> = levels.iter().filter(|l| l.level.kind == kind).collect();
            let clean = mine.first().and_then(|l| if labelled { l.clean_accuracy } else { Some(1.0) });
            let noisy = mine.iter().filter_map(|l: &&ModelNoise| Some((l.level.rate, if labelled { l.noisy_accuracy? } else { l.stability })));
            let line: Vec<(f64, f64)> = clean.map(|c| (0.0, c)).into_iter().chain(noisy).collect();
            (*name, *colour, line)
        })
        .filter(|(_, _, p)| p.len() > 1)
        .collect();
    if points.is_empty() {
        return String::new();
    }
    let max_rate = points.iter().flat_map(|(_, _, p)| p.iter().map(|q| q.0)).fold(0.0f64, f64::max).max(1e-9);
    let lowest = points.iter().flat_map(|(_, _, p)| p.iter().map(|q| q.1)).fold(1.0f64, f64::min);
    let lo = ((lowest * 10.0).floor() / 10.0).clamp(0.0, 0.9);
    let (left, plot_w, plot_h, top, legend_w) = (48.0, 300.0, 180.0, 24.0, 130.0);
    let x = |r: f64| left + r / max_rate * plot_w;
    let y = |v: f64| top + (1.0 - (v - lo) / (1.0 - lo)) * plot_h;
    let (w, h) = (left + plot_w + legend_w, top + plot_h + 40.0);
    let what = if labelled { "accuracy" } else { "stability" };
    let axis = match kind {
        NoiseKind::Gaussian => "noise, multiples of each feature's standard deviation",
        NoiseKind::Typos => "typos: share of letters slipped",
        NoiseKind::Dropout => "dropout: share of words dropped",
        _ => "corruption severity (ImageNet-C, 1-5)",
    };
    let mut svg = format!(
        "<svg class=\"chart chart-noise\" data-kind=\"{}\" role=\"img\" aria-label=\"{what} under {} noise\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">",
        kind.name(),
        kind.name()
    );
    // Gridlines every 10 points (5 when the range is narrow); ticks at the rates that ran.
    let step = if 1.0 - lo > 0.25 { 0.1 } else { 0.05 };
    for tick in 0..=((1.0 - lo) / step).round() as usize {
        let v = lo + step * tick as f64;
        let (right, at, label_x) = (left + plot_w, y(v), left - 6.0);
        let _ = write!(
            svg,
            "<line x1=\"{left}\" x2=\"{right:.1}\" y1=\"{at:.1}\" y2=\"{at:.1}\" stroke=\"#e5e8ee\"/><text x=\"{label_x:.1}\" y=\"{:.1}\" text-anchor=\"end\">{:.0}%</text>",
            at + 4.0,
            100.0 * v
        );
    }
    let mut rates: Vec<f64> = points.iter().flat_map(|(_, _, p)| p.iter().map(|q| q.0)).collect();
    rates.sort_by(f64::total_cmp);
    rates.dedup();
    for r in rates {
        let _ = write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{r}</text>", x(r), top + plot_h + 16.0);
    }
    let _ = write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text><text x=\"{left}\" y=\"14\">{what}</text>", left + plot_w / 2.0, h - 4.0, esc(axis));
    for (k, (name, colour, p)) in points.iter().enumerate() {
        let path: Vec<String> = p.iter().map(|&(r, v)| format!("{:.1},{:.1}", x(r), y(v))).collect();
        // The teacher wide and first, so a student on top of it still shows it.
        let width = if k == 0 { 6 } else { 2 };
        let _ = write!(svg, "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"{width}\" points=\"{}\"/>", path.join(" "));
        for &(r, v) in p {
            let _ = write!(svg, "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"><title>{} at {}: {}</title></circle>", x(r), y(v), esc(name), r, percent(Some(v)));
        }
        legend_entry(&mut svg, k, left + plot_w + 16.0, top, colour, name);
    }
    svg.push_str("</svg>");
    svg
}
