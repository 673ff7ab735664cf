//! Where a model's preprocessing comes from: `preprocessor_config.json` beside it (a Hugging Face
//! image processor), timm's `pretrained_cfg` in the `config.json` beside it, or flags, which
//! override what the files say for every model.

use super::preprocess::{Crop, CropRounding, Filter, Layout, Preprocessing, Rescale, Resize, ResizeTo};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The preprocessing flags (`--image-size`, `--resize-shortest`, `--crop`, `--resample`, `--mean`,
/// `--std`, `--layout`, `--channels`); each one set replaces that step for every model.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageFlags {
    pub size: Option<(u32, u32)>,
    pub resize_shortest: Option<u32>,
    pub crop: Option<(u32, u32)>,
    pub resample: Option<Filter>,
    pub mean: Option<Vec<f32>>,
    pub std: Option<Vec<f32>>,
    pub layout: Option<Layout>,
    pub channels: Option<u8>,
}

impl ImageFlags {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A model's preprocessing and where it was read.
#[derive(Debug, Clone, PartialEq)]
pub struct ResolvedPreprocessing {
    pub steps: Preprocessing,
    /// "preprocessor_config.json (ViTImageProcessor)", "config.json pretrained_cfg (timm)", "flags"
    /// and, when flags changed a file's steps, " + flags".
    pub source: String,
    pub file: Option<PathBuf>,
}

/// The preprocessing of the model at `model` (its folder's `preprocessor_config.json`, else a timm
/// `config.json`), with `flags` applied. `Ok(None)`: no file and no flags.
pub fn resolve(model: &Path, flags: &ImageFlags) -> Result<Option<ResolvedPreprocessing>, String> {
    let dir = model.parent().unwrap_or(Path::new("."));
    let hf = dir.join("preprocessor_config.json");
    let timm = dir.join("config.json");
    let from_file = if hf.is_file() {
        let json = read_json(&hf)?;
        let kind = json.get("image_processor_type").and_then(Value::as_str).unwrap_or("image processor").to_string();
        Some((hugging_face(&json).map_err(|e| format!("{}: {e}", hf.display()))?, format!("preprocessor_config.json ({kind})"), hf))
    } else if timm.is_file() {
        let json = read_json(&timm)?;
        match json.get("pretrained_cfg") {
            Some(cfg) => {
                Some((timm_cfg(cfg).map_err(|e| format!("{}: pretrained_cfg: {e}", timm.display()))?, "config.json pretrained_cfg (timm)".to_string(), timm))
            }
            None => None,
        }
    } else {
        None
    };
    let resolved = match from_file {
        Some((steps, source, file)) if flags.is_empty() => ResolvedPreprocessing { steps, source, file: Some(file) },
        Some((steps, source, file)) => ResolvedPreprocessing { steps: apply_flags(steps, flags), source: format!("{source} + flags"), file: Some(file) },
        None if flags.is_empty() => return Ok(None),
        None => {
            let bare = Preprocessing {
                channels: 3,
                resize: None,
                crop: None,
                rescale: Some(Rescale::Multiply(1.0 / 255.0)),
                mean: None,
                std: None,
                layout: Layout::Nchw,
            };
            ResolvedPreprocessing { steps: apply_flags(bare, flags), source: "flags".into(), file: None }
        }
    };
    check(&resolved.steps)?;
    Ok(Some(resolved))
}

fn read_json(path: &Path) -> Result<Value, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is not valid JSON: {e}", path.display()))
}

fn apply_flags(mut steps: Preprocessing, flags: &ImageFlags) -> Preprocessing {
    let filter = flags.resample.or(steps.resize.map(|r| r.filter)).unwrap_or(Filter::Bilinear);
    if let Some((height, width)) = flags.size {
        steps.resize = Some(Resize { to: ResizeTo::Exact { height, width }, filter });
    } else if let Some(s) = flags.resize_shortest {
        steps.resize = Some(Resize { to: ResizeTo::ShortestEdge(s), filter });
    } else if let Some(r) = &mut steps.resize {
        r.filter = filter;
    }
    if let Some((height, width)) = flags.crop {
        steps.crop = Some(Crop { height, width, rounding: steps.crop.map_or(CropRounding::Floor, |c| c.rounding) });
    }
    if flags.mean.is_some() {
        steps.mean = flags.mean.clone();
    }
    if flags.std.is_some() {
        steps.std = flags.std.clone();
    }
    steps.layout = flags.layout.unwrap_or(steps.layout);
    steps.channels = flags.channels.unwrap_or(steps.channels);
    steps
}

