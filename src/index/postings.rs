//! Keyword postings' heads: key (a keyword, or a keyword in a time slice) → the newest
//! link listing it and how many do, without storing the key, as [`super::buckets`] does
//! for LSH buckets: the key is read back from the head link's document (its `j`-th
//! keyword, and its time slice). An entry is 8 bytes (link, count) where a hash map's
//! was 13 (keyword) or 17 (keyword and slice) at its load; four bits of the key's hash
//! sit in the count's spare high bits, so a probe reads a slot only for one unrelated
//! entry in sixteen. Open addressing with linear probing in shards, deletion by shifting
//! back; lookups give exactly a map's answers.

use crate::sketch::minhash::mix64;

use super::NIL;

/// 1,024 shards: growing a shard reads the key of each of its entries from a slot (a
/// few cache misses each), so a shard is kept to tens of thousands of entries at 10
/// million documents (a pause of milliseconds, as a hash map's shard of 64).
const SHARD_BITS: u32 = 10;
const SHARDS: usize = 1 << SHARD_BITS;
/// Bits of an entry's second word holding the count (at most [`super::MAX_DOCS`] <
/// 2^28); the other four hold a fingerprint of the key.
const COUNT_BITS: u32 = 28;
const COUNT_MASK: u32 = (1 << COUNT_BITS) - 1;
const _: () = assert!(super::MAX_DOCS <= COUNT_MASK);

/// A key of the table: a hash already (a keyword, or [`super::slice_key`]).
pub(crate) trait Key: Copy + Eq {
    /// Its hash, mixed.
    fn hash(self) -> u64;
}

impl Key for u32 {
    fn hash(self) -> u64 {
        mix64(u64::from(self))
    }
}

impl Key for u64 {
    fn hash(self) -> u64 {
        mix64(self)
    }
}

/// One shard: (head link, fingerprint and count) at each position (none, or 8 and
/// more); an empty position's link is [`NIL`].
#[derive(Debug, Clone, Default)]
struct Shard {
    at: Box<[(u32, u32)]>,
    len: usize,
}

/// Posting heads by key (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Postings<K> {
    shards: Vec<Shard>,
    key: std::marker::PhantomData<K>,
}

impl<K> Default for Postings<K> {
    fn default() -> Self {
        Postings {
            shards: vec![Shard::default(); SHARDS],
            key: std::marker::PhantomData,
        }
    }
}

/// A key's shard, fingerprint bits and hash (whose low bits give its home position).
fn place<K: Key>(key: K) -> (usize, u32, u64) {
    let h = key.hash();
    let shard = (h >> (64 - SHARD_BITS)) as usize;
    let fp = ((h >> 32) as u32 & 0xf) << COUNT_BITS;
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
            let (link, c) = self.at[i];
            if link == NIL {
                return Err(i);
            }
            if c & !COUNT_MASK == fp && key_of(link) == Some(key) {
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
        self.at = vec![(NIL, 0); size].into_boxed_slice();
        for e in old.iter().copied().filter(|e| e.0 != NIL) {
            let key = key_of(e.0).expect("a listed document's keyword");
            let mut i = self.home(place(key).2);
            while self.at[i].0 != NIL {
                i = self.after(i);
            }
            self.at[i] = e;
        }
    }
}

impl<K: Key> Postings<K> {
    /// The head link and count of `key`'s posting. `key_of(link)` is the key a link is
    /// listed under (`None` for a document no longer held).
    pub fn get(&self, key: K, key_of: impl Fn(u32) -> Option<K>) -> Option<(u32, u32)> {
        let s = &self.shards[place(key).0];
        if s.len == 0 {
            return None;
        }
        s.find(key, &key_of)
            .ok()
            .map(|i| (s.at[i].0, s.at[i].1 & COUNT_MASK))
    }

