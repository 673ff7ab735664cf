//! CSV with a header row; errors name the data row (1-based, header excluded) and the column.

use super::columns::{Cell, RowProblem};
use super::{Columns, DataError, Example};
use crate::model::LabelNames;
use std::io::Read;
use std::path::Path;

pub(super) fn read(
    reader: impl Read,
    path: &Path,
    columns: &Columns,
    labels: Option<&LabelNames>,
) -> Result<(Vec<Example>, Columns), DataError> {
    let mut csv = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(reader);
    let row_error =
        |origin: String, message: String| DataError::Row { path: path.to_path_buf(), origin, message };
    let headers = csv.headers().map_err(|e| row_error("header".into(), e.to_string()))?.clone();
    let available: Vec<&str> = headers.iter().collect();
    let columns = Columns {
        features: columns.expand_features(&available).map_err(|pattern| DataError::MissingColumn {
            path: path.to_path_buf(),
            column: pattern,
            what: "feature columns",
            flag: "--feature-columns",
            available: available.join(", "),
        })?,
        ..columns.clone()
    };
    let index: std::collections::HashMap<&str, usize> = available.iter().enumerate().map(|(i, h)| (*h, i)).collect();
    let mut examples = Vec::new();
    for (i, record) in csv.records().enumerate() {
        let origin = format!("row {}", i + 1);
        let record = record.map_err(|e| row_error(origin.clone(), format!("cannot parse: {e}")))?;
        let cell = |name: &str| Some(Cell::Text(record.get(*index.get(name)?)?.to_string()));
        match columns.example(origin.clone(), cell, labels) {
            Ok(e) => examples.push(e),
            Err(RowProblem::Missing { column, what, flag }) => {
                let available = headers.iter().collect::<Vec<_>>().join(", ");
                return Err(DataError::MissingColumn { path: path.to_path_buf(), column, what, flag, available });
            }
            Err(RowProblem::Invalid(message)) => return Err(row_error(origin, message)),
        }
    }
    Ok((examples, columns))
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
        let err = read("body,label\nx,1\n".as_bytes(), Path::new("d.csv"), &Columns::default(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no column 'text'") && err.contains("body, label"), "{err}");
        let err = read("text,label\nx,1\ny,good\n".as_bytes(), Path::new("d.csv"), &Columns::default(), None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("row 2") && err.contains("'good'"), "{err}");
    }
}
