//! Verification: every candidate pair is scored from the two documents' features before
//! it becomes an edge, and the scores decide its relation.

use crate::config::Config;
use crate::features::Features;
use crate::sketch::minhash;
use crate::weights::TermStats;

/// How two documents are related. Ordered from strongest to weakest.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The same normalised body.
    Exact,
    /// A copy with small changes: boilerplate, edits, truncation.
    NearDuplicate,
    /// The same story in other words.
    Rewrite,
}

impl Relation {
    /// The name used in every output format.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Exact => "exact",
            Relation::NearDuplicate => "near_duplicate",
            Relation::Rewrite => "rewrite",
        }
    }
}

impl std::fmt::Display for Relation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Relation {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s {
            "exact" => Ok(Relation::Exact),
            "near_duplicate" => Ok(Relation::NearDuplicate),
            "rewrite" => Ok(Relation::Rewrite),
            _ => Err(crate::Error::Config(format!(
                "relation {s:?}: expected exact, near_duplicate or rewrite"
            ))),
        }
    }
}

/// The scores of one pair.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scores {
    /// MinHash estimate of the Jaccard similarity of the shingle sets.
    pub jaccard: f32,
    /// Estimated share of the smaller shingle set found in the larger.
    pub containment: f32,
    /// Rarity-weighted cosine similarity of the words (body and headline).
    pub content: f32,
    /// Rarity-weighted Jaccard similarity of the headlines, when both have one.
    pub title: Option<f32>,
}

/// A verified pair: documents `a < b` (indices), their relation and scores.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Edge {
    /// The earlier document.
    pub a: u32,
    /// The later document.
    pub b: u32,
    /// How they are related.
    pub relation: Relation,
    /// Their scores.
    pub scores: Scores,
}

impl Edge {
    /// The similarity that goes with the relation: 1 for exact copies, the Jaccard
    /// estimate (or containment, for excerpts) for near-duplicates, the content
    /// similarity for rewrites.
    #[must_use]
    pub fn similarity(&self) -> f32 {
        relation_similarity(self.relation, &self.scores)
    }
}

/// The similarity reported with a relation (see [`Edge::similarity`]).
#[must_use]
pub fn relation_similarity(relation: Relation, s: &Scores) -> f32 {
    match relation {
        Relation::Exact => 1.0,
        Relation::NearDuplicate => s.jaccard.max(s.containment),
        Relation::Rewrite => s.content,
    }
}

/// Unit-length rarity-weighted vector of a document's words: `(1 + ln tf) * idf`,
/// headline words counted as well. Sorted by term.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeightedTerms {
    /// Sorted word hashes.
    pub terms: Vec<u32>,
    /// Their weights, L2-normalised.
    pub weights: Vec<f32>,
}

impl WeightedTerms {
    /// The weighted vector of `f` under the word statistics `stats`.
    #[must_use]
    pub fn new(f: &Features, stats: &TermStats) -> Self {
        let mut terms = Vec::with_capacity(f.terms.len() + f.title.len());
        let mut weights = Vec::with_capacity(terms.capacity());
        let (mut i, mut j) = (0, 0);
        loop {
            let body = f.terms.get(i).copied();
            let head = f.title.get(j).copied();
            let (t, tf) = match (body, head) {
                (None, None) => break,
                (Some(b), Some(h)) if b == h => {
                    i += 1;
                    j += 1;
                    (b, f32::from(f.tf[i - 1]) + 1.0)
                }
                (Some(b), Some(h)) if b < h => {
                    i += 1;
                    (b, f32::from(f.tf[i - 1]))
                }
                (Some(b), None) => {
                    i += 1;
                    (b, f32::from(f.tf[i - 1]))
                }
                (_, Some(h)) => {
                    j += 1;
                    (h, 1.0)
                }
            };
            terms.push(t);
            weights.push((1.0 + tf.ln()) * stats.idf(t));
        }
        let norm = weights.iter().map(|w| w * w).sum::<f32>().sqrt();
        if norm > 0.0 {
            for w in &mut weights {
                *w /= norm;
            }
        }
        WeightedTerms { terms, weights }
    }
}

