//! The data side of a comparison, a chunk at a time: examples plus the batch source every model
//! runs over. JSONL, CSV and `.npz` archives stream, so memory follows the chunk size, not the file
//! (compressed `.npz` members are the exception: deflate cannot seek, so they are held whole).

use super::CompareError;
use crate::data::stream::CHUNK_EXAMPLES;
use crate::data::tensors::{NpzStream, TensorData};
use crate::data::text::TextEncoder;
use crate::data::LabelNames;
use crate::data::{Columns, DataFormat, Example, ExampleStream, InputTensor};
use crate::inference::BatchSource;
use crate::model::ModelInfo;
use crate::plan::{ComparePlan, InputPlan};
use crate::report::{ImagePreprocessingInfo, InputsInfo};
use crate::vision::ImagePlan;
use ndarray::{ArrayD, Axis};

/// Where the evaluation stage reads its chunks from: the data file's rows ([`ChunkReader`]), or
/// multiple-choice rows (`super::multiple_choice`).
pub trait Chunks {
    /// The next chunk of at most `max` examples, or `None` at the end.
    fn next_chunk(&mut self, max: usize) -> Result<Option<Chunk>, CompareError>;
}

impl Chunks for ChunkReader<'_> {
    fn next_chunk(&mut self, max: usize) -> Result<Option<Chunk>, CompareError> {
        ChunkReader::next_chunk(self, max)
    }
}

/// Examples per chunk: `wanted` rounded up to a multiple of the evaluation and serving batch sizes,
/// so batches in file order are the same as over the whole file.
pub fn chunk_size(wanted: usize, batch_size: usize, serving_batch_size: usize) -> usize {
    let gcd = |mut a: usize, mut b: usize| {
        while b != 0 {
            (a, b) = (b, a % b);
        }
        a
    };
    let (a, b) = (batch_size.max(1), serving_batch_size.max(1));
    let lcm = a / gcd(a, b) * b;
    lcm * wanted.max(1).div_ceil(lcm)
}

/// The rows a run holds: `rows` of a file of `total_rows` (a single run: all of them).
#[derive(Debug, Clone)]
pub struct Scope {
    pub total_rows: usize,
    pub rows: std::ops::Range<usize>,
}

/// Consecutive examples and the model inputs built from them.
pub struct Chunk {
    /// Index of the first example in the whole data.
    pub offset: usize,
    pub examples: Vec<Example>,
    pub source: Box<dyn BatchSource>,
    /// Text only: examples cut to the maximum length, and examples with an empty text.
    pub truncated: usize,
    pub empty: usize,
}

/// What the models were fed, summed over the chunks, for the report.
pub struct InputsTally {
    pub info: InputsInfo,
    pub padding: &'static str,
}

enum Source<'a> {
    Text { stream: ExampleStream, encoder: &'a TextEncoder },
    Features { stream: ExampleStream, input: String },
    Npz(NpzStream),
    Images { stream: ExampleStream, images: ImagePlan },
}

/// Reads the data in chunks and prepares model inputs for each.
pub struct ChunkReader<'a> {
    source: Source<'a>,
    columns: Columns,
    read: usize,
    tally: InputsTally,
}

/// Loads the tokenizer a text plan names.
pub fn text_encoder(plan: &ComparePlan) -> Result<Option<TextEncoder>, CompareError> {
    match &plan.inputs {
        InputPlan::Text { tokenizer, max_length } => Ok(Some(TextEncoder::from_file(tokenizer, *max_length)?)),
        InputPlan::Tensors | InputPlan::Images(_) => Ok(None),
    }
}

