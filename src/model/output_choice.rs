//! Which graph output holds a model's class scores, and how to read it.
//!
//! Exporters disagree: a transformers export has `logits` [batch, classes]; skl2onnx has
//! `output_label` [batch] and `output_probability` (a ZipMap, read through its input tensor, see
//! [`crate::onnx::outputs`]) or, without ZipMap, `label` and `probabilities`; a Keras or PyTorch
//! binary head has one column [batch, 1]; some graphs expose hidden states beside the logits; and
//! some models give labels only. The rules, in order:
//!
//! 1. `--output NAME` (or a suite model's `output`) names the output; it must be readable.
//! 2. Otherwise the float32 class-score outputs (rank 1 or 2) are the candidates; with several, one
//!    named like probabilities wins, then one named like logits, then the first; the selection
//!    says which rule picked it and what else there was.
//! 3. A graph without one reads its integer or string label output (label-only: loyalty and
//!    accuracy from the labels, probability metrics not available).

use serde::Serialize;

/// What one graph output is, as far as choosing goes.
#[derive(Debug, Clone, PartialEq)]
pub struct OutputSignature {
    pub name: String,
    pub element: Element,
    /// Declared dimensions; −1 for a dynamic one. Empty for a non-tensor.
    pub dims: Vec<i64>,
    /// How messages show it, e.g. "Tensor<f32>(N, 2)".
    pub display: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Element {
    /// A floating-point tensor (float32, float16, bfloat16 or float64): class scores, when rank ≤ 2.
    Float,
    /// An integer or string tensor: class labels, when rank ≤ 2.
    Label,
    /// Anything else (other element types, sequences, maps).
    Other,
}

/// How the chosen output is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputLayout {
    /// float scores: [batch, classes], or [batch, 1] / [batch] for a binary classifier.
    Scores,
    /// Class labels only: [batch] or [batch, 1] integers or strings.
    Labels,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutputChoice {
    /// The output as the session names it.
    pub name: String,
    pub layout: OutputLayout,
    /// Columns as declared (1 for a binary head); `None` when dynamic.
    pub columns: Option<usize>,
    /// Why this output: the rule that picked it and the alternatives.
    pub selection: String,
}

impl OutputSignature {
    fn rank_fits(&self) -> bool {
        matches!(self.dims.len(), 1 | 2)
    }

    fn scores(&self) -> bool {
        self.element == Element::Float && self.rank_fits()
    }

    fn labels(&self) -> bool {
        self.element == Element::Label && (self.dims.len() == 1 || (self.dims.len() == 2 && self.dims[1] == 1))
    }

