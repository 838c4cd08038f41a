//! The batch run's stages one document, one bucket, one pair or one group at a time, for
//! engines that spread them over machines (the Python package's `neardup.spark`).
//!
//! A distributed run gives the groups of [`crate::cluster_documents`] when it numbers the
//! documents as the batch does, by id ([`id_hash`], then the id: `pos`), and chains these
//! stages as the batch does:
//! 1. [`Sketcher::sketch`] every document: features and candidate keys.
//! 2. With rewrites, word statistics over the corpus: [`distinct_terms`] of every
//!    document, counted, then [`stats_from_counts`].
//! 3. Representatives: documents with a body (`exact != 0`), the first (lowest `pos`) of
//!    each `exact` hash; the later ones are exact copies, linked to it.
//! 4. Candidate pairs among representatives: for every `(band, key)` bucket, the
//!    [`bucket_pairs`] of its positions; with rewrites, for every keyword (from
//!    [`keywords_of`]) the [`keyword_run_pairs`] of its positions and
//!    [`keyword_slice`]s, a pair counting when it comes from at least
//!    [`KeywordParams::min_shared`] keywords, and each later document keeping the
//!    [`max_keyword_partners`] earlier ones sharing the most (then the lowest positions),
//!    if there is such a cap.
//! 5. [`verify_pair`] every candidate pair; with rewrites, also the pairs of neighbours of
//!    each document with at most [`MAX_DEGREE`] verified neighbours that
//!    were no candidates ([`judge_pair`] also tells the pairs refused as different stories:
//!    keep those).
//! 6. Connected components of the edges (exact copies to their representative included),
//!    then [`group_component`] on each, with its edges and the refused pairs inside it.

use crate::config::{Config, Method};
use crate::document::Document;
use crate::error::{Error, Result};
use crate::features::{Features, Featurizer, Scratch};
use crate::group::{self, Rank};
use crate::keywords::KeywordParams;
use crate::lsh::{Banding, band_keys};
use crate::verify::{
    DocView, Edge, Judgement, Rarity, Relation, Role, Verifier, Weights, relation_similarity,
};
use crate::weights::TermStats;

/// The most verified neighbours a document may have for its neighbours to be paired with
/// each other (as the batch run pairs them).
pub use crate::closing::MAX_DEGREE;

/// A bucket pairs each document with at most this many documents before it (the batch
/// run's cap, see [`crate::lsh::candidate_pairs_by_keys`]).
pub const MAX_BUCKET: usize = 64;

/// One document's features and candidate keys.
#[derive(Debug, Clone, PartialEq)]
pub struct Sketch {
    /// Its features (what verification reads).
    pub features: Features,
    /// Its LSH bucket keys, one per band.
    pub keys: Vec<u32>,
}

/// Sketches documents under one configuration ([`Method::MinHash`] only: `SimHash`
/// candidates come from Hamming tables that do not split into buckets).
#[derive(Debug)]
pub struct Sketcher {
    featurizer: Featurizer,
    banding: Banding,
    scratch: Scratch,
    signature: Vec<u32>,
}

impl Sketcher {
    /// A sketcher for `config`.
    ///
    /// # Errors
    /// [`Error::Config`] for an invalid configuration or a method other than `MinHash`.
    pub fn new(config: &Config) -> Result<Self> {
        config.validate()?;
        if config.method != Method::MinHash {
            return Err(Error::Config(
                "a distributed run supports method minhash only".into(),
            ));
        }
        Ok(Sketcher {
            featurizer: Featurizer::new(config),
            banding: config.banding(),
            scratch: Scratch::default(),
            signature: vec![0; config.signature_len()],
        })
    }

    /// The banding of the keys.
    #[must_use]
    pub fn banding(&self) -> Banding {
        self.banding
    }

    /// Features and bucket keys of a document.
    pub fn sketch(&mut self, doc: &Document) -> Sketch {
        let features = self
            .featurizer
            .featurize(doc, &mut self.scratch, &mut self.signature);
        let mut keys = vec![0; self.banding.bands];
        band_keys(&self.signature, self.banding, &mut keys);
        Sketch { features, keys }
    }
}

/// The hash that numbers documents by id (then the id breaks ties), as the batch run
/// numbers them before its candidate stages.
#[must_use]
pub fn id_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

/// The distinct words of a document (body and headline) that word statistics count.
#[must_use]
pub fn distinct_terms(f: &Features) -> Vec<u32> {
    let mut t: Vec<u32> = f.terms.iter().chain(&f.title).copied().collect();
    t.sort_unstable();
    t.dedup();
    t
}

/// Word statistics from counts: `docs` documents, and for each word the number of
/// documents whose [`distinct_terms`] hold it.
#[must_use]
pub fn stats_from_counts(docs: u32, df: impl IntoIterator<Item = (u32, u32)>) -> TermStats {
    TermStats::from_counts(docs, df)
}

