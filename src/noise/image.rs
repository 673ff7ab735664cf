//! Image corruptions of Hendrycks & Dietterich 2019 (ImageNet-C), applied to 8-bit pixels before
//! each model's preprocessing, at severities 1-5 with the constants of their `make_imagenet_c.py`:
//!
//! | corruption | severity 1 … 5 | on x in [0, 1] |
//! |---|---|---|
//! | gaussian_noise | σ = .08 .12 .18 .26 .38 | x + N(0, σ²) |
//! | shot_noise | λ = 60 25 12 5 3 | Poisson(x·λ) / λ |
//! | gaussian_blur | σ = 1 2 3 4 6 pixels | scipy's `gaussian_filter` (truncate 4, edges repeated), per channel |
//! | brightness | +.1 .2 .3 .4 .5 | HSV value raised, clipped to 1 (hue and saturation kept) |
//! | contrast | c = .4 .3 .2 .1 .05 | (x − channel mean)·c + channel mean |
//! | jpeg_compression | quality 25 18 15 10 7 | encoded and decoded again |
//! | pixelate | c = .6 .5 .4 .3 .25 | box-resized to int(c·size), then back (Pillow's BOX) |
//!
//! Results are clipped to [0, 1] and stored as `np.uint8(x · 255)` does (truncated), as the
//! ImageNet-C images were. Random draws come from each example's own stream, so every model sees
//! the same corrupted image. The JPEG encoder is the `image` crate's, not libjpeg: the same
//! quality gives similar, not identical, artefacts to Pillow's.

use crate::stats::rng::Rng;
use crate::vision::preprocess::Filter;
use crate::vision::resample::resize;
use crate::vision::Pixels;
use rand_distr::{Distribution, Poisson, StandardNormal};

/// The corruptions, by ImageNet-C's names.
pub const CORRUPTIONS: [&str; 7] = ["gaussian_noise", "shot_noise", "gaussian_blur", "brightness", "contrast", "jpeg_compression", "pixelate"];

fn constant(name: &str, severity: usize) -> f64 {
    let table: [f64; 5] = match name {
        "gaussian_noise" => [0.08, 0.12, 0.18, 0.26, 0.38],
        "shot_noise" => [60.0, 25.0, 12.0, 5.0, 3.0],
        "gaussian_blur" => [1.0, 2.0, 3.0, 4.0, 6.0],
        "brightness" => [0.1, 0.2, 0.3, 0.4, 0.5],
        "contrast" => [0.4, 0.3, 0.2, 0.1, 0.05],
        "jpeg_compression" => [25.0, 18.0, 15.0, 10.0, 7.0],
        _ => [0.6, 0.5, 0.4, 0.3, 0.25],
    };
    table[severity.clamp(1, 5) - 1]
}

/// `np.uint8(np.clip(x, 0, 1) * 255)`.
fn to_u8(x: f64) -> u8 {
    (x.clamp(0.0, 1.0) * 255.0) as u8
}

/// `image` corrupted by `name` (one of [`CORRUPTIONS`]) at `severity` (1-5).
pub fn corrupt(image: &Pixels, name: &str, severity: usize, rng: &mut Rng) -> Pixels {
    let c = constant(name, severity);
    let map = |f: &mut dyn FnMut(f64) -> f64| {
        Pixels::new(image.width, image.height, image.channels, image.data.iter().map(|&v| to_u8(f(f64::from(v) / 255.0))).collect())
    };
    match name {
        "gaussian_noise" => map(&mut |x| {
            let z: f64 = StandardNormal.sample(rng);
            x + c * z
        }),
        "shot_noise" => map(&mut |x| if x * c > 0.0 { Poisson::new(x * c).map_or(0.0, |p| p.sample(rng)) / c } else { 0.0 }),
        "gaussian_blur" => blur(image, c),
        "brightness" => brightness(image, c),
        "contrast" => {
            let ch = usize::from(image.channels);
            let pixels = (image.data.len() / ch).max(1) as f64;
            let means: Vec<f64> = (0..ch).map(|k| image.data.iter().skip(k).step_by(ch).map(|&v| f64::from(v) / 255.0).sum::<f64>() / pixels).collect();
            let data = image.data.iter().enumerate().map(|(i, &v)| to_u8((f64::from(v) / 255.0 - means[i % ch]) * c + means[i % ch])).collect();
            Pixels::new(image.width, image.height, image.channels, data)
        }
        "jpeg_compression" => jpeg(image, c as u8),
        _ => {
            let (w, h) = (((f64::from(image.width) * c) as u32).max(1), ((f64::from(image.height) * c) as u32).max(1));
            resize(&resize(image, w, h, Filter::Box), image.width, image.height, Filter::Box)
        }
    }
}

