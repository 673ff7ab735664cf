use super::*;
use crate::noise::NoiseKind;
use proptest::prelude::*;
use crate::stats::rng::Rng;

const LEVEL: NoiseLevel = NoiseLevel { kind: NoiseKind::Typos, rate: 0.1 };

fn settings(resamples: usize, seed: u64) -> BootstrapSettings {
    BootstrapSettings { resamples, confidence: 0.95, seed }
}

#[test]
fn a_worked_example() {
    // Six examples, the last unlabelled. By hand:
    // teacher clean right on 0,1,2,3 (4/5), noisy right on 0,1,2 (3/5): drop 0.2, stable 5/6.
    // student clean right on 0,1,2 (3/5), noisy right on 0 (1/5): drop 0.4, stable on 0,3,5 (3/6).
    // noisy labels agree on 0,3,5 (3/6); clean labels agree on 0,1,2,4,5 (5/6).
    // noisy accuracy drop 3/5 − 1/5 = 0.4; robustness gap 0.4 − 0.2 = 0.2.
    let gold = [Some(0), Some(1), Some(2), Some(0), Some(1), None];
    let teacher = Labels { clean: &[0, 1, 2, 0, 0, 2], noisy: &[0, 1, 2, 1, 0, 2] };
    let student = Labels { clean: &[0, 1, 2, 1, 0, 2], noisy: &[0, 0, 0, 1, 2, 2] };
    let t = model_noise(LEVEL, &gold, teacher);
    assert_eq!((t.clean_accuracy, t.noisy_accuracy), (Some(0.8), Some(0.6)));
    assert!((t.accuracy_drop.unwrap() - 0.2).abs() < 1e-15 && (t.stability - 5.0 / 6.0).abs() < 1e-15);
    let s = model_noise(LEVEL, &gold, student);
    assert!((s.accuracy_drop.unwrap() - 0.4).abs() < 1e-15 && (s.stability - 0.5).abs() < 1e-15);
    let c = compare(LEVEL, &gold, teacher, student, settings(200, 1));
    assert_eq!((c.label_loyalty, c.clean_label_loyalty), (0.5, 5.0 / 6.0));
    assert!((c.noisy_accuracy_drop.unwrap() - 0.4).abs() < 1e-15 && (c.robustness_gap.unwrap() - 0.2).abs() < 1e-15);
    let (l, d, g) = statistics(&cells(&gold, teacher, student));
    assert!((l - 0.5).abs() < 1e-15 && (d - 0.4).abs() < 1e-15 && (g - 0.2).abs() < 1e-15);
}

#[test]
fn unlabelled_samples_have_loyalty_and_stability_only() {
    let gold = [None, None, None];
    let labels = Labels { clean: &[0, 1, 1], noisy: &[0, 1, 0] };
    let m = model_noise(LEVEL, &gold, labels);
    assert_eq!((m.clean_accuracy, m.accuracy_drop), (None, None));
    let c = compare(LEVEL, &gold, labels, labels, settings(100, 0));
    assert_eq!((c.label_loyalty, c.robustness_gap, c.noisy_accuracy_drop), (1.0, None, None));
    let iv = c.intervals.unwrap();
    assert_eq!((iv.label_loyalty, iv.robustness_gap), (Interval { lower: 1.0, upper: 1.0 }, None));
}

proptest! {
    /// Noise that changes no label costs nothing: stability 1, no drop, no gap, and the noisy
    /// loyalty is the clean one.
    #[test]
    fn unchanged_labels_cost_nothing(rows in prop::collection::vec((0usize..3, 0usize..3, prop::option::of(0usize..3)), 1..60), seed in any::<u64>()) {
        let teacher: Vec<usize> = rows.iter().map(|r| r.0).collect();
        let student: Vec<usize> = rows.iter().map(|r| r.1).collect();
        let gold: Vec<Option<usize>> = rows.iter().map(|r| r.2).collect();
        let (t, s) = (Labels { clean: &teacher, noisy: &teacher }, Labels { clean: &student, noisy: &student });
        let m = model_noise(LEVEL, &gold, s);
        prop_assert_eq!(m.stability, 1.0);
        prop_assert!(m.accuracy_drop.is_none_or(|d| d == 0.0));
        let c = compare(LEVEL, &gold, t, s, settings(50, seed));
        prop_assert_eq!(c.label_loyalty, c.clean_label_loyalty);
        prop_assert!(c.robustness_gap.is_none_or(|g| g == 0.0));
        if let Some(g) = c.intervals.and_then(|i| i.robustness_gap) {
            prop_assert_eq!(g, Interval { lower: 0.0, upper: 0.0 });
        }
    }

    /// The interval brackets the point value's neighbourhood and depends only on the seed.
    #[test]
    fn intervals_are_seeded(rows in prop::collection::vec((0usize..2, 0usize..2, 0usize..2, 0usize..2, 0usize..2), 30..80), seed in any::<u64>()) {
        let col = |i: usize| rows.iter().map(|r| [r.0, r.1, r.2, r.3, r.4][i]).collect::<Vec<usize>>();
        let (tc, tn, sc, sn) = (col(0), col(1), col(2), col(3));
        let gold: Vec<Option<usize>> = col(4).into_iter().map(Some).collect();
        let (t, s) = (Labels { clean: &tc, noisy: &tn }, Labels { clean: &sc, noisy: &sn });
        let a = compare(LEVEL, &gold, t, s, settings(300, seed));
        prop_assert_eq!(&a, &compare(LEVEL, &gold, t, s, settings(300, seed)));
        let iv = a.intervals.unwrap();
        let g = iv.robustness_gap.unwrap();
        prop_assert!(g.lower <= g.upper && iv.label_loyalty.lower <= a.label_loyalty + 0.2 && a.label_loyalty - 0.2 <= iv.label_loyalty.upper);
    }
}

