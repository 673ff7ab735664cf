//! Per-group metrics, intervals and tests for one student.
//!
//! Definitions (also in every report's conventions):
//! - share = n_group / n; disagreement share = the group's teacher–student disagreements / all
//!   disagreements; representation = disagreement share / share (> 1: the group takes more than its
//!   share of the disagreements).
//! - amplification = ((err_s,g − err_t,g) / err_t,g) / ((err_s − err_t) / err_t), err = 1 − accuracy:
//!   how much faster the group's error grows than the overall error (after Hooker et al. 2020);
//!   null when a denominator is 0.
//! - McNemar's exact test per group on teacher-vs-student correctness; p-values adjusted across the
//!   judged groups of one student (Holm by default, or Benjamini–Hochberg).
//! - Groups smaller than the minimum size are reported with their point metrics and marked too small
//!   to judge: no interval, no test, no rank.
//! - Harm: groups ranked by accuracy change (most negative first), ties by label loyalty (lowest
//!   first); on unlabelled data by label loyalty alone.

use super::groups::Group;
use crate::metrics::{ExampleComparison, FidelityAccumulator, FidelityMetrics};
use crate::stats::{grouped_bootstrap, mcnemar_exact, BootstrapSettings, Correction, GroupSpec, PairedIntervals, PairedSamples};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct SubgroupSettings {
    pub min_group_size: usize,
    /// `resamples == 0` turns intervals off.
    pub bootstrap: BootstrapSettings,
    pub correction: Correction,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct McNemar {
    /// Teacher right, student wrong.
    pub b: u64,
    /// Teacher wrong, student right.
    pub c: u64,
    pub p_value: f64,
    /// Adjusted across the judged groups; absent for the overall test and for small groups.
    pub p_adjusted: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct GroupReport {
    pub name: String,
    pub attributes: BTreeMap<String, String>,
    pub share: f64,
    pub too_small: bool,
    #[serde(flatten)]
    pub metrics: FidelityMetrics,
    pub disagreement_share: Option<f64>,
    pub representation: Option<f64>,
    pub amplification: Option<f64>,
    pub mcnemar: Option<McNemar>,
    pub intervals: Option<PairedIntervals>,
    /// 1 = most harmed judged group.
    pub harm_rank: Option<usize>,
}

/// Statistics of one student: overall intervals and test, and every group.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct SubgroupSummary {
    pub intervals: Option<PairedIntervals>,
    pub mcnemar: Option<McNemar>,
    pub groups: Vec<GroupReport>,
    /// Name of the most harmed judged group, if any group is large enough to judge.
    pub worst_group: Option<String>,
}

/// Each example's paired sample, for intervals.
pub fn samples(comparisons: &[ExampleComparison], members: impl Iterator<Item = usize>) -> PairedSamples {
    members.map(|i| comparisons[i].paired_sample()).collect()
}

fn mcnemar(m: &FidelityMetrics) -> Option<McNemar> {
    (m.labelled > 0).then(|| McNemar { b: m.negative_flips, c: m.positive_flips, p_value: mcnemar_exact(m.negative_flips, m.positive_flips), p_adjusted: None })
}

fn relative_error_change(m: &FidelityMetrics) -> Option<f64> {
    let (t, s) = (1.0 - m.teacher_accuracy?, 1.0 - m.student_accuracy?);
    (t > 0.0).then(|| (s - t) / t)
}

fn amplification(group: &FidelityMetrics, overall: &FidelityMetrics) -> Option<f64> {
    let overall_change = relative_error_change(overall)?;
    // `+ 0.0` turns a negative zero (no change in the group) into a plain 0.
    (overall_change != 0.0).then_some(relative_error_change(group)? / overall_change + 0.0)
}

/// Analyses one student's comparisons over the given groups.
pub fn analyse(comparisons: &[ExampleComparison], overall: &FidelityMetrics, groups: &[Group], settings: SubgroupSettings) -> SubgroupSummary {
    let group_metrics: Vec<FidelityMetrics> =
        groups.iter().map(|g| g.members.iter().map(|&i| &comparisons[i]).collect::<FidelityAccumulator>().finish()).collect();
    analyse_samples(&samples(comparisons, 0..comparisons.len()), overall, groups, &group_metrics, settings)
}

/// [`analyse`] for a streamed evaluation, which keeps only each example's [`PairedSample`] (column-stored) and
/// sums the group metrics as examples pass (`group_metrics[k]` belongs to `groups[k]`).
///
/// [`PairedSample`]: crate::stats::PairedSample
pub fn analyse_samples(
    samples: &PairedSamples,
    overall: &FidelityMetrics,
    groups: &[Group],
    group_metrics: &[FidelityMetrics],
    settings: SubgroupSettings,
) -> SubgroupSummary {
    analyse_students(&[samples], std::slice::from_ref(overall), groups, &[group_metrics.to_vec()], settings).remove(0)
}

/// [`analyse_samples`] for every student at once (`samples[s]`, `overall[s]`, `group_metrics[s][k]`
/// of student `s`), so each resample's weights serve all students and groups together.
pub fn analyse_students(
    samples: &[&PairedSamples],
    overall: &[FidelityMetrics],
    groups: &[Group],
    group_metrics: &[Vec<FidelityMetrics>],
    settings: SubgroupSettings,
) -> Vec<SubgroupSummary> {
    let judged: Vec<usize> = (0..groups.len()).filter(|&k| groups[k].members.len() >= settings.min_group_size).collect();
    // Each group's outcome-table draws come from their own stream family, fixed by the seed and the group's place.
    let specs: Vec<GroupSpec<'_>> =
        judged.iter().map(|&k| GroupSpec { members: &groups[k].members, seed: settings.bootstrap.seed.wrapping_add(k as u64 + 1) }).collect();
    let intervals = grouped_bootstrap(samples, &specs, settings.bootstrap);
    let with_intervals = !intervals.overall.is_empty();
    (0..samples.len())
        .map(|s| {
            let mut group_intervals: Vec<Option<PairedIntervals>> = vec![None; groups.len()];
            if with_intervals {
                for (j, &k) in judged.iter().enumerate() {
                    group_intervals[k] = Some(intervals.groups[j][s].clone());
                }
            }
            let overall_intervals = with_intervals.then(|| intervals.overall[s].clone());
            summary(samples[s].len(), &overall[s], groups, &group_metrics[s], settings, overall_intervals, group_intervals)
        })
        .collect()
}

/// One student's summary from its metrics and already computed intervals.
fn summary(
    n: usize,
    overall: &FidelityMetrics,
    groups: &[Group],
    group_metrics: &[FidelityMetrics],
    settings: SubgroupSettings,
    overall_intervals: Option<PairedIntervals>,
    mut group_intervals: Vec<Option<PairedIntervals>>,
) -> SubgroupSummary {
    let n = n.max(1) as f64;
    let disagreements = overall.n - overall.agreements;
    let mut reports: Vec<GroupReport> = groups
        .iter()
        .zip(group_metrics)
        .enumerate()
        .map(|(k, (g, metrics))| {
            let metrics = metrics.clone();
            let share = g.members.len() as f64 / n;
            let too_small = g.members.len() < settings.min_group_size;
            let disagreement_share = (disagreements > 0).then(|| (metrics.n - metrics.agreements) as f64 / disagreements as f64);
            GroupReport {
                name: g.name.clone(),
                attributes: g.attributes.iter().cloned().collect(),
                share,
                too_small,
                disagreement_share,
                representation: disagreement_share.map(|d| d / share),
                amplification: amplification(&metrics, overall),
                mcnemar: mcnemar(&metrics),
                intervals: group_intervals[k].take(),
                harm_rank: None,
                metrics,
            }
        })
        .collect();
    adjust_p_values(&mut reports, settings.correction);
    let worst_group = rank_by_harm(&mut reports);
    let mut overall_test = mcnemar(overall);
    if let Some(t) = overall_test.as_mut() {
        t.p_adjusted = None;
    }
    SubgroupSummary { intervals: overall_intervals, mcnemar: overall_test, groups: reports, worst_group }
}

fn adjust_p_values(reports: &mut [GroupReport], correction: Correction) {
    let judged: Vec<usize> = (0..reports.len()).filter(|&i| !reports[i].too_small && reports[i].mcnemar.is_some()).collect();
    let p: Vec<f64> = judged.iter().filter_map(|&i| reports[i].mcnemar.as_ref().map(|m| m.p_value)).collect();
    for (&i, adjusted) in judged.iter().zip(correction.adjust(&p)) {
        if let Some(m) = reports[i].mcnemar.as_mut() {
            m.p_adjusted = Some(adjusted);
        }
    }
}

/// Sets `harm_rank` on judged groups and returns the worst group's name.
fn rank_by_harm(reports: &mut [GroupReport]) -> Option<String> {
    let mut judged: Vec<usize> = (0..reports.len()).filter(|&i| !reports[i].too_small).collect();
    let key = |r: &GroupReport| (r.metrics.accuracy_delta.unwrap_or(0.0), r.metrics.label_loyalty);
    judged.sort_by(|&a, &b| {
        let (ka, kb) = (key(&reports[a]), key(&reports[b]));
        ka.0.total_cmp(&kb.0).then(ka.1.total_cmp(&kb.1)).then(a.cmp(&b))
    });
    for (rank, &i) in judged.iter().enumerate() {
        reports[i].harm_rank = Some(rank + 1);
    }
    judged.first().map(|&i| reports[i].name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::subgroups::define_groups;

    fn comparison(t: usize, s: usize, gold: usize) -> ExampleComparison {
        ExampleComparison { teacher_label: t, student_label: s, gold: Some(gold), probability_loyalty: if t == s { 1.0 } else { 0.5 }, kl: 0.0 }
    }

    /// Group A (40 examples): the student breaks 8 the teacher got right. Group B (40): unchanged.
    /// Group C (5): too small to judge.
    fn data() -> (Vec<ExampleComparison>, Vec<Vec<String>>) {
        let mut cs = Vec::new();
        let mut attrs = Vec::new();
        for i in 0..40 {
            cs.push(if i < 8 {
                comparison(1, 0, 1)
            } else if i < 30 {
                comparison(1, 1, 1)
            } else {
                comparison(0, 0, 1)
            });
            attrs.push(vec!["A".to_string()]);
        }
        for i in 0..40 {
            cs.push(if i < 30 { comparison(1, 1, 1) } else { comparison(0, 0, 1) });
            attrs.push(vec!["B".to_string()]);
        }
        for _ in 0..5 {
            cs.push(comparison(1, 0, 1));
            attrs.push(vec!["C".to_string()]);
        }
        (cs, attrs)
    }

    #[test]
    fn hand_computed_group_metrics() {
        let (cs, attrs) = data();
        let groups = define_groups(&["g".to_string()], &attrs);
        let overall = cs.iter().collect::<FidelityAccumulator>().finish();
        let settings =
            SubgroupSettings { min_group_size: 30, bootstrap: BootstrapSettings { resamples: 200, confidence: 0.95, seed: 1 }, correction: Correction::Holm };
        let s = analyse(&cs, &overall, &groups, settings);
        let a = &s.groups[0];
        // A: teacher 30/40 right, student 22/40 -> delta -0.2; 8 of 13 disagreements overall.
        assert_eq!(a.metrics.teacher_accuracy, Some(0.75));
        assert_eq!(a.metrics.accuracy_delta, Some(22.0 / 40.0 - 0.75));
        assert!((a.disagreement_share.unwrap() - 8.0 / 13.0).abs() < 1e-12);
        assert!((a.representation.unwrap() - (8.0 / 13.0) / (40.0 / 85.0)).abs() < 1e-12);
        // Overall: teacher err 20/85, student err 33/85: relative change 13/20.
        // A: teacher err 10/40, student err 18/40: relative change 0.8. Amplification 0.8 / 0.65.
        assert!((a.amplification.unwrap() - 0.8 / (13.0 / 20.0)).abs() < 1e-12);
        assert_eq!(a.mcnemar.as_ref().unwrap().b, 8);
        assert!((a.mcnemar.as_ref().unwrap().p_value - 2.0 / 256.0).abs() < 1e-15);
        // Holm over the two judged groups (A: 2/256, B: 1): A -> 4/256.
        assert!((a.mcnemar.as_ref().unwrap().p_adjusted.unwrap() - 4.0 / 256.0).abs() < 1e-15);
        assert_eq!(a.harm_rank, Some(1));
        assert_eq!(s.worst_group.as_deref(), Some("g=A"));
        let c = &s.groups[2];
        assert!(c.too_small && c.intervals.is_none() && c.harm_rank.is_none());
        assert!(c.mcnemar.as_ref().unwrap().p_adjusted.is_none());
        assert_eq!(c.metrics.n, 5, "a small group is still reported");
        assert!(s.intervals.is_some() && a.intervals.is_some());
    }
}
