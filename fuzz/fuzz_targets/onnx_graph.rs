//! ONNX graph reader (sizes and FLOPs): any bytes give stats or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = fidelity::onnx::graph_stats(data, Some(24.0));
});
