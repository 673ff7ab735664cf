//! The outcome-table and Poisson methods against the direct row bootstrap, and what their
//! results must not depend on.

use super::*;
use crate::stats::rng::Rng;

/// Data shaped like the fixtures' students: teacher accuracy ~0.78, agreement ~0.93, loyalty
/// skewed towards 1 with a tail (as 1 − √JS is), and a tenth unlabelled when asked.
fn fixture_like(n: usize, seed: u64, unlabelled: bool) -> PairedSamples {
    let mut rng = Rng::new(seed);
    (0..n)
        .map(|i| {
            let t = rng.unit() < 0.78;
            let agree = rng.unit() < 0.93;
            let s = if agree { t } else { rng.unit() < 0.3 };
            let loyalty = 1.0 - rng.unit().powi(6) * 0.9;
            let labelled = !(unlabelled && i % 10 == 0);
            PairedSample { teacher_correct: labelled.then_some(t), student_correct: labelled.then_some(s), agree, probability_loyalty: loyalty }
        })
        .collect()
}

/// Two-sample Kolmogorov–Smirnov statistic, ties (discrete statistics) handled by stepping past
/// equal values in both samples together.
fn ks(mut a: Vec<f64>, mut b: Vec<f64>) -> f64 {
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let x = a[i].min(b[j]);
        while i < a.len() && a[i] <= x {
            i += 1;
        }
        while j < b.len() && b[j] <= x {
            j += 1;
        }
        d = d.max((i as f64 / a.len() as f64 - j as f64 / b.len() as f64).abs());
    }
    d
}

/// Two checks per statistic and case, each rejecting a true null with probability at most 0.001:
/// the two-sample Kolmogorov–Smirnov distance (asymptotic critical value 1.949 · √((m + n)/(m n)),
/// conservative for the discrete statistics), and the log ratio of the two variances (normal
/// approximation, 3.29 standard errors of √(2/(m−1) + 2/(n−1)), widened by 1.5 for kurtosis). 30
/// checks, so by Bonferroni the test fails by chance for at most 3 % of seeds; the seeds are fixed,
/// so it is deterministic. At 20,000 resamples a shift of 2 % of the distribution or 8 % of the
/// spread (a wrong cell, a wrong weight distribution) fails it.
/// A case: its name, the fast methods' resamples, the row bootstrap's.
type Case = (&'static str, Vec<[f64; 5]>, Vec<Vec<f64>>);

#[test]
fn table_and_poisson_resamples_have_the_row_bootstraps_distribution() {
    let resamples = 20_000;
    let critical = 1.949 * (2.0 / resamples as f64).sqrt();
    let log_var_bound = 1.5 * 3.29 * (4.0 / (resamples - 1) as f64).sqrt();
    let names = ["teacher accuracy", "student accuracy", "accuracy difference", "label loyalty", "probability loyalty"];
    let data = fixture_like(2000, 1, true);
    let group: Vec<usize> = (0..2000).filter(|i| i % 5 == 2).collect();
    let small = fixture_like(120, 5, false);
    let settings = BootstrapSettings { resamples, confidence: 0.95, seed: 11 };
    let (new, _) = resamples_of(&[&data], &[GroupSpec { members: &group, seed: 99 }], settings);
    let (new_small, _) = resamples_of(&[&small], &[], settings);
    let row_settings = BootstrapSettings { seed: 12, ..settings };
    let cases: [Case; 3] = [
        ("2,000 examples", new.iter().map(|r| r[0][0]).collect(), row::row_resamples(&[&data], row_settings)),
        ("a group of 400", new.iter().map(|r| r[0][1]).collect(), row::row_resamples(&[&data.subset(group.iter().copied())], row_settings)),
        ("120 examples", new_small.iter().map(|r| r[0][0]).collect(), row::row_resamples(&[&small], row_settings)),
    ];
    for (case, fast, rows) in cases {
        for (k, name) in names.iter().enumerate() {
            // Accuracies are NaN in a resample that drew no labelled example: none do at these sizes.
            let (a, b): (Vec<f64>, Vec<f64>) = (fast.iter().map(|r| r[k]).collect(), rows.iter().map(|r| r[k]).collect());
            let log_var = (variance(&a) / variance(&b)).ln();
            assert!(
                log_var.abs() < log_var_bound,
                "{case}, {name}: variance ratio {:.4} to the row bootstrap (bound ±{log_var_bound:.3} in log)",
                log_var.exp()
            );
            let d = ks(a, b);
            assert!(d < critical, "{case}, {name}: KS distance {d:.4} to the row bootstrap (bound {critical:.4})");
        }
    }
}

fn variance(x: &[f64]) -> f64 {
    let mean = x.iter().sum::<f64>() / x.len() as f64;
    x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (x.len() - 1) as f64
}

fn resamples_of(students: &[&PairedSamples], groups: &[GroupSpec<'_>], settings: BootstrapSettings) -> (Vec<Resample>, Vec<Vec<OutcomeTable>>) {
    super::resamples(students, groups, settings)
}

#[test]
fn intervals_do_not_depend_on_threads_or_on_the_other_students() {
    let (a, b) = (fixture_like(3000, 3, true), fixture_like(3000, 4, true));
    // The same teacher for both: copy a's teacher flags into b.
    let b = PairedSamples { shared: a.shared.clone(), ..b };
    let group: Vec<usize> = (0..3000).filter(|i| i % 3 == 0).collect();
    let settings = BootstrapSettings { resamples: 200, confidence: 0.9, seed: 5 };
    let run = |threads: usize, students: &[&PairedSamples]| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| grouped_bootstrap(students, &[GroupSpec { members: &group, seed: 6 }], settings))
    };
    let both = run(1, &[&a, &b]);
    assert_eq!(both, run(2, &[&a, &b]), "thread count");
    let alone = run(2, &[&b]);
    assert_eq!(alone.overall[0], both.overall[1], "another student beside it");
    assert_eq!(alone.groups[0][0], both.groups[0][1]);
    assert_eq!(both.overall[0].teacher_accuracy, both.overall[1].teacher_accuracy, "one teacher interval");
    // Groups share the resample's weights, but a group's tables have their own stream.
    assert_ne!(both.groups[0][0], both.overall[0]);
}

/// Over 600 synthetic datasets with known mean loyalty, the 95 % interval of probability loyalty
/// (Poisson bootstrap) covers it between 92 % and 98 % of the time (a binomial 95 % range for
/// nominal coverage at this count is about 93.3 %–96.7 %; the wider band allows the percentile
/// method's small-sample undercoverage).
#[test]
fn probability_loyalty_interval_has_nominal_coverage() {
    let truth = 0.8; // mean of 0.6 + 0.4 · U
    let mut data_rng = Rng::new(77);
    let mut covered = 0;
    let rounds = 600;
    for draw in 0..rounds {
        let data: PairedSamples = (0..300)
            .map(|_| PairedSample { teacher_correct: Some(true), student_correct: Some(true), agree: true, probability_loyalty: 0.6 + 0.4 * data_rng.unit() })
            .collect();
        let r = &paired_bootstrap_samples(&[&data], BootstrapSettings { resamples: 400, confidence: 0.95, seed: draw })[0];
        covered += usize::from(r.probability_loyalty.unwrap().contains(truth));
    }
    assert!((552..=588).contains(&covered), "coverage {covered} / {rounds}");
}
