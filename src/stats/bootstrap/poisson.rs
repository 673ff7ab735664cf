//! Probability loyalty's interval by the Poisson bootstrap (Hanley & MacGibbon 2006; Chamandy et
//! al. 2012, the method of TensorFlow Model Analysis): in resample `r` example `i` weighs
//! `w ~ Poisson(1)`, drawn from a hash of (seed, r, i), and the resampled loyalty is
//! `Σ w·y / Σ w`. A continuous mean has no small table to draw instead of rows, so this pass stays
//! `n` per resample; what makes it cheap:
//!
//! - weights need no state: they are recomputed from the example's index wherever needed, so every
//!   student and every group of a resample shares them, and a shard of the data (issue #16) can
//!   sum its own part, merging by addition;
//! - examples are laid out once by the set of judged groups they belong to, so one contiguous pass
//!   per resample gives every group's sums as sums of whole blocks;
//! - loyalties are fixed-point integers (2^-32) and sums are integer, so the result is the same in
//!   any order, thread count or instruction set, and the inner loop vectorises (AVX2 where the CPU
//!   has it, the baseline otherwise: same integers either way).
//!
//! The weight is the number of thresholds `⌊2^32 · P(K ≤ j)⌋`, j = 0..12, that a 32-bit hash
//! reaches: Poisson(1) to within 2^-32 per probability (`P(K > 13)` ≈ 8e-11 is counted as 13).
//! The Poisson bootstrap's total weight varies around n instead of being exactly n; for a mean the
//! two bootstraps agree to O(1/n) (the tests check them against each other). A resample where
//! every weight is 0 (probability e^-n) keeps the plain mean.

use super::samples::PairedSamples;

/// `⌊2^32 · P(K ≤ j)⌋` for K ~ Poisson(1), j = 0..12.
const THRESHOLDS: [u32; 13] = thresholds();

const fn thresholds() -> [u32; 13] {
    let mut out = [0u32; 13];
    let mut p = 0.367_879_441_171_442_33_f64; // e^-1 = P(K = 0)
    let mut cdf = 0.0;
    let mut j = 0;
    while j < 13 {
        cdf += p;
        out[j] = (cdf * 4_294_967_296.0) as u32;
        p /= (j + 1) as f64;
        j += 1;
    }
    out
}

/// Fixed-point loyalty: `y · (2^32 − 1)`, rounded.
fn fixed(y: f64) -> u32 {
    (y.clamp(0.0, 1.0) * u32::MAX as f64).round() as u32
}

/// The two 32-bit keys of resample `r`.
fn keys(seed: u64, r: u64) -> (u32, u32) {
    let mut z = seed ^ r.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ 0x5EED_B007_5742_9001;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z as u32, (z >> 32) as u32)
}

/// A per-example 32-bit hash, mixed once (murmur3's finalizer); each resample then mixes it with
/// its keys, two multiplies per weight.
fn example_hash(i: u32) -> u32 {
    let mut x = i.wrapping_mul(0x9E37_79B1) ^ 0x7F4A_7C15;
    x ^= x >> 16;
    x = x.wrapping_mul(0x85EB_CA6B);
    x ^= x >> 13;
    x = x.wrapping_mul(0xC2B2_AE35);
    x ^ (x >> 16)
}

#[inline(always)]
fn uniform(h: u32, (k1, k2): (u32, u32)) -> u32 {
    let mut x = (h ^ k1).wrapping_mul(0x85EB_CA6B);
    x ^= x >> 16;
    x = (x ^ k2).wrapping_mul(0xC2B2_AE35);
    x ^ (x >> 15)
}

/// The Poisson(1) weight of unit `index` in resample `resample`: what this module draws for an
/// example, for callers that resample other units (a language model's windows).
pub fn unit_weight(seed: u64, resample: u64, index: u32) -> u32 {
    weight(example_hash(index), keys(seed, resample))
}

/// The weight: how many thresholds the example's uniform reaches.
#[inline(always)]
fn weight(h: u32, keys: (u32, u32)) -> u32 {
    let x = uniform(h, keys);
    THRESHOLDS.iter().map(|&t| u32::from(x >= t)).sum()
}

/// Resamples computed together in one pass over the data (their weights share each loaded chunk).
pub const BATCH: usize = 8;

/// Examples per chunk: a chunk's hashes, weights and every student's loyalties stay in L1.
const CHUNK: usize = 1024;

