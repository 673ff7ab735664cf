//! Image files: fidelity's decode + preprocessing against Pillow + numpy, and the whole `compare`
//! against the Python pipeline (fixtures/image_reference.py: Pillow, numpy, onnxruntime), on the
//! 1,000 Fashion-MNIST PNGs and the five fixture models, side by side in one run.
//!
//! Run: `cargo bench --bench images` (needs scripts/golden.sh's venv, target/golden-venv, and the
//! ONNX Runtime library `fidelity compare` fetches). Figures: medians of 5 rounds, alternated.

use fidelity::data::{read_dataset, Columns, DataFormat};
use fidelity::vision::config::{resolve, ImageFlags};
use fidelity::vision::ImagePlan;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

const ROUNDS: usize = 5;
const MODELS: [&str; 5] = ["teacher", "int8", "pruned", "distilled", "mismatch"];

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn wall(cmd: &mut Command) -> f64 {
    let started = Instant::now();
    let out = cmd.output().expect("runs");
    assert!(out.status.success() || out.status.code() == Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    started.elapsed().as_secs_f64()
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let fashion = root.join("fixtures/fashion");
    let python = root.join("target/golden-venv/bin/python");
    assert!(python.is_file(), "run scripts/golden.sh once (any case) to make target/golden-venv");
    let columns = Columns { text: None, ..Columns::default() };
    let data = read_dataset(&fashion.join("images"), DataFormat::ImageFolder, &columns, None).expect("the image folder");
    let teacher = resolve(&fashion.join("teacher/model.onnx"), &ImageFlags::default()).unwrap().unwrap();
    let plan = ImagePlan::new(fashion.join("images"), vec![("teacher".into(), teacher)]);
    let files: Vec<PathBuf> = data.examples.iter().map(|e| fashion.join("images").join(&e.origin)).collect();
    let one_thread = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let (mut ours, mut ours_one, mut pillow) = (vec![], vec![], vec![]);
    for _ in 0..ROUNDS {
        let started = Instant::now();
        plan.prepare(&data.examples).unwrap();
        ours.push(started.elapsed().as_secs_f64());
        let started = Instant::now();
        one_thread.install(|| plan.prepare(&data.examples).unwrap());
        ours_one.push(started.elapsed().as_secs_f64());
        let out = Command::new(&python).arg(root.join("benches/python/image_preprocessing.py")).arg(fashion.join("teacher")).args(&files).output().unwrap();
        let line: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the Python timing line");
        pillow.push(line["seconds"].as_f64().unwrap());
    }
    let n = data.examples.len() as f64;
    let (a, b, c) = (median(ours), median(ours_one), median(pillow));
    println!("decode + preprocess, {n} PNGs (28x28 → short side 36 bilinear, crop 32, normalise):");
    println!(
        "  fidelity, all cores: {:.0} images/s; one thread: {:.0} images/s; Pillow + numpy: {:.0} images/s ({:.1}x one thread)",
        n / a,
        n / b,
        n / c,
        c / b
    );

    let fidelity = root.join("target/release/fidelity");
    let dirs: Vec<PathBuf> = MODELS.iter().map(|m| fashion.join(m)).collect();
    let tmp = tempfile::tempdir().unwrap();
    let (mut ours, mut ours_one, mut python_run) = (vec![], vec![], vec![]);
    let compare = |threads: Option<&str>| {
        let mut cmd = Command::new(&fidelity);
        cmd.arg("compare").args(&dirs).args([
            "--data",
            fashion.join("images").to_str().unwrap(),
            "--bootstrap",
            "0",
            "--no-speed",
            "--invariance-sample",
            "0",
            "--quiet",
        ]);
        cmd.args(["--out", tmp.path().join("r.json").to_str().unwrap()]);
        if let Some(t) = threads {
            cmd.args(["--threads", t]);
        }
        cmd
    };
    for _ in 0..ROUNDS {
        ours.push(wall(&mut compare(None)));
        ours_one.push(wall(&mut compare(Some("1"))));
        let mut reference = Command::new(&python);
        reference.arg(root.join("fixtures/image_reference.py")).arg(tmp.path().join("py.json")).arg("--images").arg(fashion.join("images")).args(&dirs);
        python_run.push(wall(&mut reference));
    }
    let (a, b, c) = (median(ours), median(ours_one), median(python_run));
    println!("whole comparison, 5 models × 1,000 images (no speed section, no intervals):");
    println!(
        "  fidelity compare: {a:.2} s (all cores), {b:.2} s (--threads 1); Python (Pillow, numpy, onnxruntime 1 thread): {c:.2} s: {:.1}x / {:.1}x",
        c / a,
        c / b
    );
}
