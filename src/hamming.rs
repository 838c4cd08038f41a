//! Pairs of 64-bit fingerprints within a Hamming distance, without comparing every pair:
//! the block-permutation tables of Manku, Jain & Das Sarma (WWW 2007).
//!
//! The bits are split into `b > k` blocks. Two fingerprints at distance `≤ k` differ in
//! at most `k` blocks, so they agree exactly on at least `b - k` of them (pigeonhole).
//! There is one table for every choice of `b - k` blocks; a table sorts the fingerprints
//! by those blocks' bits, and only fingerprints in the same run (bucket) are compared,
//! with an exact distance check. `b` is chosen from the number of fingerprints and `k` by
//! a cost model (sorting `C(b, k)` tables against comparing the expected bucket pairs);
//! `b = k + 1` gives `k + 1` tables of about `64 / (k + 1)` bits each.
//!
//! Exactness does not depend on the data:
//! - Identical fingerprints are stored once, with the list of their documents, so a story
//!   copied a thousand times is one entry; its documents are paired with each other
//!   directly (the output then holds all those pairs, as it must).
//! - A pair is reported only by the first table (in block order) where it agrees, so no
//!   pair is reported twice and no deduplication pass is needed.
//! - A bucket with more than a few dozen distinct fingerprints (they share a block, for
//!   example because of biased bits) is not compared pair by pair: the bits that vary
//!   inside it are split into blocks again and it is indexed recursively, when the cost
//!   model says that is cheaper. Each step makes buckets strictly smaller, so the work
//!   stays near the number of pairs found, and the result is the same exact set.
//!
//! Every `k` is accepted: as `k` grows the blocks shrink and the cost model falls back to
//! comparing every pair (at `k ≥ 64` every pair matches). Useful values are 0 to about 12
//! (`neardup --method simhash` uses 9 by default).

use rayon::prelude::*;

/// Buckets with at most this many distinct fingerprints are compared pair by pair.
const LEAF: usize = 32;
/// At most this many tables per level (`C(b, k)` grows fast with `b`).
const MAX_TABLES: u64 = 128;

/// A fingerprint and the index of its entry (a distinct fingerprint).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Item {
    fp: u64,
    id: u32,
}

/// One level of blocks: disjoint bit masks covering the bits that vary among the
/// fingerprints being indexed, and how many of them a table keys on.
#[derive(Debug, Clone)]
struct Plan {
    blocks: Vec<u64>,
    need: usize,
}

impl Plan {
    /// The cheapest split of `m` fingerprints whose differing bits are in `varying`, or
    /// `None` when comparing every pair is cheaper (few fingerprints, or at most `k`
    /// varying bits, when every pair is within `k`).
    fn choose(m: usize, varying: u64, k: u32) -> Option<Plan> {
        let f = varying.count_ones();
        if m <= 2 || f <= k {
            return None;
        }
        let mf = m as f64;
        let pairs = mf * (mf - 1.0) / 2.0;
        // Per item and table: a sort (about 2 log2 m steps) plus a copy and a scan.
        let per_table = mf * (2.0 * mf.log2() + 8.0);
        let mut best: Option<(f64, u32)> = None;
        for b in k + 1..=f {
            let tables = binomial(b, k);
            if tables > MAX_TABLES {
                break;
            }
            let key_bits = f64::from((b - k) * f) / f64::from(b);
            let cost = tables as f64 * (per_table + pairs / key_bits.exp2());
            if best.is_none_or(|(c, _)| cost < c) {
                best = Some((cost, b));
            }
        }
        let (cost, b) = best?;
        if cost >= pairs {
            return None;
        }
        // Split the varying bits, in bit order, into b blocks of nearly equal size.
        let positions: Vec<u32> = (0..64).filter(|&i| varying >> i & 1 == 1).collect();
        let blocks = (0..b as usize)
            .map(|j| {
                let (lo, hi) = (
                    j * f as usize / b as usize,
                    (j + 1) * f as usize / b as usize,
                );
                positions[lo..hi].iter().fold(0u64, |m, &i| m | 1 << i)
            })
            .collect();
        Some(Plan {
            blocks,
            need: (b - k) as usize,
        })
    }

