//! Grouping: verified edges in, syndication groups out. One rule for the batch run, the
//! nightly job and the [`Index`](crate::Index), and a function of the *set* of documents:
//! input order and thread count never enter it.
//!
//! **The rule.**
//! 1. Copy edges (`exact`, `near_duplicate`) join documents into *copy components*
//!    (connected components): a copy of a copy is still the story.
//! 2. Every document has a [`Rank`]: earliest publication first (undated last), then the
//!    most related to the others (the sum of its edges' similarities), then a content
//!    hash, then the id. A component's best-ranked member is its candidate canonical.
//! 3. Components are taken in the order of their best members (pivot clustering, after
//!    `KwikCluster`, Ailon, Charikar & Newman 2008). The first component not yet in a
//!    group founds one, and takes every component not yet in a group that has a rewrite
//!    edge to it, best-ranked first, except one refused as a different story by a
//!    component it took already (or by itself).
//!
//! **Refusals.** A pair whose headlines do not cover each other was refused as two
//! different stories ([`Judgement::Apart`](crate::verify::Judgement::Apart)), not merely
//! found too unlike: grouping takes such pairs too ([`Apart`]), between their copy
//! components. A refusal only keeps a component out of a group it would join by a rewrite
//! edge; copy edges join whatever is refused (a copy is the story, and a refusal inside a
//! copy component is overruled by the copies). Only verified pairs can be refused, so two
//! versions of one story that were never compared (a source's copies rewritten too much
//! to be verified against each other) are never kept apart.
//!
//! **What a group guarantees.** Its canonical member is its best-ranked member, and every
//! member either is in the canonical's copy component, or is in a copy component joined to
//! the canonical's by a verified rewrite edge. A path from any member to the canonical
//! therefore crosses at most one rewrite edge: rewrites never chain (a rewrite of a
//! rewrite of a rewrite does not pull a third story in), only copies do. No refused pair
//! lies between two copy components of one group: a refused pair in a group lies inside
//! one copy component. Two groups' founding components are joined by a rewrite edge only
//! when the later-ranked one was refused by a component of the earlier one's group.
//! Without refusals the groups are those of the rule without step 3's exception. The
//! property tests in this module check all of this on random graphs, and that
//! relabelling the documents changes nothing.

use std::cmp::Ordering;

use crate::index::keyless::Keyless;
use crate::verify::{Edge, Relation};
use crate::weights::{KeyMap, KeySet};

/// A document or group id, shared between a document and the group it founded.
/// `triomphe`'s `Arc` counts strong references only: 8 bytes of counts beside the text
/// rather than `std`'s 16, which puts an id of up to 16 bytes in a 32-byte allocation
/// rather than a 48-byte one (BENCHMARKS.md, "Keyword links where listed, ids with one
/// count").
pub(crate) type Id = triomphe::Arc<str>;

/// What decides which member of a group is canonical, in this order: earliest
/// publication (undated documents after dated ones), then the most related to the others
/// ([`Rank::related`], larger first), then the content hash, then the id. None of it
/// depends on the position of a document in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rank<'a> {
    /// Publication time, if known.
    pub timestamp: Option<i64>,
    /// Sum of the document's edges' similarities, quantised by [`quantise`] so that the
    /// sum is exact in any order.
    pub related: u64,
    /// A hash of the document's content (its normalised body).
    pub hash: u64,
    /// The document id.
    pub id: &'a str,
}

impl Ord for Rank<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let time = match (self.timestamp, other.timestamp) {
            (Some(a), Some(b)) => a.cmp(&b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        time.then(other.related.cmp(&self.related))
            .then(self.hash.cmp(&other.hash))
            .then(self.id.cmp(other.id))
    }
}

impl PartialOrd for Rank<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// A similarity in `[0, 1]` as an integer in `[0, 65536]`: sums of these are the same in
/// any order, unlike sums of floats.
#[must_use]
pub fn quantise(similarity: f32) -> u64 {
    (f64::from(similarity.clamp(0.0, 1.0)) * 65_536.0).round() as u64
}

/// Each document's relatedness ([`Rank::related`]) over `n` documents: the quantised
/// similarities of its edges, summed.
#[must_use]
pub fn relatedness(n: usize, edges: &[Edge]) -> Vec<u64> {
    let mut related = vec![0u64; n];
    for e in edges {
        let q = quantise(e.similarity());
        related[e.a as usize] += q;
        related[e.b as usize] += q;
    }
    related
}

/// Whether an edge joins copy components (exact and near-duplicate copies do; rewrites
/// are clustered around them).
#[must_use]
pub fn is_copy(relation: Relation) -> bool {
    relation != Relation::Rewrite
}

/// The groups of documents `0..n`: each document's group, and each group's canonical
/// member. Groups are numbered in the order of their canonical members' ranks; every
/// document is in a group, singletons included.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Partition {
    /// Group of each document.
    pub group_of: Vec<u32>,
    /// Canonical member of each group.
    pub canonical: Vec<u32>,
    /// Copy component of each document (documents joined by copy edges share one); a
    /// member outside its canonical's component joined the group by a rewrite edge.
    pub component: Vec<u32>,
}

impl Partition {
    /// Members of each group, ascending.
    #[must_use]
    pub fn members(&self) -> Vec<Vec<u32>> {
        let mut members = vec![Vec::new(); self.canonical.len()];
        for (d, &g) in self.group_of.iter().enumerate() {
            members[g as usize].push(d as u32);
        }
        members
    }

    /// Members of each group, best-ranked first by `rank` (what [`Online::names`] reads).
    #[must_use]
    pub fn ranked_members<'k>(&self, rank: impl Fn(u32) -> Rank<'k>) -> Vec<Vec<u32>> {
        let mut members = self.members();
        for ms in &mut members {
            ms.sort_by_key(|&m| rank(m));
        }
        members
    }

    /// How a member is tied to its group's canonical member when the two share no
    /// verified edge: a copy (through copies) inside the canonical's copy component,
    /// else a rewrite.
    #[must_use]
    pub fn tie(&self, doc: u32) -> Relation {
        let canon = self.canonical[self.group_of[doc as usize] as usize];
        if self.component[doc as usize] == self.component[canon as usize] {
            Relation::NearDuplicate
        } else {
            Relation::Rewrite
        }
    }
}

/// Union-find with path halving and union by size.
pub(crate) struct Components {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl Components {
    pub(crate) fn new(n: usize) -> Self {
        Components {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }

    pub(crate) fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let up = self.parent[self.parent[x as usize] as usize];
            self.parent[x as usize] = up;
            x = up;
        }
        x
    }

    pub(crate) fn union(&mut self, a: u32, b: u32) {
        let (mut a, mut b) = (self.find(a), self.find(b));
        if a == b {
            return;
        }
        if self.size[a as usize] < self.size[b as usize] {
            std::mem::swap(&mut a, &mut b);
        }
        self.parent[b as usize] = a;
        self.size[a as usize] += self.size[b as usize];
    }
}

/// A verified edge as grouping sees it: two documents and their relation.
pub type Link = (u32, u32, Relation);

/// The [`Link`]s of verified edges.
#[must_use]
pub fn links(edges: &[Edge]) -> Vec<Link> {
    edges.iter().map(|e| (e.a, e.b, e.relation)).collect()
}

/// A pair of documents refused as different stories ([`Judgement::Apart`]): grouping
/// keeps their copy components apart where only rewrites would join them.
///
/// [`Judgement::Apart`]: crate::verify::Judgement::Apart
pub type Apart = (u32, u32);

/// Sorted unique pairs `(x, y)` and `(y, x)` of `pairs` (self-pairs dropped), with the
/// start of each `x`'s run: a compressed adjacency list over `0..n`.
fn adjacency(n: usize, pairs: impl Iterator<Item = (u32, u32)>) -> (Vec<(u32, u32)>, Vec<usize>) {
    let mut links: Vec<(u32, u32)> = pairs
        .filter(|(x, y)| x != y)
        .flat_map(|(x, y)| [(x, y), (y, x)])
        .collect();
    links.sort_unstable();
    links.dedup();
    let mut start = vec![0usize; n + 1];
    for &(x, _) in &links {
        start[x as usize + 1] += 1;
    }
    for c in 0..n {
        start[c + 1] += start[c];
    }
    (links, start)
}

/// Groups documents `0..n` from their verified edges and the pairs refused as different
/// stories (`apart`), both in any order and each end below `n`, by the rule in the module
/// docs. `rank(d)` is document `d`'s [`Rank`].
///
/// # Panics
/// When an edge or a refused pair names a document `>= n`.
#[must_use]
pub fn cluster<'k>(
    n: usize,
    edges: &[Link],
    apart: &[Apart],
    rank: impl Fn(u32) -> Rank<'k>,
) -> Partition {
    // 1. Copy components.
    let mut uf = Components::new(n);
    for &(a, b, _) in edges.iter().filter(|e| is_copy(e.2)) {
        uf.union(a, b);
    }
    let mut component = vec![u32::MAX; n];
    let mut best: Vec<u32> = Vec::new();
    for d in 0..n as u32 {
        let root = uf.find(d) as usize;
        if component[root] == u32::MAX {
            component[root] = best.len() as u32;
            best.push(root as u32);
        }
        let c = component[root];
        component[d as usize] = c;
        let b = &mut best[c as usize];
        if rank(d) < rank(*b) {
            *b = d;
        }
    }
    let comps = best.len();
    let comp_rank = |c: u32| rank(best[c as usize]);

    // 2. Rewrite adjacency between components, and refusals between components (a
    // refusal inside one copy component is overruled by its copies).
    let (mut links, start) = adjacency(
        comps,
        edges
            .iter()
            .filter(|e| !is_copy(e.2))
            .map(|&(a, b, _)| (component[a as usize], component[b as usize])),
    );
    // Each pivot takes its neighbours best-ranked first: a refusal then keeps out the
    // worse-ranked of two neighbours, whatever the numbering.
    if !apart.is_empty() {
        for c in 0..comps {
            links[start[c]..start[c + 1]].sort_by_key(|&(_, y)| comp_rank(y));
        }
    }
    let (refused, refused_at) = adjacency(
        comps,
        apart
            .iter()
            .map(|&(a, b)| (component[a as usize], component[b as usize])),
    );

    // 3. Pivots in rank order; each takes its unassigned neighbours in rank order, but
    // none refused as a different story by a component it took already.
    let mut order: Vec<u32> = (0..comps as u32).collect();
    order.sort_by_key(|&x| comp_rank(x));
    let mut group_of_comp = vec![u32::MAX; comps];
    let mut canonical = Vec::new();
    for &c in &order {
        if group_of_comp[c as usize] != u32::MAX {
            continue;
        }
        let g = canonical.len() as u32;
        canonical.push(best[c as usize]);
        group_of_comp[c as usize] = g;
        for &(_, nb) in &links[start[c as usize]..start[c as usize + 1]] {
            let nb = nb as usize;
            let kept_apart = refused[refused_at[nb]..refused_at[nb + 1]]
                .iter()
                .any(|&(_, r)| group_of_comp[r as usize] == g);
            if group_of_comp[nb] == u32::MAX && !kept_apart {
                group_of_comp[nb] = g;
            }
        }
    }
    let group_of = component
        .iter()
        .map(|&c| group_of_comp[c as usize])
        .collect();
    Partition {
        group_of,
        canonical,
        component,
    }
}

