//! The incremental index for crawlers: insert a document, get its matches and group.
//!
//! An [`Index`] runs the same stages as the batch pipeline, one document at a time:
//! features, candidates from LSH buckets and the keyword index, verification against the
//! documents held, and grouping in insertion order by the same [`Grouper`].
//!
//! **Consistency.** `Index` is `Send + Sync`. Features are computed outside the lock;
//! candidates, verification and grouping run under a write lock, so the groups are
//! exactly those of a sequential insertion in the order the lock was taken.
//!
//! **Same answers as `neardup cluster`.** Word rarity comes from document frequencies.
//! An index built with [`Index::with_stats`] from the corpus's own statistics (frozen)
//! gives, document for document, the groups of the batch run over the same input.
//! [`Index::new`] instead learns the frequencies as documents arrive, which is what a
//! crawler wants; early documents are then weighed with fewer examples.
//!
//! **Removal and time window.** [`Index::remove`] and [`Index::evict_before`] take
//! documents out of the tables and of their group. When a group's canonical member
//! leaves, the best remaining member by the canonical order (earliest date, longest,
//! smallest id) becomes canonical. The group keeps its id, the id of its first document,
//! even after that document is evicted, so group ids stay stable across a rolling
//! window. Eviction then renumbers the documents held ([`Index::compact`]), so a rolling
//! window holds memory for the documents in it only.
//!
//! **Memory.** A document is held as its features (shingle and word hashes, headline
//! words, figures), 32-bit LSH bucket keys and keywords; later exact copies of a body
//! share its representative's keys. The tables (ids, exact bodies, LSH buckets as
//! chains through the documents, keyword postings) are derived and rebuilt on load.
//!
//! **`SimHash`.** With `Config::method = SimHash` a document has no bucket keys: its
//! 64-bit fingerprint goes into a [`HammingTable`] (every held representative within
//! `Config::hamming` bits, exactly) and is recomputed from the stored shingles when the
//! tables are rebuilt, so files of either method have the same format.

use std::collections::HashMap;
use std::sync::RwLock;

use rayon::prelude::*;

use crate::config::{Config, Method};
use crate::document::Document;
use crate::error::{Error, Result};
use crate::features::{Features, Featurizer, Scratch};
use crate::group::{CanonicalKey, Grouper};
use crate::hamming::HammingTable;
use crate::keywords::{self, KeywordParams};
use crate::lsh::band_hash;
use crate::sketch::listed;
use crate::sketch::minhash::is_empty_signature;
use crate::sketch::simhash::{SimHasher, from_words};
use crate::verify::{DocView, Edge, Rarity, Relation, Verifier, Weights, relation_similarity};
use crate::weights::{KeyMap, TermStats};

/// A bucket keeps pairing a new document with at most this many of its latest members
/// (the batch pipeline's cap).
const MAX_BUCKET: usize = 64;

/// A document the index holds related to the one inserted or queried.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Match {
    /// Its id.
    pub id: String,
    /// How the two are related.
    pub relation: Relation,
    /// Their similarity (see [`relation_similarity`]).
    pub similarity: f32,
}

/// What inserting a document found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verdict {
    /// Its group's id, or `None` when it is alone (so far).
    pub group: Option<String>,
    /// The id of the group's canonical member (itself when alone).
    pub canonical: String,
    /// Its relation to the canonical member (`None` when it is the canonical member).
    pub relation: Option<Relation>,
    /// Its similarity to the canonical member (`None` when it is the canonical member).
    pub similarity: Option<f32>,
    /// Verified matches among the documents held, strongest first.
    pub matches: Vec<Match>,
}

/// No document: the end of an LSH bucket or keyword chain.
const NIL: u32 = u32::MAX;
/// Keyword chain links per document (the most keywords a document lists).
const KW: usize = 20;
/// Document slots an index can number: every keyword link `d * KW + j` must fit in a
/// `u32` below [`NIL`].
const MAX_DOCS: u32 = (NIL - 1) / KW as u32;

/// The keyword link of document `d`'s `j`-th keyword.
fn link(d: u32, j: usize) -> u32 {
    d * KW as u32 + j as u32
}

/// One document held by the index: what verification, grouping and the tables need,
/// and nothing derivable.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Slot {
    id: Box<str>,
    timestamp: Option<i64>,
    len: u64,
    /// Features without term frequencies (used only to pick keywords, at insertion).
    features: Features,
    /// LSH bucket keys, one per band (32 bits: a rare false bucket-mate costs one
    /// verification), and the keywords it is listed under. Held by the first copy of a
    /// body (its representative in the tables); empty for later copies, which inherit
    /// them when the representative leaves.
    bands: Box<[u32]>,
    keywords: Box<[u32]>,
    /// Whether it has a body (words and shingles); bodiless documents are in no table.
    listed: bool,
}