    /// The key mask of every table: each choice of `need` blocks (the complement of each
    /// choice of `k` excluded blocks).
    fn tables(&self) -> Vec<u64> {
        let b = self.blocks.len();
        let k = b - self.need;
        let all = self.blocks.iter().fold(0, |m, &x| m | x);
        let mut out = Vec::new();
        // Excluded block indices, as an increasing k-combination of 0..b.
        let mut idx: Vec<usize> = (0..k).collect();
        loop {
            out.push(idx.iter().fold(all, |m, &i| m & !self.blocks[i]));
            // Next combination.
            let Some(pos) = (0..k).rev().find(|&p| idx[p] < b - k + p) else {
                return out;
            };
            idx[pos] += 1;
            for p in pos + 1..k {
                idx[p] = idx[p - 1] + 1;
            }
        }
    }

    /// The key mask of the one table that reports a pair whose bits differ in `x`: the
    /// first `need` blocks on which the pair agrees.
    #[inline]
    fn canonical(&self, x: u64) -> u64 {
        let mut chosen = 0;
        let mut left = self.need;
        for &blk in &self.blocks {
            if x & blk == 0 {
                chosen |= blk;
                left -= 1;
                if left == 0 {
                    break;
                }
            }
        }
        chosen
    }
}

/// `C(n, k)`, saturating.
fn binomial(n: u32, k: u32) -> u64 {
    let k = k.min(n - k);
    let mut c: u64 = 1;
    for i in 0..k {
        c = c.saturating_mul(u64::from(n - i)) / u64::from(i + 1);
    }
    c
}

/// The bits that differ between some two of `items`.
fn varying_bits(items: &[Item]) -> u64 {
    let (and, or) = items
        .iter()
        .fold((u64::MAX, 0), |(a, o), it| (a & it.fp, o | it.fp));
    or & !and
}

/// Calls `f` on each run of `items` (sorted by `fp & mask`) sharing `fp & mask`, of two
/// or more items.
fn for_each_run<'a>(items: &'a mut [Item], mask: u64, mut f: impl FnMut(&'a mut [Item])) {
    let mut rest = items;
    while !rest.is_empty() {
        let key = rest[0].fp & mask;
        let len = rest.iter().take_while(|it| it.fp & mask == key).count();
        let (run, tail) = rest.split_at_mut(len);
        if len >= 2 {
            f(run);
        }
        rest = tail;
    }
}

/// True when every enclosing level assigns the pair differing in `x` to the table being
/// scanned.
#[inline]
fn reported_here(x: u64, levels: &[(&Plan, u64)]) -> bool {
    levels.iter().all(|&(p, mask)| p.canonical(x) == mask)
}

/// Pairs within `k` among the items of one bucket (any order of `items` on entry; it is
/// reordered), reported only if every enclosing level assigns them here.
fn bucket_pairs(items: &mut [Item], k: u32, levels: &[(&Plan, u64)], out: &mut Vec<(u32, u32)>) {
    if items.len() > LEAF
        && let Some(plan) = Plan::choose(items.len(), varying_bits(items), k)
    {
        let mut chain = levels.to_vec();
        chain.push((&plan, 0));
        let last = chain.len() - 1;
        for mask in plan.tables() {
            chain[last].1 = mask;
            items.sort_unstable_by_key(|it| it.fp & mask);
            for_each_run(items, mask, |run| bucket_pairs(run, k, &chain, out));
        }
        return;
    }
    for (i, a) in items.iter().enumerate() {
        for b in &items[i + 1..] {
            let x = a.fp ^ b.fp;
            if x.count_ones() <= k && reported_here(x, levels) {
                out.push((a.id.min(b.id), a.id.max(b.id)));
            }
        }
    }
}

/// Pairs of distinct fingerprints within `k`, as item ids, in any order; the top level
/// runs its tables, and the buckets of each table, in parallel.
fn distinct_pairs(items: &[Item], k: u32) -> Vec<(u32, u32)> {
    let append = |mut a: Vec<(u32, u32)>, mut b: Vec<(u32, u32)>| {
        a.append(&mut b);
        a
    };
    let Some(plan) = Plan::choose(items.len(), varying_bits(items), k) else {
        return (0..items.len())
            .into_par_iter()
            .fold(Vec::new, |mut out, i| {
                let a = items[i];
                for b in &items[i + 1..] {
                    if (a.fp ^ b.fp).count_ones() <= k {
                        out.push((a.id.min(b.id), a.id.max(b.id)));
                    }
                }
                out
            })
            .reduce(Vec::new, append);
    };
    plan.tables()
        .into_par_iter()
        .map(|mask| {
            let mut table = items.to_vec();
            table.par_sort_unstable_by_key(|it| it.fp & mask);
            let mut runs = Vec::new();
            for_each_run(&mut table, mask, |run| runs.push(run));
            let chain = [(&plan, mask)];
            runs.into_par_iter()
                .fold(Vec::new, |mut out, run| {
                    bucket_pairs(run, k, &chain, &mut out);
                    out
                })
                .reduce(Vec::new, append)
        })
        .reduce(Vec::new, append)
}

