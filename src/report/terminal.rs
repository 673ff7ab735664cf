//! The terminal writer: one row per model, shaped like the tables of Xu et al. 2021
//! (Acc, label loyalty, probability loyalty), plus flip rates and KL.

use super::Report;
use std::fmt::Write;

fn percent(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{:.2}", 100.0 * v))
}

fn signed_percent(x: Option<f64>) -> String {
    x.map_or_else(|| "-".into(), |v| format!("{:+.2}", 100.0 * v))
}

/// Left-aligns the first column and right-aligns the others.
fn render_table(rows: &[Vec<String>]) -> String {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> =
        (0..cols).map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0)).collect();
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

pub fn render(report: &Report) -> Vec<u8> {
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
    out.push('\n');
    let mut rows = vec![["model", "Acc", "ΔAcc", "L-L", "P-L", "NFR", "PFR", "KL"].map(String::from).to_vec()];
    rows.push(vec![
        report.teacher.info.name.clone(),
        percent(report.teacher.accuracy),
        "-".into(),
        "100.00".into(),
        "100.00".into(),
        "-".into(),
        "-".into(),
        "-".into(),
    ]);
    for s in &report.students {
        let f = &s.fidelity;
        rows.push(vec![
            s.model.info.name.clone(),
            percent(f.student_accuracy),
            signed_percent(f.accuracy_delta),
            percent(Some(f.label_loyalty)),
            percent(Some(f.probability_loyalty)),
            percent(f.negative_flip_rate),
            percent(f.positive_flip_rate),
            f.mean_kl.map_or_else(|| "inf".into(), |k| format!("{k:.4}")),
        ]);
    }
    out.push_str(&render_table(&rows));
    out.push('\n');
    let _ = writeln!(
        out,
        "Percent. Acc: accuracy; L-L: label loyalty; P-L: probability loyalty, mean 1 - sqrt(JS), log base {}; \
         NFR/PFR: negative/positive flip rate; KL: mean KL(teacher||student), nats.",
        report.conventions.js_log_base
    );
    if d.truncated > 0 {
        let _ = writeln!(out, "warning: {} examples were truncated to {} tokens.", d.truncated, d.max_length);
    }
    if !report.complete {
        let _ = writeln!(out, "warning: the run did not finish; this report is incomplete.");
    }
    out.into_bytes()
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
