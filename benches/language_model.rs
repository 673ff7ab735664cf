//! Language-model comparison against its floor: the same windows tokenized once and run through
//! ONNX Runtime (teacher and one student), with nothing computed from the logits.
//!
//! Run: `cargo bench --bench language_model`. On the fixtures/lm/ teacher and its int8 student
//! (0.9M parameters, a 2,048-token vocabulary), Persuasion chapters 1-4 as JSONL, context 128,
//! every token scored, 4 windows per batch; then, when `benches/python/make_bench_lm.py` has
//! written it, on the same graph at a realistic size (d = 768, 6 layers, 8,192 tokens, 55M
//! parameters, random weights) and its int8 student, on the first 24 paragraphs:
//! - floor: tokenize every document once, cut the windows, run teacher and student per batch;
//! - fidelity: `compare` as a user runs it (`--bootstrap 0`, and with the default 1,000 resamples),
//!   report written to a temporary folder.
//!
//! Rounds alternate (floor, fidelity, fidelity with intervals) 7 times; each figure is the median,
//! and the ratios are fidelity / floor.

use fidelity::cli::CompareArgs;
use fidelity::lm::model::LmModel;
use fidelity::lm::windows::{windows, ScoreFrom};
use fidelity::model::{Device, Runtime};
use fidelity::plan::language_model::LmPlan;
use std::path::PathBuf;
use std::time::Instant;

fn fixture(f: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/lm").join(f)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

struct Case {
    name: &'static str,
    teacher: PathBuf,
    student: PathBuf,
    data: PathBuf,
    rounds: usize,
}

fn floor(runtime: &Runtime, case: &Case) -> f64 {
    let started = Instant::now();
    let tokenizer = tokenizers::Tokenizer::from_file(fixture("tokenizer.json")).unwrap();
    let texts: Vec<String> = std::fs::read_to_string(&case.data)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["text"].as_str().unwrap().to_string())
        .collect();
    let settings = Default::default();
    let mut teacher = LmModel::load(runtime, "teacher", &case.teacher, Device::Cpu, &settings).unwrap();
    let mut student = LmModel::load(runtime, "int8", &case.student, Device::Cpu, &settings).unwrap();
    let encoded = tokenizer.encode_batch(texts, true).unwrap();
    let all: Vec<_> = encoded.iter().enumerate().flat_map(|(d, e)| windows(d, e.get_ids(), 128, 128, ScoreFrom::Index(1))).collect();
    let mut checksum = 0.0f32;
    for batch in all.chunks(4) {
        let refs: Vec<_> = batch.iter().collect();
        checksum += teacher.run(&refs).unwrap().data[0] + student.run(&refs).unwrap().data[0];
    }
    std::hint::black_box(checksum);
    started.elapsed().as_secs_f64()
}

fn fidelity_run(runtime: &Runtime, case: &Case, out: &std::path::Path, bootstrap: usize) -> f64 {
    let args = CompareArgs {
        teacher: Some(case.teacher.to_string_lossy().into_owned()),
        students: vec![format!("int8={}", case.student.display())],
        data: Some(case.data.clone()),
        tokenizer: Some(fixture("tokenizer.json")),
        context: Some(128),
        score_from: Some("1".into()),
        batch_size: Some(4),
        bootstrap: Some(bootstrap),
        out: Some(out.join("lm.json")),
        quiet: true,
        ..Default::default()
    };
    let started = Instant::now();
    let plan = LmPlan::from_args(&args).unwrap();
    fidelity::pipeline::language_model::run_with(&plan, runtime).unwrap();
    started.elapsed().as_secs_f64()
}

fn main() {
    let runtime = Runtime::load(None, None).expect("ONNX Runtime");
    let dir = tempfile::tempdir().unwrap();
    let mut cases = vec![Case {
        name: "fixture LM (0.9M parameters, vocabulary 2,048)",
        teacher: fixture("teacher.onnx"),
        student: fixture("int8.onnx"),
        data: fixture("persuasion.jsonl"),
        rounds: 7,
    }];
    let big = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-lm");
    if big.join("int8.onnx").is_file() {
        let data = dir.path().join("first-24.jsonl");
        let rows: Vec<String> = std::fs::read_to_string(fixture("persuasion.jsonl")).unwrap().lines().take(24).map(String::from).collect();
        std::fs::write(&data, rows.join("\n")).unwrap();
        cases.push(Case {
            name: "55M-parameter LM (d 768, 6 layers, vocabulary 8,192)",
            teacher: big.join("teacher.onnx"),
            student: big.join("int8.onnx"),
            data,
            rounds: 3,
        });
    } else {
        println!("(no target/bench-lm: run benches/python/make_bench_lm.py for the realistic-size case)");
    }
    for case in &cases {
        let (mut f, mut plain, mut with_intervals) = (vec![], vec![], vec![]);
        for _ in 0..case.rounds {
            f.push(floor(&runtime, case));
            plain.push(fidelity_run(&runtime, case, dir.path(), 0));
            with_intervals.push(fidelity_run(&runtime, case, dir.path(), 1000));
        }
        let (f, p, i) = (median(f), median(plain), median(with_intervals));
        println!("{}:", case.name);
        println!("  floor (tokenize once + ONNX Runtime, teacher and int8): {:.3} s", f);
        println!("  fidelity compare, --bootstrap 0:                        {:.3} s  ({:.2}x the floor)", p, p / f);
        println!("  fidelity compare, 1,000 resamples:                      {:.3} s  ({:.2}x the floor)", i, i / f);
    }
}
