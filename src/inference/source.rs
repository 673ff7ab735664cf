//! Where batches come from, and how examples are grouped into them.
//!
//! A [`BatchSource`] builds the inputs for any set of examples on demand, so a pass never holds more
//! than one padded batch. A [`BatchPlan`] says which examples share a batch: consecutive examples in
//! file order (the default, and what golden values use), or examples sorted by length (less padding,
//! faster; used only for models whose outputs do not depend on their batch).

use crate::data::tensors::TensorData;
use crate::data::text::{text_batch_of, EncodedTexts};
use crate::data::Batch;
use serde::Serialize;

/// Anything that yields the model inputs for a set of examples.
pub trait BatchSource: Sync {
    /// Number of examples.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Inputs for the examples `indices`, in that order (padded as the source's policy says).
    fn batch_of(&self, indices: &[usize]) -> Batch;
    /// Length of example `i` in tokens (0 for fixed-shape tensors): what length sorting sorts by.
    fn length(&self, i: usize) -> usize;
}

impl BatchSource for EncodedTexts {
    fn len(&self) -> usize {
        self.items.len()
    }

    fn batch_of(&self, indices: &[usize]) -> Batch {
        text_batch_of(&self.items, indices, self.pad_id)
    }

    fn length(&self, i: usize) -> usize {
        self.items[i].ids.len()
    }
}

impl BatchSource for TensorData {
    fn len(&self) -> usize {
        self.n
    }

    fn batch_of(&self, indices: &[usize]) -> Batch {
        TensorData::batch_of(self, indices)
    }

    fn length(&self, _: usize) -> usize {
        0
    }
}

/// How examples are ordered into batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum BatchOrder {
    /// Consecutive examples in file order.
    File,
    /// Examples sorted by length (ties in file order), so each batch pads little. A streamed
    /// comparison sorts within each chunk.
    LengthSorted,
}

/// Which examples go together, batch by batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchPlan {
    pub batch_size: usize,
    pub order: BatchOrder,
    pub batches: Vec<Vec<usize>>,
}

impl BatchPlan {
    pub fn new(source: &dyn BatchSource, batch_size: usize, order: BatchOrder) -> Self {
        let size = batch_size.max(1);
        let mut indices: Vec<usize> = (0..source.len()).collect();
        if order == BatchOrder::LengthSorted {
            indices.sort_by_key(|&i| (source.length(i), i));
        }
        let batches = indices.chunks(size).map(<[usize]>::to_vec).collect();
        Self { batch_size: size, order, batches }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::text::EncodedText;

    fn texts(lengths: &[usize]) -> EncodedTexts {
        EncodedTexts {
            items: lengths.iter().map(|&l| EncodedText { ids: vec![1; l], type_ids: vec![0; l] }).collect(),
            truncated: 0,
            empty: 0,
            pad_id: 0,
            max_length: 16,
        }
    }

    #[test]
    fn file_order_covers_everything_once_in_order() {
        let plan = BatchPlan::new(&texts(&[1; 70]), 32, BatchOrder::File);
        assert_eq!(plan.batches.iter().map(Vec::len).collect::<Vec<_>>(), vec![32, 32, 6]);
        assert_eq!(plan.batches.concat(), (0..70).collect::<Vec<_>>());
        assert!(BatchPlan::new(&texts(&[]), 8, BatchOrder::File).batches.is_empty());
    }

    #[test]
    fn length_sorting_groups_similar_lengths() {
        let plan = BatchPlan::new(&texts(&[5, 1, 4, 1, 2]), 2, BatchOrder::LengthSorted);
        assert_eq!(plan.batches, vec![vec![1, 3], vec![4, 2], vec![0]]);
    }
}
