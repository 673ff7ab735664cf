//! `compare` on multiple-choice rows with causal LMs (issue 34, part 5): every model scores each
//! row's choices ([`crate::lm::choice_scorer`]), and from there the classifier pipeline runs as it
//! does for any classifier: the evaluation stage (batch invariance, groups, paired records), the
//! report, the gates and every writer. Attacks, noise, populations and speed do not apply.

use super::assemble::{report_for, RanModels};
use super::evaluate::{evaluate, Batching, ClassChecks, Evaluated};
use super::inputs::{chunk_size, Chunk, Chunks};
use super::{CompareError, Progress};
use crate::data::choice_rows::{ChoiceRow, ChoiceRows};
use crate::data::DataError;
use crate::lm::choice_scorer::{ChoiceScorer, ChoiceTexts};
use crate::lm::choices::{self, ChoiceSequence, SequenceProblem};
use crate::lm::model::LmModel;
use crate::metrics::OutputKind;
use crate::model::session::Runtime;
use crate::model::Backend;
use crate::plan::multiple_choice::ChoicePlan;
use crate::report::{InputsInfo, Report};
use rayon::prelude::*;

/// Reads multiple-choice rows a chunk at a time and tokenizes each context with each choice.
struct ChoiceReader<'a> {
    rows: ChoiceRows,
    plan: &'a ChoicePlan,
    tokenizer: &'a tokenizers::Tokenizer,
    read: usize,
    choices: usize,
    truncated: usize,
}

impl ChoiceReader<'_> {
    fn encode(&self, text: &str, origin: &str) -> Result<Vec<u32>, DataError> {
        let encoding = self.tokenizer.encode(text, true).map_err(|e| self.row_error(origin, format!("cannot tokenize: {e}")))?;
        Ok(encoding.get_ids().to_vec())
    }

    fn row_error(&self, origin: &str, message: String) -> DataError {
        DataError::Row { path: self.plan.compare.data.clone(), origin: origin.to_string(), message }
    }

    /// A row's sequences, and whether its context was cut to fit.
    fn sequences(&self, row: &ChoiceRow) -> Result<(Vec<ChoiceSequence>, bool), DataError> {
        let origin = &row.example.origin;
        let context = row.example.text.as_deref().unwrap_or_default();
        let mut cut_any = false;
        let mut out = Vec::with_capacity(row.choices.len());
        for (k, choice) in row.choices.iter().enumerate() {
            let (context_text, continuation) = choices::split_texts(context, choice);
            let context_ids = self.encode(&context_text, origin)?;
            let whole = self.encode(&format!("{context_text}{continuation}"), origin)?;
            let (sequence, cut) = choices::sequence(&context_ids, &whole, choice.chars().count(), self.plan.max_tokens).map_err(|problem| {
                self.row_error(
                    origin,
                    match problem {
                        SequenceProblem::EmptyContext => "the context is empty: the first token of a choice needs a context to be predicted from".into(),
                        SequenceProblem::EmptyChoice => format!("choice {k} ({choice:?}) adds no token to the context"),
                    },
                )
            })?;
            cut_any |= cut;
            out.push(sequence);
        }
        Ok((out, cut_any))
    }
}

impl Chunks for ChoiceReader<'_> {
    fn next_chunk(&mut self, max: usize) -> Result<Option<Chunk>, CompareError> {
        let rows = self.rows.next_chunk(max)?;
        if rows.is_empty() {
            return Ok(None);
        }
        self.choices = rows[0].choices.len();
        let encoded: Vec<(Vec<ChoiceSequence>, bool)> = rows.par_iter().map(|r| self.sequences(r)).collect::<Result<_, _>>()?;
        let truncated = encoded.iter().filter(|(_, cut)| *cut).count();
        self.truncated += truncated;
        let offset = self.read;
        self.read += rows.len();
        let source = ChoiceTexts { rows: encoded.into_iter().map(|(s, _)| s).collect() };
        let examples = rows.into_iter().map(|r| r.example).collect();
        Ok(Some(Chunk { offset, examples, source: Box::new(source), truncated, empty: 0 }))
    }
}

fn tokenizer(plan: &ChoicePlan) -> Result<tokenizers::Tokenizer, CompareError> {
    let path = &plan.tokenizer;
    let mut t = tokenizers::Tokenizer::from_file(path).map_err(|e| CompareError::LanguageModel(format!("tokenizer {}: {e}", path.display())))?;
    // Sequences are cut by --context, from the left, never by the tokenizer.
    t.with_padding(None);
    t.with_truncation(None).map_err(|e| CompareError::LanguageModel(format!("tokenizer {}: {e}", path.display())))?;
    Ok(t)
}

