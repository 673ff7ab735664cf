//! Documents cut into the windows a causal LM is run on, and which positions of each are scored.
//!
//! A document of `n` tokens gives windows starting at 0, `stride`, 2·`stride`, ... each at most
//! `context` tokens long, until one reaches the document's end; windows never cross documents.
//! In a window, the token at index `j` (the target) is predicted by the logits at `j - 1`. A target
//! is scored when its index is at least the window's first scored index (`--score-from`) and no
//! earlier window of the document scored it: with overlapping windows (`stride < context`) each
//! token is scored once, by the first window that reaches it past the score-from point (with
//! `score-from > context - stride` some tokens are context only, never scored: the user's choice).

/// Where scoring starts in each window (`--score-from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScoreFrom {
    /// llama.cpp's convention: targets from index `context / 2 + 1` (its logits from `n_ctx / 2`
    /// on), so the first half of every window is context only.
    Half,
    /// Targets from this index on; 1 scores every token that has a token before it.
    Index(usize),
}

impl ScoreFrom {
    pub fn parse(text: &str) -> Result<Self, String> {
        match text.trim() {
            "half" => Ok(Self::Half),
            other => match other.parse::<usize>() {
                Ok(k) if k >= 1 => Ok(Self::Index(k)),
                _ => Err(format!("--score-from takes half, or a window index of at least 1 (1 scores every token), not '{text}'")),
            },
        }
    }

    /// The first scored target index in a window of `context` tokens.
    pub fn first_target(self, context: usize) -> usize {
        match self {
            Self::Half => context / 2 + 1,
            Self::Index(k) => k,
        }
    }

    pub fn describe(self) -> String {
        match self {
            Self::Half => "half (llama.cpp: targets from context/2 + 1)".into(),
            Self::Index(k) => k.to_string(),
        }
    }
}

/// One window of one document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// The document's index in the data.
    pub document: usize,
    /// The window's first token's index in the document.
    pub start: usize,
    pub tokens: Vec<u32>,
    /// Targets at window indices `scored.start..scored.end` are scored (empty when none are).
    pub scored: std::ops::Range<usize>,
}

/// The windows of one document's tokens.
pub fn windows(document: usize, tokens: &[u32], context: usize, stride: usize, score_from: ScoreFrom) -> Vec<Window> {
    assert!(context >= 2 && stride >= 1, "checked by the plan");
    let first = score_from.first_target(context);
    let mut out = Vec::new();
    let mut scored_until: usize = 0; // document index before which every target is scored
    let mut start = 0;
    loop {
        let end = (start + context).min(tokens.len());
        let from = first.max(scored_until.saturating_sub(start)).min(end - start);
        let window = Window { document, start, tokens: tokens[start..end].to_vec(), scored: from..(end - start).max(from) };
        scored_until = scored_until.max(start + window.scored.end);
        out.push(window);
        if end >= tokens.len() {
            break;
        }
        start += stride;
    }
    out.retain(|w| w.tokens.len() >= 2);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: u32) -> Vec<u32> {
        (0..n).collect()
    }

    #[test]
    fn without_overlap_every_token_after_the_first_is_scored_once() {
        let w = windows(0, &ids(10), 4, 4, ScoreFrom::Index(1));
        let starts: Vec<usize> = w.iter().map(|w| w.start).collect();
        assert_eq!(starts, [0, 4, 8]);
        assert_eq!(w[0].scored, 1..4);
        assert_eq!(w[2].tokens, [8, 9]);
        assert_eq!(w[2].scored, 1..2);
    }

    #[test]
    fn half_follows_llama_cpp() {
        // n_ctx = 8: llama.cpp scores logits 4..7, i.e. targets 5, 6, 7.
        let w = windows(0, &ids(16), 8, 8, ScoreFrom::Half);
        assert_eq!(w[0].scored, 5..8);
        assert_eq!(w[1].scored, 5..8);
    }

    #[test]
    fn overlapping_windows_score_each_target_once() {
        let tokens = ids(23);
        for (context, stride, from) in [(8, 4, 1), (8, 3, 1), (8, 4, 5), (6, 1, 2), (5, 5, 1)] {
            let w = windows(0, &tokens, context, stride, ScoreFrom::Index(from));
            let mut seen = vec![0; tokens.len()];
            for win in &w {
                assert!(win.tokens.len() <= context);
                for j in win.scored.clone() {
                    seen[win.start + j] += 1;
                }
            }
            assert!(seen.iter().all(|&c| c <= 1), "{context} {stride} {from}: {seen:?}");
            // With at least `stride` scored targets per window, nothing past the first score-from
            // point is left out (else the gaps are the user's choice: context only).
            if from <= context - stride {
                assert!(seen[from..].iter().all(|&c| c == 1), "{context} {stride} {from}: {seen:?}");
            }
        }
    }

    #[test]
    fn short_documents_give_one_short_window_or_none() {
        assert_eq!(windows(3, &ids(3), 8, 8, ScoreFrom::Index(1))[0].scored, 1..3);
        assert!(windows(3, &ids(1), 8, 8, ScoreFrom::Index(1)).is_empty());
        let w = windows(0, &ids(4), 8, 8, ScoreFrom::Half);
        assert!(w[0].scored.is_empty(), "{:?}", w[0].scored);
    }

    #[test]
    fn parses_the_flag() {
        assert_eq!(ScoreFrom::parse("half"), Ok(ScoreFrom::Half));
        assert_eq!(ScoreFrom::parse("1"), Ok(ScoreFrom::Index(1)));
        assert!(ScoreFrom::parse("0").is_err());
        assert!(ScoreFrom::parse("x").is_err());
    }
}
