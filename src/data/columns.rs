//! Which columns of a data file hold the text(s) or the features, the gold label and the subgroup
//! attributes, and how one row's cells become an [`Example`].

use super::Example;
use super::LabelNames;
use serde::Serialize;

/// Column mapping, from flags or a suite file.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Columns {
    /// Text column; `None` for tensor data (features instead of text).
    pub text: Option<String>,
    /// Second text of a pair (e.g. the NLI hypothesis).
    pub text_pair: Option<String>,
    /// Gold label column; `None` for unlabelled data (loyalty only, no accuracy).
    pub label: Option<String>,
    /// Subgroup attribute columns, kept with each example.
    pub groups: Vec<String>,
    /// Feature columns of tabular (CSV) tensor data, in order; a name ending in `*` matches every
    /// column with that prefix, in file order (readers expand the patterns).
    pub features: Vec<String>,
    /// Image path column of an image manifest (`--image-column`); `None` for other data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

impl Default for Columns {
    fn default() -> Self {
        Self { text: Some("text".into()), text_pair: None, label: Some("label".into()), groups: vec![], features: vec![], image: None }
    }
}

/// One cell as a reader found it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Integer(i64),
    /// Any other JSON value (a float, a bool, an array...), kept as its JSON text for messages.
    Other(String),
    /// A float from a typed column (Parquet FLOAT), kept exact: features take it as it is.
    Float32(f32),
    /// A double from a typed column (Parquet DOUBLE); features round it to f32 once.
    Float64(f64),
    Null,
    /// A Hugging Face `datasets` image: a struct of encoded `bytes` and the original `path`.
    Image { bytes: Option<std::sync::Arc<[u8]>>, path: Option<String> },
}

impl Cell {
    /// The cell as an attribute value: text as-is, numbers and others as written.
    fn into_attribute(self) -> String {
        match self {
            Cell::Text(s) | Cell::Other(s) => s,
            Cell::Integer(i) => i.to_string(),
            // `{:?}` keeps the `.0` of whole numbers ("39.0"), as JSON writes them.
            Cell::Float32(x) => format!("{x:?}"),
            Cell::Float64(x) => format!("{x:?}"),
            Cell::Null => String::new(),
            Cell::Image { path, .. } => path.unwrap_or_default(),
        }
    }
}

/// A label as written in the data, before it is checked against the model's classes.
#[derive(Debug, Clone, PartialEq)]
pub enum RawLabel {
    Index(usize),
    Name(String),
}

/// Why a row could not become an example; the reader adds file and line.
#[derive(Debug, Clone, PartialEq)]
pub enum RowProblem {
    Missing { column: String, what: &'static str, flag: &'static str },
    Invalid(String),
}

impl Columns {
    /// Builds an example from a row; `cell(name)` returns the row's cell for a column, if any.
    pub fn example(&self, origin: String, mut cell: impl FnMut(&str) -> Option<Cell>, labels: Option<&LabelNames>) -> Result<Example, RowProblem> {
        let text = match &self.text {
            Some(col) => Some(self.text_cell(&mut cell, col, "the text", "--text-column")?),
            None => None,
        };
        let text_pair = match &self.text_pair {
            Some(col) => Some(self.text_cell(&mut cell, col, "the second text of a pair", "--text-pair-column")?),
            None => None,
        };
        let label = match &self.label {
            Some(col) => {
                let c = cell(col).ok_or_else(|| RowProblem::Missing {
                    column: col.clone(),
                    what: "the gold label; pass --unlabelled for data without labels",
                    flag: "--label-column",
                })?;
                Some(resolve_label(c, labels).map_err(RowProblem::Invalid)?)
            }
            None => None,
        };
        let attributes = self
            .groups
            .iter()
            .map(|g| {
                cell(g).map(Cell::into_attribute).ok_or_else(|| RowProblem::Missing { column: g.clone(), what: "a subgroup attribute", flag: "--group-column" })
            })
            .collect::<Result<_, _>>()?;
        let features = self
            .features
            .iter()
            .map(|f| match cell(f) {
                None => Err(RowProblem::Missing { column: f.clone(), what: "a feature", flag: "--feature-columns" }),
                Some(Cell::Integer(i)) => Ok(i as f32),
                Some(Cell::Float32(x)) => Ok(x),
                Some(Cell::Float64(x)) => Ok(x as f32),
                Some(Cell::Text(t) | Cell::Other(t)) => {
                    t.trim().parse::<f32>().map_err(|_| RowProblem::Invalid(format!("feature column '{f}' holds '{t}', not a number")))
                }
                Some(Cell::Null) => Err(RowProblem::Invalid(format!("feature column '{f}' is empty"))),
                Some(Cell::Image { .. }) => Err(RowProblem::Invalid(format!("feature column '{f}' holds an image, not a number"))),
            })
            .collect::<Result<_, _>>()?;
        let image = match &self.image {
            Some(col) => Some(image_cell(&mut cell, col)?),
            None => None,
        };
        Ok(Example { origin, text, text_pair, label, attributes, features, image })
    }

