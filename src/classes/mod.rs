//! Per-class differences between a student and its teacher: wide and deep models with the same
//! accuracy differ in class-level predictions (Nguyen, Raghu, Kornblith 2021), and a compressed
//! model can keep its accuracy while one class pays.
//!
//! [`tally`] counts, as the data streams, every (gold, teacher label, student label) triple: enough
//! for each class's recall and precision of both models, its flips, its McNemar test and the
//! label-transition matrix, and it merges by addition. [`analysis`] turns the counts into the
//! per-class table with paired bootstrap intervals and multiplicity-controlled tests.

pub mod analysis;
pub mod tally;

pub use analysis::{analyse, ClassIntervals, ClassReport, ClassRow, Transition};
pub use tally::ClassTally;