/// Everything behind the lock. Only the documents, the word statistics and the groups
/// are saved; the tables are derived from them ([`State::rebuild`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct State {
    /// Documents by number; `None` once removed (until [`State::compact`]).
    slots: Vec<Option<Slot>>,
    stats: TermStats,
    learn: bool,
    grouper: Grouper,
    /// Id of each group (its first document's), by group index.
    group_ids: Vec<String>,
    #[serde(skip)]
    tables: Tables,
}

/// Lookup tables over the live documents, rebuilt on load.
#[derive(Debug, Clone)]
struct Tables {
    /// xxh3 of an id → document; ids whose hash is taken by another id go to `by_id_rest`.
    by_id: KeyMap<u64, u32>,
    by_id_rest: HashMap<Box<str>, u32>,
    /// Exact-body hash → the representative (first live copy), and for bodies held more
    /// than once, all copies in order.
    exact: KeyMap<u64, u32>,
    copies: KeyMap<u64, Vec<u32>>,
    /// Per band: bucket key → newest member; `next[d * bands + band]` is the next older
    /// member of `d`'s bucket in that band. Buckets are ordered by document number.
    heads: Vec<KeyMap<u32, u32>>,
    next: Vec<u32>,
    /// Keyword → (link of the newest document listing it, how many do). A link is
    /// `d * KW + j`, document `d`'s `j`-th keyword; `post_next[link]` is the next older
    /// link of the same keyword. Links name the position, so walking a posting touches
    /// one array entry per document, not the document's keyword list.
    postings: KeyMap<u32, (u32, u32)>,
    post_next: Vec<u32>,
    live: usize,
    /// The LSH banding in force (derived from the configuration; no bands with
    /// `SimHash`).
    banding: crate::lsh::Banding,
    /// With `SimHash`: the representatives' fingerprints within `hamming` bits, and the
    /// hasher that recomputes a fingerprint from a document's stored shingles.
    hamming: Option<(HammingTable, SimHasher)>,
}

impl Default for Tables {
    /// Empty tables; [`State::rebuild`] sets the banding in force.
    fn default() -> Self {
        Tables {
            by_id: KeyMap::default(),
            by_id_rest: HashMap::new(),
            exact: KeyMap::default(),
            copies: KeyMap::default(),
            heads: Vec::new(),
            next: Vec::new(),
            postings: KeyMap::default(),
            post_next: Vec::new(),
            live: 0,
            banding: crate::lsh::Banding { bands: 0, rows: 0 },
            hamming: None,
        }
    }
}

/// The LSH banding of the index's tables: none with `SimHash`, whose candidates come
/// from the Hamming table.
fn table_banding(config: &Config) -> crate::lsh::Banding {
    match config.method {
        Method::MinHash => config.banding(),
        Method::SimHash => crate::lsh::Banding { bands: 0, rows: 0 },
    }
}

fn id_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// 32-bit bucket keys of a signature, one per band.
fn bucket_keys(signature: &[u32], banding: crate::lsh::Banding) -> Box<[u32]> {
    (0..banding.bands)
        .map(|i| {
            let lo = i * banding.rows;
            band_hash(&signature[lo..lo + banding.rows], i) as u32
        })
        .collect()
}

/// An incremental near-duplicate and rewrite index. See the module docs.
#[derive(Debug)]
pub struct Index {
    config: Config,
    featurizer: Featurizer,
    state: RwLock<State>,
}

/// Features and signature of a document, computed outside the lock.
struct Prepared {
    doc: Document,
    features: Features,
    signature: Vec<u32>,
}

impl Index {
    /// An empty index that learns word frequencies from the documents it receives.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid configuration.
    pub fn new(config: Config) -> Result<Self> {
        Self::build(config, TermStats::default(), true)
    }

    /// An empty index that weighs words by fixed statistics, e.g. those of a reference
    /// corpus ([`TermStats::from_documents`]). With the statistics of the documents that
    /// will be inserted, it gives the batch pipeline's groups.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid configuration.
    pub fn with_stats(config: Config, stats: TermStats) -> Result<Self> {
        Self::build(config, stats, false)
    }

    fn build(config: Config, stats: TermStats, learn: bool) -> Result<Self> {
        let state = State {
            slots: Vec::new(),
            stats,
            learn,
            grouper: Grouper::default(),
            group_ids: Vec::new(),
            tables: Tables::default(),
        };
        Self::from_state(config, state)
    }

    pub(crate) fn from_state(config: Config, mut state: State) -> Result<Self> {
        config.validate()?;
        state.rebuild(&config);
        Ok(Index {
            featurizer: Featurizer::new(&config),
            config,
            state: RwLock::new(state),
        })
    }

    pub(crate) fn state(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn state_mut(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Number of documents held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.state().tables.live
    }

    /// True when no document is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn prepare(&self, doc: Document, scratch: &mut Scratch) -> Prepared {
        let mut signature = vec![0; self.config.signature_len()];
        let features = self.featurizer.featurize(&doc, scratch, &mut signature);
        Prepared {
            doc,
            features,
            signature,
        }
    }

