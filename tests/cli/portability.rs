//! Numbers and CPU kinds (issue 13): every report says which CPU and kernel class made its
//! numbers; int8 students carry the kernel-class note; on a CPU whose u8s8 GEMM saturates the
//! warning appears, and the exact twin computes what an exact (VNNI, AMX, ARM) CPU computes.
//! The AVX2 case runs on any x86-64 machine under Debian's qemu-user (`qemu-x86_64 -cpu Haswell`);
//! FIDELITY_REQUIRE_QEMU=1 (CI) makes a missing qemu a failure instead of a skip.

use crate::util::{committed_golden, fidelity, fixture, golden, kernel_class, student};
use serde_json::Value;
use std::process::Command;

#[test]
fn committed_golden_values_are_what_their_kernel_class_computes() {
    let here = kernel_class();
    for case in ["tweets", "adult"] {
        let committed = committed_golden(case);
        let made_here = golden(case);
        if committed["kernel_class"] == here.as_str() {
            // The committed file also holds training facts that --golden-only does not make.
            if let Err(at) = contains(&committed, &made_here, String::new()) {
                panic!("fixtures/{case}/golden.json at {at} is not what this machine (its kernel class, {here}) computes: rerun fixtures/make_{case}.py");
            }
        } else {
            eprintln!(
                "fixtures/{case}/golden.json was made on kernel class {}, this machine is {here}: not compared; every golden-value test here uses this machine's own values (scripts/golden.sh)",
                committed["kernel_class"]
            );
        }
    }
}

/// Whether `whole` holds every value of `part` (objects may have more fields); Err names where not.
fn contains(whole: &Value, part: &Value, at: String) -> Result<(), String> {
    match (whole, part) {
        (Value::Object(w), Value::Object(p)) => p.iter().try_for_each(|(k, v)| contains(w.get(k).unwrap_or(&Value::Null), v, format!("{at}.{k}"))),
        _ if whole == part => Ok(()),
        _ => Err(format!("{at}: {whole} committed, {part} made here")),
    }
}

/// `compare` over the tweets teacher and int8 student with both integer numerics; returns the
/// run, the JSON report, the Markdown and the HTML.
fn tweets_int8(wrapper: &[&str]) -> (crate::util::Run, Value, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = |f: &str| dir.path().join(f).to_string_lossy().into_owned();
    let f = |p: &str| fixture(&format!("tweets/{p}"));
    let args = [
        "compare",
        &f("teacher.onnx"),
        &f("int8.onnx"),
        "--data",
        &f("test.jsonl"),
        "--integer-numerics",
        "both",
        "--bootstrap",
        "0",
        "--no-speed",
        "--out",
        &out("r.json"),
        "--markdown",
        &out("r.md"),
        "--html",
        &out("r.html"),
    ];
    let run = if wrapper.is_empty() {
        fidelity(args, dir.path())
    } else {
        let o =
            Command::new(wrapper[0]).args(&wrapper[1..]).arg(env!("CARGO_BIN_EXE_fidelity")).args(args).current_dir(dir.path()).output().expect("qemu runs");
        crate::util::Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into(),
            stderr: String::from_utf8_lossy(&o.stderr).into(),
        }
    };
    assert_eq!(run.code, 0, "{}", run.stderr);
    let read = |f: &str| std::fs::read_to_string(out(f)).unwrap();
    (run, serde_json::from_str(&read("r.json")).unwrap(), read("r.md"), read("r.html"))
}

