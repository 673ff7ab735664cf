//! Image classifiers from image files: [`decode`] turns files into 8-bit RGB pixels as Pillow
//! does, [`config`] reads each model's preprocessing (`preprocessor_config.json`, timm's
//! `pretrained_cfg`, flags), [`preprocess`] runs it. Each image is decoded once and preprocessed
//! once per distinct preprocessing; every model reads the copy made its way (a student exported
//! with another resize is compared as deployed).

pub mod config;
pub mod decode;
pub mod preprocess;
pub mod resample;

pub use config::{ImageFlags, ResolvedPreprocessing};
pub use decode::Pixels;
pub use preprocess::{Layout, Preprocessing};

use crate::data::tensors::TensorData;
use crate::data::{Example, ImageRef, InputTensor};
use ndarray::{ArrayD, IxDyn};
use rayon::prelude::*;
use std::path::{Path, PathBuf};

/// The batch tensor holding the images as preprocessing `k` (of the plan's distinct ones) makes them.
pub fn feed_name(k: usize) -> String {
    format!("image#{k}")
}

/// A file that would not decode, or a preprocessing that cannot stack the images.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct ImageError {
    pub source_name: String,
    pub message: String,
}

/// Where an example's image comes from, for messages.
pub fn describe(image: &ImageRef, base: &Path) -> String {
    match image {
        ImageRef::Path(p) => base.join(p).display().to_string(),
        ImageRef::Encoded { name, .. } => format!("image {}", name.as_deref().unwrap_or("(no path)")),
    }
}

/// Decodes every example's image (in parallel), in example order. Paths are relative to `base`
/// (the manifest's folder, or the image folder).
pub fn decode_all(examples: &[Example], base: &Path) -> Result<Vec<Pixels>, ImageError> {
    examples.par_iter().map(|e| decode_one(e, base)).collect()
}

/// One example's image, decoded; the error names the file (and the manifest row).
pub fn decode_one(e: &Example, base: &Path) -> Result<Pixels, ImageError> {
    let Some(image) = &e.image else {
        return Err(ImageError { source_name: e.origin.clone(), message: "no image".into() });
    };
    let decoded = match image {
        ImageRef::Path(p) => decode::read_rgb(&base.join(p)),
        ImageRef::Encoded { bytes, .. } => decode::decode_rgb(bytes),
    };
    let at = if matches!(image, ImageRef::Path(p) if *p == e.origin) { String::new() } else { format!(" ({})", e.origin) };
    decoded.map_err(|message| ImageError { source_name: describe(image, base), message: format!("{message}{at}; fix or remove the file") })
}

/// Examples per chunk of image data: a chunk holds its preprocessed images (224×224 RGB in
/// float32 is 0.6 MB each, per distinct preprocessing), so far fewer than text's 8,192.
pub const CHUNK_IMAGES: usize = 256;

/// The images as each of `preprocessings` makes them: one `[n, …]` float tensor per
/// preprocessing, named [`feed_name`]`(k)`. `names[i]` names image `i` in messages.
pub fn preprocess_all(images: &[Pixels], names: &[String], preprocessings: &[Preprocessing]) -> Result<TensorData, ImageError> {
    let rows: Vec<Vec<Vec<f32>>> = images
        .par_iter()
        .zip(names)
        .map(|(image, name)| {
            preprocessings.iter().map(|steps| steps.apply(image).map_err(|message| ImageError { source_name: name.clone(), message })).collect()
        })
        .collect::<Result<_, _>>()?;
    let sizes: Vec<(u32, u32)> = images.iter().map(|i| (i.height, i.width)).collect();
    stack(rows, &sizes, names, preprocessings)
}

