//! The Markdown writer: a report people read in a pull request or a wiki.

use super::escape::markdown_cell as cell;
use super::format::signed_percent;
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
    let _ = writeln!(out, "# fidelity report: {}\n", cell(&report.name));
    let _ = writeln!(
        out,
        "**Verdict: {}** ({} of {} gate checks passed){}\n",
        report.verdict().to_uppercase(),
        report.gate.passed,
        report.gate.checks.len(),
        if report.complete { "" } else { " — **incomplete run**" }
    );
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
    for line in [super::format::choices_line(report), super::format_images::images_line(report), super::format::runtime_settings_line(report), super::format_deployment::deployment_line(report), super::format_shards::shards_line(report)].into_iter().flatten() {
        let _ = writeln!(out, "{}.\n", cell(&line));
    }
    for w in super::format_deployment::truncation_warnings(report) {
        let _ = writeln!(out, "**Warning: {}.**\n", cell(&w));
    }
    if let Some(line) = super::format_cache::cache_line(report) {
        // Nothing of it is left once a reader drops what lies between the markers.
        let _ = write!(out, "{}\n{}.\n\n{}", super::format::TIMING_START, cell(&line), super::format::TIMING_END);
    }

    let _ = writeln!(out, "{}", super::machine::MACHINE_START);
    for (warning, line) in super::machine::lines(report) {
        let _ = writeln!(out, "{}", if warning { format!("- **{}**", cell(&line)) } else { format!("- {}", cell(&line)) });
    }
    let _ = writeln!(out, "{}\n", super::machine::MACHINE_END);

    let _ = writeln!(out, "## Students\n");
    let (header, rows) = super::format::student_rows(report);
    let header: Vec<&str> = header.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| cell(c)).collect()).collect();
    table(&mut out, &header, &rows);
    let _ = writeln!(out, "Percent. L-L: label loyalty; P-L: probability loyalty (mean 1 − √JS, log base {}); NFR/PFR: negative/positive flip rate; KL: mean KL(teacher‖student) in nats.\n", report.conventions.js_log_base);

    robustness_and_speed(report, &mut out);
    gate_and_groups(report, &mut out);
    let _ = writeln!(out, "## Conventions\n");
    for (k, v) in report.conventions.entries() {
        let _ = writeln!(out, "- **{k}**: {}", cell(v));
    }
    let _ = writeln!(out, "- **signed changes**: {} means the student is below the teacher", signed_percent(Some(-0.01)));
    out.into_bytes()
}

/// The attack, noise and speed tables, when those stages ran.
fn robustness_and_speed(report: &Report, out: &mut String) {
    let (header, rows) = super::format::attack_rows(report);
    if !rows.is_empty() {
        let _ = writeln!(out, "## Robustness (black-box attacks)\n");
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = rows.into_iter().map(|r| r.iter().map(|c| cell(c)).collect()).collect();
        table(out, &header, &rows);
        let _ = writeln!(out, "Percent. {}\n", cell(&report.conventions.attacks));
    }

    let (header, rows) = super::format_noise::noise_rows(report);
    if !rows.is_empty() {
        let _ = writeln!(out, "## Robustness to natural noise\n");
        if let Some(line) = super::format_noise::worst_gap(report) {
            let _ = writeln!(out, "**{}.**\n", cell(&line));
        }
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = rows.into_iter().map(|r| r.iter().map(|c| cell(c)).collect()).collect();
        table(out, &header, &rows);
        let _ = writeln!(out, "{}\n", cell(&super::format_noise::noise_note(report)));
    }

    populations(report, out);

    let (header, rows) = super::format::speed_rows(report);
    if !rows.is_empty() {
        let _ = writeln!(out, "{}\n## Speed\n", super::format::TIMING_START);
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = rows.into_iter().map(|r| r.iter().map(|c| cell(c)).collect()).collect();
        table(out, &header, &rows);
        let (header, rows) = super::format_curves::curve_rows(report);
        if !rows.is_empty() {
            let _ = writeln!(out, "Batch-size curve (examples per second; students: speedup over the teacher at that batch size):\n");
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            let rows: Vec<Vec<String>> = rows.into_iter().map(|r| r.iter().map(|c| cell(c)).collect()).collect();
            table(out, &header, &rows);
        }
        if let Some(line) = super::format_curves::best_batch_line(report) {
            let _ = writeln!(out, "{}.\n", cell(&line));
        }
        roofline(report, out);
        let _ = writeln!(
            out,
            "Measured on this machine, teacher and students interleaved; speedup = teacher time / student time per round, median (range) of {} rounds; latency over {} examples; {}.\n{}\n",
            super::format::speed_rounds(report),
            report.teacher.speed.as_ref().map_or(0, |s| s.latency_examples),
            super::format::speed_budget(report),
            super::format::TIMING_END
        );
    }
}

