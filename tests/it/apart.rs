//! Pairs refused as different stories are kept apart by grouping, in the batch run and
//! in the Index alike (issue 12: counter-dev's star of three same-day reports).

use neardup::{Config, Document, Index, TermStats};

use crate::common::{group_of, run, stderr};
use crate::index::{batch_groups, index_groups};

/// Each document's canonical member (`None` alone): the groups, whatever their ids (the
/// Index keeps a group's first id).
fn canonicals(groups: &[(Option<String>, Option<String>)]) -> Vec<Option<String>> {
    groups.iter().map(|g| g.1.clone()).collect()
}

/// `n` words of a vocabulary of `vocabulary` words (prefix `v`), in a pseudo-random
/// order: two such texts share most words and hardly a phrase (rewrites of each other).
fn words(v: &str, n: usize, seed: u64, vocabulary: u64) -> String {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            format!("{v}{}a", x % vocabulary)
        })
        .collect::<Vec<_>>()
        .join(" ")
        + "."
}

/// A star: `hub` (no headline) rewrites `left` and `right`, whose headlines name
/// different things (neither found in the other's text), and a few unrelated documents.
/// The headlines are repeated in the bodies so that their words are the rare ones the
/// documents are paired by.
fn star() -> Vec<Document> {
    let (l, r) = (
        "harbour strike halts shipping.",
        "orchestra tour cancelled abroad.",
    );
    let mut docs = vec![
        Document::new(
            "hub",
            format!("{} {l} {r} {l} {r} {l} {r}", words("w", 300, 1, 150)),
        ),
        Document::new("left", format!("{} {l} {l} {l}", words("w", 300, 2, 150))).with_title(l),
        Document::new("right", format!("{} {r} {r} {r}", words("w", 300, 3, 150))).with_title(r),
    ];
    for k in 0..4 {
        docs.push(Document::new(
            format!("other{k}"),
            words("q", 200, 10 + k, 150),
        ));
    }
    docs
}

#[test]
fn a_refused_pair_is_kept_apart_in_the_batch_run_and_the_index() {
    let docs = star();
    let config = Config::default();
    let batch = batch_groups(&docs, &config);
    let (hub, left, right) = (&batch[0], &batch[1], &batch[2]);
    // The hub takes one of the two (the better-ranked); the other, refused by it, is
    // left out: one group never holds two different stories joined by rewrites only.
    assert!(hub.0.is_some(), "the hub is grouped: {batch:?}");
    assert_ne!(left.0, right.0, "{batch:?}");
    assert!(left.0 == hub.0 || right.0 == hub.0, "{batch:?}");
    // Without the headlines there is nothing to refuse: one group of three.
    let untitled: Vec<Document> = docs
        .iter()
        .map(|d| Document::new(d.id.clone(), d.text.clone()))
        .collect();
    let plain = batch_groups(&untitled, &config);
    assert!(
        plain[..3]
            .iter()
            .all(|g| g.0.is_some() && g.0 == plain[0].0),
        "{plain:?}"
    );

    // The Index, fed one document at a time in every order of the three, agrees.
    let stats = TermStats::from_documents(&docs, &config);
    let orders = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for order in orders {
        let index = Index::with_stats(config.clone(), stats.clone()).unwrap();
        for d in &docs[3..] {
            index.insert(d.clone()).unwrap();
        }
        for &i in &order {
            index.insert(docs[i].clone()).unwrap();
        }
        assert_eq!(
            canonicals(&index_groups(&index, &docs)),
            canonicals(&batch),
            "order {order:?}"
        );
    }
}

#[test]
fn the_index_file_keeps_the_refusals() {
    let mut docs = star();
    let config = Config::default();
    let stats = TermStats::from_documents(&docs, &config);
    let index = Index::with_stats(config.clone(), stats.clone()).unwrap();
    for d in &docs {
        index.insert(d.clone()).unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("apart.ndx");
    index.save(&path).unwrap();
    let loaded = Index::load(&path).unwrap();
    // `Index::memory` counts the refusal (both ways) apart from the edges.
    let refused = |i: &Index| {
        i.memory()
            .into_iter()
            .find(|p| p.0 == "refused pairs")
            .unwrap()
            .1
    };
    assert!(refused(&index) > 0 && refused(&loaded) == refused(&index));
    // The refused pair is the hub's two rewrites, joined by edges through the hub.
    let reach = |i: &Index| {
        let r = i.refusal_reach();
        (r.pairs, r.connected, r.lone)
    };
    assert_eq!(reach(&index), (1, 1, 0));
    assert_eq!(reach(&loaded), (1, 1, 0));
    // A copy of the hub regroups the star: the loaded refusal still keeps the two apart.
    let copy = Document::new("hub-copy", docs[0].text.clone());
    loaded.insert(copy.clone()).unwrap();
    docs.push(copy);
    let want = batch_groups(&docs, &config);
    assert_ne!(want[1].0, want[2].0);
    assert_eq!(canonicals(&index_groups(&loaded, &docs)), canonicals(&want));
    assert_eq!(group_of(&loaded, "hub-copy").unwrap().1, "hub");
}

/// The nightly job keeps refusals in its state: the night that brings the star refuses
/// `left` against `right` (both rewrites of `hub`, neighbours of neighbours), and the next
/// night, whose copy of the hub regroups the star, reads that refusal from the state file.
#[test]
fn nightly_state_keeps_the_refusals() {
    let docs = star();
    let d = tempfile::tempdir().unwrap();
    let jsonl = |docs: &[Document]| -> String {
        docs.iter()
            .map(|doc| {
                let mut r =
                    serde_json::json!({"id": doc.id, "text": doc.text, "date": "2026-11-20"});
                if let Some(t) = &doc.title {
                    r["title"] = t.as_str().into();
                }
                r.to_string() + "\n"
            })
            .collect()
    };
    let copy = Document::new("hub-copy", docs[0].text.clone());
    let nights = [
        ("n1.jsonl", jsonl(&docs), "2026-11-20"),
        ("n2.jsonl", jsonl(&[copy]), "2026-11-21"),
    ];
    for (k, (file, text, date)) in nights.iter().enumerate() {
        std::fs::write(d.path().join(file), text).unwrap();
        let out = format!("out{k}");
        let o = run(
            d.path(),
            &[
                "nightly", "--state", "st", "--out", &out, "--date", date, "-q", file,
            ],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let index = Index::load(d.path().join(format!("st/night-{:06}.ndx", k + 1))).unwrap();
        let group = |id: &str| group_of(&index, id).unwrap().0;
        let hub = group("hub");
        assert!(hub.is_some(), "night {k}");
        assert_ne!(group("left"), group("right"), "night {k}");
        assert!(group("left") == hub || group("right") == hub, "night {k}");
        if k == 1 {
            assert_eq!(group("hub-copy"), hub);
        }
    }
}
