//! Causal language models (issue 34): the Jane Austen LM of fixtures/lm/ (fixtures/make_lm.py)
//! against its int8, int4, fp16 and pruned students. Every statistic fidelity reports is checked
//! against fixtures/lm_reference.py (onnxruntime + numpy, llama.cpp's formulas written from their
//! definitions), made on this machine by scripts/golden.sh, to 1e-9; the bootstrap intervals over
//! windows too (the reference redraws fidelity's Poisson weights from the same hash).

use crate::util::{fidelity, fixture, golden, root};
use serde_json::Value;

const STUDENTS: [&str; 4] = ["int8", "int4", "fp16", "pruned"];

fn lm(file: &str) -> String {
    fixture(&format!("lm/{file}"))
}

fn run(extra: &[&str]) -> (crate::util::Run, Option<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lm.json");
    let mut args: Vec<String> = vec!["compare".into(), lm("teacher.onnx")];
    args.extend(STUDENTS.iter().map(|s| format!("{s}={}", lm(&format!("{s}.onnx")))));
    args.extend(extra.iter().map(|s| s.to_string()));
    args.extend(["--out".into(), out.to_string_lossy().into_owned()]);
    let run = fidelity(&args, &root());
    let report = std::fs::read_to_string(&out).ok().map(|t| serde_json::from_str(&t).unwrap());
    (run, report)
}

/// |a − b| ≤ 1e-9 · max(1, |b|): PPL is about 70, the rest below 1.
#[track_caller]
fn close(a: &Value, b: &Value, what: &str) {
    let (x, y) = (a.as_f64().unwrap_or_else(|| panic!("{what}: {a} is not a number")), b.as_f64().unwrap());
    assert!((x - y).abs() <= 1e-9 * y.abs().max(1.0), "{what}: fidelity {x}, reference {y}");
}

fn estimate(a: &Value, b: &Value, what: &str) {
    close(&a["value"], &b[0], what);
    close(&a["token_sigma"], &b[1], &format!("{what} ±"));
}

fn percentiles(a: &Value, b: &Value, what: &str) {
    for key in ["max", "median", "min"] {
        close(&a[key], &b[key], &format!("{what} {key}"));
    }
    let (a, b) = (a["at"].as_array().unwrap(), b["at"].as_array().unwrap());
    assert_eq!(a.len(), b.len(), "{what}");
    for (x, y) in a.iter().zip(b) {
        close(&x[0], &y[0], &format!("{what} fraction"));
        close(&x[1], &y[1], &format!("{what} at {}", y[0]));
    }
}

fn interval(got: &Value, want: &Value, what: &str) {
    close(&got["lower"], &want[0], &format!("{what} lower"));
    close(&got["upper"], &want[1], &format!("{what} upper"));
}

/// The bootstrap over windows, against the reference's resamples (the same Poisson hash).
fn intervals(got: &Value, want: &Value, what: &str) {
    assert_eq!(got["unit"], "window", "{what}");
    for (k, w) in want.as_object().unwrap() {
        if k == "kld" {
            for (g, w) in got["kld"].as_array().unwrap().iter().zip(w.as_array().unwrap()) {
                close(&g[0], &w[0], &format!("{what} kld fraction"));
                interval(&g[1], &w[1], &format!("{what} kld at {}", w[0]));
            }
        } else {
            interval(&got[k], w, &format!("{what} {k}"));
        }
    }
}

