//! Scale-out (issue 31): `compare --shard K/N` on every slice, then `fidelity merge`, gives the
//! single run's report exactly (timing and speed fields aside: they are measured per part).

use crate::util::{fidelity, fixture, without_keys, Run};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Fields measured per part (speed, time, memory) and the merge's own provenance.
const PER_PART: &[&str] = &["speed", "cache", "inference_seconds", "onnxruntime_seconds", "session_memory_bytes", "peak_rss_bytes", "peaks", "peaks_note", "energy", "roofline", "shards"];

fn tweets(p: &str) -> String {
    fixture(&format!("tweets/{p}"))
}

fn adult(p: &str) -> String {
    fixture(&format!("adult/{p}"))
}

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

/// `fidelity compare ARGS --out DIR/NAME.json` in `dir`.
fn compare(args: &[String], dir: &Path, name: &str, extra: &[&str]) -> Run {
    let mut all: Vec<String> = vec!["compare".into()];
    all.extend(args.iter().cloned());
    all.extend(["--out".into(), dir.join(format!("{name}.json")).to_string_lossy().into_owned(), "--quiet".into()]);
    all.extend(extra.iter().map(|s| s.to_string()));
    fidelity(&all, dir)
}

/// Runs every shard of `n` and returns the part paths.
fn shards(args: &[String], dir: &Path, n: usize) -> Vec<PathBuf> {
    (1..=n)
        .map(|k| {
            let run = compare(args, dir, "sharded", &["--shard", &format!("{k}/{n}")]);
            assert_eq!(run.code, 0, "shard {k}/{n}:\n{}", run.stderr);
            let path = PathBuf::from(run.stdout.trim());
            assert_eq!(path, dir.join(format!("sharded.shard-{k}-of-{n}.part")));
            path
        })
        .collect()
}

fn merge(parts: &[PathBuf], dir: &Path, extra: &[&str]) -> Run {
    let mut all: Vec<String> = vec!["merge".into()];
    all.extend(parts.iter().map(|p| p.to_string_lossy().into_owned()));
    all.extend(extra.iter().map(|s| s.to_string()));
    fidelity(&all, dir)
}

/// The single run, then for each N the merge of N shards (parts given last to first: order does
/// not matter), compared field by field.
fn assert_merges_equal_the_single_run(args: &[String], ns: &[usize]) {
    let dir = tempfile::tempdir().unwrap();
    let single = compare(args, dir.path(), "single", &[]);
    assert!(single.code <= 1, "{}", single.stderr);
    let expected = without_keys(read(&dir.path().join("single.json")), PER_PART);
    for &n in ns {
        let mut parts = shards(args, dir.path(), n);
        parts.reverse();
        let out = dir.path().join(format!("merged-{n}.json"));
        let run = merge(&parts, dir.path(), &["--out", &out.to_string_lossy()]);
        assert_eq!(run.code, single.code, "merge of {n}: exit {}, single run {}:\n{}", run.code, single.code, run.stderr);
        let merged = read(&out);
        assert_eq!(merged["shards"]["parts"].as_array().unwrap().len(), n);
        assert!(merged["complete"].as_bool().unwrap());
        let merged = without_keys(merged, PER_PART);
        if merged != expected {
            let (a, b) = (serde_json::to_string_pretty(&expected).unwrap(), serde_json::to_string_pretty(&merged).unwrap());
            let line = a.lines().zip(b.lines()).position(|(x, y)| x != y).unwrap_or(0);
            panic!("merge of {n} shards differs from the single run at line {}: {:?} vs {:?}", line + 1, a.lines().nth(line), b.lines().nth(line));
        }
    }
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).collect()
}

