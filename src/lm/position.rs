//! What the teacher and a student say about one position: the per-position metrics, computed in
//! f64 from the two models' logits (the f32 each returned, f16 widened exactly).
//!
//! With `p = softmax(teacher)`, `q = softmax(student)` and `y` the target (the next token):
//! KL(p‖q) = Σ p ln(p/q) (llama.cpp's KLD, base model first), KL(q‖p), JS = ½KL(p‖m) + ½KL(q‖m)
//! with m = (p + q)/2 (natural log; reports convert to the run's base), NLL = −ln p(y), Δp =
//! q(y) − p(y), and each model's top-1 token (the first of equal maxima, as llama.cpp takes it).

/// The metrics of one scored position for one student.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Position {
    pub kl_teacher_student: f64,
    pub kl_student_teacher: f64,
    /// Jensen–Shannon divergence in nats.
    pub js: f64,
    pub nll_teacher: f64,
    pub nll_student: f64,
    pub top_teacher: u32,
    pub top_student: u32,
    pub target: u32,
    /// The teacher's entropy −Σ p ln p, nats: how sure the teacher is.
    pub teacher_entropy: f64,
}

impl Position {
    /// Δp = q(y) − p(y).
    pub fn delta_p(&self) -> f64 {
        (-self.nll_student).exp() - (-self.nll_teacher).exp()
    }

    pub fn same_top(&self) -> bool {
        self.top_teacher == self.top_student
    }

    pub fn teacher_right(&self) -> bool {
        self.top_teacher == self.target
    }

    pub fn student_right(&self) -> bool {
        self.top_student == self.target
    }
}

/// `ln Σ exp(x)` in f64 and the index of the first maximum.
pub fn log_normaliser(logits: &[f32]) -> (f64, u32) {
    let (mut top, mut max) = (0usize, f32::NEG_INFINITY);
    for (i, &x) in logits.iter().enumerate() {
        if x > max {
            max = x;
            top = i;
        }
    }
    let max = f64::from(max);
    let sum: f64 = logits.iter().map(|&x| (f64::from(x) - max).exp()).sum();
    (max + sum.ln(), top as u32)
}

/// The teacher's row, normalised once and shared by every student.
pub struct TeacherRow<'a> {
    pub logits: &'a [f32],
    pub log_normaliser: f64,
    pub top: u32,
}

impl<'a> TeacherRow<'a> {
    pub fn new(logits: &'a [f32]) -> Self {
        let (log_normaliser, top) = log_normaliser(logits);
        Self { logits, log_normaliser, top }
    }
}

/// The metrics at one position; `None` when either row holds a NaN or an infinity.
pub fn position(teacher: &TeacherRow, student: &[f32], target: u32) -> Option<Position> {
    debug_assert_eq!(teacher.logits.len(), student.len());
    if !teacher.log_normaliser.is_finite() || teacher.logits.iter().chain(student).any(|x| !x.is_finite()) {
        return None;
    }
    let (student_normaliser, top_student) = log_normaliser(student);
    let (mut kl_ts, mut kl_st, mut js, mut entropy) = (0.0, 0.0, 0.0, 0.0);
    for (&t, &s) in teacher.logits.iter().zip(student) {
        let lp = f64::from(t) - teacher.log_normaliser;
        let lq = f64::from(s) - student_normaliser;
        let (p, q) = (lp.exp(), lq.exp());
        kl_ts += p * (lp - lq);
        entropy -= p * lp;
        kl_st += q * (lq - lp);
        let m = 0.5 * (p + q);
        if m > 0.0 {
            let lm = m.ln();
            js += 0.5 * (p * (lp - lm) + q * (lq - lm));
        }
    }
    let y = target as usize;
    Some(Position {
        // Rounding can leave a divergence of identical rows a hair below zero.
        kl_teacher_student: kl_ts.max(0.0),
        kl_student_teacher: kl_st.max(0.0),
        js: js.max(0.0),
        nll_teacher: teacher.log_normaliser - f64::from(teacher.logits[y]),
        nll_student: student_normaliser - f64::from(student[y]),
        top_teacher: teacher.top,
        top_student,
        target,
        teacher_entropy: entropy.max(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn softmax(x: &[f32]) -> Vec<f64> {
        let (lse, _) = log_normaliser(x);
        x.iter().map(|&v| (f64::from(v) - lse).exp()).collect()
    }

    #[test]
    fn matches_the_divergence_functions_on_probabilities() {
        let t = [1.0f32, -2.0, 0.5, 3.0];
        let s = [0.8f32, -1.0, 0.7, 2.5];
        let row = TeacherRow::new(&t);
        let got = position(&row, &s, 2).unwrap();
        let (p, q) = (softmax(&t), softmax(&s));
        use crate::metrics::divergence::{js_divergence, kl_divergence};
        approx::assert_relative_eq!(got.kl_teacher_student, kl_divergence(&p, &q), epsilon = 1e-14);
        approx::assert_relative_eq!(got.kl_student_teacher, kl_divergence(&q, &p), epsilon = 1e-14);
        approx::assert_relative_eq!(got.js, js_divergence(&p, &q, crate::metrics::LogBase::E), epsilon = 1e-14);
        approx::assert_relative_eq!(got.nll_teacher, -p[2].ln(), epsilon = 1e-14);
        approx::assert_relative_eq!(got.delta_p(), q[2] - p[2], epsilon = 1e-14);
        approx::assert_relative_eq!(got.teacher_entropy, -p.iter().map(|x| x * x.ln()).sum::<f64>(), epsilon = 1e-14);
        assert_eq!((got.top_teacher, got.top_student), (3, 3));
    }

    #[test]
    fn ties_take_the_first_maximum_and_non_finite_rows_are_refused() {
        assert_eq!(log_normaliser(&[1.0, 3.0, 3.0]).1, 1);
        let row = TeacherRow::new(&[0.0, 1.0]);
        assert!(position(&row, &[f32::NAN, 0.0], 0).is_none());
        assert!(position(&row, &[f32::INFINITY, 0.0], 0).is_none());
    }

    proptest! {
        #[test]
        fn divergences_are_bounded_and_zero_on_equal_rows(t in prop::collection::vec(-30f32..30.0, 2..40), s_shift in prop::collection::vec(-5f32..5.0, 40), target in 0usize..40) {
            let s: Vec<f32> = t.iter().zip(&s_shift).map(|(a, b)| a + b).collect();
            let y = (target % t.len()) as u32;
            let row = TeacherRow::new(&t);
            let same = position(&row, &t, y).unwrap();
            prop_assert!(same.kl_teacher_student < 1e-12 && same.js < 1e-12 && same.delta_p().abs() < 1e-15);
            let p = position(&row, &s, y).unwrap();
            prop_assert!(p.kl_teacher_student >= 0.0 && p.kl_student_teacher >= 0.0);
            prop_assert!(p.js <= std::f64::consts::LN_2 + 1e-12);
            prop_assert!(p.teacher_entropy >= 0.0 && p.teacher_entropy <= (t.len() as f64).ln() + 1e-9);
            // JS never exceeds either KL's half-mean bound: JS <= (KL(p||q) + KL(q||p)) / 4.
            prop_assert!(p.js <= (p.kl_teacher_student + p.kl_student_teacher) / 4.0 + 1e-12);
            prop_assert!(p.nll_teacher >= 0.0 && p.nll_student >= 0.0);
        }
    }
}
