//! Integration tests through the `fidelity` binary: exit codes, stdout, stderr and the JSON report,
//! on the shipped fixtures (real ONNX models, real data) against golden values computed by an
//! independent implementation (numpy/scipy/statsmodels, see fixtures/).

mod adult;
mod attacks;
mod bench;
mod browser;
mod cache;
mod classes;
mod deployed;
mod errors;
mod examples;
mod exporters;
mod freshness;
mod guard_rails;
mod hub;
mod language_model;
mod locate;
mod layout;
mod minilm;
mod multiple_choice;
mod noise;
mod model_folders;
mod parquet;
mod populations;
mod portability;
mod render;
mod reports;
mod roofline;
mod runtime_settings;
mod serving;
mod shard;
mod slurm;
mod streaming;
mod tokenization;
mod tweets;
mod util;
mod vision;
