//! Inserting documents into an [`Index`](super::Index): a search, then a commit.
//!
//! **Search** (in parallel over the documents). The new documents are taken in the
//! order of their ids. Each one's candidates are the documents held and the batch's
//! documents before it, as if they had been inserted one at a time in that order: the
//! same LSH bucket and keyword-posting caps, the same exact-copy representative
//! ([`State::plan`]). Every candidate is verified ([`Plan::verify`]). Then neighbours of
//! neighbours are paired (as [`crate::closing`] pairs them in the batch run): every
//! document touched by a new edge with at most [`MAX_DEGREE`] near neighbours has its
//! neighbours verified against each other, where the pair involves a new document or
//! the neighbour is new.
//!
//! Where the lock is: a learning index, and any batch larger than [`MEMO_BATCH`] (a
//! night), search under the shared lock throughout. A frozen index's small inserts
//! ([`super::Index::insert_frozen`]) hold it only to walk the tables: keywords are
//! chosen before (and a single document's own batch tables made), and the candidates
//! verified after, against their sets taken ([`Held::Taken`]: sets are shared and never
//! written once committed; the statistics never change). So inserts from several
//! threads wait for each other only for table walks and commits. When another insert
//! committed between the walk and the pairing of neighbours of neighbours, the walk is
//! checked ([`State::plan_stands`]) and, when it stands, the pairing is made from the
//! edges as they are then.
//!
//! **Commit** (`Index::commit`): under the upgradable lock (one commit at a time,
//! searches go on), the search is checked and its edges sorted out; under the exclusive
//! lock, the documents enter the tables with their edges; under the shared lock again,
//! holding the groups' own lock, the groups they touch are formed again
//! ([`crate::group::Online::regroup`]) and the verdicts read. When another insert
//! committed between the two phases, the search is checked ([`State::search_stands`]:
//! nothing it read changed; a keyword over the posting cap stays over it) or runs again
//! under the shared lock (then is checked again), reusing every verification the first
//! search made (a [`Search`] is its own memo) and the batch's word weights (a frozen
//! index's), and walking only the buckets and postings the documents committed since
//! entered (their new members are those documents: [`FRESH_FROM_DOCS`]). So an
//! insert's edges are those of a sequential insertion in commit order, while most of
//! the work runs outside the exclusive lock.

use rayon::prelude::*;

use std::sync::Arc;

use super::{MAX_BUCKET, PackedSets, Prepared, Slot, State};
use crate::closing::MAX_DEGREE;
use crate::config::{Config, Method};
use crate::features::Features;
use crate::hamming::HammingTable;
use crate::keywords::{self, KeywordParams};
use crate::verify::{
    DocView, Edge, Judgement, Rarity, Relation, Scores, Verifier, Weights, held_words, with_words,
    words_sampled,
};
use crate::weights::{KeyMap, TermStats};

/// A document an edge may join: one held (by number) or one of the batch (by position
/// in id order). Held documents come before the batch's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Doc {
    Held(u32),
    New(u32),
}

/// Below this many items, work stays on the caller's thread: a single insert handed to
/// the thread pool would cost more in hand-overs than it does (and inserts from many
/// threads would queue on the pool).
const PARALLEL_FROM: usize = 256;

/// `f` over `0..n`, in parallel when there is enough to share.
fn map_range<T: Send>(n: usize, f: impl Fn(usize) -> T + Sync + Send) -> Vec<T> {
    if n < PARALLEL_FROM {
        (0..n).map(f).collect()
    } else {
        (0..n).into_par_iter().map(f).collect()
    }
}

/// Sorts, in parallel when there is enough to share.
fn sort<T: Ord + Send>(v: &mut [T]) {
    if v.len() < PARALLEL_FROM * 16 {
        v.sort_unstable();
    } else {
        v.par_sort_unstable();
    }
}

/// A verification's outcome: an edge, a refusal as different stories, or neither.
type Outcome = Judgement;

/// One document's verified candidates: its edges to older documents, by the older one,
/// and the older ones refused as different stories (few), ascending.
type Verified = (Vec<(Doc, Relation, Scores)>, Vec<Doc>);

/// Batches up to this size keep every candidate tried, for a search run again to reuse
/// (single inserts racing each other); larger ones (a night) keep their edges only.
pub(super) const MEMO_BATCH: usize = 64;

/// The documents of one insert, in id order, with what their search needs.
pub(super) struct Batch {
    /// The documents, in id order.
    pub docs: Vec<Prepared>,
    /// Each document's position in the caller's list.
    pub input: Vec<usize>,
    /// Keywords looked up in the postings, and keywords listed there (see
    /// [`candidate_keywords`]).
    lookup: Vec<Vec<u32>>,
    /// Word weights under the statistics the batch was made with, per document (small
    /// batches only; empty for a copy and without the rewrite tier).
    weights: Vec<Option<Weights>>,
    /// Whether the statistics the weights come from move with every commit (a learning
    /// index): a search made again then weighs the words anew.
    learn: bool,
    pub listed: Vec<Vec<u32>>,
    /// The batch's first document with the same body, when it is not this one.
    first: Vec<Option<u32>>,
    /// Whether a document's keywords were left out because its body was held (see
    /// [`State::index_batch_again`]).
    unlisted: Vec<bool>,
    /// The batch's representatives by (band, bucket key), then ascending: each bucket
    /// a run (flat sorted lists: a map of small vectors costs ten times the memory).
    buckets: Vec<(u32, u32, u32)>,
    /// `bucket_at[i * bands + band]`: where representative `i`'s entry of `band` is in
    /// `buckets` (binary searches there were a quarter of a night's time).
    bucket_at: Vec<u32>,
    /// The representatives in the batch's tables, ascending.
    entered: Vec<u32>,
    /// The batch's representatives by keyword listed, then time slice, then ascending.
    postings: Vec<(u32, i32, u32)>,
    /// Each document's time slice ([`keywords::time_slice`]).
    slices: Vec<i32>,
    /// Keyword → where its run starts in `postings`, and its length.
    posting_start: KeyMap<u32, (u32, u32)>,
    /// With `SimHash`: the batch's representatives' fingerprints.
    hamming: Option<HammingTable>,
}

impl Batch {
    /// Number of documents.
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// The view of the batch's document `i` for verification, with word rarity from
    /// `weights` (its own, or the index's statistics).
    fn view<'a>(&'a self, i: u32, rarity: Rarity<'a>) -> DocView<'a> {
        let p = &self.docs[i as usize];
        DocView {
            features: &p.features,
            rarity,
            timestamp: p.doc.timestamp,
        }
    }