    /// Inserts a document and says what it matched and which group it joined.
    ///
    /// # Errors
    /// [`Error::IdExists`] when a document with this id is held.
    pub fn insert(&self, doc: Document) -> Result<Verdict> {
        let p = self.prepare(doc, &mut Scratch::default());
        self.state_mut().insert(&self.config, p)
    }

    /// Inserts documents in order; features are computed in parallel first.
    ///
    /// # Errors
    /// Each document's own result, as [`Index::insert`].
    pub fn insert_batch(&self, docs: Vec<Document>) -> Vec<Result<Verdict>> {
        let prepared: Vec<Prepared> = docs
            .into_par_iter()
            .map_init(Scratch::default, |s, d| self.prepare(d, s))
            .collect();
        let mut state = self.state_mut();
        prepared
            .into_iter()
            .map(|p| state.insert(&self.config, p))
            .collect()
    }

    /// The verified matches of a document among those held, strongest first, without
    /// inserting it.
    #[must_use]
    pub fn query(&self, doc: &Document) -> Vec<Match> {
        let p = self.prepare(doc.clone(), &mut Scratch::default());
        let state = self.state();
        let (edges, _) = state.candidate_edges(
            &self.config,
            &p.features,
            &p.signature,
            p.doc.timestamp,
            None,
        );
        state.matches(&edges)
    }

    /// Removes a document. Returns false when no document has this id.
    pub fn remove(&self, id: &str) -> bool {
        self.state_mut().remove(id)
    }

    /// Removes every document dated before `timestamp` (seconds since the epoch);
    /// undated documents stay. Returns how many were removed. The memory of removed
    /// documents is given back ([`Index::compact`]).
    pub fn evict_before(&self, timestamp: i64) -> usize {
        let mut state = self.state_mut();
        let old: Vec<u32> = (0..state.slots.len())
            .filter(|&d| {
                state.slots[d]
                    .as_ref()
                    .is_some_and(|s| s.timestamp.is_some_and(|t| t < timestamp))
            })
            .map(|d| d as u32)
            .collect();
        for &d in &old {
            state.remove_doc(d, true);
        }
        if !old.is_empty() {
            state.compact(&self.config);
        }
        old.len()
    }

    /// Removes the documents with these ids (those held), then gives their memory back.
    /// Returns how many were removed.
    pub fn remove_all<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> usize {
        let mut state = self.state_mut();
        let mut n = 0;
        for id in ids {
            if let Some(d) = state.find(id) {
                state.remove_doc(d, true);
                n += 1;
            }
        }
        if n > 0 {
            state.compact(&self.config);
        }
        n
    }

    /// Gives back the memory of removed documents by renumbering those held. Answers do
    /// not change. [`Index::evict_before`] and [`Index::remove_all`] do it themselves;
    /// after many [`Index::remove`] calls, call it once.
    pub fn compact(&self) {
        self.state_mut().compact(&self.config);
    }

    /// The group id and canonical id of a held document.
    #[must_use]
    pub fn group_of(&self, id: &str) -> Option<(Option<String>, String)> {
        let state = self.state();
        let d = state.find(id)?;
        let (group, canonical, _) = state.placement(&self.config, d);
        Some((group, canonical))
    }

    /// Where a held document stands: its group id (when in a group of two or more), the
    /// canonical member's id, and its relation and similarity to the canonical member
    /// (`None` for the canonical member itself).
    #[must_use]
    pub fn placement(&self, id: &str) -> Option<Verdict> {
        let state = self.state();
        let d = state.find(id)?;
        let (group, canonical, relation) = state.placement(&self.config, d);
        Some(Verdict {
            group,
            canonical,
            relation: relation.map(|r| r.0),
            similarity: relation.map(|r| r.1),
            matches: Vec::new(),
        })
    }

    /// The publication time of a held document, if it has one.
    #[must_use]
    pub fn timestamp_of(&self, id: &str) -> Option<Option<i64>> {
        let state = self.state();
        let d = state.find(id)?;
        Some(state.slot(d).timestamp)
    }
}

impl State {
    fn slot(&self, d: u32) -> &Slot {
        self.slots[d as usize].as_ref().expect("live document")
    }

