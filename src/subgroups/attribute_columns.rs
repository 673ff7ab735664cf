//! Every example's group attribute values, kept compactly: per attribute a table of the distinct
//! values and one 4-byte index per example. A shard writes them so that a merge can rebuild the
//! groups, in the single run's order, by feeding the values through [`super::GroupsBuilder`].

use std::collections::HashMap;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttributeColumns {
    /// Per attribute, its distinct values in order of first appearance.
    pub values: Vec<Vec<String>>,
    /// Per attribute, each example's value as an index into `values`.
    pub ids: Vec<Vec<u32>>,
    index: Vec<HashMap<String, u32>>,
}

impl AttributeColumns {
    pub fn new(attributes: usize) -> Self {
        Self { values: vec![vec![]; attributes], ids: vec![vec![]; attributes], index: vec![HashMap::new(); attributes] }
    }

    /// Rebuilds the columns from stored tables and indices (a part file's).
    pub fn from_parts(values: Vec<Vec<String>>, ids: Vec<Vec<u32>>) -> Self {
        let index = values.iter().map(|v| v.iter().enumerate().map(|(i, s)| (s.clone(), i as u32)).collect()).collect();
        Self { values, ids, index }
    }

    /// Appends one example's values (in attribute order).
    pub fn push(&mut self, row: &[String]) {
        for (a, value) in row.iter().enumerate() {
            let next = self.values[a].len() as u32;
            let id = *self.index[a].entry(value.clone()).or_insert_with(|| next);
            if id == next {
                self.values[a].push(value.clone());
            }
            self.ids[a].push(id);
        }
    }

    /// Example `i`'s values, in attribute order.
    pub fn row(&self, i: usize) -> Vec<String> {
        self.ids.iter().zip(&self.values).map(|(ids, values)| values[ids[i] as usize].clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_come_back_as_pushed() {
        let rows: Vec<Vec<String>> = [("F", "x"), ("M", "y"), ("F", "y")].iter().map(|(a, b)| vec![a.to_string(), b.to_string()]).collect();
        let mut columns = AttributeColumns::new(2);
        rows.iter().for_each(|r| columns.push(r));
        assert_eq!(columns.values[0], ["F", "M"]);
        let stored = AttributeColumns::from_parts(columns.values.clone(), columns.ids.clone());
        assert_eq!((0..3).map(|i| stored.row(i)).collect::<Vec<_>>(), rows);
    }
}
