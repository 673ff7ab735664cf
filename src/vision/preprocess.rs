//! One model's preprocessing, as its exporter wrote it: resize, center crop, rescale, normalise,
//! lay out. Each step is the one Hugging Face's (slow, Pillow-based) image processors or timm's
//! eval transform run, written out so the numbers match theirs:
//!
//! * **resize** on the 8-bit image, exactly as Pillow computes it ([`super::resample`]);
//!   `{shortest_edge: S}` makes the short side S and the long side `int(S · long / short)`, as
//!   transformers' `get_resize_output_image_size` and torchvision's `Resize(int)` do;
//! * **center crop**: transformers puts the top-left corner at `(h − ch) // 2`, torchvision (timm)
//!   at `round((h − ch) / 2)`; a crop larger than the image pads it with zeros around, as both do;
//! * **rescale**: transformers multiplies in float64 then rounds to float32 (`x · 1/255`),
//!   torchvision divides in float32 (`x / 255`);
//! * **normalise**: `(x − mean) / std` in float32, per channel.

use super::decode::Pixels;
use serde::{Deserialize, Serialize};

/// Pillow's resampling filters, by the numbers `preprocessor_config.json` writes (`resample`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Filter {
    Nearest,
    Lanczos,
    Bilinear,
    Bicubic,
    Box,
    Hamming,
}

impl Filter {
    /// `PIL.Image.Resampling` numbers: 0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming.
    pub fn from_pillow(code: i64) -> Option<Self> {
        Some(match code {
            0 => Self::Nearest,
            1 => Self::Lanczos,
            2 => Self::Bilinear,
            3 => Self::Bicubic,
            4 => Self::Box,
            5 => Self::Hamming,
            _ => return None,
        })
    }

    /// timm's and the flags' names ("bicubic"); "antialias"/"lanczos3" aliases are Pillow's lanczos.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name.to_ascii_lowercase().as_str() {
            "nearest" => Self::Nearest,
            "lanczos" | "lanczos3" | "antialias" => Self::Lanczos,
            "bilinear" | "linear" => Self::Bilinear,
            "bicubic" | "cubic" => Self::Bicubic,
            "box" => Self::Box,
            "hamming" => Self::Hamming,
            _ => return None,
        })
    }
}

/// The target of a resize.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ResizeTo {
    Exact { height: u32, width: u32 },
    ShortestEdge(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Resize {
    pub to: ResizeTo,
    pub filter: Filter,
}

/// Where a center crop's corner goes when the margin is odd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CropRounding {
    /// transformers: `(h − ch) // 2`.
    Floor,
    /// torchvision (timm): `round((h − ch) / 2)`, halves to even.
    RoundHalfEven,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Crop {
    pub height: u32,
    pub width: u32,
    pub rounding: CropRounding,
}

/// How 8-bit values become floats.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Rescale {
    /// transformers: `(x as f64 · factor) as f32`.
    Multiply(f64),
    /// torchvision: `x as f32 / d` in float32.
    Divide(f32),
}

/// Memory order of one image in the model's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Channels, then rows, then columns (PyTorch exports).
    Nchw,
    /// Rows, columns, channels (TensorFlow and Keras exports).
    Nhwc,
}

/// Every step from decoded pixels to one model input. Two models with equal steps share one
/// preprocessed copy of each image.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Preprocessing {
    /// 3 (RGB) or 1 (grey, Pillow's `convert("L")`).
    pub channels: u8,
    pub resize: Option<Resize>,
    pub crop: Option<Crop>,
    pub rescale: Option<Rescale>,
    /// Per-channel mean and standard deviation, subtracted and divided in float32.
    pub mean: Option<Vec<f32>>,
    pub std: Option<Vec<f32>>,
    pub layout: Layout,
}

impl Preprocessing {
    /// "resize short side 36 (bilinear), crop 32×32, ×1/255, normalise, NCHW": the steps in a line.
    pub fn describe(&self) -> String {
        let mut steps = Vec::new();
        if self.channels == 1 {
            steps.push("grey".to_string());
        }
        if let Some(r) = self.resize {
            let filter = format!("{:?}", r.filter).to_lowercase();
            steps.push(match r.to {
                ResizeTo::Exact { height, width } => format!("resize {height}×{width} ({filter})"),
                ResizeTo::ShortestEdge(s) => format!("resize short side {s} ({filter})"),
            });
        }
        if let Some(c) = self.crop {
            steps.push(format!("crop {}×{}", c.height, c.width));
        }
        match self.rescale {
            Some(Rescale::Multiply(f)) if (f - 1.0 / 255.0).abs() < 1e-15 => steps.push("×1/255".into()),
            Some(Rescale::Multiply(f)) => steps.push(format!("×{f}")),
            Some(Rescale::Divide(d)) => steps.push(format!("/{d}")),
            None => {}
        }
        if let (Some(m), Some(s)) = (&self.mean, &self.std) {
            let list = |v: &[f32]| v.iter().map(|x| format!("{x}")).collect::<Vec<_>>().join(",");
            steps.push(format!("normalise mean {} std {}", list(m), list(s)));
        }
        steps.push(format!("{:?}", self.layout).to_uppercase());
        steps.join(", ")
    }

