//! A causal LM in an ONNX Runtime session: fed a batch of windows, it returns their logits.

use super::detect::{self, LmInterface};
use super::windows::Window;
use crate::model::runtime_settings::RuntimeSettings;
use crate::model::session::{build_session, Runtime};
use crate::model::Device;
use crate::model::ModelError;
use half::f16;
use ort::session::{Session, SessionInputValue};
use ort::value::Tensor;
use sha2::{Digest, Sha256};
use std::borrow::Cow;

/// What the report says of a model.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct LmModelInfo {
    pub name: String,
    pub path: std::path::PathBuf,
    pub sha256: String,
    pub bytes: u64,
    /// How it is fed and read, e.g. "input_ids with empty past (4 tensors), attention_mask -> logits (float16)".
    pub interface: String,
    pub vocabulary: usize,
    /// The graph's integer kernels (quantized models compute other numbers on other CPU kinds).
    pub integer_kernels: crate::onnx::integer_kernels::IntegerKernels,
}

/// Why models cannot be compared token by token, if they cannot: a student whose logits cover
/// another vocabulary than the teacher's (`vocabularies[0]`; 0: not stated by the graph), or a
/// tokenizer with more tokens than the teacher's logits.
pub fn vocabulary_problem(vocabularies: &[(&str, usize)], tokenizer: &std::path::Path, tokenizer_size: usize) -> Option<String> {
    let v = vocabularies.first()?.1;
    if let Some((name, other)) = vocabularies[1..].iter().find(|(_, s)| v > 0 && *s > 0 && *s != v) {
        return Some(format!(
            "model {name}: its logits cover {other} tokens but the teacher's cover {v}; a student must share the teacher's vocabulary to be compared token by token"
        ));
    }
    (v > 0 && tokenizer_size > v).then(|| {
        format!("tokenizer {} has {tokenizer_size} tokens but the teacher's logits cover {v}: pass --tokenizer with the model's own tokenizer.json", tokenizer.display())
    })
}

pub struct LmModel {
    pub info: LmModelInfo,
    session: Session,
    interface: LmInterface,
    /// Time inside ONNX Runtime: building the session and every run.
    pub runtime_seconds: f64,
}

/// One batch's logits: `[windows, length, vocabulary]`, row-major; windows shorter than `length`
/// are padded at the end (their padded rows are never read).
pub struct Logits {
    pub data: Vec<f32>,
    pub length: usize,
    pub vocabulary: usize,
}

impl Logits {
    /// The logits at window `w`, position `j`.
    pub fn row(&self, w: usize, j: usize) -> &[f32] {
        let at = (w * self.length + j) * self.vocabulary;
        &self.data[at..at + self.vocabulary]
    }
}

impl LmModel {
    pub fn load(runtime: &Runtime, name: &str, path: &std::path::Path, device: Device, settings: &RuntimeSettings) -> Result<Self, ModelError> {
        let (name, path) = (name.to_string(), path.to_path_buf());
        let load_error = |message: String| ModelError::Load { model: name.clone(), path: path.clone(), message };
        let bytes = std::fs::read(&path).map_err(|e| ModelError::Io { model: name.clone(), path: path.clone(), source: e })?;
        let graph = crate::onnx::OnnxGraph::decode(bytes.clone()).map_err(&load_error)?;
        let external = graph.external_files();
        let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        crate::onnx::external::check(dir, &external).map_err(&load_error)?;
        let interface = detect::interface(&graph.interface()).map_err(|why| load_error(format!("not a causal language model: {why}")))?;
        let started = std::time::Instant::now();
        let session = build_session(runtime, &bytes, device, false, settings, (!external.is_empty()).then_some(dir)).map_err(|e| load_error(e.to_string()))?;
        let external_bytes: u64 = external.iter().filter_map(|f| std::fs::metadata(dir.join(f)).ok()).map(|m| m.len()).sum();
        let info = LmModelInfo {
            name: name.clone(),
            path: path.clone(),
            sha256: format!("{:x}", Sha256::digest(&bytes)),
            bytes: bytes.len() as u64 + external_bytes,
            interface: interface.describe(),
            vocabulary: interface.vocabulary.unwrap_or(0),
            integer_kernels: graph.integer_kernels(),
        };
        Ok(Self { info, session, interface, runtime_seconds: started.elapsed().as_secs_f64() })
    }

