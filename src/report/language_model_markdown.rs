//! The language-model report as Markdown: llama.cpp's statistics per student with fidelity's
//! intervals beside them, the long tail and the gate checks.

use super::escape::markdown_cell;
use super::language_model::LmReport;
use crate::lm::statistics::{Estimate, TokenStatistics};
use std::fmt::Write;

fn est(e: &Estimate, scale: f64, d: usize) -> String {
    format!("{:.d$} ± {:.d$}", e.value * scale, e.token_sigma * scale)
}

fn iv(i: Option<&crate::stats::Interval>, scale: f64, d: usize) -> String {
    i.map_or_else(|| "–".into(), |i| format!("[{:.d$}, {:.d$}]", i.lower * scale, i.upper * scale))
}

fn kld_at(t: &TokenStatistics, f: f64) -> String {
    t.kld.as_ref().and_then(|p| p.at.iter().find(|(x, _)| (x - f).abs() < 1e-12)).map_or_else(|| "–".into(), |(_, v)| format!("{v:.6}"))
}

pub fn render(r: &LmReport) -> Vec<u8> {
    let mut out = String::new();
    let d = &r.data;
    let _ = writeln!(out, "# {} — causal language model\n", markdown_cell(&r.name));
    let _ = writeln!(
        out,
        "Verdict: **{}**. Teacher `{}` ({}), {} student(s).\n",
        r.verdict(),
        markdown_cell(&r.teacher.model.name),
        markdown_cell(&r.teacher.model.interface),
        r.students.len()
    );
    let _ = writeln!(
        out,
        "Data: `{}`, {} documents, {} windows of up to {} tokens (stride {}), {} positions scored from {}. KLD is {}; JS in base {}. ± is llama.cpp's token σ (tokens as independent); intervals are {}.\n",
        markdown_cell(&d.path.display().to_string()),
        d.documents,
        d.windows,
        d.context,
        d.stride,
        d.scored_positions,
        markdown_cell(&d.score_from),
        r.conventions.kld,
        r.conventions.js_base.label(),
        r.students.first().and_then(|s| s.tokens.intervals.as_ref()).map_or_else(|| "off (--bootstrap 0)".to_string(), |i| format!("{:.0} % of a bootstrap over {} windows ({} resamples)", 100.0 * i.confidence, i.units, i.resamples))
    );
    out.push_str("## llama.cpp's statistics\n\n| student | PPL(Q) | PPL(base) | PPL ratio | interval | mean KLD | interval | KLD 99 % | same top p (%) | interval | RMS Δp (%) | Cor(ln PPL) |\n|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for s in &r.students {
        let (t, i) = (&s.tokens, s.tokens.intervals.as_ref());
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} % |",
            markdown_cell(&s.model.model.name),
            est(&t.ppl, 1.0, 4),
            est(&t.ppl_teacher, 1.0, 4),
            est(&t.ppl_ratio, 1.0, 5),
            iv(i.and_then(|i| i.ppl_ratio.as_ref()), 1.0, 5),
            est(&t.mean_kld, 1.0, 6),
            iv(i.and_then(|i| i.mean_kld.as_ref()), 1.0, 6),
            kld_at(t, 0.99),
            est(&t.same_top_p, 100.0, 3),
            iv(i.and_then(|i| i.same_top_p.as_ref()), 100.0, 3),
            est(&t.rms_delta_p, 100.0, 3),
            100.0 * t.nll_correlation
        );
    }
    out.push_str("\n## Beyond llama.cpp\n\n| student | reverse KL | mean JS | probability loyalty | teacher top-1 | student top-1 | negative flips | positive flips |\n|---|---|---|---|---|---|---|---|\n");
    for s in &r.students {
        let t = &s.tokens;
        let _ = writeln!(
            out,
            "| {} | {:.6} | {:.6} | {:.6} | {:.4} | {:.4} | {:.4} | {:.4} |",
            markdown_cell(&s.model.model.name),
            t.mean_reverse_kld,
            t.mean_js,
            t.probability_loyalty,
            t.teacher_accuracy,
            t.student_accuracy,
            t.negative_flip_rate,
            t.positive_flip_rate
        );
    }
    long_tail(r, &mut out);
    gates(r, &mut out);
    out.into_bytes()
}

fn gates(r: &LmReport, out: &mut String) {
    if !r.gate.checks.is_empty() || !r.gate.not_judged.is_empty() {
        out.push_str("## Gates\n\n| check | value | interval | judged on | result |\n|---|---|---|---|---|\n");
        for c in &r.gate.checks {
            let value = c.value.map_or_else(|| "unavailable".into(), |v| format!("{v:.6}"));
            let on = if c.judged_on == crate::gate::Judge::Interval { "interval" } else { "point" };
            let _ = writeln!(
                out,
                "| {} | {value} | {} | {on} | {} |",
                markdown_cell(&c.name()),
                iv(c.interval.as_ref(), 1.0, 6),
                if c.passed { "pass" } else { "**FAIL**" }
            );
        }
        for n in &r.gate.not_judged {
            let _ = writeln!(out, "| {} | – | – | – | not judged: {} |", markdown_cell(&n.name()), markdown_cell(&n.reason));
        }
    }
}

fn long_tail(r: &LmReport, out: &mut String) {
    out.push_str("\n## The long tail\n\nMean KLD (positions) by bucket; the worst bucket of each breakdown in bold.\n\n");
    for s in &r.students {
        let _ = writeln!(out, "### {}\n\n| breakdown | buckets |\n|---|---|", markdown_cell(&s.model.model.name));
        for b in &s.breakdowns {
            let cells: Vec<String> = b
                .buckets
                .iter()
                .map(|k| {
                    let cell = format!("{} {:.6} ({})", markdown_cell(&k.name), k.statistics.mean_kld.value, k.positions);
                    if b.worst.as_deref() == Some(k.name.as_str()) {
                        format!("**{cell}**")
                    } else {
                        cell
                    }
                })
                .collect();
            let _ = writeln!(out, "| {} | {} |", markdown_cell(&b.by), cells.join("; "));
        }
        out.push('\n');
    }
}
