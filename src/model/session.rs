//! The ONNX Runtime backend: one session per model, inputs discovered from the graph.

use super::runtime_library::{self, LibraryLocation, RuntimeLibraryError};
use super::{Backend, Device, ModelError, ModelInfo};
use crate::data::{Batch, InputTensor};
use super::output_reading::OutputReading;
use super::runtime_settings::RuntimeSettings;
use ndarray::Array2;
use ort::session::Session;
use ort::value::{TensorElementType, TensorRef};
use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::path::Path;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Locate(#[from] RuntimeLibraryError),
    #[error("cannot load ONNX Runtime from {path} (found via {origin}): {message}. Point --ort-lib or ORT_DYLIB_PATH at a libonnxruntime shared library, version 1.20 or newer")]
    Load { path: String, origin: String, message: String },
}

/// A loaded ONNX Runtime: the environment every session is built in.
pub struct Runtime {
    environment: ort::environment::Environment,
    pub library: LibraryLocation,
    /// The library's version, e.g. "1.31.1".
    pub version: String,
    /// Threads of the one intra-op pool every session shares; `None` = ONNX Runtime's default (all cores).
    pub threads: Option<usize>,
}

impl Runtime {
    /// Finds and loads the library (see [`runtime_library`]); never panics on a missing library.
    ///
    /// Every session runs on one global thread pool of `threads` intra-op threads. fidelity holds a
    /// teacher and several students and alternates between them chunk by chunk: with a pool per
    /// session, the pool that just finished spins on the cores the next model (or the tokenizer)
    /// needs; one shared pool hands its spinning threads straight to the next run.
    pub fn load(explicit: Option<&Path>, threads: Option<usize>) -> Result<Self, RuntimeError> {
        let library = runtime_library::locate(explicit)?;
        let load_error = |message: String| RuntimeError::Load { path: library.path.display().to_string(), origin: library.origin.clone(), message };
        let builder = ort::init_from(&library.path).map_err(|e| load_error(e.to_string()))?;
        let pool = ort::environment::GlobalThreadPoolOptions::default()
            .with_intra_threads(threads.unwrap_or(0))
            .and_then(|p| p.with_inter_threads(1))
            .map_err(|e| load_error(e.to_string()))?;
        let environment = builder.with_name("fidelity").with_global_thread_pool(pool).build().map_err(|e| load_error(e.to_string()))?;
        // ONNX Runtime would print its own copy of every failure to stderr; fidelity's error already
        // carries ONNX Runtime's message, so keep stderr to one line. ORT_LOG=warning brings it back.
        if std::env::var_os("ORT_LOG").is_none() {
            environment.set_log_level(ort::logging::LogLevel::Fatal);
        }
        let version = library_version(&library.path).unwrap_or_else(|| version_from_build_info(ort::info()));
        Ok(Self { environment, version, library, threads })
    }
}

/// Asks the library itself (`OrtGetApiBase()->GetVersionString()`), as ort does before loading it;
/// ort keeps that answer private.
fn library_version(path: &Path) -> Option<String> {
    // SAFETY: the same library ort has just loaded and checked; OrtGetApiBase and GetVersionString
    // are ONNX Runtime's stable C entry points, and the returned string is static in the library.
    unsafe {
        let lib = libloading::Library::new(path).ok()?;
        let get_base: libloading::Symbol<unsafe extern "C" fn() -> *const ort::sys::OrtApiBase> = lib.get(b"OrtGetApiBase").ok()?;
        let base = get_base();
        if base.is_null() {
            return None;
        }
        let version = ((*base).GetVersionString)();
        (!version.is_null()).then(|| std::ffi::CStr::from_ptr(version).to_string_lossy().into_owned())
    }
}

/// "git-branch=rel-1.31.1, ..." -> "1.31.1"; the whole string when it has no such field.
fn version_from_build_info(info: &str) -> String {
    info.split([',', ' ']).find_map(|part| part.strip_prefix("git-branch=rel-")).map(str::to_string).unwrap_or_else(|| info.trim().to_string())
}

fn element_type_name(t: TensorElementType) -> String {
    match t {
        TensorElementType::Float32 => "float32".into(),
        TensorElementType::Float64 => "float64".into(),
        TensorElementType::Float16 => "float16".into(),
        TensorElementType::Bfloat16 => "bfloat16".into(),
        TensorElementType::Int64 => "int64".into(),
        TensorElementType::Int32 => "int32".into(),
        other => format!("{other:?}").to_lowercase(),
    }
}

