//! Weighted 64-bit `SimHash` (Charikar 2002; Manku, Jain & Das Sarma 2007).
//!
//! Each feature is a `(hash, weight)` pair. The hash is remixed with the seed, and every
//! one of its 64 bits votes: `+weight` for counter `i` when bit `i` is set, `-weight`
//! when it is clear. Bit `i` of the fingerprint is set when counter `i` ends above zero.
//! Documents with similar weighted feature bags get fingerprints at a small Hamming
//! distance: the expected share of differing bits is the angle between the two weight
//! vectors divided by π. [`crate::hamming`] finds the pairs within a distance.

use crate::sketch::minhash::mix64;

/// `SIGNS[b][i]` is +1 when bit `i` of byte `b` is set, else -1.
static SIGNS: [[f32; 8]; 256] = {
    let mut t = [[-1f32; 8]; 256];
    let mut b = 0;
    while b < 256 {
        let mut i = 0;
        while i < 8 {
            if b >> i & 1 == 1 {
                t[b][i] = 1.0;
            }
            i += 1;
        }
        b += 1;
    }
    t
};

/// Computes weighted 64-bit `SimHash` fingerprints with a fixed seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SimHasher {
    seed: u64,
}

impl SimHasher {
    /// A hasher whose fingerprints depend on `seed`: compare only fingerprints made with
    /// the same seed.
    #[must_use]
    pub fn new(seed: u64) -> Self {
        SimHasher { seed }
    }

    /// The fingerprint of a bag of `(feature hash, weight)` pairs. Order does not matter
    /// (up to floating-point rounding of the sums); a repeated feature counts with the sum
    /// of its weights. With no features, or when every counter ends at zero or below, the
    /// fingerprint is 0.
    #[must_use]
    pub fn fingerprint(&self, features: impl IntoIterator<Item = (u64, f32)>) -> u64 {
        let mut acc = [0f32; 64];
        for (h, w) in features {
            let x = mix64(h ^ self.seed);
            // Branch-free: each byte of x picks a row of eight ±1 factors, and eight
            // counters take w times them (exactly ±w), a multiply-add the compiler
            // vectorises.
            for (counters, byte) in acc.chunks_exact_mut(8).zip(x.to_le_bytes()) {
                let signs = &SIGNS[usize::from(byte)];
                for (a, s) in counters.iter_mut().zip(signs) {
                    *a += w * s;
                }
            }
        }
        acc.iter()
            .enumerate()
            .fold(0u64, |fp, (i, &a)| fp | (u64::from(a > 0.0) << i))
    }
}

impl SimHasher {
    /// The fingerprint of a document given by its distinct shingles (18-bit hashes, as
    /// in [`crate::features::Features::shingles`]: the top bits of each shingle's seeded
    /// xxh3), every shingle of weight 1. Equal to [`SimHasher::fingerprint`] of the
    /// shingles with weight 1 (each remixed with the seed into 64 bits), computed with
    /// bit-sliced counters: a few word operations per shingle instead of 64 additions.
    #[must_use]
    pub fn shingle_fingerprint(&self, shingles: &[u32]) -> u64 {
        let n = shingles.len() as u64;
        // planes[p] holds bit p of the 64 counters of set bits; counters reach n, which
        // needs `width` bits. A fixed number of planes per shingle keeps the loop free
        // of data-dependent branches.
        let width = (64 - n.leading_zeros()) as usize;
        let mut planes = [0u64; 64];
        let planes = &mut planes[..width];
        for &s in shingles {
            let mut carry = mix64(u64::from(s) ^ self.seed);
            for plane in planes.iter_mut() {
                let next = *plane & carry;
                *plane ^= carry;
                carry = next;
            }
        }
        // Bit i is set when counter i exceeds n / 2 (votes: ones - (n - ones) > 0): a
        // bit-sliced comparison of all 64 counters with floor(n / 2), top plane first.
        let half = n / 2;
        let (mut greater, mut equal) = (0u64, u64::MAX);
        for (p, &plane) in planes.iter().enumerate().rev() {
            if half >> p & 1 == 1 {
                equal &= plane;
            } else {
                greater |= equal & plane;
                equal &= !plane;
            }
        }
        greater
    }
}

/// The two 32-bit words that hold a fingerprint in a signature buffer (low word first),
/// where the batch pipeline and the index keep `MinHash` values.
#[must_use]
pub fn to_words(fp: u64) -> [u32; 2] {
    [fp as u32, (fp >> 32) as u32]
}