/// The examples laid out for the pass: block `b` holds the examples whose set of judged groups is
/// `block_groups[b]`, in index order.
pub struct Layout {
    /// [`example_hash`] of each laid-out example's original index.
    hash: Vec<u32>,
    /// Each student's fixed-point loyalty, laid out.
    loyalty: Vec<Vec<u32>>,
    /// `starts[b]..starts[b + 1]` is block `b`.
    starts: Vec<usize>,
    /// For each group, the blocks it is made of.
    group_blocks: Vec<Vec<usize>>,
    /// Plain means, for the (astronomically rare) resample with no weight: [student][0 = all, 1 + g].
    means: Vec<Vec<f64>>,
}

impl Layout {
    /// `groups[g]` lists the examples of judged group `g`.
    pub fn new(students: &[&PairedSamples], groups: &[&[usize]]) -> Self {
        let n = students.first().map_or(0, |s| s.len());
        // Partition refinement: examples end in the same block exactly when they belong to the
        // same groups (no per-example set is built).
        let mut example_block = vec![0usize; n];
        let mut blocks = 1;
        for members in groups {
            let mut moved: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
            for &i in members.iter() {
                example_block[i] = *moved.entry(example_block[i]).or_insert_with(|| {
                    blocks += 1;
                    blocks - 1
                });
            }
        }
        // Dense block numbers in order of first appearance.
        let mut dense = vec![usize::MAX; blocks];
        let mut used = 0;
        for b in example_block.iter_mut() {
            if dense[*b] == usize::MAX {
                dense[*b] = used;
                used += 1;
            }
            *b = dense[*b];
        }
        let block_count = used;
        // The blocks of each group, each once (stamped with the group it was last seen in).
        let mut stamp = vec![usize::MAX; block_count];
        let group_blocks: Vec<Vec<usize>> = groups
            .iter()
            .enumerate()
            .map(|(g, members)| {
                let mut bs = Vec::new();
                for &i in members.iter() {
                    let b = example_block[i];
                    if stamp[b] != g {
                        stamp[b] = g;
                        bs.push(b);
                    }
                }
                bs
            })
            .collect();
        let mut sizes = vec![0usize; block_count];
        example_block.iter().for_each(|&b| sizes[b] += 1);
        let mut starts = vec![0usize; block_count + 1];
        for b in 0..block_count {
            starts[b + 1] = starts[b] + sizes[b];
        }
        let mut next = starts.clone();
        let mut index = vec![0u32; n];
        for (i, &b) in example_block.iter().enumerate() {
            index[next[b]] = i as u32;
            next[b] += 1;
        }
        let loyalty = students.iter().map(|s| index.iter().map(|&i| fixed(s.loyalty[i as usize])).collect()).collect();
        let hash = index.iter().map(|&i| example_hash(i)).collect();
        let mean = |s: &PairedSamples, members: &[usize]| members.iter().map(|&i| s.loyalty[i]).sum::<f64>() / members.len().max(1) as f64;
        let means = students
            .iter()
            .map(|s| std::iter::once(s.loyalty.iter().sum::<f64>() / n.max(1) as f64).chain(groups.iter().map(|m| mean(s, m))).collect())
            .collect();
        Self { hash, loyalty, starts, group_blocks, means }
    }

    /// Probability loyalty of resamples `first..first + count` (count at most [`BATCH`]):
    /// `[resample][student][0 = all examples, 1 + g = group g]`.
    pub fn resamples(&self, seed: u64, first: u64, count: usize) -> Vec<Vec<Vec<f64>>> {
        assert!(count <= BATCH);
        let keys: Vec<(u32, u32)> = (0..count as u64).map(|q| keys(seed, first + q)).collect();
        let blocks = self.starts.len() - 1;
        let students = self.loyalty.len();
        // sums[q][b] = (Σ w, each student's Σ w·y) over block b in resample q.
        let mut sums = vec![vec![(0u64, vec![0u128; students]); blocks]; count];
        for (b, bounds) in self.starts.windows(2).enumerate() {
            let range = bounds[0]..bounds[1];
            let loyalty: Vec<&[u32]> = self.loyalty.iter().map(|l| &l[range.clone()]).collect();
            block_sums(&self.hash[range], &loyalty, &keys, |q, w, s| {
                sums[q][b].0 += w;
                sums[q][b].1.iter_mut().zip(s).for_each(|(acc, v)| *acc += u128::from(*v));
            });
        }
        sums.iter().map(|per_block| self.ratios(per_block)).collect()
    }

