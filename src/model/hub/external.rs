//! External data files a model's graph names beyond the usual `<model>_data` / `<model>.data` that
//! the layout fetches with it (several shards, other names, subfolders): read from the downloaded
//! graph, then fetched from the same commit, so the model loads from the snapshot as it would from a
//! local folder.

use std::path::Path;

/// The repository paths of the external data files `model` (at `model_file` in the repository)
/// names that are not in `fetched`. Names that are not plain relative paths are left out: loading
/// refuses them with their name.
pub(super) fn named_by_graph(model_file: &str, model: &Path, fetched: &[String]) -> Vec<String> {
    let Ok(graph) = crate::onnx::OnnxGraph::read(model) else { return vec![] };
    let folder = model_file.rsplit_once('/').map_or("", |(d, _)| d);
    graph
        .external_files()
        .into_iter()
        .filter(|f| !f.starts_with('/') && !f.split(['/', '\\']).any(|part| part == ".."))
        .map(|f| if folder.is_empty() { f } else { format!("{folder}/{f}") })
        .filter(|f| !fetched.contains(f))
        .collect()
}
