//! Flags and suite to a validated [`ComparePlan`]: a flag given wins over the suite, the suite
//! over the default. One function per section of the plan (models, data, statistics, attack,
//! gates, speed, reports), each refusing its own contradictions.

use super::{AttackSettings, ComparePlan, InputPlan, ModelSource, PlanError, ReportPaths};
use crate::cli::{CompareArgs, JsBase, OutputsArg};
use crate::data::{Columns, DataFormat};
use crate::gate::{GateMetric, GateSpec};
use crate::inference::invariance::{InvarianceSettings, DEFAULT_TOLERANCE};
use crate::inference::BatchOrder;
use crate::machine::IntegerNumerics;
use crate::metrics::{LogBase, OutputKind};
use crate::model::{hub, Device};
use crate::speed::{SpeedBudget, SpeedSettings};
use crate::stats::BootstrapSettings;
use crate::subgroups::SubgroupSettings;
use crate::suite::{self, LoadedSuite, Suite};
use std::path::{Path, PathBuf};

pub(super) fn beside(model: &Path, file: &str) -> PathBuf {
    model.parent().unwrap_or(Path::new(".")).join(file)
}

/// The teacher's folder name ("fixtures/tweets/teacher.onnx" -> "tweets").
pub(super) fn folder_name(teacher: &Path) -> String {
    teacher
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().and_then(|d| d.file_name()).map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_else(|| "fidelity".into())
}

fn check_models(teacher: &ModelSource, students: &[ModelSource]) -> Result<(), PlanError> {
    if students.is_empty() {
        return Err(PlanError::NoStudents);
    }
    let all: Vec<&ModelSource> = std::iter::once(teacher).chain(students).collect();
    for m in &all {
        if !m.path.is_file() {
            return Err(PlanError::MissingModel { name: m.name.clone(), path: m.path.clone() });
        }
    }
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            if a.name == b.name {
                return Err(PlanError::DuplicateName { name: a.name.clone() });
            }
            if a.path.canonicalize().ok() == b.path.canonicalize().ok() && a.runtime == b.runtime {
                return Err(PlanError::SameModel { first: a.name.clone(), second: b.name.clone(), path: a.path.clone() });
            }
        }
    }
    Ok(())
}

/// `--session-option MODEL:KEY=VALUE` flags, over the suite's settings.
fn apply_session_options(flags: &[String], teacher: &mut ModelSource, students: &mut [ModelSource]) -> Result<(), PlanError> {
    for flag in flags {
        let parsed = flag.split_once(':').and_then(|(model, setting)| Some((model, setting.split_once('=')?)));
        let Some((model, (key, value))) = parsed else {
            return Err(PlanError::SessionOption(format!("--session-option {flag}: write MODEL:KEY=VALUE, e.g. teacher:optimization=disable")));
        };
        let names: Vec<String> = std::iter::once(&*teacher).chain(students.iter()).map(|m| m.name.clone()).collect();
        let target = std::iter::once(&mut *teacher).chain(students.iter_mut()).find(|m| m.name == model);
        let Some(target) = target else {
            return Err(PlanError::SessionOption(format!("--session-option {flag}: no model is named '{model}' (the models are: {})", names.join(", "))));
        };
        target.runtime.set(key, value).map_err(|why| PlanError::SessionOption(format!("--session-option {flag}: {why}")))?;
    }
    Ok(())
}

/// `--output NAME` names the output of every model; `--output MODEL=NAME` of one model (and wins
/// over the plain form and over the suite).
fn apply_outputs(flags: &[String], teacher: &mut ModelSource, students: &mut [ModelSource]) -> Result<(), PlanError> {
    let mut models: Vec<&mut ModelSource> = std::iter::once(teacher).chain(students.iter_mut()).collect();
    for flag in flags.iter().filter(|f| !f.contains('=')) {
        models.iter_mut().for_each(|m| m.output = Some(flag.clone()));
    }
    for flag in flags.iter().filter(|f| f.contains('=')) {
        let (model, output) = flag.split_once('=').unwrap_or_default();
        let names: Vec<String> = models.iter().map(|m| m.name.clone()).collect();
        let m = models.iter_mut().find(|m| m.name == model).ok_or_else(|| PlanError::OutputModel { flag: flag.clone(), model: model.into(), models: names.join(", ") })?;
        m.output = Some(output.to_string());
    }
    Ok(())
}

