//! The HTML report's roofline chart: log-log, arithmetic intensity against FLOP/s, the machine's
//! bandwidth roof, its fp32 and int8 compute roofs and their ridge points, one point per model and
//! batch size, and a legend.

use super::escape::markup as esc;
use super::format_roofline::si;
use super::html::{legend_entry, series_colour};
use super::Report;
use std::fmt::Write;

/// The chart, or nothing without peaks or roofline points.
pub fn chart(report: &Report) -> String {
    let Some(peaks) = &report.peaks else { return String::new() };
    let models: Vec<(usize, &str, &crate::roofline::Roofline)> = std::iter::once(&report.teacher)
        .chain(report.students.iter().map(|s| &s.model))
        .enumerate()
        .filter_map(|(i, m)| Some((i, m.info.name.as_str(), m.roofline.as_ref()?)))
        .collect();
    let points = || models.iter().flat_map(|(_, _, r)| r.points.iter());
    if points().next().is_none() {
        return String::new();
    }
    let bw = peaks.memory_bytes_per_second;
    let roofs = [("fp32 GEMM", peaks.fp32_flops_per_second), ("int8 GEMM", peaks.int8_ops_per_second)];
    let top_roof = roofs.iter().map(|r| r.1).fold(0.0, f64::max);
    // Decades that hold every point and both ridges.
    let intensities = points().map(|p| p.arithmetic_intensity).chain(roofs.iter().map(|r| r.1 / bw));
    let (imin, imax) = intensities.fold((f64::MAX, 0.0f64), |(lo, hi), i| (lo.min(i), hi.max(i)));
    let (xlo, xhi) = (10f64.powf(imin.log10().floor()), 10f64.powf((imax * 10.0).log10().ceil()));
    let ymin = points().map(|p| p.achieved_flops_per_second).fold(xlo * bw, f64::min).max(1.0);
    let (ylo, yhi) = (10f64.powf(ymin.log10().floor()), 10f64.powf((top_roof * 2.0).log10().ceil()));
    let (left, plot_w, plot_h, top, legend_w) = (64.0, 360.0, 220.0, 24.0, 140.0);
    let x = |i: f64| left + (i.clamp(xlo, xhi).log10() - xlo.log10()) / (xhi.log10() - xlo.log10()) * plot_w;
    let y = |v: f64| top + (1.0 - (v.clamp(ylo, yhi).log10() - ylo.log10()) / (yhi.log10() - ylo.log10())) * plot_h;
    let (w, h) = (left + plot_w + legend_w, top + plot_h + 40.0);
    let mut svg = format!("<svg class=\"chart chart-roofline\" role=\"img\" aria-label=\"roofline: FLOP/s against arithmetic intensity\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">");
    for e in (ylo.log10() as i32)..=(yhi.log10() as i32) {
        let (v, right) = (10f64.powi(e), left + plot_w);
        let _ = write!(svg, "<line x1=\"{left}\" x2=\"{right:.1}\" y1=\"{at:.1}\" y2=\"{at:.1}\" stroke=\"#e5e8ee\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>", left - 6.0, y(v) + 4.0, si(v, ""), at = y(v));
    }
    for e in (xlo.log10() as i32)..=(xhi.log10() as i32) {
        let i = 10f64.powi(e);
        let _ = write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{i}</text>", x(i), top + plot_h + 16.0);
    }
    let _ = write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">FLOPs per byte moved (log scale)</text><text x=\"{left}\" y=\"14\">FLOP/s (log scale)</text>", left + plot_w / 2.0, h - 4.0);
    for (name, peak) in roofs {
        let ridge = peak / bw;
        let _ = write!(
            svg,
            "<polyline class=\"roof\" fill=\"none\" stroke=\"#5b6270\" stroke-width=\"1.5\" points=\"{:.1},{:.1} {:.1},{:.1} {:.1},{:.1}\"><title>{name} roof {}; memory {}</title></polyline><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{name} {}</text>",
            x(xlo), y(xlo * bw), x(ridge), y(peak), x(xhi), y(peak), si(peak, "FLOP/s"), si(bw, "B/s"), left + plot_w - 2.0, y(peak) - 4.0, si(peak, "FLOP/s")
        );
        // The ridge point: below this intensity the roof is memory's, above it arithmetic's.
        let _ = write!(
            svg,
            "<line class=\"ridge\" x1=\"{rx:.1}\" x2=\"{rx:.1}\" y1=\"{:.1}\" y2=\"{:.1}\" stroke=\"#5b6270\" stroke-dasharray=\"3 3\"><title>{name} ridge point: {ridge:.2} FLOP/byte</title></line>",
            y(peak),
            top + plot_h,
            rx = x(ridge)
        );
    }
    for (k, (i, name, r)) in models.iter().enumerate() {
        let colour = series_colour(*i);
        for p in &r.points {
            let _ = write!(
                svg,
                "<circle class=\"point\" data-model=\"{}\" cx=\"{:.1}\" cy=\"{:.1}\" r=\"3.5\" fill=\"{colour}\"><title>{} at batch {}: {:.3} FLOP/byte, {}, {:.1} % of the roof, {}</title></circle>",
                esc(name), x(p.arithmetic_intensity), y(p.achieved_flops_per_second), esc(name), p.batch_size, p.arithmetic_intensity,
                si(p.achieved_flops_per_second, "FLOP/s"), 100.0 * p.share_of_roof, p.bound.label()
            );
        }
        legend_entry(&mut svg, k, left + plot_w + 16.0, top, colour, name);
    }
    svg.push_str("</svg>");
    svg
}
