//! The long tail: every statistic by the target token's frequency (head, torso, tail), by the
//! target's position in its window, by the teacher's entropy there, and by document group, with
//! the worst bucket named (the highest mean KLD among buckets of at least `--min-group-size`
//! positions), as the classifier report names the worst group. Compression hurts the rare first
//! (Hooker et al. 2020): a mean over all tokens is a mean over the head.
//!
//! Frequency classes come from token counts, over the evaluated corpus's tokens (every token of
//! every document, scored or not) or a counts file: tokens sorted by count (ties by id), a token is
//! *head* while the occurrences of the tokens before it are under 50 % of all, *torso* under 90 %,
//! *tail* after; a token never counted is tail.

use super::statistics::{percentiles, point_statistics, Moments, Sums, TokenStatistics, DELTA_P_FRACTIONS, KLD_FRACTIONS};
use serde::{Deserialize, Serialize};

/// Window-index buckets of the target: 1–16, 17–64, 65–256, 257–1024, above.
pub const POSITION_EDGES: [usize; 4] = [16, 64, 256, 1024];
/// Teacher-entropy buckets, nats: below 0.5, 1, 2, 4, and above.
pub const ENTROPY_EDGES: [f64; 4] = [0.5, 1.0, 2.0, 4.0];
pub const FREQUENCY_NAMES: [&str; 3] = ["head", "torso", "tail"];

pub fn position_bucket(j: usize) -> u8 {
    POSITION_EDGES.iter().take_while(|&&e| j > e).count() as u8
}

pub fn entropy_bucket(h: f64) -> u8 {
    ENTROPY_EDGES.iter().take_while(|&&e| h >= e).count() as u8
}

fn position_name(k: usize) -> String {
    let lo = if k == 0 { 1 } else { POSITION_EDGES[k - 1] + 1 };
    match POSITION_EDGES.get(k) {
        Some(hi) => format!("targets {lo}-{hi}"),
        None => format!("targets {lo}+"),
    }
}

fn entropy_name(k: usize) -> String {
    match (k.checked_sub(1).map(|i| ENTROPY_EDGES[i]), ENTROPY_EDGES.get(k)) {
        (None, Some(hi)) => format!("entropy < {hi}"),
        (Some(lo), Some(hi)) => format!("entropy {lo}-{hi}"),
        (Some(lo), None) => format!("entropy >= {lo}"),
        (None, None) => unreachable!(),
    }
}

/// Each token id's frequency class (0 head, 1 torso, 2 tail) from its count.
pub fn frequency_classes(counts: &[u64]) -> Vec<u8> {
    let total: u64 = counts.iter().sum();
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by(|&a, &b| counts[b].cmp(&counts[a]).then(a.cmp(&b)));
    let mut class = vec![2u8; counts.len()];
    let mut before = 0u64;
    for t in order {
        if counts[t] == 0 {
            break;
        }
        // `before / total < 0.5` in integers.
        class[t] = if 2 * before < total {
            0
        } else if 10 * before < 9 * total {
            1
        } else {
            2
        };
        before += counts[t];
    }
    class
}

/// What the breakdowns need of each scored position, shared by every student.
#[derive(Debug, Clone, Copy)]
pub struct Facts {
    pub target: u32,
    pub position: u8,
    pub entropy: u8,
}

/// Per-bucket sums of one student, filled position by position.
#[derive(Debug, Clone, Default)]
pub struct BucketSums {
    pub per_token: Vec<Moments>,
    pub by_position: Vec<Moments>,
    pub by_entropy: Vec<Moments>,
    /// Per group column, per value.
    pub by_group: Vec<Vec<Moments>>,
}

fn slot(v: &mut Vec<Moments>, k: usize) -> &mut Moments {
    if v.len() <= k {
        v.resize(k + 1, Moments::default());
    }
    &mut v[k]
}