/// `exact`: every model runs with exact integer products. `both`: each student whose int8 weights
/// can saturate is followed by its exact twin `NAME-exact` (same file, same device). A graph
/// fidelity cannot read gets no twin; ONNX Runtime still reports its own load errors later.
fn apply_integer_numerics(numerics: IntegerNumerics, teacher: &mut ModelSource, students: &mut Vec<ModelSource>) -> Result<(), PlanError> {
    match numerics {
        IntegerNumerics::Cpu => {}
        IntegerNumerics::Exact => std::iter::once(teacher).chain(students.iter_mut()).for_each(|m| m.exact_integer = true),
        IntegerNumerics::Both => {
            let mut with_twins = Vec::with_capacity(students.len() * 2);
            for s in students.drain(..) {
                let prone = std::fs::read(&s.path).ok().and_then(|b| crate::onnx::integer_kernels(&b).ok()).is_some_and(|k| k.saturation_prone());
                let twin = prone.then(|| ModelSource { name: format!("{}-exact", s.name), exact_integer: true, twin_of: Some(s.name.clone()), ..s.clone() });
                with_twins.push(s);
                with_twins.extend(twin);
            }
            *students = with_twins;
            let names: Vec<&str> = std::iter::once(teacher.name.as_str()).chain(students.iter().map(|s| s.name.as_str())).collect();
            if let Some(dup) = names.iter().enumerate().find_map(|(i, n)| names[..i].contains(n).then_some(*n)) {
                return Err(PlanError::DuplicateName { name: dup.to_string() });
            }
        }
    }
    Ok(())
}

/// Where values come from: the flags, then the suite (paths relative to its file).
pub(super) struct Sources<'a> {
    pub(super) args: &'a CompareArgs,
    pub(super) s: &'a Suite,
    pub(super) loaded: Option<&'a LoadedSuite>,
}

impl Sources<'_> {
    pub(super) fn resolve(&self, p: &Path) -> PathBuf {
        self.loaded.map_or_else(|| p.to_path_buf(), |l| l.resolve(p))
    }
}

fn device(text: &str, origin: &str) -> Result<Device, PlanError> {
    text.parse::<Device>().map_err(|e| PlanError::Device(format!("{origin}: {e}")))
}

/// The sizes and tolerances every later section reads.
struct Numbers {
    batch_size: usize,
    serving_batch_size: usize,
    chunk_size: usize,
    tolerance: f64,
    max_length: usize,
    confidence: f64,
    seed: u64,
}

impl ComparePlan {
    /// Merges the flags with the suite (if any): a flag given wins over the suite, the suite over
    /// the default.
    pub fn from_args(args: &CompareArgs) -> Result<Self, PlanError> {
        let language_model_flags = [
            ("--context", args.context.is_some()),
            ("--stride", args.stride.is_some()),
            ("--score-from", args.score_from.is_some()),
            ("--choices-column", args.choices_column.is_some()),
            ("--choice-score", args.choice_score.is_some()),
        ];
        if let Some(flag) = language_model_flags.iter().find(|f| f.1) {
            return Err(PlanError::LanguageModel(format!("{} is for causal language models, and the teacher is a classifier (pass --task causal-lm or --task multiple-choice if it is a language model fidelity did not recognise)", flag.0)));
        }
        Self::resolve(args)
    }

