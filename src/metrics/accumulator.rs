//! Mergeable sums of [`ExampleComparison`]s and the metrics they yield.
//!
//! Accumulating two halves of a dataset and merging them equals one pass over the whole, bit for
//! bit: counts are integers and the float sums are [`FixedSum`]s, so evaluation can stream and
//! shards merge into exactly the single run's numbers.
//!
//! Denominators: loyalty metrics and the mean KL average over all compared examples; accuracies and
//! flip rates over the labelled examples (all of them when the data has labels, none otherwise).

use super::agreement::ExampleComparison;
use super::fixed_sum::FixedSum;
use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
pub struct FidelityAccumulator {
    n: u64,
    labelled: u64,
    teacher_correct: u64,
    student_correct: u64,
    agreements: u64,
    negative_flips: u64,
    positive_flips: u64,
    loyalty_sum: FixedSum,
    kl_sum: FixedSum,
    kl_infinite: u64,
}

/// The fidelity of one student to its teacher over a set of examples.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct FidelityMetrics {
    /// Examples compared.
    pub n: u64,
    /// Examples with a gold label (the denominator of accuracies and flip rates).
    pub labelled: u64,
    pub teacher_accuracy: Option<f64>,
    pub student_accuracy: Option<f64>,
    /// Student accuracy minus teacher accuracy.
    pub accuracy_delta: Option<f64>,
    /// Share of examples where argmax(student) = argmax(teacher).
    pub label_loyalty: f64,
    /// Mean over examples of 1 − √JS(P_teacher‖P_student); `None` when a model gives labels only.
    pub probability_loyalty: Option<f64>,
    /// Mean KL(teacher‖student) in nats; `None` when some example's KL is infinite (or a model
    /// gives labels only).
    pub mean_kl: Option<f64>,
    /// Examples where the student gives zero probability to a class the teacher does not.
    pub kl_infinite: u64,
    /// Share of labelled examples the teacher gets right and the student wrong.
    pub negative_flip_rate: Option<f64>,
    /// Share of labelled examples the teacher gets wrong and the student right.
    pub positive_flip_rate: Option<f64>,
    pub agreements: u64,
    pub negative_flips: u64,
    pub positive_flips: u64,
}

impl FidelityMetrics {
    /// The metrics of a pair where a model gives labels only: what needs probabilities is not
    /// available (never 0), what needs labels stands.
    pub fn without_probabilities(self) -> Self {
        Self { probability_loyalty: None, mean_kl: None, kl_infinite: 0, ..self }
    }
}

fn ratio(num: u64, den: u64) -> Option<f64> {
    (den > 0).then(|| num as f64 / den as f64)
}

impl FidelityAccumulator {
    pub fn add(&mut self, c: &ExampleComparison) {
        self.n += 1;
        if c.gold.is_some() {
            self.labelled += 1;
        }
        self.teacher_correct += u64::from(c.teacher_correct() == Some(true));
        self.student_correct += u64::from(c.student_correct() == Some(true));
        self.agreements += u64::from(c.agrees());
        self.negative_flips += u64::from(c.negative_flip());
        self.positive_flips += u64::from(c.positive_flip());
        self.loyalty_sum.add(c.probability_loyalty);
        if c.kl.is_finite() {
            self.kl_sum.add(c.kl);
        } else {
            self.kl_infinite += 1;
        }
    }

    pub fn merge(&mut self, other: &Self) {
        self.n += other.n;
        self.labelled += other.labelled;
        self.teacher_correct += other.teacher_correct;
        self.student_correct += other.student_correct;
        self.agreements += other.agreements;
        self.negative_flips += other.negative_flips;
        self.positive_flips += other.positive_flips;
        self.loyalty_sum.merge(other.loyalty_sum);
        self.kl_sum.merge(other.kl_sum);
        self.kl_infinite += other.kl_infinite;
    }

    pub fn len(&self) -> u64 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// The metrics so far; loyalty is NaN-free only when at least one example was added, so callers
    /// check [`Self::is_empty`] first (the pipeline refuses empty datasets).
    pub fn finish(&self) -> FidelityMetrics {
        let teacher_accuracy = ratio(self.teacher_correct, self.labelled);
        let student_accuracy = ratio(self.student_correct, self.labelled);
        FidelityMetrics {
            n: self.n,
            labelled: self.labelled,
            teacher_accuracy,
            student_accuracy,
            accuracy_delta: teacher_accuracy.zip(student_accuracy).map(|(t, s)| s - t),
            label_loyalty: ratio(self.agreements, self.n).unwrap_or(f64::NAN),
            probability_loyalty: Some(if self.n > 0 { self.loyalty_sum.value() / self.n as f64 } else { f64::NAN }),
            mean_kl: (self.kl_infinite == 0 && self.n > 0).then(|| self.kl_sum.value() / self.n as f64),
            kl_infinite: self.kl_infinite,
            negative_flip_rate: ratio(self.negative_flips, self.labelled),
            positive_flip_rate: ratio(self.positive_flips, self.labelled),
            agreements: self.agreements,
            negative_flips: self.negative_flips,
            positive_flips: self.positive_flips,
        }
    }
}

