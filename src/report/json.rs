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

/// A report written by [`render`], read back (what `fidelity merge` takes its template from).
pub fn parse(bytes: &[u8]) -> Result<Report, serde_json::Error> {
    serde_json::from_slice(bytes)
}

#[cfg(test)]
mod tests {
    /// Every committed report reads back into the model and renders to the same bytes.
    #[test]
    fn committed_reports_read_back_unchanged() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("reports");
        for name in ["tweets", "adult", "minilm", "runtime"] {
            let bytes = std::fs::read(dir.join(format!("{name}.json"))).unwrap();
            let report = super::parse(&bytes).unwrap_or_else(|e| panic!("{name}.json: {e}"));
            let again = super::render(&report);
            if again != bytes {
                let (a, b) = (String::from_utf8_lossy(&bytes), String::from_utf8_lossy(&again));
                let line = a.lines().zip(b.lines()).position(|(x, y)| x != y).unwrap_or(0);
                panic!("{name}.json changes on a round trip at line {}: {:?} became {:?}", line + 1, a.lines().nth(line), b.lines().nth(line));
            }
        }
    }
}
