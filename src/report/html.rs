//! The HTML fairness report: one self-contained page (no external assets) rendered from the
//! template in `templates/` over the report model. Charts are inline SVG. Every piece of dataset
//! or user text goes through [`markup`], so a `<script>` in the data renders as text.

use super::escape::markup as esc;
use super::format::percent;
use super::{Report, StudentReport};
use std::fmt::Write;

const TEMPLATE: &str = include_str!("templates/report.html");
const CSS: &str = include_str!("templates/report.css");

pub(super) const TEACHER_COLOUR: &str = "#9aa5b8";
pub(super) const STUDENT_COLOUR: &str = "#2b6cb0";

/// Students after the first, in turn, in charts with one line per model.
const MORE_COLOURS: [&str; 5] = ["#c05621", "#2f855a", "#6b46c1", "#b83280", "#975a16"];

/// The colour of model `i` in a chart with one line per model (0: the teacher).
pub(super) fn series_colour(i: usize) -> &'static str {
    match i {
        0 => TEACHER_COLOUR,
        1 => STUDENT_COLOUR,
        k => MORE_COLOURS[(k - 2) % MORE_COLOURS.len()],
    }
}

/// Legend entry `k` of such a chart: a short line in the model's colour and its name, from `(x, top)`.
pub(super) fn legend_entry(svg: &mut String, k: usize, x: f64, top: f64, colour: &str, name: &str) {
    let y = top + 14.0 + 18.0 * k as f64;
    let _ = write!(svg, "<line x1=\"{x}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{colour}\" stroke-width=\"3\"/><text x=\"{:.1}\" y=\"{:.1}\">{}</text>", x + 18.0, x + 24.0, y + 4.0, esc(name));
}

