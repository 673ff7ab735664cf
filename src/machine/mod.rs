//! The machine the numbers were computed on: the CPU, its features, and which of ONNX Runtime's
//! kernel families (MLAS) those features select. A quantized model does not have one accuracy:
//! its integer GEMMs take different instruction paths on different CPUs, and some of them
//! saturate (see [`kernels`]). Every report carries a [`MachineInfo`].

pub mod cpu;
pub mod kernels;

pub use cpu::CpuInfo;
pub use kernels::KernelClass;

use serde::{Deserialize, Serialize};

/// The CPU and the kernel class it gives ONNX Runtime's CPU provider.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MachineInfo {
    pub cpu: CpuInfo,
    pub kernels: KernelClass,
}

impl MachineInfo {
    /// This machine, as ONNX Runtime sees it.
    pub fn detect() -> Self {
        let cpu = CpuInfo::detect();
        let kernels = KernelClass::from_features(&cpu.arch, &cpu.features);
        Self { cpu, kernels }
    }

    /// One line for headers: "AMD EPYC (x86_64: avx2 avx512f ...); fp32 kernels avx512f, u8s8 avx512vnni (exact)".
    pub fn summary(&self) -> String {
        let features = if self.cpu.features.is_empty() { "none of the kernel-selecting features".to_string() } else { self.cpu.features.join(" ") };
        format!("{} ({}: {features}); {}", self.cpu.model_name, self.cpu.arch, self.kernels.summary())
    }
}

/// Which integer numerics to evaluate quantized models with (`--integer-numerics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum IntegerNumerics {
    /// What this CPU's kernels compute (saturating u8s8 GEMM on AVX2 and AVX-512 without VNNI).
    #[default]
    Cpu,
    /// Every model with `session.x64quantprecision`: exact integer products, as a VNNI, AMX or ARM
    /// CPU computes them (x86-64 only; elsewhere the kernels are exact already).
    Exact,
    /// Both: each student whose int8 weights can saturate gets an exact twin, `NAME-exact`.
    Both,
}
