//! fidelity: does a compressed model behave like its teacher?
//!
//! The library behind the `fidelity` command. Folders are stages:
//! [`data`] reads and encodes examples, [`model`] runs them through ONNX Runtime behind the
//! [`model::Backend`] seam, [`evaluate`] compares every student with the teacher, [`metrics`] holds
//! the pure metric functions, [`subgroups`] and [`classes`] break them down by group and by class,
//! and [`report`] is the one report model every writer renders. [`vision`] decodes and
//! preprocesses images as each model's own configuration says.

pub mod attack;
pub mod cache;
pub mod classes;
pub mod cli;
pub mod data;
pub mod energy;
pub mod gate;
pub mod inference;
pub mod lm;
pub mod locate;
pub mod machine;
pub mod metrics;
pub mod model;
pub mod noise;
pub mod onnx;
pub mod pipeline;
pub mod plan;
pub mod populations;
pub mod progress;
pub mod roofline;
pub mod shard;
pub mod report;
pub mod speed;
pub mod stats;
pub mod subgroups;
pub mod suite;
pub mod vision;
