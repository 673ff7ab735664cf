//! The locate table: every matched tensor in topological order, the first divergent one marked,
//! then the worst local errors, totals by op type, weights and what was not matched.

use super::report::{LocateReport, TensorRow};
use std::fmt::Write;

fn db(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!("{v:.1}"),
        Some(_) => "inf".into(),
        None => "-".into(),
    }
}

fn tensor_line(out: &mut String, r: &TensorRow, first: bool) {
    let corr = r.outcome.as_ref().and_then(|o| o.correlation_with_js).map_or("-".into(), |c| format!("{c:+.2}"));
    let flipped = r.outcome.as_ref().map_or("-".into(), |o| format!("{}/{}", db(o.mean_sqnr_flipped_db), db(o.mean_sqnr_kept_db)));
    let _ = writeln!(
        out,
        "{} {:<34} {:<18} {:<9} {:>8} {:>8} {:>8} {:>6} {:>7} {:>6} {:>13}",
        if first { ">" } else { " " },
        truncate(&r.tensor, 34),
        truncate(&r.op_type, 18),
        r.matched_by.label(),
        db(Some(r.cumulative.sqnr_db)),
        db(r.local.as_ref().map(|l| l.sqnr_db)),
        db(r.qdq.as_ref().map(|l| l.sqnr_db)),
        r.gain.map_or("-".into(), |g| format!("{g:.2}")),
        db(r.per_example_sqnr_db.as_ref().map(|p| p.p5)),
        corr,
        flipped,
    );
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let tail: String = s.chars().rev().take(n - 1).collect::<Vec<_>>().into_iter().rev().collect();
        format!("…{tail}")
    }
}

pub fn render(r: &LocateReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "fidelity locate: {} against teacher {} on {} examples of {}",
        r.student.name,
        r.teacher.name,
        r.probabilities.examples,
        r.data.path.display()
    );
    let _ = writeln!(out, "  {}", r.graphs);
    if let super::matching::Architecture::Other { reason } = &r.architecture {
        let _ = writeln!(out, "  another architecture: {reason}");
    }
    let p = &r.probabilities;
    let _ = writeln!(
        out,
        "  outputs: label loyalty {:.4} ({} flips), probability loyalty {:.4}, class-probability SQNR {} dB",
        p.label_loyalty,
        p.flips,
        p.probability_loyalty,
        db(Some(p.error.sqnr_db))
    );
    let _ = writeln!(
        out,
        "\n  {:<34} {:<18} {:<9} {:>8} {:>8} {:>8} {:>6} {:>7} {:>6} {:>13}",
        "tensor", "op", "matched", "cum dB", "local dB", "qdq dB", "gain", "p5 dB", "r(JS)", "flip/kept dB"
    );
    for row in &r.tensors {
        tensor_line(&mut out, row, r.first_divergent.as_deref() == Some(row.tensor.as_str()));
    }
    match &r.first_divergent {
        Some(t) => {
            let row = r.tensors.iter().find(|x| &x.tensor == t);
            let node = row.map_or(String::new(), |x| format!(" (node {}, {})", x.node, x.op_type));
            let _ = writeln!(out, "\nfirst divergent (cumulative SQNR below {} dB): {t}{node}", r.threshold_db);
        }
        None if !r.tensors.is_empty() => {
            let _ = writeln!(out, "\nno tensor's cumulative SQNR is below {} dB", r.threshold_db);
        }
        None => {}
    }
    summaries(&mut out, r);
    out
}

/// The worst local errors, totals by op type, weights, what was not matched, notes.
fn summaries(out: &mut String, r: &LocateReport) {
    let worst = r.worst_local(10);
    if !worst.is_empty() {
        let _ = writeln!(out, "worst local error (the node's own):");
        for w in worst {
            let _ = writeln!(out, "  {:<34} {:<18} {:>8} dB  node {}", truncate(&w.tensor, 34), w.op_type, db(w.local.as_ref().map(|l| l.sqnr_db)), w.node);
        }
    }
    if !r.by_op_type.is_empty() {
        let _ = writeln!(out, "by op type (local SQNR, cumulative where not measured):");
        for t in &r.by_op_type {
            let _ = writeln!(
                out,
                "  {:<18} {:>4} tensors  worst {:>7} dB  mean {:>7} dB",
                t.op_type,
                t.tensors,
                db(t.worst_local_sqnr_db),
                db(t.mean_local_sqnr_db)
            );
        }
    }
    if !r.weights.is_empty() {
        let _ = writeln!(out, "weights:");
        for w in &r.weights {
            let _ = writeln!(
                out,
                "  {:<34} {:<11} {:>8} dB  zeros {:.1}% -> {:.1}%",
                truncate(&w.name, 34),
                w.stored_as,
                db(Some(w.sqnr_db)),
                100.0 * w.teacher_zeros,
                100.0 * w.student_zeros
            );
        }
    }
    if let Some(a) = &r.ablation {
        ablation(out, a);
    }
    let u = &r.unmatched;
    let _ = writeln!(
        out,
        "unmatched: {} teacher tensors, {} student tensors ({} quantization internals not counted), {} matched but not float",
        u.teacher.len(),
        u.student.len(),
        u.quantization_internal,
        u.not_float
    );
    for n in &r.notes {
        let _ = writeln!(out, "note: {n}");
    }
    let memory = r.peak_memory_bytes.map_or("peak memory not reported by this platform".into(), |b| format!("peak memory {:.0} MB", b as f64 / 1e6));
    let _ = writeln!(out, "{:.1} s, {memory}", r.seconds);
}

fn ablation(out: &mut String, a: &super::ablation::Ablation) {
    let _ = writeln!(
        out,
        "bypasses (one node in float again; label / probability loyalty on the sample, the student's {:.4} / {:.4}):",
        a.student.label_loyalty, a.student.probability_loyalty
    );
    for b in &a.bypasses {
        let _ = writeln!(
            out,
            "  {:<24} {:<12} local {:>7} dB  {:.4} ({:+.4})  {:.4} ({:+.4})",
            truncate(&b.node, 24),
            b.op_type,
            db(Some(b.local_sqnr_db)),
            b.loyalty.label_loyalty,
            b.label_gain,
            b.loyalty.probability_loyalty,
            b.probability_gain
        );
    }
    let metric = match a.target_metric {
        super::ablation::AblationMetric::LabelLoyalty => "label_loyalty",
        super::ablation::AblationMetric::ProbabilityLoyalty => "probability_loyalty",
    };
    match (&a.chosen_loyalty, a.reached) {
        (None, true) => {
            let _ = writeln!(out, "the student reaches {metric} >= {} as it is", a.target);
        }
        (Some(l), reached) => {
            let verdict = if reached { "reaches" } else { "does not reach" };
            let _ = writeln!(
                out,
                "keeping {} in float {verdict} {metric} >= {}: label loyalty {:.4}, probability loyalty {:.4}",
                a.chosen.join(", "),
                a.target,
                l.label_loyalty,
                l.probability_loyalty
            );
            let names: Vec<String> = a.nodes_to_exclude.iter().map(|n| format!("{n:?}")).collect();
            let _ = writeln!(out, "  quantize_static(..., nodes_to_exclude=[{}])", names.join(", "));
        }
        (None, false) => {
            let _ = writeln!(out, "no bypass was possible: {metric} >= {} not reached", a.target);
        }
    }
    if let Some(p) = &a.patched {
        let _ = writeln!(out, "patched student written to {}", p.display());
    }
}
