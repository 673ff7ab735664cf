//! Per-subgroup fidelity: compression hurts rare groups first (Hooker et al. 2020), so every
//! group gets its own numbers, its own intervals and its own test, and small groups are flagged,
//! never hidden.
//!
//! - [`groups`]: which groups exist (each attribute alone, and every pair of attributes crossed).
//! - [`analysis`]: the per-group metrics, amplification, McNemar tests with multiple-testing control,
//!   bootstrap intervals and the harm ranking.

pub mod analysis;
pub mod attribute_columns;
pub mod groups;

pub use analysis::{analyse, analyse_samples, analyse_students, GroupReport, SubgroupSettings, SubgroupSummary};
pub use attribute_columns::AttributeColumns;
pub use groups::{define_groups, too_many_values, Group, GroupsBuilder, MAX_DISTINCT_VALUES};