/// A model in an ONNX Runtime session.
pub struct OnnxBackend {
    session: Session,
    info: ModelInfo,
    /// Graph inputs with their element types, in graph order.
    inputs: Vec<(String, TensorElementType)>,
    reading: OutputReading,
    /// Time inside ONNX Runtime so far: building the session and every run.
    runtime_seconds: f64,
    /// The folder its external data files are read from, kept while the session lives.
    _external: Option<super::external_data::ExternalFolder>,
    /// [`SessionSettings::image_feed`].
    image_feed: Option<String>,
}

/// Builds the session in a function returning `ort::Result`: `SessionBuilder` errors are not
/// `Send`, so they are turned into messages here and nowhere else. GPU providers are registered
/// with `error_on_failure`: ONNX Runtime would otherwise fall back to the CPU without a word.
pub(crate) fn build_session(
    runtime: &Runtime,
    bytes: &[u8],
    device: Device,
    exact_integer: bool,
    settings: &RuntimeSettings,
    external_data_dir: Option<&Path>,
) -> ort::Result<Session> {
    // Threads come from the environment's global pool (see `Runtime::load`) unless the model's
    // settings give it its own.
    let mut builder = settings.apply(Session::builder(&runtime.environment)?)?;
    if let Some(dir) = external_data_dir {
        // A model given as bytes (fidelity may have rewritten its graph) finds its external
        // tensors here; they stay in their files, read by ONNX Runtime alone.
        builder = builder.with_config_entry(EXTERNAL_INITIALIZERS_FOLDER, dir.to_string_lossy())?;
    }
    if exact_integer {
        // Read by ONNX Runtime's level-2 graph transformers (on by default) and only on x86-64
        // CPUs whose u8s8 and u8u8 dispatches differ; elsewhere it changes nothing.
        builder = builder.with_config_entry(X64_QUANT_PRECISION, "1")?;
    }
    let mut builder = match device {
        Device::Cpu => builder,
        #[cfg(feature = "cuda")]
        Device::Cuda(id) => builder.with_execution_providers([ort::ep::CUDA::default().with_device_id(id).build().error_on_failure()])?,
        #[cfg(feature = "tensorrt")]
        Device::TensorRt(id) => builder.with_execution_providers([ort::ep::TensorRT::default().with_device_id(id).build().error_on_failure()])?,
        #[allow(unreachable_patterns)]
        other => {
            return Err(ort::Error::new(format!("this fidelity binary was built without {} support (cargo features `cuda` / `tensorrt`)", other.provider())))
        }
    };
    builder.commit_from_memory(bytes)
}

/// ONNX Runtime's `kOrtSessionOptionsAvx2PrecisionMode` (onnxruntime_session_options_config_keys.h).
pub const X64_QUANT_PRECISION: &str = "session.x64quantprecision";

/// ONNX Runtime's `kOrtSessionOptionsModelExternalInitializersFileFolderPath`: where a model loaded
/// from bytes finds its external data files.
pub const EXTERNAL_INITIALIZERS_FOLDER: &str = "session.model_external_initializers_file_folder_path";


/// How one model's session is built.
#[derive(Debug, Clone, Default)]
pub struct SessionSettings {
    pub device: Device,
    /// A GPU provider that cannot load falls back to the CPU (the reason is kept).
    pub allow_fallback: bool,
    /// `session.x64quantprecision = 1`.
    pub exact_integer: bool,
    pub twin_of: Option<String>,
    /// The graph output to read (`--output`); `None` chooses (see [`super::output_choice`]).
    pub output: Option<String>,
    /// Classes of a label-only model whose graph does not name them (the teacher's count).
    pub classes_hint: Option<usize>,
    /// Optimisation level, own thread pool, config entries.
    pub runtime: RuntimeSettings,
    /// Image data: the batch tensor holding this model's preprocessing of the images (see
    /// [`crate::vision::feed_name`]), fed to its one input whatever that input is called.
    pub image_feed: Option<String>,
}

