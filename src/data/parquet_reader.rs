//! Parquet, the Hugging Face datasets format: read row group by row group, a few thousand rows of
//! only the columns in use at a time, so memory follows the batch and not the file (nor the other
//! columns: an image column beside the text costs nothing). Errors name the row (1-based, across
//! row groups) and the column.
//!
//! Flat columns of strings, integers (signed or unsigned, any width), floats and booleans are read,
//! nullable or not, plain or dictionary-encoded, with any of Parquet's codecs. Nested columns
//! (lists, structs, maps) and dates, timestamps, decimals and raw bytes are refused when the file is
//! opened, naming the column and how to cast it. Every call into the `parquet` crate runs
//! [`contained`]: it asserts on some damaged files rather than returning an error.

use super::columns::{Cell, RowProblem};
use super::contained::contained;
use super::LabelNames;
use super::{Columns, DataError, Example};
use parquet::basic::{ConvertedType, LogicalType, Type as PhysicalType};
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::{ByteArray, DataType};
use parquet::file::reader::{ChunkReader, FileReader, SerializedFileReader};
use parquet::schema::types::ColumnDescriptor;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Rows decoded per column at a time: a few hundred kilobytes of text, large enough that the
/// per-call overhead of the column readers vanishes.
const BATCH_ROWS: usize = 4096;

/// How a column's values become cells.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Bool,
    Int32 { unsigned: bool },
    Int64 { unsigned: bool },
    Float,
    Double,
    Text,
    /// Encoded image bytes (an image column's binary values, or a `datasets` image's `bytes`).
    Bytes,
}

/// A column in use: its leaf in the file's schema and how to read it.
#[derive(Debug, Clone)]
struct Needed {
    name: String,
    leaf: usize,
    kind: Kind,
    /// 1 for a nullable column (a definition level of 0 is a null), 0 for a required one.
    max_def: i16,
}

/// Examples a batch at a time, row group after row group.
pub(super) struct ParquetRows<R: ChunkReader + 'static> {
    file: Arc<SerializedFileReader<R>>,
    path: PathBuf,
    columns: Columns,
    labels: Option<LabelNames>,
    /// Top-level column names, for messages.
    available: Vec<String>,
    needed: Vec<Needed>,
    /// Position of each needed column in `needed`, by name.
    index: HashMap<String, usize>,
    /// The next row group to open.
    next_group: usize,
    /// Readers of the current row group's column chunks, in the order of `needed`.
    readers: Vec<ColumnReader>,
    /// Rows of the current row group not decoded yet.
    left_in_group: usize,
    /// The current batch, column by column.
    batch: Vec<Vec<Cell>>,
    /// Rows in `batch` (also when no column is in use: a file lacking them all still has rows,
    /// and the first reports the missing column).
    batch_len: usize,
    /// Next row of `batch` to hand out.
    at: usize,
    /// Rows handed out so far.
    rows: usize,
    /// Set after an error: the iterator then ends.
    failed: bool,
}

/// What `parquet` reports about a file it cannot read, as a data error on the whole file.
fn file_error(path: &Path, e: impl std::fmt::Display) -> DataError {
    DataError::Row {
        path: path.to_path_buf(),
        origin: "file".into(),
        message: format!("not a readable Parquet file ({e}); check that it is complete and written by a Parquet writer (pyarrow, pandas, polars, Spark, datasets)"),
    }
}

/// A contained panic of the decoder, as a message.
fn damaged(panic: String) -> String {
    format!("the Parquet decoder stopped on damaged data: {panic}")
}

