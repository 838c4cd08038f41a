//! The incremental index for crawlers: insert a document, get its matches and group.
//!
//! An [`Index`] runs the same stages as the batch pipeline, one document at a time:
//! features, candidates from LSH buckets and the keyword index, verification against the
//! documents held, and grouping by the same rule ([`crate::group`]).
//!
//! **Consistency and threads.** `Index` is `Send + Sync`. An insert computes features
//! without a lock, finds and verifies its candidates under the shared lock (inserts from
//! several threads overlap there), then commits: it checks its search under the
//! upgradable lock (one commit at a time, searches go on), writes edges and tables under
//! the exclusive lock, and forms the groups again under the shared one, holding the
//! groups' own lock (see `Index::commit`). A commit that finds the index changed since
//! its search searches again, reusing every verification made (only pairs with the
//! documents committed in between are verified then; see `batch`). So the edges and
//! groups are exactly those of a sequential insertion in commit order, with removals and
//! evictions where they took the lock (tests in `index::racing` replay racing runs one
//! operation at a time and compare every verdict and the saved file). A commit still
//! waits for the table walks in progress (BENCHMARKS.md). One caveat: an
//! index that learns its word statistics ([`Index::new`]) weighs a document's words by
//! the statistics at its search, which may miss the documents committed concurrently.
//!
//! **Saving while inserting.** [`Index::save`] takes a snapshot under the shared lock —
//! the documents and edges are kept in chunks shared between the snapshot and the live
//! index (a write copies one chunk), the word statistics and groups are copied — and
//! encodes it without a lock, straight to the file: inserts go on meanwhile, and the
//! file holds the index as it was at the snapshot.
//!
//! **Same answers as `neardup cluster`.** Word rarity comes from document frequencies.
//! An index built with [`Index::with_stats`] from the corpus's own statistics (frozen)
//! gives, document for document, the groups of the batch run over the same input.
//! [`Index::new`] instead learns the frequencies as documents arrive, which is what a
//! crawler wants; early documents are then weighed with fewer examples.
//!
//! **Removal and time window.** [`Index::remove`] and [`Index::evict_before`] take
//! documents out of the tables and of their group, and group the documents they were
//! connected to again by the same rule. When a group's canonical member leaves, the best
//! remaining member by the canonical order (earliest date, then the most related to the
//! others, then a content hash, then the id: [`crate::group`]) becomes canonical, and a
//! member joined only through the one that left may leave the group (rewrites do not
//! chain). The group keeps its id, the id of its first document, even after that
//! document is evicted, as long as members of it stay together, also when they gather
//! around a document that was alone before: group ids stay stable across a rolling
//! window (the rule: [`crate::group::Online`]). Eviction then renumbers the documents held ([`Index::compact`]), so a rolling
//! window holds memory for the documents in it only.
//!
//! **Memory.** A document is held as its features (shingle and word hashes, headline
//! words, figures; Elias–Fano coded in one allocation: `packed.rs`), 32-bit LSH bucket
//! keys and keywords; later exact copies of a body share its representative's keys, and
//! its allocation when their headline is the same too.
//! The tables (ids, exact bodies, LSH buckets as chains through the documents, keyword
//! postings) are derived and rebuilt on load.
//! Of the shingle and word sets, a slot keeps what verification reads
//! ([`crate::config::Footprint`]): whole sets up to about 1,000 words by default, samples
//! of 64 of each with `Footprint::Compact` (the words chosen under the word statistics
//! of the document's search), which also takes a third of the
//! LSH bands (BENCHMARKS.md gives bytes per document for both). A learning index
//! ([`Index::new`]) counts a document's words whole but, when the document leaves,
//! forgets only the words its slot kept: the other words of a sampled text stay counted.
//!
//! **`SimHash`.** With `Config::method = SimHash` a document has no bucket keys: its
//! 64-bit fingerprint goes into a [`HammingTable`] (every held representative within
//! `Config::hamming` bits, exactly) and is recomputed from the stored shingles when the
//! tables are rebuilt, so files of either method have the same format.

use std::collections::HashMap;
use std::io::{Read, Seek, Write};
use std::sync::Arc;

use parking_lot::{RwLock, RwLockUpgradableReadGuard, RwLockWriteGuard};

use rayon::prelude::*;

use crate::config::{Config, Method};
use crate::document::Document;
use crate::error::{Error, Result};
use crate::features::{Features, Featurizer, Scratch};
use crate::group::{Id, Links, Moved, Neighbour, Online, Rank, quantise};
use crate::hamming::HammingTable;
use crate::keywords::KeywordParams;
use crate::lsh::band_hash;
use crate::sketch::listed;
use crate::sketch::minhash::is_empty_signature;
use crate::sketch::simhash::{SimHasher, from_words};
use crate::verify::{
    DocView, Edge, Judgement, Rarity, Relation, Verifier, Weights, relation_similarity,
};
use crate::weights::{KeyMap, TermStats};

mod batch;
mod chains;
mod chunked;
pub(crate) mod keyless;
mod packed;
mod paged;
mod postings;
mod query;
mod retract;
mod sharded;

/// A small deterministic random source for the oracle tests of the index's parts: an
/// xorshift step, reduced below `n`.
#[cfg(test)]
fn test_rand(mut seed: u64) -> impl FnMut(u64) -> u64 {
    move |n| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    }
}
use batch::{Batch, Search};
use chains::Chains;
use chunked::Chunked;
use keyless::{Grown, Keyless};
use packed::PackedSets;
use postings::Postings;
pub use query::{Placement, QueryOptions, QueryResult};
use sharded::Sharded;

/// A bucket keeps pairing a new document with at most this many of its latest members
/// (the batch pipeline's cap).
const MAX_BUCKET: usize = 64;
/// The most documents an insert or a removal groups again besides the documents it
/// brings or touches (the seeds); past it, a document joins the group of its strongest
/// neighbour (see [`Online::regroup`]).
const MAX_REGION: usize = 20_000;

/// A document the index holds related to the one inserted or queried.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Match {
    /// Its id.
    pub id: String,
    /// How the two are related.
    pub relation: Relation,
    /// Their similarity (see [`relation_similarity`]): 1 for an exact copy, the shingle
    /// Jaccard or containment for a near-duplicate, and for a rewrite the rarity-weighted
    /// word Jaccard alone, which can be below [`Config::rewrite_threshold`]: that one is
    /// held to the rewrite score, the word Jaccard plus the shingle Jaccard.
    pub similarity: f32,
}

/// What inserting a document found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verdict {
    /// Its group's id, or `None` when it is alone (so far). A document with matches can
    /// be alone: a rewrite of a member that is not a copy of the group's canonical joins
    /// no group, since rewrites do not chain (README, "How it works").
    pub group: Option<String>,
    /// The id of the group's canonical member (itself when alone).
    pub canonical: String,
    /// Its relation to the canonical member ([`Role::Canonical`](crate::Role) when it is
    /// the canonical member): the relation of their verified pair, as the batch run
    /// reports it; when the pair alone is no edge (it joined through a copy of the
    /// canonical, and the two may be dated further apart than
    /// [`Config::rewrite_window_days`]), how it joined: a copy of the canonical's copies,
    /// or a rewrite of one of them.
    pub relation: crate::verify::Role,
    /// Its similarity to the canonical member (1 when it is the canonical member), as
    /// [`Match::similarity`] gives it for `relation`.
    pub similarity: f32,
    /// Verified matches among the documents held, strongest first: one per body held
    /// (its first copy, which stands for the others; [`Index::query`] lists every copy).
    pub matches: Vec<Match>,
    /// When this document's arrival moved its group's canonical member: the id of the
    /// canonical before. The new canonical ([`Verdict::canonical`]) is this document when
    /// it ranks first (an earlier-published original, say), or a held document it joined
    /// to the group. The group keeps its id.
    pub replaced_canonical: Option<String>,
}

/// Where the pairs refused as different stories lie among the edges
/// ([`Index::refusal_reach`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RefusalReach {
    /// Refused pairs held.
    pub pairs: u64,
    /// Those whose two documents a path of verified edges joins: the only ones that can
    /// keep a document out of a group while no other document arrives.
    pub connected: u64,
    /// Those of which a document has no edge at all.
    pub lone: u64,
}

/// No document: the end of an LSH bucket or keyword chain.
const NIL: u32 = u32::MAX;
/// Keyword chain links per document (the most keywords a document lists).
const KW: usize = 20;
/// Document slots an index can number: every keyword link `d * KW + j` must fit in a
/// `u32` below [`NIL`].
const MAX_DOCS: u32 = (NIL - 1) / KW as u32;
// A neighbour packs the document number beside its flags.
const _: () = assert!(MAX_DOCS <= Neighbour::MAX_DOC);

/// Matches strongest first: by relation, then similarity (descending), then id.
fn sort_matches(m: &mut [Match]) {
    m.sort_by(|x, y| {
        x.relation
            .cmp(&y.relation)
            .then(y.similarity.total_cmp(&x.similarity))
            .then(x.id.cmp(&y.id))
    });
}

/// The hash of document `d`'s body (`None` once it is removed); a uniform hash, so the
/// exact-body table's own.
fn slot_exact(slots: &Chunked<Option<Slot>>, d: u32) -> Option<u64> {
    slots[d as usize].as_ref().map(|s| s.exact)
}

/// Document `d`'s bucket key in `band` (`None` once it is removed: tables are stale
/// during a bulk removal, until they are built again).
fn band_key(slots: &Chunked<Option<Slot>>, d: u32, band: usize) -> Option<u32> {
    slots[d as usize]
        .as_ref()
        .and_then(|s| s.bands().get(band).copied())
}

/// The hash of an LSH heads entry's key in `band` ([`keyless`]), read back from the slot.
fn head_rehash(slots: &Chunked<Option<Slot>>, band: usize) -> impl Fn(&u32) -> u64 + '_ {
    move |&e| keyless::spread(band_key(slots, e, band).unwrap_or_default())
}

/// The hash of an ids entry's key, read back from the slot.
fn id_rehash(slots: &Chunked<Option<Slot>>) -> impl Fn(&u32) -> u64 + '_ {
    |&e| slots[e as usize].as_ref().map_or(0, |s| id_hash(&s.id))
}

/// The hash of an exact-bodies entry's key, read back from the slot.
fn exact_rehash(slots: &Chunked<Option<Slot>>) -> impl Fn(&u32) -> u64 + '_ {
    |&e| slot_exact(slots, e).unwrap_or_default()
}

/// Shards of the tables whose keys are read back from the slots (LSH heads, ids,
/// bodies), grown ahead of a commit ([`State::grown_for`]), or those they replaced.
struct GrownTables {
    /// By band, only the bands with a shard grown (mostly none: no allocation).
    heads: Vec<(usize, Grown<u32>)>,
    by_id: Grown<u32>,
    exact: Grown<u32>,
}

/// [`State::relinked`] covers this many commits back, and at most this many documents.
const RELINKED_GENERATIONS: u64 = 16;
const RELINKED_MAX: usize = 4096;

/// How many times a commit makes a stale search again under the shared lock before it
/// does so under the upgradable one ([`Index::commit`]).
const STALE_TRIES: u32 = 2;

/// How long a thread waiting for the index's lock tries again before it sleeps: spinning
/// for the first [`SPIN`], then giving its core away between tries (the holder may be
/// waiting for it), up to [`TRY`].
const SPIN: std::time::Duration = std::time::Duration::from_micros(20);
const TRY: std::time::Duration = std::time::Duration::from_millis(1);

/// Waits a moment before a lock is tried again, from `start` on: spinning first, then
/// giving the core away (see [`TRY`]). False once it is time to sleep.
fn back_off(start: std::time::Instant) -> bool {
    let waited = start.elapsed();
    if waited < SPIN {
        for _ in 0..64 {
            std::hint::spin_loop();
        }
    } else if waited < TRY {
        std::thread::yield_now();
    } else {
        return false;
    }
    true
}

/// A lock taken by `try_lock`, retried (see [`TRY`]), else by `lock` (which sleeps).
fn spin_lock<G>(try_lock: impl Fn() -> Option<G>, lock: impl FnOnce() -> G) -> G {
    if let Some(g) = try_lock() {
        return g;
    }
    let start = std::time::Instant::now();
    while back_off(start) {
        if let Some(g) = try_lock() {
            return g;
        }
    }
    lock()
}

/// The exclusive lock from an upgradable one, tried again as [`spin_lock`] does (the
/// searches holding the shared lock last microseconds).
fn upgrade<T>(guard: RwLockUpgradableReadGuard<'_, T>) -> RwLockWriteGuard<'_, T> {
    let mut guard = guard;
    let start = std::time::Instant::now();
    loop {
        match RwLockUpgradableReadGuard::try_upgrade(guard) {
            Ok(w) => return w,
            Err(g) => guard = g,
        }
        if !back_off(start) {
            return RwLockUpgradableReadGuard::upgrade(guard);
        }
    }
}

/// One document held by the index: what verification, grouping and the tables need,
/// and nothing derivable. Saved as [`SlotRepr`] (the features unpacked).
#[derive(Debug, Clone, PartialEq)]
struct Slot {
    /// Shared with the id of the group it founded, if any ([`Online::share_ids`]).
    id: Id,
    timestamp: Time,
    /// When it was last seen (the nightly job's crawl night), if the inserter says.
    seen: Time,
    len: u64,
    /// Hash of the normalised body ([`Features::exact`]).
    exact: u64,
    /// Number of words of the body ([`Features::words`]).
    words: u32,
    /// Whether it has a body (words and shingles); bodiless documents are in no table.
    listed: bool,
    /// LSH bucket keys at the start of `sets`, one per band (32 bits: a rare false
    /// bucket-mate costs one verification). Held by the first copy of a body (its
    /// representative in the tables); none for later copies, which inherit them when the
    /// representative leaves.
    bands: u16,
    /// Keywords it is listed under, in `sets` after the bucket keys (at most [`KW`]; none
    /// for later copies, as `bands`).
    keywords: u8,
    /// The bucket keys and keywords, then the shingle and word sets as verification
    /// reads them (their samples: [`crate::config::Footprint`]), headline
    /// words and figures; no term frequencies (used only to pick keywords, at
    /// insertion). One allocation.
    sets: PackedSets,
}

/// A held document's features in `f`: its sets unpacked, its body's hash and word count
/// (no term frequencies: a slot keeps none).
fn unpack_features<'a>(
    sets: &PackedSets,
    exact: u64,
    words: u32,
    f: &'a mut Features,
) -> &'a Features {
    f.exact = exact;
    f.words = words;
    f.tf.clear();
    sets.unpack_into(f);
    f
}

/// A time that may be unknown, in the 8 bytes of an `i64` rather than the 16 of an
/// `Option<i64>` (two per document held): `i64::MIN` stands for none, so a time of
/// `i64::MIN` itself (292 billion years before the epoch) is held one second later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Time(i64);

impl Time {
    fn new(t: Option<i64>) -> Self {
        Time(t.map_or(i64::MIN, |t| t.max(i64::MIN + 1)))
    }

    fn get(self) -> Option<i64> {
        (self.0 != i64::MIN).then_some(self.0)
    }
}

