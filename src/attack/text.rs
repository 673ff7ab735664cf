//! A TextFooler-family word-substitution attack (Jin et al. 2020, "Is BERT Really Robust?"), as
//! TextAttack's `GreedyWordSwapWIR(wir_method="delete")` search, for one text or the second text of
//! a pair.
//!
//! Per example, with gold label y and budget B (queries = rows sent to the model):
//!
//! 1. The original: its probability row is given by the caller (0 queries) or asked for (1 query).
//!    If argmax ≠ y the example is [`AttackStatus::Skipped`] with 0 queries.
//! 2. Word importance by deletion: one input per non-stop word with that word removed, all in one
//!    call; importance = P(y | original) − P(y | deleted). Words are visited by importance, highest
//!    first, ties by position.
//! 3. Greedy substitution: for each word in that order, its candidates (the synonym table's entries
//!    for the lowercased word, first `max_candidates`, recased like the word) go in one call. If some
//!    candidates move the prediction away from y, the one with the lowest P(y) wins (first on ties)
//!    and the attack succeeds. Otherwise the candidate with the lowest P(y) is kept if it lowers P(y),
//!    and the next word follows. Every step is truncated to the budget left, so B is never exceeded.
//! 4. The attack fails when the budget is spent, the words run out, or ⌈share · words⌉ words have
//!    been changed (TextAttack's `MaxWordsPerturbed(max_percent)` bound).
//!
//! No randomness is involved (ties go by position and candidate order), so the result is a
//! function of the inputs, the table and the settings; `seed` is kept for interface symmetry with
//! the tensor attack. Not implemented from TextFooler: the part-of-speech filter, the sentence
//! encoder similarity check and the embedding-distance threshold (they need models of their own);
//! candidates are whatever the synonym table gives.

use super::outcome::{AttackOutcome, AttackStatus};
use super::stop_words::StopWords;
use super::synonyms::SynonymTable;
use super::words::{match_case, Words};
use super::{argmax, check_row, pack, AttackError, TextClassifier, TextInput};

#[derive(Debug, Clone, PartialEq)]
pub struct TextAttackSettings {
    /// Per-example query budget, > 0 (`--attack-queries`).
    pub max_queries: usize,
    /// Largest share of the words that may be changed, in (0, 1] (`--attack-max-share`); the bound
    /// is ⌈share · words⌉ words.
    pub max_perturbed_share: f64,
    /// Candidates tried per word, > 0 (`--attack-candidates`).
    pub max_candidates: usize,
    /// Unused by this deterministic attack (see the module doc).
    pub seed: u64,
}

impl TextAttackSettings {
    pub fn validate(&self) -> Result<(), AttackError> {
        let setting = |flag, expected, value: String| Err(AttackError::Setting { flag, expected, value });
        if self.max_queries == 0 {
            return setting("--attack-queries", "a positive number of queries per example", "0".into());
        }
        if !(self.max_perturbed_share > 0.0 && self.max_perturbed_share <= 1.0) {
            return setting("--attack-max-share", "a share in (0, 1], e.g. 0.2", self.max_perturbed_share.to_string());
        }
        if self.max_candidates == 0 {
            return setting("--attack-candidates", "a positive number of candidates per word", "0".into());
        }
        Ok(())
    }
}

/// One example to attack: the input, its gold label and, optionally, the model's probability row
/// for the unchanged input (then the original costs no query).
#[derive(Debug, Clone, Copy)]
pub struct TextExample<'a> {
    pub input: &'a TextInput,
    pub gold: usize,
    pub original: Option<&'a [f64]>,
}

/// The attack: settings, candidate source and stop words. Cheap to share across models.
#[derive(Debug, Clone)]
pub struct TextAttack<'t> {
    settings: TextAttackSettings,
    synonyms: &'t SynonymTable,
    stop_words: StopWords,
}

enum Step {
    Original,
    Deletion(Vec<usize>),
    Substitution { word: usize, candidates: Vec<String> },
    Done,
}

/// One example's attack in progress: a state machine fed one model answer per step.
struct Job<'a> {
    input: &'a TextInput,
    gold: usize,
    words: Words,
    subs: Vec<Option<String>>,
    queries: usize,
    gold_probability: f64,
    order: Vec<usize>,
    next: usize,
    changed: usize,
    max_changes: usize,
    step: Step,
    pending: Vec<TextInput>,
    outcome: Option<AttackOutcome>,
}