/// scipy.ndimage.gaussian_filter(x, sigma=(σ, σ, 0), mode="nearest", truncate=4.0) on [0, 1] values.
fn blur(image: &Pixels, sigma: f64) -> Pixels {
    let radius = (4.0 * sigma + 0.5) as i64;
    let raw: Vec<f64> = (-radius..=radius).map(|x| (-0.5 * (x as f64 / sigma).powi(2)).exp()).collect();
    let total: f64 = raw.iter().sum();
    let kernel: Vec<f64> = raw.iter().map(|k| k / total).collect();
    let (w, h, c) = (image.width as i64, image.height as i64, i64::from(image.channels));
    let at = |x: i64, y: i64, k: i64| ((y.clamp(0, h - 1) * w + x.clamp(0, w - 1)) * c + k) as usize;
    let src: Vec<f64> = image.data.iter().map(|&v| f64::from(v) / 255.0).collect();
    // scipy filters axis 0 (rows) first, then axis 1 (columns).
    let mut rows = vec![0.0; src.len()];
    for y in 0..h {
        for x in 0..w {
            for k in 0..c {
                rows[at(x, y, k)] = kernel.iter().enumerate().map(|(i, &wt)| wt * src[at(x, y + i as i64 - radius, k)]).sum();
            }
        }
    }
    let mut data = vec![0u8; src.len()];
    for y in 0..h {
        for x in 0..w {
            for k in 0..c {
                data[at(x, y, k)] = to_u8(kernel.iter().enumerate().map(|(i, &wt)| wt * rows[at(x + i as i64 - radius, y, k)]).sum());
            }
        }
    }
    Pixels::new(image.width, image.height, image.channels, data)
}

/// skimage's rgb2hsv, value + c clipped to 1, hsv2rgb: with hue and saturation kept, every channel
/// scales by the new value over the old (a black pixel becomes grey at the new value).
fn brightness(image: &Pixels, c: f64) -> Pixels {
    let ch = usize::from(image.channels);
    let mut data = Vec::with_capacity(image.data.len());
    for p in image.data.chunks_exact(ch) {
        let x: Vec<f64> = p.iter().map(|&v| f64::from(v) / 255.0).collect();
        let v = x.iter().copied().fold(0.0, f64::max);
        let raised = (v + c).min(1.0);
        data.extend(x.iter().map(|&xi| to_u8(if v > 0.0 { xi / v * raised } else { raised })));
    }
    Pixels::new(image.width, image.height, image.channels, data)
}

fn jpeg(image: &Pixels, quality: u8) -> Pixels {
    let color = if image.channels == 1 { image::ExtendedColorType::L8 } else { image::ExtendedColorType::Rgb8 };
    let mut bytes = Vec::new();
    let encoded = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality).encode(&image.data, image.width, image.height, color);
    match encoded.map_err(|e| e.to_string()).and_then(|()| crate::vision::decode::decode_rgb(&bytes)) {
        Ok(decoded) if image.channels == 1 => decoded.to_grey(),
        Ok(decoded) => decoded,
        // An image the encoder refuses (zero-sized) is left as it is.
        Err(_) => image.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> Pixels {
        Pixels::new(4, 3, 3, (0..36).map(|i| (i * 7 % 256) as u8).collect())
    }

    #[test]
    fn every_corruption_keeps_the_size_and_is_seeded() {
        for name in CORRUPTIONS {
            for severity in 1..=5 {
                let a = corrupt(&image(), name, severity, &mut Rng::new(3));
                assert_eq!((a.width, a.height, a.channels, a.data.len()), (4, 3, 3, 36), "{name} {severity}");
                assert_eq!(a, corrupt(&image(), name, severity, &mut Rng::new(3)), "{name} {severity}: same stream, same image");
            }
        }
    }

    #[test]
    fn contrast_and_brightness_follow_their_formulas() {
        let grey = Pixels::new(2, 1, 1, vec![0, 255]);
        // mean 0.5; (0 - .5)·.4 + .5 = .3 → uint8(76.5) = 76; (1 - .5)·.4 + .5 = .7 → 178
        assert_eq!(corrupt(&grey, "contrast", 1, &mut Rng::new(0)).data, vec![76, 178]);
        // HSV of [0.2, 0.4, 0.0]: v = 0.4, raised to 0.5 with hue and saturation kept: [0.25, 0.5, 0.0] → uint8 [63, 127, 0]
        let p = Pixels::new(1, 1, 3, vec![51, 102, 0]);
        assert_eq!(corrupt(&p, "brightness", 1, &mut Rng::new(0)).data, vec![63, 127, 0]);
    }

    #[test]
    fn a_blur_of_a_flat_image_is_flat_and_severity_raises_the_damage() {
        let flat = Pixels::new(5, 5, 3, vec![100; 75]);
        let blurred = corrupt(&flat, "gaussian_blur", 3, &mut Rng::new(0)).data;
        assert!(blurred.iter().all(|&v| v == blurred[0] && v.abs_diff(100) <= 1), "{blurred:?}");
        let damage = |s| {
            corrupt(&image(), "gaussian_noise", s, &mut Rng::new(9))
                .data
                .iter()
                .zip(&image().data)
                .map(|(a, b)| (f64::from(*a) - f64::from(*b)).abs())
                .sum::<f64>()
        };
        assert!(damage(5) > damage(1), "{} vs {}", damage(5), damage(1));
    }
}