/// The cell bootstrap draws what the row bootstrap draws: the gap's resampled mean and spread
/// agree with resampling rows directly.
#[test]
fn cell_draws_match_row_draws() {
    let mut rng = Rng::new(5);
    let n = 120;
    let draw = |rng: &mut Rng, p: f64| usize::from(rng.unit() < p);
    let gold: Vec<Option<usize>> = (0..n).map(|_| Some(1)).collect();
    let tc: Vec<usize> = (0..n).map(|_| draw(&mut rng, 0.8)).collect();
    let tn: Vec<usize> = tc.iter().map(|&c| if c == 1 { draw(&mut rng, 0.9) } else { 0 }).collect();
    let sc: Vec<usize> = tc.iter().map(|&c| if c == 1 { draw(&mut rng, 0.95) } else { draw(&mut rng, 0.2) }).collect();
    let sn: Vec<usize> = sc.iter().map(|&c| if c == 1 { draw(&mut rng, 0.7) } else { 0 }).collect();
    let (t, s) = (Labels { clean: &tc, noisy: &tn }, Labels { clean: &sc, noisy: &sn });
    let weights = cells(&gold, t, s);
    let (mut by_cells, mut by_rows) = (Vec::new(), Vec::new());
    for r in 0..4000 {
        let mut drawn = [0u64; 64];
        multinomial(n as u64, &weights, &mut drawn, &mut Rng::stream(9, r));
        by_cells.push(statistics(&drawn).2);
        let mut rows = [0u64; 64];
        let all = cells(&gold, t, s);
        let flat: Vec<usize> = (0..64).flat_map(|c| std::iter::repeat_n(c, all[c] as usize)).collect();
        for _ in 0..n {
            rows[flat[rng.below(n as u64) as usize]] += 1;
        }
        by_rows.push(statistics(&rows).2);
    }
    let moments = |v: &[f64]| {
        let m = v.iter().sum::<f64>() / v.len() as f64;
        (m, (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt())
    };
    let ((m1, s1), (m2, s2)) = (moments(&by_cells), moments(&by_rows));
    assert!((m1 - m2).abs() < 0.004 && (s1 / s2 - 1.0).abs() < 0.06, "cells {m1} ± {s1}, rows {m2} ± {s2}");
}

/// On 400 synthetic samples from a population of known robustness gap, the 95 % interval covers
/// it about 95 % of the time.
#[test]
fn robustness_gap_interval_has_nominal_coverage() {
    // Per example: teacher clean right w.p. 0.85, keeps it under noise w.p. 0.9; student clean
    // right w.p. 0.8, keeps it w.p. 0.75 (independently). Gap = (0.8·0.25) − (0.85·0.1) = 0.115.
    let truth = 0.8 * 0.25 - 0.85 * 0.1;
    let mut covered = 0;
    for dataset in 0..400u64 {
        let mut rng = Rng::stream(77, dataset);
        let n = 250;
        let mut bit = |p: f64| usize::from(rng.unit() < p);
        let mut cols = [vec![], vec![], vec![], vec![]];
        for _ in 0..n {
            let tc = bit(0.85);
            let tn = tc * bit(0.9);
            let sc = bit(0.8);
            let sn = sc * bit(0.75);
            for (c, v) in cols.iter_mut().zip([tc, tn, sc, sn]) {
                c.push(v);
            }
        }
        let gold = vec![Some(1); n];
        let c = compare(LEVEL, &gold, Labels { clean: &cols[0], noisy: &cols[1] }, Labels { clean: &cols[2], noisy: &cols[3] }, settings(400, dataset));
        covered += usize::from(c.intervals.unwrap().robustness_gap.unwrap().contains(truth));
    }
    assert!((360..=392).contains(&covered), "covered {covered} of 400");
}
