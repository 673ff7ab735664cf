//! (b) The fixture models against fixtures/model_facts.json (the `onnx` package's own counts).

use super::*;

#[test]
fn fixture_models_match_model_facts_json() {
    let facts: serde_json::Value = serde_json::from_slice(&fixture("model_facts.json")).unwrap();
    let facts = facts.as_object().unwrap();
    assert_eq!(facts.len(), 20, "one entry per fixture model");
    for (rel, f) in facts {
        let l = f["sequence_length"].as_f64().unwrap();
        let s = graph_stats(&fixture(rel), Some(l)).unwrap_or_else(|e| panic!("{rel}: {e}"));
        assert_eq!(s.parameters, f["parameters"].as_u64().unwrap(), "{rel} parameters");
        assert_eq!(s.nonzero_parameters, f["nonzero_parameters"].as_u64().unwrap(), "{rel} nonzero");
        assert_eq!(s.parameter_bytes, f["parameter_bytes"].as_u64().unwrap(), "{rel} bytes");
        let want = f["flops_per_example"].as_f64().unwrap();
        assert!((s.flops_per_example - want).abs() <= 1e-9 * want.abs(), "{rel} flops {} vs {want}", s.flops_per_example);
        let want_ops: Vec<(String, u64)> = f["op_counts"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_u64().unwrap())).collect();
        assert_eq!(s.op_counts, want_ops, "{rel} op counts");
        // Every fixture's costed ops are exact: nothing guessed.
        assert!(s.assumptions.iter().all(|a| a.starts_with("no costed op depends")), "{rel}: {:?}", s.assumptions);
    }
}
