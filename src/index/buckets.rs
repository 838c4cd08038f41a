//! The heads of one LSH band's buckets: bucket key → newest member, without storing the
//! key ([`super::keyless`]). A hash map of `u32 → u32` costs 9 bytes per entry (key,
//! value, control byte) at its load; here an entry is the document number (4 bytes) with
//! four bits of its key's hash above it, and the key is read back from the document's own
//! bucket keys, which its slot holds anyway. The ids and exact-body tables are the same
//! over an id's or a body's hash.

use super::keyless::{Entry, Key, Table};

/// Bits of an entry holding the document number: documents are numbered below
/// [`super::MAX_DOCS`] < 2^28. The other four hold a fingerprint of the key.
const DOC_BITS: u32 = 28;
const DOC_MASK: u32 = (1 << DOC_BITS) - 1;
const _: () = assert!(super::MAX_DOCS <= DOC_MASK);

/// A document number, its key's fingerprint above it; empty: all ones (a number above
/// any document's).
impl Entry for u32 {
    const EMPTY: u32 = u32::MAX;
    const TAG_BITS: u32 = 32 - DOC_BITS;
    fn name(self) -> u32 {
        self & DOC_MASK
    }
    fn tag(self) -> u32 {
        self >> DOC_BITS
    }
}

/// The bucket heads of one band (see the module docs); also the index's other maps from
/// a hash the document holds to the document (ids, exact bodies).
#[derive(Debug, Clone)]
pub(crate) struct Heads<K = u32>(Table<K, u32>);

impl<K> Default for Heads<K> {
    fn default() -> Self {
        Heads(Table::default())
    }
}

impl<K: Key> Heads<K> {
    /// The newest member of the bucket `key`. `key_of(d)` is document `d`'s key in this
    /// band (`None` for a document no longer held).
    pub fn get(&self, key: K, key_of: impl Fn(u32) -> Option<K>) -> Option<u32> {
        self.0.get(key, key_of).map(Entry::name)
    }

    /// Makes `d` the newest member of the bucket `key` (whose key `key_of(d)` is).
    pub fn set(&mut self, key: K, d: u32, key_of: impl Fn(u32) -> Option<K>) {
        debug_assert!(d < DOC_MASK);
        self.0.update(key, key_of, |_, tag| tag << DOC_BITS | d);
    }

    /// Makes `d` the newest member of the bucket `key` unless a newer document heads it;
    /// returns the head before (`None` for a new bucket). One search where
    /// [`Heads::get`] then [`Heads::set`] make two.
    pub fn push(&mut self, key: K, d: u32, key_of: impl Fn(u32) -> Option<K>) -> Option<u32> {
        debug_assert!(d < DOC_MASK);
        self.0
            .update(key, key_of, |before, tag| match before {
                Some(e) if e.name() > d => e,
                _ => tag << DOC_BITS | d,
            })
            .map(Entry::name)
    }

    /// Removes the bucket `key`.
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
                if step % 2 == 0 {
                    let before = heads.push(key, d, |d| keys.get(d as usize).copied());
                    assert_eq!(before, map.get(&key).copied());
                } else {
                    heads.set(key, d, |d| keys.get(d as usize).copied());
                }
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
        assert_eq!(heads.0.len(), map.len());
    }
}
