//! Initializers kept in external files (`model.onnx` + `model.onnx_data`, the only layout for
//! models over 2 GB): which files the graph names, relative to the model's folder as the ONNX spec
//! has them (read from the tensors' `external_data` entries, no file opened), whether they are
//! there, and a tensor's nonzero count streamed from its file for the size table.

use super::decode::Graph;
use super::proto::TensorProto;

/// `TensorProto.DataLocation.EXTERNAL`.
const EXTERNAL: i32 = 1;

/// The `location` of an external tensor.
fn location(t: &TensorProto) -> Option<&str> {
    if t.data_location != Some(EXTERNAL) {
        return None;
    }
    t.external_data.iter().find(|e| e.key.as_deref() == Some("location")).and_then(|e| e.value.as_deref())
}

/// Every external file the graph's initializers (dense and sparse) name, each once, in the order
/// first named.
pub(super) fn files(g: &Graph) -> Vec<String> {
    let sparse = g.sparse.iter().flat_map(|s| s.values.iter().chain(s.indices.iter()));
    let mut out: Vec<String> = Vec::new();
    for name in g.initializers.iter().chain(sparse).filter_map(location) {
        if !out.iter().any(|f| f == name) {
            out.push(name.to_string());
        }
    }
    out
}

/// Nonzero elements of an external tensor of `elements` elements, read from its file in 1 MiB
/// pieces (never whole); `None` where the file, its offset or length cannot be read, or the type is
/// not one counted byte-wise.
pub(super) fn nonzero(t: &TensorProto, folder: &std::path::Path, elements: u64) -> Option<u64> {
    use std::io::{Read, Seek};
    let (kind, size) = super::tensor::element_bytes(i64::from(t.data_type?))?;
    let entry = |k: &str| t.external_data.iter().find(|e| e.key.as_deref() == Some(k)).and_then(|e| e.value.as_deref());
    let offset: u64 = entry("offset").map_or(Some(0), |v| v.parse().ok())?;
    let length = elements.checked_mul(size as u64)?;
    if entry("length").is_some_and(|v| v.parse::<u64>().ok() != Some(length)) {
        return None;
    }
    let mut file = std::fs::File::open(folder.join(location(t)?)).ok()?;
    file.seek(std::io::SeekFrom::Start(offset)).ok()?;
    let mut buf = vec![0u8; ((1 << 20) / size).max(1) * size];
    let (mut left, mut nonzero) = (length, 0u64);
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        file.read_exact(&mut buf[..want]).ok()?;
        nonzero += super::tensor::raw_nonzero(&buf[..want], kind, (want / size) as u64);
        left -= want as u64;
    }
    Some(nonzero)
}

/// Checks that each file exists beside the model, and stays inside its folder (as ONNX Runtime
/// requires). The error names the file looked for.
pub fn check(model_dir: &std::path::Path, files: &[String]) -> Result<(), String> {
    for f in files {
        let relative = std::path::Path::new(f);
        if relative.is_absolute() || relative.components().any(|c| matches!(c, std::path::Component::ParentDir)) {
            return Err(format!("its external data file `{f}` is not a path inside the model's folder {}, as the ONNX format requires", model_dir.display()));
        }
        let path = model_dir.join(relative);
        if !path.is_file() {
            return Err(format!(
                "its weights are in an external data file, {}, which does not exist: keep the model's external data files beside it, under the names the model gives them",
                path.display()
            ));
        }
    }
    Ok(())
}
