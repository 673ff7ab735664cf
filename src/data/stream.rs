//! A data file read a chunk of examples at a time, so memory follows the chunk size, not the file.

use super::csv_reader::CsvRows;
use super::jsonl_reader::JsonlRows;
use super::parquet_reader::ParquetRows;
use super::LabelNames;
use super::{Columns, DataError, DataFormat, Example};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// Examples per chunk by default, before rounding up to a multiple of both batch sizes: large
/// enough that tokenization parallelises well, small enough to stay a few megabytes.
pub const CHUNK_EXAMPLES: usize = 8192;

/// A reader's rows as examples, which can also pass over rows without building them.
pub(super) trait Rows: Iterator<Item = Result<Example, DataError>> + Send {
    /// Passes over the next `k` rows (fewer at the end of the file: returns how many); the rows
    /// after keep their numbers in the whole file.
    fn skip_rows(&mut self, k: usize) -> Result<usize, DataError>;
}

/// JSONL, CSV or Parquet examples, in file order.
pub struct ExampleStream {
    rows: Box<dyn Rows>,
    columns: Columns,
    path: PathBuf,
    /// Examples handed out so far.
    read: usize,
}

impl ExampleStream {
    /// Opens `path`; CSV headers are read (and feature patterns expanded) here.
    pub fn open(path: &Path, format: DataFormat, columns: &Columns, labels: Option<&LabelNames>) -> Result<Self, DataError> {
        if format == DataFormat::ImageFolder {
            let examples = super::image_folder::list(path, columns, labels)?;
            return Ok(Self { rows: Box::new(super::image_folder::ListedRows::new(examples)), columns: columns.clone(), path: path.to_path_buf(), read: 0 });
        }
        let file = File::open(path).map_err(|source| DataError::Io { path: path.to_path_buf(), source })?;
        let (rows, columns): (Box<dyn Rows>, Columns) = match format {
            DataFormat::Jsonl => (Box::new(JsonlRows::new(BufReader::with_capacity(1 << 16, file), path, columns, labels)), columns.clone()),
            DataFormat::Csv => {
                let rows = CsvRows::new(BufReader::with_capacity(1 << 16, file), path, columns, labels)?;
                let columns = rows.columns().clone();
                (Box::new(rows), columns)
            }
            // Parquet seeks (footer first, then column chunks): the file itself, not a stream.
            DataFormat::Parquet => {
                let rows = ParquetRows::new(file, path, columns, labels)?;
                let columns = rows.columns().clone();
                (Box::new(rows), columns)
            }
            DataFormat::Npz | DataFormat::ImageFolder => {
                return Err(DataError::Row {
                    path: path.to_path_buf(),
                    origin: "file".into(),
                    message: "an .npz archive is read with data::tensors::read_npz_dataset".into(),
                })
            }
        };
        Ok(Self { rows, columns, path: path.to_path_buf(), read: 0 })
    }

    /// The columns as read (CSV feature patterns expanded).
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// Passes over the next `k` rows without building examples (a shard reading its own range):
    /// JSONL lines are counted, not parsed; CSV records are split; Parquet row groups are skipped
    /// by their footer counts.
    pub fn skip(&mut self, k: usize) -> Result<usize, DataError> {
        let skipped = self.rows.skip_rows(k)?;
        self.read += skipped;
        Ok(skipped)
    }

    /// Rows left in the file, passed over (what [`count_rows`] counts).
    fn count_rest(&mut self) -> Result<usize, DataError> {
        self.skip(usize::MAX)
    }

    /// Up to `max` next examples; an empty vector at the end of the file. A file without any
    /// example is an error at the first call.
    pub fn next_chunk(&mut self, max: usize) -> Result<Vec<Example>, DataError> {
        let mut chunk = Vec::with_capacity(max.min(1 << 16));
        for row in self.rows.by_ref().take(max) {
            chunk.push(row?);
        }
        if self.read == 0 && chunk.is_empty() {
            return Err(DataError::Empty { path: self.path.clone() });
        }
        self.read += chunk.len();
        Ok(chunk)
    }
}