fn kind_of(descr: &ColumnDescriptor) -> Result<Kind, String> {
    let logical = descr.logical_type_ref();
    let converted = descr.converted_type();
    let unsigned = matches!(logical, Some(LogicalType::Integer(t)) if !t.is_signed)
        || matches!(converted, ConvertedType::UINT_8 | ConvertedType::UINT_16 | ConvertedType::UINT_32 | ConvertedType::UINT_64);
    let refused = |what: &str| Err(format!("is a Parquet {what} column"));
    match (descr.physical_type(), logical) {
        (_, Some(LogicalType::Decimal(_))) | (_, None) if converted == ConvertedType::DECIMAL => refused("DECIMAL"),
        (_, Some(LogicalType::Decimal(_))) => refused("DECIMAL"),
        (_, Some(LogicalType::Date)) => refused("DATE"),
        (_, Some(LogicalType::Time(_))) => refused("TIME"),
        (_, Some(LogicalType::Timestamp(_))) => refused("TIMESTAMP"),
        (PhysicalType::BOOLEAN, _) => Ok(Kind::Bool),
        (PhysicalType::INT32, _) if matches!(converted, ConvertedType::DATE | ConvertedType::TIME_MILLIS) => refused("DATE or TIME"),
        (PhysicalType::INT64, _) if matches!(converted, ConvertedType::TIMESTAMP_MILLIS | ConvertedType::TIMESTAMP_MICROS | ConvertedType::TIME_MICROS) => {
            refused("TIMESTAMP or TIME")
        }
        (PhysicalType::INT32, _) => Ok(Kind::Int32 { unsigned }),
        (PhysicalType::INT64, _) => Ok(Kind::Int64 { unsigned }),
        (PhysicalType::FLOAT, _) => Ok(Kind::Float),
        (PhysicalType::DOUBLE, _) => Ok(Kind::Double),
        (PhysicalType::BYTE_ARRAY, None | Some(LogicalType::String | LogicalType::Enum | LogicalType::Json)) => Ok(Kind::Text),
        (PhysicalType::BYTE_ARRAY, Some(other)) => Err(format!("is a Parquet BYTE_ARRAY column of logical type {other:?}")),
        (PhysicalType::INT96, _) => refused("INT96 (legacy timestamp)"),
        (PhysicalType::FIXED_LEN_BYTE_ARRAY, Some(LogicalType::Float16)) => refused("FLOAT16"),
        (PhysicalType::FIXED_LEN_BYTE_ARRAY, _) => refused("FIXED_LEN_BYTE_ARRAY"),
    }
}

