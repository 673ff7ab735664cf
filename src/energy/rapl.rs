//! RAPL energy counters through Linux's powercap files: `/sys/class/powercap/intel-rapl:N` (one
//! package each, `name` = `package-N`) and their subzones `intel-rapl:N:M` (`core`, `uncore`,
//! `dram`). fidelity sums the packages and the DRAM zones: core and uncore are parts of their
//! package (adding them would count twice), `psys` covers the whole platform and the `-mmio`
//! copies repeat the package.
//!
//! Each zone's `energy_uj` counts microjoules and wraps to 0 after `max_energy_range_uj`: a reading
//! below the previous one wrapped once (the counters wrap after minutes at full power, and are read
//! at least every round). Since Linux 5.10 `energy_uj` is readable by root only (a power side
//! channel, CVE-2020-8694): unprivileged runs get a stated reason, not a figure.
//!
//! `FIDELITY_POWERCAP_ROOT` points at another powercap directory (a container that mounts the
//! host's sysfs elsewhere; the tests).

use super::EnergyMeter;
use std::path::{Path, PathBuf};

/// The powercap directory: `$FIDELITY_POWERCAP_ROOT`, else `/sys/class/powercap`.
pub fn root() -> PathBuf {
    std::env::var_os("FIDELITY_POWERCAP_ROOT").map_or_else(|| PathBuf::from("/sys/class/powercap"), PathBuf::from)
}

struct Zone {
    name: String,
    counter: PathBuf,
    /// Microjoules at which the counter wraps to 0.
    range: u64,
    last: u64,
    total_uj: f64,
}

/// The packages and DRAM zones of one machine.
pub struct Rapl {
    zones: Vec<Zone>,
}

impl Rapl {
    pub fn domains(&self) -> Vec<String> {
        self.zones.iter().map(|z| z.name.clone()).collect()
    }
}

/// Microjoules counted from `last` to `now` on a counter that wraps at `range`.
pub fn delta_uj(last: u64, now: u64, range: u64) -> u64 {
    if now >= last {
        now - last
    } else {
        range.saturating_sub(last).saturating_add(now)
    }
}

fn read_u64(path: &Path) -> Result<u64, std::io::Error> {
    let text = std::fs::read_to_string(path)?;
    text.trim().parse().map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("{}: {e}", path.display())))
}

impl EnergyMeter for Rapl {
    fn joules(&mut self) -> Option<f64> {
        let mut total = 0.0;
        for z in &mut self.zones {
            let now = read_u64(&z.counter).ok()?;
            z.total_uj += delta_uj(z.last, now, z.range) as f64;
            z.last = now;
            total += z.total_uj;
        }
        Some(total * 1e-6)
    }
}

