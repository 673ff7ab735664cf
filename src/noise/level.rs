//! A noise level: which perturbation, at which rate. Written `KIND:RATE` on the command line and
//! in suites (`typos:0.05`, `dropout:0.1`, `gaussian:0.25`).

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoiseKind {
    /// Text: keyboard slips on each letter with probability `rate` ([`super::text::characters`]).
    Typos,
    /// Text: each word dropped with probability `rate` ([`super::text::word_dropout`]).
    Dropout,
    /// Tensors: Gaussian noise of `rate` times the data's standard deviation ([`super::tensor`]).
    Gaussian,
    /// Images: ImageNet-C corruptions at severity `rate` (1-5), on the pixels ([`super::image`]).
    GaussianNoise,
    ShotNoise,
    GaussianBlur,
    Brightness,
    Contrast,
    JpegCompression,
    Pixelate,
}

const IMAGE_KINDS: [NoiseKind; 7] =
    [NoiseKind::GaussianNoise, NoiseKind::ShotNoise, NoiseKind::GaussianBlur, NoiseKind::Brightness, NoiseKind::Contrast, NoiseKind::JpegCompression, NoiseKind::Pixelate];

impl NoiseKind {
    /// Every kind, text first, then tensors, then image corruptions (the report's chart order).
    pub const ALL: [NoiseKind; 10] = [
        NoiseKind::Typos,
        NoiseKind::Dropout,
        NoiseKind::Gaussian,
        NoiseKind::GaussianNoise,
        NoiseKind::ShotNoise,
        NoiseKind::GaussianBlur,
        NoiseKind::Brightness,
        NoiseKind::Contrast,
        NoiseKind::JpegCompression,
        NoiseKind::Pixelate,
    ];

