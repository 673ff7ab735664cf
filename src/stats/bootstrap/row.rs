//! The direct row bootstrap: each resample draws n examples with replacement and recomputes every
//! statistic from them. Cost `resamples × n` per student. Kept as the reference the cheaper
//! methods are tested against (and for the bench's side-by-side figure).

use super::samples::PairedSamples;
use super::{paired_intervals, BootstrapSettings, PairedIntervals};
use crate::stats::rng::Rng;
use rayon::prelude::*;

/// Five statistics per student for one resample.
pub const STATS: usize = 5;

/// One resample. Instead of gathering a random row per draw, it counts how often each example
/// is drawn (random increments into a small, cache-resident array) and then makes one sequential,
/// vectorisable pass weighting every example by its count: the same resample, several times faster.
///
/// Counts are u16: one example drawn more than 65,535 times out of n draws has probability below
/// 10^-300000 for any n where that is possible at all.
fn one_resample(data: &[&PairedSamples], rng: &mut Rng, counts: &mut [u16], out: &mut [f64]) {
    let n = data[0].len();
    counts.iter_mut().for_each(|c| *c = 0);
    for _ in 0..n / 2 {
        let (i, j) = rng.two_below(n as u32);
        counts[i as usize] += 1;
        counts[j as usize] += 1;
    }
    if n % 2 == 1 {
        counts[rng.two_below(n as u32).0 as usize] += 1;
    }
    // The teacher's correctness and the labels are the same for every student: one pass.
    let (mut t, mut l) = (0u32, 0u32);
    for (&c, &f) in counts.iter().zip(&data[0].shared) {
        let (c, f) = (c as u32, f as u32);
        t += c * (f & 1);
        l += c * (f >> 1);
    }
    let (t_acc, n_f) = (t as f64 / l as f64, n as f64);
    for (s, (flags, loyalty)) in data.iter().map(|d| (&d.flags, &d.loyalty)).enumerate() {
        // u32 sums: every sum is at most n (the total of the counts), and u32 lanes vectorise.
        let (mut st, mut a) = (0u32, 0u32);
        let mut loyal = 0.0f64;
        for ((&c, &f), &y) in counts.iter().zip(flags).zip(loyalty) {
            let (c, f) = (c as u32, f as u32);
            st += c * (f & 1);
            a += c * (f >> 1);
            loyal += c as f64 * y;
        }
        // With no labelled example drawn, accuracies are NaN; callers only read them for labelled data.
        let s_acc = st as f64 / l as f64;
        out[s * STATS..(s + 1) * STATS].copy_from_slice(&[t_acc, s_acc, s_acc - t_acc, a as f64 / n_f, loyal / n_f]);
    }
}

/// Row-bootstrap intervals for several students over the same examples (resample `r` draws the
/// same rows for every student).
pub fn row_bootstrap(students: &[&PairedSamples], settings: BootstrapSettings) -> Vec<PairedIntervals> {
    let per_resample = row_resamples(students, settings);
    let labelled = students.first().is_some_and(|s| s.shared.iter().any(|&f| f & super::samples::LABELLED != 0));
    (0..students.len()).map(|s| paired_intervals(labelled, settings.confidence, |k| per_resample.iter().map(|r| r[s * STATS + k]).collect())).collect()
}

/// Every resample's statistics: `STATS` per student (teacher accuracy, student accuracy, their
/// difference, label loyalty, probability loyalty).
pub fn row_resamples(students: &[&PairedSamples], settings: BootstrapSettings) -> Vec<Vec<f64>> {
    let count = students.len();
    let n = students.first().map_or(0, |s| s.len());
    assert!(n <= u32::MAX as usize, "the bootstrap takes at most 2^32 - 1 examples per group");
    if count == 0 || n == 0 {
        return vec![];
    }
    (0..settings.resamples)
        .into_par_iter()
        .map_init(
            || vec![0u16; n],
            |counts, r| {
                let mut rng = Rng::stream(settings.seed, r as u64);
                let mut out = vec![0.0; count * STATS];
                one_resample(students, &mut rng, counts, &mut out);
                out
            },
        )
        .collect()
}
