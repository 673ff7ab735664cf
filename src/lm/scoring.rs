//! The scoring pass: each batch of windows run through the teacher once and through each
//! student, every scored position compared, and the positions added to each student's sums, its
//! bucket sums and (once for all students) the facts the breakdowns need.

use super::breakdown::{entropy_bucket, position_bucket, BucketSums, Facts};
use super::model::{LmModel, Logits};
use super::position::{log_normaliser, position, TeacherRow};
use super::statistics::Sums;
use super::windows::Window;
use super::worst::{top, Worst, WorstPosition, CONTEXT_TOKENS, TOP};
use anyhow::{anyhow, bail};
use rayon::prelude::*;
use std::collections::HashMap;

/// How much was read and scored.
#[derive(Debug, Clone, Default)]
pub struct Counts {
    pub documents: usize,
    pub without_windows: usize,
    pub windows: usize,
    pub window_tokens: usize,
    pub scored: usize,
}

/// One group column: its name, its values in order of first appearance, and their indices.
#[derive(Debug, Clone, Default)]
pub struct GroupColumn {
    pub name: String,
    pub values: Vec<String>,
    index: HashMap<String, u32>,
}

#[derive(Debug, Default)]
pub struct Scoring {
    /// Per student.
    pub sums: Vec<Sums>,
    pub buckets: Vec<BucketSums>,
    /// Per scored position, shared by the students.
    pub facts: Vec<Facts>,
    /// `group_ids[position * columns + column]`.
    pub group_ids: Vec<u32>,
    pub groups: Vec<GroupColumn>,
    /// Occurrences of each token id in the evaluated documents (every token, scored or not).
    pub token_counts: Vec<u64>,
    pub counts: Counts,
    /// Per student, the worst positions kept for `--dump-worst` (empty heaps without it).
    pub worst: Vec<Worst>,
    js_scale: f64,
}

impl Scoring {
    pub fn new(students: usize, group_columns: &[String], js_scale: f64, dump_worst: usize) -> Self {
        Self {
            worst: (0..students).map(|_| Worst::new(dump_worst)).collect(),
            sums: vec![Sums::default(); students],
            buckets: vec![BucketSums::default(); students],
            groups: group_columns.iter().map(|name| GroupColumn { name: name.clone(), ..Default::default() }).collect(),
            js_scale,
            ..Default::default()
        }
    }

    /// A document's value index in each group column.
    pub fn document_groups(&mut self, attributes: &[String]) -> Vec<u32> {
        self.groups
            .iter_mut()
            .zip(attributes)
            .map(|(column, value)| {
                let next = column.values.len() as u32;
                *column.index.entry(value.clone()).or_insert_with(|| {
                    column.values.push(value.clone());
                    next
                })
            })
            .collect()
    }

    pub fn count_tokens(&mut self, ids: &[u32]) {
        for &t in ids {
            if self.token_counts.len() <= t as usize {
                self.token_counts.resize(t as usize + 1, 0);
            }
            self.token_counts[t as usize] += 1;
        }
    }

    /// Scores one batch. `first_window` numbers the batch's first window in the run (the
    /// bootstrap's units); `groups(d)` and `origin(d)` give document `d`'s group indices and name.
    pub fn batch(
        &mut self,
        teacher: &mut LmModel,
        students: &mut [LmModel],
        batch: &[Window],
        first_window: usize,
        groups: &dyn Fn(usize) -> Vec<u32>,
        origin: &dyn Fn(usize) -> String,
    ) -> anyhow::Result<()> {
        let scored: Vec<(usize, usize)> = batch.iter().enumerate().flat_map(|(w, win)| win.scored.clone().map(move |j| (w, j))).collect();
        if scored.is_empty() {
            return Ok(());
        }
        let refs: Vec<&Window> = batch.iter().collect();
        let t = teacher.run(&refs)?;
        check_targets(&t, batch, &teacher.info.name)?;
        let teacher_rows: Vec<(f64, u32)> = scored.par_iter().map(|&(w, j)| log_normaliser(t.row(w, j - 1))).collect();
        let document_groups: Vec<Vec<u32>> = batch.iter().map(|w| groups(w.document)).collect();
        for (k, student) in students.iter_mut().enumerate() {
            let s = student.run(&refs)?;
            if s.vocabulary != t.vocabulary {
                bail!(
                    "model {}: its logits cover {} tokens but the teacher's cover {}; a student must share the teacher's vocabulary",
                    student.info.name,
                    s.vocabulary,
                    t.vocabulary
                );
            }
            let positions: Vec<_> = scored
                .par_iter()
                .zip(&teacher_rows)
                .map(|(&(w, j), &(log_normaliser, top))| {
                    position(&TeacherRow { logits: t.row(w, j - 1), log_normaliser, top }, s.row(w, j - 1), batch[w].tokens[j])
                })
                .collect();
            for (i, (p, &(w, j))) in positions.iter().zip(&scored).enumerate() {
                let p = p.as_ref().ok_or_else(|| {
                    anyhow!(
                        "model {} or the teacher returned a NaN or infinite logit at document {} (token {} of the document): fidelity cannot compare distributions there",
                        student.info.name,
                        origin(batch[w].document),
                        batch[w].start + j - 1
                    )
                })?;
                let facts = Facts { target: p.target, position: position_bucket(j), entropy: entropy_bucket(p.teacher_entropy) };
                if k == 0 {
                    self.facts.push(facts);
                    self.group_ids.extend(&document_groups[w]);
                }
                let seq = (self.counts.scored + i) as u64;
                if self.worst[k].would_keep(p.kl_teacher_student, seq) {
                    let record = worst_record(p, seq, &batch[w], j, t.row(w, j - 1), teacher_rows[i].0, s.row(w, j - 1), origin);
                    self.worst[k].push(record);
                }
                self.sums[k].add(p, (first_window + w) as u32, self.js_scale);
                self.buckets[k].add(p, &facts, &document_groups[w], self.js_scale);
            }
        }
        self.counts.scored += scored.len();
        Ok(())
    }
}

/// The record of a position `--dump-worst` keeps: built only for positions that make the cut.
#[allow(clippy::too_many_arguments)]
fn worst_record(
    p: &super::position::Position,
    seq: u64,
    window: &Window,
    j: usize,
    teacher: &[f32],
    teacher_normaliser: f64,
    student: &[f32],
    origin: &dyn Fn(usize) -> String,
) -> WorstPosition {
    let (student_normaliser, _) = log_normaliser(student);
    WorstPosition {
        kld: p.kl_teacher_student,
        seq,
        document: origin(window.document),
        offset: window.start + j,
        context: window.tokens[j.saturating_sub(CONTEXT_TOKENS)..j].to_vec(),
        target: p.target,
        p_teacher: (-p.nll_teacher).exp(),
        p_student: (-p.nll_student).exp(),
        teacher_top: top(teacher, teacher_normaliser, TOP),
        student_top: top(student, student_normaliser, TOP),
    }
}

/// Every target must be a row of the logits: a tokenizer of another model gives ids beyond them.
fn check_targets(t: &Logits, batch: &[Window], teacher: &str) -> anyhow::Result<()> {
    if let Some(id) = batch.iter().flat_map(|w| w.tokens.iter()).find(|&&id| id as usize >= t.vocabulary) {
        bail!("token id {id} is outside teacher {teacher}'s {} logits: does the tokenizer belong to this model?", t.vocabulary);
    }
    Ok(())
}
