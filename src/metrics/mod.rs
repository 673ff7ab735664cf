//! Pure metric functions: no I/O, no logging, no model code.
//!
//! - [`probability`]: turning model outputs into probability rows (stable softmax, detection).
//! - [`divergence`]: Jensen–Shannon distance and Kullback–Leibler divergence with a stated log base.
//! - [`agreement`]: one teacher–student comparison of one example (agreement, flips, loyalty).
//! - [`accumulator`]: mergeable sums of those comparisons, from which the reported metrics come.
//!
//! Every convention (log base, tie-breaking, denominators) is written once, here, and repeated in the
//! README and in the report's `conventions` section.

pub mod accumulator;
pub mod agreement;
pub mod divergence;
pub mod fixed_sum;
pub mod probability;

pub use accumulator::{FidelityAccumulator, FidelityMetrics};
pub use agreement::ExampleComparison;
pub use divergence::{js_distance, kl_divergence, LogBase};
pub use probability::{argmax, softmax, OutputKind, ProbabilityError};
