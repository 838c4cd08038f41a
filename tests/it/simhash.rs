//! Property tests of the Hamming-distance indexes against brute force: random and
//! clustered fingerprints (a few bases, each with a few random bit flips, so that many
//! pairs are within `k`), exact pair sets and queries, the incremental table under
//! inserts and removals, and the same output at any thread count; then `--method
//! simhash` end to end (library, index and CLI).

use neardup::hamming::{HammingIndex, HammingTable, pairs_within};

use crate::common::group_of;
use neardup::sketch::simhash::hamming;
use neardup::{Config, Document, Index, Method, cluster_documents};
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

    /// The incremental table returns exactly the held documents within `k` of any
    /// fingerprint, after any sequence of inserts, re-inserts and removals.
    #[test]
    fn table_is_brute_force(
        fps in fingerprints(),
        k in 0u32..=12,
        ops in proptest::collection::vec((any::<bool>(), 0usize..64), 0..80),
        extra in proptest::collection::vec(any::<u64>(), 0..5),
    ) {
        let mut table = HammingTable::new(k);
        let mut held: std::collections::BTreeMap<u32, u64> = std::collections::BTreeMap::new();
        for (i, &fp) in fps.iter().enumerate() {
            table.insert(i as u32, fp);
            held.insert(i as u32, fp);
        }
        for &(remove, i) in &ops {
            if fps.is_empty() {
                break;
            }
            let d = (i % fps.len()) as u32;
            if remove {
                prop_assert_eq!(table.remove(d), held.remove(&d).is_some());
            } else {
                // Re-insert with a fingerprint near another one.
                let fp = fps[(i * 7) % fps.len()] ^ (1 << (i % 64));
                table.insert(d, fp);
                held.insert(d, fp);
            }
        }
        prop_assert_eq!(table.len(), held.len());
        for q in fps.iter().chain(&extra) {
            let want: Vec<u32> = held
                .iter()
                .filter(|&(_, &fp)| hamming(fp, *q) <= k)
                .map(|(&d, _)| d)
                .collect();
            prop_assert_eq!(table.query(*q), want);
        }
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

/// Stories, each with an exact copy, a copy with one word changed, and a copy under a
/// short boilerplate line; and unrelated stories.
fn near_copies(n: usize, seed: u64) -> Vec<Document> {
    use crate::common::{Rng, story};
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    for i in 0..n {
        let text = story(&mut rng, 10);
        out.push(Document::new(format!("s{i}"), text.clone()));
        if i % 2 == 0 {
            out.push(Document::new(format!("s{i}-copy"), text.clone()));
            let edited = text.replacen(' ', " and ", 1);
            out.push(Document::new(format!("s{i}-edit"), edited));
            out.push(Document::new(
                format!("s{i}-wrap"),
                format!("{text} Copyright Daily Herald."),
            ));
        }
    }
    out
}

fn simhash() -> Config {
    Config::builder().method(Method::SimHash).build().unwrap()
}

/// `SimHash` only replaces the candidate stage: on close copies it finds the groups
/// that `MinHash` finds, and its edges are `MinHash`'s, with the same relations and
/// similarities. A pair is a candidate when the fingerprints differ in at most 9 bits,
/// which a close pair misses now and then (the edited and wrapped copies, Jaccard 0.95,
/// differ in about 5 bits, σ ≈ 2): at least 98% of the edges are found.
#[test]
fn simhash_groups_close_copies_like_minhash() {
    let docs = near_copies(60, 41);
    for rewrites in [true, false] {
        let mh = Config::builder().rewrites(rewrites).build().unwrap();
        let sh = Config::builder()
            .rewrites(rewrites)
            .method(Method::SimHash)
            .build()
            .unwrap();
        let a = cluster_documents(&docs, &mh).unwrap();
        let b = cluster_documents(&docs, &sh).unwrap();
        assert_eq!(a.groups.len(), 30, "rewrites {rewrites}");
        assert_eq!(a.groups, b.groups, "rewrites {rewrites}");
        assert!(
            b.edges.iter().all(|e| a.edges.contains(e)),
            "rewrites {rewrites}"
        );
        assert!(
            b.edges.len() * 100 >= a.edges.len() * 98,
            "rewrites {rewrites}: {} of {} edges",
            b.edges.len(),
            a.edges.len()
        );
        assert!(b.stats.lsh_pairs > 0);
    }
}

/// The same groups at 1, 2 and 3 threads, with `SimHash` candidates.
#[test]
fn simhash_pipeline_same_at_any_thread_count() {
    let docs = near_copies(200, 42);
    let config = simhash();
    let run = |threads| pool(threads).install(|| cluster_documents(&docs, &config).unwrap());
    let one = run(1);
    for threads in [2, 3] {
        let other = run(threads);
        assert_eq!(one.groups, other.groups);
        assert_eq!(one.edges, other.edges);
        assert_eq!(one.placement, other.placement);
    }
}

/// The index with `SimHash` finds a near copy of a held story and nothing for a
/// stranger, and nightly-style reloading keeps its answers.
#[test]
fn simhash_index_finds_near_copies() {
    let docs = near_copies(20, 43);
    let index = Index::new(simhash()).unwrap();
    for d in &docs {
        index.insert(d.clone()).unwrap();
    }
    // Undated: the most related member is canonical, the original (its exact copy is as
    // related, and comes after it by id).
    assert_eq!(
        group_of(&index, "s4-edit").unwrap(),
        (Some("s4".into()), "s4".into())
    );
    assert!(group_of(&index, "s5").unwrap().0.is_none());
    let m = index.query(&Document::new("q", docs[0].text.replacen(' ', " or ", 2)));
    assert!(m.matches.iter().any(|m| m.id == "s0"), "{m:?}");
}

/// The CLI: simhash output identical at 1, 2 and 4 threads, and a bad --hamming is a
/// usage error naming the option.
#[test]
fn simhash_cli_deterministic_and_checked() {
    use crate::common::{corpus, run, stderr};
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("c.jsonl"), corpus(300, 5)).unwrap();
    let simhash = |more: &[&str]| {
        let args: Vec<&str> = ["cluster", "c.jsonl", "--method", "simhash"]
            .iter()
            .chain(more)
            .copied()
            .collect();
        run(d.path(), &args)
    };
    let out = |threads: &str| {
        let o = simhash(&["--format", "jsonl", "-q", "--threads", threads]);
        assert!(o.status.success(), "{}", stderr(&o));
        o.stdout
    };
    let one = out("1");
    assert!(!one.is_empty());
    assert_eq!(one, out("2"));
    assert_eq!(one, out("4"));
    let o = simhash(&["--hamming", "17"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("hamming"), "{}", stderr(&o));
}
