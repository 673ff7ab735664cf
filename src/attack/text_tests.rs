//! Unit tests of the text attack ([`super`]), with small deterministic bag-of-words models.

use super::*;
use crate::stats::rng::Rng;

fn settings(max_queries: usize, max_perturbed_share: f64) -> TextAttackSettings {
    TextAttackSettings { max_queries, max_perturbed_share, max_candidates: 30, seed: 0 }
}

fn table() -> SynonymTable {
    SynonymTable::from_entries([
        ("good", vec!["fine", "decent"]),
        ("movie", vec!["film", "picture"]),
        ("great", vec!["big"]),
        ("actors", vec!["players", "cast", "thespians"]),
    ])
}

fn has_word(text: &str, word: &str) -> bool {
    text.split_whitespace().any(|t| t.trim_matches(|c: char| !c.is_alphanumeric()).eq_ignore_ascii_case(word))
}

/// Two classes (0 negative, 1 positive); P(positive) from a function of the attacked text; records
/// every input it sees.
struct Model<F: Fn(&TextInput) -> f64> {
    positive: F,
    seen: Vec<TextInput>,
    calls: usize,
}

impl<F: Fn(&TextInput) -> f64> Model<F> {
    fn new(positive: F) -> Self {
        Self { positive, seen: Vec::new(), calls: 0 }
    }
}

impl<F: Fn(&TextInput) -> f64> TextClassifier for Model<F> {
    fn classify(&mut self, inputs: &[TextInput]) -> Result<Vec<Vec<f64>>, AttackError> {
        self.calls += 1;
        self.seen.extend_from_slice(inputs);
        Ok(inputs.iter().map(|i| (self.positive)(i)).map(|p| vec![1.0 - p, p]).collect())
    }
}

#[test]
fn one_known_weakness_is_found_with_the_expected_queries() {
    // Positive iff the text holds "good".
    let mut model = Model::new(|i: &TextInput| if has_word(&i.text, "good") { 0.9 } else { 0.2 });
    let table = table();
    let attack = TextAttack::new(settings(100, 0.2), &table).unwrap();
    let input = TextInput::single("The movie was good and the actors were great!");
    let out = attack.attack(&mut model, &input, 1, None).unwrap();
    // Words: The movie was good and the actors were great = 9; stop words: the, was, and, were.
    // Queries: original 1 + deletions of {movie, good, actors, great} 4 + the candidate set of
    // "good" (the most important word), {fine, decent}, 2, in which both flip = 7, in 3 calls.
    assert_eq!(out.status, AttackStatus::Succeeded);
    assert_eq!((out.queries, out.perturbed_words, out.words), (7, 1, 9));
    assert_eq!((model.seen.len(), model.calls), (7, 3));
    // Both candidates reach P(good) = 0.2: the first wins.
    assert_eq!(out.adversarial.unwrap().text, "The movie was fine and the actors were great!");
    assert_eq!(model.seen[1].text, "The was good and the actors were great!"); // "movie" deleted
}

#[test]
fn greedy_keeps_a_helpful_swap_and_respects_the_share_of_words() {
    // P(positive) = 0.2 + 0.35 [good] + 0.35 [great]: both words must go.
    let p = |i: &TextInput| 0.2 + 0.35 * f64::from(u8::from(has_word(&i.text, "good"))) + 0.35 * f64::from(u8::from(has_word(&i.text, "great")));
    let table = table();
    let input = TextInput::single("a Good and great movie");
    // 5 words, non-stop: Good, great, movie. Deleting Good or great: 0.9 → 0.55 (tie, by
    // position: Good first); movie: no change. Good → {Fine, Decent}: 0.55 for both, no flip, Fine
    // kept; great → {big}: 0.2, flip. 1 + 3 + 2 + 1 = 7 queries, 2 of 5 words changed.
    let attack = TextAttack::new(settings(100, 0.4), &table).unwrap();
    let out = attack.attack(&mut Model::new(p), &input, 1, None).unwrap();
    assert_eq!(out.status, AttackStatus::Succeeded);
    assert_eq!((out.queries, out.perturbed_words, out.words), (7, 2, 5));
    assert_eq!(out.adversarial.unwrap().text, "a Fine and big movie");
    // At most ⌈0.2 · 5⌉ = 1 word: after Fine the attack stops, 1 + 3 + 2 = 6 queries.
    let attack = TextAttack::new(settings(100, 0.2), &table).unwrap();
    let out = attack.attack(&mut Model::new(p), &input, 1, None).unwrap();
    assert_eq!((out.status, out.queries, out.perturbed_words, out.adversarial), (AttackStatus::Failed, 6, 1, None));
}

