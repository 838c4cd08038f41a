//! Rewrite candidates: an inverted index over each document's heaviest words.
//!
//! Rewrites of one story keep its names, numbers and rare words while their phrasing
//! changes, so their shingles rarely collide in LSH buckets. Each document instead lists
//! its `k` heaviest body words by `(1 + ln tf) * idf`, among words found in at least two
//! documents (a word seen once can match nothing); two documents listing at least
//! `min_shared` common words become a candidate pair, which verification then scores.
//! A word listed by more than `max_postings` documents is too common to tell stories
//! apart and is skipped, which also bounds the work per word.

use rayon::prelude::*;

use crate::features::Features;
use crate::verify::Weights;
use crate::weights::TermStats;

/// Settings of the keyword index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeywordParams {
    /// Keywords per document.
    pub k: usize,
    /// Keywords two documents must share to be a candidate pair.
    pub min_shared: usize,
    /// Keywords listed by more documents than this are skipped.
    pub max_postings: usize,
}

impl Default for KeywordParams {
    fn default() -> Self {
        KeywordParams {
            k: 20,
            min_shared: 3,
            max_postings: 200,
        }
    }
}

/// The keywords of one document, sorted.
#[must_use]
pub fn keywords(f: &Features, w: &Weights, stats: &TermStats, p: KeywordParams) -> Vec<u32> {
    let mut cand: Vec<(f32, u32)> = f
        .terms
        .iter()
        .zip(&f.tf)
        .zip(&w.terms)
        .filter(|&((&t, _), _)| stats.df(t) >= 2)
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
        if hi - lo > p.max_postings {
            &postings[..0]
        } else {
            &postings[lo..hi]
        }
    };
    let per_doc: Vec<Vec<(u32, u32)>> = docs
        .par_iter()
        .map(|&d| {
            let mut earlier: Vec<u32> = kw[d as usize]
                .iter()
                .flat_map(|&t| {
                    run_of(t)
                        .iter()
                        .map(|&(_, e)| e)
                        .take_while(move |&e| e < d)
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
        };
        let pairs = candidate_pairs(&kw, &[0, 1, 2, 3], p(2, 10));
        assert_eq!(pairs, vec![(0, 1), (0, 3)]);
        let pairs = candidate_pairs(&kw, &[0, 1, 2, 3], p(1, 10));
        assert_eq!(pairs, vec![(0, 1), (0, 2), (1, 2), (0, 3), (1, 3)]);
        // Words 2 and 3 are listed by three documents each: over the cap they link nobody.
        let pairs = candidate_pairs(&kw, &[0, 1, 2, 3], p(1, 2));
        assert_eq!(pairs, vec![(0, 3)]);
    }
}
