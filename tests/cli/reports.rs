//! Suites, gates and report files: exit codes, every writer naming the failing check, escaping,
//! and the committed reports/ being what the shipped suites produce.

use crate::util::{fidelity, fixture, root};
use serde_json::Value;
use std::path::Path;

/// Writes a suite over the tweets fixtures with the given gate tables; returns its path.
fn suite(dir: &Path, gates: &str) -> String {
    let f = |p: &str| fixture(&format!("tweets/{p}"));
    let text = format!(
        "name = \"gated\"\n[teacher]\npath = \"{}\"\n[[students]]\npath = \"{}\"\n[[students]]\npath = \"{}\"\n[data]\npath = \"{}\"\ngroup_columns = [\"topic\"]\n[statistics]\nbootstrap = 200\n[output]\njson = \"out/r.json\"\nmarkdown = \"out/r.md\"\nhtml = \"out/r.html\"\njunit = \"out/r.xml\"\n{gates}",
        f("teacher.onnx"), f("pruned.onnx"), f("int8.onnx"), f("test.jsonl")
    );
    let path = dir.join("gated.toml");
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

const PASSING: &str = "[[gates]]\nmetric = \"label_loyalty\"\nmin = 0.99\nstudents = [\"int8\"]\n";
const FAILING: &str = "[[gates]]\nmetric = \"label_loyalty\"\nmin = 0.95\nstudents = [\"pruned\"]\n";

#[test]
fn one_failing_threshold_exits_1_and_every_output_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = suite(dir.path(), &format!("{PASSING}{FAILING}"));
    let run = fidelity(["compare", "--suite", &s, "--quiet"], dir.path());
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    let failing = "pruned · label_loyalty >= 0.95";
    assert!(run.stdout.contains(&format!("FAIL {failing}")), "{}", run.stdout);
    assert!(run.stdout.contains("pass int8 · label_loyalty >= 0.99"), "passed checks are shown too");
    let out = dir.path().join("gated.toml").parent().unwrap().join("out");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(out.join("r.json")).unwrap()).unwrap();
    let checks = json["gate"]["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2);
    let failed: Vec<&Value> = checks.iter().filter(|c| c["passed"] == false).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!((failed[0]["student"].as_str(), failed[0]["metric"].as_str()), (Some("pruned"), Some("label_loyalty")));
    let junit = std::fs::read_to_string(out.join("r.xml")).unwrap();
    assert!(junit.contains("tests=\"2\" failures=\"1\""), "{junit}");
    let escaped = failing.replace('>', "&gt;");
    assert!(junit.contains(&format!("name=\"{escaped}\">\n      <failure")), "{junit}");
    let html = std::fs::read_to_string(out.join("r.html")).unwrap();
    assert!(html.contains("Verdict: FAIL") && html.contains(&escaped), "the HTML names the failing check");
    let md = std::fs::read_to_string(out.join("r.md")).unwrap();
    assert!(md.contains("**FAIL**") && md.contains(failing));
}

#[test]
fn all_thresholds_met_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let s = suite(dir.path(), PASSING);
    let run = fidelity(["compare", "--suite", &s, "--quiet"], dir.path());
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("gate: PASS (1 of 1 checks passed)"));
}

#[test]
fn flags_override_the_suite() {
    let dir = tempfile::tempdir().unwrap();
    let s = suite(dir.path(), PASSING);
    let out = dir.path().join("flag.json");
    let run = fidelity(
        ["compare", "--suite", &s, "--quiet", "--batch-size", "8", "--gate", "pruned: label_loyalty >= 0.95", "--out", out.to_str().unwrap()],
        dir.path(),
    );
    assert_eq!(run.code, 1, "the flag's gate is added to the suite's");
    let json: Value = serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap();
    assert_eq!(json["batching"]["batch_size"], 8);
    assert_eq!(json["gate"]["checks"].as_array().unwrap().len(), 2);
}

#[test]
fn per_group_gates_on_the_interval() {
    let dir = tempfile::tempdir().unwrap();
    let s = suite(dir.path(), "[[gates]]\nmetric = \"accuracy_drop\"\nmax = 0.03\nscope = \"every-group\"\njudge = \"interval\"\n");
    let run = fidelity(["compare", "--suite", &s, "--quiet"], dir.path());
    let json: Value = serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/r.json")).unwrap()).unwrap();
    let checks = json["gate"]["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 12, "6 topics x 2 students");
    for c in checks {
        let i = &c["interval"];
        let expected = i["lower"].as_f64().unwrap() <= 0.03;
        assert_eq!(c["passed"].as_bool().unwrap(), expected, "{c}");
        assert_eq!(c["judged_on"], "interval");
    }
    // pruned loses ~10 points on some topics: clearly beyond 3 points.
    assert_eq!(run.code, 1);
}

#[test]
fn invalid_suites_name_the_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("bad.toml");
    std::fs::write(&s, "name = \"x\"\n[evaluation]\nbatch_sise = 8\n").unwrap();
    let run = fidelity(["compare", "--suite", s.to_str().unwrap(), "--quiet"], dir.path());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("bad.toml, line 3") && run.stderr.contains("batch_sise"), "{}", run.stderr);
    let s = suite(dir.path(), "[[gates]]\nmetric = \"loyalty\"\nmin = 0.9\n");
    let run = fidelity(["compare", "--suite", &s, "--quiet"], dir.path());
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("unknown metric 'loyalty'") && run.stderr.contains("label_loyalty"), "{}", run.stderr);
}

