//! The noise section of a plan: which levels, on how many examples.

use super::PlanError;
use crate::cli::CompareArgs;
use crate::noise::level::{IMAGE_DEFAULTS, TENSOR_DEFAULTS, TEXT_DEFAULTS};
use crate::noise::NoiseLevel;
use crate::suite::SuiteNoise;
use serde::Serialize;
use std::path::PathBuf;

/// Examples in the noise sample when neither flag nor suite says.
pub const DEFAULT_EXAMPLES: usize = 1000;

/// Noise settings from flags and suite.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct NoiseSettings {
    /// Examples perturbed (a seeded sample of the data, the same for every model and level).
    pub examples: usize,
    pub seed: u64,
    pub levels: Vec<NoiseLevel>,
    /// `--noise-out`: where every noisy input is written (JSONL).
    #[serde(skip)]
    pub save: Option<PathBuf>,
}

/// Noise is on with `--noise`, `--noise-levels`, `--noise-examples N` (N > 0), `--noise-out` or
/// a suite's `[noise]` table, and off with `--no-noise` or 0 examples. `text`: the data is text;
/// `images`: image files.
pub(super) fn resolve(args: &CompareArgs, suite: Option<&SuiteNoise>, seed: u64, text: bool, images: bool) -> Result<Option<NoiseSettings>, PlanError> {
    let asked = args.noise || !args.noise_levels.is_empty() || args.noise_examples.is_some() || args.noise_out.is_some() || suite.is_some();
    let examples = args.noise_examples.or(suite.and_then(|s| s.examples)).unwrap_or(DEFAULT_EXAMPLES);
    if args.no_noise || !asked || examples == 0 {
        if let Some(out) = &args.noise_out {
            return Err(PlanError::Noise(format!("--noise-out {} writes the noisy inputs, but noise is off here; drop --no-noise (or --noise-examples 0)", out.display())));
        }
        return Ok(None);
    }
    let specs: Vec<String> = match (&args.noise_levels, suite.and_then(|s| s.levels.as_ref())) {
        (flags, _) if !flags.is_empty() => flags.clone(),
        (_, Some(levels)) => levels.clone(),
        _ => Vec::new(),
    };
    let mut levels = specs.iter().map(|s| NoiseLevel::parse(s).map_err(PlanError::Noise)).collect::<Result<Vec<_>, _>>()?;
    if levels.is_empty() {
        levels = if text {
            TEXT_DEFAULTS.to_vec()
        } else if images {
            IMAGE_DEFAULTS.to_vec()
        } else {
            TENSOR_DEFAULTS.to_vec()
        };
    }
    for level in &levels {
        if level.kind.for_text() != text || level.kind.for_images() != images {
            let (data, fix) = match (text, images) {
                (true, _) => ("text", "typos:RATE or dropout:RATE"),
                (_, true) => ("image files", "an image corruption such as gaussian_noise:3, gaussian_blur:2 or jpeg_compression:4"),
                _ => ("tensors", "gaussian:RATE"),
            };
            return Err(PlanError::Noise(format!("noise level {} does not apply: the data is {data}; use {fix}", level.spec())));
        }
    }
    let mut seen = Vec::new();
    for level in &levels {
        if seen.contains(&level.spec()) {
            return Err(PlanError::Noise(format!("noise level {} is given twice", level.spec())));
        }
        seen.push(level.spec());
    }
    Ok(Some(NoiseSettings { examples, seed, levels, save: args.noise_out.clone() }))
}
