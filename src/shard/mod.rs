//! Scale-out: `fidelity compare --shard K/N` evaluates one slice of the data and writes a part
//! file ([`crate::report::part`]); `fidelity merge` ([`crate::pipeline::merge`]) checks that the
//! parts belong together and writes the report one run would have written. fidelity grows no cluster manager: Slurm arrays, Kubernetes Indexed Jobs or
//! a CI matrix run the shards ([`engine`] reads their variables).
//!
//! Slices are whole evaluation chunks (`--chunk-size` rows, counted from the file's first row):
//! models are batched within a chunk, and a dynamically quantized model's outputs depend on its
//! batch companions, so a slice boundary inside a chunk would change the numbers. Every shard
//! takes the batching decisions the single run takes on the first chunk (batch invariance, output
//! kind) by running that chunk too when it does not hold it. Sums merge exactly
//! ([`crate::metrics::fixed_sum`]); per-example records (the 10 bytes per example and student the
//! bootstrap resamples, 4 per example and group attribute) are placed at their global rows, so the
//! merged intervals are the single run's.

pub mod engine;
pub mod identity;

use serde::{Deserialize, Serialize};
use std::ops::Range;

/// Shard `index` (0-based) of `count`; written and read 1-based, `K/N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index + 1, self.count)
    }
}

impl Shard {
    /// `K/N` with 1 ≤ K ≤ N.
    pub fn parse(text: &str) -> Result<Self, String> {
        let usage = || format!("--shard '{text}': write K/N with 1 <= K <= N (e.g. --shard 2/8), or --shard auto to read them from the batch engine");
        let (k, n) = text.split_once('/').ok_or_else(usage)?;
        let (k, n): (usize, usize) = (k.trim().parse().map_err(|_| usage())?, n.trim().parse().map_err(|_| usage())?);
        if k == 0 || n == 0 || k > n {
            return Err(usage());
        }
        Ok(Self { index: k - 1, count: n })
    }

    /// This shard's rows of a file of `rows` rows cut into chunks of `chunk` rows: the chunks
    /// `⌊i·m/N⌋..⌊(i+1)·m/N⌋` of the `m` chunks. Contiguous, in order, covering every row once; a
    /// shard gets no rows when there are fewer chunks than shards.
    pub fn rows(&self, rows: usize, chunk: usize) -> Range<usize> {
        let chunks = rows.div_ceil(chunk.max(1)) as u128;
        let at = |i: usize| (((i as u128 * chunks) / self.count as u128) as usize).saturating_mul(chunk).min(rows);
        at(self.index)..at(self.index + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_k_of_n_and_refuses_the_rest() {
        assert_eq!(Shard::parse("2/8").unwrap(), Shard { index: 1, count: 8 });
        assert_eq!(Shard::parse("1/1").unwrap().to_string(), "1/1");
        for bad in ["0/3", "4/3", "3", "a/b", "1/0", ""] {
            assert!(Shard::parse(bad).unwrap_err().contains("K/N"), "{bad}");
        }
    }

    #[test]
    fn slices_are_whole_chunks() {
        let slices: Vec<_> = (0..3).map(|index| Shard { index, count: 3 }.rows(10, 2)).collect();
        assert_eq!(slices, [0..2, 2..6, 6..10]);
        // More shards than chunks: some are empty.
        let slices: Vec<_> = (0..4).map(|index| Shard { index, count: 4 }.rows(3, 2)).collect();
        assert_eq!(slices, [0..0, 0..2, 2..2, 2..3]);
    }

    proptest! {
        #[test]
        fn the_slices_cover_every_row_exactly_once(rows in 0usize..5000, chunk in 1usize..300, count in 1usize..40) {
            let mut next = 0;
            for index in 0..count {
                let r = Shard { index, count }.rows(rows, chunk);
                prop_assert_eq!(r.start, next, "contiguous and in order");
                prop_assert!(r.end >= r.start);
                prop_assert!(r.start.is_multiple_of(chunk), "starts on a chunk boundary");
                next = r.end;
            }
            prop_assert_eq!(next, rows);
        }
    }
}