    pub fn name(self) -> &'static str {
        match self {
            NoiseKind::Typos => "typos",
            NoiseKind::Dropout => "dropout",
            NoiseKind::Gaussian => "gaussian",
            NoiseKind::GaussianNoise => "gaussian_noise",
            NoiseKind::ShotNoise => "shot_noise",
            NoiseKind::GaussianBlur => "gaussian_blur",
            NoiseKind::Brightness => "brightness",
            NoiseKind::Contrast => "contrast",
            NoiseKind::JpegCompression => "jpeg_compression",
            NoiseKind::Pixelate => "pixelate",
        }
    }

    pub fn for_text(self) -> bool {
        matches!(self, NoiseKind::Typos | NoiseKind::Dropout)
    }

    /// An ImageNet-C corruption of image files (its rate is a severity, 1-5).
    pub fn for_images(self) -> bool {
        IMAGE_KINDS.contains(&self)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct NoiseLevel {
    pub kind: NoiseKind,
    /// A probability for typos and dropout; a multiple of the standard deviation for Gaussian noise.
    pub rate: f64,
}

/// The levels `--noise` runs when none are named: light to heavy, for text and for tensors.
pub const TEXT_DEFAULTS: [NoiseLevel; 4] = [
    NoiseLevel { kind: NoiseKind::Typos, rate: 0.05 },
    NoiseLevel { kind: NoiseKind::Typos, rate: 0.15 },
    NoiseLevel { kind: NoiseKind::Dropout, rate: 0.1 },
    NoiseLevel { kind: NoiseKind::Dropout, rate: 0.25 },
];
/// Image files: every ImageNet-C corruption at the middle severity.
pub const IMAGE_DEFAULTS: [NoiseLevel; 7] = [
    NoiseLevel { kind: NoiseKind::GaussianNoise, rate: 3.0 },
    NoiseLevel { kind: NoiseKind::ShotNoise, rate: 3.0 },
    NoiseLevel { kind: NoiseKind::GaussianBlur, rate: 3.0 },
    NoiseLevel { kind: NoiseKind::Brightness, rate: 3.0 },
    NoiseLevel { kind: NoiseKind::Contrast, rate: 3.0 },
    NoiseLevel { kind: NoiseKind::JpegCompression, rate: 3.0 },
    NoiseLevel { kind: NoiseKind::Pixelate, rate: 3.0 },
];
pub const TENSOR_DEFAULTS: [NoiseLevel; 3] = [
    NoiseLevel { kind: NoiseKind::Gaussian, rate: 0.1 },
    NoiseLevel { kind: NoiseKind::Gaussian, rate: 0.25 },
    NoiseLevel { kind: NoiseKind::Gaussian, rate: 0.5 },
];

impl NoiseLevel {
    /// `KIND:RATE`, e.g. `typos:0.05`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let usage = "write KIND:RATE with KIND typos, dropout (text), gaussian (tensors) or an image corruption (gaussian_noise, shot_noise, gaussian_blur, brightness, contrast, jpeg_compression, pixelate, at severity 1-5), e.g. typos:0.05, gaussian:0.25 or pixelate:3";
        let (kind, rate) = spec.split_once(':').ok_or_else(|| format!("noise level '{spec}': {usage}"))?;
        let kind = match kind.trim() {
            "typos" => NoiseKind::Typos,
            "dropout" => NoiseKind::Dropout,
            "gaussian" => NoiseKind::Gaussian,
            other => match IMAGE_KINDS.iter().find(|k| k.name() == other) {
                Some(&k) => k,
                None => return Err(format!("noise level '{spec}': unknown kind '{other}'; {usage}")),
            },
        };
        let rate: f64 = rate.trim().parse().map_err(|_| format!("noise level '{spec}': '{}' is not a number; {usage}", rate.trim()))?;
        if kind.for_images() && !(rate.fract() == 0.0 && (1.0..=5.0).contains(&rate)) {
            return Err(format!("noise level '{spec}': the severity of {} is a whole number from 1 to 5", kind.name()));
        }
        let ceiling = if kind.for_text() { 1.0 } else { f64::INFINITY };
        if !(rate.is_finite() && (0.0..=ceiling).contains(&rate)) {
            let range = if kind.for_text() { "a probability between 0 and 1" } else { "a non-negative multiple of the standard deviation" };
            return Err(format!("noise level '{spec}': the rate of {} must be {range}", kind.name()));
        }
        Ok(Self { kind, rate })
    }

    /// `typos:0.05`, as it is written.
    pub fn spec(&self) -> String {
        format!("{}:{}", self.kind.name(), self.rate)
    }

    /// For people: "typos 5%", "dropout 10%", "gaussian 0.25σ".
    pub fn label(&self) -> String {
        match self.kind {
            NoiseKind::Gaussian => format!("gaussian {}σ", self.rate),
            kind if kind.for_images() => format!("{} {}", kind.name().replace('_', " "), self.rate),
            kind => format!("{} {}%", kind.name(), (self.rate * 1e4).round() / 1e2),
        }
    }

    /// Identifies the level's noise stream: the same level gives the same noisy inputs whatever
    /// other levels run beside it.
    pub fn key(&self) -> u64 {
        let kind = match self.kind {
            NoiseKind::Typos => 1u64,
            NoiseKind::Dropout => 2,
            NoiseKind::Gaussian => 3,
            NoiseKind::GaussianNoise => 4,
            NoiseKind::ShotNoise => 5,
            NoiseKind::GaussianBlur => 6,
            NoiseKind::Brightness => 7,
            NoiseKind::Contrast => 8,
            NoiseKind::JpegCompression => 9,
            NoiseKind::Pixelate => 10,
        };
        self.rate.to_bits() ^ kind.wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_parse_print_and_refuse() {
        let l = NoiseLevel::parse("typos:0.05").unwrap();
        assert_eq!((l.kind, l.rate, l.spec(), l.label()), (NoiseKind::Typos, 0.05, "typos:0.05".to_string(), "typos 5%".to_string()));
        assert_eq!(NoiseLevel::parse(" gaussian : 2").unwrap().label(), "gaussian 2σ");
        for bad in ["typos", "blur:0.1", "typos:x", "dropout:1.5", "gaussian:-1", "typos:NaN"] {
            assert!(NoiseLevel::parse(bad).is_err(), "{bad}");
        }
        assert_ne!(NoiseLevel::parse("typos:0.1").unwrap().key(), NoiseLevel::parse("dropout:0.1").unwrap().key());
        assert_eq!(NoiseLevel::parse("jpeg_compression:2").unwrap().label(), "jpeg compression 2");
        for bad in ["pixelate:0", "pixelate:6", "contrast:2.5"] {
            assert!(NoiseLevel::parse(bad).unwrap_err().contains("1 to 5"), "{bad}");
        }
    }
}
