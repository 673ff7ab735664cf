//! The machine's roofs, measured through ONNX Runtime itself (see [`super::micro_graphs`]): peak
//! fp32 GEMM FLOP/s, peak int8 GEMM ops/s and memory bandwidth, each the best of several timed
//! runs (a peak is what the machine can reach, so the fastest run, not the typical one).
//!
//! They take about a second, so they are measured once per machine and cached: the cache key is the
//! CPU (model name, kernel-selecting features, kernel class), the ONNX Runtime version, the device,
//! the intra-op threads and the method's version. The file lives in fidelity's cache directory
//! (`$FIDELITY_CACHE_DIR`, `$XDG_CACHE_HOME/fidelity` or `~/.cache/fidelity`), under `peaks/`; the
//! report names it, and deleting it measures again.

use super::micro_graphs::{self, MicroGraph};
use crate::machine::MachineInfo;
use crate::model::micro::{timed_runs, MicroInput};
use crate::model::{Device, Runtime};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::PathBuf;

/// Largest square GEMM: 2·1024³ ≈ 2.1 G operations a run, large enough to reach the kernels' peak.
pub const GEMM_SIZE: usize = 1024;
/// The GEMMs start at this size and double while one run takes under [`PROBE_SECONDS`], up to
/// [`GEMM_SIZE`]: every real CPU reaches 1024 (a run of a few milliseconds to a few hundred), while
/// an emulator (qemu) or a very slow core stops early and keeps the measurement to seconds.
const FIRST_GEMM_SIZE: usize = 128;
const PROBE_SECONDS: f64 = 0.03;
/// Bandwidth vector: 32 Mi floats, 128 MiB read and 128 MiB written a run, beyond any cache.
pub const BANDWIDTH_ELEMENTS: usize = 32 << 20;
/// Bumped whenever the method changes, so older cached figures are not reused.
const METHOD_VERSION: u32 = 2;
const WARMUP: usize = 1;
const MIN_RUNS: usize = 3;
const MAX_RUNS: usize = 50;
const SECONDS_PER_PEAK: f64 = 0.3;

/// The machine's roofs, with how they were measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MachinePeaks {
    /// Peak fp32 GEMM throughput, FLOP/s (a multiply-add counts 2).
    pub fp32_flops_per_second: f64,
    /// Peak int8 GEMM throughput (MatMulInteger, uint8 × int8 → int32), operations per second.
    pub int8_ops_per_second: f64,
    /// Memory bandwidth, bytes per second (bytes read plus bytes written, as STREAM counts them).
    pub memory_bytes_per_second: f64,
    pub method: PeakMethod,
    /// Where the figures are cached, when a cache directory exists.
    pub cache_file: Option<PathBuf>,
    /// Timing field: true when this run read the figures from the cache instead of measuring them.
    pub from_cache: bool,
    /// The CPU's nominal fp32 peak (cores × clock × FLOPs per cycle), which the measured GEMM peak
    /// should not exceed; absent where the clock or the vector width is unknown.
    #[serde(default)]
    pub nominal: Option<super::nominal::NominalPeak>,
}

/// How the peaks were measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PeakMethod {
    pub description: String,
    /// The fp32 GEMM's size n (n × n times n × n).
    pub gemm_size: usize,
    /// The int8 GEMM's size.
    pub int8_gemm_size: usize,
    pub bandwidth_bytes_per_run: f64,
    /// Timed runs of the fp32 GEMM, the int8 GEMM and the bandwidth graph.
    pub runs: [usize; 3],
    pub device: String,
    pub onnxruntime_version: String,
    /// Intra-op threads (`None`: ONNX Runtime's default, every core).
    pub threads: Option<usize>,
    /// The machine the cache entry belongs to.
    pub cache_key: String,
}

impl MachinePeaks {
    /// FLOP per byte where the fp32 roof meets the bandwidth roof.
    pub fn fp32_ridge(&self) -> f64 {
        self.fp32_flops_per_second / self.memory_bytes_per_second
    }
}

const DESCRIPTION: &str = "through ONNX Runtime on the evaluation device, default session settings, the evaluation's thread pool: fp32 MatMul of two n x n matrices (the second a weight), int8 MatMulInteger (uint8 x int8, weights in [-64, 63]), n doubled from 128 to 1024 while a run takes under 30 ms, and Add of a scalar to 32 Mi floats (bytes read + written); each the fastest of its timed runs after one warm-up";

fn cache_key(machine: &MachineInfo, runtime: &Runtime, device: Device) -> String {
    format!(
        "{} | {} | {} | onnxruntime {} | {device} | threads {} | method {METHOD_VERSION}",
        machine.cpu.model_name,
        machine.cpu.features.join(" "),
        machine.kernels.summary(),
        runtime.version,
        runtime.threads.map_or("default".to_string(), |t| t.to_string())
    )
}

fn cache_file(key: &str) -> Option<PathBuf> {
    let digest = Sha256::digest(key.as_bytes());
    let name: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    Some(crate::model::runtime_library::cache_dir()?.join("peaks").join(format!("{name}.json")))
}

/// Where this machine's figures are cached (whether or not they are there yet).
pub fn cached_file(runtime: &Runtime, device: Device, machine: &MachineInfo) -> Option<PathBuf> {
    cache_file(&cache_key(machine, runtime, device))
}

