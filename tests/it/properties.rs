//! Property tests against brute-force oracles: `MinHash` against exact Jaccard, LSH and the
//! keyword index against exhaustive pair enumeration.

use std::collections::HashSet;

use neardup::keywords::{KeywordParams, UNDATED, candidate_pairs as keyword_pairs, near_in_time};
use neardup::lsh::{Banding, candidate_pairs};
use neardup::sketch::minhash::{MinHasher, jaccard, mix64};
use proptest::prelude::*;

fn exact_jaccard(a: &HashSet<u64>, b: &HashSet<u64>) -> f64 {
    let inter = a.intersection(b).count() as f64;
    let union = a.union(b).count() as f64;
    if union == 0.0 { 0.0 } else { inter / union }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The estimate's error stays within 4.5 standard errors of a binomial with `perms`
    /// trials (a false failure about once in 150,000 cases).
    #[test]
    fn minhash_estimates_jaccard(
        shared in 0usize..400,
        only_a in 0usize..400,
        only_b in 0usize..400,
        seed in any::<u64>(),
    ) {
        prop_assume!(shared + only_a + only_b > 0);
        let perms = 256;
        let h = MinHasher::new(perms, seed);
        let item = |i: u64| mix64(i ^ seed.rotate_left(17));
        let a: HashSet<u64> = (0..shared as u64).chain(1_000_000..1_000_000 + only_a as u64).map(item).collect();
        let b: HashSet<u64> = (0..shared as u64).chain(2_000_000..2_000_000 + only_b as u64).map(item).collect();
        let (mut sa, mut sb) = (vec![0; perms], vec![0; perms]);
        h.sketch_into(&a.iter().copied().collect::<Vec<_>>(), &mut sa);
        h.sketch_into(&b.iter().copied().collect::<Vec<_>>(), &mut sb);
        let j = exact_jaccard(&a, &b);
        let est = jaccard(&sa, &sb);
        let sd = (j * (1.0 - j) / perms as f64).sqrt();
        prop_assert!((est - j).abs() <= 4.5 * sd + 0.02, "exact {j}, estimate {est}");
    }

    /// Every pair of documents sharing a whole band is a candidate, and no other pair is.
    #[test]
    fn lsh_finds_exactly_the_pairs_sharing_a_band(
        sigs in proptest::collection::vec(proptest::collection::vec(0u32..3, 8), 2..30),
    ) {
        let banding = Banding { bands: 4, rows: 2 };
        let flat: Vec<u32> = sigs.iter().flatten().copied().collect();
        let docs: Vec<u32> = (0..sigs.len() as u32).collect();
        let got: HashSet<(u32, u32)> = candidate_pairs(&flat, 8, &docs, banding, usize::MAX).into_iter().collect();
        let mut want = HashSet::new();
        for i in 0..sigs.len() {
            for j in i + 1..sigs.len() {
                if (0..4).any(|b| sigs[i][b * 2..b * 2 + 2] == sigs[j][b * 2..b * 2 + 2]) {
                    want.insert((i as u32, j as u32));
                }
            }
        }
        prop_assert_eq!(got, want);
    }

    /// Keyword candidates are exactly the pairs sharing `min_shared` keywords among
    /// documents of neighbouring time slices (or undated).
    #[test]
    fn keyword_index_matches_brute_force(
        lists in proptest::collection::vec(
            (proptest::collection::btree_set(0u32..12, 0..6), proptest::option::of(0i32..5)),
            2..25,
        ),
        min_shared in 1usize..4,
    ) {
        let kw: Vec<Vec<u32>> = lists.iter().map(|(s, _)| s.iter().copied().collect()).collect();
        let slices: Vec<i32> = lists.iter().map(|&(_, s)| s.unwrap_or(UNDATED)).collect();
        let docs: Vec<u32> = (0..kw.len() as u32).collect();
        let p = KeywordParams {
            k: 6,
            min_shared,
            max_postings: usize::MAX,
            max_pairs: usize::MAX,
            ..KeywordParams::default()
        };
        let got: HashSet<(u32, u32)> =
            keyword_pairs(&kw, &docs, &slices, p).into_iter().collect();
        let mut want = HashSet::new();
        for i in 0..kw.len() {
            for j in i + 1..kw.len() {
                if lists[i].0.intersection(&lists[j].0).count() >= min_shared
                    && near_in_time(slices[i], slices[j])
                {
                    want.insert((i as u32, j as u32));
                }
            }
        }
        prop_assert_eq!(got, want);
    }
}

/// Over many pairs, the mean error is near zero: the estimator is unbiased.
#[test]
fn minhash_is_unbiased() {
    let perms = 64;
    let mut total = 0.0;
    let trials = 400;
    for t in 0..trials {
        let h = MinHasher::new(perms, t);
        // |A ∩ B| = 30, |A ∪ B| = 100: J = 0.3, and sets smaller than `perms` bins so
        // densification is exercised.
        let a: Vec<u64> = (0..65).map(|i| mix64(i + t * 1000)).collect();
        let b: Vec<u64> = (35..100).map(|i| mix64(i + t * 1000)).collect();
        let (mut sa, mut sb) = (vec![0; perms], vec![0; perms]);
        h.sketch_into(&a, &mut sa);
        h.sketch_into(&b, &mut sb);
        total += jaccard(&sa, &sb) - 0.3;
    }
    let bias = total / trials as f64;
    assert!(bias.abs() < 0.01, "mean error {bias}");
}
