//! Bootstrap throughput: 10,000 paired resamples over 100,000 examples for 3 students.
//!
//! Run: `cargo bench --bench bootstrap`. Prints the wall time of the full interval computation
//! (the figure quoted in the README) and draws per second. A bench script, not a timed test: the
//! machines are shared, so read it as a ratio against the target, measured in one run.

use fidelity::stats::rng::Rng;
use fidelity::stats::{paired_bootstrap, BootstrapSettings, PairedSample};
use std::time::Instant;

fn synthetic(n: usize, seed: u64) -> Vec<PairedSample> {
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

fn main() {
    let (n, resamples, students) = (100_000, 10_000, 3);
    let data: Vec<Vec<PairedSample>> = (0..students).map(|s| synthetic(n, s as u64)).collect();
    let settings = BootstrapSettings { resamples, confidence: 0.95, seed: 7 };
    // Warm-up on a tenth of the work (thread pool start, page faults).
    paired_bootstrap(&data, BootstrapSettings { resamples: resamples / 10, ..settings });
    let mut times = Vec::new();
    for _ in 0..3 {
        let started = Instant::now();
        let r = paired_bootstrap(&data, settings);
        times.push(started.elapsed().as_secs_f64());
        assert_eq!(r.len(), students);
    }
    times.sort_by(f64::total_cmp);
    let started = Instant::now();
    paired_bootstrap(&data[..1], settings);
    let one_student = started.elapsed().as_secs_f64();
    let draws = (n * resamples) as f64;
    println!(
        "bootstrap: {resamples} resamples x {n} examples x {students} students on {} threads: median {:.3} s (min {:.3}, max {:.3}); {:.0} M draws/s; target < 2 s (1 student: {:.3} s)",
        rayon::current_num_threads(),
        times[1],
        times[0],
        times[2],
        draws / times[1] / 1e6,
        one_student
    );
}
