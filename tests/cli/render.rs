//! `fidelity render`: a JSON report's other formats written again, byte for byte what the run wrote.

use crate::util::{fidelity, root};

#[test]
fn render_writes_what_the_run_wrote_from_the_json_alone() {
    let dir = tempfile::tempdir().unwrap();
    let out = |ext: &str| dir.path().join(format!("tweets.{ext}"));
    let run = fidelity(
        [
            "render",
            "reports/tweets.json",
            "--markdown",
            out("md").to_str().unwrap(),
            "--html",
            out("html").to_str().unwrap(),
            "--junit",
            out("junit.xml").to_str().unwrap(),
        ],
        &root(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains("int8") && run.stdout.contains("L-L"), "the terminal table: {}", run.stdout);
    for ext in ["md", "html", "junit.xml"] {
        let committed = std::fs::read(root().join(format!("reports/tweets.{ext}"))).unwrap();
        assert!(std::fs::read(out(ext)).unwrap() == committed, "reports/tweets.{ext} differs from its rendering from reports/tweets.json");
    }
}

#[test]
fn render_refuses_what_is_not_a_classifier_report_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = fidelity(["render", "no-such.json"], dir.path());
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.contains("no-such.json"), "{}", missing.stderr);
    let language_model = fidelity(["render", "reports/lm.json", "--quiet"], &root());
    assert_eq!(language_model.code, 2);
    assert!(language_model.stderr.contains("reports/lm.json is not a classifier report"), "{}", language_model.stderr);
}
