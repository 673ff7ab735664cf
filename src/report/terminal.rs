//! The terminal writer: one row per model, shaped like the tables of Xu et al. 2021
//! (Acc, label loyalty, probability loyalty), plus flip rates and KL.

use super::format::{correction_name, p_value, percent, plain, signed_percent, with_interval};
use super::Report;
use std::fmt::Write;

/// Left-aligns the first column and right-aligns the others.
pub(crate) fn render_table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if c == 0 {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            } else {
                line.push_str("  ");
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// What the terminal shows that the reports do not limit.
#[derive(Debug, Clone, Copy)]
pub struct TerminalOptions {
    /// Groups per student in the group tables, the most harmed first.
    pub show_groups: usize,
}

impl Default for TerminalOptions {
    fn default() -> Self {
        Self { show_groups: 20 }
    }
}

pub fn render(report: &Report) -> Vec<u8> {
    render_with(report, TerminalOptions::default())
}

pub fn render_with(report: &Report, options: TerminalOptions) -> Vec<u8> {
    let mut out = String::new();
    let d = &report.data;
    let _ = writeln!(
        out,
        "fidelity {} · {} · {} examples ({} labelled) · batch {} · ONNX Runtime {} ({})",
        report.tool.version,
        d.path.display(),
        d.examples,
        d.labelled,
        report.batching.batch_size,
        report.runtime.onnxruntime_version,
        report.teacher.info.provider,
    );
    for (_, line) in super::machine::lines(report) {
        let _ = writeln!(out, "{line}");
    }
    out.push('\n');
    out.push_str(&render_table(&model_rows(report)));
    render_notes(report, &mut out);
    render_gate(report, &mut out);
    render_worst_groups(report, &mut out);
    render_batch_dependence(report, &mut out);
    render_noise(report, &mut out);
    render_populations(report, &mut out);
    render_statistics(report, options, &mut out);
    render_input_warnings(report, &mut out);
    out.into_bytes()
}

/// One row per model: speed, accuracy, loyalty, flips, KL, and the attack columns when attacks ran.
fn model_rows(report: &Report) -> Vec<Vec<String>> {
    let speed = |m: &super::ModelReport| match (&m.speed, m.speed.as_ref().and_then(|s| s.speedup)) {
        (Some(_), Some(s)) => format!("{:.2}x ({:.2}-{:.2})", s.median, s.min, s.max),
        (Some(_), None) => "1.00x".into(),
        (None, _) => "-".into(),
    };
    let attack = |m: &super::ModelReport| match &m.attack {
        Some(a) => vec![
            percent(a.summary.after_attack_accuracy),
            percent(a.summary.attack_success_rate),
            a.summary.mean_queries.map_or_else(|| "-".into(), |q| format!("{q:.1}")),
        ],
        None => vec![],
    };
    let mut header = ["model", "Speed", "Acc", "ΔAcc", "L-L", "P-L", "NFR", "PFR", "KL"].map(String::from).to_vec();
    if report.attack.is_some() {
        header.extend(["AA".to_string(), "ASR".to_string(), "#Q".to_string()]);
    }
    let mut rows = vec![header];
    rows.push(vec![
        report.teacher.info.name.clone(),
        speed(&report.teacher),
        percent(report.teacher.accuracy),
        "-".into(),
        "100.00".into(),
        "100.00".into(),
        "-".into(),
        "-".into(),
        "-".into(),
    ]);
    if let Some(r) = rows.last_mut() {
        r.extend(attack(&report.teacher));
    }
    for s in &report.students {
        let f = &s.fidelity;
        rows.push(vec![
            s.model.info.name.clone(),
            speed(&s.model),
            percent(f.student_accuracy),
            signed_percent(f.accuracy_delta),
            percent(Some(f.label_loyalty)),
            percent(f.probability_loyalty),
            percent(f.negative_flip_rate),
            percent(f.positive_flip_rate),
            super::format::mean_kl(f),
        ]);
        if let Some(r) = rows.last_mut() {
            r.extend(attack(&s.model));
        }
    }
    rows
}

/// The attack and column legends, fallback warnings and sizes under the table.
fn render_notes(report: &Report, out: &mut String) {
    if let Some(a) = &report.attack {
        let transfer: Vec<String> = report
            .students
            .iter()
            .filter_map(|s| {
                let t = s.model.attack.as_ref()?.transfer.as_ref()?;
                Some(format!("{} {} ({} of {})", s.model.info.name, percent(t.transfer_success_rate), t.fooled, t.replayed))
            })
            .collect();
        let _ = writeln!(
            out,
            "AA: after-attack accuracy on {} attacked examples (black-box, {} queries each at most); ASR: attack success rate; #Q: mean queries per originally-correct example. Teacher's adversarial examples transferred: {}.",
            a.examples,
            a.max_queries,
            transfer.join(", ")
        );
    }
    out.push('\n');
    let _ = writeln!(
        out,
        "Speed: teacher time / model time at batch {}, median (range) of interleaved rounds. Percent. Acc: accuracy; L-L: label loyalty; P-L: probability loyalty, mean 1 - sqrt(JS), log base {}; \
         NFR/PFR: negative/positive flip rate; KL: mean KL(teacher||student), nats.",
        report.batching.batch_size,
        report.conventions.js_log_base
    );
    for m in std::iter::once(&report.teacher).chain(report.students.iter().map(|s| &s.model)) {
        if let Some(why) = &m.info.fallback {
            let _ = writeln!(out, "warning: {} asked for {} but runs on {} (--allow-fallback): {why}.", m.info.name, m.info.device, m.info.provider);
        }
    }
    let sizes: Vec<String> = std::iter::once(&report.teacher)
        .chain(report.students.iter().map(|s| &s.model))
        .filter_map(|m| {
            let cells = super::format::size_cells(m);
            m.size
                .as_ref()
                .map(|_| format!("{} {:.2} MB, {} params ({} nonzero), {} FLOPs/ex", m.info.name, m.info.bytes as f64 / 1e6, cells[0], cells[1], cells[2]))
        })
        .collect();
    if !sizes.is_empty() {
        let _ = writeln!(out, "size: {}.", sizes.join("; "));
    }
    for line in [super::format::runtime_settings_line(report), super::format_deployment::deployment_line(report), super::format_shards::shards_line(report)].into_iter().flatten() {
        let _ = writeln!(out, "{line}.");
    }
    if let Some(line) = super::format_curves::best_batch_line(report) {
        let _ = writeln!(out, "{line} (the batch-size curve is in the JSON, Markdown and HTML reports).");
    }
    for line in [super::format_roofline::peaks_line(report), super::format_roofline::roofline_line(report), super::format_roofline::energy_line(report)].into_iter().flatten() {
        let _ = writeln!(out, "{line}.");
    }
}

fn render_input_warnings(report: &Report, out: &mut String) {
    for line in [super::format::choices_line(report), super::format_images::images_line(report), super::format_cache::cache_line(report)].into_iter().flatten() {
        let _ = writeln!(out, "{line}.");
    }
    if let super::InputsInfo::Text { truncated, max_length, empty_texts, .. } = &report.data.inputs {
        if *truncated > 0 {
            let _ = writeln!(out, "warning: {truncated} examples were truncated to {max_length} tokens.");
        }
        if *empty_texts > 0 {
            let _ = writeln!(out, "warning: {empty_texts} examples have an empty text; they are kept, and the models see only special tokens.");
        }
    }
    for w in super::format_deployment::truncation_warnings(report) {
        let _ = writeln!(out, "warning: {w}.");
    }
    if !report.complete {
        let _ = writeln!(out, "warning: the run did not finish; this report is incomplete.");
    }
}

/// Every gate check, failed ones first, then the verdict.
fn render_gate(report: &Report, out: &mut String) {
    let gate = &report.gate;
    if !super::format::has_gate(gate) {
        return;
    }
    let mut checks: Vec<&crate::gate::Check> = gate.checks.iter().collect();
    checks.sort_by_key(|c| c.passed);
    let _ = writeln!(out, "gate: {} ({})", report.verdict().to_uppercase(), super::format::gate_summary(gate));
    for c in checks {
        let interval = c.interval.map(|i| format!(" [{:.4}, {:.4}]", i.lower, i.upper)).unwrap_or_default();
        let judged = match c.judged_on {
            crate::gate::Judge::Point => "",
            crate::gate::Judge::Interval => " (on the interval)",
        };
        let note = c.note.as_ref().map(|n| format!(" — {n}")).unwrap_or_default();
        let _ = writeln!(out, "  {} {}: {}{interval}{judged}{note}", if c.passed { "pass" } else { "FAIL" }, c.name(), plain(c.value));
    }
    for n in gate.not_judged.iter().filter(|n| n.counted_as == crate::gate::Unjudged::Skip) {
        let _ = writeln!(out, "  skip {}: not judged, {}", n.name(), n.reason);
    }
}

/// The summary line naming each student's most harmed group.
fn render_worst_groups(report: &Report, out: &mut String) {
    let worst: Vec<String> = report
        .students
        .iter()
        .filter_map(|s| {
            let name = s.statistics.worst_group.as_ref()?;
            let g = s.statistics.groups.iter().find(|g| &g.name == name)?;
            let change = match g.metrics.accuracy_delta {
                Some(d) => format!("accuracy {:+.2} pts", 100.0 * d),
                None => format!("label loyalty {:.2}", 100.0 * g.metrics.label_loyalty),
            };
            Some(format!("{} → {} (n={}, {change})", s.model.info.name, name, g.metrics.n))
        })
        .collect();
    if !worst.is_empty() {
        let _ = writeln!(out, "worst group: {}.", worst.join("; "));
    }
    let hurt: Vec<String> = report.students.iter().filter_map(super::format_classes::most_hurt).collect();
    if !hurt.is_empty() {
        let _ = writeln!(out, "most hurt class: {}.", hurt.join("; "));
    }
    if let Some(line) = super::format_noise::worst_gap(report) {
        let _ = writeln!(out, "{line}.");
    }
}

/// The population and CIE tables, when roles name several models.
fn render_populations(report: &Report, out: &mut String) {
    for (title, (header, mut rows)) in
        [("populations (seed noise):", super::format_populations::population_rows(report)), ("compression identified exemplars:", super::format_populations::cie_rows(report))]
    {
        if rows.is_empty() {
            continue;
        }
        rows.insert(0, header);
        let _ = write!(out, "\n{title}\n{}", render_table(&rows));
    }
    if report.teacher.population.is_some() {
        let _ = writeln!(out, "{}", super::format_populations::NOTE);
    }
}

/// The natural-noise table, when the stage ran.
fn render_noise(report: &Report, out: &mut String) {
    let (header, mut rows) = super::format_noise::noise_rows(report);
    if rows.is_empty() {
        return;
    }
    rows.insert(0, header);
    let _ = write!(out, "\nnatural noise:\n{}", render_table(&rows));
    let _ = writeln!(out, "{}", super::format_noise::noise_note(report));
}

/// One line per model whose outputs depend on its batch, and one for all the invariant ones.
fn render_batch_dependence(report: &Report, out: &mut String) {
    let models = std::iter::once(&report.teacher).chain(report.students.iter().map(|s| &s.model));
    let (mut invariant, mut largest) = (Vec::new(), 0.0f64);
    for m in models {
        let Some(check) = &m.batch_invariance else { continue };
        if check.invariant {
            invariant.push(m.info.name.as_str());
            largest = largest.max(check.max_change);
        } else {
            let _ = writeln!(
                out,
                "batch-dependent: {} — probabilities move by up to {:.4} between its evaluation batch and batch size 1 (float noise: {:.0e}); {} of {} examples checked alone change their prediction. Its numbers hold for batch {} in {} order ({}).",
                m.info.name,
                check.max_change,
                check.tolerance,
                check.flips,
                check.sample,
                m.batching.batch_size,
                match m.batching.order {
                    crate::inference::BatchOrder::File => "file",
                    crate::inference::BatchOrder::LengthSorted => "length-sorted",
                },
                m.batching.reason,
            );
        }
    }
    if !invariant.is_empty() {
        let _ = writeln!(out, "batch-invariant: {} (max |Δp| {largest:.1e} across batchings).", invariant.join(", "));
    }
}

/// Overall intervals per student, then one table of groups per student.
fn render_statistics(report: &Report, options: TerminalOptions, out: &mut String) {
    let level = super::format::level(report);
    let mut rows = vec![vec!["student".into(), format!("ΔAcc [{level}]"), format!("L-L [{level}]"), format!("P-L [{level}]"), "McNemar p".into()]];
    for s in &report.students {
        let st = &s.statistics;
        let iv = st.intervals.as_ref();
        rows.push(vec![
            s.model.info.name.clone(),
            with_interval(s.fidelity.accuracy_delta, iv.and_then(|i| i.accuracy_delta), true),
            with_interval(Some(s.fidelity.label_loyalty), iv.map(|i| i.label_loyalty), false),
            with_interval(s.fidelity.probability_loyalty, iv.and_then(|i| i.probability_loyalty), false),
            p_value(st.mcnemar.as_ref()),
        ]);
    }
    if report.statistics.settings.bootstrap.resamples > 0 {
        out.push('\n');
        out.push_str(&render_table(&rows));
    }
    render_classes(report, out);
    if report.statistics.group_attributes.is_empty() {
        return;
    }
    let correction = correction_name(report.statistics.settings.correction);
    for s in &report.students {
        let st = &s.statistics;
        let worst = st.worst_group.as_deref().unwrap_or("none large enough to judge");
        let _ = write!(out, "\n{} by group (worst: {worst}; McNemar p {correction}-adjusted):\n", s.model.info.name);
        let (header, rows) = super::format::group_rows(report, s);
        let shown = shown_groups(&st.groups, options.show_groups);
        let mut rows: Vec<Vec<String>> = rows.into_iter().enumerate().filter(|(k, _)| shown.contains(k)).map(|(_, (_, r))| r).collect();
        rows.insert(0, header);
        out.push_str(&render_table(&rows));
        if shown.len() < st.groups.len() {
            let _ = writeln!(
                out,
                "({} of {} groups shown, the most harmed first by rank; --show-groups N shows more; the JSON, Markdown and HTML reports have all)",
                shown.len(),
                st.groups.len()
            );
        }
    }
}

/// Per student, its classes (at most 10, the most hurt first) when any class lost recall.
fn render_classes(report: &Report, out: &mut String) {
    const SHOWN: usize = 10;
    for s in report.students.iter().filter(|s| s.classes.most_hurt.is_some()) {
        let (header, rows) = super::format_classes::class_rows(report, s);
        let mut order: Vec<usize> = (0..rows.len()).collect();
        order.sort_by_key(|&k| (s.classes.classes[k].harm_rank.unwrap_or(usize::MAX), k));
        let mut shown: Vec<Vec<String>> = order.iter().take(SHOWN).map(|&k| rows[k].1.clone()).collect();
        shown.insert(0, header);
        let _ = write!(out, "\n{} by class (recall and precision, student − teacher):\n", s.model.info.name);
        out.push_str(&render_table(&shown));
        if rows.len() > SHOWN {
            let _ = writeln!(out, "({SHOWN} of {} classes shown, the most hurt first; the JSON, Markdown and HTML reports have all)", rows.len());
        }
    }
}

/// The groups the terminal lists, in report order: judged groups by harm rank, then too-small
/// ones, `limit` at most.
fn shown_groups(groups: &[crate::subgroups::GroupReport], limit: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..groups.len()).collect();
    order.sort_by_key(|&k| (groups[k].harm_rank.unwrap_or(usize::MAX), k));
    order.truncate(limit);
    order.sort_unstable();
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_aligns_columns() {
        let t = render_table(&[vec!["a".into(), "1".into()], vec!["long".into(), "100".into()]]);
        assert_eq!(t, "a       1\nlong  100\n");
    }
}
