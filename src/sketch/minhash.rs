//! `MinHash` by one-permutation hashing with optimal densification
//! (Li, Owen & Zhang 2012; Shrivastava 2017).
//!
//! Each shingle is hashed once: the hash picks one of `perms` bins and the bin keeps the
//! smallest value it sees. Bins that no shingle fell into borrow the value of a non-empty
//! bin chosen by a hash of the bin number, the same choice in every document, so that the
//! share of equal positions between two signatures is an unbiased estimate of the Jaccard
//! similarity of the shingle sets. Cost: one multiply per shingle plus one pass over the
//! bins, instead of `perms` hashes per shingle.

/// The value of a bin no shingle fell into (before densification).
const EMPTY: u32 = u32::MAX;

/// How many donor candidates per bin are computed in advance (see [`MinHasher::new`]).
const PROBES: usize = 16;

/// Computes `MinHash` signatures of a fixed length with a fixed seed.
#[derive(Debug, Clone)]
pub struct MinHasher {
    perms: usize,
    seed: u64,
    /// The first [`PROBES`] donor candidates of every bin, `PROBES` per bin: the probe
    /// sequence depends only on the seed and the bin, so it is computed once here
    /// rather than hashed again for every empty bin of every document.
    probes: Vec<u16>,
}

/// A strong 64-bit mixer (the finaliser of `SplitMix64`).
#[inline]
#[must_use]
pub fn mix64(mut x: u64) -> u64 {
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

impl MinHasher {
    /// A hasher producing `perms` values per signature.
    ///
    /// # Panics
    /// When `perms` is 0 or more than 4096.
    #[must_use]
    pub fn new(perms: usize, seed: u64) -> Self {
        assert!((1..=4096).contains(&perms), "perms must be from 1 to 4096");
        let probes = (0..perms)
            .flat_map(|i| (1..=PROBES as u64).map(move |attempt| probe(seed, perms, i, attempt)))
            .collect();
        MinHasher {
            perms,
            seed,
            probes,
        }
    }

    /// Signature length.
    #[must_use]
    pub fn perms(&self) -> usize {
        self.perms
    }

    /// Writes the signature of a bag of shingle hashes into `out` (length `perms`).
    /// Repeated shingles do not change it. With no shingles every value is `u32::MAX`.
    ///
    /// # Panics
    /// When `out` is not `perms` long.
    pub fn sketch_into(&self, shingles: &[u64], out: &mut [u32]) {
        assert_eq!(out.len(), self.perms);
        out.fill(EMPTY);
        let n = self.perms as u64;
        for &s in shingles {
            let x = mix64(s ^ self.seed);
            // High half picks the bin (multiply-shift range reduction), low half is the value.
            let bin = (((x >> 32) * n) >> 32) as usize;
            // u32::MAX is reserved for "empty".
            let v = (x as u32).min(EMPTY - 1);
            // Branch-free: whether a value lowers its bin's minimum is a coin toss.
            let slot = &mut out[bin];
            *slot = (*slot).min(v);
        }
        self.densify(out);
    }

    /// Fills empty bins from bins that shingles filled, the same choice of donor in
    /// every document; densified values are never donors, so the result does not depend
    /// on the order in which bins are visited.
    fn densify(&self, sig: &mut [u32]) {
        // perms ≤ 4096 (checked by `Config::validate`): 64 words of bits, on the stack.
        let mut filled = [0u64; 64];
        assert!(sig.len() <= 64 * 64, "at most 4096 perms");
        let mut count = 0;
        for (i, &v) in sig.iter().enumerate() {
            let bit = u64::from(v != EMPTY);
            filled[i / 64] |= bit << (i % 64);
            count += bit as usize;
        }
        if count == 0 || count == sig.len() {
            return;
        }
        let is_filled = |j: usize| filled[j / 64] & (1 << (j % 64)) != 0;
        for (w, &bits) in filled.iter().enumerate().take(sig.len().div_ceil(64)) {
            // The empty bins of this word, lowest first.
            let mut empty = !bits;
            while empty != 0 {
                let i = w * 64 + empty.trailing_zeros() as usize;
                empty &= empty - 1;
                if i >= sig.len() {
                    break;
                }
                let table = &self.probes[i * PROBES..][..PROBES];
                let donor = if let Some(&j) = table.iter().find(|&&j| is_filled(usize::from(j))) {
                    usize::from(j)
                } else {
                    // Beyond the table: hash further probes. Some bin is filled, so the
                    // search ends.
                    let mut attempt = PROBES as u64;
                    loop {
                        attempt += 1;
                        let j = usize::from(probe(self.seed, self.perms, i, attempt));
                        if is_filled(j) {
                            break j;
                        }
                    }
                };
                sig[i] = sig[donor];
            }
        }
    }
}

/// The donor candidate of bin `i` at the given attempt (from 1): the fixed probe
/// sequence of densification.
#[inline]
fn probe(seed: u64, perms: usize, i: usize, attempt: u64) -> u16 {
    let x = mix64(seed ^ ((i as u64) << 32) ^ attempt.wrapping_mul(0x9e37_79b9_7f4a_7c15));
    (((x >> 32) * perms as u64) >> 32) as u16
}

/// Share of equal positions of two signatures: the Jaccard estimate.
#[must_use]
pub fn jaccard(a: &[u32], b: &[u32]) -> f64 {
    debug_assert_eq!(a.len(), b.len());
    if a.is_empty() {
        return 0.0;
    }
    let eq = a.iter().zip(b).filter(|(x, y)| x == y).count();
    eq as f64 / a.len() as f64
}

/// True for the signature of a document without shingles.
#[must_use]
pub fn is_empty_signature(sig: &[u32]) -> bool {
    sig.first().is_none_or(|&v| v == EMPTY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sig(h: &MinHasher, items: impl IntoIterator<Item = u64>) -> Vec<u32> {
        let v: Vec<u64> = items
            .into_iter()
            .map(|i| mix64(i.wrapping_add(17)))
            .collect();
        let mut out = vec![0; h.perms()];
        h.sketch_into(&v, &mut out);
        out
    }

    #[test]
    fn identical_sets_identical_signatures() {
        let h = MinHasher::new(64, 3);
        assert_eq!(sig(&h, 0..50), sig(&h, (0..50).rev()));
        assert_eq!(sig(&h, [1, 1, 2]), sig(&h, [2, 1]));
        assert!((jaccard(&sig(&h, 0..5), &sig(&h, 0..5)) - 1.0).abs() < 1e-12);
    }

    /// Densification as first written, hashing every probe: the table must not change it.
    fn reference(h: &MinHasher, shingles: &[u64]) -> Vec<u32> {
        let mut out = vec![EMPTY; h.perms];
        let n = h.perms as u64;
        for &s in shingles {
            let x = mix64(s ^ h.seed);
            let bin = (((x >> 32) * n) >> 32) as usize;
            out[bin] = out[bin].min((x as u32).min(EMPTY - 1));
        }
        let filled: Vec<bool> = out.iter().map(|&v| v != EMPTY).collect();
        if filled.iter().any(|&f| f) {
            for i in 0..out.len() {
                if filled[i] {
                    continue;
                }
                let mut attempt = 1u64;
                loop {
                    let x = mix64(
                        h.seed ^ ((i as u64) << 32) ^ attempt.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                    );
                    let j = (((x >> 32) * n) >> 32) as usize;
                    if filled[j] {
                        out[i] = out[j];
                        break;
                    }
                    attempt += 1;
                }
            }
        }
        out
    }

    #[test]
    fn probe_table_matches_reference() {
        for (perms, seed) in [(128, 0), (256, 7), (1, 3), (4096, 11), (100, 42)] {
            let h = MinHasher::new(perms, seed);
            for count in [0u64, 1, 2, 3, 5, 20, 100, 1000] {
                let v: Vec<u64> = (0..count).map(|i| mix64(i ^ seed)).collect();
                let mut out = vec![0; perms];
                h.sketch_into(&v, &mut out);
                assert_eq!(out, reference(&h, &v), "perms {perms} count {count}");
            }
        }
    }

    #[test]
    fn empty_set() {
        let h = MinHasher::new(16, 0);
        assert!(is_empty_signature(&sig(&h, [])));
        assert!(!is_empty_signature(&sig(&h, [1])));
    }

    #[test]
    fn disjoint_sets_rarely_collide() {
        let h = MinHasher::new(256, 9);
        let j = jaccard(&sig(&h, 0..500), &sig(&h, 1000..1500));
        assert!(j < 0.05, "{j}");
    }

    #[test]
    fn estimate_is_close() {
        // |A∩B| = 300, |A∪B| = 900: J = 1/3.
        let h = MinHasher::new(512, 5);
        let j = jaccard(&sig(&h, 0..600), &sig(&h, 300..900));
        assert!((j - 1.0 / 3.0).abs() < 0.07, "{j}");
    }
}
