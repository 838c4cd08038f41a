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
//!
//! Rewrites are only paired within the rewrite window, so the batch
//! ([`candidate_pairs`]) counts and links, for a dated document, only the earlier
//! documents near it in time ([`time_slice`]), and keeps at most `max_pairs` partners per
//! document: the work per document no longer grows with the corpus (at 1M synthetic
//! documents a word of the whole corpus's 0.1% was in 1,000 documents, most of them
//! months away). Undated documents are near every document, as before. The index
//! (`crate::index`) follows the same rule: its keyword postings are chained per keyword and
//! per time slice too.

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
    /// A document is paired with at most this many earlier documents (the batch run):
    /// those sharing the most keywords with it. `usize::MAX` (the default) for no cap:
    /// the incremental index keeps every partner, and the batch must agree with it; the
    /// work per document is bounded by `k * max_postings` postings of its neighbourhood.
    pub max_pairs: usize,
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
            max_pairs: usize::MAX,
        }
    }
}

/// The keywords of one document, sorted.
#[must_use]
pub fn keywords(f: &Features, w: &Weights, stats: &TermStats, p: KeywordParams) -> Vec<u32> {
    let df: Vec<u32> = f.terms.iter().map(|&t| stats.df(t)).collect();
    keywords_with_df(f, w, &df, stats.docs(), p)
}