impl<'a> ChunkReader<'a> {
    /// Opens the data; `teacher` names the float input CSV features feed; `encoder` is
    /// [`text_encoder`]'s result.
    pub fn open(plan: &ComparePlan, teacher: &ModelInfo, labels: Option<&LabelNames>, encoder: Option<&'a TextEncoder>) -> Result<Self, CompareError> {
        let (source, columns, tally) = match encoder {
            Some(encoder) => {
                let stream = ExampleStream::open(&plan.data, plan.data_format, &plan.columns, labels)?;
                let info = InputsInfo::Text {
                    tokenizer: encoder.path().to_path_buf(),
                    max_length: encoder.max_length(),
                    truncated: 0,
                    empty_texts: 0,
                    pad_id: encoder.pad_id(),
                };
                let padding = "each batch padded to its longest example (pad id, attention mask 0, token type 0)";
                (Source::Text { stream, encoder }, None, InputsTally { info, padding })
            }
            None => {
                let tally = InputsTally { info: InputsInfo::Tensors { arrays: vec![] }, padding: "none: tensors have fixed shapes" };
                if let InputPlan::Images(images) = &plan.inputs {
                    let stream = ExampleStream::open(&plan.data, plan.data_format, &plan.columns, labels)?;
                    let tally = InputsTally { info: images_info(plan, images), padding: "none: every image is preprocessed to its model's fixed size" };
                    (Source::Images { stream, images: images.clone() }, None, tally)
                } else if plan.data_format == DataFormat::Npz {
                    let npz = NpzStream::open(&plan.data, &plan.columns, labels)?;
                    let tally = InputsTally { info: InputsInfo::Tensors { arrays: npz.shapes() }, ..tally };
                    (Source::Npz(npz), Some(plan.columns.clone()), tally)
                } else {
                    let stream = ExampleStream::open(&plan.data, plan.data_format, &plan.columns, labels)?;
                    (Source::Features { stream, input: float_input(teacher)? }, None, tally)
                }
            }
        };
        let columns = columns.unwrap_or_else(|| match &source {
            Source::Text { stream, .. } | Source::Features { stream, .. } | Source::Images { stream, .. } => stream.columns().clone(),
            Source::Npz(_) => plan.columns.clone(),
        });
        Ok(Self { source, columns, read: 0, tally })
    }

    /// Passes over the first `k` rows (a shard starting at row `k`); chunks after keep their
    /// place in the whole file.
    pub fn skip(&mut self, k: usize) -> Result<(), CompareError> {
        let skipped = match &mut self.source {
            Source::Text { stream, .. } | Source::Features { stream, .. } | Source::Images { stream, .. } => stream.skip(k)?,
            Source::Npz(npz) => {
                npz.skip(k);
                k.min(npz.len())
            }
        };
        self.read += skipped;
        Ok(())
    }

    /// Rows read or skipped so far.
    pub fn rows_read(&self) -> usize {
        self.read
    }

    /// The columns as read (feature patterns expanded).
    pub fn columns(&self) -> &Columns {
        &self.columns
    }

    /// The next chunk of at most `max` examples (an `.npz` archive: all of it), or `None` at the end.
    pub fn next_chunk(&mut self, max: usize) -> Result<Option<Chunk>, CompareError> {
        let offset = self.read;
        let chunk = match &mut self.source {
            Source::Text { stream, encoder } => {
                let examples = stream.next_chunk(max)?;
                if examples.is_empty() {
                    return Ok(None);
                }
                let encoded = encoder.encode(&examples)?;
                let (truncated, empty) = (encoded.truncated, encoded.empty);
                if let InputsInfo::Text { truncated: t, empty_texts: e, .. } = &mut self.tally.info {
                    *t += truncated;
                    *e += empty;
                }
                Chunk { offset, examples, source: Box::new(encoded), truncated, empty }
            }
            Source::Features { stream, input } => {
                let examples = stream.next_chunk(max)?;
                if examples.is_empty() {
                    return Ok(None);
                }
                let data = TensorData::from_features(&examples, input);
                self.tally.info = InputsInfo::Tensors {
                    arrays: data
                        .shapes()
                        .into_iter()
                        .map(|(name, mut shape)| {
                            shape[0] += offset;
                            (name, shape)
                        })
                        .collect(),
                };
                Chunk { offset, examples, source: Box::new(data), truncated: 0, empty: 0 }
            }
            Source::Images { stream, images } => {
                let examples = stream.next_chunk(max)?;
                if examples.is_empty() {
                    return Ok(None);
                }
                let data = images.prepare(&examples)?;
                if let InputsInfo::Images { decoded, models, .. } = &mut self.tally.info {
                    *decoded += examples.len();
                    for (m, (.., k)) in models.iter_mut().zip(&images.models) {
                        if let Some((_, tensor)) = data.tensors.get(*k) {
                            m.shape = tensor.shape()[1..].to_vec();
                        }
                    }
                }
                Chunk { offset, examples, source: Box::new(data), truncated: 0, empty: 0 }
            }
            Source::Npz(npz) => match npz.next_chunk(max)? {
                Some((examples, data)) => Chunk { offset, examples, source: Box::new(data), truncated: 0, empty: 0 },
                None => return Ok(None),
            },
        };
        self.read += chunk.examples.len();
        Ok(Some(chunk))
    }

