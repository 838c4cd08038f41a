//! A hash table that holds no keys. Each entry names a document, and the document
//! holds the entry's key already: an LSH head's bucket key is one of the head's own
//! bucket keys, an id is the document's id. So an entry is its value alone, and a
//! lookup reads an entry's key back from the document it names, which it does only for
//! the entries whose 7-bit tag (in `hashbrown`'s control bytes) matches the key's hash.
//! Holding each key again beside its value made the LSH heads the index's second
//! largest part (BENCHMARKS.md, "Tables without keys, postings per time slice").
//!
//! Growing a table reads the key of every entry, so it is sharded as
//! [`super::sharded::Sharded`] is, more finely: a shard grows, not the table, and the
//! pause it makes stays short.

use hashbrown::HashTable;
use hashbrown::hash_table::Entry;

/// Shards per table (a power of two). Growing a shard pauses an insert while it reads
/// the shard's keys: with 64 shards those pauses raised the 99th percentile insert by
/// half at 200,000 documents held, with 1,024 every lookup was slower (its shard's
/// header out of cache): BENCHMARKS.md, "Tables without keys, postings per time
/// slice".
const SHARDS: usize = 256;

/// Below this many entries, a shard grows as `hashbrown` grows it ([`grow`]).
const SMALL_SHARD: usize = 64;

/// A hash of a 32-bit key that is a uniform hash already: the table's positions take
/// the low bits (the key's own), the shard and the tag the high ones, which a multiply
/// by an odd constant makes depend on every bit of the key.
pub(crate) fn spread(key: u32) -> u64 {
    u64::from(key).wrapping_mul(0x9e37_79b9_7f4a_7c15)
}

/// The shard of a hash: bits the table uses for neither position (the low bits) nor
/// tag (the top seven).
fn shard(hash: u64) -> usize {
    ((hash >> 47) as usize) & (SHARDS - 1)
}

/// A sharded hash table of entries whose keys are read back from the documents they
/// name (see the module docs). Each call takes the key's hash, and `eq` tells whether an
/// entry holds that key; a call that can grow a shard takes `rehash`, the hash of an
/// entry's key.
#[derive(Debug, Clone)]
pub(crate) struct Keyless<T> {
    shards: Vec<HashTable<T>>,
}

impl<T> Default for Keyless<T> {
    fn default() -> Self {
        Keyless {
            shards: (0..SHARDS).map(|_| HashTable::new()).collect(),
        }
    }
}

impl<T: Copy> Keyless<T> {
    /// The entry of the key hashed to `hash`.
    pub fn get(&self, hash: u64, eq: impl FnMut(&T) -> bool) -> Option<&T> {
        self.shards[shard(hash)].find(hash, eq)
    }

    /// The entry of the key hashed to `hash`, for writing. The entry's key must stay
    /// the same (a new document that holds it may take the old one's place).
    pub fn get_mut(&mut self, hash: u64, eq: impl FnMut(&T) -> bool) -> Option<&mut T> {
        self.shards[shard(hash)].find_mut(hash, eq)
    }

    /// The entry of the key hashed to `hash` for writing, as [`Keyless::get_mut`], or
    /// `None` once `value` is added as its entry: one probe of the shard for both, where
    /// a lookup then an insert made two (the LSH heads and keyword postings, entered
    /// under the index's exclusive lock, are mostly new keys).
    pub fn get_mut_or_insert(
        &mut self,
        hash: u64,
        mut eq: impl FnMut(&T) -> bool,
        value: T,
        rehash: impl Fn(&T) -> u64,
    ) -> Option<&mut T> {
        let t = &mut self.shards[shard(hash)];
        if t.len() == t.capacity() {
            // Full: a held key is found without growing the shard (`entry` would grow
            // it first, `hashbrown`'s way), a new one grows it as `insert` does.
            if t.find(hash, &mut eq).is_some() {
                return t.find_mut(hash, eq);
            }
            grow(t, &rehash);
        }
        match t.entry(hash, eq, rehash) {
            Entry::Occupied(e) => Some(e.into_mut()),
            Entry::Vacant(e) => {
                e.insert(value);
                None
            }
        }
    }

