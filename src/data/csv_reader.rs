//! CSV with a header row; errors name the data row (1-based, header excluded) and the column.

use super::columns::{Cell, RowProblem};
use super::LabelNames;
use super::{Columns, DataError, Example};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Examples one record at a time, so a caller can hold a chunk rather than the file.
pub(super) struct CsvRows<R: Read> {
    records: std::iter::Enumerate<csv::StringRecordsIntoIter<R>>,
    path: PathBuf,
    headers: Vec<String>,
    index: HashMap<String, usize>,
    /// The columns with feature patterns expanded against the header.
    columns: Columns,
    labels: Option<LabelNames>,
}

impl<R: Read> CsvRows<R> {
    /// Reads the header; fails when it is unreadable or a feature pattern matches no column.
    pub(super) fn new(reader: R, path: &Path, columns: &Columns, labels: Option<&LabelNames>) -> Result<Self, DataError> {
        let mut csv = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(reader);
        let headers: Vec<String> = csv
            .headers()
            .map_err(|e| DataError::Row { path: path.to_path_buf(), origin: "header".into(), message: e.to_string() })?
            .iter()
            .map(str::to_string)
            .collect();
        let available: Vec<&str> = headers.iter().map(String::as_str).collect();
        let columns = super::with_features_expanded(columns, &available, path)?;
        let index = headers.iter().enumerate().map(|(i, h)| (h.clone(), i)).collect();
        Ok(Self { records: csv.into_records().enumerate(), path: path.to_path_buf(), headers, index, columns, labels: labels.cloned() })
    }

    pub(super) fn columns(&self) -> &Columns {
        &self.columns
    }
}

impl<R: Read + Send> super::stream::Rows for CsvRows<R> {
    /// Records are split (quoted fields may hold line breaks) but not turned into examples.
    fn skip_rows(&mut self, k: usize) -> Result<usize, DataError> {
        for skipped in 0..k {
            match self.records.next() {
                None => return Ok(skipped),
                Some((i, Err(e))) => return Err(DataError::Row { path: self.path.clone(), origin: format!("row {}", i + 1), message: format!("cannot parse: {e}") }),
                Some(_) => {}
            }
        }
        Ok(k)
    }
}

impl<R: Read> Iterator for CsvRows<R> {
    type Item = Result<Example, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        let (i, record) = self.records.next()?;
        let origin = format!("row {}", i + 1);
        let row_error = |message: String| DataError::Row { path: self.path.clone(), origin: origin.clone(), message };
        let record = match record {
            Ok(r) => r,
            Err(e) => return Some(Err(row_error(format!("cannot parse: {e}")))),
        };
        let cell = |name: &str| Some(Cell::Text(record.get(*self.index.get(name)?)?.to_string()));
        Some(match self.columns.example(origin.clone(), cell, self.labels.as_ref()) {
            Ok(e) => Ok(e),
            Err(RowProblem::Missing { column, what, flag }) => {
                Err(DataError::MissingColumn { path: self.path.clone(), column, what, flag, available: self.headers.join(", ") })
            }
            Err(RowProblem::Invalid(message)) => Err(row_error(message)),
        })
    }
}

pub(super) fn read(reader: impl Read, path: &Path, columns: &Columns, labels: Option<&LabelNames>) -> Result<(Vec<Example>, Columns), DataError> {
    let rows = CsvRows::new(reader, path, columns, labels)?;
    let columns = rows.columns().clone();
    Ok((rows.collect::<Result<_, _>>()?, columns))
}
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quoted_fields_and_groups() {
        let cols = Columns { groups: vec!["topic".into()], ..Columns::default() };
        let data = "id,text,label,topic\n1,\"hi, there\",2,apple\n2,\"say \"\"no\"\"\",0,airline\n";
        let (ex, _) = read(data.as_bytes(), Path::new("d.csv"), &cols, None).unwrap();
        assert_eq!(ex[0].text.as_deref(), Some("hi, there"));
        assert_eq!(ex[1].text.as_deref(), Some("say \"no\""));
        assert_eq!(ex[1].attributes, vec!["airline".to_string()]);
        assert_eq!(ex[0].label, Some(2));
    }

    #[test]
    fn missing_column_and_bad_label_are_named() {
        let err = read("body,label\nx,1\n".as_bytes(), Path::new("d.csv"), &Columns::default(), None).unwrap_err().to_string();
        assert!(err.contains("no column 'text'") && err.contains("body, label"), "{err}");
        let err = read("text,label\nx,1\ny,good\n".as_bytes(), Path::new("d.csv"), &Columns::default(), None).unwrap_err().to_string();
        assert!(err.contains("row 2") && err.contains("'good'"), "{err}");
    }
}
