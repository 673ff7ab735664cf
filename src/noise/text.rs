//! Natural text noise: typing slips and lost words, not an adversary. Each operation is seeded
//! per example, so every model sees the same noisy text.
//!
//! - character noise at rate r: each letter, with probability r, suffers one of four slips chosen
//!   uniformly: substitution by a neighbouring key (QWERTY, case kept), deletion, insertion of a
//!   neighbouring key after it, or a swap with the next character;
//! - word dropout at rate r: each word (a run of non-whitespace) is removed with probability r,
//!   together with the whitespace before it (the first word: the whitespace after it).
//!
//! Rate 0 returns the text unchanged, byte for byte.

use crate::stats::rng::Rng;

/// The keys next to each letter on a QWERTY keyboard (same row and the rows above and below).
fn neighbours(c: char) -> &'static str {
    match c.to_ascii_lowercase() {
        'q' => "wa",
        'w' => "qesa",
        'e' => "wrds",
        'r' => "etfd",
        't' => "rygf",
        'y' => "tuhg",
        'u' => "yijh",
        'i' => "uokj",
        'o' => "iplk",
        'p' => "ol",
        'a' => "qwsz",
        's' => "awedxz",
        'd' => "serfcx",
        'f' => "drtgvc",
        'g' => "ftyhbv",
        'h' => "gyujnb",
        'j' => "huikmn",
        'k' => "jiolm",
        'l' => "kop",
        'z' => "asx",
        'x' => "zsdc",
        'c' => "xdfv",
        'v' => "cfgb",
        'b' => "vghn",
        'n' => "bhjm",
        'm' => "njk",
        _ => "",
    }
}

fn neighbour(c: char, rng: &mut Rng) -> char {
    let keys: Vec<char> = neighbours(c).chars().collect();
    let k = keys[rng.below(keys.len() as u64) as usize];
    if c.is_ascii_uppercase() {
        k.to_ascii_uppercase()
    } else {
        k
    }
}

/// Character-level noise at `rate` (0 ≤ rate ≤ 1) on ASCII letters.
pub fn characters(text: &str, rate: f64, rng: &mut Rng) -> String {
    if rate <= 0.0 {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if !c.is_ascii_alphabetic() || rng.unit() >= rate {
            out.push(c);
            i += 1;
            continue;
        }
        match rng.below(4) {
            0 => out.push(neighbour(c, rng)),
            1 => {}
            2 => {
                out.push(c);
                out.push(neighbour(c, rng));
            }
            // A swap with the next character; at the end of the text there is none: kept.
            _ => match chars.get(i + 1) {
                Some(&next) => {
                    out.push(next);
                    out.push(c);
                    i += 1;
                }
                None => out.push(c),
            },
        }
        i += 1;
    }
    out
}

/// Word dropout at `rate` (0 ≤ rate ≤ 1).
pub fn word_dropout(text: &str, rate: f64, rng: &mut Rng) -> String {
    if rate <= 0.0 {
        return text.to_string();
    }
    // Spans of (leading whitespace, word); trailing whitespace is its own span with no word.
    let mut spans: Vec<(&str, &str)> = Vec::new();
    let mut rest = text;
    while !rest.is_empty() {
        let ws_end = rest.find(|c: char| !c.is_whitespace()).unwrap_or(rest.len());
        let (ws, after) = rest.split_at(ws_end);
        let word_end = after.find(char::is_whitespace).unwrap_or(after.len());
        let (word, tail) = after.split_at(word_end);
        spans.push((ws, word));
        rest = tail;
    }
    let keep: Vec<bool> = spans.iter().map(|(_, w)| w.is_empty() || rng.unit() >= rate).collect();
    let mut out = String::with_capacity(text.len());
    let (mut any_kept, mut dropped_first) = (false, false);
    for ((ws, word), kept) in spans.iter().zip(keep) {
        if !kept {
            dropped_first |= !any_kept;
            continue;
        }
        // A kept word after dropped leading words starts the text: no whitespace before it.
        if any_kept || !dropped_first {
            out.push_str(ws);
        }
        out.push_str(word);
        any_kept = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::rng::Rng;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn rate_zero_changes_nothing(text in ".{0,80}", seed in any::<u64>()) {
            prop_assert_eq!(characters(&text, 0.0, &mut Rng::new(seed)), text.clone());
            prop_assert_eq!(word_dropout(&text, 0.0, &mut Rng::new(seed)), text);
        }

        #[test]
        fn the_same_seed_gives_the_same_noise(text in "[a-zA-Z ,.]{0,80}", seed in any::<u64>(), rate in 0.0f64..1.0) {
            prop_assert_eq!(characters(&text, rate, &mut Rng::new(seed)), characters(&text, rate, &mut Rng::new(seed)));
            prop_assert_eq!(word_dropout(&text, rate, &mut Rng::new(seed)), word_dropout(&text, rate, &mut Rng::new(seed)));
        }

        /// Dropout only removes whole words, in order; non-letters never change under character noise.
        #[test]
        fn dropout_keeps_a_subsequence_of_the_words(text in "[a-z]{1,6}( [a-z]{1,6}){0,12}", seed in any::<u64>(), rate in 0.0f64..1.0) {
            let words: Vec<&str> = text.split_whitespace().collect();
            let noisy = word_dropout(&text, rate, &mut Rng::new(seed));
            let mut it = words.iter();
            for w in noisy.split_whitespace() {
                prop_assert!(it.any(|x| x == &w), "{} is not in order in {}", w, text);
            }
            let digits = "12 34, 56! 7";
            prop_assert_eq!(characters(digits, rate, &mut Rng::new(seed)), digits);
        }
    }

    #[test]
    fn full_rate_noise_changes_every_letter_and_drops_every_word() {
        let text = "The quick brown fox";
        assert_ne!(characters(text, 1.0, &mut Rng::new(1)), text);
        assert_eq!(word_dropout(text, 1.0, &mut Rng::new(1)), "");
        assert!(neighbours('q').contains('w') && neighbour('Q', &mut Rng::new(0)).is_ascii_uppercase());
        let kept = word_dropout("  one two  three ", 0.5, &mut Rng::new(3));
        assert!(!kept.contains("   "), "{kept:?}");
    }
}
