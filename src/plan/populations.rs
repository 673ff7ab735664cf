//! Populations in a plan: `--population ROLE=PATH` flags join a suite's `path = [...]` lists.

use super::{ModelSource, PlanError};
use std::path::PathBuf;

/// Adds each `ROLE=PATH` flag's file to that role's population.
pub(super) fn apply_flags(flags: &[String], teacher: &mut ModelSource, students: &mut [ModelSource]) -> Result<(), PlanError> {
    for flag in flags {
        let Some((role, path)) = flag.split_once('=').filter(|(r, p)| !r.is_empty() && !p.is_empty()) else {
            return Err(PlanError::Population(format!("--population {flag}: write ROLE=PATH, ROLE being teacher or a student's name")));
        };
        let model = if role == "teacher" { Some(&mut *teacher) } else { students.iter_mut().find(|s| s.name == role) };
        let Some(model) = model else {
            let names: Vec<&str> = std::iter::once("teacher").chain(students.iter().map(|s| s.name.as_str())).collect();
            return Err(PlanError::Population(format!("--population {flag}: no role is named '{role}' (the roles are: {})", names.join(", "))));
        };
        model.population.push(PathBuf::from(path));
    }
    Ok(())
}

/// Every member exists, and no file is given twice within a population.
pub(super) fn check(teacher: &ModelSource, students: &[ModelSource]) -> Result<(), PlanError> {
    for m in std::iter::once(teacher).chain(students) {
        let mut seen = vec![m.path.canonicalize().ok()];
        for p in &m.population {
            if !p.is_file() {
                return Err(PlanError::Population(format!("population of {}: {} does not exist or is not a file", m.name, p.display())));
            }
            let canonical = p.canonicalize().ok();
            if seen.contains(&canonical) {
                return Err(PlanError::Population(format!("population of {}: {} is given twice; each member is one model", m.name, p.display())));
            }
            seen.push(canonical);
        }
    }
    Ok(())
}
