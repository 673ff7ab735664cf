//! NVIDIA GPU energy through NVML (`libnvidia-ml.so.1`, `nvml.dll`), loaded at run time: no CUDA at
//! build time, and a machine without the driver gets a stated reason. The counter is
//! `nvmlDeviceGetTotalEnergyConsumption`: millijoules since the driver loaded (Volta and newer).
//!
//! NVML numbers GPUs in PCI order while CUDA may reorder them (`CUDA_DEVICE_ORDER`,
//! `CUDA_VISIBLE_DEVICES`): the device named in the report is the one read.

use super::EnergyMeter;
use std::ffi::{c_char, c_int, c_uint, c_ulonglong, c_void, CStr};

type Device = *mut c_void;
type InitFn = unsafe extern "C" fn() -> c_int;
type HandleFn = unsafe extern "C" fn(c_uint, *mut Device) -> c_int;
type EnergyFn = unsafe extern "C" fn(Device, *mut c_ulonglong) -> c_int;
type NameFn = unsafe extern "C" fn(Device, *mut c_char, c_uint) -> c_int;
type ErrorStringFn = unsafe extern "C" fn(c_int) -> *const c_char;

const LIBRARY: &str = if cfg!(windows) { "nvml.dll" } else { "libnvidia-ml.so.1" };

/// One GPU's energy counter.
pub struct Nvml {
    // The library stays loaded while the meter lives; `energy` points into it.
    _library: libloading::Library,
    energy: EnergyFn,
    device: Device,
    name: String,
    first_mj: Option<u64>,
}

impl Nvml {
    pub fn domain(&self) -> String {
        self.name.clone()
    }

    fn read_mj(&self) -> Option<u64> {
        let mut mj: c_ulonglong = 0;
        // SAFETY: `device` came from nvmlDeviceGetHandleByIndex of this loaded library.
        let status = unsafe { (self.energy)(self.device, &mut mj) };
        (status == 0).then_some(mj)
    }
}

impl EnergyMeter for Nvml {
    fn joules(&mut self) -> Option<f64> {
        let now = self.read_mj()?;
        let first = *self.first_mj.get_or_insert(now);
        Some(now.saturating_sub(first) as f64 * 1e-3)
    }
}

/// Loads NVML and opens GPU `index`, or says why not.
pub fn open(index: i32) -> Result<Nvml, String> {
    // SAFETY: loading NVML runs its initialisers only; every symbol is used with its C signature.
    unsafe {
        let library = libloading::Library::new(LIBRARY).map_err(|e| format!("{LIBRARY} cannot be loaded ({e}): no NVIDIA driver on this machine"))?;
        let symbol = |name: &[u8]| format!("{LIBRARY} lacks {}", String::from_utf8_lossy(name));
        let init: InitFn = *library.get::<InitFn>(b"nvmlInit_v2").map_err(|_| symbol(b"nvmlInit_v2"))?;
        let handle: HandleFn = *library.get::<HandleFn>(b"nvmlDeviceGetHandleByIndex_v2").map_err(|_| symbol(b"nvmlDeviceGetHandleByIndex_v2"))?;
        let energy: EnergyFn = *library.get::<EnergyFn>(b"nvmlDeviceGetTotalEnergyConsumption").map_err(|_| symbol(b"nvmlDeviceGetTotalEnergyConsumption"))?;
        let name_of: Option<NameFn> = library.get::<NameFn>(b"nvmlDeviceGetName").ok().map(|s| *s);
        let error_string: Option<ErrorStringFn> = library.get::<ErrorStringFn>(b"nvmlErrorString").ok().map(|s| *s);
        let explain = |status: c_int| match error_string {
            Some(f) => {
                let p = f(status);
                if p.is_null() { format!("status {status}") } else { CStr::from_ptr(p).to_string_lossy().into_owned() }
            }
            None => format!("status {status}"),
        };
        let status = init();
        if status != 0 {
            return Err(format!("nvmlInit failed: {}", explain(status)));
        }
        let index = c_uint::try_from(index).map_err(|_| format!("GPU index {index} is negative"))?;
        let mut device: Device = std::ptr::null_mut();
        let status = handle(index, &mut device);
        if status != 0 {
            return Err(format!("NVML has no GPU {index}: {}", explain(status)));
        }
        let mut buffer = [0 as c_char; 96];
        let name = match name_of {
            Some(f) if f(device, buffer.as_mut_ptr(), buffer.len() as c_uint) == 0 => CStr::from_ptr(buffer.as_ptr()).to_string_lossy().into_owned(),
            _ => "GPU".to_string(),
        };
        let meter = Nvml { _library: library, energy, device, name: format!("gpu {index} ({name})"), first_mj: None };
        match meter.read_mj() {
            Some(_) => Ok(meter),
            None => Err(format!("GPU {index} has no total-energy counter (NVML gives it on Volta and newer GPUs)")),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_machine_without_the_driver_gets_a_reason() {
        // On a GPU host this opens the counter; elsewhere it must explain, never panic.
        match super::open(0) {
            Ok(m) => assert!(m.domain().starts_with("gpu 0")),
            Err(why) => assert!(why.contains("NVML") || why.contains("nvidia") || why.contains("GPU"), "{why}"),
        }
    }
}