    /// Sets `key`'s posting to `head` (listed under `key`) and `count` (at least 1).
    pub fn set(&mut self, key: K, head: u32, count: u32, key_of: impl Fn(u32) -> Option<K>) {
        debug_assert!((1..=COUNT_MASK).contains(&count) && key_of(head) == Some(key));
        let (shard, fp, _) = place(key);
        let s = &mut self.shards[shard];
        // At most 3/4 full, so that a probe ends at an empty position soon (a longer run
        // means more entries whose key, one in sixteen, is read from a slot).
        if (s.len + 1) * 4 > s.at.len() * 3 {
            s.grow(&key_of);
        }
        match s.find(key, &key_of) {
            Ok(i) => s.at[i] = (head, fp | count),
            Err(i) => {
                s.at[i] = (head, fp | count);
                s.len += 1;
            }
        }
    }

    /// Makes `link` (listed under `key`) the head of `key`'s posting, one longer;
    /// returns the head before ([`NIL`] for a new posting). One search where
    /// [`Postings::get`] then [`Postings::set`] make two.
    pub fn push(&mut self, key: K, link: u32, key_of: impl Fn(u32) -> Option<K>) -> u32 {
        debug_assert!(key_of(link) == Some(key));
        let (shard, fp, _) = place(key);
        let s = &mut self.shards[shard];
        if (s.len + 1) * 4 > s.at.len() * 3 {
            s.grow(&key_of);
        }
        match s.find(key, &key_of) {
            Ok(i) => {
                let (head, c) = s.at[i];
                s.at[i] = (link, fp | ((c & COUNT_MASK) + 1));
                head
            }
            Err(i) => {
                s.at[i] = (link, fp | 1);
                s.len += 1;
                NIL
            }
        }
    }

    /// Removes `key`'s posting, shifting back the entries after it in its run.
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
            if e.0 == NIL {
                break;
            }
            let k = key_of(e.0).expect("a listed document's keyword");
            let home = s.home(place(k).2);
            // The entry may fill the hole if its home is not in (hole, i], cyclically.
            if (i + n - home) % n >= (i + n - hole) % n {
                s.at[hole] = e;
                hole = i;
            }
        }
        s.at[hole] = (NIL, 0);
        s.len -= 1;
    }

    /// Heap bytes of the positions and the shards.
    pub fn heap_bytes(&self) -> usize {
        self.shards.len() * std::mem::size_of::<Shard>()
            + self.shards.iter().map(|s| s.at.len() * 8).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Against a map; link `l` is listed under key `keys[l]`, and a posting's head is
    /// one of its key's links, as in the index.
    #[test]
    fn behaves_as_a_map() {
        let mut keys: Vec<u64> = Vec::new();
        let mut table: Postings<u64> = Postings::default();
        let mut map: HashMap<u64, (u32, u32)> = HashMap::new();
        let mut x = 5u64;
        for step in 0..20_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let key = x % 500;
            if step % 3 == 2 {
                if map.remove(&key).is_some() {
                    table.remove(key, |l| keys.get(l as usize).copied());
                }
            } else {
                let link = keys.len() as u32;
                keys.push(key);
                let (before, count) = map.get(&key).map_or((NIL, 1), |e| (e.0, e.1 + 1));
                if step % 2 == 0 {
                    let got = table.push(key, link, |l| keys.get(l as usize).copied());
                    assert_eq!(got, before);
                } else {
                    table.set(key, link, count, |l| keys.get(l as usize).copied());
                }
                map.insert(key, (link, count));
            }
            let key_of = |l: u32| keys.get(l as usize).copied();
            assert_eq!(
                table.get(key, key_of),
                map.get(&key).copied(),
                "step {step}"
            );
            if step % 997 == 0 {
                for k in 0..500 {
                    assert_eq!(table.get(k, key_of), map.get(&k).copied());
                }
            }
        }
        let held: usize = table.shards.iter().map(|s| s.len).sum();
        assert_eq!(held, map.len());
    }
}
