//! Image files: decoding and preprocessing against Pillow and the Hugging Face processors' steps
//! written out in Python (fixtures/image_reference.py, fixtures/resize_reference.py).

use crate::util::{assert_close, compare_report, fidelity, fixture, root, student};
use fidelity::data::npy::{parse_npy, NpyData};
use fidelity::data::{Example, ImageRef, InputTensor};
use fidelity::vision::config::{resolve, ImageFlags};
use fidelity::vision::preprocess::Filter;
use fidelity::vision::resample::resize;
use fidelity::vision::ImagePlan;
use fidelity::vision::Pixels;
use serde_json::Value;
use std::process::Command;

/// Runs `scripts/golden.sh CASE OUT ARGS...` and returns OUT's path.
fn reference(case: &str, file: &str, args: &[&str]) -> std::path::PathBuf {
    let dir = root().join("target").join("golden");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join(file);
    let made = Command::new("bash")
        .arg(root().join("scripts/golden.sh"))
        .args([case, out.to_str().unwrap()])
        .args(args)
        .current_dir(root())
        .output()
        .expect("bash runs");
    assert!(made.status.success(), "scripts/golden.sh {case} failed:\n{}\n{}", String::from_utf8_lossy(&made.stdout), String::from_utf8_lossy(&made.stderr));
    out
}

/// Every filter, up and down, noise and smooth images: the same bytes as Pillow's resize.
#[test]
fn resampling_is_pillows_to_the_bit() {
    let data = std::fs::read(reference("resize", "resize.bin", &[])).unwrap();
    let (mut at, mut cases, mut values) = (0, 0, 0usize);
    while at < data.len() {
        let word = |i: usize| u32::from_le_bytes(data[at + 4 * i..at + 4 * i + 4].try_into().unwrap());
        let (w, h, ow, oh, code) = (word(0), word(1), word(2), word(3), word(4));
        at += 24;
        let n = (w * h * 3) as usize;
        let source = Pixels::new(w, h, 3, data[at..at + n].to_vec());
        at += n;
        let m = (ow * oh * 3) as usize;
        let pillow = &data[at..at + m];
        at += m;
        let filter = Filter::from_pillow(i64::from(code)).unwrap();
        let ours = resize(&source, ow, oh, filter);
        let differing = ours.data.iter().zip(pillow).filter(|(a, b)| a != b).count();
        assert_eq!(differing, 0, "{w}×{h} → {ow}×{oh} with {filter:?}: {differing} of {m} values differ from Pillow's");
        cases += 1;
        values += m;
    }
    assert!(cases > 300 && values > 1_000_000, "{cases} cases, {values} values");
}

const MODELS: [&str; 5] = ["teacher", "int8", "pruned", "distilled", "mismatch"];

fn model_dirs() -> Vec<String> {
    MODELS.iter().map(|m| fixture(&format!("fashion/{m}"))).collect()
}

/// The reference's numbers for `data` (an image folder or a manifest) over the five models.
fn reference_report(data: &str, file: &str, tensors: Option<&std::path::Path>) -> Value {
    let mut args = vec!["--images".to_string(), fixture(data)];
    if let Some(dir) = tensors {
        args.extend(["--tensors-out".to_string(), dir.to_string_lossy().into_owned()]);
    }
    args.extend(model_dirs());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    serde_json::from_str(&std::fs::read_to_string(reference("images", file, &args)).unwrap()).unwrap()
}

fn assert_metrics_match(report: &Value, golden: &Value) {
    assert_close(&report["teacher"], &golden["models"]["teacher"], "accuracy", 1e-9, "teacher");
    for name in &MODELS[1..] {
        let (f, g) = (&student(report, name)["fidelity"], &golden["students"][name]);
        assert_close(f, &serde_json::json!({ "student_accuracy": g["accuracy"] }), "student_accuracy", 1e-9, name);
        for key in ["label_loyalty", "probability_loyalty", "mean_kl"] {
            assert_close(f, g, key, 1e-9, name);
        }
        for key in ["agreements", "negative_flips", "positive_flips"] {
            assert_eq!(f[key], g[key], "{name}: {key}");
        }
    }
}

