//! The output cache through the binary: a second run finds the teacher and reports what a run
//! without the cache reports; every key element misses when changed; damaged entries, killed runs,
//! concurrent runs and `fidelity cache ls|du|prune`.

use crate::freshness::normalised;
use crate::util::{fidelity, fixture, Run};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn tweets(p: &str) -> String {
    fixture(&format!("tweets/{p}"))
}

/// `compare` of the tweets teacher and `student` on `data`, with `flags`; JSON and Markdown in `out`.
fn compare(out: &Path, name: &str, student: &str, data: &str, flags: &[&str]) -> (Run, Value, String) {
    let json = out.join(format!("{name}.json"));
    let md = out.join(format!("{name}.md"));
    let mut args: Vec<String> =
        ["compare", &tweets("teacher.onnx"), student, "--data", data, "--config", &tweets("config.json"), "--no-speed"].iter().map(|s| s.to_string()).collect();
    args.extend(flags.iter().map(|s| s.to_string()));
    args.extend(["--out".into(), json.to_string_lossy().into_owned(), "--markdown".into(), md.to_string_lossy().into_owned()]);
    let run = fidelity(&args, out);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    let report = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    (run, report, std::fs::read_to_string(md).unwrap())
}

/// The model's evaluation-pass cache record.
fn cache_of<'a>(report: &'a Value, model: &str) -> &'a Value {
    let all = if report["teacher"]["name"] == model { &report["teacher"]["cache"] } else { &crate::util::student(report, model)["model"]["cache"] };
    all.as_array().and_then(|a| a.iter().find(|c| c["stage"] == "evaluation")).unwrap_or(&Value::Null)
}

fn outcome(report: &Value, model: &str) -> String {
    cache_of(report, model)["outputs"].as_str().unwrap_or("absent").to_string()
}

/// The Markdown without its timing parts (the cache line is one); the machine part is compared.
fn without_timings(text: &str) -> String {
    crate::reports::strip_between(text, "<!-- timing:start -->", "<!-- timing:end -->")
}

#[test]
fn a_second_run_reads_the_teacher_from_the_cache_and_reports_what_an_uncached_run_does() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let cache_flag = ["--cache", cache.to_str().unwrap()];
    let data = tweets("test.jsonl");
    // Monday: the pruned candidate. Tuesday: the int8 one, against the same teacher.
    let (_, monday, _) = compare(dir.path(), "monday", &tweets("pruned.onnx"), &data, &cache_flag);
    assert_eq!((outcome(&monday, "teacher"), outcome(&monday, "pruned")), ("stored".into(), "stored".into()));
    let (run, tuesday, tuesday_md) = compare(dir.path(), "tuesday", &tweets("int8.onnx"), &data, &cache_flag);
    let teacher = cache_of(&tuesday, "teacher");
    assert_eq!(teacher["outputs"], "read");
    assert_eq!(teacher["chunks_read"], teacher["chunks"]);
    assert_eq!(teacher["key"], cache_of(&monday, "teacher")["key"]);
    assert_eq!(tuesday["teacher"]["inference_seconds"], 0.0, "no teacher inference ran");
    assert_eq!(outcome(&tuesday, "int8"), "stored");
    assert!(run.stderr.contains("teacher: outputs read from the cache"), "{}", run.stderr);
    assert!(tuesday_md.contains("output cache: teacher read, no inference"), "{tuesday_md}");

    let (_, uncached, uncached_md) = compare(dir.path(), "uncached", &tweets("int8.onnx"), &data, &["--no-cache"]);
    assert!(uncached["teacher"].get("cache").is_none(), "--no-cache: no cache field");
    let text = |v: &Value| serde_json::to_string_pretty(&normalised(v.clone())).unwrap();
    assert_eq!(text(&tuesday), text(&uncached), "the cached run's report is the uncached run's, timings and cache fields aside");
    let strip_paths = |md: &str, name: &str| without_timings(md).replace(&format!("{name}.json"), "");
    assert_eq!(strip_paths(&tuesday_md, "tuesday"), strip_paths(&uncached_md, "uncached"));
    let run = fidelity(["cache", "ls", "--cache", cache.to_str().unwrap()], dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("3 entries") && run.stdout.contains("teacher") && run.stdout.contains("int8") && run.stdout.contains("pruned"),
        "{}",
        run.stdout
    );
}

