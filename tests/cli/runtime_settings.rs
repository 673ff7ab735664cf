//! A student may be the teacher's own file under other ONNX Runtime settings (issue 17, part 5):
//! the settings reach the session, are recorded in the report, and bad ones exit 2.

use crate::util::{compare_report, fidelity, fixture, root, student};

#[test]
fn the_runtime_suite_compares_the_teacher_with_itself_under_other_settings() {
    let suite = root().join("suites/runtime.toml");
    let (_, report) = compare_report(&["--suite", suite.to_str().unwrap(), "--no-speed", "--bootstrap", "100"]);
    assert!(report["teacher"].get("runtime_settings").is_none(), "the teacher runs on ONNX Runtime's defaults");
    let o0 = student(&report, "teacher-O0");
    assert_eq!(o0["model"]["runtime_settings"]["optimization"], "disable");
    assert_eq!(student(&report, "teacher-1thread")["model"]["runtime_settings"]["threads"], 1);
    assert_eq!(o0["model"]["sha256"], report["teacher"]["sha256"], "the same file");
    // Graph optimisation changes float rounding at most: the same labels but for a near-tie.
    for name in ["teacher-O0", "teacher-1thread"] {
        let f = &student(&report, name)["fidelity"];
        assert!(f["label_loyalty"].as_f64().unwrap() >= 0.999 && f["probability_loyalty"].as_f64().unwrap() > 0.9999, "{name}: {f}");
    }
}

#[test]
fn session_options_reach_onnx_runtime_and_bad_ones_exit_2() {
    let f = |p: &str| fixture(&format!("tweets/{p}"));
    let (teacher, data) = (f("teacher.onnx"), f("test.jsonl"));
    let twin = format!("o0={teacher}");
    let (_, report) = compare_report(&[&teacher, &twin, "--data", &data, "--session-option", "o0:optimization=0", "--no-speed", "--bootstrap", "0"]);
    assert_eq!(student(&report, "o0")["model"]["runtime_settings"]["optimization"], "disable");

    let dir = tempfile::tempdir().unwrap();
    let run = |extra: &[&str]| fidelity(["compare", &teacher, &twin, "--data", &data, "--no-speed"].iter().copied().chain(extra.iter().copied()), dir.path());
    let same = run(&[]);
    assert!(same.code == 2 && same.stderr.contains("the same file") && same.stderr.contains("other runtime settings"), "{}", same.stderr);
    // A config entry ONNX Runtime acts on: an ONNX file read as ORT format does not load.
    let ort_format = run(&["--session-option", "o0:session.load_model_format=ORT"]);
    assert!(ort_format.code == 2 && ort_format.stderr.contains("o0"), "{}", ort_format.stderr);
    for (option, message) in [
        ("o0", "write MODEL:KEY=VALUE"),
        ("nobody:threads=1", "no model is named 'nobody'"),
        ("o0:threads=0", "at least 1"),
        ("o0:optimization=max", "use disable, basic, extended, layout or all"),
        ("o0:intra=2", "the settings are optimization, threads and session.* config entries"),
    ] {
        let r = run(&["--session-option", option]);
        assert!(r.code == 2 && r.stderr.contains(message), "{option}: {}", r.stderr);
    }
}
