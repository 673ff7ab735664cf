//! Natural noise (issue 18, part 2): efficient models are less robust to noise, not only to
//! adversaries. Seeded perturbations that give every model the same noisy inputs: [`text`] for
//! typing slips and word dropout, [`tensor`] for Gaussian noise scaled by the data's spread;
//! [`level`] names them, [`robustness`] measures what they do.
//! Each example's noise comes from its own stream of the seed and the level, so it does not depend
//! on order, threads, which models run or which other levels are asked for.

pub mod image;
pub mod labels;
pub mod level;
pub mod robustness;
pub mod tensor;
pub mod text;

pub use level::{NoiseKind, NoiseLevel};
pub use robustness::{ModelNoise, NoiseComparison};

use crate::stats::rng::Rng;

/// The random stream of example `example` (its index in the data) at `level`.
pub fn example_rng(seed: u64, level: &NoiseLevel, example: usize) -> Rng {
    Rng::stream(Rng::stream(seed, level.key()).next_u64(), example as u64)
}