    /// Height and width of the output for an input of `height` × `width`.
    pub fn output_size(&self, height: u32, width: u32) -> (u32, u32) {
        let (h, w) = match self.resize {
            Some(r) => resized_size(r.to, height, width),
            None => (height, width),
        };
        match self.crop {
            Some(c) => (c.height, c.width),
            None => (h, w),
        }
    }

    /// The model input for one decoded RGB image: `channels × h × w` (NCHW) or `h × w × channels`
    /// (NHWC) floats.
    pub fn apply(&self, image: &Pixels) -> Result<Vec<f32>, String> {
        let image = if self.channels == 1 { image.to_grey() } else { image.clone() };
        let image = match self.resize {
            Some(r) => resize(&image, r)?,
            None => image,
        };
        let image = match self.crop {
            Some(c) => center_crop(&image, c),
            None => image,
        };
        Ok(self.to_floats(&image))
    }

    fn to_floats(&self, image: &Pixels) -> Vec<f32> {
        let c = image.channels as usize;
        let channel_value = |value: u8, channel: usize| -> f32 {
            let mut x = match self.rescale {
                Some(Rescale::Multiply(f)) => (f64::from(value) * f) as f32,
                Some(Rescale::Divide(d)) => f32::from(value) / d,
                None => f32::from(value),
            };
            if let Some(mean) = &self.mean {
                x -= mean[channel.min(mean.len() - 1)];
            }
            if let Some(std) = &self.std {
                x /= std[channel.min(std.len() - 1)];
            }
            x
        };
        match self.layout {
            Layout::Nhwc => image.data.iter().enumerate().map(|(i, &v)| channel_value(v, i % c)).collect(),
            Layout::Nchw => {
                let plane = image.data.len() / c;
                let mut out = vec![0f32; image.data.len()];
                for (i, &v) in image.data.iter().enumerate() {
                    let (pixel, channel) = (i / c, i % c);
                    out[channel * plane + pixel] = channel_value(v, channel);
                }
                out
            }
        }
    }
}

/// `(height, width)` after a resize.
pub fn resized_size(to: ResizeTo, height: u32, width: u32) -> (u32, u32) {
    match to {
        ResizeTo::Exact { height, width } => (height, width),
        ResizeTo::ShortestEdge(s) => {
            let (short, long) = if width <= height { (width, height) } else { (height, width) };
            // Python's int(S * long / short): the product is exact, the division float64, truncated.
            let new_long = (f64::from(s) * f64::from(long) / f64::from(short.max(1))) as u32;
            if width <= height {
                (new_long, s)
            } else {
                (s, new_long)
            }
        }
    }
}

/// Pillow's `Image.resize(size, resample)` on 8-bit pixels.
pub fn resize(image: &Pixels, r: Resize) -> Result<Pixels, String> {
    let (height, width) = resized_size(r.to, image.height, image.width);
    if (height, width) == (image.height, image.width) {
        return Ok(image.clone());
    }
    if height == 0 || width == 0 || image.width == 0 || image.height == 0 {
        return Err(format!("resizing {}×{} to {width}×{height} leaves no pixels", image.width, image.height));
    }
    Ok(super::resample::resize(image, width, height, r.filter))
}

/// transformers' `center_crop` (or torchvision's, by `rounding`): the window at the centre, the
/// image padded with zeros first where the window is larger.
pub fn center_crop(image: &Pixels, crop: Crop) -> Pixels {
    let (h, w, c) = (i64::from(image.height), i64::from(image.width), image.channels as usize);
    let (ch, cw) = (i64::from(crop.height), i64::from(crop.width));
    // The window's corner in the image's own coordinates; rows and columns outside the image are
    // the zero padding both libraries add (transformers places the image at ceil(margin / 2) of
    // the padded canvas, torchvision at floor(margin / 2)).
    let corner = |size: i64, window: i64| match crop.rounding {
        CropRounding::Floor => (size - window).div_euclid(2),
        CropRounding::RoundHalfEven if window > size => -((window - size) / 2),
        CropRounding::RoundHalfEven => round_half_even((size - window) as f64 / 2.0),
    };
    let (top, left) = (corner(h, ch), corner(w, cw));
    let mut out = vec![0u8; (ch * cw) as usize * c];
    for y in 0..ch {
        let sy = y + top;
        if sy < 0 || sy >= h {
            continue;
        }
        for x in 0..cw {
            let sx = x + left;
            if sx < 0 || sx >= w {
                continue;
            }
            let (d, s) = ((y * cw + x) as usize * c, (sy * w + sx) as usize * c);
            out[d..d + c].copy_from_slice(&image.data[s..s + c]);
        }
    }
    Pixels::new(crop.width, crop.height, image.channels, out)
}

