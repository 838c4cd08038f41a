//! Neighbours of neighbours kept as the batch run keeps them.
//!
//! The batch run pairs the neighbours of every document with at most [`MAX_DEGREE`]
//! direct near neighbours in the final graph ([`crate::closing`]). The index pairs them
//! when an insert is searched, while a document's degree may still be small. So a
//! closing edge (see [`Neighbour::closing`]) stands only while a *witness* holds it: a
//! document joined to both ends by direct near edges, with at most [`MAX_DEGREE`] of
//! them. A commit that takes a document past [`MAX_DEGREE`] retracts the closing edges
//! among its neighbours that no other witness holds ([`State::retract_unwitnessed`]);
//! a removal that brings a document back to [`MAX_DEGREE`] pairs its neighbours
//! ([`State::close_around`]), and retracts what the removed document alone held. A pair
//! that neighbours of neighbours refused as different stories ([`Neighbour::apart`])
//! stands and goes as a closing edge does.

use super::State;
use crate::closing::MAX_DEGREE;
use crate::config::Config;
use crate::group::Neighbour;
use crate::verify::{Judgement, Relation, Verifier, relation_similarity};

impl State {
    /// Document `d`'s direct near neighbours: what neighbours of neighbours pair and
    /// count (not exact copies, not edges found by pairing, not refused pairs).
    pub(super) fn direct(&self, d: u32) -> impl Iterator<Item = u32> + '_ {
        self.links[d as usize]
            .iter()
            .filter(|l| l.is_edge() && !l.closing() && l.relation() != Relation::Exact)
            .map(Neighbour::doc)
    }

    /// Document `d`'s direct near neighbours, sorted.
    pub(super) fn direct_sorted(&self, d: u32) -> Vec<u32> {
        let mut v: Vec<u32> = self.direct(d).collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Whether `d` pairs its neighbours: at most [`MAX_DEGREE`] direct near ones.
    pub(super) fn pairs_neighbours(&self, d: u32) -> bool {
        self.direct(d).nth(MAX_DEGREE).is_none()
    }

    /// Whether some document pairing its neighbours has both `x` and `y` among them,
    /// once a new document has direct near edges to `gaining` (held, sorted; none in a
    /// commit, whose edges are held already): the new document included.
    fn witnessed(&self, x: u32, y: u32, gaining: &[u32]) -> bool {
        let gains = |v: u32| gaining.binary_search(&v).is_ok();
        if !gaining.is_empty() && gaining.len() <= MAX_DEGREE && gains(x) && gains(y) {
            return true;
        }
        let of_y = self.direct_sorted(y);
        self.direct(x).any(|v| {
            of_y.binary_search(&v).is_ok()
                && self
                    .direct(v)
                    .nth(MAX_DEGREE - usize::from(gains(v)))
                    .is_none()
        })
    }

    /// The closing edges between any two of `ends` that no witness holds (see
    /// [`State::witnessed`]; `gaining` likewise), lower end first.
    fn unwitnessed(&self, ends: &[u32], gaining: &[u32]) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for (k, &x) in ends.iter().enumerate() {
            for &y in &ends[k + 1..] {
                let closing = self.links[x as usize]
                    .iter()
                    .any(|l| l.doc() == y && l.closing());
                if closing && !self.witnessed(x, y, gaining) {
                    out.push((x.min(y), x.max(y)));
                }
            }
        }
        out
    }

    /// Takes out the closing edges between any two of `ends` that no witness holds any
    /// more (after a document among their neighbours stopped pairing them), both ways.
    /// Their ends are added to `seeds` and to [`State::relinked`].
    pub(super) fn retract_unwitnessed(&mut self, ends: &[u32], seeds: &mut Vec<u32>) {
        for (x, y) in self.unwitnessed(ends, &[]) {
            self.links[x as usize].remove(y);
            self.links[y as usize].remove(x);
            self.edges_changed(&[x, y], seeds);
        }
    }

    /// The closing edges that inserting a document with direct near edges to `gaining`
    /// (held, sorted) would take out: those between the neighbours of a document it
    /// takes past the cap that no witness holds then. Sorted, lower end first.
    pub(super) fn retracted_by(&self, gaining: &[u32]) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for &w in gaining {
            let ends = self.direct_sorted(w);
            if ends.len() == MAX_DEGREE {
                out.extend(self.unwitnessed(&ends, gaining));
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Pairs the direct near neighbours of `w` (which pairs them again) not linked yet:
    /// each pair verified, its edge added as a closing one. Their ends are added to
    /// `seeds` and to [`State::relinked`].
    pub(super) fn close_around(&mut self, config: &Config, w: u32, seeds: &mut Vec<u32>) {
        if !config.rewrites || !self.pairs_neighbours(w) {
            return;
        }
        let verifier = Verifier::new(config);
        let nb = self.direct_sorted(w);
        let mut found: Vec<(u32, Neighbour)> = Vec::new();
        let mut bufs = Default::default();
        for (k, &x) in nb.iter().enumerate() {
            for &y in &nb[k + 1..] {
                if self.links[x as usize].iter().any(|l| l.doc() == y) {
                    continue;
                }
                let (vx, vy) = self.views(x, y, &mut bufs);
                match verifier.judge(vx, vy) {
                    Judgement::Related(relation, scores) => found.push((
                        x,
                        Neighbour::edge(y, relation, relation_similarity(relation, &scores), true),
                    )),
                    Judgement::Apart => found.push((x, Neighbour::refused(y, true))),
                    Judgement::Unrelated => {}
                }
            }
        }
        for (x, nb) in found {
            self.links[x as usize].push(nb);
            self.links[nb.doc() as usize].push(nb.to(x));
            self.edges_changed(&[x, nb.doc()], seeds);
        }
    }

    /// Records that the edges of `docs` changed: they are grouped again, and a search
    /// that read them is made again ([`State::search_stands`]).
    fn edges_changed(&mut self, docs: &[u32], seeds: &mut Vec<u32>) {
        for &d in docs {
            self.relinked.push_back((self.generation, d));
            seeds.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::Index;
    use crate::weights::TermStats;
    use crate::{Config, Document};

    /// `n` words of a vocabulary of its own (`v`), in a pseudo-random order.
    fn text(v: char, n: usize, seed: u64) -> String {
        words(v, n, seed, 400)
    }

    /// `n` words of `vocabulary` words of their own (`v`), in a pseudo-random order.
    fn words(v: char, n: usize, seed: u64, vocabulary: u64) -> String {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|k| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                format!("{v}{}{}", x % vocabulary, ["a", "o", "e"][k % 3])
            })
            .collect::<Vec<_>>()
            .join(" ")
            + "."
    }

    /// The closing edges held, as id pairs (lower first), sorted.
    fn closing_edges(index: &Index) -> Vec<(String, String)> {
        let state = index.state();
        let mut out = Vec::new();
        for (d, links) in state.links.iter().enumerate() {
            for l in links.iter().filter(|l| l.closing() && (d as u32) < l.doc()) {
                let (a, b) = (
                    state.slot(d as u32).id.to_string(),
                    state.slot(l.doc()).id.to_string(),
                );
                out.push((a.clone().min(b.clone()), a.max(b)));
            }
        }
        out.sort();
        out
    }

    /// Joins held documents `x` and `y` by an edge, both ways (as if verified).
    fn join(index: &Index, x: &str, y: &str, closing: bool) {
        let mut state = index.state_mut();
        let (x, y) = (state.find(x).unwrap(), state.find(y).unwrap());
        let nb = Neighbour::edge(y, Relation::Rewrite, 0.5, closing);
        state.links[x as usize].push(nb);
        state.links[y as usize].push(nb.to(x));
    }

    /// A hub and its satellites (each a part of the hub: a direct near neighbour of it;
    /// the last one found by its search). While the hub has at most [`MAX_DEGREE`]
    /// direct neighbours it pairs them; here two such pairs are closing edges, one also
    /// held by a witness of its own. The batch run, which sees the hub's final degree,
    /// keeps the witnessed one only; so does the index once the hub gains a ninth
    /// neighbour, and once the witness is removed, neither. A removal that takes the hub
    /// back to the cap has it pair its neighbours again.
    #[test]
    fn a_hub_past_the_degree_cap_loses_the_closing_edges_it_alone_held() {
        let config = Config::default();
        let mut parts: Vec<String> = (0..=MAX_DEGREE as u64)
            .map(|k| {
                // The last part repeats few words: the hub's keywords (its most frequent
                // rare words), so that its search finds the last satellite.
                let vocabulary = if k == MAX_DEGREE as u64 { 8 } else { 400 };
                words(char::from(b'b' + k as u8), 100, k + 1, vocabulary)
            })
            .collect();
        // The first two satellites are one story, lightly edited.
        let mut edited: Vec<&str> = parts[0].split(' ').collect();
        let n = edited.len();
        edited[n - 3..].copy_from_slice(&["zed", "zoo", "zap."]);
        parts[1] = edited.join(" ");
        let hub = Document::new("hub", parts.join(" "));
        let sats: Vec<Document> = (0..=MAX_DEGREE)
            .map(|k| Document::new(format!("sat{k}"), parts[k].clone()))
            .collect();
        let witness = Document::new("witness", text('w', 300, 99));
        let mut all = vec![hub.clone(), witness.clone()];
        all.extend(sats.iter().cloned());
        let stats = TermStats::from_documents(&all, &config);
        let index = Index::with_stats(config.clone(), stats).unwrap();
        index.insert(hub.clone()).unwrap();
        index.insert(witness.clone()).unwrap();
        for s in &sats[..MAX_DEGREE] {
            index.insert(s.clone()).unwrap();
        }
        // The hub lists 20 keywords of its 900 words: the satellites its keywords miss
        // are joined by hand.
        for s in &sats[..MAX_DEGREE] {
            let linked = {
                let state = index.state();
                let d = state.find(&s.id).unwrap();
                state.links[0].iter().any(|l| l.doc() == d)
            };
            if !linked {
                join(&index, "hub", &s.id, false);
            }
        }
        assert_eq!(
            index.state().direct_sorted(0).len(),
            MAX_DEGREE,
            "every satellite is a direct near neighbour of the hub"
        );
        assert_eq!(closing_edges(&index), [], "satellites are not paired");
        let linked = |x: &str, y: &str| {
            let state = index.state();
            let (x, y) = (state.find(x).unwrap(), state.find(y).unwrap());
            state.links[x as usize].iter().any(|l| l.doc() == y)
        };
        assert!(linked("sat0", "sat1"), "the edited story is found directly");
        join(&index, "sat4", "sat5", true);
        join(&index, "sat2", "sat3", true);
        join(&index, "witness", "sat4", false);
        join(&index, "witness", "sat5", false);
        let pair = |a: &str, b: &str| (a.to_owned(), b.to_owned());
        // The ninth direct neighbour: the hub pairs nothing any more. A query says so
        // first.
        let ninth = sats[MAX_DEGREE].clone();
        let p = index.prepare(ninth.clone(), &mut crate::features::Scratch::default());
        let gone: Vec<(String, String)> = {
            let state = index.state();
            let id = |d: u32| state.slot(d).id.to_string();
            let probe = state.probe(&config, &p);
            probe.gone.iter().map(|&(x, y)| (id(x), id(y))).collect()
        };
        assert_eq!(gone, [pair("sat2", "sat3")]);
        index.insert(ninth).unwrap();
        assert_eq!(index.state().direct_sorted(0).len(), MAX_DEGREE + 1);
        assert_eq!(closing_edges(&index), [pair("sat4", "sat5")]);
        // The file keeps which edges are closing ones.
        let dir = tempfile::tempdir().unwrap();
        index.save(dir.path().join("i.ndx")).unwrap();
        let loaded = Index::load(dir.path().join("i.ndx")).unwrap();
        assert_eq!(closing_edges(&loaded), [pair("sat4", "sat5")]);
        // The witness leaves: nothing holds the last one.
        assert!(index.remove("witness"));
        assert_eq!(closing_edges(&index), []);
        // Had the edited story never been paired directly, the hub back at the cap
        // would pair it, as the batch run over the documents left does.
        {
            let mut state = index.state_mut();
            let (x, y) = (state.find("sat0").unwrap(), state.find("sat1").unwrap());
            state.links[x as usize].remove(y);
            state.links[y as usize].remove(x);
        }
        assert!(index.remove(&sats[MAX_DEGREE].id));
        assert_eq!(closing_edges(&index), [pair("sat0", "sat1")]);
    }
}