    /// [`Self::from_args`] without refusing the language-model flags (multiple choice reads them).
    pub(super) fn resolve(args: &CompareArgs) -> Result<Self, PlanError> {
        let loaded = args.suite.as_deref().map(suite::load).transpose()?;
        let empty = Suite::default();
        let src = Sources { args, s: loaded.as_ref().map_or(&empty, |l| &l.suite), loaded: loaded.as_ref() };
        let s = src.s;
        let (teacher, students, integer_numerics) = models(&src)?;
        let n = numbers(&src)?;
        let DataPlan { path: data, hub: data_hub, format: data_format, inputs, columns } = data_plan(&src, &teacher, &students, n.max_length)?;
        let config = args.config.clone().or_else(|| s.data.config.as_deref().map(|p| src.resolve(p))).or_else(|| teacher.config());
        let unlabelled = columns.label.is_none();
        // A chunk of images holds their preprocessed copies: far fewer than text's default.
        let chunk_size = if matches!(inputs, InputPlan::Images(_)) && args.chunk_size.is_none() { crate::vision::CHUNK_IMAGES } else { n.chunk_size };
        let invariance = InvarianceSettings {
            sample: args.invariance_sample.or(s.statistics.invariance_sample).unwrap_or(crate::inference::invariance::DEFAULT_SAMPLE),
            seed: n.seed,
            tolerance: n.tolerance,
        };
        let mut attack = attack(&src, n.seed, unlabelled)?;
        if let (Some(a), InputPlan::Images(_)) = (&mut attack, &inputs) {
            super::images::attack_in_pixels(a, args.attack_epsilon.or(s.attack.epsilon).is_some())?;
        }
        let noise = super::noise::resolve(args, s.noise.as_ref(), n.seed, matches!(inputs, InputPlan::Text { .. }), matches!(inputs, InputPlan::Images(_)))?;
        let stages = Stages { attacks: attack.is_some(), noise: noise.is_some() };
        let gates = gates(&src, stages, unlabelled, &invariance, &students)?;
        let speed = speed(&src)?;
        let name = s.name.clone().unwrap_or_else(|| match &teacher.hub {
            Some(_) => teacher.name.clone(),
            None => folder_name(&teacher.path),
        });
        let shard = shard(args)?;
        Ok(Self {
            shard,
            reports: reports(&src, &name),
            name,
            teacher,
            students,
            data,
            data_hub,
            data_format,
            columns,
            inputs,
            config,
            batch_size: n.batch_size,
            batch_order: args.batch_order.or(s.evaluation.batch_order).unwrap_or(BatchOrder::File),
            integer_numerics,
            serving_batch_size: n.serving_batch_size,
            // A chunk of images holds their preprocessed copies: far fewer than text's default.
            chunk_size,
            invariance,
            js_base: match args.js_base.or(s.evaluation.js_base).unwrap_or(JsBase::E) {
                JsBase::E => LogBase::E,
                JsBase::Two => LogBase::Two,
            },
            outputs: match args.outputs.or(s.evaluation.outputs).unwrap_or(OutputsArg::Auto) {
                OutputsArg::Auto => None,
                OutputsArg::Logits => Some(OutputKind::Logits),
                OutputsArg::Probabilities => Some(OutputKind::Probabilities),
            },
            gates,
            ort_lib: args.ort_lib.clone(),
            allow_fallback: args.allow_fallback || s.evaluation.allow_fallback,
            allow_many_groups: args.allow_many_groups || s.data.allow_many_groups,
            show_groups: args.show_groups.or(s.output.show_groups).unwrap_or(20),
            threads: match args.threads {
                Some(0) => return Err(PlanError::Threads),
                t => t,
            },
            quiet: args.quiet,
            speed,
            cache: if args.no_cache { None } else { args.cache.clone().or_else(crate::cache::default_dir) },
            attack,
            noise,
            subgroups: SubgroupSettings {
                min_group_size: args.min_group_size.or(s.statistics.min_group_size).unwrap_or(30),
                bootstrap: BootstrapSettings { resamples: args.bootstrap.or(s.statistics.bootstrap).unwrap_or(1000), confidence: n.confidence, seed: n.seed },
                correction: args.correction.or(s.statistics.correction).unwrap_or_default(),
            },
        })
    }
}

