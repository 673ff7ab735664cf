//! Batches in file order, built on demand so a pass never holds more than one padded batch.

use crate::data::tensors::TensorData;
use crate::data::text::{text_batch, EncodedTexts};
use crate::data::Batch;
use std::ops::Range;

/// Anything that yields the model inputs for a range of examples.
pub trait BatchSource: Sync {
    /// Number of examples.
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Inputs for examples `range` (padded as the source's policy says).
    fn batch(&self, range: Range<usize>) -> Batch;
}

impl BatchSource for EncodedTexts {
    fn len(&self) -> usize {
        self.items.len()
    }

    fn batch(&self, range: Range<usize>) -> Batch {
        text_batch(&self.items[range], self.pad_id)
    }
}

impl BatchSource for TensorData {
    fn len(&self) -> usize {
        self.n
    }

    fn batch(&self, range: Range<usize>) -> Batch {
        TensorData::batch(self, range)
    }
}

/// Consecutive ranges of `batch_size` (the last one shorter) covering `0..len`.
pub fn batch_ranges(len: usize, batch_size: usize) -> impl Iterator<Item = Range<usize>> {
    let size = batch_size.max(1);
    (0..len).step_by(size).map(move |start| start..(start + size).min(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_everything_once() {
        let r: Vec<_> = batch_ranges(70, 32).collect();
        assert_eq!(r, vec![0..32, 32..64, 64..70]);
        assert_eq!(batch_ranges(0, 8).count(), 0);
        assert_eq!(batch_ranges(3, 1).count(), 3);
    }
}
