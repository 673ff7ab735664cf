//! Suite parser and gate expressions: any text gives a suite or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(suite) = fidelity::suite::parse(text, Path::new("fuzz.toml")) {
            for g in suite.gates {
                let _ = g.into_spec();
            }
        }
        let _ = fidelity::gate::GateSpec::parse(text);
    }
});
