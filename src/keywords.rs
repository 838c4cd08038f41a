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

/// The time slice of a document published at `timestamp` (seconds) for keyword
/// candidates: slices are `window_days` long, and a dated document is paired only with
/// documents of its own and the two neighbouring slices (every pair within the window,
/// and some up to twice as far apart), or undated ones. [`UNDATED`] without a date or
/// without a window (`window_days` 0): such a document is paired with every other.
#[must_use]
pub fn time_slice(timestamp: Option<i64>, window_days: u32) -> i32 {
    match timestamp {
        Some(t) if window_days > 0 => {
            let s = t.div_euclid(i64::from(window_days) * 86_400);
            // Two below `UNDATED`, so that the next slice up is still a date.
            s.clamp(i64::from(i32::MIN) + 1, i64::from(UNDATED) - 2) as i32
        }
        _ => UNDATED,
    }
}

/// The slice of undated documents (see [`time_slice`]).
pub const UNDATED: i32 = i32::MAX;

/// Candidate pairs `(i, j)`, `i < j`, among `docs` whose keyword lists (`kw[d]`) share
/// at least `min_shared` words. `slice[d]` is the document's [`time_slice`]: a document
/// is paired only with the earlier documents of its time neighbourhood (its slice, the
/// two beside it, and the undated ones; every earlier one when it is undated), and a
/// keyword that more than `max_postings` of those list links none of them. Rewrites are
/// only paired within the rewrite window, so what makes a word too common is its
/// frequency around the document's date, not in the whole corpus: the work per document
/// is bounded by `k * max_postings` postings of documents near it in time, whatever the
/// corpus's size. Sorted, unique.
#[must_use]
pub fn candidate_pairs(
    kw: &[Vec<u32>],
    docs: &[u32],
    slice: &[i32],
    p: KeywordParams,
) -> Vec<(u32, u32)> {
    // Postings: (term, slice, doc), sorted, so each term's documents are a run, and
    // within it each slice's documents a run in ascending order.
    let mut postings: Vec<(u32, i32, u32)> = docs
        .iter()
        .flat_map(|&d| {
            let s = slice[d as usize];
            kw[d as usize].iter().map(move |&t| (t, s, d))
        })
        .collect();
    postings.par_sort_unstable();
    // Each term's run, found in a small table of distinct terms (searching the postings
    // themselves misses the cache at every step).
    let mut terms: Vec<u32> = Vec::new();
    let mut starts: Vec<usize> = Vec::new();
    for (i, &(t, _, _)) in postings.iter().enumerate() {
        if terms.last() != Some(&t) {
            terms.push(t);
            starts.push(i);
        }
    }
    starts.push(postings.len());
    let per_doc: Vec<Vec<(u32, u32)>> = docs
        .par_iter()
        .map_init(Vec::new, |near, &d| {
            let s = slice[d as usize];
            let mut earlier: Vec<u32> = Vec::new();
            for &t in &kw[d as usize] {
                let Ok(i) = terms.binary_search(&t) else {
                    continue;
                };
                let run = &postings[starts[i]..starts[i + 1]];
                // Only documents before `d` count, so an index that grows one document
                // at a time finds the same pairs.
                near.clear();
                // Each slice's earlier documents, by binary searches (a term's run can be
                // long: the work must not grow with it).
                let mut take = |from: i32, to: i32| {
                    let mut a = run.partition_point(|&(_, y, _)| y < from);
                    while a < run.len() && run[a].1 <= to {
                        let here = run[a].1;
                        let b = a + run[a..].partition_point(|&(_, y, _)| y <= here);
                        let before = run[a..b].partition_point(|&(_, _, e)| e < d);
                        near.push(&run[a..a + before]);
                        a = b;
                    }
                };
                if s == UNDATED {
                    take(i32::MIN, UNDATED);
                } else {
                    take(s - 1, s + 1);
                    take(UNDATED, UNDATED);
                }
                let count: usize = near.iter().map(|r| r.len()).sum();
                if count <= p.max_postings {
                    earlier.extend(near.iter().flat_map(|r| r.iter().map(|&(_, _, e)| e)));
                }
            }
            earlier.sort_unstable();
            let mut out = Vec::new();
            for same in earlier.chunk_by(|x, y| x == y) {
                if same.len() >= p.min_shared {
                    out.push((same[0], d));
                }
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
        let pairs = candidate_pairs(&kw, &[0, 1, 2, 3], &[UNDATED; 4], p(2, 10));
        assert_eq!(pairs, vec![(0, 1), (0, 3)]);
        let pairs = candidate_pairs(&kw, &[0, 1, 2, 3], &[UNDATED; 4], p(1, 10));
        assert_eq!(pairs, vec![(0, 1), (0, 2), (1, 2), (0, 3), (1, 3)]);
        // With a cap of 1, a word listed by two earlier documents links no later one:
        // document 2 loses word 3 (listed by 0 and 1), document 3 loses word 2.
        let pairs = candidate_pairs(&kw, &[0, 1, 2, 3], &[UNDATED; 4], p(1, 1));
        assert_eq!(pairs, vec![(0, 1), (0, 3)]);
    }

    #[test]
    fn dated_documents_pair_within_their_time_neighbourhood() {
        const DAY: i64 = 86_400;
        let slice = |days: Option<i64>| time_slice(days.map(|x| x * DAY), 3);
        assert_eq!(slice(Some(0)), 0);
        assert_eq!(slice(Some(2)), 0);
        assert_eq!(slice(Some(3)), 1);
        assert_eq!(slice(Some(-1)), -1);
        assert_eq!(slice(None), UNDATED);
        assert_eq!(time_slice(Some(10 * DAY), 0), UNDATED);
        // All five list the same three words; 0 and 1 are a day apart, 2 is a month later,
        // 3 is undated, 4 is in the slice next to 0's.
        let kw = vec![vec![1, 2, 3]; 5];
        let slices = [
            slice(Some(100)),
            slice(Some(101)),
            slice(Some(130)),
            UNDATED,
            slice(Some(104)),
        ];
        let p = |max_postings| KeywordParams {
            k: 3,
            min_shared: 3,
            max_postings,
            ..KeywordParams::default()
        };
        let pairs = candidate_pairs(&kw, &[0, 1, 2, 3, 4], &slices, p(10));
        // 2 meets only the undated 3; the undated 3 meets everyone before it.
        assert_eq!(
            pairs,
            vec![(0, 1), (0, 3), (1, 3), (2, 3), (0, 4), (1, 4), (3, 4)]
        );
        // The cap counts only the neighbourhood: with a cap of 2, the undated 3 (which
        // sees 0, 1 and 2) and 4 (which sees 0, 1 and 3) link nothing.
        let pairs = candidate_pairs(&kw, &[0, 1, 2, 3, 4], &slices, p(2));
        assert_eq!(pairs, vec![(0, 1)]);
        // Far from 0 and 1, three documents of one day stay under a cap of 2 that the
        // corpus as a whole exceeds.
        let slices = [slice(Some(0)), slice(Some(1)), slice(Some(50)), slice(Some(50)), slice(Some(51))];
        let pairs = candidate_pairs(&kw, &[0, 1, 2, 3, 4], &slices, p(2));
        assert_eq!(pairs, vec![(0, 1), (2, 3), (2, 4), (3, 4)]);
    }
}
