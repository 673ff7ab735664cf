//! Subgroups from attribute columns.
//!
//! Order (stable, and the order of every report): each attribute alone, in the order the columns
//! were given, values sorted; then each pair of attributes (a before b, in column order), value
//! pairs sorted. Only combinations that occur in the data are groups. Names read
//! `sex=Female` and `sex=Female & race=Black`.

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
    let mut builder = GroupsBuilder::new(attributes);
    for row in values {
        builder.add(row);
    }
    builder.finish().0
}

/// A group as discovered: (crossing, values, members ascending).
type Found = (usize, Vec<String>, Vec<usize>);

/// Groups discovered while examples stream past, one example at a time.
///
/// Each example gets the ids (in discovery order) of the groups it belongs to, so per-group sums
/// can be kept while streaming; [`GroupsBuilder::finish`] puts the groups in report order and says
/// where each discovery id went.
pub struct GroupsBuilder {
    attributes: Vec<String>,
    /// Each attribute alone, then each pair (a before b).
    crossings: Vec<Vec<usize>>,
    /// Per crossing: values joined by U+001F -> discovery id.
    ids: Vec<std::collections::HashMap<String, usize>>,
    key: String,
    /// Per discovery id.
    found: Vec<Found>,
    next_example: usize,
}

impl GroupsBuilder {
    pub fn new(attributes: &[String]) -> Self {
        let n = attributes.len();
        let crossings: Vec<Vec<usize>> = (0..n).map(|a| vec![a]).chain((0..n).flat_map(|a| (a + 1..n).map(move |b| vec![a, b]))).collect();
        Self {
            attributes: attributes.to_vec(),
            ids: vec![Default::default(); crossings.len()],
            crossings,
            found: Vec::new(),
            key: String::new(),
            next_example: 0,
        }
    }

    /// Records the next example (`row`: its values in attribute order); returns its groups' discovery ids.
    pub fn add(&mut self, row: &[String]) -> Vec<usize> {
        let example = self.next_example;
        self.next_example += 1;
        let mut ids = Vec::with_capacity(self.crossings.len());
        for (c, columns) in self.crossings.iter().enumerate() {
            // One joined key in a reused buffer: no new String per example unless the group is new.
            self.key.clear();
            for &a in columns {
                self.key.push_str(&row[a]);
                self.key.push('\u{1f}');
            }
            let id = match self.ids[c].get(self.key.as_str()) {
                Some(&id) => id,
                None => {
                    let id = self.found.len();
                    self.ids[c].insert(self.key.clone(), id);
                    self.found.push((c, columns.iter().map(|&a| row[a].clone()).collect(), Vec::new()));
                    id
                }
            };
            self.found[id].2.push(example);
            ids.push(id);
        }
        ids
    }

    /// Distinct values of each attribute so far (groups of that attribute alone).
    pub fn distinct_values(&self) -> impl Iterator<Item = (&str, usize)> + '_ {
        self.attributes.iter().zip(&self.ids).map(|(a, ids)| (a.as_str(), ids.len()))
    }

    /// The groups in report order, and for each discovery id its position in that order.
    pub fn finish(self) -> (Vec<Group>, Vec<usize>) {
        let mut order: Vec<usize> = (0..self.found.len()).collect();
        order.sort_by(|&x, &y| {
            let (a, b) = (&self.found[x], &self.found[y]);
            a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1))
        });
        let mut position = vec![0; self.found.len()];
        for (p, &id) in order.iter().enumerate() {
            position[id] = p;
        }
        let mut found: Vec<Option<Found>> = self.found.into_iter().map(Some).collect();
        let groups = order
            .iter()
            .filter_map(|&id| found[id].take())
            .map(|(c, values, members)| {
                let attrs: Vec<(String, String)> = self.crossings[c].iter().zip(values).map(|(&a, v)| (self.attributes[a].clone(), v)).collect();
                Group { name: name_of(&attrs), attributes: attrs, members }
            })
            .collect();
        (groups, position)
    }
}

/// A group column with more distinct values than this is refused (unless allowed): an identifier
/// column given by mistake would otherwise make thousands of groups of one example.
pub const MAX_DISTINCT_VALUES: usize = 1000;

