//! Verification: every candidate pair is scored from the two documents' features before
//! it becomes an edge, and the scores decide its relation.

use crate::config::Config;
use crate::features::Features;
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
    /// Jaccard similarity of the shingle sets.
    pub jaccard: f32,
    /// Share of the smaller shingle set found in the larger.
    pub containment: f32,
    /// Rarity-weighted Jaccard similarity of the body words (0 without the rewrite tier).
    pub content: f32,
    /// When both have a headline: the smaller and the larger of the two headline
    /// coverages (share of one headline's rarity found in the other document).
    pub title: Option<(f32, f32)>,
    /// Days between the two publication times, when both are known.
    pub days_apart: Option<f32>,
}

impl Scores {
    /// The rewrite score: weighted word overlap plus shingle overlap. Rewrites keep the
    /// story's words while their phrasing changes; copies score high on both.
    #[must_use]
    pub fn rewrite_score(&self) -> f32 {
        self.content + self.jaccard
    }
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
    /// The similarity that goes with the relation (see [`relation_similarity`]).
    #[must_use]
    pub fn similarity(&self) -> f32 {
        relation_similarity(self.relation, &self.scores)
    }
}

/// The similarity reported with a relation: 1 for exact copies, the shingle Jaccard (or
/// containment, for excerpts) for near-duplicates, the rarity-weighted word Jaccard for
/// rewrites.
#[must_use]
pub fn relation_similarity(relation: Relation, s: &Scores) -> f32 {
    match relation {
        Relation::Exact => 1.0,
        Relation::NearDuplicate => s.jaccard.max(s.containment),
        Relation::Rewrite => s.content,
    }
}

/// Rarity weights of one document's words, aligned with its features.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Weights {
    /// idf of each body word (`Features::terms`).
    pub terms: Vec<f32>,
    /// Sum of `terms`.
    pub mass: f32,
    /// idf of each headline word (`Features::title`).
    pub title: Vec<f32>,
    /// Sum of `title`.
    pub title_mass: f32,
}

impl Weights {
    /// The weights of `f` under the word statistics `stats`.
    #[must_use]
    pub fn new(f: &Features, stats: &TermStats) -> Self {
        let terms: Vec<f32> = f.terms.iter().map(|&t| stats.idf(t)).collect();
        let title: Vec<f32> = f.title.iter().map(|&t| stats.idf(t)).collect();
        Weights {
            mass: terms.iter().sum(),
            title_mass: title.iter().sum(),
            terms,
            title,
        }
    }
}

/// Where a document's word rarity comes from.
#[derive(Debug, Clone, Copy)]
pub enum Rarity<'a> {
    /// Weights computed beforehand (the batch computes them once per document).
    Weights(&'a Weights),
    /// Looked up in word statistics when a pair needs them (the index, which holds no
    /// weights: most candidate pairs are decided before their words are weighed).
    Stats(&'a TermStats),
}

impl Rarity<'_> {
    /// Weight of body word `i` of `f`.
    fn term(&self, f: &Features, i: usize) -> f32 {
        match self {
            Rarity::Weights(w) => w.terms[i],
            Rarity::Stats(s) => s.idf(f.terms[i]),
        }
    }

    /// Total weight of the body words of `f`, summed in order (as [`Weights::new`]).
    fn mass(&self, f: &Features) -> f32 {
        match self {
            Rarity::Weights(w) => w.mass,
            Rarity::Stats(s) => f.terms.iter().map(|&t| s.idf(t)).sum(),
        }
    }

    /// Weight of headline word `i` of `f`.
    fn title(&self, f: &Features, i: usize) -> f32 {
        match self {
            Rarity::Weights(w) => w.title[i],
            Rarity::Stats(s) => s.idf(f.title[i]),
        }
    }

    /// Total weight of the headline words of `f`.
    fn title_mass(&self, f: &Features) -> f32 {
        match self {
            Rarity::Weights(w) => w.title_mass,
            Rarity::Stats(s) => f.title.iter().map(|&t| s.idf(t)).sum(),
        }
    }
}

/// Calls `f(i, j)` for each element the sorted sets `a` and `b` share, at `a[i] == b[j]`.
#[inline]
fn for_each_shared(a: &[u32], b: &[u32], mut f: impl FnMut(usize, usize)) {
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                f(i, j);
                i += 1;
                j += 1;
            }
        }
    }
}

