//! Inserting documents into an [`Index`](super::Index): a search, then a commit.
//!
//! **Search** (shared lock; in parallel over the documents). The new documents are taken
//! in the order of their ids. Each one's candidates are the documents held and the
//! batch's documents before it, as if they had been inserted one at a time in that
//! order: the same LSH bucket and keyword-posting caps, the same exact-copy
//! representative. Every candidate is verified. Then neighbours of neighbours are paired
//! (as [`crate::closing`] pairs them in the batch run): every document touched by a new
//! edge with at most [`MAX_DEGREE`] near neighbours has its neighbours verified against
//! each other, where the pair involves a new document or the neighbour is new.
//!
//! **Commit** (exclusive lock): the documents enter the tables with their edges and the
//! groups they touch are formed again ([`crate::group::Online::regroup`]). When another
//! insert committed between the two phases, the search runs again under the exclusive
//! lock, reusing every verification the first search made (a [`Search`] is its own
//! memo): only the pairs with documents that arrived in between are verified then. So an
//! insert's edges are those of a sequential insertion in commit order, while most of the
//! work runs outside the exclusive lock.

use rayon::prelude::*;

use super::{MAX_BUCKET, Prepared, State};
use crate::closing::MAX_DEGREE;
use crate::config::{Config, Method};
use crate::hamming::HammingTable;
use crate::keywords::{self, KeywordParams};
use crate::verify::{DocView, Edge, Rarity, Relation, Scores, Verifier};
use crate::weights::KeyMap;

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

/// A verification's outcome: the relation and scores, or `None` for no edge.
type Outcome = Option<(Relation, Scores)>;

/// Batches up to this size keep every candidate tried, for a search run again to reuse
/// (single inserts racing each other); larger ones (a night) keep their edges only.
const MEMO_BATCH: usize = 64;

/// The documents of one insert, in id order, with what their search needs.
pub(super) struct Batch {
    /// The documents, in id order.
    pub docs: Vec<Prepared>,
    /// Each document's position in the caller's list.
    pub input: Vec<usize>,
    /// Keywords looked up in the postings, and keywords listed there (see
    /// [`State::candidate_keywords`]).
    lookup: Vec<Vec<u32>>,
    pub listed: Vec<Vec<u32>>,
    /// The batch's first document with the same body, when it is not this one.
    first: Vec<Option<u32>>,
    /// The batch's representatives by (band, bucket key), then ascending: each bucket
    /// a run (flat sorted lists: a map of small vectors costs ten times the memory).
    buckets: Vec<(u32, u32, u32)>,
    /// `bucket_at[i * bands + band]`: where representative `i`'s entry of `band` is in
    /// `buckets` (binary searches there were a quarter of a night's time).
    bucket_at: Vec<u32>,
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

    /// Whether document `i` is listed in the tables (a body's first document).
    fn is_rep(&self, i: usize) -> bool {
        self.docs[i].listed && self.first[i].is_none()
    }
}

/// The held documents one document's search walked to: per band, the bucket members
/// taken (newest first); per lookup keyword, the documents listing it near in time (none
/// when over the cap). A search run again reads only what was committed since.
#[derive(Debug, Clone, Default)]
struct Walked {
    bands: Vec<Vec<u32>>,
    keywords: Vec<Vec<u32>>,
}

/// What a search found: every pair verified, with its outcome. It is also the memo of a
/// search run again (see the module docs).
pub(super) struct Search {
    /// [`State::generation`] when it ran.
    pub generation: u64,
    /// [`State::epoch`] when it ran: held numbers and edges are valid while it stays.
    epoch: u64,
    /// Per batch document: its edges to older documents, by the older one.
    direct: Vec<Vec<(Doc, Relation, Scores)>>,
    /// Per batch document: every candidate tried (edge or not), sorted, and the held
    /// documents its search walked to; kept for small batches only ([`MEMO_BATCH`]).
    tried: Option<Vec<Vec<Doc>>>,
    walked: Option<Vec<Walked>>,
    /// Documents held (slots) when it ran: those numbered from here on came since.
    slots: u32,
    /// Pairs of neighbours of neighbours (older first), sorted, with outcomes (edges
    /// only, past [`MEMO_BATCH`]).
    closing: Vec<((Doc, Doc), Outcome)>,
}

