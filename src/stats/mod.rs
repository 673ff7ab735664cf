//! Statistics over per-example comparisons: paired bootstrap intervals, McNemar's exact test and
//! multiple-testing control. Pure functions; every random draw comes from a seeded [`rng::Rng`].

pub mod bootstrap;
pub mod mcnemar;
pub mod multiple_testing;
pub mod quantile;
pub mod rng;

pub use bootstrap::{
    grouped_bootstrap, paired_bootstrap, paired_bootstrap_samples, BootstrapSettings, GroupSpec, GroupedIntervals, Interval, IntervalMethods, PairedIntervals,
    PairedSample, PairedSamples,
};
pub use mcnemar::mcnemar_exact;
pub use multiple_testing::{benjamini_hochberg, holm, Correction};