/// Size of the intersection of two sorted sets.
fn intersection(a: &[u32], b: &[u32]) -> usize {
    // Copies of one text share their features: nothing to merge.
    if std::ptr::eq(a, b) {
        return a.len();
    }
    // A merge without branches on the comparison (which a branch predictor cannot
    // guess), for sorted lists without repeats.
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        let (x, y) = (a[i], b[j]);
        n += usize::from(x == y);
        i += usize::from(x <= y);
        j += usize::from(y <= x);
    }
    n
}

/// Share of `a`'s headline rarity found in `b`'s headline or body.
fn title_coverage(a: &Features, wa: Rarity<'_>, b: &Features) -> f32 {
    let mass = wa.title_mass(a);
    if mass <= 0.0 {
        return 0.0;
    }
    let found: f32 = (0..a.title.len())
        .filter(|&i| {
            let t = a.title[i];
            b.title.binary_search(&t).is_ok() || b.terms.binary_search(&t).is_ok()
        })
        .map(|i| wa.title(a, i))
        .sum();
    found / mass
}

/// One side of a pair, as verification sees it.
#[derive(Debug, Clone, Copy)]
pub struct DocView<'a> {
    /// The document's features.
    pub features: &'a Features,
    /// Its word rarity (unused when the rewrite tier is off).
    pub rarity: Rarity<'a>,
    /// Its publication time, if known.
    pub timestamp: Option<i64>,
}

/// Shingle sets smaller than this are too short for containment to mean an excerpt.
const MIN_CONTAINED_SHINGLES: usize = 10;
/// Headline gate for every edge but exact copies: when both documents have a headline
/// and the better-covered one has less than this share of its rarity in the other
/// document, or the worse-covered one less than [`TITLE_MIN_COVERAGE`], they name
/// different stories.
const TITLE_MAX_COVERAGE: f32 = 0.5;
/// See [`TITLE_MAX_COVERAGE`].
const TITLE_MIN_COVERAGE: f32 = 0.3;
/// Rewrites, and copies below [`CLOSE_COPY_JACCARD`], need headlines that agree this
/// much: formulaic items (offerings, payouts, ratings) of different companies share
/// most of their body and differ in the headline's subject.
const LOOSE_TITLE_COVERAGE: f32 = 0.65;
/// Documents with at least this many distinct numbers each must share some to be one
/// story (rewrites, and copies below [`CLOSE_COPY_JACCARD`]).
const MIN_NUMBERS: usize = 5;
/// Share of the smaller set of numbers a rewrite must share (see [`MIN_NUMBERS`]).
const NUMBER_AGREEMENT: f32 = 0.5;
/// Shingle Jaccard from which a copy is close enough that a reworded headline does not
/// matter.
const CLOSE_COPY_JACCARD: f32 = 0.8;

/// Scores pairs and decides their relation under one configuration.
#[derive(Debug)]
pub struct Verifier<'a> {
    config: &'a Config,
}

impl<'a> Verifier<'a> {
    /// A verifier for `config`.
    #[must_use]
    pub fn new(config: &'a Config) -> Self {
        Verifier { config }
    }

    /// The scores of a pair.
    #[must_use]
    pub fn score(&self, a: DocView<'_>, b: DocView<'_>) -> Scores {
        let mut s = self.cheap_scores(a, b);
        s.content = self.content(a, b);
        s
    }

    /// Scores and relation of a pair, or `None` when it is not an edge. The same answer
    /// as [`Verifier::classify`] of [`Verifier::score`], but the rarity-weighted word
    /// overlap (the dearest score) is computed only for pairs that get that far.
    #[must_use]
    pub fn relate(&self, a: DocView<'_>, b: DocView<'_>) -> Option<(Relation, Scores)> {
        let mut s = self.cheap_scores(a, b);
        self.decide(a.features, b.features, &mut s, || self.content(a, b))
            .map(|r| (r, s))
    }

    /// Every score but `content` (left 0).
    fn cheap_scores(&self, a: DocView<'_>, b: DocView<'_>) -> Scores {
        let (fa, fb) = (a.features, b.features);
        let inter = intersection(&fa.shingles, &fb.shingles) as f32;
        let (na, nb) = (fa.shingles.len() as f32, fb.shingles.len() as f32);
        let union = na + nb - inter;
        let jaccard = if union > 0.0 { inter / union } else { 0.0 };
        let smaller = na.min(nb);
        let containment = if smaller > 0.0 { inter / smaller } else { 0.0 };
        let title =
            (self.config.rewrites && !fa.title.is_empty() && !fb.title.is_empty()).then(|| {
                let x = title_coverage(fa, a.rarity, fb);
                let y = title_coverage(fb, b.rarity, fa);
                (x.min(y), x.max(y))
            });
        let days_apart = match (a.timestamp, b.timestamp) {
            (Some(x), Some(y)) => Some((x - y).unsigned_abs() as f32 / 86_400.0),
            _ => None,
        };
        Scores {
            jaccard,
            containment,
            content: 0.0,
            title,
            days_apart,
        }
    }