    /// Expands feature patterns (`f*`) against a file's column names, keeping file order.
    pub fn expand_features(&self, available: &[&str]) -> Result<Vec<String>, String> {
        let mut out = Vec::new();
        for pattern in &self.features {
            let matched: Vec<String> = match pattern.strip_suffix('*') {
                Some(prefix) => available.iter().filter(|c| c.starts_with(prefix)).map(|c| c.to_string()).collect(),
                None => available.iter().filter(|c| *c == pattern).map(|c| c.to_string()).collect(),
            };
            if matched.is_empty() {
                return Err(pattern.clone());
            }
            out.extend(matched);
        }
        Ok(out)
    }

    fn text_cell(&self, cell: &mut impl FnMut(&str) -> Option<Cell>, column: &str, what: &'static str, flag: &'static str) -> Result<String, RowProblem> {
        match cell(column) {
            None => Err(RowProblem::Missing { column: column.into(), what, flag }),
            Some(Cell::Text(s)) => Ok(s),
            Some(other) => Err(RowProblem::Invalid(format!("column '{column}' should hold text but holds {}", describe(&other)))),
        }
    }
}

/// A manifest's image cell: a path, or (Parquet from `datasets`) encoded bytes.
fn image_cell(cell: &mut impl FnMut(&str) -> Option<Cell>, column: &str) -> Result<super::ImageRef, RowProblem> {
    match cell(column) {
        None => Err(RowProblem::Missing { column: column.into(), what: "the image path", flag: "--image-column" }),
        Some(Cell::Text(s)) if !s.trim().is_empty() => Ok(super::ImageRef::Path(s)),
        Some(Cell::Image { bytes: Some(bytes), path }) => Ok(super::ImageRef::Encoded { bytes, name: path }),
        Some(Cell::Image { bytes: None, path: Some(path) }) => Ok(super::ImageRef::Path(path)),
        Some(other) => Err(RowProblem::Invalid(format!("image column '{column}' should hold a path (or a datasets image struct) but holds {}", describe(&other)))),
    }
}

fn describe(cell: &Cell) -> String {
    match cell {
        Cell::Text(s) => format!("'{s}'"),
        Cell::Integer(i) => i.to_string(),
        Cell::Other(s) => s.clone(),
        Cell::Float32(x) => format!("{x:?}"),
        Cell::Float64(x) => format!("{x:?}"),
        Cell::Null => "null".into(),
        Cell::Image { path, .. } => format!("an image ({})", path.as_deref().unwrap_or("no path")),
    }
}

/// A whole number written as a float (`1.0`, `2e0`): what pandas writes for integer labels once a
/// column has held a NaN. `1.5`, negatives and non-numbers are not.
fn integral_float(text: &str) -> Option<usize> {
    integral(text.trim().parse().ok()?)
}

fn integral(x: f64) -> Option<usize> {
    (x.is_finite() && x >= 0.0 && x.fract() == 0.0 && x < 9.007_199_254_740_992e15).then_some(x as usize)
}

fn not_an_index(s: &str) -> String {
    format!("label {} is not a class index: indices are whole numbers 0, 1, 2, ...", s.trim())
}

/// Turns a label cell into a class index: an integer is an index (also written as text, or as a
/// float with no fraction, `1.0`); other text is a class name from `config.json`'s `id2label`.
fn resolve_label(cell: Cell, labels: Option<&LabelNames>) -> Result<usize, String> {
    let is_name = |s: &str| labels.is_some_and(|l| l.index_of(s).is_some());
    let raw = match cell {
        Cell::Integer(i) if i >= 0 => RawLabel::Index(i as usize),
        Cell::Text(s) => match (s.trim().parse::<usize>(), integral_float(&s)) {
            (Ok(i), _) | (_, Some(i)) if !is_name(&s) => RawLabel::Index(i),
            _ if !is_name(&s) && s.trim().parse::<f64>().is_ok() => return Err(not_an_index(&s)),
            _ => RawLabel::Name(s),
        },
        Cell::Float32(x) => integral(f64::from(x)).map(RawLabel::Index).ok_or_else(|| not_an_index(&format!("{x:?}")))?,
        Cell::Float64(x) => integral(x).map(RawLabel::Index).ok_or_else(|| not_an_index(&format!("{x:?}")))?,
        Cell::Other(s) => match (integral_float(&s), s.trim().parse::<f64>()) {
            (Some(i), _) => RawLabel::Index(i),
            (None, Ok(_)) => return Err(not_an_index(&s)),
            (None, Err(_)) => return Err(format!("label {s} is neither a class index nor a class name")),
        },
        other => return Err(format!("label {} is neither a class index nor a class name", describe(&other))),
    };
    match raw {
        RawLabel::Index(i) => Ok(i),
        RawLabel::Name(name) => match labels {
            Some(l) => l.index_of(&name).ok_or_else(|| format!("label '{name}' is not one of the model's classes ({})", l.names().join(", "))),
            None => Err(format!(
                "label '{name}' is a class name, but no class names are known; put a config.json with \
                 id2label beside the teacher (or pass --config), or write labels as class indices"
            )),
        },
    }
}

