//! The keyword postings: per time slice of the rewrite window, each keyword's chain of
//! the documents listing it, newest first.
//!
//! A keyword is a word hash below `2^24` ([`crate::features::TERM_BITS`]), and the
//! documents listing it in one slice are counted only up to [`MANY`], more than any
//! cap a lookup compares them with ([`crate::keywords::KeywordParams::max_postings`]).
//! So a slice's table holds an entry of 8 bytes per keyword: the keyword and its count in
//! one word, the newest link in the other. One map over all slices, keyed by keyword and
//! slice mixed (8 bytes) to the head and count (8 more), took 144 bytes per document
//! held with 1,000,000 synthetic news articles beside the 80 of links; the tables per
//! slice take about 68 (BENCHMARKS.md, "Postings per slice, shared copies, slots in
//! place, 18-bit shingles").
//!
//! A link is `d * KW + j`, document `d`'s `j`-th keyword; [`Postings::next`] of a link
//! is the next older link of the same keyword and slice. Links name the position, so
//! walking a posting touches a document's entry for that keyword, not its keyword list.
//!
//! A document's next links are held where it has keywords only, as the LSH chains
//! are ([`super::chains`]): a run of as many entries as it lists keywords, appended
//! to one paged array, and where the run starts. An array of [`KW`] entries per document
//! held many empty ones (most documents list fewer, later copies of a body none): with
//! 1,000,000 synthetic news articles held, the links' 80 bytes a document became about
//! 50 (BENCHMARKS.md, "Keyword links where listed"). Reading a link costs one read
//! more (the run's start, then the entry). A document that leaves leaves its run behind
//! (it reads as none); the space is freed when the tables are built again, on loading
//! and after [`crate::Index::compact`].

use std::collections::BTreeMap;

use super::keyless::{Keyless, spread};
use super::paged::Paged;
use super::{KW, NIL};

/// The count of a slice's keyword that stands for this many documents or more (a count
/// fits in a byte beside the 24-bit keyword).
pub(crate) const MANY: u32 = 255;

/// A keyword's postings in one slice: the keyword and how many list it (up to
/// [`MANY`]), then the newest link.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// `keyword << 8 | count`.
    word: u32,
    head: u32,
}

impl Entry {
    fn keyword(self) -> u32 {
        self.word >> 8
    }

    fn count(self) -> u32 {
        self.word & 0xff
    }

    fn with_count(self, count: u32) -> Entry {
        Entry {
            word: self.word & !0xff | count.min(MANY),
            ..self
        }
    }
}

/// One time slice's postings, and how many documents list keywords in it.
#[derive(Debug, Clone, Default)]
struct Slice {
    docs: u32,
    table: Keyless<Entry>,
}

/// One time slice's postings ([`Postings::slice`]).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SliceRef<'a>(&'a Slice);

impl SliceRef<'_> {
    /// The newest link listing `keyword`, and how many documents do (up to [`MANY`]).
    pub fn head(self, keyword: u32) -> Option<(u32, u32)> {
        self.0
            .table
            .get(hash(keyword), |e| e.keyword() == keyword)
            .map(|e| (e.head, e.count()))
    }
}

fn hash(keyword: u32) -> u64 {
    spread(keyword)
}

#[allow(clippy::trivially_copy_pass_by_ref)] // `Keyless` hands entries by reference.
fn rehash(e: &Entry) -> u64 {
    hash(e.keyword())
}

/// The keyword link of document `d`'s `j`-th keyword.
pub(crate) fn link(d: u32, j: usize) -> u32 {
    d * KW as u32 + j as u32
}

/// The keyword postings of an index's documents (see the module docs).
#[derive(Debug, Clone, Default)]
pub(crate) struct Postings {
    slices: BTreeMap<i32, Slice>,
    /// Per document, where its run of links starts in `runs`, or [`NIL`] when it lists
    /// no keyword.
    at: Paged,
    /// Each listing document's next links, in the order of its keywords.
    runs: Paged,
}

impl Postings {
    /// Postings for `docs` documents, none listed.
    pub fn new(docs: usize) -> Self {
        Postings {
            slices: BTreeMap::new(),
            at: Paged::filled(docs, NIL),
            runs: Paged::default(),
        }
    }

    /// Room for `docs` documents.
    pub fn resize(&mut self, docs: usize) {
        self.at.resize(docs, NIL);
    }

    /// The next older link of the same keyword and slice as `link`, or [`NIL`].
    #[inline]
    fn next(&self, link: u32) -> u32 {
        self.runs[place(&self.at, link)]
    }

