//! Intervals of the paired 0/1 statistics (teacher and student accuracy, their difference, label
//! loyalty) from the outcome table alone.
//!
//! Each of these statistics is a function of how many resampled examples fall in each cell of the
//! table teacher outcome (unlabelled, wrong, right) × student outcome (right, agrees with the
//! teacher). A row bootstrap of n examples draws those cell counts from a multinomial with n trials
//! and the observed cell shares, so drawing the counts directly gives the same distribution at a
//! cost per resample that does not grow with n: the teacher's margin first (3 cells), then each
//! student's cells within it (sequential exact binomials, `rand_distr`'s BTPE). The teacher's
//! margin comes from one stream per resample and every student continues from a copy of that
//! stream, so each student's intervals depend on the seed and its own data only, not on which
//! other students are compared, and the teacher's accuracy interval is the same beside every one.

use super::samples::{PairedSamples, AGREE, LABELLED, STUDENT_RIGHT, TEACHER_RIGHT};
use crate::stats::rng::Rng;
use rand_distr::{Binomial, Distribution};

/// Counts of one student's examples: `cells[t][u]`, `t` the teacher cell (0 unlabelled, 1 wrong,
/// 2 right), `u` = student right (bit 0) + agrees (bit 1).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OutcomeTable {
    cells: [[u64; 4]; 3],
}

fn teacher_cell(shared: u8) -> usize {
    match (shared & LABELLED != 0, shared & TEACHER_RIGHT != 0) {
        (false, _) => 0,
        (true, false) => 1,
        (true, true) => 2,
    }
}

impl OutcomeTable {
    /// The table of the examples at `members` (all when `None`).
    pub fn count(samples: &PairedSamples, members: Option<&[usize]>) -> Self {
        let mut t = Self::default();
        let mut add = |i: usize| {
            let f = samples.flags[i];
            let u = usize::from(f & STUDENT_RIGHT != 0) | (usize::from(f & AGREE != 0) << 1);
            t.cells[teacher_cell(samples.shared[i])][u] += 1;
        };
        match members {
            Some(m) => m.iter().for_each(|&i| add(i)),
            None => (0..samples.len()).for_each(add),
        }
        t
    }

    pub fn total(&self) -> u64 {
        self.cells.iter().flatten().sum()
    }

    pub fn labelled(&self) -> bool {
        self.cells[1].iter().chain(&self.cells[2]).any(|&c| c > 0)
    }

    fn teacher_margin(&self) -> [u64; 3] {
        self.cells.map(|row| row.iter().sum())
    }
}

/// `total` trials over cells with the given counts as weights, into `out` (same length).
pub(crate) fn multinomial(total: u64, weights: &[u64], out: &mut [u64], rng: &mut Rng) {
    let mut trials = total;
    let mut mass: u64 = weights.iter().sum();
    for (w, o) in weights.iter().zip(out.iter_mut()) {
        *o = match (*w, trials) {
            (0, _) | (_, 0) => 0,
            (w, t) if w == mass => t,
            // `w < mass` here, so p < 1; p > 0 as w > 0.
            (w, t) => Binomial::new(t, w as f64 / mass as f64).map_or(0, |b| b.sample(rng)),
        };
        trials -= *o;
        mass -= *w;
    }
}

/// One resample's 0/1 statistics for one student: teacher accuracy, student accuracy, their
/// difference and label loyalty (accuracies NaN when no labelled example is drawn, as in a row
/// resample).
pub type Counts01 = [f64; 4];

/// Draws the teacher's margin of one resample; `rng` then continues for the students.
pub fn draw_teacher(table: &OutcomeTable, rng: &mut Rng) -> [u64; 3] {
    let mut teacher = [0u64; 3];
    multinomial(table.total(), &table.teacher_margin(), &mut teacher, rng);
    teacher
}

/// One student's statistics given the resample's teacher margin, from a copy of the stream.
pub fn draw_student(table: &OutcomeTable, teacher: [u64; 3], mut rng: Rng) -> Counts01 {
    let (mut student_right, mut agree) = (0u64, 0u64);
    for (t, &count) in teacher.iter().enumerate() {
        let mut sub = [0u64; 4];
        multinomial(count, &table.cells[t], &mut sub, &mut rng);
        student_right += sub[1] + sub[3];
        agree += sub[2] + sub[3];
    }
    let labelled = (teacher[1] + teacher[2]) as f64;
    let n = table.total() as f64;
    let (t_acc, s_acc) = (teacher[2] as f64 / labelled, student_right as f64 / labelled);
    [t_acc, s_acc, s_acc - t_acc, agree as f64 / n]
}