/// The keywords under which the batch run lists a document (rewrite candidates).
#[must_use]
pub fn keywords_of(f: &Features, stats: &TermStats) -> Vec<u32> {
    crate::keywords::keywords(f, &Weights::new(f, stats), stats, KeywordParams::default())
}

/// Candidate pairs `(earlier, later)` of one LSH bucket, given its members' positions in
/// ascending order: each with at most [`MAX_BUCKET`] members before it.
#[must_use]
pub fn bucket_pairs(positions: &[u64]) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    for (k, &dj) in positions.iter().enumerate().skip(1) {
        for &di in &positions[k.saturating_sub(MAX_BUCKET)..k] {
            out.push((di, dj));
        }
    }
    out
}

/// The time slice under which the batch run lists a document's keywords (see
/// [`crate::keywords::time_slice`]): keyword pairs are made only between documents of
/// neighbouring slices, or with an undated one.
#[must_use]
pub fn keyword_slice(config: &Config, timestamp: Option<i64>) -> i32 {
    crate::keywords::time_slice(timestamp, config.rewrite_window_days)
}

/// The [`keyword_slice`] of undated documents (and of every document without a rewrite
/// window).
pub const UNDATED_SLICE: i32 = crate::keywords::UNDATED;

/// Pairs `(earlier, later)` sharing one keyword, given the `(position, slice)` of the
/// documents listing it in ascending order of position: a document is paired with every
/// earlier one of its time neighbourhood (its slice, the two beside it and the undated;
/// all of them when it is undated) unless more than [`KeywordParams::max_postings`] are
/// there. A pair is a candidate when it comes from at least
/// [`KeywordParams::min_shared`] keywords, and a later document keeps at most
/// [`max_keyword_partners`] of its candidates (if set).
#[must_use]
pub fn keyword_run_pairs(run: &[(u64, i32)]) -> Vec<(u64, u64)> {
    let max = KeywordParams::default().max_postings;
    let mut out = Vec::new();
    for (k, &(d, s)) in run.iter().enumerate() {
        let near = run[..k]
            .iter()
            .filter(|&&(_, t)| crate::keywords::near_in_time(s, t));
        if near.clone().count() <= max {
            out.extend(near.map(|&(e, _)| (e, d)));
        }
    }
    out
}

/// The most keyword candidates a later document keeps (those sharing the most keywords
/// with it, then the earlier positions), or `None` for all of them (the default).
#[must_use]
pub fn max_keyword_partners() -> Option<usize> {
    Some(KeywordParams::default().max_pairs).filter(|&m| m != usize::MAX)
}

/// Keywords two documents must share to be a rewrite candidate pair.
#[must_use]
pub fn min_shared_keywords() -> usize {
    KeywordParams::default().min_shared
}

/// One side of a pair to verify: features and publication time.
#[derive(Debug, Clone, Copy)]
pub struct Side<'a> {
    /// The document's features.
    pub features: &'a Features,
    /// Its publication time.
    pub timestamp: Option<i64>,
}

/// The relation and similarity of a candidate pair, or `None` when it is no edge.
/// `stats` are the corpus's word statistics (empty without rewrites).
#[must_use]
pub fn verify_pair(
    config: &Config,
    stats: &TermStats,
    a: Side<'_>,
    b: Side<'_>,
) -> Option<(Relation, f32)> {
    match judge_pair(config, stats, a, b) {
        PairVerdict::Edge(r, s) => Some((r, s)),
        PairVerdict::Apart | PairVerdict::Unrelated => None,
    }
}

fn weights_pair(
    config: &Config,
    stats: &TermStats,
    a: Side<'_>,
    b: Side<'_>,
) -> (Weights, Weights) {
    if config.rewrites {
        (
            Weights::new(a.features, stats),
            Weights::new(b.features, stats),
        )
    } else {
        (Weights::default(), Weights::default())
    }
}

fn view<'a>(s: Side<'a>, w: &'a Weights) -> DocView<'a> {
    DocView {
        features: s.features,
        rarity: Rarity::Weights(w),
        timestamp: s.timestamp,
    }
}

/// A member of a connected component, as [`group_component`] needs it.
#[derive(Debug, Clone)]
pub struct ComponentDoc {
    /// Position in the input.
    pub pos: u64,
    /// Id.
    pub id: String,
    /// Publication time.
    pub timestamp: Option<i64>,
    /// Length of the text in bytes.
    pub len: u64,
    /// Features.
    pub features: Features,
}

/// Where a document of a component ends up, as `neardup cluster`'s JSONL line says.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// Group id.
    pub group: String,
    /// Id of the group's canonical member.
    pub canonical: String,
    /// Relation to the canonical member ([`Role::Canonical`] for the canonical member
    /// itself).
    pub relation: Role,
    /// Similarity to the canonical member (1 for the canonical member).
    pub similarity: f32,
}