/// The cached figures for this machine, or a fresh measurement (written to the cache; a cache that
/// cannot be written costs the next run another measurement, nothing else). Only the CPU provider
/// is measured so far: on a GPU the input copy would be timed with the kernel.
pub fn cached_or_measured(runtime: &Runtime, device: Device, machine: &MachineInfo) -> Result<MachinePeaks, String> {
    if device != Device::Cpu {
        return Err(format!("machine peaks are measured on the CPU provider only; {device} is not measured yet"));
    }
    let key = cache_key(machine, runtime, device);
    let file = cache_file(&key);
    let nominal = || super::nominal::detect(machine, runtime.threads);
    let read = || file.as_ref().and_then(|f| std::fs::read(f).ok()).and_then(|b| serde_json::from_slice::<MachinePeaks>(&b).ok()).filter(|c| c.method.cache_key == key);
    let cached = |c: MachinePeaks| MachinePeaks { from_cache: true, cache_file: file.clone(), nominal: nominal(), ..c };
    if let Some(c) = read() {
        return Ok(cached(c));
    }
    // Concurrent first runs on one machine wait for one measurement: figures measured while
    // another measurement runs beside them would be too low, and cached for good. A lock that
    // cannot be made costs only the wait.
    let _guard = match &file {
        Some(f) => match crate::model::cache_lock::acquire(&f.with_extension("lock"), || read().is_some(), std::time::Duration::from_secs(300)) {
            Ok(guard) => guard,
            Err(_) => None,
        },
        None => None,
    };
    // Whoever held the lock has measured by now.
    if let Some(c) = read() {
        return Ok(cached(c));
    }
    let mut peaks = measure(runtime, device, GEMM_SIZE, BANDWIDTH_ELEMENTS, key)?;
    peaks.nominal = nominal();
    if let Some(f) = &file {
        if write_atomically(f, &peaks).is_ok() {
            peaks.cache_file = file;
        }
    }
    Ok(peaks)
}

fn write_atomically(file: &std::path::Path, peaks: &MachinePeaks) -> std::io::Result<()> {
    let dir = file.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".peaks-{}.tmp", std::process::id()));
    std::fs::write(&tmp, serde_json::to_vec_pretty(&MachinePeaks { cache_file: Some(file.to_path_buf()), ..peaks.clone() })?)?;
    std::fs::rename(tmp, file)
}

/// The GEMM size for `graph`: doubled from [`FIRST_GEMM_SIZE`] while one run takes under
/// [`PROBE_SECONDS`], up to `largest`.
fn gemm_size(runtime: &Runtime, device: Device, largest: usize, graph: fn(usize) -> MicroGraph, kind: MicroInput, what: &str) -> Result<usize, String> {
    let mut n = FIRST_GEMM_SIZE.min(largest);
    while n < largest {
        let g = graph(n);
        let seconds = timed_runs(runtime, device, &g.bytes, (g.input, kind, &g.shape), 0, (1, 1), 0.0)
            .map_err(|e| format!("the {what} micro-benchmark failed in ONNX Runtime: {e}"))?;
        if seconds.first().is_some_and(|&s| s >= PROBE_SECONDS) {
            break;
        }
        n *= 2;
    }
    Ok(n.min(largest))
}

/// Measures the three peaks with GEMMs of at most `largest_gemm` and a vector of `elements` floats.
pub fn measure(runtime: &Runtime, device: Device, largest_gemm: usize, elements: usize, cache_key: String) -> Result<MachinePeaks, String> {
    let best = |g: MicroGraph, kind: MicroInput, what: &str| -> Result<(f64, usize), String> {
        let seconds = timed_runs(runtime, device, &g.bytes, (g.input, kind, &g.shape), WARMUP, (MIN_RUNS, MAX_RUNS), SECONDS_PER_PEAK)
            .map_err(|e| format!("the {what} micro-benchmark failed in ONNX Runtime: {e}"))?;
        let fastest = seconds.iter().copied().fold(f64::INFINITY, f64::min).max(1e-9);
        Ok((g.work_per_run / fastest, seconds.len()))
    };
    let gemm_size = self::gemm_size(runtime, device, largest_gemm, micro_graphs::fp32_gemm, MicroInput::Float, "fp32 GEMM")?;
    let (fp32, fp32_runs) = best(micro_graphs::fp32_gemm(gemm_size), MicroInput::Float, "fp32 GEMM")?;
    let int8_gemm_size = self::gemm_size(runtime, device, largest_gemm, micro_graphs::int8_gemm, MicroInput::Uint8, "int8 GEMM")?;
    let (int8, int8_runs) = best(micro_graphs::int8_gemm(int8_gemm_size), MicroInput::Uint8, "int8 GEMM")?;
    let bandwidth_graph = micro_graphs::bandwidth(elements);
    let bandwidth_bytes_per_run = bandwidth_graph.work_per_run;
    let (bandwidth, bandwidth_runs) = best(bandwidth_graph, MicroInput::Float, "memory bandwidth")?;
    Ok(MachinePeaks {
        fp32_flops_per_second: fp32,
        int8_ops_per_second: int8,
        memory_bytes_per_second: bandwidth,
        method: PeakMethod {
            description: DESCRIPTION.to_string(),
            gemm_size,
            int8_gemm_size,
            bandwidth_bytes_per_run,
            runs: [fp32_runs, int8_runs, bandwidth_runs],
            device: device.to_string(),
            onnxruntime_version: runtime.version.clone(),
            threads: runtime.threads,
            cache_key,
        },
        cache_file: None,
        from_cache: false,
        nominal: None,
    })
}
