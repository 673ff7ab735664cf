//! A lock file in the cache directory, so that concurrent first runs (parallel tests, shards on one
//! machine) wait for one of them to make a cached thing instead of all making it at once.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// Removes the lock file when the work ends, however it ends.
pub struct LockGuard(PathBuf);

impl Drop for LockGuard {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Takes `lock`, waiting while another process holds it. Returns `None` as soon as `done()` says
/// another process has made the thing. A lock older than `stale_after` (its holder died) is taken
/// over, and so is any lock once `stale_after` has passed in waiting.
pub fn acquire(lock: &Path, done: impl Fn() -> bool, stale_after: Duration) -> Result<Option<LockGuard>, String> {
    if let Some(dir) = lock.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    let deadline = SystemTime::now() + stale_after;
    loop {
        match std::fs::OpenOptions::new().write(true).create_new(true).open(lock) {
            Ok(_) => return Ok(Some(LockGuard(lock.to_path_buf()))),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                if done() {
                    return Ok(None);
                }
                let stale = std::fs::metadata(lock).and_then(|m| m.modified()).map(|t| t.elapsed().unwrap_or_default() > stale_after).unwrap_or(true);
                if stale || SystemTime::now() > deadline {
                    let _ = std::fs::remove_file(lock);
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            Err(e) => return Err(format!("cannot create lock {}: {e}", lock.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_taker_waits_until_the_first_is_done_or_gone() {
        let dir = tempfile::tempdir().unwrap();
        let lock = dir.path().join("sub/thing.lock");
        let first = acquire(&lock, || false, Duration::from_secs(60)).unwrap().expect("free lock");
        assert!(lock.exists());
        // Held, and the thing is made: the second taker returns without the lock.
        assert!(acquire(&lock, || true, Duration::from_secs(60)).unwrap().is_none());
        drop(first);
        assert!(!lock.exists(), "released on drop");
        // A holder that died long ago: its lock is taken over.
        std::fs::write(&lock, "").unwrap();
        let taken = acquire(&lock, || false, Duration::from_millis(1)).unwrap();
        assert!(taken.is_some());
    }
}