/// What verifying a candidate pair finds ([`judge_pair`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum PairVerdict {
    /// An edge: its relation and similarity (what [`verify_pair`] gives).
    Edge(Relation, f32),
    /// No edge, and refused as two different stories (see
    /// [`Judgement::Apart`]): grouping keeps the pair
    /// apart, so an engine passes it to [`group_component`] with the edges when both
    /// ends are in one component.
    Apart,
    /// Neither.
    Unrelated,
}

/// [`verify_pair`], telling a pair refused as different stories from one with too
/// little in common.
#[must_use]
pub fn judge_pair(config: &Config, stats: &TermStats, a: Side<'_>, b: Side<'_>) -> PairVerdict {
    let (wa, wb) = weights_pair(config, stats, a, b);
    match Verifier::new(config).judge(view(a, &wa), view(b, &wb)) {
        Judgement::Related(r, s) => PairVerdict::Edge(r, relation_similarity(r, &s)),
        Judgement::Apart => PairVerdict::Apart,
        Judgement::Unrelated => PairVerdict::Unrelated,
    }
}

/// The batch run's grouping of one connected component of verified edges: `docs` are
/// its members (any order), `edges` its verified pairs as positions `(a, b)`, exact
/// copies to their representative included, and the pairs between its members refused
/// as different stories ([`judge_pair`]; verified again here, so any other pair is
/// ignored). Returns, for each of `docs`, its placement, or `None` when it stays alone.
///
/// # Errors
/// [`Error::Config`] when an edge names a position outside `docs`.
pub fn group_component(
    config: &Config,
    stats: &TermStats,
    docs: &[ComponentDoc],
    edges: &[(u64, u64)],
) -> Result<Vec<Option<Placement>>> {
    let mut order: Vec<u32> = (0..docs.len() as u32).collect();
    order.sort_by_key(|&i| docs[i as usize].pos);
    let sorted: Vec<&ComponentDoc> = order.iter().map(|&i| &docs[i as usize]).collect();
    let local = |p: u64| {
        sorted
            .binary_search_by_key(&p, |d| d.pos)
            .map(|i| i as u32)
            .map_err(|_| Error::Config(format!("edge to position {p}, outside the component")))
    };
    let weights: Vec<Weights> = sorted
        .iter()
        .map(|d| {
            if config.rewrites {
                Weights::new(&d.features, stats)
            } else {
                Weights::default()
            }
        })
        .collect();
    let dv = |i: u32| DocView {
        features: &sorted[i as usize].features,
        rarity: Rarity::Weights(&weights[i as usize]),
        timestamp: sorted[i as usize].timestamp,
    };
    let exact = |i: u32| sorted[i as usize].features.exact;
    let verifier = Verifier::new(config);
    let mut list = Vec::with_capacity(edges.len());
    let mut apart = Vec::new();
    for &(a, b) in edges {
        let (a, b) = (local(a)?, local(b)?);
        let (a, b) = (a.min(b), a.max(b));
        // Exact copies are linked to their representative without verification.
        let edge = if exact(a) == exact(b) && exact(a) != 0 {
            Judgement::Related(Relation::Exact, verifier.score(dv(a), dv(b)))
        } else {
            verifier.judge(dv(a), dv(b))
        };
        match edge {
            Judgement::Related(relation, scores) => list.push(Edge {
                a,
                b,
                relation,
                scores,
            }),
            Judgement::Apart => apart.push((a, b)),
            Judgement::Unrelated => {}
        }
    }
    let n = sorted.len();
    let mut related = group::relatedness(n, &list);
    // A copy of a body counts what its representative (the first by position) counts.
    let mut first_of: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
    for d in 0..n as u32 {
        if exact(d) != 0 {
            let r = *first_of.entry(exact(d)).or_insert(d);
            related[d as usize] = related[r as usize];
        }
    }
    let rank = |d: u32| {
        let s = sorted[d as usize];
        Rank {
            timestamp: s.timestamp,
            related: related[d as usize],
            hash: s.features.exact,
            id: &s.id,
        }
    };
    let partition = group::cluster(n, &group::links(&list), &apart, rank);
    list.sort_by_key(|e| (e.a, e.b));
    let mut out = vec![None; docs.len()];
    for (g, members) in partition.members().iter().enumerate() {
        if members.len() < 2 {
            continue;
        }
        let canon = partition.canonical[g];
        let canonical = sorted[canon as usize].id.clone();
        for &m in members {
            let (relation, similarity) = if m == canon {
                (Role::Canonical, 1.0)
            } else if let Ok(i) =
                list.binary_search_by_key(&(canon.min(m), canon.max(m)), |e| (e.a, e.b))
            {
                (Role::Member(list[i].relation), list[i].similarity())
            } else {
                let s = verifier.score(dv(canon), dv(m));
                let r = verifier
                    .relate(dv(canon), dv(m))
                    .map_or_else(|| partition.tie(m), |r| r.0);
                (Role::Member(r), relation_similarity(r, &s))
            };
            out[order[m as usize] as usize] = Some(Placement {
                group: canonical.clone(),
                canonical: canonical.clone(),
                relation,
                similarity,
            });
        }
    }
    Ok(out)
}