impl<'t> TextAttack<'t> {
    /// Checks the settings; stop words are TextFooler's English list.
    pub fn new(settings: TextAttackSettings, synonyms: &'t SynonymTable) -> Result<Self, AttackError> {
        settings.validate()?;
        Ok(Self { settings, synonyms, stop_words: StopWords::english() })
    }

    pub fn with_stop_words(mut self, stop_words: StopWords) -> Self {
        self.stop_words = stop_words;
        self
    }

    pub fn settings(&self) -> &TextAttackSettings {
        &self.settings
    }

    /// Attacks one example; every step is one `classify` call.
    pub fn attack<C: TextClassifier + ?Sized>(
        &self,
        model: &mut C,
        input: &TextInput,
        gold: usize,
        original: Option<&[f64]>,
    ) -> Result<AttackOutcome, AttackError> {
        let example = TextExample { input, gold, original };
        Ok(self.attack_batch(model, &[example], usize::MAX)?.remove(0))
    }

    /// Attacks several examples in lockstep: each call carries the pending steps of as many
    /// examples as fit in `max_rows` rows (a step is never split; a larger step goes alone). Each
    /// example's queries and outcome are those of [`Self::attack`] for a batch-invariant model.
    pub fn attack_batch<C: TextClassifier + ?Sized>(
        &self,
        model: &mut C,
        examples: &[TextExample<'_>],
        max_rows: usize,
    ) -> Result<Vec<AttackOutcome>, AttackError> {
        self.attack_batch_with_progress(model, examples, max_rows, &mut |_| {})
    }

    /// [`Self::attack_batch`], calling `progress(finished examples so far)` once before the
    /// first model call and after every call.
    pub fn attack_batch_with_progress<C: TextClassifier + ?Sized>(
        &self,
        model: &mut C,
        examples: &[TextExample<'_>],
        max_rows: usize,
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<AttackOutcome>, AttackError> {
        let mut jobs = Vec::with_capacity(examples.len());
        for example in examples {
            jobs.push(self.start(example)?);
        }
        progress(jobs.iter().filter(|j| j.outcome.is_some()).count());
        loop {
            let taken = pack(jobs.iter().enumerate().map(|(i, j)| (i, j.pending.len())), max_rows);
            if taken.is_empty() {
                break;
            }
            let mut inputs = Vec::new();
            for (i, _) in &taken {
                inputs.append(&mut jobs[*i].pending);
            }
            let rows = model.classify(&inputs)?;
            if rows.len() != inputs.len() {
                return Err(AttackError::RowCount { expected: inputs.len(), got: rows.len() });
            }
            let mut rows = rows.into_iter();
            for (i, range) in taken {
                let answer: Vec<Vec<f64>> = rows.by_ref().take(range.len()).collect();
                for (k, row) in answer.iter().enumerate() {
                    check_row(row, jobs[i].gold, range.start + k)?;
                }
                self.feed(&mut jobs[i], answer);
            }
            progress(jobs.iter().filter(|j| j.outcome.is_some()).count());
        }
        Ok(jobs.into_iter().map(|j| j.outcome.expect("a job without pending rows has finished")).collect())
    }

    fn start<'a>(&self, example: &TextExample<'a>) -> Result<Job<'a>, AttackError> {
        let words = Words::new(example.input.pair.as_deref().unwrap_or(&example.input.text));
        let max_changes = (self.settings.max_perturbed_share * words.len() as f64 - 1e-9).ceil().max(0.0) as usize;
        let mut job = Job {
            input: example.input,
            gold: example.gold,
            subs: vec![None; words.len()],
            words,
            queries: 0,
            gold_probability: 0.0,
            order: Vec::new(),
            next: 0,
            changed: 0,
            max_changes,
            step: Step::Original,
            pending: Vec::new(),
            outcome: None,
        };
        match example.original {
            Some(row) => {
                check_row(row, example.gold, 0)?;
                self.after_original(&mut job, row);
            }
            None => self.send(&mut job, Step::Original, vec![example.input.clone()]),
        }
        Ok(job)
    }

    /// Queues a step's inputs (already truncated to the budget) and charges them.
    fn send(&self, job: &mut Job<'_>, step: Step, inputs: Vec<TextInput>) {
        job.queries += inputs.len();
        job.pending = inputs;
        job.step = step;
    }

    fn finish(&self, job: &mut Job<'_>, status: AttackStatus) {
        let adversarial = (status == AttackStatus::Succeeded).then(|| with_attacked(job.input, job.words.render(&job.subs, None)));
        let queries = if status == AttackStatus::Skipped { 0 } else { job.queries };
        let words = job.words.len();
        job.outcome = Some(AttackOutcome { status, queries, perturbed_words: job.changed, words, adversarial });
        job.step = Step::Done;
        job.pending.clear();
    }

    fn budget_left(&self, job: &Job<'_>) -> usize {
        self.settings.max_queries.saturating_sub(job.queries)
    }

    fn feed(&self, job: &mut Job<'_>, rows: Vec<Vec<f64>>) {
        let gold = job.gold;
        match std::mem::replace(&mut job.step, Step::Done) {
            Step::Original => self.after_original(job, &rows[0]),
            Step::Deletion(deleted) => {
                let importance: Vec<f64> = rows.iter().map(|r| job.gold_probability - r[gold]).collect();
                let mut order: Vec<usize> = (0..deleted.len()).collect();
                order.sort_by(|&a, &b| importance[b].total_cmp(&importance[a])); // stable: ties by position
                job.order = order.into_iter().map(|k| deleted[k]).collect();
                self.advance(job);
            }
            Step::Substitution { word, candidates } => {
                let lowest =
                    |keep: &dyn Fn(&[f64]) -> bool| (0..rows.len()).filter(|&k| keep(&rows[k])).min_by(|&a, &b| rows[a][gold].total_cmp(&rows[b][gold]));
                if let Some(k) = lowest(&|r| argmax(r) != gold) {
                    job.subs[word] = Some(candidates[k].clone());
                    job.changed += 1;
                    return self.finish(job, AttackStatus::Succeeded);
                }
                if let Some(k) = lowest(&|_| true).filter(|&k| rows[k][gold] < job.gold_probability) {
                    job.subs[word] = Some(candidates[k].clone());
                    job.changed += 1;
                    job.gold_probability = rows[k][gold];
                }
                self.advance(job);
            }
            Step::Done => unreachable!("a finished attack is never fed"),
        }
    }

    fn after_original(&self, job: &mut Job<'_>, row: &[f64]) {
        if argmax(row) != job.gold {
            return self.finish(job, AttackStatus::Skipped);
        }
        job.gold_probability = row[job.gold];
        let mut deleted: Vec<usize> = (0..job.words.len()).filter(|&i| !self.stop_words.contains(job.words.word(i))).collect();
        deleted.truncate(self.budget_left(job));
        if deleted.is_empty() {
            return self.finish(job, AttackStatus::Failed);
        }
        let inputs = deleted.iter().map(|&i| with_attacked(job.input, job.words.delete(i))).collect();
        self.send(job, Step::Deletion(deleted), inputs);
    }

    /// Queues the next word's candidate set, or finishes the attack as failed.
    fn advance(&self, job: &mut Job<'_>) {
        while job.changed < job.max_changes && job.next < job.order.len() && self.budget_left(job) > 0 {
            let word = job.order[job.next];
            job.next += 1;
            let mut candidates = self.candidates(job.words.word(word));
            candidates.truncate(self.budget_left(job));
            if candidates.is_empty() {
                continue;
            }
            let inputs = candidates.iter().map(|c| with_attacked(job.input, job.words.render(&job.subs, Some((word, c))))).collect();
            return self.send(job, Step::Substitution { word, candidates }, inputs);
        }
        self.finish(job, AttackStatus::Failed);
    }

    /// The first `max_candidates` distinct candidates for `word`, recased like it.
    fn candidates(&self, word: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in self.synonyms.get(&word.to_lowercase()) {
            if out.len() == self.settings.max_candidates {
                break;
            }
            let c = match_case(word, c);
            if c != word && !out.contains(&c) {
                out.push(c);
            }
        }
        out
    }
}

/// `input` with its attacked text (the pair's second text, else the text) replaced.
fn with_attacked(input: &TextInput, attacked: String) -> TextInput {
    match input.pair {
        Some(_) => TextInput { text: input.text.clone(), pair: Some(attacked) },
        None => TextInput { text: attacked, pair: None },
    }
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
