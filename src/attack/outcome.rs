//! One example's attack result and the metrics over many, with TextAttack's conventions.
//!
//! Conventions (TextFooler / TextAttack, to be repeated in reports):
//!
//! - **attacked**: every example given to the attack, including those the model already gets
//!   wrong (**skipped**: not attacked, 0 queries).
//! - **after-attack accuracy** = (originally correct − successful attacks) / attacked: skipped
//!   examples count as failures of the model. Null when nothing was attacked.
//! - **attack success rate** = successes / originally-correct examples. Null when none.
//! - **mean queries** = queries / originally-correct examples (skipped examples are left out;
//!   they cost 0 anyway). Null when none.
//! - **mean perturbed share** = mean over successful attacks of changed words / words (for tensors:
//!   changed coordinates / coordinates). Null when no attack succeeded.
//! - **total queries** = every query charged to an example (rows sent to the model; the original
//!   row of a skipped example is not charged, see [`crate::attack`]).

use serde::Serialize;

/// What happened to one example.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AttackStatus {
    /// The prediction moved away from the gold label.
    Succeeded,
    /// The model kept the gold label within the budget and the perturbation limit.
    Failed,
    /// The model already got the example wrong: not attacked, 0 queries.
    Skipped,
}

/// One example's result. `A` is the input type: [`super::TextInput`] for texts, an
/// `ndarray::ArrayD<f32>` (the example's shape, no batch axis) for tensors.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct AttackOutcome<A = super::TextInput> {
    pub status: AttackStatus,
    /// Queries charged to this example (see the module doc of [`crate::attack`]).
    pub queries: usize,
    /// Words (tensors: coordinates) that differ from the original in the final state: in the
    /// adversarial input on success, in the best input found on failure; 0 when skipped.
    pub perturbed_words: usize,
    /// Words of the attacked text (the second text of a pair); coordinates of a tensor example.
    pub words: usize,
    /// The adversarial input, on success only.
    pub adversarial: Option<A>,
}

impl<A> AttackOutcome<A> {
    /// changed / total words (or coordinates); 0 for an empty input.
    pub fn perturbed_share(&self) -> f64 {
        if self.words == 0 {
            0.0
        } else {
            self.perturbed_words as f64 / self.words as f64
        }
    }
}

/// Metrics over many outcomes (conventions in the module doc). Mergeable: [`AttackSummary::merge`]
/// adds the counts of two summaries (e.g. groups or chunks) and recomputes the rates.
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct AttackSummary {
    pub attacked: usize,
    pub originally_correct: usize,
    pub succeeded: usize,
    pub after_attack_accuracy: Option<f64>,
    pub attack_success_rate: Option<f64>,
    pub mean_queries: Option<f64>,
    pub mean_perturbed_share: Option<f64>,
    pub total_queries: usize,
    /// Σ perturbed share over successes, kept so summaries merge exactly.
    #[serde(skip)]
    perturbed_share_sum: f64,
}

impl AttackSummary {
    pub fn from_outcomes<A>(outcomes: &[AttackOutcome<A>]) -> Self {
        let mut s = Self::default();
        for o in outcomes {
            s.attacked += 1;
            s.total_queries += o.queries;
            match o.status {
                AttackStatus::Skipped => {}
                AttackStatus::Failed => s.originally_correct += 1,
                AttackStatus::Succeeded => {
                    s.originally_correct += 1;
                    s.succeeded += 1;
                    s.perturbed_share_sum += o.perturbed_share();
                }
            }
        }
        s.finish()
    }

    /// The summary of both sets of outcomes together.
    pub fn merge(&self, other: &Self) -> Self {
        Self {
            attacked: self.attacked + other.attacked,
            originally_correct: self.originally_correct + other.originally_correct,
            succeeded: self.succeeded + other.succeeded,
            total_queries: self.total_queries + other.total_queries,
            perturbed_share_sum: self.perturbed_share_sum + other.perturbed_share_sum,
            ..Self::default()
        }
        .finish()
    }

    fn finish(mut self) -> Self {
        let ratio = |a: f64, b: usize| (b > 0).then(|| a / b as f64);
        self.after_attack_accuracy = ratio((self.originally_correct - self.succeeded) as f64, self.attacked);
        self.attack_success_rate = ratio(self.succeeded as f64, self.originally_correct);
        self.mean_queries = ratio(self.total_queries as f64, self.originally_correct);
        self.mean_perturbed_share = ratio(self.perturbed_share_sum, self.succeeded);
        self
    }
}

/// The teacher's successful adversarial examples replayed on a student.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Transfer {
    /// Teacher successes whose original the student classified correctly (the denominator).
    pub replayed: usize,
    /// Of those, how many the student now gets wrong.
    pub fooled: usize,
    pub transfer_success_rate: Option<f64>,
    /// Queries spent on the replay (one per replayed example).
    pub queries: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct GroupAttack {
    pub name: String,
    #[serde(flatten)]
    pub summary: AttackSummary,
}

/// One model's attack results.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ModelAttack {
    #[serde(flatten)]
    pub summary: AttackSummary,
    pub groups: Vec<GroupAttack>,
    /// Students only.
    pub transfer: Option<Transfer>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(status: AttackStatus, queries: usize, perturbed_words: usize, words: usize) -> AttackOutcome {
        AttackOutcome { status, queries, perturbed_words, words, adversarial: None }
    }

    #[test]
    fn summary_follows_textattack_conventions() {
        use AttackStatus::*;
        let outcomes = [
            outcome(Succeeded, 10, 1, 4), // share 0.25
            outcome(Succeeded, 20, 3, 6), // share 0.5
            outcome(Failed, 30, 2, 10),
            outcome(Skipped, 0, 0, 5),
            outcome(Failed, 40, 0, 3),
        ];
        let s = AttackSummary::from_outcomes(&outcomes);
        assert_eq!((s.attacked, s.originally_correct, s.succeeded, s.total_queries), (5, 4, 2, 100));
        // (4 originally correct − 2 broken) / 5 attacked: the skipped one counts against the model.
        assert_eq!(s.after_attack_accuracy, Some(0.4));
        assert_eq!(s.attack_success_rate, Some(0.5)); // 2 / 4
        assert_eq!(s.mean_queries, Some(25.0)); // 100 / 4
        assert_eq!(s.mean_perturbed_share, Some(0.375)); // (0.25 + 0.5) / 2, successes only

        let merged = AttackSummary::from_outcomes(&outcomes[..2]).merge(&AttackSummary::from_outcomes(&outcomes[2..]));
        assert_eq!(merged, s);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["attack_success_rate"], 0.5);
        assert!(json.get("perturbed_share_sum").is_none());
    }

    #[test]
    fn empty_and_all_skipped_summaries_have_null_rates() {
        let s = AttackSummary::from_outcomes::<()>(&[]);
        assert_eq!((s.after_attack_accuracy, s.attack_success_rate, s.mean_queries), (None, None, None));
        let s = AttackSummary::from_outcomes(&[outcome(AttackStatus::Skipped, 0, 0, 3)]);
        assert_eq!(s.after_attack_accuracy, Some(0.0));
        assert_eq!((s.attack_success_rate, s.mean_queries, s.mean_perturbed_share), (None, None, None));
    }
}
