//! How each model is deployed, where it is not the plain case (float32 scores, float32 or integer
//! inputs, dynamic dims, its weights inside the .onnx file): element types, static dims and external
//! data files as one line every writer shows, and a warning per model whose inputs were cut to its
//! fixed sequence length.

use super::{ModelReport, Report};

/// Element types fidelity converts to or from, per model.
fn conversions(m: &ModelReport) -> Vec<String> {
    let mut parts = Vec::new();
    let converted = |t: &str| matches!(t, "float16" | "bfloat16" | "float64");
    // A language model's past is fed empty, never converted from data.
    let past = |name: &str| name.starts_with("past_key_values") || name.starts_with("past.");
    let inputs: Vec<String> = m.info.inputs.iter().filter(|i| converted(&i.element_type) && !past(&i.name)).map(|i| format!("{} {}", i.name, i.element_type)).collect();
    if !inputs.is_empty() {
        parts.push(format!("inputs {} (features converted from float32)", inputs.join(", ")));
    }
    if converted(&m.info.output_element_type) {
        let how = if m.info.output_element_type == "float64" { "rounded to float32" } else { "widened exactly" };
        parts.push(format!("output {} {} ({how})", m.info.output, m.info.output_element_type));
    }
    let shape = &m.info.static_shape;
    if let Some(b) = shape.batch {
        parts.push(format!("static batch {b}"));
    }
    if let Some(l) = shape.sequence {
        parts.push(match m.truncated_examples {
            Some(n) => format!("static sequence length {l} (inputs padded to it; {n} examples cut)"),
            None => format!("static sequence length {l}"),
        });
    }
    if !m.info.external_data.is_empty() {
        parts.push(format!("weights in external data {}", m.info.external_data.join(", ")));
    }
    parts
}

/// "tweets-static-1x32 has a fixed sequence length of 32: 1201 of 2000 examples were cut ...", one
/// per model whose inputs were cut.
pub fn truncation_warnings(report: &Report) -> Vec<String> {
    std::iter::once(&report.teacher)
        .chain(report.students.iter().map(|s| &s.model))
        .filter_map(|m| {
            let n = m.truncated_examples.filter(|&n| n > 0)?;
            let l = m.info.static_shape.sequence?;
            Some(format!(
                "{} has a fixed sequence length of {l} tokens: {n} of {} examples were cut to their first {l}, so its numbers describe cut inputs",
                m.info.name, report.data.examples
            ))
        })
        .collect()
}

/// "models as deployed: adult-fp16 inputs features float16 ...; pruned weights in external data
/// pruned.onnx_data"; `None` when every model is the plain case.
pub fn deployment_line(report: &Report) -> Option<String> {
    let described: Vec<String> = std::iter::once(&report.teacher)
        .chain(report.students.iter().map(|s| &s.model))
        .filter_map(|m| {
            let parts = conversions(m);
            (!parts.is_empty()).then(|| format!("{} {}", m.info.name, parts.join(", ")))
        })
        .collect();
    (!described.is_empty()).then(|| format!("models as deployed: {}", described.join("; ")))
}
