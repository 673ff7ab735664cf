//! `fidelity locate`, start to end: load both models (their optimised sessions give the outputs
//! `compare` would), match their tensors, build three tapped graphs (teacher, student, student cut
//! at every matched tensor and fed the teacher's), run the sample batch by batch, keep running sums.

use super::ablation;
use super::graph::{GraphView, NodeView as GraphNode};
use super::matching::{match_tensors, Architecture, Matching, TensorMatch};
use super::report::{by_op_type, first_divergent, LocateData, LocateReport, ModelRef, OutputsRow, TensorRow, Unmatched};
use super::tap::{Tap, Tensors, Values};
use super::tensor_error::ErrorSums;
use super::track::Track;
use super::weights::compare_weights;
use crate::inference::{run_pass, BatchOrder, BatchPlan, BatchSource};
use crate::metrics::probability::argmax;
use crate::model::Backend;
use crate::onnx::proto::ModelProto;
use crate::onnx::rewrite::{cut, decode, expose_all, Cut};
use crate::pipeline::inputs::{text_encoder, ChunkReader};
use crate::pipeline::{CompareError, Progress};
use crate::plan::locate::LocatePlan;
use std::collections::HashMap;
use std::path::Path;

/// The suffix of a cut's new input: the teacher's value of the tensor.
const FED: &str = "@teacher";

/// Runs the whole analysis.
pub fn run(plan: &LocatePlan) -> Result<LocateReport, CompareError> {
    let started = std::time::Instant::now();
    let progress = Progress::new(plan.compare.quiet);
    let mut session = crate::pipeline::load::load(&plan.compare, &progress)?;
    let student_source = &plan.compare.students[0];
    let read = |path: &Path| -> Result<ModelProto, CompareError> {
        let bytes = std::fs::read(path).map_err(|e| CompareError::Locate(format!("cannot read {}: {e}", path.display())))?;
        decode(&bytes).map_err(|e| CompareError::Locate(format!("{}: {e}", path.display())))
    };
    let (teacher_model, student_model) = (read(&plan.compare.teacher.path)?, read(&student_source.path)?);
    let matching = match_tensors(&GraphView::of(&teacher_model), &GraphView::of(&student_model));
    let (weights, mut notes) = compare_weights(&teacher_model, &student_model);
    let mut taps = Taps::build(&session.runtime, plan, &teacher_model, &student_model, &matching, &mut notes)?;
    progress.say(format!("{} tensor pairs matched ({:?}); reading the data", matching.pairs.len(), matching.architecture));

    let mut state = State::new(&matching, &taps, plan.seed);
    let sampled = run_sample(plan, &mut session, &matching, &mut taps, &mut state, &progress)?;
    let tensors = state.rows(&matching, &GraphView::of(&teacher_model));
    let not_float = matching.pairs.len() - tensors.len();
    let outputs = state.outputs_row();
    let ablation = ablation_stage(plan, &session, &teacher_model, &student_model, &tensors, &outputs, sampled.kept, sampled.student_kind, &progress)?;
    notes.append(&mut taps.notes);
    Ok(LocateReport {
        fidelity_version: env!("CARGO_PKG_VERSION").to_string(),
        teacher: model_ref(session.models.teacher.info()),
        student: model_ref(session.models.students[0].info()),
        data: LocateData { path: plan.compare.data.clone(), rows: sampled.rows, seed: plan.seed, batch_size: plan.compare.batch_size, batches: sampled.batches },
        onnxruntime: session.runtime.version.clone(),
        graphs: "intermediate tensors read with graph optimisation off (as onnxruntime's qdq_loss_debug reads them); class probabilities from the optimised sessions compare runs".into(),
        architecture: matching.architecture.clone(),
        threshold_db: plan.threshold_db,
        first_divergent: first_divergent(&tensors, plan.threshold_db),
        by_op_type: by_op_type(&tensors),
        tensors,
        probabilities: outputs,
        ablation,
        unmatched: Unmatched {
            teacher: matching.unmatched_teacher.clone(),
            student: matching.unmatched_student.clone(),
            quantization_internal: matching.quantization_internal,
            not_float,
        },
        weights,
        notes,
        seconds: started.elapsed().as_secs_f64(),
        peak_memory_bytes: crate::speed::memory::peak_rss_bytes(),
    })
}