    /// The batch of `prepared` documents (whose ids are checked: new and distinct), in
    /// id order, with their weights and keywords, under word statistics `stats`; its
    /// tables come from [`State::index_batch`]. `held_body` says whether a body is held
    /// (its copies need no keywords).
    pub fn new(
        config: &Config,
        stats: &TermStats,
        learn: bool,
        prepared: Vec<(usize, Prepared)>,
        held_body: impl Fn(u64) -> bool + Sync,
    ) -> Batch {
        let mut prepared = prepared;
        prepared.sort_by(|(_, x), (_, y)| {
            super::id_hash(&x.doc.id)
                .cmp(&super::id_hash(&y.doc.id))
                .then_with(|| x.doc.id.cmp(&y.doc.id))
        });
        let (input, mut docs): (Vec<usize>, Vec<Prepared>) = prepared.into_iter().unzip();
        let n = docs.len();
        let mut first = vec![None; n];
        let mut seen: KeyMap<u64, u32> = KeyMap::default();
        for (i, p) in docs.iter().enumerate() {
            if p.listed {
                match seen.get(&p.features.exact) {
                    Some(&f) => first[i] = Some(f),
                    None => {
                        seen.insert(p.features.exact, i as u32);
                    }
                }
            }
        }
        // A small batch keeps each document's word weights for its first verification
        // (a night's would cost about a kilobyte per document).
        let keep = n <= MEMO_BATCH;
        let sample = config.footprint.sample();
        let mut weights: Vec<Option<Weights>> = Vec::new();
        let mut lookup = Vec::with_capacity(n);
        let mut listed = Vec::with_capacity(n);
        let mut held = Vec::with_capacity(n);
        let mut unlisted = vec![false; n];
        for (i, (kw, w, words, skipped)) in map_range(n, |i| {
            let p = &docs[i];
            // A body longer than the sample holds the words verification reads of it
            // under these statistics (`Index::prepare` packs none of its sets).
            let sampled = words_sampled(&p.features, sample.words);
            let words = |rarity| sampled.then(|| held_words(&p.features, rarity, sample.words));
            let none = !config.rewrites || !p.listed || first[i].is_some();
            let unlisted = !none && held_body(p.features.exact);
            if none || unlisted {
                return (
                    (Vec::new(), Vec::new()),
                    None,
                    words(Rarity::Stats(stats)),
                    unlisted,
                );
            }
            // Each word's count read once, for its weight and both keyword lists.
            let df: Vec<u32> = p.features.terms.iter().map(|&t| stats.df(t)).collect();
            let w = Weights::with_df(&p.features, &df, stats);
            let kw = candidate_keywords(&p.features, &w, &df, stats, learn);
            let words = words(Rarity::Weights(&w));
            (kw, keep.then_some(w), words, false)
        })
        .into_iter()
        .enumerate()
        {
            unlisted[i] = skipped;
            lookup.push(kw.0);
            listed.push(kw.1);
            held.push(words);
            if keep {
                weights.push(w);
            }
        }
        // Each document's keywords packed beside its sets, one at a time (a night's
        // documents would otherwise hold both packings at once).
        let pack = |((p, kw), words): ((&mut Prepared, &Vec<u32>), &Option<Vec<u32>>)| {
            if let Some(words) = words {
                let keys = [&p.bands[..], kw].concat();
                p.packed = PackedSets::new(&p.features, sample.shingles, words, &keys);
            } else if let Some(packed) = p.with_keywords(kw) {
                p.packed = packed;
            }
        };
        if n < PARALLEL_FROM {
            docs.iter_mut().zip(&listed).zip(&held).for_each(pack);
        } else {
            docs.par_iter_mut().zip(&listed).zip(&held).for_each(pack);
        }
        let mut batch = Batch {
            docs,
            input,
            lookup,
            listed,
            weights,
            learn,
            first,
            unlisted,
            buckets: Vec::new(),
            bucket_at: Vec::new(),
            entered: Vec::new(),
            postings: Vec::new(),
            slices: Vec::new(),
            posting_start: KeyMap::default(),
            hamming: (config.method == Method::SimHash).then(|| HammingTable::new(config.hamming)),
        };
        batch.slices = batch
            .docs
            .iter()
            .map(|p| keywords::time_slice(p.doc.timestamp, config.rewrite_window_days))
            .collect();
        batch
    }

    /// Enters the representatives into the batch's own tables, those whose body
    /// `held_body` says is held excepted (the held representative stands for them);
    /// `bands` per document.
    pub(super) fn index(&mut self, bands: usize, held_body: impl Fn(u64) -> bool) {
        let entering = self.entering(held_body);
        self.enter(bands, entering);
    }

    /// The representatives [`Batch::index`] enters, ascending.
    fn entering(&self, held_body: impl Fn(u64) -> bool) -> Vec<u32> {
        (0..self.len())
            .filter(|&i| self.is_rep(i) && !held_body(self.docs[i].features.exact))
            .map(|i| i as u32)
            .collect()
    }

    /// Makes the batch's own tables hold `entering` (ascending), and nothing else.
    fn enter(&mut self, bands: usize, entering: Vec<u32>) {
        let n = self.len();
        self.buckets.clear();
        self.postings.clear();
        self.posting_start.clear();
        if let Some(table) = &mut self.hamming {
            *table = HammingTable::new(table.k());
        }
        // Room made once, not step by step (a night's lists are large).
        let keys: usize = entering
            .iter()
            .map(|&i| self.docs[i as usize].bands.len())
            .sum();
        let listed: usize = entering
            .iter()
            .map(|&i| self.listed[i as usize].len())
            .sum();
        self.buckets.reserve_exact(keys);
        self.postings.reserve_exact(listed);
        for &i in &entering {
            let i = i as usize;
            let p = &self.docs[i];
            for (band, &key) in p.bands.iter().enumerate() {
                self.buckets.push((band as u32, key, i as u32));
            }
            if let (Some(table), Some(fp)) = (&mut self.hamming, p.fingerprint) {
                table.insert(i as u32, fp);
            }
            for &t in &self.listed[i] {
                self.postings.push((t, self.slices[i], i as u32));
            }
        }
        sort(&mut self.buckets);
        self.bucket_at = vec![u32::MAX; n * bands];
        for (k, &(band, _, i)) in self.buckets.iter().enumerate() {
            self.bucket_at[i as usize * bands + band as usize] = k as u32;
        }
        sort(&mut self.postings);
        self.posting_start.reserve(self.postings.len());
        for (k, &(t, _, _)) in self.postings.iter().enumerate() {
            self.posting_start.entry(t).or_insert((k as u32, 0)).1 += 1;
        }
        self.entered = entering;
    }

    /// Whether document `i` is listed in the tables (a body's first document).
    fn is_rep(&self, i: usize) -> bool {
        self.docs[i].listed && self.first[i].is_none()
    }
}

/// Keywords a new document looks up, and those it is listed under: the same unless
/// the index learns its statistics, when it also lists its new words (those the later
/// versions of its story will share).
fn candidate_keywords(
    features: &crate::features::Features,
    w: &crate::verify::Weights,
    df: &[u32],
    stats: &TermStats,
    learn: bool,
) -> (Vec<u32>, Vec<u32>) {
    let params = KeywordParams::default();
    let lookup = keywords::keywords_with_df(features, w, df, stats.docs(), params);
    if !learn {
        return (lookup.clone(), lookup);
    }
    let listed = KeywordParams {
        min_df: 1,
        ..params
    };
    (
        lookup,
        keywords::keywords_with_df(features, w, df, stats.docs(), listed),
    )
}

/// The held documents one document's search walked to: per band, the bucket members
/// taken (newest first); per lookup keyword, the documents listing it near in time (none
/// when over the cap) and the count held against the cap (documents held and of the
/// batch before). A search run again reads only what was committed since.
#[derive(Debug, Clone, Default)]
struct Walked {
    bands: Lists,
    keywords: Lists,
    counts: Vec<u32>,
}

/// Lists of document numbers in one buffer: a walk's, one per band and one per lookup
/// keyword (a vector each made a dozen allocations an insert, most under the lock).
#[derive(Debug, Clone, Default)]
struct Lists {
    items: Vec<u32>,
    /// Where each list ends in `items`.
    ends: Vec<u32>,
}

impl Lists {
    /// Room for `lists` lists of `items` documents in all.
    fn with_capacity(lists: usize, items: usize) -> Self {
        Lists {
            items: Vec::with_capacity(items),
            ends: Vec::with_capacity(lists),
        }
    }

    /// Appends a list.
    fn push(&mut self, list: impl IntoIterator<Item = u32>) {
        self.items.extend(list);
        self.ends.push(self.items.len() as u32);
    }

    /// The lists from `(list, item)` pairs sorted by list, `lists` of them.
    fn from_sorted_pairs(pairs: &[(u32, u32)], lists: usize) -> Self {
        let mut out = Lists {
            items: pairs.iter().map(|&(_, d)| d).collect(),
            ends: Vec::with_capacity(lists),
        };
        let mut at = 0;
        for k in 0..lists as u32 {
            at += pairs[at..].iter().take_while(|p| p.0 == k).count();
            out.ends.push(at as u32);
        }
        debug_assert_eq!(at, pairs.len());
        out
    }

    /// The lists, in order.
    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = &[u32]> {
        (0..self.ends.len()).map(|k| &self[k])
    }
}

impl std::ops::Index<usize> for Lists {
    type Output = [u32];
    fn index(&self, k: usize) -> &[u32] {
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
        &self.items[start..self.ends[k] as usize]
    }
}

impl Walked {
    /// Whether the `k`-th lookup keyword was under the posting cap.
    fn under(&self, k: usize) -> Option<bool> {
        let cap = KeywordParams::default().max_postings;
        self.counts.get(k).map(|&c| c as usize <= cap)
    }

    /// Whether each lookup keyword was under the posting cap.
    #[cfg(test)]
    fn unders(&self) -> Vec<bool> {
        (0..self.counts.len())
            .filter_map(|k| self.under(k))
            .collect()
    }
}