impl BucketSums {
    /// Adds a position; `groups` holds its document's value index in each group column.
    pub fn add(&mut self, p: &super::position::Position, f: &Facts, groups: &[u32], js_scale: f64) {
        slot(&mut self.per_token, f.target as usize).add(p, js_scale);
        slot(&mut self.by_position, f.position as usize).add(p, js_scale);
        slot(&mut self.by_entropy, f.entropy as usize).add(p, js_scale);
        if self.by_group.len() < groups.len() {
            self.by_group.resize(groups.len(), Vec::new());
        }
        for (column, &g) in self.by_group.iter_mut().zip(groups) {
            slot(column, g as usize).add(p, js_scale);
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Bucket {
    pub name: String,
    /// Scored positions in the bucket.
    pub positions: usize,
    pub statistics: TokenStatistics,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Breakdown {
    /// "target_frequency", "position", "teacher_entropy" or "group:COLUMN".
    pub by: String,
    pub buckets: Vec<Bucket>,
    /// The bucket with the highest mean KLD among those of at least `min_positions` positions.
    pub worst: Option<String>,
    pub min_positions: usize,
}

fn breakdown(by: String, names: Vec<String>, moments: Vec<Moments>, kld: Vec<Vec<f64>>, dp: Vec<Vec<f64>>, min_positions: usize) -> Breakdown {
    let mut buckets = Vec::new();
    for ((name, m), (mut k, mut d)) in names.into_iter().zip(moments).zip(kld.into_iter().zip(dp)) {
        if m.count == 0.0 {
            continue;
        }
        k.sort_by(f64::total_cmp);
        d.sort_by(f64::total_cmp);
        let mut statistics = point_statistics(&m);
        statistics.kld = percentiles(&k, &KLD_FRACTIONS);
        statistics.delta_p = percentiles(&d, &DELTA_P_FRACTIONS);
        buckets.push(Bucket { name, positions: m.count as usize, statistics });
    }
    let worst = buckets
        .iter()
        .filter(|b| b.positions >= min_positions)
        .max_by(|a, b| a.statistics.mean_kld.value.total_cmp(&b.statistics.mean_kld.value))
        .map(|b| b.name.clone());
    Breakdown { by, buckets, worst, min_positions }
}

/// The documents' group columns: each column's name and values (by index), and each scored
/// position's value index per column (`ids[position * columns + column]`).
pub struct GroupFacts<'a> {
    pub columns: &'a [(String, Vec<String>)],
    pub ids: &'a [u32],
}

/// Every breakdown of one student; `classes` are the tokens' frequency classes.
pub fn breakdowns(sums: &Sums, buckets: &BucketSums, facts: &[Facts], classes: &[u8], groups: &GroupFacts, min_positions: usize) -> Vec<Breakdown> {
    let class_of = |t: u32| classes.get(t as usize).copied().unwrap_or(2) as usize;
    let mut by_class = vec![Moments::default(); 3];
    for (t, m) in buckets.per_token.iter().enumerate() {
        by_class[class_of(t as u32)].add_weighted(m, 1.0);
    }
    let split = |n: usize, key: &dyn Fn(usize, &Facts) -> usize| {
        let (mut k, mut d) = (vec![Vec::new(); n], vec![Vec::new(); n]);
        for (i, ((f, &(kl, _)), &dp)) in facts.iter().zip(&sums.kld_values).zip(&sums.p_diff_values).enumerate() {
            k[key(i, f)].push(kl);
            d[key(i, f)].push(dp);
        }
        (k, d)
    };
    let padded = |mut v: Vec<Moments>, n: usize| {
        v.resize(n.max(v.len()), Moments::default());
        v
    };
    let mut out = Vec::new();
    let (k, d) = split(3, &|_, f| class_of(f.target));
    out.push(breakdown("target_frequency".into(), FREQUENCY_NAMES.iter().map(|s| s.to_string()).collect(), by_class, k, d, min_positions));
    let n = POSITION_EDGES.len() + 1;
    let (k, d) = split(n, &|_, f| f.position as usize);
    out.push(breakdown("position".into(), (0..n).map(position_name).collect(), padded(buckets.by_position.clone(), n), k, d, min_positions));
    let n = ENTROPY_EDGES.len() + 1;
    let (k, d) = split(n, &|_, f| f.entropy as usize);
    out.push(breakdown("teacher_entropy".into(), (0..n).map(entropy_name).collect(), padded(buckets.by_entropy.clone(), n), k, d, min_positions));
    let columns = groups.columns.len();
    for (c, (column, names)) in groups.columns.iter().enumerate() {
        let n = names.len();
        let (k, d) = split(n, &|i, _| groups.ids[i * columns + c] as usize);
        let moments = padded(buckets.by_group.get(c).cloned().unwrap_or_default(), n);
        out.push(breakdown(format!("group:{column}"), names.clone(), moments, k, d, min_positions));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_follow_their_edges() {
        assert_eq!([1, 16, 17, 64, 65, 1024, 1025].map(position_bucket), [0, 0, 1, 1, 2, 3, 4]);
        assert_eq!([0.0, 0.49, 0.5, 1.99, 2.0, 4.0, 9.0].map(entropy_bucket), [0, 0, 1, 2, 3, 4, 4]);
        assert_eq!((0..5).map(position_name).collect::<Vec<_>>(), ["targets 1-16", "targets 17-64", "targets 65-256", "targets 257-1024", "targets 1025+"]);
        assert_eq!(entropy_name(0), "entropy < 0.5");
        assert_eq!(entropy_name(4), "entropy >= 4");
    }

    #[test]
    fn frequency_classes_split_occurrences_at_half_and_nine_tenths() {
        // Counts 50, 30, 10, 5, 5, 0 of 100: the first token starts at 0 % (head), the second at
        // 50 % (torso), the third at 80 % (torso), the fourth at 90 % (tail); unseen is tail.
        assert_eq!(frequency_classes(&[5, 30, 50, 10, 5, 0]), [2, 1, 0, 1, 2, 2]);
        assert_eq!(frequency_classes(&[]), Vec::<u8>::new());
    }
}