/// Whether a zone directory name is RAPL's (`intel-rapl:0`, `intel-rapl:0:1`; not `intel-rapl-mmio:0`).
fn is_rapl_zone(dir: &str) -> bool {
    dir.strip_prefix("intel-rapl:").is_some_and(|rest| !rest.is_empty() && rest.split(':').all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
}

/// Opens every package and DRAM zone under `root`, or says why none can be read.
pub fn open(root: &Path) -> Result<Rapl, String> {
    let entries = std::fs::read_dir(root).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("{} does not exist (no powercap driver: not a Linux host, or a virtual machine or container without RAPL)", root.display()),
        _ => format!("cannot list {}: {e}", root.display()),
    })?;
    let mut dirs: Vec<String> = entries.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).filter(|d| is_rapl_zone(d)).collect();
    dirs.sort();
    if dirs.is_empty() {
        return Err(format!("{} has no intel-rapl zones (the intel_rapl_common driver is not loaded, or the hypervisor hides RAPL)", root.display()));
    }
    let mut zones = Vec::new();
    for dir in dirs {
        let zone = root.join(&dir);
        let Ok(name) = std::fs::read_to_string(zone.join("name")) else { continue };
        let name = name.trim().to_string();
        if !(name.starts_with("package") || name == "dram") {
            continue;
        }
        let counter = zone.join("energy_uj");
        let last = read_u64(&counter).map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => format!(
                "{} is readable by root only (Linux restricts RAPL since 5.10, CVE-2020-8694): run as root, or `sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj /sys/class/powercap/intel-rapl:*:*/energy_uj`",
                counter.display()
            ),
            _ => format!("cannot read {}: {e}", counter.display()),
        })?;
        let range = read_u64(&zone.join("max_energy_range_uj")).map_err(|e| format!("cannot read {}: {e}", zone.join("max_energy_range_uj").display()))?;
        zones.push(Zone { name: if name == "dram" { format!("dram ({dir})") } else { name }, counter, range, last, total_uj: 0.0 });
    }
    if zones.is_empty() {
        return Err(format!("{} has intel-rapl zones but no package or dram domain", root.display()));
    }
    Ok(Rapl { zones })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(root: &Path, dir: &str, name: &str, energy: u64, range: u64) {
        let z = root.join(dir);
        std::fs::create_dir_all(&z).unwrap();
        std::fs::write(z.join("name"), format!("{name}\n")).unwrap();
        std::fs::write(z.join("energy_uj"), format!("{energy}\n")).unwrap();
        std::fs::write(z.join("max_energy_range_uj"), format!("{range}\n")).unwrap();
    }

    fn set(root: &Path, dir: &str, energy: u64) {
        std::fs::write(root.join(dir).join("energy_uj"), format!("{energy}\n")).unwrap();
    }

    #[test]
    fn sums_packages_and_dram_and_undoes_wrap_around() {
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        zone(r, "intel-rapl:0", "package-0", 1_000_000, 10_000_000);
        zone(r, "intel-rapl:0:0", "core", 5, 10_000_000);
        zone(r, "intel-rapl:0:1", "dram", 200, 1_000_000);
        zone(r, "intel-rapl:1", "psys", 7, 10_000_000);
        zone(r, "intel-rapl-mmio:0", "package-0", 9, 10_000_000);
        let mut m = open(r).unwrap();
        assert_eq!(m.domains(), vec!["package-0", "dram (intel-rapl:0:1)"]);
        assert_eq!(m.joules(), Some(0.0));
        // The package gains 2.5 J; DRAM wraps: 999,900 µJ to its range, then 300 more.
        set(r, "intel-rapl:0", 3_500_000);
        set(r, "intel-rapl:0:1", 100);
        set(r, "intel-rapl:0:0", 9_999_999);
        let j = m.joules().unwrap();
        assert!((j - (2.5 + (1_000_000 - 200 + 100) as f64 * 1e-6)).abs() < 1e-9, "{j}");
        // A counter that cannot be read gives no figure for that reading.
        std::fs::remove_file(r.join("intel-rapl:0/energy_uj")).unwrap();
        assert_eq!(m.joules(), None);
    }

    #[test]
    fn says_why_when_there_is_nothing_to_read() {
        let root = tempfile::tempdir().unwrap();
        let missing = root.path().join("powercap");
        assert!(open(&missing).err().unwrap().contains("does not exist"));
        std::fs::create_dir_all(&missing).unwrap();
        assert!(open(&missing).err().unwrap().contains("no intel-rapl zones"));
        zone(&missing, "intel-rapl:0:0", "core", 1, 2);
        assert!(open(&missing).err().unwrap().contains("no package or dram"));
    }

    #[test]
    fn wrap_around_arithmetic() {
        assert_eq!(delta_uj(10, 15, 100), 5);
        assert_eq!(delta_uj(90, 5, 100), 15);
        assert_eq!(delta_uj(7, 7, 100), 0);
        assert!(is_rapl_zone("intel-rapl:0") && is_rapl_zone("intel-rapl:12:3"));
        assert!(!is_rapl_zone("intel-rapl-mmio:0") && !is_rapl_zone("intel-rapl:") && !is_rapl_zone("intel-rapl:a") && !is_rapl_zone("intel-rapl:0:"));
    }
}
