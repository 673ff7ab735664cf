//! The population and CIE tables as cells, shared by every writer.

use super::format::percent;
use super::{Report, StudentReport};
use crate::populations::{CieReport, PopulationSummary};

fn roles(report: &Report) -> impl Iterator<Item = (&str, &PopulationSummary)> {
    let teacher = report.teacher.population.as_ref().map(|p| (report.teacher.info.name.as_str(), p));
    teacher.into_iter().chain(report.students.iter().filter_map(|s| Some((s.model.info.name.as_str(), s.model.population.as_ref()?))))
}

/// One row per role: its members' accuracy spread (seed noise); empty without populations.
pub fn population_rows(report: &Report) -> (Vec<String>, Vec<Vec<String>>) {
    let header = ["population", "members", "mean acc", "seed std", "min acc", "max acc", "modal-label acc"].map(String::from).to_vec();
    let rows: Vec<Vec<String>> = roles(report)
        .map(|(name, p)| {
            vec![
                name.to_string(),
                p.members.len().to_string(),
                percent(p.mean_accuracy),
                percent(p.accuracy_std),
                percent(p.min_accuracy),
                percent(p.max_accuracy),
                percent(p.modal_accuracy),
            ]
        })
        .collect();
    if rows.is_empty() {
        return (vec![], vec![]);
    }
    (header, rows)
}

/// The group where the CIE concentrate most (highest representation), with its factor.
pub fn most_over_represented(c: &CieReport) -> Option<String> {
    c.groups
        .iter()
        .filter_map(|g| Some((g.representation?, g)))
        .filter(|(r, g)| *r > 1.0 && g.cie > 0)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(r, g)| format!("{} (×{r:.2}, {} of {})", g.name, g.cie, g.n))
}

/// One row per student: its CIE against the teacher's population.
pub fn cie_rows(report: &Report) -> (Vec<String>, Vec<Vec<String>>) {
    let header = ["student", "CIE", "CIE share", "teacher acc on CIE", "elsewhere", "student acc on CIE", "elsewhere", "most over-represented group"]
        .map(String::from)
        .to_vec();
    let rows: Vec<Vec<String>> = report
        .students
        .iter()
        .filter_map(|s| {
            let c = s.cie.as_ref()?;
            Some(vec![
                s.model.info.name.clone(),
                format!("{} of {}", c.cie, c.examples),
                percent(Some(c.cie_share)),
                percent(c.teacher_accuracy_on_cie),
                percent(c.teacher_accuracy_elsewhere),
                percent(c.student_accuracy_on_cie),
                percent(c.student_accuracy_elsewhere),
                most_over_represented(c).unwrap_or_else(|| "-".into()),
            ])
        })
        .collect();
    if rows.is_empty() {
        return (vec![], vec![]);
    }
    (header, rows)
}

/// One student's CIE per group.
pub fn cie_group_rows(s: &StudentReport) -> (Vec<String>, Vec<Vec<String>>) {
    let Some(c) = &s.cie else { return (vec![], vec![]) };
    let header = ["group", "n", "CIE", "CIE share", "representation"].map(String::from).to_vec();
    let rows = c
        .groups
        .iter()
        .map(|g| vec![g.name.clone(), g.n.to_string(), g.cie.to_string(), percent(Some(g.cie_share)), g.representation.map_or_else(|| "-".into(), |r| format!("{r:.2}"))])
        .collect();
    (header, rows)
}

/// The sentence under the tables.
pub const NOTE: &str = "Percent. CIE: examples where the teacher population's modal label differs from the student population's (ties: lowest class); accuracies are the mean over a population's members; representation: the group's share of the CIE over its share of the data (above 1: the CIE concentrate there); seed std: sample standard deviation of the members' accuracies, the yardstick for a student's drop.";
