//! Paired bootstrap confidence intervals, percentile method.
//!
//! "Paired": every resample draws examples, and the teacher's and the student's outcomes on a drawn
//! example are taken together, so the interval of the accuracy difference reflects the pairing.
//! All students share the same resampled examples too, so their intervals are comparable.
//! Resample `k` uses random stream `k` of the seed: the result does not depend on thread count.
//!
//! Cost: `resamples × n` random draws plus one sequential pass per student per resample;
//! parallel over resamples with rayon. See `benches/bootstrap.rs` for measured throughput.

use super::quantile::quantile_sorted;
use super::rng::Rng;
use rayon::prelude::*;
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct BootstrapSettings {
    pub resamples: usize,
    /// Two-sided confidence level, e.g. 0.95.
    pub confidence: f64,
    pub seed: u64,
}

impl Default for BootstrapSettings {
    fn default() -> Self {
        Self { resamples: 1000, confidence: 0.95, seed: 0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Interval {
    pub lower: f64,
    pub upper: f64,
}

impl Interval {
    pub fn contains(&self, x: f64) -> bool {
        self.lower <= x && x <= self.upper
    }
}

/// One example as the bootstrap sees it, for one student.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedSample {
    /// `None` for unlabelled examples.
    pub teacher_correct: Option<bool>,
    pub student_correct: Option<bool>,
    pub agree: bool,
    pub probability_loyalty: f64,
}

/// Intervals for one student.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct PairedIntervals {
    pub teacher_accuracy: Option<Interval>,
    pub student_accuracy: Option<Interval>,
    pub accuracy_delta: Option<Interval>,
    pub label_loyalty: Interval,
    pub probability_loyalty: Interval,
}

/// Bits of the per-student flag byte.
const STUDENT_RIGHT: u8 = 1;
const AGREE: u8 = 2;
/// Bits of the shared (teacher) flag byte.
const TEACHER_RIGHT: u8 = 1;
const LABELLED: u8 = 2;

fn student_flags(s: &PairedSample) -> u8 {
    (if s.student_correct == Some(true) { STUDENT_RIGHT } else { 0 }) | (if s.agree { AGREE } else { 0 })
}

fn shared_flags(s: &PairedSample) -> u8 {
    (if s.teacher_correct == Some(true) { TEACHER_RIGHT } else { 0 }) | (if s.teacher_correct.is_some() { LABELLED } else { 0 })
}

/// One student's samples stored by column: 10 bytes per example (a [`PairedSample`] takes 16), so
/// a streamed evaluation can keep every example's outcome for the bootstrap.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PairedSamples {
    /// Teacher flags (right, labelled).
    shared: Vec<u8>,
    /// Student flags (right, agrees with the teacher).
    flags: Vec<u8>,
    loyalty: Vec<f64>,
}

impl PairedSamples {
    pub fn push(&mut self, s: &PairedSample) {
        self.shared.push(shared_flags(s));
        self.flags.push(student_flags(s));
        self.loyalty.push(s.probability_loyalty);
    }

    pub fn len(&self) -> usize {
        self.loyalty.len()
    }

    pub fn is_empty(&self) -> bool {
        self.loyalty.is_empty()
    }

    /// Example `i`'s sample back.
    pub fn get(&self, i: usize) -> PairedSample {
        let (t, f) = (self.shared[i], self.flags[i]);
        let labelled = t & LABELLED != 0;
        PairedSample {
            teacher_correct: labelled.then_some(t & TEACHER_RIGHT != 0),
            student_correct: labelled.then_some(f & STUDENT_RIGHT != 0),
            agree: f & AGREE != 0,
            probability_loyalty: self.loyalty[i],
        }
    }

    /// The examples at `members`, in that order.
    pub fn subset(&self, members: impl Iterator<Item = usize>) -> Self {
        let mut out = Self::default();
        for i in members {
            out.shared.push(self.shared[i]);
            out.flags.push(self.flags[i]);
            out.loyalty.push(self.loyalty[i]);
        }
        out
    }

    /// Every example's probability loyalty, in order.
    pub fn loyalties(&self) -> &[f64] {
        &self.loyalty
    }
}

impl FromIterator<PairedSample> for PairedSamples {
    fn from_iter<I: IntoIterator<Item = PairedSample>>(iter: I) -> Self {
        let mut out = Self::default();
        iter.into_iter().for_each(|s| out.push(&s));
        out
    }
}

/// Five statistics per student for one resample.
const STATS: usize = 5;

