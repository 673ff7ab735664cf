//! The documents a language model is scored on: plain text (a `.txt` file, one document per
//! blank-line-separated block; or a folder of `.txt` files, one document each, in name order), or
//! the rows of a JSONL, CSV or Parquet file (`--text-column`, group columns as for classifiers).
//! Read a chunk at a time, so memory follows the chunk, not the corpus.

use crate::data::stream::ExampleStream;
use crate::data::{Columns, DataError, DataFormat};
use std::io::BufRead;
use std::path::{Path, PathBuf};

/// One document.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// Where it came from, for messages and the worst-positions dump: "block 3 (line 17)",
    /// "chapter1.txt", "line 12".
    pub origin: String,
    pub text: String,
    /// Group attributes in the order of the group columns (empty for plain text).
    pub attributes: Vec<String>,
}

/// How the documents are stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentFormat {
    /// A text file of blank-line-separated blocks.
    TextBlocks,
    /// A folder of `.txt` files.
    TextFiles,
    Table(DataFormat),
}

impl DocumentFormat {
    pub fn of(path: &Path, format: Option<DataFormat>) -> Result<Self, DataError> {
        if path.is_dir() {
            return Ok(Self::TextFiles);
        }
        if let Some(f) = format {
            return Ok(Self::Table(f));
        }
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("txt" | "text" | "md") => Ok(Self::TextBlocks),
            _ => DataFormat::from_path(path).map(Self::Table),
        }
    }
}

pub enum Documents {
    Blocks { lines: std::io::Lines<std::io::BufReader<std::fs::File>>, line: usize, block: usize, path: PathBuf },
    Files { files: std::vec::IntoIter<PathBuf> },
    Table(Box<ExampleStream>),
}

impl Documents {
    pub fn open(path: &Path, format: &DocumentFormat, columns: &Columns) -> Result<Self, DataError> {
        let io = |source| DataError::Io { path: path.to_path_buf(), source };
        match format {
            DocumentFormat::TextBlocks => {
                let file = std::fs::File::open(path).map_err(io)?;
                Ok(Self::Blocks { lines: std::io::BufReader::new(file).lines(), line: 0, block: 0, path: path.to_path_buf() })
            }
            DocumentFormat::TextFiles => {
                let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                    .map_err(io)?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.extension().and_then(|e| e.to_str()).is_some_and(|e| e.eq_ignore_ascii_case("txt")))
                    .collect();
                files.sort();
                if files.is_empty() {
                    return Err(DataError::Empty { path: path.to_path_buf() });
                }
                Ok(Self::Files { files: files.into_iter() })
            }
            DocumentFormat::Table(f) => Ok(Self::Table(Box::new(ExampleStream::open(path, *f, columns, None)?))),
        }
    }

    /// Up to `max` next documents; empty at the end.
    pub fn next_chunk(&mut self, max: usize) -> Result<Vec<Document>, DataError> {
        match self {
            Self::Table(stream) => Ok(stream
                .next_chunk(max)?
                .into_iter()
                .map(|e| Document { origin: e.origin, text: e.text.unwrap_or_default(), attributes: e.attributes })
                .collect()),
            Self::Files { files } => files
                .take(max)
                .map(|p| {
                    let text = std::fs::read_to_string(&p).map_err(|source| DataError::Io { path: p.clone(), source })?;
                    Ok(Document { origin: p.file_name().unwrap_or_default().to_string_lossy().into_owned(), text, attributes: vec![] })
                })
                .collect(),
            Self::Blocks { lines, line, block, path } => {
                let mut out = Vec::new();
                let mut current: Vec<String> = Vec::new();
                let mut first_line = 0;
                while out.len() < max {
                    let next = lines.next().transpose().map_err(|source| DataError::Io { path: path.clone(), source })?;
                    let blank = next.as_deref().is_none_or(|l| l.trim().is_empty());
                    if let Some(l) = next.as_ref().filter(|_| !blank) {
                        if current.is_empty() {
                            first_line = *line + 1;
                        }
                        current.push(l.clone());
                    }
                    if next.is_some() {
                        *line += 1;
                    }
                    if blank && !current.is_empty() {
                        *block += 1;
                        out.push(Document { origin: format!("block {block} (line {first_line})"), text: current.join("\n"), attributes: vec![] });
                        current.clear();
                    }
                    if next.is_none() {
                        break;
                    }
                }
                Ok(out)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_are_split_on_blank_lines_and_keep_their_lines() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.txt");
        std::fs::write(&path, "one\ntwo\n\n\nthree\n  \nfour").unwrap();
        let format = DocumentFormat::of(&path, None).unwrap();
        assert_eq!(format, DocumentFormat::TextBlocks);
        let mut docs = Documents::open(&path, &format, &Columns::default()).unwrap();
        let first = docs.next_chunk(2).unwrap();
        assert_eq!(first.iter().map(|d| d.text.as_str()).collect::<Vec<_>>(), ["one\ntwo", "three"]);
        assert_eq!(first[1].origin, "block 2 (line 5)");
        let rest = docs.next_chunk(10).unwrap();
        assert_eq!(rest.iter().map(|d| d.text.as_str()).collect::<Vec<_>>(), ["four"]);
        assert!(docs.next_chunk(10).unwrap().is_empty());
    }

    #[test]
    fn a_folder_is_one_document_per_txt_file_in_name_order() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.txt"), "bee").unwrap();
        std::fs::write(dir.path().join("a.txt"), "ay\n\nstill a").unwrap();
        std::fs::write(dir.path().join("c.md"), "not read").unwrap();
        let mut docs = Documents::open(dir.path(), &DocumentFormat::TextFiles, &Columns::default()).unwrap();
        let all = docs.next_chunk(10).unwrap();
        assert_eq!(all.iter().map(|d| (d.origin.as_str(), d.text.as_str())).collect::<Vec<_>>(), [("a.txt", "ay\n\nstill a"), ("b.txt", "bee")]);
    }
}