    fn key(&self, d: u32) -> CanonicalKey<'_> {
        let s = self.slot(d);
        CanonicalKey {
            timestamp: s.timestamp,
            len: s.len,
            id: &s.id,
        }
    }

    fn find(&self, id: &str) -> Option<u32> {
        let t = &self.tables;
        match t.by_id.get(&id_hash(id)) {
            Some(&d) if &*self.slot(d).id == id => Some(d),
            Some(_) => t.by_id_rest.get(id).copied(),
            None => None,
        }
    }

    fn add_id(&mut self, d: u32) {
        let slot = self.slots[d as usize].as_ref().expect("live document");
        let id = &slot.id;
        let h = id_hash(id);
        match self.tables.by_id.entry(h) {
            std::collections::hash_map::Entry::Occupied(_) => {
                self.tables.by_id_rest.insert(id.clone(), d);
            }
            std::collections::hash_map::Entry::Vacant(v) => {
                v.insert(d);
            }
        }
    }

    fn remove_id(&mut self, d: u32) {
        let id = self.slot(d).id.clone();
        let h = id_hash(&id);
        if self.tables.by_id.get(&h) == Some(&d) {
            self.tables.by_id.remove(&h);
            // An id that collided moves into the freed place.
            let moved = self
                .tables
                .by_id_rest
                .iter()
                .find(|(k, _)| id_hash(k) == h)
                .map(|(k, &v)| (k.clone(), v));
            if let Some((k, v)) = moved {
                self.tables.by_id_rest.remove(&k);
                self.tables.by_id.insert(h, v);
            }
        } else {
            self.tables.by_id_rest.remove(&id);
        }
    }

    fn weights(&self, f: &Features, config: &Config) -> Weights {
        if config.rewrites {
            Weights::new(f, &self.stats)
        } else {
            Weights::default()
        }
    }

    /// Members of an LSH bucket, newest first.
    fn bucket(&self, band: usize, key: u32) -> impl Iterator<Item = u32> + '_ {
        let t = &self.tables;
        let bands = t.banding.bands;
        let mut d = t.heads[band].get(&key).copied().unwrap_or(NIL);
        std::iter::from_fn(move || {
            (d != NIL).then(|| {
                let here = d;
                d = t.next[here as usize * bands + band];
                here
            })
        })
    }

    /// Verified edges from earlier held documents to a new one, and its keywords.
    /// `doc` is the new document's number when it is being inserted.
    fn candidate_edges(
        &self,
        config: &Config,
        features: &Features,
        signature: &[u32],
        timestamp: Option<i64>,
        doc: Option<u32>,
    ) -> (Vec<Edge>, Vec<u32>) {
        let b = doc.unwrap_or(u32::MAX);
        let weights = self.weights(features, config);
        let verifier = Verifier::new(config);
        let view = DocView {
            features,
            rarity: Rarity::Weights(&weights),
            timestamp,
        };
        if !listed(config.method, features, signature) {
            return (Vec::new(), Vec::new());
        }
        if let Some(&rep) = self.tables.exact.get(&features.exact) {
            let scores = verifier.score(self.view(rep), view);
            let edge = Edge {
                a: rep,
                b,
                relation: Relation::Exact,
                scores,
            };
            return (vec![edge], Vec::new());
        }
        let mut cands: Vec<u32> = Vec::new();
        if let Some((table, _)) = &self.tables.hamming {
            cands = table.query(from_words(signature));
        }
        for (i, &key) in bucket_keys(signature, self.tables.banding)
            .iter()
            .enumerate()
        {
            cands.extend(self.bucket(i, key).take(MAX_BUCKET));
        }
        let mut kw = Vec::new();
        if config.rewrites {
            let params = KeywordParams::default();
            kw = keywords::keywords(features, &weights, &self.stats, params);
            // Looked up: words earlier documents have. Listed: when learning, also the
            // document's new words, which the later versions of its story will share.
            let lookup = if self.learn {
                let listed = KeywordParams {
                    min_df: 1,
                    ..params
                };
                std::mem::replace(
                    &mut kw,
                    keywords::keywords(features, &weights, &self.stats, listed),
                )
            } else {
                kw.clone()
            };
            let mut listed: Vec<u32> = Vec::new();
            for t in &lookup {
                if let Some(&(head, count)) = self.tables.postings.get(t)
                    && count as usize <= params.max_postings
                {
                    listed.extend(self.posting(head));
                }
            }
            listed.sort_unstable();
            let mut i = 0;
            while i < listed.len() {
                let j = i + listed[i..].iter().take_while(|&&x| x == listed[i]).count();
                if j - i >= params.min_shared {
                    cands.push(listed[i]);
                }
                i = j;
            }
        }
        cands.sort_unstable();
        cands.dedup();
        let edges = cands
            .into_iter()
            .filter_map(|a| {
                verifier
                    .relate(self.view(a), view)
                    .map(|(relation, scores)| Edge {
                        a,
                        b,
                        relation,
                        scores,
                    })
            })
            .collect();
        (edges, kw)
    }

    fn matches(&self, edges: &[Edge]) -> Vec<Match> {
        let mut m: Vec<Match> = edges
            .iter()
            .map(|e| Match {
                id: self.slot(e.a).id.to_string(),
                relation: e.relation,
                similarity: e.similarity(),
            })
            .collect();
        m.sort_by(|x, y| {
            x.relation
                .cmp(&y.relation)
                .then(y.similarity.total_cmp(&x.similarity))
                .then(x.id.cmp(&y.id))
        });
        m
    }

    /// The view of held document `d` for verification.
    fn view(&self, d: u32) -> DocView<'_> {
        let s = self.slot(d);
        DocView {
            features: &s.features,
            rarity: Rarity::Stats(&self.stats),
            timestamp: s.timestamp,
        }
    }

    /// Relation of held documents `a` and `b`, when they are related.
    fn related(&self, config: &Config, a: u32, b: u32) -> Option<Relation> {
        Verifier::new(config)
            .relate(self.view(a), self.view(b))
            .map(|r| r.0)
    }

    /// Group id (when in a group of two or more), canonical id, relation and similarity
    /// to the canonical member.
    fn placement(
        &self,
        config: &Config,
        d: u32,
    ) -> (Option<String>, String, Option<(Relation, f32)>) {
        let g = self.grouper.group_of(d);
        let canon = self.grouper.canonical(g);
        let group =
            (self.grouper.members(g).len() >= 2).then(|| self.group_ids[g as usize].clone());
        let relation = (canon != d).then(|| {
            let verifier = Verifier::new(config);
            let (a, b) = (self.view(canon.min(d)), self.view(canon.max(d)));
            let scores = verifier.score(a, b);
            let r = verifier
                .classify(a.features, b.features, &scores)
                .unwrap_or(self.grouper.joined_by(d));
            (r, relation_similarity(r, &scores))
        });
        (group, self.slot(canon).id.to_string(), relation)
    }

    fn insert(&mut self, config: &Config, p: Prepared) -> Result<Verdict> {
        if self.find(&p.doc.id).is_some() {
            return Err(Error::IdExists { id: p.doc.id });
        }
        let d = u32::try_from(self.slots.len())
            .ok()
            .filter(|&d| d < MAX_DOCS)
            .ok_or_else(|| {
                Error::Config(format!(
                    "index full: {MAX_DOCS} document slots (remove documents and compact)"
                ))
            })?;
        if self.learn {
            self.stats.add(&p.features);
        }
        let (edges, kw) =
            self.candidate_edges(config, &p.features, &p.signature, p.doc.timestamp, Some(d));
        let listed = listed(config.method, &p.features, &p.signature);
        let bands = if listed {
            bucket_keys(&p.signature, self.tables.banding)
        } else {
            Box::default()
        };
        let mut features = p.features;
        features.tf = Vec::new();
        self.slots.push(Some(Slot {
            id: p.doc.id.clone().into_boxed_str(),
            timestamp: p.doc.timestamp,
            len: p.doc.text.len() as u64,
            features,
            bands,
            keywords: kw.into_boxed_slice(),
            listed,
        }));
        self.tables
            .next
            .resize(self.slots.len() * self.tables.banding.bands, NIL);
        self.tables.post_next.resize(self.slots.len() * KW, NIL);
        self.add_id(d);
        self.tables.live += 1;
        let mut grouper = std::mem::take(&mut self.grouper);
        // The same placement as the batch run (see `pipeline`).
        let g = if config.rewrites {
            grouper.place(
                &edges,
                |i| self.key(i),
                |a, b| self.related(config, a, b).is_some(),
            )
        } else {
            grouper.place_merging(&edges, |i| self.key(i))
        };
        self.grouper = grouper;
        if g as usize == self.group_ids.len() {
            self.group_ids.push(p.doc.id.clone());
        }
        self.list(d);
        let (group, canonical, relation) = self.placement(config, d);
        Ok(Verdict {
            group,
            canonical,
            relation: relation.map(|r| r.0),
            similarity: relation.map(|r| r.1),
            matches: self.matches(&edges),
        })
    }

    /// Enters a new (highest-numbered) document into the exact-body table, and into the
    /// LSH and keyword tables when it is the first of its body.
    fn list(&mut self, d: u32) {
        let s = self.slot(d);
        if !s.listed {
            return;
        }
        let exact = s.features.exact;
        match self.tables.exact.get(&exact) {
            None => {
                self.tables.exact.insert(exact, d);
                self.add_to_tables(d);
            }
            Some(&rep) => {
                let copies = self.tables.copies.entry(exact).or_insert_with(|| vec![rep]);
                copies.push(d);
                // A later copy needs no keys of its own while the representative lives.
                let s = self.slots[d as usize].as_mut().expect("live document");
                s.bands = Box::default();
                s.keywords = Box::default();
            }
        }
    }

    /// Puts a document into the LSH (or Hamming) and keyword tables, keeping buckets
    /// ordered by document number (newest first).
    fn add_to_tables(&mut self, d: u32) {
        let bands = self.tables.banding.bands;
        let slot = self.slots[d as usize].as_ref().expect("live document");
        if let Some((table, hasher)) = &mut self.tables.hamming {
            table.insert(d, hasher.shingle_fingerprint(&slot.features.shingles));
        }
        for (i, &key) in slot.bands.iter().enumerate() {
            let head = self.tables.heads[i].entry(key).or_insert(NIL);
            if *head == NIL || *head < d {
                self.tables.next[d as usize * bands + i] = *head;
                *head = d;
            } else {
                // An older copy taking a representative's place: walk to its position.
                let mut at = *head;
                loop {
                    let nx = self.tables.next[at as usize * bands + i];
                    if nx == NIL || nx < d {
                        self.tables.next[d as usize * bands + i] = nx;
                        self.tables.next[at as usize * bands + i] = d;
                        break;
                    }
                    at = nx;
                }
            }
        }
        debug_assert!(slot.keywords.len() <= KW && KeywordParams::default().k <= KW);
        for (j, &t) in slot.keywords.iter().enumerate() {
            let link = link(d, j);
            let (head, count) = self.tables.postings.entry(t).or_insert((NIL, 0));
            self.tables.post_next[link as usize] = *head;
            *head = link;
            *count += 1;
        }
    }

    /// The documents listing a keyword, newest first, from the link `head` on.
    fn posting(&self, head: u32) -> impl Iterator<Item = u32> + '_ {
        let mut at = head;
        std::iter::from_fn(move || {
            (at != NIL).then(|| {
                let here = at;
                at = self.tables.post_next[here as usize];
                here / KW as u32
            })
        })
    }

    /// Takes a document out of the LSH (or Hamming) and keyword tables.
    fn remove_from_tables(&mut self, d: u32) {
        if let Some((table, _)) = &mut self.tables.hamming {
            table.remove(d);
        }
        let bands = self.tables.banding.bands;
        let slot = self.slots[d as usize].as_ref().expect("live document");
        for (i, &key) in slot.bands.iter().enumerate() {
            let after = self.tables.next[d as usize * bands + i];
            let Some(head) = self.tables.heads[i].get_mut(&key) else {
                continue;
            };
            if *head == d {
                if after == NIL {
                    self.tables.heads[i].remove(&key);
                } else {
                    *head = after;
                }
            } else {
                let mut at = *head;
                while at != NIL {
                    let nx = self.tables.next[at as usize * bands + i];
                    if nx == d {
                        self.tables.next[at as usize * bands + i] = after;
                        break;
                    }
                    at = nx;
                }
            }
            self.tables.next[d as usize * bands + i] = NIL;
        }
        for (j, &t) in slot.keywords.iter().enumerate() {
            let mine = link(d, j);
            let after = self.tables.post_next[mine as usize];
            let Some(&(head, count)) = self.tables.postings.get(&t) else {
                continue;
            };
            if count <= 1 {
                self.tables.postings.remove(&t);
            } else if head == mine {
                self.tables.postings.insert(t, (after, count - 1));
            } else {
                let mut at = head;
                while at != NIL {
                    let nx = self.tables.post_next[at as usize];
                    if nx == mine {
                        self.tables.post_next[at as usize] = after;
                        break;
                    }
                    at = nx;
                }
                self.tables.postings.insert(t, (head, count - 1));
            }
            self.tables.post_next[mine as usize] = NIL;
        }
    }

    fn remove(&mut self, id: &str) -> bool {
        match self.find(id) {
            Some(d) => {
                self.remove_doc(d, false);
                true
            }
            None => false,
        }
    }

    /// Removes document `d`. In `bulk`, the LSH and keyword tables are left stale for a
    /// [`State::compact`] to rebuild: removing many documents one by one from long
    /// postings would cost their square.
    fn remove_doc(&mut self, d: u32, bulk: bool) {
        self.remove_id(d);
        let (exact, listed) = {
            let s = self.slot(d);
            (s.features.exact, s.listed)
        };
        if listed {
            let rep = self.tables.exact.get(&exact) == Some(&d);
            if rep && !bulk {
                self.remove_from_tables(d);
            }
            let mut rest = None;
            if let Some(copies) = self.tables.copies.get_mut(&exact) {
                copies.retain(|&x| x != d);
                rest = copies.first().copied();
                if copies.len() < 2 {
                    self.tables.copies.remove(&exact);
                }
            }
            match (rep, rest) {
                (true, Some(next)) => {
                    // The next copy of the same body takes the removed one's place, with
                    // its keys (same body, same signature and keywords).
                    let gone = self.slots[d as usize].as_mut().expect("live document");
                    let bands = std::mem::take(&mut gone.bands);
                    let keywords = std::mem::take(&mut gone.keywords);
                    let s = self.slots[next as usize].as_mut().expect("live document");
                    s.bands = bands;
                    s.keywords = keywords;
                    self.tables.exact.insert(exact, next);
                    if !bulk {
                        self.add_to_tables(next);
                    }
                }
                (true, None) => {
                    self.tables.exact.remove(&exact);
                }
                (false, _) => {}
            }
        }
        let mut grouper = std::mem::take(&mut self.grouper);
        grouper.remove(d, |i| self.key(i));
        self.grouper = grouper;
        let s = self.slots[d as usize].take().expect("live document");
        if self.learn {
            self.stats.remove(&s.features);
        }
        self.tables.live -= 1;
    }

    /// Renumbers the live documents densely (in order) and rebuilds the tables, so
    /// removed documents cost nothing. Answers do not change: every order the index uses
    /// is that of document numbers, which renumbering keeps.
    fn compact(&mut self, config: &Config) {
        if self.tables.live == self.slots.len() {
            return;
        }
        let mut new_number = vec![None; self.slots.len()];
        let mut n = 0u32;
        for (d, s) in self.slots.iter().enumerate() {
            if s.is_some() {
                new_number[d] = Some(n);
                n += 1;
            }
        }
        let group_map = self.grouper.compact(&new_number);
        self.group_ids = std::mem::take(&mut self.group_ids)
            .into_iter()
            .zip(&group_map)
            .filter_map(|(id, g)| g.map(|_| id))
            .collect();
        self.slots.retain(Option::is_some);
        self.slots.shrink_to_fit();
        self.rebuild(config);
    }

    /// Derives the tables from the documents held.
    fn rebuild(&mut self, config: &Config) {
        let banding = table_banding(config);
        self.tables = Tables {
            hamming: (config.method == Method::SimHash).then(|| {
                (
                    HammingTable::new(config.hamming),
                    SimHasher::new(config.seed),
                )
            }),
            heads: vec![KeyMap::default(); banding.bands],
            next: vec![NIL; self.slots.len() * banding.bands],
            post_next: vec![NIL; self.slots.len() * KW],
            banding,
            ..Tables::default()
        };
        for d in 0..self.slots.len() {
            if self.slots[d].is_none() {
                continue;
            }
            let d = d as u32;
            self.tables.live += 1;
            self.add_id(d);
            let s = self.slot(d);
            if !s.listed {
                continue;
            }
            let exact = s.features.exact;
            match self.tables.exact.get(&exact) {
                None => {
                    self.tables.exact.insert(exact, d);
                    self.add_to_tables(d);
                }
                Some(&rep) => self
                    .tables
                    .copies
                    .entry(exact)
                    .or_insert_with(|| vec![rep])
                    .push(d),
            }
        }
    }
}

