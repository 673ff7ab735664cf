//! Unit tests of the tensor attack ([`super`]), with small linear and constant models.

use super::*;
use ndarray::{arr1, ArrayView1};

fn settings(epsilon: f32, max_queries: usize) -> TensorAttackSettings {
    TensorAttackSettings { epsilon, max_queries, seed: 7, clip: None }
}

/// Rows [batch, d] → class probabilities from `f`; records every row it sees.
struct Model<F: Fn(ArrayView1<f32>) -> Vec<f64>> {
    f: F,
    seen: Vec<Vec<f32>>,
    calls: usize,
}

impl<F: Fn(ArrayView1<f32>) -> Vec<f64>> Model<F> {
    fn new(f: F) -> Self {
        Self { f, seen: Vec::new(), calls: 0 }
    }
}

impl<F: Fn(ArrayView1<f32>) -> Vec<f64>> TensorClassifier for Model<F> {
    fn classify(&mut self, inputs: ArrayViewD<'_, f32>) -> Result<Vec<Vec<f64>>, AttackError> {
        self.calls += 1;
        let inputs = inputs.into_dimensionality::<ndarray::Ix2>().unwrap();
        Ok(inputs
            .rows()
            .into_iter()
            .map(|r| {
                self.seen.push(r.to_vec());
                (self.f)(r)
            })
            .collect())
    }
}

/// P(class 1) = sigmoid(w·x + b).
fn linear(w: [f32; 4], b: f32) -> impl Fn(ArrayView1<f32>) -> Vec<f64> {
    move |x| {
        let z: f64 = x.iter().zip(w).map(|(&x, w)| x as f64 * w as f64).sum::<f64>() + b as f64;
        let p = 1.0 / (1.0 + (-z).exp());
        vec![1.0 - p, p]
    }
}

/// Within ε of x0 everywhere, and within `clip` wherever it moved (an original outside `clip` may stay).
fn within(x: &[f32], x0: &[f32], epsilon: f32, clip: Option<(f32, f32)>) -> bool {
    x.iter().zip(x0).all(|(&a, &b)| ((a as f64) - (b as f64)).abs() <= epsilon as f64 && (a == b || clip.is_none_or(|(lo, hi)| (lo..=hi).contains(&a))))
}

#[test]
fn a_linear_model_is_broken_within_the_ball_and_the_budget() {
    let x0 = [0.5f32, -0.2, 0.1, 0.3];
    // w·x0 = 1.4, margin 0.3 above the boundary; moving every coordinate by ε = 0.1 against w
    // lowers w·x by 0.1 · Σ|w| = 0.5, so the example breaks inside the ball (not by one coordinate).
    let mut model = Model::new(linear([1.0, -2.0, 0.5, 1.5], -1.1));
    let attack = TensorAttack::new(settings(0.1, 9)).unwrap();
    let out = attack.attack(&mut model, arr1(&x0).into_dyn().view(), 1, None, 0).unwrap();
    assert_eq!(out.status, AttackStatus::Succeeded);
    assert!(out.queries <= 9 && out.queries == model.seen.len());
    assert_eq!(model.calls, 1 + (out.queries - 1) / 2); // original, then 2 rows per coordinate
    let adv = out.adversarial.unwrap().into_raw_vec_and_offset().0;
    assert!(within(&adv, &x0, 0.1, None) && model.seen.iter().all(|x| within(x, &x0, 0.1, None)));
    assert_eq!(out.perturbed_words, adv.iter().zip(&x0).filter(|(a, b)| a != b).count());
    assert!(out.perturbed_words >= 2 && out.words == 4);
    assert!(linear([1.0, -2.0, 0.5, 1.5], -1.1)(arr1(&adv).view())[1] < 0.5);
}

#[test]
fn a_constant_model_spends_every_candidate_or_the_whole_budget() {
    let x0 = arr1(&[0.0f32, 0.5, 1.0, 0.3]).into_dyn();
    let constant = |_: ArrayView1<f32>| vec![0.4, 0.6];
    // 4 coordinates × {+ε, −ε} = 8 candidates, one pass (nothing kept): 1 + 8 = 9.
    for (budget, expected) in [(100, 9), (9, 9), (8, 8), (4, 4), (1, 1)] {
        let mut model = Model::new(constant);
        let out = TensorAttack::new(settings(0.1, budget)).unwrap().attack(&mut model, x0.view(), 1, None, 3).unwrap();
        assert_eq!((out.status, out.queries, model.seen.len(), out.perturbed_words), (AttackStatus::Failed, expected, expected, 0));
    }
    // Clipped to [0, 1]: coordinate 0 can only go up, coordinate 2 only down: 1 + 6 = 7.
    let mut model = Model::new(constant);
    let attack = TensorAttack::new(TensorAttackSettings { clip: Some((0.0, 1.0)), ..settings(0.1, 100) }).unwrap();
    let out = attack.attack(&mut model, x0.view(), 1, Some(&[0.4, 0.6]), 3).unwrap();
    assert_eq!((out.queries, model.seen.len()), (6, 6));
    assert!(model.seen.iter().all(|x| within(x, x0.as_slice().unwrap(), 0.1, Some((0.0, 1.0)))));
}