impl Search {
    fn direct_outcome(&self, i: usize, c: Doc) -> Option<Outcome> {
        self.tried.as_ref()?.get(i)?.binary_search(&c).ok()?;
        let edges = &self.direct[i];
        Some(
            edges
                .binary_search_by(|x| x.0.cmp(&c))
                .ok()
                .map(|k| (edges[k].1, edges[k].2)),
        )
    }

    fn closing_outcome(&self, pair: (Doc, Doc)) -> Option<Outcome> {
        self.closing
            .binary_search_by(|x| x.0.cmp(&pair))
            .ok()
            .map(|k| self.closing[k].1)
    }

    /// The verified edges, with the batch's documents numbered from `base`.
    pub fn edges(&self, base: u32) -> Vec<Edge> {
        let num = |d: Doc| match d {
            Doc::Held(a) => a,
            Doc::New(i) => base + i,
        };
        let mut out = Vec::new();
        for (i, list) in self.direct.iter().enumerate() {
            for &(c, relation, scores) in list {
                out.push(Edge {
                    a: num(c),
                    b: base + i as u32,
                    relation,
                    scores,
                });
            }
        }
        for &((x, y), found) in &self.closing {
            if let Some((relation, scores)) = found {
                out.push(Edge {
                    a: num(x),
                    b: num(y),
                    relation,
                    scores,
                });
            }
        }
        out
    }
}

impl State {
    /// The batch of `prepared` documents (whose ids are checked: new and distinct), in
    /// id order, with their weights, keywords and the batch's own tables.
    pub(super) fn batch(&self, config: &Config, prepared: Vec<(usize, Prepared)>) -> Batch {
        let mut prepared = prepared;
        prepared.sort_by(|(_, x), (_, y)| {
            super::id_hash(&x.doc.id)
                .cmp(&super::id_hash(&y.doc.id))
                .then_with(|| x.doc.id.cmp(&y.doc.id))
        });
        let (input, docs): (Vec<usize>, Vec<Prepared>) = prepared.into_iter().unzip();
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
        let (lookup, listed): (Vec<Vec<u32>>, Vec<Vec<u32>>) = map_range(n, |i| {
            let p = &docs[i];
            if !config.rewrites
                || !p.listed
                || first[i].is_some()
                || self.tables.exact.contains_key(&p.features.exact)
            {
                return (Vec::new(), Vec::new());
            }
            self.candidate_keywords(&p.features, &self.weights(&p.features, config))
        })
        .into_iter()
        .unzip();
        let mut batch = Batch {
            docs,
            input,
            lookup,
            listed,
            first,
            buckets: Vec::new(),
            bucket_at: Vec::new(),
            postings: Vec::new(),
            slices: Vec::new(),
            posting_start: KeyMap::default(),
            hamming: (config.method == Method::SimHash).then(|| HammingTable::new(config.hamming)),
        };
        batch.slices = batch
            .docs
            .iter()
            .map(|p| keywords::time_slice(p.doc.timestamp, self.tables.window_days))
            .collect();
        for i in 0..n {
            // Copies of a held body are no bucket or posting members (the held
            // representative is).
            if !batch.is_rep(i)
                || self
                    .tables
                    .exact
                    .contains_key(&batch.docs[i].features.exact)
            {
                continue;
            }
            let p = &batch.docs[i];
            for (band, &key) in p.bands.iter().enumerate() {
                batch.buckets.push((band as u32, key, i as u32));
            }
            if let (Some(table), Some(fp)) = (&mut batch.hamming, p.fingerprint) {
                table.insert(i as u32, fp);
            }
            for &t in &batch.listed[i] {
                batch.postings.push((t, batch.slices[i], i as u32));
            }
        }
        sort(&mut batch.buckets);
        let bands = self.tables.banding.bands;
        batch.bucket_at = vec![u32::MAX; n * bands];
        for (k, &(band, _, i)) in batch.buckets.iter().enumerate() {
            batch.bucket_at[i as usize * bands + band as usize] = k as u32;
        }
        sort(&mut batch.postings);
        for (k, &(t, _, _)) in batch.postings.iter().enumerate() {
            batch.posting_start.entry(t).or_insert((k as u32, 0)).1 += 1;
        }
        batch
    }