/// The walk of a search run again: the earlier one's, the number of documents held
/// then, and the bucket keys and keywords of the documents committed since (a bucket
/// or posting none of them entered is as it was: the earlier walk stands).
#[derive(Clone, Copy)]
struct Prev<'a> {
    since: u32,
    walked: &'a Walked,
    fresh: &'a Fresh,
}

/// The bucket keys (band << 32 | key) and keywords of the documents committed since a
/// search, and those documents (with their time slices), ascending.
#[derive(Default)]
struct Fresh {
    bands: crate::weights::KeySet<u64>,
    keywords: crate::weights::KeySet<u32>,
    docs: Vec<(u32, i32)>,
}

/// Up to this many documents committed since a search, a search run again takes the new
/// members of its buckets and postings from those documents rather than from the tables
/// (the same documents: within an epoch a commit only puts documents at the heads of
/// chains). Each table lookup is a cache miss with a million documents held; the
/// documents just committed are in cache.
const FRESH_FROM_DOCS: usize = 16;

/// What a search found: every pair verified, with its outcome. It is also the memo of a
/// search run again (see the module docs).
pub(super) struct Search {
    /// [`State::generation`] when it ran.
    pub generation: u64,
    /// [`State::epoch`] when it ran: held numbers and edges are valid while it stays.
    epoch: u64,
    /// Per batch document: its edges to older documents, by the older one.
    direct: Vec<Vec<(Doc, Relation, Scores)>>,
    /// Per batch document: the older documents refused as different stories, ascending.
    apart: Vec<Vec<Doc>>,
    /// Per batch document: every candidate tried (edge or not), sorted, and the held
    /// documents its search walked to; kept for small batches only ([`MEMO_BATCH`]).
    tried: Option<Vec<Vec<Doc>>>,
    walked: Option<Vec<Walked>>,
    /// Documents held (slots) when it ran: those numbered from here on came since.
    slots: u32,
    /// Pairs of neighbours of neighbours (older first), sorted, with outcomes (edges
    /// only, past [`MEMO_BATCH`]).
    closing: Vec<((Doc, Doc), Outcome)>,
    /// False when the neighbours of neighbours were not paired (another insert committed
    /// first): such a search never stands ([`State::search_stands`]).
    paired: bool,
}

impl Search {
    fn direct_outcome(&self, i: usize, c: Doc) -> Option<Outcome> {
        self.tried.as_ref()?.get(i)?.binary_search(&c).ok()?;
        let edges = &self.direct[i];
        Some(match edges.binary_search_by(|x| x.0.cmp(&c)) {
            Ok(k) => Judgement::Related(edges[k].1, edges[k].2),
            Err(_) if self.apart[i].binary_search(&c).is_ok() => Judgement::Apart,
            Err(_) => Judgement::Unrelated,
        })
    }

    fn closing_outcome(&self, pair: (Doc, Doc)) -> Option<Outcome> {
        self.closing
            .binary_search_by(|x| x.0.cmp(&pair))
            .ok()
            .map(|k| self.closing[k].1)
    }

    /// The verified edges, with the batch's documents numbered from `base`, each with
    /// whether neighbours of neighbours found it (see [`Neighbour::closing`]).
    ///
    /// [`Neighbour::closing`]: crate::group::Neighbour::closing
    pub fn edges(&self, base: u32) -> Vec<(Edge, bool)> {
        let num = |d: Doc| match d {
            Doc::Held(a) => a,
            Doc::New(i) => base + i,
        };
        let mut out = Vec::new();
        for (i, list) in self.direct.iter().enumerate() {
            for &(c, relation, scores) in list {
                let e = Edge {
                    a: num(c),
                    b: base + i as u32,
                    relation,
                    scores,
                };
                out.push((e, false));
            }
        }
        for &((x, y), found) in &self.closing {
            if let Judgement::Related(relation, scores) = found {
                let e = Edge {
                    a: num(x),
                    b: num(y),
                    relation,
                    scores,
                };
                out.push((e, true));
            }
        }
        out
    }

    /// The pairs refused as different stories, lower number first, with the batch's
    /// documents numbered from `base`, each with whether neighbours of neighbours found
    /// it (such a refusal stands as long as a closing edge would).
    pub fn apart(&self, base: u32) -> Vec<(u32, u32, bool)> {
        let num = |d: Doc| match d {
            Doc::Held(a) => a,
            Doc::New(i) => base + i,
        };
        let mut out = Vec::new();
        for (i, list) in self.apart.iter().enumerate() {
            out.extend(list.iter().map(|&c| (num(c), base + i as u32, false)));
        }
        for &((x, y), found) in &self.closing {
            if found == Judgement::Apart {
                out.push((num(x), num(y), true));
            }
        }
        out
    }
}

/// The held documents a search verifies against: the state itself (its lock held
/// throughout), or the candidates' slots and the word statistics taken under the lock
/// and read without it (a frozen index's single inserts; see [`super::Index::insert`]).
pub(super) enum Held<'s> {
    State(&'s State),
    Taken {
        slots: KeyMap<u32, Taken>,
        /// The frozen index's statistics, borrowed: cloning their `Arc` wrote its count,
        /// a cache line every inserting thread writes, on each insert.
        stats: &'s TermStats,
    },
}

/// What verification reads of a held document's slot, taken under the lock: its sets
/// (shared, never written once committed) and the fields beside them. Not its id:
/// cloning the id's `Arc` too wrote a second count, a second cache miss per candidate
/// under the lock.
pub(super) struct Taken {
    sets: PackedSets,
    exact: u64,
    words: u32,
    timestamp: Option<i64>,
}

impl Taken {
    fn of(slot: &Slot) -> Taken {
        Taken {
            sets: slot.sets.clone(),
            exact: slot.exact,
            words: slot.words,
            timestamp: slot.timestamp.get(),
        }
    }
}

impl Held<'_> {
    fn stats(&self) -> &TermStats {
        match self {
            Held::State(s) => &s.stats,
            Held::Taken { stats, .. } => stats,
        }
    }

    /// The view of `d` (held or of the batch) for verification, word rarity from the
    /// index's statistics; a held document's sets are unpacked into `buf`.
    fn view<'a>(&'a self, batch: &'a Batch, d: Doc, buf: &'a mut Features) -> DocView<'a> {
        match (d, self) {
            (Doc::New(i), _) => batch.view(i, Rarity::Stats(self.stats())),
            (Doc::Held(a), Held::State(s)) => s.view(a, buf),
            (Doc::Held(a), Held::Taken { slots, stats }) => {
                let s = &slots[&a];
                DocView {
                    features: super::unpack_features(&s.sets, s.exact, s.words, buf),
                    rarity: Rarity::Stats(stats),
                    timestamp: s.timestamp,
                }
            }
        }
    }
}

/// Verifies the batch document `i`'s candidates (`exact`: it is an exact copy of its
/// one candidate): its edges to older documents, by the older one.
#[allow(clippy::too_many_arguments)]
fn verify_candidates(
    config: &Config,
    verifier: &Verifier,
    batch: &Batch,
    held: &Held<'_>,
    memo: Option<&Search>,
    i: usize,
    cands: &[Doc],
    exact: bool,
) -> Verified {
    // The new document's word weights, computed once for all its pairs (the same values
    // as the statistics give), when a pair is not known already. A search takes those
    // the batch chose its keywords with (same statistics), but a learning index's
    // search made again after other commits computes them anew (its statistics moved).
    let kept = batch
        .weights
        .get(i)
        .and_then(Option::as_ref)
        .filter(|_| memo.is_none() || !batch.learn);
    let mut weights: Option<Weights> = None;
    let mut own: Option<Option<(Features, Weights)>> = None;
    let cap = config.footprint.sample().words;
    let mut buf = Features::default();
    let mut edges = Vec::new();
    let mut apart = Vec::new();
    for &c in cands {
        let found = if let Some(known) = memo.and_then(|m| m.direct_outcome(i, c)) {
            known
        } else {
            let w = match kept {
                Some(w) => w,
                None => weights.get_or_insert_with(|| {
                    if config.rewrites {
                        Weights::new(&batch.docs[i].features, held.stats())
                    } else {
                        Weights::default()
                    }
                }),
            };
            // A body longer than the sample is verified as it is held: its sample,
            // chosen as the batch was made (`Batch::new`), read back once for its pairs.
            let own = own.get_or_insert_with(|| {
                let p = &batch.docs[i];
                (config.rewrites && words_sampled(&p.features, cap)).then(|| {
                    let mut words = Vec::new();
                    p.packed.words_into(&mut words);
                    with_words(&p.features, w, words)
                })
            });
            let mut b = batch.view(i as u32, Rarity::Weights(w));
            if let Some((f, w)) = own {
                b.features = f;
                b.rarity = Rarity::Weights(w);
            }
            if exact {
                Judgement::Related(
                    Relation::Exact,
                    verifier.score(held.view(batch, c, &mut buf), b),
                )
            } else {
                verifier.judge(held.view(batch, c, &mut buf), b)
            }
        };
        match found {
            Judgement::Related(r, s) => edges.push((c, r, s)),
            Judgement::Apart => apart.push(c),
            Judgement::Unrelated => {}
        }
    }
    (edges, apart)
}

