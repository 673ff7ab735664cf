//! The CPU's nominal fp32 peak, from what it says of itself: cores × clock × FLOPs per cycle from
//! its vector features. It is the yardstick the measured GEMM peak is judged plausible against
//! (a measured peak above it means the FLOP count or the timer is wrong; one far below it means the
//! kernels, the threads or a noisy neighbour hold the machine back).
//!
//! FLOPs per cycle assume two vector FMA units per core, as most server cores since Haswell have
//! (a multiply-add counts 2): AVX-512 16 lanes × 2 × 2 = 64, AVX2 with FMA 8 × 2 × 2 = 32, AVX
//! without FMA 8 × 2 (a multiply and an add port) = 16, SSE 4 × 2 = 8, NEON 4 × 2 × 2 = 16. Cores
//! with one AVX-512 FMA unit reach half; the figure is an upper bound, stated as such.

use serde::{Deserialize, Serialize};

/// The nominal fp32 peak and what it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct NominalPeak {
    /// Cores the evaluation's thread pool may use.
    pub cores: usize,
    /// Clock, GHz.
    pub ghz: f64,
    /// Where the clock came from ("cpufreq max", "model name", "cpu MHz").
    pub clock_source: String,
    /// fp32 FLOPs per cycle per core (multiply-add = 2).
    pub fp32_flops_per_cycle: f64,
    /// The vector feature that gives it ("avx512f", "fma", ...).
    pub vector_feature: String,
    /// cores × ghz × 1e9 × fp32_flops_per_cycle.
    pub fp32_flops_per_second: f64,
}

impl NominalPeak {
    /// "2 cores × 2.60 GHz (cpu MHz) × 64 FLOP/cycle (avx512f, two FMA units)"; without FMA, "a
/// multiply and an add unit".
    pub fn basis(&self) -> String {
        format!(
            "{} core{} × {:.2} GHz ({}) × {} FLOP/cycle ({}, {})",
            self.cores,
            if self.cores == 1 { "" } else { "s" },
            self.ghz,
            self.clock_source,
            self.fp32_flops_per_cycle,
            self.vector_feature,
            if matches!(self.vector_feature.as_str(), "avx" | "sse") { "a multiply and an add unit" } else { "two FMA units" }
        )
    }
}

/// fp32 FLOPs per cycle per core from the kernel-selecting features, and the feature that gives it.
pub fn fp32_flops_per_cycle(arch: &str, features: &[String]) -> Option<(f64, &'static str)> {
    let has = |f: &str| features.iter().any(|x| x == f);
    match arch {
        "x86_64" if has("avx512f") => Some((64.0, "avx512f")),
        "x86_64" if has("fma") => Some((32.0, "fma")),
        "x86_64" if has("avx") => Some((16.0, "avx")),
        "x86_64" => Some((8.0, "sse")),
        "aarch64" if has("neon") => Some((16.0, "neon")),
        _ => None,
    }
}

/// The clock in GHz from `/sys/.../cpuinfo_max_freq` (kHz), else an "@ 2.10GHz" in the model name,
/// else the highest "cpu MHz" line of `/proc/cpuinfo`.
pub fn clock_ghz(cpufreq_max_khz: Option<&str>, model_name: &str, cpuinfo: &str) -> Option<(f64, &'static str)> {
    if let Some(khz) = cpufreq_max_khz.and_then(|s| s.trim().parse::<f64>().ok()).filter(|k| *k > 0.0) {
        return Some((khz / 1e6, "cpufreq max"));
    }
    let from_name = model_name.split('@').nth(1).and_then(|s| s.trim().strip_suffix("GHz")).and_then(|s| s.trim().parse::<f64>().ok());
    if let Some(ghz) = from_name.filter(|g| *g > 0.0) {
        return Some((ghz, "model name"));
    }
    cpuinfo
        .lines()
        .filter(|l| l.starts_with("cpu MHz"))
        .filter_map(|l| l.split(':').nth(1)?.trim().parse::<f64>().ok())
        .fold(None, |best: Option<f64>, mhz| Some(best.map_or(mhz, |b| b.max(mhz))))
        .filter(|m| *m > 0.0)
        .map(|mhz| (mhz / 1e3, "cpu MHz"))
}

/// Physical cores listed in `/proc/cpuinfo` (distinct physical id / core id pairs), when it says.
pub fn physical_cores(cpuinfo: &str) -> Option<usize> {
    let mut cores = std::collections::BTreeSet::new();
    let (mut package, mut core) = (None, None);
    for line in cpuinfo.lines().chain(std::iter::once("")) {
        let value = || line.split(':').nth(1).map(|v| v.trim().to_string());
        if line.starts_with("physical id") {
            package = value();
        } else if line.starts_with("core id") {
            core = value();
        } else if line.trim().is_empty() {
            if let (Some(p), Some(c)) = (package.take(), core.take()) {
                cores.insert((p, c));
            }
        }
    }
    (!cores.is_empty()).then_some(cores.len())
}

