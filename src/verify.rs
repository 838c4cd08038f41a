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

/// A document's relation to its group's canonical member, as every output names it
/// (`"canonical"`, `"exact"`, `"near_duplicate"`, `"rewrite"`). Ordered from strongest
/// to weakest: the canonical member first.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// It is the canonical member (of a group, or alone).
    Canonical,
    /// It is related to the canonical member by this relation.
    #[serde(untagged)]
    Member(Relation),
}

impl Role {
    /// The relation to the canonical member; `None` for the canonical member itself.
    #[must_use]
    pub fn relation(self) -> Option<Relation> {
        match self {
            Role::Canonical => None,
            Role::Member(r) => Some(r),
        }
    }

    /// The name used in every output format: `"canonical"` or the relation's name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Canonical => "canonical",
            Role::Member(r) => r.as_str(),
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<Option<(Relation, f32)>> for Role {
    fn from(r: Option<(Relation, f32)>) -> Self {
        r.map_or(Role::Canonical, |(r, _)| Role::Member(r))
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

/// What verifying a pair found ([`Verifier::judge`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Judgement {
    /// An edge: the relation and the scores.
    Related(Relation, Scores),
    /// Two different stories: both have a headline and the headlines do not cover each
    /// other ([`Rule::DifferentHeadlines`]), however alike the bodies. Grouping keeps such
    /// a pair apart ([`crate::group`]). Only this refusal is evidence against one story:
    /// the others say the pair has too little in common to be an edge.
    Apart,
    /// Not an edge, and no evidence of different stories.
    Unrelated,
}

impl Judgement {
    /// The edge, if it is one.
    #[must_use]
    pub fn related(self) -> Option<(Relation, Scores)> {
        match self {
            Judgement::Related(r, s) => Some((r, s)),
            Judgement::Apart | Judgement::Unrelated => None,
        }
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
}

impl Weights {
    /// The weights of `f` under the word statistics `stats`.
    #[must_use]
    pub fn new(f: &Features, stats: &TermStats) -> Self {
        Self::with_terms(f.terms.iter().map(|&t| stats.idf(t)).collect(), f, stats)
    }

    /// The weights of `f` under `stats`, its body words' counts read already (`df`,
    /// aligned with `f.terms`: [`TermStats::df`]).
    pub(crate) fn with_df(f: &Features, df: &[u32], stats: &TermStats) -> Self {
        debug_assert_eq!(df.len(), f.terms.len());
        Self::with_terms(df.iter().map(|&d| stats.idf_of_df(d)).collect(), f, stats)
    }

    /// The weights of `f` under `stats`, its body words' weighed already (`terms`).
    fn with_terms(terms: Vec<f32>, f: &Features, stats: &TermStats) -> Self {
        let title: Vec<f32> = f.title.iter().map(|&t| stats.idf(t)).collect();
        Weights {
            mass: terms.iter().sum(),
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

/// Share of `a`'s headline rarity found in `b`'s headline or body, `b`'s body words
/// read as `bw` (see [`Words`]). Whether a headline word is in `b`'s headline is known
/// for every word, and whether it is in `b`'s body for those whose key is within the
/// sample's (every word, for a whole set); the others are counted as found at the rate
/// `body_share` gives, the share of `a`'s body rarity found in `b`'s body. (Counting only
/// the words whose presence is known would keep every word found in `b`'s headline and
/// drop many that are missing: a share biased towards one. QUALITY.md, "Headlines
/// against a sample".) `None` for a headline of no weight against a sample.
fn title_coverage(
    a: &Features,
    wa: Rarity<'_>,
    b: &Features,
    bw: &Words<'_>,
    body_share: impl FnOnce() -> f32,
) -> Option<f32> {
    // Rarity found in `b`'s headline; not there; of that, known (in or out of `b`'s
    // body) and found in the body.
    let (mut in_title, mut rest, mut known, mut found) = (0.0f32, 0.0f32, 0.0f32, 0.0f32);
    for (i, &t) in a.title.iter().enumerate() {
        let w = wa.title(a, i);
        if b.title.binary_search(&t).is_ok() {
            in_title += w;
            continue;
        }
        rest += w;
        if bw.knows(t, w) {
            known += w;
            if bw.contains(t) {
                found += w;
            }
        }
    }
    let mass = in_title + rest;
    if mass <= 0.0 {
        // A headline of no weight covers nothing.
        return bw.whole().then_some(0.0);
    }
    // Nothing is unknown in a whole set (`known` sums what `rest` does, in its order).
    let unknown = rest - known;
    if unknown > 0.0 {
        found += body_share() * unknown;
    }
    Some((in_title + found) / mass)
}

/// A body word's key in a weighted sample: `−ln(u) / w`, `u` in (0, 1) drawn from the
/// word's hash and `w` its rarity. The smallest keys of a set are an exponential race:
/// a word is among them with a chance that grows with its weight, so a sample keeps the
/// rare words that decide a rewrite and thins the common ones. A pure function of the
/// word and its weight, so two documents under the same statistics sample a shared word
/// alike.
fn word_key(t: u32, w: f32) -> f32 {
    if w <= 0.0 {
        return f32::INFINITY;
    }
    // The hash's bits spread over 24 (a word hash has `TERM_BITS`), read as the point
    // u = (x + ½) / 2^24 of (0, 1).
    let x = (u64::from(t).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 40) as u32;
    (24.0 * std::f32::consts::LN_2 - ln(x as f32 + 0.5)) / w
}

/// The natural logarithm of a positive normal `y`, within 2e-5 of it: from the
/// exponent, and the mantissa's `2 atanh((m − 1) / (m + 1))` to its fourth term. A
/// fraction of the library's cost, and deterministic (plain arithmetic).
fn ln(y: f32) -> f32 {
    let bits = y.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = s * (2.0 + s2 * (2.0 / 3.0 + s2 * (2.0 / 5.0 + s2 * (2.0 / 7.0))));
    e as f32 * std::f32::consts::LN_2 + series
}

/// A document's body words as verification reads them: the whole set, or, for a set of
/// at least the sample size, its weighted sample — the `cap` words of smallest
/// [`word_key`], every word of the set with a key up to `tau` (see
/// [`crate::config::Footprint`]). A set of exactly `cap` words reads as a sample too:
/// an index holds the sample of a longer set ([`held_words`]), and both must read alike.
struct Words<'a> {
    f: &'a Features,
    rarity: Rarity<'a>,
    /// The words read: index in `f.terms` (ascending), weight and key; empty for a whole
    /// set (and only then), whose words are weighed only when a sample is compared with
    /// it.
    read: Vec<(u32, f32, f32)>,
    /// The largest key read; infinite for a whole set.
    tau: f32,
}

impl<'a> Words<'a> {
    fn new(f: &'a Features, rarity: Rarity<'a>, cap: usize) -> Self {
        let n = f.terms.len();
        let mut words = Words {
            f,
            rarity,
            read: Vec::new(),
            tau: f32::INFINITY,
        };
        if n < cap || cap == 0 {
            return words;
        }
        let mut read: Vec<(u32, f32, f32)> = (0..n)
            .map(|i| {
                let (w, key) = words.weigh(i);
                (i as u32, w, key)
            })
            .collect();
        if n > cap {
            // The `cap` smallest keys, ties by hash (distinct in a set): every word below
            // the `cap`-th key, then those at it, in hash order (kept, so not sorted again).
            let mut keys: Vec<f32> = read.iter().map(|x| x.2).collect();
            let (below, &mut kth, _) = keys.select_nth_unstable_by(cap - 1, f32::total_cmp);
            let mut ties = cap - below.iter().filter(|k| k.total_cmp(&kth).is_lt()).count();
            read.retain(|x| match x.2.total_cmp(&kth) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Equal if ties > 0 => {
                    ties -= 1;
                    true
                }
                _ => false,
            });
        }
        words.tau = read.iter().fold(0.0f32, |m, x| m.max(x.2));
        words.read = read;
        words
    }

    fn whole(&self) -> bool {
        // A sample reads at least one word.
        self.read.is_empty()
    }

    /// Whether the read tells if word `t` of weight `w` is in the set.
    fn knows(&self, t: u32, w: f32) -> bool {
        self.whole() || word_key(t, w) <= self.tau
    }

    /// Whether word `t` is among the words read.
    fn contains(&self, t: u32) -> bool {
        let terms = &self.f.terms;
        if self.whole() {
            terms.binary_search(&t).is_ok()
        } else {
            self.read
                .binary_search_by(|x| terms[x.0 as usize].cmp(&t))
                .is_ok()
        }
    }

    /// Weight and key of word `i` of the set.
    fn weigh(&self, i: usize) -> (f32, f32) {
        let w = self.rarity.term(self.f, i);
        (w, word_key(self.f.terms[i], w))
    }

    /// The words read with a key up to `tau`, in hash order, each with its weight scaled
    /// by the inverse of its chance to be read at `tau` (Horvitz–Thompson): sums of them
    /// estimate the weight of the whole set's parts.
    fn scaled_below(&self, tau: f32) -> ScaledBelow<'_, 'a> {
        ScaledBelow {
            words: self,
            tau,
            at: 0,
        }
    }
}

/// The iterator of [`Words::scaled_below`]: `(hash, scaled weight)`.
struct ScaledBelow<'w, 'a> {
    words: &'w Words<'a>,
    tau: f32,
    /// The next position in the whole set, or in the words read.
    at: usize,
}

impl Iterator for ScaledBelow<'_, '_> {
    type Item = (u32, f32);

    fn next(&mut self) -> Option<(u32, f32)> {
        let words = self.words;
        loop {
            let (i, w, key) = if words.whole() {
                let i = self.at;
                if i >= words.f.terms.len() {
                    return None;
                }
                let (w, key) = words.weigh(i);
                (i, w, key)
            } else {
                let &(i, w, key) = words.read.get(self.at)?;
                (i as usize, w, key)
            };
            self.at += 1;
            // The key first: most words of the larger sample lie above `tau`, and need
            // no chance worked out.
            if key <= self.tau {
                let p = -(-w * self.tau).exp_m1();
                if p > 0.0 {
                    return Some((words.f.terms[i], w / p));
                }
            }
        }
    }
}

/// Both documents' [`Words`], made when a score first needs them (the headline gate and
/// the word overlap read the same).
struct Pair<'a> {
    a: DocView<'a>,
    b: DocView<'a>,
    cap: usize,
    words: std::cell::OnceCell<[Words<'a>; 2]>,
    overlap: std::cell::OnceCell<Overlap>,
}

/// The rarity two bodies share, and each one's own: whole, or estimated on the words of
/// both samples with a key up to the smaller sample's largest.
#[derive(Debug, Clone, Copy)]
struct Overlap {
    shared: f32,
    a: f32,
    b: f32,
}

impl<'a> Pair<'a> {
    fn new(a: DocView<'a>, b: DocView<'a>, cap: usize) -> Self {
        Pair {
            a,
            b,
            cap,
            words: std::cell::OnceCell::new(),
            overlap: std::cell::OnceCell::new(),
        }
    }

    /// The bodies' [`Overlap`], computed once for the word overlap and the headlines.
    fn overlap(&self) -> Overlap {
        *self.overlap.get_or_init(|| {
            let (a, b) = (self.a, self.b);
            let (fa, fb) = (a.features, b.features);
            let [wa, wb] = self.words();
            if wa.whole() && wb.whole() {
                // Whole sets: exact, their masses known beforehand (the batch weighs each
                // document once).
                let mut shared = 0.0f32;
                for_each_shared(&fa.terms, &fb.terms, |i, _| shared += a.rarity.term(fa, i));
                return Overlap {
                    shared,
                    a: a.rarity.mass(fa),
                    b: b.rarity.mass(fb),
                };
            }
            // Estimated on the words of both with a key up to the smaller sample's.
            let tau = wa.tau.min(wb.tau);
            // One merge of the two (each in hash order), the sums in that order.
            let (mut ia, mut ib) = (wa.scaled_below(tau), wb.scaled_below(tau));
            let (mut x, mut y) = (ia.next(), ib.next());
            let (mut shared, mut sum_a, mut sum_b) = (0.0f32, 0.0f32, 0.0f32);
            while let (Some((ta, sa)), Some((tb, sb))) = (x, y) {
                match ta.cmp(&tb) {
                    std::cmp::Ordering::Less => {
                        sum_a += sa;
                        x = ia.next();
                    }
                    std::cmp::Ordering::Greater => {
                        sum_b += sb;
                        y = ib.next();
                    }
                    std::cmp::Ordering::Equal => {
                        // A shared word has one weight, so one scaled weight.
                        shared += sa;
                        sum_a += sa;
                        sum_b += sb;
                        (x, y) = (ia.next(), ib.next());
                    }
                }
            }
            Overlap {
                shared,
                a: x.into_iter().chain(ia).fold(sum_a, |sum, (_, s)| sum + s),
                b: y.into_iter().chain(ib).fold(sum_b, |sum, (_, s)| sum + s),
            }
        })
    }

    /// Share of `a`'s body rarity (`b`'s, `!a_in_b`) found in the other body.
    fn body_share(&self, a_in_b: bool) -> f32 {
        let o = self.overlap();
        let own = if a_in_b { o.a } else { o.b };
        if own > 0.0 { o.shared / own } else { 0.0 }
    }

    fn words(&self) -> &[Words<'a>; 2] {
        self.words.get_or_init(|| {
            [
                Words::new(self.a.features, self.a.rarity, self.cap),
                Words::new(self.b.features, self.b.rarity, self.cap),
            ]
        })
    }
}

/// Whether an index holds a chosen sample of `f`'s body words rather than all of them
/// (sample size `cap`): the one rule that decides where [`held_words`] must be called.
pub(crate) fn words_sampled(f: &Features, cap: usize) -> bool {
    f.terms.len() > cap
}

/// The body words an index holds of `f` with sample size `cap`: the words verification
/// reads of it under `rarity` (all of them up to `cap` words), sorted.
pub(crate) fn held_words(f: &Features, rarity: Rarity<'_>, cap: usize) -> Vec<u32> {
    let w = Words::new(f, rarity, cap);
    if w.whole() {
        return f.terms.clone();
    }
    w.read.iter().map(|x| f.terms[x.0 as usize]).collect()
}

/// `f` with weights `w`, its body words cut to `terms` (a subset, sorted: what an index
/// holds of it, [`held_words`]), with their weights.
pub(crate) fn with_words(f: &Features, w: &Weights, terms: Vec<u32>) -> (Features, Weights) {
    let mut weights = Vec::with_capacity(terms.len());
    for_each_shared(&f.terms, &terms, |i, _| weights.push(w.terms[i]));
    debug_assert_eq!(weights.len(), terms.len());
    let held = Features { terms, ..f.clone() };
    let weights = Weights {
        mass: weights.iter().sum(),
        terms: weights,
        title: w.title.clone(),
    };
    (held, weights)
}

/// A shingle set as verification reads it: the whole set, or, for a set of at least
/// the sample size, its smallest hashes — every hash of the set up to `tau`, a uniform
/// sample of it (see [`crate::config::Footprint`]).
#[derive(Debug, Clone, Copy)]
struct Read<'a> {
    set: &'a [u32],
    /// The largest hash read; `u32::MAX` for a whole set.
    tau: u32,
}

/// `set` (sorted, distinct) as read with sample size `cap`. A set of exactly `cap` hashes
/// reads as a sample too: an index holds the first `cap` hashes of a longer set, and
/// both must read alike.
fn read(set: &[u32], cap: usize) -> Read<'_> {
    if set.len() >= cap && cap > 0 {
        Read {
            set: &set[..cap],
            tau: set[cap - 1],
        }
    } else {
        Read { set, tau: u32::MAX }
    }
}

/// The parts of two read sets that estimate their similarity: both whole sets, or both
/// cut at the smaller largest hash of the samples, so that each part holds every hash of
/// its set in one range of hash values (bottom-k estimation).
fn comparable<'a>(a: Read<'a>, b: Read<'a>) -> (&'a [u32], &'a [u32]) {
    let tau = a.tau.min(b.tau);
    if tau == u32::MAX {
        return (a.set, b.set);
    }
    let cut = |s: &'a [u32]| &s[..s.partition_point(|&x| x <= tau)];
    (cut(a.set), cut(b.set))
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
        let pair = self.pair(a, b);
        let mut s = self.cheap_scores(&pair);
        s.content = self.content(&pair);
        s
    }