/// The teacher and the students, with their devices and integer-numerics twins.
pub(super) fn models(src: &Sources) -> Result<(ModelSource, Vec<ModelSource>, IntegerNumerics), PlanError> {
    let (args, s) = (src.args, src.s);
    let global = match &args.device {
        Some(d) => Some(device(d, "--device")?),
        None => s.evaluation.device.as_deref().map(|d| device(d, "suite [evaluation] device")).transpose()?,
    };
    let suite_model = |m: &suite::SuiteModel| -> Result<ModelSource, PlanError> {
        let (own, others) = m.path.split().ok_or_else(|| PlanError::Population(format!("suite model {}: path = [] names no model", m.name.as_deref().unwrap_or("?"))))?;
        // A hub reference is not a path: it must not be joined to the suite's folder.
        let raw = own.to_string_lossy();
        let path = if raw.starts_with(hub::SCHEME) { own.clone() } else { src.resolve(own) };
        let source = match &m.name {
            Some(name) => ModelSource::new(name.clone(), path),
            None => ModelSource::parse(&path.to_string_lossy()),
        };
        let mut source = source.resolve_location(m.name.is_some())?;
        source.output = m.output.clone();
        source.population = others.iter().map(|p| src.resolve(p)).collect();
        source.runtime = m.runtime_settings().map_err(|why| PlanError::SessionOption(format!("suite model {}: {why}", source.name)))?;
        source.device = match (&args.device, &m.device) {
            (None, Some(d)) => device(d, &format!("suite device of model {}", source.name))?,
            _ => global.unwrap_or_default(),
        };
        Ok(source)
    };
    let from_flag = |x: &str| -> Result<ModelSource, PlanError> {
        let named = x.split_once('=').is_some_and(|(n, _)| !n.contains(['/', '\\']) && !n.is_empty());
        ModelSource { device: global.unwrap_or_default(), ..ModelSource::parse(x) }.resolve_location(named)
    };
    let mut teacher = match (&args.teacher, &s.teacher) {
        (Some(t), _) => from_flag(t)?,
        (None, Some(t)) => suite_model(t)?,
        (None, None) => return Err(PlanError::NoTeacher),
    };
    if let Some(d) = &args.teacher_device {
        teacher.device = device(d, "--teacher-device")?;
    }
    let mut students: Vec<ModelSource> = if args.students.is_empty() {
        s.students.iter().map(suite_model).collect::<Result<_, _>>()?
    } else {
        args.students.iter().map(|x| from_flag(x)).collect::<Result<_, _>>()?
    };
    super::populations::apply_flags(&args.populations, &mut teacher, &mut students)?;
    apply_session_options(&args.session_options, &mut teacher, &mut students)?;
    check_models(&teacher, &students)?;
    super::populations::check(&teacher, &students)?;
    apply_outputs(&args.outputs_named, &mut teacher, &mut students)?;
    let integer_numerics = args.integer_numerics.or(s.evaluation.integer_numerics).unwrap_or_default();
    apply_integer_numerics(integer_numerics, &mut teacher, &mut students)?;
    Ok((teacher, students, integer_numerics))
}

/// `--shard K/N`, or `--shard auto` from the batch engine's variables.
fn shard(args: &CompareArgs) -> Result<Option<crate::shard::Shard>, PlanError> {
    let shard = match (args.shard.as_deref(), args.shards) {
        (None, None) => return Ok(None),
        (None, Some(n)) => return Err(PlanError::Shard(format!("--shards {n} goes with --shard auto (it gives the number of shards of a Kubernetes Indexed Job)"))),
        (Some("auto"), shards) => crate::shard::engine::from_env(|k| std::env::var(k).ok(), shards).map_err(PlanError::Shard)?,
        (Some(text), shards) => {
            let shard = crate::shard::Shard::parse(text).map_err(PlanError::Shard)?;
            if let Some(n) = shards.filter(|&n| n != shard.count) {
                return Err(PlanError::Shard(format!("--shard {text} says {} shards but --shards says {n}", shard.count)));
            }
            shard
        }
    };
    if let Some(flag) = [("--markdown", args.also.markdown.is_some()), ("--html", args.also.html.is_some()), ("--junit", args.also.junit.is_some())].iter().find(|f| f.1).map(|f| f.0) {
        return Err(PlanError::Shard(format!("--shard writes a part file, not reports: give {flag} to `fidelity merge`, which writes the report of all the parts")));
    }
    Ok(Some(shard))
}

