//! Is a graph a causal language model, and how is it fed?
//!
//! A causal LM takes `input_ids` [batch, sequence] (int64 or int32) and returns `logits`
//! [batch, sequence, vocabulary] (float32 or float16). Hugging Face optimum's decoder exports add
//! `attention_mask` (over past and current tokens), `position_ids`, `past_key_values.{i}.key` /
//! `.value` [batch, heads, past, head_dim] with `present.*` outputs, and in merged decoders
//! `use_cache_branch`; fidelity feeds an empty past (length 0) and `use_cache_branch = false`, so
//! every window is computed from its own tokens alone. A plain `torch.onnx.export` graph has
//! `input_ids` (and perhaps `attention_mask`) and `logits` only: it is told apart from a token
//! classifier (the same shapes) by its logits being as wide as the tokenizer's vocabulary.

use crate::onnx::interface::{element, Dim, Interface};

/// How a model is fed and read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LmInterface {
    /// `input_ids` as int32 rather than int64.
    pub ids_int32: bool,
    pub attention_mask: bool,
    pub position_ids: bool,
    pub past: Vec<PastInput>,
    pub use_cache_branch: bool,
    pub logits: String,
    pub logits_float16: bool,
    /// The logits' last dimension when the graph fixes it.
    pub vocabulary: Option<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastInput {
    pub name: String,
    pub float16: bool,
    pub heads: usize,
    pub head_dim: usize,
}

impl LmInterface {
    /// The export shape, for the report.
    pub fn describe(&self) -> String {
        let mut parts = vec![if self.past.is_empty() { "input_ids".to_string() } else { format!("input_ids with empty past ({} tensors)", self.past.len()) }];
        if self.attention_mask {
            parts.push("attention_mask".into());
        }
        if self.position_ids {
            parts.push("position_ids".into());
        }
        if self.use_cache_branch {
            parts.push("use_cache_branch = false".into());
        }
        format!("{} -> {} ({})", parts.join(", "), self.logits, if self.logits_float16 { "float16" } else { "float32" })
    }
}

fn is_past(name: &str) -> bool {
    name.starts_with("past_key_values") || name.starts_with("past.")
}

/// True when the graph looks like a causal LM: a past/present cache, or `[batch, seq, V]` logits
/// with V at least the tokenizer's vocabulary.
pub fn looks_causal(iface: &Interface, tokenizer_vocabulary: Option<usize>) -> bool {
    let ids = iface.inputs.iter().any(|i| i.name == "input_ids" && i.rank() == Some(2));
    let cache = iface.inputs.iter().any(|i| is_past(&i.name)) || iface.outputs.iter().any(|o| o.name.starts_with("present"));
    let wide = iface
        .outputs
        .iter()
        .any(|o| o.name == "logits" && o.rank() == Some(3) && matches!((o.last_fixed(), tokenizer_vocabulary), (Some(v), Some(t)) if v as usize >= t && t > 0));
    ids && (cache || wide)
}

/// The feeding plan of a causal LM, or why this graph cannot be run as one.
pub fn interface(iface: &Interface) -> Result<LmInterface, String> {
    let logits = iface
        .outputs
        .iter()
        .find(|o| o.name == "logits")
        .or_else(|| iface.outputs.iter().find(|o| o.rank() == Some(3) && matches!(o.element, Some(element::FLOAT | element::FLOAT16))))
        .ok_or_else(|| format!("no [batch, sequence, vocabulary] logits output (outputs: {})", names(&iface.outputs)))?;
    if logits.rank().is_some_and(|r| r != 3) {
        return Err(format!("output {} has rank {}, not [batch, sequence, vocabulary]", logits.name, logits.rank().unwrap_or(0)));
    }
    let logits_float16 = match logits.element {
        Some(element::FLOAT) | None => false,
        Some(element::FLOAT16) => true,
        Some(other) => return Err(format!("output {} has element type {other}; fidelity reads float32 or float16 logits", logits.name)),
    };
    let mut lm = LmInterface {
        ids_int32: false,
        attention_mask: false,
        position_ids: false,
        past: vec![],
        use_cache_branch: false,
        logits: logits.name.clone(),
        logits_float16,
        vocabulary: logits.last_fixed().and_then(|v| usize::try_from(v).ok()),
    };
    let mut has_ids = false;
    for input in &iface.inputs {
        match input.name.as_str() {
            "input_ids" => {
                has_ids = true;
                lm.ids_int32 = match input.element {
                    Some(element::INT64) | None => false,
                    Some(element::INT32) => true,
                    Some(other) => return Err(format!("input_ids has element type {other}, not int64 or int32")),
                }
            }
            "attention_mask" => lm.attention_mask = true,
            "position_ids" => lm.position_ids = true,
            "use_cache_branch" => lm.use_cache_branch = true,
            name if is_past(name) => lm.past.push(past_input(input)?),
            other => {
                return Err(format!(
                    "input {other} is not one a causal LM export has (input_ids, attention_mask, position_ids, past_key_values.*, use_cache_branch)"
                ))
            }
        }
    }
    if !has_ids {
        return Err(format!("no input_ids input (inputs: {})", names(&iface.inputs)));
    }
    Ok(lm)
}

