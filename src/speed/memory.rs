//! Resident memory of this process, from `/proc/self/status` (Linux); `None` elsewhere.

fn status_field(name: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(name))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Current resident set size in bytes.
pub fn rss_bytes() -> Option<u64> {
    status_field("VmRSS:")
}

/// Peak resident set size of the process so far, in bytes.
pub fn peak_rss_bytes() -> Option<u64> {
    status_field("VmHWM:")
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_memory_on_linux() {
        if cfg!(target_os = "linux") {
            let rss = super::rss_bytes().unwrap();
            assert!(rss > 1 << 20);
            assert!(super::peak_rss_bytes().unwrap() >= rss);
        }
    }
}
