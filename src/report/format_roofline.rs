//! The systems view as cells and lines, shared by every writer: the machine's measured roofs, each
//! model's roofline points, and energy per example (or why there is none).

use super::{ModelReport, Report};

/// Every model, the teacher first.
fn models(report: &Report) -> impl Iterator<Item = &ModelReport> {
    std::iter::once(&report.teacher).chain(report.students.iter().map(|s| &s.model))
}

/// "154 GFLOP/s", "1.30 TFLOP/s", "19.7 GB/s": three significant digits with an SI prefix.
pub fn si(value: f64, unit: &str) -> String {
    let (scaled, prefix) = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")].iter().find(|(s, _)| value >= *s).map_or((value, ""), |(s, p)| (value / s, *p));
    let digits = if scaled >= 100.0 { 0 } else if scaled >= 10.0 { 1 } else { 2 };
    format!("{scaled:.digits$} {prefix}{unit}")
}

/// "machine peaks: fp32 GEMM 154 GFLOP/s, int8 GEMM 1.30 Top/s, memory 19.7 GB/s (cached ...)", or
/// why they are absent.
pub fn peaks_line(report: &Report) -> Option<String> {
    if let Some(p) = &report.peaks {
        let origin = match (&p.cache_file, p.from_cache) {
            (Some(f), true) => format!("read from {}", f.display()),
            (Some(f), false) => format!("measured now, cached in {}", f.display()),
            (None, _) => "measured now, not cached (no cache directory)".into(),
        };
        return Some(format!("{}; {origin}", peaks_summary(p)));
    }
    report.peaks_note.as_ref().map(|n| format!("machine peaks: not measured: {n}"))
}

/// What `fidelity machine --peaks` prints: the figures, how they were measured, where they are kept.
pub fn peaks_text(p: &crate::roofline::MachinePeaks) -> String {
    let threads = p.method.threads.map_or("ONNX Runtime's default".to_string(), |t| t.to_string());
    let [fp32, int8, bandwidth] = p.method.runs;
    let cache = match (&p.cache_file, p.from_cache) {
        (Some(f), true) => format!("read from {} (delete it to measure again)", f.display()),
        (Some(f), false) => format!("measured now, cached in {}", f.display()),
        (None, _) => "measured now, not cached (no cache directory: set FIDELITY_CACHE_DIR)".to_string(),
    };
    format!(
        "{}\nmethod: {}; GEMM sizes {} (fp32) and {} (int8); intra-op threads {threads}; timed runs {fp32}, {int8} and {bandwidth}; ONNX Runtime {} on {}\n{cache}\n",
        peaks_summary(p),
        p.method.description,
        p.method.gemm_size,
        p.method.int8_gemm_size,
        p.method.onnxruntime_version,
        p.method.device
    )
}

/// "machine peaks: fp32 GEMM 154 GFLOP/s (46 % of the nominal 333 GFLOP/s: 2 cores × ...), int8
/// GEMM 1.30 Top/s, memory 19.7 GB/s".
pub fn peaks_summary(p: &crate::roofline::MachinePeaks) -> String {
    let nominal = p.nominal.as_ref().map_or_else(String::new, |n| {
        format!(" ({:.0} % of the nominal {}: {})", 100.0 * p.fp32_flops_per_second / n.fp32_flops_per_second, si(n.fp32_flops_per_second, "FLOP/s"), n.basis())
    });
    format!(
        "machine peaks: fp32 GEMM {}{nominal}, int8 GEMM {}, memory {}",
        si(p.fp32_flops_per_second, "FLOP/s"),
        si(p.int8_ops_per_second, "op/s"),
        si(p.memory_bytes_per_second, "B/s")
    )
}

