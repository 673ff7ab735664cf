//! Which MLAS kernel families ONNX Runtime's CPU provider picks on a CPU, and whether its u8s8
//! integer GEMM can saturate there.
//!
//! Mirrors `MLAS_PLATFORM::MLAS_PLATFORM` in `onnxruntime/core/mlas/lib/platform.cpp` (checked
//! against the 1.31 sources), x86-64 Linux:
//! - fp32 GEMM: `sse` by default, `avx` with AVX, `fma3` with AVX2+FMA, `avx512f` with AVX-512F.
//! - u8s8 GEMM (uint8 activations × int8 weights, what `quantize_dynamic` makes by default):
//!   `sse` (widens to 16 bits: exact), then `avx2` with AVX2 (`vpmaddubsw`: adds two u8·s8
//!   products into a *saturating* int16), `avxvnni` with AVX-VNNI (exact), `avx512core` with
//!   AVX-512 BW/DQ/VL, which replaces the AVX-VNNI kernel (saturating again), `avx512vnni` with
//!   AVX512-VNNI (exact), `amx` with AMX-TILE+INT8 and tile state (exact). Saturation needs a pair
//!   of large products: ONNX Runtime's own test for it is an int8 weight outside [-64, 64]
//!   (`Int8TensorProto2Uint8`, `core/optimizer/qdq_transformer/s8_to_u8.h`).
//! - aarch64: `neon`, `udot` with dotprod, `ummla` with i8mm; none saturates.
//!
//! An exact kernel computes the integer products exactly, so every exact kernel gives the same
//! int32 sums; two saturating kernels need not agree with each other. ONNX Runtime's session
//! option `session.x64quantprecision` (see [`crate::onnx::integer_kernels`]) rewrites int8
//! weights to uint8 where they leave [-64, 64], so the exact u8u8 kernel runs instead.

use serde::{Deserialize, Serialize};

/// The kernel families that make a model's numbers on this CPU.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct KernelClass {
    /// "x86_64 fp32:avx512f u8s8:avx512vnni": equal classes compute equal numbers.
    pub class: String,
    /// fp32 GEMM family: sse, avx, fma3, avx512f, neon, unknown.
    pub fp32: String,
    /// u8s8 integer GEMM family: sse, avx2, avxvnni, avx512core, avx512vnni, amx, neon, udot, ummla, unknown.
    pub u8s8: String,
    /// Whether the u8s8 GEMM can saturate (int16 pair sums): avx2 and avx512core.
    pub u8s8_saturates: bool,
    /// Whether `session.x64quantprecision` can take effect here (x86-64 only: ONNX Runtime
    /// compiles the rewrite out elsewhere).
    pub x64quantprecision_available: bool,
}

impl KernelClass {
    /// The class `features` (as [`super::CpuInfo::features`] lists them) select on `arch`.
    pub fn from_features(arch: &str, features: &[String]) -> Self {
        let has = |f: &str| features.iter().any(|x| x == f);
        let (fp32, u8s8) = match arch {
            "x86_64" => {
                let fp32 = if has("avx512f") {
                    "avx512f"
                } else if has("avx2") {
                    "fma3"
                } else if has("avx") {
                    "avx"
                } else {
                    "sse"
                };
                let u8s8 = if has("amx_tile") && has("amx_int8") {
                    "amx"
                } else if has("avx512_vnni") {
                    "avx512vnni"
                } else if has("avx512_core") {
                    "avx512core"
                } else if has("avx_vnni") {
                    "avxvnni"
                } else if has("avx2") {
                    "avx2"
                } else {
                    "sse"
                };
                (fp32, u8s8)
            }
            "aarch64" => (
                "neon",
                if has("i8mm") {
                    "ummla"
                } else if has("dotprod") {
                    "udot"
                } else {
                    "neon"
                },
            ),
            _ => ("unknown", "unknown"),
        };
        Self {
            class: format!("{arch} fp32:{fp32} u8s8:{u8s8}"),
            fp32: fp32.into(),
            u8s8: u8s8.into(),
            u8s8_saturates: matches!(u8s8, "avx2" | "avx512core"),
            x64quantprecision_available: arch == "x86_64",
        }
    }

    /// "fp32 kernels avx512f, u8s8 kernels avx512vnni (exact)".
    pub fn summary(&self) -> String {
        let exactness = if self.u8s8_saturates { "can saturate" } else { "exact" };
        format!("fp32 kernels {}, u8s8 kernels {} ({exactness})", self.fp32, self.u8s8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(arch: &str, features: &[&str]) -> KernelClass {
        KernelClass::from_features(arch, &features.iter().map(|f| f.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn avx2_without_vnni_saturates() {
        let k = class("x86_64", &["sse4_1", "avx", "fma", "avx2"]);
        assert_eq!((k.fp32.as_str(), k.u8s8.as_str(), k.u8s8_saturates), ("fma3", "avx2", true));
        assert_eq!(k.class, "x86_64 fp32:fma3 u8s8:avx2");
    }

    #[test]
    fn avx512_core_replaces_avx_vnni_and_saturates() {
        let k = class("x86_64", &["avx", "fma", "avx2", "avx512f", "avx512_core", "avx_vnni"]);
        assert_eq!((k.u8s8.as_str(), k.u8s8_saturates), ("avx512core", true));
    }

    #[test]
    fn vnni_and_amx_are_exact() {
        for (features, kernel) in [
            (&["avx2", "avx512f", "avx512_core", "avx512_vnni"][..], "avx512vnni"),
            (&["avx2", "avx_vnni"][..], "avxvnni"),
            (&["avx2", "avx512f", "avx512_core", "avx512_vnni", "amx_tile", "amx_int8"][..], "amx"),
            (&["sse4_1"][..], "sse"),
        ] {
            let k = class("x86_64", features);
            assert_eq!((k.u8s8.as_str(), k.u8s8_saturates), (kernel, false), "{features:?}");
        }
    }

    #[test]
    fn aarch64_never_saturates_and_has_no_x64_option() {
        let k = class("aarch64", &["neon", "dotprod", "i8mm"]);
        assert_eq!((k.u8s8.as_str(), k.u8s8_saturates, k.x64quantprecision_available), ("ummla", false, false));
        assert_eq!(class("aarch64", &["neon", "dotprod"]).u8s8, "udot");
    }
}