    /// Lists document `d` under its `keywords` (each below `2^24`) in `slice`.
    pub fn add(&mut self, d: u32, slice: i32, keywords: &[u32]) {
        debug_assert!(keywords.len() <= KW);
        if keywords.is_empty() {
            return;
        }
        debug_assert_eq!(self.at[d as usize], NIL, "document {d} listed already");
        let start = self.runs.len();
        self.runs.resize(start + keywords.len(), NIL);
        self.at[d as usize] = u32::try_from(start).expect("links fit in u32 (MAX_DOCS)");
        let s = self.slices.entry(slice).or_default();
        s.docs += 1;
        for (j, &k) in keywords.iter().enumerate() {
            debug_assert!(k < 1 << crate::features::TERM_BITS);
            let l = link(d, j);
            let first = Entry {
                word: k << 8 | 1,
                head: l,
            };
            if let Some(e) = s
                .table
                .get_mut_or_insert(hash(k), |e| e.keyword() == k, first, rehash)
            {
                self.runs[start + j] = e.head;
                *e = Entry {
                    head: l,
                    ..e.with_count(e.count() + 1)
                };
            }
        }
    }

    /// Takes document `d`, listed under `keywords` in `slice`, out of the postings.
    pub fn remove(&mut self, d: u32, slice: i32, keywords: &[u32]) {
        if keywords.is_empty() {
            return;
        }
        let Postings { slices, at, runs } = self;
        let Some(s) = slices.get_mut(&slice) else {
            return;
        };
        let next = |runs: &Paged, l: u32| runs[place(at, l)];
        for (j, &k) in keywords.iter().enumerate() {
            let mine = link(d, j);
            let after = next(runs, mine);
            runs[place(at, mine)] = NIL;
            let h = hash(k);
            let eq = |e: &Entry| e.keyword() == k;
            let Some(e) = s.table.get_mut(h, eq) else {
                continue;
            };
            if e.count() <= 1 {
                s.table.remove(h, eq);
                continue;
            }
            if e.head == mine {
                e.head = after;
            } else {
                let mut l = e.head;
                while l != NIL {
                    let nx = next(runs, l);
                    if nx == mine {
                        runs[place(at, l)] = after;
                        break;
                    }
                    l = nx;
                }
            }
            // A count of `MANY` is a lower bound: count again, as far as `MANY`.
            let count = if e.count() == MANY {
                links(at, runs, e.head).take(MANY as usize).count() as u32
            } else {
                e.count() - 1
            };
            *e = e.with_count(count);
        }
        s.docs -= 1;
        if s.docs == 0 {
            slices.remove(&slice);
        }
        // Its run is left behind (see the module docs).
        at[d as usize] = NIL;
    }

    /// The postings of `slice`, if any document lists keywords in it. A search looks up
    /// its few slices once, then each keyword in them: a slice's lookup cost a tenth of
    /// an insert's instructions made once per keyword.
    pub fn slice(&self, slice: i32) -> Option<SliceRef<'_>> {
        self.slices.get(&slice).map(SliceRef)
    }

    /// [`SliceRef::head`] in each slice that has the keyword.
    pub fn heads(&self, keyword: u32) -> impl Iterator<Item = (u32, u32)> + '_ {
        self.slices
            .values()
            .filter_map(move |s| SliceRef(s).head(keyword))
    }

    /// The documents of a posting, newest first, from the link `head` on.
    pub fn chain(&self, head: u32) -> impl Iterator<Item = u32> + '_ {
        self.links(head).map(|l| l / KW as u32)
    }

    /// The links of a chain from `head` on.
    fn links(&self, head: u32) -> impl Iterator<Item = u32> + '_ {
        links(&self.at, &self.runs, head)
    }

    /// The documents of several postings, each as [`Postings::chain`] gives it, walked
    /// side by side from `(owner, head)` cursors: `f(owner, document)` for each. A
    /// chain is a pointer chase, one cache miss per link with a million documents held;
    /// one step of every chain in turn has the misses of different chains overlap
    /// instead of queuing. The order between chains is not kept.
    pub fn walk(&self, cursors: &mut Vec<(usize, u32)>, mut f: impl FnMut(usize, u32)) {
        cursors.retain(|c| c.1 != NIL);
        while !cursors.is_empty() {
            for c in cursors.iter_mut() {
                f(c.0, c.1 / KW as u32);
                c.1 = self.next(c.1);
            }
            cursors.retain(|c| c.1 != NIL);
        }
    }

    /// Heap bytes: the slices' tables and the links.
    pub fn heap_bytes(&self) -> usize {
        self.slices
            .values()
            .map(|s| s.table.heap_bytes() + std::mem::size_of::<Slice>() + 16)
            .sum::<usize>()
            + (self.at.capacity() + self.runs.capacity()) * 4
    }
}

/// The links of a chain from `head` on, through the runs starting at `at`.
fn links<'a>(at: &'a Paged, runs: &'a Paged, head: u32) -> impl Iterator<Item = u32> + 'a {
    let mut l = head;
    std::iter::from_fn(move || {
        (l != NIL).then(|| {
            let here = l;
            l = runs[place(at, here)];
            here
        })
    })
}

