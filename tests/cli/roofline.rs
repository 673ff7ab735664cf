//! The systems view (issue 17, parts 1, 2 and 4): the machine's peaks, measured once and cached;
//! one roofline point per model and batch size, consistent with the size and speed it comes from;
//! energy from RAPL counters where they exist, and the reason where they do not.
//!
//! No figure here is compared with a number made on another machine: the tests check how the
//! figures relate to each other (the roofline's arithmetic, the cache's round trip, joules that a
//! fake counter fed), never their size.

use crate::util::{command, fixture, student};
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// A small, quick speed measurement of the tweets teacher and its int8 student, with `env` set.
fn speed_run(env: &[(&str, &Path)]) -> (Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.json");
    let f = |p: &str| fixture(&format!("tweets/{p}"));
    let mut cmd = command();
    cmd.args(["compare", &f("teacher.onnx"), &format!("int8={}", f("int8.onnx")), "--data", &f("test.jsonl"), "--bootstrap", "0"]);
    cmd.args(["--speed-batch-sizes", "1,8,32", "--speed-examples", "64", "--speed-repetitions", "3", "--out", out.to_str().unwrap()]);
    cmd.current_dir(dir.path()).envs(env.iter().map(|(k, v)| (k, v.as_os_str())));
    let run = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    assert!(run.status.success(), "fidelity failed:\n{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    (serde_json::from_str(&std::fs::read_to_string(out).unwrap()).unwrap(), stdout)
}

/// The ONNX Runtime library this machine's runs load, so that a run with its own cache directory
/// does not fetch another copy.
fn library() -> std::path::PathBuf {
    let (_, report) = crate::util::compare_report(&[&fixture("tweets/teacher.onnx"), &fixture("tweets/int8.onnx"), "--data", &fixture("tweets/test.jsonl"), "--no-speed", "--bootstrap", "0"]);
    report["runtime"]["library"].as_str().unwrap().into()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs())
}

/// Every roofline point follows from the model's size, its measured throughput and the peaks.
fn assert_roofline_consistent(model: &Value, peaks: &Value) {
    let (size, speed, roofline) = (&model["size"], &model["speed"], &model["roofline"]);
    let name = &model["name"];
    let flops = f(&size["flops_per_example"]);
    let int8 = f(&size["integer_flops_per_example"]) > flops / 2.0;
    assert_eq!(roofline["roof"], if int8 { "int8" } else { "fp32" }, "{name}");
    let peak = f(&peaks[if int8 { "int8_ops_per_second" } else { "fp32_flops_per_second" }]);
    let bandwidth = f(&peaks["memory_bytes_per_second"]);
    assert!(close(f(&roofline["compute_peak"]), peak) && close(f(&roofline["ridge_intensity"]), peak / bandwidth), "{name}: {roofline}");
    let throughput = speed["throughput"].as_array().unwrap();
    let points = roofline["points"].as_array().unwrap();
    assert_eq!(points.len(), throughput.len(), "{name}: a point per measured batch size");
    let traffic = &size["traffic"];
    for (p, t) in points.iter().zip(throughput) {
        let b = t["batch_size"].as_u64().unwrap();
        assert_eq!(p["batch_size"].as_u64(), Some(b));
        let bytes = f(&traffic["weight_bytes"]) / b as f64 + f(&traffic["activation_bytes_per_example"]);
        assert!(close(f(&p["bytes_per_example"]), bytes), "{name} @{b}: weights read once per batch, activations per example: {p}");
        let intensity = flops / bytes;
        let achieved = flops * f(&t["examples_per_second"]["median"]);
        let attainable = peak.min(intensity * bandwidth);
        assert!(close(f(&p["arithmetic_intensity"]), intensity) && close(f(&p["achieved_flops_per_second"]), achieved), "{name} @{b}: {p}");
        assert!(close(f(&p["attainable_flops_per_second"]), attainable) && close(f(&p["share_of_roof"]), achieved / attainable), "{name} @{b}: {p}");
        assert_eq!(p["bound"], if intensity < peak / bandwidth { "memory" } else { "compute" }, "{name} @{b}");
    }
}

