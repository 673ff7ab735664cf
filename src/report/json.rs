//! The JSON writer: the report model as pretty-printed JSON.

use super::Report;

pub fn render(report: &Report) -> Vec<u8> {
    // The report model holds only strings, numbers, options and vectors: serialization cannot fail.
    let mut bytes = serde_json::to_vec_pretty(report).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}").into_bytes());
    bytes.push(b'\n');
    bytes
}

/// The JSON schema of [`Report`], versioned with [`super::SCHEMA_VERSION`]; committed as
/// `reports/report.schema.json` (a test keeps it current).
pub fn schema() -> Vec<u8> {
    let mut schema = schemars::schema_for!(Report);
    schema.insert("title".into(), format!("fidelity report, schema version {}", super::SCHEMA_VERSION).into());
    let mut bytes = serde_json::to_vec_pretty(&schema).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}