/// One byte more in the file (a doc_string field, ModelProto field 6, appended: the last one
/// wins, so the graph is unchanged).
fn model_with_another_byte(dir: &Path) -> PathBuf {
    let mut bytes = std::fs::read(tweets("teacher.onnx")).unwrap();
    bytes.extend_from_slice(&[0x32, 0x01, b'x']);
    let path = dir.join("teacher-doc.onnx");
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn changing_any_one_key_element_misses_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let data = tweets("test.jsonl");
    let run = |name: &str, teacher: &str, data: &str, flags: &[&str]| -> Value {
        let json = dir.path().join(format!("{name}.json"));
        let mut args = vec![
            "compare",
            teacher,
            &tweets("int8.onnx")[..],
            "--data",
            data,
            "--no-speed",
            "--bootstrap",
            "0",
            "--invariance-sample",
            "16",
            "--quiet",
            "--config",
            &tweets("config.json")[..],
            "--tokenizer",
        ]
        .into_iter()
        .map(String::from)
        .collect::<Vec<_>>();
        args.push(tweets("tokenizer.json"));
        args.extend(flags.iter().map(|s| s.to_string()));
        args.extend(["--cache".into(), cache.to_string_lossy().into_owned(), "--out".into(), json.to_string_lossy().into_owned()]);
        let r = fidelity(&args, dir.path());
        assert!(r.code == 0 || r.code == 1, "{name}: {}", r.stderr);
        serde_json::from_str(&std::fs::read_to_string(json).unwrap()).unwrap()
    };
    let teacher = tweets("teacher.onnx");
    let base = run("base", &teacher, &data, &[]);
    assert_eq!(outcome(&base, "teacher"), "stored");
    assert_eq!(outcome(&run("again", &teacher, &data, &[]), "teacher"), "read", "the same run again hits");

    let edited = dir.path().join("edited.jsonl");
    let mut lines: Vec<String> = std::fs::read_to_string(&data).unwrap().lines().map(String::from).collect();
    let mut row: Value = serde_json::from_str(&lines[100]).unwrap();
    row["text"] = Value::String(format!("{} !", row["text"].as_str().unwrap()));
    lines[100] = row.to_string();
    std::fs::write(&edited, lines.join("\n") + "\n").unwrap();
    let doc = model_with_another_byte(dir.path());
    let cases: [(&str, &str, &str, &[&str]); 5] = [
        ("a data row", &teacher, edited.to_str().unwrap(), &[]),
        ("a tokenizer option", &teacher, &data, &["--max-length", "48"]),
        ("the batch size", &teacher, &data, &["--batch-size", "16"]),
        ("a session setting", &teacher, &data, &["--session-option", "teacher:optimization=basic"]),
        ("a model byte", doc.to_str().unwrap(), &data, &[]),
    ];
    for (what, teacher, data, flags) in cases {
        let report = run(what, teacher, data, flags);
        let name = report["teacher"]["name"].as_str().unwrap().to_string();
        assert_eq!(outcome(&report, &name), "stored", "{what} changed: the teacher must miss");
        assert_ne!(cache_of(&report, &name)["key"], cache_of(&base, "teacher")["key"], "{what}");
    }
}

#[test]
fn a_damaged_entry_is_recomputed_with_a_warning_and_the_same_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let flags = ["--cache", cache.to_str().unwrap()];
    let data = tweets("test.jsonl");
    let (_, first, _) = compare(dir.path(), "first", &tweets("int8.onnx"), &data, &flags);
    for entry in std::fs::read_dir(&cache).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    }
    let (run, second, _) = compare(dir.path(), "second", &tweets("int8.onnx"), &data, &flags);
    assert!(run.stderr.contains("warning") && run.stderr.contains("damaged or truncated"), "{}", run.stderr);
    assert_eq!(outcome(&second, "teacher"), "refreshed");
    let text = |v: &Value| serde_json::to_string_pretty(&normalised(v.clone())).unwrap();
    assert_eq!(text(&first), text(&second));
    let (_, third, _) = compare(dir.path(), "third", &tweets("int8.onnx"), &data, &flags);
    assert_eq!(outcome(&third, "teacher"), "read", "the refreshed entry is sound");
}

#[test]
fn concurrent_runs_on_one_key_leave_one_sound_entry() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let data = tweets("test.jsonl");
    let spawn = |name: &str| {
        let out = dir.path().join(format!("{name}.json"));
        crate::util::command()
            .args(["compare", &tweets("teacher.onnx"), &tweets("pruned.onnx"), "--data", &data, "--no-speed", "--bootstrap", "0", "--quiet"])
            .args(["--cache", cache.to_str().unwrap(), "--out", out.to_str().unwrap()])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children: Vec<_> = (0..3).map(|i| spawn(&format!("r{i}"))).collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let names: Vec<String> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert_eq!(names.iter().filter(|n| n.ends_with(".outputs")).count(), 2, "{names:?}");
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "no temporary file is left: {names:?}");
    let (_, after, _) = compare(dir.path(), "after", &tweets("pruned.onnx"), &data, &["--cache", cache.to_str().unwrap(), "--bootstrap", "0"]);
    assert_eq!((outcome(&after, "teacher"), outcome(&after, "pruned")), ("read".into(), "read".into()));
}