impl<R: ChunkReader + 'static> ParquetRows<R> {
    /// Reads the footer (schema, row groups); fails when it is not Parquet, a feature pattern
    /// matches no column, or a column in use is nested or of a type fidelity does not read.
    pub(super) fn new(reader: R, path: &Path, columns: &Columns, labels: Option<&LabelNames>) -> Result<Self, DataError> {
        let file = contained(|| SerializedFileReader::new(reader)).map_err(damaged).and_then(|r| r.map_err(|e| e.to_string())).map_err(|e| file_error(path, e))?;
        let schema = file.metadata().file_metadata().schema_descr_ptr();
        let available: Vec<String> = schema.root_schema().get_fields().iter().map(|f| f.name().to_string()).collect();
        let names: Vec<&str> = available.iter().map(String::as_str).collect();
        let columns = super::with_features_expanded(columns, &names, path)?;
        let mut in_use: Vec<&str> =
            columns.text.iter().chain(&columns.text_pair).chain(&columns.label).chain(&columns.groups).chain(&columns.features).chain(&columns.image).map(String::as_str).collect();
        in_use.dedup();
        let mut needed = Vec::new();
        let mut index = HashMap::new();
        for name in in_use {
            // A column the file lacks is left out here and reported at the first row, as the
            // other readers do (with the flag that names it).
            let Some(field) = schema.root_schema().get_fields().iter().find(|f| f.name() == name) else { continue };
            if index.contains_key(name) {
                continue;
            }
            let column_error = |why: String| DataError::Row {
                path: path.to_path_buf(),
                origin: format!("column '{name}'"),
                message: format!("{why}; fidelity reads flat columns of strings, integers, floats or booleans. Cast it before writing the file (pandas: df['{name}'] = df['{name}'].astype(str))"),
            };
            if !field.is_primitive() && columns.image.as_deref() == Some(name) {
                // Hugging Face datasets' Image feature: a struct of `bytes` (binary) and `path` (string).
                for (part, kind) in [("bytes", Kind::Bytes), ("path", Kind::Text)] {
                    let Some(leaf) = (0..schema.num_columns()).find(|&i| schema.column(i).path().parts() == [name.to_string(), part.to_string()]) else { continue };
                    let descr = schema.column(leaf);
                    index.insert(format!("{name}.{part}"), needed.len());
                    needed.push(Needed { name: format!("{name}.{part}"), leaf, kind, max_def: descr.max_def_level() });
                }
                if !index.contains_key(&format!("{name}.bytes")) && !index.contains_key(&format!("{name}.path")) {
                    return Err(column_error("is a struct without the `bytes` and `path` fields of a datasets image".into()));
                }
                continue;
            }
            if !field.is_primitive() {
                return Err(column_error("is a nested column (a list, struct or map)".into()));
            }
            let leaf = (0..schema.num_columns()).find(|&i| schema.column(i).path().parts() == [name]).ok_or_else(|| column_error("has no leaf in the schema".into()))?;
            let descr = schema.column(leaf);
            if descr.max_rep_level() > 0 {
                return Err(column_error("is a repeated column".into()));
            }
            let mut kind = kind_of(&descr).map_err(column_error)?;
            // An image column of raw binary (no string logical type) holds encoded images.
            if columns.image.as_deref() == Some(name) && kind == Kind::Text && descr.logical_type_ref().is_none() && descr.converted_type() != ConvertedType::UTF8 {
                kind = Kind::Bytes;
            }
            index.insert(name.to_string(), needed.len());
            needed.push(Needed { name: name.to_string(), leaf, kind, max_def: descr.max_def_level() });
        }
        Ok(Self {
            file: Arc::new(file),
            path: path.to_path_buf(),
            columns,
            labels: labels.cloned(),
            available,
            needed,
            index,
            next_group: 0,
            readers: Vec::new(),
            left_in_group: 0,
            batch: Vec::new(),
            batch_len: 0,
            at: 0,
            rows: 0,
            failed: false,
        })
    }

    pub(super) fn columns(&self) -> &Columns {
        &self.columns
    }

    /// Opens the next row group with rows; `false` at the end of the file.
    fn open_next_group(&mut self) -> Result<bool, DataError> {
        while self.next_group < self.file.num_row_groups() {
            let g = self.next_group;
            self.next_group += 1;
            let (file, needed) = (&self.file, &self.needed);
            let opened = contained(|| -> Result<(usize, Vec<ColumnReader>), parquet::errors::ParquetError> {
                let group = file.get_row_group(g)?;
                let rows = group.metadata().num_rows().max(0) as usize;
                let readers = if rows == 0 { Vec::new() } else { needed.iter().map(|n| group.get_column_reader(n.leaf)).collect::<Result<_, _>>()? };
                Ok((rows, readers))
            });
            let (rows, readers) = opened.map_err(damaged).and_then(|r| r.map_err(|e| e.to_string())).map_err(|e| self.group_error(g, e))?;
            if rows == 0 {
                continue;
            }
            self.readers = readers;
            self.left_in_group = rows;
            return Ok(true);
        }
        Ok(false)
    }

    fn group_error(&self, group: usize, e: String) -> DataError {
        DataError::Row { path: self.path.clone(), origin: format!("row group {group}"), message: format!("cannot read: {e}") }
    }

    /// Decodes the next batch of every column in use.
    fn fill(&mut self) -> Result<bool, DataError> {
        if self.left_in_group == 0 && !self.open_next_group()? {
            return Ok(false);
        }
        let n = self.left_in_group.min(BATCH_ROWS);
        let first_row = self.rows + 1;
        let mut batch = Vec::with_capacity(self.needed.len());
        for (needed, reader) in self.needed.iter().zip(self.readers.iter_mut()) {
            let cells = contained(|| read_cells(reader, needed, n)).map_err(damaged).and_then(|r| r).map_err(|message| DataError::Row {
                path: self.path.clone(),
                origin: format!("rows {first_row}-{}", first_row + n - 1),
                message: format!("column '{}': {message}", needed.name),
            })?;
            batch.push(cells);
        }
        self.batch = batch;
        self.batch_len = n;
        self.at = 0;
        self.left_in_group -= n;
        Ok(true)
    }
}

/// `n` values of one column as cells (nulls included).
fn read_cells(reader: &mut ColumnReader, needed: &Needed, n: usize) -> Result<Vec<Cell>, String> {
    let nullable = needed.max_def;
    match (reader, needed.kind) {
        (ColumnReader::ByteArrayColumnReader(r), Kind::Bytes) => read_typed(r, n, nullable, |v: ByteArray| Cell::Image { bytes: Some(Arc::from(v.data())), path: None }),
        (ColumnReader::BoolColumnReader(r), _) => read_typed(r, n, nullable, |v: bool| Cell::Other(v.to_string())),
        (ColumnReader::Int32ColumnReader(r), Kind::Int32 { unsigned }) => {
            read_typed(r, n, nullable, |v: i32| Cell::Integer(if unsigned { i64::from(v as u32) } else { i64::from(v) }))
        }
        (ColumnReader::Int64ColumnReader(r), Kind::Int64 { unsigned }) => read_typed(r, n, nullable, |v: i64| {
            if unsigned && v < 0 {
                Cell::Other((v as u64).to_string())
            } else {
                Cell::Integer(v)
            }
        }),
        (ColumnReader::FloatColumnReader(r), _) => read_typed(r, n, nullable, Cell::Float32),
        (ColumnReader::DoubleColumnReader(r), _) => read_typed(r, n, nullable, Cell::Float64),
        (ColumnReader::ByteArrayColumnReader(r), _) => read_typed(r, n, nullable, |v: ByteArray| match std::str::from_utf8(v.data()) {
            Ok(s) => Cell::Text(s.to_string()),
            Err(_) => Cell::Other(format!("{} bytes that are not UTF-8 text", v.len())),
        }),
        (_, kind) => Err(format!("its values do not match its declared type ({kind:?})")),
    }
}