/// The image folder through every model, each with its own preprocessing: every metric equals
/// the Python reference's (Pillow, numpy, onnxruntime; the processors' steps written out).
#[test]
fn an_image_folder_matches_the_reference_for_every_student() {
    let mut args = model_dirs();
    args.extend(["--data", &fixture("fashion/images"), "--bootstrap", "0"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (run, report) = compare_report(&args);
    assert_eq!(report["data"]["examples"], 1000);
    let inputs = &report["data"]["inputs"];
    assert_eq!(inputs["kind"], "images");
    assert_eq!(inputs["decoded"], 1000);
    assert_eq!(inputs["distinct_preprocessings"], 2, "the mismatch student resizes its own way");
    assert_eq!(inputs["models"][4]["steps"]["resize"]["filter"], "nearest");
    assert_eq!(inputs["models"][0]["shape"], serde_json::json!([3, 32, 32]));
    assert_metrics_match(&report, &reference_report("fashion/images", "images-folder.json", None));
    assert!(run.stdout.contains("differs from the teacher's"), "{}", run.stdout);
}

/// The same images through a manifest with group columns: the same numbers, and groups.
#[test]
fn a_manifest_with_groups_gives_the_same_numbers() {
    let mut args = model_dirs();
    args.extend(["--data", &fixture("fashion/manifest.csv"), "--group-column", "category", "--bootstrap", "0"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, report) = compare_report(&args);
    assert_metrics_match(&report, &reference_report("fashion/manifest.csv", "images-manifest.json", None));
    let groups = student(&report, "int8")["statistics"]["groups"].as_array().map_or(0, Vec::len);
    assert!(groups >= 5, "{groups} groups");
}

/// Decoded and preprocessed pixels against the reference's, image by image, for every kind of
/// file (grey, alpha, palette, 1-bit, JPEG with EXIF rotation, WebP, BMP, a wide image).
#[test]
fn every_file_kind_preprocesses_as_pillow_and_transformers_do() {
    let dir = tempfile::tempdir().unwrap();
    let golden = reference_report("fashion/modes/labels.csv", "images-modes.json", Some(dir.path()));
    let base = root().join("fixtures/fashion/modes");
    let names: Vec<String> = golden["examples"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_string()).collect();
    let examples: Vec<Example> = names
        .iter()
        .map(|n| Example {
            origin: n.clone(),
            text: None,
            text_pair: None,
            label: None,
            attributes: vec![],
            features: vec![],
            image: Some(ImageRef::Path(n.clone())),
        })
        .collect();
    for model in MODELS {
        let path = root().join(format!("fixtures/fashion/{model}/model.onnx"));
        let steps = resolve(&path, &ImageFlags::default()).unwrap().unwrap();
        let plan = ImagePlan::new(base.clone(), vec![(model.to_string(), steps)]);
        let ours = plan.prepare(&examples).unwrap();
        let Some(InputTensor::Float32(ours)) = ours.tensors.first().map(|(_, t)| t.clone()) else { panic!("no tensor") };
        let theirs = parse_npy(&std::fs::read(dir.path().join(format!("{model}.npy"))).unwrap()).unwrap();
        let NpyData::F32(theirs) = theirs.data else { panic!("float32 expected") };
        assert_eq!(ours.len(), theirs.len(), "{model}");
        let per = ours.len() / names.len();
        let std = f64::from(plan.distinct[0].std.as_ref().map_or(1.0, |s| s[0]));
        for (i, name) in names.iter().enumerate() {
            let worst = ours.iter().skip(i * per).take(per).zip(&theirs[i * per..(i + 1) * per]).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            if name.ends_with(".jpg") {
                // JPEG decoders differ in their IDCT and chroma upsampling (the image crate's
                // zune-jpeg against Pillow's libjpeg-turbo): within 3 of 255 levels, resized.
                let levels = f64::from(worst) * std * 255.0;
                assert!(levels <= 3.0 + 1e-3, "{model}, {name}: {levels:.4} levels apart");
            } else {
                assert!(worst == 0.0, "{model}, {name}: largest difference {worst}");
            }
        }
    }
}

#[test]
fn an_image_that_does_not_decode_is_named_before_any_model_runs() {
    let dir = tempfile::tempdir().unwrap();
    for class in ["Bag", "Coat"] {
        std::fs::create_dir_all(dir.path().join(class)).unwrap();
        std::fs::copy(root().join("fixtures/fashion/images/Bag/00030.png"), dir.path().join(class).join("a.png")).ok();
    }
    std::fs::write(dir.path().join("Coat/broken.png"), b"not a png at all").unwrap();
    let run = fidelity(["compare", &fixture("fashion/teacher"), &fixture("fashion/int8"), "--data", dir.path().to_str().unwrap()], dir.path());
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("broken.png"), "{}", run.stderr);
}

#[test]
fn a_teacher_without_preprocessing_is_told_what_to_add() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join("fixtures/fashion/teacher/model.onnx"), dir.path().join("model.onnx")).unwrap();
    let run =
        fidelity(["compare", dir.path().join("model.onnx").to_str().unwrap(), &fixture("fashion/int8"), "--data", &fixture("fashion/images")], dir.path());
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("preprocessor_config.json") && run.stderr.contains("--image-size"), "{}", run.stderr);
}