/// Steps that cannot run: zero sizes, a mean or std of the wrong length, a zero std.
fn check(steps: &Preprocessing) -> Result<(), String> {
    let c = steps.channels as usize;
    if c != 1 && c != 3 {
        return Err(format!("images have 1 (grey) or 3 (RGB) channels, not {c}"));
    }
    for (name, values) in [("mean", &steps.mean), ("std", &steps.std)] {
        if let Some(v) = values {
            if v.len() != c && v.len() != 1 {
                return Err(format!("the {name} has {} values for {c} channels: give one per channel", v.len()));
            }
        }
    }
    if steps.std.as_ref().is_some_and(|s| s.iter().any(|&x| x == 0.0 || !x.is_finite())) {
        return Err("a std of 0 (or not finite) divides by zero: every std must be positive".into());
    }
    let zero = match (steps.resize, steps.crop) {
        (Some(Resize { to: ResizeTo::Exact { height: 0, .. } | ResizeTo::Exact { width: 0, .. } | ResizeTo::ShortestEdge(0), .. }), _) => true,
        (_, Some(c)) => c.height == 0 || c.width == 0,
        _ => false,
    };
    if zero {
        return Err("a resize or crop of size 0 leaves no pixels".into());
    }
    Ok(())
}

/// Processors whose `resample` default is bicubic (the rest default to bilinear).
const BICUBIC_BY_DEFAULT: [&str; 5] = ["CLIPImageProcessor", "DeiTImageProcessor", "BeitImageProcessor", "BitImageProcessor", "SiglipImageProcessor"];

/// A Hugging Face image processor's configuration, read as the slow (Pillow) processors apply it.
pub fn hugging_face(json: &Value) -> Result<Preprocessing, String> {
    let kind = json.get("image_processor_type").and_then(Value::as_str).unwrap_or("");
    let flag = |key: &str, default: bool| json.get(key).and_then(Value::as_bool).unwrap_or(default);
    let filter = match json.get("resample") {
        Some(v) => {
            let code = v.as_i64().ok_or_else(|| format!("resample is {v}, not one of Pillow's filter numbers 0-5"))?;
            Filter::from_pillow(code)
                .ok_or_else(|| format!("resample {code} is not one of Pillow's filters (0 nearest, 1 lanczos, 2 bilinear, 3 bicubic, 4 box, 5 hamming)"))?
        }
        None if BICUBIC_BY_DEFAULT.contains(&kind) => Filter::Bicubic,
        None => Filter::Bilinear,
    };
    let do_crop = flag("do_center_crop", false);
    let mut resize = None;
    let mut crop = None;
    if flag("do_resize", true) {
        let size = json.get("size").ok_or("do_resize is on but there is no size")?;
        let to = match size {
            Value::Number(n) => {
                let s = whole(n.as_u64(), "size")?;
                // Old configs: an int is the shortest edge when a crop follows (CLIP), else a square.
                if do_crop {
                    ResizeTo::ShortestEdge(s)
                } else {
                    ResizeTo::Exact { height: s, width: s }
                }
            }
            Value::Object(o) if o.contains_key("longest_edge") => {
                return Err("size with longest_edge (DETR-style aspect-preserving resize) is not supported; pass --image-size H,W".into())
            }
            Value::Object(o) if o.contains_key("shortest_edge") => ResizeTo::ShortestEdge(whole(o["shortest_edge"].as_u64(), "size.shortest_edge")?),
            Value::Object(o) => ResizeTo::Exact {
                height: whole(o.get("height").and_then(Value::as_u64), "size.height")?,
                width: whole(o.get("width").and_then(Value::as_u64), "size.width")?,
            },
            other => return Err(format!("size is {other}: expected {{\"height\": H, \"width\": W}} or {{\"shortest_edge\": S}}")),
        };
        // ConvNeXT's processor: below 384, resize the short side to shortest_edge / crop_pct, then crop.
        if let (Some(pct), ResizeTo::ShortestEdge(s)) = (json.get("crop_pct").and_then(Value::as_f64).filter(|_| kind == "ConvNextImageProcessor"), to) {
            if s < 384 {
                resize = Some(Resize { to: ResizeTo::ShortestEdge((f64::from(s) / pct) as u32), filter });
                crop = Some(Crop { height: s, width: s, rounding: CropRounding::Floor });
            } else {
                resize = Some(Resize { to: ResizeTo::Exact { height: s, width: s }, filter });
            }
        } else {
            resize = Some(Resize { to, filter });
        }
    }
    if do_crop && crop.is_none() {
        let size = json.get("crop_size").ok_or("do_center_crop is on but there is no crop_size")?;
        let (height, width) = match size {
            Value::Number(n) => {
                let s = whole(n.as_u64(), "crop_size")?;
                (s, s)
            }
            Value::Object(o) => {
                (whole(o.get("height").and_then(Value::as_u64), "crop_size.height")?, whole(o.get("width").and_then(Value::as_u64), "crop_size.width")?)
            }
            other => return Err(format!("crop_size is {other}: expected {{\"height\": H, \"width\": W}}")),
        };
        crop = Some(Crop { height, width, rounding: CropRounding::Floor });
    }
    let rescale = flag("do_rescale", true).then(|| Rescale::Multiply(json.get("rescale_factor").and_then(Value::as_f64).unwrap_or(1.0 / 255.0)));
    let (mean, std) = if flag("do_normalize", true) {
        (Some(floats(json.get("image_mean"), "image_mean")?), Some(floats(json.get("image_std"), "image_std")?))
    } else {
        (None, None)
    };
    let channels = if flag("do_convert_grayscale", false) { 1 } else { 3 };
    Ok(Preprocessing { channels, resize, crop, rescale, mean, std, layout: Layout::Nchw })
}