/// What the sample left besides the running sums.
struct Sampled {
    rows: usize,
    batches: Vec<Vec<usize>>,
    /// For ablation: each batch and the teacher's probability rows (QDQ students only).
    kept: Vec<(crate::data::Batch, Vec<Vec<f64>>)>,
    student_kind: Option<crate::metrics::OutputKind>,
}

/// Draws the sample and runs it batch by batch: the optimised passes for the outputs, the taps
/// for the tensors.
fn run_sample(
    plan: &LocatePlan,
    session: &mut crate::pipeline::load::Session,
    matching: &Matching,
    taps: &mut Taps,
    state: &mut State,
    progress: &Progress,
) -> Result<Sampled, CompareError> {
    let encoder = text_encoder(&plan.compare)?;
    let teacher_info = session.models.teacher.info().clone();
    let mut counter = ChunkReader::open(&plan.compare, &teacher_info, session.label_names.as_ref(), encoder.as_ref())?;
    counter.skip(usize::MAX)?;
    let rows = counter.rows_read();
    let sample = crate::inference::invariance::sample_indices(rows, plan.examples, plan.seed);
    let mut reader = ChunkReader::open(&plan.compare, &teacher_info, session.label_names.as_ref(), encoder.as_ref())?;
    let mut batches = Vec::new();
    let mut kept = Vec::new();
    let mut student_kind = None;
    let mut next = 0;
    while let Some(chunk) = reader.next_chunk(plan.chunk_size)? {
        let end = chunk.offset + chunk.examples.len();
        let start = next;
        while next < sample.len() && sample[next] < end {
            next += 1;
        }
        if start == next {
            continue;
        }
        let subset = Subset { source: chunk.source.as_ref(), rows: sample[start..next].iter().map(|r| r - chunk.offset).collect() };
        let order = BatchPlan::new(&subset, plan.compare.batch_size, BatchOrder::File);
        let origin = |i: usize| format!("{}, row {}", plan.compare.data.display(), sample[start + i] + 1);
        let teacher_pass = run_pass(&mut session.models.teacher, &subset, &order, plan.compare.outputs, &origin)?;
        let student_pass = run_pass(&mut session.models.students[0], &subset, &order, plan.compare.outputs, &origin)?;
        student_kind.get_or_insert(student_pass.output_kind);
        for indices in &order.batches {
            let batch = subset.batch_of(indices);
            let (tp, sp): (Vec<&[f64]>, Vec<&[f64]>) = indices.iter().map(|&i| (teacher_pass.probabilities.row(i), student_pass.probabilities.row(i))).unzip();
            state.outputs(&tp, &sp, plan.compare.js_base);
            let tensors = taps.run(&batch)?;
            state.add(matching, &tensors);
            batches.push(indices.iter().map(|&i| sample[start + i]).collect());
            if plan.ablate > 0 && matching.pairs.iter().any(|p| p.student_before_qdq.is_some()) {
                kept.push((batch, tp.iter().map(|r| r.to_vec()).collect()));
            }
        }
        progress.say(format!("{next} of {} sampled examples", sample.len()));
    }
    if sample.is_empty() {
        return Err(CompareError::Locate(format!("{}: no rows to sample", plan.compare.data.display())));
    }
    Ok(Sampled { rows, batches, kept, student_kind })
}

