//! A student's probability rows against the teacher's, example by example.

use super::pass::ProbabilityTable;
use crate::metrics::{ExampleComparison, FidelityAccumulator, FidelityMetrics, LogBase};
use rayon::prelude::*;

/// The comparison of one student with the teacher.
#[derive(Debug, Clone)]
pub struct StudentComparison {
    pub metrics: FidelityMetrics,
    /// One entry per example, in data order (for subgroups, intervals and example listings).
    pub examples: Vec<ExampleComparison>,
}

/// Compares two tables of the same shape; `labels[i]` is example `i`'s gold label, if any.
pub fn compare(teacher: &ProbabilityTable, student: &ProbabilityTable, labels: &[Option<usize>], base: LogBase) -> StudentComparison {
    debug_assert_eq!(teacher.len(), student.len());
    let examples: Vec<ExampleComparison> =
        (0..teacher.len()).into_par_iter().map(|i| ExampleComparison::new(teacher.row(i), student.row(i), labels[i], base)).collect();
    let metrics = examples.iter().collect::<FidelityAccumulator>().finish();
    StudentComparison { metrics, examples }
}
