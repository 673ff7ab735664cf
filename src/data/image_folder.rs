//! An image folder (torchvision's `ImageFolder` layout): `root/<class name>/<image file>`, one
//! class per sub-folder. Examples are every image file in sorted path order; the label is the
//! folder's class, by the model's `id2label` when `config.json` has one, else by folder names
//! in sorted order (what torchvision does). Unlabelled data (`--unlabelled`): every image under
//! the root, sub-folders included, with no label.

use super::{Columns, DataError, Example, ImageRef, LabelNames};
use std::path::{Path, PathBuf};

/// File extensions read as images (case-insensitive).
pub const IMAGE_EXTENSIONS: [&str; 5] = ["png", "jpg", "jpeg", "webp", "bmp"];

pub fn is_image_file(path: &Path) -> bool {
    path.extension().and_then(|e| e.to_str()).is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// The class names of an image folder: its sub-folders that hold images, sorted by name.
pub fn class_folders(root: &Path) -> Result<Vec<String>, DataError> {
    let mut classes = Vec::new();
    for entry in read_dir(root)? {
        let hidden = entry.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if !hidden && entry.is_dir() && files_under(&entry)?.iter().any(|f| is_image_file(f)) {
            classes.push(entry.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        }
    }
    Ok(classes)
}

/// Every example of the folder at `root`, in sorted relative-path order.
pub fn list(root: &Path, columns: &Columns, labels: Option<&LabelNames>) -> Result<Vec<Example>, DataError> {
    let row_error = |origin: &str, message: String| DataError::Row { path: root.to_path_buf(), origin: origin.into(), message };
    let example = |file: &Path, label: Option<usize>| {
        let relative = file.strip_prefix(root).unwrap_or(file).to_string_lossy().into_owned();
        Example { origin: relative.clone(), text: None, text_pair: None, label, attributes: vec![], features: vec![], image: Some(ImageRef::Path(relative)) }
    };
    if !columns.groups.is_empty() {
        return Err(row_error(
            "folder",
            format!(
                "an image folder has no columns, so no group '{}': use a manifest (CSV, JSONL or Parquet with --image-column) for subgroups",
                columns.groups[0]
            ),
        ));
    }
    if columns.label.is_none() {
        let files: Vec<PathBuf> = files_under(root)?.into_iter().filter(|f| is_image_file(f)).collect();
        if files.is_empty() {
            return Err(DataError::Empty { path: root.to_path_buf() });
        }
        return Ok(files.iter().map(|f| example(f, None)).collect());
    }
    let classes = class_folders(root)?;
    if classes.is_empty() {
        let loose = files_under(root)?.iter().any(|f| is_image_file(f));
        let hint = if loose {
            "its images are not in class folders: pass --unlabelled to compare on them without labels"
        } else {
            "it holds no PNG, JPEG, WebP or BMP file"
        };
        return Err(row_error("folder", format!("no class folders (root/<class>/<image>): {hint}")));
    }
    let mut examples = Vec::new();
    for class in &classes {
        let label = match labels {
            Some(names) => names.index_of(class).ok_or_else(|| {
                row_error(
                    class,
                    format!(
                        "folder '{class}' is not one of the model's classes ({}): rename the folder, or check config.json's id2label",
                        names.names().join(", ")
                    ),
                )
            })?,
            None => classes.iter().position(|c| c == class).unwrap_or(0),
        };
        for file in files_under(&root.join(class))?.into_iter().filter(|f| is_image_file(f)) {
            examples.push(example(&file, Some(label)));
        }
    }
    Ok(examples)
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let io = |source| DataError::Io { path: dir.to_path_buf(), source };
    let mut entries = std::fs::read_dir(dir).map_err(io)?.map(|e| e.map(|e| e.path())).collect::<Result<Vec<_>, _>>().map_err(io)?;
    entries.sort();
    Ok(entries)
}

/// Files under `dir`, sub-folders included, in sorted path order (hidden entries skipped).
fn files_under(dir: &Path) -> Result<Vec<PathBuf>, DataError> {
    let mut out = Vec::new();
    for entry in read_dir(dir)? {
        if entry.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.')) {
            continue;
        }
        if entry.is_dir() {
            out.extend(files_under(&entry)?);
        } else {
            out.push(entry);
        }
    }
    Ok(out)
}

/// The listed examples, handed out as a reader's rows.
pub(super) struct ListedRows {
    examples: std::vec::IntoIter<Example>,
}

impl ListedRows {
    pub(super) fn new(examples: Vec<Example>) -> Self {
        Self { examples: examples.into_iter() }
    }
}

impl Iterator for ListedRows {
    type Item = Result<Example, DataError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.examples.next().map(Ok)
    }
}

impl super::stream::Rows for ListedRows {
    fn skip_rows(&mut self, k: usize) -> Result<usize, DataError> {
        Ok(self.examples.by_ref().take(k).count())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(root: &Path, rel: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b"").unwrap();
    }

    #[test]
    fn classes_follow_id2label_or_sorted_folder_names() {
        let dir = tempfile::tempdir().unwrap();
        for rel in ["cat/b.png", "cat/a.JPG", "dog/x.webp", "dog/notes.txt", "empty/readme.md", ".hidden/z.png"] {
            touch(dir.path(), rel);
        }
        let columns = Columns { text: None, ..Columns::default() };
        let sorted = list(dir.path(), &columns, None).unwrap();
        let got: Vec<(String, Option<usize>)> = sorted.iter().map(|e| (e.origin.clone(), e.label)).collect();
        assert_eq!(got, vec![("cat/a.JPG".into(), Some(0)), ("cat/b.png".into(), Some(0)), ("dog/x.webp".into(), Some(1))]);
        let names = LabelNames::new(vec!["dog".into(), "cat".into()]);
        assert_eq!(list(dir.path(), &columns, Some(&names)).unwrap()[0].label, Some(1), "id2label decides");
        let other = LabelNames::new(vec!["bird".into(), "cat".into()]);
        let err = list(dir.path(), &columns, Some(&other)).unwrap_err().to_string();
        assert!(err.contains("folder 'dog' is not one of the model's classes (bird, cat)"), "{err}");
        let unlabelled = list(dir.path(), &Columns { label: None, ..columns.clone() }, None).unwrap();
        assert_eq!(unlabelled.len(), 3);
        assert!(unlabelled.iter().all(|e| e.label.is_none()));
    }

    #[test]
    fn loose_images_need_unlabelled() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "a.png");
        let err = list(dir.path(), &Columns { text: None, ..Columns::default() }, None).unwrap_err().to_string();
        assert!(err.contains("--unlabelled"), "{err}");
    }
}
