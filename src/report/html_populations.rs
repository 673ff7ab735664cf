//! The HTML report's populations section: seed noise per role, each student's CIE, and the CIE
//! by group (folded).

use super::escape::markup as esc;
use super::html::table;
use super::Report;
use std::fmt::Write;

/// The populations section: seed noise per role, each student's CIE, and the CIE by group.
pub fn populations_section(report: &Report) -> String {
    use super::format_populations::{cie_group_rows, cie_rows, population_rows, NOTE};
    let (header, rows) = population_rows(report);
    if rows.is_empty() {
        return String::new();
    }
    let escaped = |rows: Vec<Vec<String>>| -> Vec<(String, Vec<String>)> { rows.into_iter().map(|r| (String::new(), r.iter().map(|c| esc(c)).collect())).collect() };
    let mut html = format!("<section id=\"populations\"><h2>Populations and compression identified exemplars</h2>{}", table(&header, &escaped(rows)));
    let (header, rows) = cie_rows(report);
    html.push_str(&table(&header, &escaped(rows)));
    for s in &report.students {
        let (header, rows) = cie_group_rows(s);
        if !rows.is_empty() {
            let _ = write!(html, "<details><summary>CIE of {} by group</summary>{}</details>", esc(&s.model.info.name), table(&header, &escaped(rows)));
        }
    }
    let _ = write!(html, "<p class=\"note\">{}</p></section>", esc(NOTE));
    html
}
