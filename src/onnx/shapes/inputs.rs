//! The shapes propagation starts from: graph inputs (batch and sequence dimensions found by name)
//! and the shapes the file declares (`value_info`, graph outputs), which fill in what propagation
//! leaves unknown.

use super::super::decode::{DimInfo, Graph, ValueInfo};
use super::super::dims::{fixed_i, Shape, BATCH, SEQ};
use super::Shapes;
use std::collections::{HashMap, HashSet};

pub(in crate::onnx) struct Seeded<'g> {
    /// A symbolic-length integer rank-2 input: token ids.
    pub(in crate::onnx) sequence_model: bool,
    pub(in crate::onnx) declared: HashMap<&'g str, Shape>,
}

fn is_token_input(v: &ValueInfo) -> bool {
    matches!(v.elem_type, Some(6 | 7)) && v.dims.as_ref().is_some_and(|d| d.len() == 2)
}

/// Puts the fed inputs' shapes into `ctx` and returns the declared shapes.
pub(in crate::onnx) fn seed<'g>(g: &'g Graph, initializer_names: &HashSet<&str>, ctx: &mut Shapes) -> Seeded<'g> {
    let fed: Vec<&ValueInfo> = g.inputs.iter().filter(|v| !initializer_names.contains(v.name.as_str())).collect();
    let mut batch_names: HashSet<&str> = HashSet::new();
    let mut seq_names: HashSet<&str> = HashSet::new();
    let mut sequence_model = false;
    for v in &fed {
        let Some(dims) = &v.dims else { continue };
        if let Some(DimInfo::Param(p)) = dims.first() {
            batch_names.insert(p);
        }
        if is_token_input(v) {
            match &dims[1] {
                DimInfo::Value(x) if *x > 0 => {}
                DimInfo::Param(p) => {
                    seq_names.insert(p);
                    sequence_model = true;
                }
                _ => sequence_model = true,
            }
        }
    }
    let declared_dim = |d: &DimInfo| match d {
        DimInfo::Value(v) if *v > 0 => fixed_i(*v),
        DimInfo::Param(p) if batch_names.contains(p.as_str()) => Some(BATCH),
        DimInfo::Param(p) if seq_names.contains(p.as_str()) => Some(SEQ),
        _ => None,
    };
    for v in &fed {
        let Some(dims) = &v.dims else { continue };
        let token = is_token_input(v);
        let shape: Shape = dims
            .iter()
            .enumerate()
            .map(|(k, d)| match (k, d) {
                (0, _) => Some(BATCH),
                (1, DimInfo::Value(x)) if token && *x > 0 => fixed_i(*x),
                (1, _) if token => Some(SEQ),
                _ => declared_dim(d),
            })
            .collect();
        ctx.shapes.insert(v.name.clone(), shape);
    }
    let declared =
        g.value_info.iter().chain(&g.outputs).filter_map(|v| v.dims.as_ref().map(|d| (v.name.as_str(), d.iter().map(declared_dim).collect()))).collect();
    Seeded { sequence_model, declared }
}
