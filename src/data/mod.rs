//! Evaluation data: examples read from JSONL, CSV or Parquet, their columns, and encoded batches.
//!
//! Readers turn each row into an [`Example`] (text, optional text pair, optional gold label,
//! subgroup attributes) and name the file, line or row, and column of anything they cannot read.

pub mod batch;
pub mod choice_rows;
pub mod columns;
mod contained;
mod csv_reader;
pub mod image_folder;
mod jsonl_reader;
mod parquet_reader;
pub mod label_names;
pub mod npy;
pub mod stream;
pub mod tensors;
pub mod text;

use std::path::{Path, PathBuf};
use thiserror::Error;

pub use batch::{Batch, InputTensor};
pub use columns::{Columns, RawLabel};
pub use label_names::LabelNames;
pub use stream::ExampleStream;
pub use image_folder::is_image_file;

/// One evaluation example.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Where the example came from, for messages: "line 12" (JSONL) or "row 12" (CSV and Parquet,
    /// 1-based data row).
    pub origin: String,
    /// The text, for text data.
    pub text: Option<String>,
    /// Second text of a pair (NLI hypothesis), when a pair column is configured.
    pub text_pair: Option<String>,
    /// Gold class index, when the data has labels.
    pub label: Option<usize>,
    /// Subgroup attributes in the order of [`Columns::groups`].
    pub attributes: Vec<String>,
    /// Feature values in the order of [`Columns::features`] (tabular tensor data).
    pub features: Vec<f32>,
    /// The image, for image data: a file in an image folder, or a manifest's image cell.
    pub image: Option<ImageRef>,
}

/// Where an example's image is.
#[derive(Debug, Clone, PartialEq)]
pub enum ImageRef {
    /// A file: as the manifest writes it (relative to the manifest's folder) or within an image folder.
    Path(String),
    /// Encoded bytes held in the data (Hugging Face `datasets` Parquet: a struct of bytes and path).
    Encoded { bytes: std::sync::Arc<[u8]>, name: Option<String> },
}

/// A dataset read from one file.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub path: PathBuf,
    pub columns: Columns,
    pub examples: Vec<Example>,
}

#[derive(Debug, Error)]
pub enum DataError {
    #[error("cannot read data file {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: {origin}: {message}")]
    Row { path: PathBuf, origin: String, message: String },
    #[error("{path}: no column '{column}' ({what}); the file has: {available}. Pass {flag} to name the right column")]
    MissingColumn { path: PathBuf, column: String, what: &'static str, flag: &'static str, available: String },
    #[error("{path}: the file holds no examples; fidelity needs at least one row to compare models")]
    Empty { path: PathBuf },
    #[error("{path}: unknown data format '{extension}'; use a .jsonl, .csv, .parquet or .npz file, or pass --data-format jsonl|csv|parquet|npz")]
    UnknownFormat { path: PathBuf, extension: String },
}

/// `columns` with its feature patterns expanded against a file's column names (`available`, in
/// file order); a pattern that matches nothing names itself and what the file has.
pub(crate) fn with_features_expanded(columns: &Columns, available: &[&str], path: &Path) -> Result<Columns, DataError> {
    let features = columns.expand_features(available).map_err(|pattern| DataError::MissingColumn {
        path: path.to_path_buf(),
        column: pattern,
        what: "feature columns",
        flag: "--feature-columns",
        available: available.join(", "),
    })?;
    Ok(Columns { features, ..columns.clone() })
}

/// A row-level error for a data file.
pub(crate) fn source_error(path: &Path, origin: &str, message: String) -> DataError {
    DataError::Row { path: path.to_path_buf(), origin: origin.to_string(), message }
}

/// File formats fidelity reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize, schemars::JsonSchema, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DataFormat {
    Jsonl,
    Csv,
    /// Apache Parquet (the Hugging Face datasets format), read by row group.
    Parquet,
    /// NumPy archive: one array per model input, plus label and attribute arrays.
    Npz,
    /// A folder of images, one sub-folder per class (`--data` is the folder).
    #[serde(rename = "image-folder")]
    #[value(name = "image-folder")]
    ImageFolder,
}

impl DataFormat {
    /// Guesses the format from the file extension.
    pub fn from_path(path: &Path) -> Result<Self, DataError> {
        if path.is_dir() {
            return Ok(Self::ImageFolder);
        }
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("").to_ascii_lowercase();
        match ext.as_str() {
            "jsonl" | "ndjson" | "json" => Ok(Self::Jsonl),
            "csv" => Ok(Self::Csv),
            "parquet" | "pq" => Ok(Self::Parquet),
            "npz" => Ok(Self::Npz),
            _ => Err(DataError::UnknownFormat { path: path.to_path_buf(), extension: ext }),
        }
    }
}

/// Parses examples from bytes in `format` (JSONL, CSV or Parquet); `path` only names the source in errors.
/// The readers behind [`read_dataset`], exposed for callers holding data in memory (and fuzzing).
pub fn parse_examples(bytes: &[u8], path: &Path, format: DataFormat, columns: &Columns, labels: Option<&LabelNames>) -> Result<Vec<Example>, DataError> {
    match format {
        DataFormat::Jsonl => jsonl_reader::read(bytes, path, columns, labels),
        DataFormat::Csv => csv_reader::read(bytes, path, columns, labels).map(|(examples, _)| examples),
        DataFormat::Parquet => parquet_reader::read(bytes::Bytes::copy_from_slice(bytes), path, columns, labels).map(|(examples, _)| examples),
        DataFormat::Npz => Err(source_error(path, "file", "npz data is read from a file with data::tensors::read_npz_dataset".into())),
        DataFormat::ImageFolder => image_folder::list(path, columns, labels),
    }
}

/// Reads a whole data file into memory.
///
/// `labels` resolves label names ("positive") to class indices; without it only index labels work.
pub fn read_dataset(path: &Path, format: DataFormat, columns: &Columns, labels: Option<&LabelNames>) -> Result<Dataset, DataError> {
    let io = |source| DataError::Io { path: path.to_path_buf(), source };
    if format == DataFormat::ImageFolder {
        let examples = image_folder::list(path, columns, labels)?;
        return Ok(Dataset { path: path.to_path_buf(), columns: columns.clone(), examples });
    }
    let file = std::fs::File::open(path).map_err(io)?;
    let (examples, columns) = match format {
        DataFormat::Jsonl => (jsonl_reader::read(std::io::BufReader::new(file), path, columns, labels)?, columns.clone()),
        DataFormat::Csv => csv_reader::read(std::io::BufReader::new(file), path, columns, labels)?,
        DataFormat::Parquet => parquet_reader::read(file, path, columns, labels)?,
        DataFormat::Npz | DataFormat::ImageFolder => {
            return Err(DataError::Row {
                path: path.to_path_buf(),
                origin: "file".into(),
                message: "an .npz archive is read with data::tensors::read_npz_dataset".into(),
            })
        }
    };
    if examples.is_empty() {
        return Err(DataError::Empty { path: path.to_path_buf() });
    }
    Ok(Dataset { path: path.to_path_buf(), columns, examples })
}