impl Slot {
    /// The slot of a prepared document, its sets packed already after its bucket keys
    /// and `keywords` ([`Prepared::with_keywords`]), and what is left of the document,
    /// for the caller to drop where it chooses (after the lock).
    fn new(p: Prepared, keywords: &[u32]) -> (Slot, Leftover) {
        let bands = u16::try_from(p.bands.len()).expect("bands ≤ perms ≤ 4096 (Config)");
        let kw = u8::try_from(keywords.len()).expect("keywords ≤ KW");
        debug_assert!(keywords.len() <= KW);
        debug_assert_eq!(p.packed.keys(), [&p.bands[..], keywords].concat());
        let Prepared {
            doc,
            id,
            len,
            features,
            packed,
            listed,
            bands: keys,
            seen,
            ..
        } = p;
        let slot = Slot {
            id,
            timestamp: Time::new(doc.timestamp),
            seen: Time::new(seen),
            len,
            exact: features.exact,
            words: features.words,
            listed,
            bands,
            keywords: kw,
            sets: packed,
        };
        (slot, (doc, features, keys))
    }

    /// LSH bucket keys, one per band (none for a later copy of a body).
    fn bands(&self) -> &[u32] {
        self.sets.keys_in(0..usize::from(self.bands))
    }

    /// The keywords it is listed under (none for a later copy of a body).
    fn keywords(&self) -> &[u32] {
        let from = usize::from(self.bands);
        self.sets.keys_in(from..from + usize::from(self.keywords))
    }

    /// Its bucket keys and keywords.
    #[cfg(test)]
    fn keys(&self) -> &[u32] {
        self.sets
            .keys_in(0..usize::from(self.bands) + usize::from(self.keywords))
    }

    /// Holds `bands` bucket keys and `keywords` after them (none for a later copy).
    /// A copy that shares its representative's allocation holds them there already.
    fn set_keys(&mut self, bands: &[u32], keywords: &[u32]) {
        let held = self.sets.keys();
        let (b, k) = held.split_at(bands.len().min(held.len()));
        if held.len() != bands.len() + keywords.len() || b != bands || k != keywords {
            self.sets = self.sets.with_keys(&[bands, keywords].concat());
        }
        self.bands = u16::try_from(bands.len()).expect("bands ≤ perms ≤ 4096 (Config)");
        self.keywords = u8::try_from(keywords.len()).expect("keywords ≤ KW");
    }

    /// Becomes a later copy of the body whose representative holds `rep`: no keys of
    /// its own, and `rep`'s allocation when it holds the same sets (the same headline
    /// too).
    fn follow(&mut self, rep: &PackedSets) {
        match self.sets.shared_with(rep) {
            Some(shared) => {
                self.sets = shared;
                self.forget_keys();
            }
            None => self.set_keys(&[], &[]),
        }
    }

    /// Reads as holding no keys, its allocation left as it is: for a representative
    /// leaving, whose keys went to its heir.
    fn forget_keys(&mut self) {
        self.bands = 0;
        self.keywords = 0;
    }

    /// Its features as verification reads them, written into `f` (whose vectors are
    /// reused).
    fn features_into<'a>(&self, f: &'a mut Features) -> &'a Features {
        unpack_features(&self.sets, self.exact, self.words, f)
    }

    /// Its features, unpacked.
    fn features(&self) -> Features {
        let mut f = Features::default();
        self.features_into(&mut f);
        f
    }
}

/// A slot as saved (format versions 6 to 8 alike): its features unpacked.
#[derive(serde::Serialize, serde::Deserialize)]
struct SlotRepr<I, K> {
    id: I,
    timestamp: Option<i64>,
    seen: Option<i64>,
    len: u64,
    features: Features,
    bands: K,
    keywords: K,
    listed: bool,
}

impl serde::Serialize for Slot {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        SlotRepr {
            id: &*self.id,
            timestamp: self.timestamp.get(),
            seen: self.seen.get(),
            len: self.len,
            features: self.features(),
            bands: self.bands(),
            keywords: self.keywords(),
            listed: self.listed,
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Slot {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let r = SlotRepr::<Box<str>, Box<[u32]>>::deserialize(d)?;
        Slot::from_repr(&r, FORMAT_VERSION).map_err(serde::de::Error::custom)
    }
}

impl Slot {
    /// A slot as format `version` saved it (6 and later), checked.
    fn from_repr(
        r: &SlotRepr<Box<str>, Box<[u32]>>,
        version: u32,
    ) -> std::result::Result<Slot, String> {
        if !packed::sorted_sets(&r.features) {
            return Err(format!("document {:?}: hash sets not sorted", r.id));
        }
        if r.bands.len() > usize::from(u16::MAX) {
            return Err(format!(
                "document {:?}: {} bucket keys",
                r.id,
                r.bands.len()
            ));
        }
        if r.keywords.len() > KW {
            return Err(format!(
                "document {:?}: {} keywords (at most {KW})",
                r.id,
                r.keywords.len()
            ));
        }
        // Keywords are word hashes, as wide as this format keeps them (earlier formats'
        // are narrowed): the postings hold them beside their counts.
        let wide = |k: &u32| k >> crate::features::TERM_BITS != 0;
        if version >= 8
            && let Some(k) = r.keywords.iter().find(|k| wide(k))
        {
            return Err(format!(
                "document {:?}: keyword {k:#x} wider than {} bits",
                r.id,
                crate::features::TERM_BITS
            ));
        }
        Ok(Slot::from_parts(
            &r.id,
            r.timestamp,
            r.seen,
            r.len,
            &r.features,
            &r.bands,
            &r.keywords,
            r.listed,
            version,
        ))
    }

    /// A slot from its parts, as format `version` kept them (a saved one, or an earlier
    /// version's converted): hashes an earlier format kept wider are read as their top
    /// bits, which is what featurising the same text gives now.
    #[allow(clippy::too_many_arguments)]
    fn from_parts(
        id: &str,
        timestamp: Option<i64>,
        seen: Option<i64>,
        len: u64,
        features: &Features,
        bands: &[u32],
        keywords: &[u32],
        listed: bool,
        version: u32,
    ) -> Slot {
        let narrowed;
        let (features, keywords) = if version < 9 {
            narrowed = narrow(features.clone(), keywords, version);
            (&narrowed.0, &narrowed.1[..])
        } else {
            (features, keywords)
        };
        // Bands are at most 4,096 (`Config::perms`) and keywords at most `KW`; what a
        // damaged earlier-format file holds beyond is dropped (format 6 on is checked:
        // `from_repr`).
        let bands = &bands[..bands.len().min(usize::from(u16::MAX))];
        let keywords = &keywords[..keywords.len().min(KW)];
        Slot {
            id: Id::from(id),
            timestamp: Time::new(timestamp),
            seen: Time::new(seen),
            len,
            exact: features.exact,
            words: features.words,
            listed,
            bands: bands.len() as u16,
            keywords: keywords.len() as u8,
            sets: PackedSets::new(
                features,
                usize::MAX,
                &features.terms,
                &[bands, keywords].concat(),
            ),
        }
    }
}

/// The features and keywords of a slot of format `version` (before 9) with this format's
/// hash widths ([`crate::features::SHINGLE_BITS`], [`crate::features::TERM_BITS`]):
/// shingle hashes had 32 bits before version 7, 24 in version 7 and 20 in version 8,
/// word hashes 32 before version 8. Narrowing keeps a sorted set sorted; hashes that
/// come to be equal count once.
fn narrow(mut f: Features, keywords: &[u32], version: u32) -> (Features, Vec<u32>) {
    fn top(set: &mut Vec<u32>, from: u32, to: u32) {
        for h in set.iter_mut() {
            *h >>= from - to;
        }
        set.dedup();
    }
    use crate::features::{SHINGLE_BITS, TERM_BITS};
    debug_assert!(version < 9, "format 9 holds this format's widths");
    let shingle_bits = match version {
        ..=6 => 32,
        7 => 24,
        _ => 20,
    };
    top(&mut f.shingles, shingle_bits, SHINGLE_BITS);
    let mut keywords = keywords.to_vec();
    if version < 8 {
        keywords.sort_unstable();
        for set in [&mut f.terms, &mut f.title, &mut f.numbers, &mut keywords] {
            top(set, 32, TERM_BITS);
        }
        // Term frequencies are not kept (only the sets), and would no longer line up.
        f.tf.clear();
    }
    (f, keywords)
}

/// Everything behind the lock. Only the documents, the word statistics and the groups
/// are saved; the tables are derived from them ([`State::rebuild`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub(crate) struct State {
    /// Documents by number; `None` once removed (until [`State::compact`]).
    /// Held in place, not each behind an `Arc` of its own (40 bytes per document less:
    /// the pointer, the counts and an allocation header). A search that verifies
    /// without the lock takes clones (see [`batch`]): a slot's id and sets are `Arc`s,
    /// so a clone copies its fixed part only. A slot is never written after its
    /// commit but through [`State::slot_mut`], which copies its chunk if a save shares
    /// it.
    slots: Chunked<Option<Slot>>,
    /// Each document's verified edges to the documents held, both ways, and the pairs
    /// refused as different stories ([`Neighbour::apart`], few): what grouping reads
    /// (apart from the slots: they change while the slots do not).
    links: Chunked<Links>,
    /// Shared with searches running without the lock (a frozen index's never change).
    stats: Arc<TermStats>,
    learn: bool,
    /// The groups, by [`crate::group::cluster`] of the documents held.
    groups: Groups,
    #[serde(skip)]
    tables: Tables,
    /// Counts every change of the documents held (a commit, a removal): a search made
    /// at another generation is run again before its commit.
    #[serde(skip)]
    generation: u64,
    /// Counts the changes that renumber documents or take edges away (removals,
    /// compaction): a search made at another epoch cannot be reused at all.
    #[serde(skip)]
    epoch: u64,
    /// The held documents whose edges the last commits changed, by the generation they
    /// were made at (a search made since one of them sees whether its walk stands:
    /// [`State::search_stands`]).
    #[serde(skip)]
    relinked: std::collections::VecDeque<(u64, u32)>,
    /// The first generation `relinked` is complete from.
    #[serde(skip)]
    relinked_from: u64,
}

/// The groups, under a lock of their own (inside the state's): a commit takes it for
/// writing while it holds the exclusive lock, and forms the groups again under the
/// shared one, so that other inserts walk the tables meanwhile ([`Index::commit`]).
/// Whoever reads the groups holds the state's lock (shared or exclusive) and waits
/// for that regroup, and the next commit comes after it: the groups read are always
/// those of the documents held. They are written only under the exclusive lock or by
/// the commit that took them then, so a writer never waits for a reader, and readers
/// may nest ([`State::groups`]).
#[derive(Debug, Default)]
pub(crate) struct Groups(Arc<RwLock<Online>>);

impl Groups {
    fn new(groups: Online) -> Self {
        Groups(Arc::new(RwLock::new(groups)))
    }
}

impl Clone for Groups {
    /// A copy of the groups, not a second handle on them.
    fn clone(&self) -> Self {
        Groups::new(self.0.read_recursive().clone())
    }
}

impl serde::Serialize for Groups {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.0.read_recursive().serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Groups {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Online::deserialize(d).map(Groups::new)
    }
}

/// Lookup tables over the live documents, rebuilt on load.
#[derive(Debug, Clone)]
struct Tables {
    /// Documents by [`id_hash`] of their ids, read back from the slots (two ids of one
    /// hash are two entries, told apart by the ids themselves).
    by_id: Keyless<u32>,
    /// Exact-body hash (read back from the slot) → the representative (first live
    /// copy), and for bodies held more than once, all copies in order.
    exact: Keyless<u32>,
    copies: Sharded<u64, Vec<u32>>,
    /// Per band: the newest member of each bucket, its key read back from that
    /// member's bucket keys ([`band_key`]); `next.get(d, band)` is the next older
    /// member of `d`'s bucket in that band. Buckets are ordered by document number.
    heads: Vec<Keyless<u32>>,
    next: Chains,
    /// Keyword postings per time slice of the rewrite window
    /// ([`crate::keywords::time_slice`]). A dated document counts and links the
    /// documents near it in time, an undated one those of every slice (as the batch run
    /// does).
    postings: Postings,
    /// `Config::rewrite_window_days`, which the slices are cut by.
    window_days: u32,
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
            by_id: Keyless::default(),
            exact: Keyless::default(),
            copies: Sharded::default(),
            heads: Vec::new(),
            next: Chains::default(),
            postings: Postings::default(),
            window_days: 0,
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
    /// The LSH banding of the tables (derived from `config` once: finding it takes a while).
    banding: crate::lsh::Banding,
    featurizer: Featurizer,
    state: RwLock<State>,
    /// A frozen index's word statistics (they never change): searches read them
    /// without the lock. `None` when the index learns them.
    frozen: Option<Arc<TermStats>>,
}

/// A document a commit added: its position in the caller's list, its number, and its
/// edges to earlier documents (its matches).
type Added = (usize, u32, Vec<Edge>);

/// What a commit writes, sorted out before it takes the exclusive lock
/// ([`State::pending`]).
struct Pending {
    /// The first new document's number, and the generation read.
    base: u32,
    generation: u64,
    /// Each new document's edges, and its matches (edges to older documents).
    links: Vec<Links>,
    matches: Vec<Vec<Edge>>,
    /// Edges added to held documents, in order.
    held: Vec<(u32, Neighbour)>,
    /// The documents to group again (more come from the retraction).
    seeds: Vec<u32>,
    /// The held documents pairing their neighbours that gain a direct near edge, with
    /// those neighbours ([`State::retract_unwitnessed`]).
    hubs: Vec<(u32, Vec<u32>)>,
}

/// What inserting a document would change ([`State::probe`]).
#[derive(Default)]
struct Probe {
    /// Its edges from the documents held (the new document numbered `u32::MAX`).
    edges: Vec<Edge>,
    /// The edges between held documents its arrival brings (neighbours of neighbours),
    /// as `(x, neighbour y)`.
    pairs: Vec<(u32, Neighbour)>,
    /// The closing edges between held documents it would take out, lower end first
    /// ([`State::retracted_by`]).
    gone: Vec<(u32, u32)>,
    /// The pairs it would refuse as different stories (the new document numbered
    /// `u32::MAX`), and those between held documents its arrival brings.
    apart: Vec<(u32, u32)>,
}

/// What entering a prepared document leaves of it (the document, its unpacked
/// features, its bucket keys): a small batch's are freed after the commit's locks.
type Leftover = (Document, Features, Box<[u32]>);

/// Features and candidate keys of a document, computed outside the lock.
#[derive(Clone)]
pub(crate) struct Prepared {
    /// The document without its text (what is kept of it is in `features` and `len`).
    doc: Document,
    /// Its id as the slot (and a group it founds) holds it, made outside the lock.
    id: Id,
    /// Length of the text in bytes.
    len: u64,
    features: Features,
    /// What a slot keeps of `features`, after the bucket keys and, once chosen, the
    /// keywords (packed outside the lock); empty until `Batch::new` for a body longer than
    /// the sample, whose words are chosen there.
    packed: PackedSets,
    /// Whether it has a body to list (see [`listed`]).
    listed: bool,
    /// LSH bucket keys (`MinHash`; empty otherwise).
    bands: Box<[u32]>,
    /// The `SimHash` fingerprint (`SimHash` only).
    fingerprint: Option<u64>,
    /// When it was seen (see [`Index::mark_seen`]).
    pub(crate) seen: Option<i64>,
}

