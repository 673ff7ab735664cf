//! (a) Hand-built models, hand-computed expectations.

use super::*;

#[test]
fn matmul_on_tabular_input_costs_two_k_n() {
    let s = stats(&tabular_matmul(), Some(24.0));
    assert_eq!(s.parameters, 15);
    assert_eq!(s.nonzero_parameters, 10);
    assert_eq!(s.parameter_bytes, 60);
    assert_eq!(s.flops_per_example, 2.0 * 4.0 * 3.0);
    assert_eq!(s.op_counts, ops(&[("Add", 1), ("MatMul", 1)]));
    assert!(s.assumptions.is_empty(), "{:?}", s.assumptions);
    // The sequence length is irrelevant to a tabular model.
    assert_eq!(stats(&tabular_matmul(), None), s);
}

#[test]
fn gemm_respects_trans_b_and_typed_float_data() {
    let g = G {
        nodes: vec![node("Gemm", &["x", "W1", "c1"], &["h"], &[attr_i("transB", 1)]), node("Gemm", &["h", "W2"], &["y"], &[attr_i("transB", 0)])],
        inits: vec![
            // [N=2, K=5] stored transposed, typed float_data with a -0.0.
            tensor_float_data("W1", &[2, 5], &[1.0, -0.0, 2.0, 3.0, 0.0, 4.0, 5.0, 6.0, 7.0, 8.0]),
            tensor_float_data("c1", &[2], &[0.0, 0.0]),
            tensor_f32("W2", &[2, 7], &[1.0; 14]),
        ],
        inputs: vec![value_info("x", FLOAT, &[P("batch"), V(5)])],
        outputs: vec![value_info("y", FLOAT, &[P("batch"), V(7)])],
        value_info: vec![],
    };
    let s = stats(&g, None);
    assert_eq!(s.parameters, 10 + 2 + 14);
    assert_eq!(s.nonzero_parameters, 8 + 14);
    assert_eq!(s.parameter_bytes, 4 * 26);
    assert_eq!(s.flops_per_example, 2.0 * 5.0 * 2.0 + 2.0 * 2.0 * 7.0);
    assert_eq!(s.op_counts, ops(&[("Gemm", 2)]));
}

#[test]
fn conv_costs_per_output_position_from_strides_pads_and_groups() {
    let g = G {
        nodes: vec![
            // [N,3,8,8] -> [N,4,4,4]: (8 + 2 - 3) / 2 + 1 = 4.
            node("Conv", &["x", "W1"], &["h"], &[attr_ints("pads", &[1, 1, 1, 1]), attr_ints("strides", &[2, 2])]),
            // groups 2: W2 [8, 4/2, 1, 1] -> [N,8,4,4].
            node("Conv", &["h", "W2"], &["y"], &[attr_i("group", 2)]),
        ],
        inits: vec![tensor_f32("W1", &[4, 3, 3, 3], &[1.0; 108]), tensor_f32("W2", &[8, 2, 1, 1], &[1.0; 16])],
        inputs: vec![value_info("x", FLOAT, &[P("N"), V(3), V(8), V(8)])],
        outputs: vec![value_info("y", FLOAT, &[P("N"), V(8), V(4), V(4)])],
        value_info: vec![],
    };
    let s = stats(&g, None);
    assert_eq!(s.parameters, 124);
    assert_eq!(s.flops_per_example, 2.0 * (4.0 * 3.0 * 9.0) * 16.0 + 2.0 * (8.0 * 2.0) * 16.0);
    assert!(s.assumptions.is_empty(), "{:?}", s.assumptions);

    // SAME_UPPER padding, stride 2 on a 7x7 input: ceil(7/2) = 4.
    let same = G {
        nodes: vec![node("Conv", &["x", "W1"], &["y"], &[attr_s("auto_pad", "SAME_UPPER"), attr_ints("strides", &[2, 2])])],
        inits: vec![tensor_f32("W1", &[4, 3, 3, 3], &[1.0; 108])],
        inputs: vec![value_info("x", FLOAT, &[P("N"), V(3), V(7), V(7)])],
        outputs: vec![value_info("y", FLOAT, &[P("N"), V(4), P("h"), P("w")])],
        value_info: vec![],
    };
    assert_eq!(stats(&same, None).flops_per_example, 2.0 * 108.0 * 16.0);
}