    /// What the models were fed, over the chunks read so far.
    pub fn tally(&self) -> &InputsTally {
        &self.tally
    }
}

/// The pieces an attack needs to build new model inputs.
pub enum AttackInputs {
    Text(Box<TextEncoder>),
    /// The float input's name and, per attacked example (in sample order), its values. Image
    /// files: the decoded pixels as floats in [0, 1] (`[n, height, width, 3]`), preprocessed
    /// for each model as `images` says whenever a model is asked.
    Tensor {
        input: String,
        values: ArrayD<f32>,
        images: Option<ImagePlan>,
    },
    /// Several inputs or no float input: attacks are not supported.
    Unsupported(String),
}

/// The examples at `sample` (ascending indices), read as rows: rows before each wanted one are
/// passed over, not parsed (a shard's sample sits far into the file).
fn sampled_examples(plan: &ComparePlan, labels: Option<&LabelNames>, sample: &[usize]) -> Result<Vec<Example>, CompareError> {
    let mut stream = ExampleStream::open(&plan.data, plan.data_format, &plan.columns, labels)?;
    let mut kept = Vec::with_capacity(sample.len());
    let (mut offset, mut next) = (0, sample.iter().peekable());
    while let Some(&&wanted) = next.peek() {
        // Rows before the next wanted one are passed over, not parsed (a shard's sample sits
        // far into the file).
        if wanted > offset {
            offset += stream.skip(wanted - offset)?;
            if offset < wanted {
                break;
            }
        }
        let examples = stream.next_chunk(CHUNK_EXAMPLES)?;
        if examples.is_empty() {
            break;
        }
        let end = offset + examples.len();
        let mut examples: Vec<Option<Example>> = examples.into_iter().map(Some).collect();
        while let Some(&&i) = next.peek().filter(|&&&i| i < end) {
            kept.extend(examples[i - offset].take());
            next.next();
        }
        offset = end;
    }
    Ok(kept)
}

/// Reads the data again and keeps the examples at `sample` (ascending indices), with what attacks
/// and the noise stage need to perturb them. A second read costs a parse; holding every example would cost memory
/// that grows with the file.
pub fn read_sample(
    plan: &ComparePlan,
    teacher: &ModelInfo,
    labels: Option<&LabelNames>,
    sample: &[usize],
) -> Result<(Vec<Example>, AttackInputs), CompareError> {
    let encoder = text_encoder(plan)?;
    if encoder.is_some() || matches!(plan.inputs, InputPlan::Images(_)) {
        // Text: the examples' texts are enough; no need to tokenize the whole file again. Images:
        // the sampled ones are decoded, the rest never.
        let kept = sampled_examples(plan, labels, sample)?;
        return match (encoder, &plan.inputs) {
            (Some(encoder), _) => Ok((kept, AttackInputs::Text(Box::new(encoder)))),
            (None, InputPlan::Images(images)) => {
                let inputs = pixel_inputs(&kept, images)?;
                Ok((kept, inputs))
            }
            (None, _) => Ok((kept, AttackInputs::Unsupported("no inputs".into()))),
        };
    }
    let mut reader = ChunkReader::open(plan, teacher, labels, None)?;
    let (mut kept, mut rows) = (Vec::with_capacity(sample.len()), Vec::new());
    let mut input = None;
    let mut next = sample.iter().peekable();
    while let Some(chunk) = reader.next_chunk(CHUNK_EXAMPLES)? {
        let end = chunk.offset + chunk.examples.len();
        let mut local = Vec::new();
        while let Some(&&i) = next.peek().filter(|&&&i| i < end) {
            local.push(i - chunk.offset);
            next.next();
        }
        if local.is_empty() {
            continue;
        }
        let batch = chunk.source.batch_of(&local);
        match batch.tensors.as_slice() {
            [(name, InputTensor::Float32(values))] => {
                input = Some(name.clone());
                rows.push(values.clone());
            }
            other => {
                let names = other.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
                return Ok((vec![], AttackInputs::Unsupported(format!("attacks need exactly one float input; the data gives {names}"))));
            }
        }
        let mut examples: Vec<Option<Example>> = chunk.examples.into_iter().map(Some).collect();
        kept.extend(local.iter().filter_map(|&l| examples[l].take()));
    }
    let views: Vec<_> = rows.iter().map(|r| r.view()).collect();
    let inputs = match input {
        Some(input) => AttackInputs::Tensor {
            input,
            values: ndarray::concatenate(Axis(0), &views).map_err(|e| crate::attack::AttackError::Model(e.to_string()))?,
            images: None,
        },
        None => AttackInputs::Unsupported("no example to attack".into()),
    };
    Ok((kept, inputs))
}