#[test]
fn peaks_are_measured_once_cached_and_every_roofline_point_follows_from_size_speed_and_peaks() {
    let cache = tempfile::tempdir().unwrap();
    let lib = library();
    let env = [("FIDELITY_CACHE_DIR", cache.path()), ("ORT_DYLIB_PATH", lib.as_path())];
    let (first, stdout) = speed_run(&env);
    let peaks = &first["peaks"];
    assert_eq!(peaks["from_cache"], false, "{peaks}");
    let file = peaks["cache_file"].as_str().unwrap();
    assert!(Path::new(file).starts_with(cache.path().join("peaks")) && Path::new(file).exists(), "{file}");
    for key in ["fp32_flops_per_second", "int8_ops_per_second", "memory_bytes_per_second"] {
        assert!(f(&peaks[key]) > 0.0, "{key}: {peaks}");
    }
    assert!(peaks["method"]["runs"].as_array().unwrap().iter().all(|r| r.as_u64() >= Some(3)), "{peaks}");
    assert!(stdout.contains("machine peaks: fp32 GEMM") && stdout.contains("measured now, cached in"), "{stdout}");
    assert!(stdout.contains("roofline: teacher memory-bound") || stdout.contains("roofline: teacher compute-bound"), "{stdout}");
    assert_roofline_consistent(&first["teacher"], peaks);
    assert_roofline_consistent(&student(&first, "int8")["model"], peaks);

    // The second run reads the same figures back instead of measuring again.
    let (second, stdout) = speed_run(&env);
    assert_eq!(second["peaks"]["from_cache"], true);
    assert!(stdout.contains(&format!("read from {file}")), "{stdout}");
    for key in ["fp32_flops_per_second", "int8_ops_per_second", "memory_bytes_per_second", "method"] {
        assert_eq!(second["peaks"][key], peaks[key], "{key}");
    }
    assert_roofline_consistent(&second["teacher"], &second["peaks"]);

    // `fidelity machine --peaks` prints the same cached figures, and says where they are kept.
    let machine = command().args(["machine", "--peaks"]).envs(env.iter().map(|(k, v)| (k, v.as_os_str()))).output().unwrap();
    let text = String::from_utf8_lossy(&machine.stdout);
    assert!(machine.status.success() && text.contains("machine peaks: fp32 GEMM") && text.contains(&format!("read from {file}")), "{text}{}", String::from_utf8_lossy(&machine.stderr));
    let json = command().args(["machine", "--peaks", "--json"]).envs(env.iter().map(|(k, v)| (k, v.as_os_str()))).output().unwrap();
    let json: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(json["peaks"]["fp32_flops_per_second"], peaks["fp32_flops_per_second"]);
    assert!(json["kernels"]["class"].is_string(), "the machine block is still there: {json}");

    // Plausible against the CPU's own nominal peak (cores × clock × FLOPs per cycle): a GEMM cannot
    // run faster than the arithmetic units allow (twice it, for a turbo clock above the one stated).
    if let Some(nominal) = peaks["nominal"]["fp32_flops_per_second"].as_f64() {
        assert!(f(&peaks["fp32_flops_per_second"]) <= 2.0 * nominal, "measured above the nominal peak: {peaks}");
        assert!(stdout.contains("of the nominal"), "{stdout}");
    }

    // A damaged cache file is measured again and rewritten, not trusted and not fatal.
    std::fs::write(file, "{ not json").unwrap();
    let (third, _) = speed_run(&env);
    assert_eq!(third["peaks"]["from_cache"], false);
    let rewritten: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(rewritten["fp32_flops_per_second"], third["peaks"]["fp32_flops_per_second"]);

    // Without a speed measurement there is nothing to put on a roofline, and no peaks are measured.
    let (_, quiet) = crate::util::compare_report(&[&fixture("tweets/teacher.onnx"), &fixture("tweets/int8.onnx"), "--data", &fixture("tweets/test.jsonl"), "--no-speed", "--bootstrap", "0"]);
    assert!(quiet["peaks"].is_null() && quiet["teacher"]["roofline"].is_null() && quiet["energy"].is_null(), "{}", quiet["peaks"]);
}

/// A powercap tree with one RAPL package, whose counter a thread advances until the run ends.
struct FakeRapl {
    root: tempfile::TempDir,
    stop: std::sync::Arc<AtomicBool>,
    feeder: Option<std::thread::JoinHandle<()>>,
}

