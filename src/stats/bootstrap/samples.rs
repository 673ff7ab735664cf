//! What the bootstrap keeps of each example, stored by column.

/// One example as the bootstrap sees it, for one student.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairedSample {
    /// `None` for unlabelled examples.
    pub teacher_correct: Option<bool>,
    pub student_correct: Option<bool>,
    pub agree: bool,
    pub probability_loyalty: f64,
}

/// Bits of the per-student flag byte.
pub(super) const STUDENT_RIGHT: u8 = 1;
pub(super) const AGREE: u8 = 2;
/// Bits of the shared (teacher) flag byte.
pub(super) const TEACHER_RIGHT: u8 = 1;
pub(super) const LABELLED: u8 = 2;

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
    pub(super) shared: Vec<u8>,
    /// Student flags (right, agrees with the teacher).
    pub(super) flags: Vec<u8>,
    pub(super) loyalty: Vec<f64>,
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

    /// The three columns (teacher flags, student flags, loyalty), for a part file.
    pub fn columns(&self) -> (&[u8], &[u8], &[f64]) {
        (&self.shared, &self.flags, &self.loyalty)
    }

    /// Samples from the three columns of [`Self::columns`]; `None` when their lengths differ.
    pub fn from_columns(shared: Vec<u8>, flags: Vec<u8>, loyalty: Vec<f64>) -> Option<Self> {
        (shared.len() == loyalty.len() && flags.len() == loyalty.len()).then_some(Self { shared, flags, loyalty })
    }

    /// `n` placeholder examples, to be overwritten by [`Self::write_at`].
    pub fn with_len(n: usize) -> Self {
        Self { shared: vec![0; n], flags: vec![0; n], loyalty: vec![0.0; n] }
    }

    /// Puts `part`'s examples at `offset..offset + part.len()` (a merge places each shard's rows).
    pub fn write_at(&mut self, offset: usize, part: &Self) {
        let end = offset + part.len();
        self.shared[offset..end].copy_from_slice(&part.shared);
        self.flags[offset..end].copy_from_slice(&part.flags);
        self.loyalty[offset..end].copy_from_slice(&part.loyalty);
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
