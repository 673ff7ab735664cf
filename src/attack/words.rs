//! The words of an attacked text and how to rebuild it with some words deleted or replaced.
//!
//! A word is a whitespace token with its surrounding punctuation stripped ("good!" → "good",
//! "#love" → "love", "don't" stays whole); tokens that are only punctuation are not words. Texts are
//! rebuilt by splicing, so everything that is not a changed word (spacing, punctuation) is kept.

use std::ops::Range;

#[derive(Debug, Clone)]
pub(crate) struct Words {
    text: String,
    /// Byte ranges of each word's core and of its whole token (core plus punctuation).
    cores: Vec<Range<usize>>,
    tokens: Vec<Range<usize>>,
}

impl Words {
    pub(crate) fn new(text: &str) -> Self {
        let mut cores = Vec::new();
        let mut tokens = Vec::new();
        let mut start = None;
        for (i, c) in text.char_indices().chain(std::iter::once((text.len(), ' '))) {
            match (c.is_whitespace(), start) {
                (false, None) => start = Some(i),
                (true, Some(s)) => {
                    let token = &text[s..i];
                    let trimmed_start = token.len() - token.trim_start_matches(|c: char| !c.is_alphanumeric()).len();
                    let core = token[trimmed_start..].trim_end_matches(|c: char| !c.is_alphanumeric());
                    if !core.is_empty() {
                        cores.push(s + trimmed_start..s + trimmed_start + core.len());
                        tokens.push(s..i);
                    }
                    start = None;
                }
                _ => {}
            }
        }
        Self { text: text.to_string(), cores, tokens }
    }

    pub(crate) fn len(&self) -> usize {
        self.cores.len()
    }

    pub(crate) fn word(&self, i: usize) -> &str {
        &self.text[self.cores[i].clone()]
    }

    /// The text with word `i` replaced by `replacement` and other words by `subs` (None: kept).
    pub(crate) fn render(&self, subs: &[Option<String>], i: Option<(usize, &str)>) -> String {
        let mut out = String::with_capacity(self.text.len() + 16);
        let mut at = 0;
        for (k, core) in self.cores.iter().enumerate() {
            let new = match i {
                Some((j, replacement)) if j == k => Some(replacement),
                _ => subs[k].as_deref(),
            };
            if let Some(new) = new {
                out.push_str(&self.text[at..core.start]);
                out.push_str(new);
                at = core.end;
            }
        }
        out.push_str(&self.text[at..]);
        out
    }

    /// The original text with word `i` deleted: a bare word goes with the whitespace after it (or
    /// before it, when last); a word with punctuation leaves the punctuation.
    pub(crate) fn delete(&self, i: usize) -> String {
        let (core, token) = (self.cores[i].clone(), self.tokens[i].clone());
        let cut = if core != token {
            core
        } else {
            let after = self.text[token.end..].len() - self.text[token.end..].trim_start().len();
            if token.end + after < self.text.len() || token.start == 0 {
                token.start..token.end + after
            } else {
                let before = self.text[..token.start].len() - self.text[..token.start].trim_end().len();
                token.start - before..token.end
            }
        };
        format!("{}{}", &self.text[..cut.start], &self.text[cut.end..])
    }
}

/// `candidate` with the capitalisation pattern of `template`: ALL CAPS (two letters or more),
/// Capitalised, or lower case.
pub(crate) fn match_case(template: &str, candidate: &str) -> String {
    let letters: Vec<char> = template.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() >= 2 && letters.iter().all(|c| c.is_uppercase()) {
        candidate.to_uppercase()
    } else if template.chars().next().is_some_and(char::is_uppercase) {
        let mut chars = candidate.chars();
        chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
    } else {
        candidate.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_strip_punctuation_and_rebuild_the_text() {
        let w = Words::new("  A good, #great movie ... don't!");
        let words: Vec<&str> = (0..w.len()).map(|i| w.word(i)).collect();
        assert_eq!(words, ["A", "good", "great", "movie", "don't"]);
        let mut subs = vec![None; 5];
        subs[1] = Some("fine".to_string());
        assert_eq!(w.render(&subs, Some((2, "big"))), "  A fine, #big movie ... don't!");
        assert_eq!(w.render(&vec![None; 5], None), "  A good, #great movie ... don't!");
        assert_eq!(w.delete(0), "  good, #great movie ... don't!");
        assert_eq!(w.delete(1), "  A , #great movie ... don't!");
        assert_eq!(w.delete(3), "  A good, #great ... don't!");
        assert_eq!(Words::new("so good").delete(1), "so");
        assert_eq!(Words::new("...").len(), 0);
    }

    #[test]
    fn case_follows_the_original_word() {
        assert_eq!(match_case("Good", "fine"), "Fine");
        assert_eq!(match_case("GOOD", "fine"), "FINE");
        assert_eq!(match_case("good", "fine"), "fine");
        assert_eq!(match_case("I", "fine"), "Fine");
    }
}
