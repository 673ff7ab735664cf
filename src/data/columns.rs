//! Which columns of a data file hold the text(s), the gold label and the subgroup attributes, and
//! how one row's cells become an [`Example`].

use super::Example;
use crate::model::LabelNames;
use serde::Serialize;

/// Column mapping, from flags or a suite file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Columns {
    pub text: String,
    /// Second text of a pair (e.g. the NLI hypothesis).
    pub text_pair: Option<String>,
    /// Gold label column; `None` for unlabelled data (loyalty only, no accuracy).
    pub label: Option<String>,
    /// Subgroup attribute columns, kept with each example.
    pub groups: Vec<String>,
}

impl Default for Columns {
    fn default() -> Self {
        Self { text: "text".into(), text_pair: None, label: Some("label".into()), groups: vec![] }
    }
}

/// One cell as a reader found it.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Integer(i64),
    /// Any other JSON value (a float, a bool, an array...), kept as its JSON text for messages.
    Other(String),
    Null,
}

impl Cell {
    /// The cell as an attribute value: text as-is, numbers and others as written.
    fn into_attribute(self) -> String {
        match self {
            Cell::Text(s) | Cell::Other(s) => s,
            Cell::Integer(i) => i.to_string(),
            Cell::Null => String::new(),
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
    pub fn example(
        &self,
        origin: String,
        mut cell: impl FnMut(&str) -> Option<Cell>,
        labels: Option<&LabelNames>,
    ) -> Result<Example, RowProblem> {
        let text = self.text_cell(&mut cell, &self.text, "the text", "--text-column")?;
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
                cell(g).map(Cell::into_attribute).ok_or_else(|| RowProblem::Missing {
                    column: g.clone(),
                    what: "a subgroup attribute",
                    flag: "--group-column",
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Example { origin, text, text_pair, label, attributes })
    }

    fn text_cell(
        &self,
        cell: &mut impl FnMut(&str) -> Option<Cell>,
        column: &str,
        what: &'static str,
        flag: &'static str,
    ) -> Result<String, RowProblem> {
        match cell(column) {
            None => Err(RowProblem::Missing { column: column.into(), what, flag }),
            Some(Cell::Text(s)) => Ok(s),
            Some(other) => Err(RowProblem::Invalid(format!(
                "column '{column}' should hold text but holds {}",
                describe(&other)
            ))),
        }
    }
}

fn describe(cell: &Cell) -> String {
    match cell {
        Cell::Text(s) => format!("'{s}'"),
        Cell::Integer(i) => i.to_string(),
        Cell::Other(s) => s.clone(),
        Cell::Null => "null".into(),
    }
}

/// Turns a label cell into a class index: an integer is an index; text is a class name from
/// `config.json`'s `id2label`, or an integer written as text.
fn resolve_label(cell: Cell, labels: Option<&LabelNames>) -> Result<usize, String> {
    let raw = match cell {
        Cell::Integer(i) if i >= 0 => RawLabel::Index(i as usize),
        Cell::Text(s) => match s.trim().parse::<usize>() {
            Ok(i) if labels.map_or(true, |l| l.index_of(&s).is_none()) => RawLabel::Index(i),
            _ => RawLabel::Name(s),
        },
        other => return Err(format!("label {} is neither a class index nor a class name", describe(&other))),
    };
    match raw {
        RawLabel::Index(i) => Ok(i),
        RawLabel::Name(name) => match labels {
            Some(l) => l.index_of(&name).ok_or_else(|| {
                format!("label '{name}' is not one of the model's classes ({})", l.names().join(", "))
            }),
            None => Err(format!(
                "label '{name}' is a class name, but no class names are known; put a config.json with \
                 id2label beside the teacher (or pass --config), or write labels as class indices"
            )),
        },
    }
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
    fn builds_an_example_and_names_missing_columns() {
        let cols = Columns { groups: vec!["topic".into()], ..Columns::default() };
        let row = |c: &str| match c {
            "text" => Some(Cell::Text("hello".into())),
            "label" => Some(Cell::Text("positive".into())),
            "topic" => Some(Cell::Text("apple".into())),
            _ => None,
        };
        let e = cols.example("line 1".into(), row, Some(&names())).unwrap();
        assert_eq!((e.text.as_str(), e.label, e.attributes[0].as_str()), ("hello", Some(2), "apple"));
        let cols = Columns { text: "body".into(), ..Columns::default() };
        match cols.example("line 1".into(), row, Some(&names())) {
            Err(RowProblem::Missing { column, flag, .. }) => assert_eq!((column.as_str(), flag), ("body", "--text-column")),
            other => panic!("unexpected {other:?}"),
        }
    }
}