/// `--ablate K` on a QDQ student (see [`ablation`]).
#[allow(clippy::too_many_arguments)]
fn ablation_stage(
    plan: &LocatePlan,
    session: &crate::pipeline::load::Session,
    teacher_model: &ModelProto,
    student_model: &ModelProto,
    tensors: &[TensorRow],
    outputs: &OutputsRow,
    kept: Vec<(crate::data::Batch, Vec<Vec<f64>>)>,
    student_kind: Option<crate::metrics::OutputKind>,
    progress: &Progress,
) -> Result<Option<ablation::Ablation>, CompareError> {
    let student_source = &plan.compare.students[0];
    let teacher_info = session.models.teacher.info();
    Ok(match (kept.is_empty(), student_kind) {
        (false, Some(student_kind)) => {
            progress.say(format!("bypassing up to {} nodes, one at a time", plan.ablate));
            let sample = ablation::Sample { batches: kept, student_kind, js_base: plan.compare.js_base };
            let settings = crate::pipeline::load::session_settings(&plan.compare, student_source, teacher_info.classes);
            let setup = ablation::Setup {
                runtime: &session.runtime,
                name: &student_source.name,
                student_path: &student_source.path,
                settings,
                teacher: teacher_model,
                student: student_model,
                sample: &sample,
                keep: ablation::folded_pairs(tensors),
            };
            let student = ablation::Loyalty { label_loyalty: outputs.label_loyalty, probability_loyalty: outputs.probability_loyalty };
            Some(ablation::ablate(&setup, tensors, plan.ablate, plan.target, student, plan.write_patched.as_deref()).map_err(CompareError::Locate)?)
        }
        _ => {
            if plan.write_patched.is_some() {
                return Err(CompareError::Locate(format!(
                    "--write-patched: {} has no quantize/dequantize pairs to bypass (it is not a QDQ student)",
                    student_source.name
                )));
            }
            None
        }
    })
}

fn model_ref(info: &crate::model::ModelInfo) -> ModelRef {
    ModelRef { name: info.name.clone(), path: info.path.clone(), sha256: info.sha256.clone() }
}

/// Some rows of a chunk, as a batch source of their own.
struct Subset<'a> {
    source: &'a dyn BatchSource,
    rows: Vec<usize>,
}

impl BatchSource for Subset<'_> {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn batch_of(&self, indices: &[usize]) -> crate::data::Batch {
        let rows: Vec<usize> = indices.iter().map(|&i| self.rows[i]).collect();
        self.source.batch_of(&rows)
    }
    fn length(&self, i: usize) -> usize {
        self.source.length(self.rows[i])
    }
}

/// The three tapped sessions.
struct Taps {
    teacher: Tap,
    student: Tap,
    /// The student cut at every matched tensor (same architecture only), its cuts and the
    /// teacher tensor each cut is fed.
    local: Option<(Tap, Vec<(Cut, String)>)>,
    notes: Vec<String>,
}

impl Taps {
    fn build(
        runtime: &crate::model::Runtime,
        plan: &LocatePlan,
        teacher: &ModelProto,
        student: &ModelProto,
        matching: &Matching,
        notes: &mut Vec<String>,
    ) -> Result<Self, CompareError> {
        let dir = |p: &Path| p.parent().filter(|d| !d.as_os_str().is_empty()).map(Path::to_path_buf).unwrap_or_else(|| ".".into());
        let (teacher_dir, student_dir) = (dir(&plan.compare.teacher.path), dir(&plan.compare.students[0].path));
        let feed = |name: &str| match &plan.compare.inputs {
            crate::plan::InputPlan::Images(images) => images.feed_of(name),
            _ => None,
        };
        let tap = |name: &str, model: &ModelProto, d: &Path, fed: &[String]| {
            let mut tap = Tap::new(runtime, name, model, Some(d), fed).map_err(CompareError::Locate)?;
            // A cut graph ("NAME (cut)") reads the student's images.
            tap.image_feed = feed(name.trim_end_matches(" (cut)"));
            Ok::<Tap, CompareError>(tap)
        };
        let mut exposed = teacher.clone();
        expose_all(&mut exposed);
        let teacher_tap = tap(&plan.compare.teacher.name, &exposed, &teacher_dir, &[])?;
        let mut exposed = student.clone();
        expose_all(&mut exposed);
        let student_name = &plan.compare.students[0].name;
        let student_tap = tap(student_name, &exposed, &student_dir, &[])?;
        let mut local = None;
        if matching.architecture == Architecture::Same {
            // Cut where consumers read (a QDQ pair's output), once per tensor. A tensor before a
            // QDQ pair is never cut: its pair's output must come from the student's own node (a QDQ
            // student that folded Relu into its pair computes the teacher's pre-Relu sum there).
            let mut seen: std::collections::HashSet<&str> = matching.pairs.iter().filter_map(|p| p.student_before_qdq.as_deref()).collect();
            let cuts: Vec<(Cut, String)> = matching
                .pairs
                .iter()
                .filter(|p| {
                    teacher_tap.float_outputs.contains_key(&p.teacher)
                        && student_tap.float_outputs.get(cut_tensor(p)) == teacher_tap.float_outputs.get(&p.teacher)
                })
                .filter(|p| seen.insert(cut_tensor(p)))
                .map(|p| {
                    let c = Cut {
                        tensor: cut_tensor(p).to_string(),
                        input: format!("{}{FED}", cut_tensor(p)),
                        elem_type: onnx_type(teacher_tap.float_outputs[&p.teacher]),
                    };
                    (c, p.teacher.clone())
                })
                .collect();
            let fed: Vec<String> = cuts.iter().map(|(c, _)| c.input.clone()).collect();
            let plain: Vec<Cut> = cuts.iter().map(|(c, _)| Cut { tensor: c.tensor.clone(), input: c.input.clone(), elem_type: c.elem_type }).collect();
            match tap(&format!("{student_name} (cut)"), &cut(student, &plain), &student_dir, &fed) {
                Ok(t) => local = Some((t, cuts)),
                Err(e) => notes.push(format!("local errors not measured: the cut student graph does not load: {e}")),
            }
        }
        Ok(Self { teacher: teacher_tap, student: student_tap, local, notes: vec![] })
    }

