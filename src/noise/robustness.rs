//! What noise does to each model and to each student's loyalty, at one level, from the labels the
//! models gave on the clean and the noisy copy of the same sample.
//!
//! Definitions (also in every report's conventions), over the noise sample at one level:
//! - a model's clean and noisy accuracy (over the sample's labelled examples), its accuracy drop
//!   (clean − noisy) and its stability: the share of examples whose noisy label equals its own
//!   clean label;
//! - a student's label loyalty on noisy inputs (its noisy label = the teacher's noisy label), the
//!   same on the clean sample, its noisy accuracy drop (teacher's noisy accuracy − its own) and its
//!   robustness gap: its accuracy drop − the teacher's (positive: noise costs the student more);
//! - intervals of the student's three: the paired bootstrap over examples, drawn as multinomial
//!   counts of the 64 cells (labelled × teacher clean/noisy right × student clean/noisy right ×
//!   noisy labels agree): the row bootstrap's distribution at a cost independent of n.

use super::NoiseLevel;
use crate::stats::bootstrap::table::multinomial;
use crate::stats::quantile::percentile_interval;
use crate::stats::rng::Rng;
use crate::stats::{BootstrapSettings, Interval};
use serde::Serialize;

/// One model's labels on the sample: `clean[k]` and `noisy[k]` for sampled example `k`.
#[derive(Debug, Clone, Copy)]
pub struct Labels<'a> {
    pub clean: &'a [usize],
    pub noisy: &'a [usize],
}

/// One model under one noise level.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ModelNoise {
    pub level: NoiseLevel,
    pub clean_accuracy: Option<f64>,
    pub noisy_accuracy: Option<f64>,
    /// Clean − noisy accuracy.
    pub accuracy_drop: Option<f64>,
    /// Share of the sample whose noisy label is the model's own clean label.
    pub stability: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct NoiseIntervals {
    pub label_loyalty: Interval,
    pub noisy_accuracy_drop: Option<Interval>,
    pub robustness_gap: Option<Interval>,
}

/// One student against the teacher under one noise level.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct NoiseComparison {
    pub level: NoiseLevel,
    /// The student's noisy label = the teacher's noisy label.
    pub label_loyalty: f64,
    /// The same on the clean sample, for reference.
    pub clean_label_loyalty: f64,
    /// Teacher's noisy accuracy − student's noisy accuracy.
    pub noisy_accuracy_drop: Option<f64>,
    /// Student's accuracy drop − teacher's accuracy drop.
    pub robustness_gap: Option<f64>,
    /// Absent with `--bootstrap 0`.
    pub intervals: Option<NoiseIntervals>,
}

fn share(count: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| count as f64 / of as f64)
}

fn right(gold: Option<usize>, label: usize) -> bool {
    gold == Some(label)
}

/// Labelled examples, and how many of them `labels` gets right.
fn right_count(gold: &[Option<usize>], labels: &[usize]) -> (usize, i64) {
    let labelled = gold.iter().filter(|g| g.is_some()).count();
    (labelled, gold.iter().zip(labels).filter(|(g, l)| right(**g, **l)).count() as i64)
}

/// `count / labelled`, from integer counts so that equal counts give exactly 0.
fn per_labelled(count: i64, labelled: usize) -> Option<f64> {
    (labelled > 0).then(|| count as f64 / labelled as f64 + 0.0)
}

/// One model's figures at `level`.
pub fn model_noise(level: NoiseLevel, gold: &[Option<usize>], labels: Labels) -> ModelNoise {
    let (labelled, clean) = right_count(gold, labels.clean);
    let (_, noisy) = right_count(gold, labels.noisy);
    let stable = labels.clean.iter().zip(labels.noisy).filter(|(c, n)| c == n).count();
    ModelNoise {
        level,
        clean_accuracy: per_labelled(clean, labelled),
        noisy_accuracy: per_labelled(noisy, labelled),
        accuracy_drop: per_labelled(clean - noisy, labelled),
        stability: share(stable, gold.len()).unwrap_or(1.0),
    }
}

const AGREE: usize = 1;
const TEACHER_CLEAN: usize = 2;
const TEACHER_NOISY: usize = 4;
const STUDENT_CLEAN: usize = 8;
const STUDENT_NOISY: usize = 16;
const LABELLED: usize = 32;

