//! (c) Unknown fields, malformed, truncated and crafted input: errors naming the problem, never panics.

use super::*;
use crate::stats::rng::Rng;

#[test]
fn unknown_fields_of_every_wire_type_are_skipped() {
    let junk = || {
        let mut out = f_int(99, 12345);
        key(98, 1, &mut out);
        out.extend_from_slice(&7u64.to_le_bytes());
        out.extend(f_bytes(97, b"\x08\x01whatever"));
        key(96, 5, &mut out);
        out.extend_from_slice(&3u32.to_le_bytes());
        out
    };
    let base = tabular_matmul();
    let g = G {
        nodes: base.nodes.iter().map(|n| cat(&[junk(), n.clone(), junk()])).collect(),
        inits: base.inits.iter().map(|t| cat(&[junk(), t.clone(), junk()])).collect(),
        inputs: base.inputs.iter().map(|v| cat(&[v.clone(), junk()])).collect(),
        outputs: base.outputs.iter().map(|v| cat(&[junk(), v.clone()])).collect(),
        value_info: vec![],
    };
    let mut graph_bytes = graph(&g);
    graph_bytes.extend(junk());
    let bytes = cat(&[junk(), f_int(1, 8), f_bytes(7, &graph_bytes), junk()]);
    assert_eq!(graph_stats(&bytes, None).unwrap(), stats(&base, None));
}

#[test]
fn malformed_models_are_errors_naming_the_problem() {
    let err = |bytes: &[u8]| graph_stats(bytes, None).unwrap_err();
    assert!(err(b"").contains("empty"));
    // Wire-level faults are prost's messages, with the likely cause added.
    let e = err(&[0x0b, 0x00]);
    assert!(e.contains("ModelProto.ir_version: invalid wire type") && e.contains("not an ONNX file, or corrupted"), "{e}");
    let long_varint = [0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    assert!(err(&long_varint).contains("invalid varint"), "{}", err(&long_varint));
    let e = err(&[0x08, 0x80]);
    assert!(e.contains("ModelProto.ir_version") && e.contains("file cut short or corrupted?"), "{e}");
    assert!(err(&f_int(1, 8)).contains("no graph"));
    let e = err(&[0x3a, 0x05, 0x01]);
    assert!(e.contains("ModelProto.graph") && e.contains("file cut short or corrupted?"), "{e}");

    let mut g = tabular_matmul();
    g.inits[0] = tensor_raw("W", FLOAT, &[4, 3], &[0u8; 40]);
    let e = err(&model(&g));
    assert!(e.contains("'W'") && e.contains("raw_data holds 40 bytes") && e.contains("need 48"), "{e}");

    g.inits[0] = tensor_float_data("W", &[4, 3], &[1.0; 5]);
    let e = err(&model(&g));
    assert!(e.contains("float_data holds 5 values"), "{e}");

    g.inits[0] = tensor_f32("W", &[-4, 3], &[1.0; 12]);
    assert!(err(&model(&g)).contains("negative dimension"));

    g.inits[0] = cat(&[f_int(1, 4), f_int(1, 3), f_int(2, FLOAT), f_str(8, "W")]);
    assert!(err(&model(&g)).contains("no data"));

    let mut no_outputs = tabular_matmul();
    no_outputs.outputs.clear();
    assert!(err(&model(&no_outputs)).contains("no outputs"));

    for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert!(graph_stats(&model(&tabular_matmul()), Some(bad)).is_err());
    }
}

#[test]
fn crafted_graphs_cannot_blow_up_shapes() {
    // Gather(x, x) doubles the rank at every step: 40 steps would be 2^40 dimensions.
    let mut nodes = Vec::new();
    let mut prev = "x".to_string();
    for i in 0..40 {
        let next = format!("g{i}");
        nodes.push(node("Gather", &[&prev, &prev], &[&next], &[]));
        prev = next;
    }
    nodes.push(node("MatMul", &[&prev, "W"], &["y"], &[]));
    let g = G {
        nodes,
        inits: vec![tensor_f32("W", &[2, 2], &[1.0; 4])],
        inputs: vec![value_info("x", INT64, &[P("N"), V(2)])],
        outputs: vec![value_info("y", FLOAT, &[P("N"), V(2)])],
        value_info: vec![],
    };
    let s = stats(&g, None);
    assert_eq!(s.flops_per_example, 8.0, "unknown shape: the fallback of one row");
    // Absurd dims are errors, not overflows.
    let mut big = tabular_matmul();
    big.inits.push(cat(&[f_int(1, i64::MAX), f_int(1, i64::MAX), f_int(2, FLOAT), f_str(8, "huge"), f_int(14, 1)]));
    assert!(graph_stats(&model(&big), None).unwrap_err().contains("more than 2^64"));
}

#[test]
fn every_prefix_of_a_fixture_model_is_an_error_or_the_same_answer() {
    for rel in ["adult/int8.onnx", "adult/teacher.onnx", "errors/two_class.onnx"] {
        let bytes = fixture(rel);
        let full = graph_stats(&bytes, Some(24.0)).unwrap();
        let end = field_range(&bytes, 7).end;
        for n in 0..bytes.len() {
            match graph_stats(&bytes[..n], Some(24.0)) {
                Err(e) => assert!(!e.is_empty()),
                Ok(s) => {
                    assert!(n >= end, "{rel}: prefix of {n} bytes (graph ends at {end}) parsed");
                    assert_eq!(s, full);
                }
            }
        }
    }
}

#[test]
fn truncated_graph_contents_never_panic() {
    // Cut the graph message itself at every length and re-wrap it with a correct length, so
    // the cut lands inside nodes, tensors and shapes rather than at the top level.
    let bytes = fixture("adult/int8.onnx");
    let graph_bytes = &bytes[field_range(&bytes, 7)];
    let mut errors = 0;
    for n in 0..graph_bytes.len() {
        let m = cat(&[f_int(1, 8), f_bytes(7, &graph_bytes[..n])]);
        if graph_stats(&m, None).is_err() {
            errors += 1;
        }
    }
    assert!(errors > graph_bytes.len() / 2, "{errors} errors of {}", graph_bytes.len());
}

#[test]
fn random_bytes_and_corrupted_models_never_panic() {
    let mut rng = Rng::new(20240517);
    for _ in 0..5000 {
        let len = rng.below(400) as usize;
        let bytes: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        assert!(graph_stats(&bytes, Some(24.0)).is_err(), "random bytes parsed: {bytes:?}");
    }
    // Random edits of real models (overwrite, insert, delete a byte): any answer but a panic.
    // GRAPH_STATS_FUZZ_ROUNDS raises the count for a longer local run.
    let rounds: u64 = std::env::var("GRAPH_STATS_FUZZ_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    for rel in ["adult/int8.onnx", "adult/pruned.onnx", "errors/nan_output.onnx", "tweets/distilled.onnx"] {
        let original = fixture(rel);
        for _ in 0..rounds {
            let mut bytes = original.clone();
            for _ in 0..1 + rng.below(4) {
                let at = rng.below(bytes.len() as u64) as usize;
                match rng.below(3) {
                    0 => bytes[at] = rng.next_u64() as u8,
                    1 => bytes.insert(at, rng.next_u64() as u8),
                    _ => {
                        bytes.remove(at);
                    }
                }
            }
            let _ = graph_stats(&bytes, Some(24.0));
        }
    }
}
