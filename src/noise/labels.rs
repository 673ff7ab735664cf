//! Every model's clean and noisy labels on the noise sample's members: what the noise results are
//! computed from, kept by a shard for its members and concatenated by a merge.

use super::robustness::{compare, model_noise, Labels, ModelNoise, NoiseComparison};
use super::NoiseLevel;

/// What the noise stage keeps of the sample members a run (a shard: its slice) holds: every
/// model's clean and noisy labels, from which the results are computed (and a merge concatenates).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct NoiseLabels {
    /// Position in the sample of the first member held.
    pub first: usize,
    pub gold: Vec<Option<usize>>,
    /// Per model (teacher first), each member's clean label.
    pub clean: Vec<Vec<usize>>,
    /// Per level, per model, each member's noisy label.
    pub noisy: Vec<Vec<Vec<usize>>>,
}

impl NoiseLabels {
    /// Appends the members of `next`, the sample's next slice.
    pub fn extend(&mut self, next: NoiseLabels) {
        let cat = |a: &mut Vec<usize>, b: Vec<usize>| a.extend(b);
        self.gold.extend(next.gold);
        if self.clean.is_empty() {
            (self.clean, self.noisy) = (next.clean, next.noisy);
            return;
        }
        self.clean.iter_mut().zip(next.clean).for_each(|(a, b)| cat(a, b));
        self.noisy.iter_mut().zip(next.noisy).for_each(|(a, b)| a.iter_mut().zip(b).for_each(|(x, y)| cat(x, y)));
    }

    /// Every model's results per level (teacher first), and every student's against the teacher.
    pub fn results(&self, levels: &[NoiseLevel], bootstrap: crate::stats::BootstrapSettings) -> (Vec<Vec<ModelNoise>>, Vec<Vec<NoiseComparison>>) {
        let models = self.clean.len();
        let (mut own, mut versus) = (vec![Vec::new(); models], vec![Vec::new(); models.saturating_sub(1)]);
        for (level, noisy) in levels.iter().zip(&self.noisy) {
            let of = |m: usize| Labels { clean: &self.clean[m], noisy: &noisy[m] };
            for (m, results) in own.iter_mut().enumerate() {
                results.push(model_noise(*level, &self.gold, of(m)));
            }
            for (s, results) in versus.iter_mut().enumerate() {
                results.push(compare(*level, &self.gold, of(0), of(s + 1), bootstrap));
            }
        }
        (own, versus)
    }
}