/// A search's candidates ([`State::plan`]), to be verified.
pub(super) struct Plan {
    pub generation: u64,
    epoch: u64,
    slots: u32,
    /// Per batch document: its candidates (sorted), whether it is an exact copy, and the
    /// held documents its walk took.
    cands: Vec<(Vec<Doc>, bool, Walked)>,
    memoise: bool,
}

impl Plan {
    /// Every candidate, held or of the batch.
    pub fn candidates(&self) -> impl Iterator<Item = Doc> + '_ {
        self.cands.iter().flat_map(|c| c.0.iter().copied())
    }

    /// Every candidate document `j` tried, when kept (small batches).
    fn tried(&self, j: usize) -> Option<&[Doc]> {
        self.cands
            .get(j)
            .filter(|_| self.memoise)
            .map(|c| c.0.as_slice())
    }

    /// Verifies the candidates: each document's edges to older ones, by the older one.
    pub fn verify(
        &self,
        config: &Config,
        batch: &Batch,
        held: &Held<'_>,
        memo: Option<&Search>,
        progress: &dyn crate::progress::Progress,
    ) -> Vec<Verified> {
        let verifier = Verifier::new(config);
        map_range(batch.len(), |i| {
            let (cands, exact, _) = &self.cands[i];
            if i % 1024 == 1023 {
                progress.advance(1024);
            }
            verify_candidates(config, &verifier, batch, held, memo, i, cands, *exact)
        })
    }

    /// Verifies neighbours of neighbours ([`State::closing_pairs`]).
    pub fn verify_closing(
        &self,
        config: &Config,
        batch: &Batch,
        held: &Held<'_>,
        pairs: &[(Doc, Doc)],
        memo: Option<&Search>,
    ) -> Vec<((Doc, Doc), Outcome)> {
        let verifier = Verifier::new(config);
        let mut out: Vec<((Doc, Doc), Outcome)> = map_range(pairs.len(), |k| {
            let (x, y) = pairs[k];
            let found = memo
                .and_then(|m| m.closing_outcome((x, y)))
                .unwrap_or_else(|| {
                    let [mut fx, mut fy] = <[Features; 2]>::default();
                    verifier.judge(held.view(batch, x, &mut fx), held.view(batch, y, &mut fy))
                });
            ((x, y), found)
        });
        if !self.memoise {
            out.retain(|x| x.1 != Judgement::Unrelated);
        }
        out
    }

    /// The search, with the verified edges.
    pub fn into_search(
        self,
        verified: Vec<Verified>,
        closing: Vec<((Doc, Doc), Outcome)>,
    ) -> Search {
        let (direct, apart) = verified.into_iter().unzip();
        let (tried, walked) = if self.memoise {
            let (t, w): (Vec<_>, Vec<_>) = self.cands.into_iter().map(|(c, _, w)| (c, w)).unzip();
            (Some(t), Some(w))
        } else {
            (None, None)
        };
        Search {
            generation: self.generation,
            epoch: self.epoch,
            direct,
            apart,
            tried,
            walked,
            slots: self.slots,
            closing,
            paired: true,
        }
    }
}

impl State {
    /// The batch of `prepared` documents (whose ids are checked: new and distinct), in
    /// id order, with their weights, keywords and the batch's own tables. Copies of a
    /// body held get no keywords; should the body leave before the commit (a removal),
    /// [`State::index_batch_again`] makes the batch again.
    pub(super) fn batch(&self, config: &Config, prepared: Vec<(usize, Prepared)>) -> Batch {
        let mut batch = Batch::new(config, &self.stats, self.learn, prepared, |exact| {
            self.rep_of(exact).is_some()
        });
        self.index_batch(&mut batch);
        batch
    }
    /// Enters the batch's representatives into its own tables (copies of a body held
    /// are not: the held representative is).
    pub(super) fn index_batch(&self, batch: &mut Batch) {
        batch.index(self.tables.banding.bands, |exact| {
            self.rep_of(exact).is_some()
        });
    }

    /// Before a search made again: enters the batch's representatives again when
    /// whether their bodies are held changed since (another commit held a copy of one,
    /// or a removal took one away), so that the batch's tables hold what a sequential
    /// insertion's would (a batch document whose body is held now would otherwise be
    /// found again as a document of its own). A document to enter whose keywords were
    /// left out ([`State::batch`] chooses none for a copy of a body held, and a removal
    /// took that body away since) makes the whole batch again, keywords chosen now.
    pub(super) fn index_batch_again(&self, config: &Config, batch: &mut Batch) {
        let entering = batch.entering(|exact| self.rep_of(exact).is_some());
        if entering.iter().any(|&i| batch.unlisted[i as usize]) {
            let docs = std::mem::take(&mut batch.docs);
            let input = std::mem::take(&mut batch.input);
            *batch = self.batch(config, input.into_iter().zip(docs).collect());
        } else if entering != batch.entered {
            batch.enter(self.tables.banding.bands, entering);
        }
    }

    /// Candidates of the batch's document `i` (older than it, sorted), and whether it is
    /// an exact copy (its one candidate is then its body's representative).
    fn candidates_of(
        &self,
        config: &Config,
        batch: &Batch,
        i: usize,
        prev: Option<Prev<'_>>,
    ) -> (Vec<Doc>, bool, Walked) {
        let p = &batch.docs[i];
        let mut walked = Walked::default();
        if !p.listed {
            return (Vec::new(), false, walked);
        }
        if let Some(rep) = self.rep_of(p.features.exact) {
            return (vec![Doc::Held(rep)], true, walked);
        }
        if let Some(f) = batch.first[i] {
            return (vec![Doc::New(f)], true, walked);
        }
        // Room made once for the walk's lists (grown push by push, they were a dozen
        // reallocations an insert, under the shared lock).
        walked.bands = Lists::with_capacity(p.bands.len(), 2 * p.bands.len());
        walked.counts.reserve_exact(batch.lookup[i].len());
        let mut cands: Vec<Doc> = Vec::with_capacity(4 * p.bands.len());
        if let (Some((table, _)), Some(fp)) = (&self.tables.hamming, p.fingerprint) {
            cands.extend(table.query(fp).into_iter().map(Doc::Held));
        }
        if let (Some(table), Some(fp)) = (&batch.hamming, p.fingerprint) {
            cands.extend(
                table
                    .query(fp)
                    .into_iter()
                    .filter(|&j| (j as usize) < i)
                    .map(Doc::New),
            );
        }
        // Every band's newest member first, the lookups side by side (each a cache miss
        // with a million documents held: one after another, they would queue).
        let newest: Vec<u32> = if prev.is_none() {
            p.bands
                .iter()
                .enumerate()
                .map(|(band, key)| self.bucket_head(band, *key))
                .collect()
        } else {
            Vec::new()
        };
        for (band, &key) in p.bands.iter().enumerate() {
            // The newest members first, as a bucket is walked: the batch's before `i`,
            // then the held ones.
            let at = batch.bucket_at[i * self.tables.banding.bands + band] as usize;
            let newer: Vec<u32> = batch.buckets[..at]
                .iter()
                .rev()
                .take(MAX_BUCKET)
                .take_while(|&&(b, k, _)| (b as usize, k) == (band, key))
                .map(|&(_, _, j)| j)
                .collect();
            let room = MAX_BUCKET - newer.len();
            cands.extend(newer.into_iter().map(Doc::New));
            // Held members: those committed since an earlier walk (the newest), then
            // what that walk took.
            let start = walked.bands.items.len();
            match prev {
                Some(p)
                    if !p
                        .fresh
                        .bands
                        .contains(&((band as u64) << 32 | u64::from(key))) =>
                {
                    walked.bands.push(p.walked.bands[band].iter().copied());
                }
                Some(p) if p.fresh.docs.len() <= FRESH_FROM_DOCS => walked.bands.push(
                    p.fresh
                        .docs
                        .iter()
                        .rev()
                        .map(|&(d, _)| d)
                        .filter(|&d| self.slot(d).bands().get(band) == Some(&key))
                        .chain(p.walked.bands[band].iter().copied())
                        .take(room),
                ),
                Some(p) => walked.bands.push(
                    self.bucket(band, key)
                        .take_while(|&d| d >= p.since)
                        .chain(p.walked.bands[band].iter().copied())
                        .take(room),
                ),
                None => walked
                    .bands
                    .push(self.bucket_from(band, newest[band]).take(room)),
            }
            cands.extend(walked.bands.items[start..].iter().map(|&d| Doc::Held(d)));
        }
        if config.rewrites {
            cands.extend(self.keyword_candidates_of(batch, i, prev, &mut walked));
        }
        cands.sort_unstable();
        cands.dedup();
        (cands, false, walked)
    }