/// A verified edge as a document held by an index keeps it, or a pair refused as two
/// different stories ([`Apart`]).
///
/// Eight bytes: the other document's number shares a word with the relation and the two
/// flags (so numbers are below [`Neighbour::MAX_DOC`]), and the similarity is kept as
/// verified. An index holds one per edge end, which made the 12 bytes of a plain struct
/// a large part of a document's footprint once millions are held; a document's list
/// ([`Links`]) holds a refusal in its first word alone. Serialised as the fields it
/// stands for (`doc`, `relation`, `similarity`, `closing`, `apart`).
#[derive(Clone, Copy, PartialEq)]
pub struct Neighbour {
    /// `doc | relation << 28 | closing << 30 | apart << 31`.
    packed: u32,
    similarity: f32,
}

const DOC_BITS: u32 = 28;
const DOC_MASK: u32 = (1 << DOC_BITS) - 1;
const CLOSING: u32 = 1 << 30;
const APART: u32 = 1 << 31;

impl Neighbour {
    /// Document numbers a neighbour can name are below this (about 268 million: more
    /// than an index numbers, see [`crate::Index`]).
    pub const MAX_DOC: u32 = 1 << DOC_BITS;

    /// A verified edge to document `doc`. `closing` when it was found by pairing the
    /// neighbours of a third document ([`Neighbour::closing`]).
    ///
    /// # Panics
    /// When `doc` is not below [`Neighbour::MAX_DOC`].
    #[must_use]
    pub fn edge(doc: u32, relation: Relation, similarity: f32, closing: bool) -> Self {
        Self::pack(doc, relation, similarity, closing, false)
    }

    /// A pair refused as different stories, `closing` when neighbours of neighbours
    /// found it.
    ///
    /// # Panics
    /// When `doc` is not below [`Neighbour::MAX_DOC`].
    #[must_use]
    pub fn refused(doc: u32, closing: bool) -> Self {
        Self::pack(doc, Relation::Rewrite, 0.0, closing, true)
    }

    fn pack(doc: u32, relation: Relation, similarity: f32, closing: bool, apart: bool) -> Self {
        assert!(doc < Self::MAX_DOC, "document number {doc} out of range");
        let r = match relation {
            Relation::Exact => 0,
            Relation::NearDuplicate => 1,
            Relation::Rewrite => 2,
        };
        Neighbour {
            packed: doc
                | r << DOC_BITS
                | if closing { CLOSING } else { 0 }
                | if apart { APART } else { 0 },
            similarity,
        }
    }

    /// The other document's number.
    #[must_use]
    pub fn doc(self) -> u32 {
        self.packed & DOC_MASK
    }

    /// The same edge (or refusal) seen from its other end, or after renumbering:
    /// naming document `doc`.
    ///
    /// # Panics
    /// When `doc` is not below [`Neighbour::MAX_DOC`].
    #[must_use]
    pub fn to(self, doc: u32) -> Self {
        assert!(doc < Self::MAX_DOC, "document number {doc} out of range");
        Neighbour {
            packed: self.packed & !DOC_MASK | doc,
            ..self
        }
    }

    /// How the two are related (meaningless for a refusal).
    #[must_use]
    pub fn relation(self) -> Relation {
        match self.packed >> DOC_BITS & 3 {
            0 => Relation::Exact,
            1 => Relation::NearDuplicate,
            _ => Relation::Rewrite,
        }
    }

    /// Their similarity (see [`Edge::similarity`]; 0 for a refusal).
    #[must_use]
    pub fn similarity(self) -> f32 {
        self.similarity
    }

    /// Whether the edge was found by pairing the neighbours of a third document
    /// ("neighbours of neighbours") rather than as a candidate of the later one: such an
    /// edge neither counts toward a document's degree nor is paired further, and it
    /// stands only while a third document with few enough neighbours joins both ends.
    #[must_use]
    pub fn closing(self) -> bool {
        self.packed & CLOSING != 0
    }

    /// Whether the pair is no edge but was refused as two different stories
    /// ([`Apart`]): grouping keeps the two apart; `relation` and `similarity` mean
    /// nothing then. Kept only where a pair was refused, so it costs nothing elsewhere.
    #[must_use]
    pub fn apart(self) -> bool {
        self.packed & APART != 0
    }

    /// Whether it is a verified edge (not a refusal).
    #[must_use]
    pub fn is_edge(self) -> bool {
        !self.apart()
    }

    fn repr(self) -> NeighbourRepr {
        NeighbourRepr {
            doc: self.doc(),
            relation: self.relation(),
            similarity: self.similarity,
            closing: self.closing(),
            apart: self.apart(),
        }
    }
}

/// What a [`Neighbour`] stands for, field by field: its serialised form (that of index
/// files since format 6).
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(rename = "Neighbour")]
struct NeighbourRepr {
    doc: u32,
    relation: Relation,
    similarity: f32,
    closing: bool,
    apart: bool,
}

// Shows what the packed word stands for, field by field.
#[allow(clippy::missing_fields_in_debug)]
impl std::fmt::Debug for Neighbour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Neighbour")
            .field("doc", &self.doc())
            .field("relation", &self.relation())
            .field("similarity", &self.similarity)
            .field("closing", &self.closing())
            .field("apart", &self.apart())
            .finish()
    }
}

impl serde::Serialize for Neighbour {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        self.repr().serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for Neighbour {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let r = NeighbourRepr::deserialize(d)?;
        if r.doc >= Neighbour::MAX_DOC {
            return Err(serde::de::Error::custom(format!(
                "edge to document {} out of range",
                r.doc
            )));
        }
        Ok(Neighbour::pack(
            r.doc,
            r.relation,
            r.similarity,
            r.closing,
            r.apart,
        ))
    }
}

/// A document's neighbours: its verified edges and the pairs refused with it, in one
/// vector of 32-bit words. An edge takes two words (its packed word and its similarity),
/// a refusal one (its packed word, whose [`Neighbour::apart`] flag says that no
/// similarity follows). Refusals are most of what a large index holds here (11 a
/// document at 10,000,000 held: BENCHMARKS.md, "One allocation per slot, refusals in one
/// word, chains where linked"), and their similarity means nothing.
///
/// The list is a boxed slice of exactly its length (16 bytes, not a vector's 24, and no
/// spare room): most documents have a few neighbours, held for as long as the document
/// is, so a capacity word and spare room would be a lasting cost, while an append is a
/// `realloc` (about as dear as the pushes it replaces, beside the verification that
/// found the neighbour).
#[derive(Clone, Default, PartialEq)]
pub struct Links(Box<[u32]>);

/// Words a neighbour takes in a [`Links`], from its packed word: one for a refusal, two
/// for an edge.
fn words_of(packed: u32) -> usize {
    if packed & APART != 0 { 1 } else { 2 }
}

/// Appends `nb`'s words to a [`Links`]' words.
fn append(words: &mut Vec<u32>, nb: Neighbour) {
    words.push(nb.packed);
    if !nb.apart() {
        words.push(nb.similarity.to_bits());
    }
}

impl Links {
    /// The neighbours, in the order they were added.
    #[must_use]
    pub fn iter(&self) -> LinksIter<'_> {
        LinksIter(&self.0)
    }

    /// Appends `nb`.
    pub fn push(&mut self, nb: Neighbour) {
        let mut v = std::mem::take(&mut self.0).into_vec();
        v.reserve_exact(words_of(nb.packed));
        append(&mut v, nb);
        self.0 = v.into_boxed_slice();
    }

    /// Takes document `doc` out, and the room it leaves.
    pub fn remove(&mut self, doc: u32) {
        let (mut read, mut write) = (0, 0);
        while read < self.0.len() {
            let packed = self.0[read];
            let words = words_of(packed);
            if packed & DOC_MASK != doc {
                self.0.copy_within(read..read + words, write);
                write += words;
            }
            read += words;
        }
        if write < self.0.len() {
            let mut v = std::mem::take(&mut self.0).into_vec();
            v.truncate(write);
            self.0 = v.into_boxed_slice();
        }
    }

    /// Heap bytes of its edges and of its refusals.
    #[must_use]
    pub fn heap_bytes(&self) -> (usize, usize) {
        let refused = self.iter().filter(|nb| nb.apart()).count() * 4;
        (self.0.len() * 4 - refused, refused)
    }

    /// Names each neighbour's document `f(doc)` instead (after renumbering).
    ///
    /// # Panics
    /// When `f` gives a number not below [`Neighbour::MAX_DOC`].
    pub fn renumber(&mut self, f: impl Fn(u32) -> u32) {
        let mut at = 0;
        while at < self.0.len() {
            let nb = Neighbour {
                packed: self.0[at],
                similarity: 0.0,
            };
            self.0[at] = nb.to(f(nb.doc())).packed;
            at += words_of(nb.packed);
        }
    }
}

