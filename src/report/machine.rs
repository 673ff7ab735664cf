//! What the machine means for a model's numbers: the note every report carries for a model with
//! integer kernels, and the warning for u8s8 weights on a CPU whose u8s8 GEMM saturates. Pure:
//! from the model's graph facts and the [`MachineInfo`]; every writer renders [`lines`].

use crate::machine::MachineInfo;
use crate::model::ModelInfo;
use serde::Serialize;

/// Marks the part of a text report that describes the machine (the reports/ freshness test
/// compares it only between machines of the same kernel class).
pub const MACHINE_START: &str = "<!-- machine:start -->";
pub const MACHINE_END: &str = "<!-- machine:end -->";

/// How far a model's numbers depend on the CPU they were computed on.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct KernelNote {
    /// The kernel class the numbers hold for.
    pub kernel_class: String,
    pub note: String,
    /// Set when this CPU's u8s8 GEMM can saturate on this model's weights.
    pub warning: Option<String>,
}

/// The note for a model with integer kernels; `None` for a float model.
pub fn kernel_note(info: &ModelInfo, machine: &MachineInfo) -> Option<KernelNote> {
    let kernels = info.integer_kernels.as_ref().filter(|k| k.any())?;
    let class = &machine.kernels;
    let mut note = format!(
        "integer kernels ({}): these numbers hold for kernel class `{}`; a CPU of another class may compute others",
        kernels.ops.join(", "),
        class.class
    );
    if info.exact_integer {
        note.push_str(if class.x64quantprecision_available && class.u8s8_saturates {
            "; run with session.x64quantprecision=1: exact integer products, as a VNNI, AMX or ARM CPU computes them"
        } else if class.x64quantprecision_available {
            "; run with session.x64quantprecision=1; this CPU's u8s8 kernels are exact, so the numbers are the same as without it"
        } else {
            "; session.x64quantprecision has no effect on this architecture, whose integer kernels are exact"
        });
    }
    let warning = (kernels.saturation_prone() && class.u8s8_saturates && !info.exact_integer).then(|| {
        format!(
            "{}: u8s8 integer GEMM with int8 weights outside [-64, 64], and this CPU's u8s8 kernel ({}) adds products in saturating int16: results may differ on VNNI machines (AVX512-VNNI, AVX-VNNI, AMX) and on ARM. Evaluate on the CPU kind you deploy to, or re-quantize with reduce_range=True or as U8U8 (weight_type=QUInt8); --integer-numerics both shows the exact numbers beside these",
            info.name, class.u8s8
        )
    });
    Some(KernelNote { kernel_class: class.class.clone(), note, warning })
}

/// The lines every writer shows, in order: the machine, then one note per model with integer
/// kernels (flagged when it is a warning).
pub fn lines(report: &super::Report) -> Vec<(bool, String)> {
    let mut out = vec![(false, format!("Machine: {}", report.machine.summary()))];
    let models = std::iter::once(&report.teacher).chain(report.students.iter().map(|s| &s.model));
    for m in models {
        if let Some(k) = &m.kernels {
            out.push((false, format!("{}: {}", m.info.name, k.note)));
            if let Some(w) = &k.warning {
                out.push((true, format!("warning: {w}")));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{CpuInfo, KernelClass};
    use crate::onnx::integer_kernels::IntegerKernels;

    fn machine(features: &[&str]) -> MachineInfo {
        let features: Vec<String> = features.iter().map(|f| f.to_string()).collect();
        MachineInfo {
            kernels: KernelClass::from_features("x86_64", &features),
            cpu: CpuInfo { arch: "x86_64".into(), vendor: "AuthenticAMD".into(), model_name: "AMD EPYC".into(), features },
        }
    }

    fn model(prone: usize, exact: bool) -> ModelInfo {
        ModelInfo {
            image_feed: None,
            name: "int8".into(),
            path: "int8.onnx".into(),
            sha256: String::new(),
            bytes: 0,
            external_data: vec![],
            inputs: vec![],
            output: "logits".into(),
            output_element_type: "float32".into(),
            static_shape: Default::default(),
            output_selection: "test".into(),
            output_layout: crate::model::output_choice::OutputLayout::Scores,
            output_producer: None,
            class_labels: None,
            classes: Some(3),
            device: crate::model::Device::Cpu,
            provider: "CPUExecutionProvider".into(),
            fallback: None,
            integer_kernels: Some(IntegerKernels { ops: vec!["MatMulInteger".into()], saturation_prone_weights: prone }),
            exact_integer: exact,
            twin_of: None,
            runtime_settings: Default::default(),
        }
    }

    #[test]
    fn avx2_warns_about_wide_u8s8_weights_and_vnni_does_not() {
        let avx2 = machine(&["avx", "fma", "avx2"]);
        let w = kernel_note(&model(2, false), &avx2).unwrap().warning.unwrap();
        assert!(w.contains("avx2") && w.contains("reduce_range=True") && w.contains("VNNI"), "{w}");
        assert!(kernel_note(&model(0, false), &avx2).unwrap().warning.is_none(), "weights within [-64, 64] cannot saturate");
        assert!(kernel_note(&model(2, true), &avx2).unwrap().warning.is_none(), "the exact run does not saturate");
        let vnni = machine(&["avx", "fma", "avx2", "avx512f", "avx512_core", "avx512_vnni"]);
        let n = kernel_note(&model(2, false), &vnni).unwrap();
        assert!(n.warning.is_none());
        assert!(n.note.contains("x86_64 fp32:avx512f u8s8:avx512vnni"), "{}", n.note);
    }

    #[test]
    fn a_float_model_has_no_note() {
        let mut m = model(0, false);
        m.integer_kernels = Some(IntegerKernels::default());
        assert!(kernel_note(&m, &machine(&["avx2"])).is_none());
    }
}
