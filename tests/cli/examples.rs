//! The cluster examples in `examples/` (issue 32, part 3) are parsed as YAML and checked for what
//! the merge relies on: every shard writes its part where the merge job reads, under the name
//! `fidelity compare --shard` gives it, the merge's glob takes exactly the N parts, and the flags
//! are ones the binary accepts (each command is run with its suite or parts missing: exit 2 naming
//! the missing file, never a usage error). The Slurm example runs for real in `slurm.rs`.

use crate::util::{command, root};
use fidelity::pipeline::shard::part_path;
use fidelity::shard::Shard;
use std::path::{Path, PathBuf};
use yaml_rust2::{Yaml, YamlLoader};

fn load(relative: &str) -> Yaml {
    let text = std::fs::read_to_string(root().join(relative)).unwrap();
    let mut docs = YamlLoader::load_from_str(&text).unwrap_or_else(|e| panic!("{relative} is not YAML: {e}"));
    assert_eq!(docs.len(), 1, "{relative}: one document");
    docs.remove(0)
}

fn text<'a>(y: &'a Yaml, what: &str) -> &'a str {
    y.as_str().unwrap_or_else(|| panic!("{what} is not a string: {y:?}"))
}

/// The value after `flag` in a command's words.
fn flag_value<'a>(words: &'a [String], flag: &str) -> &'a str {
    let at = words.iter().position(|w| w == flag).unwrap_or_else(|| panic!("no {flag} in {words:?}"));
    &words[at + 1]
}

/// Shell glob with `*` only (all the examples use).
fn glob_matches(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if parts.len() == 1 {
        return pattern == name;
    }
    if !name.starts_with(first) || !name.ends_with(last) || name.len() < first.len() + last.len() {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

/// The merge's glob must take every part of the N shards, and no part of another shard count.
fn assert_glob_takes_the_parts(glob: &str, out: &Path, count: usize, context: &str) {
    for index in 0..count {
        let part = part_path(out, Shard { index, count });
        assert!(glob_matches(glob, &part.to_string_lossy()), "{context}: merge glob {glob} misses shard {}/{count}'s part {}", index + 1, part.display());
    }
    let other = part_path(out, Shard { index: 0, count: count + 1 });
    assert!(!glob_matches(glob, &other.to_string_lossy()), "{context}: merge glob {glob} would also take {}", other.display());
}

/// Runs a command from an example with its missing inputs: the flags must parse (exit 2 names
/// the missing file, as any bad input does), so a renamed flag breaks this test.
fn assert_flags_accepted(words: &[String], env: &[(&str, &str)], missing: &str, context: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = command().args(words).envs(env.iter().copied()).current_dir(dir.path()).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{context}: {words:?}\n{stderr}");
    assert!(stderr.contains(missing), "{context}: the error should name {missing}:\n{stderr}");
    assert!(!stderr.contains("Usage:") && !stderr.contains("unexpected argument"), "{context}: flags refused:\n{stderr}");
}

fn container(job: &Yaml, file: &str) -> Yaml {
    assert_eq!(text(&job["apiVersion"], "apiVersion"), "batch/v1", "{file}");
    assert_eq!(text(&job["kind"], "kind"), "Job", "{file}");
    let pod = &job["spec"]["template"]["spec"];
    assert_eq!(text(&pod["restartPolicy"], "restartPolicy"), "Never", "{file}: a failed shard must show as failed");
    let containers = pod["containers"].as_vec().unwrap_or_else(|| panic!("{file}: no containers"));
    assert_eq!(containers.len(), 1, "{file}");
    containers[0].clone()
}

/// The persistent volume claim mounted at the directory `path` lies in.
fn claim_at(job: &Yaml, container: &Yaml, path: &Path, file: &str) -> String {
    let mount = container["volumeMounts"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|m| path.starts_with(text(&m["mountPath"], "mountPath")))
        .unwrap_or_else(|| panic!("{file}: nothing mounted over {}", path.display()));
    assert!(!mount["readOnly"].as_bool().unwrap_or(false), "{file}: {} is mounted read-only", path.display());
    let name = text(&mount["name"], "volume name");
    let volumes = job["spec"]["template"]["spec"]["volumes"].as_vec().unwrap();
    let volume = volumes.iter().find(|v| text(&v["name"], "volume") == name).unwrap_or_else(|| panic!("{file}: no volume {name}"));
    text(&volume["persistentVolumeClaim"]["claimName"], "claimName").to_string()
}

#[test]
fn kubernetes_indexed_job_writes_the_parts_the_merge_job_reads() {
    let (shards_file, merge_file) = ("examples/kubernetes/shards-job.yaml", "examples/kubernetes/merge-job.yaml");
    let shards = load(shards_file);
    assert_eq!(text(&shards["spec"]["completionMode"], "completionMode"), "Indexed", "{shards_file}: JOB_COMPLETION_INDEX is set only in Indexed mode");
    let count = shards["spec"]["completions"].as_i64().expect("completions") as usize;
    let shard = container(&shards, shards_file);
    let words: Vec<String> = shard["command"].as_vec().unwrap().iter().map(|w| text(w, "command word").to_string()).collect();
    assert_eq!(&words[..2], ["fidelity", "compare"], "{shards_file}");
    assert_eq!(flag_value(&words, "--shard"), "auto", "{shards_file}");
    assert_eq!(flag_value(&words, "--shards"), count.to_string(), "{shards_file}: --shards must equal completions");
    let out = PathBuf::from(flag_value(&words, "--out"));
    let shards_claim = claim_at(&shards, &shard, &out, shards_file);

    let merge = load(merge_file);
    let merger = container(&merge, merge_file);
    let shell: Vec<String> = merger["command"].as_vec().unwrap().iter().map(|w| text(w, "command word").to_string()).collect();
    assert_eq!(&shell[..2], ["sh", "-c"], "{merge_file}: the shell expands the glob");
    let merge_words: Vec<String> = shell[2].split_whitespace().map(str::to_string).collect();
    assert_eq!(&merge_words[..2], ["fidelity", "merge"], "{merge_file}");
    let glob = merge_words.iter().find(|w| w.contains('*')).expect("a glob over the parts");
    assert_glob_takes_the_parts(glob, &out, count, merge_file);
    assert_eq!(claim_at(&merge, &merger, Path::new(glob), merge_file), shards_claim, "{merge_file}: the merge must mount the shards' volume");

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("suite.toml");
    let local: Vec<String> =
        words[1..].iter().map(|w| w.replace("/data/suite.toml", &missing.to_string_lossy()).replace("/parts", &dir.path().to_string_lossy())).collect();
    assert_flags_accepted(&local, &[("JOB_COMPLETION_INDEX", "0")], "suite.toml", shards_file);
    let local: Vec<String> = merge_words[1..].iter().map(|w| w.replace("/parts", &dir.path().to_string_lossy()).replace('*', "1")).collect();
    assert_flags_accepted(&local, &[], "report.shard-1-of-8.part", merge_file);
}

fn step_running<'a>(job: &'a Yaml, needle: &str, file: &str) -> &'a Yaml {
    job["steps"]
        .as_vec()
        .unwrap()
        .iter()
        .find(|s| s["run"].as_str().is_some_and(|r| r.contains(needle)) || s["uses"].as_str().is_some_and(|u| u.contains(needle)))
        .unwrap_or_else(|| panic!("{file}: no step with {needle}"))
}

