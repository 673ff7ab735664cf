//! Subgroups from attribute columns.
//!
//! Order (stable, and the order of every report): each attribute alone, in the order the columns
//! were given, values sorted; then each pair of attributes (a before b, in column order), value
//! pairs sorted. Only combinations that occur in the data are groups. Names read
//! `sex=Female` and `sex=Female & race=Black`.

use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    pub name: String,
    /// (attribute, value) pairs defining the group, in column order.
    pub attributes: Vec<(String, String)>,
    /// Indices of the examples in the group, ascending.
    pub members: Vec<usize>,
}

fn name_of(attributes: &[(String, String)]) -> String {
    attributes.iter().map(|(a, v)| format!("{a}={v}")).collect::<Vec<_>>().join(" & ")
}

/// Builds the groups; `values[i]` holds example `i`'s attribute values in `attributes` order.
pub fn define_groups(attributes: &[String], values: &[Vec<String>]) -> Vec<Group> {
    let mut groups = Vec::new();
    let mut cross = |columns: &[usize]| {
        let mut members: BTreeMap<Vec<&str>, Vec<usize>> = BTreeMap::new();
        for (i, row) in values.iter().enumerate() {
            members.entry(columns.iter().map(|&c| row[c].as_str()).collect()).or_default().push(i);
        }
        for (key, members) in members {
            let attrs: Vec<(String, String)> =
                columns.iter().zip(key).map(|(&c, v)| (attributes[c].clone(), v.to_string())).collect();
            groups.push(Group { name: name_of(&attrs), attributes: attrs, members });
        }
    };
    for a in 0..attributes.len() {
        cross(&[a]);
    }
    for a in 0..attributes.len() {
        for b in a + 1..attributes.len() {
            cross(&[a, b]);
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singles_then_pairs_in_sorted_order() {
        let attrs = vec!["sex".to_string(), "race".to_string()];
        let rows: Vec<Vec<String>> = [("M", "White"), ("F", "Black"), ("F", "White"), ("M", "White")]
            .iter()
            .map(|(s, r)| vec![s.to_string(), r.to_string()])
            .collect();
        let g = define_groups(&attrs, &rows);
        let names: Vec<&str> = g.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(
            names,
            ["sex=F", "sex=M", "race=Black", "race=White", "sex=F & race=Black", "sex=F & race=White", "sex=M & race=White"]
        );
        assert_eq!(g[1].members, vec![0, 3]);
        assert_eq!(g[6].members, vec![0, 3]);
    }
}