impl FromIterator<Neighbour> for Links {
    fn from_iter<I: IntoIterator<Item = Neighbour>>(iter: I) -> Self {
        let mut v = Vec::new();
        for nb in iter {
            append(&mut v, nb);
        }
        Links(v.into_boxed_slice())
    }
}

impl std::fmt::Debug for Links {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Saved as the list of [`Neighbour`]s it stands for (index files since format 6).
impl serde::Serialize for Links {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        // Formats such as postcard write the length first.
        let mut seq = s.serialize_seq(Some(self.iter().count()))?;
        for nb in self {
            seq.serialize_element(&nb)?;
        }
        seq.end()
    }
}

impl<'de> serde::Deserialize<'de> for Links {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let list = Vec::<Neighbour>::deserialize(d)?;
        Ok(Links::from_iter(list))
    }
}

impl Extend<Neighbour> for Links {
    fn extend<I: IntoIterator<Item = Neighbour>>(&mut self, iter: I) {
        let mut v = std::mem::take(&mut self.0).into_vec();
        for nb in iter {
            append(&mut v, nb);
        }
        self.0 = v.into_boxed_slice();
    }
}

/// The neighbours of a [`Links`], in order.
#[derive(Clone)]
pub struct LinksIter<'a>(&'a [u32]);

impl Iterator for LinksIter<'_> {
    type Item = Neighbour;

    #[inline]
    fn next(&mut self) -> Option<Neighbour> {
        let (&packed, rest) = self.0.split_first()?;
        if packed & APART != 0 {
            self.0 = rest;
            return Some(Neighbour {
                packed,
                similarity: 0.0,
            });
        }
        let (&bits, rest) = rest.split_first().expect("an edge's two words");
        self.0 = rest;
        Some(Neighbour {
            packed,
            similarity: f32::from_bits(bits),
        })
    }
}

impl<'a> IntoIterator for &'a Links {
    type Item = Neighbour;
    type IntoIter = LinksIter<'a>;
    fn into_iter(self) -> LinksIter<'a> {
        self.iter()
    }
}

/// Group of a document that is not placed yet.
const UNPLACED: u32 = u32::MAX;
/// Group of a removed document.
const REMOVED: u32 = u32::MAX - 1;

/// A group whose canonical member changed when documents arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moved {
    /// The group.
    pub group: u32,
    /// Its canonical member before.
    pub from: u32,
}

/// The groups of a collection that grows and shrinks (the [`Index`](crate::Index)), kept
/// equal to [`cluster`] of the documents held: after documents arrive or leave, the
/// documents connected to them are grouped again by [`cluster`] ([`Online::regroup`]).
///
/// **Group ids.** A group keeps its id while it lives: an old group of two or more goes on
/// in the group formed again that holds most of its members (on a tie, the better-ranked
/// group; each group formed again continues one old group at most, the first it is given
/// in that order); a group formed again that continues none takes the id of the old group
/// of its best-ranked member that had one not continued already (a document alone, which
/// a user sees as no group, gives its own), else its canonical member's id. So a group
/// keeps its id when a better canonical arrives, when its first member leaves, when it is
/// formed again around a member that was alone (its founder evicted, say), and when it
/// splits, in the part with most of its members. No two groups
/// ever hold one id: when another group holds the canonical member's id (a group it
/// founded and left), a new group takes the id of its best-ranked member that no group
/// holds, else the canonical's id with `#2`, `#3`, ... ([`Online::names`]).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(from = "Stored")]
pub struct Online {
    /// Group of each document number ([`UNPLACED`], [`REMOVED`]).
    of: Vec<u32>,
    /// How each document is tied to its canonical member (see [`Partition::tie`]).
    tie: Vec<Relation>,
    /// Members of each group, ascending; empty for a free group number.
    members: Vec<Members>,
    /// Canonical member of each group.
    canonical: Vec<u32>,
    /// Id of each group: most are the id of a document held, and share its allocation
    /// ([`Online::share_ids`]).
    #[serde(serialize_with = "serialize_ids")]
    ids: Vec<Id>,
    /// Free group numbers.
    free: Vec<u32>,
    /// The group holding each id in use, found by the id's xxh3 and told apart by the id
    /// itself, read back from `ids`. Derived from `ids`: not stored.
    #[serde(skip)]
    named: Names,
}

/// Group numbers by the ids they hold ([`Online::named`]): a table of group numbers
/// alone, each entry's key read back from [`Online`]'s `ids` (5 bytes an entry, not the
/// 17 of a map from the id's hash). Equal whenever the `ids` are, which `Online`'s
/// equality compares.
#[derive(Debug, Clone, Default)]
struct Names(Keyless<u32>);

impl PartialEq for Names {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// The members of one group. Most groups of a crawl are one document, nearly all at most
/// four: those are held inline, without an allocation of their own (32 bytes each).
type Members = smallvec::SmallVec<[u32; 4]>;

/// The group ids as a list of strings (what [`Stored`] reads back).
fn serialize_ids<S: serde::Serializer>(ids: &[Id], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(ids.iter().map(|i| &**i))
}

/// What [`Online`] stores: the fields it serialises, in the same order.
#[derive(serde::Deserialize)]
struct Stored {
    of: Vec<u32>,
    tie: Vec<Relation>,
    members: Vec<Vec<u32>>,
    canonical: Vec<u32>,
    ids: Vec<Box<str>>,
    free: Vec<u32>,
}

impl From<Stored> for Online {
    fn from(s: Stored) -> Self {
        let mut online = Online {
            of: s.of,
            tie: s.tie,
            members: s.members.iter().map(|m| Members::from_slice(m)).collect(),
            canonical: s.canonical,
            ids: s.ids.into_iter().map(|i| Id::from(&*i)).collect(),
            free: s.free,
            ..Online::default()
        };
        online.rename();
        online
    }
}

/// The id a group formed again takes ([`Online::names`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Name {
    /// The id of this old group, which it continues.
    Old(u32),
    /// A new id.
    New(Id),
}

