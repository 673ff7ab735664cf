//! The JSON writer: the report model as pretty-printed JSON.

use super::Report;

pub fn render(report: &Report) -> Vec<u8> {
    // The report model holds only strings, numbers, options and vectors: serialization cannot fail.
    let mut bytes = serde_json::to_vec_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}").into_bytes());
    bytes.push(b'\n');
    bytes
}