    /// One resample's loyalties from its block sums: `[student][0 = all, 1 + g]`.
    fn ratios(&self, per_block: &[(u64, Vec<u128>)]) -> Vec<Vec<f64>> {
        let total =
            |blocks: &mut dyn Iterator<Item = usize>, k: usize| -> (u64, u128) { blocks.fold((0, 0), |(w, s), b| (w + per_block[b].0, s + per_block[b].1[k])) };
        let ratio = |(w, s): (u64, u128), mean: f64| if w == 0 { mean } else { s as f64 / w as f64 / u32::MAX as f64 };
        (0..self.loyalty.len())
            .map(|k| {
                std::iter::once(ratio(total(&mut (0..per_block.len()), k), self.means[k][0]))
                    .chain(self.group_blocks.iter().enumerate().map(|(g, bs)| ratio(total(&mut bs.iter().copied(), k), self.means[k][1 + g])))
                    .collect()
            })
            .collect()
    }
}

/// Weighted sums over one block for every resample of a batch, a chunk at a time: `emit(q, Σ w,
/// [Σ w·y per student])` once per chunk and resample. Integer sums: the same in any order.
fn block_sums(hash: &[u32], loyalty: &[&[u32]], keys: &[(u32, u32)], mut emit: impl FnMut(usize, u64, &[u64])) {
    let mut w = [0u32; CHUNK];
    let mut dots = vec![0u64; loyalty.len()];
    for (c, h) in hash.chunks(CHUNK).enumerate() {
        let at = c * CHUNK..c * CHUNK + h.len();
        for (q, &k) in keys.iter().enumerate() {
            let total = fill_weights(h, &mut w[..h.len()], k);
            for (d, y) in dots.iter_mut().zip(loyalty) {
                *d = dot(&w[..h.len()], &y[at.clone()]);
            }
            emit(q, u64::from(total), &dots);
        }
    }
}

/// Fills `out` with the weights of the examples with hashes `hash`; returns their sum (at most
/// 13 · [`CHUNK`]).
fn fill_weights(hash: &[u32], out: &mut [u32], keys: (u32, u32)) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            return unsafe { fill_weights_avx512(hash, out, keys) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { fill_weights_avx2(hash, out, keys) };
        }
    }
    fill_weights_portable(hash, out, keys)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn fill_weights_avx512(hash: &[u32], out: &mut [u32], keys: (u32, u32)) -> u32 {
    fill_weights_portable(hash, out, keys)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fill_weights_avx2(hash: &[u32], out: &mut [u32], keys: (u32, u32)) -> u32 {
    fill_weights_portable(hash, out, keys)
}

#[inline(always)]
fn fill_weights_portable(hash: &[u32], out: &mut [u32], keys: (u32, u32)) -> u32 {
    for (o, &h) in out.iter_mut().zip(hash) {
        *o = weight(h, keys);
    }
    out.iter().sum()
}

fn dot(w: &[u32], y: &[u32]) -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F (checked just above).
            return unsafe { dot_avx512(w, y) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above).
            return unsafe { dot_avx2(w, y) };
        }
    }
    dot_portable(w, y)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn dot_avx512(w: &[u32], y: &[u32]) -> u64 {
    dot_portable(w, y)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn dot_avx2(w: &[u32], y: &[u32]) -> u64 {
    dot_portable(w, y)
}

#[inline(always)]
fn dot_portable(w: &[u32], y: &[u32]) -> u64 {
    w.iter().zip(y).map(|(&w, &y)| u64::from(w) * u64::from(y)).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_are_poisson_one() {
        // Over 2^20 hashed weights, the share of each value is within 5 standard errors of Poisson(1).
        let n = 1u32 << 20;
        let mut counts = [0u64; 14];
        for i in 0..n {
            counts[weight(example_hash(i), keys(3, 1)) as usize] += 1;
        }
        let mut p = (-1.0f64).exp();
        for (k, &c) in counts.iter().enumerate().take(8) {
            let share = c as f64 / n as f64;
            let se = (p * (1.0 - p) / n as f64).sqrt();
            assert!((share - p).abs() < 5.0 * se + 1e-9, "P(w = {k}) = {share}, want {p}");
            p /= (k + 1) as f64;
        }
        assert_eq!(THRESHOLDS[0], (4_294_967_296.0 * (-1.0f64).exp()) as u32);
    }

    #[test]
    fn simd_and_portable_paths_agree() {
        let index: Vec<u32> = (0..CHUNK as u32).map(|i| example_hash(i * 7 + 3)).collect();
        let y: Vec<u32> = (0..CHUNK as u32).map(|i| i.wrapping_mul(2_654_435_761)).collect();
        let mut a = vec![0; index.len()];
        let mut b = vec![0; index.len()];
        assert_eq!(fill_weights(&index, &mut a, keys(9, 4)), fill_weights_portable(&index, &mut b, keys(9, 4)));
        assert_eq!(a, b);
        assert_eq!(dot(&a, &y), dot_portable(&a, &y));
    }
}