#[test]
fn conv_output_size_comes_from_value_info_or_counts_one_position() {
    let mut g = G {
        nodes: vec![node("Conv", &["x", "W"], &["y"], &[])],
        inits: vec![tensor_f32("W", &[4, 3, 3, 3], &[1.0; 108])],
        inputs: vec![value_info("x", FLOAT, &[P("N"), V(3), P("H"), P("W")])],
        outputs: vec![value_info("y", FLOAT, &[P("N"), V(4), P("H2"), P("W2")])],
        value_info: vec![],
    };
    let s = stats(&g, None);
    assert_eq!(s.flops_per_example, 2.0 * 108.0);
    assert!(s.assumptions.iter().any(|a| a.contains("one output position")), "{:?}", s.assumptions);

    g.outputs = vec![value_info("y", FLOAT, &[P("N"), V(4), V(5), V(5)])];
    let s = stats(&g, None);
    assert_eq!(s.flops_per_example, 2.0 * 108.0 * 25.0);
    assert!(s.assumptions.is_empty(), "{:?}", s.assumptions);
}

fn token_model(pool: bool) -> G {
    let mut nodes = vec![node("Gather", &["emb", "ids"], &["e"], &[attr_i("axis", 0)])];
    let mut inits = vec![tensor_f32("emb", &[10, 4], &[1.0; 40]), tensor_f32("W", &[4, 2], &[1.0; 8])];
    if pool {
        // ReduceSum-13 style: axes as a constant int64 input.
        nodes.push(node("ReduceSum", &["e", "axes"], &["p"], &[attr_i("keepdims", 0)]));
        inits.push(tensor_raw("axes", INT64, &[1], &1i64.to_le_bytes()));
        nodes.push(node("MatMul", &["p", "W"], &["y"], &[]));
    } else {
        nodes.push(node("MatMul", &["e", "W"], &["y"], &[]));
    }
    G {
        nodes,
        inits,
        inputs: vec![value_info("ids", INT64, &[P("batch"), P("sequence")])],
        outputs: vec![value_info("y", FLOAT, &[P("batch"), P("out")])],
        value_info: vec![],
    }
}

#[test]
fn per_token_matmul_costs_sequence_length_rows() {
    let s = stats(&token_model(false), Some(24.0));
    assert_eq!(s.flops_per_example, 2.0 * 4.0 * 2.0 * 24.0);
    assert_eq!(s.assumptions, vec!["sequence length 24".to_string()]);
    assert_eq!(s.op_counts, ops(&[("Gather", 1), ("MatMul", 1)]));
    assert_eq!(stats(&token_model(false), Some(23.5)).flops_per_example, 2.0 * 4.0 * 2.0 * 23.5);
    let s = stats(&token_model(false), None);
    assert_eq!(s.flops_per_example, 2.0 * 4.0 * 2.0);
    assert_eq!(s.assumptions, vec!["sequence length not given: 1 token assumed".to_string()]);
}

#[test]
fn pooled_text_model_cost_does_not_depend_on_sequence_length() {
    let s = stats(&token_model(true), Some(24.0));
    assert_eq!(s.flops_per_example, 2.0 * 4.0 * 2.0);
    assert_eq!(s.parameters, 40 + 8 + 1);
    assert_eq!(s.assumptions.len(), 1);
    assert!(s.assumptions[0].contains("no costed op depends on the sequence length"));
}