#[test]
fn github_actions_matrix_uploads_the_parts_the_merge_job_downloads() {
    let file = "examples/github-actions/fidelity-shards.yml";
    let workflow = load(file);
    let jobs = &workflow["jobs"];
    let matrix: Vec<i64> = jobs["shard"]["strategy"]["matrix"]["shard"].as_vec().expect("matrix.shard").iter().map(|v| v.as_i64().unwrap()).collect();
    let count = matrix.len();
    assert_eq!(matrix, (1..=count as i64).collect::<Vec<_>>(), "{file}: the matrix must list shards 1..N once each");
    let compare = text(&step_running(&jobs["shard"], "fidelity compare", file)["run"], "run");
    let upload = &step_running(&jobs["shard"], "actions/upload-artifact", file)["with"];
    let mut names = Vec::new();
    for k in &matrix {
        let with_k = |s: &str| s.replace("${{ matrix.shard }}", &k.to_string());
        let words: Vec<String> = with_k(compare).split_whitespace().map(str::to_string).collect();
        assert_eq!(flag_value(&words, "--shard"), format!("{k}/{count}"), "{file}");
        let out = PathBuf::from(flag_value(&words, "--out"));
        let part = part_path(&out, Shard { index: *k as usize - 1, count });
        assert_eq!(Path::new(&with_k(text(&upload["path"], "upload path"))), part, "{file}: shard {k} uploads another file than it writes");
        names.push(with_k(text(&upload["name"], "artifact name")));
        if *k == 1 {
            assert_flags_accepted(
                &words[1..].iter().map(|w| w.replace("suites/tweets.toml", "missing-suite.toml")).collect::<Vec<_>>(),
                &[],
                "missing-suite.toml",
                file,
            );
        }
    }
    names.dedup();
    assert_eq!(names.len(), count, "{file}: artifact names must differ per shard");

    let merge = &jobs["merge"];
    let needs: Vec<&str> = match &merge["needs"] {
        Yaml::Array(v) => v.iter().map(|n| text(n, "needs")).collect(),
        one => vec![text(one, "needs")],
    };
    assert!(needs.contains(&"shard"), "{file}: the merge job must wait for every shard");
    let download = &step_running(merge, "actions/download-artifact", file)["with"];
    let pattern = text(&download["pattern"], "download pattern");
    assert!(names.iter().all(|n| glob_matches(pattern, n)), "{file}: pattern {pattern} misses an artifact of {names:?}");
    assert_eq!(download["merge-multiple"].as_bool(), Some(true), "{file}: parts must land in one folder");
    let into = PathBuf::from(text(&download["path"], "download path"));
    let merge_words: Vec<String> = text(&step_running(merge, "fidelity merge", file)["run"], "run").split_whitespace().map(str::to_string).collect();
    let glob = merge_words.iter().find(|w| w.contains('*')).expect("a glob over the parts");
    assert_glob_takes_the_parts(glob, &into.join("report.json"), count, file);
    assert_flags_accepted(&merge_words[1..].iter().map(|w| w.replace('*', "1")).collect::<Vec<_>>(), &[], "report.shard-1-of-4.part", file);
}

#[test]
fn glob_matching_follows_the_shell() {
    assert!(glob_matches("p/r.shard-*-of-8.part", "p/r.shard-3-of-8.part"));
    assert!(!glob_matches("p/r.shard-*-of-8.part", "p/r.shard-3-of-9.part"));
    assert!(!glob_matches("p/r.shard-*-of-8.part", "q/r.shard-3-of-8.part"));
    assert!(glob_matches("part-*", "part-1"));
    assert!(!glob_matches("a*a", "a"));
}