/// One resample. Instead of gathering a random row per draw, it counts how often each example
/// is drawn (random increments into a small, cache-resident array) and then makes one sequential,
/// vectorisable pass weighting every example by its count: the same resample, several times faster.
///
/// Counts are u16: one example drawn more than 65,535 times out of n draws has probability below
/// 10^-300000 for any n where that is possible at all.
fn one_resample(data: &[&PairedSamples], rng: &mut Rng, counts: &mut [u16], out: &mut [f64]) {
    let n = data[0].len();
    counts.iter_mut().for_each(|c| *c = 0);
    for _ in 0..n / 2 {
        let (i, j) = rng.two_below(n as u32);
        counts[i as usize] += 1;
        counts[j as usize] += 1;
    }
    if n % 2 == 1 {
        counts[rng.two_below(n as u32).0 as usize] += 1;
    }
    // The teacher's correctness and the labels are the same for every student: one pass.
    let (mut t, mut l) = (0u32, 0u32);
    for (&c, &f) in counts.iter().zip(&data[0].shared) {
        let (c, f) = (c as u32, f as u32);
        t += c * (f & 1);
        l += c * (f >> 1);
    }
    let (t_acc, n_f) = (t as f64 / l as f64, n as f64);
    for (s, (flags, loyalty)) in data.iter().map(|d| (&d.flags, &d.loyalty)).enumerate() {
        // u32 sums: every sum is at most n (the total of the counts), and u32 lanes vectorise.
        let (mut st, mut a) = (0u32, 0u32);
        let mut loyal = 0.0f64;
        for ((&c, &f), &y) in counts.iter().zip(flags).zip(loyalty) {
            let (c, f) = (c as u32, f as u32);
            st += c * (f & 1);
            a += c * (f >> 1);
            loyal += c as f64 * y;
        }
        // With no labelled example drawn, accuracies are NaN; callers only read them for labelled data.
        let s_acc = st as f64 / l as f64;
        out[s * STATS..(s + 1) * STATS].copy_from_slice(&[t_acc, s_acc, s_acc - t_acc, a as f64 / n_f, loyal / n_f]);
    }
}

fn interval(values: &mut [f64], confidence: f64) -> Interval {
    values.sort_by(f64::total_cmp);
    let alpha = 1.0 - confidence;
    Interval { lower: quantile_sorted(values, alpha / 2.0), upper: quantile_sorted(values, 1.0 - alpha / 2.0) }
}

/// Bootstrap intervals for several students over the same examples: `students[s][i]` is example
/// `i` for student `s`; every inner vector has the same length `n > 0`.
pub fn paired_bootstrap(students: &[Vec<PairedSample>], settings: BootstrapSettings) -> Vec<PairedIntervals> {
    let columns: Vec<PairedSamples> = students.iter().map(|v| v.iter().copied().collect()).collect();
    paired_bootstrap_samples(&columns.iter().collect::<Vec<_>>(), settings)
}

