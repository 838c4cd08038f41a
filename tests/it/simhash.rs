//! Property tests of the Hamming-distance index against brute force: random and clustered
//! fingerprints (a few bases, each with a few random bit flips, so that many pairs are
//! within `k`), exact pair sets and queries, and the same output at any thread count.

use neardup::hamming::{HammingIndex, pairs_within};
use neardup::sketch::simhash::hamming;
use proptest::prelude::*;

/// Fingerprints: `bases` random bases, each followed by variants with up to `max_flips`
/// random bits flipped (sometimes none: exact copies), then some unrelated ones.
fn fingerprints() -> impl Strategy<Value = Vec<u64>> {
    let base = (
        any::<u64>(),
        proptest::collection::vec(proptest::collection::vec(0u32..64, 0..5), 0..40),
    );
    (
        proptest::collection::vec(base, 0..6),
        proptest::collection::vec(any::<u64>(), 0..40),
        // A mask forcing shared bits on every fingerprint: one big top-level bucket.
        prop_oneof![Just(0u64), any::<u64>()],
    )
        .prop_map(|(clusters, loose, shared)| {
            let mut fps = Vec::new();
            for (b, variants) in clusters {
                fps.push(b);
                for flips in variants {
                    fps.push(flips.iter().fold(b, |x, &i| x ^ (1 << i)));
                }
            }
            fps.extend(loose);
            fps.into_iter().map(|x| x & !shared).collect()
        })
}

fn brute_pairs(fps: &[u64], docs: &[u32], k: u32) -> Vec<(u32, u32)> {
    let mut docs = docs.to_vec();
    docs.sort_unstable();
    docs.dedup();
    let mut want = Vec::new();
    for (i, &a) in docs.iter().enumerate() {
        for &b in &docs[i + 1..] {
            if hamming(fps[a as usize], fps[b as usize]) <= k {
                want.push((a, b));
            }
        }
    }
    want
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// `pairs_within` returns exactly the pairs within `k`, sorted, at 1 and 2 threads.
    #[test]
    fn pairs_within_is_brute_force(fps in fingerprints(), k in 0u32..=6, every in 1usize..4) {
        // A subset of the documents, in scrambled order.
        let mut docs: Vec<u32> = (0..fps.len() as u32).step_by(every).collect();
        docs.reverse();
        let want = brute_pairs(&fps, &docs, k);
        let one = pool(1).install(|| pairs_within(&fps, &docs, k));
        let two = pool(2).install(|| pairs_within(&fps, &docs, k));
        prop_assert_eq!(&one, &want);
        prop_assert_eq!(&two, &want);
    }

    /// `query` returns exactly the indexed documents within `k` of any fingerprint, for
    /// indexed fingerprints and for perturbed ones, at 1 and 2 threads.
    #[test]
    fn query_is_brute_force(
        fps in fingerprints(),
        k in 0u32..=6,
        extra in proptest::collection::vec((any::<u64>(), 0u32..64, 0u32..64), 0..10),
    ) {
        let docs: Vec<u32> = (0..fps.len() as u32).collect();
        let one = pool(1).install(|| HammingIndex::new(&fps, &docs, k));
        let two = pool(2).install(|| HammingIndex::new(&fps, &docs, k));
        let mut queries = fps.clone();
        for (i, &(x, a, b)) in extra.iter().enumerate() {
            queries.push(x);
            if let Some(&f) = fps.get(i * 7 % fps.len().max(1)) {
                queries.push(f ^ (1 << a) ^ (1 << b));
            }
        }
        for q in queries {
            let want: Vec<u32> = docs.iter().copied().filter(|&d| hamming(fps[d as usize], q) <= k).collect();
            prop_assert_eq!(one.query(q), want.clone());
            prop_assert_eq!(two.query(q), want);
        }
    }
}

/// A larger clustered set: thousands of fingerprints, many of them within `k`, including
/// a large group that agrees on most bits (deep recursion inside one bucket).
#[test]
fn large_clustered_set_is_exact() {
    use neardup::sketch::minhash::mix64;
    let mut fps = Vec::new();
    for c in 0..20u64 {
        let base = mix64(c);
        for i in 0..150u64 {
            let h = mix64(c << 32 | i);
            let flips = (0..h % 5).fold(0u64, |m, j| m | 1 << (mix64(h + j) % 64));
            fps.push(base ^ flips);
        }
    }
    for i in 0..2000u64 {
        fps.push(mix64(i + 1_000_000) & 0xffff_0000_0000_00ff);
    }
    let docs: Vec<u32> = (0..fps.len() as u32).collect();
    for k in [0, 3, 6, 8] {
        let want = brute_pairs(&fps, &docs, k);
        assert_eq!(pairs_within(&fps, &docs, k), want, "k = {k}");
        let index = HammingIndex::new(&fps, &docs, k);
        for &q in fps.iter().step_by(97) {
            let want: Vec<u32> = docs
                .iter()
                .copied()
                .filter(|&d| hamming(fps[d as usize], q) <= k)
                .collect();
            assert_eq!(index.query(q), want, "k = {k}");
        }
    }
}
