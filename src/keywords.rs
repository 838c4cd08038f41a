//! Rewrite candidates: an inverted index over each document's heaviest words.
//!
//! Rewrites of one story keep its names, numbers and rare words while their phrasing
//! changes, so their shingles rarely collide in LSH buckets. Each document instead lists
//! its `k` heaviest body words by `(1 + ln tf) * idf`, among words found in at least two
//! documents (a word seen once can match nothing) and at most `max_df`; two documents listing at least
//! `min_shared` common words become a candidate pair, which verification then scores.
//! A word already listed by more than `max_postings` earlier documents is too common to
//! tell stories apart and links no later document, which also bounds the work per word.
//! Counting only earlier documents makes the batch and an incremental index agree.

use rayon::prelude::*;

use crate::features::Features;
use crate::verify::Weights;
use crate::weights::TermStats;

/// Settings of the keyword index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KeywordParams {
    /// Keywords per document.
    pub k: usize,
    /// Keywords two documents must share to be a candidate pair.
    pub min_shared: usize,
    /// A keyword listed by more earlier documents than this links no later one.
    pub max_postings: usize,
    /// Words in more documents than this (or than `max_df_share` of the corpus, if
    /// more) are too common to be keywords: in a wire corpus they are template words
    /// (`dividend`, `quarterly`, `offering`) shared by items about different subjects.
    pub max_df: u32,
    /// See `max_df`.
    pub max_df_share: f64,
    /// Words in fewer documents than this are no keywords (2 in a batch: a word seen
    /// once matches nothing; 1 for what an incremental index lists, since the documents
    /// that will share a new word have not arrived yet).
    pub min_df: u32,
}

impl KeywordParams {
    /// The document frequency above which a word is no keyword, in a corpus of `docs`.
    #[must_use]
    pub fn max_df(&self, docs: u32) -> u32 {
        self.max_df
            .max((f64::from(docs) * self.max_df_share) as u32)
    }
}

impl Default for KeywordParams {
    fn default() -> Self {
        KeywordParams {
            k: 20,
            min_shared: 3,
            max_postings: 200,
            max_df: 200,
            max_df_share: 0.001,
            min_df: 2,
        }
    }
}

/// The keywords of one document, sorted.
#[must_use]
pub fn keywords(f: &Features, w: &Weights, stats: &TermStats, p: KeywordParams) -> Vec<u32> {
    let max_df = p.max_df(stats.docs());
    let mut cand: Vec<(f32, u32)> = f
        .terms
        .iter()
        .zip(&f.tf)
        .zip(&w.terms)
        .filter(|&((&t, _), _)| {
            let df = stats.df(t);
            df >= p.min_df && df <= max_df
        })
        .map(|((&t, &tf), &idf)| ((1.0 + f32::from(tf).ln()) * idf, t))
        .collect();
    // Heaviest first; ties by term so the choice is deterministic.
    cand.sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    cand.truncate(p.k);
    let mut out: Vec<u32> = cand.into_iter().map(|(_, t)| t).collect();
    out.sort_unstable();
    out
}

/// Candidate pairs `(i, j)`, `i < j`, among `docs` whose keyword lists (`kw[d]`) share
/// at least `min_shared` words. Sorted, unique.
#[must_use]
pub fn candidate_pairs(kw: &[Vec<u32>], docs: &[u32], p: KeywordParams) -> Vec<(u32, u32)> {
    // Postings: (term, doc), sorted, so each term's documents are a contiguous run.
    let mut postings: Vec<(u32, u32)> = docs
        .iter()
        .flat_map(|&d| kw[d as usize].iter().map(move |&t| (t, d)))
        .collect();
    postings.par_sort_unstable();
    let run_of = |t: u32| {
        let lo = postings.partition_point(|&(x, _)| x < t);
        let hi = postings.partition_point(|&(x, _)| x <= t);
        &postings[lo..hi]
    };
    let per_doc: Vec<Vec<(u32, u32)>> = docs
        .par_iter()
        .map(|&d| {
            let mut earlier: Vec<u32> = kw[d as usize]
                .iter()
                .flat_map(|&t| {
                    // Only documents before `d` count, so an index that grows one
                    // document at a time finds the same pairs.
                    let run = run_of(t);
                    let before = run.partition_point(|&(_, e)| e < d);
                    let run = if before > p.max_postings {
                        &run[..0]
                    } else {
                        &run[..before]
                    };
                    run.iter().map(|&(_, e)| e)
                })
                .collect();
            earlier.sort_unstable();
            let mut out = Vec::new();
            let mut i = 0;
            while i < earlier.len() {
                let mut j = i + 1;
                while j < earlier.len() && earlier[j] == earlier[i] {
                    j += 1;
                }
                if j - i >= p.min_shared {
                    out.push((earlier[i], d));
                }
                i = j;
            }
            out
        })
        .collect();
    per_doc.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_need_enough_shared_keywords() {
        let kw = vec![vec![1, 2, 3], vec![2, 3, 4], vec![3, 5, 6], vec![1, 2, 9]];
        let p = |min_shared, max_postings| KeywordParams {
            k: 3,
            min_shared,
            max_postings,
            ..KeywordParams::default()
        };
        let pairs = candidate_pairs(&kw, &[0, 1, 2, 3], p(2, 10));
        assert_eq!(pairs, vec![(0, 1), (0, 3)]);
        let pairs = candidate_pairs(&kw, &[0, 1, 2, 3], p(1, 10));
        assert_eq!(pairs, vec![(0, 1), (0, 2), (1, 2), (0, 3), (1, 3)]);
        // With a cap of 1, a word listed by two earlier documents links no later one:
        // document 2 loses word 3 (listed by 0 and 1), document 3 loses word 2.
        let pairs = candidate_pairs(&kw, &[0, 1, 2, 3], p(1, 1));
        assert_eq!(pairs, vec![(0, 1), (0, 3)]);
    }
}
