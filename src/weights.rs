//! Rarity weights: document frequencies of words learned from the corpus being
//! processed, and the inverse-document-frequency weight derived from them.

use std::cell::Cell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rayon::prelude::*;

use crate::features::Features;

/// A hasher for keys that are already hashes: one multiply spreads them over all bits.
#[derive(Default, Clone, Copy, Debug)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.0 = u64::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = i.wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn write_u128(&mut self, i: u128) {
        self.0 = ((i as u64) ^ (i >> 64) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
}

/// A map keyed by hashes.
pub type KeyMap<K, V> = HashMap<K, V, BuildHasherDefault<KeyHasher>>;

/// A set of hashes.
pub type KeySet<K> = std::collections::HashSet<K, BuildHasherDefault<KeyHasher>>;

/// Document frequencies of words (body and headline words together, once per document).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TermStats {
    docs: u32,
    df: KeyMap<u32, u32>,
}

/// Calls `f` once for each distinct word of a document (body or headline).
fn for_each_term(feat: &Features, mut f: impl FnMut(u32)) {
    let (a, b) = (&feat.terms, &feat.title);
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let t = match (a.get(i), b.get(j)) {
            (Some(&x), Some(&y)) if x == y => {
                i += 1;
                j += 1;
                x
            }
            (Some(&x), Some(&y)) if x < y => {
                i += 1;
                x
            }
            (Some(_) | None, Some(&y)) => {
                j += 1;
                y
            }
            (Some(&x), None) => {
                i += 1;
                x
            }
            (None, None) => unreachable!(),
        };
        f(t);
    }
}

impl TermStats {
    /// Counts document frequencies over a corpus, in parallel.
    #[must_use]
    pub fn from_features<'a>(feats: impl IntoParallelIterator<Item = &'a Features>) -> Self {
        feats
            .into_par_iter()
            .fold(TermStats::default, |mut s, f| {
                s.add(f);
                s
            })
            .reduce(TermStats::default, TermStats::merge)
    }

    /// Counts document frequencies over a corpus given as distinct feature sets, each
    /// with the number of documents that have it (in parallel). Equal to
    /// [`TermStats::from_features`] over the documents.
    #[must_use]
    pub fn from_counted_features<'a>(
        feats: impl IntoParallelIterator<Item = (&'a Features, u32)>,
    ) -> Self {
        feats
            .into_par_iter()
            .fold(TermStats::default, |mut s, (f, n)| {
                s.docs += n;
                for_each_term(f, |t| *s.df.entry(t).or_insert(0) += n);
                s
            })
            .reduce(TermStats::default, TermStats::merge)
    }

    fn merge(mut self, mut other: TermStats) -> TermStats {
        if self.df.len() < other.df.len() {
            std::mem::swap(&mut self, &mut other);
        }
        self.docs += other.docs;
        for (k, v) in other.df {
            *self.df.entry(k).or_insert(0) += v;
        }
        self
    }

    /// Statistics from counts made elsewhere (e.g. by a distributed run): `docs`
    /// documents, and for each word the number of documents holding it.
    #[must_use]
    pub fn from_counts(docs: u32, df: impl IntoIterator<Item = (u32, u32)>) -> Self {
        TermStats {
            docs,
            df: df.into_iter().filter(|&(_, n)| n > 0).collect(),
        }
    }

    /// The same counts keyed by words' top `bits` bits, from keys of `from` bits (an
    /// earlier index format's wider word hashes: [`crate::features::TERM_BITS`]). Words
    /// that come to share a key add their counts, so that no document's removal takes a
    /// count below zero.
    pub(crate) fn narrowed(&self, from: u32, bits: u32) -> TermStats {
        let mut df = KeyMap::default();
        for (&k, &n) in &self.df {
            *df.entry(k >> (from - bits)).or_insert(0) += n;
        }
        TermStats {
            docs: self.docs,
            df,
        }
    }

    /// Counts one more document.
    pub fn add(&mut self, feat: &Features) {
        self.docs += 1;
        for_each_term(feat, |t| *self.df.entry(t).or_insert(0) += 1);
    }

    /// Forgets a document counted before.
    pub fn remove(&mut self, feat: &Features) {
        self.docs = self.docs.saturating_sub(1);
        for_each_term(feat, |t| {
            if let Some(v) = self.df.get_mut(&t) {
                *v -= 1;
                if *v == 0 {
                    self.df.remove(&t);
                }
            }
        });
    }

    /// Heap bytes of the counts (approximate: buckets of a key, a count and a control
    /// byte).
    #[must_use]
    pub(crate) fn heap_bytes(&self) -> usize {
        self.df.capacity() * 9
    }

    /// Number of documents counted.
    #[must_use]
    pub fn docs(&self) -> u32 {
        self.docs
    }

    /// In how many documents a word occurs.
    #[must_use]
    pub fn df(&self, term: u32) -> u32 {
        self.df.get(&term).copied().unwrap_or(0)
    }

    /// Smoothed inverse document frequency, `ln((N + 1) / (df + 1)) + 1`: at least 1, so
    /// on a corpus of three documents every word still counts, and the rarer the word
    /// the more it counts.
    #[must_use]
    pub fn idf(&self, term: u32) -> f32 {
        self.idf_of_df(self.df(term))
    }

    /// [`TermStats::idf`] of a word counted in `df` documents (its [`TermStats::df`]):
    /// for callers that read a word's count for more than its weight.
    pub(crate) fn idf_of_df(&self, df: u32) -> f32 {
        smoothed_idf(self.docs, df)
    }
}

