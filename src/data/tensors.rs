//! Tensor data: models whose inputs are float feature vectors or images rather than text.
//!
//! Two sources: an `.npz` archive (one array per model input, first axis = examples, plus a label
//! array and attribute arrays), or the feature columns of a CSV (stacked into one `[n, d]` input
//! named after the model's float input). No padding: every example already has its full shape.

use super::npy::{parse_header, NpyData, NpyHeader, NpyKind};
use super::source_error as err;
use super::LabelNames;
use super::{Batch, Columns, DataError, Example, InputTensor};
use ndarray::{Array2, ArrayD, IxDyn};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Named arrays whose first axis is the example.
#[derive(Debug, Clone)]
pub struct TensorData {
    pub n: usize,
    pub tensors: Vec<(String, InputTensor)>,
}

impl TensorData {
    /// Stacks every example's CSV features into one `[n, d]` float input called `input`.
    pub fn from_features(examples: &[Example], input: &str) -> Self {
        let d = examples.first().map_or(0, |e| e.features.len());
        let flat: Vec<f32> = examples.iter().flat_map(|e| e.features.iter().copied()).collect();
        let array = ArrayD::from_shape_vec(IxDyn(&[examples.len(), d]), flat).unwrap_or_else(|_| ArrayD::zeros(IxDyn(&[0, d])));
        Self { n: examples.len(), tensors: vec![(input.to_string(), InputTensor::Float32(array))] }
    }

    /// `(name, shape)` of every array, for the report.
    pub fn shapes(&self) -> Vec<(String, Vec<usize>)> {
        self.tensors
            .iter()
            .map(|(n, t)| (n.clone(), t.shape()))
            .collect()
    }

    /// The examples at `indices`, in that order.
    pub fn batch_of(&self, indices: &[usize]) -> Batch {
        let tensors = self.tensors.iter().map(|(name, t)| (name.clone(), t.select(indices))).collect();
        Batch { rows: indices.len(), tensors, pad_id: None }
    }
}

fn as_strings(data: NpyData) -> Vec<String> {
    match data {
        NpyData::Str(v) => v,
        NpyData::I64(v) => v.iter().map(i64::to_string).collect(),
        NpyData::F32(v) => v.iter().map(f32::to_string).collect(),
    }
}

/// Where a member's data is.
enum Body {
    /// Stored uncompressed (`np.savez`): read row ranges from the file at this offset.
    Stored(u64),
    /// Compressed (`np.savez_compressed`): decompressed whole, since deflate streams cannot seek.
    Loaded(Vec<u8>),
}

struct Member {
    name: String,
    header: NpyHeader,
    body: Body,
}

/// An `.npz` archive read a chunk of rows at a time. `columns.label` and `columns.groups` name the
/// label and attribute arrays; every other float array, and every 2-d integer array, whose first
/// axis has the data's length is a model input. Stored members (`np.savez`, the default) stream
/// from the file; compressed members are held whole.
pub struct NpzStream {
    path: PathBuf,
    file: File,
    members: Vec<Member>,
    label: Option<usize>,
    groups: Vec<usize>,
    inputs: Vec<usize>,
    n: usize,
    next: usize,
    labels: Option<LabelNames>,
}

