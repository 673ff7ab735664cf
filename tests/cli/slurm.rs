//! Scale-out on a real engine (issue 32): a one-node Slurm cluster (scripts/slurm-local.sh) runs
//! `fidelity compare --suite suites/tweets.toml --shard auto` as a 4-task job array; the merged
//! parts give the single run's report, and a dropped part is exit 2 naming its slice. Needs root
//! (the daemons); elsewhere it skips saying why, unless FIDELITY_REQUIRE_SLURM=1 (CI) makes that a
//! failure. Every wait is bounded, and the daemons are stopped however the test ends.

use crate::util::{fidelity, root, without_keys};
use std::path::Path;
use std::process::Command;

/// Fields measured per part, and the merge's provenance.
const PER_PART: &[&str] = &["speed", "cache", "inference_seconds", "onnxruntime_seconds", "session_memory_bytes", "peak_rss_bytes", "peaks", "peaks_note", "energy", "roofline", "shards"];

/// The cluster, stopped on drop (also when an assertion fails).
struct Cluster {
    dir: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("timeout")
            .args(["600", &root().join("scripts/slurm-local.sh").to_string_lossy(), "start"])
            .env("SLURM_LOCAL_DIR", dir.path())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let cluster = Self { dir };
        assert!(out.status.success(), "slurm-local.sh start failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        cluster
    }

    fn conf(&self) -> std::path::PathBuf {
        self.dir.path().join("slurm.conf")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("timeout")
            .args(["60", &root().join("scripts/slurm-local.sh").to_string_lossy(), "stop"])
            .env("SLURM_LOCAL_DIR", self.dir.path())
            .stdin(std::process::Stdio::null())
            .output();
    }
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

fn read(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

#[test]
fn a_slurm_job_array_runs_the_shards_and_the_merge_is_the_single_run() {
    if !is_root() {
        assert!(!std::env::var("FIDELITY_REQUIRE_SLURM").is_ok_and(|v| v == "1"), "FIDELITY_REQUIRE_SLURM=1 but this test needs root to start Slurm's daemons");
        eprintln!("skipped: starting Slurm's daemons needs root");
        return;
    }
    let cluster = Cluster::start();
    let work = tempfile::tempdir().unwrap();
    let suite = root().join("suites/tweets.toml");
    let args = format!("--suite {} --chunk-size 512 --no-speed --quiet", suite.display());
    let task = format!("{} compare {args} --out {}/tweets.json --shard auto", env!("CARGO_BIN_EXE_fidelity"), work.path().display());
    let out = Command::new("timeout")
        .args(["300", "sbatch", "--wait", "--array=0-3", "--time=10", "--job-name=fidelity-test"])
        .arg(format!("--chdir={}", work.path().display()))
        .arg(format!("--output={}/task-%a.log", work.path().display()))
        .args(["--wrap", &task])
        .env("SLURM_CONF", cluster.conf())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let logs = || (0..4).map(|k| std::fs::read_to_string(work.path().join(format!("task-{k}.log"))).unwrap_or_default()).collect::<Vec<_>>().join("\n");
    assert!(out.status.success(), "sbatch --wait failed: {}\n{}\ntask logs:\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr), logs());
    let parts: Vec<String> = (1..=4).map(|k| work.path().join(format!("tweets.shard-{k}-of-4.part")).to_string_lossy().into_owned()).collect();
    for p in &parts {
        assert!(Path::new(p).is_file(), "{p} missing; task logs:\n{}", logs());
    }

    let single = work.path().join("single.json");
    let mut compare: Vec<String> = vec!["compare".into()];
    compare.extend(args.split(' ').map(str::to_string));
    compare.extend(["--out".into(), single.to_string_lossy().into_owned()]);
    let run = fidelity(&compare, work.path());
    assert!(run.code <= 1, "{}", run.stderr);
    let merged = work.path().join("merged.json");
    let mut merge: Vec<String> = vec!["merge".into()];
    merge.extend(parts.iter().cloned());
    merge.extend(["--out".into(), merged.to_string_lossy().into_owned()]);
    let run_merge = fidelity(&merge, work.path());
    assert_eq!(run_merge.code, run.code, "{}", run_merge.stderr);
    assert_eq!(read(&merged)["shards"]["count"], 4);
    assert!(without_keys(read(&merged), PER_PART) == without_keys(read(&single), PER_PART), "the merge of the Slurm array's parts differs from the single run");

    // A task's part lost: the merge names the missing slice.
    let dropped: Vec<String> = std::iter::once("merge".to_string()).chain([&parts[0], &parts[2], &parts[3]].iter().map(|p| p.to_string())).collect();
    let run = fidelity(&dropped, work.path());
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("shard 2/4 is missing"), "{}", run.stderr);
}