#[test]
fn dataset_text_is_escaped_in_the_html_report() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("xss.jsonl");
    let mut lines: Vec<String> = std::fs::read_to_string(fixture("tweets/test.jsonl")).unwrap().lines().take(200).map(String::from).collect();
    // Put the script into every text, so whichever examples disagree, it is shown.
    for l in lines.iter_mut() {
        let mut v: Value = serde_json::from_str(l).unwrap();
        let t = v["text"].as_str().unwrap().to_string();
        v["text"] = Value::String(format!("<script>alert(1)</script> {t}"));
        *l = v.to_string();
    }
    std::fs::write(&data, lines.join("\n")).unwrap();
    let html = dir.path().join("r.html");
    let f = |p: &str| fixture(&format!("tweets/{p}"));
    let run = fidelity(
        ["compare", &f("teacher.onnx"), &f("pruned.onnx"), "--data", data.to_str().unwrap(), "--html", html.to_str().unwrap(), "--quiet", "--bootstrap", "0"],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let page = std::fs::read_to_string(html).unwrap();
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!page.contains("<script>alert(1)"));
    assert_eq!(page.matches("<script>").count(), 1, "only the page's own script");
}

use crate::freshness::normalised;

/// Drops the parts between timing markers (measured speed differs run to run) and between machine
/// markers (the CPU, compared through the JSON's kernel classes instead).
fn without_timings(text: &str) -> String {
    let text = strip_between(text, "<!-- timing:start -->", "<!-- timing:end -->");
    strip_between(&text, "<!-- machine:start -->", "<!-- machine:end -->")
}

/// `text` without every part from `start` to the next `end`, markers included.
pub(crate) fn strip_between(text: &str, start: &str, end: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(start) {
        out.push_str(&rest[..at]);
        rest = rest[at..].split_once(end).map_or("", |(_, after)| after);
    }
    out + rest
}

/// The language-model suite has a test of its own (below): scripts/test-kernel-classes.sh leaves it
/// out on emulated AVX2, where qemu takes over 20 minutes for what runs here in 4 seconds.
const LANGUAGE_MODEL_SUITE: &str = "lm";

/// The image suite too (tests/cli/vision.rs): its pixel-space attack and corruptions run 20 s here
/// and over 10 minutes under qemu.
pub(crate) const IMAGE_SUITE: &str = "fashion";

#[test]
fn committed_reports_match_a_fresh_regeneration() {
    let dir = tempfile::tempdir().unwrap();
    // The shipped suites: suites/*.toml (suites/real/minilm.toml needs models a script builds: tests/cli/minilm.rs).
    let mut suites: Vec<_> = std::fs::read_dir(root().join("suites"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "toml"))
        .filter(|p| p.file_stem().is_some_and(|s| s != LANGUAGE_MODEL_SUITE && s != IMAGE_SUITE))
        .collect();
    suites.sort();
    assert!(suites.len() >= 2);
    for suite in suites {
        let name = suite.file_stem().unwrap().to_string_lossy().into_owned();
        assert_committed_report_is_fresh(&format!("suites/{name}.toml"), &name, dir.path());
    }
}

#[test]
fn committed_language_model_report_matches_a_fresh_regeneration() {
    let dir = tempfile::tempdir().unwrap();
    let name = LANGUAGE_MODEL_SUITE;
    let report = assert_committed_report_is_fresh(&format!("suites/{name}.toml"), name, dir.path());
    assert_eq!(report["task"], "causal_lm", "suites/{name}.toml is the language-model suite");
}

/// Runs `suite` (relative to the repository) writing its reports into `dir`, checks that
/// `reports/{name}.*` are what this machine makes of it (tests/cli/freshness.rs: exact on the same
/// kernel class; across classes everything that does not depend on the kernel path), and returns
/// the fresh JSON report.
pub(crate) fn assert_committed_report_is_fresh(suite: &str, name: &str, dir: &std::path::Path) -> Value {
    let (committed, fresh) = regenerate(suite, name, dir);
    assert_fresh(name, committed, fresh, false)
}