/// `ln((docs + 1) / (df + 1)) + 1`, remembered per thread by the two counts: the
/// logarithm costs more than a look in a small table, and verifying a document's
/// candidates (one story's versions) asks for the same words' weights again and again.
/// A pure function of its arguments, so the table never goes stale.
fn smoothed_idf(docs: u32, df: u32) -> f32 {
    const BITS: u32 = 12;
    // Every entry starts as the true value for no documents and no occurrences (1.0).
    thread_local! {
        static MEMO: Box<[Cell<(u64, f32)>]> =
            (0..1 << BITS).map(|_| Cell::new((0, 1.0))).collect();
    }
    let key = (u64::from(docs) << 32) | u64::from(df);
    let at = (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - BITS)) as usize;
    MEMO.with(|memo| {
        let (k, idf) = memo[at].get();
        if k == key {
            return idf;
        }
        let idf = (((f64::from(docs) + 1.0) / (f64::from(df) + 1.0)).ln() + 1.0) as f32;
        memo[at].set((key, idf));
        idf
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A remembered weight is the formula's, bit for bit, whatever was asked before:
    /// counts drawn from a small range, so that pairs repeat and share table entries.
    #[test]
    fn remembered_idf_is_the_formula() {
        let formula = |docs: u32, df: u32| {
            (((f64::from(docs) + 1.0) / (f64::from(df) + 1.0)).ln() + 1.0) as f32
        };
        assert_eq!(smoothed_idf(0, 0).to_bits(), formula(0, 0).to_bits());
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let docs = [0, 1, 3, 999_999, u32::MAX][(x % 5) as usize];
            let df = ((x >> 8) % 20_000) as u32;
            assert_eq!(
                smoothed_idf(docs, df).to_bits(),
                formula(docs, df).to_bits(),
                "docs {docs}, df {df}"
            );
        }
    }

    fn feat(terms: &[u32], title: &[u32]) -> Features {
        Features {
            terms: terms.to_vec(),
            tf: vec![1; terms.len()],
            title: title.to_vec(),
            ..Features::default()
        }
    }

    #[test]
    fn narrowed_counts_add_up() {
        let s = TermStats::from_counts(3, [(0x1234_5601, 2), (0x1234_5602, 1), (0xff00_0000, 3)]);
        let n = s.narrowed(32, 24);
        assert_eq!(
            (
                n.docs(),
                n.df(0x12_3456),
                n.df(0xff_0000),
                n.df(0x1234_5601)
            ),
            (3, 3, 3, 0)
        );
    }

    #[test]
    fn counts_once_per_document() {
        let docs = [feat(&[1, 2, 3], &[2, 9]), feat(&[2], &[])];
        let s = TermStats::from_features(&docs);
        assert_eq!(s.docs(), 2);
        assert_eq!(s.df(2), 2);
        assert_eq!(s.df(9), 1);
        assert_eq!(s.df(4), 0);
        assert!(s.idf(1) > s.idf(2));
        let mut s = s;
        s.remove(&docs[0]);
        assert_eq!(s.df(2), 1);
        assert_eq!(s.df(9), 0);
    }
}