fn numbers(src: &Sources) -> Result<Numbers, PlanError> {
    let (args, s) = (src.args, src.s);
    let batch_size = args.batch_size.or(s.evaluation.batch_size).unwrap_or(32);
    let serving_batch_size = args.serving_batch_size.or(s.evaluation.serving_batch_size).unwrap_or(batch_size);
    let chunk_size = args.chunk_size.unwrap_or(crate::data::stream::CHUNK_EXAMPLES);
    if batch_size == 0 || serving_batch_size == 0 || chunk_size == 0 {
        return Err(PlanError::BatchSize);
    }
    let tolerance = args.invariance_tolerance.or(s.statistics.invariance_tolerance).unwrap_or(DEFAULT_TOLERANCE);
    // Written so that NaN is refused too.
    if tolerance.is_nan() || tolerance < 0.0 {
        return Err(PlanError::Tolerance(tolerance));
    }
    let max_length = args.max_length.or(s.evaluation.max_length).unwrap_or(512);
    if max_length < 2 {
        return Err(PlanError::MaxLength);
    }
    let confidence = args.confidence.or(s.statistics.confidence).unwrap_or(0.95);
    if !(confidence > 0.0 && confidence < 1.0) {
        return Err(PlanError::Confidence(confidence));
    }
    let seed = args.seed.or(s.statistics.seed).unwrap_or(0);
    Ok(Numbers { batch_size, serving_batch_size, chunk_size, tolerance, max_length, confidence, seed })
}

/// The data file, its format, how models are fed from it, and its columns.
fn data_plan(src: &Sources, teacher: &ModelSource, students: &[ModelSource], max_length: usize) -> Result<DataPlan, PlanError> {
    let (args, s) = (src.args, src.s);
    let groups = if args.group_columns.is_empty() { s.data.group_columns.clone() } else { args.group_columns.clone() };
    for (i, g) in groups.iter().enumerate() {
        if groups[..i].contains(g) {
            return Err(PlanError::DuplicateGroup(g.clone()));
        }
    }
    let data = args.data.clone().or_else(|| s.data.path.as_deref().map(|p| if p.to_string_lossy().starts_with(hub::SCHEME) { p.to_path_buf() } else { src.resolve(p) })).ok_or(PlanError::NoData)?;
    let (data, data_hub) = resolve_data_reference(data)?;
    // A folder is an image folder, unless the teacher reads text (a tokenizer beside it or named).
    let text_teacher = args.tokenizer.is_some() || s.data.tokenizer.is_some() || beside(&teacher.path, "tokenizer.json").is_file();
    if !data.is_file() && !(data.is_dir() && !text_teacher) {
        return Err(PlanError::MissingData { path: data });
    }
    let data_format = match args.data_format.or(s.data.format) {
        Some(f) => f,
        None => DataFormat::from_path(&data)?,
    };
    if data.is_dir() != (data_format == DataFormat::ImageFolder) {
        return Err(PlanError::Images(format!("--data {}: a folder is read as an image folder (root/<class>/<image>), and an image folder must be a folder", data.display())));
    }
    let features = if args.feature_columns.is_empty() { s.data.feature_columns.clone() } else { args.feature_columns.clone() };
    let tensors = data_format == DataFormat::Npz || !features.is_empty();
    let tokenizer = args.tokenizer.clone().or_else(|| s.data.tokenizer.as_deref().map(|p| src.resolve(p)));
    let image_column = super::images::manifest_column(&args.images, &s.data, teacher, data_format, tokenizer.is_some());
    if data_format == DataFormat::ImageFolder || image_column.is_some() {
        if let Some(t) = tokenizer {
            return Err(PlanError::TokenizerWithTensors { path: t });
        }
        let flags = super::images::flags(&args.images, &s.data)?;
        let plan = super::images::plan(&data, data_format, teacher, students, &flags)?;
        let unlabelled = args.unlabelled || s.data.unlabelled;
        let columns = Columns {
            text: None,
            text_pair: None,
            label: (!unlabelled).then(|| args.label_column.clone().or(s.data.label_column.clone()).unwrap_or_else(|| "label".into())),
            groups,
            features: vec![],
            image: image_column,
        };
        return Ok(DataPlan { path: data, hub: data_hub, format: data_format, inputs: InputPlan::Images(plan), columns });
    }
    let inputs = if tensors {
        if let Some(t) = tokenizer {
            return Err(PlanError::TokenizerWithTensors { path: t });
        }
        InputPlan::Tensors
    } else {
        let tokenizer = match (tokenizer, &teacher.hub, &teacher.folder) {
            (Some(t), _, _) => t,
            (None, Some(h), _) => h.tokenizer.clone().ok_or_else(|| PlanError::Hub(format!("{} has no tokenizer.json: pass --tokenizer", h.reference)))?,
            (None, None, Some(f)) => f.tokenizer.clone().unwrap_or_else(|| beside(&teacher.path, "tokenizer.json")),
            (None, None, None) => beside(&teacher.path, "tokenizer.json"),
        };
        if !tokenizer.is_file() {
            return Err(PlanError::MissingTokenizer { path: tokenizer });
        }
        InputPlan::Text { tokenizer, max_length }
    };
    let unlabelled = args.unlabelled || s.data.unlabelled;
    let columns = Columns {
        text: (!tensors).then(|| args.text_column.clone().or(s.data.text_column.clone()).unwrap_or_else(|| "text".into())),
        text_pair: args.text_pair_column.clone().or(s.data.text_pair_column.clone()).filter(|_| !tensors),
        label: (!unlabelled).then(|| args.label_column.clone().or(s.data.label_column.clone()).unwrap_or_else(|| "label".into())),
        groups,
        features,
        image: None,
    };
    Ok(DataPlan { path: data, hub: data_hub, format: data_format, inputs, columns })
}

