//! A session that hands back every float tensor of its graph.
//!
//! Graph optimisation is off, as ONNX Runtime's own `qdq_loss_debug.collect_activations` runs it:
//! a fused graph has no intermediate tensors to read, and a QDQ model then computes what its graph
//! says (float operators between quantize/dequantize pairs). The reports say so.

use crate::data::Batch;
use crate::model::runtime_settings::{Optimization, RuntimeSettings};
use crate::model::session::{build_session, feeds};
use crate::model::{Device, Runtime};
use crate::onnx::proto::ModelProto;
use ort::session::Session;
use ort::value::TensorElementType;
use std::collections::HashMap;
use std::path::Path;

/// A float tensor: ONNX Runtime's own float32 value (read in place, fed on in place), or values
/// widened or narrowed to float32 (float16, bfloat16, float64 outputs; batch inputs).
pub enum Values {
    Ort(ort::value::DynValue),
    Owned { shape: Vec<usize>, data: Vec<f32> },
}

impl Values {
    pub fn data(&self) -> &[f32] {
        match self {
            Values::Ort(v) => v.try_extract_tensor::<f32>().map(|(_, d)| d).unwrap_or(&[]),
            Values::Owned { data, .. } => data,
        }
    }

    pub fn shape(&self) -> Vec<usize> {
        match self {
            Values::Ort(v) => v.try_extract_tensor::<f32>().map(|(s, _)| dims(s)).unwrap_or_default(),
            Values::Owned { shape, .. } => shape.clone(),
        }
    }
}

pub type Tensors = HashMap<String, Values>;

pub struct Tap {
    name: String,
    session: Session,
    /// Inputs the batch feeds.
    batch_inputs: Vec<(String, TensorElementType)>,
    /// Inputs fed with another model's tensors (a cut graph), by name.
    fed_inputs: Vec<(String, TensorElementType)>,
    /// Float outputs and float batch inputs (the caller adds those from the batch), with their
    /// element types.
    pub float_outputs: HashMap<String, TensorElementType>,
    /// Image data: the batch tensor with this model's preprocessing (see [`crate::vision::feed_name`]).
    pub image_feed: Option<String>,
}

fn is_float(t: TensorElementType) -> bool {
    matches!(t, TensorElementType::Float32 | TensorElementType::Float16 | TensorElementType::Bfloat16 | TensorElementType::Float64)
}

impl Tap {
    /// `fed` names the inputs [`Tap::run`] takes from `extra` instead of the batch.
    pub fn new(runtime: &Runtime, name: &str, model: &ModelProto, model_dir: Option<&Path>, fed: &[String]) -> Result<Self, String> {
        let bytes = crate::onnx::rewrite::encode(model);
        let settings = RuntimeSettings { optimization: Some(Optimization::Disable), ..Default::default() };
        let session = build_session(runtime, &bytes, Device::Cpu, false, &settings, model_dir).map_err(|e| format!("model {name}: {e}"))?;
        let inputs: Vec<(String, TensorElementType)> =
            session.inputs().iter().map(|i| (i.name().to_string(), i.dtype().tensor_type().unwrap_or(TensorElementType::Float32))).collect();
        let (fed_inputs, batch_inputs): (Vec<_>, Vec<_>) = inputs.into_iter().partition(|(n, _)| fed.contains(n));
        let float_outputs = session
            .outputs()
            .iter()
            .filter_map(|o| o.dtype().tensor_type().filter(|t| is_float(*t)).map(|t| (o.name().to_string(), t)))
            .chain(batch_inputs.iter().filter(|(_, t)| is_float(*t)).cloned())
            .collect();
        Ok(Self { name: name.to_string(), session, batch_inputs, fed_inputs, float_outputs, image_feed: None })
    }

    /// Image data: the model's one input and the batch tensor that feeds it.
    pub fn image_input(&self) -> Option<(&str, &str)> {
        match (self.batch_inputs.as_slice(), &self.image_feed) {
            ([(name, _)], Some(feed)) => Some((name.as_str(), feed.as_str())),
            _ => None,
        }
    }

    /// Runs one batch; `extra` holds the values of the fed inputs. Returns every float output.
    pub fn run(&mut self, batch: &Batch, extra: &HashMap<String, &Values>) -> Result<Tensors, String> {
        let mut inputs = feeds(&self.name, &self.batch_inputs, batch, self.image_feed.as_deref()).map_err(|e| e.to_string())?;
        for (name, ty) in &self.fed_inputs {
            let v = extra.get(name).ok_or_else(|| format!("model {}: no value for input {name}", self.name))?;
            let error = |e: ort::Error| format!("model {}: input {name}: {e}", self.name);
            let value: ort::session::SessionInputValue<'_> = match (ty, v) {
                (TensorElementType::Float32, Values::Ort(value)) => value.into(),
                (TensorElementType::Float16, _) => {
                    ort::value::Tensor::from_array((v.shape(), v.data().iter().map(|x| half::f16::from_f32(*x)).collect::<Vec<_>>())).map_err(error)?.into()
                }
                _ => ort::value::Tensor::from_array((v.shape(), v.data().to_vec())).map_err(error)?.into(),
            };
            inputs.push((name.clone().into(), value));
        }
        let mut outputs = self.session.run(inputs).map_err(|e| format!("model {}: {e}", self.name))?;
        let names: Vec<String> = outputs.keys().filter(|k| self.float_outputs.contains_key(*k)).map(str::to_string).collect();
        let mut tensors = Tensors::new();
        for name in names {
            let Some(value) = outputs.remove(&name) else { continue };
            let error = |e: ort::Error| format!("model {}: output {name}: {e}", self.name);
            let owned = |(s, d): (&ort::value::Shape, Vec<f32>)| Values::Owned { shape: dims(s), data: d };
            let values = match self.float_outputs[&name] {
                TensorElementType::Float16 => {
                    let (s, d) = value.try_extract_tensor::<half::f16>().map_err(error)?;
                    owned((s, d.iter().map(|x| f32::from(*x)).collect()))
                }
                TensorElementType::Bfloat16 => {
                    let (s, d) = value.try_extract_tensor::<half::bf16>().map_err(error)?;
                    owned((s, d.iter().map(|x| f32::from(*x)).collect()))
                }
                TensorElementType::Float64 => {
                    let (s, d) = value.try_extract_tensor::<f64>().map_err(error)?;
                    owned((s, d.iter().map(|x| *x as f32).collect()))
                }
                _ => Values::Ort(value),
            };
            tensors.insert(name, values);
        }
        Ok(tensors)
    }
}

fn dims(shape: &ort::value::Shape) -> Vec<usize> {
    shape.iter().map(|&d| d.max(0) as usize).collect()
}