    /// Documents (held, or of the batch before `i`) listing at least `min_shared` of the
    /// batch document `i`'s lookup keywords, under keywords listed by no more than
    /// `max_postings` documents before it. With `prev`, the held postings are those of
    /// an earlier walk plus the documents committed since.
    fn keyword_candidates_of(
        &self,
        batch: &Batch,
        i: usize,
        prev: Option<Prev<'_>>,
        walked: &mut Walked,
    ) -> Vec<Doc> {
        let params = KeywordParams::default();
        let mut listed: Vec<Doc> = Vec::new();
        // A dated document counts and links the documents of its time slice, the two
        // beside it and undated ones; an undated one, every document (as the batch run).
        let s = batch.slices[i];
        let near = [
            s.saturating_sub(1),
            s,
            s.saturating_add(1),
            keywords::UNDATED,
        ];
        let tables: Vec<_> = if s == keywords::UNDATED {
            Vec::new()
        } else {
            near.iter()
                .filter_map(|&sl| self.tables.postings.slice(sl))
                .collect()
        };
        // Every keyword's heads in those slices first, the lookups side by side (each a
        // cache miss or two with a million documents held: made in the loop below,
        // between its other work, they queued). A walk made again looks up few.
        let mut found: Vec<Option<(u32, u32)>> = Vec::new();
        if prev.is_none() {
            found.reserve_exact(batch.lookup[i].len() * tables.len());
            for &t in &batch.lookup[i] {
                found.extend(tables.iter().map(|table| table.head(t)));
            }
        }
        let mut heads: Vec<u32> = Vec::with_capacity(near.len());
        let mut before: Vec<u32> = Vec::new();
        listed.reserve(4 * batch.lookup[i].len());
        // The walk's documents, (keyword, document), and how many the walk below adds.
        let mut pairs: Vec<(u32, u32)> = Vec::new();
        let mut walking = 0;
        // The postings to walk, all keywords' at once: (keyword, head link).
        let mut cursors: Vec<(usize, u32)> = Vec::with_capacity(batch.lookup[i].len() * near.len());
        for (k, &t) in batch.lookup[i].iter().enumerate() {
            heads.clear();
            before.clear();
            if let Some(&(lo, len)) = batch.posting_start.get(&t) {
                let run = &batch.postings[lo as usize..(lo + len) as usize];
                if s == keywords::UNDATED {
                    before.extend(run.iter().filter(|e| (e.2 as usize) < i).map(|e| e.2));
                } else {
                    for &sl in &near {
                        let a = run.partition_point(|e| e.1 < sl);
                        let b = run.partition_point(|e| (e.1, e.2) < (sl, i as u32));
                        before.extend(run[a..b].iter().map(|e| e.2));
                    }
                }
            }
            if let Some(p) = prev
                && !p.fresh.keywords.contains(&t)
            {
                // No document committed since lists it: as the earlier walk found.
                let held = &p.walked.keywords[k];
                if p.walked.under(k) == Some(true) {
                    listed.extend(held.iter().map(|&d| Doc::Held(d)));
                    listed.extend(before.iter().map(|&j| Doc::New(j)));
                }
                pairs.extend(held.iter().map(|&d| (k as u32, d)));
                walked.counts.push(p.walked.counts[k]);
                continue;
            }
            if let Some(p) = prev
                && p.fresh.docs.len() <= FRESH_FROM_DOCS
            {
                // The documents committed since that list it near in time: those a walk
                // of its postings would meet first, added to the earlier walk's count.
                let since: Vec<u32> = p
                    .fresh
                    .docs
                    .iter()
                    .filter(|&&(d, sl)| {
                        (s == keywords::UNDATED || near.contains(&sl))
                            && self.slot(d).keywords().contains(&t)
                    })
                    .map(|&(d, _)| d)
                    .collect();
                let count = p.walked.counts[k] as usize + since.len();
                if count <= params.max_postings {
                    let held = since.iter().chain(&p.walked.keywords[k]);
                    listed.extend(held.clone().map(|&d| Doc::Held(d)));
                    listed.extend(before.iter().map(|&j| Doc::New(j)));
                    pairs.extend(held.map(|&d| (k as u32, d)));
                }
                walked.counts.push(count as u32);
                continue;
            }
            let mut count = 0usize;
            if s == keywords::UNDATED {
                for (head, c) in self.tables.postings.heads(t) {
                    heads.push(head);
                    count += c as usize;
                }
            } else {
                for (j, table) in tables.iter().enumerate() {
                    let head = match found.get(k * tables.len() + j) {
                        Some(&h) => h,
                        None => table.head(t),
                    };
                    if let Some((head, c)) = head {
                        heads.push(head);
                        count += c as usize;
                    }
                }
            }
            let chain = |head: u32| self.tables.postings.chain(head);
            let under = count + before.len() <= params.max_postings;
            if under {
                if let Some(p) = prev {
                    // Still under the cap: it was under it at the earlier walk too.
                    let from = pairs.len();
                    for &head in &heads {
                        pairs.extend(
                            chain(head)
                                .take_while(|&d| d >= p.since)
                                .map(|d| (k as u32, d)),
                        );
                    }
                    pairs.extend(p.walked.keywords[k].iter().map(|&d| (k as u32, d)));
                    listed.extend(pairs[from..].iter().map(|&(_, d)| Doc::Held(d)));
                } else {
                    // Walked below, with the other keywords' postings: `count` of them.
                    walking += count;
                    cursors.extend(heads.iter().map(|&h| (k, h)));
                }
                listed.extend(before.iter().map(|&j| Doc::New(j)));
            }
            walked.counts.push((count + before.len()) as u32);
        }
        pairs.reserve(walking);
        listed.reserve(walking);
        self.tables.postings.walk(&mut cursors, |k, d| {
            pairs.push((k as u32, d));
            listed.push(Doc::Held(d));
        });
        // By keyword, each keyword's documents in the order found (the sort is stable).
        pairs.sort_by_key(|p| p.0);
        walked.keywords = Lists::from_sorted_pairs(&pairs, batch.lookup[i].len());
        listed.sort_unstable();
        let mut out = Vec::new();
        for run in listed.chunk_by(|a, b| a == b) {
            if run.len() >= params.min_shared {
                out.push(run[0]);
            }
        }
        out
    }

    /// Finds and verifies the batch's edges (see the module docs), all under the lock
    /// held on `self`. `memo` is an earlier search of the same batch, whose outcomes are
    /// reused while its held numbers are valid.
    pub(super) fn search(
        &self,
        config: &Config,
        batch: &Batch,
        memo: Option<&Search>,
        progress: &dyn crate::progress::Progress,
    ) -> Search {
        let memo = memo.filter(|m| m.epoch == self.epoch);
        let held = Held::State(self);
        let (plan, direct) = if batch.len() <= MEMO_BATCH {
            let plan = self.plan(config, batch, memo);
            let direct = plan.verify(config, batch, &held, memo, progress);
            (plan, direct)
        } else {
            // A large batch (a night) keeps no candidates: each document's are verified
            // as soon as they are found (a night's lists would cost hundreds of MB).
            let verifier = Verifier::new(config);
            let direct = map_range(batch.len(), |i| {
                let (cands, exact, _) = self.candidates_of(config, batch, i, None);
                if i % 1024 == 1023 {
                    progress.advance(1024);
                }
                verify_candidates(config, &verifier, batch, &held, None, i, &cands, exact)
            });
            (self.plan_of(batch, Vec::new()), direct)
        };
        let pairs = if config.rewrites {
            self.closing_pairs(&direct, &plan)
        } else {
            Vec::new()
        };
        let closing = plan.verify_closing(config, batch, &held, &pairs, memo);
        plan.into_search(direct, closing)
    }