/// Where the next link of `link` is held in the runs, its document's run starting at
/// `at[document]`.
#[inline]
fn place(at: &Paged, link: u32) -> usize {
    let (d, j) = (link / KW as u32, link % KW as u32);
    let start = at[d as usize];
    debug_assert!(start != NIL, "link {link} of a document listing nothing");
    start as usize + j as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a map of every (keyword, slice)'s documents, newest first, through adds
    /// and removals; counts as the oracle's, up to `MANY`.
    #[test]
    fn postings_hold_what_lists_of_documents_hold() {
        let mut rand = crate::index::test_rand(0x9e37_79b9_7f4a_7c15u64);
        let docs = 3000u32;
        let mut p = Postings::new(docs as usize / 2);
        p.resize(docs as usize);
        let mut oracle = std::collections::HashMap::<(u32, i32), Vec<u32>>::new();
        let mut listed: Vec<Option<(i32, Vec<u32>)>> = vec![None; docs as usize];
        // One common keyword (past `MANY`), a few hundred rare ones, top keyword bits set.
        let keyword = |r: u64| {
            if r < 40 {
                0xff_fffe
            } else {
                (r as u32).wrapping_mul(0x85eb_ca6b) >> 8
            }
        };
        // Documents leave and come back (with other keywords: a new run).
        for round in 0..3 {
            for d in 0..docs {
                if round > 0 && rand(3) > 0 {
                    continue;
                }
                if let Some((slice, ks)) = listed[d as usize].take() {
                    p.remove(d, slice, &ks);
                    for k in &ks {
                        oracle.get_mut(&(*k, slice)).unwrap().retain(|&x| x != d);
                    }
                } else {
                    let slice = rand(3) as i32 - 1;
                    let mut ks: Vec<u32> = (0..rand(KW as u64 + 1))
                        .map(|_| keyword(rand(400)))
                        .collect();
                    ks.sort_unstable();
                    ks.dedup();
                    p.add(d, slice, &ks);
                    for k in &ks {
                        oracle.entry((*k, slice)).or_default().insert(0, d);
                    }
                    listed[d as usize] = Some((slice, ks));
                }
            }
            for (&(k, slice), ds) in &oracle {
                match p.slice(slice).and_then(|s| s.head(k)) {
                    None => assert!(ds.is_empty()),
                    Some((head, count)) => {
                        assert_eq!(p.chain(head).collect::<Vec<_>>(), *ds);
                        assert_eq!(count, (ds.len() as u32).min(MANY));
                    }
                }
            }
        }
        let common = oracle[&(0xff_fffe, 0)].len();
        assert!(common > MANY as usize, "the test passed `MANY`: {common}");
        assert_eq!(p.heads(0xff_fffe).count(), 3);
    }

    /// Posting chains walked side by side give each keyword the documents one walk of
    /// each of its chains gives (the oracle), whatever their lengths.
    #[test]
    fn chains_walked_side_by_side_are_the_chains() {
        let n = 4096;
        let mut p = Postings::new(n / KW + 1);
        // Every document a whole run, so that any link can be used.
        p.runs = Paged::filled(p.at.len() * KW, NIL);
        for d in 0..p.at.len() {
            p.at[d] = (d * KW) as u32;
        }
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut rand = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        // Links in a random order, so that chains interleave through the array.
        let mut free: Vec<u32> = (0..n as u32).collect();
        for i in (1..free.len()).rev() {
            free.swap(i, (rand() % (i as u64 + 1)) as usize);
        }
        // Keyword 2 has two chains (two time slices); one chain is empty.
        let mut heads = Vec::new();
        for (owner, len) in [(0, 0), (1, 1), (2, 7), (2, 40), (3, 3), (4, 25)] {
            let mut head = NIL;
            for _ in 0..len {
                let l = free.pop().expect("room");
                let at = place(&p.at, l);
                p.runs[at] = head;
                head = l;
            }
            heads.push((owner, head));
        }
        let mut got: Vec<Vec<u32>> = vec![Vec::new(); 5];
        let mut cursors = heads.clone();
        p.walk(&mut cursors, |k, d| got[k].push(d));
        let mut want: Vec<Vec<u32>> = vec![Vec::new(); 5];
        for (owner, head) in heads {
            want[owner].extend(p.chain(head));
        }
        for (k, (mut g, mut w)) in got.into_iter().zip(want).enumerate() {
            g.sort_unstable();
            w.sort_unstable();
            assert_eq!(g, w, "keyword {k}");
        }
        assert!(cursors.is_empty());
    }

    /// A count of `MANY` decides as the true count does: past any cap a lookup
    /// compares the counts with.
    #[test]
    fn many_is_past_the_cap() {
        let cap = crate::keywords::KeywordParams::default().max_postings;
        assert!(cap < MANY as usize, "{cap}");
    }

    fn head(p: &Postings, keyword: u32, slice: i32) -> Option<(u32, u32)> {
        p.slice(slice).and_then(|s| s.head(keyword))
    }

    #[test]
    fn a_slice_goes_with_its_last_document() {
        let mut p = Postings::new(4);
        p.add(0, 5, &[1, 2]);
        p.add(1, 5, &[2]);
        p.add(2, 6, &[]);
        assert_eq!(p.slices.len(), 1);
        assert_eq!(head(&p, 2, 5), Some((link(1, 0), 2)));
        p.remove(0, 5, &[1, 2]);
        assert_eq!(head(&p, 1, 5), None);
        assert_eq!(head(&p, 2, 5), Some((link(1, 0), 1)));
        p.remove(1, 5, &[2]);
        assert!(p.slices.is_empty());
    }
}
