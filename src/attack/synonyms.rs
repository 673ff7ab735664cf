//! Substitution candidates for the text attack: word → ordered candidates.
//!
//! Two sources:
//!
//! - **A user JSON file** `{"word": ["cand1", "cand2"], ...}` ([`SynonymTable::from_json_file`]),
//!   e.g. the nearest neighbours of each word in counter-fitted embeddings (Mrkšić et al. 2016),
//!   which is what TextFooler itself used (50 neighbours with cosine similarity ≥ 0.5). Keys are
//!   lowercased; candidates must be single words (no whitespace) and keep their order.
//! - **The default, [`SynonymTable::wordnet`]**: a table derived from WordNet 3.0 (Princeton
//!   University; licence in `data/WORDNET_LICENSE`), compiled into the binary from
//!   `data/wordnet_synonyms.tsv`, which `data/make_synonyms.py` builds from Debian's `wordnet-base`
//!   package. 41,057 words; for each, up to 30 single-word lemmas (lowercase ASCII letters, at most
//!   20 characters, proper names left out) that share a synset with it, over nouns, verbs,
//!   adjectives and adverbs, most frequent senses first (SemCor tag counts).
//!
//! Limits of the default, to be stated wherever its results are reported: WordNet synonyms ignore
//! context, sense and part of speech in the sentence ("good" → "commodity", "film" → "shoot"), and
//! there is no sentence-similarity or part-of-speech filter (TextFooler used the Universal Sentence
//! Encoder and a POS tagger). WordNet indexes base forms only, so inflected words ("movies",
//! "loved") have no candidates, and neither do the slang and misspellings common in tweets. Results
//! with this table are therefore not comparable with published TextFooler numbers; it is a
//! reproducible, licence-clean default that works out of the box. For closer replication pass a
//! table from counter-fitted embeddings.

use super::AttackError;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::OnceLock;

/// The WordNet-derived table, `word<TAB>cand1 cand2 ...` per line (see the module doc).
const WORDNET_TSV: &str = include_str!("data/wordnet_synonyms.tsv");

/// word (lower case) → candidates, in order of preference. Iteration order is the words' byte order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SynonymTable {
    entries: BTreeMap<String, Vec<String>>,
}

impl SynonymTable {
    /// Builds a table from (word, candidates) pairs. Words are lowercased; a word given twice gets
    /// the candidates of both, in order, without duplicates; a candidate equal to its word is dropped.
    pub fn from_entries<W, C, I>(entries: impl IntoIterator<Item = (W, I)>) -> Self
    where
        W: AsRef<str>,
        C: AsRef<str>,
        I: IntoIterator<Item = C>,
    {
        let mut table = BTreeMap::<String, Vec<String>>::new();
        for (word, candidates) in entries {
            let word = word.as_ref().to_lowercase();
            let list = table.entry(word.clone()).or_default();
            for c in candidates {
                let c = c.as_ref();
                if c.to_lowercase() != word && !list.iter().any(|x| x == c) {
                    list.push(c.to_string());
                }
            }
        }
        table.retain(|_, list| !list.is_empty());
        Self { entries: table }
    }

    /// The default WordNet 3.0 table compiled into the binary, parsed on first use.
    pub fn wordnet() -> &'static SynonymTable {
        static TABLE: OnceLock<SynonymTable> = OnceLock::new();
        TABLE.get_or_init(|| {
            Self::from_entries(WORDNET_TSV.lines().filter_map(|line| {
                let (word, candidates) = line.split_once('\t')?;
                Some((word, candidates.split(' ')))
            }))
        })
    }

    /// Reads a JSON object `{"word": ["cand1", ...], ...}`. Errors name the file and the problem.
    pub fn from_json_file(path: &Path) -> Result<Self, AttackError> {
        let text =
            std::fs::read_to_string(path).map_err(|e| AttackError::SynonymFile { path: path.to_path_buf(), message: format!("cannot read it ({e})") })?;
        Self::from_json_str(&text).map_err(|message| AttackError::SynonymFile { path: path.to_path_buf(), message })
    }

    /// Parses the JSON text of a synonym file; the error is the problem, without the file name.
    pub fn from_json_str(text: &str) -> Result<Self, String> {
        let map: BTreeMap<String, Vec<String>> = serde_json::from_str(text).map_err(|e| {
            format!(
                "{e}; expected a JSON object mapping each word to a list of candidate words, \
                 e.g. {{\"good\": [\"fine\", \"decent\"]}}"
            )
        })?;
        for (word, candidates) in &map {
            if word.trim().is_empty() || word.chars().any(char::is_whitespace) {
                return Err(format!("key {word:?} is not a single word"));
            }
            if let Some(c) = candidates.iter().find(|c| c.trim().is_empty() || c.chars().any(char::is_whitespace)) {
                return Err(format!("candidate {c:?} of {word:?} is not a single word (candidates replace one word)"));
            }
        }
        Ok(Self::from_entries(map))
    }

    /// The candidates for `word` (looked up in lower case); empty when it has none.
    pub fn get(&self, word: &str) -> &[String] {
        match self.entries.get(word) {
            Some(list) => list,
            None => self.entries.get(&word.to_lowercase()).map_or(&[], Vec::as_slice),
        }
    }

    /// Number of words with at least one candidate.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wordnet_table_loads_and_knows_common_words() {
        let table = SynonymTable::wordnet();
        assert_eq!(table.len(), 41_057);
        let good = table.get("good");
        assert!(good.iter().any(|c| c == "well") && good.iter().any(|c| c == "beneficial"), "{good:?}");
        assert!(good.len() <= 30 && !good.iter().any(|c| c == "good"));
        assert_eq!(table.get("movie")[0], "film");
        assert!(table.get("Movie").iter().any(|c| c == "flick"));
        assert!(table.get("terrible").iter().any(|c| c == "awful"));
        assert!(table.get("the").is_empty() && table.get("xqzt").is_empty());
        // Lower-case ASCII single words only.
        assert!(table.entries.values().flatten().all(|c| c.bytes().all(|b| b.is_ascii_lowercase()) && c.len() <= 20));
    }

    #[test]
    fn json_tables_load_and_bad_ones_name_the_problem() {
        let t = SynonymTable::from_json_str(r#"{"Good": ["fine", "decent", "good"], "bad": []}"#).unwrap();
        assert_eq!(t.get("good"), ["fine", "decent"]);
        assert_eq!(t.len(), 1);
        let err = SynonymTable::from_json_str(r#"{"good": ["very fine"]}"#).unwrap_err();
        assert!(err.contains("\"very fine\"") && err.contains("not a single word"), "{err}");
        let err = SynonymTable::from_json_str(r#"["good"]"#).unwrap_err();
        assert!(err.contains("expected a JSON object"), "{err}");

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("syn.json");
        std::fs::write(&path, r#"{"good": "fine"}"#).unwrap();
        let err = SynonymTable::from_json_file(&path).unwrap_err().to_string();
        assert!(err.starts_with(&format!("synonym file {}: ", path.display())), "{err}");
        let err = SynonymTable::from_json_file(&dir.path().join("missing.json")).unwrap_err().to_string();
        assert!(err.contains("missing.json: cannot read it"), "{err}");
    }
}