    fn pair<'p>(&self, a: DocView<'p>, b: DocView<'p>) -> Pair<'p> {
        Pair::new(a, b, self.config.footprint.sample().words)
    }

    /// Scores and relation of a pair, or `None` when it is not an edge. The same answer
    /// as [`Verifier::classify`] of [`Verifier::score`], but the rarity-weighted word
    /// overlap (the dearest score) is computed only for pairs that get that far.
    #[must_use]
    pub fn relate(&self, a: DocView<'_>, b: DocView<'_>) -> Option<(Relation, Scores)> {
        self.judge(a, b).related()
    }

    /// What verifying a pair finds: an edge ([`Verifier::relate`]'s answer), two
    /// different stories ([`Judgement::Apart`]), or neither. Decides exactly as
    /// [`Verifier::relate`]; it only tells a refusal by the headline gate from a pair with
    /// too little in common.
    #[must_use]
    pub fn judge(&self, a: DocView<'_>, b: DocView<'_>) -> Judgement {
        let pair = self.pair(a, b);
        let mut s = self.cheap_scores(&pair);
        let mut rule = LastRule(None);
        match self.decide(
            a.features,
            b.features,
            &mut s,
            || self.content(&pair),
            &mut rule,
        ) {
            Some(r) => Judgement::Related(r, s),
            None if rule.0 == Some(Rule::DifferentHeadlines) => Judgement::Apart,
            None => Judgement::Unrelated,
        }
    }