/// The nominal peak for `cores` cores, or `None` where the clock or the vector width is unknown.
pub fn nominal(arch: &str, features: &[String], cores: usize, clock: Option<(f64, &str)>) -> Option<NominalPeak> {
    let (ghz, clock_source) = clock?;
    let (per_cycle, feature) = fp32_flops_per_cycle(arch, features)?;
    (cores > 0).then(|| NominalPeak {
        cores,
        ghz,
        clock_source: clock_source.to_string(),
        fp32_flops_per_cycle: per_cycle,
        vector_feature: feature.to_string(),
        fp32_flops_per_second: cores as f64 * ghz * 1e9 * per_cycle,
    })
}

/// This machine's nominal peak for a pool of `threads` intra-op threads (`None`: ONNX Runtime's
/// default, one per physical core), capped by the cores this process may run on.
pub fn detect(machine: &crate::machine::MachineInfo, threads: Option<usize>) -> Option<NominalPeak> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let cpufreq = std::fs::read_to_string("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").ok();
    let available = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pool = threads.unwrap_or_else(|| physical_cores(&cpuinfo).unwrap_or(available));
    let cores = pool.min(physical_cores(&cpuinfo).unwrap_or(available)).min(available).max(1);
    nominal(&machine.cpu.arch, &machine.cpu.features, cores, clock_ghz(cpufreq.as_deref(), &machine.cpu.model_name, &cpuinfo))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn features(f: &[&str]) -> Vec<String> {
        f.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn flops_per_cycle_follow_the_widest_vector_feature() {
        assert_eq!(fp32_flops_per_cycle("x86_64", &features(&["sse4_1", "avx", "fma", "avx2", "avx512f"])), Some((64.0, "avx512f")));
        assert_eq!(fp32_flops_per_cycle("x86_64", &features(&["sse4_1", "avx", "fma", "avx2"])), Some((32.0, "fma")));
        assert_eq!(fp32_flops_per_cycle("x86_64", &features(&["sse4_1", "avx"])), Some((16.0, "avx")));
        assert_eq!(fp32_flops_per_cycle("x86_64", &features(&["sse4_1"])), Some((8.0, "sse")));
        assert_eq!(fp32_flops_per_cycle("aarch64", &features(&["neon", "dotprod"])), Some((16.0, "neon")));
        assert_eq!(fp32_flops_per_cycle("riscv64", &[]), None);
    }

    #[test]
    fn the_clock_comes_from_cpufreq_then_the_model_name_then_cpu_mhz() {
        let cpuinfo = "processor\t: 0\ncpu MHz\t\t: 2599.998\n\nprocessor\t: 1\ncpu MHz\t\t: 3100.5\n";
        assert_eq!(clock_ghz(Some("3500000\n"), "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz", cpuinfo), Some((3.5, "cpufreq max")));
        assert_eq!(clock_ghz(None, "Intel(R) Xeon(R) Gold 6230 CPU @ 2.10GHz", cpuinfo), Some((2.1, "model name")));
        assert_eq!(clock_ghz(Some("garbage"), "Intel(R) Xeon(R) Processor", cpuinfo), Some((3.1005, "cpu MHz")));
        assert_eq!(clock_ghz(None, "AMD EPYC 7763 64-Core Processor", ""), None);
    }

    #[test]
    fn physical_cores_count_distinct_package_and_core_ids() {
        let block = |p: u32, c: u32| format!("processor\t: x\nphysical id\t: {p}\ncore id\t\t: {c}\n\n");
        // Two packages, two cores each, two hyperthreads per core.
        let text: String = [(0, 0), (0, 0), (0, 1), (0, 1), (1, 0), (1, 0), (1, 1), (1, 1)].iter().map(|&(p, c)| block(p, c)).collect();
        assert_eq!(physical_cores(&text), Some(4));
        assert_eq!(physical_cores("processor\t: 0\nBogoMIPS\t: 50.00\n"), None, "no ids (many aarch64 kernels)");
    }

    #[test]
    fn the_nominal_peak_is_the_product_and_names_its_basis() {
        let n = nominal("x86_64", &features(&["avx", "fma", "avx2", "avx512f"]), 2, Some((2.6, "cpu MHz"))).unwrap();
        assert!((n.fp32_flops_per_second - 2.0 * 2.6e9 * 64.0).abs() < 1.0);
        assert_eq!(n.basis(), "2 cores × 2.60 GHz (cpu MHz) × 64 FLOP/cycle (avx512f, two FMA units)");
        let sse = nominal("x86_64", &features(&["sse4_1"]), 1, Some((3.0, "model name"))).unwrap();
        assert_eq!(sse.basis(), "1 core × 3.00 GHz (model name) × 8 FLOP/cycle (sse, a multiply and an add unit)");
        assert_eq!(nominal("x86_64", &[], 2, None), None, "no clock, no figure");
        assert_eq!(nominal("x86_64", &[], 0, Some((2.0, "cpu MHz"))), None);
    }
}