/// Counts of the 64 cells of one student's sample.
fn cells(gold: &[Option<usize>], teacher: Labels, student: Labels) -> [u64; 64] {
    let mut cells = [0u64; 64];
    for k in 0..gold.len() {
        let g = gold[k];
        let bit = |on: bool, b: usize| if on { b } else { 0 };
        let cell = bit(teacher.noisy[k] == student.noisy[k], AGREE)
            | bit(right(g, teacher.clean[k]), TEACHER_CLEAN)
            | bit(right(g, teacher.noisy[k]), TEACHER_NOISY)
            | bit(right(g, student.clean[k]), STUDENT_CLEAN)
            | bit(right(g, student.noisy[k]), STUDENT_NOISY)
            | bit(g.is_some(), LABELLED);
        cells[cell] += 1;
    }
    cells
}

/// (label loyalty, noisy accuracy drop, robustness gap) of a sample's cells; accuracies NaN when
/// no labelled example is drawn.
fn statistics(cells: &[u64; 64]) -> (f64, f64, f64) {
    let sum = |mask: usize| cells.iter().enumerate().filter(|(c, _)| c & mask == mask).map(|(_, n)| *n).sum::<u64>() as f64;
    let (n, labelled) = (cells.iter().sum::<u64>() as f64, sum(LABELLED));
    let (tc, tn) = (sum(LABELLED | TEACHER_CLEAN), sum(LABELLED | TEACHER_NOISY));
    let (sc, sn) = (sum(LABELLED | STUDENT_CLEAN), sum(LABELLED | STUDENT_NOISY));
    let accuracy = |x: f64| if labelled > 0.0 { x / labelled } else { f64::NAN };
    (sum(AGREE) / n, accuracy(tn - sn), accuracy((sc - sn) - (tc - tn)))
}

/// Identifies this module's bootstrap streams apart from every other interval's.
const SALT: u64 = 0x4E01_5E00_B007_57A9;

/// One student against the teacher at `level`; resample `r` uses stream `r` of a seed fixed by
/// the settings' seed and the level, so students share seeds, not rows.
pub fn compare(level: NoiseLevel, gold: &[Option<usize>], teacher: Labels, student: Labels, bootstrap: BootstrapSettings) -> NoiseComparison {
    let n = gold.len();
    let (labelled_n, tc) = right_count(gold, teacher.clean);
    let (tn, sc, sn) = (right_count(gold, teacher.noisy).1, right_count(gold, student.clean).1, right_count(gold, student.noisy).1);
    let agree = |a: &[usize], b: &[usize]| share(a.iter().zip(b).filter(|(x, y)| x == y).count(), n).unwrap_or(1.0);
    let labelled = gold.iter().any(Option::is_some);
    let intervals = (bootstrap.resamples > 0 && n > 0).then(|| {
        let weights = cells(gold, teacher, student);
        let seed = bootstrap.seed ^ SALT ^ level.key();
        let mut drawn = [0u64; 64];
        let (mut loyalty, mut drop, mut gap) = (Vec::new(), Vec::new(), Vec::new());
        for r in 0..bootstrap.resamples as u64 {
            multinomial(n as u64, &weights, &mut drawn, &mut Rng::stream(seed, r));
            let (l, d, g) = statistics(&drawn);
            loyalty.push(l);
            drop.push(d);
            gap.push(g);
        }
        let confidence = bootstrap.confidence;
        NoiseIntervals {
            label_loyalty: percentile_interval(loyalty, confidence).unwrap_or(Interval { lower: 1.0, upper: 1.0 }),
            noisy_accuracy_drop: labelled.then(|| percentile_interval(drop, confidence)).flatten(),
            robustness_gap: labelled.then(|| percentile_interval(gap, confidence)).flatten(),
        }
    });
    NoiseComparison {
        level,
        label_loyalty: agree(teacher.noisy, student.noisy),
        clean_label_loyalty: agree(teacher.clean, student.clean),
        noisy_accuracy_drop: per_labelled(tn - sn, labelled_n),
        robustness_gap: per_labelled((sc - sn) - (tc - tn), labelled_n),
        intervals,
    }
}

#[cfg(test)]
#[path = "robustness_tests.rs"]
mod tests;
