//! How far one student tensor is from the teacher's, summed over batches as they stream.
//!
//! SQNR is ONNX Runtime's (`qdq_loss_debug.compute_signal_to_quantization_noice_ratio`):
//! 20·log10(max(‖x‖, ε) / max(‖x − y‖, ε)) over every element of every batch, x the teacher's
//! values, y the student's, ε = 2.22e-16 (float64's epsilon). Sums are float64 of float32 values,
//! so differences are exact. A pair with a NaN or an infinity on either side is counted and left
//! out of every sum (one NaN would otherwise turn every number into NaN and hide the rest).

use serde::{Deserialize, Serialize};

/// numpy's `finfo("float").eps`, the floor ONNX Runtime puts under both norms.
pub const EPSILON: f64 = f64::EPSILON;

/// SQNR in dB from squared norms, clamped as ONNX Runtime clamps them.
pub fn sqnr_db(signal_sq: f64, noise_sq: f64) -> f64 {
    20.0 * (signal_sq.sqrt().max(EPSILON) / noise_sq.sqrt().max(EPSILON)).log10()
}

/// Running sums for one matched tensor pair.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ErrorSums {
    pub teacher_sq: f64,
    pub student_sq: f64,
    pub diff_sq: f64,
    pub dot: f64,
    pub max_abs_diff: f64,
    /// Finite pairs summed.
    pub elements: u64,
    /// Element pairs with a NaN on either side (left out of the sums).
    pub nan: u64,
    /// Element pairs with an infinity on either side and no NaN (left out of the sums).
    pub inf: u64,
}

impl ErrorSums {
    /// Adds equal-length slices; returns false (and adds nothing) when the lengths differ.
    pub fn add(&mut self, teacher: &[f32], student: &[f32]) -> bool {
        if teacher.len() != student.len() {
            return false;
        }
        self.merge(&Self::of(teacher, student));
        true
    }

    /// The sums of one pair of equal-length slices.
    pub fn of(teacher: &[f32], student: &[f32]) -> Self {
        let fast = Self::finite(teacher, student);
        // A non-finite element makes a sum of squares non-finite (float32 squares cannot
        // overflow float64): only then are the elements looked at one by one.
        if fast.teacher_sq.is_finite() && fast.student_sq.is_finite() {
            fast
        } else {
            Self::checked(teacher, student)
        }
    }

