//! Natural noise (issue 18, part 2): efficient models are less robust to noise, not only to
//! adversaries. Seeded perturbations that give every model the same noisy inputs: [`text`] for
//! typing slips and word dropout, [`tensor`] for Gaussian noise scaled by the data's spread.
//! Each example's noise comes from its own stream of the seed, so it does not depend on order,
//! threads or which models run.

pub mod tensor;
pub mod text;