    /// The first part of a search: each batch document's candidates. `memo` must be of
    /// this epoch.
    pub(super) fn plan(&self, config: &Config, batch: &Batch, memo: Option<&Search>) -> Plan {
        let fresh = memo.map(|m| self.fresh_since(m.slots));
        let cands = map_range(batch.len(), |i| {
            let prev = memo.and_then(|m| {
                Some(Prev {
                    since: m.slots,
                    walked: m.walked.as_ref()?.get(i)?,
                    fresh: fresh.as_ref()?,
                })
            });
            self.candidates_of(config, batch, i, prev)
        });
        self.plan_of(batch, cands)
    }

    /// A plan of this state with these candidates.
    fn plan_of(&self, batch: &Batch, cands: Vec<(Vec<Doc>, bool, Walked)>) -> Plan {
        Plan {
            generation: self.generation,
            epoch: self.epoch,
            slots: self.slots.len() as u32,
            cands,
            memoise: batch.len() <= MEMO_BATCH,
        }
    }

    /// Whether `search`, made at an earlier generation of this epoch, is still the
    /// search of the state as it is, without running it again: when its walks stand
    /// ([`State::walks_stand`]), no held document the batch's neighbours of neighbours
    /// read (its near neighbours and theirs) gained or lost an edge since (a commit's
    /// retraction takes edges out: [`State::relinked`]), and it paired the neighbours
    /// of neighbours. When it stands, it is brought to this generation.
    pub(super) fn search_stands(
        &self,
        config: &Config,
        batch: &Batch,
        search: &mut Search,
    ) -> bool {
        if !search.paired
            || search.tried.is_none()
            || search.generation < self.relinked_from
            || !self.walks_stand(config, batch, search.epoch, search.slots, |i| {
                search.walked.as_ref()?.get(i)
            })
        {
            return false;
        }
        let relinked: Vec<u32> = self
            .relinked
            .iter()
            .filter(|&&(g, _)| g >= search.generation)
            .map(|&(_, d)| d)
            .collect();
        if !relinked.is_empty() {
            for &(c, relation, _) in search.direct.iter().flatten() {
                let Doc::Held(w) = c else { continue };
                if relation == Relation::Exact {
                    continue;
                }
                if relinked.contains(&w)
                    || self.links[w as usize]
                        .iter()
                        .any(|l| relinked.contains(&l.doc()))
                {
                    return false;
                }
            }
        }
        search.generation = self.generation;
        search.slots = self.slots.len() as u32;
        true
    }

    /// Whether `plan`'s walks, made at an earlier generation of this epoch, still stand
    /// ([`State::walks_stand`]). Its candidates are then those of the state as it is,
    /// and it is brought to this generation: the neighbours of neighbours are paired
    /// after it, from the edges as they are now.
    pub(super) fn plan_stands(&self, config: &Config, batch: &Batch, plan: &mut Plan) -> bool {
        if !plan.memoise
            || !self.walks_stand(config, batch, plan.epoch, plan.slots, |i| {
                plan.cands.get(i).map(|c| &c.2)
            })
        {
            return false;
        }
        plan.generation = self.generation;
        plan.slots = self.slots.len() as u32;
        true
    }

    /// Whether walks made when `since` documents were held, at `epoch`, are as they would
    /// be now: when none of the few documents committed since shares a bucket, a keyword
    /// under the cap (in a time slice the batch document walks) or the body of a batch
    /// document. `walked` gives a batch document's walk. `SimHash` candidates are not
    /// checked this way.
    fn walks_stand<'w>(
        &self,
        config: &Config,
        batch: &Batch,
        epoch: u64,
        since: u32,
        walked: impl Fn(usize) -> Option<&'w Walked>,
    ) -> bool {
        const FEW: usize = 8;
        let since = since as usize;
        if epoch != self.epoch || config.method != Method::MinHash || self.slots.len() - since > FEW
        {
            return false;
        }
        // A keyword the walk found listed by more than `max_postings` documents stays
        // over the cap (within an epoch the counts only grow): a document listed under
        // it changes no walk.
        let over_cap = |i: usize, k: usize| {
            walked(i)
                .and_then(|w| w.under(k))
                .is_some_and(|under| !under)
        };
        (since..self.slots.len()).all(|d| {
            let Some(slot) = &self.slots[d] else {
                return true;
            };
            let slice = keywords::time_slice(slot.timestamp.get(), self.tables.window_days);
            batch.docs.iter().enumerate().all(|(i, p)| {
                let same_body = slot.listed && slot.exact == p.features.exact;
                let bucket = slot.bands().iter().zip(&p.bands).any(|(a, b)| a == b);
                // A document listed in a slice the walk does not read changes no walk.
                let walked_slice = keywords::near_in_time(batch.slices[i], slice);
                let keyword = walked_slice
                    && slot.keywords().iter().any(|t| {
                        batch.lookup[i]
                            .iter()
                            .position(|x| x == t)
                            .is_some_and(|k| !over_cap(i, k))
                    });
                !(same_body || bucket || keyword)
            })
        })
    }

    /// The bucket keys and keywords of the documents numbered from `since`.
    fn fresh_since(&self, since: u32) -> Fresh {
        let mut fresh = Fresh::default();
        for d in since as usize..self.slots.len() {
            if let Some(slot) = &self.slots[d] {
                let slice = keywords::time_slice(slot.timestamp.get(), self.tables.window_days);
                fresh.docs.push((d as u32, slice));
                fresh.bands.extend(
                    slot.bands()
                        .iter()
                        .enumerate()
                        .map(|(b, &k)| (b as u64) << 32 | u64::from(k)),
                );
                fresh.keywords.extend(slot.keywords().iter().copied());
            }
        }
        fresh
    }

    /// The slots of the held documents among `docs`, and the word statistics, for a
    /// verification without the lock.
    fn take(&self, docs: impl IntoIterator<Item = Doc>, held: &mut Held<'_>) {
        match held {
            Held::State(_) => {}
            Held::Taken { slots, .. } => {
                for d in docs {
                    if let Doc::Held(a) = d {
                        slots.entry(a).or_insert_with(|| {
                            Taken::of(self.slots[a as usize].as_ref().expect("live document"))
                        });
                    }
                }
            }
        }
    }

    /// Neighbours of neighbours to verify, given the batch's direct outcomes and the
    /// `plan` they came from (its candidates tried): for every document with a new near
    /// edge (not an exact copy) and at most [`MAX_DEGREE`] direct near neighbours in
    /// all, each two of them not linked or tried yet, when the pair or the document is
    /// new. As the batch run, only direct edges count: an edge
    /// found this way is neither a neighbour nor counted ([`State::direct`]). Sorted,
    /// unique, older first.
    fn closing_pairs(&self, verified: &[Verified], plan: &Plan) -> Vec<(Doc, Doc)> {
        let mut new_edges: Vec<(Doc, Doc)> = Vec::new();
        for (i, (list, _)) in verified.iter().enumerate() {
            for &(c, relation, _) in list {
                if relation != Relation::Exact {
                    new_edges.push((c, Doc::New(i as u32)));
                }
            }
        }
        new_edges.sort_unstable();
        let mut adjacency: KeyMap<u64, Vec<Doc>> = KeyMap::default();
        let key = |d: Doc| match d {
            Doc::Held(a) => u64::from(a),
            Doc::New(i) => 1 << 32 | u64::from(i),
        };
        let mut touched: Vec<Doc> = Vec::new();
        for &(x, y) in &new_edges {
            adjacency.entry(key(x)).or_default().push(y);
            adjacency.entry(key(y)).or_default().push(x);
            touched.push(x);
            touched.push(y);
        }
        touched.sort_unstable();
        touched.dedup();
        let linked = |x: Doc, y: Doc| {
            let (x, y) = (x.min(y), x.max(y));
            match (x, y) {
                (Doc::Held(a), Doc::Held(b)) => self.links[a as usize].iter().any(|l| l.doc() == b),
                _ => new_edges.binary_search(&(x, y)).is_ok(),
            }
        };
        // A direct candidate that failed need not be verified again (without the list
        // of candidates, it is: the same outcome, at the cost of a verification).
        let tried = |x: Doc, y: Doc| match y {
            Doc::New(j) => {
                if let Some(t) = plan.tried(j as usize) {
                    t.binary_search(&x).is_ok()
                } else {
                    // Refused ones too: verified again, they would be refused twice.
                    let (edges, apart) = &verified[j as usize];
                    edges.binary_search_by(|c| c.0.cmp(&x)).is_ok()
                        || apart.binary_search(&x).is_ok()
                }
            }
            Doc::Held(_) => false,
        };
        let mut out: Vec<(Doc, Doc)> = map_range(touched.len(), |k| {
            let w = touched[k];
            let mut nb: Vec<Doc> = adjacency[&key(w)].clone();
            if let Doc::Held(a) = w {
                nb.extend(self.direct(a).map(Doc::Held));
            }
            nb.sort_unstable();
            nb.dedup();
            let mut found = Vec::new();
            if nb.len() <= MAX_DEGREE {
                let w_new = matches!(w, Doc::New(_));
                for (k, &x) in nb.iter().enumerate() {
                    for &y in &nb[k + 1..] {
                        let new = w_new || matches!(y, Doc::New(_));
                        if new && !linked(x, y) && !tried(x, y) {
                            found.push((x, y));
                        }
                    }
                }
            }
            found
        })
        .into_iter()
        .flatten()
        .collect();
        sort(&mut out);
        out.dedup();
        out
    }
}