/// Documents grouped by fingerprint: the distinct fingerprints (ascending) and, for each,
/// its documents (ascending).
struct Distinct {
    items: Vec<Item>,
    starts: Vec<usize>,
    docs: Vec<u32>,
}

impl Distinct {
    fn new(fingerprints: &[u64], docs: &[u32]) -> Self {
        let mut keyed: Vec<(u64, u32)> = docs
            .iter()
            .map(|&d| (fingerprints[d as usize], d))
            .collect();
        keyed.par_sort_unstable();
        keyed.dedup();
        let mut items = Vec::new();
        let mut starts = Vec::new();
        for (i, &(fp, _)) in keyed.iter().enumerate() {
            if i == 0 || keyed[i - 1].0 != fp {
                items.push(Item {
                    fp,
                    id: items.len() as u32,
                });
                starts.push(i);
            }
        }
        starts.push(keyed.len());
        Distinct {
            items,
            starts,
            docs: keyed.into_iter().map(|(_, d)| d).collect(),
        }
    }

    fn docs_of(&self, id: u32) -> &[u32] {
        &self.docs[self.starts[id as usize]..self.starts[id as usize + 1]]
    }
}

/// Every pair of documents `(i, j)`, `i < j`, among `docs` (indices into `fingerprints`)
/// whose fingerprints differ in at most `k` bits. Sorted, unique, and the same at any
/// thread count. Repeated entries in `docs` count once.
///
/// The cost is a few sorts of the distinct fingerprints plus work near the number of
/// pairs found (see the [module documentation](self)); the output itself can be
/// quadratic, e.g. when many documents share one fingerprint.
///
/// # Panics
/// When an index in `docs` is out of range of `fingerprints`.
#[must_use]
pub fn pairs_within(fingerprints: &[u64], docs: &[u32], k: u32) -> Vec<(u32, u32)> {
    let distinct = Distinct::new(fingerprints, docs);
    let cross = distinct_pairs(&distinct.items, k);
    let same = (0..distinct.items.len() as u32)
        .into_par_iter()
        .flat_map_iter(|id| {
            let ds = distinct.docs_of(id);
            ds.iter()
                .enumerate()
                .flat_map(move |(i, &a)| ds[i + 1..].iter().map(move |&b| (a, b)))
        });
    let mut all: Vec<(u32, u32)> = cross
        .par_iter()
        .flat_map_iter(|&(u, v)| {
            let (du, dv) = (distinct.docs_of(u), distinct.docs_of(v));
            du.iter()
                .flat_map(move |&a| dv.iter().map(move |&b| (a.min(b), a.max(b))))
        })
        .chain(same)
        .collect();
    all.par_sort_unstable();
    all
}

/// An index of fingerprints answering "which documents are within distance `k` of this
/// fingerprint?" with a binary search per table instead of a scan.
///
/// A query costs one binary search per table plus an exact check of every distinct
/// fingerprint in the matching buckets. Unlike [`pairs_within`], the index does not
/// split large buckets again: a bucket of many distinct fingerprints sharing a block is
/// scanned in full (still exact). Identical fingerprints are stored once.
#[derive(Debug, Clone)]
pub struct HammingIndex {
    k: u32,
    /// `None`: a single table with mask 0, scanned in full.
    plan: Option<Plan>,
    /// Key mask and the distinct fingerprints sorted by `fp & mask`.
    tables: Vec<(u64, Vec<Item>)>,
    starts: Vec<usize>,
    docs: Vec<u32>,
}

impl HammingIndex {
    /// Indexes the documents `docs` (indices into `fingerprints`) for queries within
    /// distance `k`. Repeated entries in `docs` count once.
    ///
    /// # Panics
    /// When an index in `docs` is out of range of `fingerprints`.
    #[must_use]
    pub fn new(fingerprints: &[u64], docs: &[u32], k: u32) -> Self {
        let Distinct {
            items,
            starts,
            docs,
        } = Distinct::new(fingerprints, docs);
        let plan = Plan::choose(items.len(), varying_bits(&items), k);
        let tables = match &plan {
            None => vec![(0, items)],
            Some(plan) => plan
                .tables()
                .into_par_iter()
                .map(|mask| {
                    let mut t = items.clone();
                    t.sort_unstable_by_key(|it| it.fp & mask);
                    (mask, t)
                })
                .collect(),
        };
        HammingIndex {
            k,
            plan,
            tables,
            starts,
            docs,
        }
    }