/// `max_def`: the column's maximum definition level (0: required); a value is present where a
/// row's level reaches it (a nested field's lower levels mean a null parent).
fn read_typed<T: DataType>(reader: &mut ColumnReaderImpl<T>, n: usize, max_def: i16, cell: impl Fn(T::T) -> Cell) -> Result<Vec<Cell>, String> {
    let nullable = max_def > 0;
    let mut values: Vec<T::T> = Vec::with_capacity(n);
    let mut levels: Vec<i16> = Vec::with_capacity(if nullable { n } else { 0 });
    let mut records = 0;
    while records < n {
        let (read, _, _) = reader.read_records(n - records, nullable.then_some(&mut levels), None, &mut values).map_err(|e| e.to_string())?;
        if read == 0 {
            return Err(format!("the row group ends after {records} of {n} rows its footer announces"));
        }
        records += read;
    }
    if !nullable {
        if values.len() != n {
            return Err(format!("{} values for {n} rows", values.len()));
        }
        return Ok(values.into_iter().map(cell).collect());
    }
    if levels.len() != n || levels.iter().filter(|&&l| l >= max_def).count() != values.len() {
        return Err(format!("{} values and {} definition levels for {n} rows", values.len(), levels.len()));
    }
    let mut values = values.into_iter();
    Ok(levels.iter().map(|&l| if l >= max_def { values.next().map_or(Cell::Null, &cell) } else { Cell::Null }).collect())
}

impl<R: ChunkReader + Send + Sync + 'static> super::stream::Rows for ParquetRows<R> {
    /// Whole row groups are passed over by their footer counts without reading a page; only the
    /// row group the range starts in is decoded.
    fn skip_rows(&mut self, k: usize) -> Result<usize, DataError> {
        let mut skipped = 0;
        while skipped < k && self.at >= self.batch_len && self.left_in_group == 0 && self.next_group < self.file.num_row_groups() {
            let rows = self.file.metadata().row_group(self.next_group).num_rows().max(0) as usize;
            if rows > k - skipped {
                break;
            }
            self.next_group += 1;
            self.rows += rows;
            skipped += rows;
        }
        while skipped < k {
            match self.next() {
                None => break,
                Some(Err(e)) => return Err(e),
                Some(Ok(_)) => skipped += 1,
            }
        }
        Ok(skipped)
    }
}

impl<R: ChunkReader + 'static> Iterator for ParquetRows<R> {
    type Item = Result<Example, DataError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        if self.at >= self.batch_len {
            match self.fill() {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => {
                    self.failed = true;
                    return Some(Err(e));
                }
            }
        }
        let row = self.at;
        self.at += 1;
        self.rows += 1;
        let origin = format!("row {}", self.rows);
        let (batch, index) = (&self.batch, &self.index);
        let image = self.columns.image.as_deref();
        let cell = |name: &str| match index.get(name) {
            Some(&c) => Some(batch[c][row].clone()),
            // A datasets image: its two leaves as one cell.
            None if Some(name) == image => {
                let part = |p: &str| index.get(&format!("{name}.{p}")).map(|&c| batch[c][row].clone());
                let bytes = match part("bytes") {
                    Some(Cell::Image { bytes, .. }) => bytes,
                    _ => None,
                };
                let path = match part("path") {
                    Some(Cell::Text(p)) => Some(p),
                    _ => None,
                };
                Some(if bytes.is_none() && path.is_none() { Cell::Null } else { Cell::Image { bytes, path } })
            }
            None => None,
        };
        let result = match self.columns.example(origin.clone(), cell, self.labels.as_ref()) {
            Ok(e) => Ok(e),
            Err(RowProblem::Missing { column, what, flag }) => {
                Err(DataError::MissingColumn { path: self.path.clone(), column, what, flag, available: self.available.join(", ") })
            }
            Err(RowProblem::Invalid(message)) => Err(DataError::Row { path: self.path.clone(), origin, message }),
        };
        self.failed = result.is_err();
        Some(result)
    }
}

