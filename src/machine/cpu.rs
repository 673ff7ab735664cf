//! What the CPU is and which of the features that pick ONNX Runtime's kernels it has.
//!
//! On x86-64 the features are read with CPUID and XGETBV, the same bits MLAS reads
//! (`onnxruntime/core/mlas/lib/platform.cpp`), not from `/proc/cpuinfo`: under an emulator such
//! as `qemu-x86_64 -cpu Haswell`, CPUID is what the emulated CPU reports and what ONNX Runtime
//! acts on, while `/proc/cpuinfo` still describes the host. A feature counts only when the
//! operating system also saves its register state (XCR0), as MLAS requires. On aarch64 the
//! features come from the standard library's run-time detection (the kernel's HWCAP bits).

use serde::{Deserialize, Serialize};

/// The CPU, as far as it decides numerics.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CpuInfo {
    /// `x86_64`, `aarch64`, ...
    pub arch: String,
    /// CPUID vendor ("GenuineIntel", "AuthenticAMD"), or the implementer on aarch64; "unknown" elsewhere.
    pub vendor: String,
    /// The CPU's own name (CPUID brand string, or `/proc/cpuinfo`), "unknown" when it has none.
    pub model_name: String,
    /// The kernel-selecting features present, in a fixed order. x86-64: sse4_1, avx, fma, avx2,
    /// avx512f, avx512_core (BW+DQ+VL), avx512_vnni, avx_vnni, avx_vnni_int8, amx_tile, amx_int8.
    /// aarch64: neon, dotprod, i8mm, sve.
    pub features: Vec<String>,
}

impl CpuInfo {
    pub fn detect() -> Self {
        let arch = std::env::consts::ARCH.to_string();
        let (vendor, model_name, features) = detect_arch();
        Self { arch, vendor, model_name, features }
    }
}

#[cfg(target_arch = "x86_64")]
fn detect_arch() -> (String, String, Vec<String>) {
    use std::arch::x86_64::{__cpuid, __cpuid_count, CpuidResult};
    #[allow(unused_unsafe)]
    let leaf = |l: u32, s: u32| -> CpuidResult { unsafe { __cpuid_count(l, s) } };
    let words = |r: &CpuidResult| [r.ebx, r.edx, r.ecx];
    let bytes = |ws: &[u32]| ws.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>();
    let vendor = String::from_utf8_lossy(&bytes(&words(&leaf(0, 0)))).trim_matches('\0').trim().to_string();
    #[allow(unused_unsafe)]
    let max_extended = unsafe { __cpuid(0x8000_0000) }.eax;
    let model_name = if max_extended >= 0x8000_0004 {
        let parts: Vec<u32> = (0x8000_0002..=0x8000_0004u32)
            .flat_map(|l| {
                let r = leaf(l, 0);
                [r.eax, r.ebx, r.ecx, r.edx]
            })
            .collect();
        String::from_utf8_lossy(&bytes(&parts)).trim_matches('\0').trim().to_string()
    } else {
        String::new()
    };
    let max = leaf(0, 0).eax;
    let c1 = leaf(1, 0);
    let zero = CpuidResult { eax: 0, ebx: 0, ecx: 0, edx: 0 };
    let (c7, c7_1) = if max >= 7 { (leaf(7, 0), leaf(7, 1)) } else { (zero, zero) };
    let osxsave = c1.ecx & (1 << 27) != 0;
    let xcr0 = if osxsave { xgetbv0() } else { 0 };
    let bits = X86Bits { ecx1: c1.ecx, ebx7: c7.ebx, ecx7: c7.ecx, edx7: c7.edx, eax7_1: c7_1.eax, edx7_1: c7_1.edx, xcr0 };
    let name = if model_name.is_empty() { "unknown".to_string() } else { model_name };
    (vendor, name, x86_features(&bits))
}

#[cfg(target_arch = "x86_64")]
fn xgetbv0() -> u64 {
    #[target_feature(enable = "xsave")]
    unsafe fn read() -> u64 {
        std::arch::x86_64::_xgetbv(0)
    }
    // Safe: called only when CPUID says OSXSAVE, so XGETBV exists and the OS enabled it.
    unsafe { read() }
}

/// The CPUID and XCR0 words MLAS looks at.
#[derive(Debug, Clone, Copy, Default)]
pub struct X86Bits {
    pub ecx1: u32,
    pub ebx7: u32,
    pub ecx7: u32,
    pub edx7: u32,
    pub eax7_1: u32,
    pub edx7_1: u32,
    pub xcr0: u64,
}