/// First bytes of an index file.
const MAGIC: &[u8; 8] = b"NEARDUPX";
/// Version of the file format this build writes. It reads this one and every earlier
/// one (golden files of each are under `tests/data/`).
///
/// - 1: documents with their signatures, and every table.
/// - 2: documents with LSH bucket keys only, no term frequencies, no tables (rebuilt on
///   load): about a third of version 1's size.
pub const FORMAT_VERSION: u32 = 2;

/// The state as format version 1 stored it, read to convert.
mod v1 {
    use super::{Features, Grouper, HashMap, KeyMap, TermStats};

    #[derive(serde::Deserialize)]
    pub(super) struct Slot {
        pub id: String,
        pub timestamp: Option<i64>,
        pub len: u64,
        pub features: Features,
        pub signature: Vec<u32>,
        pub keywords: Vec<u32>,
        pub indexed: bool,
    }

    #[derive(serde::Deserialize)]
    pub(super) struct State {
        pub slots: Vec<Option<Slot>>,
        pub _by_id: HashMap<String, u32>,
        pub _exact: KeyMap<u64, Vec<u32>>,
        pub _bands: Vec<KeyMap<u64, Vec<u32>>>,
        pub _postings: KeyMap<u32, Vec<u32>>,
        pub stats: TermStats,
        pub learn: bool,
        pub grouper: Grouper,
        pub group_ids: Vec<String>,
        pub _live: usize,
        pub _banding: crate::lsh::Banding,
    }
}