/// Refuses, before any model runs, students whose vocabulary is not the teacher's.
fn check_vocabularies(models: &[ChoiceScorer], tokenizer_size: usize, plan: &ChoicePlan) -> Result<(), CompareError> {
    let vocabularies: Vec<(&str, usize)> = models.iter().map(|m| (m.info().name.as_str(), m.vocabulary())).collect();
    match crate::lm::model::vocabulary_problem(&vocabularies, &plan.tokenizer, tokenizer_size) {
        Some(problem) => Err(CompareError::LanguageModel(problem)),
        None => Ok(()),
    }
}

pub fn run(plan: &ChoicePlan) -> Result<Report, CompareError> {
    let compare = &plan.compare;
    let runtime = Runtime::load(compare.ort_lib.as_deref(), compare.threads)?;
    if let Some(n) = compare.threads {
        let _ = rayon::ThreadPoolBuilder::new().num_threads(n).build_global();
    }
    run_with(plan, &runtime)
}

/// [`run`] in an ONNX Runtime already loaded (ONNX Runtime allows one per process).
pub fn run_with(plan: &ChoicePlan, runtime: &Runtime) -> Result<Report, CompareError> {
    let compare = &plan.compare;
    let progress = Progress { quiet: compare.quiet };
    let tokenizer = tokenizer(plan)?;
    let mut memory = Vec::new();
    let mut models = Vec::new();
    for m in std::iter::once(&compare.teacher).chain(&compare.students) {
        let before = crate::speed::memory::rss_bytes();
        let model = LmModel::load(runtime, &m.name, &m.path, m.device, &m.runtime)?;
        memory.push(before.zip(crate::speed::memory::rss_bytes()).map(|(b, a)| a.saturating_sub(b)));
        models.push(ChoiceScorer::new(model, m.device, plan.score));
    }
    check_vocabularies(&models, tokenizer.get_vocab_size(true), plan)?;
    let mut reader = ChoiceReader {
        rows: ChoiceRows::open(&compare.data, &compare.columns, &plan.choices_column)?,
        plan,
        tokenizer: &tokenizer,
        read: 0,
        choices: 0,
        truncated: 0,
    };
    let chunk_size = chunk_size(compare.chunk_size, compare.batch_size, compare.serving_batch_size);
    // Choice scores are log-probabilities: read as logits, whatever their values look like.
    let batching = Batching { outputs: Some(OutputKind::Logits), ..Batching::of(compare) };
    let checks = ClassChecks {
        data_path: &compare.data,
        label_names: None,
        config: None,
        teacher_name: &compare.teacher.name,
        allow_many_groups: compare.allow_many_groups,
    };
    progress.say(format!("multiple choice: {} models score the choices of {}", models.len(), compare.data.display()));
    let bar = crate::progress::counter("scoring choices", compare.quiet);
    let mut backends: Vec<&mut dyn Backend> = models.iter_mut().map(|m| m as &mut dyn Backend).collect();
    let started = std::time::Instant::now();
    let data = evaluate(&mut reader, chunk_size, &mut backends, &batching, &compare.columns.groups, compare.js_base, &checks, None, vec![], &bar)?;
    let seconds = started.elapsed().as_secs_f64();
    crate::progress::finish(bar);
    drop(backends);
    let inputs = InputsInfo::Choices {
        tokenizer: plan.tokenizer.clone(),
        choices: reader.choices,
        score: plan.score,
        scoring: plan.score.describe().into(),
        max_tokens: plan.max_tokens,
        truncated: reader.truncated,
    };
    let padding = "each batch's rows x choices sequences padded at the end to the longest (token 0, attention mask 0)";
    let evaluated = Evaluated { data, seconds, chunk_size, columns: compare.columns.clone(), inputs, padding };
    let ran = RanModels { runtime, label_names: None, backends: models.iter().map(|m| m as &dyn Backend).collect(), memory: &memory };
    let mut report = report_for(compare, &ran, &evaluated);
    report.complete = true;
    super::checkpoint(compare, &mut report)?;
    progress.say(format!("report written to {}", compare.reports.json.display()));
    Ok(report)
}