fn check_case(case: &str, extra: &[&str]) {
    let reference = &golden("lm")[case];
    let (run, report) = run(extra);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    let report = report.unwrap();
    assert_eq!(report["task"], "causal_lm");
    for key in ["documents", "windows", "scored_positions"] {
        assert_eq!(report["data"][key], reference["data"][key], "{case}: {key}");
    }
    for name in STUDENTS {
        let student = report["students"].as_array().unwrap().iter().find(|s| s["model"]["name"] == name).unwrap_or_else(|| panic!("no student {name}"));
        let want = &reference["students"][name];
        statistics(&student["tokens"], want, &format!("{case} {name}"));
        if let Some(want) = want.get("intervals") {
            intervals(&student["tokens"]["intervals"], want, &format!("{case} {name} interval"));
        }
        // The long tail: every bucket of every breakdown, and the worst one named.
        let got: Vec<&Value> = student["breakdowns"].as_array().unwrap().iter().collect();
        let want = want["breakdowns"].as_object().unwrap();
        let by: std::collections::BTreeSet<&str> = got.iter().map(|b| b["by"].as_str().unwrap()).collect();
        assert_eq!(by, want.keys().map(String::as_str).collect(), "{case} {name}: breakdowns");
        for b in got {
            let by = b["by"].as_str().unwrap();
            let w = &want[by];
            assert_eq!(b["worst"], w["worst"], "{case} {name} worst by {by}");
            let (gb, wb) = (b["buckets"].as_array().unwrap(), w["buckets"].as_array().unwrap());
            assert_eq!(gb.iter().map(|x| &x["name"]).collect::<Vec<_>>(), wb.iter().map(|x| &x["name"]).collect::<Vec<_>>(), "{case} {name} buckets by {by}");
            for (g, w) in gb.iter().zip(wb) {
                assert_eq!(g["positions"], w["positions"], "{case} {name} {by} {}", w["name"]);
                statistics(&g["statistics"], &w["statistics"], &format!("{case} {name} {by} {}", w["name"]));
            }
        }
    }
}

/// Every point statistic and percentile of one student (or one bucket).
fn statistics(got: &Value, want: &Value, context: &str) {
    let what = |k: &str| format!("{context} {k}");
    assert_eq!(got["tokens"], want["tokens"], "{}", what("tokens"));
    for k in ["ppl", "ppl_teacher", "ln_ppl_ratio", "ppl_ratio", "ppl_difference", "mean_kld", "mean_delta_p", "rms_delta_p", "same_top_p"] {
        estimate(&got[k], &want[k], &what(k));
    }
    for k in [
        "nll_correlation",
        "mean_reverse_kld",
        "mean_js",
        "probability_loyalty",
        "teacher_accuracy",
        "student_accuracy",
        "negative_flip_rate",
        "positive_flip_rate",
    ] {
        close(&got[k], &want[k], &what(k));
    }
    percentiles(&got["kld"], &want["kld"], &what("kld"));
    percentiles(&got["delta_p"], &want["delta_p"], &what("delta_p"));
}

#[test]
fn every_statistic_matches_the_reference_on_plain_text_scoring_every_token() {
    // Detected from the graph (no --task): optimum-style teacher, a plain-export student.
    check_case("txt_every_token", &["--data", &lm("persuasion.txt"), "--context", "128", "--score-from", "1", "--batch-size", "4", "--bootstrap", "200"]);
}

#[test]
fn every_statistic_matches_the_reference_on_jsonl_with_overlapping_windows_scored_from_half() {
    check_case(
        "jsonl_overlap_half",
        &["--task", "causal-lm", "--data", &lm("persuasion.jsonl"), "--context", "64", "--stride", "48", "--batch-size", "3", "--group-column", "chapter"],
    );
}