#[test]
fn a_constant_model_spends_every_candidate_or_the_whole_budget() {
    let table = table();
    let input = TextInput::single("the good movie with great actors");
    // Non-stop: good, movie, great, actors (4); candidates 2 + 2 + 1 + 3 = 8; 1 + 4 + 8 = 13.
    for (budget, expected) in [(100, 13), (13, 13), (12, 12), (6, 6), (5, 5), (3, 3), (1, 1)] {
        let mut model = Model::new(|_: &TextInput| 0.7);
        let attack = TextAttack::new(settings(budget, 1.0), &table).unwrap();
        let out = attack.attack(&mut model, &input, 1, None).unwrap();
        assert_eq!((out.status, out.queries, model.seen.len()), (AttackStatus::Failed, expected, expected), "budget {budget}");
        // The same with the original given: it costs nothing, the other 12 fit in the budget or fill it.
        let mut model = Model::new(|_: &TextInput| 0.7);
        let out = attack.attack(&mut model, &input, 1, Some(&[0.3, 0.7])).unwrap();
        assert_eq!((out.queries, model.seen.len()), (12.min(budget), 12.min(budget)), "budget {budget}");
    }
}

#[test]
fn already_misclassified_examples_are_skipped_at_no_cost() {
    let table = table();
    let attack = TextAttack::new(settings(50, 0.2), &table).unwrap();
    let input = TextInput::single("a good movie");
    let mut model = Model::new(|_: &TextInput| 0.9);
    let out = attack.attack(&mut model, &input, 0, None).unwrap();
    assert_eq!((out.status, out.queries, out.perturbed_words, out.words), (AttackStatus::Skipped, 0, 0, 3));
    assert_eq!(model.seen.len(), 1); // the original was asked for, but is not charged
    let out = attack.attack(&mut model, &input, 0, Some(&[0.1, 0.9])).unwrap();
    assert_eq!((out.status, out.queries, model.seen.len()), (AttackStatus::Skipped, 0, 1));
}

#[test]
fn pairs_change_only_the_second_text() {
    let table = table();
    let premise = "good good movie";
    // Entailment iff both texts hold "good"; every input must keep the premise.
    let mut model = Model::new(|i: &TextInput| {
        assert_eq!(i.text, "good good movie");
        if has_word(&i.text, "good") && has_word(i.pair.as_deref().unwrap(), "good") {
            0.8
        } else {
            0.1
        }
    });
    let attack = TextAttack::new(settings(100, 0.5), &table).unwrap();
    let out = attack.attack(&mut model, &TextInput::pair(premise, "a good film"), 1, None).unwrap();
    // Hypothesis words: a good film (3; non-stop good, film): 1 + 2 + {fine, decent} 2 = 5.
    assert_eq!((out.status, out.queries, out.words), (AttackStatus::Succeeded, 5, 3));
    assert_eq!(out.adversarial.unwrap(), TextInput::pair(premise, "a fine film"));
}

#[test]
fn invalid_settings_name_their_flag() {
    let table = table();
    let err = |s: TextAttackSettings| TextAttack::new(s, &table).unwrap_err().to_string();
    assert!(err(settings(0, 0.2)).starts_with("--attack-queries must be"));
    assert!(err(settings(10, 0.0)).starts_with("--attack-max-share must be"));
    assert!(err(settings(10, 1.5)).contains("got 1.5"));
    let mut s = settings(10, 0.2);
    s.max_candidates = 0;
    assert!(err(s).starts_with("--attack-candidates must be"));
    // A gold label the model does not have is an error, not a silent skip.
    let attack = TextAttack::new(settings(10, 0.2), &table).unwrap();
    let e = attack.attack(&mut Model::new(|_: &TextInput| 0.5), &TextInput::single("good"), 2, None).unwrap_err();
    assert!(matches!(e, AttackError::Label { label: 2, classes: 2 }), "{e}");
}

