//! `fidelity compare` and `fidelity bench`, stage by stage. `run` reads as the pipeline: load,
//! evaluate, attack, noise, populations, measure; each stage ends at a checkpoint that judges the gates on what is
//! finished and writes every report, so an interrupted run keeps what it finished. A new stage is
//! one line in `run` and one file here.

pub mod assemble;
pub mod attack;
pub mod bench;
pub mod cache_slots;
pub mod evaluate;
#[cfg(test)]
mod evaluate_cache_tests;
pub mod inputs;
pub mod load;
pub mod measure;
pub mod merge;
pub mod multiple_choice;
pub mod noise;
pub mod populations;
pub mod language_model;
pub mod shard;

use crate::data::label_names::LabelNamesError;
use crate::data::text::TextError;
use crate::data::DataError;
use crate::inference::EvalError;
use crate::model::session::RuntimeError;
use crate::model::ModelError;
use crate::plan::ComparePlan;
use crate::report::files::{write_reports, WriteError};
use crate::report::Report;
use thiserror::Error;

pub use evaluate::Evaluated;
pub use load::{load_models, Loaded};
pub use measure::model_size;

#[derive(Debug, Error)]
pub enum CompareError {
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    LabelNames(#[from] LabelNamesError),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Text(#[from] TextError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Eval(#[from] EvalError),
    #[error(transparent)]
    Write(#[from] WriteError),
    #[error("noise: {0}")]
    Noise(String),
    #[error("{0}")]
    Shard(String),
    /// Multiple choice: the tokenizer or the models' vocabularies.
    #[error("{0}")]
    LanguageModel(String),
    /// `fidelity locate`: a graph it cannot read or rewrite, a tapped session that fails.
    #[error("locate: {0}")]
    Locate(String),
    #[error("attack: {0}")]
    Attack(#[from] crate::attack::AttackError),
    /// An image that does not decode, or preprocessing that cannot give one size.
    #[error("image {0}")]
    Image(#[from] crate::vision::ImageError),
    #[error("model {model} must have exactly one float input (float32, float16, bfloat16 or float64) for --feature-columns, but has: {inputs}; give the data as .npz with one array per input")]
    FeatureInput { model: String, inputs: String },
    #[error("model {model}: its {config} orders the classes as [{student}] but the teacher's id2label is [{teacher}]; fidelity compares class i with class i, so it refuses. Re-export the student with the teacher's class order")]
    LabelOrder { model: String, config: String, student: String, teacher: String },
    #[error(
        "{path}: --group-column {column} has {distinct} distinct values in {rows} rows: that is an identifier, not a subgroup attribute (groups of one or two examples cannot be judged). Pass a column with a few values, or --allow-many-groups to take it as it is"
    )]
    TooManyGroups { column: String, distinct: usize, rows: usize, path: String },
    #[error("{config} names {names} classes (id2label) but model {model} outputs {classes}; use the config.json that belongs to the model")]
    LabelNamesCount { config: String, names: usize, model: String, classes: usize },
}

/// Prints progress to stderr unless quiet.
pub struct Progress {
    quiet: bool,
}

impl Progress {
    pub fn new(quiet: bool) -> Self {
        Self { quiet }
    }

    pub fn say(&self, message: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("fidelity: {}", message.as_ref());
        }
    }
}

/// Runs the whole comparison and returns the final report (also written to `plan.out`).
pub fn run(plan: &ComparePlan) -> Result<Report, CompareError> {
    let progress = Progress { quiet: plan.quiet };
    let mut session = load::load(plan, &progress)?;
    let evaluated = evaluate::evaluate_all(plan, &mut session, &progress, None)?;
    let mut report = assemble::report(plan, &session, &evaluated);
    checkpoint(plan, &mut report)?;
    if let Some(settings) = &plan.attack {
        attack::attack_all(plan, settings, &mut session, &evaluated, &mut report, &progress, None)?;
        checkpoint(plan, &mut report)?;
    }
    if let Some(settings) = &plan.noise {
        noise::noise_all(plan, settings, &mut session, &evaluated, &mut report, &progress, None)?;
        checkpoint(plan, &mut report)?;
    }
    if plan.has_populations() {
        populations::populations_all(plan, &mut session, &evaluated, &mut report, &progress, None)?;
        checkpoint(plan, &mut report)?;
    }
    measure::measure(plan, &mut session, &evaluated, &mut report, &progress)?;
    report.complete = true;
    checkpoint(plan, &mut report)?;
    progress.say(format!("report written to {}", plan.reports.json.display()));
    Ok(report)
}

/// Judges the gates on what is finished and writes every report.
fn checkpoint(plan: &ComparePlan, report: &mut Report) -> Result<(), CompareError> {
    report.gate = crate::gate::evaluate(&plan.gates, &report.students);
    write_reports(report, &plan.reports)?;
    Ok(())
}