/// The features, in the order [`CpuInfo::features`] documents, with MLAS's conditions: AVX needs
/// OSXSAVE and XCR0 SSE+AVX state; AVX2 needs FMA too (MLAS takes them together); AVX-512 needs
/// XCR0's opmask/ZMM state; AMX needs XCR0's tile state.
pub fn x86_features(b: &X86Bits) -> Vec<String> {
    let bit = |w: u32, n: u32| w & (1 << n) != 0;
    let os_avx = bit(b.ecx1, 27) && bit(b.ecx1, 28) && b.xcr0 & 0x6 == 0x6;
    let avx2 = os_avx && bit(b.ecx1, 12) && bit(b.ebx7, 5);
    let avx512f = avx2 && bit(b.ebx7, 16) && b.xcr0 & 0xE0 == 0xE0;
    let avx512_core = avx512f && b.ebx7 & 0xC002_0000 == 0xC002_0000;
    let tiles = b.xcr0 & 0x6_0000 == 0x6_0000;
    let flags = [
        ("sse4_1", bit(b.ecx1, 19)),
        ("avx", os_avx),
        ("fma", os_avx && bit(b.ecx1, 12)),
        ("avx2", avx2),
        ("avx512f", avx512f),
        ("avx512_core", avx512_core),
        ("avx512_vnni", avx512_core && bit(b.ecx7, 11)),
        ("avx_vnni", avx2 && bit(b.eax7_1, 4)),
        ("avx_vnni_int8", avx2 && bit(b.edx7_1, 4)),
        ("amx_tile", avx2 && bit(b.edx7, 24) && tiles),
        ("amx_int8", avx2 && bit(b.edx7, 25) && tiles),
    ];
    flags.iter().filter(|(_, on)| *on).map(|(n, _)| n.to_string()).collect()
}

#[cfg(target_arch = "aarch64")]
fn detect_arch() -> (String, String, Vec<String>) {
    let flags = [
        ("neon", std::arch::is_aarch64_feature_detected!("neon")),
        ("dotprod", std::arch::is_aarch64_feature_detected!("dotprod")),
        ("i8mm", std::arch::is_aarch64_feature_detected!("i8mm")),
        ("sve", std::arch::is_aarch64_feature_detected!("sve")),
    ];
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |key: &str| cpuinfo.lines().find_map(|l| l.split_once(':').filter(|(k, _)| k.trim() == key).map(|(_, v)| v.trim().to_string()));
    let vendor = field("CPU implementer").unwrap_or_else(|| "unknown".into());
    let model = field("model name").or_else(|| field("CPU part").map(|p| format!("CPU part {p}"))).unwrap_or_else(|| "unknown".into());
    (vendor, model, flags.iter().filter(|(_, on)| *on).map(|(n, _)| n.to_string()).collect())
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn detect_arch() -> (String, String, Vec<String>) {
    ("unknown".into(), "unknown".into(), Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    const AVX_STATE: u64 = 0x7;
    const AVX512_STATE: u64 = 0xE7;

    fn haswell() -> X86Bits {
        // SSE4.1 (19), FMA (12), OSXSAVE (27), AVX (28); AVX2 (leaf 7 EBX bit 5).
        X86Bits { ecx1: (1 << 19) | (1 << 12) | (1 << 27) | (1 << 28), ebx7: 1 << 5, xcr0: AVX_STATE, ..Default::default() }
    }

    #[test]
    fn haswell_has_avx2_and_no_avx512() {
        assert_eq!(x86_features(&haswell()), ["sse4_1", "avx", "fma", "avx2"]);
    }

    #[test]
    fn avx512_needs_the_os_to_save_its_state() {
        let mut b = haswell();
        b.ebx7 |= (1 << 16) | 0xC002_0000;
        b.ecx7 |= 1 << 11;
        assert_eq!(x86_features(&b), ["sse4_1", "avx", "fma", "avx2"], "XCR0 without ZMM state: no AVX-512");
        b.xcr0 = AVX512_STATE;
        assert_eq!(x86_features(&b), ["sse4_1", "avx", "fma", "avx2", "avx512f", "avx512_core", "avx512_vnni"]);
    }

    #[test]
    fn nehalem_has_only_sse() {
        assert_eq!(x86_features(&X86Bits { ecx1: 1 << 19, ..Default::default() }), ["sse4_1"]);
    }

    #[test]
    fn this_machine_is_described() {
        let cpu = CpuInfo::detect();
        assert_eq!(cpu.arch, std::env::consts::ARCH);
        assert!(!cpu.model_name.is_empty());
    }
}
