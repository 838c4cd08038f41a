//! A hash table that does not store its keys: each entry names a document (or one of its
//! keyword links) whose slot holds the key, and the key is read back from there
//! ([`super::buckets`], [`super::postings`]). A few bits of the key's hash sit in the
//! entry, so a probe reads a slot only for the real match and a few unrelated entries
//! in a thousand probed.
//!
//! Open addressing with linear probing, in [`SHARDS`] shards so that growing rehashes one
//! shard (a growth reads each entry's key from its slot: 1,024 shards keep that to tens of
//! thousands of entries at 10 million documents, a pause of milliseconds), at most 3/4
//! full and growing by half (so between 1/2 and 3/4), deletion by shifting back (no
//! tombstones). Lookups give exactly a map's answers: a key is found only at an entry
//! whose named key is that key.

use crate::sketch::minhash::mix64;

const SHARD_BITS: u32 = 10;
const SHARDS: usize = 1 << SHARD_BITS;

/// A key of a table: a hash already (a bucket key, a keyword, an id's or a body's hash,
/// a keyword in a time slice).
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

/// An entry: what it names (the key is read back from it) and fingerprint bits.
pub(crate) trait Entry: Copy + PartialEq {
    /// An empty position.
    const EMPTY: Self;
    /// Bits of the key's hash an entry keeps.
    const TAG_BITS: u32;
    /// The document or link whose key this entry is under.
    fn name(self) -> u32;
    /// Its fingerprint ([`Entry::TAG_BITS`] bits of its key's hash).
    fn tag(self) -> u32;
}

/// One shard: positions (none, or 8 and more) and how many are taken.
#[derive(Debug, Clone)]
struct Shard<E> {
    at: Box<[E]>,
    len: usize,
}

/// A table of entries `E` keyed by `K` (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Table<K, E> {
    shards: Vec<Shard<E>>,
    key: std::marker::PhantomData<K>,
}

impl<K, E> Default for Table<K, E> {
    fn default() -> Self {
        Table {
            shards: (0..SHARDS)
                .map(|_| Shard {
                    at: Box::default(),
                    len: 0,
                })
                .collect(),
            key: std::marker::PhantomData,
        }
    }
}

/// A key's shard, fingerprint (`bits` bits) and hash (whose low bits give its home).
fn place<K: Key>(key: K, bits: u32) -> (usize, u32, u64) {
    let h = key.hash();
    let shard = (h >> (64 - SHARD_BITS)) as usize;
    let tag = (h >> 32) as u32 & ((1 << bits) - 1);
    (shard, tag, h)
}

impl<E: Entry> Shard<E> {
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
        let (_, tag, h) = place(key, E::TAG_BITS);
        let mut i = self.home(h);
        loop {
            let e = self.at[i];
            if e == E::EMPTY {
                return Err(i);
            }
            if e.tag() == tag && key_of(e.name()) == Some(key) {
                return Ok(i);
            }
            i = self.after(i);
        }
    }

    /// Grows by half (from none: 8), placing every entry again by its key.
    fn grow<K: Key>(&mut self, key_of: &impl Fn(u32) -> Option<K>) {
        let old = std::mem::take(&mut self.at);
        let size = (old.len() * 3 / 2).max(8);
        self.at = vec![E::EMPTY; size].into_boxed_slice();
        for e in old.iter().copied().filter(|&e| e != E::EMPTY) {
            let key = key_of(e.name()).expect("a listed document's key");
            let mut i = self.home(place(key, E::TAG_BITS).2);
            while self.at[i] != E::EMPTY {
                i = self.after(i);
            }
            self.at[i] = e;
        }
    }
}

impl<K: Key, E: Entry> Table<K, E> {
    /// The entry of `key`. `key_of(name)` is the key an entry naming `name` is under
    /// (`None` for a document no longer held).
    pub fn get(&self, key: K, key_of: impl Fn(u32) -> Option<K>) -> Option<E> {
        let s = &self.shards[place(key, E::TAG_BITS).0];
        if s.len == 0 {
            return None;
        }
        s.find(key, &key_of).ok().map(|i| s.at[i])
    }

    /// Writes `key`'s entry, `new(entry before, the key's fingerprint)`, which must name
    /// something under `key`; returns the entry before. One search.
    pub fn update(
        &mut self,
        key: K,
        key_of: impl Fn(u32) -> Option<K>,
        new: impl FnOnce(Option<E>, u32) -> E,
    ) -> Option<E> {
        let (shard, tag, _) = place(key, E::TAG_BITS);
        let s = &mut self.shards[shard];
        if (s.len + 1) * 4 > s.at.len() * 3 {
            s.grow(&key_of);
        }
        match s.find(key, &key_of) {
            Ok(i) => {
                let before = s.at[i];
                s.at[i] = new(Some(before), tag);
                debug_assert!(key_of(s.at[i].name()) == Some(key));
                Some(before)
            }
            Err(i) => {
                s.at[i] = new(None, tag);
                debug_assert!(key_of(s.at[i].name()) == Some(key));
                s.len += 1;
                None
            }
        }
    }

    /// Removes `key`'s entry, shifting back the entries after it in its run.
    pub fn remove(&mut self, key: K, key_of: impl Fn(u32) -> Option<K>) {
        let s = &mut self.shards[place(key, E::TAG_BITS).0];
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
            if e == E::EMPTY {
                break;
            }
            let k = key_of(e.name()).expect("a listed document's key");
            let home = s.home(place(k, E::TAG_BITS).2);
            // The entry may fill the hole if its home is not in (hole, i], cyclically.
            if (i + n - home) % n >= (i + n - hole) % n {
                s.at[hole] = e;
                hole = i;
            }
        }
        s.at[hole] = E::EMPTY;
        s.len -= 1;
    }

    /// Entries held.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len).sum()
    }

    /// Heap bytes of the positions and the shards.
    pub fn heap_bytes(&self) -> usize {
        self.shards.len() * std::mem::size_of::<Shard<E>>()
            + self
                .shards
                .iter()
                .map(|s| s.at.len() * std::mem::size_of::<E>())
                .sum::<usize>()
    }
}