/// timm's eval transform from a `pretrained_cfg`: resize the short side to
/// `floor(size / crop_pct)`, center crop to `input_size`, `/ 255`, normalise.
pub fn timm_cfg(cfg: &Value) -> Result<Preprocessing, String> {
    let size: Vec<u64> = cfg.get("input_size").and_then(Value::as_array).map(|a| a.iter().filter_map(Value::as_u64).collect()).unwrap_or_default();
    let [channels, height, width] = size[..] else { return Err("input_size should be [channels, height, width]".into()) };
    let filter = match cfg.get("interpolation").and_then(Value::as_str) {
        Some(name) => Filter::from_name(name)
            .ok_or_else(|| format!("interpolation '{name}' is not one fidelity knows (bilinear, bicubic, nearest, lanczos, box, hamming)"))?,
        None => Filter::Bilinear,
    };
    if let Some(mode) = cfg.get("crop_mode").and_then(Value::as_str).filter(|m| *m != "center") {
        return Err(format!("crop_mode '{mode}' is not supported (only 'center'); pass --image-size and --crop"));
    }
    let pct = cfg.get("crop_pct").and_then(Value::as_f64).unwrap_or(0.875);
    let (height, width) = (height as u32, width as u32);
    if height != width {
        // timm resizes a non-square target keeping the ratio (ResizeKeepRatio), not written out here.
        return Err(format!("input_size {height}×{width} is not square; pass --resize-shortest and --crop H,W (or --image-size H,W) for this model"));
    }
    let resize = ResizeTo::ShortestEdge((f64::from(height) / pct).floor() as u32);
    Ok(Preprocessing {
        channels: channels as u8,
        resize: Some(Resize { to: resize, filter }),
        crop: Some(Crop { height, width, rounding: CropRounding::RoundHalfEven }),
        rescale: Some(Rescale::Divide(255.0)),
        mean: Some(floats(cfg.get("mean"), "mean")?),
        std: Some(floats(cfg.get("std"), "std")?),
        layout: Layout::Nchw,
    })
}

fn whole(v: Option<u64>, key: &str) -> Result<u32, String> {
    v.and_then(|v| u32::try_from(v).ok()).ok_or_else(|| format!("{key} should be a whole number of pixels"))
}

