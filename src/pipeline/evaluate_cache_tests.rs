//! The evaluation pass with the output cache: a model found in it runs no inference (counted at
//! the backend), the numbers are those of a run without the cache, and a chunk whose inputs
//! changed is computed again.

use super::evaluate::{evaluate, Batching, ClassChecks, Evaluation};
use super::inputs::{Chunk, Chunks};
use super::CompareError;
use crate::cache::{CacheKey, CacheOutcome, CacheStage, OutputCache};
use crate::inference::invariance::{InvarianceSettings, DEFAULT_TOLERANCE};
use crate::inference::test_models::{texts, BatchScaledModel, CountingModel};
use crate::inference::BatchOrder;
use crate::metrics::LogBase;
use crate::model::Backend;

/// Chunks of token-id rows, labelled by whether they hold more 5s than anything else.
struct Rows(std::collections::VecDeque<Vec<Vec<u32>>>);

impl Chunks for Rows {
    fn next_chunk(&mut self, _max: usize) -> Result<Option<Chunk>, CompareError> {
        let Some(rows) = self.0.pop_front() else { return Ok(None) };
        let ids: Vec<&[u32]> = rows.iter().map(Vec::as_slice).collect();
        let examples = rows
            .iter()
            .enumerate()
            .map(|(i, r)| crate::data::Example {
                origin: format!("line {}", i + 1),
                text: Some(format!("{r:?}")),
                text_pair: None,
                label: Some(usize::from(r.iter().filter(|&&x| x == 5).count() < 1)),
                attributes: vec![],
                features: vec![],
                image: None,
            })
            .collect();
        Ok(Some(Chunk { offset: 0, examples, source: Box::new(texts(&ids)), truncated: 0, empty: 0 }))
    }
}

fn data(changed: bool) -> Rows {
    let first = vec![vec![5], vec![5, 5, 5, 5], vec![5, 5], vec![5, 1]];
    let second = vec![vec![5, 5, 5], vec![1], vec![5, 5, 1], vec![if changed { 1 } else { 5 }]];
    Rows([first, second].into())
}

/// One evaluation of the counting teacher and the batch-dependent student; `cache`: the folder.
fn run(rows: Rows, cache: Option<&std::path::Path>) -> (Evaluation, Vec<usize>, usize) {
    let (mut teacher, mut student) = (CountingModel::new(false), BatchScaledModel::new());
    let batching = Batching {
        batch_size: 2,
        order: BatchOrder::LengthSorted,
        serving_batch_size: 2,
        invariance: InvarianceSettings { sample: 4, seed: 7, tolerance: DEFAULT_TOLERANCE },
        outputs: None,
    };
    let checks = ClassChecks { data_path: std::path::Path::new("rows"), label_names: None, config: None, teacher_name: "counting", allow_many_groups: false };
    let slots = match cache {
        Some(dir) => {
            let cache = OutputCache::open(dir).unwrap();
            ["teacher", "student"].iter().map(|m| Some(cache.slot(CacheKey::new(serde_json::json!({ "model": m })), m, CacheStage::Evaluation))).collect()
        }
        None => vec![],
    };
    let mut rows = rows;
    let evaluation = {
        let mut models: Vec<&mut dyn Backend> = vec![&mut teacher, &mut student];
        evaluate(&mut rows, 4, &mut models, &batching, &[], LogBase::E, &checks, None, slots, &indicatif::ProgressBar::hidden()).unwrap()
    };
    let student_calls = student.predict_calls();
    (evaluation, teacher.calls, student_calls)
}

fn numbers(e: &Evaluation) -> String {
    format!(
        "{:?} {:?} {:?} {:?}",
        e.students[0].metrics.finish(),
        e.teacher.finish(),
        e.models.iter().map(|m| (&m.batching, &m.invariance, m.classes)).collect::<Vec<_>>(),
        e.students[0].samples
    )
}

#[test]
fn a_model_in_the_cache_runs_no_inference_and_gives_the_same_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, ..) = run(data(false), None);
    let (first, teacher_calls, _) = run(data(false), Some(dir.path()));
    assert!(!teacher_calls.is_empty());
    assert!(first.caches.iter().all(|c| c.as_ref().unwrap().outputs == CacheOutcome::Stored));
    let (second, teacher_calls, student_calls) = run(data(false), Some(dir.path()));
    assert_eq!((teacher_calls.len(), student_calls), (0, 0), "neither model ran: both were in the cache");
    for c in &second.caches {
        let c = c.as_ref().unwrap();
        assert_eq!((c.outputs, c.chunks_read, c.chunks), (CacheOutcome::Read, 2, 2));
    }
    assert_eq!(second.models[0].inference_seconds, 0.0);
    assert_eq!(numbers(&second), numbers(&plain));
    assert_eq!(numbers(&first), numbers(&plain));
}

#[test]
fn a_chunk_whose_inputs_changed_is_computed_and_the_entry_refreshed() {
    let dir = tempfile::tempdir().unwrap();
    run(data(false), Some(dir.path()));
    let (plain, ..) = run(data(true), None);
    let (changed, teacher_calls, _) = run(data(true), Some(dir.path()));
    let teacher = changed.caches[0].as_ref().unwrap();
    assert_eq!((teacher.outputs, teacher.chunks_read, teacher.chunks), (CacheOutcome::Refreshed, 1, 2));
    assert!(teacher.note.as_deref().unwrap_or_default().contains("chunk 2"), "{:?}", teacher.note);
    assert_eq!(teacher_calls.iter().sum::<usize>(), 4, "only the second chunk's four rows ran");
    assert_eq!(numbers(&changed), numbers(&plain));
    let (again, teacher_calls, student_calls) = run(data(true), Some(dir.path()));
    assert_eq!((teacher_calls.len(), student_calls), (0, 0), "the refreshed entry serves the changed data");
    assert_eq!(numbers(&again), numbers(&plain));
}

#[test]
fn a_damaged_entry_is_recomputed_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    run(data(false), Some(dir.path()));
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let mut bytes = std::fs::read(&path).unwrap();
        let middle = bytes.len() / 2;
        bytes[middle] ^= 1;
        std::fs::write(&path, bytes).unwrap();
    }
    let (plain, ..) = run(data(false), None);
    let (damaged, teacher_calls, _) = run(data(false), Some(dir.path()));
    assert!(!teacher_calls.is_empty());
    let teacher = damaged.caches[0].as_ref().unwrap();
    assert_eq!(teacher.outputs, CacheOutcome::Refreshed);
    assert!(teacher.note.as_deref().unwrap_or_default().contains("damaged"), "{:?}", teacher.note);
    assert_eq!(numbers(&damaged), numbers(&plain));
}
