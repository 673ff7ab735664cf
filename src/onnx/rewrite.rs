//! Graph surgery for `fidelity locate`: every intermediate tensor declared as a graph output (so
//! ONNX Runtime hands it back), and a student graph cut at given tensors, whose consumers read new
//! graph inputs instead (fed with the teacher's values: each node then shows the error it adds
//! itself). Only the top-level graph changes; everything else in the file is kept as decoded.

use super::proto;
use prost::Message;

/// The weight suffix of ONNX Runtime's quantizers (`W` becomes `W_quantized`).
pub const WEIGHT_SUFFIX: &str = "_quantized";

/// Declares every node output as a graph output (without a type: ONNX Runtime infers it) and
/// returns the node outputs in graph order (declared outputs included).
pub fn expose_all(model: &mut proto::ModelProto) -> Vec<String> {
    let Some(graph) = model.graph.as_mut() else { return vec![] };
    let produced: Vec<String> = graph.node.iter().flat_map(|n| n.output.iter().filter(|o| !o.is_empty()).cloned()).collect();
    let declared: std::collections::HashSet<String> = graph.output.iter().filter_map(|o| o.name.clone()).collect();
    for name in produced.iter().filter(|n| !declared.contains(*n)) {
        graph.output.push(proto::ValueInfoProto { name: Some(name.clone()), ..Default::default() });
    }
    produced
}

/// A tensor whose consumers read a new graph input instead.
pub struct Cut {
    pub tensor: String,
    /// The new input's name.
    pub input: String,
    /// ONNX element type of the values fed (1 float32, 10 float16, ...).
    pub elem_type: i32,
}

/// The model with each cut's consumers reading `cut.input`; the producers still write the
/// original names, and every node output is declared an output ([`expose_all`]).
pub fn cut(model: &proto::ModelProto, cuts: &[Cut]) -> proto::ModelProto {
    let mut model = model.clone();
    if let Some(graph) = model.graph.as_mut() {
        let renamed: std::collections::HashMap<&str, &str> = cuts.iter().map(|c| (c.tensor.as_str(), c.input.as_str())).collect();
        for node in &mut graph.node {
            for input in node.input.iter_mut() {
                if let Some(new) = renamed.get(input.as_str()) {
                    *input = new.to_string();
                }
            }
        }
        for c in cuts {
            graph.input.push(tensor_input(&c.input, c.elem_type));
        }
    }
    expose_all(&mut model);
    model
}

/// A graph input of element type `elem_type` and unknown rank.
fn tensor_input(name: &str, elem_type: i32) -> proto::ValueInfoProto {
    let tensor = proto::type_proto::Tensor { elem_type: Some(elem_type), shape: None };
    proto::ValueInfoProto {
        name: Some(name.to_string()),
        r#type: Some(proto::TypeProto { value: Some(proto::type_proto::Value::TensorType(tensor)), ..Default::default() }),
        ..Default::default()
    }
}

/// The model with the named nodes computing in float again: each input a DequantizeLinear feeds
/// reads what its QuantizeLinear quantized (an activation), or the float weight `W` for a stored
/// `W_quantized` (copied from `float_model`, the teacher), as ONNX Runtime's `quantize_static(...,
/// nodes_to_exclude=[...])` leaves an excluded node. Outputs keep their pairs (the next node's
/// input is still quantized). A pair whose float input is in `keep` stays: a quantizer that folded
/// a Relu into a pair made the pair compute the Relu, so its input is not the value the node
/// needs. A node with no input rewired is an error.
pub fn bypass(
    model: &proto::ModelProto,
    float_model: &proto::ModelProto,
    nodes: &[String],
    keep: &std::collections::HashSet<String>,
) -> Result<proto::ModelProto, String> {
    let mut model = model.clone();
    let Some(graph) = model.graph.as_mut() else { return Err("the model has no graph".into()) };
    let producer = |name: &str, graph: &proto::GraphProto| graph.node.iter().position(|n| n.output.iter().any(|o| o == name));
    let float_inits: std::collections::HashMap<&str, &proto::TensorProto> =
        float_model.graph.iter().flat_map(|g| &g.initializer).map(|t| (t.name.as_deref().unwrap_or(""), t)).collect();
    for name in nodes {
        let index = graph.node.iter().position(|n| n.name.as_deref() == Some(name.as_str())).ok_or_else(|| format!("no node named {name}"))?;
        let mut rewired = 0;
        for slot in 0..graph.node[index].input.len() {
            let input = graph.node[index].input[slot].clone();
            let Some(dq) = producer(&input, graph).filter(|&p| graph.node[p].op_type.as_deref() == Some("DequantizeLinear")) else { continue };
            let stored = graph.node[dq].input.first().cloned().unwrap_or_default();
            let replacement = if let Some(weight) =
                stored.strip_suffix(WEIGHT_SUFFIX).filter(|_| graph.initializer.iter().any(|t| t.name.as_deref() == Some(stored.as_str())))
            {
                let Some(float) = float_inits.get(weight) else { continue };
                if !graph.initializer.iter().any(|t| t.name.as_deref() == Some(weight)) {
                    graph.initializer.push((*float).clone());
                }
                weight.to_string()
            } else {
                let Some(q) = producer(&stored, graph).filter(|&p| graph.node[p].op_type.as_deref() == Some("QuantizeLinear")) else { continue };
                let float = graph.node[q].input.first().cloned().unwrap_or_default();
                if keep.contains(&float) {
                    continue;
                }
                float
            };
            graph.node[index].input[slot] = replacement;
            rewired += 1;
        }
        if rewired == 0 {
            return Err(format!("node {name} reads no quantize/dequantize pair"));
        }
    }
    Ok(model)
}

