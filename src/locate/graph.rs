//! The part of an ONNX graph that matching reads: nodes in file order (ONNX requires topological
//! order), initializer shapes, declared inputs and outputs. Only the top-level graph.

use crate::onnx::proto;
use std::collections::{HashMap, HashSet};

#[derive(Debug, Clone, PartialEq)]
pub struct NodeView {
    pub name: String,
    pub op_type: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

impl NodeView {
    /// How a report names the node: its name, else `op_type(first output)`.
    pub fn label(&self) -> String {
        if self.name.is_empty() {
            format!("{}({})", self.op_type, self.outputs.first().map(String::as_str).unwrap_or(""))
        } else {
            self.name.clone()
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct GraphView {
    pub nodes: Vec<NodeView>,
    /// Initializer name -> (element type, dims).
    pub initializers: HashMap<String, (i32, Vec<i64>)>,
    /// Declared inputs that are not initializers.
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
}

impl GraphView {
    pub fn of(model: &proto::ModelProto) -> Self {
        let Some(g) = model.graph.as_ref() else { return Self::default() };
        let initializers: HashMap<String, (i32, Vec<i64>)> =
            g.initializer.iter().map(|t| (t.name.clone().unwrap_or_default(), (t.data_type.unwrap_or(0), t.dims.clone()))).collect();
        let nodes = g
            .node
            .iter()
            .map(|n| NodeView {
                name: n.name.clone().unwrap_or_default(),
                op_type: n.op_type.clone().unwrap_or_default(),
                inputs: n.input.clone(),
                outputs: n.output.clone(),
            })
            .collect();
        let name = |v: &proto::ValueInfoProto| v.name.clone().unwrap_or_default();
        let inputs = g.input.iter().map(name).filter(|n| !initializers.contains_key(n)).collect();
        let outputs = g.output.iter().map(name).collect();
        Self { nodes, initializers, inputs, outputs }
    }

    /// Tensor name -> index of the node that produces it.
    pub fn producers(&self) -> HashMap<&str, usize> {
        let mut map = HashMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            for o in n.outputs.iter().filter(|o| !o.is_empty()) {
                map.insert(o.as_str(), i);
            }
        }
        map
    }

    /// Tensors that do not depend on the model's inputs: initializers, `Constant` outputs and
    /// whatever is computed from those alone (a QDQ student's dequantized weights, say).
    pub fn constants(&self) -> HashSet<String> {
        let mut constant: HashSet<String> = self.initializers.keys().cloned().collect();
        for n in &self.nodes {
            if n.inputs.iter().filter(|i| !i.is_empty()).all(|i| constant.contains(i)) {
                constant.extend(n.outputs.iter().filter(|o| !o.is_empty()).cloned());
            }
        }
        constant
    }

    /// Shapes of the initializers with two or more dimensions (the layers' weights), sorted: what
    /// tells "the same network, compressed" from another network.
    pub fn weight_shapes(&self) -> Vec<Vec<i64>> {
        let mut shapes: Vec<Vec<i64>> = self.initializers.values().filter(|(_, d)| d.len() >= 2).map(|(_, d)| d.clone()).collect();
        shapes.sort();
        shapes
    }
}
