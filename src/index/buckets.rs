//! The heads of one LSH band's buckets: bucket key → newest member, without storing the
//! key. A hash map of `u32 → u32` costs 9 bytes per entry (key, value, control byte) at
//! its load; here an entry is the document number alone (4 bytes) and the key is read
//! back from the document's own bucket keys, which its slot holds anyway. Four bits of
//! the key's hash sit in the entry's spare high bits, so a probe reads a slot only for
//! one unrelated entry in sixteen.
//!
//! Open addressing with linear probing, in [`SHARDS`] shards so that growing rehashes
//! one shard (the rehash reads each entry's key from its slot), and deletion by shifting
//! back (no tombstones). Lookups give exactly a map's answers: a key is found only at an
//! entry whose document's key is that key.

use super::postings::Key;

/// Shards per band (a power of two).
/// 1,024 shards: growing a shard reads the key of each of its entries from a slot (a
/// few cache misses each), so a shard is kept to tens of thousands of entries at 10
/// million documents (a pause of milliseconds, as a hash map's shard of 64).
const SHARD_BITS: u32 = 10;
const SHARDS: usize = 1 << SHARD_BITS;
/// Bits of an entry holding the document number: documents are numbered below
/// [`super::MAX_DOCS`] < 2^28. The other four hold a fingerprint of the key.
const DOC_BITS: u32 = 28;
const DOC_MASK: u32 = (1 << DOC_BITS) - 1;
/// An empty position (its document bits above any document number).
const EMPTY: u32 = u32::MAX;
const _: () = assert!(super::MAX_DOCS <= DOC_MASK);

/// One shard: positions (none, or 8 and more) and how many are taken.
#[derive(Debug, Clone, Default)]
struct Shard {
    at: Box<[u32]>,
    len: usize,
}

/// The bucket heads of one band (see the module docs); also the index's other maps from
/// a hash the document holds to the document (ids, exact bodies).
#[derive(Debug, Clone)]
pub(crate) struct Heads<K = u32> {
    shards: Vec<Shard>,
    key: std::marker::PhantomData<K>,
}

impl<K> Default for Heads<K> {
    fn default() -> Self {
        Heads {
            shards: vec![Shard::default(); SHARDS],
            key: std::marker::PhantomData,
        }
    }
}

/// Where a key goes: its shard, the fingerprint bits of its entries, and its hash (whose
/// low bits give its home position).
fn place<K: Key>(key: K) -> (usize, u32, u64) {
    let h = key.hash();
    let shard = (h >> (64 - SHARD_BITS)) as usize;
    let fp = ((h >> 32) as u32 & 0xf) << DOC_BITS;
    (shard, fp, h)
}

impl Shard {
    /// The home position of a key of hash `h` (its low 32 bits scaled to the size).
    fn home(&self, h: u64) -> usize {
        (((h & 0xffff_ffff) * self.at.len() as u64) >> 32) as usize
    }

    /// The position after `i`, cyclically.
    fn after(&self, i: usize) -> usize {
        if i + 1 == self.at.len() { 0 } else { i + 1 }
    }

    /// The position of `key`'s entry (`Ok`), or the empty one where it would go.
    fn find<K: Key>(&self, key: K, key_of: &impl Fn(u32) -> Option<K>) -> Result<usize, usize> {
        let (_, fp, h) = place(key);
        let mut i = self.home(h);
        loop {
            let e = self.at[i];
            if e == EMPTY {
                return Err(i);
            }
            if e & !DOC_MASK == fp && key_of(e & DOC_MASK) == Some(key) {
                return Ok(i);
            }
            i = self.after(i);
        }
    }