/// Replaces each `{{key}}` of the template in one pass, so text inside inserted values (dataset
/// text may hold "{{...}}") is never read as a placeholder. Unknown keys stay as they are.
fn fill(template: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(template.len() * 2);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}").map(|end| (&after[..end], end)) {
            Some((key, end)) if values.iter().any(|(k, _)| *k == key) => {
                out.push_str(values.iter().find(|(k, _)| *k == key).map(|(_, v)| v.as_str()).unwrap_or_default());
                rest = &after[end + 2..];
            }
            _ => {
                out.push_str("{{");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

pub(super) fn table(header: &[String], rows: &[(String, Vec<String>)]) -> String {
    let mut out = String::from("<table><thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{h}</th>");
    }
    out.push_str("</tr></thead><tbody>");
    for (class, cells) in rows {
        let _ = write!(out, "<tr class=\"{class}\">");
        for c in cells {
            let _ = write!(out, "<td>{c}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

/// A matrix of counts (first column: row names) as a table whose cells are shaded by their share
/// of the row, the student colour at full share.
fn heat_map(header: &[String], rows: &[Vec<String>]) -> String {
    let mut out = String::from("<table class=\"heat\"><thead><tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for r in rows {
        let counts: Vec<u64> = r[1..].iter().map(|c| c.parse().unwrap_or(0)).collect();
        let total = counts.iter().sum::<u64>().max(1) as f64;
        let _ = write!(out, "<tr><th>{}</th>", esc(&r[0]));
        for (c, n) in r[1..].iter().zip(&counts) {
            let share = *n as f64 / total;
            let ink = if share > 0.55 { "#fff" } else { "inherit" };
            let _ = write!(out, "<td style=\"background:rgba(43,108,176,{share:.3});color:{ink}\" title=\"{:.1}% of the row\">{}</td>", 100.0 * share, esc(c));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table>");
    out
}

fn students_table(report: &Report) -> String {
    let (header, rows) = super::format::student_rows(report);
    let rows: Vec<(String, Vec<String>)> = rows.iter().map(|r| (String::new(), r.iter().map(|c| esc(c)).collect())).collect();
    let note = format!("<p class=\"note\">Percent. L-L: label loyalty; P-L: probability loyalty, mean 1 − √JS, log base {}; NFR/PFR: negative/positive flip rate; KL: mean KL(teacher‖student), nats.</p>", esc(&report.conventions.js_log_base));
    table(&header, &rows) + &note
}

fn attack_section(report: &Report) -> String {
    let (header, rows) = super::format::attack_rows(report);
    if rows.is_empty() {
        return String::new();
    }
    let rows: Vec<(String, Vec<String>)> = rows.into_iter().map(|r| (String::new(), r.iter().map(|c| esc(c)).collect())).collect();
    format!(
        "<section id=\"robustness\"><h2>Robustness (black-box attacks)</h2>{}<p class=\"note\">Percent. {}</p></section>",
        table(&header, &rows),
        esc(&report.conventions.attacks)
    )
}

fn speed_section(report: &Report) -> String {
    let (header, rows) = super::format::speed_rows(report);
    if rows.is_empty() {
        return String::new();
    }
    let rows: Vec<(String, Vec<String>)> = rows.into_iter().map(|r| (String::new(), r.iter().map(|c| esc(c)).collect())).collect();
    format!(
        "{}<section id=\"speed\"><h2>Speed and size</h2>{}{}{}{}<p class=\"note\">Measured on this machine, teacher and students interleaved; speedup = teacher time / student time per round, median (range) of {} rounds; latency over {} examples; {}.</p></section>{}",
        super::format::TIMING_START,
        table(&header, &rows),
        super::format_curves::best_batch_line(report).map_or_else(String::new, |l| format!("<p><strong>{}.</strong></p>", esc(&l))),
        super::html_curves::curves(report),
        roofline_part(report),
        super::format::speed_rounds(report),
        report.teacher.speed.as_ref().map_or(0, |s| s.latency_examples),
        super::format::speed_budget(report),
        super::format::TIMING_END
    )
}

/// Machine peaks, the roofline table and chart, and energy per example.
fn roofline_part(report: &Report) -> String {
    let line = |l: Option<String>| l.map_or_else(String::new, |l| format!("<p>{}.</p>", esc(&l)));
    let (header, rows) = super::format_roofline::roofline_rows(report);
    let table_html = if rows.is_empty() {
        String::new()
    } else {
        let rows: Vec<(String, Vec<String>)> = rows.into_iter().map(|r| (String::new(), r.iter().map(|c| esc(c)).collect())).collect();
        format!("<h3>Roofline</h3>{}{}", table(&header, &rows), super::html_roofline::chart(report))
    };
    format!(
        "{}{table_html}{}{}",
        line(super::format_roofline::peaks_line(report)),
        line(super::format_roofline::roofline_line(report)),
        line(super::format_roofline::energy_line(report))
    )
}

fn gate_section(report: &Report) -> String {
    if !super::format::has_gate(&report.gate) {
        return String::new();
    }
    let (header, rows) = super::format::gate_rows(report);
    let rows: Vec<(String, Vec<String>)> = rows
        .into_iter()
        .map(|(passed, r)| {
            let cells = r.iter().enumerate().map(|(i, c)| if i == 0 && !passed { format!("<strong>{}</strong>", esc(c)) } else { esc(c) }).collect();
            (if passed { "pass".into() } else { "fail".into() }, cells)
        })
        .collect();
    format!("<section id=\"gate\"><h2>Gate: {}</h2>{}</section>", esc(&super::format::gate_summary(&report.gate)), table(&header, &rows))
}

fn batch_section(report: &Report) -> String {
    let mut out = String::new();
    for m in std::iter::once(&report.teacher).chain(report.students.iter().map(|s| &s.model)) {
        if let Some(b) = m.batch_invariance.as_ref().filter(|b| !b.invariant) {
            let _ = write!(
                out,
                "<p class=\"warning batch-dependent\"><strong>Batch-dependent: {}.</strong> Probabilities move by up to {:.4} between its evaluation batch and batch size 1; {} of {} examples checked alone change their prediction. Its numbers hold for batch {} ({}).</p>",
                esc(&m.info.name), b.max_change, b.flips, b.sample, m.batching.batch_size, esc(&m.batching.reason)
            );
        }
    }
    if out.is_empty() {
        out
    } else {
        format!("<section id=\"batch\"><h2>Serving conditions</h2>{out}</section>")
    }
}

fn worst_groups(report: &Report) -> String {
    let items: Vec<String> = report
        .students
        .iter()
        .filter_map(|s| {
            let name = s.statistics.worst_group.as_ref()?;
            let g = s.statistics.groups.iter().find(|g| &g.name == name)?;
            Some(format!(
                "<li><strong>{}</strong>: {} (n = {}, accuracy {} → {}, label loyalty {})</li>",
                esc(&s.model.info.name),
                esc(name),
                g.metrics.n,
                percent(g.metrics.teacher_accuracy),
                percent(g.metrics.student_accuracy),
                percent(Some(g.metrics.label_loyalty))
            ))
        })
        .collect();
    if items.is_empty() {
        String::new()
    } else {
        format!("<section id=\"worst\"><h2>Who is hurt most</h2><ul>{}</ul></section>", items.concat())
    }
}

/// Horizontal bars per group: teacher accuracy (grey) and student accuracy (blue) with the
/// student's interval as a whisker. Falls back to label loyalty for unlabelled data.
fn group_chart(s: &StudentReport) -> String {
    let groups = &s.statistics.groups;
    let labelled = s.fidelity.labelled > 0;
    let value = |g: &crate::subgroups::GroupReport| {
        if labelled {
            (g.metrics.teacher_accuracy, g.metrics.student_accuracy, g.intervals.as_ref().and_then(|i| i.student_accuracy))
        } else {
            (None, Some(g.metrics.label_loyalty), g.intervals.as_ref().map(|i| i.label_loyalty))
        }
    };
    let lowest = groups
        .iter()
        .flat_map(|g| {
            let (t, st, i) = value(g);
            [t, st, i.map(|i| i.lower)]
        })
        .flatten()
        .fold(1.0f64, f64::min);
    let lo = ((lowest * 10.0).floor() / 10.0).clamp(0.0, 0.9);
    let (label_w, plot_w, row_h) = (250.0, 520.0, 28.0);
    let x = |v: f64| label_w + (v - lo) / (1.0 - lo) * plot_w;
    let height = 30.0 + row_h * groups.len() as f64;
    let mut svg = format!("<svg class=\"chart chart-groups\" data-student=\"{}\" role=\"img\" aria-label=\"{} by group for {}\" width=\"{}\" height=\"{height}\" viewBox=\"0 0 {} {height}\">", esc(&s.model.info.name), if labelled { "accuracy" } else { "label loyalty" }, esc(&s.model.info.name), label_w + plot_w + 20.0, label_w + plot_w + 20.0);
    for tick in 0..=4 {
        let v = lo + (1.0 - lo) * tick as f64 / 4.0;
        let _ = write!(svg, "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"4\" y2=\"{1:.1}\" stroke=\"#e5e8ee\"/><text x=\"{0:.1}\" y=\"{2:.1}\" text-anchor=\"middle\">{3:.0}%</text>", x(v), height - 16.0, height - 4.0, 100.0 * v);
    }
    for (k, g) in groups.iter().enumerate() {
        let y = 6.0 + row_h * k as f64;
        let (t, st, interval) = value(g);
        let label = format!("{}{} (n={})", g.name, if g.too_small { " · too small" } else { "" }, g.metrics.n);
        let _ = write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>", label_w - 8.0, y + 14.0, esc(&label));
        if let Some(t) = t {
            let _ = write!(
                svg,
                "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"9\" fill=\"{TEACHER_COLOUR}\"><title>teacher {}</title></rect>",
                label_w,
                (x(t) - label_w).max(0.0),
                percent(Some(t))
            );
        }
        if let Some(st) = st {
            let opacity = if g.too_small { 0.45 } else { 1.0 };
            let _ = write!(svg, "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"9\" fill=\"{STUDENT_COLOUR}\" fill-opacity=\"{opacity}\"><title>student {}</title></rect>", label_w, y + 10.0, (x(st) - label_w).max(0.0), percent(Some(st)));
        }
        if let Some(i) = interval {
            let yy = y + 14.5;
            let _ = write!(svg, "<line class=\"whisker\" x1=\"{:.1}\" x2=\"{:.1}\" y1=\"{yy:.1}\" y2=\"{yy:.1}\" stroke=\"#111\"/><line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"{2:.1}\" y2=\"{3:.1}\" stroke=\"#111\"/><line x1=\"{1:.1}\" x2=\"{1:.1}\" y1=\"{2:.1}\" y2=\"{3:.1}\" stroke=\"#111\"/>", x(i.lower.max(lo)), x(i.upper), yy - 3.0, yy + 3.0);
        }
    }
    svg.push_str("</svg>");
    svg
}

/// Bars of the per-example JS distance distribution.
fn js_chart(s: &StudentReport) -> String {
    let Some(h) = &s.js_histogram else {
        return "<p class=\"note\">Not available: a model gives labels only, so there are no probabilities to compare.</p>".into();
    };
    let (w, ht, pad) = (520.0, 140.0, 24.0);
    let max = h.counts.iter().copied().max().unwrap_or(1).max(1) as f64;
    let bar = (w - 2.0 * pad) / h.counts.len().max(1) as f64;
    let mut svg = format!("<svg class=\"chart chart-js\" data-student=\"{}\" role=\"img\" aria-label=\"distribution of per-example JS distance\" width=\"{w}\" height=\"{ht}\" viewBox=\"0 0 {w} {ht}\">", esc(&s.model.info.name));
    for (i, &c) in h.counts.iter().enumerate() {
        let bh = (ht - 2.0 * pad) * c as f64 / max;
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{STUDENT_COLOUR}\"><title>{c} examples</title></rect>",
            pad + bar * i as f64,
            ht - pad - bh,
            (bar - 1.0).max(0.5)
        );
    }
    let _ = write!(svg, "<text x=\"{pad}\" y=\"{:.1}\">0</text><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{:.3}</text><text x=\"{:.1}\" y=\"14\" text-anchor=\"middle\">√JS(teacher, student) per example; tallest bar {}</text></svg>", ht - 6.0, w - pad, ht - 6.0, h.upper, w / 2.0, max as u64);
    svg
}

/// "positive (0.93)", or the label alone for a label-only model.
fn labelled_probability(label: &str, p: Option<f64>) -> String {
    match p {
        Some(p) => format!("{} ({p:.2})", esc(label)),
        None => esc(label),
    }
}

fn student_section(report: &Report, s: &StudentReport, level: &str) -> String {
    let name = esc(&s.model.info.name);
    let mut out = format!("<section class=\"student\" id=\"student-{name}\"><h2>{name}</h2>");
    if !report.statistics.group_attributes.is_empty() {
        let _ = write!(out, "<h3>By group</h3><p class=\"legend\"><span style=\"background:{TEACHER_COLOUR}\"></span>teacher<span style=\"background:{STUDENT_COLOUR}\"></span>student ({level} interval)</p>{}", group_chart(s));
        let (header, rows) = super::format::group_rows(report, s);
        let rows: Vec<(String, Vec<String>)> =
            rows.iter().map(|(small, r)| (if *small { "small".into() } else { String::new() }, r.iter().map(|c| esc(c)).collect())).collect();
        out.push_str(&table(&header, &rows));
    }
    if !s.classes.classes.is_empty() {
        let most = s.classes.most_hurt.as_deref().unwrap_or("no class lost recall");
        let (header, rows) = super::format_classes::class_rows(report, s);
        let rows: Vec<(String, Vec<String>)> =
            rows.iter().map(|(small, r)| (if *small { "small".into() } else { String::new() }, r.iter().map(|c| esc(c)).collect())).collect();
        let _ = write!(out, "<h3>By class (most hurt: {})</h3>{}", esc(most), table(&header, &rows));
    }
    if let Some((header, rows)) = super::format_classes::transition_matrix(s) {
        let _ = write!(
            out,
            "<h3>Label transitions</h3><p class=\"legend\">rows: the teacher's label, columns: the student's; all examples; shade: share of the teacher's row</p>{}",
            heat_map(&header, &rows)
        );
    }
    let _ = write!(out, "<h3>Probability distance to the teacher</h3>{}", js_chart(s));
    if !s.disagreements.is_empty() {
        let header = ["example", "text", "gold", "teacher", "student"].map(String::from);
        let rows: Vec<(String, Vec<String>)> = s
            .disagreements
            .iter()
            .map(|d| {
                let text = match (&d.text, &d.text_pair) {
                    (Some(a), Some(b)) => format!("{} ‖ {}", esc(a), esc(b)),
                    (Some(a), None) => esc(a),
                    _ => "(tensor input)".into(),
                };
                (
                    String::new(),
                    vec![
                        esc(&d.origin),
                        format!("<span class=\"text\">{text}</span>"),
                        d.gold.as_deref().map(esc).unwrap_or_default(),
                        labelled_probability(&d.teacher, d.teacher_probability),
                        labelled_probability(&d.student, d.student_probability),
                    ],
                )
            })
            .collect();
        let _ = write!(
            out,
            "<h3>Where they disagree (first {} in file order)</h3>{}",
            s.disagreements.len(),
            table(&header, &rows).replace("<td><span class=\"text\">", "<td class=\"text\"><span class=\"text\">")
        );
    }
    out.push_str("</section>");
    out
}

/// The machine and the kernel notes, warnings in the warning style.
fn machine_section(report: &Report) -> String {
    let items: String = super::machine::lines(report)
        .iter()
        .map(|(warning, line)| if *warning { format!("<li class=\"warning\"><strong>{}</strong></li>", esc(line)) } else { format!("<li>{}</li>", esc(line)) })
        .collect();
    format!("{}\n<ul id=\"machine\" class=\"machine\">{items}</ul>\n{}", super::machine::MACHINE_START, super::machine::MACHINE_END)
}

pub fn render(report: &Report) -> Vec<u8> {
    let level = super::format::level(report);
    let verdict = report.verdict();
    let facts = format!(
        "Data {}: {} examples ({} labelled) · ONNX Runtime {} ({}) · batch {} (serving {}) · {} bootstrap resamples, seed {}{}",
        esc(&report.data.path.display().to_string()),
        report.data.examples,
        report.data.labelled,
        esc(&report.runtime.onnxruntime_version),
        esc(&report.teacher.info.provider),
        report.batching.batch_size,
        report.batching.serving_batch_size,
        report.statistics.settings.bootstrap.resamples,
        report.statistics.settings.bootstrap.seed,
        if report.complete { String::new() } else { " · <strong>incomplete run</strong>".into() }
    ) + &[super::format::choices_line(report), super::format_images::images_line(report), super::format::runtime_settings_line(report), super::format_deployment::deployment_line(report), super::format_shards::shards_line(report)]
        .into_iter()
        .flatten()
        .map(|l| format!(" · {}", esc(&l)))
        .chain(super::format_deployment::truncation_warnings(report).into_iter().map(|w| format!(" · <strong class=\"warning\">warning: {}</strong>", esc(&w))))
        .chain(super::format_cache::cache_line(report).map(|l| format!("{} · {}{}", super::format::TIMING_START, esc(&l), super::format::TIMING_END)))
        .collect::<String>();
    let conventions = report.conventions.entries().iter().map(|(k, v)| format!("<li><strong>{k}</strong>: {}</li>", esc(v))).collect::<String>();
    let html = fill(
        TEMPLATE,
        &[
            ("css", CSS.to_string()),
            ("name", esc(&report.name)),
            (
                "verdict_class",
                match verdict {
                    "pass" => "pass",
                    "fail" => "fail",
                    _ => "none",
                }
                .to_string(),
            ),
            ("verdict", format!("{} ({} of {} checks passed)", verdict.to_uppercase(), report.gate.passed, report.gate.checks.len())),
            ("facts", facts),
            ("machine", machine_section(report)),
            ("students_table", students_table(report)),
            ("gate", attack_section(report) + &super::html_noise::noise_section(report) + &super::html_populations::populations_section(report) + &speed_section(report) + &gate_section(report)),
            ("batch", batch_section(report)),
            ("worst_groups", worst_groups(report)),
            ("student_sections", report.students.iter().map(|s| student_section(report, s, &level)).collect()),
            ("conventions", format!("<ul>{conventions}</ul>")),
            ("version", esc(&report.tool.version)),
            ("schema", report.schema_version.to_string()),
        ],
    );
    html.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_placeholders_once_and_never_inside_values() {
        let t = "<p>{{a}}</p><p>{{b}}</p>{{unknown}}";
        let out = fill(t, &[("a", "{{b}}".into()), ("b", "x".into())]);
        assert_eq!(out, "<p>{{b}}</p><p>x</p>{{unknown}}");
    }

    #[test]
    fn the_template_has_no_placeholder_left_unfilled() {
        let keys = [
            "css",
            "name",
            "verdict_class",
            "verdict",
            "facts",
            "machine",
            "students_table",
            "gate",
            "batch",
            "worst_groups",
            "student_sections",
            "conventions",
            "version",
            "schema",
        ];
        let out = fill(TEMPLATE, &keys.map(|k| (k, String::new())));
        assert!(!out.contains("{{"), "{out}");
    }
}
