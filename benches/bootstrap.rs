//! Bootstrap cost, side by side in one run: the intervals fidelity computes (outcome tables and
//! Poisson weights, `grouped_bootstrap`) against the direct row bootstrap they replace, on
//! synthetic paired samples of 3 students; and the new method alone at 1,000,000 examples with
//! groups (2 binary attributes, alone and crossed: 8 groups), 1,000 and 10,000 resamples.
//!
//! Run: `cargo bench --bench bootstrap`. A bench script, not a timed test: the machines are
//! shared, so read it as ratios measured in one run.

use fidelity::stats::rng::Rng;
use fidelity::stats::{grouped_bootstrap, BootstrapSettings, GroupSpec, PairedSample, PairedSamples};
use std::time::Instant;

fn synthetic(n: usize, seed: u64) -> PairedSamples {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|_| {
            let t = rng.unit() < 0.85;
            let agree = rng.unit() < 0.95;
            let s = if agree { t } else { !t };
            PairedSample { teacher_correct: Some(t), student_correct: Some(s), agree, probability_loyalty: 0.8 + 0.2 * rng.unit() }
        })
        .collect()
}

fn median_seconds(mut f: impl FnMut()) -> f64 {
    let mut times: Vec<f64> = (0..3)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[1]
}

fn main() {
    let threads = rayon::current_num_threads();
    let (n, resamples) = (100_000, 10_000);
    let data: Vec<PairedSamples> = (0..3).map(|s| synthetic(n, s)).collect();
    let refs: Vec<&PairedSamples> = data.iter().collect();
    let settings = BootstrapSettings { resamples, confidence: 0.95, seed: 7 };
    let fast = median_seconds(|| drop(grouped_bootstrap(&refs, &[], settings)));
    let row = median_seconds(|| drop(fidelity::stats::bootstrap::row::row_bootstrap(&refs, settings)));
    println!(
        "{resamples} resamples x {n} examples x 3 students, {threads} threads: fidelity {fast:.3} s, row bootstrap {row:.3} s ({:.1}x faster)",
        row / fast
    );

    let n = 1_000_000;
    let data: Vec<PairedSamples> = (0..3).map(|s| synthetic(n, 10 + s)).collect();
    let refs: Vec<&PairedSamples> = data.iter().collect();
    let a: Vec<usize> = (0..n).filter(|i| i % 3 == 0).collect();
    let not_a: Vec<usize> = (0..n).filter(|i| i % 3 != 0).collect();
    let b: Vec<usize> = (0..n).filter(|i| i % 7 < 2).collect();
    let not_b: Vec<usize> = (0..n).filter(|i| i % 7 >= 2).collect();
    let cross = |x: &[usize], y: &[usize]| -> Vec<usize> { x.iter().copied().filter(|i| y.binary_search(i).is_ok()).collect() };
    let mut members = vec![a.clone(), not_a.clone(), b.clone(), not_b.clone()];
    for x in [&a, &not_a] {
        for y in [&b, &not_b] {
            members.push(cross(x, y));
        }
    }
    let groups: Vec<GroupSpec<'_>> = members.iter().enumerate().map(|(k, m)| GroupSpec { members: m, seed: k as u64 + 1 }).collect();
    for resamples in [1000, 10_000] {
        let settings = BootstrapSettings { resamples, confidence: 0.95, seed: 7 };
        let overall = median_seconds(|| drop(grouped_bootstrap(&refs, &[], settings)));
        let with_groups = median_seconds(|| drop(grouped_bootstrap(&refs, &groups, settings)));
        println!("{resamples} resamples x {n} examples x 3 students: {overall:.3} s overall only, {with_groups:.3} s with 8 groups");
    }
}
