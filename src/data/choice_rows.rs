//! Multiple-choice rows, JSON Lines: `{"context": ..., "choices": [...], "label": ...}` plus any
//! group columns. The label is the right choice's index (0-based) or its text. Every row must have
//! as many choices as the first: the choices are the classes every metric compares.

use super::columns::{Cell, RowProblem};
use super::jsonl_reader::cell;
use super::{Columns, DataError, Example};
use serde_json::{Map, Value};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// One row: its example (the context as its text) and its choices.
#[derive(Debug, Clone, PartialEq)]
pub struct ChoiceRow {
    pub example: Example,
    pub choices: Vec<String>,
}

/// Rows a chunk at a time.
pub struct ChoiceRows {
    lines: std::iter::Enumerate<std::io::Lines<std::io::BufReader<std::fs::File>>>,
    path: PathBuf,
    columns: Columns,
    choices_column: String,
    /// The first row's number of choices.
    choices: Option<usize>,
}

/// Whether the first row of the JSONL file at `path` holds an array in `column` (how `--task auto`
/// tells multiple-choice data from documents).
pub fn first_row_has_choices(path: &Path, column: &str) -> bool {
    let Ok(file) = std::fs::File::open(path) else { return false };
    let first = std::io::BufReader::new(file).lines().map_while(Result::ok).find(|l| !l.trim().is_empty());
    first.and_then(|l| serde_json::from_str::<Value>(&l).ok()).is_some_and(|v| v.get(column).is_some_and(Value::is_array))
}

impl ChoiceRows {
    /// `columns.text` names the context column.
    pub fn open(path: &Path, columns: &Columns, choices_column: &str) -> Result<Self, DataError> {
        let file = std::fs::File::open(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
        Ok(Self {
            lines: std::io::BufReader::new(file).lines().enumerate(),
            path: path.to_path_buf(),
            columns: columns.clone(),
            choices_column: choices_column.to_string(),
            choices: None,
        })
    }

    /// The next `max` rows (fewer at the end of the file; none after it).
    pub fn next_chunk(&mut self, max: usize) -> Result<Vec<ChoiceRow>, DataError> {
        let mut rows = Vec::new();
        while rows.len() < max {
            let Some((i, line)) = self.lines.next() else { break };
            let line = line.map_err(|source| DataError::Io { path: self.path.clone(), source })?;
            if line.trim().is_empty() {
                continue;
            }
            rows.push(self.parse(i, &line)?);
        }
        Ok(rows)
    }

    fn parse(&mut self, i: usize, line: &str) -> Result<ChoiceRow, DataError> {
        let origin = format!("line {}", i + 1);
        let first = self.choices.is_none();
        let row_error = |message: String| DataError::Row { path: self.path.clone(), origin: origin.clone(), message };
        let object: Map<String, Value> = match serde_json::from_str(line) {
            Ok(Value::Object(o)) => o,
            Ok(_) => return Err(row_error("expected a JSON object ({\"context\": ..., \"choices\": [...], \"label\": ...})".into())),
            Err(e) => return Err(row_error(format!("not valid JSON: {e}"))),
        };
        let available = || object.keys().map(String::as_str).collect::<Vec<_>>().join(", ");
        let column = &self.choices_column;
        let choices: Vec<String> = match object.get(column) {
            None if first => {
                return Err(DataError::MissingColumn {
                    path: self.path.clone(),
                    column: column.clone(),
                    what: "the choices",
                    flag: "--choices-column",
                    available: available(),
                })
            }
            None => return Err(row_error(format!("no '{column}' field (the choices)"))),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(k, v)| v.as_str().map(str::to_string).ok_or_else(|| row_error(format!("choice {k} of '{column}' is {v}, not a string"))))
                .collect::<Result<_, _>>()?,
            Some(other) => return Err(row_error(format!("'{column}' is {other}, not an array of choices"))),
        };
        if choices.len() < 2 {
            return Err(row_error(format!("'{column}' holds {} choice(s); a question needs at least two", choices.len())));
        }
        match self.choices {
            Some(n) if n != choices.len() => {
                return Err(row_error(format!(
                    "{} choices, but the first row has {n}: the choices are the classes compared, so every row needs the same number (split the file by number of choices)",
                    choices.len()
                )))
            }
            _ => self.choices = Some(choices.len()),
        }
        // A label may be the right choice's text.
        let label_column = self.columns.label.clone();
        let cell_of = |name: &str| {
            let value = object.get(name)?;
            match value {
                Value::String(s) if Some(name) == label_column.as_deref() && s.trim().parse::<usize>().is_err() => {
                    Some(choices.iter().position(|c| c == s).map_or_else(|| Cell::Text(s.clone()), |k| Cell::Integer(k as i64)))
                }
                v => Some(cell(v)),
            }
        };
        let example = match self.columns.example(origin.clone(), cell_of, None) {
            Ok(e) => e,
            Err(RowProblem::Missing { column, what, flag }) if first => {
                return Err(DataError::MissingColumn { path: self.path.clone(), column, what, flag, available: available() })
            }
            Err(RowProblem::Missing { column, what, .. }) => return Err(row_error(format!("no '{column}' field ({what})"))),
            Err(RowProblem::Invalid(message)) => return Err(row_error(format!("{message} (a label is the right choice's index, from 0, or its text)"))),
        };
        if let Some(label) = example.label.filter(|&l| l >= choices.len()) {
            return Err(row_error(format!("label {label} is not a choice: the row has {} choices, 0 to {}", choices.len(), choices.len() - 1)));
        }
        Ok(ChoiceRow { example, choices })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Result<Vec<ChoiceRow>, DataError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mc.jsonl");
        std::fs::write(&path, text).unwrap();
        let columns = Columns { text: Some("context".into()), groups: vec!["g".into()], ..Columns::default() };
        ChoiceRows::open(&path, &columns, "choices")?.next_chunk(100)
    }

