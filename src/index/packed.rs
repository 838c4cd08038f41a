//! A held document's hash sets, packed: each a sorted set of distinct hashes,
//! written as an Elias–Fano code, all four in one allocation with the document's
//! bucket keys and keywords.
//!
//! Elias–Fano (Elias 1974, Fano 1971; Vigna, "Quasi-succinct indices", 2013) splits each
//! of `n` sorted values below `2^u` into its `L = u − ⌈log2 n⌉` low bits, stored as they
//! are, and its high part, stored in unary as gaps: at most `L + 3` bits per value, against
//! 32 for the plain array. Hashes are uniform, so a set of `n` of them holds about
//! `u − log2 n + 1.44` bits of information per value: the code is within two bits of it.
//! A news article's 250 shingle hashes (18 bits: [`crate::features::SHINGLE_BITS`]) take
//! about 350 bytes instead of 1,000, its 180 word hashes (24 bits:
//! [`crate::features::TERM_BITS`]) about 400 instead of 720, and a slot holds one
//! allocation instead of four. Packing and unpacking are exact (same values, same order)
//! and cost about 25 instructions per value each (callgrind, BENCHMARKS.md "Hash sets
//! packed"): a document is packed once, outside the index's lock, and unpacked for each
//! pair that verifies it.
//!
//! The allocation is of 32-bit words: the keys first (read one at a time by every
//! bucket lookup that hits the document), then the codes, whose 64-bit words are read
//! as pairs. One allocation rather than two saves a pointer and an allocation header per
//! document (BENCHMARKS.md, "One allocation per slot, refusals in one word, chains where
//! linked").
//!
//! The allocation is reference-counted so that the later exact copies of
//! a body with the same headline hold their representative's rather than their own
//! (none of their own keys: the slot reads none of them). A copy that takes a leaving
//! representative's place finds the keys it takes there already. With 1,000,000
//! synthetic news articles held, 11.5% are such copies: 90 bytes less per document.

use triomphe::ThinArc;

use crate::features::Features;

/// Low bits per value for `n` values below `2^universe`: `universe − ⌈log2 n⌉`
/// (`universe` for a single value). Any `u32` values decode exactly; values at or above
/// `2^universe` (only a damaged file gives them: earlier formats' wider hashes are
/// narrowed before they are packed) only make the code longer.
fn low_bits(n: usize, universe: u32) -> u32 {
    debug_assert!(n >= 1);
    // ⌈log2 n⌉ = bits of n − 1.
    let n1 = u64::try_from(n - 1).unwrap_or(u64::MAX);
    universe.saturating_sub(64 - n1.leading_zeros())
}

/// Bits of the code of `values` (sorted, distinct): the low parts, then one bit per
/// value and one per step of the high part up to the last value's.
fn code_bits(values: &[u32], universe: u32) -> usize {
    match values.last() {
        None => 0,
        Some(&last) => {
            let l = low_bits(values.len(), universe);
            values.len() * l as usize + values.len() + (u64::from(last) >> l) as usize + 1
        }
    }
}

/// Words set aside for the code of `n` values below `2^universe`: room for the code of
/// any such values (the high part of the largest is below `2^⌈log2 n⌉`), so that where
/// each of a slot's codes starts follows from the sets' lengths alone. A code of
/// uniform hashes needs one or two bits less than this, so a set rarely takes a word
/// more than its code.
fn code_words(n: usize, universe: u32) -> usize {
    if n == 0 {
        return 0;
    }
    let l = low_bits(n, universe);
    let top = ((1u64 << universe) - 1) >> l;
    (n * l as usize + n + top as usize + 1).div_ceil(64)
}

/// Mask of the `l` low bits (`l` ≤ 32).
fn low_mask(l: u32) -> u64 {
    (1u64 << l) - 1
}

