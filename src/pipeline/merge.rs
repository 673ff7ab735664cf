//! `fidelity merge PARTS...`: the report one run would have written, from the parts of its shards.
//!
//! Parts are read one at a time, in any order. The first part read is the reference: every other
//! must come from the same fidelity, models (by SHA-256), data (by identity) and plan, and hold
//! another slice. Sums are added; per-example records are placed at their global rows; groups are
//! rebuilt by feeding every row's attribute values, in file order, through the single run's
//! builder; then the single run's own code computes the metrics, intervals, tests and tables.

use crate::report::part::{Part, PartError, PartHeader};
use crate::metrics::FidelityAccumulator;
use crate::pipeline::assemble::{self, DataNumbers};
use crate::pipeline::evaluate::{StudentTally, DISAGREEMENTS};
use crate::plan::ReportPaths;
use crate::report::format_shards::{PartInfo, PartSpeed, ShardsInfo};
use crate::report::{Disagreement, InputsInfo, Report};
use crate::subgroups::GroupsBuilder;
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("fidelity merge: give the part files to merge (written by `fidelity compare ... --shard K/N`)")]
    NoParts,
    #[error(transparent)]
    Part(#[from] PartError),
    #[error("{path} does not belong with {reference}: {what}. Merge the parts of one `fidelity compare ... --shard K/N` command")]
    Mismatch { path: String, reference: String, what: String },
    #[error("{path} and {other} are both shard {shard}: give each part once")]
    Duplicate { path: String, other: String, shard: String },
    #[error("shard {missing} is missing: merge every part (`fidelity compare ... --shard K/{count}` writes shard K)")]
    Missing { missing: String, count: usize },
    #[error("{0}")]
    Groups(String),
    #[error(transparent)]
    Write(#[from] crate::report::files::WriteError),
}

/// The report path a merge writes by default: the first part's, without `.shard-K-of-N.part`.
pub fn default_report_path(part: &std::path::Path) -> PathBuf {
    let name = part.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let stem = name.split(".shard-").next().filter(|s| !s.is_empty()).unwrap_or("fidelity");
    part.with_file_name(format!("{stem}.json"))
}

/// Merges the parts at `paths`, judges the gates and writes the reports.
pub fn merge(paths: &[PathBuf], reports: &ReportPaths) -> Result<Report, MergeError> {
    let mut merged: Option<Merged> = None;
    for path in paths {
        let part = Part::read(path)?;
        let shown = path.display().to_string();
        match merged.as_mut() {
            None => merged = Some(Merged::new(shown, part)),
            Some(m) => m.add(shown, part)?,
        }
    }
    let report = merged.ok_or(MergeError::NoParts)?.finish()?;
    crate::report::files::write_reports(&report, reports)?;
    Ok(report)
}

/// Every part's sums so far.
struct Merged {
    reference: PartHeader,
    reference_path: String,
    /// Per shard index, the part that holds it.
    seen: Vec<Option<String>>,
    teacher: FidelityAccumulator,
    students: Vec<StudentTally>,
    /// Per student: group sums by the group's (attribute, value) pairs.
    groups: Vec<HashMap<Vec<(String, String)>, FidelityAccumulator>>,
    /// Per student: each part's first disagreements, by the part's first row.
    disagreements: Vec<Vec<(usize, Vec<Disagreement>)>>,
    attributes: GlobalAttributes,
    /// The report of the part that holds the data's first rows.
    template: Option<Report>,
    /// Every non-empty part's report: its timing fields and speed.
    part_reports: Vec<(usize, Report)>,
    parts: Vec<PartInfo>,
    classes: usize,
    length_sum: f64,
    /// With populations: every member's label of every row, placed as parts come.
    population: Option<crate::populations::PopulationLabels>,
    /// Each part's attack records.
    attack: Vec<crate::attack::records::AttackRecords>,
    /// Each part's noise labels, by the position in the noise sample of its first member.
    noise: Vec<crate::noise::labels::NoiseLabels>,
}

impl Merged {
    fn new(path: String, part: Part) -> Self {
        let (count, rows, students) = (part.header.shard.count, part.header.total_rows, part.header.models.len().saturating_sub(1));
        let attributes = part.header.plan.get("columns").and_then(|c| c.get("groups")).and_then(|g| g.as_array()).map_or(0, Vec::len);
        let reference = PartHeader { state: None, columns: vec![], ..part.header.clone() };
        let mut merged = Self {
            reference,
            reference_path: path.clone(),
            seen: vec![None; count],
            teacher: FidelityAccumulator::default(),
            students: (0..students).map(|_| StudentTally::with_rows(rows)).collect(),
            groups: vec![HashMap::new(); students],
            disagreements: vec![vec![]; students],
            attributes: GlobalAttributes::new(attributes, rows),
            template: None,
            part_reports: vec![],
            parts: vec![],
            classes: 0,
            length_sum: 0.0,
            noise: vec![],
            attack: vec![],
            population: None,
        };
        merged.take(path, part);
        merged
    }

    /// Checks that `part` belongs with the reference, then adds it.
    fn add(&mut self, path: String, part: Part) -> Result<(), MergeError> {
        let mismatch = |what: String| MergeError::Mismatch { path: path.clone(), reference: self.reference_path.clone(), what };
        let (r, h) = (&self.reference, &part.header);
        if r.models != h.models {
            let show = |h: &PartHeader| h.models.iter().map(|m| format!("{} {}", m.name, short(&m.sha256))).collect::<Vec<_>>().join(", ");
            return Err(mismatch(format!("other models ({} against {})", show(h), show(r))));
        }
        if r.data != h.data || r.total_rows != h.total_rows {
            return Err(mismatch(format!(
                "other data ({} bytes, {} rows, ends SHA-256 {} against {} bytes, {} rows, {})",
                h.data.bytes,
                h.total_rows,
                short(&h.data.ends_sha256),
                r.data.bytes,
                r.total_rows,
                short(&r.data.ends_sha256)
            )));
        }
        if let Some(what) = first_difference("", &h.plan, &r.plan) {
            return Err(mismatch(format!("another plan ({what})")));
        }
        if r.gates != h.gates {
            return Err(mismatch("other gates".into()));
        }
        if r.shard.count != h.shard.count {
            return Err(mismatch(format!("it is a shard of {} but {} is a shard of {}", h.shard.count, self.reference_path, r.shard.count)));
        }
        if let Some(other) = &self.seen[h.shard.index] {
            return Err(MergeError::Duplicate { path, other: other.clone(), shard: h.shard.to_string() });
        }
        self.take(path, part);
        Ok(())
    }

    fn take(&mut self, path: String, part: Part) {
        let h = part.header;
        self.seen[h.shard.index] = Some(path);
        let (first, end) = (h.first_row, h.end_row);
        let mut info = PartInfo { shard: h.shard.to_string(), first_row: first, end_row: end, rows_sha256: h.rows_sha256, machine: None, speed: vec![] };
        if let Some(state) = h.state {
            self.teacher.merge(&state.teacher);
            self.classes = state.classes;
            self.length_sum += state.length_sum;
            self.noise.extend(state.noise);
            self.attack.extend(state.attack);
            for (s, (sums, samples)) in state.students.into_iter().zip(&part.samples).enumerate() {
                let tally = &mut self.students[s];
                tally.metrics.merge(&sums.metrics);
                sums.classes.into_iter().for_each(|(triple, count)| tally.classes.add_count(triple, count));
                tally.samples.write_at(first, samples);
                self.disagreements[s].push((first, sums.disagreements));
                for g in sums.groups {
                    self.groups[s].entry(g.attributes).or_default().merge(&g.sums);
                }
            }
            self.attributes.write_at(first, &part.attributes);
            if let Some(p) = &part.population {
                let rows = self.reference.total_rows;
                let all = self.population.get_or_insert_with(|| crate::populations::PopulationLabels {
                    gold: vec![None; rows],
                    labels: p.labels.iter().map(|role| vec![vec![0; rows]; role.len()]).collect(),
                });
                all.gold[first..end].clone_from_slice(&p.gold);
                for (role, theirs) in all.labels.iter_mut().zip(&p.labels) {
                    role.iter_mut().zip(theirs).for_each(|(a, b)| a[first..end].copy_from_slice(b));
                }
            }
            let report = state.report;
            info.machine = Some(report.machine.summary());
            info.speed = std::iter::once(&report.teacher).chain(report.students.iter().map(|s| &s.model)).map(|m| PartSpeed { model: m.info.name.clone(), speed: m.speed.clone() }).collect();
            if first == 0 {
                self.template = Some(report.clone());
            }
            self.part_reports.push((first, report));
        }
        self.parts.push(info);
    }

    fn finish(mut self) -> Result<Report, MergeError> {
        let count = self.seen.len();
        if let Some(missing) = self.seen.iter().position(Option::is_none) {
            return Err(MergeError::Missing { missing: format!("{}/{count}", missing + 1), count });
        }
        // The data has rows (a shard refuses an empty file), so some part holds row 0.
        let mut report = self.template.take().ok_or(MergeError::Missing { missing: "holding the first rows".into(), count })?;
        let allow_many = self.reference.plan.get("allow_many_groups").and_then(serde_json::Value::as_bool).unwrap_or(false);
        let (groups, group_metrics) = self.groups(&report, allow_many)?;
        if report.attack.is_some() && !self.attack.is_empty() {
            self.attack.sort_by_key(|a| a.first);
            let mut records = crate::attack::records::AttackRecords::default();
            std::mem::take(&mut self.attack).into_iter().for_each(|a| records.extend(a));
            crate::pipeline::attack::fill(&mut report, &records, &groups);
        }
        if let Some(population) = &self.population {
            let names = |m: &crate::report::ModelReport| m.population.as_ref().map(|p| p.members.iter().map(|x| (x.name.clone(), x.path.clone())).collect::<Vec<_>>()).unwrap_or_default();
            let names: Vec<_> = std::iter::once(names(&report.teacher)).chain(report.students.iter().map(|s| names(&s.model))).collect();
            crate::pipeline::populations::fill(&mut report, population, &names, &groups);
        }
        for (s, tally) in self.students.iter_mut().enumerate() {
            let mut parts = std::mem::take(&mut self.disagreements[s]);
            parts.sort_by_key(|(first, _)| *first);
            tally.disagreements = parts.into_iter().flat_map(|(_, d)| d).take(DISAGREEMENTS).collect();
        }
        let numbers = DataNumbers { teacher: &self.teacher, students: &self.students, groups: &groups, group_metrics: &group_metrics, classes: self.classes };
        let js_base = serde_json::from_value(self.reference.plan["js_base"].clone()).unwrap_or(crate::metrics::LogBase::E);
        let names = assemble::class_names(report.data.label_names.as_deref(), &report.teacher.info);
        let students = assemble::student_numbers(&numbers, report.statistics.settings, js_base, names.as_deref());
        assemble::set_numbers(&mut report, &self.teacher, students);
        report.data.examples = self.reference.total_rows;
        report.data.labelled = self.teacher.finish().labelled as usize;
        self.sum_per_part_fields(&mut report);
        self.noise.sort_by_key(|n| n.first);
        if let (Some(settings), false) = (report.noise.clone(), self.noise.is_empty()) {
            let mut labels = crate::noise::labels::NoiseLabels::default();
            std::mem::take(&mut self.noise).into_iter().for_each(|n| labels.extend(n));
            crate::pipeline::noise::fill(&labels, &settings, report.statistics.settings.bootstrap, &mut report);
        }
        let holder = self.parts.iter().find(|p| p.first_row == 0 && p.end_row > 0).map(|p| p.shard.clone()).unwrap_or_default();
        resize(&mut report, self.length_sum / self.reference.total_rows.max(1) as f64, &holder);
        self.parts.sort_by_key(|p| (p.first_row, p.end_row));
        report.shards = Some(ShardsInfo {
            count,
            note: format!("every number is the single run's, computed from the parts' sums and per-example records; speed and timing fields are measured per part, not merged: each model's speed is that of shard {holder} (the part holding the first rows, on its machine), every part's is listed under shards.parts; inference and ONNX Runtime seconds are summed over the parts"),
            parts: self.parts,
        });
        report.gate = crate::gate::evaluate(&self.reference.gates, &report.students);
        report.complete = true;
        Ok(report)
    }

    /// The groups in report order, rebuilt from every row's values, and each student's group metrics.
    fn groups(&self, report: &Report, allow_many: bool) -> Result<(Vec<crate::subgroups::Group>, Vec<Vec<crate::metrics::FidelityMetrics>>), MergeError> {
        let mut builder = GroupsBuilder::new(&report.statistics.group_attributes);
        for i in 0..self.reference.total_rows {
            builder.add(&self.attributes.row(i));
        }
        if !allow_many {
            if let Some((column, distinct)) = crate::subgroups::too_many_values(builder.distinct_values(), self.reference.total_rows, true) {
                let e = crate::pipeline::CompareError::TooManyGroups { column, distinct, rows: self.reference.total_rows, path: report.data.path.display().to_string() };
                return Err(MergeError::Groups(e.to_string()));
            }
        }
        let (groups, _) = builder.finish();
        let metrics = self.groups.iter().map(|by_key| groups.iter().map(|g| by_key.get(&g.attributes).cloned().unwrap_or_default().finish()).collect()).collect();
        Ok((groups, metrics))
    }

    /// Truncation counts, the inputs' counts, and the timing fields, summed over the parts.
    fn sum_per_part_fields(&self, report: &mut Report) {
        let models = |r: &Report| std::iter::once(r.teacher.clone()).chain(r.students.iter().map(|s| s.model.clone())).collect::<Vec<_>>();
        let per_part: Vec<_> = self.part_reports.iter().map(|(_, r)| models(r)).collect();
        let targets = std::iter::once(&mut report.teacher).chain(report.students.iter_mut().map(|s| &mut s.model));
        for (m, target) in targets.enumerate() {
            target.truncated_examples = target.truncated_examples.map(|_| per_part.iter().filter_map(|p| p[m].truncated_examples).sum());
            target.inference_seconds = per_part.iter().map(|p| p[m].inference_seconds).sum();
            target.onnxruntime_seconds = per_part.iter().map(|p| p[m].onnxruntime_seconds).sum();
        }
        match &mut report.data.inputs {
            InputsInfo::Text { truncated, empty_texts, .. } => {
                let texts = self.part_reports.iter().filter_map(|(_, r)| match r.data.inputs {
                    InputsInfo::Text { truncated, empty_texts, .. } => Some((truncated, empty_texts)),
                    InputsInfo::Tensors { .. } | InputsInfo::Choices { .. } | InputsInfo::Images { .. } => None,
                });
                (*truncated, *empty_texts) = texts.fold((0, 0), |(t, e), (a, b)| (t + a, e + b));
            }
            // The part reading the last rows saw every row (CSV features count rows as they come).
            InputsInfo::Images { decoded, .. } => {
                let parts = self.part_reports.iter().filter_map(|(_, r)| match r.data.inputs {
                    InputsInfo::Images { decoded, .. } => Some(decoded),
                    _ => None,
                });
                *decoded = parts.sum();
            }
            tensors @ (InputsInfo::Tensors { .. } | InputsInfo::Choices { .. }) => {
                if let Some((_, last)) = self.part_reports.iter().max_by_key(|(first, _)| *first) {
                    *tensors = last.data.inputs.clone();
                }
            }
        }
    }
}

/// Sizes of sequence models are costed at the data's mean length (see `pipeline::measure`): each
/// part costed them at its own, so they are costed again here at the whole data's, from the model
/// files when they are readable here and still the models the parts ran (by SHA-256).
fn resize(report: &mut Report, mean_length: f64, holder: &str) {
    if mean_length <= 0.0 {
        return;
    }
    let peaks = report.peaks.clone();
    for m in std::iter::once(&mut report.teacher).chain(report.students.iter_mut().map(|s| &mut s.model)) {
        let same = std::fs::read(&m.info.path).map(|bytes| {
            use sha2::Digest;
            format!("{:x}", sha2::Sha256::digest(&bytes)) == m.info.sha256
        });
        match same {
            Ok(true) => match crate::pipeline::model_size(&m.info.path, Some(mean_length)) {
                Ok(stats) => {
                    if let (Some(speed), Some(peaks)) = (&m.speed, &peaks) {
                        m.roofline = crate::roofline::roofline(&stats, &speed.throughput, peaks);
                    }
                    m.size = Some(stats);
                }
                Err(note) => m.size_note = Some(note),
            },
            _ => {
                m.size_note = Some(format!("costed at the mean length of shard {holder}'s rows: {} is not readable here as the model the parts ran", m.info.path.display()));
            }
        }
    }
}

/// Every row's attribute values: one global value table per attribute, indices placed at rows.
struct GlobalAttributes {
    values: Vec<Vec<String>>,
    index: Vec<HashMap<String, u32>>,
    ids: Vec<Vec<u32>>,
}

impl GlobalAttributes {
    fn new(attributes: usize, rows: usize) -> Self {
        Self { values: vec![vec![]; attributes], index: vec![HashMap::new(); attributes], ids: vec![vec![0; rows]; attributes] }
    }

    fn write_at(&mut self, first: usize, part: &crate::subgroups::AttributeColumns) {
        for (a, (values, ids)) in part.values.iter().zip(&part.ids).enumerate() {
            let global: Vec<u32> = values
                .iter()
                .map(|v| {
                    let next = self.values[a].len() as u32;
                    *self.index[a].entry(v.clone()).or_insert_with(|| {
                        self.values[a].push(v.clone());
                        next
                    })
                })
                .collect();
            for (i, &id) in ids.iter().enumerate() {
                self.ids[a][first + i] = global[id as usize];
            }
        }
    }

    fn row(&self, i: usize) -> Vec<String> {
        self.ids.iter().zip(&self.values).map(|(ids, values)| values[ids[i] as usize].clone()).collect()
    }
}

/// The first place two plans differ, as "KEY: A here, B in the reference".
fn first_difference(at: &str, a: &serde_json::Value, b: &serde_json::Value) -> Option<String> {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            keys.into_iter().find_map(|k| first_difference(&join(at, k), x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null)))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            x.iter().zip(y).enumerate().find_map(|(i, (p, q))| first_difference(&join(at, &i.to_string()), p, q))
        }
        _ if a == b => None,
        _ => Some(format!("{at}: {a} here, {b} in the reference")),
    }
}

/// The first 12 characters of a hash, for messages.
fn short(hash: &str) -> String {
    hash.chars().take(12).collect()
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_first_difference_names_its_key() {
        let a = json!({"batch_size": 32, "models": [{"name": "t"}, {"name": "s"}]});
        assert_eq!(first_difference("", &a, &a), None);
        let b = json!({"batch_size": 16, "models": [{"name": "t"}, {"name": "s"}]});
        assert_eq!(first_difference("", &a, &b).unwrap(), "batch_size: 32 here, 16 in the reference");
        let c = json!({"batch_size": 32, "models": [{"name": "t"}, {"name": "x"}]});
        assert_eq!(first_difference("", &a, &c).unwrap(), "models.1.name: \"s\" here, \"x\" in the reference");
    }
}
