//! Rewrite candidates: an inverted index over each document's rarest shared words.
//!
//! Rewrites of one story keep its names, numbers and rare words while their phrasing
//! changes, so their shingles rarely collide in LSH buckets. Each document instead
//! contributes its `k` heaviest words (by rarity weight) among those that occur in at
//! least two documents and in at most `max_df`; two documents sharing at least
//! `min_shared` of them become a candidate pair, which verification then scores.

use rayon::prelude::*;

use crate::verify::WeightedTerms;
use crate::weights::TermStats;

/// Settings of the keyword index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeywordParams {
    /// Keywords per document.
    pub k: usize,
    /// Keywords two documents must share to be a candidate pair.
    pub min_shared: usize,
    /// Words in more documents than this are too common to be keywords.
    pub max_df: u32,
}

impl Default for KeywordParams {
    fn default() -> Self {
        KeywordParams {
            k: 10,
            min_shared: 2,
            max_df: 2000,
        }
    }
}

/// The keywords of one document: its heaviest words with `2 ≤ df ≤ max_df`, sorted.
#[must_use]
pub fn keywords(w: &WeightedTerms, stats: &TermStats, p: KeywordParams) -> Vec<u32> {
    let mut cand: Vec<(f32, u32)> = w
        .terms
        .iter()
        .zip(&w.weights)
        .filter(|&(&t, _)| {
            let df = stats.df(t);
            df >= 2 && df <= p.max_df
        })
        .map(|(&t, &wt)| (wt, t))
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
pub fn candidate_pairs(kw: &[Vec<u32>], docs: &[u32], min_shared: usize) -> Vec<(u32, u32)> {
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
                .flat_map(|&t| run_of(t).iter().map(|&(_, e)| e).take_while(move |&e| e < d))
                .collect();
            earlier.sort_unstable();
            let mut out = Vec::new();
            let mut i = 0;
            while i < earlier.len() {
                let mut j = i + 1;
                while j < earlier.len() && earlier[j] == earlier[i] {
                    j += 1;
                }
                if j - i >= min_shared {
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
        let pairs = candidate_pairs(&kw, &[0, 1, 2, 3], 2);
        assert_eq!(pairs, vec![(0, 1), (0, 3)]);
        let pairs = candidate_pairs(&kw, &[0, 1, 2, 3], 1);
        assert_eq!(pairs, vec![(0, 1), (0, 2), (1, 2), (0, 3), (1, 3)]);
    }
}
