//! `--dump-worst N`: the N positions where each student departs most from the teacher (largest
//! KL(teacher‖student)), kept while streaming in a bounded heap, with what a reader needs to see
//! why: the document and offset, the context before the target, the target, and both models' top
//! five tokens with their probabilities.

use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

/// Tokens of context kept before the target.
pub const CONTEXT_TOKENS: usize = 32;
pub const TOP: usize = 5;

#[derive(Debug, Clone)]
pub struct WorstPosition {
    pub kld: f64,
    /// Scoring order: the earlier of equal KLs ranks first.
    pub seq: u64,
    pub document: String,
    /// The target's token index in its document.
    pub offset: usize,
    pub context: Vec<u32>,
    pub target: u32,
    pub p_teacher: f64,
    pub p_student: f64,
    pub teacher_top: Vec<(u32, f64)>,
    pub student_top: Vec<(u32, f64)>,
}

impl PartialEq for WorstPosition {
    fn eq(&self, o: &Self) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for WorstPosition {}
impl PartialOrd for WorstPosition {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
/// Worse first: larger KL, then earlier.
impl Ord for WorstPosition {
    fn cmp(&self, o: &Self) -> Ordering {
        self.kld.total_cmp(&o.kld).then(o.seq.cmp(&self.seq))
    }
}

/// The N worst positions so far.
#[derive(Debug, Default)]
pub struct Worst {
    n: usize,
    heap: BinaryHeap<Reverse<WorstPosition>>,
}

impl Worst {
    pub fn new(n: usize) -> Self {
        Self { n, heap: BinaryHeap::with_capacity(n + 1) }
    }

    /// Whether a position of this KL (scored at `seq`) would be kept: checked before its record
    /// (top five of both rows, context) is built.
    pub fn would_keep(&self, kld: f64, seq: u64) -> bool {
        if self.n == 0 {
            return false;
        }
        match self.heap.peek() {
            Some(Reverse(least)) if self.heap.len() == self.n => kld.total_cmp(&least.kld).then(least.seq.cmp(&seq)) == Ordering::Greater,
            _ => true,
        }
    }

    pub fn push(&mut self, p: WorstPosition) {
        self.heap.push(Reverse(p));
        if self.heap.len() > self.n {
            self.heap.pop();
        }
    }

    /// Worst first.
    pub fn into_sorted(self) -> Vec<WorstPosition> {
        let mut v: Vec<WorstPosition> = self.heap.into_iter().map(|r| r.0).collect();
        v.sort_by(|a, b| b.cmp(a));
        v
    }
}

/// The `k` most probable tokens of a row (ties: the lower id first), with probabilities.
pub fn top(logits: &[f32], log_normaliser: f64, k: usize) -> Vec<(u32, f64)> {
    let mut ids: Vec<u32> = (0..logits.len() as u32).collect();
    let by_logit = |a: &u32, b: &u32| logits[*b as usize].total_cmp(&logits[*a as usize]).then(a.cmp(b));
    let k = k.min(ids.len());
    if k < ids.len() {
        ids.select_nth_unstable_by(k, by_logit);
        ids.truncate(k);
    }
    ids.sort_by(by_logit);
    ids.into_iter().map(|i| (i, (f64::from(logits[i as usize]) - log_normaliser).exp())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(kld: f64, seq: u64) -> WorstPosition {
        WorstPosition {
            kld,
            seq,
            document: String::new(),
            offset: 0,
            context: vec![],
            target: 0,
            p_teacher: 0.0,
            p_student: 0.0,
            teacher_top: vec![],
            student_top: vec![],
        }
    }

    #[test]
    fn keeps_the_n_largest_the_earlier_of_equals_first() {
        let mut w = Worst::new(3);
        for (i, k) in [0.1, 0.5, 0.3, 0.5, 0.05, 0.9].into_iter().enumerate() {
            if w.would_keep(k, i as u64) {
                w.push(at(k, i as u64));
            }
        }
        let kept: Vec<(f64, u64)> = w.into_sorted().iter().map(|p| (p.kld, p.seq)).collect();
        assert_eq!(kept, [(0.9, 5), (0.5, 1), (0.5, 3)]);
        assert!(!Worst::new(0).would_keep(1.0, 0));
    }

    #[test]
    fn top_tokens_are_ordered_with_their_probabilities() {
        let logits = [0.0f32, 2.0, 1.0, 2.0];
        let (lse, _) = super::super::position::log_normaliser(&logits);
        let t = top(&logits, lse, 3);
        assert_eq!(t.iter().map(|x| x.0).collect::<Vec<_>>(), [1, 3, 2]);
        assert!((t[0].1 - (2.0 - lse).exp()).abs() < 1e-15);
        assert_eq!(top(&logits, lse, 9).len(), 4);
    }
}