impl super::Index {
    /// Inserts a small batch into a frozen index, searching mostly without the lock:
    /// keywords are chosen unlocked; the candidates are found under the shared lock,
    /// which then lets go while they are verified against the slots and statistics
    /// taken (shared, never written); the neighbours of neighbours likewise. Inserts
    /// from several threads then wait for each other only for the table walks and the
    /// commits. When another insert committed meanwhile, the commit runs the search
    /// again (reusing these outcomes). Gives the documents back when an id is empty,
    /// repeated or held (the locked path says which).
    pub(super) fn insert_frozen(
        &self,
        prepared: Vec<Prepared>,
        stats: &Arc<TermStats>,
    ) -> std::result::Result<Vec<crate::Result<super::Verdict>>, Vec<Prepared>> {
        let config = &self.config;
        let mut ids: Vec<&str> = prepared.iter().map(|p| p.doc.id.as_str()).collect();
        ids.sort_unstable();
        if ids.first().is_none_or(|id| id.is_empty()) || ids.windows(2).any(|w| w[0] == w[1]) {
            return Err(prepared);
        }
        let n = prepared.len();
        // Copies of a body held need no keywords; they are chosen anyway (unlocked), and
        // their commit drops them.
        let mut batch = Batch::new(
            config,
            stats,
            false,
            prepared.into_iter().enumerate().collect(),
            |_| false,
        );
        // A batch of one reads its own tables for none of its candidates (they hold no
        // document before it): whether its body is held changes nothing there, and they
        // are made before the lock.
        let single = n == 1;
        if single {
            batch.index(self.banding.bands, |_| false);
        }
        let (mut plan, mut held) = {
            let state = self.state();
            if batch.docs.iter().any(|p| state.find(&p.doc.id).is_some()) {
                drop(state);
                let mut back: Vec<Option<Prepared>> = (0..n).map(|_| None).collect();
                for (i, p) in batch.input.into_iter().zip(batch.docs) {
                    back[i] = Some(p);
                }
                return Err(back
                    .into_iter()
                    .map(|p| p.expect("each document"))
                    .collect());
            }
            if !single {
                state.index_batch(&mut batch);
            }
            let plan = state.plan(config, &batch, None);
            let mut held = Held::Taken {
                slots: KeyMap::default(),
                stats,
            };
            state.take(plan.candidates(), &mut held);
            (plan, held)
        };
        let progress = &crate::progress::NoProgress;
        let direct = plan.verify(config, &batch, &held, None, progress);
        // Neighbours of neighbours come only with a near edge.
        let near = direct
            .iter()
            .flat_map(|d| &d.0)
            .any(|e| e.1 != Relation::Exact);
        let pairs = if config.rewrites && near {
            let state = self.state();
            (state.generation == plan.generation || state.plan_stands(config, &batch, &mut plan))
                .then(|| {
                    let pairs = state.closing_pairs(&direct, &plan);
                    state.take(pairs.iter().flat_map(|&(x, y)| [x, y]), &mut held);
                    pairs
                })
        } else {
            Some(Vec::new())
        };
        let paired = pairs.is_some();
        let closing = match pairs {
            Some(pairs) => plan.verify_closing(config, &batch, &held, &pairs, None),
            // Another commit came first: the commit searches again and finds these pairs.
            None => Vec::new(),
        };
        let mut search = plan.into_search(direct, closing);
        search.paired = paired;
        let results = (0..n).map(|_| None).collect();
        Ok(self.commit(results, batch, search, progress))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Document;
    use crate::features::Scratch;
    use crate::progress::NoProgress;

    /// `n` words of a vocabulary of its own (`v`), in a pseudo-random order.
    fn text(v: char, n: usize, seed: u64) -> String {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        let mut out = Vec::new();
        for k in 0..n {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            out.push(format!("{v}{}{}", x % 400, ["a", "o", "e"][k % 3]));
        }
        out.join(" ") + "."
    }

    /// A search of `doc` made now, for a commit after later inserts.
    fn search_now(index: &Index, doc: Document) -> (Batch, Search) {
        let p = index.prepare(doc, &mut Scratch::default());
        let state = index.state();
        let batch = state.batch(&index.config, vec![(0, p)]);
        let search = state.search(&index.config, &batch, None, &NoProgress);
        (batch, search)
    }

    use super::super::Index;

    /// `w` (two stories), `a` (the first), an unrelated `d`, `c` (the second) and `e`
    /// (the first with another tail), with the default configuration and their
    /// statistics.
    fn five() -> ([Document; 5], Config, TermStats) {
        let (t1, t2) = (text('a', 300, 1), text('b', 300, 2));
        let docs = [
            Document::new("w", format!("{t1} {t2}")),
            Document::new("a", t1.clone()),
            Document::new("d", text('c', 300, 3)),
            Document::new("c", t2),
            Document::new("e", format!("{t1} {}", text('c', 200, 4))),
        ];
        let config = Config::default();
        let stats = TermStats::from_documents(&docs, &config);
        (docs, config, stats)
    }

    /// A plan overtaken by a commit stands when the walks it made are as they would be
    /// now: its candidates are then those of a plan made afresh.
    #[test]
    fn a_plan_stands_only_while_its_walks_are_unchanged() {
        let ([w, a, unrelated, c, e], config, stats) = five();
        let stands = |extra: &Document| {
            let index = Index::with_stats(config.clone(), stats.clone()).unwrap();
            index.insert(w.clone()).unwrap();
            let p = index.prepare(a.clone(), &mut Scratch::default());
            let batch = index.state().batch(&index.config, vec![(0, p)]);
            let mut plan = index.state().plan(&config, &batch, None);
            let before: Vec<Doc> = plan.candidates().collect();
            index.insert(extra.clone()).unwrap();
            let state = index.state();
            let afresh: Vec<Doc> = state.plan(&config, &batch, None).candidates().collect();
            let stood = state.plan_stands(&config, &batch, &mut plan);
            if stood {
                assert_eq!(plan.generation, state.generation);
                assert_eq!(
                    before, afresh,
                    "{}: a plan that stands finds the same",
                    extra.id
                );
            } else {
                assert_ne!(plan.generation, state.generation);
            }
            (stood, before == afresh)
        };
        // Nothing the walks read changed; `c` joins `a`'s neighbour `w`, but the
        // neighbours of neighbours are paired after the plan, from the edges as they are.
        assert_eq!(stands(&unrelated), (true, true));
        assert_eq!(stands(&c), (true, true));
        // `e` shares `a`'s buckets and keywords: a walk made now finds it.
        assert_eq!(stands(&e), (false, false));
    }

    /// A keyword listed by more documents than the posting cap links none of them, and
    /// stays over the cap: a document committed since that shares only such a keyword
    /// changes no walk.
    #[test]
    fn a_keyword_over_the_cap_leaves_the_walks_standing() {
        let zz = " zyzzyva";
        let a = Document::new("a", text('a', 200, 1) + zz);
        let x = Document::new("x", text('c', 200, 3) + zz);
        let fillers: Vec<Document> = (0..KeywordParams::default().max_postings + 5)
            .map(|k| Document::new(format!("f{k}"), text('f', 60, 10 + k as u64) + zz))
            .collect();
        let config = Config::default();
        // Statistics where the shared word is rare enough to be a keyword.
        let stats = TermStats::from_documents(&[a.clone(), x.clone(), fillers[0].clone()], &config);
        let index = Index::with_stats(config.clone(), stats).unwrap();
        for f in &fillers {
            index.insert(f.clone()).unwrap();
        }
        let p = index.prepare(a, &mut Scratch::default());
        let batch = index.state().batch(&index.config, vec![(0, p)]);
        let mut plan = index.state().plan(&config, &batch, None);
        let walk = &plan.cands[0].2;
        assert_eq!(
            walk.unders(),
            vec![false],
            "the shared word is a's one keyword, over the cap"
        );
        index.insert(x).unwrap();
        let state = index.state();
        let afresh: Vec<Doc> = state.plan(&config, &batch, None).candidates().collect();
        assert_eq!(plan.candidates().collect::<Vec<_>>(), afresh);
        assert!(state.plan_stands(&config, &batch, &mut plan));
    }

    /// A document committed since that shares a keyword under the cap changes the walk
    /// of a batch document near it in time, and no other: a walk reads the postings of
    /// its own time slice and the two beside it only.
    #[test]
    fn a_keyword_listed_far_in_time_leaves_the_walks_standing() {
        let zz = " zyzzyva";
        let day = 86_400;
        let a = Document::new("a", text('a', 200, 1) + zz).with_timestamp(100 * day);
        let other = Document::new("o", text('b', 200, 2));
        let config = Config::default();
        let shared_by = |x: &Document| {
            let stats = TermStats::from_documents(&[a.clone(), x.clone(), other.clone()], &config);
            let index = Index::with_stats(config.clone(), stats).unwrap();
            index.insert(other.clone()).unwrap();
            let p = index.prepare(a.clone(), &mut Scratch::default());
            let batch = index.state().batch(&index.config, vec![(0, p)]);
            let mut plan = index.state().plan(&config, &batch, None);
            assert!(!batch.lookup[0].is_empty(), "a looks keywords up");
            assert!(plan.cands[0].2.unders().iter().all(|&u| u), "under the cap");
            index.insert(x.clone()).unwrap();
            let state = index.state();
            let afresh: Vec<Doc> = state.plan(&config, &batch, None).candidates().collect();
            let before: Vec<Doc> = plan.candidates().collect();
            let stood = state.plan_stands(&config, &batch, &mut plan);
            if stood {
                assert_eq!(before, afresh, "a plan that stands finds the same");
            }
            stood
        };
        let x = |days: i64| {
            Document::new("x", text('c', 200, 3) + zz).with_timestamp((100 + days) * day)
        };
        let window = i64::from(config.rewrite_window_days);
        assert!(!shared_by(&x(0)), "listed in a's own slice");
        assert!(!shared_by(&x(window)), "listed in the slice beside a's");
        assert!(shared_by(&x(10 * window)), "listed far from a in time");
        assert!(
            !shared_by(&Document::new("x", text('c', 200, 3) + zz)),
            "undated"
        );
    }

    /// A walk made again after other commits (from the documents committed since, or
    /// from the tables past [`FRESH_FROM_DOCS`] of them) equals a walk made afresh (the
    /// oracle): the same candidates, and per keyword the same documents, cap and count.
    #[test]
    fn a_walk_made_again_is_a_walk_made_afresh() {
        let zz = " zyzzyva";
        let cap = KeywordParams::default().max_postings;
        // Versions of one story: the same 120 words, another tail each.
        let story = |k: u64| text('a', 120, 0) + " " + &text('b', 40, 100 + k);
        let doc = Document::new("d", story(0) + zz);
        // Documents listing the shared rare word, up to one below the cap.
        let fillers: Vec<Document> = (0..cap - 2)
            .map(|k| Document::new(format!("f{k}"), text('f', 60, 10 + k as u64) + zz))
            .collect();
        let config = Config::default();
        let stats = TermStats::from_documents(&[doc.clone(), fillers[0].clone()], &config);
        // After the search: versions of the story (buckets, keywords), documents with
        // the rare word (its posting crosses the cap) and others; dated or not, and when
        // dated, some outside the rewrite window (they count for no cap).
        let rounds = [1usize, 2, 3, 5, 8, 16, 17, 24];
        for (round, (extra, dated)) in rounds
            .into_iter()
            .flat_map(|n| [(n, false), (n, true)])
            .enumerate()
        {
            let day = |d: Document, days: i64| {
                if dated {
                    d.with_timestamp(days * 86_400)
                } else {
                    d
                }
            };
            let index = Index::with_stats(config.clone(), stats.clone()).unwrap();
            for f in &fillers {
                index.insert(day(f.clone(), 0)).unwrap();
            }
            index
                .insert(day(Document::new("old", story(1) + zz), 0))
                .unwrap();
            let (batch, search) = search_now(&index, day(doc.clone(), 0));
            // `cap - 1` documents near in time list the rare word at the search.
            let mut listing = cap - 1;
            for k in 0..extra {
                let far = dated && k % 2 == 1;
                let text = match k % 3 {
                    0 => story(2 + k as u64),
                    1 => {
                        listing += usize::from(!far);
                        text('f', 60, 1000 + k as u64) + zz
                    }
                    _ => text('g', 80, 2000 + k as u64),
                };
                let d = Document::new(format!("x{k}"), text);
                index.insert(day(d, if far { 30 } else { 0 })).unwrap();
            }
            let state = index.state();
            let again = state.plan(&config, &batch, Some(&search));
            let afresh = state.plan(&config, &batch, None);
            let what = format!("round {round}: {extra} committed since, dated {dated}");
            assert_eq!(
                again.candidates().collect::<Vec<_>>(),
                afresh.candidates().collect::<Vec<_>>(),
                "{what}"
            );
            let (a, f) = (&again.cands[0].2, &afresh.cands[0].2);
            assert_eq!((a.unders(), &a.counts), (f.unders(), &f.counts), "{what}");
            let sorted = |w: &Walked| -> Vec<Vec<u32>> {
                w.keywords
                    .iter()
                    .chain(w.bands.iter())
                    .map(|l| {
                        let mut l = l.to_vec();
                        l.sort_unstable();
                        l
                    })
                    .collect()
            };
            assert_eq!(sorted(a), sorted(f), "{what}");
            assert_eq!(
                a.unders().contains(&false),
                listing > cap,
                "{what}: the cap"
            );
        }
    }

    #[test]
    fn a_search_stands_only_while_what_it_read_is_unchanged() {
        let ([w, a, unrelated, c, e], config, stats) = five();
        let index = |extra: &Document, paired: bool| {
            let index = Index::with_stats(config.clone(), stats.clone()).unwrap();
            index.insert(w.clone()).unwrap();
            let (batch, mut search) = search_now(&index, a.clone());
            search.paired = paired;
            assert!(
                search.direct[0].iter().any(|e| e.1 != Relation::Exact),
                "a has a near edge to w"
            );
            index.insert(extra.clone()).unwrap();
            let state = index.state();
            state.search_stands(&config, &batch, &mut search)
        };
        // Nothing the search read changed: it stands, unless it left its neighbours of
        // neighbours unpaired (an unlocked search that another commit overtook).
        assert!(index(&unrelated, true));
        assert!(!index(&unrelated, false));
        // `c` shares nothing with `a`, but joins `a`'s neighbour `w`, whose neighbours
        // `a`'s neighbours of neighbours are.
        assert!(!index(&c, true));
        // `e` shares `a`'s buckets and keywords: the walk would find it.
        assert!(!index(&e, true));
    }
}