/// [`paired_bootstrap`] over column-stored samples; every student's samples cover the same examples
/// (the teacher's flags are read from the first).
pub fn paired_bootstrap_samples(students: &[&PairedSamples], settings: BootstrapSettings) -> Vec<PairedIntervals> {
    let count = students.len();
    let n = students.first().map_or(0, |s| s.len());
    assert!(n <= u32::MAX as usize, "the bootstrap takes at most 2^32 - 1 examples per group");
    if count == 0 || n == 0 || settings.resamples == 0 {
        return vec![];
    }
    let labelled = students[0].shared.iter().any(|&f| f & LABELLED != 0);
    let per_resample: Vec<Vec<f64>> = (0..settings.resamples)
        .into_par_iter()
        .map_init(
            || vec![0u16; n],
            |counts, r| {
                let mut rng = Rng::stream(settings.seed, r as u64);
                let mut out = vec![0.0; count * STATS];
                one_resample(students, &mut rng, counts, &mut out);
                out
            },
        )
        .collect();
    (0..count)
        .map(|s| {
            let column = |k: usize| -> Vec<f64> { per_resample.iter().map(|r| r[s * STATS + k]).collect() };
            let maybe = |k: usize| labelled.then(|| interval(&mut column(k), settings.confidence));
            let teacher_accuracy = maybe(0);
            let student_accuracy = maybe(1);
            let accuracy_delta = maybe(2);
            PairedIntervals {
                teacher_accuracy,
                student_accuracy,
                accuracy_delta,
                label_loyalty: interval(&mut column(3), settings.confidence),
                probability_loyalty: interval(&mut column(4), settings.confidence),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t: bool, s: bool, loyalty: f64) -> PairedSample {
        PairedSample { teacher_correct: Some(t), student_correct: Some(s), agree: t == s, probability_loyalty: loyalty }
    }

    #[test]
    fn column_storage_gives_back_every_sample() {
        let all: Vec<PairedSample> = [None, Some(false), Some(true)]
            .into_iter()
            .flat_map(|t| [false, true].into_iter().flat_map(move |s| [false, true].into_iter().map(move |a| (t, s, a))))
            .enumerate()
            .map(|(i, (t, s, agree))| PairedSample { teacher_correct: t, student_correct: t.map(|_| s), agree, probability_loyalty: i as f64 / 7.0 })
            .collect();
        let stored: PairedSamples = all.iter().copied().collect();
        assert_eq!((0..all.len()).map(|i| stored.get(i)).collect::<Vec<_>>(), all);
        let some = stored.subset([3, 0, 7].into_iter());
        assert_eq!(some.len(), 3);
        assert_eq!((some.get(0), some.get(1), some.get(2)), (all[3], all[0], all[7]));
        assert_eq!(some.loyalties(), &[3.0 / 7.0, 0.0, 1.0]);
    }

    #[test]
    fn same_seed_same_intervals_and_seed_matters() {
        let data: Vec<PairedSample> = (0..500).map(|i| sample(i % 3 != 0, i % 4 != 0, (i % 10) as f64 / 10.0)).collect();
        let settings = BootstrapSettings { resamples: 300, confidence: 0.95, seed: 42 };
        let a = paired_bootstrap(std::slice::from_ref(&data), settings);
        let b = paired_bootstrap(std::slice::from_ref(&data), settings);
        assert_eq!(a, b);
        let c = paired_bootstrap(&[data], BootstrapSettings { seed: 43, ..settings });
        assert_ne!(a, c);
    }

    #[test]
    fn intervals_bracket_the_point_estimate_and_constant_data_is_degenerate() {
        let data: Vec<PairedSample> = (0..400).map(|i| sample(i % 2 == 0, i % 5 != 0, 0.5 + (i % 7) as f64 / 20.0)).collect();
        let r = &paired_bootstrap(std::slice::from_ref(&data), BootstrapSettings { resamples: 500, ..Default::default() })[0];
        let acc = data.iter().filter(|s| s.student_correct == Some(true)).count() as f64 / 400.0;
        assert!(r.student_accuracy.unwrap().contains(acc));
        assert!(r.label_loyalty.upper > r.label_loyalty.lower);
        let constant: Vec<PairedSample> = (0..50).map(|_| sample(true, true, 1.0)).collect();
        let r = &paired_bootstrap(&[constant], BootstrapSettings { resamples: 100, ..Default::default() })[0];
        assert_eq!(r.label_loyalty, Interval { lower: 1.0, upper: 1.0 });
        assert_eq!(r.accuracy_delta.unwrap(), Interval { lower: 0.0, upper: 0.0 });
    }

    #[test]
    fn unlabelled_samples_have_no_accuracy_intervals() {
        let data: Vec<PairedSample> =
            (0..40).map(|i| PairedSample { teacher_correct: None, student_correct: None, agree: i % 3 != 0, probability_loyalty: 0.9 }).collect();
        let r = &paired_bootstrap(&[data], BootstrapSettings { resamples: 50, ..Default::default() })[0];
        assert!(r.teacher_accuracy.is_none() && r.accuracy_delta.is_none());
    }

    /// Over 1,000 synthetic datasets with known agreement rate 0.9, the 95 % interval for label
    /// loyalty covers the truth between 93 % and 97 % of the time.
    #[test]
    fn label_loyalty_interval_has_nominal_coverage() {
        let truth = 0.9;
        let n = 400;
        let mut data_rng = Rng::new(2024);
        let mut covered = 0;
        for draw in 0..1000u64 {
            let data: Vec<PairedSample> = (0..n)
                .map(|_| {
                    let agree = data_rng.unit() < truth;
                    PairedSample { teacher_correct: Some(true), student_correct: Some(agree), agree, probability_loyalty: 1.0 }
                })
                .collect();
            let settings = BootstrapSettings { resamples: 400, confidence: 0.95, seed: draw };
            let r = &paired_bootstrap(&[data], settings)[0];
            covered += usize::from(r.label_loyalty.contains(truth));
        }
        assert!((930..=970).contains(&covered), "coverage {covered} / 1000");
    }
}
