//! Grouping verified edges into syndication groups that do not chain, and choosing each
//! group's canonical member.
//!
//! Documents are taken in input order (the order a crawler would insert them). A document
//! joins the group of an earlier neighbour when the edge is a copy (exact or
//! near-duplicate), or when it is a rewrite edge and the document is also related to one
//! of the group's *anchors*: its canonical member, its founder, and the members that
//! joined by a copy edge (at most [`MAX_ANCHORS`]). A rewrite of a rewrite of a rewrite
//! therefore does not pull a third story in: weak links never chain, only copy links do.
//! A document with no such neighbour starts a group.

use std::cmp::Ordering;

use crate::verify::{Edge, Relation};

/// The most anchors a group keeps.
pub const MAX_ANCHORS: usize = 8;

/// What decides which member of a group is canonical: earliest date, then longest
/// text, then smallest id. Documents without a date come after dated ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CanonicalKey<'a> {
    /// Publication time, if known.
    pub timestamp: Option<i64>,
    /// Length of the text in bytes.
    pub len: u64,
    /// The document id.
    pub id: &'a str,
}

impl Ord for CanonicalKey<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let time = match (self.timestamp, other.timestamp) {
            (Some(a), Some(b)) => a.cmp(&b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        };
        time.then(other.len.cmp(&self.len))
            .then(self.id.cmp(other.id))
    }
}

impl PartialOrd for CanonicalKey<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Incremental grouping state: which group each document is in, and each group's
/// members and canonical member. Used by the batch pipeline and by the index alike.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Grouper {
    /// Group of each document (index into `groups`).
    group_of: Vec<u32>,
    /// Members of each group, in the order they joined; the first is the founder.
    members: Vec<Vec<u32>>,
    /// Canonical member of each group.
    canonical: Vec<u32>,
    /// Relation of the edge each document joined its group by (founders: `Exact`).
    via: Vec<Relation>,
    /// Anchors of each group: founder and members that joined by a copy edge.
    anchors: Vec<Vec<u32>>,
}

impl Grouper {
    /// An empty grouper.
    #[must_use]
    pub fn new() -> Self {
        Grouper::default()
    }