    /// Adds an entry for a key that has none.
    pub fn insert(&mut self, hash: u64, value: T, rehash: impl Fn(&T) -> u64) {
        let t = &mut self.shards[shard(hash)];
        if t.len() == t.capacity() {
            grow(t, &rehash);
        }
        t.insert_unique(hash, value, rehash);
    }

    /// Removes the entry of the key hashed to `hash`, returning it.
    pub fn remove(&mut self, hash: u64, eq: impl FnMut(&T) -> bool) -> Option<T> {
        match self.shards[shard(hash)].find_entry(hash, eq) {
            Ok(e) => Some(e.remove().0),
            Err(_) => None,
        }
    }

    /// The shards that adding an entry under each of `hashes` would grow, grown now as
    /// an insert grows them, for [`Keyless::install`]. It only reads the table: the
    /// index grows them under its upgradable lock, searches going on beside it, and
    /// swaps them in under the exclusive lock, where reading every entry's key back
    /// from its document stopped every search (BENCHMARKS.md, "Tables grown before the
    /// exclusive lock; how far apart the two cores are"). A hash whose key has an entry
    /// already counts as a new one: its shard may grow one entry early, no more.
    pub fn grown_for(
        &self,
        hashes: impl Iterator<Item = u64> + Clone,
        rehash: impl Fn(&T) -> u64,
    ) -> Grown<T> {
        let full = |t: &HashTable<T>, more: usize| {
            // A small shard grows cheaply where it is (`grow`).
            t.len() >= SMALL_SHARD && t.len() + more > t.capacity()
        };
        // Mostly nothing grows: a first look, with no counting.
        let n = hashes.clone().count();
        if !hashes.clone().any(|h| full(&self.shards[shard(h)], n)) {
            return Grown::none();
        }
        let mut shards: Vec<usize> = hashes.map(shard).collect();
        shards.sort_unstable();
        let mut grown = Vec::new();
        for run in shards.chunk_by(|a, b| a == b) {
            let t = &self.shards[run[0]];
            if full(t, run.len()) {
                grown.push((run[0], t.len(), bigger(t, &rehash, run.len())));
            }
        }
        Grown(grown)
    }

    /// Puts shards grown by [`Keyless::grown_for`] in place of the shards they were
    /// grown from, which must not have changed since; returns those, for the caller to
    /// drop after its lock.
    ///
    /// # Panics
    /// If a shard's number of entries changed since it was grown.
    pub fn install(&mut self, grown: Grown<T>) -> Grown<T> {
        let mut old = Vec::with_capacity(grown.0.len());
        for (s, len, table) in grown.0 {
            assert_eq!(
                self.shards[s].len(),
                len,
                "shard {s} changed since it was grown"
            );
            old.push((s, len, std::mem::replace(&mut self.shards[s], table)));
        }
        Grown(old)
    }

    /// Number of entries.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.shards.iter().map(HashTable::len).sum()
    }

    /// Heap bytes of the shards (an entry and a control byte per bucket).
    pub fn heap_bytes(&self) -> usize {
        self.shards.iter().map(HashTable::allocation_size).sum()
    }
}

/// Moves a full shard into one of twice its room. The keys' hashes are all read first,
/// in a loop of nothing else: each is a few dependent cache misses into a document, and
/// there the processor overlaps those of many entries. `hashbrown`'s own resize, which
/// reads one between two inserts, took twice as long in all, and spreading the moves
/// over later inserts (a few each, the old table kept for lookups) five times as
/// long: nothing overlapped their misses (BENCHMARKS.md).
///
/// A shard of a few entries grows as `hashbrown` grows it, without the two lists: the
/// keyword postings' tables, one per time slice, start with many such shards, and their
/// growths were 40% of the postings' entering (callgrind, BENCHMARKS.md).
fn grow<T: Copy>(t: &mut HashTable<T>, rehash: &impl Fn(&T) -> u64) {
    if t.len() < SMALL_SHARD {
        t.reserve(1, rehash);
        return;
    }
    *t = bigger(t, rehash, 1);
}

