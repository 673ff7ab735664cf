//! The HTML report in a real browser: headless Chromium loads it, runs its script and the DOM holds
//! the verdict and one chart per student. Chromium comes from Debian's `chromium` package (.ci/run
//! installs it). Where it is missing the test says so and passes, unless FIDELITY_REQUIRE_BROWSER
//! is set (CI sets it), so a machine without a browser cannot hide a broken page in CI.

use crate::util::{fidelity, fixture};
use std::process::Command;

fn chromium() -> Option<String> {
    if let Ok(p) = std::env::var("FIDELITY_CHROMIUM") {
        return Some(p);
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok_and(|o| o.status.success()))
        .map(String::from)
}

/// Headless Chromium's DOM of `html` once its script ran, with a throwaway profile.
fn dump_dom(browser: &str, html: &std::path::Path, profile: &std::path::Path) -> std::process::Output {
    Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--no-first-run", "--disable-sync"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", html.display()))
        .output()
        .expect("chromium runs")
}

#[test]
fn html_report_renders_in_headless_chromium() {
    let Some(browser) = chromium() else {
        assert!(std::env::var_os("FIDELITY_REQUIRE_BROWSER").is_none(), "FIDELITY_REQUIRE_BROWSER is set but no chromium was found");
        eprintln!("skipped: no chromium on this machine (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("report.html");
    let f = |p: &str| fixture(&format!("tweets/{p}"));
    let run = fidelity(
        [
            "compare",
            &f("teacher.onnx"),
            &f("pruned.onnx"),
            &f("distilled.onnx"),
            &f("int8.onnx"),
            "--data",
            &f("test.jsonl"),
            "--group-column",
            "topic",
            "--bootstrap",
            "100",
            "--noise",
            "--noise-examples",
            "200",
            "--gate",
            "int8: label_loyalty >= 0.99",
            "--html",
            html.to_str().unwrap(),
            "--quiet",
        ],
        dir.path(),
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = dump_dom(&browser, &html, &dir.path().join("profile"));
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("data-rendered=\"yes\""), "the page's script did not run:\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(dom.contains("id=\"verdict\"") && dom.contains("Verdict: PASS"), "no verdict in the rendered page");
    for student in ["pruned", "distilled", "int8"] {
        assert_eq!(dom.matches(&format!("class=\"chart chart-groups\" data-student=\"{student}\"")).count(), 1, "one group chart for {student}");
        assert_eq!(dom.matches(&format!("class=\"chart chart-js\" data-student=\"{student}\"")).count(), 1, "one JS chart for {student}");
    }
    for kind in ["throughput", "batch-time"] {
        assert_eq!(dom.matches(&format!("class=\"chart chart-curve\" data-kind=\"{kind}\"")).count(), 1, "one {kind} curve");
    }
    for kind in ["typos", "dropout"] {
        let chart = dom.split(&format!("class=\"chart chart-noise\" data-kind=\"{kind}\"")).nth(1).unwrap_or_else(|| panic!("no {kind} noise chart"));
        let chart = &chart[..chart.find("</svg>").unwrap()];
        assert_eq!(chart.matches("<polyline").count(), 4, "{kind}: one line per model");
    }
    let roofline = dom.split("class=\"chart chart-roofline\"").nth(1).expect("a roofline chart");
    let roofline = &roofline[..roofline.find("</svg>").unwrap()];
    assert_eq!(roofline.matches("class=\"roof\"").count(), 2, "the fp32 and int8 roofs");
    assert_eq!(roofline.matches("class=\"ridge\"").count(), 2, "a ridge point per roof");
    let teacher_points = roofline.matches("data-model=\"teacher\"").count();
    assert!(teacher_points >= 2, "a point per measured batch size");
    for model in ["pruned", "distilled", "int8"] {
        assert_eq!(roofline.matches(&format!("data-model=\"{model}\"")).count(), teacher_points, "{model}: a point per measured batch size");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Uncaught"), "script errors: {stderr}");
}

/// The committed image report (suites/fashion.toml) in Chromium: its script runs, every corruption
/// has its chart with one line per model, and the page says which model preprocesses otherwise.
#[test]
fn the_image_report_renders_its_corruption_charts_in_headless_chromium() {
    let Some(browser) = chromium() else {
        assert!(std::env::var_os("FIDELITY_REQUIRE_BROWSER").is_none(), "FIDELITY_REQUIRE_BROWSER is set but no chromium was found");
        eprintln!("skipped: no chromium on this machine (apt-get install chromium)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let html = crate::util::root().join("reports/fashion.html");
    let out = dump_dom(&browser, &html, &dir.path().join("profile"));
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(dom.contains("data-rendered=\"yes\""), "the page's script did not run:\n{}", String::from_utf8_lossy(&out.stderr));
    for kind in ["gaussian_noise", "shot_noise", "gaussian_blur", "brightness", "contrast", "jpeg_compression", "pixelate"] {
        let chart = dom.split(&format!("class=\"chart chart-noise\" data-kind=\"{kind}\"")).nth(1).unwrap_or_else(|| panic!("no {kind} chart"));
        let chart = &chart[..chart.find("</svg>").unwrap()];
        assert_eq!(chart.matches("<polyline").count(), 5, "{kind}: one line per model");
    }
    assert!(dom.contains("differs from the teacher"), "the mismatch student's preprocessing is not named");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("Uncaught"), "script errors");
}