/// The sampled images decoded, as floats in [0, 1] (`k / 255`, so rounding back gives the same
/// bytes): the space pixel-level noise and attacks work in. One array holds them, so they must
/// share one size.
fn pixel_inputs(examples: &[Example], images: &ImagePlan) -> Result<AttackInputs, CompareError> {
    let decoded = crate::vision::decode_all(examples, &images.base)?;
    let Some(first) = decoded.first() else { return Ok(AttackInputs::Unsupported("no example to perturb".into())) };
    if let Some((k, odd)) = decoded.iter().enumerate().find(|(_, p)| (p.width, p.height) != (first.width, first.height)) {
        return Ok(AttackInputs::Unsupported(format!(
            "pixel-space noise and attacks need the sampled images in one size, but {} is {}×{} and {} is {}×{} (evaluation itself takes any sizes)",
            examples[0].origin, first.width, first.height, examples[k].origin, odd.width, odd.height
        )));
    }
    let (h, w) = (first.height as usize, first.width as usize);
    let flat: Vec<f32> = decoded.iter().flat_map(|p| p.data.iter().map(|&v| f32::from(v) / 255.0)).collect();
    let values = ArrayD::from_shape_vec(ndarray::IxDyn(&[decoded.len(), h, w, 3]), flat).map_err(|e| crate::attack::AttackError::Model(e.to_string()))?;
    Ok(AttackInputs::Tensor { input: "pixels".into(), values, images: Some(images.clone()) })
}

/// The report's account of the images: where they come from and each model's preprocessing
/// (shapes filled in by the first chunk).
fn images_info(plan: &ComparePlan, images: &ImagePlan) -> InputsInfo {
    let source = match &plan.columns.image {
        Some(column) => format!("manifest {}, column '{column}'", plan.data.display()),
        None => format!("image folder {}", plan.data.display()),
    };
    let models = images
        .models
        .iter()
        .map(|(model, resolved, _)| ImagePreprocessingInfo { model: model.clone(), source: resolved.source.clone(), file: resolved.file.clone(), steps: resolved.steps.clone(), shape: vec![] })
        .collect();
    InputsInfo::Images { source, decoded: 0, distinct_preprocessings: images.distinct.len(), models }
}

/// The one float input that CSV feature columns feed.
fn float_input(teacher: &ModelInfo) -> Result<String, CompareError> {
    let floats: Vec<&str> = teacher.inputs.iter().filter(|i| matches!(i.element_type.as_str(), "float32" | "float16" | "bfloat16" | "float64")).map(|i| i.name.as_str()).collect();
    match floats.as_slice() {
        [one] if teacher.inputs.len() == 1 => Ok(one.to_string()),
        _ => Err(CompareError::FeatureInput {
            model: teacher.name.clone(),
            inputs: teacher.inputs.iter().map(|i| format!("{} ({})", i.name, i.element_type)).collect::<Vec<_>>().join(", "),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_hold_whole_batches_of_both_sizes() {
        assert_eq!(chunk_size(CHUNK_EXAMPLES, 32, 32), CHUNK_EXAMPLES);
        assert_eq!(chunk_size(100, 32, 1), 128);
        for (a, b) in [(32, 1), (7, 5), (100, 64), (1, 1), (10000, 3)] {
            let c = chunk_size(CHUNK_EXAMPLES, a, b);
            assert!(c.is_multiple_of(a) && c.is_multiple_of(b) && c >= CHUNK_EXAMPLES && c < CHUNK_EXAMPLES + a * b, "{a} {b} -> {c}");
        }
    }
}