/// An `hf://datasets/...` reference becomes its file in the Hugging Face cache (downloaded unless
/// offline); a path passes through.
fn resolve_data_reference(data: PathBuf) -> Result<(PathBuf, Option<hub::ResolvedData>), PlanError> {
    let raw = data.to_string_lossy().into_owned();
    let Some(reference) = hub::HubRef::parse(&raw) else { return Ok((data, None)) };
    let reference = reference.map_err(|e| PlanError::Hub(format!("--data: {e}")))?;
    let resolved = hub::resolve_data(&reference, &raw).map_err(|e| PlanError::Hub(format!("--data: {e}")))?;
    if resolved.offline && !hub::HubSettings::from_env().offline {
        eprintln!("fidelity: hub unreachable, using the cached commit {} of {}", resolved.revision, resolved.repo);
    }
    Ok((resolved.local.clone(), Some(resolved)))
}

/// Where the data is, how to read it and feed the models.
struct DataPlan {
    path: PathBuf,
    hub: Option<hub::ResolvedData>,
    format: DataFormat,
    inputs: InputPlan,
    columns: Columns,
}

fn attack(src: &Sources, seed: u64, unlabelled: bool) -> Result<Option<AttackSettings>, PlanError> {
    let (args, a) = (src.args, &src.s.attack);
    let attack_n = args.attack_n.or(a.examples).unwrap_or(0);
    let attack = (attack_n > 0).then(|| AttackSettings {
        examples: attack_n,
        seed,
        max_queries: args.attack_queries.or(a.queries).unwrap_or(300),
        max_perturbed_share: args.attack_max_share.or(a.max_share).unwrap_or(0.2),
        max_candidates: args.attack_candidates.or(a.candidates).unwrap_or(30),
        synonyms: args.attack_synonyms.clone().or_else(|| a.synonyms.as_deref().map(|p| src.resolve(p))),
        epsilon: args.attack_epsilon.or(a.epsilon).unwrap_or(0.1),
        out: args.attack_out.clone(),
    });
    if let Some(at) = &attack {
        if unlabelled {
            return Err(PlanError::Attack("attacks need gold labels, but the data is --unlabelled".into()));
        }
        if at.max_queries == 0 {
            return Err(PlanError::Attack("--attack-queries must be at least 1: an attack with no queries cannot run".into()));
        }
        if let Some(p) = at.synonyms.as_ref().filter(|p| !p.is_file()) {
            return Err(PlanError::Attack(format!("--attack-synonyms {}: no such file", p.display())));
        }
    }
    Ok(attack)
}

/// The optional stages a plan runs, which some gate metrics need.
#[derive(Clone, Copy)]
struct Stages {
    attacks: bool,
    noise: bool,
}