pub(super) fn read<R: ChunkReader + 'static>(reader: R, path: &Path, columns: &Columns, labels: Option<&LabelNames>) -> Result<(Vec<Example>, Columns), DataError> {
    let rows = ParquetRows::new(reader, path, columns, labels)?;
    let columns = rows.columns().clone();
    Ok((rows.collect::<Result<_, _>>()?, columns))
}

#[cfg(test)]
mod tests {
    //! Against files written by pyarrow (fixtures/make_parquet.py) and the values pyarrow reads
    //! from them (fixtures/parquet/kinds.json).
    use super::*;
    use crate::data::{read_dataset, DataFormat};
    use serde_json::Value;

    fn fixture(name: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures").join(name)
    }

    fn kinds_json() -> serde_json::Map<String, Value> {
        serde_json::from_str(&std::fs::read_to_string(fixture("parquet/kinds.json")).unwrap()).unwrap()
    }

    fn columns(text: Option<&str>, label: Option<&str>, groups: &[&str], features: &[&str]) -> Columns {
        Columns {
            text: text.map(Into::into),
            text_pair: None,
            label: label.map(Into::into),
            groups: groups.iter().map(|g| g.to_string()).collect(),
            features: features.iter().map(|f| f.to_string()).collect(),
            image: None,
        }
    }

    fn read_kinds(columns: &Columns) -> Result<Vec<Example>, DataError> {
        read_dataset(&fixture("parquet/kinds.parquet"), DataFormat::Parquet, columns, None).map(|d| d.examples)
    }