    /// Number of documents placed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.group_of.len()
    }

    /// True when no document was placed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.group_of.is_empty()
    }

    /// Places the next document (its index is `self.len()`), given its verified edges to
    /// earlier documents. `key(i)` gives the canonical key of document `i`; `related(a,
    /// d)` tells whether document `d` is a rewrite or closer of anchor `a` (used when no
    /// verified edge between them is at hand). Returns the group index.
    ///
    /// # Panics
    /// With 2^32 documents or more.
    pub fn place<'k>(
        &mut self,
        edges: &[Edge],
        key: impl Fn(u32) -> CanonicalKey<'k>,
        mut related: impl FnMut(u32, u32) -> bool,
    ) -> u32 {
        let doc = u32::try_from(self.group_of.len()).expect("fewer than 2^32 documents");
        let mut order: Vec<&Edge> = edges.iter().filter(|e| e.b == doc && e.a < doc).collect();
        // Strongest relation first, then highest rewrite score, then earliest neighbour.
        order.sort_by(|x, y| {
            x.relation
                .cmp(&y.relation)
                .then(
                    y.scores
                        .rewrite_score()
                        .total_cmp(&x.scores.rewrite_score()),
                )
                .then(x.a.cmp(&y.a))
        });
        let mut tried: Vec<u32> = Vec::new();
        let mut chosen = None;
        for e in &order {
            let g = self.group_of[e.a as usize];
            if e.relation == Relation::Rewrite {
                if tried.contains(&g) {
                    continue;
                }
                tried.push(g);
                let canon = self.canonical[g as usize];
                let anchored = std::iter::once(canon)
                    .chain(
                        self.anchors[g as usize]
                            .iter()
                            .copied()
                            .filter(|&a| a != canon),
                    )
                    .any(|a| match order.iter().find(|f| f.a == a) {
                        Some(_) => true,
                        None => related(a, doc),
                    });
                if !anchored {
                    continue;
                }
            }
            chosen = Some((g, e.relation));
            break;
        }
        self.via.push(chosen.map_or(Relation::Exact, |c| c.1));
        let g = if let Some((g, relation)) = chosen {
            self.members[g as usize].push(doc);
            if relation != Relation::Rewrite && self.anchors[g as usize].len() < MAX_ANCHORS {
                self.anchors[g as usize].push(doc);
            }
            let c = self.canonical[g as usize];
            if key(doc) < key(c) {
                self.canonical[g as usize] = doc;
            }
            g
        } else {
            let g = u32::try_from(self.members.len()).expect("fewer than 2^32 groups");
            self.members.push(vec![doc]);
            self.canonical.push(doc);
            self.anchors.push(vec![doc]);
            g
        };
        self.group_of.push(g);
        g
    }

    /// Places the next document (its index is `self.len()`) by connected components:
    /// it joins the groups of all its earlier neighbours in `edges`, which merge into the
    /// one founded first. Used when every edge is a copy (no rewrite tier), where
    /// chaining is wanted: the groups are then the transitive closure of the edges, in
    /// which members stay in input order. Returns the group index.
    ///
    /// Merged groups are left empty (they keep their index; [`Grouper::compact`] drops
    /// them).
    ///
    /// # Panics
    /// With 2^32 documents or more.
    pub fn place_merging<'k>(
        &mut self,
        edges: &[Edge],
        key: impl Fn(u32) -> CanonicalKey<'k>,
    ) -> u32 {
        let doc = u32::try_from(self.group_of.len()).expect("fewer than 2^32 documents");
        let mut groups: Vec<u32> = Vec::new();
        let mut via = None;
        for e in edges.iter().filter(|e| e.b == doc && e.a < doc) {
            let g = self.group_of[e.a as usize];
            if !groups.contains(&g) {
                groups.push(g);
            }
            via = Some(via.map_or(e.relation, |v: Relation| v.min(e.relation)));
        }
        self.via.push(via.unwrap_or(Relation::Exact));
        let Some(&target) = groups.iter().min() else {
            let g = u32::try_from(self.members.len()).expect("fewer than 2^32 groups");
            self.members.push(vec![doc]);
            self.canonical.push(doc);
            self.anchors.push(vec![doc]);
            self.group_of.push(g);
            return g;
        };
        let t = target as usize;
        let mut canon = self.canonical[t];
        for &g in groups.iter().filter(|&&g| g != target) {
            let moved = std::mem::take(&mut self.members[g as usize]);
            for &m in &moved {
                self.group_of[m as usize] = target;
            }
            let c = self.canonical[g as usize];
            if key(c) < key(canon) {
                canon = c;
            }
            let anchors = std::mem::take(&mut self.anchors[g as usize]);
            for a in anchors {
                if self.anchors[t].len() < MAX_ANCHORS {
                    self.anchors[t].push(a);
                }
            }
            // Both lists are in input order: merge them.
            let kept = std::mem::take(&mut self.members[t]);
            let mut merged = Vec::with_capacity(kept.len() + moved.len() + 1);
            let (mut i, mut j) = (0, 0);
            while i < kept.len() && j < moved.len() {
                if kept[i] < moved[j] {
                    merged.push(kept[i]);
                    i += 1;
                } else {
                    merged.push(moved[j]);
                    j += 1;
                }
            }
            merged.extend_from_slice(&kept[i..]);
            merged.extend_from_slice(&moved[j..]);
            self.members[t] = merged;
        }
        self.members[t].push(doc);
        if self.anchors[t].len() < MAX_ANCHORS {
            self.anchors[t].push(doc);
        }
        if key(doc) < key(canon) {
            canon = doc;
        }
        self.canonical[t] = canon;
        self.group_of.push(target);
        target
    }

    /// Takes a document out of its group (it stays counted in `len`, as a tombstone).
    /// When it was the canonical member, the best remaining member by `key` takes its
    /// place; the group keeps its founder's id even when the founder leaves, so group ids
    /// stay stable. Anchors that leave are not replaced.
    pub fn remove<'k>(&mut self, doc: u32, key: impl Fn(u32) -> CanonicalKey<'k>) {
        let g = self.group_of[doc as usize] as usize;
        self.members[g].retain(|&m| m != doc);
        self.anchors[g].retain(|&m| m != doc);
        if self.canonical[g] == doc
            && let Some(&best) = self.members[g]
                .iter()
                .min_by(|&&x, &&y| key(x).cmp(&key(y)))
        {
            self.canonical[g] = best;
        }
    }

    /// Renumbers after documents left: `new_number[d]` is document `d`'s new number, or
    /// `None` for a removed one; numbers must keep the documents' order. Groups without
    /// members are dropped. Returns, for each old group, its new index (or `None`).
    ///
    /// # Panics
    /// When `new_number` is shorter than [`Grouper::len`] or maps a member to `None`.
    pub fn compact(&mut self, new_number: &[Option<u32>]) -> Vec<Option<u32>> {
        let renumber = |v: &[u32]| -> Vec<u32> {
            v.iter()
                .map(|&d| new_number[d as usize].expect("members are live"))
                .collect()
        };
        let mut group_map = vec![None; self.members.len()];
        let mut out = Grouper::default();
        for (g, members) in self.members.iter().enumerate() {
            if members.is_empty() {
                continue;
            }
            group_map[g] = Some(u32::try_from(out.members.len()).expect("fewer than 2^32 groups"));
            out.members.push(renumber(members));
            out.canonical
                .push(new_number[self.canonical[g] as usize].expect("canonical is live"));
            out.anchors.push(renumber(&self.anchors[g]));
        }
        for (d, n) in new_number.iter().enumerate().take(self.group_of.len()) {
            if n.is_some() {
                let g = self.group_of[d] as usize;
                out.group_of
                    .push(group_map[g].expect("a live document's group is kept"));
                out.via.push(self.via[d]);
            }
        }
        *self = out;
        group_map
    }

    /// Group index of a document.
    #[must_use]
    pub fn group_of(&self, doc: u32) -> u32 {
        self.group_of[doc as usize]
    }

    /// Relation of the edge by which a document joined its group.
    #[must_use]
    pub fn joined_by(&self, doc: u32) -> Relation {
        self.via[doc as usize]
    }

    /// Members of a group, in joining order.
    #[must_use]
    pub fn members(&self, group: u32) -> &[u32] {
        &self.members[group as usize]
    }

    /// Canonical member of a group.
    #[must_use]
    pub fn canonical(&self, group: u32) -> u32 {
        self.canonical[group as usize]
    }

    /// Number of groups, singletons included.
    #[must_use]
    pub fn groups(&self) -> usize {
        self.members.len()
    }
}