    /// Every score but `content` (left 0).
    fn cheap_scores(&self, pair: &Pair<'_>) -> Scores {
        let (a, b) = (pair.a, pair.b);
        let (fa, fb) = (a.features, b.features);
        let cap = self.config.footprint.sample();
        let (sa, sb) = comparable(
            read(&fa.shingles, cap.shingles),
            read(&fb.shingles, cap.shingles),
        );
        let inter = intersection(sa, sb) as f32;
        let (na, nb) = (sa.len() as f32, sb.len() as f32);
        let union = na + nb - inter;
        let jaccard = if union > 0.0 { inter / union } else { 0.0 };
        let smaller = na.min(nb);
        let containment = if smaller > 0.0 { inter / smaller } else { 0.0 };
        let title = (self.config.rewrites && !fa.title.is_empty() && !fb.title.is_empty())
            .then(|| {
                let [wa, wb] = pair.words();
                let x = title_coverage(fa, a.rarity, fb, wb, || pair.body_share(true));
                let y = title_coverage(fb, b.rarity, fa, wa, || pair.body_share(false));
                let (x, y) = match (x, y) {
                    (Some(x), Some(y)) => (x, y),
                    (Some(x), None) | (None, Some(x)) => (x, x),
                    (None, None) => return None,
                };
                Some((x.min(y), x.max(y)))
            })
            .flatten();
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
    /// rewrite tier); estimated on the comparable parts when either is a sample.
    fn content(&self, pair: &Pair<'_>) -> f32 {
        if !self.config.rewrites {
            return 0.0;
        }
        let o = pair.overlap();
        let (shared, union) = (o.shared, o.a + o.b - o.shared);
        if union > 0.0 { shared / union } else { 0.0 }
    }

    /// The relation of a scored pair, or `None` when it is not an edge.
    #[must_use]
    pub fn classify(&self, a: &Features, b: &Features, s: &Scores) -> Option<Relation> {
        self.decide(a, b, &mut s.clone(), || s.content, &mut ())
    }

    /// The decision on a pair with its reasons: every score, every test the decision
    /// applied (value, threshold, passed) and the rule that gave the verdict. The
    /// decision is made by the same code as [`Verifier::relate`], which records what it
    /// checks here, so an explanation cannot disagree with the relation a run gives.
    #[must_use]
    pub fn explain(&self, a: DocView<'_>, b: DocView<'_>) -> Explanation {
        let pair = self.pair(a, b);
        let mut s = self.cheap_scores(&pair);
        let mut trace = Recorder::default();
        let relation = self.decide(
            a.features,
            b.features,
            &mut s,
            || self.content(&pair),
            &mut trace,
        );
        // Shown even when the decision did not need it (the same value when it did).
        s.content = self.content(&pair);
        let (fa, fb) = (a.features, b.features);
        let headlines = (self.config.rewrites && !fa.title.is_empty() && !fb.title.is_empty())
            .then(|| {
                let [wa, wb] = pair.words();
                (
                    title_coverage(fa, a.rarity, fb, wb, || pair.body_share(true)),
                    title_coverage(fb, b.rarity, fa, wa, || pair.body_share(false)),
                )
            });
        Explanation {
            relation,
            rule: trace.rule.unwrap_or(Rule::RewriteScore),
            scores: s,
            headline_a_in_b: headlines.and_then(|h| h.0),
            headline_b_in_a: headlines.and_then(|h| h.1),
            figures: FigureCounts {
                a: fa.numbers.len(),
                b: fb.numbers.len(),
                shared: intersection(&fa.numbers, &fb.numbers),
            },
            checks: trace.checks,
        }
    }

    /// The relation of a pair whose scores are complete but for `content`, which
    /// `content()` gives when the decision needs it; it is then stored into `s`. Each
    /// test is reported to `t` as it is made (nothing, for `()`).
    fn decide<T: Trace>(
        &self,
        a: &Features,
        b: &Features,
        s: &mut Scores,
        content: impl FnOnce() -> f32,
        t: &mut T,
    ) -> Option<Relation> {
        let same_body = a.exact != 0 && a.exact == b.exact;
        if t.check(
            Gate::SameBody,
            || Some(f64::from(u8::from(same_body))),
            Some(1.0),
            same_body,
        ) {
            s.content = content();
            t.rule(Rule::ExactCopy);
            return Some(Relation::Exact);
        }
        let c = self.config;
        let jaccard = f64::from(s.jaccard);
        if !c.rewrites {
            // Classic MinHash deduplication: shingle Jaccard alone decides.
            let copy = t.at_least(Gate::Jaccard, jaccard, c.threshold);
            t.rule(Rule::CopiesOnly);
            return copy.then_some(Relation::NearDuplicate);
        }
        // Two headlines that do not cover each other name different stories, however
        // alike the (often formulaic) bodies are.
        if let Some((lo, hi)) = s.title {
            let covered = t.at_least(
                Gate::HeadlineBest,
                f64::from(hi),
                f64::from(TITLE_MAX_COVERAGE),
            ) && t.at_least(
                Gate::HeadlineWorst,
                f64::from(lo),
                f64::from(TITLE_MIN_COVERAGE),
            );
            if !covered {
                t.rule(Rule::DifferentHeadlines);
                return None;
            }
        }
        // Below a close copy, bodies alike can be one template filled for two subjects:
        // then the headlines must agree more.
        let title_hi = s.title.map_or(1.0, |t| t.1);
        let headlines_agree = t.check(
            Gate::HeadlinesAgree,
            || s.title.map(|t| f64::from(t.1)),
            Some(f64::from(LOOSE_TITLE_COVERAGE)),
            title_hi >= LOOSE_TITLE_COVERAGE,
        );
        // A copy or a rewrite reports the story's figures; a template filled for
        // another item or another day (a price table, weekly output) carries others.
        let fewer = a.numbers.len().min(b.numbers.len());
        let numbers_agree = if fewer < MIN_NUMBERS {
            // Too few figures to compare: the test does not apply.
            t.check(
                Gate::Figures,
                || Some(intersection(&a.numbers, &b.numbers) as f64),
                None,
                true,
            )
        } else {
            let shared = intersection(&a.numbers, &b.numbers) as f32;
            let needed = NUMBER_AGREEMENT * fewer as f32;
            t.at_least(Gate::Figures, f64::from(shared), f64::from(needed))
        };
        let close_copy = t.at_least(Gate::CloseCopy, jaccard, f64::from(CLOSE_COPY_JACCARD));
        let containment = f64::from(s.containment);
        // The shingles containment was measured on: with a sample, the parts of both
        // sets in the range of hashes compared, which can be few for a short text
        // beside a long one.
        let cap = c.footprint.sample().shingles;
        let (sa, sb) = comparable(read(&a.shingles, cap), read(&b.shingles, cap));
        let shorter = sa.len().min(sb.len());
        let contained = t.at_least(Gate::Containment, containment, c.containment)
            && t.at_least(
                Gate::ExcerptLength,
                shorter as f64,
                MIN_CONTAINED_SHINGLES as f64,
            );
        // An excerpt is a loose copy: half of a text in common is also what one template
        // filled days or weeks apart shares, so an excerpt, like a rewrite, must fall in
        // the rewrite window. Copies sharing most of their phrasing need no window.
        let mut window = None;
        let copy = t.at_least(Gate::Jaccard, jaccard, c.threshold)
            || (contained && self.in_window(s, t, &mut window));
        if copy && (close_copy || (headlines_agree && numbers_agree)) {
            s.content = content();
            t.rule(if close_copy {
                Rule::CloseCopy
            } else {
                Rule::Copy
            });
            return Some(Relation::NearDuplicate);
        }
        if !headlines_agree {
            t.rule(Rule::HeadlinesTooLoose);
            return None;
        }
        if !self.in_window(s, t, &mut window) {
            t.rule(Rule::OutsideWindow);
            return None;
        }
        if !numbers_agree {
            t.rule(Rule::FiguresDiffer);
            return None;
        }
        s.content = content();
        let score = f64::from(s.rewrite_score());
        let rewrite = t.at_least(Gate::RewriteScore, score, c.rewrite_threshold);
        t.rule(Rule::RewriteScore);
        rewrite.then_some(Relation::Rewrite)
    }

    /// Whether the pair's publication dates fall within the rewrite window (undated
    /// pairs do). Tested once per decision: `done` keeps the outcome.
    fn in_window<T: Trace>(&self, s: &Scores, t: &mut T, done: &mut Option<bool>) -> bool {
        *done.get_or_insert_with(|| {
            let window = self.config.rewrite_window_days;
            t.check(
                Gate::DateWindow,
                || s.days_apart.map(f64::from),
                (window > 0).then_some(f64::from(window)),
                window == 0 || s.days_apart.is_none_or(|d| d <= window as f32),
            )
        })
    }
}

/// A test of the decision on a pair (see [`Verifier::explain`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gate {
    /// The same normalised body (value 1 or 0; needs 1): an exact copy.
    SameBody,
    /// Shingle Jaccard against `Config::threshold`: a copy.
    Jaccard,
    /// Shingle Jaccard against the close-copy level, from which a reworded headline or
    /// other figures do not matter.
    CloseCopy,
    /// Containment against `Config::containment`: an excerpt or a truncated copy.
    Containment,
    /// Shingles of the shorter text: containment means an excerpt only from this many.
    ExcerptLength,
    /// The better headline coverage: below it the headlines name different stories.
    HeadlineBest,
    /// The worse headline coverage: below it the headlines name different stories.
    HeadlineWorst,
    /// The better headline coverage against the level at which headlines agree, which
    /// rewrites and copies below a close copy need (value absent without two headlines).
    HeadlinesAgree,
    /// Figures shared (value) against those needed, half of the smaller set; no
    /// threshold when either text has fewer than five figures (not compared).
    Figures,
    /// Days between the publication dates against `Config::rewrite_window_days`, for
    /// rewrites and excerpts (value absent when either is undated; no threshold when the
    /// window is off).
    DateWindow,
    /// Rewrite score (weighted word Jaccard plus shingle Jaccard) against
    /// `Config::rewrite_threshold`.
    RewriteScore,
}