fn past_input(input: &crate::onnx::interface::Declared) -> Result<PastInput, String> {
    let float16 = match input.element {
        Some(element::FLOAT) | None => false,
        Some(element::FLOAT16) => true,
        Some(other) => return Err(format!("{} has element type {other}, not float32 or float16", input.name)),
    };
    let fixed = |d: Option<&Dim>| match d {
        Some(Dim::Fixed(n)) if *n > 0 => Some(*n as usize),
        _ => None,
    };
    let dims = input.dims.as_deref().unwrap_or(&[]);
    match (dims.len(), fixed(dims.get(1)), fixed(dims.get(3))) {
        (4, Some(heads), Some(head_dim)) => Ok(PastInput { name: input.name.clone(), float16, heads, head_dim }),
        _ => Err(format!("{} must be declared [batch, heads, past_sequence, head_dim] with fixed heads and head_dim, to feed it empty", input.name)),
    }
}

fn names(v: &[crate::onnx::interface::Declared]) -> String {
    v.iter().map(|d| d.name.as_str()).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::onnx::interface::Declared;

    fn d(name: &str, element: i64, dims: &[Dim]) -> Declared {
        Declared { name: name.into(), element: Some(element), dims: Some(dims.to_vec()) }
    }

    fn s(x: &str) -> Dim {
        Dim::Symbol(x.into())
    }

    fn optimum() -> Interface {
        Interface {
            inputs: vec![
                d("input_ids", element::INT64, &[s("b"), s("s")]),
                d("attention_mask", element::INT64, &[s("b"), s("t")]),
                d("past_key_values.0.key", element::FLOAT16, &[s("b"), Dim::Fixed(4), s("p"), Dim::Fixed(32)]),
                d("use_cache_branch", element::BOOL, &[Dim::Fixed(1)]),
            ],
            outputs: vec![
                d("logits", element::FLOAT16, &[s("b"), s("s"), Dim::Fixed(2048)]),
                d("present.0.key", element::FLOAT16, &[s("b"), Dim::Fixed(4), s("t"), Dim::Fixed(32)]),
            ],
        }
    }

    #[test]
    fn an_optimum_decoder_is_causal_and_fed_an_empty_past() {
        let iface = optimum();
        assert!(looks_causal(&iface, None));
        let lm = interface(&iface).unwrap();
        assert!(lm.attention_mask && lm.use_cache_branch && lm.logits_float16 && !lm.position_ids);
        assert_eq!(lm.past, [PastInput { name: "past_key_values.0.key".into(), float16: true, heads: 4, head_dim: 32 }]);
        assert_eq!(lm.vocabulary, Some(2048));
    }

    #[test]
    fn a_plain_export_is_told_from_a_token_classifier_by_its_width() {
        let plain = |width| Interface {
            inputs: vec![d("input_ids", element::INT64, &[s("b"), s("s")]), d("attention_mask", element::INT64, &[s("b"), s("s")])],
            outputs: vec![d("logits", element::FLOAT, &[s("b"), s("s"), Dim::Fixed(width)])],
        };
        assert!(looks_causal(&plain(2048), Some(2048)));
        assert!(looks_causal(&plain(2112), Some(2048)), "vocabularies padded to a multiple of 64");
        assert!(!looks_causal(&plain(9), Some(2048)), "9 NER labels");
        assert!(!looks_causal(&plain(2048), None));
    }

    #[test]
    fn unlike_inputs_and_outputs_are_refused_with_their_names() {
        let mut iface = optimum();
        iface.inputs.push(d("token_type_ids", element::INT64, &[s("b"), s("s")]));
        assert!(interface(&iface).unwrap_err().contains("token_type_ids"));
        let mut iface = optimum();
        iface.inputs[2].dims = Some(vec![s("b"), s("h"), s("p"), Dim::Fixed(32)]);
        assert!(interface(&iface).unwrap_err().contains("fixed heads"));
        let iface =
            Interface { inputs: vec![d("input_ids", element::INT64, &[s("b"), s("s")])], outputs: vec![d("probs", element::FLOAT, &[s("b"), Dim::Fixed(3)])] };
        assert!(interface(&iface).unwrap_err().contains("no [batch, sequence, vocabulary] logits"));
    }
}
