//! The part file a shard writes: versioned and self-describing.
//!
//! Layout: the line `FIDELITY-PART`, the header's length (8 bytes, little-endian), the header as
//! JSON, then the per-example columns the header lists, each `rows × width` little-endian bytes.
//! The header holds who made it (fidelity version), what it belongs to (every model's SHA-256, the
//! data's identity, the plan: every option that changes a number, the gates), which slice it is,
//! and the slice's sums: the teacher's and each student's accumulators, per-group sums keyed by
//! the group's attribute values, per-class counts, the first disagreements, and the shard's own
//! report (its speed; the template of the merged report when it holds the first rows). The columns
//! are what a single run also keeps per example: each student's bootstrap record (10 bytes) and
//! each group attribute's value index (4 bytes).

use crate::shard::identity::DataIdentity;
use crate::shard::Shard;
use crate::gate::GateSpec;
use crate::metrics::FidelityAccumulator;
use crate::report::{Disagreement, Report};
use crate::stats::PairedSamples;
use crate::subgroups::AttributeColumns;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The part format this fidelity writes and reads.
pub const PART_FORMAT: u32 = 1;
const MAGIC: &[u8] = b"FIDELITY-PART\n";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartHeader {
    pub format: u32,
    pub fidelity_version: String,
    pub shard: Shard,
    /// The slice: rows `first_row..end_row` of the data (0-based, end excluded).
    pub first_row: usize,
    pub end_row: usize,
    pub total_rows: usize,
    pub models: Vec<PartModel>,
    pub data: DataIdentity,
    /// SHA-256 of the rows as read (see [`crate::shard::identity::RowsDigest`]); absent for an empty slice.
    pub rows_sha256: Option<String>,
    /// Every option that changes a number (see [`crate::pipeline::shard::plan_fingerprint`]).
    pub plan: serde_json::Value,
    pub gates: Vec<GateSpec>,
    /// Absent for an empty slice.
    pub state: Option<PartState>,
    /// The per-example columns that follow the header, in order.
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartModel {
    pub name: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub bytes: u64,
}

/// A non-empty slice's sums.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PartState {
    /// The teacher's class count.
    pub classes: usize,
    /// Tokens over the slice's examples (0 for tensors): a merge costs sizes at the data's mean.
    pub length_sum: f64,
    /// With populations: the number of members of each role (teacher first); their labels and the
    /// gold labels follow as columns.
    pub population_members: Option<Vec<usize>>,
    /// With attacks: every model's outcome on the attack sample's members in the slice.
    pub attack: Option<crate::attack::records::AttackRecords>,
    /// With the noise stage: every model's labels on the noise sample's members in the slice.
    pub noise: Option<crate::noise::labels::NoiseLabels>,
    pub teacher: FidelityAccumulator,
    pub students: Vec<StudentSums>,
    /// Per group attribute, the distinct values the attribute columns index.
    pub attribute_values: Vec<Vec<String>>,
    /// The shard's own report of its slice.
    pub report: Report,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StudentSums {
    pub metrics: FidelityAccumulator,
    /// (gold, teacher, student) label triples and their counts.
    pub classes: Vec<([u32; 3], u64)>,
    /// The slice's first disagreements, in file order.
    pub disagreements: Vec<Disagreement>,
    pub groups: Vec<GroupSums>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupSums {
    /// The (attribute, value) pairs that define the group.
    pub attributes: Vec<(String, String)>,
    pub sums: FidelityAccumulator,
}

/// A part: its header and its per-example columns.
pub struct Part {
    pub header: PartHeader,
    /// One per student.
    pub samples: Vec<PairedSamples>,
    pub attributes: AttributeColumns,
    /// With populations: every member's label of the slice's rows.
    pub population: Option<crate::populations::PopulationLabels>,
}

#[derive(Debug, thiserror::Error)]
pub enum PartError {
    #[error("cannot read part {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path} is not a fidelity part file ({why}); parts are written by `fidelity compare --shard K/N`")]
    NotAPart { path: String, why: String },
    #[error("{path} was written by fidelity {theirs} (part format {format}); this is fidelity {ours} (part format {PART_FORMAT}): merge parts with the fidelity that wrote them")]
    Version { path: String, theirs: String, format: u64, ours: &'static str },
}

impl Part {
    pub fn write(&self, path: &Path) -> Result<(), crate::report::files::WriteError> {
        let mut header = self.header.clone();
        let columns = self.column_bytes();
        header.columns = columns.iter().map(|(name, bytes)| Column { name: name.clone(), bytes: bytes.len() as u64 }).collect();
        let json = serde_json::to_vec(&header).unwrap_or_default();
        let mut out = Vec::with_capacity(MAGIC.len() + 8 + json.len() + columns.iter().map(|(_, b)| b.len()).sum::<usize>());
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&(json.len() as u64).to_le_bytes());
        out.extend_from_slice(&json);
        columns.iter().for_each(|(_, b)| out.extend_from_slice(b));
        crate::report::files::write_atomically(path, &out)
    }

    /// The columns' names and bytes, in file order.
    fn column_bytes(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        for (s, samples) in self.samples.iter().enumerate() {
            let (shared, flags, loyalty) = samples.columns();
            out.push((format!("student{s}.teacher_flags"), shared.to_vec()));
            out.push((format!("student{s}.student_flags"), flags.to_vec()));
            out.push((format!("student{s}.loyalty"), loyalty.iter().flat_map(|l| l.to_le_bytes()).collect()));
        }
        for (a, ids) in self.attributes.ids.iter().enumerate() {
            out.push((format!("attribute{a}"), ids.iter().flat_map(|i| i.to_le_bytes()).collect()));
        }
        if let Some(p) = &self.population {
            out.push(("gold".into(), p.gold.iter().flat_map(|g| g.map_or(u32::MAX, |g| g as u32).to_le_bytes()).collect()));
            for (r, members) in p.labels.iter().enumerate() {
                for (m, labels) in members.iter().enumerate() {
                    out.push((format!("population{r}.member{m}"), labels.iter().flat_map(|l| l.to_le_bytes()).collect()));
                }
            }
        }
        out
    }

    pub fn read(path: &Path) -> Result<Self, PartError> {
        let shown = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| PartError::Io { path: shown.clone(), source })?;
        let not = |why: &str| PartError::NotAPart { path: shown.clone(), why: why.to_string() };
        let rest = bytes.strip_prefix(MAGIC).ok_or_else(|| not("it does not start with FIDELITY-PART"))?;
        let length = rest.get(..8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()) as usize).ok_or_else(|| not("it ends inside its header"))?;
        let json = rest.get(8..8 + length).ok_or_else(|| not("it ends inside its header"))?;
        // The version first, from the loosest reading, so a part from another version says so.
        let loose: serde_json::Value = serde_json::from_slice(json).map_err(|e| not(&format!("its header is not JSON: {e}")))?;
        let format = loose.get("format").and_then(serde_json::Value::as_u64).unwrap_or(0);
        let theirs = loose.get("fidelity_version").and_then(serde_json::Value::as_str).unwrap_or("unknown").to_string();
        if format != u64::from(PART_FORMAT) || theirs != env!("CARGO_PKG_VERSION") {
            return Err(PartError::Version { path: shown, theirs, format, ours: env!("CARGO_PKG_VERSION") });
        }
        let header: PartHeader = serde_json::from_value(loose).map_err(|e| not(&format!("its header does not read: {e}")))?;
        let mut body = &rest[8 + length..];
        let mut take = |column: &Column| -> Result<&[u8], PartError> {
            let n = column.bytes as usize;
            let (head, tail) = (body.get(..n).ok_or_else(|| not(&format!("it ends inside column {}", column.name)))?, &body[n..]);
            body = tail;
            Ok(head)
        };
        let rows = header.end_row - header.start_row_checked().ok_or_else(|| not("its slice ends before it starts"))?;
        if header.shard.index >= header.shard.count || header.end_row > header.total_rows {
            return Err(not("its shard or slice lies outside the data it names"));
        }
        let expect = |column: &Column, width: usize| {
            if column.bytes as usize == rows * width {
                Ok(())
            } else {
                Err(not(&format!("column {} holds {} bytes, not {rows} rows of {width}", column.name, column.bytes)))
            }
        };
        let students = header.models.len().saturating_sub(1);
        let attributes = header.state.as_ref().map_or(0, |s| s.attribute_values.len());
        let members = header.state.as_ref().and_then(|s| s.population_members.clone());
        let population_columns = members.as_ref().map_or(0, |m| 1 + m.iter().sum::<usize>());
        if header.state.is_some() && header.columns.len() != students * 3 + attributes + population_columns {
            return Err(not("its column list does not match its models and group attributes"));
        }
        let columns = header.columns.clone();
        let mut columns = columns.iter();
        let mut samples = Vec::with_capacity(students);
        for _ in 0..students.min(columns.len() / 3) {
            let (c1, c2, c3) = (columns.next(), columns.next(), columns.next());
            let (Some(c1), Some(c2), Some(c3)) = (c1, c2, c3) else { break };
            expect(c1, 1)?;
            expect(c2, 1)?;
            expect(c3, 8)?;
            let (shared, flags) = (take(c1)?.to_vec(), take(c2)?.to_vec());
            let loyalty = take(c3)?.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap_or_default())).collect();
            samples.push(PairedSamples::from_columns(shared, flags, loyalty).ok_or_else(|| not("its columns differ in length"))?);
        }
        let mut ids = Vec::with_capacity(attributes);
        for column in columns.by_ref().take(attributes) {
            expect(column, 4)?;
            ids.push(take(column)?.chunks_exact(4).map(|b| u32::from_le_bytes(b.try_into().unwrap_or_default())).collect());
        }
        let population = match &members {
            Some(members) => Some(read_population(members, &mut columns, &mut take, &expect, &not)?),
            None => None,
        };
        let values = header.state.as_ref().map(|s| s.attribute_values.clone()).unwrap_or_default();
        if ids.iter().zip(&values).any(|(ids, values): (&Vec<u32>, &Vec<String>)| ids.iter().any(|&i| i as usize >= values.len())) || ids.len() != values.len() {
            return Err(not("a group attribute column points past its values"));
        }
        Ok(Self { header, samples, attributes: AttributeColumns::from_parts(values, ids), population })
    }
}

