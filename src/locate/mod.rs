//! `fidelity locate`: where inside the network a student departs from its teacher.
//!
//! - [`graph`]: the graph facts matching reads; [`matching`]: which student tensor holds what a
//!   teacher tensor holds (by QDQ naming, name, structure; never by position).
//! - [`tap`]: sessions that hand back every float tensor (graphs rewritten by
//!   [`crate::onnx::rewrite`]).
//! - [`tensor_error`]: SQNR and friends as running sums; [`track`]: per-tensor state over batches
//!   (local and QDQ errors, per-example percentiles, ties to the outputs).
//! - [`weights`]: each weight against the student's (dequantized) one.
//! - [`ablation`]: nodes bypassed (computing in float again) and the set that reaches a target.
//! - [`report`]: the report model; [`terminal`]: its table; [`html`]: its page. [`run`]: the whole analysis.

pub mod ablation;
pub mod graph;
pub mod html;
pub mod matching;
pub mod report;
pub mod run;
pub mod tap;
pub mod tensor_error;
pub mod terminal;
pub mod track;
pub mod weights;

pub use report::LocateReport;
pub use run::run;