/// One array of the archive: its header, and where its rows are (an offset into the file when
/// stored, the decompressed bytes otherwise: deflate cannot seek).
fn read_member(path: &Path, zip: &mut zip::ZipArchive<File>, i: usize) -> Result<Member, DataError> {
    let archive_error = |message: String| err(path, "archive", message);
    let array_error = |name: &str, message: String| err(path, &format!("array '{name}'"), message);
    let mut entry = zip.by_index(i).map_err(|e| archive_error(format!("cannot read entry {i}: {e}")))?;
    let name = entry.name().map_err(|e| archive_error(format!("entry {i} has an unreadable name: {e}")))?.trim_end_matches(".npy").to_string();
    let read_error = |e: std::io::Error| array_error(&name, format!("cannot read: {e}"));
    let stored = entry.compression() == zip::CompressionMethod::Stored && !entry.encrypted();
    let (header, body) = if stored {
        // Magic, version and header length, then the header itself.
        let mut head = vec![0u8; 12];
        let got = read_up_to(&mut entry, &mut head).map_err(read_error)?;
        head.truncate(got);
        let header_len = match head.get(6) {
            Some(1) if got >= 10 => u16::from_le_bytes([head[8], head[9]]) as usize + 10,
            Some(2 | 3) if got >= 12 => u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize + 12,
            _ => 0,
        };
        if header_len > head.len() {
            let mut rest = vec![0u8; header_len - head.len()];
            let more = read_up_to(&mut entry, &mut rest).map_err(read_error)?;
            head.extend_from_slice(&rest[..more]);
        }
        let header = parse_header(&head).map_err(|m| array_error(&name, m))?;
        let start = entry.data_start().ok_or_else(|| array_error(&name, "no data offset in the archive".into()))?;
        if entry.size() < (header.data_offset + header.data_bytes()) as u64 {
            return Err(array_error(&name, format!("data is shorter than shape {:?} of '{}' needs", header.shape, header.descr)));
        }
        (header.clone(), Body::Stored(start + header.data_offset as u64))
    } else {
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).map_err(read_error)?;
        let header = parse_header(&bytes).map_err(|m| array_error(&name, m))?;
        let body = bytes
            .get(header.data_offset..)
            .and_then(|b| b.get(..header.data_bytes()))
            .ok_or_else(|| array_error(&name, format!("data is shorter than shape {:?} of '{}' needs", header.shape, header.descr)))?
            .to_vec();
        (header, Body::Loaded(body))
    };
    Ok(Member { name, header, body })
}

impl NpzStream {
    /// Opens the archive and checks every array's header and length; reads no data rows.
    pub fn open(path: &Path, columns: &Columns, labels: Option<&LabelNames>) -> Result<Self, DataError> {
        let archive_error = |message: String| err(path, "archive", message);
        let array_error = |name: &str, message: String| err(path, &format!("array '{name}'"), message);
        let file = File::open(path).map_err(|e| archive_error(format!("cannot open: {e}")))?;
        let mut zip = zip::ZipArchive::new(file).map_err(|e| archive_error(format!("not a readable .npz (zip) archive: {e}")))?;
        let members = (0..zip.len()).map(|i| read_member(path, &mut zip, i)).collect::<Result<Vec<_>, _>>()?;
        let available = || members.iter().map(|m| format!("{} {:?}", m.name, m.header.shape)).collect::<Vec<_>>().join(", ");
        let find = |name: &str, what: &'static str, flag: &'static str| {
            members.iter().position(|m| m.name == name).ok_or_else(|| DataError::MissingColumn {
                path: path.to_path_buf(),
                column: name.to_string(),
                what,
                flag,
                available: available(),
            })
        };
        let label = match &columns.label {
            Some(l) => Some(find(l, "the gold label; pass --unlabelled for data without labels", "--label-column")?),
            None => None,
        };
        let groups = columns.groups.iter().map(|g| find(g, "a subgroup attribute", "--group-column")).collect::<Result<Vec<_>, _>>()?;
        let n = match label.or((!members.is_empty()).then_some(0)) {
            Some(k) => members[k].header.shape.first().copied().unwrap_or(0),
            None => 0,
        };
        let mut inputs = Vec::new();
        for (k, m) in members.iter().enumerate() {
            if m.header.shape.first() != Some(&n) {
                return Err(array_error(&m.name, format!("has shape {:?}, but the data has {n} examples (first axis)", m.header.shape)));
            }
            let is_meta = Some(k) == label || groups.contains(&k);
            let input = match m.header.decodes_to() {
                NpyKind::Float => true,
                NpyKind::Int => m.header.shape.len() == 2,
                NpyKind::Str => false,
            };
            // Anything else (ids, extra metadata) is not a model input: ignored.
            if input && !is_meta {
                inputs.push(k);
            }
        }
        if n == 0 {
            return Err(DataError::Empty { path: path.to_path_buf() });
        }
        let file = File::open(path).map_err(|e| archive_error(format!("cannot open: {e}")))?;
        Ok(Self { path: path.to_path_buf(), file, members, label, groups, inputs, n, next: 0, labels: labels.cloned() })
    }

