//! The language-model report as one self-contained HTML page: the Markdown's tables, each
//! student's KLD distribution (a histogram over half decades, log scale) and mean KLD by the
//! target token's frequency (head, torso, tail) per student, as inline SVG.

use super::escape::markup;
use super::language_model::LmReport;
use std::fmt::Write;

const COLOURS: [&str; 6] = ["#4c72b0", "#dd8452", "#55a868", "#c44e52", "#8172b3", "#937860"];

/// A bar chart of one student's KLD histogram.
fn histogram(bins: &[(f64, usize)], colour: &str) -> String {
    let (w, h, pad) = (520.0, 160.0, 28.0);
    let max = bins.iter().map(|b| b.1).max().unwrap_or(1).max(1) as f64;
    let bw = (w - 2.0 * pad) / bins.len() as f64;
    let mut svg = format!("<svg role=\"img\" viewBox=\"0 0 {w} {}\" width=\"{w}\" height=\"{}\">", h + 30.0, h + 30.0);
    for (k, &(upper, count)) in bins.iter().enumerate() {
        let bh = (h - pad) * count as f64 / max;
        let x = pad + k as f64 * bw;
        let label = if upper.is_finite() { format!("< {upper:.0e}") } else { "≥ 1e1".into() };
        let _ = write!(
            svg,
            "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{colour}\"><title>KLD {label}: {count} positions</title></rect>",
            h - bh,
            bw - 2.0
        );
        if k % 2 == 0 {
            let _ = write!(svg, "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"9\" text-anchor=\"middle\">{}</text>", x + bw / 2.0, h + 12.0, markup(&label));
        }
    }
    let _ = write!(svg, "<text x=\"{pad}\" y=\"{:.1}\" font-size=\"10\">positions by KL(teacher‖student), half decades</text></svg>", h + 26.0);
    svg
}

/// Grouped bars: mean KLD in head, torso and tail, one colour per student.
fn by_frequency(r: &LmReport) -> String {
    let buckets = ["head", "torso", "tail"];
    let values: Vec<Vec<f64>> = r
        .students
        .iter()
        .map(|s| {
            let b = s.breakdowns.iter().find(|b| b.by == "target_frequency");
            buckets.iter().map(|n| b.and_then(|b| b.buckets.iter().find(|k| k.name == *n)).map_or(0.0, |k| k.statistics.mean_kld.value)).collect()
        })
        .collect();
    let max = values.iter().flatten().cloned().fold(0.0f64, f64::max).max(f64::MIN_POSITIVE);
    let (h, group_w) = (160.0, 160.0);
    let bar = group_w / (r.students.len() as f64 + 1.0);
    let mut svg =
        format!("<svg role=\"img\" viewBox=\"0 0 {} {}\" width=\"{}\" height=\"{}\">", 3.0 * group_w + 40.0, h + 40.0, 3.0 * group_w + 40.0, h + 40.0);
    for (g, name) in buckets.iter().enumerate() {
        for (k, v) in values.iter().enumerate() {
            let bh = (h - 10.0) * v[g] / max;
            let x = 20.0 + g as f64 * group_w + k as f64 * bar;
            let _ = write!(
                svg,
                "<rect x=\"{x:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{bh:.1}\" fill=\"{}\"><title>{} {name}: mean KLD {:.6}</title></rect>",
                h - bh,
                bar - 2.0,
                COLOURS[k % COLOURS.len()],
                markup(&r.students[k].model.model.name),
                v[g]
            );
        }
        let _ = write!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\">{name}</text>",
            20.0 + g as f64 * group_w + group_w / 2.0 - bar / 2.0,
            h + 14.0
        );
    }
    let legend: Vec<String> = r
        .students
        .iter()
        .enumerate()
        .map(|(k, s)| format!("<tspan fill=\"{}\">■ {}</tspan>", COLOURS[k % COLOURS.len()], markup(&s.model.model.name)))
        .collect();
    let _ = write!(svg, "<text x=\"20\" y=\"{:.1}\" font-size=\"11\">{}</text></svg>", h + 32.0, legend.join(" "));
    svg
}

/// Minimal Markdown tables to HTML: the page reuses the Markdown writer's text.
fn markdown_to_html(md: &str) -> String {
    let mut html = String::new();
    let mut in_table = false;
    for line in md.lines() {
        if line.starts_with('|') {
            if line.starts_with("|---") {
                continue;
            }
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            let tag = if in_table { "td" } else { "th" };
            if !in_table {
                html.push_str("<table>");
                in_table = true;
            }
            let row: String = cells.iter().map(|c| format!("<{tag}>{}</{tag}>", inline(c.trim()))).collect();
            let _ = write!(html, "<tr>{row}</tr>");
            continue;
        }
        if in_table {
            html.push_str("</table>\n");
            in_table = false;
        }
        if let Some(h) = line.strip_prefix("### ") {
            let _ = writeln!(html, "<h3>{}</h3>", inline(h));
        } else if let Some(h) = line.strip_prefix("## ") {
            let _ = writeln!(html, "<h2>{}</h2>", inline(h));
        } else if let Some(h) = line.strip_prefix("# ") {
            let _ = writeln!(html, "<h1>{}</h1>", inline(h));
        } else if !line.trim().is_empty() {
            let _ = writeln!(html, "<p>{}</p>", inline(line));
        }
    }
    if in_table {
        html.push_str("</table>\n");
    }
    html
}

/// `**bold**` and `` `code` `` of the Markdown writer's cells: its escapes
/// ([`super::escape::markdown_cell`]) undone, then escaped for HTML.
fn inline(text: &str) -> String {
    let text = markup(&text.replace("\\|", "|").replace("\\\\", "\\").replace("&lt;", "<").replace("&amp;", "&"));
    let mut out = String::new();
    for (k, part) in text.split("**").enumerate() {
        let code: String = part.split('`').enumerate().map(|(j, p)| if j % 2 == 1 { format!("<code>{p}</code>") } else { p.to_string() }).collect();
        if k % 2 == 1 {
            let _ = write!(out, "<strong>{code}</strong>");
        } else {
            out.push_str(&code);
        }
    }
    out
}

pub fn render(r: &LmReport) -> Vec<u8> {
    let md = String::from_utf8(super::language_model_markdown::render(r)).unwrap_or_default();
    let mut charts = String::from("<h2>KLD distribution</h2>\n");
    for (k, s) in r.students.iter().enumerate() {
        if let Some(bins) = &s.tokens.kld_histogram {
            let _ =
                writeln!(charts, "<figure><figcaption>{}</figcaption>{}</figure>", markup(&s.model.model.name), histogram(bins, COLOURS[k % COLOURS.len()]));
        }
    }
    let _ = writeln!(charts, "<h2>Mean KLD by target-token frequency</h2>\n<figure>{}</figure>", by_frequency(r));
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — fidelity</title><style>body{{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em}}table{{border-collapse:collapse;margin:1em 0}}td,th{{border:1px solid #ccc;padding:3px 6px;font-size:13px}}th{{background:#f3f3f3}}figure{{margin:1em 0}}</style></head><body>\n{}\n{}</body></html>\n",
        markup(&r.name),
        markdown_to_html(&md),
        charts
    )
    .into_bytes()
}
