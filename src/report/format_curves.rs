//! The batch-size curves as cells, shared by every writer: throughput (and each student's speedup
//! over the teacher) at every measured batch size, and the batch size where each student gains most.

use super::Report;
use crate::speed::ModelSpeed;

/// (name, speed) of every measured model, the teacher first.
pub fn measured(report: &Report) -> Vec<(&str, &ModelSpeed)> {
    std::iter::once(&report.teacher)
        .chain(report.students.iter().map(|s| &s.model))
        .filter_map(|m| Some((m.info.name.as_str(), m.speed.as_ref()?)))
        .collect()
}

/// One row per batch size: each model's examples per second, students with their speedup.
pub fn curve_rows(report: &Report) -> (Vec<String>, Vec<Vec<String>>) {
    let models = measured(report);
    let mut sizes: Vec<usize> = models.iter().flat_map(|(_, s)| s.throughput.iter().map(|t| t.batch_size)).collect();
    sizes.sort_unstable();
    sizes.dedup();
    if sizes.len() < 2 {
        return (vec![], vec![]);
    }
    let header = std::iter::once("batch".to_string()).chain(models.iter().map(|(n, _)| format!("{n} ex/s"))).collect();
    let rows = sizes
        .iter()
        .map(|&b| {
            let cells = models.iter().map(|(_, s)| match s.throughput.iter().find(|t| t.batch_size == b) {
                Some(t) => match t.speedup {
                    Some(sp) => format!("{:.0} ({:.2}x)", t.examples_per_second.median, sp.median),
                    None => format!("{:.0}", t.examples_per_second.median),
                },
                None => "-".into(),
            });
            std::iter::once(b.to_string()).chain(cells).collect()
        })
        .collect();
    (header, rows)
}

/// "distilled 3.41x at batch 64; int8 1.30x at batch 8": each student's largest median speedup.
pub fn best_batch_line(report: &Report) -> Option<String> {
    let best: Vec<String> = measured(report)
        .iter()
        .filter_map(|(name, s)| {
            let b = s.best_speedup_batch_size?;
            let sp = s.throughput.iter().find(|t| t.batch_size == b)?.speedup?;
            Some(format!("{name} {:.2}x at batch {b}", sp.median))
        })
        .collect();
    (!best.is_empty()).then(|| format!("largest speedup over the teacher: {}", best.join("; ")))
}