#[test]
fn skipped_when_already_wrong_and_errors_name_flags() {
    let x0 = arr1(&[1.0f32, 2.0, 3.0, 4.0]).into_dyn();
    let mut model = Model::new(|_: ArrayView1<f32>| vec![0.7, 0.3]);
    let out = TensorAttack::new(settings(0.1, 10)).unwrap().attack(&mut model, x0.view(), 1, None, 0).unwrap();
    assert_eq!((out.status, out.queries, out.perturbed_words, out.words), (AttackStatus::Skipped, 0, 0, 4));
    let err = |s: TensorAttackSettings| TensorAttack::new(s).unwrap_err().to_string();
    assert!(err(settings(0.0, 10)).starts_with("--attack-epsilon must be"));
    assert!(err(settings(f32::NAN, 10)).starts_with("--attack-epsilon must be"));
    assert!(err(settings(0.1, 0)).starts_with("--attack-queries must be"));
    assert!(err(TensorAttackSettings { clip: Some((1.0, 0.0)), ..settings(0.1, 10) }).starts_with("--attack-clip must be"));
}

#[test]
fn random_linear_models_stay_in_budget_and_ball_and_runs_repeat() {
    let mut rng = Rng::new(5);
    let mut unit = |scale: f32| ((rng.unit() as f32) * 2.0 - 1.0) * scale;
    let mut statuses = std::collections::BTreeMap::new();
    for trial in 0..60u64 {
        let w = [unit(3.0), unit(3.0), unit(3.0), unit(3.0)];
        let b = unit(1.0);
        // Awkward magnitudes so that x0 ± ε rounds in f32.
        let scale = [1.0, 1e3, 1e6, 0.1][trial as usize % 4];
        let examples: Vec<ArrayD<f32>> = (0..8).map(|_| arr1(&[unit(scale), unit(scale), unit(scale), unit(1.0)]).into_dyn()).collect();
        let epsilon = [0.013f32, 0.1, 0.7][trial as usize % 3];
        let budget = 1 + (trial as usize % 23);
        let clip = (trial % 2 == 0).then_some((-0.5 * scale, 0.5 * scale));
        let attack = TensorAttack::new(TensorAttackSettings { epsilon, max_queries: budget, seed: trial, clip }).unwrap();
        let run = |max_rows: usize| {
            let mut model = Model::new(linear(w, b));
            let labelled: Vec<TensorExample> = examples
                .iter()
                .enumerate()
                .map(|(i, x)| {
                    // Every fourth example is labelled against the model: skipped.
                    let predicted = argmax(&linear(w, b)(x.view().into_dimensionality().unwrap()));
                    let gold = if i % 4 == 3 { 1 - predicted } else { predicted };
                    TensorExample { input: x.view(), gold, original: None, key: i as u64 }
                })
                .collect();
            let outs = attack.attack_batch(&mut model, &labelled, max_rows).unwrap();
            let skipped = outs.iter().filter(|o| o.status == AttackStatus::Skipped).count();
            assert_eq!(model.seen.len(), outs.iter().map(|o| o.queries).sum::<usize>() + skipped);
            // Every row sent is within the ball of one of the examples (the original itself or a candidate).
            assert!(model.seen.iter().all(|s| examples.iter().any(|x| within(s, x.as_slice().unwrap(), epsilon, None))));
            outs
        };
        let outs = run(6);
        for (o, x) in outs.iter().zip(&examples) {
            *statuses.entry(format!("{:?}", o.status)).or_insert(0) += 1;
            assert!(o.queries <= budget);
            if let Some(adv) = &o.adversarial {
                assert!(within(adv.as_slice().unwrap(), x.as_slice().unwrap(), epsilon, clip));
            }
        }
        assert_eq!(outs, run(6));
        assert_eq!(outs, run(1));
    }
    assert!(statuses.len() == 3 && statuses.values().all(|&n| n >= 20), "{statuses:?}");
}

#[test]
fn ball_values_never_round_outside_the_ball() {
    for x0 in [0.1f32, 1e7 + 1.0, -3.3e5, 16_777_215.0, 0.0] {
        for eps in [1e-3f32, 0.3, 0.7] {
            for sign in [1.0, -1.0] {
                let v = ball_value(x0, eps, sign, None).unwrap();
                assert!(((v as f64) - (x0 as f64)).abs() <= eps as f64, "{x0} {eps} {sign} -> {v}");
            }
        }
    }
    assert_eq!(ball_value(2.0, 0.5, 1.0, Some((0.0, 1.0))), None); // outside clip, out of reach
    assert_eq!(ball_value(1.25, 0.5, -1.0, Some((0.0, 1.0))), Some(0.75));
}
