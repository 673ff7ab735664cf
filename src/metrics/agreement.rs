//! One teacher–student comparison of one example: the per-example quantities every fidelity
//! metric averages.

use super::divergence::{js_distance, kl_divergence, LogBase};
use super::probability::argmax;

/// What one example says about a teacher–student pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExampleComparison {
    pub teacher_label: usize,
    pub student_label: usize,
    /// The gold label, when the data has labels.
    pub gold: Option<usize>,
    /// 1 − JS distance between the two probability rows, in the chosen base.
    pub probability_loyalty: f64,
    /// KL(teacher‖student), natural log; +∞ when the student puts zero mass where the teacher has some.
    pub kl: f64,
}

impl ExampleComparison {
    /// Compares two probability rows (each summing to 1) for one example.
    pub fn new(teacher: &[f64], student: &[f64], gold: Option<usize>, base: LogBase) -> Self {
        Self {
            teacher_label: argmax(teacher),
            student_label: argmax(student),
            gold,
            probability_loyalty: 1.0 - js_distance(teacher, student, base),
            kl: kl_divergence(teacher, student),
        }
    }

    /// What the paired bootstrap resamples for this example.
    pub fn paired_sample(&self) -> crate::stats::PairedSample {
        crate::stats::PairedSample {
            teacher_correct: self.teacher_correct(),
            student_correct: self.student_correct(),
            agree: self.agrees(),
            probability_loyalty: self.probability_loyalty,
        }
    }

    /// The student predicts the teacher's label (label loyalty).
    pub fn agrees(&self) -> bool {
        self.teacher_label == self.student_label
    }

    pub fn teacher_correct(&self) -> Option<bool> {
        self.gold.map(|g| g == self.teacher_label)
    }

    pub fn student_correct(&self) -> Option<bool> {
        self.gold.map(|g| g == self.student_label)
    }

    /// Teacher right, student wrong (Yan et al. 2021).
    pub fn negative_flip(&self) -> bool {
        self.teacher_correct() == Some(true) && self.student_correct() == Some(false)
    }

    /// Teacher wrong, student right.
    pub fn positive_flip(&self) -> bool {
        self.teacher_correct() == Some(false) && self.student_correct() == Some(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flips_follow_correctness() {
        let t = [0.9, 0.1];
        let s = [0.2, 0.8];
        let c = ExampleComparison::new(&t, &s, Some(0), LogBase::E);
        assert!(!c.agrees());
        assert!(c.negative_flip() && !c.positive_flip());
        let c = ExampleComparison::new(&t, &s, Some(1), LogBase::E);
        assert!(c.positive_flip() && !c.negative_flip());
        let c = ExampleComparison::new(&t, &s, None, LogBase::E);
        assert!(!c.positive_flip() && !c.negative_flip());
        assert_eq!(c.teacher_correct(), None);
    }

    #[test]
    fn identical_rows_are_fully_loyal() {
        let p = [0.3, 0.3, 0.4];
        let c = ExampleComparison::new(&p, &p, Some(2), LogBase::Two);
        assert!(c.agrees());
        assert_eq!(c.probability_loyalty, 1.0);
        assert_eq!(c.kl, 0.0);
    }
}
