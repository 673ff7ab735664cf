//! Roofline points against hand-computed values, and the properties every point keeps.

use super::*;
use crate::onnx::traffic::Traffic;
use crate::speed::Spread;

fn stats(flops: f64, integer: f64, weights: u64, activations: f64) -> GraphStats {
    GraphStats {
        parameters: 0,
        nonzero_parameters: 0,
        parameter_bytes: weights,
        flops_per_example: flops,
        integer_flops_per_example: integer,
        traffic: Traffic { weight_bytes: weights, activation_bytes_per_example: activations, unsized_tensors: 0 },
        op_counts: vec![],
        assumptions: vec![],
    }
}

fn throughput(batch_size: usize, rate: f64) -> Throughput {
    let s = Spread { median: rate, min: rate, max: rate };
    Throughput { batch_size, examples_per_second: s, rounds: 3, examples_per_round: 10, batch_ms: 1e3 * batch_size as f64 / rate, speedup: None, energy: None }
}

fn peaks(fp32: f64, int8: f64, bandwidth: f64) -> MachinePeaks {
    MachinePeaks {
        fp32_flops_per_second: fp32,
        int8_ops_per_second: int8,
        memory_bytes_per_second: bandwidth,
        method: peaks::PeakMethod {
            description: String::new(),
            gemm_size: 0,
            int8_gemm_size: 0,
            bandwidth_bytes_per_run: 0.0,
            runs: [0; 3],
            device: "cpu".into(),
            onnxruntime_version: String::new(),
            threads: None,
            cache_key: String::new(),
        },
        cache_file: None,
        from_cache: false,
        nominal: None,
    }
}

#[test]
fn points_match_hand_computed_values() {
    // 1 MFLOP per example, 1 MB of weights, 1 kB of activations per example; roofs 100 GFLOP/s and
    // 10 GB/s: ridge at 10 FLOP/byte.
    let s = stats(1e6, 0.0, 1_000_000, 1_000.0);
    let r = roofline(&s, &[throughput(1, 1_000.0), throughput(256, 20_000.0)], &peaks(1e11, 4e11, 1e10)).unwrap();
    assert_eq!((r.roof, r.compute_peak, r.ridge_intensity), (Roof::Fp32, 1e11, 10.0));
    let (p1, p256) = (&r.points[0], &r.points[1]);
    // Batch 1: 1,001,000 bytes per example, intensity 0.999 FLOP/byte, memory-bound.
    assert_eq!(p1.bytes_per_example, 1_001_000.0);
    assert!((p1.arithmetic_intensity - 1e6 / 1_001_000.0).abs() < 1e-12);
    assert!((p1.attainable_flops_per_second - 1e10 * 1e6 / 1_001_000.0).abs() < 1e-3);
    assert_eq!(p1.achieved_flops_per_second, 1e9);
    assert!((p1.share_of_roof - 1e9 / (1e10 * 1e6 / 1_001_000.0)).abs() < 1e-12);
    assert_eq!(p1.bound, Bound::Memory);
    // Batch 256: 1e6/256 + 1000 = 4906.25 bytes per example, intensity 203.8, compute-bound.
    assert_eq!(p256.bytes_per_example, 1_000_000.0 / 256.0 + 1_000.0);
    assert_eq!(p256.bound, Bound::Compute);
    assert_eq!(p256.attainable_flops_per_second, 1e11);
    assert_eq!(p256.share_of_roof, 2e10 / 1e11);
}

#[test]
fn integer_models_meet_the_int8_roof_and_uncosted_ones_get_none() {
    let p = peaks(1e11, 4e11, 1e10);
    let int8 = roofline(&stats(1e6, 0.9e6, 1, 1.0), &[throughput(8, 1.0)], &p).unwrap();
    assert_eq!((int8.roof, int8.compute_peak, int8.ridge_intensity), (Roof::Int8, 4e11, 40.0));
    assert!(roofline(&stats(0.0, 0.0, 1, 1.0), &[throughput(8, 1.0)], &p).is_none());
    assert!(roofline(&stats(1e6, 0.0, 1, 1.0), &[], &p).is_none());
}

#[test]
fn every_point_keeps_the_roofline_identities() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for _ in 0..500 {
        let s = stats(1.0 + next() * 1e9, next() * 1e9, (next() * 1e8) as u64, next() * 1e6);
        let p = peaks(1e9 + next() * 1e12, 1e9 + next() * 1e12, 1e8 + next() * 1e11);
        let sizes: Vec<Throughput> = [1, 2, 4, 8, 16, 32, 64, 128, 256].iter().map(|&b| throughput(b, 1.0 + next() * 1e5)).collect();
        let r = roofline(&s, &sizes, &p).unwrap();
        let mut last = 0.0;
        for pt in &r.points {
            assert!(pt.attainable_flops_per_second <= r.compute_peak * (1.0 + 1e-12));
            assert!(pt.attainable_flops_per_second <= pt.arithmetic_intensity * p.memory_bytes_per_second * (1.0 + 1e-12));
            assert!((pt.share_of_roof * pt.attainable_flops_per_second - pt.achieved_flops_per_second).abs() <= 1e-9 * pt.achieved_flops_per_second);
            assert_eq!(pt.bound == Bound::Memory, pt.arithmetic_intensity < r.ridge_intensity);
            // Weights shared by a larger batch never lower the intensity.
            assert!(pt.arithmetic_intensity >= last * (1.0 - 1e-12));
            last = pt.arithmetic_intensity;
        }
    }
}
