//! What a crawler asks an [`Index`] without inserting: where a document would be
//! placed ([`Index::query`]), whether an id is held ([`Index::contains`]), where a held
//! document stands ([`Index::placement`]) and who is in a group ([`Index::members`]).

use std::collections::{HashMap, HashSet};

use super::{Index, MAX_REGION, Match, Prepared, Probe, State};
use crate::config::Config;
use crate::document::Document;
use crate::features::{Features, Scratch};
use crate::group::{Apart, Link, Name, Neighbour, Online, Rank, cluster, is_copy, quantise};
use crate::verify::{DocView, Edge, Rarity, Relation, Role, Verifier, relation_similarity};

/// Where a held document stands: its group and its relation to the group's canonical
/// member ([`Index::placement`], [`Index::members`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Placement {
    /// The document's id.
    pub id: String,
    /// Its group's id, or `None` when it is alone.
    pub group: Option<String>,
    /// The id of the group's canonical member (its own id when alone or canonical).
    pub canonical: String,
    /// Its relation to the canonical member ([`Role::Canonical`] for the canonical
    /// member itself), as [`Verdict::relation`](crate::Verdict) reads it: when the pair
    /// alone is no edge, how the document joined the group.
    pub relation: Role,
    /// Its similarity to the canonical member (1 for the canonical member itself), as
    /// [`Match::similarity`](crate::Match) gives it.
    pub similarity: f32,
}

/// Options of [`Index::query_with`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueryOptions {
    /// The most matches returned (the strongest); `None` for all of them. The placement
    /// is the same whatever the limit.
    pub limit: Option<usize>,
}

/// What a query found: where the document would be placed if it were inserted now, and
/// its matches among the documents held ([`Index::query`]).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct QueryResult {
    /// The id of the group it would join, or `None` when it would be alone. When it
    /// would found a group with held documents, the id that group would get.
    pub group: Option<String>,
    /// The id of the canonical member of that group: the document's own id when it
    /// would be canonical (or alone).
    pub canonical: String,
    /// Its relation to that canonical member.
    pub relation: Role,
    /// Its similarity to that canonical member (1 when it would be canonical).
    pub similarity: f32,
    /// Its verified matches among the documents held, strongest first (relation, then
    /// similarity, then id): every exact copy of a matched body is listed, with the
    /// body's relation and similarity, and when its own body is held, what that body
    /// matches. At most [`QueryOptions::limit`].
    pub matches: Vec<Match>,
    /// How many matches there are in all (more than `matches.len()` when limited).
    pub total_matches: usize,
}

impl Index {
    /// Where a document would be placed and what it matches, without inserting it; see
    /// [`Index::query_with`]. All matches are returned.
    #[must_use]
    pub fn query(&self, doc: &Document) -> QueryResult {
        self.query_with(doc, QueryOptions::default())
    }

    /// Where a document would be placed and what it matches, without inserting it: the
    /// index does not change, and the document's id is not looked up (a held id gets an
    /// answer as if the document were another one).
    ///
    /// **Matches** are what [`Index::insert`] would verify, plus every exact copy held
    /// of each matched body (the index keeps one representative per body in its tables;
    /// its copies share its relation and similarity). A document whose body is held
    /// also matches what that body matches, with the body's relations.
    ///
    /// **Placement.** The group is predicted by the insertion's grouping rule
    /// ([`crate::group`]) run, without changing anything, over the groups the document
    /// would touch: its matches' groups with their edges, the document's new edges, the
    /// edges an insertion verifies between its neighbours, less the edges between
    /// neighbours that an insertion takes back (a neighbour it takes past 8 direct
    /// neighbours no longer holds them; see `index::retract`). With frozen word
    /// statistics ([`Index::with_stats`]) it is what an insertion now gives (group,
    /// canonical, relation and similarity), but for one rare case where the insertion
    /// regroups further away: the document becomes the canonical member of a group that
    /// then takes a rewrite of another group's canonical member away from it. Past the
    /// insertion's regrouping limit (a story copied tens of thousands of times), both
    /// place the document in its strongest joinable neighbour's group. An index that
    /// learns statistics ([`Index::new`]) counts an inserted document's own words before
    /// comparing it, which a query does not: the similarity of a rewrite then differs
    /// slightly, and a borderline rewrite can be found by one and not the other (6
    /// placements of Reuters' first 3,000 documents; test
    /// `query_predicts_the_insertion_on_reuters`).
    #[must_use]
    pub fn query_with(&self, doc: &Document, options: QueryOptions) -> QueryResult {
        let p = Scratch::with_local(|scratch| self.prepare(doc.clone(), scratch));
        let state = self.state();
        let probe = state.probe(&self.config, &p);
        let (group, canonical, relation) = state.predict(&self.config, &p, &probe);
        let mut matches = state.matches_with_copies(&probe.edges);
        let total_matches = matches.len();
        if let Some(limit) = options.limit {
            matches.truncate(limit);
        }
        QueryResult {
            group,
            canonical,
            relation: relation.into(),
            similarity: relation.map_or(1.0, |r| r.1),
            matches,
            total_matches,
        }
    }