impl Prepared {
    /// Its sets packed after its bucket keys and `keywords` (none when there are no
    /// keywords: the bucket keys are there already). Made as the keywords are chosen,
    /// outside the lock, so that the slot needs no copy under it.
    fn with_keywords(&self, keywords: &[u32]) -> Option<PackedSets> {
        (!keywords.is_empty()).then(|| self.packed.with_keys(&[&self.bands[..], keywords].concat()))
    }
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
        let state = State::held(
            Chunked::default(),
            Chunked::default(),
            Arc::new(stats),
            learn,
            Online::default(),
        );
        Self::from_state(config, state)
    }

    pub(crate) fn from_state(config: Config, mut state: State) -> Result<Self> {
        config.validate()?;
        state.rebuild(&config);
        Ok(Index {
            banding: table_banding(&config),
            featurizer: Featurizer::new(&config),
            config,
            frozen: (!state.learn).then(|| Arc::clone(&state.stats)),
            state: RwLock::new(state),
        })
    }

    /// The shared lock. The sections under the lock last microseconds: a thread
    /// waiting for one spins a while before it sleeps, since waking a sleeping thread
    /// costs more than the wait (and most of the waits are on the other core).
    pub(crate) fn state(&self) -> parking_lot::RwLockReadGuard<'_, State> {
        spin_lock(|| self.state.try_read(), || self.state.read())
    }

    /// The exclusive lock, spinning a while first (see [`Index::state`]).
    fn state_mut(&self) -> RwLockWriteGuard<'_, State> {
        spin_lock(|| self.state.try_write(), || self.state.write())
    }

    /// The upgradable lock, spinning a while first: shared with searches, exclusive of
    /// other commits and of the exclusive lock (see [`Index::commit`]).
    fn state_upgradable(&self) -> RwLockUpgradableReadGuard<'_, State> {
        spin_lock(
            || self.state.try_upgradable_read(),
            || self.state.upgradable_read(),
        )
    }

    /// The configuration.
    #[must_use]
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Where the pairs refused as different stories ([`crate::group::Neighbour::apart`])
    /// lie in the graph of verified edges: what decides how many of them grouping needs
    /// (a refusal keeps a document out of a group only where edges join it to the
    /// other document's). A diagnostic for benchmarks (`benches/index.rs`); it walks
    /// every edge.
    #[must_use]
    pub fn refusal_reach(&self) -> RefusalReach {
        let st = self.state();
        let mut components = crate::group::Components::new(st.links.len());
        let has_edge = |d: u32| st.links[d as usize].iter().any(Neighbour::is_edge);
        for (d, l) in st.links.iter().enumerate() {
            for nb in l.iter().filter(|nb| nb.is_edge()) {
                components.union(d as u32, nb.doc());
            }
        }
        let mut reach = RefusalReach::default();
        for (d, l) in st.links.iter().enumerate() {
            let d = d as u32;
            // Each pair once, from its lower end.
            for x in l
                .iter()
                .filter(|nb| nb.apart() && d < nb.doc())
                .map(Neighbour::doc)
            {
                reach.pairs += 1;
                if components.find(d) == components.find(x) {
                    reach.connected += 1;
                }
                if !has_edge(d) || !has_edge(x) {
                    reach.lone += 1;
                }
            }
        }
        reach
    }

    /// Approximate heap bytes of what the index holds, by part, largest parts of a
    /// document first: to see where memory goes (`benches/index.rs` prints it per
    /// document). Counts vectors by capacity, hash maps by buckets, and 16 bytes of
    /// allocation header per allocation; the allocator's own slack is not counted.
    #[must_use]
    pub fn memory(&self) -> Vec<(&'static str, usize)> {
        let st = self.state();
        let (mut slot, mut ids, mut shingles, mut words, mut other, mut keys) = (0, 0, 0, 0, 0, 0);
        let boxed = |bytes: usize| bytes + 16;
        for s in st.slots.iter().flatten() {
            // The id and its `Arc`'s count (a group's id shares them).
            ids += boxed(s.id.len() + 8);
            // The sets' one allocation (its header and `Arc` counts with the slot)
            // counts once, shared among the copies of a body that hold it.
            let [sh, wo, ti, nu] = s.sets.heap_bytes();
            let holders = s.sets.holders();
            // Its header: the allocator's 16 bytes, the count, the sets' lengths and
            // the allocation's length.
            slot += 40 / holders;
            shingles += sh / holders;
            words += wo / holders;
            other += (ti + nu) / holders;
            keys += s.sets.keys().len() * 4 / holders;
        }
        let t = &st.tables;
        // A list's spare capacity counts with the edges; refused pairs by their entries.
        let (mut links, mut refused) = (0, 0);
        for l in st.links.iter() {
            let (edges, apart) = l.heap_bytes();
            links += std::mem::size_of::<Links>() + edges;
            refused += apart;
        }
        vec![
            // Slots are held in place, removed ones too (until `compact`).
            (
                "slots (fixed part)",
                slot + st.slots.len() * std::mem::size_of::<Option<Slot>>(),
            ),
            ("ids", ids + t.by_id.heap_bytes()),
            ("shingle hashes", shingles),
            ("word hashes", words),
            ("headline words and figures", other),
            ("bucket keys and keywords", keys),
            (
                "LSH buckets",
                t.heads.iter().map(Keyless::heap_bytes).sum::<usize>() + t.next.heap_bytes(),
            ),
            ("keyword postings", t.postings.heap_bytes()),
            ("exact bodies", t.exact.heap_bytes() + t.copies.heap_bytes()),
            ("edges", links),
            ("refused pairs", refused),
            ("groups", st.groups().heap_bytes()),
            ("word statistics", st.stats.heap_bytes()),
        ]
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

    fn prepare(&self, mut doc: Document, scratch: &mut Scratch) -> Prepared {
        let mut signature = vec![0; self.config.signature_len()];
        let features = self.featurizer.featurize(&doc, scratch, &mut signature);
        let listed = listed(self.config.method, &features, &signature);
        let len = doc.text.len() as u64;
        doc.text = String::new();
        let bands = if listed {
            bucket_keys(&signature, self.banding)
        } else {
            Box::default()
        };
        Prepared {
            id: Id::from(doc.id.as_str()),
            doc,
            len,
            listed,
            fingerprint: (self.config.method == Method::SimHash).then(|| from_words(&signature)),
            packed: {
                // A body longer than the sample is packed by `Batch::new`, which chooses
                // its words under the word statistics.
                let sample = self.config.footprint.sample();
                if crate::verify::words_sampled(&features, sample.words) {
                    PackedSets::default()
                } else {
                    PackedSets::new(&features, sample.shingles, &features.terms, &bands)
                }
            },
            bands,
            features,
            seen: None,
        }
    }

    /// Inserts a document and says what it matched and which group it joined.
    ///
    /// Inserts from several threads overlap: features are computed without the lock,
    /// the candidates are found under the shared lock (a frozen index, made by
    /// [`Index::with_stats`], verifies them without it), and only the commit (tables,
    /// edges, groups) is exclusive. The outcome is that of the inserts one at a time in
    /// the order they commit (see the `batch` module's docs).
    ///
    /// # Errors
    /// [`Error::IdExists`] when a document with this id is held.
    pub fn insert(&self, doc: Document) -> Result<Verdict> {
        let p = Scratch::with_local(|scratch| self.prepare(doc, scratch));
        let mut verdicts = self.insert_prepared(vec![p]);
        verdicts
            .pop()
            .unwrap_or_else(|| unreachable!("one verdict per document"))
    }

    /// Inserts documents; features are computed in parallel first. The documents are
    /// grouped together once all are in, so the verdicts (and groups) are those of the
    /// whole batch, whatever its order: what the nightly job wants of one night.
    ///
    /// # Errors
    /// Each document's own result, as [`Index::insert`].
    pub fn insert_batch(&self, docs: Vec<Document>) -> Vec<Result<Verdict>> {
        let prepared = self.prepare_all(docs);
        self.insert_prepared(prepared)
    }

    /// Features of documents, in parallel, for [`Index::insert_prepared`]; the texts are
    /// dropped.
    pub(crate) fn prepare_all(&self, docs: Vec<Document>) -> Vec<Prepared> {
        docs.into_par_iter()
            .map_init(Scratch::default, |s, d| self.prepare(d, s))
            .collect()
    }

    /// Inserts prepared documents as one batch: they enter in the order of their ids
    /// (xxh3, then the id), not in the order given, each with the candidates it would
    /// have had inserted alone in that order, and are grouped once all are in, so the
    /// outcome depends on the set of documents alone. Verdicts come in the order given.
    ///
    /// The search runs under the shared lock, in parallel over the documents; the commit
    /// under the exclusive lock (see [`batch`]).
    pub(crate) fn insert_prepared(&self, prepared: Vec<Prepared>) -> Vec<Result<Verdict>> {
        self.insert_prepared_with(prepared, &crate::progress::NoProgress)
    }

    /// [`Index::insert_prepared`], telling `progress` of its stages: the search
    /// ([`Stage::Candidates`](crate::progress::Stage), one unit per document) and the
    /// commit ([`Stage::Cluster`](crate::progress::Stage)).
    pub(crate) fn insert_prepared_with(
        &self,
        prepared: Vec<Prepared>,
        progress: &dyn crate::progress::Progress,
    ) -> Vec<Result<Verdict>> {
        use crate::progress::Stage;
        let prepared = match &self.frozen {
            Some(stats) if prepared.len() <= batch::MEMO_BATCH => {
                match self.insert_frozen(prepared, stats) {
                    Ok(verdicts) => return verdicts,
                    Err(prepared) => prepared,
                }
            }
            _ => prepared,
        };
        let mut results: Vec<Option<Result<Verdict>>> = (0..prepared.len()).map(|_| None).collect();
        // Ids first: empty, held, or twice in the batch (the first given is inserted).
        let check = |state: &State, results: &mut Vec<Option<Result<Verdict>>>| {
            let mut ids: std::collections::HashSet<&str> = std::collections::HashSet::new();
            let verdicts: Vec<Option<Error>> = prepared
                .iter()
                .map(|p| {
                    let id = p.doc.id.as_str();
                    if id.is_empty() {
                        Some(Error::EmptyId)
                    } else if state.find(id).is_some() || !ids.insert(id) {
                        Some(Error::IdExists { id: id.to_owned() })
                    } else {
                        None
                    }
                })
                .collect();
            for (i, e) in verdicts.into_iter().enumerate() {
                results[i] = e.map(Err);
            }
        };
        let accept = |results: &Vec<Option<Result<Verdict>>>, prepared: Vec<Prepared>| {
            prepared
                .into_iter()
                .enumerate()
                .filter(|(i, _)| results[*i].is_none())
                .collect::<Vec<_>>()
        };
        let search = |state: &State, accepted: Vec<(usize, Prepared)>| {
            let batch = state.batch(&self.config, accepted);
            progress.start(Stage::Candidates, Some(batch.len() as u64));
            let search = state.search(&self.config, &batch, None, progress);
            progress.finish(Stage::Candidates);
            (batch, search)
        };
        // One lock from the ids to the search: a learning index first counts the new
        // documents' words (a document's own words count in its weights, and a new word
        // is listed for the next versions of its story), then lets other searches in.
        let (batch, search) = if self.frozen.is_none() {
            let mut state = self.state_mut();
            check(&state, &mut results);
            let accepted = accept(&results, prepared);
            if accepted.is_empty() {
                return results.into_iter().map(|r| r.expect("a result")).collect();
            }
            for (_, p) in &accepted {
                Arc::make_mut(&mut state.stats).add(&p.features);
            }
            let state = parking_lot::RwLockWriteGuard::downgrade(state);
            search(&state, accepted)
        } else {
            let state = self.state();
            check(&state, &mut results);
            let accepted = accept(&results, prepared);
            if accepted.is_empty() {
                return results.into_iter().map(|r| r.expect("a result")).collect();
            }
            search(&state, accepted)
        };
        self.commit(results, batch, search, progress)
    }

    /// The commit of an insert (see [`batch`]): under the upgradable lock, the search
    /// checked (made again under the shared lock if another insert committed since)
    /// and its edges sorted out; under the exclusive lock, the documents entered; under
    /// the shared lock, holding the groups' lock taken before, the documents grouped
    /// and the verdicts read. `results` holds the documents refused already.
    fn commit(
        &self,
        mut results: Vec<Option<Result<Verdict>>>,
        mut batch: Batch,
        mut search: Search,
        progress: &dyn crate::progress::Progress,
    ) -> Vec<Result<Verdict>> {
        use crate::progress::Stage;
        progress.start(Stage::Cluster, None);
        // What the commit reads (the check of the search, its edges) is done under the
        // upgradable lock, which keeps other commits out but lets searches in; only the
        // writes hold the exclusive lock. A search another commit overtook is made
        // again under the shared lock first (other commits go on meanwhile), a few
        // times, then under the upgradable lock.
        let mut tries = 0;
        let state = loop {
            let state = self.state_upgradable();
            if tries == STALE_TRIES
                || search.generation == state.generation
                || state.search_stands(&self.config, &batch, &mut search)
            {
                break state;
            }
            drop(state);
            let state = self.state();
            state.index_batch_again(&self.config, &mut batch);
            search = state.search(&self.config, &batch, Some(&search), progress);
            tries += 1;
        };
        let learn = state.learn;
        let state = if batch.docs.iter().any(|p| state.find(&p.doc.id).is_some()) {
            let mut state = upgrade(state);
            // Another insert took an id meanwhile: without those documents, search again.
            let mut keep = Vec::with_capacity(batch.len());
            for (i, p) in batch.input.into_iter().zip(batch.docs) {
                if state.find(&p.doc.id).is_some() {
                    if learn {
                        Arc::make_mut(&mut state.stats).remove(&p.features);
                    }
                    results[i] = Some(Err(Error::IdExists { id: p.doc.id }));
                } else {
                    keep.push((i, p));
                }
            }
            batch = state.batch(&self.config, keep);
            search = state.search(&self.config, &batch, None, progress);
            RwLockWriteGuard::downgrade_to_upgradable(state)
        } else {
            if search.generation != state.generation
                && !state.search_stands(&self.config, &batch, &mut search)
            {
                state.index_batch_again(&self.config, &mut batch);
                search = state.search(&self.config, &batch, Some(&search), progress);
            }
            state
        };
        let pending = state.pending(&batch, &search);
        // A night's batch grows its tables as it enters them (it is alone, and grows
        // each shard many times over).
        let grown = (batch.len() <= batch::MEMO_BATCH).then(|| state.grown_for(&batch));
        let mut state = upgrade(state);
        let free = MAX_DOCS.saturating_sub(state.slots.len() as u32) as usize;
        if batch.len() > free {
            for (i, p) in batch.input.into_iter().zip(batch.docs) {
                if learn {
                    Arc::make_mut(&mut state.stats).remove(&p.features);
                }
                results[i] = Some(Err(Error::Config(format!(
                    "index full: {MAX_DOCS} document slots (remove documents and compact)"
                ))));
            }
            return results.into_iter().map(|r| r.expect("a result")).collect();
        }
        let replaced = grown.map(|g| state.install(g));
        let (added, seeds, leftovers) = state.commit(&mut batch, pending);
        // What is left of a small batch is freed after the locks; a night's (its tables
        // are large) now, before the regroup.
        let _leftovers = if added.len() > batch::MEMO_BATCH {
            drop(batch);
            drop(leftovers);
            None
        } else {
            Some((batch, leftovers, replaced))
        };
        // The groups are formed again under the shared lock, other inserts walking the
        // tables meanwhile; their own lock, taken before the exclusive one is let go,
        // keeps readers of the groups and the next commit after the regroup (see
        // [`Groups`]).
        let groups = Arc::clone(&state.groups.0);
        let mut groups_mut = groups.write();
        let state = RwLockWriteGuard::downgrade(state);
        // The first move of each group names the canonical member it had before.
        let mut moved: KeyMap<u32, u32> = KeyMap::default();
        for m in state.regroup_in(&mut groups_mut, &seeds, MAX_REGION) {
            moved.entry(m.group).or_insert(m.from);
        }
        let groups_read = parking_lot::RwLockWriteGuard::downgrade(groups_mut);
        for (i, d, edges) in added {
            results[i] = Some(Ok(state.verdict(
                &groups_read,
                &self.config,
                d,
                &edges,
                &moved,
            )));
        }
        drop(groups_read);
        drop(state);
        progress.finish(Stage::Cluster);
        results.into_iter().map(|r| r.expect("a result")).collect()
    }

    /// Removes a document. Returns false when no document has this id.
    pub fn remove(&self, id: &str) -> bool {
        self.state_mut().remove(&self.config, id)
    }

    /// Removes every document dated before `timestamp` (seconds since the epoch);
    /// undated documents stay. Returns how many were removed. The memory of removed
    /// documents is given back ([`Index::compact`]).
    pub fn evict_before(&self, timestamp: i64) -> usize {
        self.evict_where(|s| s.timestamp.get().is_some_and(|t| t < timestamp))
    }

    /// Records that the document `id` was seen at `time` (seconds since the epoch; a
    /// crawl's night, say), when that is later than it was last seen. Returns false when
    /// no document has this id. See [`Index::evict_unseen_before`].
    pub fn mark_seen(&self, id: &str, time: i64) -> bool {
        let mut state = self.state_mut();
        let Some(d) = state.find(id) else {
            return false;
        };
        if state.slots[d as usize].is_some() {
            let slot = state.slot_mut(d);
            slot.seen = Time::new(Some(slot.seen.get().map_or(time, |s| s.max(time))));
        }
        true
    }

    /// Removes every document last seen before `time` ([`Index::mark_seen`]); a
    /// document never marked counts as seen at its publication date, and undated ones
    /// stay. Returns how many were removed; their memory is given back.
    pub fn evict_unseen_before(&self, time: i64) -> usize {
        self.evict_where(|s| s.seen.get().or(s.timestamp.get()).is_some_and(|t| t < time))
    }

    fn evict_where(&self, old: impl Fn(&Slot) -> bool) -> usize {
        self.state_mut().evict_where(&self.config, old)
    }

    /// Removes the documents with these ids (those held), then gives their memory back.
    /// Returns how many were removed.
    pub fn remove_all<'a>(&self, ids: impl IntoIterator<Item = &'a str>) -> usize {
        let mut state = self.state_mut();
        let mut n = 0;
        for id in ids {
            if let Some(d) = state.find(id) {
                state.remove_doc(&self.config, d, true);
                n += 1;
            }
        }
        if n > 0 {
            state.regroup_all();
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
}

impl State {
    /// A state holding these documents, edges, statistics and groups, its tables to be
    /// built ([`State::rebuild`]).
    fn held(
        slots: Chunked<Option<Slot>>,
        links: Chunked<Links>,
        stats: Arc<TermStats>,
        learn: bool,
        groups: Online,
    ) -> State {
        State {
            slots,
            links,
            stats,
            learn,
            groups: Groups::new(groups),
            tables: Tables::default(),
            generation: 0,
            epoch: 0,
            relinked: std::collections::VecDeque::new(),
            relinked_from: 0,
        }
    }

    /// What [`Index::save`] writes, as it is now: the chunks of documents and edges are
    /// shared with the live state (a write into one afterwards copies that chunk only);
    /// the statistics and groups are copied.
    fn snapshot(&self) -> State {
        State {
            slots: self.slots.clone(),
            links: self.links.clone(),
            stats: self.stats.clone(),
            learn: self.learn,
            groups: self.groups.clone(),
            tables: Tables::default(),
            generation: self.generation,
            epoch: self.epoch,
            relinked: std::collections::VecDeque::new(),
            relinked_from: 0,
        }
    }

    /// The groups, for reading, under the state's lock (see [`Groups`]). Reads may
    /// nest: a reader never waits for a writer that waits for it.
    fn groups(&self) -> parking_lot::RwLockReadGuard<'_, Online> {
        self.groups.0.read_recursive()
    }

    /// The groups, for writing, under the exclusive lock (no one else holds them then).
    fn groups_mut(&mut self) -> parking_lot::RwLockWriteGuard<'_, Online> {
        self.groups.0.write()
    }

    fn slot(&self, d: u32) -> &Slot {
        self.slots[d as usize].as_ref().expect("live document")
    }

    /// Document `d`'s slot for writing (copied first when a search still reads it).
    fn slot_mut(&mut self, d: u32) -> &mut Slot {
        self.slots[d as usize].as_mut().expect("live document")
    }

    fn rank(&self, d: u32) -> Rank<'_> {
        let s = self.slot(d);
        // A copy of a body counts what its representative counts (as the batch run).
        let rep = self.representative(d);
        Rank {
            timestamp: s.timestamp.get(),
            related: self.links[rep as usize]
                .iter()
                .filter(|l| l.is_edge())
                .map(|l| quantise(l.similarity()))
                .sum(),
            hash: s.exact,
            id: &s.id,
        }
    }

    /// Groups again the documents connected to `seeds` (see [`Online::regroup`]).
    fn regroup(&mut self, seeds: &[u32], max_region: usize) -> Vec<Moved> {
        let groups = Arc::clone(&self.groups.0);
        let mut groups = groups.write();
        self.regroup_in(&mut groups, seeds, max_region)
    }

    /// [`State::regroup`] of `groups`, this state's groups taken for writing (a commit
    /// regroups under the shared lock: see [`Groups`]).
    fn regroup_in(&self, groups: &mut Online, seeds: &[u32], max_region: usize) -> Vec<Moved> {
        groups.regroup(
            seeds,
            |d| &self.links[d as usize],
            |d| self.rank(d),
            |d| self.slot(d).id.clone(),
            max_region,
        )
    }

    /// Groups every document held again (after removals in bulk).
    fn regroup_all(&mut self) {
        let live: Vec<u32> = (0..self.slots.len() as u32)
            .filter(|&d| self.slots[d as usize].is_some())
            .collect();
        self.regroup(&live, usize::MAX);
    }

    fn find(&self, id: &str) -> Option<u32> {
        let slots = &self.slots;
        let eq = |&e: &u32| slots[e as usize].as_ref().is_some_and(|s| &*s.id == id);
        self.tables.by_id.get(id_hash(id), eq).copied()
    }

    fn add_id(&mut self, d: u32) {
        let h = id_hash(&self.slot(d).id);
        self.tables.by_id.insert(h, d, id_rehash(&self.slots));
    }

    fn remove_id(&mut self, d: u32) {
        let h = id_hash(&self.slot(d).id);
        self.tables.by_id.remove(h, |&e| e == d);
    }

    /// The representative (first live copy) of the body hashed to `exact`.
    fn rep_of(&self, exact: u64) -> Option<u32> {
        let slots = &self.slots;
        let eq = |&e: &u32| slot_exact(slots, e) == Some(exact);
        self.tables.exact.get(exact, eq).copied()
    }

    /// Enters `d` as the representative of its body (which has none).
    fn add_rep(&mut self, d: u32) {
        let exact = self.slot(d).exact;
        self.tables
            .exact
            .insert(exact, d, exact_rehash(&self.slots));
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
        self.bucket_from(band, self.bucket_head(band, key))
    }

    /// The newest member of a bucket ([`NIL`] for none).
    fn bucket_head(&self, band: usize, key: u32) -> u32 {
        let slots = &self.slots;
        self.tables.heads[band]
            .get(keyless::spread(key), |&e| {
                band_key(slots, e, band) == Some(key)
            })
            .copied()
            .unwrap_or(NIL)
    }

    /// The members of a bucket of `band` from `d` (its newest member, or one of them) on.
    fn bucket_from(&self, band: usize, mut d: u32) -> impl Iterator<Item = u32> + '_ {
        let t = &self.tables;
        std::iter::from_fn(move || {
            (d != NIL).then(|| {
                let here = d;
                d = t.next.get(here, band);
                here
            })
        })
    }

    /// What inserting a new document would verify and change, without inserting it
    /// (the search of a batch of one).
    fn probe(&self, config: &Config, p: &Prepared) -> Probe {
        let batch = self.batch(config, vec![(0, p.clone())]);
        let search = self.search(config, &batch, None, &crate::progress::NoProgress);
        let mut probe = Probe::default();
        let mut gaining: Vec<u32> = Vec::new();
        for (e, closing) in search.edges(u32::MAX) {
            if e.b == u32::MAX {
                if !closing && e.relation != Relation::Exact {
                    gaining.push(e.a);
                }
                probe.edges.push(e);
            } else {
                let nb = Neighbour::edge(e.b, e.relation, e.similarity(), closing);
                probe.pairs.push((e.a, nb));
            }
        }
        probe.apart = search
            .apart(u32::MAX)
            .into_iter()
            .map(|(a, b, _)| (a, b))
            .collect();
        gaining.sort_unstable();
        gaining.dedup();
        probe.gone = self.retracted_by(&gaining);
        probe
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
        sort_matches(&mut m);
        m
    }

    /// The view of held document `d` for verification, its sets unpacked into `buf`.
    fn view<'a>(&'a self, d: u32, buf: &'a mut Features) -> DocView<'a> {
        let s = self.slot(d);
        DocView {
            features: s.features_into(buf),
            rarity: Rarity::Stats(&self.stats),
            timestamp: s.timestamp.get(),
        }
    }

    /// The views of held documents `x` and `y`, unpacked into `bufs`.
    fn views<'a>(
        &'a self,
        x: u32,
        y: u32,
        bufs: &'a mut [Features; 2],
    ) -> (DocView<'a>, DocView<'a>) {
        let [fx, fy] = bufs;
        (self.view(x, fx), self.view(y, fy))
    }

    /// Group id (when in a group of two or more), canonical id, relation and similarity
    /// to the canonical member.
    fn placement(
        &self,
        groups: &Online,
        config: &Config,
        d: u32,
    ) -> (Option<String>, String, Option<(Relation, f32)>) {
        let g = groups.group_of(d).expect("a placed document");
        let canon = groups.canonical(g);
        let group = (groups.members(g).len() >= 2).then(|| groups.id(g).to_owned());
        let relation = (canon != d).then(|| {
            // As the batch run: the verified edge when there is one, exact copies of the
            // canonical's body without verifying, else the pair verified now.
            if let Some(l) = self.links[d as usize]
                .iter()
                .find(|l| l.doc() == canon && l.is_edge())
            {
                return (l.relation(), l.similarity());
            }
            let exact = self.slot(d).exact;
            if exact != 0 && exact == self.slot(canon).exact {
                return (Relation::Exact, 1.0);
            }
            let verifier = Verifier::new(config);
            let mut bufs = Default::default();
            let (a, b) = self.views(canon.min(d), canon.max(d), &mut bufs);
            let scores = verifier.score(a, b);
            let r = verifier
                .classify(a.features, b.features, &scores)
                .unwrap_or(groups.tie(d));
            (r, relation_similarity(r, &scores))
        });
        (group, self.slot(canon).id.to_string(), relation)
    }

    /// What committing `search` (a search of the state as it is) reads before it
    /// writes, under the upgradable lock (searches go on meanwhile): the edges, sorted
    /// out by document, and the held documents the commit may take past the cap
    /// (`retract`).
    fn pending(&self, batch: &Batch, search: &Search) -> Pending {
        let base = self.slots.len() as u32;
        let n = batch.len();
        let mut pending = Pending {
            base,
            generation: self.generation,
            links: vec![Links::default(); n],
            matches: vec![Vec::new(); n],
            held: Vec::new(),
            seeds: (base..base + n as u32).collect(),
            hubs: Vec::new(),
        };
        let edges = search.edges(base);
        // Held documents that pair their neighbours and gain a direct near edge, with
        // those neighbours: the ones this commit may take past the cap (`retract`).
        let mut hubs: Vec<u32> = edges
            .iter()
            .filter(|(e, closing)| !closing && e.relation != Relation::Exact && e.a < base)
            .map(|(e, _)| e.a)
            .collect();
        hubs.sort_unstable();
        hubs.dedup();
        pending.hubs = hubs
            .into_iter()
            .filter(|&w| self.pairs_neighbours(w))
            .map(|w| (w, self.direct_sorted(w)))
            .collect();
        for (e, closing) in edges {
            let similarity = e.similarity();
            let (to_a, to_b) = (
                Neighbour::edge(e.b, e.relation, similarity, closing),
                Neighbour::edge(e.a, e.relation, similarity, closing),
            );
            if e.b >= base {
                pending.links[(e.b - base) as usize].push(to_b);
                pending.matches[(e.b - base) as usize].push(e);
            } else {
                // Two held documents joined through a new one.
                pending.held.push((e.b, to_b));
                pending.seeds.extend([e.a, e.b]);
            }
            if e.a >= base {
                pending.links[(e.a - base) as usize].push(to_a);
            } else {
                pending.held.push((e.a, to_a));
            }
        }
        // Pairs refused as different stories, kept beside the edges of both ends.
        for (a, b, closing) in search.apart(base) {
            let nb = |doc| Neighbour::refused(doc, closing);
            if b >= base {
                pending.links[(b - base) as usize].push(nb(a));
            } else {
                pending.held.push((b, nb(a)));
                pending.seeds.extend([a, b]);
            }
            if a >= base {
                pending.links[(a - base) as usize].push(nb(b));
            } else {
                pending.held.push((a, nb(b)));
            }
        }
        pending
    }

    /// Enters the batch's documents (numbered from the first free slot, in id order)
    /// with the edges of a search of the state as it is, as [`State::pending`] sorted
    /// them out. Returns each document's position in the caller's list, number and
    /// matches (its edges to earlier documents), the documents to group again, and what
    /// is left of the documents. That, and what is left of the batch (its own tables),
    /// is the caller's to drop: freeing it took time under the exclusive lock.
    fn commit(
        &mut self,
        batch: &mut Batch,
        pending: Pending,
    ) -> (Vec<Added>, Vec<u32>, Vec<Leftover>) {
        debug_assert_eq!(pending.generation, self.generation);
        let Pending {
            base,
            links,
            matches,
            held,
            mut seeds,
            hubs,
            ..
        } = pending;
        debug_assert_eq!(base, self.slots.len() as u32);
        let n = batch.len();
        for (d, nb) in held {
            self.links[d as usize].push(nb);
            self.relinked.push_back((self.generation, d));
        }
        let mut added = Vec::with_capacity(n);
        let mut leftovers = Vec::with_capacity(n);
        for (((p, &i), kw), (links, matches)) in batch
            .docs
            .drain(..)
            .zip(&batch.input)
            .zip(&batch.listed)
            .zip(links.into_iter().zip(matches))
        {
            let d = self.slots.len() as u32;
            let (slot, leftover) = Slot::new(p, kw);
            self.slots.push(Some(slot));
            leftovers.push(leftover);
            self.links.push(links);
            self.groups_mut().push();
            added.push((i, d, matches));
        }
        self.tables.next.resize(self.slots.len());
        self.tables.postings.resize(self.slots.len());
        for d in base..self.slots.len() as u32 {
            self.add_id(d);
            self.tables.live += 1;
            self.list(d);
        }
        for (w, before) in hubs {
            if !self.pairs_neighbours(w) {
                self.retract_unwitnessed(&before, &mut seeds);
            }
        }
        self.generation += 1;
        // Only the last few commits are remembered (a search older than them is made
        // again); a commit that joined many held documents (a night) clears the list.
        if self.relinked.len() > RELINKED_MAX {
            self.relinked.clear();
            self.relinked_from = self.generation;
        }
        while let Some(&(g, _)) = self.relinked.front()
            && g + RELINKED_GENERATIONS < self.generation
        {
            self.relinked.pop_front();
            self.relinked_from = self.relinked_from.max(g + 1);
        }
        seeds.sort_unstable();
        seeds.dedup();
        (added, seeds, leftovers)
    }

    /// The shards of the LSH heads, ids and bodies tables that entering `batch` would
    /// grow, grown now ([`Keyless::grown_for`]): the commit grows them under the
    /// upgradable lock, searches going on, and [`State::install`]s them under the
    /// exclusive lock.
    fn grown_for(&self, batch: &Batch) -> GrownTables {
        let slots = &self.slots;
        let listed = || batch.docs.iter().filter(|p| p.listed);
        GrownTables {
            heads: (self.tables.heads.iter().enumerate())
                .map(|(i, t)| {
                    let keys = listed().map(move |p| keyless::spread(p.bands[i]));
                    (i, t.grown_for(keys, head_rehash(slots, i)))
                })
                .filter(|(_, g)| !g.is_empty())
                .collect(),
            by_id: (self.tables.by_id)
                .grown_for(batch.docs.iter().map(|p| id_hash(&p.id)), id_rehash(slots)),
            exact: (self.tables.exact)
                .grown_for(listed().map(|p| p.features.exact), exact_rehash(slots)),
        }
    }

    /// Puts shards grown by [`State::grown_for`], at this generation, in place; returns
    /// the shards they replace, for the caller to drop after the lock.
    fn install(&mut self, grown: GrownTables) -> GrownTables {
        let t = &mut self.tables;
        GrownTables {
            heads: (grown.heads.into_iter())
                .map(|(i, g)| (i, t.heads[i].install(g)))
                .collect(),
            by_id: t.by_id.install(grown.by_id),
            exact: t.exact.install(grown.exact),
        }
    }

    /// What inserting document `d` found: its matches (`edges`) and where it stands.
    /// `moved` maps a group whose canonical member moved to the member before.
    fn verdict(
        &self,
        groups: &Online,
        config: &Config,
        d: u32,
        edges: &[Edge],
        moved: &KeyMap<u32, u32>,
    ) -> Verdict {
        let (group, canonical, relation) = self.placement(groups, config, d);
        let replaced_canonical = groups
            .group_of(d)
            .and_then(|g| moved.get(&g))
            .map(|&from| self.slot(from).id.to_string());
        Verdict {
            group,
            canonical,
            relation: relation.into(),
            similarity: relation.map_or(1.0, |r| r.1),
            matches: self.matches(edges),
            replaced_canonical,
        }
    }

    /// Enters a new (highest-numbered) document into the exact-body table, and into the
    /// LSH and keyword tables when it is the first of its body.
    fn list(&mut self, d: u32) {
        let s = self.slot(d);
        if !s.listed {
            return;
        }
        let exact = s.exact;
        match self.rep_of(exact) {
            None => {
                self.add_rep(d);
                self.add_to_tables(d);
            }
            Some(rep) => {
                let copies = self.tables.copies.entry(exact).or_insert_with(|| vec![rep]);
                copies.push(d);
                // A later copy needs no keys of its own while the representative lives.
                let rep = self.slot(rep).sets.clone();
                self.slot_mut(d).follow(&rep);
            }
        }
    }

    /// Puts a document into the LSH (or Hamming) and keyword tables, keeping buckets
    /// ordered by document number (newest first).
    fn add_to_tables(&mut self, d: u32) {
        let slot = self.slots[d as usize].as_ref().expect("live document");
        if let Some((table, hasher)) = &mut self.tables.hamming {
            table.insert(d, hasher.shingle_fingerprint(&slot.features().shingles));
        }
        let slots = &self.slots;
        let t = &mut self.tables;
        let mut links = vec![NIL; slot.bands().len()];
        for (i, &key) in slot.bands().iter().enumerate() {
            let h = keyless::spread(key);
            let eq = |&e: &u32| band_key(slots, e, i) == Some(key);
            match t.heads[i].get_mut_or_insert(h, eq, d, head_rehash(slots, i)) {
                // A new bucket, headed by `d`.
                None => {}
                Some(head) if *head < d => {
                    links[i] = *head;
                    *head = d;
                }
                Some(head) => {
                    // An older copy taking a representative's place: walk to its position.
                    let mut at = *head;
                    loop {
                        let nx = t.next.get(at, i);
                        if nx == NIL || nx < d {
                            links[i] = nx;
                            t.next.set(at, i, d);
                            break;
                        }
                        at = nx;
                    }
                }
            }
        }
        t.next.set_all(d, &links);
        debug_assert!(slot.keywords().len() <= KW && KeywordParams::default().k <= KW);
        let slice = crate::keywords::time_slice(slot.timestamp.get(), self.tables.window_days);
        self.tables.postings.add(d, slice, slot.keywords());
    }

    /// Held documents listing at least `min_shared` of `lookup` under keywords listed by
    /// no more than `max_postings` documents, ascending.
    fn keyword_candidates(&self, lookup: &[u32], params: KeywordParams) -> Vec<u32> {
        let mut listed: Vec<u32> = Vec::new();
        for &t in lookup {
            let heads: Vec<(u32, u32)> = self.tables.postings.heads(t).collect();
            if heads.iter().map(|h| h.1 as usize).sum::<usize>() <= params.max_postings {
                for (head, _) in heads {
                    listed.extend(self.tables.postings.chain(head));
                }
            }
        }
        listed.sort_unstable();
        let mut out = Vec::new();
        let mut i = 0;
        while i < listed.len() {
            let j = i + listed[i..].iter().take_while(|&&x| x == listed[i]).count();
            if j - i >= params.min_shared {
                out.push(listed[i]);
            }
            i = j;
        }
        out
    }

    /// Whether every live document is placed in a group that lists it, and every edge
    /// joins live documents: what a state read from a file must hold.
    fn groups_agree(&self) -> bool {
        let groups = self.groups();
        if groups.len() != self.slots.len() || self.links.len() != self.slots.len() {
            return false;
        }
        let n = self.slots.len();
        groups.check(|d| self.slots[d as usize].is_some())
            && self.slots.iter().zip(self.links.iter()).all(|(s, links)| {
                links.iter().all(|l| {
                    s.is_some() && (l.doc() as usize) < n && self.slots[l.doc() as usize].is_some()
                })
            })
    }

    /// Takes a document out of the LSH (or Hamming) and keyword tables.
    fn remove_from_tables(&mut self, d: u32) {
        if let Some((table, _)) = &mut self.tables.hamming {
            table.remove(d);
        }
        let slot = self.slots[d as usize].as_ref().expect("live document");
        let slots = &self.slots;
        for (i, &key) in slot.bands().iter().enumerate() {
            let after = self.tables.next.get(d, i);
            let h = keyless::spread(key);
            let eq = |&e: &u32| band_key(slots, e, i) == Some(key);
            let Some(head) = self.tables.heads[i].get_mut(h, eq) else {
                continue;
            };
            if *head == d {
                if after == NIL {
                    self.tables.heads[i].remove(h, eq);
                } else {
                    // The next member has the same key in this band.
                    *head = after;
                }
            } else {
                let mut at = *head;
                while at != NIL {
                    let nx = self.tables.next.get(at, i);
                    if nx == d {
                        self.tables.next.set(at, i, after);
                        break;
                    }
                    at = nx;
                }
            }
        }
        self.tables.next.clear(d);
        let slice = crate::keywords::time_slice(slot.timestamp.get(), self.tables.window_days);
        self.tables.postings.remove(d, slice, slot.keywords());
    }

    /// Removes the documents `old` says are, then gives their memory back
    /// ([`Index::evict_before`]). Returns how many were removed.
    fn evict_where(&mut self, config: &Config, old: impl Fn(&Slot) -> bool) -> usize {
        let old: Vec<u32> = (0..self.slots.len())
            .filter(|&d| self.slots[d].as_ref().is_some_and(&old))
            .map(|d| d as u32)
            .collect();
        for &d in &old {
            self.remove_doc(config, d, true);
        }
        if !old.is_empty() {
            self.regroup_all();
            self.compact(config);
        }
        old.len()
    }

    fn remove(&mut self, config: &Config, id: &str) -> bool {
        match self.find(id) {
            Some(d) => {
                self.remove_doc(config, d, false);
                true
            }
            None => false,
        }
    }

    /// Removes document `d`. In `bulk`, the LSH and keyword tables are left stale for a
    /// [`State::compact`] to rebuild: removing many documents one by one from long
    /// postings would cost their square.
    fn remove_doc(&mut self, config: &Config, d: u32, bulk: bool) {
        self.generation += 1;
        self.epoch += 1;
        let mut heir = None;
        self.remove_id(d);
        let (exact, listed) = {
            let s = self.slot(d);
            (s.exact, s.listed)
        };
        if listed {
            let rep = self.rep_of(exact) == Some(d);
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
                    let (bands, keywords) = {
                        let s = self.slot(d);
                        (s.bands().to_vec(), s.keywords().to_vec())
                    };
                    self.slot_mut(next).set_keys(&bands, &keywords);
                    self.slot_mut(d).forget_keys();
                    let slots = &self.slots;
                    let at = self.tables.exact.get_mut(exact, |&e| e == d);
                    // Same body, same key.
                    *at.expect("the representative is listed") = next;
                    debug_assert_eq!(slot_exact(slots, next), Some(exact));
                    if !bulk {
                        self.add_to_tables(next);
                    }
                    heir = Some(next);
                }
                (true, None) => {
                    self.tables.exact.remove(exact, |&e| e == d);
                }
                (false, _) => {}
            }
        }
        // Out of its neighbours' edges and of its group; unless in bulk (whose caller
        // regroups everything once), what it held together is grouped again.
        let direct = self.direct_sorted(d);
        let witness = self.pairs_neighbours(d);
        let capped: Vec<u32> = direct
            .iter()
            .copied()
            .filter(|&w| !self.pairs_neighbours(w))
            .collect();
        let links = std::mem::take(&mut self.links[d as usize]);
        for l in &links {
            self.links[l.doc() as usize].remove(d);
        }
        if let Some(next) = heir {
            self.inherit(config, next, &links);
        }
        // Neighbours of neighbours as the batch run would pair them without it: what it
        // alone held goes, and a neighbour back under the cap pairs its neighbours.
        let mut relinked = Vec::new();
        if witness {
            self.retract_unwitnessed(&direct, &mut relinked);
        }
        for w in capped {
            self.close_around(config, w, &mut relinked);
        }
        let group = self.groups().group_of(d);
        self.groups_mut().remove(d);
        let s = self.slots[d as usize].take().expect("live document");
        if self.learn {
            Arc::make_mut(&mut self.stats).remove(&s.features());
        }
        self.tables.live -= 1;
        if !bulk {
            let mut seeds: Vec<u32> = links.iter().map(Neighbour::doc).collect();
            seeds.extend(relinked);
            if let Some(g) = group {
                seeds.extend_from_slice(self.groups().members(g));
            }
            self.regroup(&seeds, MAX_REGION);
        }
    }

    /// Gives `next`, the copy of a body that takes a leaving representative's place, the
    /// edges the representative had (`links`): verified again against `next` (headlines
    /// may differ between copies of a body), and exact edges to the body's other copies.
    fn inherit(&mut self, config: &Config, next: u32, links: &Links) {
        let verifier = Verifier::new(config);
        let exact = self.slot(next).exact;
        let mut found = Vec::new();
        for l in links {
            if l.doc() == next || self.slots[l.doc() as usize].is_none() {
                continue;
            }
            if self.links[next as usize].iter().any(|x| x.doc() == l.doc()) {
                continue;
            }
            let (a, b) = (next.min(l.doc()), next.max(l.doc()));
            let mut bufs = Default::default();
            let (va, vb) = self.views(a, b, &mut bufs);
            let judged = if self.slot(l.doc()).exact == exact {
                Judgement::Related(Relation::Exact, verifier.score(va, vb))
            } else {
                verifier.judge(va, vb)
            };
            // The heir stands where the representative stood (`closing`).
            match judged {
                Judgement::Related(relation, scores) => found.push(Neighbour::edge(
                    l.doc(),
                    relation,
                    relation_similarity(relation, &scores),
                    l.closing(),
                )),
                Judgement::Apart => found.push(Neighbour::refused(l.doc(), l.closing())),
                Judgement::Unrelated => {}
            }
        }
        for nb in found {
            self.links[nb.doc() as usize].push(nb.to(next));
            self.links[next as usize].push(nb);
        }
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
        self.groups_mut().compact(&new_number);
        for links in self.links.iter_mut() {
            links.renumber(|d| new_number[d as usize].expect("edges join live documents"));
        }
        self.slots.retain_by(|d| new_number[d].is_some());
        self.links.retain_by(|d| new_number[d].is_some());
        self.rebuild(config);
    }

    /// Derives the tables from the documents held.
    fn rebuild(&mut self, config: &Config) {
        self.generation += 1;
        self.epoch += 1;
        let banding = table_banding(config);
        self.tables = Tables {
            hamming: (config.method == Method::SimHash).then(|| {
                (
                    HammingTable::new(config.hamming),
                    SimHasher::new(config.seed),
                )
            }),
            heads: vec![Keyless::default(); banding.bands],
            next: Chains::new(banding.bands, self.slots.len()),
            postings: Postings::new(self.slots.len()),
            window_days: config.rewrite_window_days,
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
            let exact = s.exact;
            match self.rep_of(exact) {
                None => {
                    self.add_rep(d);
                    self.add_to_tables(d);
                }
                Some(rep) => {
                    self.tables
                        .copies
                        .entry(exact)
                        .or_insert_with(|| vec![rep])
                        .push(d);
                    let rep = self.slot(rep).sets.clone();
                    if !self.slot(d).sets.same_allocation(&rep) {
                        self.slot_mut(d).follow(&rep);
                    }
                }
            }
        }
        // Group ids read from a file are copies of their documents' ids.
        let groups = Arc::clone(&self.groups.0);
        groups
            .write()
            .share_ids(|id| self.find(id).map(|d| Id::clone(&self.slot(d).id)));
    }
}

