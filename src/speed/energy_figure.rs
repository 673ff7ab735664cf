//! Energy per example at one batch size, from the joules an [`crate::energy::EnergyMeter`]
//! counted over each measured round.

use super::Spread;
use serde::Serialize;

/// One model's energy at one batch size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct EnergyFigure {
    /// Joules per example over the measured rounds: median and range.
    pub joules_per_example: Spread,
    /// Watt-hours per million examples, at the median.
    pub wh_per_million_examples: f64,
}

impl EnergyFigure {
    /// From joules per example, one entry per round.
    pub fn of(joules_per_example: &[f64]) -> Option<Self> {
        let s = Spread::of(joules_per_example)?;
        Some(Self { joules_per_example: s, wh_per_million_examples: s.median * 1e6 / 3600.0 })
    }
}