#[test]
fn attention_scores_cost_the_square_of_the_sequence() {
    let g = G {
        nodes: vec![
            node("Gather", &["emb", "ids"], &["q"], &[]),
            node("Transpose", &["q"], &["kt"], &[attr_ints("perm", &[0, 2, 1])]),
            node("MatMul", &["q", "kt"], &["scores"], &[]),
            node("ReduceMean", &["scores"], &["y"], &[attr_ints("axes", &[2]), attr_i("keepdims", 0)]),
        ],
        inits: vec![tensor_f32("emb", &[10, 4], &[1.0; 40])],
        inputs: vec![value_info("ids", INT64, &[P("b"), P("s")])],
        outputs: vec![value_info("y", FLOAT, &[P("b"), P("s")])],
        value_info: vec![],
    };
    let s = stats(&g, Some(10.0));
    assert_eq!(s.flops_per_example, 2.0 * 4.0 * 10.0 * 10.0);
    assert!(s.assumptions.iter().any(|a| a.contains("square")), "{:?}", s.assumptions);
}

#[test]
fn quantized_weights_directly_or_behind_dequantize_and_transpose() {
    let g = G {
        nodes: vec![
            node("DynamicQuantizeLinear", &["x"], &["xq", "xs", "xz"], &[]),
            node("MatMulInteger", &["xq", "Wq", "xz", "Wz"], &["m1"], &[]),
            node("Cast", &["m1"], &["h1"], &[attr_i("to", 1)]),
            node("DequantizeLinear", &["W2q", "W2s", "W2z"], &["W2"], &[]),
            node("MatMul", &["h1", "W2"], &["h2"], &[]),
            node("Transpose", &["W3t"], &["W3"], &[]),
            node("MatMul", &["h2", "W3"], &["y"], &[]),
        ],
        inits: vec![
            // int8 [4,3]: 3 zero bytes; 0x80 (-128) is not zero.
            tensor_raw("Wq", INT8, &[4, 3], &[0, 1, 2, 0, 0x80, 3, 4, 5, 0, 6, 7, 8]),
            tensor_ints("Wz", INT8, 5, &[], &[0]),
            tensor_raw("W2q", INT8, &[3, 2], &[1, 2, 3, 4, 5, 6]),
            tensor_float_data("W2s", &[], &[0.1]),
            tensor_ints("W2z", INT8, 5, &[], &[0]),
            // [N=5, K=2] transposed to [2, 5].
            tensor_f32("W3t", &[5, 2], &[1.0; 10]),
        ],
        inputs: vec![value_info("x", FLOAT, &[P("N"), V(4)])],
        outputs: vec![value_info("y", FLOAT, &[P("N"), V(5)])],
        value_info: vec![],
    };
    let s = stats(&g, None);
    assert_eq!(s.flops_per_example, 2.0 * 4.0 * 3.0 + 2.0 * 3.0 * 2.0 + 2.0 * 2.0 * 5.0);
    assert_eq!(s.parameters, 12 + 1 + 6 + 1 + 1 + 10);
    assert_eq!(s.nonzero_parameters, 9 + 6 + 1 + 10);
    assert_eq!(s.parameter_bytes, 12 + 1 + 6 + 4 + 1 + 40);
    assert!(s.assumptions.is_empty(), "{:?}", s.assumptions);
}

#[test]
fn unknown_shapes_fall_back_to_rows_with_an_assumption() {
    let mut g = tabular_matmul();
    g.nodes.insert(0, node("SomeCustomOp", &["x"], &["x2"], &[]));
    g.nodes[1] = node("MatMul", &["x2", "W"], &["h"], &[]);
    let s = stats(&g, Some(24.0));
    assert_eq!(s.flops_per_example, 24.0);
    let fallback = |a: &String| a.contains("could not be inferred") && a.contains("one row");
    assert!(s.assumptions.iter().any(fallback), "{:?}", s.assumptions);

    // A sequence model: one row per token.
    let mut t = token_model(false);
    t.nodes.insert(1, node("SomeCustomOp", &["e"], &["e2"], &[]));
    t.nodes[2] = node("MatMul", &["e2", "W"], &["y"], &[]);
    let s = stats(&t, Some(24.0));
    assert_eq!(s.flops_per_example, 2.0 * 4.0 * 2.0 * 24.0);
    assert!(s.assumptions.iter().any(|a| a.contains("one row per token")), "{:?}", s.assumptions);

    // B unknown: not costed.
    let mut u = tabular_matmul();
    u.nodes.insert(0, node("SomeCustomOp", &["W"], &["Wx"], &[]));
    u.nodes[1] = node("MatMul", &["x", "Wx"], &["h"], &[]);
    let s = stats(&u, None);
    assert_eq!(s.flops_per_example, 0.0);
    assert!(s.assumptions.iter().any(|a| a.contains("not costed")), "{:?}", s.assumptions);
}