    #[test]
    fn every_flat_type_reads_as_pyarrow_reads_it() {
        let json = kinds_json();
        let ints = ["i8", "i16", "i32", "i64", "u8", "u16", "u32", "u64"];
        let groups: Vec<&str> = ints.iter().copied().chain(["flag", "maybe_group", "dict_group"]).collect();
        let examples = read_kinds(&columns(Some("large_text"), Some("label_f64"), &groups, &["f32", "f64", "i16"])).unwrap();
        assert_eq!(examples.len(), 6);
        for (row, e) in examples.iter().enumerate() {
            assert_eq!(e.origin, format!("row {}", row + 1), "rows count across the two row groups");
            assert_eq!(e.text.as_deref(), json["large_text"][row].as_str());
            assert_eq!(e.label, json["label_f64"][row].as_f64().map(|x| x as usize));
            for (i, name) in groups.iter().enumerate() {
                let expected = match &json[*name][row] {
                    Value::Bool(b) => b.to_string(),
                    Value::Null => String::new(),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                assert_eq!(e.attributes[i], expected, "{name}, row {}", row + 1);
            }
            // Features are f32: the float column exactly, the double rounded once, integers converted.
            assert_eq!(e.features[0], json["f32"][row].as_f64().unwrap() as f32);
            assert_eq!(e.features[1], json["f64"][row].as_f64().unwrap() as f32);
            assert_eq!(e.features[2], json["i16"][row].as_f64().unwrap() as f32);
        }
    }

    #[test]
    fn float_attributes_keep_their_value_and_whole_floats_are_labels() {
        let examples = read_kinds(&columns(Some("text"), Some("u8"), &["f64", "f32"], &[])).unwrap();
        assert_eq!(examples[0].attributes, ["0.5", "0.5"]);
        assert_eq!(examples[3].attributes, ["1.0", "1.0"]);
        assert_eq!(examples[5].attributes, ["0.1", "0.1"], "f32 0.1 is shown as written, not as 0.10000000149011612");
        assert_eq!(examples[5].label, Some(255));
    }

    #[test]
    fn bad_cells_name_their_row_and_column() {
        let message = |c: Columns| read_kinds(&c).unwrap_err().to_string();
        let m = message(columns(Some("text"), Some("label_frac"), &[], &[]));
        assert!(m.contains("kinds.parquet: row 3") && m.contains("1.5"), "{m}");
        let m = message(columns(Some("text"), Some("maybe_label"), &[], &[]));
        assert!(m.contains("row 3") && m.contains("null"), "{m}");
        let m = message(columns(Some("text"), Some("i8"), &[], &[]));
        assert!(m.contains("row 4") && m.contains("-1"), "{m}");
        let m = message(columns(None, Some("i32"), &[], &["maybe_f"]));
        assert!(m.contains("row 2") && m.contains("'maybe_f' is empty"), "{m}");
        let m = message(columns(Some("i32"), Some("i32"), &[], &[]));
        assert!(m.contains("row 1") && m.contains("column 'i32' should hold text"), "{m}");
    }

    #[test]
    fn nested_and_temporal_columns_are_refused_with_a_cast() {
        for (column, what) in [("list_col", "nested"), ("struct_col", "nested"), ("ts", "TIMESTAMP"), ("day", "DATE"), ("money", "DECIMAL")] {
            let m = read_kinds(&columns(Some("text"), Some("i32"), &[column], &[])).unwrap_err().to_string();
            assert!(m.contains(&format!("column '{column}'")) && m.contains(what) && m.contains("astype(str)"), "{column}: {m}");
        }
    }

    #[test]
    fn a_missing_column_lists_what_the_file_has() {
        let m = read_kinds(&columns(Some("body"), Some("i32"), &[], &[])).unwrap_err().to_string();
        assert!(m.contains("no column 'body'") && m.contains("--text-column") && m.contains("large_text, i8"), "{m}");
        let m = read_kinds(&columns(None, Some("i32"), &[], &["g*"])).unwrap_err().to_string();
        assert!(m.contains("no column 'g*'") && m.contains("--feature-columns"), "{m}");
        let e = read_kinds(&columns(None, Some("i32"), &[], &["u*"])).unwrap();
        assert_eq!(e[5].features, [255.0, 65535.0, 4294967295.0, 18446744073709551615.0]);
    }

    #[test]
    fn every_codec_reads_the_same_rows_as_the_jsonl() {
        let cols = columns(Some("text"), Some("label"), &["topic"], &[]);
        let names = crate::data::LabelNames::new(vec!["negative".into(), "neutral".into(), "positive".into()]);
        let jsonl = read_dataset(&fixture("tweets/test.jsonl"), DataFormat::Jsonl, &cols, Some(&names)).unwrap().examples;
        for codec in ["none", "snappy", "gzip", "brotli", "lz4", "zstd"] {
            let parquet = read_dataset(&fixture(&format!("parquet/codec-{codec}.parquet")), DataFormat::Parquet, &cols, Some(&names)).unwrap().examples;
            assert_eq!(parquet.len(), 40, "{codec}");
            for (p, j) in parquet.iter().zip(&jsonl) {
                assert_eq!((&p.text, p.label, &p.attributes), (&j.text, j.label, &j.attributes), "{codec}, {}", p.origin);
            }
        }
    }

    #[test]
    fn a_damaged_file_is_an_error_not_a_panic() {
        let bytes = std::fs::read(fixture("parquet/codec-snappy.parquet")).unwrap();
        let cols = columns(Some("text"), Some("label"), &[], &[]);
        let path = Path::new("cut.parquet");
        for cut in [0, 3, 8, bytes.len() / 2, bytes.len() - 9, bytes.len() - 1] {
            let m = crate::data::parse_examples(&bytes[..cut], path, DataFormat::Parquet, &cols, None).unwrap_err().to_string();
            assert!(m.contains("cut.parquet"), "{cut}: {m}");
        }
        // Found by scripts/fuzz.sh in seconds: a negative column-chunk offset in the footer, on
        // which the parquet crate asserts.
        let fuzzed = include_bytes!("../../tests/cli/regressions/parquet-negative-chunk-offset.parquet");
        let m = crate::data::parse_examples(fuzzed, path, DataFormat::Parquet, &Columns { groups: vec!["topic".into()], ..Columns::default() }, None).unwrap_err().to_string();
        assert!(m.contains("cut.parquet: row group 0") && m.contains("damaged"), "{m}");
        // Flipped bytes in the middle (the column chunks): an error or other values, never a panic.
        for at in (4..bytes.len() - 8).step_by(97) {
            let mut damaged = bytes.clone();
            damaged[at] ^= 0x5a;
            let _ = crate::data::parse_examples(&damaged, path, DataFormat::Parquet, &cols, None);
        }
    }
}
