//! Attack throughput against plain batched inference, same model, same batch size, one run.
//!
//! Run: `cargo bench --bench attack_throughput` (needs the ONNX Runtime library: it is fetched like
//! for `fidelity compare`). Measures, batch size 32, on the tweets fixture teacher and on the real
//! MiniLM-L6 teacher (fixtures/minilm/, built by scripts/make_minilm.sh; skipped when absent):
//! - plain inference: tokenize + run every test example in batches of 32 (rows per second), and the
//!   ONNX Runtime part alone on pre-tokenized batches;
//! - the text attack (300 tweets examples; 20 MiniLM ones, whose model is ~1,000x costlier),
//!   `attack_batch` with 32 rows per call: queries per second, where a query is one row sent to the
//!   model (counted by a wrapper around the production adapter).
//!
//! Each figure is the median of the rounds (5 tweets, 3 MiniLM), taken alternately; the ratio is
//! attack / plain.

use fidelity::attack::{SynonymTable, TextAttack, TextAttackSettings, TextClassifier, TextExample, TextInput};
use fidelity::data::text::{text_batch, TextEncoder};
use fidelity::data::LabelNames;
use fidelity::data::{read_dataset, Columns, DataFormat};
use fidelity::metrics::OutputKind;
use fidelity::model::{Backend, OnnxBackend, Runtime};
use fidelity::pipeline::attack::TextModel;
use std::path::Path;
use std::time::Instant;

struct Counting<'a> {
    inner: TextModel<'a>,
    rows: usize,
}

impl TextClassifier for Counting<'_> {
    fn classify(&mut self, inputs: &[TextInput]) -> Result<Vec<Vec<f64>>, fidelity::attack::AttackError> {
        self.rows += inputs.len();
        self.inner.classify(inputs)
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let runtime = Runtime::load(None, None).expect("ONNX Runtime loads");
    measure(&runtime, "tweets teacher", &root.join("tweets"), 300, 5);
    let minilm = root.join("minilm");
    if minilm.join("teacher.onnx").is_file() {
        measure(&runtime, "MiniLM-L6 teacher", &minilm, 20, 3);
    } else {
        println!("MiniLM: skipped (fixtures/minilm/ is not built: scripts/make_minilm.sh)");
    }
}

/// Plain batched inference, ONNX Runtime alone and the attack, alternately, on `folder`'s
/// teacher.onnx and test.jsonl; prints the medians and the ratio.
fn measure(runtime: &Runtime, name: &str, folder: &Path, attacked_examples: usize, rounds: usize) {
    let mut model =
        OnnxBackend::load(runtime, "teacher", &folder.join("teacher.onnx"), &fidelity::model::session::SessionSettings::default()).expect("model loads");
    let labels = LabelNames::from_config(&folder.join("config.json")).unwrap();
    let data = read_dataset(&folder.join("test.jsonl"), DataFormat::Jsonl, &Columns::default(), labels.as_ref()).unwrap();
    let encoder = TextEncoder::from_file(&folder.join("tokenizer.json"), 512).unwrap();
    let batch = 32;
    let inputs: Vec<TextInput> = data.examples.iter().map(|e| TextInput::single(e.text.clone().unwrap_or_default())).collect();
    let attacked: Vec<TextExample> =
        inputs.iter().zip(&data.examples).take(attacked_examples).map(|(input, e)| TextExample { input, gold: e.label.unwrap(), original: None }).collect();
    let settings = TextAttackSettings { max_queries: 300, max_perturbed_share: 0.2, max_candidates: 30, seed: 0 };
    let attack = TextAttack::new(settings, SynonymTable::wordnet()).unwrap();
    let encoded = encoder.encode(&data.examples).unwrap();

    let (mut plain, mut ort_only, mut attack_rates) = (vec![], vec![], vec![]);
    for _ in 0..rounds {
        // Plain: tokenize + run, through the same adapter the attack uses.
        let started = Instant::now();
        let mut adapter = TextModel::new(&mut model, &encoder, OutputKind::Logits);
        for chunk in inputs.chunks(batch) {
            adapter.classify(chunk).unwrap();
        }
        plain.push(inputs.len() as f64 / started.elapsed().as_secs_f64());
        // ONNX Runtime alone on pre-tokenized batches.
        let batches: Vec<_> = encoded.items.chunks(batch).map(|c| text_batch(c, encoded.pad_id)).collect();
        let started = Instant::now();
        for b in &batches {
            model.predict(b).unwrap();
        }
        ort_only.push(inputs.len() as f64 / started.elapsed().as_secs_f64());
        // The attack.
        let mut counting = Counting { inner: TextModel::new(&mut model, &encoder, OutputKind::Logits), rows: 0 };
        let started = Instant::now();
        attack.attack_batch(&mut counting, &attacked, batch).unwrap();
        attack_rates.push(counting.rows as f64 / started.elapsed().as_secs_f64());
    }
    let (plain, ort_only, attack) = (median(plain), median(ort_only), median(attack_rates));
    println!("{name}, {} rows:", inputs.len());
    println!("  plain batched inference (tokenize + run), batch {batch}: {plain:.0} rows/s");
    println!("  ONNX Runtime alone on pre-tokenized batches:        {ort_only:.0} rows/s");
    println!("  text attack on {attacked_examples} examples, {batch} rows per call:     {attack:.0} queries/s");
    println!("  attack / plain = {:.2} (target >= 0.80)", attack / plain);
}