    /// Whether a document with this id is held.
    #[must_use]
    pub fn contains(&self, id: &str) -> bool {
        self.state().find(id).is_some()
    }

    /// Where a held document stands: its group (when in a group of two or more), the
    /// canonical member, its relation and similarity to it. `None` when no document
    /// has this id.
    #[must_use]
    pub fn placement(&self, id: &str) -> Option<Placement> {
        let state = self.state();
        let d = state.find(id)?;
        Some(state.placement_of(&state.groups(), &self.config, d))
    }

    /// The members of a group of two or more, by the group's id (as in
    /// [`Placement::group`] and [`Verdict::group`](super::Verdict)): the canonical
    /// member first, then the others in the order they were inserted. `None` when no
    /// group of two or more has this id.
    #[must_use]
    pub fn members(&self, group: &str) -> Option<Vec<Placement>> {
        let state = self.state();
        let groups = state.groups();
        let g = groups
            .named(group)
            .filter(|&g| groups.members(g).len() >= 2)?;
        let canon = groups.canonical(g);
        let order =
            std::iter::once(canon).chain(groups.members(g).iter().copied().filter(|&m| m != canon));
        Some(
            order
                .map(|d| state.placement_of(&groups, &self.config, d))
                .collect(),
        )
    }

    /// The publication time of a held document; `None` when it has none or no document
    /// has this id (see [`Index::contains`]).
    #[must_use]
    pub fn timestamp_of(&self, id: &str) -> Option<i64> {
        let state = self.state();
        let d = state.find(id)?;
        state.slot(d).timestamp.get()
    }
}

impl State {
    /// The [`Placement`] of held document `d`.
    fn placement_of(&self, groups: &Online, config: &Config, d: u32) -> Placement {
        let (group, canonical, relation) = self.placement(groups, config, d);
        Placement {
            id: self.slot(d).id.to_string(),
            group,
            canonical,
            relation: relation.into(),
            similarity: relation.map_or(1.0, |r| r.1),
        }
    }

    /// The representative of held document `d`'s body in the tables (itself when it
    /// has no body or is the first copy).
    pub(super) fn representative(&self, d: u32) -> u32 {
        let s = self.slot(d);
        match self.rep_of(s.exact) {
            Some(r) if s.listed => r,
            _ => d,
        }
    }

    /// The matches of `edges` (from a new document to held ones) with every held exact
    /// copy of each matched body, strongest first. When the new document copies a held
    /// body exactly (its one edge, as an insertion finds it), that body's own matches are
    /// its matches too.
    fn matches_with_copies(&self, edges: &[Edge]) -> Vec<Match> {
        let mut seen: HashSet<u32> = HashSet::new();
        let mut found: Vec<(u32, Relation, f32)> = Vec::new();
        let mut add = |d: u32, relation: Relation, similarity: f32| {
            if !seen.insert(d) {
                return;
            }
            found.push((d, relation, similarity));
            let exact = self.slot(d).exact;
            if self.rep_of(exact) == Some(d)
                && let Some(copies) = self.tables.copies.get(&exact)
            {
                for &c in copies {
                    if seen.insert(c) {
                        found.push((c, relation, similarity));
                    }
                }
            }
        };
        for e in edges {
            add(e.a, e.relation, e.similarity());
        }
        for e in edges.iter().filter(|e| e.relation == Relation::Exact) {
            for l in self.links[e.a as usize].iter().filter(|l| l.is_edge()) {
                add(l.doc(), l.relation(), l.similarity());
            }
        }
        let mut m: Vec<Match> = found
            .into_iter()
            .map(|(d, relation, similarity)| Match {
                id: self.slot(d).id.to_string(),
                relation,
                similarity,
            })
            .collect();
        super::sort_matches(&mut m);
        m
    }