    /// The distance the index answers for.
    #[must_use]
    pub fn k(&self) -> u32 {
        self.k
    }

    /// Number of distinct documents indexed.
    #[must_use]
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    /// True when no document is indexed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Every indexed document whose fingerprint differs from `fp` in at most `k` bits
    /// (a document with fingerprint `fp` itself included), sorted ascending.
    #[must_use]
    pub fn query(&self, fp: u64) -> Vec<u32> {
        let mut out = Vec::new();
        for (mask, table) in &self.tables {
            let key = fp & mask;
            let lo = table.partition_point(|it| it.fp & mask < key);
            for it in table[lo..].iter().take_while(|it| it.fp & mask == key) {
                let x = it.fp ^ fp;
                // Report each fingerprint from one table only: the first where it agrees.
                if x.count_ones() <= self.k
                    && self.plan.as_ref().is_none_or(|p| p.canonical(x) == *mask)
                {
                    let id = it.id as usize;
                    out.extend_from_slice(&self.docs[self.starts[id]..self.starts[id + 1]]);
                }
            }
        }
        out.sort_unstable();
        out
    }
}

/// An incremental index of fingerprints: documents come and go one at a time, and
/// [`HammingTable::query`] returns every held document within `k` bits of a
/// fingerprint, exactly, without scanning.
///
/// The 64 bits are split into `b > k` blocks and there is one table for every choice of
/// `b - k` blocks (block permutation, as in [`pairs_within`]): a table keys each
/// fingerprint on those blocks' bits, and a fingerprint within `k` of the query agrees
/// with it on at least one table's key. `b` is chosen from `k` by a cost model (at most
/// [`HammingTable::MAX_TABLES`] tables; query cost of the key lookups plus the expected
/// bucket members at a million documents): `k = 9` gives 11 blocks and 55 tables keyed
/// on about 12 bits, `k = 3` 5 blocks and 10 tables keyed on about 26 bits. Every bucket
/// member is checked exactly, and a document is reported from one table only (the first
/// where it agrees with the query), so answers are exact at every `k`; above about 10
/// the keys get short and a query examines a growing share of the documents.
///
/// Documents are `u32` numbers and should be dense (slot numbers): a table holds 4
/// bytes per table and 8 bytes of fingerprint per number up to the largest inserted,
/// plus one hash-map entry per table and distinct key.
#[derive(Debug, Clone)]
pub struct HammingTable {
    k: u32,
    plan: Plan,
    /// Key mask of each table.
    masks: Vec<u64>,
    /// Per table: key → newest document of the bucket.
    heads: Vec<crate::weights::KeyMap<u64, u32>>,
    /// `next[d * tables + t]`: the next older member of `d`'s bucket in table `t`.
    next: Vec<u32>,
    /// Fingerprint of each held document.
    fps: Vec<u64>,
    held: Vec<bool>,
    len: usize,
}

/// End of a bucket chain.
const END: u32 = u32::MAX;

/// The hash-map key of a fingerprint in the table keyed on `mask`: the masked bits,
/// mixed. The maps' hasher expects keys that are hashes already (one multiply, whose low
/// bits depend only on the key's low bits); unmixed, the keys of a table on high blocks
/// all end in zeros and fall into one probe sequence, which made queries 2× slower than
/// `MinHash`'s on Reuters. The mix is a bijection, so distinct keys stay distinct.
#[inline]
fn table_key(fp: u64, mask: u64) -> u64 {
    crate::sketch::minhash::mix64(fp & mask)
}

impl HammingTable {
    /// Most tables [`HammingTable::new`] builds for any `k`.
    pub const MAX_TABLES: u64 = 64;