#[test]
fn every_report_records_the_cpu_and_the_int8_kernel_class() {
    let (run, report, md, html) = tweets_int8(&[]);
    let machine = &report["machine"];
    assert_eq!(machine["cpu"]["arch"], std::env::consts::ARCH);
    assert!(machine["cpu"]["model_name"].as_str().is_some_and(|n| !n.is_empty()));
    assert!(machine["cpu"]["features"].is_array());
    let class = machine["kernels"]["class"].as_str().unwrap();
    assert_eq!(class, kernel_class());
    assert!(report["teacher"]["kernels"].is_null(), "an fp32 model has no integer kernels");
    let int8 = &student(&report, "int8")["model"];
    assert_eq!(int8["kernels"]["kernel_class"], class);
    assert!(int8["integer_kernels"]["ops"].as_array().unwrap().iter().any(|o| o == "MatMulInteger"));
    assert!(int8["integer_kernels"]["saturation_prone_weights"].as_u64().unwrap() > 0, "quantize_dynamic's int8 weights span [-127, 127]");
    let twin = &student(&report, "int8-exact")["model"];
    assert_eq!((&twin["twin_of"], &twin["exact_integer"]), (&Value::from("int8"), &Value::from(true)));
    for text in [&run.stdout, &md, &html] {
        assert!(
            text.contains("Machine: ")
                && text.contains(&format!("int8: integer kernels (DynamicQuantizeLinear, MatMulInteger): these numbers hold for kernel class `{class}`")),
            "{text}"
        );
    }
    let saturates = machine["kernels"]["u8s8_saturates"] == true;
    let warned = int8["kernels"]["warning"].is_string();
    assert_eq!(warned, saturates, "the warning appears exactly where this CPU's u8s8 GEMM saturates");
    assert_eq!(run.stdout.contains("warning: int8: u8s8 integer GEMM"), saturates);
    if !saturates {
        // Every exact kernel computes the same integer sums: the twin's numbers are the student's.
        assert_eq!(student(&report, "int8")["fidelity"], student(&report, "int8-exact")["fidelity"]);
    }
}

fn qemu() -> Option<&'static str> {
    let found = cfg!(target_arch = "x86_64") && Command::new("qemu-x86_64").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("FIDELITY_REQUIRE_QEMU").is_none(), "FIDELITY_REQUIRE_QEMU is set but qemu-x86_64 (Debian's qemu-user) is not on PATH");
        eprintln!("qemu-x86_64 not found (apt-get install qemu-user): the emulated AVX2 check is skipped");
        return None;
    }
    Some("qemu-x86_64")
}

#[test]
fn on_an_avx2_cpu_the_warning_appears_and_the_exact_twin_computes_what_an_exact_cpu_does() {
    // Under FIDELITY_TEST_WRAPPER every run is emulated already; this test compares two CPUs.
    let Some(qemu) = qemu().filter(|_| std::env::var_os("FIDELITY_TEST_WRAPPER").is_none()) else { return };
    let (run, avx2, md, html) = tweets_int8(&[qemu, "-cpu", "Haswell"]);
    assert_eq!(avx2["machine"]["kernels"]["class"], "x86_64 fp32:fma3 u8s8:avx2");
    let warning = "int8: u8s8 integer GEMM with int8 weights outside [-64, 64], and this CPU";
    assert!(run.stdout.contains(&format!("warning: {warning}'s u8s8 kernel (avx2) adds products in saturating int16")), "{}", run.stdout);
    assert!(html.contains(&format!("<li class=\"warning\"><strong>warning: {warning}")), "the HTML warns");
    assert!(md.contains(&format!("**warning: {warning}")), "the Markdown warns");
    assert!(html.contains("reduce_range=True") && html.contains("VNNI"), "the warning says what to do");
    // What an exact CPU computes: this machine's int8 if its kernels are exact, else its exact twin.
    let (_, native, _, _) = tweets_int8(&[]);
    let exact_here = if native["machine"]["kernels"]["u8s8_saturates"] == true { "int8-exact" } else { "int8" };
    let (a, b) = (&student(&avx2, "int8-exact")["fidelity"], &student(&native, exact_here)["fidelity"]);
    if native["machine"]["kernels"]["fp32"] == "fma3" {
        assert_eq!(a, b, "same fp32 kernels, exact integer sums: identical numbers");
    } else {
        // Other fp32 kernels (AVX-512 here): the same labels, and numbers to their last bits.
        for key in ["agreements", "negative_flips", "positive_flips"] {
            assert_eq!(a[key], b[key], "{key}");
        }
        for (key, x) in a.as_object().unwrap() {
            if let (Some(x), Some(y)) = (x.as_f64(), b[key].as_f64()) {
                assert!((x - y).abs() <= crate::freshness::FLOAT_KERNELS * x.abs().max(y.abs()).max(1.0), "{key}: {x} on AVX2 (exact), {y} here");
            }
        }
    }
    // The saturating numbers are a real difference on this fixture (ONNX Runtime PR #12088).
    assert_ne!(student(&avx2, "int8")["fidelity"]["student_accuracy"], student(&avx2, "int8-exact")["fidelity"]["student_accuracy"]);
}
