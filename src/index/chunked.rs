//! A vector whose snapshots are cheap: elements live in fixed-size chunks behind `Arc`s,
//! so a clone shares every chunk, and a write into a shared chunk copies that chunk
//! only. It is how [`Index::save`](super::Index::save) writes a consistent snapshot while
//! inserts go on: the extra memory is the chunks written meanwhile.

use std::sync::Arc;

/// Elements per chunk: small, so a write during a save copies little.
const CHUNK: usize = 64;

/// A vector of `T` in shared chunks (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct Chunked<T> {
    chunks: Vec<Arc<Vec<T>>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T: Clone> Chunked<T> {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Appends an element.
    pub fn push(&mut self, x: T) {
        if self.len.is_multiple_of(CHUNK) {
            self.chunks.push(Arc::new(Vec::with_capacity(CHUNK)));
        }
        Arc::make_mut(self.chunks.last_mut().expect("a chunk")).push(x);
        self.len += 1;
    }

    /// The elements in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> + '_ {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// The elements in order, for writing (every shared chunk is copied).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        self.chunks
            .iter_mut()
            .flat_map(|c| Arc::make_mut(c).iter_mut())
    }

    /// Keeps the elements `keep` says, in order.
    pub fn retain_by(&mut self, mut keep: impl FnMut(usize) -> bool) {
        let old = std::mem::take(self);
        for (i, x) in old.into_iter().enumerate() {
            if keep(i) {
                self.push(x);
            }
        }
    }

    /// The elements, taken out (chunks shared with a snapshot are copied).
    fn into_iter(self) -> impl Iterator<Item = T> {
        self.chunks
            .into_iter()
            .flat_map(|c| Arc::try_unwrap(c).unwrap_or_else(|c| (*c).clone()))
    }
}

impl<T: Clone> std::ops::Index<usize> for Chunked<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        assert!(i < self.len, "index {i} out of {}", self.len);
        &self.chunks[i / CHUNK][i % CHUNK]
    }
}

impl<T: Clone> std::ops::IndexMut<usize> for Chunked<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        assert!(i < self.len, "index {i} out of {}", self.len);
        &mut Arc::make_mut(&mut self.chunks[i / CHUNK])[i % CHUNK]
    }
}

impl<T: Clone> FromIterator<T> for Chunked<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut out = Chunked::default();
        for x in iter {
            out.push(x);
        }
        out
    }
}

/// Written as a sequence, like a `Vec<T>`.
impl<T: serde::Serialize + Clone> serde::Serialize for Chunked<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = s.serialize_seq(Some(self.len))?;
        for x in self.iter() {
            seq.serialize_element(x)?;
        }
        seq.end()
    }
}

impl<'de, T: serde::Deserialize<'de> + Clone> serde::Deserialize<'de> for Chunked<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Seq<T>(std::marker::PhantomData<T>);
        impl<'de, T: serde::Deserialize<'de> + Clone> serde::de::Visitor<'de> for Seq<T> {
            type Value = Chunked<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Chunked::default();
                while let Some(x) = seq.next_element()? {
                    out.push(x);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Seq(std::marker::PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_keeps_its_values_while_the_original_changes() {
        let mut v: Chunked<u32> = (0..200).collect();
        let snapshot = v.clone();
        v[3] = 1000;
        v.push(7);
        v.retain_by(|i| i % 2 == 0);
        assert_eq!(snapshot.len(), 200);
        assert_eq!(snapshot[3], 3);
        assert_eq!(
            snapshot.iter().copied().sum::<u32>(),
            (0..200u32).sum::<u32>()
        );
        assert_eq!(v.len(), 101);
        assert_eq!(v[100], 7);
        assert_eq!(v[1], 2);
    }

    #[test]
    fn serialises_as_a_vector() {
        let v: Chunked<u16> = (0..150).collect();
        let plain: Vec<u16> = (0..150).collect();
        let bytes = postcard::to_allocvec(&v).unwrap();
        assert_eq!(bytes, postcard::to_allocvec(&plain).unwrap());
        let back: Chunked<u16> = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(back.iter().copied().collect::<Vec<_>>(), plain);
    }
}