impl State {
    /// A version-1 state in the current layout (tables are rebuilt by the caller).
    fn from_v1(old: v1::State, banding: crate::lsh::Banding) -> State {
        let slots = old
            .slots
            .into_iter()
            .map(|s| {
                s.map(|s| {
                    let mut features = s.features;
                    features.tf = Vec::new();
                    let listed = features.exact != 0 && !is_empty_signature(&s.signature);
                    Slot {
                        id: s.id.into_boxed_str(),
                        timestamp: s.timestamp,
                        len: s.len,
                        features,
                        bands: if s.indexed {
                            bucket_keys(&s.signature, banding)
                        } else {
                            Box::default()
                        },
                        keywords: s.keywords.into_boxed_slice(),
                        listed,
                    }
                })
            })
            .collect();
        State {
            slots,
            stats: old.stats,
            learn: old.learn,
            grouper: old.grouper,
            group_ids: old.group_ids,
            tables: Tables::default(),
        }
    }
}

impl Index {
    /// Writes the index to `path` atomically: a temporary file in the same directory,
    /// flushed to disk, then renamed over `path`. A crash leaves the old file or the new
    /// one, never a mix.
    ///
    /// The format: magic `NEARDUPX`, format version (u32 LE, [`FORMAT_VERSION`]), the
    /// configuration as JSON (u32 LE length first), the state (u64 LE length first,
    /// postcard-encoded: documents, word statistics, groups), and an xxh3-64 checksum of
    /// everything before it (u64 LE).
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        let state = self.state();
        let config = serde_json::to_vec(&self.config).map_err(|e| Error::Config(e.to_string()))?;
        let payload = postcard::to_allocvec(&*state).map_err(|e| Error::IndexFile {
            path: path.to_owned(),
            message: format!("cannot encode the index: {e}"),
        })?;
        drop(state);
        let mut bytes = Vec::with_capacity(payload.len() + config.len() + 32);
        bytes.extend_from_slice(MAGIC);
        bytes.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        bytes.extend_from_slice(
            &u32::try_from(config.len())
                .unwrap_or(u32::MAX)
                .to_le_bytes(),
        );
        bytes.extend_from_slice(&config);
        bytes.extend_from_slice(&(payload.len() as u64).to_le_bytes());
        bytes.extend_from_slice(&payload);
        let sum = xxhash_rust::xxh3::xxh3_64(&bytes);
        bytes.extend_from_slice(&sum.to_le_bytes());

