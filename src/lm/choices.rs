//! Multiple choice on a causal LM (Dutta et al. 2024, "Accuracy is Not All You Need"): each choice
//! is scored by the log-probability of its tokens given the context, and the choices' scores per
//! example become a classifier's output, so every classifier metric applies to them.
//!
//! Tokenization follows lm-evaluation-harness, so scores compare with its `acc` / `acc_norm`:
//! spaces ending the context move to the front of the choice, `context + choice` is tokenized as
//! one text, and the choice's tokens are those after the context's own tokens.

use serde::{Deserialize, Serialize};

/// How a choice's token log-probabilities become its score (the softmax over an example's scores
/// is its choice distribution).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ChoiceScore {
    /// The sum of the choice's token log-probabilities: its log-probability given the context
    /// (lm-evaluation-harness's `acc`).
    Sum,
    /// The sum divided by the choice's number of tokens.
    PerToken,
    /// The sum divided by the choice's length in characters (lm-evaluation-harness's `acc_norm`).
    PerCharacter,
}

impl ChoiceScore {
    pub fn describe(self) -> &'static str {
        match self {
            Self::Sum => "the sum of the choice's token log-probabilities given the context (lm-evaluation-harness's acc)",
            Self::PerToken => "the sum of the choice's token log-probabilities given the context, divided by its number of tokens",
            Self::PerCharacter => {
                "the sum of the choice's token log-probabilities given the context, divided by its length in characters (lm-evaluation-harness's acc_norm)"
            }
        }
    }

    /// The score of a choice whose tokens' log-probabilities sum to `sum`.
    pub fn score(self, sum: f64, tokens: usize, characters: usize) -> f64 {
        match self {
            Self::Sum => sum,
            Self::PerToken => sum / tokens.max(1) as f64,
            Self::PerCharacter => sum / characters.max(1) as f64,
        }
    }
}

/// The context and one choice as the model reads them: `tokens[..start]` is the context (possibly
/// cut from the left to fit), `tokens[start..]` the choice, whose tokens are scored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoiceSequence {
    pub tokens: Vec<u32>,
    pub start: usize,
    /// The choice's length in characters (for [`ChoiceScore::PerCharacter`]).
    pub characters: usize,
}

/// The texts lm-evaluation-harness tokenizes: spaces ending the context go to the choice.
pub fn split_texts(context: &str, choice: &str) -> (String, String) {
    let kept = context.trim_end();
    let moved = &context[kept.len()..];
    (kept.to_string(), format!("{moved}{choice}"))
}

/// Why a choice cannot be scored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SequenceProblem {
    /// The context has no token of its own to predict the choice's first token from.
    EmptyContext,
    /// The choice adds no token after the context's.
    EmptyChoice,
}

/// The sequence for one choice from the tokens of the context alone and of `context + choice`,
/// keeping at most `max_tokens` (the context is cut from the left, as lm-evaluation-harness does;
/// the first choice token always keeps at least one token before it). Also returns whether the
/// context was cut.
pub fn sequence(context_ids: &[u32], whole_ids: &[u32], characters: usize, max_tokens: usize) -> Result<(ChoiceSequence, bool), SequenceProblem> {
    if context_ids.is_empty() {
        return Err(SequenceProblem::EmptyContext);
    }
    // Tokenizing the joined text may merge across the boundary: the choice is what follows the
    // context's token count (lm-evaluation-harness), and the context part is the whole's prefix.
    let start = context_ids.len().min(whole_ids.len());
    if start == whole_ids.len() {
        return Err(SequenceProblem::EmptyChoice);
    }
    let choice = whole_ids.len() - start;
    let keep = max_tokens.max(choice + 1).min(whole_ids.len());
    let cut = whole_ids.len() - keep;
    Ok((ChoiceSequence { tokens: whole_ids[cut..].to_vec(), start: start - cut, characters }, cut > 0))
}

/// The log-probability of a sequence's choice tokens: `row(j)` is the model's logits at position
/// `j` (predicting token `j + 1`). Summed in f64, in token order.
pub fn choice_log_probability<'a>(sequence: &ChoiceSequence, row: impl Fn(usize) -> &'a [f32]) -> f64 {
    (sequence.start..sequence.tokens.len())
        .map(|k| {
            let logits = row(k - 1);
            let (normaliser, _) = super::position::log_normaliser(logits);
            f64::from(logits[sequence.tokens[k] as usize]) - normaliser
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn trailing_spaces_of_the_context_move_to_the_choice() {
        assert_eq!(split_texts("The capital is ", "Paris"), ("The capital is".into(), " Paris".into()));
        assert_eq!(split_texts("Q: 2+2=", " 4"), ("Q: 2+2=".into(), " 4".into()));
        assert_eq!(split_texts("a  ", "b"), ("a".into(), "  b".into()));
    }

    #[test]
    fn the_choice_is_what_follows_the_contexts_tokens() {
        let (s, cut) = sequence(&[5, 6], &[5, 6, 7, 8], 3, 100).unwrap();
        assert_eq!((s.tokens, s.start, cut), (vec![5, 6, 7, 8], 2, false));
        // A merge across the boundary: the choice still starts after two tokens.
        let (s, _) = sequence(&[5, 6], &[5, 9, 8], 3, 100).unwrap();
        assert_eq!((s.tokens, s.start), (vec![5, 9, 8], 2));
        assert_eq!(sequence(&[], &[1], 1, 10), Err(SequenceProblem::EmptyContext));
        assert_eq!(sequence(&[5, 6], &[5, 6], 0, 10), Err(SequenceProblem::EmptyChoice));
    }

    #[test]
    fn long_contexts_are_cut_from_the_left_keeping_one_token_before_the_choice() {
        let (s, cut) = sequence(&[1, 2, 3, 4], &[1, 2, 3, 4, 5, 6], 2, 4).unwrap();
        assert_eq!((s.tokens, s.start, cut), (vec![3, 4, 5, 6], 2, true));
        let (s, _) = sequence(&[1, 2, 3, 4], &[1, 2, 3, 4, 5, 6], 2, 2).unwrap();
        assert_eq!((s.tokens, s.start), (vec![4, 5, 6], 1));
    }

    #[test]
    fn the_log_probability_sums_each_choice_tokens_log_softmax() {
        // Two-token vocabulary, uniform logits: every token has log-probability ln(1/2).
        let s = ChoiceSequence { tokens: vec![0, 1, 0], start: 1, characters: 2 };
        let uniform = [0.0f32, 0.0];
        let lp = choice_log_probability(&s, |_| &uniform[..]);
        assert!((lp - 2.0 * 0.5f64.ln()).abs() < 1e-15);
        assert!((ChoiceScore::PerToken.score(lp, 2, 2) - 0.5f64.ln()).abs() < 1e-15);
        assert_eq!(ChoiceScore::PerCharacter.score(-6.0, 2, 3), -2.0);
    }

    proptest! {
        #[test]
        fn the_sequence_keeps_the_choice_whole_and_fits(context in 1usize..40, choice in 1usize..10, max in 1usize..60) {
            let whole: Vec<u32> = (0..(context + choice) as u32).collect();
            let (s, cut) = sequence(&whole[..context], &whole, 1, max).unwrap();
            prop_assert_eq!(&s.tokens[s.start..], &whole[context..]);
            prop_assert!(s.start >= 1);
            prop_assert!(s.tokens.len() <= max.max(choice + 1));
            prop_assert_eq!(cut, s.tokens.len() < whole.len());
        }
    }
}
