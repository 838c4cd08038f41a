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
//! window.

use std::collections::HashMap;
use std::sync::RwLock;

use rayon::prelude::*;

use crate::config::Config;
use crate::document::Document;
use crate::error::{Error, Result};
use crate::features::{Features, Featurizer, Scratch};
use crate::group::{CanonicalKey, Grouper};
use crate::keywords::{self, KeywordParams};
use crate::lsh::band_hash;
use crate::sketch::minhash::is_empty_signature;
use crate::verify::{DocView, Edge, Relation, Verifier, Weights, relation_similarity};
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

/// One document held by the index.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Slot {
    id: String,
    timestamp: Option<i64>,
    len: u64,
    features: Features,
    signature: Vec<u32>,
    /// Keywords it was listed under (empty unless it is in the tables).
    keywords: Vec<u32>,
    /// Whether it is in the LSH and keyword tables (first of its exact body).
    indexed: bool,
}

/// Everything behind the lock; also what is saved.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct State {
    slots: Vec<Option<Slot>>,
    by_id: HashMap<String, u32>,
    /// Exact-body hash → documents with that body, first the one in the tables.
    exact: KeyMap<u64, Vec<u32>>,
    bands: Vec<KeyMap<u64, Vec<u32>>>,
    postings: KeyMap<u32, Vec<u32>>,
    stats: TermStats,
    learn: bool,
    grouper: Grouper,
    /// Id of each group (its first document's), by group index.
    group_ids: Vec<String>,
    live: usize,
    /// The LSH banding in force (derived once from the configuration).
    banding: crate::lsh::Banding,
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
        config.validate()?;
        let banding = config.banding();
        let state = State {
            slots: Vec::new(),
            by_id: HashMap::new(),
            exact: KeyMap::default(),
            bands: vec![KeyMap::default(); banding.bands],
            postings: KeyMap::default(),
            stats,
            learn,
            grouper: Grouper::default(),
            group_ids: Vec::new(),
            live: 0,
            banding,
        };
        Ok(Index {
            featurizer: Featurizer::new(&config),
            config,
            state: RwLock::new(state),
        })
    }

    pub(crate) fn from_state(config: Config, state: State) -> Result<Self> {
        config.validate()?;
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
        self.state().live
    }

    /// True when no document is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn prepare(&self, doc: Document, scratch: &mut Scratch) -> Prepared {
        let mut signature = vec![0; self.config.perms];
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
        self.state_mut().remove(&self.config, id)
    }

    /// Removes every document dated before `timestamp` (seconds since the epoch);
    /// undated documents stay. Returns how many were removed.
    pub fn evict_before(&self, timestamp: i64) -> usize {
        let mut state = self.state_mut();
        let old: Vec<String> = state
            .slots
            .iter()
            .flatten()
            .filter(|s| s.timestamp.is_some_and(|t| t < timestamp))
            .map(|s| s.id.clone())
            .collect();
        old.iter()
            .filter(|id| state.remove(&self.config, id))
            .count()
    }

    /// The group id and canonical id of a held document.
    #[must_use]
    pub fn group_of(&self, id: &str) -> Option<(Option<String>, String)> {
        let state = self.state();
        let &d = state.by_id.get(id)?;
        let (group, canonical, _) = state.placement(&self.config, d);
        Some((group, canonical))
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

    fn weights(&self, f: &Features, config: &Config) -> Weights {
        if config.rewrites {
            Weights::new(f, &self.stats)
        } else {
            Weights::default()
        }
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
            weights: &weights,
            timestamp,
        };
        let edge_to = |a: u32| {
            let s = self.slot(a);
            let w = self.weights(&s.features, config);
            let other = DocView {
                features: &s.features,
                weights: &w,
                timestamp: s.timestamp,
            };
            let scores = verifier.score(other, view);
            (scores, verifier.classify(&s.features, features, &scores))
        };
        if features.exact == 0 || is_empty_signature(signature) {
            return (Vec::new(), Vec::new());
        }
        if let Some(&rep) = self.exact.get(&features.exact).and_then(|v| v.first()) {
            let (scores, _) = edge_to(rep);
            let edge = Edge {
                a: rep,
                b,
                relation: Relation::Exact,
                scores,
            };
            return (vec![edge], Vec::new());
        }
        let banding = self.banding;
        let mut cands: Vec<u32> = Vec::new();
        for (i, table) in self.bands.iter().enumerate() {
            let lo = i * banding.rows;
            let h = band_hash(&signature[lo..lo + banding.rows], i);
            if let Some(bucket) = table.get(&h) {
                cands.extend(&bucket[bucket.len().saturating_sub(MAX_BUCKET)..]);
            }
        }
        let mut kw = Vec::new();
        if config.rewrites {
            let params = KeywordParams::default();
            kw = keywords::keywords(features, &weights, &self.stats, params);
            let mut listed: Vec<u32> = kw
                .iter()
                .filter_map(|t| self.postings.get(t))
                .filter(|p| p.len() <= params.max_postings)
                .flatten()
                .copied()
                .collect();
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
                let (scores, relation) = edge_to(a);
                relation.map(|relation| Edge {
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
                id: self.slot(e.a).id.clone(),
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

    /// Scores and relation of held documents `a` and `b`.
    fn relate(&self, config: &Config, a: u32, b: u32) -> (crate::verify::Scores, Option<Relation>) {
        let (sa, sb) = (self.slot(a), self.slot(b));
        let (wa, wb) = (
            self.weights(&sa.features, config),
            self.weights(&sb.features, config),
        );
        let verifier = Verifier::new(config);
        let va = DocView {
            features: &sa.features,
            weights: &wa,
            timestamp: sa.timestamp,
        };
        let vb = DocView {
            features: &sb.features,
            weights: &wb,
            timestamp: sb.timestamp,
        };
        let scores = verifier.score(va, vb);
        (
            scores,
            verifier.classify(&sa.features, &sb.features, &scores),
        )
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
            let (scores, r) = self.relate(config, canon.min(d), canon.max(d));
            let r = r.unwrap_or(self.grouper.joined_by(d));
            (r, relation_similarity(r, &scores))
        });
        (group, self.slot(canon).id.clone(), relation)
    }

    fn insert(&mut self, config: &Config, p: Prepared) -> Result<Verdict> {
        if self.by_id.contains_key(&p.doc.id) {
            return Err(Error::IdExists { id: p.doc.id });
        }
        if self.learn {
            self.stats.add(&p.features);
        }
        let d = u32::try_from(self.slots.len()).map_err(|_| Error::Config("index full".into()))?;
        let (edges, kw) =
            self.candidate_edges(config, &p.features, &p.signature, p.doc.timestamp, Some(d));
        let empty = p.features.exact == 0 || is_empty_signature(&p.signature);
        let exact = p.features.exact;
        self.slots.push(Some(Slot {
            id: p.doc.id.clone(),
            timestamp: p.doc.timestamp,
            len: p.doc.text.len() as u64,
            features: p.features,
            signature: p.signature,
            keywords: Vec::new(),
            indexed: false,
        }));
        self.by_id.insert(p.doc.id.clone(), d);
        self.live += 1;
        let mut grouper = std::mem::take(&mut self.grouper);
        let g = grouper.place(
            &edges,
            |i| self.key(i),
            |a, b| self.relate(config, a, b).1.is_some(),
        );
        self.grouper = grouper;
        if g as usize == self.group_ids.len() {
            self.group_ids.push(p.doc.id.clone());
        }
        if !empty {
            let copies = self.exact.entry(exact).or_default();
            copies.push(d);
            if copies.len() == 1 {
                self.add_to_tables(d, kw);
            }
        }
        let (group, canonical, relation) = self.placement(config, d);
        Ok(Verdict {
            group,
            canonical,
            relation: relation.map(|r| r.0),
            similarity: relation.map(|r| r.1),
            matches: self.matches(&edges),
        })
    }

    /// Puts a document into the LSH and keyword tables.
    fn add_to_tables(&mut self, d: u32, kw: Vec<u32>) {
        let banding = self.banding;
        let slot = self.slots[d as usize].as_mut().expect("live document");
        for (i, table) in self.bands.iter_mut().enumerate() {
            let lo = i * banding.rows;
            let h = band_hash(&slot.signature[lo..lo + banding.rows], i);
            table.entry(h).or_default().push(d);
        }
        for &t in &kw {
            self.postings.entry(t).or_default().push(d);
        }
        slot.keywords = kw;
        slot.indexed = true;
    }

    /// Takes a document out of the LSH and keyword tables.
    fn remove_from_tables(&mut self, d: u32) {
        let banding = self.banding;
        let slot = self.slots[d as usize].as_mut().expect("live document");
        for (i, table) in self.bands.iter_mut().enumerate() {
            let lo = i * banding.rows;
            let h = band_hash(&slot.signature[lo..lo + banding.rows], i);
            if let Some(bucket) = table.get_mut(&h) {
                bucket.retain(|&x| x != d);
                if bucket.is_empty() {
                    table.remove(&h);
                }
            }
        }
        for t in std::mem::take(&mut slot.keywords) {
            if let Some(p) = self.postings.get_mut(&t) {
                p.retain(|&x| x != d);
                if p.is_empty() {
                    self.postings.remove(&t);
                }
            }
        }
        slot.indexed = false;
    }

    fn remove(&mut self, config: &Config, id: &str) -> bool {
        let Some(d) = self.by_id.remove(id) else {
            return false;
        };
        let (exact, indexed) = {
            let s = self.slot(d);
            (s.features.exact, s.indexed)
        };
        if indexed {
            self.remove_from_tables(d);
        }
        if let Some(copies) = self.exact.get_mut(&exact) {
            copies.retain(|&x| x != d);
            // The next copy of the same body takes the removed one's place in the tables.
            if let Some(&next) = copies.first() {
                if indexed {
                    let s = self.slot(next);
                    let w = self.weights(&s.features, config);
                    let kw = if config.rewrites {
                        keywords::keywords(&s.features, &w, &self.stats, KeywordParams::default())
                    } else {
                        Vec::new()
                    };
                    self.add_to_tables(next, kw);
                }
            } else {
                self.exact.remove(&exact);
            }
        }
        let mut grouper = std::mem::take(&mut self.grouper);
        grouper.remove(d, |i| self.key(i));
        self.grouper = grouper;
        if self.learn {
            let s = self.slots[d as usize].take().expect("live document");
            self.stats.remove(&s.features);
        } else {
            self.slots[d as usize] = None;
        }
        self.live -= 1;
        true
    }
}

/// First bytes of an index file.
const MAGIC: &[u8; 8] = b"NEARDUPX";
/// Version of the file format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

impl Index {
    /// Writes the index to `path` atomically: a temporary file in the same directory,
    /// flushed to disk, then renamed over `path`. A crash leaves the old file or the new
    /// one, never a mix.
    ///
    /// The format: magic `NEARDUPX`, format version (u32 LE), the configuration as JSON
    /// (u32 LE length first), the state (u64 LE length first, postcard-encoded), and an
    /// xxh3-64 checksum of everything before it (u64 LE).
    ///
    /// # Errors
    /// [`Error::Io`] naming the file.
    pub fn save(&self, path: &std::path::Path) -> Result<()> {
        use std::io::Write;
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

        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => std::path::Path::new("."),
        };
        let io = |e| Error::io(path, e);
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        tmp.write_all(&bytes).map_err(io)?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist(path).map_err(|e| io(e.error))?;
        // Make the rename itself durable.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
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
        if version != FORMAT_VERSION {
            return Err(bad(format!(
                "index format version {version}; this build reads version {FORMAT_VERSION}"
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
        let state: State =
            postcard::from_bytes(&payload).map_err(|e| bad(format!("corrupted state: {e}")))?;
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
                || (Scratch::default(), vec![0u32; config.perms]),
                |(s, sig), d| f.featurize(d, s, sig),
            )
            .collect();
        TermStats::from_features(&feats)
    }
}
