//! Timed runs of a micro-graph (see `crate::roofline::micro_graphs`): one session on the
//! evaluation's runtime and device, with ONNX Runtime's default settings and the shared thread pool,
//! the input made once, every run timed alone.

use super::runtime_settings::RuntimeSettings;
use super::session::build_session;
use super::{Device, Runtime};
use ort::value::TensorRef;
use std::borrow::Cow;
use std::time::Instant;

/// The element type of a micro-graph's one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MicroInput {
    Float,
    Uint8,
}

enum Made {
    Float(ndarray::ArrayD<f32>),
    Uint8(ndarray::ArrayD<u8>),
}

/// Builds the session, runs it `warmup` times untimed, then at least `min_runs` times and until
/// `budget_seconds` are spent (at most `max_runs`); returns the seconds of each timed run.
pub fn timed_runs(
    runtime: &Runtime,
    device: Device,
    bytes: &[u8],
    input: (&str, MicroInput, &[usize]),
    warmup: usize,
    runs: (usize, usize),
    budget_seconds: f64,
) -> Result<Vec<f64>, String> {
    let (name, kind, shape) = input;
    let mut session = build_session(runtime, bytes, device, false, &RuntimeSettings::default(), None).map_err(|e| e.to_string())?;
    let elements: usize = shape.iter().product();
    // Small values that vary, as real activations do (an all-zero input could take shortcuts).
    let made = match kind {
        MicroInput::Float => Made::Float(array(shape, (0..elements).map(|i| ((i % 17) as f32 - 8.0) / 8.0).collect())?),
        MicroInput::Uint8 => Made::Uint8(array(shape, (0..elements).map(|i| (i % 251) as u8).collect())?),
    };
    let mut run_once = || -> Result<f64, String> {
        let value: ort::session::SessionInputValue<'_> = match &made {
            Made::Float(a) => TensorRef::from_array_view(a.view()).map_err(|e| e.to_string())?.into(),
            Made::Uint8(a) => TensorRef::from_array_view(a.view()).map_err(|e| e.to_string())?.into(),
        };
        let started = Instant::now();
        let outputs = session.run(vec![(Cow::Borrowed(name), value)]).map_err(|e| e.to_string())?;
        let seconds = started.elapsed().as_secs_f64();
        drop(outputs);
        Ok(seconds)
    };
    for _ in 0..warmup {
        run_once()?;
    }
    let (min_runs, max_runs) = runs;
    let started = Instant::now();
    let mut seconds = Vec::new();
    while seconds.len() < max_runs && (seconds.len() < min_runs || started.elapsed().as_secs_f64() < budget_seconds) {
        seconds.push(run_once()?);
    }
    Ok(seconds)
}

fn array<T>(shape: &[usize], values: Vec<T>) -> Result<ndarray::ArrayD<T>, String> {
    ndarray::ArrayD::from_shape_vec(shape, values).map_err(|e| e.to_string())
}
