//! The line that says how image data reached the models: how many images, and each model's
//! preprocessing, the students that differ from the teacher's named (a student exported with
//! another resize is compared as deployed, so the reader must see it).

use super::{InputsInfo, Report};

/// "images: 1000 from image folder …, each decoded once; teacher, int8: resize …; mismatch: …
/// (differs from the teacher's)"; `None` for other data.
pub fn images_line(report: &Report) -> Option<String> {
    let InputsInfo::Images { source, decoded, models, distinct_preprocessings } = &report.data.inputs else { return None };
    let teacher = models.first()?;
    let mut groups: Vec<(String, Vec<&str>, &str)> = Vec::new();
    for m in models {
        let steps = m.steps.describe();
        match groups.iter_mut().find(|(s, ..)| *s == steps) {
            Some((_, names, _)) => names.push(&m.model),
            None => groups.push((steps, vec![&m.model], &m.source)),
        }
    }
    let described: Vec<String> = groups
        .iter()
        .map(|(steps, names, source)| {
            let differs = if *steps == teacher.steps.describe() { "" } else { ", differs from the teacher's" };
            format!("{}: {steps} [{source}{differs}]", names.join(", "))
        })
        .collect();
    let plural = if *distinct_preprocessings == 1 { "preprocessing" } else { "preprocessings" };
    Some(format!(
        "images: {decoded} from {source}, each decoded once and preprocessed once per distinct preprocessing ({distinct_preprocessings} {plural}): {}",
        described.join("; ")
    ))
}
