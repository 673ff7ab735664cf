//! The size columns: parameters, nonzero parameters and bytes over every initializer and sparse
//! initializer (see [`super::tensor`] for how one tensor is read). Sparse initializers count
//! `prod(dims)` parameters and the nonzero values they store; their bytes are their values and
//! indices.

use super::decode::Graph;
use super::dims::{fixed, Shape};
use super::shapes::Shapes;
use super::tensor::summarize;
use std::collections::{BTreeMap, HashMap, HashSet};

#[derive(Default)]
pub(super) struct Size<'g> {
    pub(super) parameters: u64,
    pub(super) nonzero: u64,
    pub(super) bytes: u64,
    /// Initializers with external data, and their elements.
    pub(super) external: (usize, u64),
    /// Initializers per data type this reader does not interpret.
    pub(super) unknown_types: BTreeMap<i64, usize>,
    pub(super) initializer_names: HashSet<&'g str>,
    /// Bytes of each initializer (dense or sparse), for the memory-traffic model.
    pub(super) initializer_bytes: HashMap<&'g str, u64>,
    /// Bytes of learned parameters kept in classic-ML operators' attributes.
    pub(super) attribute_bytes: u64,
}

fn overflow() -> String {
    "the parameter count overflows 64 bits".to_string()
}

impl Size<'_> {
    fn add(&mut self, elements: u64, nonzero: u64, bytes: u64) -> Result<(), String> {
        self.parameters = self.parameters.checked_add(elements).ok_or_else(overflow)?;
        self.nonzero = self.nonzero.checked_add(nonzero).ok_or_else(overflow)?;
        self.bytes = self.bytes.checked_add(bytes).ok_or_else(overflow)?;
        Ok(())
    }

    fn note(&mut self, external: bool, elements: u64, unknown_type: Option<i64>) {
        if external {
            self.external.0 += 1;
            self.external.1 = self.external.1.saturating_add(elements);
        }
        if let Some(dt) = unknown_type {
            *self.unknown_types.entry(dt).or_default() += 1;
        }
    }
}

/// Counts every initializer and gives propagation their shapes (and small integer values).
/// External tensors are read from `folder` (the model's) for their nonzero counts, when given.
pub(super) fn count<'g>(g: &'g Graph, ctx: &mut Shapes, folder: Option<&std::path::Path>) -> Result<Size<'g>, String> {
    let mut size = Size::default();
    for (i, t) in g.initializers.iter().enumerate() {
        let name = t.name();
        let mut s = summarize(t).map_err(|e| format!("initializer {i} ('{name}'): {e}"))?;
        if let Some(nonzero) = folder.filter(|_| s.external).and_then(|f| super::external::nonzero(t, f, s.elements)) {
            (s.nonzero, s.external) = (nonzero, false);
        }
        size.add(s.elements, s.nonzero, s.bytes)?;
        size.note(s.external, s.elements, s.unknown_type);
        size.initializer_names.insert(name);
        size.initializer_bytes.insert(name, s.bytes);
        ctx.shapes.insert(name.to_string(), s.dims.iter().map(|&d| fixed(d)).collect());
        if let Some(ints) = s.ints {
            ctx.consts.insert(name.to_string(), ints);
        }
    }
    let empty = Default::default();
    for (i, sp) in g.sparse.iter().enumerate() {
        let (values, indices) = (sp.values.as_ref().unwrap_or(&empty), sp.indices.as_ref().unwrap_or(&empty));
        // An absent values tensor reads as an empty one (and fails as having no data).
        let name = sp.values.as_ref().map_or("", |v| v.name());
        let err = |e: String| format!("sparse initializer {i} ('{name}'): {e}");
        let v = summarize(values).map_err(|e| err(format!("values: {e}")))?;
        let ix = summarize(indices).map_err(|e| err(format!("indices: {e}")))?;
        let mut elements = 1u64;
        let mut dims = Vec::with_capacity(sp.dims.len());
        for &d in &sp.dims {
            let d = u64::try_from(d).map_err(|_| err(format!("negative dimension {d}")))?;
            elements = elements.checked_mul(d).ok_or_else(|| err("dims hold more than 2^64 elements".into()))?;
            dims.push(d);
        }
        let bytes = v.bytes.checked_add(ix.bytes).ok_or_else(overflow)?;
        size.add(elements, v.nonzero, bytes)?;
        size.note(v.external || ix.external, v.elements, v.unknown_type);
        size.initializer_names.insert(name);
        size.initializer_bytes.insert(name, bytes);
        let shape: Shape = dims.iter().map(|&d| fixed(d)).collect();
        ctx.shapes.insert(name.to_string(), shape);
    }
    // Classic-ML operators (skl2onnx, onnxmltools) keep what they learned in attributes, not in
    // initializers: coefficients, intercepts, tree thresholds and leaf weights, support vectors.
    for n in g.nodes.iter().filter(|n| LEARNED_IN_ATTRIBUTES.contains(&n.op_type.as_str())) {
        for a in &n.attrs {
            size.add(a.floats as u64, a.floats_nonzero as u64, 4 * a.floats as u64)?;
            size.attribute_bytes = size.attribute_bytes.saturating_add(4 * a.floats as u64);
            if let Some(t) = &a.t {
                size.add(t.elements, t.nonzero, t.bytes)?;
                size.attribute_bytes = size.attribute_bytes.saturating_add(t.bytes);
            }
        }
    }
    Ok(size)
}

/// ai.onnx.ml operators whose float attributes are learned parameters.
const LEARNED_IN_ATTRIBUTES: [&str; 8] =
    ["LinearClassifier", "LinearRegressor", "SVMClassifier", "SVMRegressor", "TreeEnsembleClassifier", "TreeEnsembleRegressor", "TreeEnsemble", "Scaler"];
