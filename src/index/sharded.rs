//! A hash map in shards, so that growing it rehashes one shard, not the whole map: the
//! index's maps held millions of keys (its keyword postings, ids and bodies, before
//! they moved to tables of their own, sharded the same way), and one rehash of such a
//! map stalled an insert for over a second with 1,000,000 documents held
//! (BENCHMARKS.md). The copies of each body held more than once are its last user.

use std::collections::hash_map::Entry;

use crate::weights::KeyMap;

/// Shards per map (a power of two).
const SHARDS: usize = 64;

/// A key that picks its shard: keys here are hashes already, mixed once more so that
/// the shard and the position within it use different bits.
pub(crate) trait ShardKey: std::hash::Hash + Eq + Copy {
    /// The key's shard, below [`SHARDS`].
    fn shard(self) -> usize;
}

impl ShardKey for u64 {
    fn shard(self) -> usize {
        (self.wrapping_mul(0xd6e8_feb8_6659_fd93) >> 58) as usize
    }
}

/// A map of hash keys in [`SHARDS`] shards (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Sharded<K, V> {
    shards: Vec<KeyMap<K, V>>,
}

impl<K, V> Default for Sharded<K, V> {
    fn default() -> Self {
        Sharded {
            shards: (0..SHARDS).map(|_| KeyMap::default()).collect(),
        }
    }
}

impl<K, V> Sharded<K, V> {
    /// Heap bytes of the buckets (a key, a value and a control byte each). A map's
    /// `capacity` is what it holds before it grows: 7/8 of its buckets, a power of two.
    pub fn heap_bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|m| {
                let buckets = match m.capacity() {
                    0 => return 0,
                    c if c < 8 => (c + 1).next_power_of_two(),
                    c => (c * 8 / 7).next_power_of_two(),
                };
                buckets * (std::mem::size_of::<(K, V)>() + 1) + 16
            })
            .sum()
    }
}

impl<K: ShardKey, V> Sharded<K, V> {
    fn shard(&self, key: K) -> &KeyMap<K, V> {
        &self.shards[key.shard()]
    }

    fn shard_mut(&mut self, key: K) -> &mut KeyMap<K, V> {
        &mut self.shards[key.shard()]
    }

    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.shard(*key).get(key)
    }

    /// The value of `key`, for writing.
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.shard_mut(*key).get_mut(key)
    }

    /// The entry of `key`.
    pub fn entry(&mut self, key: K) -> Entry<'_, K, V> {
        self.shard_mut(key).entry(key)
    }

    /// Sets the value of `key`, returning the one before.
    #[cfg(test)]
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.shard_mut(key).insert(key, value)
    }

    /// Removes `key`, returning its value.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        self.shard_mut(*key).remove(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_one_map() {
        let mut m: Sharded<u64, u32> = Sharded::default();
        let mut plain: std::collections::HashMap<u64, u32> = std::collections::HashMap::new();
        let mut x = 7u64;
        for i in 0..5000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let k = x % 3000;
            match i % 4 {
                0 => assert_eq!(m.insert(k, i), plain.insert(k, i)),
                1 => assert_eq!(m.remove(&k), plain.remove(&k)),
                2 => *m.entry(k).or_insert(0) += 1,
                _ => assert_eq!(m.get(&k), plain.get(&k)),
            }
            if i % 4 == 2 {
                *plain.entry(k).or_insert(0) += 1;
            }
            assert_eq!(m.get(&k), plain.get(&k));
        }
        let used = m.shards.iter().filter(|s| !s.is_empty()).count();
        assert!(used > SHARDS / 2, "keys spread over the shards: {used}");
    }
}