/// Per-image outputs of every preprocessing (`rows[i][k]`), stacked into one tensor per
/// preprocessing; `sizes[i]` is image i's decoded (height, width).
fn stack(rows: Vec<Vec<Vec<f32>>>, sizes: &[(u32, u32)], names: &[String], preprocessings: &[Preprocessing]) -> Result<TensorData, ImageError> {
    let n = rows.len();
    let mut flats: Vec<Vec<f32>> = preprocessings.iter().map(|_| Vec::new()).collect();
    for (k, steps) in preprocessings.iter().enumerate() {
        let shapes: Vec<(u32, u32)> = sizes.iter().map(|&(h, w)| steps.output_size(h, w)).collect();
        let (h, w) = shapes.first().copied().unwrap_or((0, 0));
        if let Some(i) = shapes.iter().position(|&s| s != (h, w)) {
            return Err(ImageError {
                source_name: names[i].clone(),
                message: format!(
                    "preprocessed to {}×{} while {} is {w}×{h}: models take one size, so add a center crop (do_center_crop, --crop) or an exact resize (--image-size H,W)",
                    shapes[i].1, shapes[i].0, names[0]
                ),
            });
        }
        flats[k].reserve(n * rows.first().map_or(0, |r| r[k].len()));
    }
    for row in rows {
        for (k, values) in row.into_iter().enumerate() {
            flats[k].extend(values);
        }
    }
    let mut tensors = Vec::with_capacity(preprocessings.len());
    for (k, (steps, flat)) in preprocessings.iter().zip(flats).enumerate() {
        let (h, w) = sizes.first().map_or((0, 0), |&(h, w)| steps.output_size(h, w));
        let c = usize::from(steps.channels);
        let shape = match steps.layout {
            Layout::Nchw => vec![n, c, h as usize, w as usize],
            Layout::Nhwc => vec![n, h as usize, w as usize, c],
        };
        let array = ArrayD::from_shape_vec(IxDyn(&shape), flat).map_err(|e| ImageError { source_name: "images".into(), message: e.to_string() })?;
        tensors.push((feed_name(k), InputTensor::Float32(array)));
    }
    Ok(TensorData { n, tensors })
}

/// One image's decoded (height, width) and its values under each distinct preprocessing.
type Prepared = ((u32, u32), Vec<Vec<f32>>);

/// Every model's preprocessing (teacher first), the distinct ones, and which one each model reads.
#[derive(Debug, Clone, PartialEq)]
pub struct ImagePlan {
    /// Paths in the data are relative to this folder.
    pub base: PathBuf,
    /// Per model, teacher first: its name, how its preprocessing was found, and its index in `distinct`.
    pub models: Vec<(String, ResolvedPreprocessing, usize)>,
    pub distinct: Vec<Preprocessing>,
}

impl ImagePlan {
    /// Groups equal preprocessings; `models` is teacher first.
    pub fn new(base: PathBuf, models: Vec<(String, ResolvedPreprocessing)>) -> Self {
        let mut distinct: Vec<Preprocessing> = Vec::new();
        let models = models
            .into_iter()
            .map(|(name, resolved)| {
                let k = distinct.iter().position(|d| *d == resolved.steps).unwrap_or_else(|| {
                    distinct.push(resolved.steps.clone());
                    distinct.len() - 1
                });
                (name, resolved, k)
            })
            .collect();
        Self { base, models, distinct }
    }

    /// The batch tensor model `name` reads.
    pub fn feed_of(&self, name: &str) -> Option<String> {
        self.models.iter().find(|(n, ..)| n == name).map(|(.., k)| feed_name(*k))
    }

    /// Decodes and preprocesses a chunk of examples, each image decoded once and dropped once
    /// every preprocessing has read it.
    pub fn prepare(&self, examples: &[Example]) -> Result<TensorData, ImageError> {
        let names: Vec<String> = examples.iter().map(|e| e.image.as_ref().map_or_else(|| e.origin.clone(), |i| describe(i, &self.base))).collect();
        let done: Vec<Prepared> = examples
            .par_iter()
            .zip(&names)
            .map(|(e, name)| {
                let image = decode_one(e, &self.base)?;
                let rows = self
                    .distinct
                    .iter()
                    .map(|steps| steps.apply(&image).map_err(|message| ImageError { source_name: name.clone(), message }))
                    .collect::<Result<_, _>>()?;
                Ok(((image.height, image.width), rows))
            })
            .collect::<Result<_, ImageError>>()?;
        let (sizes, rows): (Vec<_>, Vec<_>) = done.into_iter().unzip();
        stack(rows, &sizes, &names, &self.distinct)
    }
}
