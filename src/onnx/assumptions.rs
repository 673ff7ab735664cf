//! What the size and FLOPs figures assumed, in words for the report.

use super::cost::Cost;
use super::size::Size;
use std::collections::BTreeMap;

/// Heavy ops the cost model does not cost, named in an assumption when a graph has them.
const UNCOSTED_HEAVY: &[&str] =
    &["Attention", "ConvTranspose", "Einsum", "GRU", "GroupQueryAttention", "LSTM", "MatMulNBits", "MultiHeadAttention", "QAttention", "QGemm", "RNN"];

fn format_length(l: f64) -> String {
    if l.fract() == 0.0 && l.abs() < 1e15 {
        format!("{}", l as i64)
    } else {
        let s = format!("{l:.2}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn first(v: &[String]) -> String {
    v.first().cloned().unwrap_or_default()
}

pub(super) fn describe(cost: &Cost, size: &Size<'_>, ops: &BTreeMap<&str, u64>, sequence_model: bool, sequence_length: Option<f64>) -> Vec<String> {
    let mut assumptions = sequence(cost.seq_power, sequence_model, sequence_length);
    assumptions.extend(fallbacks(cost, sequence_model));
    let heavy: Vec<String> = ops.iter().filter(|(op, _)| UNCOSTED_HEAVY.contains(op)).map(|(op, n)| format!("{n} {op}")).collect();
    if !heavy.is_empty() {
        assumptions.push(format!("not costed: {}", heavy.join(", ")));
    }
    if cost.subgraphs > 0 {
        assumptions.push(format!("subgraphs of {} (If/Loop/Scan bodies) neither counted nor costed", plural(cost.subgraphs, "node", "nodes")));
    }
    if size.external.0 > 0 {
        assumptions.push(format!(
            "external data not read ({}, {} elements): counted as nonzero",
            plural(size.external.0, "initializer", "initializers"),
            size.external.1
        ));
    }
    for (dt, count) in &size.unknown_types {
        assumptions.push(format!("data type {dt} not interpreted ({}): counted as nonzero", plural(*count, "initializer", "initializers")));
    }
    assumptions
}

fn sequence(seq_power: u32, sequence_model: bool, sequence_length: Option<f64>) -> Vec<String> {
    let mut out = Vec::new();
    if seq_power > 0 {
        out.push(match sequence_length {
            Some(l) => format!("sequence length {}", format_length(l)),
            None => "sequence length not given: 1 token assumed".to_string(),
        });
        if seq_power >= 2 {
            out.push(
                "attention cost grows with the square of the sequence length: costed at one length, it \
                 understates the mean cost over varied lengths"
                    .to_string(),
            );
        }
    } else if sequence_model {
        out.push("no costed op depends on the sequence length (embedding lookups and pooling are not costed)".to_string());
    }
    out
}

fn fallbacks(cost: &Cost, sequence_model: bool) -> Vec<String> {
    let mut out = Vec::new();
    if !cost.fallback.is_empty() {
        out.push(format!(
            "{} with an input shape that could not be inferred (first: {}): costed at {} per example",
            plural(cost.fallback.len(), "MatMul/Gemm node", "MatMul/Gemm nodes"),
            first(&cost.fallback),
            if sequence_model { "one row per token" } else { "one row" }
        ));
    }
    if !cost.uncosted_mm.is_empty() {
        out.push(format!(
            "{} with operand shapes that could not be inferred not costed (first: {})",
            plural(cost.uncosted_mm.len(), "MatMul/Gemm node", "MatMul/Gemm nodes"),
            first(&cost.uncosted_mm)
        ));
    }
    if !cost.conv_one_position.is_empty() {
        out.push(format!(
            "{} with an output size that could not be inferred (first: {}): costed at one output position",
            plural(cost.conv_one_position.len(), "Conv node", "Conv nodes"),
            first(&cost.conv_one_position)
        ));
    }
    if !cost.uncosted_conv.is_empty() {
        out.push(format!(
            "{} with a weight shape that could not be inferred not costed (first: {})",
            plural(cost.uncosted_conv.len(), "Conv node", "Conv nodes"),
            first(&cost.uncosted_conv)
        ));
    }
    out
}