#[test]
fn nonzero_counting_across_element_types() {
    let f16 = [0x00u8, 0x80, 0x00, 0x3c, 0x00, 0x00]; // -0.0, 1.0, 0.0
    let f64s: Vec<u8> = [-0.0f64, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let mut external = cat(&[f_int(1, 10), f_int(1, 10), f_int(2, FLOAT), f_str(8, "ext"), f_int(14, 1)]);
    external.extend(f_bytes(13, &cat(&[f_str(1, "location"), f_str(2, "weights.bin")])));
    let g = G {
        nodes: vec![node("Identity", &["x"], &["y"], &[])],
        inits: vec![
            tensor_raw("f16", 10, &[3], &f16),
            tensor_raw("f64", 11, &[2], &f64s),
            tensor_ints("i64", INT64, 7, &[3], &[0, 5, -3]),
            tensor_ints("i32", 6, 5, &[2], &[-1, 0]),
            tensor_raw("u8", 2, &[4], &[0, 255, 0, 1]),
            tensor_raw("bool", 9, &[2], &[1, 0]),
            tensor_raw("int4", 22, &[3], &[0x10, 0x00]),             // 0, 1, 0
            tensor_raw("bf16", 16, &[2], &[0x00, 0x80, 0x80, 0x3f]), // -0.0, 1.0
            tensor_raw("e4m3fnuz", 18, &[2], &[0x80, 0x00]),         // NaN, 0
            tensor_ints("f16typed", 10, 5, &[2], &[0x8000, 0x3c00]),
            external,
        ],
        inputs: vec![value_info("x", FLOAT, &[P("N"), V(4)])],
        outputs: vec![value_info("y", FLOAT, &[P("N"), V(4)])],
        value_info: vec![],
    };
    let s = stats(&g, None);
    assert_eq!(s.parameters, 3 + 2 + 3 + 2 + 4 + 2 + 3 + 2 + 2 + 2 + 100);
    assert_eq!(s.nonzero_parameters, 1 + 1 + 2 + 1 + 2 + 1 + 1 + 1 + 1 + 1 + 100);
    assert_eq!(s.parameter_bytes, 6 + 16 + 24 + 8 + 4 + 2 + 2 + 4 + 2 + 4 + 400);
    assert_eq!(s.assumptions, vec!["external data not read (1 initializer, 100 elements): counted as nonzero".to_string()]);
}

#[test]
fn sparse_initializers_count_dims_and_stored_values() {
    let values = tensor_f32("S", &[3], &[1.0, 0.0, 2.0]);
    let indices = tensor_ints("", INT64, 7, &[3], &[0, 5, 9]);
    let sparse = cat(&[f_bytes(1, &values), f_bytes(2, &indices), packed_varints(3, &[2, 5])]);
    let mut bytes = model(&tabular_matmul());
    // Splice the sparse initializer into the graph: rebuild with an extra field 15.
    let mut g = graph(&tabular_matmul());
    g.extend(f_bytes(15, &sparse));
    bytes.clear();
    bytes.extend(cat(&[f_int(1, 8), f_bytes(7, &g)]));
    let s = graph_stats(&bytes, None).unwrap();
    assert_eq!(s.parameters, 15 + 10);
    assert_eq!(s.nonzero_parameters, 10 + 2);
    assert_eq!(s.parameter_bytes, 60 + 12 + 24);
}
