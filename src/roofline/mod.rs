//! The roofline (Williams, Waterman and Patterson 2009): is a model, at a batch size, held back by
//! the machine's arithmetic or by its memory? Two measured roofs ([`peaks`]), and per model and
//! batch size one point: its arithmetic intensity (FLOPs per byte moved, from the graph: see
//! `crate::onnx::traffic`) and the FLOP/s it achieved (FLOPs per example × measured examples per
//! second).
//!
//! - attainable FLOP/s at intensity I = min(compute peak, I × bandwidth);
//! - the compute peak is the int8 GEMM peak for a model whose FLOPs are mostly in integer kernels,
//!   else the fp32 GEMM peak;
//! - the verdict is memory-bound when I is below the ridge point (compute peak / bandwidth), else
//!   compute-bound; the share of the roof is achieved / attainable.
//!
//! A small share says the model is far from either limit: overheads (operator dispatch, small
//! kernels, threads waking) dominate, which is what batch size 1 usually shows.

pub mod micro_graphs;
pub mod nominal;
pub mod peaks;

pub use peaks::MachinePeaks;

use crate::onnx::GraphStats;
use crate::speed::Throughput;
use serde::Serialize;

/// Which compute roof a model is judged by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Roof {
    Fp32,
    Int8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    Memory,
    Compute,
}

impl Bound {
    pub fn label(self) -> &'static str {
        match self {
            Self::Memory => "memory-bound",
            Self::Compute => "compute-bound",
        }
    }
}

/// One model at one batch size.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct RooflinePoint {
    pub batch_size: usize,
    /// Bytes moved per example at this batch size (weights shared by the batch).
    pub bytes_per_example: f64,
    /// FLOPs per byte moved.
    pub arithmetic_intensity: f64,
    /// FLOPs per example × median examples per second.
    pub achieved_flops_per_second: f64,
    /// min(compute peak, intensity × bandwidth).
    pub attainable_flops_per_second: f64,
    /// achieved / attainable.
    pub share_of_roof: f64,
    pub bound: Bound,
}

/// A model's place under the roofs.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Roofline {
    pub roof: Roof,
    /// FLOP/s of the compute roof it is judged by.
    pub compute_peak: f64,
    /// Intensity where that roof meets the bandwidth roof, FLOPs per byte.
    pub ridge_intensity: f64,
    pub points: Vec<RooflinePoint>,
}

/// The model's roofline points, one per measured batch size; `None` when its FLOPs are unknown
/// (0: e.g. a tree ensemble, which the cost model does not count) or nothing was measured.
pub fn roofline(stats: &GraphStats, throughput: &[Throughput], peaks: &MachinePeaks) -> Option<Roofline> {
    let flops = stats.flops_per_example;
    if !(flops > 0.0) || throughput.is_empty() || !(peaks.memory_bytes_per_second > 0.0) {
        return None;
    }
    let roof = if stats.integer_flops_per_example > flops / 2.0 { Roof::Int8 } else { Roof::Fp32 };
    let compute_peak = match roof {
        Roof::Fp32 => peaks.fp32_flops_per_second,
        Roof::Int8 => peaks.int8_ops_per_second,
    };
    let bandwidth = peaks.memory_bytes_per_second;
    let ridge_intensity = compute_peak / bandwidth;
    let points = throughput
        .iter()
        .filter(|t| t.batch_size > 0)
        .map(|t| {
            let bytes_per_example = stats.traffic.bytes_per_batch(t.batch_size) / t.batch_size as f64;
            let arithmetic_intensity = flops / bytes_per_example.max(f64::MIN_POSITIVE);
            let achieved = flops * t.examples_per_second.median;
            let attainable = compute_peak.min(arithmetic_intensity * bandwidth);
            RooflinePoint {
                batch_size: t.batch_size,
                bytes_per_example,
                arithmetic_intensity,
                achieved_flops_per_second: achieved,
                attainable_flops_per_second: attainable,
                share_of_roof: achieved / attainable,
                bound: if arithmetic_intensity < ridge_intensity { Bound::Memory } else { Bound::Compute },
            }
        })
        .collect();
    Some(Roofline { roof, compute_peak, ridge_intensity, points })
}

#[cfg(test)]
mod tests;
