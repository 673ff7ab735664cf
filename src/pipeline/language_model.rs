//! `compare` on causal language models: documents in chunks, tokenized, cut into windows, scored
//! batch by batch ([`crate::lm::scoring`]), then summed up per student: llama.cpp's statistics,
//! intervals over windows and the long-tail breakdowns. Memory holds one batch's logits of the
//! teacher and of one student, never the corpus's.

use crate::lm::breakdown::{breakdowns, frequency_classes, GroupFacts};
use crate::lm::documents::Documents;
use crate::lm::model::LmModel;
use crate::lm::scoring::Scoring;
use crate::lm::windows::{windows, Window};
use crate::model::session::Runtime;
use crate::plan::language_model::LmPlan;
use crate::report::language_model::{LmConventions, LmDataInfo, LmModelReport, LmReport, LmStudentReport, LM_SCHEMA_VERSION};
use anyhow::{anyhow, bail, Context};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

/// Documents tokenized together (in parallel) before their windows run.
const DOCUMENTS_PER_CHUNK: usize = 256;

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
    let vocabularies: Vec<(&str, usize)> = std::iter::once(teacher).chain(students).map(|m| (m.info.name.as_str(), m.info.vocabulary)).collect();
    match crate::lm::model::vocabulary_problem(&vocabularies, &plan.tokenizer, tokenizer_size) {
        Some(problem) => bail!(problem),
        None => Ok(()),
    }
}

/// `--token-counts`: a JSON array of counts indexed by token id.
fn read_token_counts(path: &std::path::Path) -> anyhow::Result<Vec<u64>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read --token-counts {}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| anyhow!("--token-counts {}: not a JSON array of counts indexed by token id ({e})", path.display()))
}

pub fn run(plan: &LmPlan) -> anyhow::Result<LmReport> {
    let runtime = Runtime::load(plan.ort_lib.as_deref(), plan.threads)?;
    run_with(plan, &runtime)
}

/// [`run`] in an ONNX Runtime already loaded (ONNX Runtime allows one per process).
pub fn run_with(plan: &LmPlan, runtime: &Runtime) -> anyhow::Result<LmReport> {
    let started = std::time::Instant::now();
    let given_counts = plan.token_counts.as_deref().map(read_token_counts).transpose()?;
    let (tokenizer, tokenizer_sha256) = tokenizer(plan)?;
    let load = |m: &crate::plan::ModelSource| LmModel::load(runtime, &m.name, &m.path, m.device, &m.runtime);
    let mut teacher = load(&plan.teacher)?;
    let mut students = plan.students.iter().map(load).collect::<Result<Vec<_>, _>>()?;
    check_vocabularies(&teacher, &students, tokenizer.get_vocab_size(true), plan)?;
    let mut documents = Documents::open(&plan.data, &plan.format, &plan.columns)?;
    say(plan, format!("causal LM: teacher {} and {} students on {}", teacher.info.name, students.len(), plan.data.display()));
    let mut scoring = Scoring::new(students.len(), &plan.columns.groups, 1.0 / plan.js_base_ln(), plan.dump_worst);
    loop {
        let chunk = documents.next_chunk(DOCUMENTS_PER_CHUNK)?;
        if chunk.is_empty() {
            break;
        }
        let encoded: Vec<Vec<u32>> = chunk
            .par_iter()
            .map(|d| {
                tokenizer
                    .encode(d.text.as_str(), true)
                    .map(|e| e.get_ids().to_vec())
                    .map_err(|e| anyhow!("{}: {}: cannot tokenize: {e}", plan.data.display(), d.origin))
            })
            .collect::<anyhow::Result<_>>()?;
        let first_document = scoring.counts.documents;
        let groups: Vec<Vec<u32>> = chunk.iter().map(|d| scoring.document_groups(&d.attributes)).collect();
        let mut chunk_windows: Vec<Window> = Vec::new();
        for (i, ids) in encoded.iter().enumerate() {
            scoring.count_tokens(ids);
            let w = windows(first_document + i, ids, plan.context, plan.stride, plan.score_from);
            scoring.counts.without_windows += usize::from(w.is_empty());
            chunk_windows.extend(w);
        }
        for (b, batch) in chunk_windows.chunks(plan.batch_size).enumerate() {
            // Windows are numbered in scoring order across the run: the bootstrap's units.
            let first_window = scoring.counts.windows + b * plan.batch_size;
            scoring.batch(&mut teacher, &mut students, batch, first_window, &|d| groups[d - first_document].clone(), &|d| {
                chunk[d - first_document].origin.clone()
            })?;
        }
        scoring.counts.windows += chunk_windows.len();
        scoring.counts.window_tokens += chunk_windows.iter().map(|w| w.tokens.len()).sum::<usize>();
        scoring.counts.documents += chunk.len();
    }
    if scoring.counts.scored == 0 {
        let c = &scoring.counts;
        bail!("{}: no position to score: {} documents gave no window with a target at or past --score-from {} (context {}); give longer documents, a smaller --score-from, or 1", plan.data.display(), c.documents, plan.score_from.describe(), plan.context);
    }
    let counted = given_counts.is_none();
    let classes = frequency_classes(given_counts.as_deref().unwrap_or(&scoring.token_counts));
    let mut report = assemble(plan, runtime, tokenizer_sha256, &teacher, &students, &scoring, &classes, counted, started.elapsed().as_secs_f64());
    if plan.dump_worst > 0 {
        let path = worst_path(&plan.reports.json);
        write_worst(&path, &tokenizer, &students, std::mem::take(&mut scoring.worst))?;
        say(plan, format!("the {} worst positions of each student written to {}", plan.dump_worst, path.display()));
        report.data.worst_positions = Some(path);
    }
    report.gate = crate::gate::evaluate(&plan.gates, &report.students);
    crate::report::files::write_atomically(&plan.reports.json, &serde_json::to_vec_pretty(&report)?)?;
    if let Some(md) = &plan.reports.markdown {
        crate::report::files::write_atomically(md, &crate::report::language_model_markdown::render(&report))?;
    }
    if let Some(html) = &plan.reports.html {
        crate::report::files::write_atomically(html, &crate::report::language_model_html::render(&report))?;
    }
    if let Some(junit) = &plan.reports.junit {
        crate::report::files::write_atomically(junit, &crate::report::junit::render_gate(&report.name, &report.gate))?;
    }
    say(plan, format!("report written to {}", plan.reports.json.display()));
    Ok(report)
}