/// Dot product of two sorted sparse vectors.
fn dot(a: &WeightedTerms, b: &WeightedTerms) -> f32 {
    let (mut i, mut j, mut s) = (0, 0, 0.0f32);
    while i < a.terms.len() && j < b.terms.len() {
        match a.terms[i].cmp(&b.terms[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                s += a.weights[i] * b.weights[j];
                i += 1;
                j += 1;
            }
        }
    }
    s
}

/// Rarity-weighted Jaccard of two sorted word sets.
fn weighted_jaccard(a: &[u32], b: &[u32], stats: &TermStats) -> f32 {
    let (mut i, mut j) = (0, 0);
    let (mut inter, mut union) = (0.0f32, 0.0f32);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                let w = stats.idf(*x);
                inter += w;
                union += w;
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                union += stats.idf(*x);
                i += 1;
            }
            (Some(x), None) => {
                union += stats.idf(*x);
                i += 1;
            }
            (_, Some(y)) => {
                union += stats.idf(*y);
                j += 1;
            }
            (None, None) => unreachable!(),
        }
    }
    if union > 0.0 { inter / union } else { 0.0 }
}

/// One side of a pair, as verification sees it.
#[derive(Debug, Clone, Copy)]
pub struct DocView<'a> {
    /// The document's features.
    pub features: &'a Features,
    /// Its MinHash signature.
    pub signature: &'a [u32],
    /// Its weighted words (empty when the rewrite tier is off).
    pub weighted: &'a WeightedTerms,
}

/// Scores pairs and decides their relation under one configuration.
#[derive(Debug)]
pub struct Verifier<'a> {
    config: &'a Config,
    stats: &'a TermStats,
}

impl<'a> Verifier<'a> {
    /// A verifier for `config` with word statistics `stats`.
    #[must_use]
    pub fn new(config: &'a Config, stats: &'a TermStats) -> Self {
        Verifier { config, stats }
    }

    /// The scores of a pair.
    #[must_use]
    pub fn score(&self, a: DocView<'_>, b: DocView<'_>) -> Scores {
        let j = minhash::jaccard(a.signature, b.signature);
        let (na, nb) = (f64::from(a.features.shingles), f64::from(b.features.shingles));
        // |A ∪ B| = (|A| + |B|) / (1 + J); |A ∩ B| = J |A ∪ B|.
        let inter = j * (na + nb) / (1.0 + j);
        let smaller = na.min(nb).max(1.0);
        let containment = (inter / smaller).min(1.0);
        let title = (!a.features.title.is_empty() && !b.features.title.is_empty())
            .then(|| weighted_jaccard(&a.features.title, &b.features.title, self.stats));
        Scores {
            jaccard: j as f32,
            containment: containment as f32,
            content: dot(a.weighted, b.weighted),
            title,
        }
    }

    /// The relation of a scored pair, or `None` when it is not an edge.
    #[must_use]
    pub fn classify(&self, a: &Features, b: &Features, s: &Scores) -> Option<Relation> {
        if a.exact != 0 && a.exact == b.exact {
            return Some(Relation::Exact);
        }
        let c = self.config;
        // Different headlines over a formulaic body: not one story unless the content,
        // headline words included, says so.
        let headline_clash = s.title.is_some_and(|t| t < 0.2) && s.content < 0.5;
        let copy = f64::from(s.jaccard) >= c.threshold || f64::from(s.containment) >= c.containment;
        if copy && !headline_clash {
            return Some(Relation::NearDuplicate);
        }
        if c.rewrites && f64::from(s.content) >= c.rewrite_threshold && !headline_clash {
            return Some(Relation::Rewrite);
        }
        None
    }
}