/// Appends the code of `values` (sorted, distinct) to `out`, from a word boundary: the
/// low parts packed one after the other, then the unary high parts.
fn encode(values: &[u32], universe: u32, out: &mut Vec<u64>) {
    let Some(_) = values.last() else { return };
    debug_assert!(is_sorted_set(values), "sorted and distinct");
    let start = out.len();
    out.resize(start + code_bits(values, universe).div_ceil(64), 0);
    let words = &mut out[start..];
    let l = low_bits(values.len(), universe);
    let mask = low_mask(l);
    // Low parts, streamed through a 64-bit accumulator holding `have` bits.
    let (mut acc, mut have, mut k) = (0u64, 0u32, 0usize);
    if l > 0 {
        for &v in values {
            let low = u64::from(v) & mask;
            acc |= low << have;
            have += l;
            if have >= 64 {
                words[k] = acc;
                k += 1;
                have -= 64;
                // The bits of `low` that did not fit (none when it ended the word).
                acc = if have == 0 { 0 } else { low >> (l - have) };
            }
        }
        if have > 0 {
            words[k] = acc;
        }
    }
    let upper = values.len() * l as usize;
    for (i, &v) in values.iter().enumerate() {
        let pos = upper + (u64::from(v) >> l) as usize + i;
        words[pos / 64] |= 1 << (pos % 64);
    }
}

/// The `i`-th 64-bit word of a code held as 32-bit halves (low half first).
#[inline]
fn word(halves: &[u32], i: usize) -> u64 {
    u64::from(halves[2 * i]) | u64::from(halves[2 * i + 1]) << 32
}

/// Appends the `n` values coded in `halves` (by [`encode`], each 64-bit word as two
/// 32-bit halves, low first) to `out`.
fn decode(halves: &[u32], n: usize, universe: u32, out: &mut Vec<u32>) {
    if n == 0 {
        return;
    }
    let l = low_bits(n, universe);
    let mask = low_mask(l);
    let start = out.len();
    out.resize(start + n, 0);
    let dst = &mut out[start..];
    // Low parts, streamed through a 64-bit accumulator holding `have` bits.
    if l > 0 {
        let (mut acc, mut have) = (0u64, 0u32);
        let mut next = halves
            .chunks_exact(2)
            .map(|h| u64::from(h[0]) | u64::from(h[1]) << 32);
        for x in dst.iter_mut() {
            if have >= l {
                *x = (acc & mask) as u32;
                acc >>= l;
                have -= l;
            } else {
                let w = next.next().expect("a complete code");
                *x = ((acc | (w << have)) & mask) as u32;
                // `l − have` bits of `w` were taken (1 to 32).
                let taken = l - have;
                acc = w >> taken;
                have = 64 - taken;
            }
        }
    }
    // The upper bits from bit `n·l` on: each set bit at offset `p` is value `i`'s, with
    // high part `p − i`.
    let upper = n * l as usize;
    let mut w = upper / 64;
    let mut bits = word(halves, w) & (u64::MAX << (upper % 64));
    for (i, x) in dst.iter_mut().enumerate() {
        while bits == 0 {
            w += 1;
            bits = word(halves, w);
        }
        let p = w * 64 + bits.trailing_zeros() as usize - upper;
        // For l = 32 (a single value) the high part is 0 and drops out of the u32.
        *x |= (((p - i) as u64) << l) as u32;
        bits &= bits - 1;
    }
}

/// Whether `s` is strictly increasing (sorted, no repeats), as every set of features is.
pub(super) fn is_sorted_set(s: &[u32]) -> bool {
    s.windows(2).all(|w| w[0] < w[1])
}

/// Whether `f`'s four sets are each sorted without repeats (what packing needs).
pub(super) fn sorted_sets(f: &Features) -> bool {
    [&f.shingles, &f.terms, &f.title, &f.numbers]
        .iter()
        .all(|s| is_sorted_set(s))
}