impl Grouper {
    /// Checks what a file read from disk must hold (an index file with a valid checksum
    /// but inconsistent groups would otherwise panic later): every live document is a
    /// member of exactly the group it points to, members are live, canonical members and
    /// anchors are members. `docs` is the number of document slots, `live(d)` whether
    /// slot `d` holds a document.
    pub(crate) fn check(&self, docs: usize, live: impl Fn(u32) -> bool) -> Result<(), String> {
        let groups = self.members.len();
        if self.group_of.len() != docs
            || self.via.len() != docs
            || self.canonical.len() != groups
            || self.anchors.len() != groups
        {
            return Err("the group tables have different lengths".into());
        }
        let mut seen = vec![false; docs];
        for (g, members) in self.members.iter().enumerate() {
            for &m in members {
                let i = m as usize;
                if i >= docs || !live(m) || seen[i] || self.group_of[i] as usize != g {
                    return Err(format!("group {g} lists document {m} wrongly"));
                }
                seen[i] = true;
            }
            // Members are exactly the live documents pointing to their group (checked
            // here and below), so "in group g" is a lookup.
            let inside =
                |d: u32| (d as usize) < docs && live(d) && self.group_of[d as usize] as usize == g;
            if !members.is_empty() && !inside(self.canonical[g]) {
                return Err(format!("group {g} has a canonical member outside it"));
            }
            if !self.anchors[g].iter().all(|&a| inside(a)) {
                return Err(format!("group {g} has an anchor outside it"));
            }
        }
        match (0..docs).find(|&d| live(d as u32) && !seen[d]) {
            Some(d) => Err(format!("document {d} is in no group")),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::Scores;

    fn edge(a: u32, b: u32, relation: Relation) -> Edge {
        Edge {
            a,
            b,
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

    fn key(i: u32) -> CanonicalKey<'static> {
        const IDS: [&str; 5] = ["a", "b", "c", "d", "e"];
        CanonicalKey {
            timestamp: None,
            len: 100,
            id: IDS[i as usize],
        }
    }

    #[test]
    fn rewrites_do_not_chain() {
        let mut g = Grouper::new();
        let edges = [
            edge(0, 1, Relation::Rewrite),
            edge(1, 2, Relation::Rewrite), // 2 is a rewrite of 1 only, not of canonical 0
        ];
        for _ in 0..3 {
            g.place(&edges, key, |_, _| false);
        }
        assert_eq!(g.group_of(0), g.group_of(1));
        assert_ne!(g.group_of(1), g.group_of(2));
    }

    #[test]
    fn copies_chain() {
        let mut g = Grouper::new();
        let edges = [
            edge(0, 1, Relation::NearDuplicate),
            edge(1, 2, Relation::NearDuplicate),
        ];
        for _ in 0..3 {
            g.place(&edges, key, |_, _| false);
        }
        assert_eq!(g.group_of(0), g.group_of(2));
        assert_eq!(g.canonical(g.group_of(0)), 0);
        assert_eq!(g.members(g.group_of(0)), &[0, 1, 2]);
    }

    #[test]
    fn merging_follows_components() {
        let mut g = Grouper::new();
        // 0-2 and 1-3 form two groups that 4 joins into one, founded by 0.
        let edges = [
            edge(0, 2, Relation::NearDuplicate),
            edge(1, 3, Relation::NearDuplicate),
            edge(3, 4, Relation::Exact),
            edge(2, 4, Relation::NearDuplicate),
        ];
        for _ in 0..5 {
            g.place_merging(&edges, key);
        }
        assert_eq!(g.group_of(4), 0);
        assert!((0..5).all(|d| g.group_of(d) == 0));
        assert_eq!(g.members(0), &[0, 1, 2, 3, 4]);
        assert!(g.members(1).is_empty());
        assert_eq!(g.canonical(0), 0);
        assert_eq!(g.joined_by(4), Relation::Exact);
    }

    #[test]
    fn canonical_is_earliest_then_longest() {
        let a = CanonicalKey {
            timestamp: Some(5),
            len: 10,
            id: "z",
        };
        let b = CanonicalKey {
            timestamp: Some(6),
            len: 99,
            id: "a",
        };
        let c = CanonicalKey {
            timestamp: None,
            len: 999,
            id: "a",
        };
        let d = CanonicalKey {
            timestamp: Some(5),
            len: 20,
            id: "y",
        };
        assert!(a < b && b < c && d < a);
    }
}