    fn run(&mut self, batch: &crate::data::Batch) -> Result<[Tensors; 3], CompareError> {
        let none = HashMap::new();
        let mut teacher = self.teacher.run(batch, &none).map_err(CompareError::Locate)?;
        let mut student = self.student.run(batch, &none).map_err(CompareError::Locate)?;
        // Float inputs are tensors too (a QDQ student quantizes them first); image data name
        // them by preprocessing, so each model's input is its own copy.
        for (tap, tensors) in [(&self.teacher, &mut teacher), (&self.student, &mut student)] {
            if let Some((input, Some(crate::data::InputTensor::Float32(a)))) = tap.image_input().map(|(i, f)| (i, batch.get(f))) {
                tensors.entry(input.to_string()).or_insert_with(|| Values::Owned { shape: a.shape().to_vec(), data: a.iter().copied().collect() });
            }
        }
        for (name, tensor) in &batch.tensors {
            if let crate::data::InputTensor::Float32(a) = tensor {
                let v = || Values::Owned { shape: a.shape().to_vec(), data: a.iter().copied().collect() };
                teacher.entry(name.clone()).or_insert_with(v);
                student.entry(name.clone()).or_insert_with(v);
            }
        }
        let mut local = Tensors::new();
        if let Some((tap, cuts)) = &mut self.local {
            let fed: HashMap<String, &Values> = cuts.iter().filter_map(|(c, t)| teacher.get(t).map(|v| (c.input.clone(), v))).collect();
            match tap.run(batch, &fed) {
                Ok(t) => local = t,
                Err(e) => {
                    self.notes.push(format!("local errors not measured: the cut student graph fails on the teacher's tensors: {e}"));
                    self.local = None;
                }
            }
        }
        Ok([teacher, student, local])
    }
}

/// Where the local graph is cut for a pair: what the student's consumers read, so each node is
/// fed the teacher's tensors as its inputs. Its local error then covers its weights' quantization
/// and, for QDQ, its output's pair (each pair is counted once, at the node it follows).
fn cut_tensor(p: &TensorMatch) -> &str {
    &p.student
}

fn onnx_type(t: ort::value::TensorElementType) -> i32 {
    use ort::value::TensorElementType as T;
    match t {
        T::Float16 => 10,
        T::Bfloat16 => 16,
        T::Float64 => 11,
        _ => 1,
    }
}

/// Running sums over the batches.
struct State {
    tracks: Vec<Option<Track>>,
    js: Vec<f64>,
    flipped: Vec<bool>,
    outputs: ErrorSums,
    examples: usize,
    flips: usize,
    js_sum: f64,
}