/// One row per model and batch size: intensity, achieved and attainable FLOP/s, share, verdict.
pub fn roofline_rows(report: &Report) -> (Vec<String>, Vec<Vec<String>>) {
    let header = ["model", "roof", "batch", "bytes/ex", "FLOP/byte", "achieved", "attainable", "share of roof", "bound"];
    let rows: Vec<Vec<String>> = models(report)
        .filter_map(|m| Some((m.info.name.as_str(), m.roofline.as_ref()?)))
        .flat_map(|(name, r)| {
            r.points.iter().map(move |p| {
                vec![
                    name.to_string(),
                    format!("{:?}", r.roof).to_lowercase(),
                    p.batch_size.to_string(),
                    si(p.bytes_per_example, "B"),
                    format!("{:.3}", p.arithmetic_intensity),
                    si(p.achieved_flops_per_second, "FLOP/s"),
                    si(p.attainable_flops_per_second, "FLOP/s"),
                    format!("{:.1} %", 100.0 * p.share_of_roof),
                    p.bound.label().to_string(),
                ]
            })
        })
        .collect();
    (header.iter().map(|h| h.to_string()).collect(), rows)
}

/// "distilled memory-bound at every batch size (3-41 % of the roof)": one verdict per model.
pub fn roofline_line(report: &Report) -> Option<String> {
    let verdicts: Vec<String> = models(report)
        .filter_map(|m| {
            let r = m.roofline.as_ref()?;
            let bounds: Vec<_> = r.points.iter().map(|p| p.bound).collect();
            let bound = match bounds.first() {
                Some(&b) if bounds.iter().all(|&x| x == b) => format!("{} at every batch size", b.label()),
                Some(_) => {
                    let first_compute = r.points.iter().find(|p| p.bound == crate::roofline::Bound::Compute)?.batch_size;
                    format!("compute-bound from batch {first_compute}")
                }
                None => return None,
            };
            let shares = r.points.iter().map(|p| 100.0 * p.share_of_roof);
            let (lo, hi) = shares.fold((f64::MAX, 0.0f64), |(lo, hi), s| (lo.min(s), hi.max(s)));
            // The bandwidth roof is DRAM's: a model whose weights stay in cache between batches
            // moves fewer bytes from memory than the graph names, and can pass it.
            let cached = if hi > 100.0 { ", above the DRAM roof: its bytes stay in cache" } else { "" };
            Some(format!("{} {bound} ({lo:.0}-{hi:.0} % of the roof{cached})", m.info.name))
        })
        .collect();
    (!verdicts.is_empty()).then(|| format!("roofline: {}", verdicts.join("; ")))
}

/// Energy per example per model, or the reason it is absent; `None` without speed.
pub fn energy_line(report: &Report) -> Option<String> {
    let source = report.energy.as_ref()?;
    let figures: Vec<String> = models(report)
        .filter_map(|m| {
            let s = m.speed.as_ref()?;
            let e = s.energy?;
            Some(format!(
                "{} {:.3} mJ/example ({:.3}-{:.3}), {:.2} Wh per million at batch {}",
                m.info.name,
                1e3 * e.joules_per_example.median,
                1e3 * e.joules_per_example.min,
                1e3 * e.joules_per_example.max,
                e.wh_per_million_examples,
                s.speedup_batch_size
            ))
        })
        .collect();
    if figures.is_empty() {
        let why = source.reason.as_deref().unwrap_or("no counter gave a reading during the speed rounds");
        return Some(format!("energy: not available on this machine: {why}"));
    }
    let meter = source.meter.as_deref().unwrap_or("?");
    let mut line = format!("energy ({meter}: {}): {}", source.domains.join(" + "), figures.join("; "));
    if let Some(left_out) = &source.reason {
        line.push_str(&format!(" (not counted: {left_out})"));
    }
    Some(line)
}

#[cfg(test)]
mod tests {
    use super::si;

    #[test]
    fn si_prefixes_keep_three_significant_digits() {
        assert_eq!(si(1.54e11, "FLOP/s"), "154 GFLOP/s");
        assert_eq!(si(1.3e12, "op/s"), "1.30 Top/s");
        assert_eq!(si(1.97e10, "B/s"), "19.7 GB/s");
        assert_eq!(si(512.0, "B"), "512 B");
        assert_eq!(si(0.5, "B"), "0.50 B");
    }
}