/// Rows in a data file, counted without building examples: what a shard needs to find its range.
/// JSONL lines are counted (blank ones are not rows), CSV records split, Parquet and `.npz` counts
/// read from the footer and the array headers.
pub fn count_rows(path: &Path, format: DataFormat, columns: &Columns) -> Result<usize, DataError> {
    match format {
        DataFormat::Npz => Ok(super::tensors::NpzStream::open(path, columns, None)?.len()),
        _ => ExampleStream::open(path, format, columns, None)?.count_rest(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_file_in_order_and_an_empty_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.jsonl");
        let lines: String = (0..7).map(|i| format!("{{\"text\": \"t{i}\", \"label\": 0}}\n\n")).collect();
        std::fs::write(&path, lines).unwrap();
        let mut s = ExampleStream::open(&path, DataFormat::Jsonl, &Columns::default(), None).unwrap();
        let sizes: Vec<usize> = std::iter::from_fn(|| Some(s.next_chunk(3).unwrap().len()).filter(|&n| n > 0)).collect();
        assert_eq!(sizes, vec![3, 3, 1]);
        let mut s = ExampleStream::open(&path, DataFormat::Jsonl, &Columns::default(), None).unwrap();
        let all = s.next_chunk(100).unwrap();
        assert_eq!(all[6].origin, "line 13");
        assert_eq!(count_rows(&path, DataFormat::Jsonl, &Columns::default()).unwrap(), 7);
        let mut s = ExampleStream::open(&path, DataFormat::Jsonl, &Columns::default(), None).unwrap();
        assert_eq!(s.skip(5).unwrap(), 5);
        assert_eq!(s.next_chunk(100).unwrap()[0].origin, "line 11", "rows after a skip keep their line numbers");
        std::fs::write(&path, "\n\n").unwrap();
        let mut s = ExampleStream::open(&path, DataFormat::Jsonl, &Columns::default(), None).unwrap();
        assert!(matches!(s.next_chunk(3), Err(DataError::Empty { .. })));
    }

    /// Skipping `k` rows and reading on gives the rows a full read gives after the first `k`, with
    /// the same row numbers, in every format (Parquet: across row-group boundaries).
    #[test]
    fn skipping_rows_reads_on_where_a_full_read_would() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("d.csv");
        std::fs::write(&csv, "text,label\n\"a\nb\",0\nc,1\nd,0\ne,1\n").unwrap();
        for (path, format) in [(root.join("tweets/test.parquet"), DataFormat::Parquet), (root.join("tweets/test.jsonl"), DataFormat::Jsonl), (csv, DataFormat::Csv)] {
            let columns = Columns { label: None, ..Columns::default() };
            let all = ExampleStream::open(&path, format, &columns, None).unwrap().next_chunk(usize::MAX).unwrap();
            assert_eq!(count_rows(&path, format, &columns).unwrap(), all.len(), "{}", path.display());
            for k in [0, 1, 3, all.len() / 2 + 7, all.len() - 1, all.len()] {
                let k = k.min(all.len());
                let mut s = ExampleStream::open(&path, format, &columns, None).unwrap();
                assert_eq!(s.skip(k).unwrap(), k);
                let rest = s.next_chunk(usize::MAX).unwrap();
                assert_eq!(rest, all[k..], "{} after skipping {k}", path.display());
            }
        }
    }

    #[test]
    fn csv_columns_are_expanded_before_the_first_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("d.csv");
        std::fs::write(&path, "f1,f2,label\n1,2,0\n3,4,1\n").unwrap();
        let columns = Columns { text: None, features: vec!["f*".into()], ..Columns::default() };
        let mut s = ExampleStream::open(&path, DataFormat::Csv, &columns, None).unwrap();
        assert_eq!(s.columns().features, vec!["f1".to_string(), "f2".to_string()]);
        assert_eq!(s.next_chunk(10).unwrap()[1].features, vec![3.0, 4.0]);
    }
}
