//! Energy per example, where the platform can measure it: Intel (and AMD) RAPL through Linux's
//! powercap files ([`rapl`]) and NVIDIA GPUs through NVML, loaded at run time ([`nvml`]). The
//! counters are read around each model's part of every interleaved speed round, so energy comes
//! from the same rounds, batches and repetitions as throughput, and machine noise hits teacher and
//! students alike.
//!
//! Where no counter is readable the report says which and why, and holds no figure: energy is never
//! estimated from time or a TDP.

pub mod nvml;
pub mod rapl;

use crate::model::Device;
use serde::Serialize;

/// A cumulative energy counter.
pub trait EnergyMeter {
    /// Joules since the meter was opened (monotonic: wrap-arounds are undone), or `None` when a
    /// read failed (the round then has no energy figure).
    fn joules(&mut self) -> Option<f64>;
}

/// What measured energy in this run, or why nothing could.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct EnergySource {
    /// The counters read, e.g. "intel-rapl" or "intel-rapl + nvml"; absent when none was readable.
    pub meter: Option<String>,
    /// The domains summed, e.g. "package-0", "dram" (zones and GPUs).
    pub domains: Vec<String>,
    /// Why no energy figure exists (or what was left out), in words.
    pub reason: Option<String>,
}

/// Several meters read as one (the CPU package and the GPU of a GPU run).
struct Sum(Vec<Box<dyn EnergyMeter>>);

impl EnergyMeter for Sum {
    fn joules(&mut self) -> Option<f64> {
        self.0.iter_mut().map(|m| m.joules()).sum()
    }
}

/// The meters this machine offers for a run on `device`: RAPL always; NVML when the device is a GPU.
pub fn open(device: Device) -> (Option<Box<dyn EnergyMeter>>, EnergySource) {
    let rapl = rapl::open(&rapl::root());
    let gpu = match device {
        Device::Cpu => None,
        Device::Cuda(id) | Device::TensorRt(id) => Some(nvml::open(id)),
    };
    let mut meters: Vec<Box<dyn EnergyMeter>> = Vec::new();
    let (mut names, mut domains, mut reasons) = (Vec::new(), Vec::new(), Vec::new());
    match rapl {
        Ok(m) => {
            names.push("intel-rapl");
            domains.extend(m.domains());
            meters.push(Box::new(m));
        }
        Err(why) => reasons.push(format!("RAPL: {why}")),
    }
    match gpu {
        Some(Ok(m)) => {
            names.push("nvml");
            domains.push(m.domain());
            meters.push(Box::new(m));
        }
        Some(Err(why)) => reasons.push(format!("NVML: {why}")),
        None => {}
    }
    let reason = (!reasons.is_empty()).then(|| reasons.join("; "));
    let source = EnergySource { meter: (!names.is_empty()).then(|| names.join(" + ")), domains, reason };
    let meter: Option<Box<dyn EnergyMeter>> = match meters.len() {
        0 => None,
        1 => meters.pop(),
        _ => Some(Box::new(Sum(meters))),
    };
    (meter, source)
}
