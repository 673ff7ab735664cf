//! `compare` on causal language models: documents in chunks, tokenized, cut into windows; each
//! batch of windows run through the teacher once and through each student, every scored position
//! compared, and the positions summed per student (see [`crate::lm`]). Memory holds one batch's
//! logits of the teacher and of one student, never the corpus's.

use crate::lm::documents::Documents;
use crate::lm::model::{LmModel, Logits};
use crate::lm::position::{log_normaliser, position, TeacherRow};
use crate::lm::statistics::Sums;
use crate::lm::windows::{windows, Window};
use crate::model::session::Runtime;
use crate::plan::language_model::LmPlan;
use crate::report::language_model::{LmConventions, LmDataInfo, LmModelReport, LmReport, LmStudentReport, LM_SCHEMA_VERSION};
use anyhow::{anyhow, bail, Context};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

/// Documents tokenized together (in parallel) before their windows run.
const DOCUMENTS_PER_CHUNK: usize = 256;

struct Counts {
    documents: usize,
    without_windows: usize,
    windows: usize,
    window_tokens: usize,
    scored: usize,
}

fn say(plan: &LmPlan, message: impl AsRef<str>) {
    if !plan.quiet {
        eprintln!("fidelity: {}", message.as_ref());
    }
}

fn tokenizer(plan: &LmPlan) -> anyhow::Result<(tokenizers::Tokenizer, String)> {
    let bytes = std::fs::read(&plan.tokenizer).with_context(|| format!("cannot read tokenizer {}", plan.tokenizer.display()))?;
    let mut t = tokenizers::Tokenizer::from_bytes(&bytes).map_err(|e| anyhow!("tokenizer {}: {e}", plan.tokenizer.display()))?;
    // A document is one sequence of any length: windows cut it, not the tokenizer.
    t.with_padding(None);
    t.with_truncation(None).map_err(|e| anyhow!("tokenizer {}: {e}", plan.tokenizer.display()))?;
    Ok((t, format!("{:x}", Sha256::digest(&bytes))))
}

/// Refuses, before any model runs, students whose vocabulary is not the teacher's.
fn check_vocabularies(teacher: &LmModel, students: &[LmModel], tokenizer_size: usize, plan: &LmPlan) -> anyhow::Result<()> {
    let v = teacher.info.vocabulary;
    for s in students {
        if v > 0 && s.info.vocabulary > 0 && s.info.vocabulary != v {
            bail!("model {}: its logits cover {} tokens but the teacher's cover {v}; a student must share the teacher's vocabulary to be compared token by token", s.info.name, s.info.vocabulary);
        }
    }
    if v > 0 && tokenizer_size > v {
        bail!("tokenizer {} has {tokenizer_size} tokens but the teacher's logits cover {v}: pass --tokenizer with the model's own tokenizer.json", plan.tokenizer.display());
    }
    Ok(())
}