/// Decodes a state from a reader (`None`: already taken).
fn from_io<T: serde::de::DeserializeOwned>(
    reader: Option<impl Read>,
    scratch: &mut [u8],
) -> std::result::Result<T, postcard::Error> {
    let reader = reader.ok_or(postcard::Error::DeserializeUnexpectedEnd)?;
    Ok(postcard::from_io((reader, scratch))?.0)
}

/// A writer that checksums what it writes (xxh3-64).
struct Checksummed<'w> {
    inner: &'w mut dyn Write,
    sum: xxhash_rust::xxh3::Xxh3,
}

impl Write for Checksummed<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.sum.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
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
/// - 3: each document's verified edges, and order-free groups ([`crate::group`]);
///   versions 1 and 2 are read by verifying the documents held again.
/// - 4: when each document was last seen (the nightly job's window follows crawl
///   nights); version 3 is read with none.
/// - 5: whether each edge was found by pairing neighbours of neighbours
///   ([`Neighbour::closing`]); versions 3 and 4 read every edge as a direct one.
/// - 6: the pairs refused as different stories, beside the edges ([`Neighbour::apart`]);
///   versions 3 to 5 read none (grouping then joins what the refusals would keep
///   apart until the pairs are verified again).
/// - 7: shingle hashes of 24 bits ([`crate::features::SHINGLE_BITS`]); versions 1 to 6
///   kept 32, and are read as their top 24 bits.
/// - 8: word hashes of 24 bits ([`crate::features::TERM_BITS`]), in the documents and
///   the word statistics, and shingle hashes of 20 ([`crate::features::SHINGLE_BITS`]);
///   earlier versions' wider hashes are read as their top bits (the counts of words
///   that come to share a hash add up).
/// - 9: shingle hashes of 18 bits; version 8 is read as their top 18.
/// - 10: a body longer than the sample holds its weighted word sample
///   ([`crate::config::Footprint`]); earlier versions held its smallest word hashes,
///   which are read as they are: until those documents leave, their rewrite
///   similarities are estimated from a uniform sample read as a weighted one (with
///   `Footprint::Full` only texts of more than 512 distinct words were sampled).
pub const FORMAT_VERSION: u32 = 10;