/// A label written as text (an `.npz` string or integer array): a class name or an index.
pub fn parse_label(text: &str, labels: Option<&LabelNames>) -> Result<usize, String> {
    resolve_label(Cell::Text(text.to_string()), labels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> LabelNames {
        LabelNames::new(vec!["negative".into(), "neutral".into(), "positive".into()])
    }

    #[test]
    fn labels_resolve_by_index_name_or_numeric_text() {
        let l = names();
        assert_eq!(resolve_label(Cell::Integer(2), Some(&l)), Ok(2));
        assert_eq!(resolve_label(Cell::Text("neutral".into()), Some(&l)), Ok(1));
        assert_eq!(resolve_label(Cell::Text("0".into()), None), Ok(0));
        assert!(resolve_label(Cell::Text("happy".into()), Some(&l)).unwrap_err().contains("happy"));
        assert!(resolve_label(Cell::Text("positive".into()), None).unwrap_err().contains("config.json"));
        assert!(resolve_label(Cell::Integer(-1), Some(&l)).is_err());
    }

    #[test]
    fn whole_floats_are_class_indices_and_fractions_are_errors() {
        let l = LabelNames::new(vec!["negative".into(), "neutral".into(), "positive".into()]);
        assert_eq!(resolve_label(Cell::Other("1.0".into()), Some(&l)), Ok(1));
        assert_eq!(resolve_label(Cell::Other("2e0".into()), None), Ok(2));
        assert_eq!(resolve_label(Cell::Text("0.0".into()), None), Ok(0));
        assert_eq!(parse_label("1.0", Some(&l)), Ok(1));
        for bad in ["1.5", "-1.0", "NaN", "inf"] {
            assert!(resolve_label(Cell::Other(bad.into()), Some(&l)).unwrap_err().contains(bad), "{bad}");
        }
        assert!(resolve_label(Cell::Text("1.5".into()), Some(&l)).unwrap_err().contains("1.5"));
        // Typed floats (Parquet FLOAT/DOUBLE columns) follow the same rule.
        assert_eq!(resolve_label(Cell::Float64(2.0), Some(&l)), Ok(2));
        assert_eq!(resolve_label(Cell::Float32(1.0), None), Ok(1));
        assert!(resolve_label(Cell::Float64(1.5), Some(&l)).unwrap_err().contains("1.5"));
        assert!(resolve_label(Cell::Float64(f64::NAN), Some(&l)).is_err());
    }

    #[test]
    fn builds_an_example_and_names_missing_columns() {
        let cols = Columns { groups: vec!["topic".into()], ..Columns::default() };
        let row = |c: &str| match c {
            "text" => Some(Cell::Text("hello".into())),
            "label" => Some(Cell::Text("positive".into())),
            "topic" => Some(Cell::Text("apple".into())),
            _ => None,
        };
        let e = cols.example("line 1".into(), row, Some(&names())).unwrap();
        assert_eq!((e.text.as_deref(), e.label, e.attributes[0].as_str()), (Some("hello"), Some(2), "apple"));
        let cols = Columns { text: Some("body".into()), ..Columns::default() };
        match cols.example("line 1".into(), row, Some(&names())) {
            Err(RowProblem::Missing { column, flag, .. }) => assert_eq!((column.as_str(), flag), ("body", "--text-column")),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn feature_patterns_expand_in_file_order_and_parse() {
        let cols = Columns { text: None, features: vec!["f*".into(), "age".into()], ..Columns::default() };
        let expanded = cols.expand_features(&["label", "f1", "f0", "age"]).unwrap();
        assert_eq!(expanded, ["f1", "f0", "age"]);
        assert_eq!(cols.expand_features(&["label"]).unwrap_err(), "f*");
        let cols = Columns { features: expanded, ..cols };
        let row = |c: &str| match c {
            "f0" => Some(Cell::Text("0.5".into())),
            "f1" => Some(Cell::Text("-1e-3".into())),
            "age" => Some(Cell::Text("x".into())),
            "label" => Some(Cell::Integer(1)),
            _ => None,
        };
        match cols.example("row 1".into(), row, None) {
            Err(RowProblem::Invalid(m)) => assert!(m.contains("'age'") && m.contains("'x'"), "{m}"),
            other => panic!("unexpected {other:?}"),
        }
    }
}