fn assert_fresh(name: &str, committed: Reports, fresh: Reports, rebuilt: bool) -> Value {
    let outcome = crate::freshness::compare(&committed.json, &fresh.json, rebuilt)
        .unwrap_or_else(|at| panic!("reports/{name}.json is stale at {at}: run scripts/regenerate-reports.sh"));
    if outcome.not_exact.is_empty() {
        for (ext, (a, b)) in ["md", "html", "junit.xml"].iter().zip(committed.texts.iter().zip(&fresh.texts)) {
            assert!(without_timings(a) == without_timings(b), "reports/{name}.{ext} is stale: run scripts/regenerate-reports.sh");
        }
    } else {
        let class = |r: &Value| r["machine"]["kernels"]["class"].as_str().unwrap_or("unknown").to_string();
        eprintln!(
            "reports/{name}: made on kernel class {}, this machine is {}; compared all else exactly; {}; the .md, .html and .junit.xml files render those numbers and were not compared",
            class(&committed.json),
            class(&fresh.json),
            outcome.not_exact.iter().cloned().collect::<Vec<_>>().join("; ")
        );
    }
    fresh.json
}

/// For a suite whose models a script builds on the test machine (MiniLM): ONNX Runtime's float
/// kernels differ by CPU, so a head trained on another CPU's embeddings differs in its last bits
/// and so do the model files. Built here from the same bytes, the report is checked as for
/// committed fixtures; built from other bytes (another CPU kind), every model's numbers are
/// compared as across fp32 kernel families (and not at all where integer kernels differ), and
/// everything but the file hashes must be equal. Returns the fresh JSON.
pub(crate) fn assert_committed_report_is_current_for_built_models(suite: &str, name: &str, dir: &std::path::Path) -> Value {
    let (mut committed, mut fresh) = regenerate(suite, name, dir);
    let hashes = |v: &Value| collect_strings_named(v, "sha256");
    let rebuilt = hashes(&committed.json) != hashes(&fresh.json);
    if rebuilt {
        eprintln!("{name}: the models built here differ from the ones reports/{name}.json was made with (another CPU kind)");
        remove_named(&mut committed.json, "sha256");
        remove_named(&mut fresh.json, "sha256");
    }
    assert_fresh(name, committed, fresh, rebuilt)
}

struct Reports {
    json: Value,
    /// Markdown, HTML and JUnit, in that order.
    texts: Vec<String>,
}

/// The committed reports/{name}.* and a fresh run of the suite into `dir`.
fn regenerate(suite: &str, name: &str, dir: &std::path::Path) -> (Reports, Reports) {
    let out = |ext: &str| dir.join(format!("{name}.{ext}")).to_string_lossy().into_owned();
    let run = fidelity(
        ["compare", "--suite", suite, "--quiet", "--out", &out("json"), "--markdown", &out("md"), "--html", &out("html"), "--junit", &out("junit.xml")],
        &root(),
    );
    assert!(run.code == 0 || run.code == 1, "{name}: {}", run.stderr);
    let committed = |ext: &str| {
        std::fs::read_to_string(root().join(format!("reports/{name}.{ext}")))
            .unwrap_or_else(|_| panic!("reports/{name}.{ext} is missing: run scripts/regenerate-reports.sh"))
    };
    let fresh = |ext: &str| std::fs::read_to_string(out(ext)).unwrap();
    let texts = |read: &dyn Fn(&str) -> String| ["md", "html", "junit.xml"].iter().map(|e| read(e)).collect();
    (
        Reports { json: serde_json::from_str(&committed("json")).unwrap(), texts: texts(&committed) },
        Reports { json: serde_json::from_str(&fresh("json")).unwrap(), texts: texts(&fresh) },
    )
}

fn collect_strings_named(v: &Value, key: &str) -> Vec<String> {
    let mut found = Vec::new();
    fn walk(v: &Value, key: &str, found: &mut Vec<String>) {
        match v {
            Value::Object(m) => m.iter().for_each(|(k, x)| match x {
                Value::String(s) if k == key => found.push(s.clone()),
                _ => walk(x, key, found),
            }),
            Value::Array(a) => a.iter().for_each(|x| walk(x, key, found)),
            _ => {}
        }
    }
    walk(v, key, &mut found);
    found
}

fn remove_named(v: &mut Value, key: &str) {
    match v {
        Value::Object(m) => {
            m.remove(key);
            m.values_mut().for_each(|x| remove_named(x, key));
        }
        Value::Array(a) => a.iter_mut().for_each(|x| remove_named(x, key)),
        _ => {}
    }
}