/// Text: a batch-dependent int8 student re-run at the serving batch size (its batch-invariance
/// check made on the first chunk), length-sorted batches, topic groups, intervals, typo and
/// word-dropout noise on a 300-example sample, populations of seeds (CIE against the teacher's);
/// chunks of 96 rows make 21 chunks to share out.
#[test]
fn tweets_merged_from_1_2_3_and_7_shards_is_the_single_run() {
    let args = strings(&[
        &tweets("teacher.onnx"),
        &tweets("pruned.onnx"),
        &tweets("int8.onnx"),
        "--data",
        &tweets("test.jsonl"),
        "--group-column",
        "topic",
        "--chunk-size",
        "96",
        "--batch-order",
        "length-sorted",
        "--serving-batch-size",
        "8",
        "--no-speed",
        "--noise",
        "--noise-examples",
        "300",
        "--population",
        &format!("teacher={}", tweets("populations/teacher-seed1.onnx")),
        "--population",
        &format!("teacher={}", tweets("populations/teacher-seed2.onnx")),
        "--population",
        &format!("int8={}", tweets("populations/int8-seed1.onnx")),
        "--population",
        &format!("int8={}", tweets("populations/int8-seed2.onnx")),
        "--population",
        &format!("pruned={}", tweets("populations/pruned-seed1.onnx")),
        "--gate",
        "int8: label_loyalty >= 0.99",
        "--gate",
        "accuracy_drop <= 0.03 per-group interval",
    ]);
    assert_merges_equal_the_single_run(&args, &[1, 2, 3, 7]);
}

/// Tensors from an .npz archive, two crossed group attributes, an int8 student and its exact twin,
/// Gaussian noise scaled by the whole sample's spread.
#[test]
fn adult_merged_from_1_2_3_and_7_shards_is_the_single_run() {
    let args = strings(&[
        &adult("teacher.onnx"),
        &adult("distilled.onnx"),
        &adult("int8.onnx"),
        "--data",
        &adult("test.npz"),
        "--group-column",
        "sex",
        "--group-column",
        "race",
        "--min-group-size",
        "30",
        "--integer-numerics",
        "both",
        "--chunk-size",
        "64",
        "--no-speed",
        "--noise",
        "--noise-examples",
        "500",
        "--gate",
        "label_loyalty >= 0.97",
    ]);
    assert_merges_equal_the_single_run(&args, &[1, 2, 3, 7]);
}

/// The shipped suites as they are (attacks, noise, populations, gates), in chunks of 96 rows.
#[test]
fn the_tweets_and_adult_suites_merged_from_1_2_3_and_7_shards_are_the_single_run() {
    for suite in ["tweets", "adult"] {
        let path = crate::util::root().join(format!("suites/{suite}.toml"));
        let args = strings(&["--suite", &path.to_string_lossy(), "--chunk-size", "96", "--no-speed"]);
        assert_merges_equal_the_single_run(&args, &[1, 2, 3, 7]);
    }
}

/// Five rows in chunks of one: seven shards hold one row each or none.
#[test]
fn one_row_shards_and_empty_shards_merge_to_the_single_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("five.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(tweets("test.jsonl")).unwrap().lines().take(5).map(str::to_string).collect();
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();
    let args = strings(&[&tweets("teacher.onnx"), &tweets("int8.onnx"), "--data", &data.to_string_lossy(), "--batch-size", "1", "--chunk-size", "1", "--no-speed"]);
    let parts = shards(&args, dir.path(), 7);
    let rows: Vec<u64> = parts
        .iter()
        .map(|p| {
            let bytes = std::fs::read(p).unwrap();
            let header: Value = serde_json::Deserializer::from_slice(&bytes[22..]).into_iter().next().unwrap().unwrap();
            header["end_row"].as_u64().unwrap() - header["first_row"].as_u64().unwrap()
        })
        .collect();
    assert_eq!(rows.iter().filter(|&&r| r == 0).count(), 2, "{rows:?}");
    assert_eq!(rows.iter().filter(|&&r| r == 1).count(), 5, "{rows:?}");
    assert_merges_equal_the_single_run(&args, &[7, 5, 2]);
}