pub fn decode(bytes: &[u8]) -> Result<proto::ModelProto, String> {
    proto::ModelProto::decode(bytes).map_err(|e| format!("not a readable ONNX model: {e}"))
}

pub fn encode(model: &proto::ModelProto) -> Vec<u8> {
    model.encode_to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adult_qdq() -> proto::ModelProto {
        decode(&std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/locate/adult-qdq.onnx")).unwrap()).unwrap()
    }

    #[test]
    fn every_node_output_becomes_a_graph_output_once() {
        let mut model = adult_qdq();
        let produced = expose_all(&mut model);
        let outputs: Vec<String> = model.graph.as_ref().unwrap().output.iter().filter_map(|o| o.name.clone()).collect();
        assert_eq!(outputs.len(), produced.len(), "logits was declared already and is not added twice");
        assert!(produced.iter().all(|p| outputs.contains(p)));
    }

    #[test]
    fn a_bypassed_node_reads_float_activations_and_the_teachers_weight() {
        let teacher = decode(&std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/adult/teacher.onnx")).unwrap()).unwrap();
        let none = std::collections::HashSet::new();
        let patched = bypass(&adult_qdq(), &teacher, &["MatMul_2".into()], &none).unwrap();
        let graph = patched.graph.unwrap();
        let node = graph.node.iter().find(|n| n.name.as_deref() == Some("MatMul_2")).unwrap();
        assert_eq!(node.input, ["h1", "W2"]);
        assert!(graph.initializer.iter().any(|t| t.name.as_deref() == Some("W2") && t.data_type == Some(1)));
        assert!(bypass(&adult_qdq(), &teacher, &["nope".into()], &none).unwrap_err().contains("no node named nope"));
        // h1's pair computes the Relu the quantizer folded into it: kept, only the weight is float.
        let keep = std::collections::HashSet::from(["h1".to_string()]);
        let graph = bypass(&adult_qdq(), &teacher, &["MatMul_2".into()], &keep).unwrap().graph.unwrap();
        let node = graph.node.iter().find(|n| n.name.as_deref() == Some("MatMul_2")).unwrap();
        assert_eq!(node.input, ["h1_DequantizeLinear_Output", "W2"]);
    }

    #[test]
    fn a_cut_tensor_is_read_from_the_new_input_but_still_written() {
        let cut_model = cut(&adult_qdq(), &[Cut { tensor: "h1".into(), input: "h1@teacher".into(), elem_type: 1 }]);
        let graph = cut_model.graph.unwrap();
        let readers: Vec<&proto::NodeProto> = graph.node.iter().filter(|n| n.input.iter().any(|i| i == "h1@teacher")).collect();
        assert_eq!(readers.len(), 1, "the QuantizeLinear after Add_1");
        assert!(graph.node.iter().all(|n| !n.input.iter().any(|i| i == "h1")));
        assert!(graph.node.iter().any(|n| n.output.iter().any(|o| o == "h1")));
        assert!(graph.input.iter().any(|i| i.name.as_deref() == Some("h1@teacher")));
    }
}