    /// Eight independent lanes, so the compiler can keep them in vector registers. The lanes are
    /// in the source, so every instruction set sums the same way: AVX2 (when the CPU has it) gives
    /// the same bits as the baseline SSE2 build, twice as fast.
    fn finite(teacher: &[f32], student: &[f32]) -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { Self::finite_avx2(teacher, student) };
        }
        Self::lanes(teacher, student)
    }

    /// [`Self::lanes`] written with AVX2 intrinsics (the compiler does not vectorise the lanes
    /// well by itself): lane k still sums the elements whose index is k modulo 8, with separate
    /// multiplies and adds (no fused multiply-add), so the bits are the portable path's.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn finite_avx2(teacher: &[f32], student: &[f32]) -> Self {
        use std::arch::x86_64::*;
        let n = teacher.len().min(student.len());
        let whole = n / 8 * 8;
        let zero = _mm256_setzero_pd();
        let (mut tt, mut ss, mut dd, mut ts, mut mx) = ([zero; 2], [zero; 2], [zero; 2], [zero; 2], [zero; 2]);
        let abs = _mm256_castsi256_pd(_mm256_set1_epi64x(i64::MAX));
        let mut i = 0;
        while i < whole {
            // SAFETY: i + 8 <= whole <= both lengths; unaligned loads.
            let (a, b) = unsafe { (_mm256_loadu_ps(teacher.as_ptr().add(i)), _mm256_loadu_ps(student.as_ptr().add(i))) };
            let t = [_mm256_cvtps_pd(_mm256_castps256_ps128(a)), _mm256_cvtps_pd(_mm256_extractf128_ps(a, 1))];
            let s = [_mm256_cvtps_pd(_mm256_castps256_ps128(b)), _mm256_cvtps_pd(_mm256_extractf128_ps(b, 1))];
            for h in 0..2 {
                let d = _mm256_sub_pd(t[h], s[h]);
                tt[h] = _mm256_add_pd(tt[h], _mm256_mul_pd(t[h], t[h]));
                ss[h] = _mm256_add_pd(ss[h], _mm256_mul_pd(s[h], s[h]));
                dd[h] = _mm256_add_pd(dd[h], _mm256_mul_pd(d, d));
                ts[h] = _mm256_add_pd(ts[h], _mm256_mul_pd(t[h], s[h]));
                mx[h] = _mm256_max_pd(mx[h], _mm256_and_pd(d, abs));
            }
            i += 8;
        }
        let lanes = |v: [__m256d; 2]| {
            let mut out = [0f64; 8];
            // SAFETY: out holds 8 doubles; unaligned stores.
            unsafe {
                _mm256_storeu_pd(out.as_mut_ptr(), v[0]);
                _mm256_storeu_pd(out.as_mut_ptr().add(4), v[1]);
            }
            out
        };
        let mut acc = Lanes { tt: lanes(tt), ss: lanes(ss), dd: lanes(dd), ts: lanes(ts), mx: lanes(mx) };
        acc.add_tail(&teacher[whole..n], &student[whole..n]);
        acc.finish(n)
    }

    fn lanes(teacher: &[f32], student: &[f32]) -> Self {
        let mut acc = Lanes::default();
        let n = teacher.len().min(student.len());
        let whole = n / 8 * 8;
        for (a, b) in teacher[..whole].chunks_exact(8).zip(student[..whole].chunks_exact(8)) {
            acc.add_tail(a, b);
        }
        acc.add_tail(&teacher[whole..n], &student[whole..n]);
        acc.finish(n)
    }

    fn checked(teacher: &[f32], student: &[f32]) -> Self {
        let mut sums = Self::default();
        for (&t, &s) in teacher.iter().zip(student) {
            if t.is_nan() || s.is_nan() {
                sums.nan += 1;
                continue;
            }
            if t.is_infinite() || s.is_infinite() {
                sums.inf += 1;
                continue;
            }
            let (t, s) = (f64::from(t), f64::from(s));
            let d = t - s;
            sums.teacher_sq += t * t;
            sums.student_sq += s * s;
            sums.diff_sq += d * d;
            sums.dot += t * s;
            sums.max_abs_diff = sums.max_abs_diff.max(d.abs());
            sums.elements += 1;
        }
        sums
    }

    pub fn merge(&mut self, o: &Self) {
        self.teacher_sq += o.teacher_sq;
        self.student_sq += o.student_sq;
        self.diff_sq += o.diff_sq;
        self.dot += o.dot;
        self.max_abs_diff = self.max_abs_diff.max(o.max_abs_diff);
        self.elements += o.elements;
        self.nan += o.nan;
        self.inf += o.inf;
    }

    pub fn sqnr_db(&self) -> f64 {
        sqnr_db(self.teacher_sq, self.diff_sq)
    }

    /// ‖x − y‖ / ‖x‖; `None` when the teacher's tensor is all zeros.
    pub fn relative_l2(&self) -> Option<f64> {
        (self.teacher_sq > 0.0).then(|| (self.diff_sq / self.teacher_sq).sqrt())
    }

    /// x·y / (‖x‖‖y‖); `None` when either is all zeros.
    pub fn cosine(&self) -> Option<f64> {
        (self.teacher_sq > 0.0 && self.student_sq > 0.0).then(|| (self.dot / (self.teacher_sq.sqrt() * self.student_sq.sqrt())).clamp(-1.0, 1.0))
    }
}

/// Eight running sums of each kind: lane k takes the elements whose index is k modulo 8.
#[derive(Default)]
struct Lanes {
    tt: [f64; 8],
    ss: [f64; 8],
    dd: [f64; 8],
    ts: [f64; 8],
    mx: [f64; 8],
}

impl Lanes {
    /// Up to eight elements, the first into lane 0.
    fn add_tail(&mut self, teacher: &[f32], student: &[f32]) {
        for (k, (&t, &s)) in teacher.iter().zip(student).enumerate() {
            let (t, s) = (f64::from(t), f64::from(s));
            let d = t - s;
            self.tt[k] += t * t;
            self.ss[k] += s * s;
            self.dd[k] += d * d;
            self.ts[k] += t * s;
            if d.abs() > self.mx[k] {
                self.mx[k] = d.abs();
            }
        }
    }

    fn finish(&self, elements: usize) -> ErrorSums {
        ErrorSums {
            teacher_sq: self.tt.iter().sum(),
            student_sq: self.ss.iter().sum(),
            diff_sq: self.dd.iter().sum(),
            dot: self.ts.iter().sum(),
            max_abs_diff: self.mx.iter().copied().fold(0.0, f64::max),
            elements: elements as u64,
            nan: 0,
            inf: 0,
        }
    }
}