fn id_key(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

impl Online {
    /// Heap bytes of the groups (approximate: vectors by capacity, a 16-byte allocation
    /// header per group's member list and id).
    #[must_use]
    pub(crate) fn heap_bytes(&self) -> usize {
        let members: usize = self
            .members
            .iter()
            .map(|m| {
                if m.spilled() {
                    m.capacity() * 4 + 16
                } else {
                    0
                }
            })
            .sum();
        // An id shared with a document is counted with the document's.
        let ids: usize = self
            .ids
            .iter()
            .filter(|i| Id::count(i) == 1)
            .map(|i| i.len() + 24)
            .sum();
        self.of.capacity() * 4
            + self.tie.capacity() * std::mem::size_of::<Relation>()
            + self.members.capacity() * std::mem::size_of::<Members>()
            + members
            + self.canonical.capacity() * 4
            + self.ids.capacity() * std::mem::size_of::<Id>()
            + ids
            + self.named.0.heap_bytes()
    }

    /// No documents.
    #[must_use]
    pub fn new() -> Self {
        Online::default()
    }

    /// Document numbers given so far (removed ones included, until [`Online::compact`]).
    #[must_use]
    pub fn len(&self) -> usize {
        self.of.len()
    }

    /// True when no number was given.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.of.is_empty()
    }

    /// Numbers a new document ([`Online::len`] before the call); it is in no group until
    /// [`Online::regroup`].
    pub fn push(&mut self) -> u32 {
        self.of.push(UNPLACED);
        self.tie.push(Relation::Exact);
        (self.of.len() - 1) as u32
    }

    /// Group of a placed document.
    #[must_use]
    pub fn group_of(&self, doc: u32) -> Option<u32> {
        let g = self.of[doc as usize];
        (g < REMOVED).then_some(g)
    }

    /// Canonical member of a group.
    #[must_use]
    pub fn canonical(&self, group: u32) -> u32 {
        self.canonical[group as usize]
    }

    /// Members of a group, ascending.
    #[must_use]
    pub fn members(&self, group: u32) -> &[u32] {
        &self.members[group as usize]
    }

    /// Id of a group.
    #[must_use]
    pub fn id(&self, group: u32) -> &str {
        &self.ids[group as usize]
    }

    /// How a document is tied to its canonical member where the two share no edge.
    #[must_use]
    pub fn tie(&self, doc: u32) -> Relation {
        self.tie[doc as usize]
    }

    /// Numbers of the groups in use.
    pub fn groups(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.members.len() as u32).filter(|&g| !self.members[g as usize].is_empty())
    }

    /// Sets the group of each document and the id of each group, as a file of an earlier
    /// format had them: the next [`Online::regroup`] keeps those ids where it can.
    /// `group_of[d]` is `None` for a removed document.
    pub fn assume(&mut self, group_of: &[Option<u32>], ids: Vec<Box<str>>) {
        self.of = group_of.iter().map(|g| g.unwrap_or(REMOVED)).collect();
        self.tie = vec![Relation::Exact; group_of.len()];
        self.members = vec![Members::new(); ids.len()];
        for (d, g) in group_of.iter().enumerate() {
            if let Some(g) = g {
                self.members[*g as usize].push(d as u32);
            }
        }
        self.canonical = self
            .members
            .iter()
            .map(|m| m.first().copied().unwrap_or(REMOVED))
            .collect();
        self.free = (0..ids.len() as u32)
            .filter(|&g| self.members[g as usize].is_empty())
            .collect();
        self.ids = ids.into_iter().map(|i| Id::from(&*i)).collect();
        self.rename();
    }

    /// Whether the groups are consistent with the documents (`live(d)` for each number):
    /// every live document in exactly the group that lists it, every listed group with a
    /// live canonical member among its members. What a state read from a file must hold.
    pub fn check(&self, live: impl Fn(u32) -> bool) -> bool {
        let groups = self.members.len();
        if self.tie.len() != self.of.len()
            || self.canonical.len() != groups
            || self.ids.len() != groups
        {
            return false;
        }
        let placed = (0..self.of.len() as u32).all(|d| {
            let g = self.of[d as usize];
            if live(d) {
                (g as usize) < groups && self.members[g as usize].binary_search(&d).is_ok()
            } else {
                g == REMOVED
            }
        });
        placed
            && self.members.iter().enumerate().all(|(g, ms)| {
                ms.is_empty()
                    || (ms.windows(2).all(|w| w[0] < w[1])
                        && ms.iter().all(|&m| {
                            (m as usize) < self.of.len() && self.of[m as usize] == g as u32
                        })
                        && ms.binary_search(&self.canonical[g]).is_ok()
                        && self.named(&self.ids[g]) == Some(g as u32))
            })
    }

    /// Takes a document out of its group. Its group may now be disconnected: regroup its
    /// members and the document's neighbours ([`Online::regroup`]) before reading groups.
    pub fn remove(&mut self, doc: u32) {
        let g = self.of[doc as usize];
        self.of[doc as usize] = REMOVED;
        if g < REMOVED {
            let ms = &mut self.members[g as usize];
            ms.retain(|m| *m != doc);
            if ms.is_empty() {
                self.release(g);
            }
        }
    }

    /// Has each group's id share the allocation of the same id held by a document,
    /// where `held(id)` gives one: what a group id read from a file or given before
    /// [`Online::regroup`] took document ids as they are does not share.
    pub fn share_ids(&mut self, held: impl Fn(&str) -> Option<Id>) {
        for (g, id) in self.ids.iter_mut().enumerate() {
            if self.members[g].is_empty() || Id::count(id) > 1 {
                continue;
            }
            if let Some(shared) = held(id).filter(|h| **h == **id) {
                *id = shared;
            }
        }
    }

    fn alloc(&mut self, id: Id) -> u32 {
        let g = if let Some(g) = self.free.pop() {
            self.ids[g as usize] = id;
            g
        } else {
            self.members.push(Members::new());
            self.canonical.push(REMOVED);
            self.ids.push(id);
            (self.members.len() - 1) as u32
        };
        self.hold(g);
        g
    }

    /// Frees group `g` (no members left): its id and number can be given again.
    fn release(&mut self, g: u32) {
        let id = std::mem::replace(&mut self.ids[g as usize], Id::from(""));
        self.named.0.remove(id_key(&id), |&x| x == g);
        self.members[g as usize].clear();
        self.free.push(g);
    }

    /// Records that group `g` holds its id.
    fn hold(&mut self, g: u32) {
        debug_assert_eq!(self.named(&self.ids[g as usize]), None, "ids are unique");
        let ids = &self.ids;
        self.named
            .0
            .insert(id_key(&ids[g as usize]), g, |&x| id_key(&ids[x as usize]));
    }

    /// Derives the map of ids in use from `ids` (after reading or renumbering).
    fn rename(&mut self) {
        self.named = Names::default();
        for g in 0..self.ids.len() as u32 {
            // Only a damaged file names two groups alike: the second holds nothing, and
            // `check` fails.
            if !self.members[g as usize].is_empty() && self.named(&self.ids[g as usize]).is_none() {
                self.hold(g);
            }
        }
    }

    /// The group holding an id, if one does.
    #[must_use]
    pub fn named(&self, id: &str) -> Option<u32> {
        self.named
            .0
            .get(id_key(id), |&g| &*self.ids[g as usize] == id)
            .copied()
    }

    /// The ids groups formed again take, by the rule in the type's docs: `groups` lists
    /// each group's members best-ranked first (groups in the order of their canonical
    /// members' ranks), in any numbering; `old(m)` is member `m`'s group now (`None` for
    /// a document not placed yet) and `id(m)` its id. Old groups of the members that no
    /// group continues are taken apart, so their ids are free again. Changes nothing:
    /// [`Online::regroup`] applies the names, [`Index::query`](crate::Index::query)
    /// predicts them.
    pub fn names(
        &self,
        groups: &[Vec<u32>],
        old: impl Fn(u32) -> Option<u32>,
        id: impl Fn(u32) -> Id,
    ) -> Vec<Name> {
        // A group of two or more goes on in the group formed again that holds most of
        // its members (the better-ranked on a tie), so a story keeps its id when its
        // founder leaves and the rest gather around another document. A group of one
        // (what a user sees as no group) names only a group that continues none.
        let mut shares: Vec<(usize, usize, usize, u32)> = Vec::new();
        let mut held: Vec<(u32, usize, usize)> = Vec::new(); // (old, count, first)
        for (i, ms) in groups.iter().enumerate() {
            held.clear();
            for (at, o) in ms
                .iter()
                .enumerate()
                .filter_map(|(at, &m)| Some((at, old(m)?)))
            {
                if self.members[o as usize].len() < 2 {
                    continue;
                }
                match held.iter_mut().find(|h| h.0 == o) {
                    Some(h) => h.1 += 1,
                    None => held.push((o, 1, at)),
                }
            }
            shares.extend(held.iter().map(|&(o, n, at)| (n, i, at, o)));
        }
        // Most members first, then the better-ranked group, then its better-ranked member.
        shares.sort_unstable_by(|x, y| y.0.cmp(&x.0).then(x.1.cmp(&y.1)).then(x.2.cmp(&y.2)));
        let mut continued: Vec<Option<u32>> = vec![None; groups.len()];
        let mut claimed: KeySet<u32> = KeySet::default();
        for (_, i, _, o) in shares {
            if continued[i].is_none() && !claimed.contains(&o) {
                continued[i] = Some(o);
                claimed.insert(o);
            }
        }
        for (ms, c) in groups.iter().zip(&mut continued) {
            if c.is_none() {
                *c = ms
                    .iter()
                    .filter_map(|&m| old(m))
                    .find(|o| !claimed.contains(o));
                if let Some(o) = *c {
                    claimed.insert(o);
                }
            }
        }
        let released: KeySet<u32> = groups
            .iter()
            .flatten()
            .filter_map(|&m| old(m))
            .filter(|o| !claimed.contains(o))
            .collect();
        let mut given: std::collections::HashSet<Id> = std::collections::HashSet::new();
        let free = |name: &str, given: &std::collections::HashSet<Id>| {
            !given.contains(name) && self.named(name).is_none_or(|g| released.contains(&g))
        };
        groups
            .iter()
            .zip(continued)
            .map(|(ms, o)| {
                if let Some(o) = o {
                    return Name::Old(o);
                }
                let mut fresh = ms.iter().map(|&m| id(m)).find(|i| free(i, &given));
                // Every member's id held (by groups its members founded and left): the
                // first with a number; finitely many ids are held, so one is free.
                let mut k = 2u64;
                while fresh.is_none() {
                    let i = ms
                        .first()
                        .map_or_else(String::new, |&m| format!("{}#{k}", id(m)));
                    fresh = free(&i, &given).then(|| Id::from(i));
                    k += 1;
                }
                let fresh = fresh.unwrap_or_else(|| Id::from(""));
                given.insert(fresh.clone());
                Name::New(fresh)
            })
            .collect()
    }

    /// Groups again, by [`cluster`], every live document connected to `seeds` through
    /// `neighbours` (each document's verified edges, both ways). `rank` and `id` give a
    /// document's [`Rank`] and id. Returns the groups whose canonical member moved to
    /// another live document.
    ///
    /// When the region grows to more than `max_region` documents besides the seeds (a
    /// batch's documents are all seeds), the connected set is not grouped again: each
    /// unplaced seed joins the group of its strongest neighbour (a copy, or a rewrite of
    /// a member in its canonical's copy component) or founds one,
    /// and a group whose canonical left takes its best-ranked member. Groups can then
    /// differ from [`cluster`]'s; it takes one story copied tens of thousands of times.
    ///
    /// # Panics
    /// When `neighbours` names a document number never given by [`Online::push`].
    pub fn regroup<'n, 'k>(
        &mut self,
        seeds: &[u32],
        neighbours: impl Fn(u32) -> &'n Links,
        rank: impl Fn(u32) -> Rank<'k>,
        id: impl Fn(u32) -> Id,
        max_region: usize,
    ) -> Vec<Moved> {
        // Most often one new document with no edge (a refusal counts only inside a
        // group): its region is itself, and `cluster` makes it a group of its own.
        if let &[s] = seeds
            && self.of[s as usize] == UNPLACED
            && !neighbours(s).iter().any(Neighbour::is_edge)
        {
            self.found_alone(s, &id);
            return Vec::new();
        }
        // The region grouped again: the seeds, their groups and their neighbours' groups,
        // grown until its result agrees with the groups around it (below).
        let mut local: KeyMap<u32, u32> = KeyMap::default();
        let mut docs: Vec<u32> = Vec::new();
        let add = |d: u32, local: &mut KeyMap<u32, u32>, docs: &mut Vec<u32>| {
            if self.of[d as usize] != REMOVED && !local.contains_key(&d) {
                local.insert(d, docs.len() as u32);
                docs.push(d);
            }
        };
        let mut taken: KeySet<u32> = KeySet::default();
        let mut grow: Vec<u32> = Vec::new();
        for &s in seeds {
            if self.of[s as usize] == REMOVED {
                continue;
            }
            add(s, &mut local, &mut docs);
            grow.push(s);
            // A refusal needs no region of its own: it counts only inside a group, and
            // a group taken in is taken whole (the seed's, or an edge's).
            grow.extend(
                neighbours(s)
                    .iter()
                    .filter(|nb| nb.is_edge())
                    .map(Neighbour::doc),
            );
        }
        let (p, ranks) = loop {
            for d in std::mem::take(&mut grow) {
                match self.group_of(d) {
                    Some(g) if taken.insert(g) => {
                        for &m in &self.members[g as usize] {
                            add(m, &mut local, &mut docs);
                        }
                    }
                    Some(_) => {}
                    None => add(d, &mut local, &mut docs),
                }
            }
            // The seeds are grouped whatever their number (a night's documents, inserted
            // together); what the bound holds back is a region grown past them.
            if docs.len() - seeds.len().min(docs.len()) > max_region {
                return self.place_locally(seeds, &neighbours, &rank, &id);
            }
            let (p, ranks) = Self::cluster_region(&docs, &local, &neighbours, &rank);
            grow = self.disagreements(&docs, &local, &p, &ranks, &neighbours, &rank);
            if grow.is_empty() {
                break (p, ranks);
            }
        };
        let mut old: Vec<u32> = docs
            .iter()
            .map(|&d| self.of[d as usize])
            .filter(|&g| g < REMOVED)
            .collect();
        old.sort_unstable();
        old.dedup();
        let before: Vec<u32> = old.iter().map(|&g| self.canonical[g as usize]).collect();
        let groups = p.ranked_members(|i| ranks[i as usize]);
        let names = self.names(
            &groups,
            |i| self.group_of(docs[i as usize]),
            |i| id(docs[i as usize]),
        );
        let kept: KeySet<u32> = names
            .iter()
            .filter_map(|n| match n {
                Name::Old(o) => Some(*o),
                Name::New(_) => None,
            })
            .collect();
        for &g in &old {
            if !kept.contains(&g) {
                self.release(g);
            }
        }
        let mut assigned: Vec<u32> = Vec::new();
        let mut moved = Vec::new();
        for (g, (ms, name)) in groups.into_iter().zip(names).enumerate() {
            let canon = docs[p.canonical[g] as usize];
            let gi = match name {
                Name::Old(o) => {
                    let was = before[old.binary_search(&o).expect("an old group")];
                    if was != canon && self.of[was as usize] < REMOVED {
                        moved.push(Moved {
                            group: o,
                            from: was,
                        });
                    }
                    o
                }
                Name::New(name) => self.alloc(name),
            };
            let mut list: Vec<u32> = ms.iter().map(|&i| docs[i as usize]).collect();
            list.sort_unstable();
            for &i in &ms {
                self.tie[docs[i as usize] as usize] = p.tie(i);
            }
            self.members[gi as usize] = Members::from_vec(list);
            self.canonical[gi as usize] = canon;
            assigned.push(gi);
        }
        for &g in &assigned {
            for &m in &self.members[g as usize] {
                self.of[m as usize] = g;
            }
        }
        moved
    }

    /// Places unplaced document `s` in a group of its own, as grouping a region of `s`
    /// alone does: the group takes the name [`Online::names`] gives it, and `s` is tied
    /// to itself as a member of its canonical's copy component ([`Partition::tie`]).
    fn found_alone(&mut self, s: u32, id: &impl Fn(u32) -> Id) {
        let Some(Name::New(name)) = self.names(&[vec![s]], |_| None, id).pop() else {
            unreachable!("a new document's group is new")
        };
        let g = self.alloc(name);
        self.members[g as usize] = smallvec::smallvec![s];
        self.canonical[g as usize] = s;
        self.tie[s as usize] = Relation::NearDuplicate;
        self.of[s as usize] = g;
    }

    /// [`cluster`] of the region `docs` (numbered by `local`) over the edges inside it.
    fn cluster_region<'n, 'k>(
        docs: &[u32],
        local: &KeyMap<u32, u32>,
        neighbours: &impl Fn(u32) -> &'n Links,
        rank: &impl Fn(u32) -> Rank<'k>,
    ) -> (Partition, Vec<Rank<'k>>) {
        let mut edges: Vec<Link> = Vec::new();
        let mut apart: Vec<Apart> = Vec::new();
        for (i, &x) in docs.iter().enumerate() {
            for nb in neighbours(x) {
                if let Some(&j) = local.get(&nb.doc())
                    && (i as u32) < j
                {
                    if nb.apart() {
                        apart.push((i as u32, j));
                    } else {
                        edges.push((i as u32, j, nb.relation()));
                    }
                }
            }
        }
        let ranks: Vec<Rank<'k>> = docs.iter().map(|&d| rank(d)).collect();
        let p = cluster(docs.len(), &edges, &apart, |i| ranks[i as usize]);
        (p, ranks)
    }

    /// Documents outside a region whose groups disagree with the region's new groups
    /// `p`: the region's result joined to the groups around it is what [`cluster`] gives
    /// for everything when, across every edge leaving the region, the founding
    /// components (pivots) stay first in rank order. A pivot must have no pivot of an
    /// earlier rank next to it, and a component that joined one must have none of a rank
    /// earlier than its own pivot's; a copy edge leaving the region always disagrees.
    fn disagreements<'n, 'k>(
        &self,
        docs: &[u32],
        local: &KeyMap<u32, u32>,
        p: &Partition,
        ranks: &[Rank<'k>],
        neighbours: &impl Fn(u32) -> &'n Links,
        rank: &impl Fn(u32) -> Rank<'k>,
    ) -> Vec<u32> {
        let mut out = Vec::new();
        for (i, &x) in docs.iter().enumerate() {
            let canon_x = p.canonical[p.group_of[i] as usize];
            let x_pivot = p.component[i] == p.component[canon_x as usize];
            let rank_x = ranks[canon_x as usize];
            for nb in neighbours(x) {
                // A refusal across the region's edge joins no group: it cannot matter.
                if nb.apart() || local.contains_key(&nb.doc()) {
                    continue;
                }
                let Some(g) = self.group_of(nb.doc()) else {
                    out.push(nb.doc());
                    continue;
                };
                if is_copy(nb.relation()) {
                    out.push(nb.doc());
                    continue;
                }
                let canon_y = self.canonical[g as usize];
                let y_pivot = canon_y == nb.doc() || is_copy(self.tie[nb.doc() as usize]);
                let rank_y = rank(canon_y);
                let agree = match (x_pivot, y_pivot) {
                    (true, true) => false,
                    (false, true) => rank_x < rank_y,
                    (true, false) => rank_y < rank_x,
                    (false, false) => true,
                };
                if !agree {
                    out.push(nb.doc());
                }
            }
        }
        out
    }

    /// The fallback of [`Online::regroup`] for a connected set too large to group again.
    fn place_locally<'n, 'k>(
        &mut self,
        seeds: &[u32],
        neighbours: &impl Fn(u32) -> &'n Links,
        rank: &impl Fn(u32) -> Rank<'k>,
        id: &impl Fn(u32) -> Id,
    ) -> Vec<Moved> {
        let mut moved = Vec::new();
        for &s in seeds {
            if self.of[s as usize] != UNPLACED {
                continue;
            }
            let refused = |g: u32| {
                neighbours(s)
                    .iter()
                    .any(|r| r.apart() && self.of[r.doc() as usize] == g)
            };
            let best = neighbours(s)
                .iter()
                .filter(|nb| nb.is_edge() && self.of[nb.doc() as usize] < REMOVED)
                .filter(|nb| is_copy(nb.relation()) || !refused(self.of[nb.doc() as usize]))
                .filter(|nb| {
                    let g = self.of[nb.doc() as usize];
                    is_copy(nb.relation())
                        || self.canonical[g as usize] == nb.doc()
                        || is_copy(self.tie[nb.doc() as usize])
                })
                .min_by(|x, y| {
                    x.relation()
                        .cmp(&y.relation())
                        .then(y.similarity.total_cmp(&x.similarity))
                        .then(x.doc().cmp(&y.doc()))
                });
            let g = if let Some(nb) = best {
                let g = self.of[nb.doc() as usize];
                self.tie[s as usize] = if is_copy(nb.relation()) {
                    self.tie[nb.doc() as usize]
                } else {
                    Relation::Rewrite
                };
                let ms = &mut self.members[g as usize];
                let at = ms.partition_point(|&m| m < s);
                ms.insert(at, s);
                g
            } else {
                self.found_alone(s, id);
                self.of[s as usize]
            };
            self.of[s as usize] = g;
            let c = self.canonical[g as usize];
            if c != s && rank(s) < rank(c) {
                moved.push(Moved { group: g, from: c });
                self.canonical[g as usize] = s;
            }
        }
        // Groups whose canonical left take their best-ranked member.
        for g in 0..self.members.len() {
            let c = self.canonical[g];
            if !self.members[g].is_empty() && (c == REMOVED || self.of[c as usize] == REMOVED) {
                let best = self.members[g]
                    .iter()
                    .copied()
                    .min_by(|&x, &y| rank(x).cmp(&rank(y)))
                    .expect("a member");
                self.canonical[g] = best;
            }
        }
        moved
    }

    /// Renumbers after documents left: `new_number[d]` is document `d`'s new number, or
    /// `None` for a removed one; numbers keep the documents' order. Free groups are
    /// dropped; groups keep their order.
    ///
    /// # Panics
    /// When a live document is mapped to `None`.
    pub fn compact(&mut self, new_number: &[Option<u32>]) {
        let mut out = Online::default();
        let mut group_map = vec![REMOVED; self.members.len()];
        for (g, ms) in self.members.iter().enumerate() {
            if ms.is_empty() {
                continue;
            }
            group_map[g] = out.members.len() as u32;
            out.members.push(
                ms.iter()
                    .map(|&m| new_number[m as usize].expect("members are live"))
                    .collect(),
            );
            out.canonical
                .push(new_number[self.canonical[g] as usize].expect("canonical is live"));
            out.ids.push(self.ids[g].clone());
        }
        for (d, n) in new_number.iter().enumerate().take(self.of.len()) {
            if n.is_some() {
                let g = self.of[d];
                out.of.push(if g < REMOVED {
                    group_map[g as usize]
                } else {
                    g
                });
                out.tie.push(self.tie[d]);
            }
        }
        out.rename();
        *self = out;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Scores;
    use proptest::prelude::*;

    fn edge(a: u32, b: u32, relation: Relation) -> Edge {
        Edge {
            a: a.min(b),
            b: a.max(b),
            relation,
            scores: Scores {
                jaccard: 0.5,
                containment: 0.5,
                content: 0.5,
                title: None,
                days_apart: None,
            },
        }
    }

    const IDS: [&str; 12] = ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"];

    fn plain(d: u32) -> Rank<'static> {
        Rank {
            timestamp: None,
            related: 0,
            hash: 0,
            id: IDS[d as usize],
        }
    }

    #[test]
    fn rewrites_do_not_chain() {
        // a - b - c rewrites: b and c are not tied to canonical a's component except c.
        let edges = [edge(0, 1, Relation::Rewrite), edge(1, 2, Relation::Rewrite)];
        let p = cluster(3, &links(&edges), &[], plain);
        assert_eq!(p.group_of[0], p.group_of[1]);
        assert_ne!(p.group_of[1], p.group_of[2]);
    }

    #[test]
    fn copies_chain() {
        let edges = [
            edge(0, 1, Relation::NearDuplicate),
            edge(1, 2, Relation::NearDuplicate),
        ];
        let p = cluster(3, &links(&edges), &[], plain);
        assert!(p.group_of.iter().all(|&g| g == 0));
        assert_eq!(p.canonical, vec![0]);
    }

    #[test]
    fn a_late_original_gathers_its_rewrites() {
        // Document 3 is the source (earliest), 0, 1, 2 its rewrites, which share no edge:
        // in any input order, one group around 3.
        let edges = [
            edge(0, 3, Relation::Rewrite),
            edge(1, 3, Relation::Rewrite),
            edge(2, 3, Relation::Rewrite),
        ];
        let rank = |d: u32| Rank {
            timestamp: Some(if d == 3 { 0 } else { 10 }),
            ..plain(d)
        };
        let p = cluster(4, &links(&edges), &[], rank);
        assert!(p.group_of.iter().all(|&g| g == 0));
        assert_eq!(p.canonical, vec![3]);
        // Undated, the most related (3, with three edges) is canonical.
        let related = relatedness(4, &edges);
        let p = cluster(4, &links(&edges), &[], |d| Rank {
            related: related[d as usize],
            ..plain(d)
        });
        assert_eq!(p.canonical, vec![3]);
    }

    #[test]
    fn rewrite_to_a_copy_of_the_canonical_joins() {
        // 0 ~ 1 copies; 2 rewrites 1 only: tied to canonical 0 through its copy.
        let edges = [
            edge(0, 1, Relation::NearDuplicate),
            edge(1, 2, Relation::Rewrite),
        ];
        let p = cluster(3, &links(&edges), &[], plain);
        assert!(p.group_of.iter().all(|&g| g == 0));
        assert_eq!(p.tie(1), Relation::NearDuplicate);
        assert_eq!(p.tie(2), Relation::Rewrite);
    }

    #[test]
    fn a_founder_that_leaves_its_group_takes_no_id_in_use() {
        // 0 founds group "a" with its rewrite 1; 2, earlier than both, rewrites 1 only: it
        // takes 1 (and the id "a", the old group of its best member that had one), and 0
        // is alone again. Its own id is held, so it takes another: never two groups "a".
        let time = [1, 2, 0];
        let adj: Vec<Vec<Neighbour>> = vec![
            vec![nb(1, Relation::Rewrite)],
            vec![nb(0, Relation::Rewrite), nb(2, Relation::Rewrite)],
            vec![nb(1, Relation::Rewrite)],
        ];
        let mut online = Online::new();
        let rank = |d: u32| Rank {
            timestamp: Some(time[d as usize]),
            ..plain(d)
        };
        let id = |d: u32| Id::from(IDS[d as usize]);
        // Documents 0 and 1, joined; then 2 with its edge.
        let upto = |n: u32| -> Vec<Links> {
            adj.iter()
                .map(|l| l.iter().copied().filter(|x| x.doc() < n).collect())
                .collect()
        };
        let (two, three) = (upto(2), upto(3));
        online.push();
        online.push();
        online.regroup(&[0, 1], |d| &two[d as usize], rank, id, usize::MAX);
        let g = online.group_of(0).unwrap();
        assert_eq!(online.id(g), "a");
        online.push();
        online.regroup(&[2], |d| &three[d as usize], rank, id, usize::MAX);
        let (g0, g2) = (online.group_of(0).unwrap(), online.group_of(2).unwrap());
        assert_ne!(g0, g2);
        assert_eq!(online.group_of(1), Some(g2));
        assert_eq!(online.id(g2), "a");
        assert_eq!(online.canonical(g2), 2);
        assert_eq!(online.id(g0), "a#2");
        assert_eq!(online.named("a"), Some(g2));
        assert_eq!(online.named("a#2"), Some(g0));
        // Read back, the groups are the same; a file naming two groups alike is damaged.
        let live = |d: u32| d < 3;
        let json = serde_json::to_string(&online).unwrap();
        let back: Online = serde_json::from_str(&json).unwrap();
        assert!(back.check(live));
        assert_eq!((back.named("a"), back.named("a#2")), (Some(g2), Some(g0)));
        let twice: Online = serde_json::from_str(&json.replace("a#2", "a")).unwrap();
        assert!(!twice.check(live));
    }

    /// Documents `0..rewrites.len()` dated `time`, `rewrites[d]` the rewrites of `d`,
    /// grouped together; then `gone` removed and its neighbours grouped again. Returns
    /// the groups before and after, as (id, members, canonical) per document.
    fn founder_leaves(
        time: &[i64],
        rewrites: &[&[u32]],
        gone: u32,
    ) -> [Vec<(String, Vec<u32>, u32)>; 2] {
        let all: Vec<Links> = (rewrites.iter())
            .map(|l| l.iter().map(|&d| nb(d, Relation::Rewrite)).collect())
            .collect();
        let after: Vec<Links> = (all.iter())
            .map(|l| l.iter().filter(|x| x.doc() != gone).collect())
            .collect();
        let rank = |d: u32| Rank {
            timestamp: Some(time[d as usize]),
            ..plain(d)
        };
        let id = |d: u32| Id::from(IDS[d as usize]);
        let n = rewrites.len() as u32;
        let mut online = Online::new();
        for _ in 0..n {
            online.push();
        }
        let groups = |online: &Online| {
            (0..n)
                .map(|d| match online.group_of(d) {
                    Some(g) => (
                        online.id(g).to_owned(),
                        online.members(g).to_vec(),
                        online.canonical(g),
                    ),
                    None => (String::new(), Vec::new(), u32::MAX),
                })
                .collect::<Vec<_>>()
        };
        let seeds: Vec<u32> = (0..n).collect();
        online.regroup(&seeds, |d| &all[d as usize], rank, id, usize::MAX);
        let before = groups(&online);
        online.remove(gone);
        let seeds: Vec<u32> = all[gone as usize].iter().map(Neighbour::doc).collect();
        online.regroup(&seeds, |d| &after[d as usize], rank, id, usize::MAX);
        assert!(online.check(|d| d != gone));
        [before, groups(&online)]
    }

    #[test]
    fn a_group_formed_again_around_a_document_that_was_alone_keeps_its_id() {
        // 0 founds group "a" with its rewrites 1 and 2; 3, later than 0 but earlier than
        // 1 and 2, rewrites 1 and 2 and not 0, so it is alone. When 0 leaves (a rolling
        // window), 3 takes 1 and 2: the group users knew as "a" goes on as "a", not as a
        // new group named after 3.
        let [before, after] =
            founder_leaves(&[0, 2, 3, 1], &[&[1, 2], &[0, 3], &[0, 3], &[1, 2]], 0);
        assert_eq!(before[1], ("a".into(), vec![0, 1, 2], 0));
        assert_eq!(before[3], ("d".into(), vec![3], 3));
        assert_eq!(after[3], ("a".into(), vec![1, 2, 3], 3));
        assert!(after.iter().all(|g| g.0 != "d"));
    }

    #[test]
    fn a_document_that_was_alone_does_not_take_the_id_of_a_group_it_joins() {
        // 0 founds group "a" with its rewrites 1 and 2; 3 (ranked after 0) rewrites 1
        // only and is alone. When 0 leaves, 3 takes 1 and 2 is alone: "a" goes on in the
        // group of 3 and 1 (a tie on members, the better-ranked group), not in 2's group
        // of one, which a user sees as no group, while 3's group would be named "d".
        let rewrites: [&[u32]; 4] = [&[1, 2], &[0, 3], &[0], &[1]];
        let [before, after] = founder_leaves(&[0, 2, 3, 1], &rewrites, 0);
        assert_eq!(before[0], ("a".into(), vec![0, 1, 2], 0));
        assert_eq!(after[1], ("a".into(), vec![1, 3], 3));
        assert_eq!(after[2], ("c".into(), vec![2], 2));
    }

    #[test]
    fn a_group_split_goes_on_where_most_of_its_members_are() {
        // 0 founds group "a" with its rewrites 2 to 5; 1 (ranked after 0, before the
        // rest) rewrites 2 only, so it is alone ("b"). When 0 leaves, 1 takes 2 and 3
        // takes 4 and 5: the group of most of "a"'s members goes on as "a", though a
        // better-ranked group holds one of them, and 1's group is "b".
        let rewrites: [&[u32]; 6] = [&[2, 3, 4, 5], &[2], &[0, 1], &[0, 4, 5], &[0, 3], &[0, 3]];
        let [before, after] = founder_leaves(&[0, 1, 2, 3, 4, 5], &rewrites, 0);
        assert_eq!(before[0], ("a".into(), vec![0, 2, 3, 4, 5], 0));
        assert_eq!(before[1], ("b".into(), vec![1], 1));
        assert_eq!(after[1], ("b".into(), vec![1, 2], 1));
        assert_eq!(after[3], ("a".into(), vec![3, 4, 5], 3));
    }

    /// Documents inserted together are all seeds: the bound on a region holds back what
    /// grows past them, not their number, so a batch larger than it is grouped by the
    /// rule (a night's documents are inserted together). Here the rule makes 2, the
    /// earliest, the pivot of the chain 0 - 1 - 2, which takes 1 and leaves 0 alone;
    /// joining each seed in turn to a neighbour placed already would put 1 with 0.
    #[test]
    fn a_batch_past_the_region_bound_is_grouped_by_the_rule() {
        let time = [1, 2, 0];
        let adj: Vec<Links> = vec![
            [nb(1, Relation::Rewrite)].into_iter().collect(),
            [nb(0, Relation::Rewrite), nb(2, Relation::Rewrite)]
                .into_iter()
                .collect(),
            [nb(1, Relation::Rewrite)].into_iter().collect(),
        ];
        let rank = |d: u32| Rank {
            timestamp: Some(time[d as usize]),
            ..plain(d)
        };
        let id = |d: u32| Id::from(IDS[d as usize]);
        let mut online = Online::new();
        for _ in 0..3 {
            online.push();
        }
        online.regroup(&[0, 1, 2], |d| &adj[d as usize], rank, id, 1);
        let g = online.group_of(1).expect("placed");
        assert_eq!(online.members(g), &[1, 2]);
        assert_eq!(online.canonical(g), 2);
        assert_ne!(online.group_of(0), Some(g));
    }

    /// A neighbour as a plain struct: what index files of formats 6 to 8 hold.
    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Plain {
        doc: u32,
        relation: Relation,
        similarity: f32,
        closing: bool,
        apart: bool,
    }

    #[test]
    fn a_packed_neighbour_keeps_every_field_and_the_file_form() {
        let relations = [Relation::Exact, Relation::NearDuplicate, Relation::Rewrite];
        for doc in [0, 1, 12_345, Neighbour::MAX_DOC - 1] {
            for relation in relations {
                for closing in [false, true] {
                    for (nb, apart) in [
                        (Neighbour::edge(doc, relation, 0.731, closing), false),
                        (Neighbour::refused(doc, closing), true),
                    ] {
                        assert_eq!(std::mem::size_of_val(&nb), 8);
                        assert_eq!((nb.doc(), nb.closing(), nb.apart()), (doc, closing, apart));
                        assert_eq!(nb.is_edge(), !apart);
                        if !apart {
                            assert_eq!((nb.relation(), nb.similarity()), (relation, 0.731));
                        }
                        // The other end: only the number changes.
                        let back = nb.to(7).to(doc);
                        assert_eq!(back, nb);
                        assert_eq!(nb.to(7).doc(), 7);
                        // Serialised as the plain struct was, both ways.
                        let plain = Plain {
                            doc,
                            relation: nb.relation(),
                            similarity: nb.similarity(),
                            closing,
                            apart,
                        };
                        let bytes = postcard::to_allocvec(&nb).unwrap();
                        assert_eq!(bytes, postcard::to_allocvec(&plain).unwrap());
                        assert_eq!(postcard::from_bytes::<Neighbour>(&bytes).unwrap(), nb);
                    }
                }
            }
        }
        // A number out of range is a damaged file, not a wrong neighbour.
        let far = Plain {
            doc: Neighbour::MAX_DOC,
            relation: Relation::Rewrite,
            similarity: 0.5,
            closing: false,
            apart: false,
        };
        let bytes = postcard::to_allocvec(&far).unwrap();
        assert!(postcard::from_bytes::<Neighbour>(&bytes).is_err());
    }

    #[test]
    fn group_members_are_saved_as_a_plain_list() {
        for n in 0..10u32 {
            let list: Vec<u32> = (0..n).map(|m| m * 7).collect();
            let members = Members::from_slice(&list);
            assert_eq!(members.spilled(), n > 4);
            let bytes = postcard::to_allocvec(&members).unwrap();
            assert_eq!(bytes, postcard::to_allocvec(&list).unwrap());
        }
    }

    #[test]
    fn a_list_of_neighbours_holds_its_words_and_no_more() {
        let mut list = Links::default();
        // Edges take two words, refusals one.
        let words =
            |l: &Links| -> usize { l.iter().map(|nb| if nb.apart() { 1 } else { 2 }).sum() };
        for d in 0..1000 {
            list.push(if d % 3 == 0 {
                Neighbour::refused(d, d % 2 == 0)
            } else {
                Neighbour::edge(d, Relation::Rewrite, d as f32 / 1000.0, false)
            });
            assert_eq!(list.0.len(), words(&list));
        }
        for d in 0..900 {
            list.remove(d);
            assert_eq!(list.0.len(), words(&list));
        }
        assert_eq!(list.iter().next().map(Neighbour::doc), Some(900));
        assert_eq!(list.iter().count(), 100);
        let (edges, refused) = list.heap_bytes();
        assert_eq!(edges + refused, list.0.len() * 4);
    }

    #[test]
    fn a_list_of_neighbours_gives_back_what_it_was_given() {
        let all: Vec<Neighbour> = (0..50u32)
            .map(|d| match d % 4 {
                0 => Neighbour::refused(d, false),
                1 => Neighbour::refused(d, true),
                2 => Neighbour::edge(d, Relation::NearDuplicate, 0.25 + d as f32, true),
                _ => Neighbour::edge(d, Relation::Exact, 1.0, false),
            })
            .collect();
        let mut list: Links = all.iter().copied().collect();
        assert_eq!(list.iter().collect::<Vec<_>>(), all);
        // A refusal is one word, an edge two.
        assert_eq!(list.0.len(), 26 + 2 * 24);
        assert_eq!(list.heap_bytes().1, 26 * 4);
        // Saved as the neighbours it stands for, read back the same.
        let bytes = postcard::to_allocvec(&list).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&all).unwrap());
        assert_eq!(postcard::from_bytes::<Links>(&bytes).unwrap(), list);
        // Renumbered, and with some taken out, the rest in order.
        list.renumber(|d| d + 100);
        for d in [100, 101, 102, 103, 149] {
            list.remove(d);
        }
        let expect: Vec<Neighbour> = all[4..49].iter().map(|nb| nb.to(nb.doc() + 100)).collect();
        assert_eq!(list.iter().collect::<Vec<_>>(), expect);
    }

    fn nb(doc: u32, relation: Relation) -> Neighbour {
        Neighbour::edge(doc, relation, 0.5, false)
    }

    #[test]
    fn a_refused_pair_is_not_joined_by_rewrites() {
        // Counter-dev's star: 2, the most related, rewrites 0 and 1, which were refused
        // as different stories. 2 takes the better-ranked of the two only.
        let edges = [edge(0, 2, Relation::Rewrite), edge(1, 2, Relation::Rewrite)];
        let rank = |d: u32| Rank {
            related: u64::from(d == 2),
            ..plain(d)
        };
        let p = cluster(3, &links(&edges), &[], rank);
        assert!(p.group_of.iter().all(|&g| g == 0));
        let p = cluster(3, &links(&edges), &[(1, 0)], rank);
        assert_eq!(p.canonical, vec![2, 1]);
        assert_eq!(p.group_of, vec![0, 1, 0]);
        // Copies join whatever is refused: 3 copies 0 and 1.
        let mut more = links(&edges);
        more.extend([
            (0, 3, Relation::NearDuplicate),
            (1, 3, Relation::NearDuplicate),
        ]);
        let p = cluster(4, &more, &[(0, 1)], rank);
        assert!(p.group_of.iter().all(|&g| g == 0));
    }

    /// What a random pair is: a rewrite (0), a copy, or refused as different stories.
    const COPY: u8 = 1;
    const APART: u8 = 2;

    /// A random graph: documents, pairs `(a, b, kind)` and dates.
    type Graph = (usize, Vec<(u32, u32, u8)>, Vec<Option<i64>>);

    fn graph() -> impl Strategy<Value = Graph> {
        (2usize..12).prop_flat_map(|n| {
            let e = (0..n as u32, 0..n as u32, 0u8..3);
            (
                Just(n),
                proptest::collection::vec(e, 0..24),
                proptest::collection::vec(proptest::option::of(0i64..4), n),
            )
        })
    }

    /// The edges and the refused pairs of a graph: one verdict per pair (the first).
    fn edges_of(list: &[(u32, u32, u8)]) -> (Vec<Edge>, Vec<Apart>) {
        let mut out: Vec<Edge> = Vec::new();
        let mut apart: Vec<Apart> = Vec::new();
        for &(a, b, kind) in list {
            let pair = (a.min(b), a.max(b));
            if a == b || out.iter().any(|e| (e.a, e.b) == pair) || apart.contains(&pair) {
                continue;
            }
            match kind {
                APART => apart.push(pair),
                COPY => out.push(edge(a, b, Relation::NearDuplicate)),
                _ => out.push(edge(a, b, Relation::Rewrite)),
            }
        }
        (out, apart)
    }

    /// Ranks of a random graph's documents: by date, then relatedness, then id.
    fn ranker<'a>(
        times: &'a [Option<i64>],
        related: &'a [u64],
    ) -> impl Fn(u32) -> Rank<'static> + Copy + 'a {
        move |d| Rank {
            timestamp: times[d as usize],
            related: related[d as usize],
            hash: 0,
            id: IDS[d as usize],
        }
    }

    /// The rule without refusals, as it was before they were taken: pivots in rank
    /// order take every unplaced component with a rewrite edge to them.
    fn reference<'k>(n: usize, edges: &[Edge], rank: impl Fn(u32) -> Rank<'k>) -> Vec<u32> {
        let mut comp: Vec<u32> = (0..n as u32).collect();
        // Copy components by repeated relabelling to the smallest label.
        loop {
            let mut changed = false;
            for e in edges.iter().filter(|e| is_copy(e.relation)) {
                let m = comp[e.a as usize].min(comp[e.b as usize]);
                for d in [e.a, e.b] {
                    if comp[d as usize] != m {
                        comp[d as usize] = m;
                        changed = true;
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let best = |c: u32| {
            (0..n as u32)
                .filter(|&d| comp[d as usize] == c)
                .min_by_key(|&d| rank(d))
        };
        let mut roots: Vec<u32> = (0..n as u32).filter(|&d| comp[d as usize] == d).collect();
        roots.sort_by_key(|&c| rank(best(c).unwrap()));
        let mut canon_of_comp: Vec<Option<u32>> = vec![None; n];
        for &c in &roots {
            if canon_of_comp[c as usize].is_some() {
                continue;
            }
            let canon = best(c).unwrap();
            canon_of_comp[c as usize] = Some(canon);
            for e in edges.iter().filter(|e| !is_copy(e.relation)) {
                let (x, y) = (comp[e.a as usize], comp[e.b as usize]);
                for (here, there) in [(x, y), (y, x)] {
                    if here == c && canon_of_comp[there as usize].is_none() {
                        canon_of_comp[there as usize] = Some(canon);
                    }
                }
            }
        }
        (0..n)
            .map(|d| canon_of_comp[comp[d] as usize].unwrap())
            .collect()
    }

    proptest! {
        #[test]
        fn groups_keep_their_guarantees((n, list, times) in graph()) {
            let (edges, apart) = edges_of(&list);
            let related = relatedness(n, &edges);
            let rank = ranker(&times, &related);
            let p = cluster(n, &links(&edges), &apart, rank);
            let members = p.members();
            let linked = |x: u32, y: u32| {
                edges.iter().any(|e| {
                    e.relation == Relation::Rewrite
                        && ((p.component[e.a as usize] == x && p.component[e.b as usize] == y)
                            || (p.component[e.a as usize] == y && p.component[e.b as usize] == x))
                })
            };
            let refused = |x: u32, y: u32| {
                apart.iter().any(|&(a, b)| {
                    let (ka, kb) = (p.component[a as usize], p.component[b as usize]);
                    (ka, kb) == (x, y) || (ka, kb) == (y, x)
                })
            };
            for (g, ms) in members.iter().enumerate() {
                let c = p.canonical[g];
                prop_assert_eq!(p.group_of[c as usize], g as u32);
                // The canonical is the best-ranked member.
                for &m in ms {
                    prop_assert!(rank(c) <= rank(m));
                    // Same copy component as the canonical, or one rewrite edge away.
                    let (km, kc) = (p.component[m as usize], p.component[c as usize]);
                    prop_assert!(km == kc || linked(km, kc));
                }
            }
            // Copy edges never cross groups.
            for e in edges.iter().filter(|e| is_copy(e.relation)) {
                prop_assert_eq!(p.group_of[e.a as usize], p.group_of[e.b as usize]);
            }
            // A refused pair in one group lies inside one copy component.
            for &(a, b) in &apart {
                if p.group_of[a as usize] == p.group_of[b as usize] {
                    prop_assert_eq!(p.component[a as usize], p.component[b as usize]);
                }
            }
            // Two founding components are linked only when the later one was refused by
            // a component of the earlier one's group.
            for x in 0..p.canonical.len() {
                for y in x + 1..p.canonical.len() {
                    let (kx, ky) = (
                        p.component[p.canonical[x] as usize],
                        p.component[p.canonical[y] as usize],
                    );
                    if linked(kx, ky) {
                        let later = if rank(p.canonical[x]) < rank(p.canonical[y]) { ky } else { kx };
                        let earlier_group = if later == ky { x } else { y };
                        prop_assert!(members[earlier_group]
                            .iter()
                            .any(|&m| refused(p.component[m as usize], later)));
                    }
                }
            }
        }

        #[test]
        fn without_refusals_the_groups_are_the_plain_rule((n, list, times) in graph()) {
            let (edges, apart) = edges_of(&list);
            let related = relatedness(n, &edges);
            let rank = ranker(&times, &related);
            let p = cluster(n, &links(&edges), &[], rank);
            let want = reference(n, &edges, rank);
            for (d, &w) in want.iter().enumerate() {
                prop_assert_eq!(p.canonical[p.group_of[d] as usize], w);
            }
            // Refusals inside copy components change nothing either.
            let inside: Vec<Apart> = apart
                .iter()
                .copied()
                .filter(|&(a, b)| p.component[a as usize] == p.component[b as usize])
                .collect();
            prop_assert_eq!(cluster(n, &links(&edges), &inside, rank), p);
        }

        #[test]
        fn relabelling_changes_nothing((n, list, times) in graph(), seed in any::<u64>()) {
            let (edges, apart) = edges_of(&list);
            // A permutation of the documents (and so of their edges' order).
            let mut perm: Vec<u32> = (0..n as u32).collect();
            let mut x = seed | 1;
            for i in (1..n).rev() {
                x = crate::sketch::minhash::mix64(x);
                perm.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let moved: Vec<Edge> = edges
                .iter()
                .rev()
                .map(|e| edge(perm[e.a as usize], perm[e.b as usize], e.relation))
                .collect();
            let moved_apart: Vec<Apart> = apart
                .iter()
                .rev()
                .map(|&(a, b)| (perm[b as usize], perm[a as usize]))
                .collect();
            let mut inv = vec![0u32; n];
            for (d, &q) in perm.iter().enumerate() {
                inv[q as usize] = d as u32;
            }
            let related = relatedness(n, &edges);
            let rank = ranker(&times, &related);
            // The moved document q is the original inv[q], with its id and date.
            let rank_moved = |q: u32| rank(inv[q as usize]);
            let p = cluster(n, &links(&edges), &apart, rank);
            let r = cluster(n, &links(&moved), &moved_apart, rank_moved);
            for (d, &q) in perm.iter().enumerate() {
                let q = q as usize;
                prop_assert_eq!(
                    p.canonical[p.group_of[d] as usize],
                    inv[r.canonical[r.group_of[q] as usize] as usize]
                );
            }
        }
    }

    proptest! {
        /// Documents arriving one at a time, then some leaving: after each step the
        /// online groups equal [`cluster`] of the documents held (brute force).
        #[test]
        fn online_groups_equal_the_batch_rule((n, list, times) in graph(), gone in any::<u64>()) {
            let (edges, apart) = edges_of(&list);
            let mut adj: Vec<Links> = vec![Links::default(); n];
            let mut live = vec![false; n];
            let mut online = Online::new();
            let rank_of = |adj: &Vec<Links>, d: u32| Rank {
                timestamp: times[d as usize],
                related: adj[d as usize].iter().filter(|l| l.is_edge()).map(|l| quantise(l.similarity)).sum(),
                hash: 0,
                id: IDS[d as usize],
            };
            let check = |online: &Online, adj: &Vec<Links>, live: &[bool]| {
                let held: Vec<u32> = (0..n as u32).filter(|&d| live[d as usize]).collect();
                let local = |d: u32| held.binary_search(&d).unwrap() as u32;
                let mut links = Vec::new();
                let mut refused = Vec::new();
                for &x in &held {
                    for l in &adj[x as usize] {
                        if x < l.doc() && l.apart() {
                            refused.push((local(x), local(l.doc())));
                        } else if x < l.doc() {
                            links.push((local(x), local(l.doc()), l.relation()));
                        }
                    }
                }
                let p = cluster(held.len(), &links, &refused, |i| rank_of(adj, held[i as usize]));
                for (i, &d) in held.iter().enumerate() {
                    let g = online.group_of(d).expect("placed");
                    let want = held[p.canonical[p.group_of[i] as usize] as usize];
                    assert_eq!(online.canonical(g), want, "document {d}");
                    assert_eq!(online.tie(d), p.tie(i as u32), "document {d}'s tie");
                }
                // No two groups share an id, and each id names its group.
                let mut ids: Vec<&str> = online.groups().map(|g| online.id(g)).collect();
                for g in online.groups() {
                    assert_eq!(online.named(online.id(g)), Some(g));
                }
                ids.sort_unstable();
                let n = ids.len();
                ids.dedup();
                assert_eq!(ids.len(), n, "group ids are distinct");
            };
            for d in 0..n as u32 {
                assert_eq!(online.push(), d);
                live[d as usize] = true;
                for e in edges.iter().filter(|e| e.b == d) {
                    let nb = |doc| Neighbour::edge(doc, e.relation, e.similarity(), false);
                    adj[e.a as usize].push(nb(d));
                    adj[d as usize].push(nb(e.a));
                }
                for &(a, _) in apart.iter().filter(|p| p.1 == d) {
                    let nb = |doc| Neighbour::refused(doc, false);
                    adj[a as usize].push(nb(d));
                    adj[d as usize].push(nb(a));
                }
                online.regroup(&[d], |x| &adj[x as usize], |x| rank_of(&adj, x), |x| IDS[x as usize].into(), usize::MAX);
                check(&online, &adj, &live);
            }
            // Some leave: their edges go, their neighbours and group are grouped again.
            for d in (0..n as u32).filter(|d| gone >> d & 1 == 1) {
                let g = online.group_of(d).expect("placed");
                let mut seeds: Vec<u32> = adj[d as usize].iter().map(Neighbour::doc).collect();
                for l in &std::mem::take(&mut adj[d as usize]) {
                    adj[l.doc() as usize].remove(d);
                }
                live[d as usize] = false;
                online.remove(d);
                seeds.extend_from_slice(online.members(g));
                online.regroup(&seeds, |x| &adj[x as usize], |x| rank_of(&adj, x), |x| IDS[x as usize].into(), usize::MAX);
                check(&online, &adj, &live);
            }
        }
    }

    #[test]
    fn rank_is_earliest_then_most_related_then_hash_then_id() {
        let r = |timestamp, related, hash, id| Rank {
            timestamp,
            related,
            hash,
            id,
        };
        assert!(r(Some(5), 0, 9, "z") < r(Some(6), 99, 0, "a"));
        assert!(r(Some(6), 0, 0, "a") < r(None, 99, 0, "a"));
        assert!(r(None, 5, 9, "z") < r(None, 4, 0, "a"));
        assert!(r(None, 5, 1, "z") < r(None, 5, 2, "a"));
        assert!(r(None, 5, 1, "a") < r(None, 5, 1, "b"));
    }
}