/// Speed is measured by each part and listed per part; the merged report says so.
#[test]
fn speed_is_reported_per_part() {
    let dir = tempfile::tempdir().unwrap();
    let args = strings(&[&tweets("teacher.onnx"), &tweets("int8.onnx"), "--data", &tweets("test.jsonl"), "--chunk-size", "512", "--speed-examples", "32", "--speed-repetitions", "1", "--speed-batch-sizes", "1"]);
    let parts = shards(&args, dir.path(), 2);
    let out = dir.path().join("merged.json");
    let run = merge(&parts, dir.path(), &["--out", &out.to_string_lossy(), "--markdown", &dir.path().join("merged.md").to_string_lossy()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = read(&out);
    let shards = &report["shards"];
    assert!(shards["note"].as_str().unwrap().contains("speed and timing fields are measured per part"), "{shards}");
    for part in shards["parts"].as_array().unwrap() {
        let speeds = part["speed"].as_array().unwrap();
        assert_eq!(speeds.len(), 2);
        assert!(speeds.iter().all(|s| s["speed"]["throughput"].is_array()), "{part}");
    }
    assert!(report["teacher"]["speed"].is_object());
    assert!(run.stdout.contains("merged from 2 parts"), "{}", run.stdout);
    assert!(std::fs::read_to_string(dir.path().join("merged.md")).unwrap().contains("merged from 2 parts"));
}

/// Three parts of the tweets data in chunks of 512 rows (4 chunks), written into `dir`.
fn three_parts(dir: &Path, extra: &[&str]) -> Vec<PathBuf> {
    let mut args = strings(&[&tweets("teacher.onnx"), &tweets("int8.onnx"), "--data", &tweets("test.jsonl"), "--chunk-size", "512", "--no-speed"]);
    args.extend(extra.iter().map(|s| s.to_string()));
    shards(&args, dir, 3)
}

/// Exit 2 and a message that contains every one of `needles`.
fn assert_refused(run: &Run, needles: &[&str]) {
    assert_eq!(run.code, 2, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    for n in needles {
        assert!(run.stderr.contains(n), "missing {n:?} in:\n{}", run.stderr);
    }
}

#[test]
fn a_missing_or_duplicated_slice_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let parts = three_parts(dir.path(), &[]);
    assert_refused(&merge(&[parts[0].clone(), parts[2].clone()], dir.path(), &[]), &["shard 2/3 is missing", "--shard K/3"]);
    let run = merge(&[parts[0].clone(), parts[1].clone(), parts[1].clone(), parts[2].clone()], dir.path(), &[]);
    assert_refused(&run, &["sharded.shard-2-of-3.part and", "are both shard 2/3", "give each part once"]);
    // Every part once: the merge is written where the parts' name says.
    assert_eq!(merge(&parts, dir.path(), &[]).code, 0);
    assert!(dir.path().join("sharded.json").is_file());
}

#[test]
fn parts_of_other_models_data_plans_or_versions_are_refused_naming_the_part() {
    let dir = tempfile::tempdir().unwrap();
    let parts = three_parts(dir.path(), &[]);
    let other = |name: &str, args: Vec<String>| -> PathBuf {
        let sub = dir.path().join(name);
        std::fs::create_dir_all(&sub).unwrap();
        let run = compare(&args, &sub, "sharded", &["--shard", "2/3"]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        sub.join("sharded.shard-2-of-3.part")
    };
    let base = |teacher: &str, student: &str, data: &str| strings(&[teacher, student, "--data", data, "--chunk-size", "512", "--no-speed"]);
    let models = other("models", base(&tweets("teacher.onnx"), &tweets("pruned.onnx"), &tweets("test.jsonl")));
    let run = merge(&[parts[0].clone(), models.clone(), parts[2].clone()], dir.path(), &[]);
    assert_refused(&run, &["models/sharded.shard-2-of-3.part does not belong with", "other models", "pruned"]);
    let data = dir.path().join("fewer.jsonl");
    let lines: Vec<String> = std::fs::read_to_string(tweets("test.jsonl")).unwrap().lines().take(1800).map(str::to_string).collect();
    std::fs::write(&data, lines.join("\n") + "\n").unwrap();
    let data = other("data", base(&tweets("teacher.onnx"), &tweets("int8.onnx"), &data.to_string_lossy()));
    assert_refused(&merge(&[parts[0].clone(), data, parts[2].clone()], dir.path(), &[]), &["data/sharded.shard-2-of-3.part", "other data", "1800 rows"]);
    let mut plan = base(&tweets("teacher.onnx"), &tweets("int8.onnx"), &tweets("test.jsonl"));
    plan.extend(strings(&["--batch-size", "16"]));
    let plan = other("plan", plan);
    assert_refused(&merge(&[parts[0].clone(), plan, parts[2].clone()], dir.path(), &[]), &["plan/sharded.shard-2-of-3.part", "another plan (batch_size: 16 here, 32 in the reference)"]);
    // Another fidelity version: the same part with its version rewritten.
    let bytes = std::fs::read(&parts[1]).unwrap();
    let ours = format!("\"fidelity_version\":\"{}\"", env!("CARGO_PKG_VERSION"));
    let theirs = format!("\"fidelity_version\":\"{}\"", "9".repeat(env!("CARGO_PKG_VERSION").len()));
    let at = bytes.windows(ours.len()).position(|w| w == ours.as_bytes()).expect("the header names the version");
    let mut rewritten = bytes.clone();
    rewritten[at..at + ours.len()].copy_from_slice(theirs.as_bytes());
    let old = dir.path().join("old.part");
    std::fs::write(&old, rewritten).unwrap();
    assert_refused(&merge(&[parts[0].clone(), old, parts[2].clone()], dir.path(), &[]), &["old.part was written by fidelity 9", "merge parts with the fidelity that wrote them"]);
    let junk = dir.path().join("junk.part");
    std::fs::write(&junk, "{}").unwrap();
    assert_refused(&merge(&[junk], dir.path(), &[]), &["junk.part is not a fidelity part file"]);
}

/// `fidelity compare ... --shard ARGS` with only `vars` of the batch engines set.
fn shard_from_env(dir: &Path, shard: &[&str], vars: &[(&str, &str)]) -> Run {
    let mut c = crate::util::command();
    c.args(["compare", &tweets("teacher.onnx"), &tweets("int8.onnx"), "--data", &tweets("test.jsonl"), "--chunk-size", "512", "--no-speed", "--quiet", "--out"]);
    c.arg(dir.join("env.json")).args(shard).current_dir(dir);
    for v in ["SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_MIN", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_STEP", "JOB_COMPLETION_INDEX"] {
        c.env_remove(v);
    }
    c.envs(vars.iter().copied());
    let out = c.output().unwrap();
    Run { code: out.status.code().unwrap_or(-1), stdout: String::from_utf8_lossy(&out.stdout).into(), stderr: String::from_utf8_lossy(&out.stderr).into() }
}

#[test]
fn shard_auto_reads_slurm_and_indexed_jobs_and_refuses_what_it_cannot_read() {
    let dir = tempfile::tempdir().unwrap();
    let slurm = [("SLURM_ARRAY_TASK_ID", "11"), ("SLURM_ARRAY_TASK_MIN", "10"), ("SLURM_ARRAY_TASK_COUNT", "3")];
    let run = shard_from_env(dir.path(), &["--shard", "auto"], &slurm);
    assert_eq!((run.code, run.stdout.trim().ends_with("env.shard-2-of-3.part")), (0, true), "{}", run.stderr);
    let run = shard_from_env(dir.path(), &["--shard"], &[("JOB_COMPLETION_INDEX", "0"), ("X", "")]);
    assert_refused(&run, &["JOB_COMPLETION_INDEX=0", "--shards N"]);
    let run = shard_from_env(dir.path(), &["--shards", "4", "--shard"], &[("JOB_COMPLETION_INDEX", "3")]);
    assert_eq!((run.code, run.stdout.trim().ends_with("env.shard-4-of-4.part")), (0, true), "{}", run.stderr);
    let outside = [("SLURM_ARRAY_TASK_ID", "13"), ("SLURM_ARRAY_TASK_MIN", "10"), ("SLURM_ARRAY_TASK_COUNT", "3")];
    assert_refused(&shard_from_env(dir.path(), &["--shard", "auto"], &outside), &["SLURM_ARRAY_TASK_ID=13", "not a shard of 3"]);
    assert_refused(&shard_from_env(dir.path(), &["--shard", "auto"], &[]), &["no batch engine variables", "SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX", "--shard K/N"]);
    assert_refused(&shard_from_env(dir.path(), &["--shard", "4/3"], &[]), &["--shard '4/3'", "1 <= K <= N"]);
    assert_refused(&shard_from_env(dir.path(), &["--shard", "1/3", "--html", "r.html"], &[]), &["give --html to `fidelity merge`"]);
}