/// Bits of the hashes of each set: shingles ([`crate::features::SHINGLE_BITS`]), body
/// words, headline words, figures ([`crate::features::TERM_BITS`]).
const UNIVERSE: [u32; 4] = [
    crate::features::SHINGLE_BITS,
    crate::features::TERM_BITS,
    crate::features::TERM_BITS,
    crate::features::TERM_BITS,
];

/// The allocation of sets of `lens` values: `keys`, then `codes` halves that `fill`
/// writes, in one new allocation written in place (through a `Vec` it took an
/// allocation and a copy more; filled value by value from an iterator, 2% more
/// instructions in all).
fn joined(lens: [u16; 4], keys: &[u32], codes: usize, fill: impl FnOnce(&mut [u32])) -> Shared {
    let mut shared =
        ThinArc::from_header_and_iter(lens, std::iter::repeat_n(0, keys.len() + codes));
    shared.with_arc_mut(|a| {
        let out = triomphe::Arc::get_mut(a).expect("just made").slice_mut();
        let (head, tail) = out.split_at_mut(keys.len());
        head.copy_from_slice(keys);
        fill(tail);
    });
    shared
}

/// One allocation of a slot's sets: its count, the sets' lengths and the number of
/// halves, then the halves (`triomphe`'s thin `Arc`: the slot holds one pointer).
type Shared = ThinArc<[u16; 4], u32>;

/// A held document's keys (as the caller lists them) and its four hash sets
/// (shingles, body words, headline words, figures), Elias–Fano coded, in one allocation.
/// Each code takes [`code_words`] for its set's length, so the codes' offsets are not
/// stored; nor is the number of keys, which the caller keeps and passes back (the slot
/// keeps it in spare bytes of its own). The sets' lengths are in the allocation, beside
/// its count: the slot holds 8 bytes, not the 24 of a fat pointer and the lengths
/// (BENCHMARKS.md, "Keyword links where listed, ids with one count").
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct PackedSets {
    /// Values in each set (at most `u16::MAX`: [`crate::features::MAX_SMALL_SET`]), then
    /// the keys and the codes, each 64-bit word of a code as two halves, low first.
    /// Shared by the later exact copies of a body with the same headline
    /// ([`PackedSets::shared_with`]).
    shared: Shared,
}

impl Default for PackedSets {
    /// No keys, empty sets.
    fn default() -> Self {
        PackedSets {
            shared: joined([0; 4], &[], 0, |_| {}),
        }
    }
}

impl PackedSets {
    /// Packs `f`'s shingles (the first `shingles` hashes, as verification reads them),
    /// the body words `words` (those of `f` verification reads: `verify::held_words`),
    /// `f`'s headline words and figures, after `keys`.
    pub fn new(f: &Features, shingles: usize, words: &[u32], keys: &[u32]) -> Self {
        let sets: [&[u32]; 4] = [
            &f.shingles[..f.shingles.len().min(shingles)],
            words,
            &f.title,
            &f.numbers,
        ];
        // Features are sorted, distinct and within their universe; only a damaged file
        // of format 1 to 3 gives others (later formats are checked on loading:
        // `sorted_sets`; earlier formats' wider hashes are narrowed first), and its sets
        // are read as the sorted low bits rather than panicking.
        let fits = |s: &[u32], u: u32| s.last().is_none_or(|&x| u64::from(x) >> u == 0);
        let owned: Vec<Vec<u32>>;
        let sets = if sets
            .iter()
            .zip(UNIVERSE)
            .all(|(s, u)| is_sorted_set(s) && fits(s, u))
        {
            sets
        } else {
            owned = sets
                .iter()
                .zip(UNIVERSE)
                .map(|(s, u)| {
                    let mut v: Vec<u32> = s
                        .iter()
                        .map(|&x| (u64::from(x) & low_mask(u)) as u32)
                        .collect();
                    v.sort_unstable();
                    v.dedup();
                    v
                })
                .collect();
            std::array::from_fn(|k| owned[k].as_slice())
        };
        // Features hold at most `MAX_SMALL_SET` headline words and figures, and samples
        // are smaller; only an index file of format 8 or before can hold more, read as
        // the features of today would be (the smallest hashes).
        let sets = sets.map(|s| &s[..s.len().min(crate::features::MAX_SMALL_SET)]);
        let lens = sets.map(|s| s.len() as u16);
        let mut words = Vec::with_capacity(Self::code_halves(lens) / 2);
        for (k, s) in sets.iter().enumerate() {
            let start = words.len();
            encode(s, UNIVERSE[k], &mut words);
            words.resize(start + code_words(s.len(), UNIVERSE[k]), 0);
        }
        let shared = joined(lens, keys, 2 * words.len(), |tail| {
            for (pair, &w) in tail.chunks_exact_mut(2).zip(&words) {
                pair.copy_from_slice(&[w as u32, (w >> 32) as u32]);
            }
        });
        PackedSets { shared }
    }

