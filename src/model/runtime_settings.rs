//! ONNX Runtime settings of one model's session beyond its device: graph optimisation level, an
//! own intra-op thread pool, `session.*` config entries. "Models don't have a speed, systems do":
//! the same file under other settings is another system, so a student may be the teacher's own
//! file with other settings, and its loyalty then measures what the runtime change costs.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// ONNX Runtime's graph optimisation levels (its default is `all`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Optimization {
    /// ORT_DISABLE_ALL (level 0).
    Disable,
    /// ORT_ENABLE_BASIC (level 1).
    Basic,
    /// ORT_ENABLE_EXTENDED (level 2).
    Extended,
    /// ORT_ENABLE_LAYOUT (level 3).
    Layout,
    /// ORT_ENABLE_ALL (99).
    All,
}

impl Optimization {
    pub fn parse(value: &str) -> Option<Self> {
        Some(match value {
            "disable" | "0" => Optimization::Disable,
            "basic" | "1" => Optimization::Basic,
            "extended" | "2" => Optimization::Extended,
            "layout" | "3" => Optimization::Layout,
            "all" | "99" => Optimization::All,
            _ => return None,
        })
    }

    pub fn ort(self) -> ort::session::builder::GraphOptimizationLevel {
        use ort::session::builder::GraphOptimizationLevel as L;
        match self {
            Optimization::Disable => L::Disable,
            Optimization::Basic => L::Level1,
            Optimization::Extended => L::Level2,
            Optimization::Layout => L::Level3,
            Optimization::All => L::All,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct RuntimeSettings {
    /// Absent: ONNX Runtime's default (all).
    pub optimization: Option<Optimization>,
    /// Intra-op threads of the model's own pool; absent: the pool every session shares (`--threads`).
    pub threads: Option<usize>,
    /// `session.*` config entries (onnxruntime_session_options_config_keys.h), key to value.
    pub config: BTreeMap<String, String>,
}

impl RuntimeSettings {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }

    /// One `KEY=VALUE` setting: `optimization=disable|basic|extended|layout|all`, `threads=N`, or a
    /// `session.*` config entry.
    pub fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "optimization" => {
                self.optimization = Some(Optimization::parse(value).ok_or_else(|| format!("optimization={value}: use disable, basic, extended, layout or all (0, 1, 2, 3, 99)"))?)
            }
            "threads" => self.threads = Some(value.parse().ok().filter(|&n: &usize| n > 0).ok_or_else(|| format!("threads={value}: give a number of threads, at least 1"))?),
            k if k.starts_with("session.") && !value.is_empty() => {
                self.config.insert(k.to_string(), value.to_string());
            }
            k => return Err(format!("{k}={value}: the settings are optimization, threads and session.* config entries (e.g. session.disable_prepacking=1)")),
        }
        Ok(())
    }

    /// The settings applied to a session builder.
    pub fn apply(&self, mut builder: ort::session::builder::SessionBuilder) -> ort::Result<ort::session::builder::SessionBuilder> {
        if let Some(level) = self.optimization {
            builder = builder.with_optimization_level(level.ort())?;
        }
        if let Some(threads) = self.threads {
            builder = builder.with_independent_thread_pool()?.with_intra_threads(threads)?;
        }
        for (key, value) in &self.config {
            builder = builder.with_config_entry(key, value)?;
        }
        Ok(builder)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_parse_and_refuse() {
        let mut s = RuntimeSettings::default();
        assert!(s.is_default());
        s.set("optimization", "0").unwrap();
        s.set("threads", "1").unwrap();
        s.set("session.disable_prepacking", "1").unwrap();
        assert_eq!((s.optimization, s.threads, s.config.len()), (Some(Optimization::Disable), Some(1), 1));
        for (k, v) in [("optimization", "max"), ("threads", "0"), ("threads", "two"), ("intra", "1"), ("session.x", "")] {
            assert!(RuntimeSettings::default().set(k, v).is_err(), "{k}={v}");
        }
    }
}