/// The machine's roofs, each model's roofline points and energy per example.
fn roofline(report: &Report, out: &mut String) {
    if let Some(line) = super::format_roofline::peaks_line(report) {
        let _ = writeln!(out, "{}.\n", cell(&line));
    }
    let (header, rows) = super::format_roofline::roofline_rows(report);
    if !rows.is_empty() {
        let _ = writeln!(out, "Roofline (achieved FLOP/s against what the machine's measured roofs allow at each model's arithmetic intensity):\n");
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = rows.into_iter().map(|r| r.iter().map(|c| cell(c)).collect()).collect();
        table(out, &header, &rows);
    }
    if let Some(line) = super::format_roofline::roofline_line(report) {
        let _ = writeln!(out, "{}.\n", cell(&line));
    }
    if let Some(line) = super::format_roofline::energy_line(report) {
        let _ = writeln!(out, "{}.\n", cell(&line));
    }
}

/// Gate checks, batch-dependence notes and one table of groups per student.
fn gate_and_groups(report: &Report, out: &mut String) {
    if super::format::has_gate(&report.gate) {
        let _ = writeln!(out, "## Gate\n");
        let (header, rows) = super::format::gate_rows(report);
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = rows
            .into_iter()
            .map(|(passed, r)| r.iter().enumerate().map(|(i, c)| if i == 0 && !passed { format!("**{c}**") } else { cell(c) }).collect())
            .collect();
        table(out, &header, &rows);
    }

    for m in std::iter::once(&report.teacher).chain(report.students.iter().map(|s| &s.model)) {
        if let Some(b) = m.batch_invariance.as_ref().filter(|b| !b.invariant) {
            let _ = writeln!(
                out,
                "> **Batch-dependent: {}.** Probabilities move by up to {:.4} between its evaluation batch and batch size 1 ({} of {} examples checked alone change their prediction). Its numbers hold for batch {} ({}).\n",
                cell(&m.info.name), b.max_change, b.flips, b.sample, m.batching.batch_size, cell(&m.batching.reason)
            );
        }
    }

    if !report.statistics.group_attributes.is_empty() {
        for s in &report.students {
            let worst = s.statistics.worst_group.as_deref().unwrap_or("none large enough to judge");
            let _ = writeln!(out, "## Groups: {} (worst: {})\n", cell(&s.model.info.name), cell(worst));
            let (header, rows) = super::format::group_rows(report, s);
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            let rows: Vec<Vec<String>> = rows.iter().map(|(_, r)| r.iter().map(|c| cell(c)).collect()).collect();
            table(out, &header, &rows);
        }
    }
    classes(report, out);
}

/// One per-class table and label-transition matrix per student.
fn classes(report: &Report, out: &mut String) {
    for s in &report.students {
        if !s.classes.classes.is_empty() {
            let most = s.classes.most_hurt.as_deref().unwrap_or("no class lost recall");
            let _ = writeln!(out, "## Classes: {} (most hurt: {})\n", cell(&s.model.info.name), cell(most));
            let (header, rows) = super::format_classes::class_rows(report, s);
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            let rows: Vec<Vec<String>> = rows.iter().map(|(_, r)| r.iter().map(|c| cell(c)).collect()).collect();
            table(out, &header, &rows);
        }
        if let Some((header, rows)) = super::format_classes::transition_matrix(s) {
            let _ = writeln!(out, "Label transitions, {} (rows: the teacher's label, columns: the student's; all examples):\n", cell(&s.model.info.name));
            let header: Vec<&str> = header.iter().map(String::as_str).collect();
            let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|c| cell(c)).collect()).collect();
            table(out, &header, &rows);
        }
    }
}

/// The population, CIE and CIE-by-group tables, when roles name several models.
fn populations(report: &Report, out: &mut String) {
    let (header, rows) = super::format_populations::population_rows(report);
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Populations and compression identified exemplars\n");
    let mut tables = vec![(header, rows), super::format_populations::cie_rows(report)];
    tables.extend(report.students.iter().map(super::format_populations::cie_group_rows));
    let titles: Vec<String> = ["".to_string(), "".to_string()].into_iter().chain(report.students.iter().map(|s| format!("CIE of {} by group:\n\n", s.model.info.name))).collect();
    for ((header, rows), title) in tables.into_iter().zip(titles) {
        if rows.is_empty() {
            continue;
        }
        let _ = write!(out, "{title}");
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let rows: Vec<Vec<String>> = rows.into_iter().map(|r| r.iter().map(|c| cell(c)).collect()).collect();
        table(out, &header, &rows);
    }
    let _ = writeln!(out, "{}\n", cell(super::format_populations::NOTE));
}