/// The states of earlier format versions, read to convert.
mod legacy {
    use super::{Features, HashMap, KeyMap, TermStats};
    use crate::verify::Relation;

    /// The groups as versions 1 and 2 kept them (input-order grouping).
    #[derive(serde::Deserialize)]
    pub(super) struct Grouper {
        pub group_of: Vec<u32>,
        pub _members: Vec<Vec<u32>>,
        pub _canonical: Vec<u32>,
        pub _via: Vec<Relation>,
        pub _anchors: Vec<Vec<u32>>,
    }

    #[derive(serde::Deserialize)]
    pub(super) struct SlotV1 {
        pub id: String,
        pub timestamp: Option<i64>,
        pub len: u64,
        pub features: Features,
        pub signature: Vec<u32>,
        pub keywords: Vec<u32>,
        pub indexed: bool,
    }

    #[derive(serde::Deserialize)]
    pub(super) struct StateV1 {
        pub slots: Vec<Option<SlotV1>>,
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

    #[derive(serde::Deserialize)]
    pub(super) struct SlotV2 {
        pub id: Box<str>,
        pub timestamp: Option<i64>,
        pub len: u64,
        pub features: Features,
        pub bands: Box<[u32]>,
        pub keywords: Box<[u32]>,
        pub listed: bool,
    }

