//! A growable array of `u32` in fixed pages: past its first page, growing it allocates
//! one more page and never moves or copies what is there, and it holds at most one page
//! of spare room (below one page it grows like a `Vec`).
//! The index's link arrays (LSH bucket chains, keyword posting chains) grow by a few
//! dozen entries per document; as `Vec`s they carried up to twice their length in
//! capacity (a third of their memory on average) and copied hundreds of megabytes at each
//! doubling with millions of documents held.

/// Entries per page (64 KB of `u32`s), a power of two.
const PAGE_BITS: u32 = 14;
const PAGE: usize = 1 << PAGE_BITS;

/// An array of `u32` in pages (see the module docs).
#[derive(Debug, Clone, Default)]
pub(crate) struct Paged {
    pages: Vec<Box<[u32]>>,
    len: usize,
}

impl Paged {
    /// `len` entries, each `fill`.
    pub fn filled(len: usize, fill: u32) -> Self {
        let mut p = Paged::default();
        p.resize(len, fill);
        p
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Entries allocated.
    pub fn capacity(&self) -> usize {
        self.pages.iter().map(|p| p.len()).sum()
    }

    /// Grows to `len` entries, the new ones `fill`, or cuts down to `len` (freeing the
    /// pages no longer needed).
    pub fn resize(&mut self, len: usize, fill: u32) {
        if len < self.len {
            self.pages.truncate(len.div_ceil(PAGE));
            self.len = len;
            return;
        }
        // Entries past `len` in the last page are reset when they come into use.
        let mut at = self.len;
        while at < len {
            let capacity = self.capacity();
            if at == capacity {
                match self.pages.as_mut_slice() {
                    // A small array grows its one page by doubling, up to a whole
                    // page, so that a small index does not hold pages it barely uses.
                    [first] if first.len() < PAGE => {
                        let size = len.max(2 * first.len()).min(PAGE);
                        let mut grown = vec![fill; size];
                        grown[..first.len()].copy_from_slice(first);
                        *first = grown.into_boxed_slice();
                    }
                    [] => {
                        let size = len.next_power_of_two().clamp(64, PAGE);
                        self.pages.push(vec![fill; size].into_boxed_slice());
                    }
                    _ => self.pages.push(vec![fill; PAGE].into_boxed_slice()),
                }
                at = self.capacity().min(len);
            } else {
                let end = len.min(capacity);
                for i in at..end {
                    self.pages[i >> PAGE_BITS][i & (PAGE - 1)] = fill;
                }
                at = end;
            }
        }
        self.len = len;
    }
}

impl std::ops::Index<usize> for Paged {
    type Output = u32;
    #[inline]
    fn index(&self, i: usize) -> &u32 {
        debug_assert!(i < self.len);
        &self.pages[i >> PAGE_BITS][i & (PAGE - 1)]
    }
}

impl std::ops::IndexMut<usize> for Paged {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut u32 {
        debug_assert!(i < self.len);
        &mut self.pages[i >> PAGE_BITS][i & (PAGE - 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::{PAGE, Paged};

    /// Against a `Vec` (the oracle) through growths and cuts across page edges.
    #[test]
    fn behaves_like_a_vec() {
        let mut p = Paged::default();
        let mut v: Vec<u32> = Vec::new();
        let mut x = 1u32;
        for len in [
            3,
            PAGE - 1,
            PAGE,
            PAGE + 5,
            3 * PAGE + 7,
            PAGE + 1,
            2,
            2 * PAGE,
        ] {
            x = x.wrapping_mul(2_654_435_761).wrapping_add(7);
            p.resize(len, x);
            v.resize(len, x);
            assert_eq!(p.len(), v.len());
            assert!(p.capacity() >= len && p.capacity() < len.max(64) * 2 + PAGE);
            for i in (0..len).step_by(97).chain(len.checked_sub(1)) {
                assert_eq!(p[i], v[i], "len {len} at {i}");
                p[i] = i as u32;
                v[i] = i as u32;
            }
        }
        assert_eq!(Paged::filled(PAGE + 2, 9)[PAGE + 1], 9);
    }
}
