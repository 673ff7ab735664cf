//! `fidelity cache ls|du|prune`: what the output cache holds, its size, and removing old entries.

use super::entry::read_meta;
use super::{EntryMeta, ENTRY_EXTENSION};
use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// One file in the cache folder.
pub struct Listed {
    pub path: PathBuf,
    pub bytes: u64,
    /// Last written or read.
    pub used: SystemTime,
    /// `None`: a file whose metadata cannot be read (damaged; a run recomputes it).
    pub meta: Option<EntryMeta>,
}

/// The cache's entries, most recently used first, and its temporary files (runs writing, or killed).
pub fn list(dir: &Path) -> std::io::Result<(Vec<Listed>, Vec<Listed>)> {
    let (mut entries, mut temporary) = (Vec::new(), Vec::new());
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((entries, temporary)),
        Err(e) => return Err(e),
    };
    for file in read {
        let file = file?;
        let path = file.path();
        let metadata = file.metadata()?;
        let (bytes, used) = (metadata.len(), metadata.modified().unwrap_or(SystemTime::UNIX_EPOCH));
        let name = file.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tmp") && name.starts_with('.') {
            temporary.push(Listed { path, bytes, used, meta: None });
        } else if path.extension().is_some_and(|e| e == ENTRY_EXTENSION) {
            let meta = read_meta(&path).ok();
            entries.push(Listed { path, bytes, used, meta });
        }
    }
    entries.sort_by(|a, b| b.used.cmp(&a.used).then_with(|| a.path.cmp(&b.path)));
    Ok((entries, temporary))
}

/// `fidelity cache ls`: one line per entry.
pub fn ls(dir: &Path, now: SystemTime) -> std::io::Result<String> {
    let (entries, temporary) = list(dir)?;
    let mut out = String::new();
    let _ = writeln!(out, "{}: {} entries, {}", dir.display(), entries.len(), bytes_text(entries.iter().map(|e| e.bytes).sum()));
    if !entries.is_empty() {
        let _ = writeln!(out, "{:<16}  {:<20}  {:<11}  {:>9}  {:>9}  {:>10}  data", "key", "model", "stage", "examples", "size", "last used");
    }
    for e in &entries {
        let key = e.path.file_stem().map(|s| s.to_string_lossy().chars().take(16).collect::<String>()).unwrap_or_default();
        let age = age_text(now.duration_since(e.used).unwrap_or_default());
        match &e.meta {
            Some(m) => {
                let d = &m.description;
                let data = d["data"]["sha256"].as_str().map_or(String::new(), |s| format!("sha256 {}…", &s[..s.len().min(12)]));
                let stage = d["stage"].as_str().unwrap_or("?");
                // The later stages' entries hold model calls, not rows of the data.
                let size = if stage == "evaluation" { m.examples.to_string() } else { format!("{} calls", m.chunks) };
                let _ = writeln!(out, "{key:<16}  {:<20}  {stage:<11}  {size:>9}  {:>9}  {age:>10}  {data}", m.model, bytes_text(e.bytes));
            }
            None => {
                let _ = writeln!(
                    out,
                    "{key:<16}  {:<20}  {:<11}  {:>9}  {:>9}  {age:>10}  (damaged: recomputed when next used)",
                    "?",
                    "?",
                    "",
                    bytes_text(e.bytes)
                );
            }
        }
    }
    if !temporary.is_empty() {
        let _ = writeln!(
            out,
            "{} temporary files ({}): runs writing now, or killed ones (`fidelity cache prune` removes the latter)",
            temporary.len(),
            bytes_text(temporary.iter().map(|t| t.bytes).sum())
        );
    }
    Ok(out)
}

/// `fidelity cache du`: the total.
pub fn du(dir: &Path) -> std::io::Result<String> {
    let (entries, temporary) = list(dir)?;
    let all: u64 = entries.iter().chain(&temporary).map(|e| e.bytes).sum();
    Ok(format!("{}\t{} ({} entries, {} temporary files)\n", bytes_text(all), dir.display(), entries.len(), temporary.len()))
}

/// What `prune` removes: entries last used before `older_than` ago (all with `None`), and
/// temporary files whose writer is gone (its process ended, or a day has passed).
pub fn prune(dir: &Path, older_than: Option<Duration>, now: SystemTime) -> std::io::Result<String> {
    let (entries, temporary) = list(dir)?;
    let (mut removed, mut freed, mut kept) = (0usize, 0u64, 0usize);
    for e in &entries {
        let age = now.duration_since(e.used).unwrap_or_default();
        if older_than.is_none_or(|limit| age > limit) {
            std::fs::remove_file(&e.path)?;
            removed += 1;
            freed += e.bytes;
        } else {
            kept += 1;
        }
    }
    let mut orphans = 0;
    for t in &temporary {
        if writer_gone(&t.path) || now.duration_since(t.used).unwrap_or_default() > Duration::from_secs(86_400) {
            let _ = std::fs::remove_file(&t.path);
            orphans += 1;
            freed += t.bytes;
        }
    }
    Ok(format!("removed {removed} entries and {orphans} temporary files ({}); {kept} entries kept in {}\n", bytes_text(freed), dir.display()))
}

/// A temporary file is `.<key>.<pid>-<n>.tmp`: its writer is gone when that process is (Linux).
fn writer_gone(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let pid = name.trim_end_matches(".tmp").rsplit('.').next().and_then(|p| p.split('-').next()).and_then(|p| p.parse::<u32>().ok());
    match pid {
        Some(pid) if Path::new("/proc/self").exists() => !Path::new(&format!("/proc/{pid}")).exists(),
        _ => false,
    }
}

fn bytes_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

fn age_text(age: Duration) -> String {
    let s = age.as_secs();
    match s {
        s if s >= 86_400 => format!("{} d ago", s / 86_400),
        s if s >= 3_600 => format!("{} h ago", s / 3_600),
        s if s >= 60 => format!("{} min ago", s / 60),
        _ => "just now".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dir: &Path, name: &str, age_days: u64, now: SystemTime) {
        let path = dir.join(format!("{name}.{ENTRY_EXTENSION}"));
        std::fs::write(&path, b"x").unwrap();
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(now - Duration::from_secs(age_days * 86_400)).unwrap();
    }

    #[test]
    fn prune_removes_what_was_last_used_before_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let now = SystemTime::now();
        entry(dir.path(), "old", 10, now);
        entry(dir.path(), "new", 1, now);
        // A temporary file of a process that no longer runs (pid 0 is never a user process's /proc entry).
        std::fs::write(dir.path().join(".abc.999999999-0.tmp"), b"half").unwrap();
        let said = prune(dir.path(), Some(Duration::from_secs(7 * 86_400)), now).unwrap();
        assert!(said.starts_with("removed 1 entries and 1 temporary files"), "{said}");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert_eq!(left, [format!("new.{ENTRY_EXTENSION}")]);
        prune(dir.path(), None, now).unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "without a limit, everything");
    }

    #[test]
    fn ls_and_du_name_damaged_entries_and_count_bytes() {
        let dir = tempfile::tempdir().unwrap();
        entry(dir.path(), "0123456789abcdef0123", 2, SystemTime::now());
        let text = ls(dir.path(), SystemTime::now()).unwrap();
        assert!(text.contains("1 entries") && text.contains("0123456789abcdef") && text.contains("damaged") && text.contains("2 d ago"), "{text}");
        assert!(du(dir.path()).unwrap().starts_with("1 B\t"));
        assert!(ls(&dir.path().join("none"), SystemTime::now()).unwrap().contains("0 entries"), "a missing folder is an empty cache");
    }
}