/// A copy of `t` with room for `more` entries beyond its own ([`grow`]).
fn bigger<T: Copy>(t: &HashTable<T>, rehash: &impl Fn(&T) -> u64, more: usize) -> HashTable<T> {
    let entries: Vec<T> = t.iter().copied().collect();
    let hashes: Vec<u64> = entries.iter().map(rehash).collect();
    // Room for `more` (one when an insert grows it): `hashbrown` then doubles the
    // buckets, as its own growth does.
    let mut bigger = HashTable::with_capacity(entries.len() + more);
    for (e, h) in entries.into_iter().zip(hashes) {
        bigger.insert_unique(h, e, rehash);
    }
    bigger
}

/// Shards of a [`Keyless`] table grown ahead ([`Keyless::grown_for`]), each with its
/// number and the number of entries it was grown from; or the shards they replaced
/// ([`Keyless::install`]).
pub(crate) struct Grown<T>(Vec<(usize, usize, HashTable<T>)>);

impl<T> Grown<T> {
    /// Nothing grown.
    pub fn none() -> Self {
        Grown(Vec::new())
    }

    /// True when nothing was grown.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pseudo-random keys, `distinct` of them at most, so that they come again.
    fn random_keys(seed: u64, distinct: u64) -> impl Iterator<Item = u32> {
        std::iter::successors(Some(seed), |&x| {
            let x = x ^ x << 13;
            let x = x ^ x >> 7;
            Some(x ^ x << 17)
        })
        .skip(1)
        .map(move |x| ((x % distinct) as u32).wrapping_mul(0x8535_4a6b))
    }

    /// Entries name positions in `keys`, as the index's name documents.
    #[test]
    fn behaves_as_a_map_from_the_keys_its_entries_name() {
        let mut keys: Vec<u32> = Vec::new();
        let mut t: Keyless<u32> = Keyless::default();
        let mut plain: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
        // Few distinct keys, so that inserts, hits and removals all happen.
        for (i, key) in (0..100_000u32).zip(random_keys(7, 30_000)) {
            let h = spread(key);
            let got = t.get(h, |&e| keys[e as usize] == key).copied();
            assert_eq!(got.map(|e| keys[e as usize]), plain.get(&key).map(|_| key));
            assert_eq!(got, plain.get(&key).copied());
            match (i % 3, got) {
                (0 | 1, None) => {
                    keys.push(key);
                    let e = keys.len() as u32 - 1;
                    t.insert(h, e, |&e| spread(keys[e as usize]));
                    plain.insert(key, e);
                }
                (0, Some(_)) => {
                    // Another entry naming the same key takes the place.
                    keys.push(key);
                    let e = keys.len() as u32 - 1;
                    *t.get_mut(h, |&f| keys[f as usize] == key).expect("held") = e;
                    plain.insert(key, e);
                }
                (_, Some(_)) => {
                    assert_eq!(
                        t.remove(h, |&e| keys[e as usize] == key),
                        plain.remove(&key)
                    );
                }
                _ => assert_eq!(t.remove(h, |&e| keys[e as usize] == key), None),
            }
            assert_eq!(t.len(), plain.len());
        }
        assert!(t.len() > 500, "the test reached a full table: {}", t.len());
        let used = t.shards.iter().filter(|s| !s.is_empty()).count();
        assert!(used > SHARDS / 2, "keys spread over the shards: {used}");
        assert!(t.heap_bytes() >= t.len() * 5);
    }

