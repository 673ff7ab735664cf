//! The locate report as one self-contained HTML page: cumulative SQNR against depth as a line and
//! local SQNR as bars on the same axis, the divergence threshold as a band, the first divergent
//! tensor marked; then the worst local errors, the ablation and the weights. Inline SVG, no script.

use super::report::{LocateReport, TensorRow};
use crate::report::escape::markup;
use std::fmt::Write;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 320.0;
const LEFT: f64 = 56.0;
const BOTTOM: f64 = 40.0;
const TOP: f64 = 16.0;

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// The dB range shown: every finite value and the threshold, padded, capped at 120 dB (identical
/// tensors read ~313 dB and would flatten everything else).
fn range(r: &LocateReport) -> (f64, f64) {
    let values = r.tensors.iter().flat_map(|t| [finite(t.cumulative.sqnr_db), t.local.as_ref().and_then(|l| finite(l.sqnr_db))]).flatten();
    let (lo, hi) = values.fold((r.threshold_db, r.threshold_db), |(lo, hi), v| (lo.min(v), hi.max(v.min(120.0))));
    ((lo / 10.0).floor() * 10.0 - 10.0, (hi / 10.0).ceil() * 10.0 + 10.0)
}

fn chart(r: &LocateReport) -> String {
    let n = r.tensors.len().max(1) as f64;
    let (lo, hi) = range(r);
    let plot_w = WIDTH - LEFT - 16.0;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| LEFT + plot_w * (i as f64 + 0.5) / n;
    let y = |db: f64| TOP + plot_h * (1.0 - (db.clamp(lo, hi) - lo) / (hi - lo));
    let mut svg = String::new();
    let _ = write!(svg, r#"<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" role="img" aria-label="SQNR by depth">"#);
    // The band below the threshold: divergent.
    let _ = write!(
        svg,
        r##"<rect x="{LEFT}" y="{:.1}" width="{plot_w}" height="{:.1}" fill="#fde2e2"><title>below {} dB: divergent</title></rect>"##,
        y(r.threshold_db),
        y(lo) - y(r.threshold_db),
        r.threshold_db
    );
    for tick in (0..).map(|k| lo + 10.0 * k as f64).take_while(|t| *t <= hi) {
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{:.1}" y1="{:.1}" y2="{:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{tick}</text>"##,
            LEFT + plot_w,
            y(tick),
            y(tick),
            LEFT - 6.0,
            y(tick) + 4.0
        );
    }
    let bar = (plot_w / n * 0.6).max(1.0);
    for (i, t) in r.tensors.iter().enumerate() {
        if let Some(l) = t.local.as_ref().and_then(|l| finite(l.sqnr_db)) {
            let (top, base) = (y(l.max(lo)), y(lo));
            let _ = write!(
                svg,
                r##"<rect x="{:.1}" y="{:.1}" width="{bar:.1}" height="{:.1}" fill="#9ecae1"><title>{}: local {l:.1} dB</title></rect>"##,
                x(i) - bar / 2.0,
                top,
                (base - top).max(0.5),
                markup(&t.tensor)
            );
        }
    }
    let points: Vec<String> = r
        .tensors
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{:.1},{:.1}", x(i), y(if t.cumulative.sqnr_db.is_finite() { t.cumulative.sqnr_db } else { hi })))
        .collect();
    let _ = write!(svg, r##"<polyline points="{}" fill="none" stroke="#08519c" stroke-width="2"/>"##, points.join(" "));
    for (i, t) in r.tensors.iter().enumerate() {
        let first = r.first_divergent.as_deref() == Some(t.tensor.as_str());
        let (radius, color) = if first { (6.0, "#cb181d") } else { (3.0, "#08519c") };
        let _ = write!(
            svg,
            r#"<circle cx="{:.1}" cy="{:.1}" r="{radius}" fill="{color}"><title>{} ({}): cumulative {:.1} dB</title></circle>"#,
            x(i),
            y(t.cumulative.sqnr_db),
            markup(&t.tensor),
            markup(&t.op_type),
            t.cumulative.sqnr_db
        );
    }
    let _ = write!(svg, r#"<text x="{LEFT}" y="{:.1}" font-size="12">tensors in topological order →</text>"#, HEIGHT - 10.0);
    svg.push_str("</svg>");
    svg
}

fn db(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| if v.is_finite() { format!("{v:.1}") } else { "∞".into() })
}

fn row(out: &mut String, t: &TensorRow, first: bool) {
    let _ = write!(
        out,
        "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        if first { r#" class="first""# } else { "" },
        markup(&t.tensor),
        markup(&t.node),
        markup(&t.op_type),
        t.matched_by.label(),
        db(Some(t.cumulative.sqnr_db)),
        db(t.local.as_ref().map(|l| l.sqnr_db)),
        db(t.qdq.as_ref().map(|q| q.sqnr_db)),
        t.gain.map_or("–".into(), |g| format!("{g:.2}")),
    );
}

/// The whole page.
pub fn render(r: &LocateReport) -> String {
    let mut out = String::from("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>fidelity locate</title><style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1000px}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #eee;text-align:right}td:first-child,td:nth-child(2),td:nth-child(3),th{text-align:left}tr.first{background:#fde2e2}</style></head><body>");
    let _ = write!(out, "<h1>Where {} departs from {}</h1>", markup(&r.student.name), markup(&r.teacher.name));
    let p = &r.probabilities;
    let _ = write!(
        out,
        "<p>{} examples of {}. Label loyalty {:.4} ({} flips), probability loyalty {:.4}. {}.</p>",
        p.examples,
        markup(&r.data.path.display().to_string()),
        p.label_loyalty,
        p.flips,
        p.probability_loyalty,
        markup(&r.graphs)
    );
    if let super::matching::Architecture::Other { reason } = &r.architecture {
        let _ = write!(out, "<p><strong>Another architecture:</strong> {}</p>", markup(reason));
    }
    match &r.first_divergent {
        Some(t) => {
            let _ = write!(out, "<p>First divergent tensor (cumulative SQNR below {} dB): <strong>{}</strong>.</p>", r.threshold_db, markup(t));
        }
        None => {
            let _ = write!(out, "<p>No tensor's cumulative SQNR is below {} dB.</p>", r.threshold_db);
        }
    }
    let _ = write!(out, "<h2>SQNR by depth</h2><p>Line: cumulative SQNR (the student's tensor on the same inputs); bars: local SQNR (the node fed the teacher's tensors); shaded: below the threshold.</p>{}", chart(r));
    out.push_str("<h2>Tensors</h2><table><tr><th>tensor</th><th>node</th><th>op</th><th>matched</th><th>cumulative dB</th><th>local dB</th><th>qdq dB</th><th>gain</th></tr>");
    for t in &r.tensors {
        row(&mut out, t, r.first_divergent.as_deref() == Some(t.tensor.as_str()));
    }
    out.push_str("</table>");
    if let Some(a) = &r.ablation {
        bypasses(&mut out, a);
    }
    if !r.weights.is_empty() {
        out.push_str("<h2>Weights</h2><table><tr><th>weight</th><th>stored as</th><th>SQNR dB</th><th>zeros</th></tr>");
        for w in &r.weights {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.1}% → {:.1}%</td></tr>",
                markup(&w.name),
                w.stored_as,
                db(Some(w.sqnr_db)),
                100.0 * w.teacher_zeros,
                100.0 * w.student_zeros
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</body></html>\n");
    out
}

fn bypasses(out: &mut String, a: &super::ablation::Ablation) {
    let _ = write!(
        out,
        "<h2>Bypasses</h2><p>One node in float again at a time; the student's own loyalties: label {:.4}, probability {:.4}.</p>",
        a.student.label_loyalty, a.student.probability_loyalty
    );
    out.push_str("<table><tr><th>node</th><th>op</th><th>local dB</th><th>label loyalty</th><th>gain</th><th>probability loyalty</th><th>gain</th></tr>");
    for b in &a.bypasses {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.4}</td><td>{:+.4}</td><td>{:.4}</td><td>{:+.4}</td></tr>",
            markup(&b.node),
            markup(&b.op_type),
            db(Some(b.local_sqnr_db)),
            b.loyalty.label_loyalty,
            b.label_gain,
            b.loyalty.probability_loyalty,
            b.probability_gain
        );
    }
    out.push_str("</table>");
    if !a.nodes_to_exclude.is_empty() {
        let names: Vec<String> = a.nodes_to_exclude.iter().map(|n| format!("{n:?}")).collect();
        let verdict = if a.reached { "reaches" } else { "does not reach" };
        let _ = write!(
            out,
            "<p>Keeping {} in float {verdict} the target {}.</p><pre>quantize_static(..., nodes_to_exclude=[{}])</pre>",
            markup(&a.chosen.join(", ")),
            a.target,
            markup(&names.join(", "))
        );
    }
}
