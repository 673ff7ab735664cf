//! Image data: whether the data are images, and each model's preprocessing (its own
//! `preprocessor_config.json` or timm `config.json`, the teacher's when it has none, the flags
//! over both).

use super::{AttackSettings, ModelSource, PlanError};
use crate::cli::ImageArgs;
use crate::data::DataFormat;
use crate::suite::SuiteData;
use crate::vision::config::{resolve, ImageFlags, ResolvedPreprocessing};
use crate::vision::preprocess::Filter;
use crate::vision::ImagePlan;
use std::path::Path;

/// The preprocessing flags, from the command line or else the suite's `[data]`.
pub(super) fn flags(args: &ImageArgs, s: &SuiteData) -> Result<ImageFlags, PlanError> {
    let pick = |flag: &Vec<u32>, suite: &Vec<u32>| if flag.is_empty() { suite.clone() } else { flag.clone() };
    let size = |values: Vec<u32>, name: &str| -> Result<Option<(u32, u32)>, PlanError> {
        match values[..] {
            [] => Ok(None),
            [s] => Ok(Some((s, s))),
            [h, w] => Ok(Some((h, w))),
            _ => Err(PlanError::Images(format!("{name} takes H,W or one number, got {} values", values.len()))),
        }
    };
    let resample = match args.resample.clone().or(s.resample.clone()) {
        Some(name) => Some(
            Filter::from_name(&name)
                .ok_or_else(|| PlanError::Images(format!("--resample {name}: not a filter; use nearest, bilinear, bicubic, lanczos, box or hamming")))?,
        ),
        None => None,
    };
    let floats = |flag: &Vec<f32>, suite: &Vec<f32>| Some(if flag.is_empty() { suite.clone() } else { flag.clone() }).filter(|v| !v.is_empty());
    Ok(ImageFlags {
        size: size(pick(&args.image_size, &s.image_size), "--image-size")?,
        resize_shortest: args.resize_shortest.or(s.resize_shortest),
        crop: size(pick(&args.crop, &s.crop), "--crop")?,
        resample,
        mean: floats(&args.mean, &s.mean),
        std: floats(&args.std, &s.std),
        layout: args.layout.or(s.layout),
        channels: args.channels.or(s.channels),
    })
}

/// The image column, when the data are an image manifest: named by a flag or the suite, or
/// `image` when the teacher has an image preprocessing file and no tokenizer beside it.
pub(super) fn manifest_column(args: &ImageArgs, s: &SuiteData, teacher: &ModelSource, format: DataFormat, has_tokenizer: bool) -> Option<String> {
    if let Some(c) = args.image_column.clone().or(s.image_column.clone()) {
        return Some(c);
    }
    let beside = |f: &str| teacher.path.parent().unwrap_or(Path::new(".")).join(f).is_file();
    let image_model = beside("preprocessor_config.json") && !has_tokenizer && !beside("tokenizer.json");
    (image_model && matches!(format, DataFormat::Csv | DataFormat::Jsonl | DataFormat::Parquet)).then(|| "image".to_string())
}

/// Every model's preprocessing, teacher first. A student with no file of its own reads the
/// teacher's; a teacher with none needs the flags.
pub(super) fn plan(data: &Path, format: DataFormat, teacher: &ModelSource, students: &[ModelSource], flags: &ImageFlags) -> Result<ImagePlan, PlanError> {
    let base = if format == DataFormat::ImageFolder { data.to_path_buf() } else { data.parent().unwrap_or(Path::new(".")).to_path_buf() };
    let of = |m: &ModelSource| resolve(&m.path, flags).map_err(|e| PlanError::Images(format!("model {}: {e}", m.name)));
    let teacher_steps = of(teacher)?.ok_or_else(|| {
        PlanError::Images(format!(
            "model {}: no preprocessor_config.json (or timm config.json with pretrained_cfg) beside {}, so fidelity cannot know how its images were preprocessed: \
             add that file, or pass --image-size H,W (or --resize-shortest N --crop H,W), --mean and --std",
            teacher.name,
            teacher.path.display()
        ))
    })?;
    let mut models = vec![(teacher.name.clone(), teacher_steps.clone())];
    for s in students {
        let own = match of(s)? {
            Some(own) => own,
            None => ResolvedPreprocessing { source: format!("the teacher's ({}): none beside this model", teacher_steps.source), ..teacher_steps.clone() },
        };
        models.push((s.name.clone(), own));
    }
    Ok(ImagePlan::new(base, models))
}

/// Image files are attacked in pixels: ε defaults to 8 levels of 255 (`given`: the user set it)
/// and must reach one level.
pub(super) fn attack_in_pixels(attack: &mut AttackSettings, given: bool) -> Result<(), PlanError> {
    if !given {
        attack.epsilon = 8.0 / 255.0;
    }
    if attack.epsilon * 255.0 < 1.0 {
        return Err(PlanError::Attack(format!(
            "--attack-epsilon {}: image files are attacked in whole 8-bit levels, and this is less than one (1/255 ≈ 0.0039); pass at least 0.004, e.g. 0.0314 for 8 levels",
            attack.epsilon
        )));
    }
    Ok(())
}