/// Pixel-space attacks and corruptions write valid images: every adversarial PNG lies within ε
/// (8 levels) of the original, pixel by pixel, and every corrupted image is written and listed.
#[test]
fn adversarial_and_corrupted_images_are_valid_images() {
    let dir = tempfile::tempdir().unwrap();
    let (adversarial, noisy) = (dir.path().join("adversarial"), dir.path().join("noise.jsonl"));
    let manifest = fixture("fashion/manifest.csv");
    let (teacher, pruned, out) = (fixture("fashion/teacher"), fixture("fashion/pruned"), dir.path().join("r.json"));
    let args = [
        "compare",
        &teacher,
        &pruned,
        "--data",
        &manifest,
        "--bootstrap",
        "0",
        "--attack-n",
        "40",
        "--attack-queries",
        "400",
        "--attack-out",
        adversarial.to_str().unwrap(),
        "--noise-levels",
        "pixelate:2,gaussian_noise:5",
        "--noise-examples",
        "30",
        "--noise-out",
        noisy.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ];
    let run = fidelity(args, dir.path());
    assert_eq!(run.code, 0, "{}", run.stderr);
    let rows: Vec<String> = std::fs::read_to_string(&manifest).unwrap().lines().skip(1).map(|l| l.split(',').next().unwrap().to_string()).collect();
    let mut written = 0;
    for model in ["teacher", "pruned"] {
        for entry in std::fs::read_dir(adversarial.join(model)).into_iter().flatten().flatten() {
            let row: usize = entry.path().file_stem().unwrap().to_str().unwrap().parse().unwrap();
            let ours = fidelity::vision::decode::read_rgb(&entry.path()).unwrap();
            let original = fidelity::vision::decode::read_rgb(&root().join("fixtures/fashion").join(&rows[row])).unwrap();
            assert_eq!((ours.width, ours.height), (original.width, original.height));
            let worst = ours.data.iter().zip(&original.data).map(|(a, b)| a.abs_diff(*b)).max().unwrap();
            assert!((1..=8).contains(&worst), "{model} row {row}: {worst} levels from the original");
            written += 1;
        }
    }
    assert!(written > 0, "no successful attack wrote an image");
    let lines = std::fs::read_to_string(&noisy).unwrap();
    assert_eq!(lines.lines().count(), 60, "30 examples at 2 levels");
    for line in lines.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let image = fidelity::vision::decode::read_rgb(&dir.path().join(v["image"].as_str().unwrap())).unwrap();
        assert_eq!((image.width, image.height), (28, 28));
    }
}

/// A Parquet file as Hugging Face `datasets` writes images (a struct of the encoded bytes and a
/// path; fixtures/make_fashion_parquet.py): the same images give the same numbers as the manifest.
#[test]
fn datasets_parquet_images_read_from_their_bytes() {
    let mut args = model_dirs();
    args.extend(["--data", &fixture("fashion/images.parquet"), "--group-column", "category", "--bootstrap", "0"].map(String::from));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (_, report) = compare_report(&args);
    assert_eq!(report["data"]["examples"], 1000);
    assert_metrics_match(&report, &reference_report("fashion/manifest.csv", "images-manifest.json", None));
}

/// reports/fashion.* are what suites/fashion.toml produces (left out of
/// reports::committed_reports_match_a_fresh_regeneration, which also runs under qemu).
#[test]
fn the_committed_image_report_is_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let name = crate::reports::IMAGE_SUITE;
    let report = crate::reports::assert_committed_report_is_fresh(&format!("suites/{name}.toml"), name, dir.path());
    assert_eq!(report["data"]["inputs"]["kind"], "images");
}
