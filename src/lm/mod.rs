//! Causal language models: token-level fidelity of a compressed LM to its teacher (issue 34).
//!
//! One file per step, in the order the work happens:
//!
//! - [`detect`]: is a graph a causal LM, and how is it fed (optimum decoders with an empty past,
//!   plain `torch.onnx.export` graphs);
//! - [`documents`]: plain text or table rows, a chunk at a time;
//! - [`windows`]: documents cut into windows of `--context` tokens, and the positions scored;
//! - [`model`]: a model's session, a batch of windows in, logits out;
//! - [`position`]: the per-position metrics of a student against the teacher;
//! - [`scoring`]: the pass over batches of windows that feeds every sum below;
//! - [`statistics`]: a student's positions summed up as llama.cpp and fidelity define them;
//! - [`intervals`]: bootstrap intervals over windows, the same resamples for every student;
//! - [`breakdown`]: the long tail: by token frequency, position, teacher entropy and group;
//! - [`worst`]: the positions where a student departs most (`--dump-worst`).
//!
//! Multiple choice (rows of a context and its choices) turns a causal LM into a classifier over
//! choices, and the classifier pipeline does the rest:
//!
//! - [`choices`]: a choice's tokens after its context (lm-evaluation-harness's way) and its score;
//! - [`choice_scorer`]: the batch source of tokenized rows and the backend scoring their choices.

pub mod breakdown;
pub mod choice_scorer;
pub mod choices;
pub mod detect;
pub mod documents;
pub mod intervals;
pub mod model;
pub mod position;
pub mod scoring;
pub mod statistics;
pub mod windows;
pub mod worst;