    /// A version-3 slot: a version-2 one, then its edges (postcard writes a struct as
    /// its fields one after the other, so the nesting reads the same bytes).
    #[derive(serde::Deserialize)]
    pub(super) struct SlotV3 {
        pub slot: SlotV2,
        pub links: Vec<NeighbourV4>,
    }

    /// An edge as versions 3 and 4 kept it: every edge reads as a direct one.
    #[derive(Clone, serde::Deserialize)]
    pub(super) struct NeighbourV4 {
        pub doc: u32,
        pub relation: Relation,
        pub similarity: f32,
    }

    impl From<NeighbourV4> for crate::group::Neighbour {
        fn from(n: NeighbourV4) -> Self {
            crate::group::Neighbour::edge(n.doc, n.relation, n.similarity, false)
        }
    }

    /// An edge as version 5 kept it: no refused pairs.
    #[derive(Clone, serde::Deserialize)]
    pub(super) struct NeighbourV5 {
        pub doc: u32,
        pub relation: Relation,
        pub similarity: f32,
        pub closing: bool,
    }

    impl From<NeighbourV5> for crate::group::Neighbour {
        fn from(n: NeighbourV5) -> Self {
            crate::group::Neighbour::edge(n.doc, n.relation, n.similarity, n.closing)
        }
    }

    /// A slot of format `V` (4 to 8, whose slots read as this format's), its hashes
    /// read with this format's widths as it is read ([`super::narrow`]), so that a
    /// large state is never held with its hashes in the old widths.
    pub(super) struct Wide<const V: u32>(pub super::Slot);

    impl<'de, const V: u32> serde::Deserialize<'de> for Wide<V> {
        fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let r = super::SlotRepr::<Box<str>, Box<[u32]>>::deserialize(d)?;
            super::Slot::from_repr(&r, V)
                .map(Wide)
                .map_err(serde::de::Error::custom)
        }
    }

    /// Slots read from an earlier format, as the state holds them.
    pub(super) fn slots<const V: u32>(
        slots: Vec<Option<Wide<V>>>,
    ) -> super::Chunked<Option<super::Slot>> {
        slots.into_iter().map(|s| s.map(|w| w.0)).collect()
    }

    /// A state of version 4 to 8: the current one but for its hash widths (slots of
    /// format `V`) and, before 6, its edges (`N`: [`NeighbourV4`], [`NeighbourV5`]).
    #[derive(serde::Deserialize)]
    pub(super) struct StateV4to8<const V: u32, N> {
        pub slots: Vec<Option<Wide<V>>>,
        pub links: Vec<Vec<N>>,
        pub stats: std::sync::Arc<TermStats>,
        pub learn: bool,
        pub groups: crate::group::Online,
    }

    impl<const V: u32, N: Into<crate::group::Neighbour>> From<StateV4to8<V, N>> for super::State {
        fn from(old: StateV4to8<V, N>) -> Self {
            let links = old
                .links
                .into_iter()
                .map(|edges| edges.into_iter().map(Into::into).collect())
                .collect();
            super::State::held(slots(old.slots), links, old.stats, old.learn, old.groups)
        }
    }

    #[derive(serde::Deserialize)]
    pub(super) struct StateV3 {
        pub slots: Vec<Option<SlotV3>>,
        pub stats: TermStats,
        pub learn: bool,
        pub groups: crate::group::Online,
    }

    #[derive(serde::Deserialize)]
    pub(super) struct StateV2 {
        pub slots: Vec<Option<SlotV2>>,
        pub stats: TermStats,
        pub learn: bool,
        pub grouper: Grouper,
        pub group_ids: Vec<String>,
    }
}

/// A state of an earlier format, with the groups it had: the documents' group numbers
/// and the groups' ids, kept where the groups are formed again.
struct Converted {
    state: State,
    group_of: Vec<Option<u32>>,
    ids: Vec<Box<str>>,
}

impl Converted {
    fn new(
        slots: Vec<Option<Slot>>,
        stats: TermStats,
        learn: bool,
        grouper: &legacy::Grouper,
        ids: Vec<String>,
    ) -> Self {
        let group_of = slots
            .iter()
            .zip(&grouper.group_of)
            .map(|(s, &g)| s.as_ref().map(|_| g))
            .collect();
        let links = slots.iter().map(|_| Links::default()).collect();
        Converted {
            state: State::held(
                slots.into_iter().collect(),
                links,
                Arc::new(stats),
                learn,
                Online::default(),
            ),
            group_of,
            ids: ids.into_iter().map(String::into_boxed_str).collect(),
        }
    }

    /// A version-1 state.
    fn from_v1(old: legacy::StateV1, banding: crate::lsh::Banding) -> Self {
        let slots = old
            .slots
            .into_iter()
            .map(|s| {
                s.map(|s| {
                    let listed = s.features.exact != 0 && !is_empty_signature(&s.signature);
                    let bands = if s.indexed {
                        bucket_keys(&s.signature, banding)
                    } else {
                        Box::default()
                    };
                    Slot::from_parts(
                        &s.id,
                        s.timestamp,
                        None,
                        s.len,
                        &s.features,
                        &bands,
                        &s.keywords,
                        listed,
                        1,
                    )
                })
            })
            .collect();
        Converted::new(slots, old.stats, old.learn, &old.grouper, old.group_ids)
    }

    /// A version-2 state.
    fn from_v2(old: legacy::StateV2) -> Self {
        let slots = old.slots.into_iter().map(|s| s.map(Slot::from)).collect();
        Converted::new(slots, old.stats, old.learn, &old.grouper, old.group_ids)
    }
}

impl From<legacy::SlotV2> for Slot {
    /// Versions 2 and 3 kept no `seen`, and the hashes of version 2.
    fn from(s: legacy::SlotV2) -> Slot {
        Slot::from_parts(
            &s.id,
            s.timestamp,
            None,
            s.len,
            &s.features,
            &s.bands,
            &s.keywords,
            s.listed,
            2,
        )
    }
}

impl State {
    /// Reads the word statistics of a format before 8 (32-bit word hashes) with this
    /// format's keys ([`TermStats::narrowed`]).
    fn narrow_stats(&mut self) {
        self.stats = Arc::new(self.stats.narrowed(32, crate::features::TERM_BITS));
    }

    /// Verifies every held document against those before it (earlier formats kept no
    /// edges) and groups them, keeping the groups' ids where it can. The tables must be
    /// built.
    fn relink(&mut self, config: &Config, group_of: &[Option<u32>], ids: Vec<Box<str>>) {
        let verifier = Verifier::new(config);
        let n = self.slots.len() as u32;
        let mut found: Vec<(u32, u32, Neighbour)> = Vec::new();
        for d in 0..n {
            let Some(s) = self.slots[d as usize].as_ref() else {
                continue;
            };
            if !s.listed {
                continue;
            }
            let rep = self.rep_of(s.exact);
            let cands = match rep {
                Some(r) if r != d => vec![r],
                _ => self.held_candidates(config, d),
            };
            let mut bufs = Default::default();
            for a in cands.into_iter().filter(|&a| a < d) {
                let (va, vd) = self.views(a, d, &mut bufs);
                match verifier.judge(va, vd) {
                    Judgement::Related(relation, scores) => {
                        let similarity = crate::verify::relation_similarity(relation, &scores);
                        found.push((a, d, Neighbour::edge(d, relation, similarity, false)));
                    }
                    Judgement::Apart => found.push((a, d, Neighbour::refused(d, false))),
                    Judgement::Unrelated => {}
                }
            }
        }
        for (a, d, nb) in found {
            self.links[a as usize].push(nb);
            self.links[d as usize].push(nb.to(a));
        }
        self.groups_mut().assume(group_of, ids);
        self.regroup_all();
    }

