//! The house rules for `src/` (scripts/check-layout.py): no import circle between its modules, no
//! file over 600 lines, no function over 80.

#[test]
fn layout_rules_hold() {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check-layout.py");
    let out = std::process::Command::new("python3").arg(&script).output().expect("python3 runs scripts/check-layout.py");
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