    /// Rarity-weighted Jaccard similarity of the two bodies' words (0 without the
    /// rewrite tier).
    fn content(&self, a: DocView<'_>, b: DocView<'_>) -> f32 {
        if !self.config.rewrites {
            return 0.0;
        }
        let (fa, fb) = (a.features, b.features);
        let mut shared = 0.0f32;
        for_each_shared(&fa.terms, &fb.terms, |i, _| shared += a.rarity.term(fa, i));
        let union = a.rarity.mass(fa) + b.rarity.mass(fb) - shared;
        if union > 0.0 { shared / union } else { 0.0 }
    }

    /// The relation of a scored pair, or `None` when it is not an edge.
    #[must_use]
    pub fn classify(&self, a: &Features, b: &Features, s: &Scores) -> Option<Relation> {
        self.decide(a, b, &mut s.clone(), || s.content)
    }

    /// The relation of a pair whose scores are complete but for `content`, which
    /// `content()` gives when the decision needs it; it is then stored into `s`.
    fn decide(
        &self,
        a: &Features,
        b: &Features,
        s: &mut Scores,
        content: impl FnOnce() -> f32,
    ) -> Option<Relation> {
        if a.exact != 0 && a.exact == b.exact {
            s.content = content();
            return Some(Relation::Exact);
        }
        let c = self.config;
        if !c.rewrites {
            // Classic MinHash deduplication: shingle Jaccard alone decides.
            return (f64::from(s.jaccard) >= c.threshold).then_some(Relation::NearDuplicate);
        }
        // Two headlines that do not cover each other name different stories, however
        // alike the (often formulaic) bodies are.
        if let Some((lo, hi)) = s.title
            && (hi < TITLE_MAX_COVERAGE || lo < TITLE_MIN_COVERAGE)
        {
            return None;
        }
        // Below a close copy, bodies alike can be one template filled for two subjects:
        // then the headlines must agree more.
        let title_hi = s.title.map_or(1.0, |t| t.1);
        let headlines_agree = title_hi >= LOOSE_TITLE_COVERAGE;
        // A copy or a rewrite reports the story's figures; a template filled for
        // another item or another day (a price table, weekly output) carries others.
        let fewer = a.numbers.len().min(b.numbers.len());
        let numbers_agree = fewer < MIN_NUMBERS
            || intersection(&a.numbers, &b.numbers) as f32 >= NUMBER_AGREEMENT * fewer as f32;
        let close_copy = s.jaccard >= CLOSE_COPY_JACCARD;
        let contained = f64::from(s.containment) >= c.containment
            && a.shingles.len().min(b.shingles.len()) >= MIN_CONTAINED_SHINGLES;
        let copy = f64::from(s.jaccard) >= c.threshold || contained;
        if copy && (close_copy || (headlines_agree && numbers_agree)) {
            s.content = content();
            return Some(Relation::NearDuplicate);
        }
        if !headlines_agree {
            return None;
        }
        let in_window = c.rewrite_window_days == 0
            || s.days_apart
                .is_none_or(|d| d <= c.rewrite_window_days as f32);
        if !in_window || !numbers_agree {
            return None;
        }
        s.content = content();
        (f64::from(s.rewrite_score()) >= c.rewrite_threshold).then_some(Relation::Rewrite)
    }
}

#[cfg(test)]
mod tests {
    use super::intersection;

    #[test]
    fn intersection_counts_shared_values() {
        let mut x = 7u64;
        let mut set = |n: usize, m: u64| {
            let mut v: Vec<u32> = (0..n)
                .map(|_| {
                    x = crate::sketch::minhash::mix64(x);
                    (x % m) as u32
                })
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        };
        for (n, m) in [(0, 10), (5, 10), (100, 150), (300, 10_000)] {
            let (a, b) = (set(n, m), set(n / 2 + 1, m));
            let naive = a.iter().filter(|v| b.binary_search(v).is_ok()).count();
            assert_eq!(intersection(&a, &b), naive);
            assert_eq!(intersection(&b, &a), naive);
            assert_eq!(intersection(&a, &a), a.len());
            assert_eq!(intersection(&a, &a.clone()), a.len());
        }
    }
}