    #[test]
    fn reads_contexts_choices_index_and_text_labels_and_groups() {
        let r = rows("{\"context\": \"A\", \"choices\": [\" x\", \" y\"], \"label\": 1, \"g\": \"a\"}\n\n{\"context\": \"B\", \"choices\": [\" x\", \" y\"], \"label\": \" x\", \"g\": 2}\n").unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].example.text.as_deref(), r[0].example.label, r[0].choices.len()), (Some("A"), Some(1), 2));
        assert_eq!((r[1].example.label, r[1].example.attributes[0].as_str(), r[1].example.origin.as_str()), (Some(0), "2", "line 3"));
    }

    #[test]
    fn bad_rows_name_their_line_and_the_fix() {
        let err = |t: &str| rows(t).unwrap_err().to_string();
        assert!(err("{\"context\": \"A\", \"options\": [\"x\", \"y\"], \"label\": 0, \"g\": 1}").contains("--choices-column"));
        let e = err("{\"context\": \"A\", \"choices\": [\"x\", \"y\"], \"label\": 0, \"g\": 1}\n{\"context\": \"B\", \"choices\": [\"x\", \"y\", \"z\"], \"label\": 0, \"g\": 1}");
        assert!(e.contains("line 2") && e.contains("first row has 2"), "{e}");
        assert!(err("{\"context\": \"A\", \"choices\": [\"x\", \"y\"], \"label\": 2, \"g\": 1}").contains("0 to 1"));
        assert!(err("{\"context\": \"A\", \"choices\": [\"x\", \"y\"], \"label\": \"w\", \"g\": 1}").contains("right choice's index"));
        assert!(err("{\"context\": \"A\", \"choices\": [\"x\", 3], \"label\": 0, \"g\": 1}").contains("not a string"));
        assert!(err("{\"context\": \"A\", \"choices\": [\"x\"], \"label\": 0, \"g\": 1}").contains("at least two"));
    }

    #[test]
    fn auto_detection_reads_the_first_row_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("mc.jsonl");
        std::fs::write(&path, "\n{\"context\": \"A\", \"choices\": [\"x\", \"y\"]}\n").unwrap();
        assert!(first_row_has_choices(&path, "choices"));
        assert!(!first_row_has_choices(&path, "options"));
        std::fs::write(&path, "{\"text\": \"A\"}\n").unwrap();
        assert!(!first_row_has_choices(&path, "choices"));
    }
}