    /// One probe that finds a key's entry or adds one does what a lookup then an insert
    /// did, through every growth of the shards.
    #[test]
    fn get_mut_or_insert_finds_or_adds_an_entry() {
        let mut keys: Vec<u32> = Vec::new();
        let mut t: Keyless<u32> = Keyless::default();
        let mut plain: std::collections::HashMap<u32, u32> = std::collections::HashMap::new();
        for key in random_keys(11, 20_000).take(60_000) {
            keys.push(key);
            let e = keys.len() as u32 - 1;
            let got = t.get_mut_or_insert(
                spread(key),
                |&f| keys[f as usize] == key,
                e,
                |&f| spread(keys[f as usize]),
            );
            match (got, plain.get(&key).copied()) {
                (Some(held), Some(want)) => {
                    assert_eq!(*held, want);
                    // A later entry naming the key takes the place, as the heads do.
                    *held = e;
                    plain.insert(key, e);
                }
                (None, None) => {
                    plain.insert(key, e);
                }
                (got, want) => panic!("key {key}: {got:?} against {want:?}"),
            }
            assert_eq!(t.len(), plain.len());
        }
        for (&key, &e) in &plain {
            assert_eq!(t.get(spread(key), |&f| keys[f as usize] == key), Some(&e));
        }
    }

    /// Shards grown ahead of their inserts end as those grown by the inserts: the same
    /// entries, the same room.
    #[test]
    fn shards_grown_ahead_hold_what_growing_in_place_holds() {
        // Keys are their own hashes' inputs: an entry is its key.
        let rehash = |&k: &u32| spread(k);
        let mut ahead: Keyless<u32> = Keyless::default();
        let mut in_place: Keyless<u32> = Keyless::default();
        let keys: Vec<u32> = random_keys(7, u64::MAX).take(60_000).collect();
        let mut grew = 0;
        for batch in keys.chunks(3) {
            let grown = ahead.grown_for(batch.iter().map(|&k| spread(k)), rehash);
            let n = grown.0.len();
            grew += n;
            assert_eq!(ahead.install(grown).0.len(), n);
            for &k in batch {
                let before = ahead.heap_bytes();
                let large = ahead.shards[shard(spread(k))].len() >= SMALL_SHARD;
                ahead.get_mut_or_insert(spread(k), |&e| e == k, k, rehash);
                in_place.get_mut_or_insert(spread(k), |&e| e == k, k, rehash);
                // A large shard that was to grow grew ahead.
                if large {
                    assert_eq!(ahead.heap_bytes(), before);
                }
            }
        }
        assert!(grew > 0, "no shard grew ahead");
        assert_eq!(ahead.len(), in_place.len());
        assert_eq!(ahead.heap_bytes(), in_place.heap_bytes());
        for &k in &keys {
            assert_eq!(ahead.get(spread(k), |&e| e == k), Some(&k));
        }
    }

    /// A shard that took an entry after it was grown is not replaced: the entry would
    /// be lost.
    #[test]
    #[should_panic(expected = "changed since it was grown")]
    fn a_shard_changed_since_it_was_grown_is_not_replaced() {
        let rehash = |&k: &u32| spread(k);
        let mut t: Keyless<u32> = Keyless::default();
        let mut keys = random_keys(3, u64::MAX);
        let mut grown = Grown::none();
        while grown.0.is_empty() {
            let k = keys.next().expect("endless keys");
            grown = t.grown_for(std::iter::once(spread(k)), rehash);
            // Once a shard is grown, an entry added behind its back.
            t.insert(spread(k), k, rehash);
        }
        t.install(grown);
    }

    /// Two keys of one hash (two ids whose `xxh3` is the same) are two entries.
    #[test]
    fn keys_of_one_hash_are_told_apart_by_the_key() {
        let keys = ["a", "b", "c"];
        let mut t: Keyless<u32> = Keyless::default();
        let h = 42;
        for e in 0..3 {
            t.insert(h, e, |_| h);
        }
        for (e, k) in keys.iter().enumerate() {
            assert_eq!(t.get(h, |&f| keys[f as usize] == *k), Some(&(e as u32)));
        }
        assert_eq!(t.remove(h, |&f| f == 1), Some(1));
        assert_eq!(t.get(h, |&f| keys[f as usize] == "b"), None);
        assert_eq!(t.get(h, |&f| keys[f as usize] == "c"), Some(&2));
        assert_eq!(t.len(), 2);
    }
}