impl<'a> FromIterator<&'a ExampleComparison> for FidelityAccumulator {
    fn from_iter<I: IntoIterator<Item = &'a ExampleComparison>>(iter: I) -> Self {
        let mut acc = Self::default();
        iter.into_iter().for_each(|c| acc.add(c));
        acc
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::LogBase;
    use approx::assert_abs_diff_eq;
    use proptest::prelude::*;

    fn comparison(t: usize, s: usize, gold: Option<usize>, loyalty: f64) -> ExampleComparison {
        ExampleComparison { teacher_label: t, student_label: s, gold, probability_loyalty: loyalty, kl: 0.1 }
    }

    #[test]
    fn hand_computed_example() {
        // gold:    0 1 1 2
        // teacher: 0 1 0 2   -> 3/4 right
        // student: 0 0 1 1   -> 2/4 right; agrees on 1 of 4
        let cs = [comparison(0, 0, Some(0), 1.0), comparison(1, 0, Some(1), 0.5), comparison(0, 1, Some(1), 0.5), comparison(2, 1, Some(2), 0.2)];
        let m = cs.iter().collect::<FidelityAccumulator>().finish();
        assert_eq!(m.teacher_accuracy, Some(0.75));
        assert_eq!(m.student_accuracy, Some(0.5));
        assert_eq!(m.accuracy_delta, Some(-0.25));
        assert_eq!(m.label_loyalty, 0.25);
        assert_abs_diff_eq!(m.probability_loyalty.unwrap(), 0.55, epsilon = 1e-15);
        assert_eq!(m.negative_flip_rate, Some(0.5));
        assert_eq!(m.positive_flip_rate, Some(0.25));
        assert_abs_diff_eq!(m.mean_kl.unwrap(), 0.1, epsilon = 1e-15);
    }

    #[test]
    fn unlabelled_data_has_no_accuracy_but_has_loyalty() {
        let cs = [comparison(0, 0, None, 1.0), comparison(1, 0, None, 0.0)];
        let m = cs.iter().collect::<FidelityAccumulator>().finish();
        assert_eq!(m.teacher_accuracy, None);
        assert_eq!(m.negative_flip_rate, None);
        assert_eq!(m.label_loyalty, 0.5);
    }

    #[test]
    fn infinite_kl_is_counted_not_averaged() {
        let c = ExampleComparison::new(&[0.5, 0.5], &[1.0, 0.0], Some(0), LogBase::E);
        let m = [c].iter().collect::<FidelityAccumulator>().finish();
        assert_eq!(m.mean_kl, None);
        assert_eq!(m.kl_infinite, 1);
    }

    fn arbitrary_comparison() -> impl Strategy<Value = ExampleComparison> {
        (0usize..3, 0usize..3, proptest::option::of(0usize..3), 0.0f64..1.0, 0.0f64..3.0).prop_map(|(t, s, gold, probability_loyalty, kl)| ExampleComparison {
            teacher_label: t,
            student_label: s,
            gold,
            probability_loyalty,
            kl,
        })
    }

    proptest! {
        #[test]
        fn merging_halves_equals_one_pass(
            cs in proptest::collection::vec(arbitrary_comparison(), 1..200), cut in 0usize..200
        ) {
            let cut = cut.min(cs.len());
            let whole = cs.iter().collect::<FidelityAccumulator>();
            let mut left = cs[..cut].iter().collect::<FidelityAccumulator>();
            left.merge(&cs[cut..].iter().collect());
            let (a, b) = (whole.finish(), left.finish());
            prop_assert_eq!(a.agreements, b.agreements);
            prop_assert_eq!(a.teacher_accuracy, b.teacher_accuracy);
            prop_assert_eq!(a.negative_flip_rate, b.negative_flip_rate);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn a_model_against_itself_is_perfectly_loyal(
            rows in proptest::collection::vec(proptest::collection::vec(0.01f64..1.0, 3), 1..50),
            golds in proptest::collection::vec(0usize..3, 50)
        ) {
            let acc: FidelityAccumulator = rows.iter().zip(&golds).map(|(r, &g)| {
                let s: f64 = r.iter().sum();
                let p: Vec<f64> = r.iter().map(|x| x / s).collect();
                ExampleComparison::new(&p, &p, Some(g), LogBase::E)
            }).collect::<Vec<_>>().iter().collect();
            let m = acc.finish();
            prop_assert_eq!(m.label_loyalty, 1.0);
            prop_assert!((m.probability_loyalty.unwrap() - 1.0).abs() < 1e-7);
            prop_assert_eq!(m.negative_flip_rate, Some(0.0));
            prop_assert_eq!(m.positive_flip_rate, Some(0.0));
            prop_assert_eq!(m.teacher_accuracy, m.student_accuracy);
        }
    }
}