#[test]
fn a_killed_run_leaves_no_entry_and_prune_removes_its_temporary_file() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    // 100,000 rows: the first chunk's entry is being written long before the run ends.
    let big = dir.path().join("big.jsonl");
    let text = std::fs::read_to_string(tweets("test.jsonl")).unwrap();
    std::fs::write(&big, text.repeat(50)).unwrap();
    let mut child = crate::util::command()
        .args(["compare", &tweets("teacher.onnx"), &tweets("distilled.onnx"), "--data", big.to_str().unwrap(), "--no-speed", "--quiet"])
        .args(["--cache", cache.to_str().unwrap(), "--out", dir.path().join("r.json").to_str().unwrap()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let temporary = || std::fs::read_dir(&cache).ok().map_or(0, |d| d.filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".tmp")).count());
    let started = std::time::Instant::now();
    while temporary() == 0 && started.elapsed().as_secs() < 120 && child.try_wait().unwrap().is_none() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(temporary() > 0, "the run wrote a temporary entry before it was killed");
    child.kill().unwrap();
    child.wait().unwrap();
    let names: Vec<String> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(!names.iter().any(|n| n.ends_with(".outputs")), "a killed run leaves no entry: {names:?}");
    let ls = fidelity(["cache", "ls", "--cache", cache.to_str().unwrap()], dir.path());
    assert!(ls.stdout.contains("0 entries") && ls.stdout.contains("temporary files"), "{}", ls.stdout);
    let prune = fidelity(["cache", "prune", "--cache", cache.to_str().unwrap()], dir.path());
    assert_eq!(prune.code, 0, "{}", prune.stderr);
    assert!(prune.stdout.contains("removed 0 entries and"), "{}", prune.stdout);
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), 0, "the killed run's temporary file is gone");
}

#[test]
fn cache_du_and_prune_by_age() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    compare(dir.path(), "one", &tweets("pruned.onnx"), &tweets("test.jsonl"), &["--cache", cache.to_str().unwrap(), "--bootstrap", "0"]);
    let c = cache.to_str().unwrap();
    let du = fidelity(["cache", "du", "--cache", c], dir.path());
    assert!(du.stdout.contains("(2 entries, 0 temporary files)"), "{}", du.stdout);
    let keep = fidelity(["cache", "prune", "--older-than", "1", "--cache", c], dir.path());
    assert!(keep.stdout.contains("removed 0 entries") && keep.stdout.contains("2 entries kept"), "{}", keep.stdout);
    let bad = fidelity(["cache", "prune", "--older-than", "-1", "--cache", c], dir.path());
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    let all = fidelity(["cache", "prune", "--older-than", "0", "--cache", c], dir.path());
    assert!(all.stdout.contains("removed 2 entries"), "{}", all.stdout);
}

#[test]
fn the_attack_noise_and_population_stages_read_the_teacher_from_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    let data = tweets("test.jsonl");
    let stages = |student: &str| -> Vec<String> {
        [
            "--attack-n",
            "24",
            "--noise",
            "--noise-levels",
            "typos:0.1",
            "--noise-examples",
            "200",
            "--population",
            &format!("teacher={}", tweets("populations/teacher-seed1.onnx")),
            "--population",
            &format!("{student}={}", tweets(&format!("populations/{student}-seed1.onnx"))),
            "--bootstrap",
            "100",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    };
    let with = |student: &str, more: &[&str]| -> Vec<String> { stages(student).into_iter().chain(more.iter().map(|s| s.to_string())).collect() };
    let cache_flag = ["--cache", cache.to_str().unwrap()];
    fn args(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    compare(dir.path(), "monday", &tweets("pruned.onnx"), &data, &args(&with("pruned", &cache_flag)));
    let (run, tuesday, _) = compare(dir.path(), "tuesday", &tweets("int8.onnx"), &data, &args(&with("int8", &cache_flag)));
    let teacher: Vec<(String, String)> = tuesday["teacher"]["cache"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["stage"].as_str().unwrap().to_string(), c["outputs"].as_str().unwrap().to_string()))
        .collect();
    let read = |stage: &str| (stage.to_string(), "read".to_string());
    assert_eq!(teacher, [read("evaluation"), read("attack"), read("noise"), read("populations")], "{}", run.stderr);
    let int8 = &crate::util::student(&tuesday, "int8")["model"]["cache"];
    assert!(int8.as_array().unwrap().iter().all(|c| c["outputs"] == "stored"), "{int8}");
    for c in tuesday["teacher"]["cache"].as_array().unwrap() {
        assert!(c["chunks_read"].as_u64().unwrap() > 0 && c["chunks_read"] == c["chunks"], "every model call of the teacher's was read: {c}");
    }
    let (_, uncached, _) = compare(dir.path(), "uncached", &tweets("int8.onnx"), &data, &args(&with("int8", &["--no-cache"])));
    let text = |v: &Value| serde_json::to_string_pretty(&normalised(v.clone())).unwrap();
    assert_eq!(text(&tuesday), text(&uncached), "every stage's numbers are the uncached run's");
}