/// The gold column and every population member's labels, from the columns that follow.
fn read_population<'c, 'b>(
    members: &[usize],
    columns: &mut impl Iterator<Item = &'c Column>,
    take: &mut impl FnMut(&Column) -> Result<&'b [u8], PartError>,
    expect: &impl Fn(&Column, usize) -> Result<(), PartError>,
    not: &impl Fn(&str) -> PartError,
) -> Result<crate::populations::PopulationLabels, PartError> {
    let gold_column = columns.next().ok_or_else(|| not("its gold column is missing"))?;
    expect(gold_column, 4)?;
    let gold = take(gold_column)?.chunks_exact(4).map(|b| Some(u32::from_le_bytes(b.try_into().unwrap_or_default())).filter(|&g| g != u32::MAX).map(|g| g as usize)).collect();
    let mut labels = Vec::with_capacity(members.len());
    for &count in members {
        let mut role = Vec::with_capacity(count);
        for column in columns.by_ref().take(count) {
            expect(column, 2)?;
            role.push(take(column)?.chunks_exact(2).map(|b| u16::from_le_bytes(b.try_into().unwrap_or_default())).collect());
        }
        labels.push(role);
    }
    Ok(crate::populations::PopulationLabels { gold, labels })
}

impl PartHeader {
    fn start_row_checked(&self) -> Option<usize> {
        (self.first_row <= self.end_row).then_some(self.first_row)
    }
}
