//! Shingling: word k-grams or character k-grams of the normalised text, hashed with
//! seeded xxh3 to 64 bits.

use std::fmt;
use std::str::FromStr;

use xxhash_rust::xxh3::xxh3_64_with_seed;

use crate::error::Error;

/// What a shingle is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShingleKind {
    /// k consecutive words.
    Word,
    /// k consecutive characters of the words joined by single spaces.
    Char,
}

/// A shingle definition such as `word:3` or `char:5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Shingle {
    /// Words or characters.
    pub kind: ShingleKind,
    /// How many of them per shingle (at least 1).
    pub k: usize,
}

impl Default for Shingle {
    fn default() -> Self {
        Shingle {
            kind: ShingleKind::Word,
            k: 3,
        }
    }
}

impl fmt::Display for Shingle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            ShingleKind::Word => "word",
            ShingleKind::Char => "char",
        };
        write!(f, "{kind}:{}", self.k)
    }
}

impl FromStr for Shingle {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        let bad = || {
            Error::Config(format!(
                "shingle {s:?}: expected word:K or char:K, K from 1 to 64"
            ))
        };
        let (kind, k) = s.split_once(':').ok_or_else(bad)?;
        let kind = match kind {
            "word" => ShingleKind::Word,
            "char" => ShingleKind::Char,
            _ => return Err(bad()),
        };
        let k: usize = k.parse().map_err(|_| bad())?;
        if !(1..=64).contains(&k) {
            return Err(bad());
        }
        Ok(Shingle { kind, k })
    }
}

/// Hash of one word, seeded.
#[inline]
#[must_use]
pub fn hash_word(word: &str, seed: u64) -> u64 {
    xxh3_64_with_seed(word.as_bytes(), seed)
}

/// Combines consecutive word hashes into one shingle hash.
#[inline]
fn hash_run(hashes: &[u64], seed: u64) -> u64 {
    let mut buf = [0u8; 8 * 8];
    if hashes.len() <= 8 {
        for (chunk, h) in buf.chunks_exact_mut(8).zip(hashes) {
            chunk.copy_from_slice(&h.to_le_bytes());
        }
        xxh3_64_with_seed(&buf[..hashes.len() * 8], seed)
    } else {
        let bytes: Vec<u8> = hashes.iter().flat_map(|h| h.to_le_bytes()).collect();
        xxh3_64_with_seed(&bytes, seed)
    }
}

/// Appends the hashes of the word k-shingles of `word_hashes` to `out`.
///
/// A text with fewer than k words gives one shingle of all its words; no words, none.
pub fn word_shingles(word_hashes: &[u64], k: usize, seed: u64, out: &mut Vec<u64>) {
    if word_hashes.is_empty() {
        return;
    }
    if word_hashes.len() <= k {
        out.push(hash_run(word_hashes, seed));
        return;
    }
    out.extend(word_hashes.windows(k).map(|w| hash_run(w, seed)));
}

/// Appends the hashes of the character k-shingles of `words` joined by single spaces.
pub fn char_shingles<'a>(
    words: impl Iterator<Item = &'a str>,
    k: usize,
    seed: u64,
    scratch: &mut String,
    out: &mut Vec<u64>,
) {
    scratch.clear();
    for w in words {
        if !scratch.is_empty() {
            scratch.push(' ');
        }
        scratch.push_str(w);
    }
    if scratch.is_empty() {
        return;
    }
    let bounds: Vec<usize> = scratch
        .char_indices()
        .map(|(i, _)| i)
        .chain(std::iter::once(scratch.len()))
        .collect();
    let chars = bounds.len() - 1;
    if chars <= k {
        out.push(xxh3_64_with_seed(scratch.as_bytes(), seed));
        return;
    }
    for i in 0..=chars - k {
        out.push(xxh3_64_with_seed(
            &scratch.as_bytes()[bounds[i]..bounds[i + k]],
            seed,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let s: Shingle = "char:5".parse().unwrap();
        assert_eq!(
            s,
            Shingle {
                kind: ShingleKind::Char,
                k: 5
            }
        );
        assert_eq!(s.to_string(), "char:5");
        assert!("word:0".parse::<Shingle>().is_err());
        assert!("token:3".parse::<Shingle>().is_err());
        assert!("word".parse::<Shingle>().is_err());
    }

    #[test]
    fn word_shingle_counts() {
        let h: Vec<u64> = ["a", "b", "c", "d"]
            .iter()
            .map(|w| hash_word(w, 1))
            .collect();
        let mut out = Vec::new();
        word_shingles(&h, 3, 1, &mut out);
        assert_eq!(out.len(), 2);
        out.clear();
        word_shingles(&h[..2], 3, 1, &mut out);
        assert_eq!(out.len(), 1);
        out.clear();
        word_shingles(&[], 3, 1, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn same_words_same_shingles() {
        let h1: Vec<u64> = ["x", "y", "z"].iter().map(|w| hash_word(w, 7)).collect();
        let mut a = Vec::new();
        let mut b = Vec::new();
        word_shingles(&h1, 2, 7, &mut a);
        word_shingles(&h1, 2, 7, &mut b);
        assert_eq!(a, b);
        let mut c = Vec::new();
        word_shingles(&h1, 2, 8, &mut c);
        assert_ne!(a, c, "the seed changes the hashes");
    }

    #[test]
    fn char_shingles_cross_words() {
        let mut out = Vec::new();
        let mut s = String::new();
        char_shingles(["ab", "cd"].into_iter(), 3, 0, &mut s, &mut out);
        // "ab cd" has 5 characters: 3 windows.
        assert_eq!(out.len(), 3);
    }
}
