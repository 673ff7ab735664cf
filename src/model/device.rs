//! Where a model runs: the CPU, or an NVIDIA GPU through ONNX Runtime's CUDA or TensorRT execution
//! provider.
//!
//! ONNX Runtime silently falls back to the CPU when a requested provider cannot load. fidelity asks
//! for the provider with `error_on_failure`, so a missing provider is an error carrying ONNX
//! Runtime's own message (a silent fallback would make every speed figure lie); `--allow-fallback`
//! opts into the CPU, and the report then records the provider actually used and why.

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Device {
    #[default]
    Cpu,
    Cuda(i32),
    TensorRt(i32),
}

impl Device {
    /// ONNX Runtime's name for the provider.
    pub fn provider(self) -> &'static str {
        match self {
            Device::Cpu => "CPUExecutionProvider",
            Device::Cuda(_) => "CUDAExecutionProvider",
            Device::TensorRt(_) => "TensorrtExecutionProvider",
        }
    }
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(id) => write!(f, "cuda:{id}"),
            Device::TensorRt(id) => write!(f, "tensorrt:{id}"),
        }
    }
}

impl FromStr for Device {
    type Err = String;

    /// `cpu`, `cuda`, `cuda:N`, `tensorrt`, `tensorrt:N`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, id) = match s.trim().split_once(':') {
            Some((k, n)) => (k, n.parse::<i32>().ok().filter(|n| *n >= 0).ok_or_else(|| format!("device '{s}': '{n}' is not a GPU index"))?),
            None => (s.trim(), 0),
        };
        match kind.to_ascii_lowercase().as_str() {
            "cpu" if !s.contains(':') => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(id)),
            "tensorrt" | "trt" => Ok(Device::TensorRt(id)),
            _ => Err(format!("unknown device '{s}': use cpu, cuda[:N] or tensorrt[:N]")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_devices() {
        assert_eq!("cpu".parse(), Ok(Device::Cpu));
        assert_eq!("cuda".parse(), Ok(Device::Cuda(0)));
        assert_eq!("cuda:2".parse(), Ok(Device::Cuda(2)));
        assert_eq!("TensorRT:1".parse(), Ok(Device::TensorRt(1)));
        assert_eq!(Device::Cuda(3).to_string(), "cuda:3");
        assert!("tpu".parse::<Device>().unwrap_err().contains("unknown device"));
        assert!("cuda:x".parse::<Device>().unwrap_err().contains("not a GPU index"));
    }
}
