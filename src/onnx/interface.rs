//! The graph's declared inputs and outputs, as a caller outside this module sees them: names,
//! element types and dimensions (a number, a symbol, or unknown).

use super::decode::{DimInfo, Graph, ValueInfo};

/// ONNX `TensorProto.DataType` codes this crate names.
pub mod element {
    pub const FLOAT: i64 = 1;
    pub const INT32: i64 = 6;
    pub const INT64: i64 = 7;
    pub const BOOL: i64 = 9;
    pub const FLOAT16: i64 = 10;
    pub const BFLOAT16: i64 = 16;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dim {
    Fixed(i64),
    Symbol(String),
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Declared {
    pub name: String,
    /// `TensorProto.DataType`; `None` when the graph does not say.
    pub element: Option<i64>,
    /// `None`: no shape declared.
    pub dims: Option<Vec<Dim>>,
}

impl Declared {
    pub fn rank(&self) -> Option<usize> {
        self.dims.as_ref().map(Vec::len)
    }

    /// The last dimension when it is a number.
    pub fn last_fixed(&self) -> Option<i64> {
        match self.dims.as_ref()?.last()? {
            Dim::Fixed(n) => Some(*n),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interface {
    /// Graph inputs that are not initializers.
    pub inputs: Vec<Declared>,
    pub outputs: Vec<Declared>,
}

fn declared(v: &ValueInfo) -> Declared {
    let dims = v.dims.as_ref().map(|d| {
        d.iter()
            .map(|d| match d {
                DimInfo::Value(n) => Dim::Fixed(*n),
                DimInfo::Param(s) => Dim::Symbol(s.clone()),
                DimInfo::Unset => Dim::Unknown,
            })
            .collect()
    });
    Declared { name: v.name.clone(), element: v.elem_type, dims }
}

pub(super) fn interface(graph: &Graph) -> Interface {
    let initializers: std::collections::HashSet<&str> = graph.initializers.iter().map(|t| t.name()).collect();
    Interface {
        inputs: graph.inputs.iter().filter(|i| !initializers.contains(i.name.as_str())).map(declared).collect(),
        outputs: graph.outputs.iter().map(declared).collect(),
    }
}