    /// Values in each set.
    fn lens(&self) -> [u16; 4] {
        self.shared.header.header
    }

    /// The keys, then the codes.
    fn halves(&self) -> &[u32] {
        &self.shared.slice
    }

    /// 32-bit words of the four codes of sets of `lens` values.
    fn code_halves(lens: [u16; 4]) -> usize {
        (0..4)
            .map(|k| 2 * code_words(lens[k] as usize, UNIVERSE[k]))
            .sum()
    }

    /// The keys (as [`PackedSets::new`] was given them, or [`PackedSets::with_keys`]).
    pub fn keys(&self) -> &[u32] {
        let halves = self.halves();
        &halves[..halves.len() - Self::code_halves(self.lens())]
    }

    /// Keys `range` of [`PackedSets::keys`], without working out how many there are
    /// (the caller knows: a bucket lookup reads one key of a document).
    #[inline]
    pub fn keys_in(&self, range: std::ops::Range<usize>) -> &[u32] {
        debug_assert!(range.end <= self.keys().len());
        &self.halves()[range]
    }

    /// The same sets after `keys` in a new allocation (a later copy of a body drops its
    /// keys; the copy that takes a representative's place takes the representative's).
    #[must_use]
    pub fn with_keys(&self, keys: &[u32]) -> Self {
        let codes = self.code_halves_held();
        PackedSets {
            shared: joined(self.lens(), keys, codes.len(), |tail| {
                tail.copy_from_slice(codes);
            }),
        }
    }

    /// The codes, after the keys.
    fn code_halves_held(&self) -> &[u32] {
        &self.halves()[self.keys().len()..]
    }

    /// `other`'s allocation, when it holds the same sets (a later exact copy of a body
    /// with the same headline as its representative: 11.5% of 1,000,000 synthetic news
    /// articles), read with no keys of this one's own. Most are: the bodies are the same,
    /// and so are all sets but the headline's.
    #[must_use]
    pub fn shared_with(&self, other: &PackedSets) -> Option<Self> {
        (self.lens() == other.lens() && self.code_halves_held() == other.code_halves_held())
            .then(|| other.clone())
    }

    /// Whether `other` is this very allocation.
    pub fn same_allocation(&self, other: &PackedSets) -> bool {
        self.shared.ptr() == other.shared.ptr()
    }

    /// How many slots hold this allocation (an index counts its bytes once).
    pub fn holders(&self) -> usize {
        ThinArc::strong_count(&self.shared)
    }

    /// The codes of the four sets, each with the words set aside after it, in one pass
    /// (unpacking reads all four).
    fn codes(&self) -> [&[u32]; 4] {
        let mut rest: &[u32] = self.code_halves_held();
        let lens = self.lens();
        std::array::from_fn(|k| {
            let (code, after) = rest.split_at(2 * code_words(lens[k] as usize, UNIVERSE[k]));
            rest = after;
            code
        })
    }

