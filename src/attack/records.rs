//! What the attack stage keeps of each attacked example: every model's outcome (the adversarial
//! input dropped) and, per student, whether the teacher's adversarial example was replayed on it
//! and fooled it. The reported summaries, group summaries and transfer rates are computed from
//! these; a shard keeps its members' and a merge concatenates them in sample order.

use super::outcome::{AttackOutcome, AttackSummary, GroupAttack, ModelAttack, Transfer};
use crate::subgroups::Group;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AttackRecords {
    /// Position in the drawn sample of the first member held (orders a merge's parts).
    pub first: usize,
    /// Each attacked example's row in the whole data, in sample order.
    pub rows: Vec<usize>,
    /// Per model (teacher first), each attacked example's outcome.
    pub outcomes: Vec<Vec<AttackOutcome<()>>>,
    /// Per student, each attacked example: (the teacher's success was replayed, it fooled the student).
    pub transfer: Vec<Vec<(bool, bool)>>,
}

impl AttackRecords {
    /// Appends the members of `next`, the sample's next slice.
    pub fn extend(&mut self, next: AttackRecords) {
        if self.outcomes.is_empty() {
            self.outcomes = vec![vec![]; next.outcomes.len()];
            self.transfer = vec![vec![]; next.transfer.len()];
        }
        self.rows.extend(next.rows);
        self.outcomes.iter_mut().zip(next.outcomes).for_each(|(a, b)| a.extend(b));
        self.transfer.iter_mut().zip(next.transfer).for_each(|(a, b)| a.extend(b));
    }

    /// Every model's results (teacher first), with per-group summaries over `groups` (members are
    /// rows of the whole data) and, for students, the transfer of the teacher's successes.
    pub fn model_attacks(&self, groups: &[Group]) -> Vec<ModelAttack> {
        self.outcomes
            .iter()
            .enumerate()
            .map(|(m, outcomes)| {
                let summary_of = |keep: &dyn Fn(usize) -> bool| {
                    let kept: Vec<AttackOutcome<()>> = outcomes.iter().zip(&self.rows).filter(|(_, &row)| keep(row)).map(|(o, _)| o.clone()).collect();
                    AttackSummary::from_outcomes(&kept)
                };
                let groups = groups
                    .iter()
                    .map(|g| {
                        let members: std::collections::HashSet<usize> = g.members.iter().copied().collect();
                        GroupAttack { name: g.name.clone(), summary: summary_of(&|row| members.contains(&row)) }
                    })
                    .filter(|g| g.summary.attacked > 0)
                    .collect();
                let transfer = (m > 0).then(|| {
                    let flags = &self.transfer[m - 1];
                    let replayed = flags.iter().filter(|f| f.0).count();
                    let fooled = flags.iter().filter(|f| f.0 && f.1).count();
                    Transfer { replayed, fooled, transfer_success_rate: (replayed > 0).then(|| fooled as f64 / replayed as f64), queries: replayed }
                });
                ModelAttack { summary: summary_of(&|_| true), groups, transfer }
            })
            .collect()
    }
}

/// An outcome without its adversarial input.
pub fn without_input<A>(o: &AttackOutcome<A>) -> AttackOutcome<()> {
    AttackOutcome { status: o.status, queries: o.queries, perturbed_words: o.perturbed_words, words: o.words, adversarial: o.adversarial.as_ref().map(|_| ()) }
}
