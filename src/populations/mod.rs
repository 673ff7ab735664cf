//! Populations of models and Compression Identified Exemplars (issue 18, part 3; Hooker et al.
//! 2020). A role (the teacher, a student) may name several models: the same method trained from
//! different seeds. [`summary`] says how much accuracy varies within a population (seed noise, the
//! yardstick a student's drop is read against); [`cie`] finds the examples where the teacher
//! population's modal label and a student population's differ, and where they fall.

pub mod cie;
pub mod summary;

pub use cie::{CieGroup, CieReport};

/// Every member's label of every example a run holds (a shard: its rows): what the summaries and
/// CIE are computed from, and what a shard's part keeps (2 bytes per example and member).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PopulationLabels {
    pub gold: Vec<Option<usize>>,
    /// `[role][member][example]`, members in role order.
    pub labels: Vec<Vec<Vec<u16>>>,
}
pub use summary::{PopulationMember, PopulationSummary};

/// Each example's modal label over a population (`members[m][i]`: member m's label of example i).
/// Ties go to the lowest class index, as numpy's argmax over the vote counts.
pub fn modal_labels(members: &[Vec<u16>]) -> Vec<u16> {
    let n = members.first().map_or(0, Vec::len);
    let classes = members.iter().flat_map(|m| m.iter()).copied().max().map_or(0, |c| c as usize + 1);
    let mut votes = vec![0u32; classes];
    (0..n)
        .map(|i| {
            votes.iter_mut().for_each(|v| *v = 0);
            for m in members {
                votes[m[i] as usize] += 1;
            }
            // The first class with the most votes: max_by_key keeps the last maximum, so reverse.
            votes.iter().enumerate().rev().max_by_key(|(_, v)| **v).map_or(0, |(c, _)| c as u16)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modal_labels_break_ties_to_the_lowest_class() {
        let members = vec![vec![0, 2, 1, 2], vec![1, 2, 1, 0], vec![1, 0, 2, 1]];
        // example 0: votes 0:1, 1:2 -> 1; example 1: 2:2 -> 2; example 2: 1:2 -> 1;
        // example 3: 2, 0, 1 one each -> 0.
        assert_eq!(modal_labels(&members), vec![1, 2, 1, 0]);
        assert_eq!(modal_labels(&[vec![2, 0]]), vec![2, 0]);
        assert_eq!(modal_labels(&[vec![1, 2], vec![2, 1]]), vec![1, 1]);
    }
}