fn floats(v: Option<&Value>, key: &str) -> Result<Vec<f32>, String> {
    match v {
        Some(Value::Array(a)) => a.iter().map(|x| x.as_f64().map(|x| x as f32).ok_or_else(|| format!("{key} holds {x}, not a number"))).collect(),
        Some(Value::Number(n)) => Ok(vec![n.as_f64().unwrap_or(0.0) as f32]),
        Some(other) => Err(format!("{key} is {other}: expected a list of numbers, one per channel")),
        None => Err(format!("normalisation is on but there is no {key}: add it, or set do_normalize to false")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_clip_style_processor_resizes_the_short_side_then_crops() {
        let steps = hugging_face(&json!({
            "image_processor_type": "CLIPImageProcessor", "do_resize": true, "size": {"shortest_edge": 224},
            "do_center_crop": true, "crop_size": {"height": 224, "width": 224}, "do_normalize": true,
            "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711]
        }))
        .unwrap();
        assert_eq!(steps.resize, Some(Resize { to: ResizeTo::ShortestEdge(224), filter: Filter::Bicubic }), "CLIP defaults to bicubic");
        assert_eq!(steps.crop, Some(Crop { height: 224, width: 224, rounding: CropRounding::Floor }));
        assert_eq!(steps.rescale, Some(Rescale::Multiply(1.0 / 255.0)));
        assert_eq!(steps.mean.as_deref(), Some(&[0.48145466f32, 0.4578275, 0.40821073][..]));
    }

    #[test]
    fn convnext_crop_pct_and_vit_squares() {
        let convnext = hugging_face(&json!({"image_processor_type": "ConvNextImageProcessor", "size": {"shortest_edge": 224}, "crop_pct": 0.875, "resample": 3, "image_mean": [0.5], "image_std": [0.5]})).unwrap();
        // transformers: int(224 / 0.875) = 256, then a 224 center crop
        assert_eq!(convnext.resize.unwrap().to, ResizeTo::ShortestEdge(256));
        assert_eq!(convnext.crop.map(|c| (c.height, c.width)), Some((224, 224)));
        let vit = hugging_face(&json!({"size": 224, "do_normalize": false, "resample": 2})).unwrap();
        assert_eq!(vit.resize.unwrap().to, ResizeTo::Exact { height: 224, width: 224 });
        assert!(vit.mean.is_none() && vit.crop.is_none());
    }

    #[test]
    fn timm_resizes_to_size_over_crop_pct_and_rounds_the_crop() {
        let steps = timm_cfg(
            &json!({"input_size": [3, 224, 224], "interpolation": "bicubic", "crop_pct": 0.9, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}),
        )
        .unwrap();
        // timm: math.floor(224 / 0.9) = 248
        assert_eq!(steps.resize, Some(Resize { to: ResizeTo::ShortestEdge(248), filter: Filter::Bicubic }));
        assert_eq!(steps.crop.unwrap().rounding, CropRounding::RoundHalfEven);
        assert_eq!(steps.rescale, Some(Rescale::Divide(255.0)));
    }

    #[test]
    fn broken_configs_say_what_to_fix() {
        let err = hugging_face(&json!({"size": {"shortest_edge": 224, "longest_edge": 1333}})).unwrap_err();
        assert!(err.contains("--image-size"), "{err}");
        let err = hugging_face(&json!({"size": 224, "resample": 9})).unwrap_err();
        assert!(err.contains("resample 9"), "{err}");
        let err = hugging_face(&json!({"size": 224})).unwrap_err();
        assert!(err.contains("image_mean"), "{err}");
        let err = timm_cfg(&json!({"input_size": [3, 224, 256], "mean": [0.5], "std": [0.5]})).unwrap_err();
        assert!(err.contains("not square") && err.contains("--crop"), "{err}");
        let steps = Preprocessing { channels: 3, resize: None, crop: None, rescale: None, mean: Some(vec![0.5, 0.5]), std: None, layout: Layout::Nchw };
        assert!(check(&steps).unwrap_err().contains("2 values for 3 channels"));
    }

    #[test]
    fn flags_replace_steps_and_stand_alone() {
        let dir = tempfile::tempdir().unwrap();
        let model = dir.path().join("model.onnx");
        assert_eq!(resolve(&model, &ImageFlags::default()).unwrap(), None, "nothing to go on");
        let flags = ImageFlags { size: Some((32, 32)), mean: Some(vec![0.5]), std: Some(vec![0.25]), ..Default::default() };
        let alone = resolve(&model, &flags).unwrap().unwrap();
        assert_eq!(alone.source, "flags");
        assert_eq!(alone.steps.resize, Some(Resize { to: ResizeTo::Exact { height: 32, width: 32 }, filter: Filter::Bilinear }));
        std::fs::write(
            dir.path().join("preprocessor_config.json"),
            r#"{"size": {"height": 64, "width": 64}, "resample": 3, "image_mean": [0.1, 0.2, 0.3], "image_std": [1, 1, 1]}"#,
        )
        .unwrap();
        let over = resolve(&model, &ImageFlags { crop: Some((48, 48)), ..Default::default() }).unwrap().unwrap();
        assert!(over.source.ends_with("+ flags"), "{}", over.source);
        assert_eq!(over.steps.resize.unwrap().filter, Filter::Bicubic, "a flag changes only its own step");
        assert_eq!(over.steps.crop.map(|c| c.height), Some(48));
    }
}
