//! JSON Lines: one JSON object per line; blank lines are skipped; errors name the line.

use super::columns::{Cell, RowProblem};
use super::LabelNames;
use super::{Columns, DataError, Example};
use serde_json::{Map, Value};
use std::io::BufRead;
use std::path::{Path, PathBuf};

pub(super) fn cell(value: &Value) -> Cell {
    match value {
        Value::String(s) => Cell::Text(s.clone()),
        Value::Number(n) => n.as_i64().map_or_else(|| Cell::Other(n.to_string()), Cell::Integer),
        Value::Null => Cell::Null,
        other => Cell::Other(other.to_string()),
    }
}

/// Examples one line at a time, so a caller can hold a chunk rather than the file.
pub(super) struct JsonlRows<R> {
    lines: std::iter::Enumerate<std::io::Lines<R>>,
    path: PathBuf,
    columns: Columns,
    labels: Option<LabelNames>,
    /// No example read yet: a missing column then lists what the file has.
    first: bool,
}

impl<R: BufRead> JsonlRows<R> {
    pub(super) fn new(reader: R, path: &Path, columns: &Columns, labels: Option<&LabelNames>) -> Self {
        Self { lines: reader.lines().enumerate(), path: path.to_path_buf(), columns: columns.clone(), labels: labels.cloned(), first: true }
    }

    fn parse(&self, i: usize, line: std::io::Result<String>) -> Option<Result<Example, DataError>> {
        let origin = format!("line {}", i + 1);
        let row_error = |message: String| DataError::Row { path: self.path.clone(), origin: origin.clone(), message };
        let line = match line {
            Ok(l) => l,
            Err(e) => return Some(Err(row_error(format!("cannot read: {e}")))),
        };
        if line.trim().is_empty() {
            return None;
        }
        let object: Map<String, Value> = match serde_json::from_str(&line) {
            Ok(Value::Object(o)) => o,
            Ok(_) => return Some(Err(row_error("expected a JSON object ({\"text\": ..., \"label\": ...})".into()))),
            Err(e) => return Some(Err(row_error(format!("not valid JSON: {e}")))),
        };
        Some(match self.columns.example(origin.clone(), |c| object.get(c).map(cell), self.labels.as_ref()) {
            Ok(e) => Ok(e),
            Err(RowProblem::Missing { column, what, flag }) if self.first => {
                let available = object.keys().map(String::as_str).collect::<Vec<_>>().join(", ");
                Err(DataError::MissingColumn { path: self.path.clone(), column, what, flag, available })
            }
            Err(RowProblem::Missing { column, what, .. }) => Err(row_error(format!("no '{column}' field ({what})"))),
            Err(RowProblem::Invalid(message)) => Err(row_error(message)),
        })
    }
}

impl<R: BufRead + Send> super::stream::Rows for JsonlRows<R> {
    /// Lines are counted, not parsed: blank ones are not rows, as in [`Iterator::next`].
    fn skip_rows(&mut self, k: usize) -> Result<usize, DataError> {
        let mut skipped = 0;
        while skipped < k {
            match self.lines.next() {
                None => break,
                Some((_, Ok(line))) if line.trim().is_empty() => {}
                Some(_) => skipped += 1,
            }
        }
        Ok(skipped)
    }
}

impl<R: BufRead> Iterator for JsonlRows<R> {
    type Item = Result<Example, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let (i, line) = self.lines.next()?;
            if let Some(result) = self.parse(i, line) {
                self.first = false;
                return Some(result);
            }
        }
    }
}

pub(super) fn read(reader: impl BufRead, path: &Path, columns: &Columns, labels: Option<&LabelNames>) -> Result<Vec<Example>, DataError> {
    JsonlRows::new(reader, path, columns, labels).collect()
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
