//! The natural-noise table as cells, shared by every writer: one block of rows per level, the
//! teacher first.

use super::format::{level as confidence, percent, signed_percent, with_interval};
use super::Report;

/// Header and rows of the noise table; empty when the noise stage did not run.
pub fn noise_rows(report: &Report) -> (Vec<String>, Vec<Vec<String>>) {
    let Some(settings) = &report.noise else { return (vec![], vec![]) };
    let level = confidence(report);
    let header = ["noise", "model", "clean acc", "noisy acc", "acc drop", "stability", &format!("L-L noisy [{level}]"), &format!("robustness gap [{level}]")]
        .map(String::from)
        .to_vec();
    let mut rows = Vec::new();
    for (l, noise) in settings.levels.iter().enumerate() {
        if let Some(t) = report.teacher.noise.as_ref().and_then(|n| n.get(l)) {
            rows.push(vec![
                noise.label(),
                report.teacher.info.name.clone(),
                percent(t.clean_accuracy),
                percent(t.noisy_accuracy),
                percent(t.accuracy_drop),
                percent(Some(t.stability)),
                "-".into(),
                "-".into(),
            ]);
        }
        for s in &report.students {
            let (Some(own), Some(versus)) = (s.model.noise.as_ref().and_then(|n| n.get(l)), s.noise.as_ref().and_then(|n| n.get(l))) else { continue };
            let iv = versus.intervals.as_ref();
            rows.push(vec![
                noise.label(),
                s.model.info.name.clone(),
                percent(own.clean_accuracy),
                percent(own.noisy_accuracy),
                percent(own.accuracy_drop),
                percent(Some(own.stability)),
                with_interval(Some(versus.label_loyalty), iv.map(|i| i.label_loyalty), false),
                with_interval(versus.robustness_gap, iv.and_then(|i| i.robustness_gap), true),
            ]);
        }
    }
    (header, rows)
}

/// One line: the student whose robustness gap is largest, and at which level.
pub fn worst_gap(report: &Report) -> Option<String> {
    report
        .students
        .iter()
        .flat_map(|s| s.noise.iter().flatten().filter_map(move |c| Some((c.robustness_gap?, s, c))))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .filter(|(gap, _, _)| *gap > 0.0)
        .map(|(gap, s, c)| {
            let interval = c.intervals.as_ref().and_then(|i| i.robustness_gap).map_or_else(String::new, |i| {
                format!(", {} interval [{}, {}]", confidence(report), signed_percent(Some(i.lower)), signed_percent(Some(i.upper)))
            });
            format!(
                "noise costs {} {} accuracy points more than the teacher at {} (robustness gap{interval})",
                s.model.info.name,
                signed_percent(Some(gap)).trim_start_matches('+'),
                c.level.label()
            )
        })
}

/// The sentence under every noise table.
pub fn noise_note(report: &Report) -> String {
    let Some(settings) = &report.noise else { return String::new() };
    format!(
        "{} examples (seed {}), the same noisy inputs for every model. Percent. Acc drop: clean − noisy accuracy; stability: noisy label = the model's own clean label; L-L noisy: student's noisy label = teacher's noisy label; robustness gap: student's accuracy drop − teacher's (positive: noise costs the student more).",
        settings.examples.min(report.data.examples),
        settings.seed
    )
}