    /// Examples in the archive.
    pub fn len(&self) -> usize {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Rows `start..end` of member `k`, decoded.
    fn rows(&mut self, k: usize, start: usize, end: usize) -> Result<NpyData, DataError> {
        let m = &self.members[k];
        let row = m.header.row_bytes();
        let (from, len) = (start * row, (end - start) * row);
        let bytes = match &m.body {
            Body::Loaded(all) => std::borrow::Cow::Borrowed(&all[from..from + len]),
            Body::Stored(offset) => {
                let mut buf = vec![0u8; len];
                self.file
                    .seek(SeekFrom::Start(offset + from as u64))
                    .and_then(|_| self.file.read_exact(&mut buf))
                    .map_err(|e| err(&self.path, &format!("array '{}'", m.name), format!("cannot read: {e}")))?;
                std::borrow::Cow::Owned(buf)
            }
        };
        Ok(self.members[k].header.decode(&bytes))
    }

    /// Passes over the next `k` rows: stored arrays are then read from their row offset.
    pub fn skip(&mut self, k: usize) {
        self.next = (self.next + k).min(self.n);
    }

    /// The next `max` examples (fewer at the end) and their model inputs; `None` after the last.
    pub fn next_chunk(&mut self, max: usize) -> Result<Option<(Vec<Example>, TensorData)>, DataError> {
        let (start, end) = (self.next, (self.next + max.max(1)).min(self.n));
        if start >= end {
            return Ok(None);
        }
        let rows = end - start;
        let labels = match self.label {
            Some(k) => Some(as_strings(self.rows(k, start, end)?)),
            None => None,
        };
        let groups = self.groups.clone().into_iter().map(|k| self.rows(k, start, end).map(as_strings)).collect::<Result<Vec<_>, _>>()?;
        let mut tensors = Vec::with_capacity(self.inputs.len());
        for k in self.inputs.clone() {
            let mut shape = self.members[k].header.shape.clone();
            shape[0] = rows;
            let name = self.members[k].name.clone();
            let data = self.rows(k, start, end)?;
            let shape_error = |e: ndarray::ShapeError| err(&self.path, &name, e.to_string());
            let tensor = match data {
                NpyData::F32(v) => InputTensor::Float32(ArrayD::from_shape_vec(IxDyn(&shape), v).map_err(shape_error)?),
                NpyData::I64(v) => InputTensor::Int64(Array2::from_shape_vec((shape[0], shape[1]), v).map_err(shape_error)?),
                NpyData::Str(_) => continue,
            };
            tensors.push((name, tensor));
        }
        let mut examples = Vec::with_capacity(rows);
        for r in 0..rows {
            let origin = format!("row {}", start + r + 1);
            let label = match &labels {
                Some(l) => Some(super::columns::parse_label(&l[r], self.labels.as_ref()).map_err(|m| err(&self.path, &origin, m))?),
                None => None,
            };
            let attributes = groups.iter().map(|g| g[r].clone()).collect();
            examples.push(Example { origin, text: None, text_pair: None, label, attributes, features: vec![], image: None });
        }
        self.next = end;
        Ok(Some((examples, TensorData { n: rows, tensors })))
    }

    /// `(name, shape)` of every model input over the whole archive, for the report.
    pub fn shapes(&self) -> Vec<(String, Vec<usize>)> {
        self.inputs.iter().map(|&k| (self.members[k].name.clone(), self.members[k].header.shape.clone())).collect()
    }
}

/// Reads as much of `buf` as the reader has (an entry may be shorter than a header).
fn read_up_to(reader: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match reader.read(&mut buf[got..])? {
            0 => break,
            k => got += k,
        }
    }
    Ok(got)
}