impl OnnxBackend {
    /// Loads a model for `device`; with `allow_fallback`, a provider that cannot load falls back to
    /// the CPU and the reason is kept in [`ModelInfo::fallback`].
    pub fn load(runtime: &Runtime, name: &str, path: &Path, settings: &SessionSettings) -> Result<Self, ModelError> {
        let SessionSettings { device, allow_fallback, exact_integer, .. } = *settings;
        let bytes = prost::bytes::Bytes::from(std::fs::read(path).map_err(|source| ModelError::Io { model: name.into(), path: path.into(), source })?);
        let load_error = |message: String| ModelError::Load { model: name.into(), path: path.into(), message };
        // fidelity's own reader: integer kernels and output facts (absent when it cannot read the graph).
        let graph = crate::onnx::OnnxGraph::decode(bytes.clone()).ok();
        let external_data = graph.as_ref().map(|g| g.external_files()).unwrap_or_default();
        let model_dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
        crate::onnx::external::check(model_dir, &external_data).map_err(&load_error)?;
        let external = if external_data.is_empty() { None } else { Some(super::external_data::folder(model_dir, &external_data).map_err(&load_error)?) };
        let external_dir = external.as_ref().map(|e| e.path.clone());
        let external_bytes: u64 = external_data.iter().filter_map(|f| std::fs::metadata(model_dir.join(f)).ok()).map(|m| m.len()).sum();
        let zipmapless = crate::onnx::outputs::without_zipmap(&bytes).map_err(&load_error)?;
        let (session_bytes, zipmap) = match &zipmapless {
            Some((rewritten, zipmap)) => (rewritten.as_slice(), Some(zipmap)),
            None => (&bytes[..], None),
        };
        // A file ONNX Runtime cannot parse is a load error whatever the device: check on the CPU first
        // only when a GPU provider fails, to tell the two apart.
        let started = std::time::Instant::now();
        let ort_load_error = |e: ort::Error| load_error(e.to_string());
        let (session, provider, fallback) = match build_session(runtime, session_bytes, device, exact_integer, &settings.runtime, external_dir.as_deref()) {
            Ok(session) => (session, device.provider().to_string(), None),
            Err(e) if device == Device::Cpu => return Err(ort_load_error(e)),
            Err(provider_error) => {
                let cpu = build_session(runtime, session_bytes, Device::Cpu, exact_integer, &settings.runtime, external_dir.as_deref()).map_err(ort_load_error)?;
                let message = provider_error.to_string().trim_end_matches('.').to_string();
                if !allow_fallback {
                    return Err(ModelError::Provider { model: name.into(), device, message });
                }
                (cpu, Device::Cpu.provider().to_string(), Some(message))
            }
        };
        let runtime_seconds = started.elapsed().as_secs_f64();
        let facts = graph.as_ref().map(|g| g.output_facts()).unwrap_or_default();
        let reading = OutputReading::new(&session, settings, zipmap, &facts).map_err(|message| ModelError::NoClassOutput { model: name.into(), message })?;
        let inputs = session.inputs().iter().map(|i| (i.name().to_string(), i.dtype().tensor_type().unwrap_or(TensorElementType::Float32))).collect::<Vec<_>>();
        let declared: Vec<(String, bool, Vec<i64>)> = session
            .inputs()
            .iter()
            .map(|i| {
                let dims = match i.dtype() {
                    ort::value::ValueType::Tensor { shape, .. } => shape.to_vec(),
                    _ => vec![],
                };
                let int = matches!(i.dtype().tensor_type(), Some(TensorElementType::Int64 | TensorElementType::Int32));
                (i.name().to_string(), int, dims)
            })
            .collect();
        let static_shape = super::static_shape::StaticShape::from_inputs(&declared).map_err(&load_error)?;
        let info = ModelInfo {
            image_feed: settings.image_feed.clone(),
            name: name.into(),
            path: path.into(),
            sha256: format!("{:x}", Sha256::digest(&bytes)),
            bytes: bytes.len() as u64 + external_bytes,
            external_data,
            inputs: inputs.iter().map(|(n, t)| super::InputInfo { name: n.clone(), element_type: element_type_name(*t) }).collect(),
            output: reading.shown.clone(),
            output_element_type: element_type_name(reading.element),
            static_shape,
            output_selection: reading.selection.clone(),
            output_layout: reading.layout,
            output_producer: facts.producer(&reading.read).map(str::to_string),
            class_labels: reading.class_labels.clone(),
            classes: reading.classes,
            device,
            provider,
            fallback,
            integer_kernels: graph.as_ref().map(|g| g.integer_kernels()),
            exact_integer,
            twin_of: settings.twin_of.clone(),
            runtime_settings: settings.runtime.clone(),
        };
        Ok(Self { session, info, inputs, reading, runtime_seconds, _external: external, image_feed: settings.image_feed.clone() })
    }

    /// The graph's inputs, each matched to a batch tensor of a compatible type.
    fn session_inputs<'b>(&self, batch: &'b Batch) -> Result<Vec<(Cow<'b, str>, ort::session::SessionInputValue<'b>)>, ModelError> {
        feeds(&self.info.name, &self.inputs, batch, self.image_feed.as_deref())
    }
}

