//! Text to token ids with a Hugging Face `tokenizer.json`, and encoded texts to padded batches.
//!
//! Conventions (also in the report): special tokens are added as the tokenizer's post-processor says
//! (`[CLS] a [SEP] b [SEP]` for BERT pairs); texts longer than the maximum length are truncated
//! (the tokenizer's own truncation setting if it has one, else `--max-length`) and counted; each
//! batch is padded to its longest item with the tokenizer's pad id (`[PAD]`, else 0), attention
//! mask 0 and token type 0 on padding.

use super::{Batch, Example, InputTensor};
use ndarray::Array2;
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use thiserror::Error;
use tokenizers::tokenizer::{EncodeInput, Tokenizer, TruncationParams};

#[derive(Debug, Error)]
pub enum TextError {
    #[error("cannot load tokenizer {path}: {message}. Pass --tokenizer with the model's tokenizer.json (Hugging Face format)")]
    Load { path: PathBuf, message: String },
    #[error("tokenizer {path} cannot encode {origin}: {message}")]
    Encode { path: PathBuf, origin: String, message: String },
    #[error("tokenizer {path}: --max-length {max_length} leaves no room after the special tokens")]
    MaxLength { path: PathBuf, max_length: usize },
}

/// A tokenized example: ids and token types, unpadded.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodedText {
    pub ids: Vec<u32>,
    pub type_ids: Vec<u32>,
}

/// Encoded examples, in data order.
#[derive(Debug, Clone)]
pub struct EncodedTexts {
    pub items: Vec<EncodedText>,
    /// Examples cut to the maximum length.
    pub truncated: usize,
    /// Examples whose text (and pair) is empty or whitespace: the model sees only special tokens.
    pub empty: usize,
    pub pad_id: u32,
    pub max_length: usize,
}

pub struct TextEncoder {
    tokenizer: Tokenizer,
    path: PathBuf,
    pad_id: u32,
    max_length: usize,
}

impl TextEncoder {
    /// Loads `tokenizer.json`. Its padding setting is dropped (fidelity pads per batch); its
    /// truncation setting is kept, else `default_max_length` applies.
    pub fn from_file(path: &Path, default_max_length: usize) -> Result<Self, TextError> {
        let load = |message: String| TextError::Load { path: path.to_path_buf(), message };
        if !path.is_file() {
            return Err(load("no such file".into()));
        }
        let mut tokenizer = Tokenizer::from_file(path).map_err(|e| load(e.to_string()))?;
        let pad_id = match tokenizer.get_padding() {
            Some(p) => p.pad_id,
            None => tokenizer.token_to_id("[PAD]").or_else(|| tokenizer.token_to_id("<pad>")).unwrap_or(0),
        };
        tokenizer.with_padding(None);
        let max_length = match tokenizer.get_truncation() {
            Some(t) => t.max_length,
            None => {
                let params = TruncationParams { max_length: default_max_length, ..Default::default() };
                tokenizer.with_truncation(Some(params)).map_err(|_| TextError::MaxLength { path: path.to_path_buf(), max_length: default_max_length })?;
                default_max_length
            }
        };
        Ok(Self { tokenizer, path: path.to_path_buf(), pad_id, max_length })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The length texts are cut to (special tokens included).
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// The id padding uses.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// Tokenizes every example (in parallel; order kept).
    pub fn encode(&self, examples: &[Example]) -> Result<EncodedTexts, TextError> {
        let results: Vec<Result<(EncodedText, bool), TextError>> = examples
            .par_iter()
            .map(|ex| {
                let text = ex.text.as_deref().unwrap_or_default();
                let input: EncodeInput = match &ex.text_pair {
                    Some(pair) => (text, pair.as_str()).into(),
                    None => text.into(),
                };
                let enc = self.tokenizer.encode_fast(input, true).map_err(|e| TextError::Encode {
                    path: self.path.clone(),
                    origin: ex.origin.clone(),
                    message: e.to_string(),
                })?;
                let truncated = !enc.get_overflowing().is_empty();
                Ok((EncodedText { ids: enc.get_ids().to_vec(), type_ids: enc.get_type_ids().to_vec() }, truncated))
            })
            .collect();
        let mut items = Vec::with_capacity(results.len());
        let mut truncated = 0;
        for r in results {
            let (item, cut) = r?;
            truncated += usize::from(cut);
            items.push(item);
        }
        let empty =
            examples.iter().filter(|e| e.text.as_deref().unwrap_or("").trim().is_empty() && e.text_pair.as_deref().unwrap_or("").trim().is_empty()).count();
        Ok(EncodedTexts { items, truncated, empty, pad_id: self.pad_id, max_length: self.max_length })
    }
}

/// Pads a run of encoded texts to the longest one and builds the three standard text inputs.
pub fn text_batch(items: &[EncodedText], pad_id: u32) -> Batch {
    let all: Vec<usize> = (0..items.len()).collect();
    text_batch_of(items, &all, pad_id)
}

/// Like [`text_batch`], for the items at `indices`, in that order.
pub fn text_batch_of(all: &[EncodedText], indices: &[usize], pad_id: u32) -> Batch {
    let items: Vec<&EncodedText> = indices.iter().map(|&i| &all[i]).collect();
    let rows = items.len();
    let width = items.iter().map(|e| e.ids.len()).max().unwrap_or(0);
    let mut ids = Array2::from_elem((rows, width), pad_id as i64);
    let mut mask = Array2::zeros((rows, width));
    let mut types = Array2::zeros((rows, width));
    for (r, item) in items.iter().enumerate() {
        for (c, (&id, &ty)) in item.ids.iter().zip(&item.type_ids).enumerate() {
            ids[[r, c]] = id as i64;
            mask[[r, c]] = 1;
            types[[r, c]] = ty as i64;
        }
    }
    Batch {
        rows,
        tensors: vec![
            ("input_ids".into(), InputTensor::Int64(ids)),
            ("attention_mask".into(), InputTensor::Int64(mask)),
            ("token_type_ids".into(), InputTensor::Int64(types)),
        ],
        pad_id: Some(i64::from(pad_id)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pads_to_the_longest_item() {
        let items = vec![EncodedText { ids: vec![2, 7, 3], type_ids: vec![0, 0, 0] }, EncodedText { ids: vec![2, 3], type_ids: vec![0, 1] }];
        let b = text_batch(&items, 0);
        let InputTensor::Int64(ids) = b.get("input_ids").unwrap() else { panic!() };
        let InputTensor::Int64(mask) = b.get("attention_mask").unwrap() else { panic!() };
        let InputTensor::Int64(types) = b.get("token_type_ids").unwrap() else { panic!() };
        assert_eq!(ids.as_slice().unwrap(), &[2, 7, 3, 2, 3, 0]);
        assert_eq!(mask.as_slice().unwrap(), &[1, 1, 1, 1, 1, 0]);
        assert_eq!(types.as_slice().unwrap(), &[0, 0, 0, 0, 1, 0]);
    }
}
