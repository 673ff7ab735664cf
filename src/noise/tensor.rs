//! Natural noise on float inputs: Gaussian, scaled by the data's own spread, the same draws for
//! every model.
//!
//! A `[n, d]` input (tabular features) gets, on feature j, N(0, (m·σ_j)²) with σ_j the feature's
//! standard deviation over the evaluated examples (population, numpy's `std` default) and m the
//! level's multiple. A higher-rank input (an image, `[n, C, H, W]`) gets independent noise on every
//! pixel, N(0, (m·σ)²) with σ the standard deviation of all its values. Multiple 0 returns the
//! input unchanged, bit for bit.

use crate::stats::rng::Rng;
use ndarray::{ArrayD, Axis};
use rand_distr::{Distribution, StandardNormal};

/// The scale of the noise on each position of one example: per feature for `[n, d]`, one value
/// for every position of a higher-rank input.
pub fn spread(values: &ArrayD<f32>) -> Vec<f64> {
    let n = values.shape().first().copied().unwrap_or(0);
    let std = |xs: &mut dyn Iterator<Item = f64>, count: usize| -> f64 {
        let v: Vec<f64> = xs.collect();
        let mean = v.iter().sum::<f64>() / count.max(1) as f64;
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / count.max(1) as f64).sqrt()
    };
    if values.ndim() == 2 {
        values.axis_iter(Axis(1)).map(|col| std(&mut col.iter().map(|&x| f64::from(x)), n)).collect()
    } else {
        vec![std(&mut values.iter().map(|&x| f64::from(x)), values.len())]
    }
}

/// One example's values (`row`, flattened) with Gaussian noise at `multiple` times `spread`
/// (one value per feature, or one for all positions).
pub fn gaussian(row: &[f32], spread: &[f64], multiple: f64, rng: &mut Rng) -> Vec<f32> {
    if multiple == 0.0 {
        return row.to_vec();
    }
    row.iter()
        .enumerate()
        .map(|(j, &x)| {
            let sigma = if spread.len() == row.len() { spread[j] } else { spread.first().copied().unwrap_or(0.0) };
            let z: f64 = StandardNormal.sample(rng);
            (f64::from(x) + multiple * sigma * z) as f32
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;
    use crate::stats::rng::Rng;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn multiple_zero_changes_nothing(row in prop::collection::vec(-1e6f32..1e6, 0..40), seed in any::<u64>()) {
            let spread = vec![1.0; row.len()];
            prop_assert_eq!(gaussian(&row, &spread, 0.0, &mut Rng::new(seed)), row);
        }
    }

    #[test]
    fn spread_is_numpys_std_per_feature_or_over_an_image() {
        // numpy: np.std([[1, 10], [3, 10], [5, 40]], axis=0) = [1.63299316, 14.14213562]
        let tabular = ArrayD::from_shape_vec(IxDyn(&[3, 2]), vec![1.0, 10.0, 3.0, 10.0, 5.0, 40.0]).unwrap();
        let s = spread(&tabular);
        assert!((s[0] - 1.632_993_161_855_452).abs() < 1e-12 && (s[1] - 14.142_135_623_730_951).abs() < 1e-12, "{s:?}");
        // np.std([0, 1, 2, 3, 4, 5, 6, 7]) = 2.29128785
        let image = ArrayD::from_shape_vec(IxDyn(&[2, 1, 2, 2]), (0..8).map(|x| x as f32).collect()).unwrap();
        assert!((spread(&image)[0] - 2.291_287_847_477_92).abs() < 1e-12);
    }

    #[test]
    fn noise_has_the_asked_scale_and_a_constant_feature_stays_put() {
        let mut rng = Rng::new(11);
        let (n, mut sum, mut squares) = (20_000, 0.0, 0.0);
        for _ in 0..n {
            let v = gaussian(&[0.0, 5.0], &[2.0, 0.0], 0.5, &mut rng);
            assert_eq!(v[1], 5.0);
            sum += f64::from(v[0]);
            squares += f64::from(v[0]).powi(2);
        }
        let (mean, var) = (sum / n as f64, squares / n as f64);
        assert!(mean.abs() < 0.03 && (var - 1.0).abs() < 0.05, "mean {mean}, variance {var}");
    }
}