/// `reports/lm.json` -> `reports/lm.worst.jsonl`.
pub fn worst_path(json: &std::path::Path) -> std::path::PathBuf {
    let stem = json.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "report".into());
    json.with_file_name(format!("{stem}.worst.jsonl"))
}

/// One JSON line per kept position, each student's worst first.
fn write_worst(path: &std::path::Path, tokenizer: &tokenizers::Tokenizer, students: &[LmModel], worst: Vec<crate::lm::worst::Worst>) -> anyhow::Result<()> {
    let text = |ids: &[u32]| tokenizer.decode(ids, false).unwrap_or_default();
    let tops = |v: &[(u32, f64)]| v.iter().map(|&(id, p)| serde_json::json!({"id": id, "text": text(&[id]), "p": p})).collect::<Vec<_>>();
    let mut out = String::new();
    for (student, w) in students.iter().zip(worst) {
        for (rank, p) in w.into_sorted().into_iter().enumerate() {
            let line = serde_json::json!({
                "student": student.info.name,
                "rank": rank + 1,
                "kld": p.kld,
                "document": p.document,
                "offset": p.offset,
                "context": text(&p.context),
                "target": {"id": p.target, "text": text(&[p.target]), "p_teacher": p.p_teacher, "p_student": p.p_student},
                "teacher_top5": tops(&p.teacher_top),
                "student_top5": tops(&p.student_top),
            });
            out.push_str(&serde_json::to_string(&line)?);
            out.push('\n');
        }
    }
    crate::report::files::write_atomically(path, out.as_bytes())?;
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn assemble(
    plan: &LmPlan,
    runtime: &Runtime,
    tokenizer_sha256: String,
    teacher: &LmModel,
    students: &[LmModel],
    scoring: &Scoring,
    classes: &[u8],
    counted: bool,
    seconds: f64,
) -> LmReport {
    let model_report = |m: &LmModel| LmModelReport { model: m.info.clone(), onnxruntime_seconds: m.runtime_seconds };
    let columns: Vec<(String, Vec<String>)> = scoring.groups.iter().map(|g| (g.name.clone(), g.values.clone())).collect();
    let group_facts = GroupFacts { columns: &columns, ids: &scoring.group_ids };
    let c = &scoring.counts;
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
            documents: c.documents,
            documents_without_windows: c.without_windows,
            windows: c.windows,
            window_tokens: c.window_tokens,
            scored_positions: c.scored,
            context: plan.context,
            stride: plan.stride,
            score_from: plan.score_from.describe(),
            windows_per_batch: plan.batch_size,
            worst_positions: None,
            token_counts: if counted {
                "the evaluated documents".into()
            } else {
                plan.token_counts.as_ref().map(|p| p.display().to_string()).unwrap_or_default()
            },
        },
        conventions: LmConventions::new(plan.js_base),
        teacher: model_report(teacher),
        students: students
            .iter()
            .zip(&scoring.sums)
            .zip(&scoring.buckets)
            .map(|((m, s), b)| {
                let mut tokens = s.finish();
                tokens.intervals = crate::lm::intervals::intervals(s, &plan.bootstrap);
                let breakdowns = breakdowns(s, b, &scoring.facts, classes, &group_facts, plan.min_positions);
                LmStudentReport { model: model_report(m), tokens, breakdowns }
            })
            .collect(),
        gate: Default::default(),
        run_seconds: seconds,
    }
}
