//! A sum of floats that is the same whatever the order or split of its terms.
//!
//! Each term is rounded once to a multiple of 2^-64 and the multiples are added as integers, so
//! two shards' sums merged give the bits of one pass over all the rows (float addition is not
//! associative: summed in another order, a mean moves in its last bits). The rounding costs at most
//! 2^-65 per term: a mean of terms is within 2.8e-20 of the float64 mean. Terms are loyalties in
//! [0, 1] and KL values in nats; magnitudes above 2^40 are clamped (no real KL comes near).

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// 2^64: one unit of the integer is 2^-64.
const SCALE: f64 = 18_446_744_073_709_551_616.0;
const LIMIT: f64 = 1_099_511_627_776.0; // 2^40

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FixedSum(i128);

impl FixedSum {
    pub fn add(&mut self, x: f64) {
        self.0 = self.0.wrapping_add((x.clamp(-LIMIT, LIMIT) * SCALE).round() as i128);
    }

    pub fn merge(&mut self, other: Self) {
        self.0 = self.0.wrapping_add(other.0);
    }

    /// The sum as a float (the integer correctly rounded, then scaled exactly).
    pub fn value(self) -> f64 {
        self.0 as f64 / SCALE
    }
}

/// As a decimal string: JSON numbers do not carry 128 bits through every reader.
impl Serialize for FixedSum {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0.to_string())
    }
}

impl<'de> Deserialize<'de> for FixedSum {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map(Self).map_err(|e| serde::de::Error::custom(format!("not a fixed-point sum '{text}': {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sum(xs: &[f64]) -> FixedSum {
        let mut s = FixedSum::default();
        xs.iter().for_each(|&x| s.add(x));
        s
    }

    proptest! {
        #[test]
        fn any_split_and_order_gives_the_same_bits(xs in proptest::collection::vec(0.0f64..50.0, 0..300), cut in 0usize..300, seed in 0u64..1000) {
            let cut = cut.min(xs.len());
            let whole = sum(&xs);
            let mut left = sum(&xs[..cut]);
            left.merge(sum(&xs[cut..]));
            prop_assert_eq!(whole, left);
            let mut shuffled = xs.clone();
            let mut rng = crate::stats::rng::Rng::new(seed);
            for i in (1..shuffled.len()).rev() {
                shuffled.swap(i, rng.below(i as u64 + 1) as usize);
            }
            prop_assert_eq!(whole.value().to_bits(), sum(&shuffled).value().to_bits());
        }

        #[test]
        fn the_sum_is_the_float_sum_to_within_its_quantum(xs in proptest::collection::vec(-1.0f64..1.0, 1..300)) {
            let exact: f64 = xs.iter().sum();
            prop_assert!((sum(&xs).value() - exact).abs() < 1e-13);
        }
    }

    #[test]
    fn reads_back_what_it_writes() {
        let s = sum(&[0.25, 1e-9, 3.0, 700.0]);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<FixedSum>(&json).unwrap(), s);
        assert_eq!(sum(&[0.5, 0.25]).value(), 0.75);
    }
}