/// The values for a session's inputs (`inputs`: name and element type, in graph order) from a
/// batch: each input matched to the batch tensor of its name, converted where the types differ
/// losslessly or as exporters expect (int64 ids to int32, float32 features to a half-precision or
/// float64 model).
/// `image_feed` names the batch tensor that feeds a one-input image model (its preprocessing).
pub(crate) fn feeds<'b>(
    model: &str,
    inputs: &[(String, TensorElementType)],
    batch: &'b Batch,
    image_feed: Option<&str>,
) -> Result<Vec<(Cow<'b, str>, ort::session::SessionInputValue<'b>)>, ModelError> {
    let model = || model.to_string();
    let mut values = Vec::with_capacity(inputs.len());
    for (name, ty) in inputs {
        let key = match image_feed {
            Some(feed) if inputs.len() == 1 => feed,
            _ => name.as_str(),
        };
        let tensor = batch.get(key).ok_or_else(|| ModelError::MissingInput { model: model(), input: name.clone(), provided: batch.names().join(", ") })?;
        let type_error =
            || ModelError::InputType { model: model(), input: name.clone(), expected: element_type_name(*ty), given: tensor.dtype_name().into() };
        let ort_error = |e: ort::Error| ModelError::Inference { model: model(), message: e.to_string() };
        let value: ort::session::SessionInputValue<'b> = match (tensor, ty) {
            (InputTensor::Int64(a), TensorElementType::Int64) => TensorRef::from_array_view(a.view()).map_err(ort_error)?.into(),
            // Some exporters declare int32 ids: convert rather than refuse.
            (InputTensor::Int64(a), TensorElementType::Int32) => {
                let converted = a.mapv(|x| x as i32);
                ort::value::Tensor::from_array(converted).map_err(ort_error)?.into()
            }
            (InputTensor::Float32(a), TensorElementType::Float32) => TensorRef::from_array_view(a.view()).map_err(ort_error)?.into(),
            // Features for an fp16, bf16 or float64 model: rounded to nearest even (half's
            // from_f32), or widened exactly.
            (InputTensor::Float32(a), TensorElementType::Float16) => ort::value::Tensor::from_array(a.mapv(half::f16::from_f32)).map_err(ort_error)?.into(),
            (InputTensor::Float32(a), TensorElementType::Bfloat16) => ort::value::Tensor::from_array(a.mapv(half::bf16::from_f32)).map_err(ort_error)?.into(),
            (InputTensor::Float32(a), TensorElementType::Float64) => ort::value::Tensor::from_array(a.mapv(f64::from)).map_err(ort_error)?.into(),
            _ => return Err(type_error()),
        };
        values.push((Cow::Owned(name.clone()), value));
    }
    Ok(values)
}

impl Backend for OnnxBackend {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn runtime_seconds(&self) -> Option<f64> {
        Some(self.runtime_seconds)
    }

    fn predict(&mut self, batch: &Batch) -> Result<Array2<f32>, ModelError> {
        if self.info.static_shape.is_dynamic() {
            return self.run(batch);
        }
        let runs = self.info.static_shape.fit(batch);
        let parts = runs.iter().map(|(b, real)| Ok((self.run(b)?, *real))).collect::<Result<Vec<_>, ModelError>>()?;
        super::static_shape::stack(parts).map_err(|message| ModelError::Inference { model: self.info.name.clone(), message })
    }
}

impl OnnxBackend {
    /// One session run on `batch` as it is.
    fn run(&mut self, batch: &Batch) -> Result<Array2<f32>, ModelError> {
        let inputs = self.session_inputs(batch)?;
        let model = self.info.name.clone();
        let started = std::time::Instant::now();
        let outputs = self.session.run(inputs);
        self.runtime_seconds += started.elapsed().as_secs_f64();
        let outputs = outputs.map_err(|e| {
            let message = e.to_string();
            // A token id beyond an embedding table: the usual cause is a tokenizer of another model.
            let hint = if message.contains("out of data bounds") && batch.get("input_ids").is_some() {
                " (a token id is outside the model's vocabulary: does --tokenizer belong to this model?)"
            } else {
                ""
            };
            ModelError::Inference { model: model.clone(), message: format!("{message}{hint}") }
        })?;
        let scores = self.reading.scores(&outputs[self.reading.read.as_str()]).map_err(|message| ModelError::Inference { model: model.clone(), message })?;
        if scores.nrows() != batch.rows {
            return Err(ModelError::OutputRows { model, expected: batch.rows, got: scores.nrows() });
        }
        Ok(scores)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_version_from_build_info() {
        let info = "ORT Build Info: git-branch=rel-1.31.1, git-commit-id=abc, build type=Release";
        assert_eq!(version_from_build_info(info), "1.31.1");
        assert_eq!(version_from_build_info("custom"), "custom");
    }
}