/// Reads a whole `.npz` archive (see [`NpzStream`]).
pub fn read_npz_dataset(path: &Path, columns: &Columns, labels: Option<&LabelNames>) -> Result<(Vec<Example>, TensorData), DataError> {
    let mut stream = NpzStream::open(path, columns, labels)?;
    let n = stream.len();
    stream.next_chunk(n)?.ok_or_else(|| DataError::Empty { path: path.to_path_buf() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::npy::npy_bytes as npy;

    #[test]
    fn batches_slice_the_first_axis() {
        let a = ArrayD::from_shape_vec(IxDyn(&[3, 2]), vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        let data = TensorData { n: 3, tensors: vec![("x".into(), InputTensor::Float32(a))] };
        let b = data.batch_of(&[2, 0]);
        assert_eq!(b.rows, 2);
        let Some(InputTensor::Float32(x)) = b.get("x") else { panic!() };
        assert_eq!(x.as_slice().unwrap(), &[5.0, 6.0, 1.0, 2.0]);
    }

    #[test]
    fn image_batches_keep_their_shape() {
        // [examples, channels, height, width], as an .npz of images for a small CNN gives.
        let a = ArrayD::from_shape_fn(IxDyn(&[3, 1, 2, 2]), |i| (i[0] * 10 + i[2] * 2 + i[3]) as f32);
        let data = TensorData { n: 3, tensors: vec![("pixels".into(), InputTensor::Float32(a))] };
        let b = data.batch_of(&[1, 2]);
        let Some(InputTensor::Float32(x)) = b.get("pixels") else { panic!() };
        assert_eq!(x.shape(), &[2, 1, 2, 2]);
        assert_eq!(x.as_slice().unwrap(), &[10.0, 11.0, 12.0, 13.0, 20.0, 21.0, 22.0, 23.0]);
    }

    #[test]
    fn stacks_csv_features() {
        let ex = |f: Vec<f32>| Example { origin: "row".into(), text: None, text_pair: None, label: Some(0), attributes: vec![], features: f, image: None };
        let data = TensorData::from_features(&[ex(vec![1.0, 2.0]), ex(vec![3.0, 4.0])], "features");
        assert_eq!(data.shapes(), vec![("features".to_string(), vec![2, 2])]);
    }

    fn archive(dir: &Path, members: &[(&str, Vec<u8>)]) -> PathBuf {
        let path = dir.join("d.npz");
        let mut w = zip::ZipWriter::new(File::create(&path).unwrap());
        for (name, bytes) in members {
            w.start_file(format!("{name}.npy"), zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored)).unwrap();
            std::io::Write::write_all(&mut w, bytes).unwrap();
        }
        w.finish().unwrap();
        path
    }

    #[test]
    fn stored_archives_stream_row_ranges() {
        let dir = tempfile::tempdir().unwrap();
        let x: Vec<u8> = (0..5 * 2 * 3).flat_map(|v| (v as f32).to_le_bytes()).collect();
        let ids: Vec<u8> = (0..5 * 2).flat_map(|v| (v as i64).to_le_bytes()).collect();
        let label: Vec<u8> = [0i64, 1, 1, 0, 1].iter().flat_map(|v| v.to_le_bytes()).collect();
        let path = archive(dir.path(), &[("x", npy("<f4", "(5, 2, 3)", &x)), ("ids", npy("<i8", "(5, 2)", &ids)), ("label", npy("<i8", "(5,)", &label))]);
        let mut s = NpzStream::open(&path, &Columns { text: None, ..Columns::default() }, None).unwrap();
        assert_eq!(s.shapes(), vec![("x".to_string(), vec![5, 2, 3]), ("ids".to_string(), vec![5, 2])]);
        let (a, da) = s.next_chunk(2).unwrap().unwrap();
        let (b, db) = s.next_chunk(2).unwrap().unwrap();
        let (c, dc) = s.next_chunk(2).unwrap().unwrap();
        assert!(s.next_chunk(2).unwrap().is_none());
        assert_eq!((a.len(), b.len(), c.len()), (2, 2, 1));
        assert_eq!((b[1].origin.as_str(), b[1].label), ("row 4", Some(0)));
        let Some(InputTensor::Float32(x)) = db.batch_of(&[0, 1]).get("x").cloned() else { panic!() };
        assert_eq!(x.shape(), &[2, 2, 3]);
        assert_eq!(x.as_slice().unwrap()[0], 12.0, "row 3 starts at element 2 * 6");
        let Some(InputTensor::Int64(ids)) = dc.batch_of(&[0]).get("ids").cloned() else { panic!() };
        assert_eq!(ids.as_slice().unwrap(), &[8, 9]);
        assert_eq!(da.n + db.n + dc.n, 5);
    }

    #[test]
    fn a_stored_member_shorter_than_its_shape_is_refused_at_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = archive(dir.path(), &[("x", npy("<f4", "(4, 2)", &[0; 12])), ("label", npy("<i8", "(4,)", &[0; 32]))]);
        let err = NpzStream::open(&path, &Columns { text: None, ..Columns::default() }, None).err().unwrap().to_string();
        assert!(err.contains("array 'x'") && err.contains("shorter"), "{err}");
    }
}