fn round_half_even(x: f64) -> i64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        (r - x.signum()) as i64
    } else {
        r as i64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ramp(width: u32, height: u32, channels: u8) -> Pixels {
        let n = width as usize * height as usize * channels as usize;
        Pixels::new(width, height, channels, (0..n).map(|i| (i % 251) as u8).collect())
    }

    #[test]
    fn shortest_edge_keeps_the_aspect_ratio_as_transformers_truncates_it() {
        // transformers: get_resize_output_image_size(np.zeros((375, 500, 3)), 224, default_to_square=False) = (224, 298)
        assert_eq!(resized_size(ResizeTo::ShortestEdge(224), 375, 500), (224, 298));
        assert_eq!(resized_size(ResizeTo::ShortestEdge(36), 28, 28), (36, 36));
        assert_eq!(resized_size(ResizeTo::ShortestEdge(256), 640, 427), (383, 256));
        assert_eq!(resized_size(ResizeTo::Exact { height: 7, width: 9 }, 100, 3), (7, 9));
    }

    #[test]
    fn center_crop_corners_follow_each_library() {
        let image = ramp(5, 4, 1);
        // numpy: a = np.arange(20).reshape(4, 5); transformers crops a[0:3, 1:4] for 3x3 ((4-3)//2 = 0, (5-3)//2 = 1)
        let floor = center_crop(&image, Crop { height: 3, width: 3, rounding: CropRounding::Floor });
        assert_eq!(floor.data, vec![1, 2, 3, 6, 7, 8, 11, 12, 13]);
        // torchvision: top = round(0.5) = 0 (half to even), left = round(1.0) = 1: the same window here
        let round = center_crop(&image, Crop { height: 3, width: 3, rounding: CropRounding::RoundHalfEven });
        assert_eq!(round.data, floor.data);
        // A 2x2 crop of a 1x3 row: transformers pads to 2x3 with the row at top ceil(1/2) = 1, so the
        // window (top (1-2)//2 = -1) keeps the zero row above it.
        let row = Pixels::new(3, 1, 1, vec![10, 20, 30]);
        assert_eq!(center_crop(&row, Crop { height: 2, width: 2, rounding: CropRounding::Floor }).data, vec![0, 0, 10, 20]);
        // torchvision pads floor(1/2) = 0 rows above: the row comes first.
        assert_eq!(center_crop(&row, Crop { height: 2, width: 2, rounding: CropRounding::RoundHalfEven }).data, vec![10, 20, 0, 0]);
    }

    #[test]
    fn floats_are_rescaled_normalised_and_laid_out() {
        let image = Pixels::new(2, 1, 3, vec![0, 51, 255, 255, 102, 0]);
        let steps = Preprocessing {
            channels: 3,
            resize: None,
            crop: None,
            rescale: Some(Rescale::Multiply(1.0 / 255.0)),
            mean: Some(vec![0.5, 0.5, 0.5]),
            std: Some(vec![0.5, 0.25, 0.5]),
            layout: Layout::Nchw,
        };
        let nchw = steps.apply(&image).unwrap();
        // numpy: ((np.array([[0,51,255],[255,102,0]]) * (1/255)).astype(np.float32) - 0.5) / [0.5, 0.25, 0.5], channel first
        let expected = [-1.0f32, 1.0, -1.2, -0.4, 1.0, -1.0];
        for (got, want) in nchw.iter().zip(expected) {
            assert!((got - want).abs() < 1e-6, "{nchw:?}");
        }
        let nhwc = Preprocessing { layout: Layout::Nhwc, ..steps.clone() }.apply(&image).unwrap();
        assert_eq!(nhwc, vec![nchw[0], nchw[2], nchw[4], nchw[1], nchw[3], nchw[5]]);
        let grey = Preprocessing { channels: 1, mean: None, std: None, ..steps }.apply(&image).unwrap();
        // PIL: convert("L") of (0, 51, 255) = 59 and of (255, 102, 0) = 136
        assert_eq!(grey, vec![(59.0f64 / 255.0) as f32, (136.0f64 / 255.0) as f32]);
    }

    #[test]
    fn torchvision_divides_in_float32() {
        let steps = Preprocessing { channels: 1, resize: None, crop: None, rescale: Some(Rescale::Divide(255.0)), mean: None, std: None, layout: Layout::Nchw };
        let out = steps.apply(&Pixels::new(1, 1, 1, vec![77])).unwrap();
        assert_eq!(out, vec![77.0f32 / 255.0f32]);
    }
}