/// A model with arbitrary but deterministic, batch-independent probabilities.
fn hashed(i: &TextInput) -> f64 {
    let h = i.text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    let bonus = if has_word(&i.text, "good") { 0.3 } else { 0.0 };
    ((h % 1000) as f64 / 1000.0 * 0.6 + bonus).min(1.0)
}

fn random_examples(rng: &mut Rng, n: usize) -> Vec<(TextInput, usize)> {
    let vocab = ["good", "movie", "great", "actors", "the", "not", "plot", "Good", "MOVIE", "!", "fine,"];
    (0..n)
        .map(|_| {
            let len = rng.below(9) as usize;
            let words: Vec<&str> = (0..len).map(|_| vocab[rng.below(vocab.len() as u64) as usize]).collect();
            (TextInput::single(words.join(" ")), rng.below(2) as usize)
        })
        .collect()
}

#[test]
fn the_budget_is_never_exceeded_and_runs_are_reproducible() {
    let table = table();
    let mut rng = Rng::new(11);
    let examples = random_examples(&mut rng, 300);
    let run = |budget: usize, share: f64, max_rows: usize| {
        let attack = TextAttack::new(settings(budget, share), &table).unwrap();
        let mut model = Model::new(hashed);
        let ex: Vec<TextExample> = examples.iter().map(|(input, gold)| TextExample { input, gold: *gold, original: None }).collect();
        let outs = attack.attack_batch(&mut model, &ex, max_rows).unwrap();
        let skipped = outs.iter().filter(|o| o.status == AttackStatus::Skipped).count();
        // Every row the model saw is charged, except the originals of skipped examples.
        assert_eq!(model.seen.len(), outs.iter().map(|o| o.queries).sum::<usize>() + skipped);
        outs
    };
    for trial in 0..20u64 {
        let budget = 1 + Rng::stream(3, trial).below(15) as usize;
        let share = [0.1, 0.3, 1.0][trial as usize % 3];
        let outs = run(budget, share, 16);
        for (o, (input, gold)) in outs.iter().zip(&examples) {
            assert!(o.queries <= budget, "{o:?} over budget {budget}");
            assert!(o.perturbed_words <= ((share * o.words as f64) - 1e-9).ceil() as usize);
            if let Some(adversarial) = &o.adversarial {
                let p = hashed(adversarial);
                assert_ne!(argmax(&[1.0 - p, p]), *gold, "{input:?} -> {adversarial:?}");
                let changed = input.text.split_whitespace().zip(adversarial.text.split_whitespace()).filter(|(a, b)| a != b).count();
                assert_eq!(changed, o.perturbed_words);
            }
        }
        // Same settings: identical outcomes, whatever the lockstep packing.
        assert_eq!(outs, run(budget, share, 16));
        assert_eq!(outs, run(budget, share, 1));
    }
    let outs = run(40, 0.5, 64);
    assert!(outs.iter().any(|o| o.status == AttackStatus::Succeeded) && outs.iter().any(|o| o.status == AttackStatus::Failed));
}

#[test]
fn progress_reports_finished_examples_and_steps_are_never_split() {
    let table = table();
    let attack = TextAttack::new(settings(100, 1.0), &table).unwrap();
    let inputs: Vec<TextInput> = ["good movie", "great actors here", "the"].into_iter().map(TextInput::single).collect();
    let ex: Vec<TextExample> = inputs.iter().map(|input| TextExample { input, gold: 1, original: None }).collect();
    let mut model = Model::new(|_: &TextInput| 0.7);
    let mut seen = Vec::new();
    let outs = attack.attack_batch_with_progress(&mut model, &ex, 2, &mut |done| seen.push(done)).unwrap();
    assert_eq!(outs.iter().map(|o| o.queries).collect::<Vec<_>>(), [1 + 2 + 4, 1 + 2 + 4, 1]);
    assert_eq!(*seen.last().unwrap(), 3);
    assert!(seen.windows(2).all(|w| w[0] <= w[1]));
}