    /// Doubles the positions (from none: 8), placing every entry again by its key.
    fn grow<K: Key>(&mut self, key_of: &impl Fn(u32) -> Option<K>) {
        let old = std::mem::take(&mut self.at);
        // By half (not doubling), so that the load stays between 1/2 and 3/4.
        let size = (old.len() * 3 / 2).max(8);
        self.at = vec![EMPTY; size].into_boxed_slice();
        for e in old.iter().copied().filter(|&e| e != EMPTY) {
            let key = key_of(e & DOC_MASK).expect("a listed document's key");
            let mut i = self.home(place(key).2);
            while self.at[i] != EMPTY {
                i = self.after(i);
            }
            self.at[i] = e;
        }
    }
}

impl<K: Key> Heads<K> {
    /// The newest member of the bucket `key`. `key_of(d)` is document `d`'s key in this
    /// band (`None` for a document no longer held).
    pub fn get(&self, key: K, key_of: impl Fn(u32) -> Option<K>) -> Option<u32> {
        let s = &self.shards[place(key).0];
        if s.len == 0 {
            return None;
        }
        s.find(key, &key_of).ok().map(|i| s.at[i] & DOC_MASK)
    }

    /// Makes `d` the newest member of the bucket `key` (whose key `key_of(d)` is).
    pub fn set(&mut self, key: K, d: u32, key_of: impl Fn(u32) -> Option<K>) {
        debug_assert!(d <= DOC_MASK && key_of(d) == Some(key));
        let (shard, fp, _) = place(key);
        let s = &mut self.shards[shard];
        // At most 3/4 full, so that a probe ends at an empty position soon (a longer run
        // means more entries whose key, one in sixteen, is read from a slot).
        if (s.len + 1) * 4 > s.at.len() * 3 {
            s.grow(&key_of);
        }
        match s.find(key, &key_of) {
            Ok(i) => s.at[i] = fp | d,
            Err(i) => {
                s.at[i] = fp | d;
                s.len += 1;
            }
        }
    }

    /// Removes the bucket `key`, shifting back the entries after it in its run.
    pub fn remove(&mut self, key: K, key_of: impl Fn(u32) -> Option<K>) {
        let s = &mut self.shards[place(key).0];
        if s.len == 0 {
            return;
        }
        let Ok(mut hole) = s.find(key, &key_of) else {
            return;
        };
        let n = s.at.len();
        let mut i = hole;
        loop {
            i = s.after(i);
            let e = s.at[i];
            if e == EMPTY {
                break;
            }
            let k = key_of(e & DOC_MASK).expect("a listed document's key");
            let home = s.home(place(k).2);
            // The entry may fill the hole if its home is not in (hole, i], cyclically.
            if (i + n - home) % n >= (i + n - hole) % n {
                s.at[hole] = e;
                hole = i;
            }
        }
        s.at[hole] = EMPTY;
        s.len -= 1;
    }

    /// Heap bytes of the positions and the shards.
    pub fn heap_bytes(&self) -> usize {
        self.shards.len() * std::mem::size_of::<Shard>()
            + self.shards.iter().map(|s| s.at.len() * 4).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Against a map, with few keys, so that buckets change heads and runs overlap.
    #[test]
    fn behaves_as_a_map() {
        // Document d's key.
        let mut keys: Vec<u32> = Vec::new();
        let mut heads: Heads = Heads::default();
        let mut map: HashMap<u32, u32> = HashMap::new();
        let mut x = 9u64;
        for step in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = (x % 700) as u32;
            if step % 3 == 2 {
                if map.remove(&key).is_some() {
                    heads.remove(key, |d| keys.get(d as usize).copied());
                }
            } else {
                let d = keys.len() as u32;
                keys.push(key);
                heads.set(key, d, |d| keys.get(d as usize).copied());
                map.insert(key, d);
            }
            let key_of = |d: u32| keys.get(d as usize).copied();
            assert_eq!(
                heads.get(key, key_of),
                map.get(&key).copied(),
                "step {step}"
            );
            if step % 997 == 0 {
                for k in 0..700 {
                    assert_eq!(heads.get(k, key_of), map.get(&k).copied());
                }
            }
        }
        let held: usize = heads.shards.iter().map(|s| s.len).sum();
        assert_eq!(held, map.len());
    }
}