    fn columns(&self) -> Option<usize> {
        match self.dims.as_slice() {
            [_] => Some(1),
            [_, c] if *c > 0 => Some(*c as usize),
            _ => None,
        }
    }
}

fn named_like(name: &str, words: &[&str]) -> bool {
    let lower = name.to_ascii_lowercase();
    words.iter().any(|w| lower.contains(w))
}

/// Chooses the output to read; the error says why none fits and lists the outputs.
pub fn choose(outputs: &[OutputSignature], requested: Option<&str>) -> Result<OutputChoice, String> {
    let listing = || outputs.iter().map(|o| format!("{}: {}", o.name, o.display)).collect::<Vec<_>>().join(", ");
    let pick = |o: &OutputSignature, selection: String| {
        let layout = if o.scores() { OutputLayout::Scores } else { OutputLayout::Labels };
        OutputChoice { name: o.name.clone(), layout, columns: o.columns(), selection }
    };
    if let Some(name) = requested {
        let o = outputs.iter().find(|o| o.name == name).ok_or_else(|| format!("has no output '{name}' (--output); its outputs are: {}", listing()))?;
        if !(o.scores() || o.labels()) {
            return Err(format!(
                "output '{name}' is {}, which fidelity cannot read as class scores: it reads float32 [batch, classes], [batch, 1] or [batch], or integer/string labels [batch]; its outputs are: {}",
                o.display,
                listing()
            ));
        }
        return Ok(pick(o, "named by --output".into()));
    }
    let scores: Vec<&OutputSignature> = outputs.iter().filter(|o| o.scores()).collect();
    let others = |chosen: &str| {
        let rest: Vec<&str> = scores.iter().map(|o| o.name.as_str()).filter(|n| *n != chosen).collect();
        if rest.is_empty() {
            String::new()
        } else {
            format!(" (also: {}; --output NAME chooses)", rest.join(", "))
        }
    };
    let by_name = |words: &[&str]| scores.iter().find(|o| named_like(&o.name, words));
    let chosen = if scores.len() == 1 {
        Some((scores[0], "the only float32 class-score output".to_string()))
    } else if let Some(o) = by_name(&["prob"]) {
        Some((*o, format!("named like probabilities{}", others(&o.name))))
    } else if let Some(o) = by_name(&["logit"]) {
        Some((*o, format!("named like logits{}", others(&o.name))))
    } else {
        scores.first().map(|o| (*o, format!("the first float32 class-score output{}", others(&o.name))))
    };
    if let Some((o, why)) = chosen {
        return Ok(pick(o, why));
    }
    if let Some(o) = outputs.iter().find(|o| o.labels()) {
        return Ok(pick(o, "labels only: the graph has no float32 class-score output".into()));
    }
    Err(format!("has no float output (float32, float16, bfloat16 or float64) shaped [batch, classes], [batch, 1] or [batch], and no label output [batch]; its outputs are: {}", listing()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(name: &str, element: Element, dims: &[i64]) -> OutputSignature {
        OutputSignature { name: name.into(), element, dims: dims.to_vec(), display: format!("{element:?}{dims:?}") }
    }

    #[test]
    fn one_score_output_is_taken_whatever_else_there_is() {
        let outs = [sig("label", Element::Label, &[-1]), sig("probabilities", Element::Float, &[-1, 2])];
        let c = choose(&outs, None).unwrap();
        assert_eq!((c.name.as_str(), c.layout, c.columns), ("probabilities", OutputLayout::Scores, Some(2)));
        assert!(c.selection.contains("only"), "{}", c.selection);
    }

    #[test]
    fn several_score_outputs_prefer_probabilities_then_logits_and_say_so() {
        let outs = [sig("hidden", Element::Float, &[-1, 8]), sig("logits", Element::Float, &[-1, 2]), sig("Probs", Element::Float, &[-1, 2])];
        let c = choose(&outs, None).unwrap();
        assert_eq!(c.name, "Probs");
        assert!(c.selection.contains("hidden, logits") && c.selection.contains("--output"), "{}", c.selection);
        assert_eq!(choose(&outs[..2], None).unwrap().name, "logits");
        let unnamed = [sig("a", Element::Float, &[-1, 3]), sig("b", Element::Float, &[-1, 3])];
        assert!(choose(&unnamed, None).unwrap().selection.contains("first"));
        assert_eq!(choose(&outs, Some("hidden")).unwrap().selection, "named by --output");
    }

    #[test]
    fn one_column_heads_and_label_only_graphs_are_read() {
        let binary = choose(&[sig("dense", Element::Float, &[-1, 1])], None).unwrap();
        assert_eq!((binary.layout, binary.columns), (OutputLayout::Scores, Some(1)));
        assert_eq!(choose(&[sig("p", Element::Float, &[-1])], None).unwrap().columns, Some(1));
        let labels = choose(&[sig("output_label", Element::Label, &[-1])], None).unwrap();
        assert_eq!(labels.layout, OutputLayout::Labels);
        assert!(labels.selection.contains("labels only"));
    }

    #[test]
    fn unreadable_or_unknown_outputs_are_errors_listing_the_outputs() {
        let outs = [sig("hidden", Element::Float, &[-1, 4, 8]), sig("map", Element::Other, &[])];
        let e = choose(&outs, None).unwrap_err();
        assert!(e.contains("hidden: ") && e.contains("map: "), "{e}");
        let e = choose(&outs, Some("logits")).unwrap_err();
        assert!(e.contains("no output 'logits'") && e.contains("hidden"), "{e}");
        let e = choose(&outs, Some("hidden")).unwrap_err();
        assert!(e.contains("cannot read"), "{e}");
    }
}
