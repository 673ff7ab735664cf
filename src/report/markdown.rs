//! The Markdown writer: a report people read in a pull request or a wiki.

use super::escape::markdown_cell as cell;
use super::format::{correction_name, p_value, percent, plain, signed_percent, with_interval};
use super::Report;
use std::fmt::Write;

fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let _ = writeln!(out, "| {} |", header.join(" | "));
    let _ = writeln!(out, "|{}", header.iter().map(|_| "---|").collect::<String>());
    for r in rows {
        let _ = writeln!(out, "| {} |", r.join(" | "));
    }
    out.push('\n');
}

pub fn render(report: &Report) -> Vec<u8> {
    let mut out = String::new();
    let level = format!("{:.0}%", 100.0 * report.statistics.settings.bootstrap.confidence);
    let _ = writeln!(out, "# fidelity report: {}\n", cell(&report.name));
    let _ = writeln!(out, "**Verdict: {}** ({} of {} gate checks passed){}\n", report.verdict().to_uppercase(), report.gate.passed, report.gate.checks.len(), if report.complete { "" } else { " — **incomplete run**" });
    let _ = writeln!(
        out,
        "Data `{}`: {} examples ({} labelled). ONNX Runtime {} ({}). Batch size {} (serving {}), JS log base {}, {} bootstrap resamples, seed {}.\n",
        cell(&report.data.path.display().to_string()),
        report.data.examples,
        report.data.labelled,
        cell(&report.runtime.onnxruntime_version),
        cell(&report.teacher.info.provider),
        report.batching.batch_size,
        report.batching.serving_batch_size,
        report.conventions.js_log_base,
        report.statistics.settings.bootstrap.resamples,
        report.statistics.settings.bootstrap.seed,
    );

    let _ = writeln!(out, "## Students\n");
    let mut rows = vec![vec![
        cell(&report.teacher.info.name),
        percent(report.teacher.accuracy),
        "-".into(),
        "100.00".into(),
        "100.00".into(),
        "-".into(),
        "-".into(),
        "-".into(),
        "-".into(),
        format!("{}", report.teacher.batching.batch_size),
    ]];
    for s in &report.students {
        let (f, iv) = (&s.fidelity, s.statistics.intervals.as_ref());
        rows.push(vec![
            cell(&s.model.info.name),
            percent(f.student_accuracy),
            with_interval(f.accuracy_delta, iv.and_then(|i| i.accuracy_delta), true),
            with_interval(Some(f.label_loyalty), iv.map(|i| i.label_loyalty), false),
            with_interval(Some(f.probability_loyalty), iv.map(|i| i.probability_loyalty), false),
            percent(f.negative_flip_rate),
            percent(f.positive_flip_rate),
            f.mean_kl.map_or_else(|| "inf".into(), |k| format!("{k:.4}")),
            p_value(s.statistics.mcnemar.as_ref()),
            format!("{}", s.model.batching.batch_size),
        ]);
    }
    table(&mut out, &["model", "Acc", &format!("ΔAcc [{level}]"), &format!("L-L [{level}]"), &format!("P-L [{level}]"), "NFR", "PFR", "KL", "McNemar p", "batch"], &rows);
    let _ = writeln!(out, "Percent. L-L: label loyalty; P-L: probability loyalty (mean 1 − √JS, log base {}); NFR/PFR: negative/positive flip rate; KL: mean KL(teacher‖student) in nats.\n", report.conventions.js_log_base);

    let (header, rows) = super::format::attack_rows(report);
    if !rows.is_empty() {
        let _ = writeln!(out, "## Robustness (black-box attacks)\n");
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = rows.into_iter().map(|r| r.iter().map(|c| cell(c)).collect()).collect();
        table(&mut out, &header, &rows);
        let _ = writeln!(out, "Percent. {}\n", cell(report.conventions.attacks));
    }

    let (header, rows) = super::format::speed_rows(report);
    if !rows.is_empty() {
        let _ = writeln!(out, "{}\n## Speed\n", super::format::TIMING_START);
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = rows.into_iter().map(|r| r.iter().map(|c| cell(c)).collect()).collect();
        table(&mut out, &header, &rows);
        let _ = writeln!(out, "Measured on this machine, teacher and students interleaved; speedup = teacher time / student time per round, median (range).\n{}\n", super::format::TIMING_END);
    }

    if !report.gate.checks.is_empty() {
        let _ = writeln!(out, "## Gate\n");
        let rows: Vec<Vec<String>> = report
            .gate
            .checks
            .iter()
            .map(|c| {
                vec![
                    if c.passed { "pass".into() } else { "**FAIL**".into() },
                    cell(&c.name()),
                    plain(c.value),
                    c.interval.map_or_else(|| "-".into(), |i| format!("[{:.4}, {:.4}]", i.lower, i.upper)),
                    format!("{:?}", c.judged_on).to_lowercase(),
                    c.note.as_deref().map(cell).unwrap_or_default(),
                ]
            })
            .collect();
        table(&mut out, &["result", "check", "value", "interval", "judged on", "note"], &rows);
    }

    for m in std::iter::once(&report.teacher).chain(report.students.iter().map(|s| &s.model)) {
        if let Some(b) = m.batch_invariance.as_ref().filter(|b| !b.invariant) {
            let _ = writeln!(
                out,
                "> **Batch-dependent: {}.** Probabilities move by up to {:.4} between batchings ({} of {} checked predictions flip). Its numbers hold for batch {} ({}).\n",
                cell(&m.info.name), b.max_change, b.flips, b.sample, m.batching.batch_size, cell(&m.batching.reason)
            );
        }
    }

    if !report.statistics.group_attributes.is_empty() {
        for s in &report.students {
            let worst = s.statistics.worst_group.as_deref().unwrap_or("none large enough to judge");
            let _ = writeln!(out, "## Groups: {} (worst: {})\n", cell(&s.model.info.name), cell(worst));
            let rows: Vec<Vec<String>> = s
                .statistics
                .groups
                .iter()
                .map(|g| {
                    let iv = g.intervals.as_ref();
                    vec![
                        cell(&g.name),
                        g.metrics.n.to_string(),
                        format!("{:.1}%", 100.0 * g.share),
                        percent(g.metrics.teacher_accuracy),
                        percent(g.metrics.student_accuracy),
                        with_interval(g.metrics.accuracy_delta, iv.and_then(|i| i.accuracy_delta), true),
                        with_interval(Some(g.metrics.label_loyalty), iv.map(|i| i.label_loyalty), false),
                        g.amplification.map_or_else(|| "-".into(), |a| format!("{a:.2}")),
                        if g.too_small { "-".into() } else { p_value(g.mcnemar.as_ref()) },
                        if g.too_small { "too small to judge".into() } else { g.harm_rank.map_or_else(String::new, |r| format!("#{r}")) },
                    ]
                })
                .collect();
            table(
                &mut out,
                &["group", "n", "share", "Acc T", "Acc S", &format!("ΔAcc [{level}]"), &format!("L-L [{level}]"), "amplification", &format!("p ({})", correction_name(report.statistics.settings.correction)), "rank"],
                &rows,
            );
        }
    }

    let _ = writeln!(out, "## Conventions\n");
    let c = &report.conventions;
    for (k, v) in [
        ("probability loyalty", c.probability_loyalty),
        ("label loyalty", c.label_loyalty),
        ("ties", c.argmax_ties),
        ("flip rates", c.flip_rates),
        ("KL", c.kl),
        ("probabilities", c.probabilities),
        ("intervals", c.intervals),
        ("McNemar", c.mcnemar),
        ("groups", c.groups),
        ("representation", c.representation),
        ("amplification", c.amplification),
        ("harm ranking", c.harm_ranking),
        ("attacks", c.attacks),
    ] {
        let _ = writeln!(out, "- **{k}**: {}", cell(v));
    }
    let _ = writeln!(out, "- **signed changes**: {} means the student is below the teacher", signed_percent(Some(-0.01)));
    out.into_bytes()
}