    /// Where a prepared document whose insertion would change what `probe` says would be
    /// placed if inserted now: group id, canonical id, relation and similarity to the
    /// canonical member (`None` when it would be canonical). See [`Index::query_with`].
    fn predict(
        &self,
        config: &Config,
        p: &Prepared,
        probe: &Probe,
    ) -> (Option<String>, String, Option<(Relation, f32)>) {
        let (edges, pairs, gone) = (&probe.edges, &probe.pairs, &probe.gone);
        let online = self.groups();
        let alone = (None, p.doc.id.clone(), None);
        if edges.is_empty() {
            return alone;
        }
        // The edges an insertion adds: the document's own, and those between its
        // neighbours; relatedness (in ranks) grows by their similarities.
        let mut extra: HashMap<u32, u64> = HashMap::new();
        for e in edges {
            *extra.entry(e.a).or_default() += quantise(e.similarity());
        }
        for (x, nb) in pairs.iter().filter(|p| p.1.is_edge()) {
            *extra.entry(*x).or_default() += quantise(nb.similarity());
            *extra.entry(nb.doc()).or_default() += quantise(nb.similarity());
        }
        // Ranks as after the insertion. A copy counts what its representative counts,
        // and so does the document when it copies a held body.
        let is_gone = |x: u32, y: u32| gone.binary_search(&(x.min(y), x.max(y))).is_ok();
        let related = |d: u32| {
            let rep = self.representative(d);
            let held: u64 = self.links[rep as usize]
                .iter()
                .filter(|l| l.is_edge() && !is_gone(rep, l.doc()))
                .map(|l: Neighbour| quantise(l.similarity()))
                .sum();
            held + extra.get(&rep).copied().unwrap_or(0)
        };
        let own = match self.rep_of(p.features.exact) {
            Some(rep) if p.listed => related(rep),
            _ => edges.iter().map(|e| quantise(e.similarity())).sum(),
        };
        let own_rank = Rank {
            timestamp: p.doc.timestamp,
            related: own,
            hash: p.features.exact,
            id: &p.doc.id,
        };
        // The region: every member of the groups the document touches, then the
        // document (numbered last).
        let mut docs: Vec<u32> = Vec::new();
        let mut taken: HashSet<u32> = HashSet::new();
        for e in edges {
            if let Some(g) = online.group_of(e.a)
                && taken.insert(g)
            {
                docs.extend_from_slice(online.members(g));
            }
        }
        docs.sort_unstable();
        docs.dedup();
        if docs.len() + 1 > MAX_REGION {
            // As the insertion: too many to group again, the document joins the group
            // of its strongest neighbour that it may join without chaining (a copy, a
            // canonical member, or a member copied from its canonical), or stays alone.
            let joinable = |e: &&Edge| {
                let g = online.group_of(e.a).expect("a placed document");
                is_copy(e.relation) || online.canonical(g) == e.a || is_copy(online.tie(e.a))
            };
            let Some(best) = edges.iter().filter(joinable).min_by(|x, y| {
                x.relation
                    .cmp(&y.relation)
                    .then(y.similarity().total_cmp(&x.similarity()))
                    .then(x.a.cmp(&y.a))
            }) else {
                return alone;
            };
            let g = online.group_of(best.a).expect("a placed document");
            let c = online.canonical(g);
            let id = online.id(g).to_owned();
            // It becomes canonical when it ranks first.
            let held = Rank {
                related: related(c),
                ..self.rank(c)
            };
            if own_rank < held {
                return (Some(id), p.doc.id.clone(), None);
            }
            let relation = self.relation_to(config, p, edges, c, best.relation);
            return (Some(id), self.slot(c).id.to_string(), Some(relation));
        }
        let local: HashMap<u32, u32> = docs
            .iter()
            .enumerate()
            .map(|(i, &d)| (d, i as u32))
            .collect();
        let me = docs.len() as u32;
        let mut links: Vec<Link> = Vec::new();
        let mut apart: Vec<Apart> = Vec::new();
        for (i, &x) in docs.iter().enumerate() {
            for nb in &self.links[x as usize] {
                if let Some(&j) = local.get(&nb.doc())
                    && (i as u32) < j
                    && !is_gone(x, nb.doc())
                {
                    if nb.apart() {
                        apart.push((i as u32, j));
                    } else {
                        links.push((i as u32, j, nb.relation()));
                    }
                }
            }
        }
        for (x, nb) in pairs {
            if let (Some(&i), Some(&j)) = (local.get(x), local.get(&nb.doc())) {
                links.push((i.min(j), i.max(j), nb.relation()));
            }
        }
        for e in edges {
            if let Some(&i) = local.get(&e.a) {
                links.push((i, me, e.relation));
            }
        }
        // Refusals its arrival brings: its own (numbered `u32::MAX`) and between held
        // documents.
        let num = |d: u32| {
            if d == u32::MAX {
                Some(me)
            } else {
                local.get(&d).copied()
            }
        };
        for &(x, y) in &probe.apart {
            if let (Some(i), Some(j)) = (num(x), num(y)) {
                apart.push((i, j));
            }
        }
        let mut ranks: Vec<Rank<'_>> = docs
            .iter()
            .map(|&d| Rank {
                related: related(d),
                ..self.rank(d)
            })
            .collect();
        ranks.push(own_rank);
        let partition = cluster(docs.len() + 1, &links, &apart, |i| ranks[i as usize]);
        let g = partition.group_of[me as usize];
        let canon = partition.canonical[g as usize];
        // Group ids as an insertion gives them (`Online::names`).
        let groups = partition.ranked_members(|i| ranks[i as usize]);
        let mine = &groups[g as usize];
        let id = (mine.len() >= 2).then(|| {
            let names = online.names(
                &groups,
                |i| (i != me).then(|| online.group_of(docs[i as usize]))?,
                |i| ranks[i as usize].id.into(),
            );
            match &names[g as usize] {
                Name::Old(o) => online.id(*o).to_owned(),
                Name::New(name) => name.to_string(),
            }
        });
        if canon == me {
            return (id, p.doc.id.clone(), None);
        }
        if id.is_none() {
            return alone;
        }
        let c = docs[canon as usize];
        let relation = self.relation_to(config, p, edges, c, partition.tie(me));
        (id, self.slot(c).id.to_string(), Some(relation))
    }

    /// The relation and similarity of a prepared document to held document `c`, as
    /// [`State::placement`] finds them: its edge to `c` (or to `c`'s body), an exact
    /// copy, else the pair verified now, else `tie`.
    fn relation_to(
        &self,
        config: &Config,
        p: &Prepared,
        edges: &[Edge],
        c: u32,
        tie: Relation,
    ) -> (Relation, f32) {
        let rep = self.representative(c);
        if let Some(e) = edges.iter().find(|e| e.a == c || e.a == rep) {
            return (e.relation, e.similarity());
        }
        let exact = p.features.exact;
        if exact != 0 && exact == self.slot(c).exact {
            return (Relation::Exact, 1.0);
        }
        let verifier = Verifier::new(config);
        let weights = self.weights(&p.features, config);
        let view = DocView {
            features: &p.features,
            rarity: Rarity::Weights(&weights),
            timestamp: p.doc.timestamp,
        };
        let mut buf = Features::default();
        let held = self.view(c, &mut buf);
        let scores = verifier.score(held, view);
        let r = verifier
            .classify(held.features, &p.features, &scores)
            .unwrap_or(tie);
        (r, relation_similarity(r, &scores))
    }
}