/// An attribute whose values are so many that they cannot be subgroups: above
/// [`MAX_DISTINCT_VALUES`], or above 50 distinct values making up more than half the rows.
/// Returns (attribute, distinct values).
pub fn too_many_values<'a>(distinct: impl Iterator<Item = (&'a str, usize)>, rows: usize, finished: bool) -> Option<(String, usize)> {
    distinct.filter(|&(_, d)| d > MAX_DISTINCT_VALUES || (finished && d > 50 && d * 2 > rows)).map(|(a, d)| (a.to_string(), d)).next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifier_columns_are_too_many_values() {
        let cols = |d: usize| vec![("topic", 5), ("id", d)];
        assert_eq!(too_many_values(cols(40).into_iter(), 80, true), None, "40 values: a small dataset's real attribute");
        assert_eq!(too_many_values(cols(60).into_iter(), 100, true), Some(("id".to_string(), 60)));
        assert_eq!(too_many_values(cols(60).into_iter(), 100, false), None, "the share is judged at the end");
        assert_eq!(too_many_values(cols(1001).into_iter(), 1_000_000, false), Some(("id".to_string(), 1001)), "the count as soon as it is passed");
        assert_eq!(too_many_values(cols(999).into_iter(), 1_000_000, true), None);
    }

    #[test]
    fn singles_then_pairs_in_sorted_order() {
        let attrs = vec!["sex".to_string(), "race".to_string()];
        let rows: Vec<Vec<String>> =
            [("M", "White"), ("F", "Black"), ("F", "White"), ("M", "White")].iter().map(|(s, r)| vec![s.to_string(), r.to_string()]).collect();
        let g = define_groups(&attrs, &rows);
        let names: Vec<&str> = g.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["sex=F", "sex=M", "race=Black", "race=White", "sex=F & race=Black", "sex=F & race=White", "sex=M & race=White"]);
        assert_eq!(g[1].members, vec![0, 3]);
        assert_eq!(g[6].members, vec![0, 3]);
    }

    /// The groups by brute force: every crossing, members found by scanning all rows.
    fn reference(attributes: &[String], values: &[Vec<String>]) -> Vec<(String, Vec<usize>)> {
        let n = attributes.len();
        let crossings: Vec<Vec<usize>> = (0..n).map(|a| vec![a]).chain((0..n).flat_map(|a| (a + 1..n).map(move |b| vec![a, b]))).collect();
        let mut out = Vec::new();
        for c in crossings {
            let mut keys: Vec<Vec<String>> = values.iter().map(|r| c.iter().map(|&a| r[a].clone()).collect()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let members = (0..values.len()).filter(|&i| c.iter().zip(&key).all(|(&a, v)| &values[i][a] == v)).collect();
                let name = c.iter().zip(&key).map(|(&a, v)| format!("{}={v}", attributes[a])).collect::<Vec<_>>().join(" & ");
                out.push((name, members));
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn streamed_groups_match_brute_force(rows in proptest::collection::vec(proptest::collection::vec(0u8..4, 3), 0..60)) {
            let attributes: Vec<String> = ["a", "b", "c"].map(String::from).to_vec();
            let values: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|v| format!("v{v}")).collect()).collect();
            let mut builder = GroupsBuilder::new(&attributes);
            let ids: Vec<Vec<usize>> = values.iter().map(|r| builder.add(r)).collect();
            let (groups, position) = builder.finish();
            let got: Vec<(String, Vec<usize>)> = groups.iter().map(|g| (g.name.clone(), g.members.clone())).collect();
            proptest::prop_assert_eq!(&got, &reference(&attributes, &values));
            // Every example's discovery ids point at exactly the groups that hold it.
            for (i, ids) in ids.iter().enumerate() {
                let mut held: Vec<usize> = ids.iter().map(|&id| position[id]).collect();
                held.sort_unstable();
                let expected: Vec<usize> = (0..groups.len()).filter(|&k| groups[k].members.contains(&i)).collect();
                proptest::prop_assert_eq!(held, expected);
            }
        }
    }
}