    /// Candidates of held document `d` from its own keys, as when it was inserted.
    fn held_candidates(&self, config: &Config, d: u32) -> Vec<u32> {
        let s = self.slot(d);
        let mut cands: Vec<u32> = Vec::new();
        if let Some((table, hasher)) = &self.tables.hamming {
            cands = table.query(hasher.shingle_fingerprint(&s.features().shingles));
        }
        for (i, &key) in s.bands().iter().enumerate() {
            cands.extend(self.bucket(i, key).filter(|&a| a < d).take(MAX_BUCKET));
        }
        if config.rewrites {
            cands.extend(self.keyword_candidates(s.keywords(), KeywordParams::default()));
        }
        cands.sort_unstable();
        cands.dedup();
        cands
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
    pub fn save(&self, path: impl AsRef<std::path::Path>) -> Result<()> {
        let path = path.as_ref();
        // A snapshot under the shared lock (chunks shared, not copied: see `chunked`),
        // then the encoding and the writing without any lock: inserts go on meanwhile,
        // and the file holds the documents of the moment of the snapshot.
        let snapshot = self.state().snapshot();
        let config = serde_json::to_vec(&self.config).map_err(|e| Error::Config(e.to_string()))?;
        let encode = |e: postcard::Error| Error::IndexFile {
            path: path.to_owned(),
            message: format!("cannot encode the index: {e}"),
        };
        // Encoded twice, once to count and once to write, so that no copy of the state
        // is ever held in memory.
        let size = postcard::experimental::serialized_size(&snapshot).map_err(encode)?;
        // Whole or not at all, through a temporary file removed on a signal or by the
        // next run if the process is killed.
        crate::io::atomic::write_file(path, |w| {
            let mut w = Checksummed {
                inner: w,
                sum: xxhash_rust::xxh3::Xxh3::new(),
            };
            let io = |e| Error::io(path, e);
            w.write_all(MAGIC).map_err(io)?;
            w.write_all(&FORMAT_VERSION.to_le_bytes()).map_err(io)?;
            w.write_all(
                &u32::try_from(config.len())
                    .unwrap_or(u32::MAX)
                    .to_le_bytes(),
            )
            .map_err(io)?;
            w.write_all(&config).map_err(io)?;
            w.write_all(&(size as u64).to_le_bytes()).map_err(io)?;
            let w = postcard::to_io(&snapshot, w).map_err(encode)?;
            let sum = w.sum.digest();
            w.inner.write_all(&sum.to_le_bytes()).map_err(io)
        })
    }

    /// Reads an index written by [`Index::save`] and adopts the configuration stored in
    /// it, whatever it is (see [`Index::config`]): the documents held were compared
    /// under that configuration, so it is the only one their answers agree with. To make
    /// sure the file was built with the configuration you expect, use
    /// [`Index::load_with`].
    ///
    /// # Errors
    /// [`Error::NotFound`] when there is no such file; [`Error::IndexVersion`] when it
    /// was written in a newer format version; [`Error::IndexFile`] naming the file when
    /// it is not an index, is truncated or corrupted; [`Error::Io`] when it cannot be
    /// read.
    pub fn load(path: impl AsRef<std::path::Path>) -> Result<Index> {
        let path = path.as_ref();
        // The file is read twice, never whole into memory: once to check its checksum,
        // once to decode the state from a buffered reader.
        let mut file = std::fs::File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound {
                path: path.to_owned(),
            },
            _ => Error::io(path, e),
        })?;
        let size = file.metadata().map_err(|e| Error::io(path, e))?.len();
        let bad = |message: String| Error::IndexFile {
            path: path.to_owned(),
            message,
        };
        let truncated = || bad("truncated: the file ends before the index does".into());
        let mut exact = |n: usize| -> Result<Vec<u8>> {
            let mut buf = vec![0; n];
            file.read_exact(&mut buf).map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => truncated(),
                _ => Error::io(path, e),
            })?;
            Ok(buf)
        };
        let magic = exact(MAGIC.len()).ok();
        if magic.as_deref() != Some(&MAGIC[..]) {
            return Err(bad("not a neardup index file".into()));
        }
        // Little-endian integers (4 or 8 bytes).
        let u64_at = |b: Vec<u8>| {
            b.iter()
                .rev()
                .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
        };
        let u32_at = |b: Vec<u8>| u64_at(b) as u32;
        let version = u32_at(exact(4)?);
        if version == 0 || version > FORMAT_VERSION {
            return Err(Error::IndexVersion {
                path: path.to_owned(),
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let config_len = u64::from(u32_at(exact(4)?));
        if MAGIC.len() as u64 + 8 + config_len > size {
            return Err(truncated());
        }
        let config_bytes = exact(config_len as usize)?;
        let payload_len = u64_at(exact(8)?);
        let payload_start = MAGIC.len() as u64 + 16 + config_len;
        let body_end = payload_start.saturating_add(payload_len);
        match body_end.checked_add(8) {
            Some(end) if end == size => {}
            Some(end) if end > size => return Err(truncated()),
            None => return Err(truncated()),
            Some(_) => return Err(bad("corrupted: bytes after the checksum".into())),
        }
        let io = |e| Error::io(path, e);
        file.rewind().map_err(io)?;
        let mut sum = xxhash_rust::xxh3::Xxh3::new();
        let mut body = std::io::Read::by_ref(&mut file).take(body_end);
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = body.read(&mut buf).map_err(io)?;
            if n == 0 {
                break;
            }
            sum.update(&buf[..n]);
        }
        let mut stored = [0u8; 8];
        file.read_exact(&mut stored).map_err(io)?;
        if sum.digest() != u64::from_le_bytes(stored) {
            return Err(bad("corrupted: checksum mismatch".into()));
        }
        file.seek(std::io::SeekFrom::Start(payload_start))
            .map_err(io)?;
        let payload = std::io::BufReader::with_capacity(1 << 20, file.take(payload_len));
        // Scratch for the longest single string (an id) postcard reads at once.
        let mut scratch = vec![0u8; 1 << 24];
        let config: Config = serde_json::from_slice(&config_bytes)
            .map_err(|e| bad(format!("corrupted configuration: {e}")))?;
        config
            .validate()
            .map_err(|e| bad(format!("invalid configuration: {e}")))?;
        let corrupted = |e: postcard::Error| bad(format!("corrupted state: {e}"));
        let mut payload = Some(payload);
        let converted = match version {
            1 => Some(Converted::from_v1(
                from_io(payload.take(), &mut scratch).map_err(corrupted)?,
                table_banding(&config),
            )),
            2 => Some(Converted::from_v2(
                from_io(payload.take(), &mut scratch).map_err(corrupted)?,
            )),
            _ => None,
        };
        let Some(old) = converted else {
            let state: State = if version == 3 {
                let old: legacy::StateV3 =
                    from_io(payload.take(), &mut scratch).map_err(corrupted)?;
                let mut links = Chunked::default();
                let mut slots = Chunked::default();
                for s in old.slots {
                    let (slot, edges) =
                        s.map_or((None, Vec::new()), |s| (Some(Slot::from(s.slot)), s.links));
                    slots.push(slot);
                    links.push(edges.into_iter().map(Neighbour::from).collect());
                }
                State::held(slots, links, Arc::new(old.stats), old.learn, old.groups)
            } else if version == 4 {
                from_io::<legacy::StateV4to8<4, legacy::NeighbourV4>>(payload.take(), &mut scratch)
                    .map_err(corrupted)?
                    .into()
            } else if version == 5 {
                from_io::<legacy::StateV4to8<5, legacy::NeighbourV5>>(payload.take(), &mut scratch)
                    .map_err(corrupted)?
                    .into()
            } else if version == 6 {
                from_io::<legacy::StateV4to8<6, Neighbour>>(payload.take(), &mut scratch)
                    .map_err(corrupted)?
                    .into()
            } else if version == 7 {
                from_io::<legacy::StateV4to8<7, Neighbour>>(payload.take(), &mut scratch)
                    .map_err(corrupted)?
                    .into()
            } else if version == 8 {
                from_io::<legacy::StateV4to8<8, Neighbour>>(payload.take(), &mut scratch)
                    .map_err(corrupted)?
                    .into()
            } else {
                from_io(payload.take(), &mut scratch).map_err(corrupted)?
            };
            let mut state = state;
            if version < 8 {
                state.narrow_stats();
            }
            if !state.groups_agree() {
                return Err(bad("corrupted state: documents and groups disagree".into()));
            }
            return Index::from_state(config, state);
        };
        let groups = old.ids.len();
        if old.group_of.len() != old.state.slots.len()
            || old.group_of.iter().flatten().any(|&g| g as usize >= groups)
        {
            return Err(bad("corrupted state: documents and groups disagree".into()));
        }
        let mut state = old.state;
        state.narrow_stats();
        let index = Index::from_state(config, state)?;
        index
            .state_mut()
            .relink(&index.config, &old.group_of, old.ids);
        Ok(index)
    }

    /// Reads an index and checks that it was built with `config`, setting by setting.
    ///
    /// # Errors
    /// As [`Index::load`], and [`Error::ConfigMismatch`] naming the first setting whose
    /// stored value differs from `config`'s, with both values.
    pub fn load_with(path: impl AsRef<std::path::Path>, config: &Config) -> Result<Index> {
        let path = path.as_ref();
        let index = Index::load(path)?;
        if let Some((field, stored, given)) = index.config.first_difference(config) {
            return Err(Error::ConfigMismatch {
                path: path.to_owned(),
                field,
                stored,
                given,
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

#[cfg(test)]
mod tests {
    use super::Time;

    #[test]
    fn a_time_keeps_every_value_but_the_one_standing_for_none() {
        for t in [None, Some(0), Some(-1), Some(1_767_225_600), Some(i64::MAX)] {
            assert_eq!(Time::new(t).get(), t);
        }
        assert_eq!(Time::new(Some(i64::MIN)).get(), Some(i64::MIN + 1));
        assert_eq!(std::mem::size_of::<Time>(), 8);
    }

    /// A later exact copy with its representative's headline holds the
    /// representative's sets, not its own; one with another headline holds its own.
    /// The copy that takes a leaving representative's place keeps the shared sets and
    /// reads the keys in them; saving and loading shares them again.
    #[test]
    fn later_copies_share_their_representatives_sets() {
        use crate::{Config, Document, Index};
        let text = "The central bank raised its main lending rate by half a point on \
                    Tuesday, the third rise this year, citing inflation that has stayed \
                    above its target for eighteen months. Markets had expected the move.";
        let docs = [
            Document::new("a", text).with_title("Bank raises rates"),
            Document::new("b", text).with_title("Bank raises rates"),
            Document::new("c", text).with_title("Rates up again"),
            Document::new("d", text).with_title("Bank raises rates"),
        ];
        let index = Index::new(Config::default()).unwrap();
        for doc in &docs {
            index.insert(doc.clone()).unwrap();
        }
        let shared = |index: &Index, x: &str, y: &str| {
            let st = index.state();
            let (x, y) = (st.find(x).unwrap(), st.find(y).unwrap());
            st.slot(x).sets.same_allocation(&st.slot(y).sets)
        };
        let features = |index: &Index, x: &str| {
            let st = index.state();
            st.slot(st.find(x).unwrap()).features()
        };
        assert!(shared(&index, "a", "b") && shared(&index, "a", "d"));
        assert!(!shared(&index, "a", "c"));
        assert_eq!(features(&index, "b"), features(&index, "a"));
        assert_ne!(features(&index, "c").title, features(&index, "a").title);
        let keys = {
            let st = index.state();
            let a = st.slot(st.find("a").unwrap());
            assert_eq!(a.sets.holders(), 3);
            (a.bands().to_vec(), a.keywords().to_vec())
        };
        assert!(index.remove("a"));
        {
            let st = index.state();
            let b = st.slot(st.find("b").unwrap());
            assert_eq!((b.bands().to_vec(), b.keywords().to_vec()), keys);
            assert!(st.slot(st.find("d").unwrap()).keys().is_empty());
        }
        assert!(shared(&index, "b", "d"));
        // A copy still finds the body's other copies.
        let found = index.query(&Document::new("q", text).with_title("Bank raises rates"));
        assert_eq!(found.matches.len(), 3, "{found:?}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.ndx");
        index.save(&path).unwrap();
        let loaded = Index::load(&path).unwrap();
        assert!(shared(&loaded, "b", "d") && !shared(&loaded, "b", "c"));
        assert_eq!(features(&loaded, "d"), features(&index, "d"));
        // In a bulk removal too, the next copy (here one of its own sets) takes the keys,
        // and the rest keep the shared sets.
        assert_eq!(loaded.remove_all(["b"]), 1);
        let st = loaded.state();
        let c = st.slot(st.find("c").unwrap());
        assert_eq!((c.bands().to_vec(), c.keywords().to_vec()), keys);
        assert_eq!(
            st.slot(st.find("d").unwrap()).features(),
            features(&index, "d")
        );
    }

    #[test]
    fn a_slot_holds_its_keys_beside_its_sets() {
        use super::{Features, KW, Slot, SlotRepr};
        let features = Features {
            exact: 3,
            words: 9,
            shingles: vec![1, 5, 9],
            terms: vec![2, 4],
            ..Features::default()
        };
        let repr = |keywords: Vec<u32>| SlotRepr {
            id: "a".into(),
            timestamp: Some(7),
            seen: None,
            len: 40,
            features: features.clone(),
            bands: vec![10, 11, 12].into_boxed_slice(),
            keywords: keywords.into_boxed_slice(),
            listed: true,
        };
        let mut s = Slot::from_repr(&repr(vec![4, 2]), super::FORMAT_VERSION).unwrap();
        assert_eq!((s.bands(), s.keywords()), (&[10, 11, 12][..], &[4, 2][..]));
        assert_eq!(s.features(), features);
        // A later copy drops its keys; its sets stay.
        s.set_keys(&[], &[]);
        assert!(s.keys().is_empty() && s.keywords().is_empty());
        assert_eq!(s.features(), features);
        s.set_keys(&[8], &[6]);
        assert_eq!((s.bands(), s.keywords()), (&[8][..], &[6][..]));
        assert_eq!(s.features(), features);
        // More keywords than an index links is a damaged file.
        let err = Slot::from_repr(&repr(vec![1; KW + 1]), super::FORMAT_VERSION).unwrap_err();
        assert!(err.contains("21 keywords"), "{err}");
        // So is a keyword wider than a word hash: the postings hold it in 24 bits.
        let err = Slot::from_repr(&repr(vec![1 << 24]), super::FORMAT_VERSION).unwrap_err();
        assert!(err.contains("wider than 24 bits"), "{err}");
        // The keys' count and the sets' one pointer share the slot's 64 bytes, and a
        // removed one costs no more.
        assert_eq!(std::mem::size_of::<Slot>(), 64);
        assert_eq!(std::mem::size_of::<Option<Slot>>(), 64);
    }
}

/// Concurrent inserts against the guarantee of the module docs: the index is exactly
/// what inserting the same documents one commit at a time, in commit order, makes
/// (from 2, 4 and 8 threads on however many cores the machine has).
#[cfg(test)]
mod racing {
    use std::collections::HashMap;

    use crate::verify::{Relation, Role};
    use crate::{Config, Document, Footprint, Index, Method, TermStats, Verdict};

    /// A small pseudo-random generator (xorshift), so the corpus is the same every run.
    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n as u64) as usize
        }
    }

    /// A word made of syllables: word `n` of a vocabulary of 4,096.
    fn word(n: usize) -> String {
        const SYL: [&str; 16] = [
            "ba", "ke", "di", "mo", "ru", "sa", "te", "li", "no", "pu", "ga", "fe", "zi", "vo",
            "hu", "ja",
        ];
        (0..3).map(|k| SYL[(n >> (4 * k)) & 15]).collect()
    }

    /// Stories of a few topics (topics share words, so same-topic stories are candidates
    /// of each other, some verified and refused on their headlines), each in versions:
    /// the original, an exact copy, a wrapped copy, a cut, rewrites (words replaced,
    /// sentences reordered, a new headline on the story's names).
    fn corpus(stories: usize, seed: u64) -> Vec<Document> {
        let mut rng = Rng(seed | 1);
        let mut docs = Vec::new();
        for s in 0..stories {
            let topic = s % 12;
            // Common words (low numbers), the topic's words, the story's own names.
            let pick = |rng: &mut Rng, names: &[usize]| -> String {
                match rng.below(10) {
                    0..=4 => word(rng.below(300)),
                    5..=7 => word(300 + topic * 60 + rng.below(60)),
                    _ => word(names[rng.below(names.len())]),
                }
            };
            let names: Vec<usize> = (0..6).map(|_| 1100 + rng.below(2900)).collect();
            let sentences: Vec<Vec<String>> = (0..10)
                .map(|_| (0..12).map(|_| pick(&mut rng, &names)).collect())
                .collect();
            let title: Vec<String> = (0..7).map(|_| pick(&mut rng, &names)).collect();
            let text = |ss: &[Vec<String>]| {
                ss.iter()
                    .map(|s| s.join(" ") + ".")
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let day = 1_700_000_000 + (s as i64 % 7) * 86_400;
            let body = text(&sentences);
            let doc = |id: String, body: String, title: &[String], t: i64| {
                Document::new(id, body)
                    .with_title(title.join(" "))
                    .with_timestamp(t)
            };
            docs.push(doc(format!("s{s}"), body.clone(), &title, day));
            if rng.below(3) == 0 {
                docs.push(doc(format!("s{s}-copy"), body.clone(), &title, day + 60));
            }
            if rng.below(3) == 0 {
                let wrapped = format!("Valley Times reports. {body} Subscribe for more.");
                docs.push(doc(format!("s{s}-wrap"), wrapped, &title, day + 3600));
            }
            if rng.below(3) == 0 {
                let cut = text(&sentences[..5 + rng.below(3)]);
                docs.push(doc(format!("s{s}-cut"), cut, &title, day + 7200));
            }
            for r in 0..rng.below(3) {
                let mut ss: Vec<Vec<String>> = sentences
                    .iter()
                    .map(|s| {
                        s.iter()
                            .map(|w| {
                                if rng.below(5) < 2 {
                                    pick(&mut rng, &names)
                                } else {
                                    w.clone()
                                }
                            })
                            .collect()
                    })
                    .collect();
                let k = rng.below(ss.len());
                ss.rotate_left(k);
                let mut t = title.clone();
                t[rng.below(7)] = word(names[0]);
                t[rng.below(7)] = pick(&mut rng, &names);
                docs.push(doc(format!("s{s}-r{r}"), text(&ss), &t, day + 86_400));
            }
        }
        docs
    }

    /// Inserts `units` (one document or a batch each) from `threads` threads taking
    /// them in turn; returns the verdicts by id.
    fn race(index: &Index, units: &[Vec<Document>], threads: usize) -> HashMap<String, Verdict> {
        let verdicts = std::sync::Mutex::new(HashMap::new());
        std::thread::scope(|s| {
            for t in 0..threads {
                let verdicts = &verdicts;
                s.spawn(move || {
                    for unit in units.iter().skip(t).step_by(threads) {
                        let got = index.insert_batch(unit.clone());
                        let mut v = verdicts.lock().expect("no panic");
                        for (d, r) in unit.iter().zip(got) {
                            v.insert(d.id.clone(), r.expect("inserted"));
                        }
                    }
                });
            }
        });
        verdicts.into_inner().expect("no panic")
    }

    /// Each document's unit, by its id.
    fn unit_of(units: &[Vec<Document>]) -> HashMap<&str, usize> {
        (units.iter().enumerate())
            .flat_map(|(u, ds)| ds.iter().map(move |d| (d.id.as_str(), u)))
            .collect()
    }

    /// Asserts that `racing` saves as `sequential` does, byte for byte.
    fn same_file(racing: &Index, sequential: &Index, dir: &std::path::Path, what: &str) {
        assert!(
            saved(racing, dir, "racing") == saved(sequential, dir, "seq"),
            "{what}: the racing index saves as the sequential one"
        );
    }

    /// The saved file of `index`.
    fn saved(index: &Index, dir: &std::path::Path, name: &str) -> Vec<u8> {
        let path = dir.join(name);
        index.save(&path).expect("saved");
        std::fs::read(&path).expect("read back")
    }

    /// `docs` as units of insertion: most one document, some a batch of two to four (a
    /// batch commits as one), a few a batch of 80 (past `batch::MEMO_BATCH`, which
    /// keeps no memo of its search).
    fn units(docs: &[Document], seed: u64) -> Vec<Vec<Document>> {
        let mut rng = Rng(seed);
        let mut units: Vec<Vec<Document>> = Vec::new();
        let mut rest = docs;
        while !rest.is_empty() {
            let n = match rng.below(200) {
                // Now and then a batch larger than a small one (a night's path).
                0 => 80,
                1..=25 => 2 + rng.below(3),
                _ => 1,
            };
            let (unit, r) = rest.split_at(n.min(rest.len()));
            units.push(unit.to_vec());
            rest = r;
        }
        units
    }

    /// The configurations raced: the default, `Compact`, `SimHash`.
    fn configs() -> [Config; 3] {
        [
            Config::default(),
            (Config::builder().footprint(Footprint::Compact).build()).expect("valid"),
            (Config::builder().method(Method::SimHash).build()).expect("valid"),
        ]
    }

    #[test]
    fn racing_inserts_are_a_sequential_insertion_in_commit_order() {
        let docs = corpus(500, 7);
        let units = units(&docs, 99);
        let unit_of = unit_of(&units);
        let dir = tempfile::tempdir().expect("a temporary directory");
        for (c, config) in configs().into_iter().enumerate() {
            let stats = TermStats::from_documents(&docs, &config);
            let mut seen = [0usize; 4];
            for round in 0..3 {
                let racing = Index::with_stats(config.clone(), stats.clone()).expect("index");
                let verdicts = race(&racing, &units, [4, 2, 8][round]);
                // Commit order: the slots' order; a batch's documents are consecutive.
                let order: Vec<String> = (racing.state().slots.iter())
                    .map(|s| s.as_ref().expect("nothing removed").id.to_string())
                    .collect();
                assert_eq!(order.len(), docs.len());
                let sequential = Index::with_stats(config.clone(), stats.clone()).expect("index");
                let mut i = 0;
                while i < order.len() {
                    let u = unit_of[order[i].as_str()];
                    let unit = &units[u];
                    // A batch commits whole (its documents in an order of its own).
                    let mut held: Vec<&str> = order[i..i + unit.len()]
                        .iter()
                        .map(String::as_str)
                        .collect();
                    let mut given: Vec<&str> = unit.iter().map(|d| d.id.as_str()).collect();
                    held.sort_unstable();
                    given.sort_unstable();
                    assert_eq!(held, given, "a batch commits whole");
                    for (d, got) in unit.iter().zip(sequential.insert_batch(unit.clone())) {
                        let want = got.expect("inserted");
                        assert_eq!(verdicts[&d.id], want, "config {c}, round {round}: {}", d.id);
                        match want.relation {
                            Role::Canonical => {}
                            Role::Member(Relation::Exact) => seen[0] += 1,
                            Role::Member(Relation::NearDuplicate) => seen[1] += 1,
                            Role::Member(Relation::Rewrite) => seen[2] += 1,
                        }
                    }
                    i += unit.len();
                }
                seen[3] += racing.refusal_reach().pairs as usize;
                same_file(
                    &racing,
                    &sequential,
                    dir.path(),
                    &format!("config {c}, round {round}"),
                );
            }
            // The corpus reaches every kind of edge and refusals (SimHash: copies).
            assert!(seen[0] > 0 && seen[1] > 0, "config {c}: copies {seen:?}");
            if config.method == Method::MinHash {
                assert!(
                    seen[2] > 0 && seen[3] > 0,
                    "config {c}: rewrites, refusals {seen:?}"
                );
            }
        }
    }

    /// Removals racing the inserts: one thread removes documents (held before the race,
    /// or inserted during it) while others insert. Replaying the inserts and removals in
    /// the order they took the lock, one at a time, gives the same verdicts and file.
    #[test]
    fn racing_inserts_and_removals_are_a_sequential_run_in_lock_order() {
        let docs = corpus(400, 11);
        let (before, during) = docs.split_at(docs.len() / 3);
        let units = units(during, 5);
        let unit_of = unit_of(&units);
        // Every fifth document held before the race, and every seventh inserted in it
        // (once it is held).
        // Taken in turn, so that both kinds come early.
        let (held, inserted): (Vec<_>, Vec<_>) = (
            before.iter().step_by(5).collect(),
            during.iter().skip(3).step_by(7).collect(),
        );
        let removals: Vec<&str> = (0..held.len().max(inserted.len()))
            .flat_map(|k| [held.get(k), inserted.get(k)])
            .flatten()
            .map(|d| d.id.as_str())
            .collect();
        let dir = tempfile::tempdir().expect("a temporary directory");
        for (c, config) in configs().into_iter().enumerate() {
            let stats = TermStats::from_documents(&docs, &config);
            let fill = || {
                let index = Index::with_stats(config.clone(), stats.clone()).expect("index");
                for d in before {
                    index.insert(d.clone()).expect("inserted");
                }
                index
            };
            for round in 0..3 {
                let racing = fill();
                // Each removal made: its id, its document's number, and the number of
                // documents committed before it.
                let mut removed: Vec<(&str, usize, usize)> = Vec::new();
                let verdicts = std::thread::scope(|s| {
                    let remover = s.spawn(|| {
                        // Round and round: a document not held yet is tried again
                        // later (the race inserts every one).
                        let mut pending: std::collections::VecDeque<&str> =
                            removals.iter().copied().collect();
                        while let Some(id) = pending.pop_front() {
                            let mut st = racing.state_mut();
                            if let Some(d) = st.find(id) {
                                assert!(st.remove(&racing.config, id));
                                removed.push((id, d as usize, st.slots.len()));
                            } else {
                                pending.push_back(id);
                            }
                            drop(st);
                            std::thread::yield_now();
                        }
                    });
                    let verdicts = race(&racing, &units, [3, 2, 4][round]);
                    remover.join().expect("no panic");
                    verdicts
                });
                let mut order: Vec<Option<String>> = (racing.state().slots.iter())
                    .map(|s| s.as_ref().map(|s| s.id.to_string()))
                    .collect();
                for &(id, d, _) in &removed {
                    order[d] = Some(id.to_owned());
                }
                let sequential = fill();
                let mut at = 0;
                let mut i = before.len();
                loop {
                    while let Some(&(id, _, n)) = removed.get(at)
                        && n == i
                    {
                        assert!(sequential.remove(id), "{id}");
                        at += 1;
                    }
                    if i == order.len() {
                        break;
                    }
                    let first = order[i].as_deref().expect("every number named");
                    let unit = &units[unit_of[first]];
                    for (d, got) in unit.iter().zip(sequential.insert_batch(unit.clone())) {
                        let want = got.expect("inserted");
                        assert_eq!(verdicts[&d.id], want, "config {c}, round {round}: {}", d.id);
                    }
                    i += unit.len();
                }
                assert_eq!(at, removed.len(), "every removal replayed");
                // Every one: documents held before the race and documents inserted in it.
                assert_eq!(removed.len(), removals.len(), "config {c}, round {round}");
                same_file(
                    &racing,
                    &sequential,
                    dir.path(),
                    &format!("config {c}, round {round}"),
                );
            }
        }
    }

    /// Evictions racing the inserts, as a crawler's rolling window makes them: one
    /// thread evicts the documents dated before a moving time (which renumbers those
    /// held) while others insert. Replaying the inserts and evictions in the order they
    /// took the lock gives the same verdicts and file.
    #[test]
    fn racing_inserts_and_evictions_are_a_sequential_run_in_lock_order() {
        let docs = corpus(400, 13);
        let units = units(&docs, 17);
        let unit_of = unit_of(&units);
        let day = 86_400;
        let dir = tempfile::tempdir().expect("a temporary directory");
        for (c, config) in configs().into_iter().enumerate() {
            let stats = TermStats::from_documents(&docs, &config);
            let new = || Index::with_stats(config.clone(), stats.clone()).expect("index");
            for round in 0..3 {
                let racing = new();
                // Each eviction: its time, and the documents committed since the one
                // before (in commit order).
                let mut evictions: Vec<(i64, Vec<String>)> = Vec::new();
                let verdicts = std::thread::scope(|s| {
                    let evictor = s.spawn(|| {
                        let mut kept = 0;
                        for k in 1..=5 {
                            std::thread::sleep(std::time::Duration::from_millis(10));
                            let before = 1_700_000_000 + k * day;
                            let mut st = racing.state_mut();
                            let since: Vec<String> = (st.slots.iter().skip(kept))
                                .map(|s| s.as_ref().expect("held").id.to_string())
                                .collect();
                            st.evict_where(&racing.config, |s| {
                                s.timestamp.get().is_some_and(|t| t < before)
                            });
                            kept = st.slots.len();
                            evictions.push((before, since));
                        }
                    });
                    let verdicts = race(&racing, &units, [3, 2, 4][round]);
                    evictor.join().expect("no panic");
                    verdicts
                });
                let sequential = new();
                let replay = |ids: &[String]| {
                    let mut i = 0;
                    while i < ids.len() {
                        let unit = &units[unit_of[ids[i].as_str()]];
                        for (d, got) in unit.iter().zip(sequential.insert_batch(unit.clone())) {
                            let want = got.expect("inserted");
                            assert_eq!(
                                verdicts[&d.id], want,
                                "config {c}, round {round}: {}",
                                d.id
                            );
                        }
                        i += unit.len();
                    }
                };
                let mut evicted = 0;
                for (before, since) in &evictions {
                    replay(since);
                    evicted += sequential.evict_before(*before);
                }
                let last = {
                    let st = racing.state();
                    let kept = sequential.state().slots.len();
                    (st.slots.iter().skip(kept))
                        .map(|s| s.as_ref().expect("held").id.to_string())
                        .collect::<Vec<_>>()
                };
                replay(&last);
                assert!(evicted > docs.len() / 10, "evicted {evicted}");
                assert_eq!(racing.len(), sequential.len());
                same_file(
                    &racing,
                    &sequential,
                    dir.path(),
                    &format!("config {c}, round {round}"),
                );
            }
        }
    }

    /// Saves racing the inserts: each file saved while 3 threads insert is,
    /// byte for byte, the file of the index after the commits before its snapshot,
    /// inserted one at a time.
    #[test]
    fn saves_racing_inserts_are_the_files_of_a_sequential_prefix() {
        let docs = corpus(300, 23);
        let units = units(&docs, 29);
        let unit_of = unit_of(&units);
        let dir = tempfile::tempdir().expect("a temporary directory");
        for (c, config) in configs().into_iter().enumerate() {
            let stats = TermStats::from_documents(&docs, &config);
            let racing = Index::with_stats(config.clone(), stats.clone()).expect("index");
            let done = std::sync::atomic::AtomicBool::new(false);
            let files = std::thread::scope(|s| {
                let saver = s.spawn(|| {
                    let mut files = Vec::new();
                    while !done.load(std::sync::atomic::Ordering::Relaxed) {
                        let path = dir.path().join(format!("c{c}-{}.ndx", files.len()));
                        racing.save(&path).expect("saved");
                        files.push(path);
                    }
                    files
                });
                race(&racing, &units, 3);
                done.store(true, std::sync::atomic::Ordering::Relaxed);
                saver.join().expect("no panic")
            });
            let order: Vec<String> = (racing.state().slots.iter())
                .map(|s| s.as_ref().expect("nothing removed").id.to_string())
                .collect();
            // Each file's number of documents; the file of each such prefix of whole
            // commits, inserted one unit at a time.
            let held: Vec<usize> = (files.iter())
                .map(|path| Index::load(path).expect("loads").len())
                .collect();
            let wanted: std::collections::HashSet<usize> = held.iter().copied().collect();
            let sequential = Index::with_stats(config.clone(), stats.clone()).expect("index");
            let mut prefixes: HashMap<usize, Vec<u8>> = HashMap::new();
            let mut i = 0;
            loop {
                if wanted.contains(&i) {
                    prefixes.insert(i, saved(&sequential, dir.path(), "seq"));
                }
                if i == order.len() {
                    break;
                }
                let unit = &units[unit_of[order[i].as_str()]];
                sequential.insert_batch(unit.clone());
                i += unit.len();
            }
            // Most fall during the inserts (17-19 of 18-20 on the 2-core machine).
            for (path, &n) in files.iter().zip(&held) {
                let want = prefixes.get(&n).expect("a prefix of whole commits");
                assert!(
                    std::fs::read(path).expect("read back") == *want,
                    "config {c}: {} ({n} documents) is the file of that prefix",
                    path.display()
                );
            }
        }
    }

    /// Two threads racing to insert each unit (the same documents, as two fetchers of
    /// one page might): each document is inserted once, the other insert refused with
    /// [`Error::IdExists`](crate::Error::IdExists) (also when the other commit came
    /// between its search and its own commit), and the index is that of the winners'
    /// commits one at a time.
    #[test]
    fn racing_inserts_of_the_same_documents_insert_each_once() {
        let docs = corpus(300, 31);
        let units = units(&docs, 37);
        let unit_of = unit_of(&units);
        let dir = tempfile::tempdir().expect("a temporary directory");
        for (c, config) in configs().into_iter().enumerate() {
            let stats = TermStats::from_documents(&docs, &config);
            let racing = Index::with_stats(config.clone(), stats.clone()).expect("index");
            let results = std::sync::Mutex::new(Vec::new());
            std::thread::scope(|s| {
                for t in 0..4 {
                    let (racing, units, results) = (&racing, &units, &results);
                    s.spawn(move || {
                        // Thread t takes the units of t and of the thread before it.
                        for (u, unit) in units.iter().enumerate() {
                            if u % 4 == t || (u + 1) % 4 == t {
                                let got = racing.insert_batch(unit.clone());
                                let mut r = results.lock().expect("no panic");
                                r.extend(unit.iter().map(|d| d.id.clone()).zip(got));
                            }
                        }
                    });
                }
            });
            let mut verdicts: HashMap<String, Verdict> = HashMap::new();
            let mut refused = 0;
            for (id, r) in results.into_inner().expect("no panic") {
                match r {
                    Ok(v) => assert!(verdicts.insert(id.clone(), v).is_none(), "{id} twice"),
                    Err(crate::Error::IdExists { id: held }) => {
                        assert_eq!(held, id);
                        refused += 1;
                    }
                    Err(e) => panic!("{id}: {e}"),
                }
            }
            assert_eq!((verdicts.len(), refused), (docs.len(), docs.len()));
            let order: Vec<String> = (racing.state().slots.iter())
                .map(|s| s.as_ref().expect("nothing removed").id.to_string())
                .collect();
            let sequential = Index::with_stats(config.clone(), stats.clone()).expect("index");
            let mut i = 0;
            while i < order.len() {
                // A commit's documents are consecutive: those of one unit that won.
                let unit = &units[unit_of[order[i].as_str()]];
                let won: Vec<Document> = (unit.iter())
                    .filter(|d| order[i..i + unit.len().min(order.len() - i)].contains(&d.id))
                    .cloned()
                    .collect();
                for (d, got) in won.iter().zip(sequential.insert_batch(won.clone())) {
                    assert_eq!(
                        verdicts[&d.id],
                        got.expect("inserted"),
                        "config {c}: {}",
                        d.id
                    );
                }
                i += won.len();
            }
            same_file(&racing, &sequential, dir.path(), &format!("config {c}"));
        }
    }
}