impl State {
    fn new(matching: &Matching, taps: &Taps, seed: u64) -> Self {
        let tracks = matching
            .pairs
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let float = taps.teacher.float_outputs.contains_key(&p.teacher) && taps.student.float_outputs.contains_key(&p.student);
                let local = taps.local.as_ref().is_some_and(|(tap, _)| tap.float_outputs.contains_key(&p.student));
                float.then(|| Track::new(seed, i as u64, local, p.student_before_qdq.is_some()))
            })
            .collect();
        Self { tracks, js: vec![], flipped: vec![], outputs: ErrorSums::default(), examples: 0, flips: 0, js_sum: 0.0 }
    }

    /// The batch's class probabilities: per-example JS distance and flips for the outcome ties.
    fn outputs(&mut self, teacher: &[&[f64]], student: &[&[f64]], base: crate::metrics::LogBase) {
        self.js.clear();
        self.flipped.clear();
        for (t, s) in teacher.iter().zip(student) {
            let d = crate::metrics::divergence::js_distance(t, s, base);
            let flip = argmax(t) != argmax(s);
            self.js.push(d);
            self.flipped.push(flip);
            self.js_sum += d;
            self.flips += usize::from(flip);
            self.examples += 1;
            let (tf, sf): (Vec<f32>, Vec<f32>) = t.iter().zip(s.iter()).map(|(a, b)| (*a as f32, *b as f32)).unzip();
            self.outputs.add(&tf, &sf);
        }
    }

    fn add(&mut self, matching: &Matching, tensors: &[Tensors; 3]) {
        use rayon::prelude::*;
        let [teacher, student, local] = tensors;
        let (js, flipped) = (&self.js, &self.flipped);
        // Tensors are independent: summed on every core.
        matching.pairs.par_iter().zip(self.tracks.par_iter_mut()).for_each(|(p, track)| {
            let Some(track) = track else { return };
            let (Some(t), Some(s)) = (teacher.get(&p.teacher), student.get(&p.student)) else { return };
            let l = local.get(&p.student).map(|l| l.data());
            let pre = p.student_before_qdq.as_ref().and_then(|n| student.get(n)).map(|v| v.data());
            track.add(t.data(), s.data(), l, pre, js, flipped);
        });
    }

    fn rows(&self, matching: &Matching, teacher: &GraphView) -> Vec<TensorRow> {
        let mut rows: Vec<TensorRow> = Vec::new();
        for (p, track) in matching.pairs.iter().zip(&self.tracks) {
            let Some(track) = track else { continue };
            let node = p.teacher_node.map(|i| teacher.nodes[i].clone()).unwrap_or_else(|| GraphNode {
                name: "(graph input)".into(),
                op_type: "Input".into(),
                inputs: vec![],
                outputs: vec![p.teacher.clone()],
            });
            let (cumulative, local, qdq) = track.errors();
            // Gain: this tensor's relative error over the worst of the node's matched inputs.
            let worst_in = node.inputs.iter().filter_map(|i| rows.iter().find(|r| &r.tensor == i)).filter_map(|r| r.cumulative.relative_l2).reduce(f64::max);
            let gain = worst_in.filter(|w| *w > 0.0).zip(cumulative.relative_l2).map(|(w, out)| out / w);
            rows.push(TensorRow {
                tensor: p.teacher.clone(),
                student: p.student.clone(),
                student_before_qdq: p.student_before_qdq.clone(),
                node: node.label(),
                op_type: node.op_type.clone(),
                matched_by: p.by,
                depth: p.teacher_node.map_or(0, |i| i + 1),
                cumulative,
                local,
                qdq,
                gain,
                per_example_sqnr_db: track.percentiles(),
                outcome: track.outcome(),
            });
        }
        rows
    }

    fn outputs_row(&self) -> OutputsRow {
        let n = self.examples.max(1) as f64;
        OutputsRow {
            examples: self.examples,
            flips: self.flips,
            label_loyalty: 1.0 - self.flips as f64 / n,
            mean_js_distance: self.js_sum / n,
            probability_loyalty: 1.0 - self.js_sum / n,
            error: (&self.outputs).into(),
        }
    }
}