pub fn run(plan: &LmPlan) -> anyhow::Result<LmReport> {
    let started = std::time::Instant::now();
    if let Some(flag) = [("--markdown", &plan.reports.markdown), ("--html", &plan.reports.html), ("--junit", &plan.reports.junit)].iter().find(|(_, p)| p.is_some()).map(|f| f.0) {
        bail!("{flag}: language-model reports are JSON and the terminal table for now; leave {flag} out");
    }
    let runtime = Runtime::load(plan.ort_lib.as_deref(), plan.threads)?;
    let (tokenizer, tokenizer_sha256) = tokenizer(plan)?;
    let load = |m: &crate::plan::ModelSource| LmModel::load(&runtime, &m.name, &m.path, m.device, &m.runtime);
    let mut teacher = load(&plan.teacher)?;
    let mut students = plan.students.iter().map(load).collect::<Result<Vec<_>, _>>()?;
    check_vocabularies(&teacher, &students, tokenizer.get_vocab_size(true), plan)?;
    let mut documents = Documents::open(&plan.data, &plan.format, &plan.columns)?;
    say(plan, format!("causal LM: teacher {} and {} students on {}", teacher.info.name, students.len(), plan.data.display()));
    let js_scale = 1.0 / plan.js_base_ln();
    let mut sums = vec![Sums::default(); students.len()];
    let mut counts = Counts { documents: 0, without_windows: 0, windows: 0, window_tokens: 0, scored: 0 };
    loop {
        let chunk = documents.next_chunk(DOCUMENTS_PER_CHUNK)?;
        if chunk.is_empty() {
            break;
        }
        let encoded: Vec<Vec<u32>> = chunk
            .par_iter()
            .map(|d| tokenizer.encode(d.text.as_str(), true).map(|e| e.get_ids().to_vec()).map_err(|e| anyhow!("{}: {}: cannot tokenize: {e}", plan.data.display(), d.origin)))
            .collect::<anyhow::Result<_>>()?;
        let mut chunk_windows: Vec<Window> = Vec::new();
        for (i, ids) in encoded.iter().enumerate() {
            let w = windows(counts.documents + i, ids, plan.context, plan.stride, plan.score_from);
            counts.without_windows += usize::from(w.is_empty());
            chunk_windows.extend(w);
        }
        for (b, batch) in chunk_windows.chunks(plan.batch_size).enumerate() {
            // Windows are numbered in scoring order across the run: the bootstrap's units.
            let first_window = counts.windows + b * plan.batch_size;
            let refs: Vec<&Window> = batch.iter().collect();
            let scored: Vec<(usize, usize)> = batch.iter().enumerate().flat_map(|(w, win)| win.scored.clone().map(move |j| (w, j))).collect();
            if scored.is_empty() {
                continue;
            }
            let t = teacher.run(&refs)?;
            check_targets(&t, batch, &teacher.info.name)?;
            let teacher_rows: Vec<(f64, u32)> = scored.par_iter().map(|&(w, j)| log_normaliser(t.row(w, j - 1))).collect();
            for (student, sums) in students.iter_mut().zip(sums.iter_mut()) {
                let s = student.run(&refs)?;
                if s.vocabulary != t.vocabulary {
                    bail!("model {}: its logits cover {} tokens but the teacher's cover {}; a student must share the teacher's vocabulary", student.info.name, s.vocabulary, t.vocabulary);
                }
                let positions: Vec<_> = scored
                    .par_iter()
                    .zip(&teacher_rows)
                    .map(|(&(w, j), &(log_normaliser, top))| position(&TeacherRow { logits: t.row(w, j - 1), log_normaliser, top }, s.row(w, j - 1), batch[w].tokens[j]))
                    .collect();
                for (p, &(w, j)) in positions.iter().zip(&scored) {
                    let p = p.as_ref().ok_or_else(|| {
                        anyhow!("model {} or the teacher returned a NaN or infinite logit at document {} (token {} of the document): fidelity cannot compare distributions there", student.info.name, chunk[batch[w].document - counts.documents].origin, batch[w].start + j - 1)
                    })?;
                    sums.add(p, (first_window + w) as u32, js_scale);
                }
            }
            counts.scored += scored.len();
        }
        counts.windows += chunk_windows.len();
        counts.window_tokens += chunk_windows.iter().map(|w| w.tokens.len()).sum::<usize>();
        counts.documents += chunk.len();
    }
    if counts.scored == 0 {
        bail!("{}: no position to score: {} documents gave no window with a target at or past --score-from {} (context {}); give longer documents, a smaller --score-from, or 1", plan.data.display(), counts.documents, plan.score_from.describe(), plan.context);
    }
    let report = assemble(plan, &runtime, tokenizer_sha256, &teacher, students, sums, counts, started.elapsed().as_secs_f64());
    crate::report::files::write_atomically(&plan.reports.json, &serde_json::to_vec_pretty(&report)?)?;
    say(plan, format!("report written to {}", plan.reports.json.display()));
    Ok(report)
}

/// Every target must be a row of the logits: a tokenizer of another model gives ids beyond them.
fn check_targets(t: &Logits, batch: &[Window], teacher: &str) -> anyhow::Result<()> {
    if let Some(id) = batch.iter().flat_map(|w| w.tokens.iter()).find(|&&id| id as usize >= t.vocabulary) {
        bail!("token id {id} is outside teacher {teacher}'s {} logits: does the tokenizer belong to this model?", t.vocabulary);
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn assemble(plan: &LmPlan, runtime: &Runtime, tokenizer_sha256: String, teacher: &LmModel, students: Vec<LmModel>, sums: Vec<Sums>, counts: Counts, seconds: f64) -> LmReport {
    let model_report = |m: &LmModel| LmModelReport { model: m.info.clone(), onnxruntime_seconds: m.runtime_seconds };
    LmReport {
        schema_version: LM_SCHEMA_VERSION,
        task: "causal_lm".into(),
        name: plan.name.clone(),
        tool: Default::default(),
        complete: true,
        machine: crate::machine::MachineInfo::detect(),
        runtime: crate::report::RuntimeInfo {
            onnxruntime_version: runtime.version.clone(),
            library: runtime.library.path.clone(),
            library_origin: runtime.library.origin.clone(),
            integer_numerics: Default::default(),
        },
        data: LmDataInfo {
            path: plan.data.clone(),
            format: plan.format.clone(),
            text_column: matches!(plan.format, crate::lm::documents::DocumentFormat::Table(_)).then(|| plan.columns.text.clone()).flatten(),
            group_columns: plan.columns.groups.clone(),
            tokenizer: plan.tokenizer.clone(),
            tokenizer_sha256,
            documents: counts.documents,
            documents_without_windows: counts.without_windows,
            windows: counts.windows,
            window_tokens: counts.window_tokens,
            scored_positions: counts.scored,
            context: plan.context,
            stride: plan.stride,
            score_from: plan.score_from.describe(),
            windows_per_batch: plan.batch_size,
        },
        conventions: LmConventions::new(plan.js_base),
        teacher: model_report(teacher),
        students: students
            .iter()
            .zip(sums)
            .map(|(m, s)| {
                let mut tokens = s.finish();
                tokens.intervals = crate::lm::intervals::intervals(&s, &plan.bootstrap);
                LmStudentReport { model: model_report(m), tokens }
            })
            .collect(),
        seconds,
    }
}