    /// An empty table answering queries within `k` bits (`k` ≤ 64).
    ///
    /// # Panics
    /// When `k` is above 63.
    #[must_use]
    pub fn new(k: u32) -> Self {
        assert!(k < 64, "k must be below 64");
        // Cost per query at a million documents: one lookup (worth about 4 checks) per
        // table plus the expected bucket members, one popcount each.
        let n = f64::from(1u32 << 20);
        let b = (k + 1..=64)
            .take_while(|&b| binomial(b, k) <= Self::MAX_TABLES)
            .min_by(|&x, &y| {
                let cost = |b: u32| {
                    let key_bits = f64::from((b - k) * 64) / f64::from(b);
                    binomial(b, k) as f64 * (4.0 + n / key_bits.exp2())
                };
                cost(x).total_cmp(&cost(y))
            })
            .unwrap_or(k + 1);
        let blocks = (0..b as usize)
            .map(|j| {
                let (lo, hi) = (j * 64 / b as usize, (j + 1) * 64 / b as usize);
                (lo..hi).fold(0u64, |m, i| m | 1 << i)
            })
            .collect();
        let plan = Plan {
            blocks,
            need: (b - k) as usize,
        };
        let masks = plan.tables();
        HammingTable {
            k,
            heads: vec![crate::weights::KeyMap::default(); masks.len()],
            masks,
            plan,
            next: Vec::new(),
            fps: Vec::new(),
            held: Vec::new(),
            len: 0,
        }
    }

    /// The distance the table answers for.
    #[must_use]
    pub fn k(&self) -> u32 {
        self.k
    }

    /// Number of tables (choices of blocks) in use.
    #[must_use]
    pub fn tables(&self) -> usize {
        self.masks.len()
    }

    /// Number of documents held.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no document is held.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The fingerprint of a held document.
    #[must_use]
    pub fn fingerprint(&self, doc: u32) -> Option<u64> {
        let d = doc as usize;
        (d < self.held.len() && self.held[d]).then(|| self.fps[d])
    }

    /// Adds document `doc` with fingerprint `fp`; replaces its fingerprint when it is
    /// held already.
    ///
    /// # Panics
    /// When `doc` is `u32::MAX`.
    pub fn insert(&mut self, doc: u32, fp: u64) {
        assert_ne!(doc, END, "document number u32::MAX is reserved");
        self.remove(doc);
        let d = doc as usize;
        let t = self.masks.len();
        if d >= self.held.len() {
            self.held.resize(d + 1, false);
            self.fps.resize(d + 1, 0);
            self.next.resize((d + 1) * t, END);
        }
        self.held[d] = true;
        self.fps[d] = fp;
        for (i, &mask) in self.masks.iter().enumerate() {
            let head = self.heads[i].entry(table_key(fp, mask)).or_insert(END);
            self.next[d * t + i] = *head;
            *head = doc;
        }
        self.len += 1;
    }

    /// Removes document `doc`; false when it was not held.
    pub fn remove(&mut self, doc: u32) -> bool {
        let Some(fp) = self.fingerprint(doc) else {
            return false;
        };
        let d = doc as usize;
        let t = self.masks.len();
        for (i, &mask) in self.masks.iter().enumerate() {
            let key = table_key(fp, mask);
            let after = self.next[d * t + i];
            let Some(head) = self.heads[i].get_mut(&key) else {
                continue;
            };
            if *head == doc {
                if after == END {
                    self.heads[i].remove(&key);
                } else {
                    *head = after;
                }
            } else {
                let mut at = *head;
                while at != END {
                    let link = at as usize * t + i;
                    if self.next[link] == doc {
                        self.next[link] = after;
                        break;
                    }
                    at = self.next[link];
                }
            }
            self.next[d * t + i] = END;
        }
        self.held[d] = false;
        self.len -= 1;
        true
    }

