//! The counts behind every per-class number: how often each (gold, teacher, student) triple occurs.
//!
//! A sparse map, not a classes³ array: most examples fall on the diagonal, so the map holds about
//! as many entries as there are distinct confusions, whatever the number of classes. Ordered, so
//! two tallies of the same examples are equal however they were split and merged.

use crate::metrics::ExampleComparison;
use std::collections::BTreeMap;

/// Marks an unlabelled example's gold in a triple.
const UNLABELLED: u32 = u32::MAX;

/// Counts of (gold, teacher label, student label) over the examples seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClassTally {
    triples: BTreeMap<[u32; 3], u64>,
}

/// One class's examples in eight cells, `(gold is c) << 2 | (teacher says c) << 1 | (student says
/// c)`, over the labelled examples; `unlabelled` apart.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassCells {
    pub cells: [u64; 8],
    pub unlabelled: u64,
}

pub const GOLD: usize = 4;
pub const TEACHER: usize = 2;
pub const STUDENT: usize = 1;

impl ClassCells {
    fn sum(&self, mask: usize, value: usize) -> u64 {
        (0..8).filter(|i| i & mask == value).map(|i| self.cells[i]).sum()
    }
    /// Labelled examples of the class.
    pub fn support(&self) -> u64 {
        self.sum(GOLD, GOLD)
    }
    /// Gold c and predicted c, by the teacher (`who = TEACHER`) or the student (`STUDENT`).
    pub fn true_positives(&self, who: usize) -> u64 {
        self.sum(GOLD | who, GOLD | who)
    }
    /// Labelled examples predicted c.
    pub fn predicted(&self, who: usize) -> u64 {
        self.sum(who, who)
    }
    /// Gold c, teacher right, student wrong.
    pub fn negative_flips(&self) -> u64 {
        self.cells[GOLD | TEACHER]
    }
    /// Gold c, teacher wrong, student right.
    pub fn positive_flips(&self) -> u64 {
        self.cells[GOLD | STUDENT]
    }
}

impl ClassTally {
    /// Every (gold, teacher, student) triple with its count; an unlabelled gold is `u32::MAX`.
    pub fn counts(&self) -> Vec<([u32; 3], u64)> {
        self.triples.iter().map(|(k, v)| (*k, *v)).collect()
    }

    /// Adds `count` examples of one triple (a merge adding a shard's counts).
    pub fn add_count(&mut self, triple: [u32; 3], count: u64) {
        *self.triples.entry(triple).or_default() += count;
    }

    pub fn add(&mut self, c: &ExampleComparison) {
        let gold = c.gold.map_or(UNLABELLED, |g| g as u32);
        *self.triples.entry([gold, c.teacher_label as u32, c.student_label as u32]).or_default() += 1;
    }

    /// Adds another tally's counts (another shard or chunk of the same comparison).
    pub fn merge(&mut self, other: &ClassTally) {
        for (k, v) in &other.triples {
            *self.triples.entry(*k).or_default() += v;
        }
    }

    pub fn examples(&self) -> u64 {
        self.triples.values().sum()
    }

    pub fn labelled(&self) -> u64 {
        self.triples.iter().filter(|(k, _)| k[0] != UNLABELLED).map(|(_, v)| v).sum()
    }

    /// Class `c`'s eight cells.
    pub fn cells(&self, c: usize) -> ClassCells {
        let c = c as u32;
        let mut out = ClassCells::default();
        for (&[g, t, s], &count) in &self.triples {
            if g == UNLABELLED {
                out.unlabelled += count;
            } else {
                out.cells[usize::from(g == c) << 2 | usize::from(t == c) << 1 | usize::from(s == c)] += count;
            }
        }
        out
    }

    /// Every class's cells at once, in one pass (`classes` from the teacher's output).
    pub fn all_cells(&self, classes: usize) -> Vec<ClassCells> {
        let labelled = self.labelled();
        let unlabelled = self.examples() - labelled;
        // Start every class with all labelled examples in the "none of the three is c" cell, then
        // move each triple to its cell for the (at most three) classes it names.
        let mut out = vec![ClassCells { cells: [labelled, 0, 0, 0, 0, 0, 0, 0], unlabelled }; classes];
        for (&[g, t, s], &count) in &self.triples {
            if g == UNLABELLED {
                continue;
            }
            let mut named = [g, t, s];
            named.sort_unstable();
            for (i, &c) in named.iter().enumerate() {
                if (i > 0 && named[i - 1] == c) || c as usize >= classes {
                    continue;
                }
                let cell = usize::from(g == c) << 2 | usize::from(t == c) << 1 | usize::from(s == c);
                out[c as usize].cells[0] -= count;
                out[c as usize].cells[cell] += count;
            }
        }
        out
    }

    /// (teacher label, student label, count) for every pair that occurs, all examples.
    pub fn transitions(&self) -> Vec<(usize, usize, u64)> {
        let mut pairs: BTreeMap<(u32, u32), u64> = BTreeMap::new();
        for (&[_, t, s], &count) in &self.triples {
            *pairs.entry((t, s)).or_default() += count;
        }
        pairs.into_iter().map(|((t, s), n)| (t as usize, s as usize, n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn comparison(gold: Option<usize>, t: usize, s: usize) -> ExampleComparison {
        ExampleComparison { teacher_label: t, student_label: s, gold, probability_loyalty: 1.0, kl: 0.0 }
    }

    fn tally(rows: &[(Option<usize>, usize, usize)]) -> ClassTally {
        let mut t = ClassTally::default();
        rows.iter().for_each(|&(g, a, b)| t.add(&comparison(g, a, b)));
        t
    }

    proptest! {
        /// The one-pass cells equal the per-class count, and agree with direct definitions.
        #[test]
        fn cells_count_what_they_say(rows in prop::collection::vec((prop::option::weighted(0.9, 0usize..4), 0usize..4, 0usize..4), 0..200)) {
            let t = tally(&rows);
            let all = t.all_cells(4);
            for c in 0..4 {
                prop_assert_eq!(all[c], t.cells(c));
                let count = |f: &dyn Fn(&(Option<usize>, usize, usize)) -> bool| rows.iter().filter(|r| f(r)).count() as u64;
                prop_assert_eq!(all[c].support(), count(&|r| r.0 == Some(c)));
                prop_assert_eq!(all[c].true_positives(STUDENT), count(&|r| r.0 == Some(c) && r.2 == c));
                prop_assert_eq!(all[c].predicted(TEACHER), count(&|r| r.0.is_some() && r.1 == c));
                prop_assert_eq!(all[c].negative_flips(), count(&|r| r.0 == Some(c) && r.1 == c && r.2 != c));
                prop_assert_eq!(all[c].positive_flips(), count(&|r| r.0 == Some(c) && r.1 != c && r.2 == c));
                prop_assert_eq!(all[c].cells.iter().sum::<u64>() + all[c].unlabelled, rows.len() as u64);
            }
            prop_assert_eq!(t.transitions().iter().map(|x| x.2).sum::<u64>(), rows.len() as u64);
        }

        /// Splitting the examples anywhere and merging the tallies gives the tally of the whole.
        #[test]
        fn tallies_merge_by_addition(rows in prop::collection::vec((prop::option::of(0usize..3), 0usize..3, 0usize..3), 0..100), cut in 0usize..100) {
            let cut = cut.min(rows.len());
            let mut merged = tally(&rows[..cut]);
            merged.merge(&tally(&rows[cut..]));
            prop_assert_eq!(merged, tally(&rows));
        }
    }
}