/// The rule that gave the verdict on a pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// The same normalised body: exact copies.
    ExactCopy,
    /// Copies only (rewrites off): shingle Jaccard alone decides.
    CopiesOnly,
    /// Headlines that do not cover each other: different stories.
    DifferentHeadlines,
    /// A close copy: near-duplicates whatever the headlines and figures.
    CloseCopy,
    /// A copy or an excerpt whose headlines and figures agree: near-duplicates.
    Copy,
    /// Not a copy, and headlines that do not agree enough for a rewrite.
    HeadlinesTooLoose,
    /// Not a copy, and dated too far apart for a rewrite or an excerpt.
    OutsideWindow,
    /// Not a copy, and figures that differ: another item or another day.
    FiguresDiffer,
    /// The rewrite score decides: a rewrite when it reaches the threshold.
    RewriteScore,
}

/// One test of a decision: what was measured, what it was held to, and the outcome.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Check {
    /// The test.
    pub gate: Gate,
    /// The value measured, when there is one.
    pub value: Option<f64>,
    /// What it was held to, when the test applies: the value passes at or above it,
    /// except for [`Gate::DateWindow`], which passes at or below.
    pub threshold: Option<f64>,
    /// Whether the test passed.
    pub passed: bool,
}

/// How many figures (distinct numbers) each text has and how many they share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct FigureCounts {
    /// Figures of the first text.
    pub a: usize,
    /// Figures of the second text.
    pub b: usize,
    /// Figures in both.
    pub shared: usize,
}

