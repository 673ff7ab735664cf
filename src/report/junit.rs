//! JUnit XML: one test case per gate check, so CI systems show which threshold failed.

use super::escape::markup;
use super::Report;
use std::fmt::Write;

fn number(x: Option<f64>) -> String {
    x.map_or_else(|| "unavailable".into(), |v| format!("{v:.6}"))
}

pub fn render(report: &Report) -> Vec<u8> {
    render_gate(&report.name, &report.gate)
}

/// The checks of any report (a classifier's or a language model's) named `name`.
pub fn render_gate(name: &str, gate: &crate::gate::GateOutcome) -> Vec<u8> {
    let skipped: Vec<&crate::gate::NotJudged> = gate.not_judged.iter().filter(|n| n.counted_as == crate::gate::Unjudged::Skip).collect();
    let tests = gate.checks.len() + skipped.len();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(out, "<testsuites name=\"fidelity\" tests=\"{tests}\" failures=\"{}\" skipped=\"{}\">", gate.failed, skipped.len());
    let _ = writeln!(
        out,
        "  <testsuite name=\"fidelity.{}\" tests=\"{tests}\" failures=\"{}\" errors=\"0\" skipped=\"{}\">",
        markup(name),
        gate.failed,
        skipped.len()
    );
    for c in &gate.checks {
        let _ = write!(out, "    <testcase classname=\"fidelity.{}.{}\" name=\"{}\"", markup(name), markup(&c.student), markup(&c.name()));
        let interval = c.interval.map(|i| format!(" [{:.6}, {:.6}]", i.lower, i.upper)).unwrap_or_default();
        let detail = format!(
            "{} = {}{interval}, threshold {} {}, judged on the {}{}",
            c.metric.name(),
            number(c.value),
            c.op.symbol(),
            c.threshold,
            match c.judged_on {
                crate::gate::Judge::Point => "point estimate",
                crate::gate::Judge::Interval => "confidence interval",
            },
            c.note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
        );
        if c.passed {
            let _ = writeln!(out, ">\n      <system-out>{}</system-out>\n    </testcase>", markup(&detail));
        } else {
            let _ = writeln!(out, ">\n      <failure message=\"{}\" type=\"gate\">{}</failure>\n    </testcase>", markup(&detail), markup(&detail));
        }
    }
    for n in skipped {
        let message = format!("not judged: {}", n.reason);
        let _ = writeln!(
            out,
            "    <testcase classname=\"fidelity.{}.{}\" name=\"{}\">\n      <skipped message=\"{}\"/>\n    </testcase>",
            markup(name),
            markup(&n.student),
            markup(&n.name()),
            markup(&message)
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out.into_bytes()
}