    /// The graph inputs fidelity feeds, with their element types.
    pub fn inputs(&self) -> Vec<crate::model::InputInfo> {
        let input = |name: &str, element_type: &str| crate::model::InputInfo { name: name.into(), element_type: element_type.into() };
        let i = &self.interface;
        let mut inputs = vec![input("input_ids", if i.ids_int32 { "int32" } else { "int64" })];
        if i.attention_mask {
            inputs.push(input("attention_mask", "int64"));
        }
        if i.position_ids {
            inputs.push(input("position_ids", "int64"));
        }
        inputs.extend(i.past.iter().map(|p| input(&p.name, if p.float16 { "float16" } else { "float32" })));
        if i.use_cache_branch {
            inputs.push(input("use_cache_branch", "bool"));
        }
        inputs
    }

    /// The logits output: its name and element type.
    pub fn logits(&self) -> (&str, &'static str) {
        (&self.interface.logits, if self.interface.logits_float16 { "float16" } else { "float32" })
    }

    /// Runs `windows` as one batch, padded at the end with token 0 (masked where the graph takes a
    /// mask; a causal model's real positions never see later padding either way).
    pub fn run(&mut self, windows: &[&Window]) -> Result<Logits, ModelError> {
        let model = self.info.name.clone();
        let ort_error = |e: ort::Error| ModelError::Inference { model: model.clone(), message: e.to_string() };
        let (b, length) = (windows.len(), windows.iter().map(|w| w.tokens.len()).max().unwrap_or(0));
        let mut ids = vec![0i64; b * length];
        let mut mask = vec![0i64; b * length];
        for (i, w) in windows.iter().enumerate() {
            for (j, &t) in w.tokens.iter().enumerate() {
                ids[i * length + j] = i64::from(t);
                mask[i * length + j] = 1;
            }
        }
        let shape = [b, length];
        let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> = Vec::new();
        let ids_value: SessionInputValue = if self.interface.ids_int32 {
            Tensor::from_array((shape, ids.iter().map(|&x| x as i32).collect::<Vec<_>>())).map_err(ort_error)?.into()
        } else {
            Tensor::from_array((shape, ids)).map_err(ort_error)?.into()
        };
        inputs.push(("input_ids".into(), ids_value));
        if self.interface.attention_mask {
            inputs.push(("attention_mask".into(), Tensor::from_array((shape, mask)).map_err(ort_error)?.into()));
        }
        if self.interface.position_ids {
            let positions: Vec<i64> = (0..b).flat_map(|_| 0..length as i64).collect();
            inputs.push(("position_ids".into(), Tensor::from_array((shape, positions)).map_err(ort_error)?.into()));
        }
        for past in &self.interface.past {
            let empty = [b, past.heads, 0, past.head_dim];
            let value: SessionInputValue = if past.float16 {
                Tensor::from_array((empty, Vec::<f16>::new())).map_err(ort_error)?.into()
            } else {
                Tensor::from_array((empty, Vec::<f32>::new())).map_err(ort_error)?.into()
            };
            inputs.push((past.name.clone().into(), value));
        }
        if self.interface.use_cache_branch {
            inputs.push(("use_cache_branch".into(), Tensor::from_array(([1usize], vec![false])).map_err(ort_error)?.into()));
        }
        let started = std::time::Instant::now();
        let outputs = self.session.run(inputs).map_err(|e| {
            let message = e.to_string();
            // Token ids were checked against the logits' width: an index beyond a table is then
            // most often a position beyond the model's position table.
            let hint = if message.contains("out of data bounds") {
                format!(" (an index beyond one of the model's tables: windows of {length} tokens may be longer than its positions, so try a smaller --context; or the tokenizer belongs to another model)")
            } else {
                String::new()
            };
            ModelError::Inference { model: model.clone(), message: format!("{message}{hint}") }
        })?;
        self.runtime_seconds += started.elapsed().as_secs_f64();
        let value = &outputs[self.interface.logits.as_str()];
        let data: Vec<f32> = if self.interface.logits_float16 {
            value.try_extract_array::<f16>().map_err(ort_error)?.iter().map(|&x| f32::from(x)).collect()
        } else {
            value.try_extract_array::<f32>().map_err(ort_error)?.iter().copied().collect()
        };
        let vocabulary = data.len().checked_div(b * length).unwrap_or(0);
        if vocabulary == 0 || data.len() != b * length * vocabulary {
            return Err(ModelError::Inference {
                model,
                message: format!("{} holds {} values, not [{b}, {length}, vocabulary]", self.interface.logits, data.len()),
            });
        }
        Ok(Logits { data, length, vocabulary })
    }
}