/// [`keywords`], the body words' document counts read already (`df`, aligned with
/// `f.terms`) among `docs` documents: the Index reads them once for the weights and
/// both of its keyword lists.
pub(crate) fn keywords_with_df(
    f: &Features,
    w: &Weights,
    df: &[u32],
    docs: u32,
    p: KeywordParams,
) -> Vec<u32> {
    debug_assert_eq!(df.len(), f.terms.len());
    let max_df = p.max_df(docs);
    // Room for every word at once (a filtered iterator would grow the vector step by step).
    let mut cand: Vec<(f32, u32)> = Vec::with_capacity(f.terms.len());
    cand.extend(
        f.terms
            .iter()
            .zip(&f.tf)
            .zip(&w.terms)
            .zip(df)
            .filter(|&(_, &df)| df >= p.min_df && df <= max_df)
            .map(|(((&t, &tf), &idf), _)| ((1.0 + f32::from(tf).ln()) * idf, t)),
    );
    // The `k` heaviest, ties by term so the choice is deterministic: a total order
    // (terms are distinct), so its first `k` are one set, whose order does not matter
    // (sorted by term below) and need not be sorted out of all the words.
    if cand.len() > p.k && p.k > 0 {
        cand.select_nth_unstable_by(p.k - 1, |a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    }
    cand.truncate(p.k);
    // A list of its own size: collected from `cand` itself, it would keep `cand`'s
    // room for every word (a night holds two lists per document).
    let mut out: Vec<u32> = cand.iter().map(|&(_, t)| t).collect();
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

/// Whether documents of slices `a` and `b` are paired by keywords: the same or
/// neighbouring slices, or either undated.
#[must_use]
pub fn near_in_time(a: i32, b: i32) -> bool {
    a == UNDATED || b == UNDATED || (i64::from(a) - i64::from(b)).abs() <= 1
}

/// Keyword postings by term, then time slice, then document, laid out so that a
/// document's neighbours under a keyword are found in a few cache lines, without
/// searching: the postings of 1M documents fill hundreds of MB, and binary searches
/// over them missed the cache at every step.
struct Postings {
    /// `(term, slice, start)` of each (term, slice) run in `docs`, ascending by term
    /// then slice, `term` numbering the distinct terms; a last entry closes the last run.
    groups: Vec<(u32, i32, u32)>,
    /// Term `i`'s runs are `groups[first[i]..first[i + 1]]`.
    first: Vec<u32>,
    /// Documents of each run, ascending.
    docs: Vec<u32>,
    /// For the `j`-th keyword of the `i`-th listed document, `own[at[i] + j]` is the run
    /// holding the document under it.
    own: Vec<u32>,
    /// See `own`.
    at: Vec<usize>,
}

impl Postings {
    fn new(kw: &[Vec<u32>], docs: &[u32], slice: &[i32]) -> Self {
        let mut at = Vec::with_capacity(docs.len() + 1);
        let mut total = 0;
        for &d in docs {
            at.push(total);
            total += kw[d as usize].len();
        }
        at.push(total);
        // (term, slice, document, place in `own`).
        let mut all: Vec<(u32, i32, u32, u32)> = Vec::with_capacity(total);
        for (&d, &a) in docs.iter().zip(&at) {
            let s = slice[d as usize];
            for (j, &t) in kw[d as usize].iter().enumerate() {
                all.push((t, s, d, (a + j) as u32));
            }
        }
        all.par_sort_unstable();
        let mut out = Postings {
            groups: Vec::new(),
            first: Vec::new(),
            docs: Vec::with_capacity(total),
            own: vec![0; total],
            at,
        };
        let mut last: Option<(u32, i32)> = None;
        for &(t, s, d, place) in &all {
            if last.is_none_or(|(lt, _)| lt != t) {
                out.first.push(out.groups.len() as u32);
            }
            if last != Some((t, s)) {
                let term = out.first.len() as u32 - 1;
                out.groups.push((term, s, out.docs.len() as u32));
                last = Some((t, s));
            }
            out.own[place as usize] = out.groups.len() as u32 - 1;
            out.docs.push(d);
        }
        out.first.push(out.groups.len() as u32);
        out.groups.push((u32::MAX, UNDATED, out.docs.len() as u32));
        out
    }

    /// Into `near`, the documents before `d` that list its `j`-th keyword in its time
    /// neighbourhood (see [`candidate_pairs`]), one run per slice; `i` is the place of
    /// `d` among the listed documents and `s` its slice.
    fn earlier<'a>(&'a self, i: usize, j: usize, s: i32, d: u32, near: &mut Vec<&'a [u32]>) {
        near.clear();
        let g = self.own[self.at[i] + j] as usize;
        let term = self.groups[g].0 as usize;
        let (lo, hi) = (self.first[term] as usize, self.first[term + 1] as usize);
        let mut take = |k: usize| {
            let (a, b) = (self.groups[k].2 as usize, self.groups[k + 1].2 as usize);
            let run = &self.docs[a..b];
            near.push(&run[..run.partition_point(|&e| e < d)]);
        };
        if s == UNDATED {
            (lo..hi).for_each(&mut take);
            return;
        }
        // The slices beside `d`'s own, where the term has them; then the undated (the
        // term's last run, if any: `UNDATED` sorts last).
        if g > lo && self.groups[g - 1].1 == s - 1 {
            take(g - 1);
        }
        take(g);
        if g + 1 < hi && self.groups[g + 1].1 == s + 1 {
            take(g + 1);
        }
        if self.groups[hi - 1].1 == UNDATED {
            take(hi - 1);
        }
    }
}

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
    let postings = Postings::new(kw, docs, slice);
    let per_doc: Vec<Vec<(u32, u32)>> = docs
        .par_iter()
        .enumerate()
        .map_init(Vec::new, |near, (i, &d)| {
            let s = slice[d as usize];
            let mut earlier: Vec<u32> = Vec::new();
            for j in 0..kw[d as usize].len() {
                // Only documents before `d` count, so an index that grows one document
                // at a time finds the same pairs.
                postings.earlier(i, j, s, d, near);
                let count: usize = near.iter().map(|r| r.len()).sum();
                if count <= p.max_postings {
                    earlier.extend(near.iter().copied().flatten());
                }
            }
            earlier.sort_unstable();
            // (shared keywords, earlier document) of the candidates.
            let mut found: Vec<(usize, u32)> = earlier
                .chunk_by(|x, y| x == y)
                .filter(|same| same.len() >= p.min_shared)
                .map(|same| (same.len(), same[0]))
                .collect();
            if found.len() > p.max_pairs {
                // The versions of a story share most of their keywords; documents that
                // merely share a sentence or a name share a few. Keep those sharing the
                // most (ties: the earlier documents), so that the pairs per document stay
                // bounded however dense the corpus is around its date.
                found.select_nth_unstable_by(p.max_pairs, |x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)));
                found.truncate(p.max_pairs);
                found.sort_unstable_by_key(|&(_, e)| e);
            }
            found.into_iter().map(|(_, e)| (e, d)).collect::<Vec<_>>()
        })
        .collect();
    per_doc.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Oracle: every candidate sorted, heaviest first and ties by term, cut to `k`.
    #[test]
    fn keywords_are_the_k_heaviest_of_a_full_sort() {
        let mut x = 7u64;
        let mut next = |m: u64| {
            x = crate::sketch::minhash::mix64(x);
            x % m
        };
        for round in 0..200 {
            let n = next(300) as usize;
            let mut terms: Vec<u32> = (0..n).map(|_| next(5_000) as u32).collect();
            terms.sort_unstable();
            terms.dedup();
            // Few distinct counts and weights, so that scores tie often.
            let tf: Vec<u16> = terms.iter().map(|_| 1 + next(3) as u16).collect();
            let stats = TermStats::from_counts(1_000, terms.iter().map(|&t| (t, 1 + t % 40)));
            let f = Features {
                terms: terms.clone(),
                tf,
                ..Features::default()
            };
            let w = crate::verify::Weights::new(&f, &stats);
            let p = KeywordParams {
                k: round % 25,
                ..KeywordParams::default()
            };
            let max_df = p.max_df(stats.docs());
            let mut oracle: Vec<(f32, u32)> = (0..terms.len())
                .filter(|&i| (p.min_df..=max_df).contains(&stats.df(terms[i])))
                .map(|i| ((1.0 + f32::from(f.tf[i]).ln()) * w.terms[i], terms[i]))
                .collect();
            oracle.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
            let mut expected: Vec<u32> = oracle.iter().take(p.k).map(|c| c.1).collect();
            expected.sort_unstable();
            let got = keywords(&f, &w, &stats, p);
            assert_eq!(got, expected, "round {round}");
            // A night holds two lists per document: none keeps room for every word.
            assert_eq!(got.capacity(), got.len(), "round {round}");
        }
    }

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
    fn pairs_per_document_keep_those_sharing_most() {
        let kw = vec![
            vec![1, 2, 3, 4, 5],
            vec![1, 2, 3],
            vec![1, 2, 3, 4],
            vec![1, 2, 3, 4, 5],
            vec![1, 2, 3],
        ];
        let p = KeywordParams {
            k: 5,
            min_shared: 3,
            max_pairs: 2,
            ..KeywordParams::default()
        };
        let pairs = candidate_pairs(&kw, &[0, 1, 2, 3, 4], &[UNDATED; 5], p);
        // 2 shares 3 words with 0 and 1; 3 shares 5 with 0, 4 with 2 and 3 with 1; 4
        // shares 3 with each: ties go to the earlier documents.
        assert_eq!(
            pairs,
            vec![(0, 1), (0, 2), (1, 2), (0, 3), (2, 3), (0, 4), (1, 4)]
        );
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
        let slices = [
            slice(Some(0)),
            slice(Some(1)),
            slice(Some(50)),
            slice(Some(50)),
            slice(Some(51)),
        ];
        let pairs = candidate_pairs(&kw, &[0, 1, 2, 3, 4], &slices, p(2));
        assert_eq!(pairs, vec![(0, 1), (2, 3), (2, 4), (3, 4)]);
    }
}