/// The fingerprint held in the first two words of `words` (see [`to_words`]).
///
/// # Panics
/// When `words` has fewer than two words.
#[must_use]
pub fn from_words(words: &[u32]) -> u64 {
    u64::from(words[0]) | u64::from(words[1]) << 32
}

/// Number of differing bits of two fingerprints.
#[inline]
#[must_use]
pub fn hamming(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bag(range: std::ops::Range<u64>) -> impl Iterator<Item = (u64, f32)> {
        range.map(|i| (mix64(i.wrapping_add(99)), 1.0 + (i % 7) as f32))
    }

    #[test]
    fn identical_bags_identical_fingerprints() {
        let h = SimHasher::new(7);
        assert_eq!(h.fingerprint(bag(0..200)), h.fingerprint(bag(0..200)));
        let mut rev: Vec<_> = bag(0..200).collect();
        rev.reverse();
        assert_eq!(h.fingerprint(bag(0..200)), h.fingerprint(rev));
        assert_eq!(h.fingerprint(std::iter::empty()), 0);
    }

    #[test]
    fn seed_changes_fingerprint() {
        assert_ne!(
            SimHasher::new(1).fingerprint(bag(0..100)),
            SimHasher::new(2).fingerprint(bag(0..100))
        );
    }

    #[test]
    fn weights_and_signs() {
        let h = SimHasher::new(0);
        // One feature: the fingerprint is its remixed hash.
        assert_eq!(h.fingerprint([(42, 1.0)]), mix64(42));
        // A heavy feature outvotes a light one on every bit.
        assert_eq!(h.fingerprint([(42, 10.0), (43, 1.0)]), mix64(42));
        // Equal and opposite votes cancel to zero where the bits differ.
        assert_eq!(h.fingerprint([(42, 1.0), (43, 1.0)]), mix64(42) & mix64(43));
    }

    #[test]
    fn small_change_small_distance() {
        let h = SimHasher::new(3);
        let mut total = 0;
        let trials = 50;
        for t in 0..trials {
            let base = t * 10_000;
            // Replace 5 of 200 features.
            let a = h.fingerprint(bag(base..base + 200));
            let b = h.fingerprint(bag(base + 5..base + 205));
            total += hamming(a, b);
        }
        let mean = f64::from(total) / trials as f64;
        assert!(mean < 8.0, "{mean}");
    }

    #[test]
    fn disjoint_bags_about_half_the_bits() {
        let h = SimHasher::new(5);
        let mut total = 0;
        let trials = 200;
        for t in 0..trials {
            let a = h.fingerprint(bag(t * 1000..t * 1000 + 100));
            let b = h.fingerprint(bag(1_000_000 + t * 1000..1_000_000 + t * 1000 + 100));
            total += hamming(a, b);
        }
        let mean = f64::from(total) / trials as f64;
        assert!((mean - 32.0).abs() < 2.0, "{mean}");
    }

    #[test]
    fn words_round_trip() {
        for fp in [0, 1, u64::MAX, 0x0123_4567_89ab_cdef] {
            assert_eq!(from_words(&to_words(fp)), fp);
        }
        let h = SimHasher::new(1);
        let a = h.shingle_fingerprint(&[1, 2, 3]);
        assert_ne!(a, h.shingle_fingerprint(&[1, 2, 4]));
        assert_eq!(h.shingle_fingerprint(&[]), 0);
    }

    #[test]
    fn bit_sliced_equals_weighted() {
        for seed in [0, 1, 0xdead_beef] {
            let h = SimHasher::new(seed);
            for n in [1u32, 2, 3, 4, 7, 64, 255, 256, 1000, 5000] {
                let shingles: Vec<u32> = (0..n).map(|i| mix64(u64::from(i + n)) as u32).collect();
                let weighted = h.fingerprint(shingles.iter().map(|&s| (u64::from(s), 1.0)));
                assert_eq!(h.shingle_fingerprint(&shingles), weighted, "n = {n}");
            }
        }
    }

    #[test]
    fn hamming_counts_bits() {
        assert_eq!(hamming(0, 0), 0);
        assert_eq!(hamming(0, u64::MAX), 64);
        assert_eq!(hamming(0b1010, 0b0110), 2);
    }
}