/// A decision with its reasons (see [`Verifier::explain`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Explanation {
    /// The relation, or `None` when the pair is not an edge.
    pub relation: Option<Relation>,
    /// The rule that gave it.
    pub rule: Rule,
    /// Every score, `content` included even when the decision did not need it.
    pub scores: Scores,
    /// Share of the first headline's rarity found in the second document (both need a
    /// headline, and the rewrite tier).
    pub headline_a_in_b: Option<f32>,
    /// Share of the second headline's rarity found in the first document.
    pub headline_b_in_a: Option<f32>,
    /// The figures of each text and those shared.
    pub figures: FigureCounts,
    /// The tests the decision made, in the order it made them.
    pub checks: Vec<Check>,
}

impl Explanation {
    /// The check of `gate`, when the decision made it.
    #[must_use]
    pub fn check(&self, gate: Gate) -> Option<&Check> {
        self.checks.iter().find(|c| c.gate == gate)
    }
}

/// Receives the tests of a decision as they are made (see [`Verifier::explain`]).
trait Trace {
    /// A test of `gate`: its value (computed only when wanted), threshold and outcome;
    /// returns `passed`. Not recorded unless a trace says otherwise.
    #[inline]
    fn check(
        &mut self,
        _gate: Gate,
        _value: impl FnOnce() -> Option<f64>,
        _threshold: Option<f64>,
        passed: bool,
    ) -> bool {
        passed
    }
    /// The rule that gave the verdict.
    fn rule(&mut self, rule: Rule);
    /// A test that passes at or above its threshold; returns whether it passed.
    #[inline]
    fn at_least(&mut self, gate: Gate, value: f64, threshold: f64) -> bool {
        self.check(gate, || Some(value), Some(threshold), value >= threshold)
    }
}