#[test]
fn the_terminal_table_names_llama_cpp_statistics() {
    let (run, _) = run(&["--data", &lm("persuasion.txt"), "--context", "128", "--quiet"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    for needle in ["causal LM, 90 documents", "PPL ratio", "mean KLD", "same top p", "Δp mean / RMS", "flips: negative"] {
        assert!(run.stdout.contains(needle), "no '{needle}' in\n{}", run.stdout);
    }
}

#[test]
fn the_context_defaults_to_the_positions_of_the_teachers_config() {
    // fixtures/lm/config.json: n_positions 128, fewer than the default 512.
    let (run, report) = run(&["--data", &lm("persuasion.txt"), "--bootstrap", "0", "--quiet"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = report.unwrap();
    assert_eq!((report["data"]["context"].as_u64(), report["data"]["stride"].as_u64()), (Some(128), Some(128)));
}

#[test]
fn a_token_counts_file_sets_the_frequency_classes() {
    let dir = tempfile::tempdir().unwrap();
    // No token counted: every target is tail.
    let counts = dir.path().join("counts.json");
    std::fs::write(&counts, serde_json::to_string(&vec![0u64; 2048]).unwrap()).unwrap();
    let (run, report) = run(&["--data", &lm("persuasion.txt"), "--context", "128", "--bootstrap", "0", "--token-counts", counts.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = report.unwrap();
    assert_eq!(report["data"]["token_counts"], counts.to_str().unwrap());
    let frequency = &report["students"][0]["breakdowns"].as_array().unwrap().iter().find(|b| b["by"] == "target_frequency").unwrap()["buckets"];
    assert_eq!(frequency.as_array().unwrap().len(), 1, "{frequency}");
    assert_eq!(frequency[0]["name"], "tail");
    assert_eq!(frequency[0]["positions"], report["data"]["scored_positions"]);
    assert!(report["students"][0]["tokens"]["intervals"].is_null(), "--bootstrap 0: no intervals");
    std::fs::write(&counts, "{\"the\": 3}").unwrap();
    refused(
        &[&lm("teacher.onnx"), &lm("int8.onnx"), "--data", &lm("persuasion.txt"), "--token-counts", counts.to_str().unwrap()],
        "not a JSON array of counts",
    );
}

#[test]
fn dump_worst_writes_each_students_largest_kl_positions_with_context_and_top_fives() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("lm.json");
    let mut args = vec!["compare".to_string(), lm("teacher.onnx"), lm("int8.onnx"), lm("pruned.onnx")];
    args.extend(
        ["--data", &lm("persuasion.jsonl"), "--context", "64", "--score-from", "1", "--bootstrap", "0", "--dump-worst", "4", "--quiet", "--out"]
            .map(String::from),
    );
    args.push(out.to_string_lossy().into_owned());
    let run = fidelity(&args, &root());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let path = dir.path().join("lm.worst.jsonl");
    assert_eq!(report["data"]["worst_positions"], path.to_str().unwrap());
    let lines: Vec<Value> = std::fs::read_to_string(&path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 8);
    for (k, name) in ["int8", "pruned"].iter().enumerate() {
        let mine = &lines[4 * k..4 * k + 4];
        assert!(mine.iter().all(|l| l["student"] == *name));
        assert_eq!(mine.iter().map(|l| l["rank"].as_u64().unwrap()).collect::<Vec<_>>(), [1, 2, 3, 4]);
        let kl: Vec<f64> = mine.iter().map(|l| l["kld"].as_f64().unwrap()).collect();
        assert!(kl.windows(2).all(|w| w[0] >= w[1]), "{kl:?}");
        // The first is the run's maximum KL.
        assert_eq!(kl[0], report["students"][k]["tokens"]["kld"]["max"].as_f64().unwrap());
        for l in mine {
            assert!(l["document"].as_str().unwrap().starts_with("line "), "{l}");
            assert!(!l["context"].as_str().unwrap().is_empty());
            for side in ["teacher_top5", "student_top5"] {
                let p: Vec<f64> = l[side].as_array().unwrap().iter().map(|t| t["p"].as_f64().unwrap()).collect();
                assert!(p.len() == 5 && p.windows(2).all(|w| w[0] >= w[1]) && p.iter().sum::<f64>() <= 1.0 + 1e-12, "{side}: {p:?}");
                let target = &l["target"];
                if let Some(t) = l[side].as_array().unwrap().iter().find(|t| t["id"] == target["id"]) {
                    let key = if side == "teacher_top5" { "p_teacher" } else { "p_student" };
                    assert!((t["p"].as_f64().unwrap() - target[key].as_f64().unwrap()).abs() < 1e-12);
                }
            }
        }
    }
}

#[test]
fn gates_judge_token_metrics_overall_per_group_and_on_intervals_with_exit_codes_and_junit() {
    let dir = tempfile::tempdir().unwrap();
    let (out, junit) = (dir.path().join("lm.json"), dir.path().join("lm.junit.xml"));
    let base = |gates: &[&str]| {
        let mut args = vec!["compare".to_string(), lm("teacher.onnx"), lm("int8.onnx"), lm("pruned.onnx")];
        args.extend(
            ["--data", &lm("persuasion.jsonl"), "--group-column", "chapter", "--context", "64", "--bootstrap", "200", "--quiet", "--out"].map(String::from),
        );
        args.push(out.to_string_lossy().into_owned());
        args.extend(["--junit".to_string(), junit.to_string_lossy().into_owned()]);
        for g in gates {
            args.extend(["--gate".to_string(), g.to_string()]);
        }
        fidelity(&args, &root())
    };
    // int8 passes, pruned does not: exit 1, every check listed.
    let run = base(&["mean_kld <= 0.01", "int8: same_top_p >= 0.97 interval", "kld_p99 <= 0.1 per-group", "ppl_ratio <= 1.05", "negative_flip_rate <= 0.02"]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("verdict: fail") && run.stdout.contains("FAIL pruned · mean_kld <= 0.01"), "{}", run.stdout);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let checks = report["gate"]["checks"].as_array().unwrap();
    assert_eq!(checks.len(), 2 + 1 + 2 * 4 + 2 + 2);
    let int8 = &report["students"][0]["tokens"];
    let find = |metric: &str, student: &str, group: Option<&str>| {
        checks
            .iter()
            .find(|c| c["metric"] == metric && c["student"] == student && c["group"].as_str() == group)
            .unwrap_or_else(|| panic!("no check {metric} {student} {group:?}"))
    };
    // Values are the report's own statistics; the interval gate uses the bootstrap interval.
    assert_eq!(find("mean_kld", "int8", None)["value"], int8["mean_kld"]["value"]);
    assert_eq!(find("same_top_p", "int8", None)["interval"], int8["intervals"]["same_top_p"]);
    assert_eq!(find("same_top_p", "int8", None)["judged_on"], "interval");
    assert_eq!(find("ppl_ratio", "int8", None)["value"], int8["ppl_ratio"]["value"]);
    let chapter1 = report["students"][1]["breakdowns"].as_array().unwrap().iter().find(|b| b["by"] == "group:chapter").unwrap()["buckets"][0].clone();
    let p99 = chapter1["statistics"]["kld"]["at"].as_array().unwrap().iter().find(|a| a[0] == 0.99).unwrap()[1].clone();
    assert_eq!(find("kld_p99", "pruned", Some("chapter=chapter 1"))["value"], p99);
    assert_eq!(find("mean_kld", "pruned", None)["passed"], false);
    assert_eq!(find("mean_kld", "int8", None)["passed"], true);
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains(&format!("tests=\"{}\"", checks.len())) && xml.contains("<failure"), "{xml}");
    // Only int8, which passes: exit 0.
    let run = base(&["int8: mean_kld <= 0.01", "int8: kld_p99 <= 0.1 per-group"]);
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("verdict: pass"));
    // Metrics that are not measured on language models, and LM metrics on a classifier: exit 2.
    refused(&[&lm("teacher.onnx"), &lm("int8.onnx"), "--data", &lm("persuasion.txt"), "--gate", "batch_dependence <= 0.1"], "not measured on language models");
    refused(&[&lm("teacher.onnx"), &lm("int8.onnx"), "--data", &lm("persuasion.txt"), "--gate", "fp32: mean_kld <= 0.1"], "names student 'fp32'");
    refused(
        &[&fixture("tweets/teacher.onnx"), &fixture("tweets/int8.onnx"), "--data", &fixture("tweets/test.jsonl"), "--gate", "mean_kld <= 0.1"],
        "is for causal language models",
    );
}

#[test]
fn markdown_and_html_render_every_student_escaped_with_the_kld_charts() {
    let dir = tempfile::tempdir().unwrap();
    // A hostile group value must come out as text in every writer.
    let data = dir.path().join("docs.jsonl");
    let rows: Vec<String> = std::fs::read_to_string(lm("persuasion.jsonl"))
        .unwrap()
        .lines()
        .take(12)
        .enumerate()
        .map(|(i, l)| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            v["chapter"] = Value::from(if i % 2 == 0 { "<script>x</script> | a" } else { "plain" });
            v.to_string()
        })
        .collect();
    std::fs::write(&data, rows.join("\n")).unwrap();
    let out = |ext: &str| dir.path().join(format!("lm.{ext}")).to_string_lossy().into_owned();
    let args = [
        "compare",
        &lm("teacher.onnx"),
        &lm("int8.onnx"),
        &lm("pruned.onnx"),
        "--data",
        data.to_str().unwrap(),
        "--group-column",
        "chapter",
        "--context",
        "64",
        "--score-from",
        "1",
        "--bootstrap",
        "50",
        "--min-group-size",
        "5",
        "--quiet",
        "--out",
        &out("json"),
        "--markdown",
        &out("md"),
        "--html",
        &out("html"),
        "--gate",
        "mean_kld <= 0.01",
    ];
    let run = fidelity(args, &root());
    assert_eq!(run.code, 1, "{}", run.stderr);
    let report: Value = serde_json::from_str(&std::fs::read_to_string(out("json")).unwrap()).unwrap();
    let (md, html) = (std::fs::read_to_string(out("md")).unwrap(), std::fs::read_to_string(out("html")).unwrap());
    for name in ["int8", "pruned"] {
        assert!(md.contains(&format!("| {name} |")) && html.contains(&format!("<td>{name}</td>")), "{name} missing");
    }
    assert!(!md.contains("<script>") && !html.contains("<script>"), "unescaped group value");
    assert!(md.contains("&lt;script>x&lt;/script> \\| a") && html.contains("&lt;script&gt;x&lt;/script&gt; | a"));
    assert!(md.contains("**FAIL**") && html.contains("<strong>FAIL</strong>"));
    // One histogram per student, its bars' counts summing to the scored positions.
    assert_eq!(html.matches("<figcaption>").count(), 2);
    let histogram = report["students"][0]["tokens"]["kld_histogram"].as_array().unwrap();
    let total: u64 = histogram.iter().map(|b| b[1].as_u64().unwrap()).sum();
    assert_eq!(total, report["data"]["scored_positions"].as_u64().unwrap());
    assert!(html.contains("Mean KLD by target-token frequency") && html.matches("<svg").count() == 3);
}

pub(crate) fn refused(args: &[&str], needle: &str) {
    let mut all = vec!["compare"];
    all.extend(args);
    let run = fidelity(&all, &root());
    assert_eq!(run.code, 2, "{args:?}\n{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains(needle), "{args:?}: the error should say '{needle}':\n{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[test]
fn bad_input_is_refused_before_any_model_runs_naming_what_to_fix() {
    let (teacher, data) = (lm("teacher.onnx"), lm("persuasion.txt"));
    let other = lm("other-vocab.onnx");
    refused(&[&teacher, &other, "--data", &data, "--context", "128"], "must share the teacher's vocabulary");
    refused(&[&teacher, &lm("int8.onnx"), "--data", &data, "--score-from", "0"], "--score-from takes half");
    refused(&[&teacher, &lm("int8.onnx"), "--data", &data, "--context", "16", "--stride", "17"], "--stride between 1 and the context");
    refused(&[&teacher, &lm("int8.onnx"), "--data", &data, "--context", "2", "--score-from", "2"], "leaves nothing to score");
    refused(&[&teacher, &lm("int8.onnx"), "--data", &lm("missing.txt")], "missing.txt");
    refused(
        &[&fixture("tweets/teacher.onnx"), &fixture("tweets/int8.onnx"), "--data", &fixture("tweets/test.jsonl"), "--context", "64"],
        "--context is for causal language models",
    );
    // A classifier forced to be a language model: named, with what it lacks.
    refused(&["--task", "causal-lm", &fixture("tweets/teacher.onnx"), &fixture("tweets/int8.onnx"), "--data", &data], "not a causal language model");
}
