//! The per-class table of one student, from its [`ClassTally`].
//!
//! Definitions (also in every report's conventions), for class c over the labelled examples:
//! - support = examples whose gold label is c; recall = gold c and predicted c / support;
//!   precision = gold c and predicted c / predicted c; both for teacher and student, and the
//!   differences student − teacher (null when a denominator is 0);
//! - negative (positive) flip rate = gold c, teacher right and student wrong (teacher wrong and
//!   student right) / support;
//! - McNemar's exact test on the class's examples (b = negative flips, c = positive flips), p-values
//!   adjusted across the judged classes of one student with the groups' correction;
//! - intervals of the two differences: the paired bootstrap drawn as multinomial counts of the
//!   class's cells (gold is c × teacher says c × student says c, and unlabelled): the same
//!   distribution as resampling rows, at a cost independent of n;
//! - classes with fewer examples than the minimum group size get point values only;
//! - the class most hurt: the judged class whose recall fell most (ties: precision, then class
//!   order), named only when its recall fell;
//! - the label-transition matrix: how often the teacher's label i became the student's label j,
//!   every example (labelled or not), nonzero cells only.

use super::tally::{ClassCells, ClassTally, STUDENT, TEACHER};
use crate::stats::bootstrap::table::multinomial;
use crate::stats::quantile::percentile_interval;
use crate::stats::rng::Rng;
use crate::stats::{mcnemar_exact, Interval};
use crate::subgroups::analysis::McNemar;
use crate::subgroups::SubgroupSettings;
use rayon::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ClassIntervals {
    pub recall_delta: Option<Interval>,
    pub precision_delta: Option<Interval>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ClassRow {
    /// The class's name (`config.json`'s id2label) or its index.
    pub class: String,
    pub index: usize,
    pub support: u64,
    pub too_small: bool,
    pub teacher_recall: Option<f64>,
    pub student_recall: Option<f64>,
    pub recall_delta: Option<f64>,
    pub teacher_precision: Option<f64>,
    pub student_precision: Option<f64>,
    pub precision_delta: Option<f64>,
    pub negative_flips: u64,
    pub positive_flips: u64,
    pub negative_flip_rate: Option<f64>,
    pub positive_flip_rate: Option<f64>,
    /// On the class's examples; absent for a class too small to judge.
    pub mcnemar: Option<McNemar>,
    pub intervals: Option<ClassIntervals>,
    /// 1 = the judged class whose recall fell most.
    pub harm_rank: Option<usize>,
}

/// One cell of the label-transition matrix.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Transition {
    pub teacher: String,
    pub student: String,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct ClassReport {
    /// Every class in class order; empty for unlabelled data.
    pub classes: Vec<ClassRow>,
    /// The judged class whose recall fell most, if any fell.
    pub most_hurt: Option<String>,
    /// Nonzero cells of the teacher label × student label matrix, in (teacher, student) order.
    pub transitions: Vec<Transition>,
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

fn delta(s: Option<f64>, t: Option<f64>) -> Option<f64> {
    Some(s? - t?)
}

/// (recall delta, precision delta) of a class's cells.
fn deltas(cells: &ClassCells) -> (Option<f64>, Option<f64>) {
    let support = cells.support();
    let recall = |who| ratio(cells.true_positives(who), support);
    let precision = |who| ratio(cells.true_positives(who), cells.predicted(who));
    (delta(recall(STUDENT), recall(TEACHER)), delta(precision(STUDENT), precision(TEACHER)))
}

/// Paired bootstrap intervals of a class's recall and precision differences: each resample draws
/// the nine cells (eight labelled, one unlabelled) as a multinomial with n trials. Resample `r` of
/// class `c` uses stream `r` of a seed fixed by the settings' seed and the class.
fn intervals(cells: &ClassCells, class: usize, settings: SubgroupSettings) -> Option<ClassIntervals> {
    let b = settings.bootstrap;
    if b.resamples == 0 {
        return None;
    }
    let weights: Vec<u64> = cells.cells.iter().copied().chain(std::iter::once(cells.unlabelled)).collect();
    let n: u64 = weights.iter().sum();
    let seed = b.seed ^ 0xC1A5_5E5C_1A55_E5C1u64.wrapping_mul(class as u64 + 1);
    let (recall, precision): (Vec<f64>, Vec<f64>) = (0..b.resamples as u64)
        .map(|r| {
            let mut drawn = vec![0u64; 9];
            multinomial(n, &weights, &mut drawn, &mut Rng::stream(seed, r));
            let mut resampled = ClassCells::default();
            resampled.cells.copy_from_slice(&drawn[..8]);
            resampled.unlabelled = drawn[8];
            let (r, p) = deltas(&resampled);
            (r.unwrap_or(f64::NAN), p.unwrap_or(f64::NAN))
        })
        .unzip();
    Some(ClassIntervals { recall_delta: percentile_interval(recall, b.confidence), precision_delta: percentile_interval(precision, b.confidence) })
}

fn row(cells: &ClassCells, index: usize, name: String, settings: SubgroupSettings) -> ClassRow {
    let support = cells.support();
    let too_small = support < settings.min_group_size as u64 || support == 0;
    let (t_recall, s_recall) = (ratio(cells.true_positives(TEACHER), support), ratio(cells.true_positives(STUDENT), support));
    let (t_precision, s_precision) = (ratio(cells.true_positives(TEACHER), cells.predicted(TEACHER)), ratio(cells.true_positives(STUDENT), cells.predicted(STUDENT)));
    let (neg, pos) = (cells.negative_flips(), cells.positive_flips());
    ClassRow {
        class: name,
        index,
        support,
        too_small,
        teacher_recall: t_recall,
        student_recall: s_recall,
        recall_delta: delta(s_recall, t_recall),
        teacher_precision: t_precision,
        student_precision: s_precision,
        precision_delta: delta(s_precision, t_precision),
        negative_flips: neg,
        positive_flips: pos,
        negative_flip_rate: ratio(neg, support),
        positive_flip_rate: ratio(pos, support),
        mcnemar: (!too_small).then(|| McNemar { b: neg, c: pos, p_value: mcnemar_exact(neg, pos), p_adjusted: None }),
        intervals: if too_small { None } else { intervals(cells, index, settings) },
        harm_rank: None,
    }
}

/// The per-class report of one student: `classes` from the teacher's output, `names[i]` the name
/// of class `i` where known.
pub fn analyse(tally: &ClassTally, classes: usize, names: Option<&[String]>, settings: SubgroupSettings) -> ClassReport {
    let name = |i: usize| names.and_then(|n| n.get(i)).cloned().unwrap_or_else(|| i.to_string());
    let cells = tally.all_cells(classes);
    let mut rows: Vec<ClassRow> =
        if tally.labelled() == 0 { vec![] } else { cells.par_iter().enumerate().map(|(i, c)| row(c, i, name(i), settings)).collect() };
    let judged: Vec<usize> = (0..rows.len()).filter(|&i| rows[i].mcnemar.is_some()).collect();
    let p: Vec<f64> = judged.iter().filter_map(|&i| rows[i].mcnemar.as_ref().map(|m| m.p_value)).collect();
    for (&i, adjusted) in judged.iter().zip(settings.correction.adjust(&p)) {
        if let Some(m) = rows[i].mcnemar.as_mut() {
            m.p_adjusted = Some(adjusted);
        }
    }
    let mut ranked: Vec<usize> = judged.iter().copied().filter(|&i| rows[i].recall_delta.is_some()).collect();
    let key = |r: &ClassRow| (r.recall_delta.unwrap_or(0.0), r.precision_delta.unwrap_or(0.0));
    ranked.sort_by(|&a, &b| {
        let (ka, kb) = (key(&rows[a]), key(&rows[b]));
        ka.0.total_cmp(&kb.0).then(ka.1.total_cmp(&kb.1)).then(a.cmp(&b))
    });
    for (rank, &i) in ranked.iter().enumerate() {
        rows[i].harm_rank = Some(rank + 1);
    }
    let most_hurt = ranked.first().filter(|&&i| rows[i].recall_delta.is_some_and(|d| d < 0.0)).map(|&i| rows[i].class.clone());
    let transitions = tally.transitions().into_iter().map(|(t, s, count)| Transition { teacher: name(t), student: name(s), count }).collect();
    ClassReport { classes: rows, most_hurt, transitions }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ExampleComparison;
    use crate::stats::rng::Rng;
    use crate::stats::{BootstrapSettings, Correction};

    fn settings(resamples: usize) -> SubgroupSettings {
        SubgroupSettings { min_group_size: 5, bootstrap: BootstrapSettings { resamples, confidence: 0.95, seed: 3 }, correction: Correction::Holm }
    }

    fn tally(rows: &[(Option<usize>, usize, usize, u64)]) -> ClassTally {
        let mut t = ClassTally::default();
        for &(g, a, b, times) in rows {
            for _ in 0..times {
                t.add(&ExampleComparison { teacher_label: a, student_label: b, gold: g, probability_loyalty: 1.0, kl: 0.0 });
            }
        }
        t
    }

    #[test]
    fn a_worked_example() {
        // Class 0: 10 examples, teacher right on all, student on 7 (3 went to class 1).
        // Class 1: 10 examples, both right on 8; teacher wrong (says 0) on 2, student right on one of those.
        let t = tally(&[(Some(0), 0, 0, 7), (Some(0), 0, 1, 3), (Some(1), 1, 1, 8), (Some(1), 0, 0, 1), (Some(1), 0, 1, 1), (None, 1, 0, 2)]);
        let names = ["neg".to_string(), "pos".to_string()];
        let r = analyse(&t, 2, Some(&names), settings(0));
        let (c0, c1) = (&r.classes[0], &r.classes[1]);
        assert_eq!((c0.support, c0.teacher_recall, c0.student_recall), (10, Some(1.0), Some(0.7)));
        assert!((c0.recall_delta.unwrap() + 0.3).abs() < 1e-15);
        // Teacher predicts 0 on 10 + 2 labelled examples; student on 7 + 1.
        assert_eq!((c0.teacher_precision, c0.student_precision), (Some(10.0 / 12.0), Some(7.0 / 8.0)));
        assert_eq!((c0.negative_flips, c0.positive_flips), (3, 0));
        assert_eq!((c1.support, c1.teacher_recall, c1.student_recall), (10, Some(0.8), Some(0.9)));
        assert_eq!((c1.negative_flips, c1.positive_flips), (0, 1));
        assert_eq!(c0.mcnemar.as_ref().map(|m| m.p_value), Some(mcnemar_exact(3, 0)));
        assert_eq!(r.most_hurt.as_deref(), Some("neg"));
        assert_eq!((c0.harm_rank, c1.harm_rank), (Some(1), Some(2)));
        let cells: Vec<(&str, &str, u64)> = r.transitions.iter().map(|x| (x.teacher.as_str(), x.student.as_str(), x.count)).collect();
        assert_eq!(cells, [("neg", "neg", 8), ("neg", "pos", 4), ("pos", "neg", 2), ("pos", "pos", 8)]);
    }

    #[test]
    fn identical_models_have_no_differences_and_no_class_is_named() {
        let t = tally(&[(Some(0), 0, 0, 20), (Some(0), 1, 1, 5), (Some(1), 1, 1, 30), (Some(2), 0, 0, 3)]);
        let r = analyse(&t, 3, None, settings(200));
        for c in &r.classes {
            assert!(c.recall_delta.is_none_or(|d| d == 0.0) && c.negative_flips == 0 && c.positive_flips == 0, "{c:?}");
            if let Some(i) = &c.intervals {
                assert_eq!(i.recall_delta, Some(Interval { lower: 0.0, upper: 0.0 }));
            }
        }
        assert!(r.classes[2].too_small && r.classes[2].mcnemar.is_none() && r.classes[2].intervals.is_none());
        assert_eq!(r.most_hurt, None);
        assert!(r.transitions.iter().all(|x| x.teacher == x.student));
    }

    #[test]
    fn intervals_bracket_the_point_difference_and_depend_only_on_the_seed() {
        let t = tally(&[(Some(0), 0, 0, 60), (Some(0), 0, 1, 15), (Some(0), 1, 0, 5), (Some(1), 1, 1, 70), (Some(1), 1, 0, 10)]);
        let a = analyse(&t, 2, None, settings(500));
        assert_eq!(a, analyse(&t, 2, None, settings(500)));
        for c in &a.classes {
            let i = c.intervals.as_ref().unwrap();
            assert!(i.recall_delta.unwrap().contains(c.recall_delta.unwrap()), "{c:?}");
            assert!(i.precision_delta.unwrap().contains(c.precision_delta.unwrap()), "{c:?}");
            assert!(i.recall_delta.unwrap().upper < 0.0, "recall fell in both classes, clearly");
        }
    }

    /// 400 synthetic datasets of 300 examples, two classes of known recall (teacher 0.85, student
    /// 0.75 on class 0; labels drawn 50/50): the 95 % interval of the recall difference covers the
    /// true -0.10 in 93-97 % of them (a binomial 95 % range for 400 draws is about 92.8-97.2 %).
    #[test]
    fn recall_difference_interval_has_nominal_coverage() {
        let mut data = Rng::new(18);
        let mut covered = 0;
        for draw in 0..400u64 {
            let mut t = ClassTally::default();
            for _ in 0..300 {
                let gold = usize::from(data.unit() < 0.5);
                let u = data.unit();
                // Class 0: the teacher is right with 0.85, the student with 0.75, nested so they pair.
                let (teacher, student) = if gold == 0 { (usize::from(u >= 0.85), usize::from(u >= 0.75)) } else { (1, 1) };
                t.add(&ExampleComparison { teacher_label: teacher, student_label: student, gold: Some(gold), probability_loyalty: 1.0, kl: 0.0 });
            }
            let s = SubgroupSettings { min_group_size: 30, bootstrap: BootstrapSettings { resamples: 400, confidence: 0.95, seed: draw }, correction: Correction::Holm };
            let r = analyse(&t, 2, None, s);
            let iv = r.classes[0].intervals.as_ref().and_then(|i| i.recall_delta).unwrap();
            covered += usize::from(iv.contains(-0.10));
        }
        assert!((372..=388).contains(&covered), "coverage {covered} / 400");
    }

    #[test]
    fn unlabelled_data_has_transitions_only() {
        let t = tally(&[(None, 0, 1, 4), (None, 1, 1, 6)]);
        let r = analyse(&t, 2, None, settings(100));
        assert!(r.classes.is_empty() && r.most_hurt.is_none());
        assert_eq!(r.transitions.len(), 2);
    }
}