/// No trace: the decision as runs make it.
impl Trace for () {
    #[inline]
    fn rule(&mut self, _: Rule) {}
}

/// Records the rule only (what [`Verifier::judge`] needs: no allocation).
struct LastRule(Option<Rule>);

impl Trace for LastRule {
    #[inline]
    fn rule(&mut self, rule: Rule) {
        self.0 = Some(rule);
    }
}

/// Records the tests and the rule.
#[derive(Default)]
struct Recorder {
    checks: Vec<Check>,
    rule: Option<Rule>,
}

impl Trace for Recorder {
    fn check(
        &mut self,
        gate: Gate,
        value: impl FnOnce() -> Option<f64>,
        threshold: Option<f64>,
        passed: bool,
    ) -> bool {
        self.checks.push(Check {
            gate,
            value: value(),
            threshold,
            passed,
        });
        passed
    }
    fn rule(&mut self, rule: Rule) {
        self.rule = Some(rule);
    }
}

#[cfg(test)]
mod tests {
    use super::{
        DocView, Judgement, Rarity, Relation, Rule, Verifier, Weights, held_words, intersection,
        title_coverage,
    };
    use crate::config::{Config, Footprint};
    use crate::features::{Features, Featurizer, Scratch};
    use crate::weights::TermStats;

    /// Two documents of `n` and `m` distinct shingles and words, sharing `shared` of
    /// each (distinct random hashes), and their exact shingle Jaccard.
    fn pair(n: usize, m: usize, shared: usize, seed: u64) -> (Features, Features, f64) {
        let mut x = seed;
        let mut next = || {
            x = crate::sketch::minhash::mix64(x);
            x as u32
        };
        let mut pool: Vec<u32> = (0..n + m - shared).map(|_| next()).collect();
        pool.sort_unstable();
        pool.dedup();
        // Shuffle so that the shared part is spread over the hash range.
        for i in (1..pool.len()).rev() {
            pool.swap(i, next() as usize % (i + 1));
        }
        let make = |v: &[u32]| {
            let mut v = v.to_vec();
            v.sort_unstable();
            Features {
                exact: 0,
                words: v.len() as u32,
                shingles: v.clone(),
                terms: v,
                ..Features::default()
            }
        };
        let k = pool.len();
        let (a, b) = (
            make(&pool[..n]),
            make(&pool[n - shared..k.min(n - shared + m)]),
        );
        let inter = intersection(&a.shingles, &b.shingles) as f64;
        let union = a.shingles.len() as f64 + b.shingles.len() as f64 - inter;
        (a, b, inter / union)
    }

    fn view<'a>(f: &'a Features, stats: &'a TermStats) -> DocView<'a> {
        DocView {
            features: f,
            rarity: Rarity::Stats(stats),
            timestamp: None,
        }
    }

    /// A set read as a sample scores alike whether the whole set or only its sample is
    /// given: the batch run verifies whole features, an index the sample it holds.
    #[test]
    fn a_sampled_set_scores_alike_whole_or_as_held() {
        let stats = TermStats::default();
        for footprint in [Footprint::Full, Footprint::Compact] {
            let config = Config::builder().footprint(footprint).build().unwrap();
            let cap = footprint.sample();
            let v = Verifier::new(&config);
            for (n, m, shared, seed) in [(3000, 2000, 1500, 1), (100, 2500, 90, 2), (40, 30, 20, 3)]
            {
                let (a, b, _) = pair(n, m, shared, seed);
                let mut held = b.clone();
                held.shingles.truncate(cap.shingles);
                held.terms = held_words(&b, Rarity::Stats(&stats), cap.words);
                let whole = v.score(view(&a, &stats), view(&b, &stats));
                let sampled = v.score(view(&a, &stats), view(&held, &stats));
                assert_eq!(whole, sampled, "{footprint} {n} {m}");
            }
        }
    }

    /// Oracle: the sampled estimates stay near the exact Jaccard similarity and
    /// containment, and are exact below the sample size.
    #[test]
    fn sampled_similarities_estimate_the_exact_ones() {
        let stats = TermStats::default();
        for footprint in [Footprint::Full, Footprint::Compact] {
            let config = Config::builder().footprint(footprint).build().unwrap();
            let cap = footprint.sample().shingles;
            // Wider for the small sample: the standard error of a bottom-k estimate is
            // about sqrt(J (1 - J) / k).
            let tolerance = if cap >= 1000 { 0.05 } else { 0.2 };
            let v = Verifier::new(&config);
            for seed in 0..20u64 {
                let n = 200 + (seed as usize * 377) % 4000;
                let m = 200 + (seed as usize * 911) % 4000;
                let shared = (n.min(m) * (seed as usize % 10)) / 10;
                let (a, b, exact) = pair(n, m, shared, seed + 100);
                let s = v.score(view(&a, &stats), view(&b, &stats));
                let inter = intersection(&a.shingles, &b.shingles) as f64;
                let containment = inter / a.shingles.len().min(b.shingles.len()) as f64;
                if n.max(m) < cap {
                    assert!((f64::from(s.jaccard) - exact).abs() < 1e-6);
                }
                assert!(
                    (f64::from(s.jaccard) - exact).abs() < tolerance,
                    "{footprint} seed {seed}: {} vs {exact}",
                    s.jaccard
                );
                assert!(
                    (f64::from(s.containment) - containment).abs() < 2.0 * tolerance,
                    "{footprint} seed {seed}: {} vs {containment}",
                    s.containment
                );
                // Equal word weights: the weighted word Jaccard is the plain one.
                assert!((f64::from(s.content) - exact).abs() < tolerance);
            }
        }
    }