    /// Writes the sets into `f`'s (emptied first; their capacity is reused).
    pub fn unpack_into(&self, f: &mut Features) {
        let outs = [&mut f.shingles, &mut f.terms, &mut f.title, &mut f.numbers];
        let lens = self.lens();
        for (k, (out, code)) in outs.into_iter().zip(self.codes()).enumerate() {
            out.clear();
            decode(code, lens[k] as usize, UNIVERSE[k], out);
        }
    }

    /// Writes the body words into `out` (emptied first).
    pub fn words_into(&self, out: &mut Vec<u32>) {
        out.clear();
        decode(self.codes()[1], self.lens()[1] as usize, UNIVERSE[1], out);
    }

    /// Heap bytes of the codes, by set: shingles, body words, headline words and
    /// figures (the keys' are [`PackedSets::keys`]).
    pub fn heap_bytes(&self) -> [usize; 4] {
        self.codes().map(|c| c.len() * 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(values: &[u32], universe: u32) -> Vec<u32> {
        let mut words = Vec::new();
        encode(values, universe, &mut words);
        assert_eq!(words.len(), code_bits(values, universe).div_ceil(64));
        let halves: Vec<u32> = words
            .iter()
            .flat_map(|&w| [w as u32, (w >> 32) as u32])
            .collect();
        let mut out = Vec::new();
        decode(&halves, values.len(), universe, &mut out);
        out
    }

    /// Sorted distinct random hashes, `n` of them, below `bound`.
    fn random_set(seed: &mut u64, n: usize, bound: u64) -> Vec<u32> {
        let mut v: Vec<u32> = (0..n)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                (*seed % bound) as u32
            })
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    #[test]
    fn codes_give_back_their_sets() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        for n in [0, 1, 2, 3, 7, 64, 65, 100, 245, 512, 1024, 5000] {
            for bound in [2u64, 1000, 1 << 20, 1 << 24, 1 << 32] {
                let v = random_set(&mut seed, n, bound);
                // Values above the universe decode too (a longer code).
                for universe in [24, 32] {
                    assert_eq!(roundtrip(&v, universe), v, "n {n} bound {bound}");
                }
            }
        }
        // The extremes: 0 and u32::MAX, alone, together and as a dense run.
        for v in [
            vec![0],
            vec![u32::MAX],
            vec![0, u32::MAX],
            (u32::MAX - 300..=u32::MAX).collect(),
            (0..300).collect(),
        ] {
            assert_eq!(roundtrip(&v, 32), v);
            assert_eq!(roundtrip(&v, 24), v);
        }
    }

    #[test]
    fn unsorted_sets_are_read_sorted() {
        let f = Features {
            shingles: vec![9, 3, 3, 1],
            terms: vec![2, 2],
            ..Features::default()
        };
        assert!(!sorted_sets(&f));
        let mut out = Features::default();
        PackedSets::new(&f, usize::MAX, &f.terms, &[]).unpack_into(&mut out);
        assert_eq!((out.shingles, out.terms), (vec![1, 3, 9], vec![2]));
    }

    #[test]
    fn hashes_wider_than_their_universe_are_read_as_their_low_bits() {
        // Only a damaged file gives them; they must not overrun the words set aside.
        let wide = 1u32 << UNIVERSE[0];
        let f = Features {
            shingles: vec![3, wide + 1, wide + 3, u32::MAX],
            terms: vec![7],
            ..Features::default()
        };
        let mut out = Features::default();
        PackedSets::new(&f, usize::MAX, &f.terms, &[]).unpack_into(&mut out);
        let top = (1u32 << UNIVERSE[0]) - 1;
        assert_eq!((out.shingles, out.terms), (vec![1, 3, top], vec![7]));
    }