    /// Keywords a new document looks up, and those it is listed under: the same unless
    /// the index learns its statistics, when it also lists its new words (those the later
    /// versions of its story will share).
    fn candidate_keywords(
        &self,
        features: &crate::features::Features,
        w: &crate::verify::Weights,
    ) -> (Vec<u32>, Vec<u32>) {
        let params = KeywordParams::default();
        let lookup = keywords::keywords(features, w, &self.stats, params);
        if !self.learn {
            return (lookup.clone(), lookup);
        }
        let listed = KeywordParams {
            min_df: 1,
            ..params
        };
        (lookup, keywords::keywords(features, w, &self.stats, listed))
    }

    /// The view of `d` (held or of the batch) for verification, word rarity from the
    /// index's statistics.
    fn doc_view<'s>(&'s self, batch: &'s Batch, d: Doc) -> DocView<'s> {
        match d {
            Doc::Held(a) => self.view(a),
            Doc::New(i) => batch.view(i, Rarity::Stats(&self.stats)),
        }
    }

    /// Candidates of the batch's document `i` (older than it, sorted), and whether it is
    /// an exact copy (its one candidate is then its body's representative).
    fn candidates_of(
        &self,
        config: &Config,
        batch: &Batch,
        i: usize,
        prev: Option<(u32, &Walked)>,
    ) -> (Vec<Doc>, bool, Walked) {
        let p = &batch.docs[i];
        let mut walked = Walked::default();
        if !p.listed {
            return (Vec::new(), false, walked);
        }
        if let Some(&rep) = self.tables.exact.get(&p.features.exact) {
            return (vec![Doc::Held(rep)], true, walked);
        }
        if let Some(f) = batch.first[i] {
            return (vec![Doc::New(f)], true, walked);
        }
        let mut cands: Vec<Doc> = Vec::new();
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
            let held: Vec<u32> = match prev {
                Some((since, old)) => self
                    .bucket(band, key)
                    .take_while(|&d| d >= since)
                    .chain(old.bands[band].iter().copied())
                    .take(room)
                    .collect(),
                None => self.bucket(band, key).take(room).collect(),
            };
            cands.extend(held.iter().map(|&d| Doc::Held(d)));
            walked.bands.push(held);
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
        prev: Option<(u32, &Walked)>,
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
        let mut heads: Vec<u32> = Vec::new();
        let mut before: Vec<u32> = Vec::new();
        for (k, &t) in batch.lookup[i].iter().enumerate() {
            heads.clear();
            before.clear();
            let mut count = 0usize;
            if s == keywords::UNDATED {
                if let Some(&(head, c)) = self.tables.postings.get(&t) {
                    heads.push(head);
                    count += c as usize;
                }
            } else {
                for &sl in &near {
                    if let Some(&(head, c)) =
                        self.tables.slice_postings.get(&super::slice_key(t, sl))
                    {
                        heads.push(head);
                        count += c as usize;
                    }
                }
            }
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
            let chain = |head: u32| -> Box<dyn Iterator<Item = u32> + '_> {
                if s == keywords::UNDATED {
                    Box::new(self.posting(head))
                } else {
                    Box::new(self.slice_posting(head))
                }
            };
            let mut held: Vec<u32> = Vec::new();
            if count + before.len() <= params.max_postings {
                match prev {
                    // Still under the cap: it was under it at the earlier walk too.
                    Some((since, old)) => {
                        for &head in &heads {
                            held.extend(chain(head).take_while(|&d| d >= since));
                        }
                        held.extend_from_slice(&old.keywords[k]);
                    }
                    None => {
                        for &head in &heads {
                            held.extend(chain(head));
                        }
                    }
                }
                listed.extend(held.iter().map(|&d| Doc::Held(d)));
                listed.extend(before.iter().map(|&j| Doc::New(j)));
            }
            walked.keywords.push(held);
        }
        listed.sort_unstable();
        let mut out = Vec::new();
        for run in listed.chunk_by(|a, b| a == b) {
            if run.len() >= params.min_shared {
                out.push(run[0]);
            }
        }
        out
    }

    /// Finds and verifies the batch's edges (see the module docs). `memo` is an earlier
    /// search of the same batch, whose outcomes are reused while its held numbers are
    /// valid.
    pub(super) fn search(
        &self,
        config: &Config,
        batch: &Batch,
        memo: Option<&Search>,
        progress: &dyn crate::progress::Progress,
    ) -> Search {
        let memo = memo.filter(|m| m.epoch == self.epoch);
        let verifier = Verifier::new(config);
        let view = |d: Doc| self.doc_view(batch, d);
        let memoise = batch.len() <= MEMO_BATCH;
        let one = |i: usize| {
            let prev = memo.and_then(|m| Some((m.slots, m.walked.as_ref()?.get(i)?)));
            let (cands, exact, walked) = self.candidates_of(config, batch, i, prev);
            // The new document's word weights, computed once for all its pairs (the
            // same values as the statistics give).
            let weights = self.weights(&batch.docs[i].features, config);
            let b = batch.view(i as u32, Rarity::Weights(&weights));
            let edges: Vec<(Doc, Relation, Scores)> = cands
                .iter()
                .filter_map(|&c| {
                    let known = memo.and_then(|m| m.direct_outcome(i, c));
                    let found = known.unwrap_or_else(|| {
                        if exact {
                            Some((Relation::Exact, verifier.score(view(c), b)))
                        } else {
                            verifier.relate(view(c), b)
                        }
                    });
                    found.map(|(r, s)| (c, r, s))
                })
                .collect();
            if i % 1024 == 1023 {
                progress.advance(1024);
            }
            (edges, memoise.then_some((cands, walked)))
        };
        let found: Vec<_> = map_range(batch.len(), one);
        let (direct, kept): (Vec<_>, Vec<_>) = found.into_iter().unzip();
        let kept: Option<Vec<(Vec<Doc>, Walked)>> = kept.into_iter().collect();
        let (tried, walked) = match kept {
            Some(k) => {
                let (t, w): (Vec<_>, Vec<_>) = k.into_iter().unzip();
                (Some(t), Some(w))
            }
            None => (None, None),
        };
        let closing = if config.rewrites {
            let pairs = self.closing_pairs(&direct, tried.as_deref());
            let verify = |(x, y): (Doc, Doc)| {
                let found = memo
                    .and_then(|m| m.closing_outcome((x, y)))
                    .unwrap_or_else(|| verifier.relate(view(x), view(y)));
                ((x, y), found)
            };
            let mut out: Vec<((Doc, Doc), Outcome)> = map_range(pairs.len(), |k| verify(pairs[k]));
            if !memoise {
                out.retain(|x| x.1.is_some());
            }
            out
        } else {
            Vec::new()
        };
        Search {
            generation: self.generation,
            epoch: self.epoch,
            direct,
            tried,
            walked,
            slots: self.slots.len() as u32,
            closing,
        }
    }

    /// Neighbours of neighbours to verify, given the batch's direct outcomes: for every
    /// document with a new near edge (not an exact copy) and at most [`MAX_DEGREE`] near
    /// neighbours in all, each two of its neighbours not linked or tried yet, when the
    /// pair or the document is new. Sorted, unique, older first.
    fn closing_pairs(
        &self,
        direct: &[Vec<(Doc, Relation, Scores)>],
        tried: Option<&[Vec<Doc>]>,
    ) -> Vec<(Doc, Doc)> {
        let mut new_edges: Vec<(Doc, Doc)> = Vec::new();
        for (i, list) in direct.iter().enumerate() {
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
                (Doc::Held(a), Doc::Held(b)) => self.links[a as usize].iter().any(|l| l.doc == b),
                _ => new_edges.binary_search(&(x, y)).is_ok(),
            }
        };
        // A direct candidate that failed need not be verified again (without the list
        // of candidates, it is: the same outcome, at the cost of a verification).
        let tried = |x: Doc, y: Doc| match (y, tried) {
            (Doc::New(j), Some(t)) => t[j as usize].binary_search(&x).is_ok(),
            (Doc::New(j), None) => direct[j as usize].binary_search_by(|c| c.0.cmp(&x)).is_ok(),
            (Doc::Held(_), _) => false,
        };
        let mut out: Vec<(Doc, Doc)> = map_range(touched.len(), |k| {
            let w = touched[k];
            let mut nb: Vec<Doc> = adjacency[&key(w)].clone();
            if let Doc::Held(a) = w {
                nb.extend(
                    self.links[a as usize]
                        .iter()
                        .filter(|l| l.relation != Relation::Exact)
                        .map(|l| Doc::Held(l.doc)),
                );
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