#[test]
fn the_committed_schema_is_current_and_reports_follow_it() {
    let run = fidelity(["schema"], &root());
    assert_eq!(run.code, 0);
    let committed = std::fs::read_to_string(root().join("reports/report.schema.json")).unwrap();
    assert!(committed == run.stdout, "reports/report.schema.json is stale: run scripts/regenerate-reports.sh");
    let schema: Value = serde_json::from_str(&committed).unwrap();
    assert!(schema["title"].as_str().unwrap().contains(&format!("schema version {}", fidelity::report::SCHEMA_VERSION)));
    // Every top-level field of a real report is described by the schema, and vice versa.
    let report: Value = serde_json::from_str(&std::fs::read_to_string(root().join("reports/tweets.json")).unwrap()).unwrap();
    let mut in_report: Vec<&String> = report.as_object().unwrap().keys().collect();
    let mut in_schema: Vec<&String> = schema["properties"].as_object().unwrap().keys().collect();
    in_report.sort();
    in_schema.sort();
    assert_eq!(in_report, in_schema);
    assert_eq!(report["schema_version"], fidelity::report::SCHEMA_VERSION);
}

#[test]
fn thread_counts_do_not_change_the_numbers() {
    let f = |p: &str| fixture(p);
    for (models, data, extra) in [
        (["tweets/teacher.onnx", "tweets/pruned.onnx", "tweets/int8.onnx"], "tweets/test.jsonl", vec!["--group-column", "topic", "--attack-n", "30"]),
        (["adult/teacher.onnx", "adult/pruned.onnx", "adult/int8.onnx"], "adult/test.npz", vec!["--group-column", "sex", "--group-column", "race"]),
    ] {
        let run = |threads: &str| {
            let mut args: Vec<String> = models.iter().map(|m| f(m)).collect();
            args.extend(["--data".to_string(), f(data), "--threads".into(), threads.into(), "--no-speed".into(), "--bootstrap".into(), "300".into()]);
            args.extend(extra.iter().map(|s| s.to_string()));
            crate::util::compare_report(&args.iter().map(String::as_str).collect::<Vec<_>>()).1
        };
        let (one, two) = (normalised(run("1")), normalised(run("2")));
        assert!(one == two, "{data}: results differ between 1 and 2 threads");
    }
}

#[test]
fn an_interrupted_run_keeps_the_finished_students_marked_incomplete() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let f = |p: &str| fixture(&format!("tweets/{p}"));
    // A long attack phase after the students' fidelity: the run is killed during it.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_fidelity"))
        .env("FIDELITY_CACHE", crate::util::own_output_cache())
        .args([
            "compare",
            &f("teacher.onnx"),
            &f("pruned.onnx"),
            &f("int8.onnx"),
            "--data",
            &f("test.jsonl"),
            "--attack-n",
            "2000",
            "--no-speed",
            "--bootstrap",
            "0",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let students = |v: &Value| v["students"].as_array().map_or(0, Vec::len);
    loop {
        let written: Option<Value> = std::fs::read_to_string(&out).ok().and_then(|t| serde_json::from_str(&t).ok());
        if written.as_ref().is_some_and(|v| students(v) == 2) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no report with both students appeared");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).expect("the report on disk is whole JSON");
    assert_eq!(report["complete"], false, "killed during the attacks: marked incomplete");
    assert_eq!(students(&report), 2);
    assert!(report["students"][1]["fidelity"]["label_loyalty"].is_number(), "finished students keep their results");
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).filter(|n| n.to_string_lossy().ends_with(".tmp")).collect();
    assert!(leftovers.is_empty(), "no half-written files: {leftovers:?}");
}

#[test]
fn two_runs_with_the_same_seed_give_byte_identical_json_apart_from_timings() {
    let dir = tempfile::tempdir().unwrap();
    let run = |name: &str| {
        let out = dir.path().join(name);
        let other = |ext: &str| dir.path().join(format!("{name}.{ext}")).to_string_lossy().into_owned();
        // Every output goes to the temp dir: the suite would otherwise rewrite reports/.
        let (md, html, junit) = (other("md"), other("html"), other("xml"));
        let r = fidelity(
            [
                "compare",
                "--suite",
                "suites/tweets.toml",
                "--quiet",
                "--out",
                out.to_str().unwrap(),
                "--markdown",
                &md,
                "--html",
                &html,
                "--junit",
                &junit,
                "--seed",
                "3",
            ],
            &root(),
        );
        assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
        std::fs::read_to_string(out).unwrap()
    };
    let (a, b) = (run("a.json"), run("b.json"));
    // Timing fields hold numbers only; drop those lines and the rest must match byte for byte.
    let strip = |text: &str| -> String {
        let v: Value = serde_json::from_str(text).unwrap();
        serde_json::to_string_pretty(&normalised(v)).unwrap()
    };
    assert_eq!(strip(&a), strip(&b));
    assert!(a.len() > 10_000);
}
