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
}

impl NoiseKind {
    pub fn name(self) -> &'static str {
        match self {
            NoiseKind::Typos => "typos",
            NoiseKind::Dropout => "dropout",
            NoiseKind::Gaussian => "gaussian",
        }
    }

    pub fn for_text(self) -> bool {
        self != NoiseKind::Gaussian
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
pub const TENSOR_DEFAULTS: [NoiseLevel; 3] = [
    NoiseLevel { kind: NoiseKind::Gaussian, rate: 0.1 },
    NoiseLevel { kind: NoiseKind::Gaussian, rate: 0.25 },
    NoiseLevel { kind: NoiseKind::Gaussian, rate: 0.5 },
];

impl NoiseLevel {
    /// `KIND:RATE`, e.g. `typos:0.05`.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let usage = "write KIND:RATE with KIND typos, dropout (text) or gaussian (tensors), e.g. typos:0.05 or gaussian:0.25";
        let (kind, rate) = spec.split_once(':').ok_or_else(|| format!("noise level '{spec}': {usage}"))?;
        let kind = match kind.trim() {
            "typos" => NoiseKind::Typos,
            "dropout" => NoiseKind::Dropout,
            "gaussian" => NoiseKind::Gaussian,
            other => return Err(format!("noise level '{spec}': unknown kind '{other}'; {usage}")),
        };
        let rate: f64 = rate.trim().parse().map_err(|_| format!("noise level '{spec}': '{}' is not a number; {usage}", rate.trim()))?;
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
    }
}