/// The suite's gates, then the flags'; each checked against what the plan can measure.
fn gates(src: &Sources, stages: Stages, unlabelled: bool, invariance: &InvarianceSettings, students: &[ModelSource]) -> Result<Vec<GateSpec>, PlanError> {
    let mut gates = src.s.gates.iter().cloned().map(|g| g.into_spec().map_err(PlanError::SuiteGate)).collect::<Result<Vec<_>, _>>()?;
    for g in &src.args.gates {
        gates.push(GateSpec::parse(g).map_err(PlanError::Gate)?);
    }
    for g in &gates {
        if g.metric.language_model_only() {
            return Err(PlanError::Gate(format!("gate on {} is for causal language models, and the teacher is a classifier (pass --task causal-lm if it is a language model)", g.metric.name())));
        }
        if g.metric.needs_attack() && !stages.attacks {
            return Err(PlanError::Gate(format!("gate on {} needs attacks: pass --attack-n N (or [attack] examples in the suite)", g.metric.name())));
        }
        if g.metric.needs_noise() && !stages.noise {
            return Err(PlanError::Gate(format!("gate on {} needs the noise stage: pass --noise (or a [noise] table in the suite)", g.metric.name())));
        }
        if unlabelled && g.metric.needs_labels() {
            return Err(PlanError::Gate(format!("gate on {} needs labels, but the data is --unlabelled", g.metric.name())));
        }
        if g.metric == GateMetric::BatchDependence && invariance.sample == 0 {
            return Err(PlanError::Gate("gate on batch_dependence needs the batch-invariance check: --invariance-sample must be above 0".into()));
        }
        if let Some(unknown) = g.students.iter().find(|n| !students.iter().any(|s| &s.name == *n)) {
            return Err(PlanError::Gate(format!(
                "gate on {} names student '{unknown}', which is not compared (students: {})",
                g.metric.name(),
                students.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    Ok(gates)
}

fn speed(src: &Sources) -> Result<Option<SpeedSettings>, PlanError> {
    let (args, s) = (src.args, src.s);
    let speed = (!args.no_speed && s.evaluation.speed.unwrap_or(true)).then(|| {
        let defaults = SpeedSettings::default();
        SpeedSettings {
            batch_sizes: [&args.speed_batch_sizes, &s.evaluation.speed_batch_sizes]
                .into_iter()
                .find(|b| !b.is_empty())
                .cloned()
                .unwrap_or(defaults.batch_sizes),
            examples: args.speed_examples.or(s.evaluation.speed_examples).unwrap_or(defaults.examples),
            warmup: defaults.warmup,
            repetitions: args.speed_repetitions.or(s.evaluation.speed_repetitions).unwrap_or(defaults.repetitions),
            budget: match args.speed_budget.or(s.evaluation.speed_budget) {
                None => SpeedBudget::Auto,
                Some(0.0) => SpeedBudget::Unlimited,
                Some(b) => SpeedBudget::Seconds(b),
            },
        }
    });
    if let Some(sp) = &speed {
        let bad_budget = matches!(sp.budget, SpeedBudget::Seconds(b) if !(b.is_finite() && b > 0.0));
        if sp.batch_sizes.contains(&0) || sp.examples == 0 || sp.repetitions == 0 || bad_budget {
            return Err(PlanError::Speed);
        }
    }
    Ok(speed)
}

/// Report paths: a flag, else the suite's key, else (in a suite) `reports/NAME.EXT`.
pub(super) fn reports(src: &Sources, name: &str) -> ReportPaths {
    let (args, s) = (src.args, src.s);
    let in_suite = src.loaded.is_some();
    let default_report = |ext: &str| PathBuf::from("reports").join(format!("{name}.{ext}"));
    let report_path = |flag: &Option<PathBuf>, key: &Option<PathBuf>, ext: &str| {
        flag.clone().or_else(|| key.as_deref().map(|p| src.resolve(p))).or_else(|| in_suite.then(|| default_report(ext)))
    };
    ReportPaths {
        json: report_path(&args.out, &s.output.json, "json").unwrap_or_else(|| default_report("json")),
        markdown: report_path(&args.also.markdown, &s.output.markdown, "md"),
        html: report_path(&args.also.html, &s.output.html, "html"),
        junit: report_path(&args.also.junit, &s.output.junit, "junit.xml"),
    }
}