impl FakeRapl {
    fn start(microjoules_per_step: u64) -> Self {
        let root = tempfile::tempdir().unwrap();
        let zone = root.path().join("intel-rapl:0");
        std::fs::create_dir_all(&zone).unwrap();
        std::fs::write(zone.join("name"), "package-0\n").unwrap();
        std::fs::write(zone.join("max_energy_range_uj"), "262143328850\n").unwrap();
        std::fs::write(zone.join("energy_uj"), "1000\n").unwrap();
        // A core subzone: part of its package, so it must not be added again.
        std::fs::create_dir_all(root.path().join("intel-rapl:0:0")).unwrap();
        std::fs::write(root.path().join("intel-rapl:0:0/name"), "core\n").unwrap();
        std::fs::write(root.path().join("intel-rapl:0:0/max_energy_range_uj"), "262143328850\n").unwrap();
        std::fs::write(root.path().join("intel-rapl:0:0/energy_uj"), "5\n").unwrap();
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let (flag, counter) = (stop.clone(), zone.join("energy_uj"));
        let feeder = std::thread::spawn(move || {
            let mut uj = 1000u64;
            while !flag.load(Ordering::Relaxed) {
                uj += microjoules_per_step;
                // Written whole (temp file + rename): a reader never sees half a number.
                let tmp = counter.with_extension("tmp");
                std::fs::write(&tmp, format!("{uj}\n")).unwrap();
                std::fs::rename(&tmp, &counter).unwrap();
                std::thread::sleep(std::time::Duration::from_micros(50));
            }
        });
        Self { root, stop, feeder: Some(feeder) }
    }
}

impl Drop for FakeRapl {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(f) = self.feeder.take() {
            let _ = f.join();
        }
    }
}

#[test]
fn energy_comes_from_rapl_packages_where_the_counters_exist_and_says_why_not_where_they_do_not() {
    let rapl = FakeRapl::start(500);
    let (report, stdout) = speed_run(&[("FIDELITY_POWERCAP_ROOT", rapl.root.path())]);
    drop(rapl);
    let source = &report["energy"];
    assert_eq!(source["meter"], "intel-rapl", "{source}");
    assert_eq!(source["domains"], serde_json::json!(["package-0"]), "the core subzone is part of its package: {source}");
    assert!(source["reason"].is_null(), "{source}");
    // The feeder thread advances the counter on its own clock, so a short round on a loaded machine
    // may see no step (0 J): every figure is ≥ 0 and ordered, and the whole run saw joules. (The
    // exact arithmetic is checked with a counting meter in src/speed's unit tests.)
    let mut joules_seen = 0.0;
    for model in [&report["teacher"], &student(&report, "int8")["model"]] {
        let speed = &model["speed"];
        let e = &speed["energy"];
        let (median, lo, hi) = (f(&e["joules_per_example"]["median"]), f(&e["joules_per_example"]["min"]), f(&e["joules_per_example"]["max"]));
        assert!(0.0 <= lo && lo <= median && median <= hi, "{}: {e}", model["name"]);
        joules_seen += speed["throughput"].as_array().unwrap().iter().map(|t| f(&t["energy"]["joules_per_example"]["max"])).sum::<f64>();
        assert!(close(f(&e["wh_per_million_examples"]), median * 1e6 / 3600.0), "{e}");
        let at = speed["speedup_batch_size"].as_u64().unwrap();
        let point = speed["throughput"].as_array().unwrap().iter().find(|t| t["batch_size"].as_u64() == Some(at)).unwrap();
        assert_eq!(&point["energy"], e, "the headline figure is the one at the speedup batch size");
    }
    assert!(joules_seen > 0.0, "the counter advanced during the run, and the report saw it");
    assert!(stdout.contains("energy (intel-rapl: package-0): teacher ") && stdout.contains("mJ/example"), "{stdout}");

    let missing = tempfile::tempdir().unwrap();
    let nowhere = missing.path().join("powercap");
    let (report, stdout) = speed_run(&[("FIDELITY_POWERCAP_ROOT", nowhere.as_path())]);
    let reason = report["energy"]["reason"].as_str().unwrap();
    assert!(report["energy"]["meter"].is_null() && reason.contains("does not exist") && reason.contains(nowhere.to_str().unwrap()), "{reason}");
    assert!(report["teacher"]["speed"]["energy"].is_null() && student(&report, "int8")["model"]["speed"]["energy"].is_null());
    assert!(stdout.contains("energy: not available on this machine: RAPL:"), "{stdout}");
}