    /// Every held document whose fingerprint differs from `fp` in at most `k` bits,
    /// sorted ascending.
    #[must_use]
    pub fn query(&self, fp: u64) -> Vec<u32> {
        let t = self.masks.len();
        let mut out = Vec::new();
        for (i, &mask) in self.masks.iter().enumerate() {
            let mut d = self.heads[i]
                .get(&table_key(fp, mask))
                .copied()
                .unwrap_or(END);
            while d != END {
                let x = self.fps[d as usize] ^ fp;
                if x.count_ones() <= self.k && self.plan.canonical(x) == mask {
                    out.push(d);
                }
                d = self.next[d as usize * t + i];
            }
        }
        out.sort_unstable();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sketch::minhash::mix64;

    fn brute(fps: &[u64], k: u32) -> Vec<(u32, u32)> {
        let mut want = Vec::new();
        for i in 0..fps.len() {
            for j in i + 1..fps.len() {
                if (fps[i] ^ fps[j]).count_ones() <= k {
                    want.push((i as u32, j as u32));
                }
            }
        }
        want
    }

    #[test]
    fn tables_cover_every_choice() {
        let plan = Plan {
            blocks: vec![0b1, 0b10, 0b100, 0b1000],
            need: 2,
        };
        let mut t = plan.tables();
        t.sort_unstable();
        assert_eq!(t, vec![0b11, 0b101, 0b110, 0b1001, 0b1010, 0b1100]);
        assert_eq!(plan.canonical(0b0001), 0b110);
        assert_eq!(binomial(64, 3), 41_664);
    }

    #[test]
    fn table_plans_from_k() {
        let shape = |k| {
            let t = HammingTable::new(k);
            (t.plan.blocks.len(), t.tables())
        };
        assert_eq!(shape(0), (1, 1));
        assert_eq!(shape(3), (5, 10));
        assert_eq!(shape(9), (11, 55));
        for k in 0..64 {
            let t = HammingTable::new(k);
            assert!(
                t.tables() as u64 <= HammingTable::MAX_TABLES
                    || t.plan.blocks.len() as u32 == k + 1
            );
            assert_eq!(t.plan.blocks.iter().fold(0, |m, &b| m | b), u64::MAX);
        }
    }

    #[test]
    fn table_insert_remove_query() {
        let mut t = HammingTable::new(2);
        t.insert(0, 0);
        t.insert(1, 0b11);
        t.insert(2, 0b111);
        t.insert(5, u64::MAX);
        assert_eq!(t.len(), 4);
        assert_eq!(t.query(0), vec![0, 1]);
        assert_eq!(t.query(0b1), vec![0, 1, 2]);
        assert!(t.remove(1));
        assert!(!t.remove(1));
        assert!(!t.remove(9));
        assert_eq!(t.query(0b1), vec![0, 2]);
        t.insert(0, u64::MAX - 1);
        assert_eq!(t.query(u64::MAX), vec![0, 5]);
        assert_eq!(t.fingerprint(0), Some(u64::MAX - 1));
        assert_eq!(t.len(), 3);
    }

    #[test]
    fn small_cases() {
        let fps = [0u64, 1, 3, u64::MAX, 0];
        let docs: Vec<u32> = (0..5).collect();
        assert_eq!(pairs_within(&fps, &docs, 0), vec![(0, 4)]);
        assert_eq!(
            pairs_within(&fps, &docs, 1),
            vec![(0, 1), (0, 4), (1, 2), (1, 4)]
        );
        assert_eq!(pairs_within(&fps, &docs, 64).len(), 10);
        assert!(pairs_within(&fps, &[], 3).is_empty());
        let index = HammingIndex::new(&fps, &docs, 1);
        assert_eq!(index.query(0), vec![0, 1, 4]);
        assert_eq!(index.query(u64::MAX - 1), vec![3]);
        assert_eq!(index.len(), 5);
    }

    #[test]
    fn clustered_and_biased_match_brute_force() {
        // Clusters around a few bases, and fingerprints sharing their low 40 bits (one
        // huge bucket at the top level that must be split again).
        let mut fps = Vec::new();
        for c in 0..5u64 {
            let base = mix64(c);
            for i in 0..200u64 {
                let h = mix64(c * 1000 + i);
                let flips = (1u64 << (h % 64)) | (1 << ((h >> 8) % 64)) | (1 << ((h >> 16) % 64));
                fps.push(base ^ if i % 3 == 0 { flips } else { flips & (h >> 24) });
            }
        }
        for i in 0..500u64 {
            fps.push(0x00ab_cdef_1234 | (mix64(i + 77) << 40));
        }
        let docs: Vec<u32> = (0..fps.len() as u32).collect();
        for k in 0..=7 {
            let want = brute(&fps, k);
            assert_eq!(pairs_within(&fps, &docs, k), want, "k = {k}");
            let index = HammingIndex::new(&fps, &docs, k);
            for (i, &fp) in fps.iter().enumerate().step_by(37) {
                let mut q: Vec<u32> = want
                    .iter()
                    .filter_map(|&(a, b)| {
                        if a as usize == i {
                            Some(b)
                        } else if b as usize == i {
                            Some(a)
                        } else {
                            None
                        }
                    })
                    .chain([i as u32])
                    .collect();
                q.sort_unstable();
                assert_eq!(index.query(fp), q, "k = {k}, doc {i}");
            }
        }
    }
}
