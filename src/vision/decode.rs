//! Image files to 8-bit pixels, as Hugging Face image processors receive them: decoded, EXIF
//! orientation applied (transformers' `load_image` calls `PIL.ImageOps.exif_transpose`), and
//! converted as Pillow's `convert("RGB")` or `convert("L")` converts.
//!
//! Pillow's conversions, written out: grey is repeated on R, G and B; alpha is dropped, never
//! composited; palette and 1-bit images are expanded (the PNG decoder does it); 16-bit grey
//! (`I;16`) is clipped to 255, not scaled (Pillow's `I16_RGB`); 16-bit colour keeps the high byte
//! (Pillow reads it with raw mode `RGB;16B`); RGB to grey is ITU-R 601-2 luma in Pillow's fixed
//! point, `(19595 R + 38470 G + 7471 B + 0x8000) >> 16`.

use image::{DynamicImage, ImageDecoder, ImageReader};
use std::io::Cursor;
use std::path::Path;

/// An 8-bit image, rows top to bottom, pixels interleaved (`channels` of 1 or 3 per pixel).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub data: Vec<u8>,
}

impl Pixels {
    pub fn new(width: u32, height: u32, channels: u8, data: Vec<u8>) -> Self {
        debug_assert_eq!(data.len(), width as usize * height as usize * channels as usize);
        Self { width, height, channels, data }
    }

    /// Pillow's `convert("L")` of an RGB image (a grey image is returned as it is).
    pub fn to_grey(&self) -> Pixels {
        if self.channels == 1 {
            return self.clone();
        }
        let data =
            self.data.chunks_exact(3).map(|p| ((19595 * u32::from(p[0]) + 38470 * u32::from(p[1]) + 7471 * u32::from(p[2]) + 0x8000) >> 16) as u8).collect();
        Pixels::new(self.width, self.height, 1, data)
    }
}

/// Decodes an image file's bytes to RGB pixels, its orientation applied. The error says what the
/// decoder found wrong; the caller adds the file.
pub fn decode_rgb(bytes: &[u8]) -> Result<Pixels, String> {
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| e.to_string())?;
    if reader.format().is_none() {
        return Err("not an image fidelity can decode (PNG, JPEG, WebP or BMP)".into());
    }
    let mut decoder = reader.into_decoder().map_err(|e| e.to_string())?;
    let orientation = decoder.orientation().map_err(|e| e.to_string())?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|e| e.to_string())?;
    image.apply_orientation(orientation);
    Ok(to_rgb(image))
}

/// Reads and decodes one file.
pub fn read_rgb(path: &Path) -> Result<Pixels, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    decode_rgb(&bytes)
}

fn to_rgb(image: DynamicImage) -> Pixels {
    let (width, height) = (image.width(), image.height());
    let grey = |values: Vec<u8>| Pixels::new(width, height, 3, values.into_iter().flat_map(|v| [v, v, v]).collect());
    match image {
        DynamicImage::ImageLuma8(i) => grey(i.into_raw()),
        DynamicImage::ImageLumaA8(i) => grey(i.into_raw().chunks_exact(2).map(|p| p[0]).collect()),
        DynamicImage::ImageLuma16(i) => grey(i.into_raw().into_iter().map(|v| v.min(255) as u8).collect()),
        DynamicImage::ImageLumaA16(i) => grey(i.into_raw().chunks_exact(2).map(|p| p[0].min(255) as u8).collect()),
        DynamicImage::ImageRgb8(i) => Pixels::new(width, height, 3, i.into_raw()),
        DynamicImage::ImageRgba8(i) => Pixels::new(width, height, 3, i.into_raw().chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect()),
        DynamicImage::ImageRgb16(i) => Pixels::new(width, height, 3, i.into_raw().into_iter().map(|v| (v >> 8) as u8).collect()),
        DynamicImage::ImageRgba16(i) => {
            Pixels::new(width, height, 3, i.into_raw().chunks_exact(4).flat_map(|p| [(p[0] >> 8) as u8, (p[1] >> 8) as u8, (p[2] >> 8) as u8]).collect())
        }
        // Float images (no enabled decoder makes them today): clipped to [0, 1], then to 8 bits.
        other => Pixels::new(width, height, 3, other.to_rgb32f().into_raw().into_iter().map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect()),
    }
}

/// Encodes RGB or grey pixels as a PNG file (adversarial and corrupted images written out).
pub fn write_png(pixels: &Pixels, path: &Path) -> Result<(), String> {
    let color = if pixels.channels == 1 { image::ExtendedColorType::L8 } else { image::ExtendedColorType::Rgb8 };
    image::save_buffer_with_format(path, &pixels.data, pixels.width, pixels.height, color, image::ImageFormat::Png).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(image: DynamicImage) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, image::ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn grey_alpha_and_sixteen_bits_convert_as_pillow_does() {
        let grey = image::GrayImage::from_raw(2, 1, vec![7, 200]).unwrap();
        assert_eq!(decode_rgb(&png(grey.into())).unwrap().data, vec![7, 7, 7, 200, 200, 200]);
        let rgba = image::RgbaImage::from_raw(1, 1, vec![10, 20, 30, 0]).unwrap();
        assert_eq!(decode_rgb(&png(rgba.into())).unwrap().data, vec![10, 20, 30], "alpha dropped, not composited");
        let deep = image::ImageBuffer::<image::Luma<u16>, _>::from_raw(2, 1, vec![100u16, 40000]).unwrap();
        assert_eq!(decode_rgb(&png(DynamicImage::ImageLuma16(deep))).unwrap().data, vec![100, 100, 100, 255, 255, 255], "I;16 clips");
    }

    #[test]
    fn grey_is_pillows_fixed_point_luma() {
        // PIL: Image.new("RGB", (3, 1)) with (255, 0, 0), (0, 255, 0), (12, 200, 99) -> convert("L") = [76, 150, 132]
        let p = Pixels::new(3, 1, 3, vec![255, 0, 0, 0, 255, 0, 12, 200, 99]);
        assert_eq!(p.to_grey().data, vec![76, 150, 132]);
    }

    #[test]
    fn what_is_not_an_image_says_so() {
        let err = decode_rgb(b"label,text\n1,hello\n").unwrap_err();
        assert!(err.contains("not an image"), "{err}");
        assert!(decode_rgb(&png(image::GrayImage::new(3, 3).into())[..30]).is_err());
    }
}