    /// Oracle: a sample is the `cap` words of smallest (key, hash), sorted, as a sort of
    /// every word gives, words of equal key (a shared key draw and weight) included.
    #[test]
    fn a_sample_is_the_smallest_keys() {
        // Words whose key draws collide, so that equal keys meet at the sample's edge.
        let mut by_draw = std::collections::HashMap::new();
        let mut equal = Vec::new();
        for i in 0..200_000u64 {
            let t = (crate::sketch::minhash::mix64(i) >> 40) as u32;
            let draw = super::word_key(t, 1.0).to_bits();
            if let Some(&u) = by_draw.get(&draw).filter(|&&u| u != t) {
                equal.extend([u, t]);
            }
            by_draw.insert(draw, t);
        }
        assert!(equal.len() >= 8, "{}", equal.len());
        let mut seed = 17u64;
        let mut next = move |n: u64| {
            seed = crate::sketch::minhash::mix64(seed);
            seed % n
        };
        for round in 0..200 {
            let n = 2 + next(300) as usize;
            let cap = 1 + next(n as u64) as usize;
            let mut terms: Vec<u32> = (0..n).map(|_| next(1 << 24) as u32).collect();
            terms.extend(&equal[..2 * (round % 4)]);
            terms.sort_unstable();
            terms.dedup();
            let f = Features {
                terms,
                ..Features::default()
            };
            // Few distinct weights, so that colliding draws give equal keys.
            let w = Weights {
                terms: f.terms.iter().map(|&t| 1.0 + (t % 3) as f32).collect(),
                mass: 0.0,
                title: Vec::new(),
            };
            let mut all: Vec<(f32, u32)> = f
                .terms
                .iter()
                .zip(&w.terms)
                .map(|(&t, &x)| (super::word_key(t, x), t))
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let mut want: Vec<u32> = all.iter().take(cap).map(|x| x.1).collect();
            want.sort_unstable();
            assert_eq!(
                held_words(&f, Rarity::Weights(&w), cap),
                want,
                "round {round}"
            );
        }
    }

    /// The key's logarithm stays within 2e-5 of the library's over the keys' range.
    #[test]
    fn the_keys_logarithm_is_close() {
        let mut worst = 0.0f64;
        for x in (0..1u32 << 24).step_by(997).chain([0, 1, 2, (1 << 24) - 1]) {
            let y = x as f32 + 0.5;
            let error = (f64::from(super::ln(y)) - f64::from(y).ln()).abs();
            worst = worst.max(error);
        }
        assert!(worst < 2e-5, "{worst}");
    }

    /// Word weights that vary as idf does (1 to 13), a function of the word alone.
    fn varied(f: &Features) -> Weights {
        let terms: Vec<f32> = f.terms.iter().map(|&t| 1.0 + (t % 13) as f32).collect();
        Weights {
            mass: terms.iter().sum(),
            terms,
            title: Vec::new(),
        }
    }

    /// Oracle: with word weights that vary, a weighted word sample estimates the
    /// rarity-weighted Jaccard similarity of the whole sets (within the sampling error,
    /// and without bias over many pairs), reads alike whole or as held, and keeps more
    /// of the heavy words than a uniform sample would.
    #[test]
    fn weighted_word_samples_estimate_the_weighted_jaccard() {
        for footprint in [Footprint::Full, Footprint::Compact] {
            let config = Config::builder().footprint(footprint).build().unwrap();
            let cap = footprint.sample().words;
            let tolerance = if cap >= 500 { 0.06 } else { 0.2 };
            let v = Verifier::new(&config);
            let (mut bias, mut heavy_held, mut heavy_all) = (0.0f64, 0.0f64, 0.0f64);
            let rounds = 40u64;
            for seed in 0..rounds {
                let n = 100 + (seed as usize * 377) % 2000;
                let m = 100 + (seed as usize * 911) % 2000;
                let shared = (n.min(m) * (seed as usize % 10)) / 10;
                let (a, b, _) = pair(n, m, shared, seed + 300);
                let (wa, wb) = (varied(&a), varied(&b));
                let weight = |t: u32| f64::from(1 + t % 13);
                let inter: f64 = a
                    .terms
                    .iter()
                    .filter(|t| b.terms.binary_search(t).is_ok())
                    .map(|&t| weight(t))
                    .sum();
                let exact = inter / (f64::from(wa.mass) + f64::from(wb.mass) - inter);
                let viewed = |f, w| DocView {
                    features: f,
                    rarity: Rarity::Weights(w),
                    timestamp: None,
                };
                let s = v.score(viewed(&a, &wa), viewed(&b, &wb));
                let error = f64::from(s.content) - exact;
                assert!(error.abs() < tolerance, "{footprint} seed {seed}: {error}");
                if n.max(m) < cap {
                    assert!(error.abs() < 1e-5);
                }
                bias += error / rounds as f64;
                // As an index holds `b`: its sample alone, with its own weights.
                let mut held = b.clone();
                held.terms = held_words(&b, Rarity::Weights(&wb), cap);
                let wh = varied(&held);
                let sampled = v.score(viewed(&a, &wa), viewed(&held, &wh));
                assert_eq!(s, sampled, "{footprint} seed {seed}");
                if b.terms.len() > cap {
                    let heavy = |ts: &[u32]| {
                        ts.iter().filter(|&&t| t % 13 >= 9).count() as f64 / ts.len() as f64
                    };
                    heavy_held += heavy(&held.terms);
                    heavy_all += heavy(&b.terms);
                }
            }
            assert!(bias.abs() < tolerance / 4.0, "{footprint}: bias {bias}");
            // Words of weight 10 to 13 are 4 in 13 of the whole sets.
            assert!(heavy_held > 1.3 * heavy_all, "{heavy_held} vs {heavy_all}");
        }
    }