/// The summary a report row carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TensorError {
    /// 20·log10(‖teacher‖ / ‖teacher − student‖), ONNX Runtime's definition.
    pub sqnr_db: f64,
    pub relative_l2: Option<f64>,
    pub cosine: Option<f64>,
    pub max_abs_diff: f64,
    pub elements: u64,
    pub nan: u64,
    pub inf: u64,
}

impl From<&ErrorSums> for TensorError {
    fn from(s: &ErrorSums) -> Self {
        Self {
            sqnr_db: s.sqnr_db(),
            relative_l2: s.relative_l2(),
            cosine: s.cosine(),
            max_abs_diff: s.max_abs_diff,
            elements: s.elements,
            nan: s.nan,
            inf: s.inf,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn sqnr_follows_onnx_runtime_and_clamps_identical_tensors() {
        let mut s = ErrorSums::default();
        assert!(s.add(&[3.0, 4.0], &[3.0, 4.5]));
        // ‖x‖ = 5, ‖x − y‖ = 0.5: 20 dB.
        assert!((s.sqnr_db() - 20.0).abs() < 1e-12);
        assert!((s.relative_l2().unwrap() - 0.1).abs() < 1e-15);
        assert_eq!(s.max_abs_diff, 0.5);
        let mut same = ErrorSums::default();
        same.add(&[1.0], &[1.0]);
        assert!((same.sqnr_db() - 20.0 * (1.0 / EPSILON).log10()).abs() < 1e-9);
        assert!(!ErrorSums::default().add(&[1.0], &[1.0, 2.0]), "lengths must agree");
    }

    #[test]
    fn non_finite_pairs_are_counted_not_summed() {
        let mut s = ErrorSums::default();
        s.add(&[1.0, f32::NAN, 2.0, 1.0], &[1.0, 0.0, f32::INFINITY, 2.0]);
        assert_eq!((s.nan, s.inf, s.elements), (1, 1, 2));
        assert_eq!(s.diff_sq, 1.0);
    }

    #[test]
    fn the_vector_lanes_sum_what_the_checked_loop_sums() {
        let t: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin() * 3.0).collect();
        let s: Vec<f32> = t.iter().enumerate().map(|(i, x)| x + 0.01 * (i % 5) as f32).collect();
        let (fast, checked) = (ErrorSums::finite(&t, &s), ErrorSums::checked(&t, &s));
        assert_eq!(fast, ErrorSums::lanes(&t, &s), "every instruction set sums the same bits");
        assert!((fast.diff_sq - checked.diff_sq).abs() < 1e-12 * checked.diff_sq && (fast.dot - checked.dot).abs() < 1e-12 * checked.dot.abs());
        assert_eq!((fast.max_abs_diff, fast.elements), (checked.max_abs_diff, checked.elements));
    }

    proptest! {
        /// Summing batch by batch gives what one sum over everything gives, and the SQNR of a
        /// scaled pair does not depend on the scale.
        #[test]
        fn streaming_equals_one_pass(xs in prop::collection::vec(-100.0f32..100.0, 2..64), split in 1usize..63, noise in -1.0f32..1.0, scale_power in -6i32..6) {
            let ys: Vec<f32> = xs.iter().enumerate().map(|(i, x)| x + noise * (i as f32 % 3.0)).collect();
            let split = split.min(xs.len() - 1);
            let (mut whole, mut parts) = (ErrorSums::default(), ErrorSums::default());
            whole.add(&xs, &ys);
            parts.add(&xs[..split], &ys[..split]);
            parts.add(&xs[split..], &ys[split..]);
            prop_assert!((whole.sqnr_db() - parts.sqnr_db()).abs() < 1e-9);
            // A power of two scales float32 values exactly, so only the sums' rounding differs.
            let scale = 2f32.powi(scale_power);
            let sx: Vec<f32> = xs.iter().map(|x| x * scale).collect();
            let sy: Vec<f32> = ys.iter().map(|y| y * scale).collect();
            let mut scaled = ErrorSums::default();
            scaled.add(&sx, &sy);
            // Away from the epsilon floor, which does not scale.
            if whole.diff_sq > 1e-12 && whole.teacher_sq > 1e-12 {
                prop_assert!((scaled.sqnr_db() - whole.sqnr_db()).abs() < 1e-9);
            }
            if let Some(c) = whole.cosine() {
                prop_assert!((-1.0..=1.0).contains(&c));
            }
        }
    }
}