        // Whole or not at all, through a temporary file removed on a signal or by the
        // next run if the process is killed.
        crate::io::atomic::write_file(path, |w| {
            w.write_all(&bytes).map_err(|e| Error::io(path, e))
        })
    }

    /// Reads an index written by [`Index::save`], with the configuration stored in it.
    ///
    /// # Errors
    /// [`Error::IndexFile`] naming the file when it is not an index, has another format
    /// version, is truncated or corrupted; [`Error::Io`] when it cannot be read.
    pub fn load(path: &std::path::Path) -> Result<Index> {
        let bytes = std::fs::read(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound {
                path: path.to_owned(),
            },
            _ => Error::io(path, e),
        })?;
        let bad = |message: String| Error::IndexFile {
            path: path.to_owned(),
            message,
        };
        if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
            return Err(bad("not a neardup index file".into()));
        }
        let truncated = || bad("truncated: the file ends before the index does".into());
        // A cursor over the bytes; every read past the end is "truncated".
        let mut at = MAGIC.len();
        let take = |at: &mut usize, n: usize| -> Result<Vec<u8>> {
            let s = bytes.get(*at..*at + n).ok_or_else(truncated)?.to_vec();
            *at += n;
            Ok(s)
        };
        // Little-endian integers from the bytes taken (4 or 8 of them).
        let u64_at = |b: Vec<u8>| {
            b.iter()
                .rev()
                .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
        };
        let u32_at = |b: Vec<u8>| u64_at(b) as u32;
        let version = u32_at(take(&mut at, 4)?);
        if version == 0 || version > FORMAT_VERSION {
            return Err(bad(format!(
                "index format version {version}; this build reads versions 1 to {FORMAT_VERSION}"
            )));
        }
        let config_len = u32_at(take(&mut at, 4)?) as usize;
        let config_bytes = take(&mut at, config_len)?;
        let payload_len = usize::try_from(u64_at(take(&mut at, 8)?)).map_err(|_| truncated())?;
        let payload = take(&mut at, payload_len)?;
        let body_end = at;
        let stored = u64_at(take(&mut at, 8)?);
        if at != bytes.len() {
            return Err(bad("corrupted: bytes after the checksum".into()));
        }
        if xxhash_rust::xxh3::xxh3_64(&bytes[..body_end]) != stored {
            return Err(bad("corrupted: checksum mismatch".into()));
        }
        let config: Config = serde_json::from_slice(&config_bytes)
            .map_err(|e| bad(format!("corrupted configuration: {e}")))?;
        config
            .validate()
            .map_err(|e| bad(format!("invalid configuration: {e}")))?;
        let corrupted = |e: postcard::Error| bad(format!("corrupted state: {e}"));
        let state: State = if version == 1 {
            let old: v1::State = postcard::from_bytes(&payload).map_err(corrupted)?;
            State::from_v1(old, table_banding(&config))
        } else {
            postcard::from_bytes(&payload).map_err(corrupted)?
        };
        if state.grouper.len() != state.slots.len()
            || state.group_ids.len() != state.grouper.groups()
        {
            return Err(bad("corrupted state: documents and groups disagree".into()));
        }
        state
            .grouper
            .check(state.slots.len(), |d| state.slots[d as usize].is_some())
            .map_err(|e| bad(format!("corrupted state: {e}")))?;
        Index::from_state(config, state)
    }

    /// Reads an index and checks that it was built with `config`.
    ///
    /// # Errors
    /// As [`Index::load`], and [`Error::IndexFile`] when the stored configuration differs.
    pub fn load_with(path: &std::path::Path, config: &Config) -> Result<Index> {
        let index = Index::load(path)?;
        if index.config != *config {
            return Err(Error::IndexFile {
                path: path.to_owned(),
                message: format!(
                    "built with another configuration: {} (expected {})",
                    serde_json::to_string(&index.config).unwrap_or_default(),
                    serde_json::to_string(config).unwrap_or_default()
                ),
            });
        }
        Ok(index)
    }
}

impl TermStats {
    /// Word statistics of a set of documents, as the batch pipeline counts them.
    #[must_use]
    pub fn from_documents(docs: &[Document], config: &Config) -> TermStats {
        let f = Featurizer::new(config);
        let feats: Vec<Features> = docs
            .par_iter()
            .map_init(
                || (Scratch::default(), vec![0u32; config.signature_len()]),
                |(s, sig), d| f.featurize(d, s, sig),
            )
            .collect();
        TermStats::from_features(&feats)
    }
}