    /// Oracle: a headline's coverage in a body read as a sample estimates its coverage in
    /// the whole body without bias when the other headline holds some of its words (which
    /// are then known to be found, whatever the sample says), where the headline's other
    /// words are found in the body at the rate of its body's words.
    #[test]
    fn headline_coverage_against_a_sample_is_not_biased_by_the_other_headline() {
        let config = Config::builder()
            .footprint(Footprint::Compact)
            .build()
            .unwrap();
        let v = Verifier::new(&config);
        let cap = Footprint::Compact.sample().words;
        let rounds = 300u64;
        let (mut bias, mut sampled) = (0.0f64, 0);
        for seed in 0..rounds {
            let n = 150 + (seed as usize * 377) % 600;
            let m = 30 + (seed as usize * 911) % 700;
            let shared = (n.min(m) * (1 + seed as usize % 9)) / 10;
            let (mut a, mut b, _) = pair(n, m, shared, seed + 900);
            // `a`'s headline: 8 of its body words; `b`'s: 2 of those, whether in `b`'s
            // body or not, and 2 of its own.
            let mut x = seed + 1;
            let mut pick = |set: &[u32]| {
                x = crate::sketch::minhash::mix64(x);
                set[x as usize % set.len()]
            };
            let mut title: Vec<u32> = (0..8).map(|_| pick(&a.terms)).collect();
            title.sort_unstable();
            title.dedup();
            let mut other: Vec<u32> = (0..2).map(|_| pick(&title)).collect();
            other.extend((0..2).map(|_| pick(&b.terms)));
            other.sort_unstable();
            other.dedup();
            (a.title, b.title) = (title, other);
            let weigh = |f: &Features| {
                let mut w = varied(f);
                w.title = f.title.iter().map(|&t| 1.0 + (t % 13) as f32).collect();
                w
            };
            let (wa, wb) = (weigh(&a), weigh(&b));
            let found =
                |t: &u32| b.title.binary_search(t).is_ok() || b.terms.binary_search(t).is_ok();
            let exact = a
                .title
                .iter()
                .zip(&wa.title)
                .filter(|(t, _)| found(t))
                .map(|(_, &w)| f64::from(w))
                .sum::<f64>()
                / wa.title.iter().map(|&w| f64::from(w)).sum::<f64>();
            let view = |f, w| DocView {
                features: f,
                rarity: Rarity::Weights(w),
                timestamp: None,
            };
            let p = v.pair(view(&a, &wa), view(&b, &wb));
            let estimate = title_coverage(&a, Rarity::Weights(&wa), &b, &p.words()[1], || {
                p.body_share(true)
            })
            .unwrap();
            let error = f64::from(estimate) - exact;
            // A body below the sample size is read whole: the coverage is exact.
            if m < cap {
                assert!(error.abs() < 1e-5, "seed {seed}: {error}");
            } else {
                sampled += 1;
            }
            bias += error / rounds as f64;
        }
        assert!(sampled > rounds / 2);
        assert!(bias.abs() < 0.02, "bias {bias}");
    }

    /// An excerpt (half of the shorter text in the longer, shingle Jaccard below the
    /// copy threshold) is a copy only within the rewrite window; a copy by Jaccard is one
    /// at any distance.
    #[test]
    fn an_excerpt_is_a_copy_only_within_the_rewrite_window() {
        let c = Config::default();
        let passage = "the offer and withdrawal rights are to expire april three unless \
                       extended and the bid is to be followed by a merger at the same price \
                       agreed by both boards last month";
        let long = format!(
            "{passage} shares of the target rose sharply on the news while analysts said \
             the bidder could raise its offer if a rival emerged before the deadline and \
             regulators were expected to review the deal in the coming weeks"
        );
        let short = format!("{passage} the company said in a brief statement on monday");
        let feat = |text: &str| {
            let mut sig = vec![0u32; c.signature_len()];
            Featurizer::new(&c).featurize_text(text, None, &mut Scratch::default(), &mut sig)
        };
        let (fl, fs) = (feat(&long), feat(&short));
        let mut stats = TermStats::default();
        stats.add(&fl);
        stats.add(&fs);
        let v = Verifier::new(&c);
        let day = 86_400;
        let relate = |ta: Option<i64>, tb: Option<i64>, a: &_, b: &_| {
            let view = |f, timestamp| DocView {
                features: f,
                rarity: Rarity::Stats(&stats),
                timestamp,
            };
            (
                v.relate(view(a, ta), view(b, tb)).map(|r| r.0),
                v.explain(view(a, ta), view(b, tb)).rule,
            )
        };
        let s = v.score(
            DocView {
                features: &fl,
                rarity: Rarity::Stats(&stats),
                timestamp: None,
            },
            DocView {
                features: &fs,
                rarity: Rarity::Stats(&stats),
                timestamp: None,
            },
        );
        assert!(f64::from(s.containment) >= c.containment && f64::from(s.jaccard) < c.threshold);
        let copy = (Some(Relation::NearDuplicate), Rule::Copy);
        assert_eq!(relate(None, None, &fl, &fs), copy);
        assert_eq!(relate(Some(0), Some(2 * day), &fl, &fs), copy);
        assert_eq!(
            relate(Some(0), Some(30 * day), &fl, &fs),
            (None, Rule::OutsideWindow)
        );
        // A copy by shingle Jaccard needs no window.
        let edited = feat(&long.replace("coming weeks", "next few weeks"));
        assert_eq!(
            relate(Some(0), Some(30 * day), &fl, &edited).0,
            Some(Relation::NearDuplicate)
        );
    }

    /// Only the headline gate's refusal tells two different stories; every other
    /// refusal is "not an edge", and `judge` decides as `relate` does.
    #[test]
    fn judge_tells_different_headlines_from_too_little_in_common() {
        let c = Config::default();
        let body = "the central bank raised its main lending rate by half a point on \
                    thursday citing inflation that has stayed above target for a year and \
                    warned that further increases could follow if prices keep rising";
        let feat = |text: &str, title: &str| {
            let mut sig = vec![0u32; c.signature_len()];
            Featurizer::new(&c).featurize_text(text, Some(title), &mut Scratch::default(), &mut sig)
        };
        let rate = feat(body, "central bank raises lending rate");
        let other = feat(
            &format!("{body} goalkeeper penalty shootout"),
            "goalkeeper saves penalty in shootout",
        );
        let unrelated = feat(
            "the striker scored twice in the second half as the home side won the derby \
             in front of a record crowd",
            "central bank raises lending rate",
        );
        let same = feat(
            &body.replace("thursday", "friday"),
            "central bank lifts lending rate",
        );
        let mut stats = TermStats::default();
        for f in [&rate, &other, &unrelated, &same] {
            stats.add(f);
        }
        let v = Verifier::new(&c);
        let view = |f| DocView {
            features: f,
            rarity: Rarity::Stats(&stats),
            timestamp: None,
        };
        let judge = |a, b| v.judge(view(a), view(b));
        assert_eq!(
            v.explain(view(&rate), view(&other)).rule,
            Rule::DifferentHeadlines
        );
        assert_eq!(judge(&rate, &other), Judgement::Apart);
        assert_eq!(v.relate(view(&rate), view(&other)), None);
        assert_ne!(
            v.explain(view(&rate), view(&unrelated)).rule,
            Rule::DifferentHeadlines
        );
        assert_eq!(judge(&rate, &unrelated), Judgement::Unrelated);
        let related = v.relate(view(&rate), view(&same));
        assert!(related.is_some());
        assert_eq!(judge(&rate, &same).related(), related);
    }

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