    #[test]
    fn the_words_set_aside_hold_any_code_of_the_universe() {
        let mut seed = 5u64;
        for universe in UNIVERSE {
            for n in [1, 2, 3, 10, 64, 250, 1024] {
                // The largest values a set of `n` can hold: the longest code.
                let top: Vec<u32> = ((1u64 << universe) - n as u64..1 << universe)
                    .map(|x| x as u32)
                    .collect();
                assert_eq!(
                    code_bits(&top, universe).div_ceil(64),
                    code_words(n, universe)
                );
                let v = random_set(&mut seed, n, 1 << universe);
                assert!(code_bits(&v, universe).div_ceil(64) <= code_words(v.len(), universe));
            }
        }
        assert_eq!(std::mem::size_of::<PackedSets>(), 8);
    }

    #[test]
    fn codes_stay_within_three_bits_of_the_low_parts() {
        // universe − ⌈log2 n⌉ + 3 bits per value at most: 800 bytes for 250 32-bit
        // values, 550 for 250 24-bit ones, 410 for 250 20-bit ones, 350 for 250
        // 18-bit ones.
        let mut seed = 7u64;
        for universe in [18, 20, 24, 32] {
            for n in [1, 10, 250, 1024] {
                let v = random_set(&mut seed, n, 1 << universe);
                let bits = code_bits(&v, universe);
                let l = low_bits(v.len(), universe) as usize;
                assert!(bits <= v.len() * (l + 3), "{n}: {bits}");
            }
        }
    }

    #[test]
    fn packed_features_unpack_to_the_same_sets() {
        let mut seed = 11u64;
        let mut out = Features {
            shingles: vec![1, 2, 3],
            tf: vec![4],
            ..Features::default()
        };
        for round in 0..50 {
            let f = Features {
                exact: 5,
                words: 9,
                shingles: random_set(&mut seed, round * 20, 1 << UNIVERSE[0]),
                terms: random_set(&mut seed, round * 7, 1 << UNIVERSE[1]),
                title: random_set(&mut seed, round % 9, 1 << UNIVERSE[2]),
                numbers: random_set(&mut seed, round % 4, 1 << UNIVERSE[3]),
                tf: Vec::new(),
            };
            let keys: Vec<u32> = (0..round as u32 % 5)
                .map(|k| k.wrapping_mul(0x9e37_79b9))
                .collect();
            let p = PackedSets::new(&f, usize::MAX, &f.terms, &keys);
            assert_eq!(p.keys(), keys);
            p.unpack_into(&mut out);
            assert_eq!(
                (&out.shingles, &out.terms, &out.title, &out.numbers),
                (&f.shingles, &f.terms, &f.title, &f.numbers)
            );
            let mut words = vec![1];
            p.words_into(&mut words);
            assert_eq!(words, f.terms);
            // Keys replaced, the sets the same.
            let other = [7, 8, 9];
            let q = p.with_keys(&other[..round % 4]);
            assert_eq!(q.keys(), &other[..round % 4]);
            q.unpack_into(&mut out);
            assert_eq!(
                (&out.shingles, &out.terms, &out.title, &out.numbers),
                (&f.shingles, &f.terms, &f.title, &f.numbers)
            );
            // A sample keeps the smallest shingle hashes, and the words given.
            let words = &f.terms[f.terms.len() / 2..];
            PackedSets::new(&f, 10, words, &[]).unpack_into(&mut out);
            assert_eq!(out.shingles, &f.shingles[..f.shingles.len().min(10)]);
            assert_eq!(out.terms, words);
            assert_eq!(out.title, f.title);
        }
    }

    #[test]
    fn a_set_past_the_cap_is_held_as_its_smallest_hashes() {
        let mut seed = 11u64;
        let max = crate::features::MAX_SMALL_SET;
        let f = Features {
            numbers: random_set(&mut seed, max + 4_000, 1 << UNIVERSE[3]),
            ..Features::default()
        };
        assert!(f.numbers.len() > max, "{}", f.numbers.len());
        let mut out = Features::default();
        PackedSets::new(&f, 10, &[], &[]).unpack_into(&mut out);
        assert_eq!(out.numbers, &f.numbers[..max]);
    }
}
