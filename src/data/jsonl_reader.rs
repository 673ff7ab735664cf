//! JSON Lines: one JSON object per line; blank lines are skipped; errors name the line.

use super::columns::{Cell, RowProblem};
use super::{Columns, DataError, Example};
use crate::model::LabelNames;
use serde_json::{Map, Value};
use std::io::BufRead;
use std::path::Path;

fn cell(value: &Value) -> Cell {
    match value {
        Value::String(s) => Cell::Text(s.clone()),
        Value::Number(n) => n.as_i64().map_or_else(|| Cell::Other(n.to_string()), Cell::Integer),
        Value::Null => Cell::Null,
        other => Cell::Other(other.to_string()),
    }
}

pub(super) fn read(
    reader: impl BufRead,
    path: &Path,
    columns: &Columns,
    labels: Option<&LabelNames>,
) -> Result<Vec<Example>, DataError> {
    let mut examples = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let origin = format!("line {}", i + 1);
        let row_error = |message: String| DataError::Row { path: path.to_path_buf(), origin: origin.clone(), message };
        let line = line.map_err(|e| row_error(format!("cannot read: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let object: Map<String, Value> = match serde_json::from_str(&line) {
            Ok(Value::Object(o)) => o,
            Ok(_) => return Err(row_error("expected a JSON object ({\"text\": ..., \"label\": ...})".into())),
            Err(e) => return Err(row_error(format!("not valid JSON: {e}"))),
        };
        let first = examples.is_empty();
        let example = columns.example(origin.clone(), |c| object.get(c).map(cell), labels);
        match example {
            Ok(e) => examples.push(e),
            Err(RowProblem::Missing { column, what, flag }) if first => {
                let available = object.keys().map(String::as_str).collect::<Vec<_>>().join(", ");
                return Err(DataError::MissingColumn { path: path.to_path_buf(), column, what, flag, available });
            }
            Err(RowProblem::Missing { column, what, .. }) => {
                return Err(row_error(format!("no '{column}' field ({what})")))
            }
            Err(RowProblem::Invalid(message)) => return Err(row_error(message)),
        }
    }
    Ok(examples)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_str(s: &str) -> Result<Vec<Example>, DataError> {
        read(s.as_bytes(), Path::new("d.jsonl"), &Columns::default(), None)
    }

    #[test]
    fn reads_objects_and_skips_blank_lines() {
        let ex = read_str("{\"text\": \"a\", \"label\": 1}\n\n{\"text\": \"b\", \"label\": \"0\"}\n").unwrap();
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[1].origin, "line 3");
        assert_eq!(ex[1].label, Some(0));
    }

    #[test]
    fn malformed_line_names_its_number() {
        let err = read_str("{\"text\": \"a\", \"label\": 1}\n{\"text\": \"b\", \"lab").unwrap_err().to_string();
        assert!(err.contains("d.jsonl: line 2: not valid JSON"), "{err}");
    }

    #[test]
    fn missing_column_lists_what_the_file_has() {
        let err = read_str("{\"body\": \"a\", \"label\": 1}\n").unwrap_err().to_string();
        assert!(err.contains("no column 'text'") && err.contains("body, label") && err.contains("--text-column"), "{err}");
    }
}
