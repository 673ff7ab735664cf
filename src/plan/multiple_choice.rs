//! Flags and suite to a validated [`ChoicePlan`]: multiple choice on causal LMs. The comparison is
//! a classifier's over each row's choices, so the plan is a [`ComparePlan`] (data, groups,
//! statistics, gates, reports) plus how choices are read and scored.

use super::language_model::{choices_column, config_positions, with_suite};
use super::{ComparePlan, InputPlan, PlanError};
use crate::cli::CompareArgs;
use crate::data::DataFormat;
use crate::lm::choices::ChoiceScore;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct ChoicePlan {
    /// `columns.text` is the context column.
    pub compare: ComparePlan,
    pub choices_column: String,
    pub score: ChoiceScore,
    pub tokenizer: PathBuf,
    /// Tokens per context + choice; longer contexts are cut from the left.
    pub max_tokens: usize,
}

/// Rows per batch unless `--batch-size` says: a batch is one run of rows × choices sequences, and
/// its logits are sequences × length × vocabulary floats.
const DEFAULT_ROWS_PER_BATCH: usize = 4;

impl ChoicePlan {
    pub fn from_args(args: &CompareArgs) -> Result<Self, PlanError> {
        let refused = [
            ("--stride", args.stride.is_some()),
            ("--score-from", args.score_from.is_some()),
            ("--token-counts", args.token_counts.is_some()),
            ("--dump-worst", args.dump_worst.is_some()),
            ("--shard", args.shard.is_some()),
        ];
        if let Some((flag, _)) = refused.iter().find(|f| f.1) {
            return Err(PlanError::LanguageModel(format!("{flag} is not available for multiple choice (its rows are scored whole, by choice)")));
        }
        let mut compare = ComparePlan::resolve(args)?;
        with_suite(args, |src| {
            let s = src.s;
            if compare.data_format != DataFormat::Jsonl {
                return Err(PlanError::LanguageModel(format!(
                    "{}: multiple-choice data is JSON Lines, one {{\"context\", \"choices\", \"label\"}} object per line",
                    compare.data.display()
                )));
            }
            if compare.attack.is_some() || compare.noise.is_some() || compare.has_populations() {
                return Err(PlanError::LanguageModel(
                    "attacks, noise and populations are not available for multiple choice: drop --attack-n, --noise and population paths".into(),
                ));
            }
            let InputPlan::Text { tokenizer, .. } = &compare.inputs else {
                return Err(PlanError::LanguageModel("multiple choice reads text: drop --feature-columns".into()));
            };
            let tokenizer = tokenizer.clone();
            if !tokenizer.is_file() {
                return Err(PlanError::MissingTokenizer { path: tokenizer });
            }
            compare.columns.text = Some(args.text_column.clone().or_else(|| s.data.text_column.clone()).unwrap_or_else(|| "context".into()));
            compare.columns.text_pair = None;
            if args.batch_size.or(s.evaluation.batch_size).is_none() {
                compare.batch_size = DEFAULT_ROWS_PER_BATCH;
            }
            if args.serving_batch_size.or(s.evaluation.serving_batch_size).is_none() {
                compare.serving_batch_size = compare.batch_size;
            }
            // Speed is measured on tensors a plain session runs; a choice scorer is not one.
            compare.speed = None;
            let max_tokens = args.context.or(s.evaluation.context).unwrap_or_else(|| config_positions(&compare.teacher).map_or(512, |n| n.min(512)));
            if max_tokens < 2 {
                return Err(PlanError::LanguageModel(format!("--context must be at least 2 tokens; got {max_tokens}")));
            }
            Ok(Self {
                choices_column: choices_column(src),
                score: args.choice_score.or(s.evaluation.choice_score).unwrap_or(ChoiceScore::Sum),
                tokenizer,
                max_tokens,
                compare,
            })
        })
    }
}
