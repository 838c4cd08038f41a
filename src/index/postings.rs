//! Keyword postings' heads: key (a keyword, or a keyword in a time slice) → the newest
//! link listing it and how many do, without storing the key ([`super::keyless`]): the
//! key is read back from the head link's document (its `j`-th keyword, and its time
//! slice). An entry is 8 bytes (link, count) where a hash map's was 13 (keyword) or 17
//! (keyword and slice) at its load; eight bits of the key's hash sit in the count's high
//! bits, so a probe reads a slot only for one unrelated entry in 256 (most lookups, of
//! keywords in slices nobody lists them in, read none).

use super::NIL;
use super::keyless::{Entry, Key, Table};

/// Bits of an entry's second word holding the count; the other eight hold a fingerprint
/// of the key. A count stops at [`SATURATED`] (16.7 million): the index compares counts
/// with `KeywordParams::max_postings` (200), far below, and a removal from a saturated
/// posting counts its chain again ([`super::unlink`]).
const COUNT_BITS: u32 = 24;
const COUNT_MASK: u32 = (1 << COUNT_BITS) - 1;
/// A count of at least this many.
pub(crate) const SATURATED: u32 = COUNT_MASK;
const _: () = assert!(crate::keywords::KeywordParams::DEFAULT_MAX_POSTINGS < SATURATED as usize);

/// The head link, and the count with the key's fingerprint above it; empty: no link.
impl Entry for (u32, u32) {
    const EMPTY: (u32, u32) = (NIL, 0);
    const TAG_BITS: u32 = 32 - COUNT_BITS;
    fn name(self) -> u32 {
        self.0
    }
    fn tag(self) -> u32 {
        self.1 >> COUNT_BITS
    }
}

/// Posting heads by key (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Postings<K>(Table<K, (u32, u32)>);

impl<K> Default for Postings<K> {
    fn default() -> Self {
        Postings(Table::default())
    }
}

impl<K: Key> Postings<K> {
    /// The head link and count of `key`'s posting (a count of [`SATURATED`] means at
    /// least that many). `key_of(link)` is the key a link is listed under (`None` for a
    /// document no longer held).
    pub fn get(&self, key: K, key_of: impl Fn(u32) -> Option<K>) -> Option<(u32, u32)> {
        self.0.get(key, key_of).map(|(l, c)| (l, c & COUNT_MASK))
    }

    /// Sets `key`'s posting to `head` (listed under `key`) and `count` (at least 1;
    /// kept up to [`SATURATED`]).
    pub fn set(&mut self, key: K, head: u32, count: u32, key_of: impl Fn(u32) -> Option<K>) {
        debug_assert!(count >= 1);
        let count = count.min(SATURATED);
        self.0
            .update(key, key_of, |_, tag| (head, tag << COUNT_BITS | count));
    }

    /// Makes `link` (listed under `key`) the head of `key`'s posting, one longer;
    /// returns the head before ([`NIL`] for a new posting). One search where
    /// [`Postings::get`] then [`Postings::set`] make two.
    pub fn push(&mut self, key: K, link: u32, key_of: impl Fn(u32) -> Option<K>) -> u32 {
        self.0
            .update(key, key_of, |before, tag| {
                let count = before.map_or(1, |(_, c)| ((c & COUNT_MASK) + 1).min(SATURATED));
                (link, tag << COUNT_BITS | count)
            })
            .map_or(NIL, |(l, _)| l)
    }

    /// Removes `key`'s posting.
    pub fn remove(&mut self, key: K, key_of: impl Fn(u32) -> Option<K>) {
        self.0.remove(key, key_of);
    }

    /// Heap bytes of the table.
    pub fn heap_bytes(&self) -> usize {
        self.0.heap_bytes()
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
        assert_eq!(table.0.len(), map.len());
    }

    /// A count stops at `SATURATED`, and pushing on it keeps it there.
    #[test]
    fn counts_saturate() {
        let keys = [7u32, 7];
        let mut table: Postings<u32> = Postings::default();
        let key_of = |l: u32| keys.get(l as usize).copied();
        table.set(7, 0, u32::MAX - 3, key_of);
        assert_eq!(table.get(7, key_of), Some((0, SATURATED)));
        assert_eq!(table.push(7, 1, key_of), 0);
        assert_eq!(table.get(7, key_of), Some((1, SATURATED)));
        table.set(7, 1, 12, key_of);
        assert_eq!(table.get(7, key_of), Some((1, 12)));
    }
}
