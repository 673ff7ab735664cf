//! The per-class table and the label-transition matrix as cells, shared by every writer.

use super::format::{correction_name, level, percent, with_interval};
use super::{Report, StudentReport};

/// Classes at most for which the transition matrix is drawn as a matrix (the JSON always has every
/// nonzero cell).
pub const MATRIX_CLASSES: usize = 20;

/// Header and rows (too small?, cells) of one student's per-class table, in class order.
pub fn class_rows(report: &Report, s: &StudentReport) -> (Vec<String>, Vec<(bool, Vec<String>)>) {
    let level = level(report);
    let min = report.statistics.settings.min_group_size;
    let header = [
        "class",
        "n",
        "Rec T",
        "Rec S",
        &format!("ΔRec [{level}]"),
        "Prec T",
        "Prec S",
        &format!("ΔPrec [{level}]"),
        "NFR",
        "PFR",
        &format!("p ({})", correction_name(report.statistics.settings.correction)),
        "rank",
    ]
    .map(String::from)
    .to_vec();
    let rows = s
        .classes
        .classes
        .iter()
        .map(|c| {
            let iv = c.intervals.as_ref();
            let p = c.mcnemar.as_ref().map_or_else(|| "-".into(), |m| super::format::p_value(Some(m)));
            (
                c.too_small,
                vec![
                    c.class.clone(),
                    c.support.to_string(),
                    percent(c.teacher_recall),
                    percent(c.student_recall),
                    with_interval(c.recall_delta, iv.and_then(|i| i.recall_delta), true),
                    percent(c.teacher_precision),
                    percent(c.student_precision),
                    with_interval(c.precision_delta, iv.and_then(|i| i.precision_delta), true),
                    percent(c.negative_flip_rate),
                    percent(c.positive_flip_rate),
                    p,
                    if c.too_small { format!("too small (< {min})") } else { c.harm_rank.map_or_else(String::new, |r| format!("#{r}")) },
                ],
            )
        })
        .collect();
    (header, rows)
}

/// The teacher label × student label matrix (rows: teacher), for at most [`MATRIX_CLASSES`]
/// classes; `None` for more, or when no class is named.
pub fn transition_matrix(s: &StudentReport) -> Option<(Vec<String>, Vec<Vec<String>>)> {
    let names: Vec<&str> = match s.classes.classes.is_empty() {
        false => s.classes.classes.iter().map(|c| c.class.as_str()).collect(),
        true => {
            let mut seen: Vec<&str> = s.classes.transitions.iter().flat_map(|t| [t.teacher.as_str(), t.student.as_str()]).collect();
            seen.sort_unstable();
            seen.dedup();
            seen
        }
    };
    if names.is_empty() || names.len() > MATRIX_CLASSES {
        return None;
    }
    let header = std::iter::once("teacher \\ student".to_string()).chain(names.iter().map(|n| n.to_string())).collect();
    let rows = names
        .iter()
        .map(|t| {
            let count = |st: &str| s.classes.transitions.iter().find(|x| x.teacher == *t && x.student == st).map_or(0, |x| x.count);
            std::iter::once(t.to_string()).chain(names.iter().map(|st| count(st).to_string())).collect()
        })
        .collect();
    Some((header, rows))
}

/// "int8 → neutral (n=590, recall −1.02 pts)" for a student whose recall fell in some class.
pub fn most_hurt(s: &StudentReport) -> Option<String> {
    let name = s.classes.most_hurt.as_ref()?;
    let c = s.classes.classes.iter().find(|c| &c.class == name)?;
    Some(format!("{} → {} (n={}, recall {:+.2} pts)", s.model.info.name, name, c.support, 100.0 * c.recall_delta?))
}
