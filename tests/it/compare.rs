//! `neardup compare`: the seeds' verdicts and their explanation (snapshots), agreement
//! of the explanation with the decision runs make, and `--corpus`.

use std::path::PathBuf;

use neardup::TermStats;
use neardup::compare::{RaritySource, align, compare, reference_stats};
use neardup::features::{Featurizer, Scratch};
use neardup::verify::{DocView, Rarity, Verifier};
use neardup::{Config, Document};

use crate::common::{corpus, run, seeds_dir, stderr, stdout};

fn seed(n: &str) -> PathBuf {
    let dir = seeds_dir();
    let name = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|f| f.starts_with(n))
        .unwrap();
    dir.join(name)
}

fn compare_cli(a: &str, b: &str, format: &str) -> String {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (seed(a), seed(b));
    let o = run(
        d.path(),
        &[
            "compare",
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            "--format",
            format,
            "--color",
            "never",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    stdout(&o)
}

fn json(a: &str, b: &str) -> serde_json::Value {
    serde_json::from_str(&compare_cli(a, b, "json")).unwrap()
}

#[test]
fn seeds_one_story_and_another() {
    let same = json("000", "001");
    assert_eq!(same["relation"], "rewrite");
    assert_eq!(same["rule"], "rewrite_score");
    // The similarity `cluster data/seeds` reports for 001 (word rarity of the seeds).
    assert_eq!(same["scores"]["content"], 0.2892);
    for (a, b) in [("000", "003"), ("001", "003"), ("003", "000")] {
        let other = json(a, b);
        assert_eq!(other["relation"], serde_json::Value::Null, "{a} {b}");
        assert_eq!(other["rule"], "rewrite_score");
        let failed: Vec<&str> = other["checks"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["passed"] == false)
            .map(|c| c["gate"].as_str().unwrap())
            .collect();
        assert!(failed.contains(&"rewrite_score"), "{failed:?}");
    }
}

#[test]
fn seeds_text_rewrite() {
    insta::assert_snapshot!(compare_cli("000", "001", "text"));
}

#[test]
fn seeds_text_other_story() {
    insta::assert_snapshot!(compare_cli("001", "003", "text"));
}

#[test]
fn seeds_json_rewrite() {
    insta::assert_snapshot!(compare_cli("000", "001", "json"));
}

#[test]
fn colour_only_when_asked() {
    let d = tempfile::tempdir().unwrap();
    let (a, b) = (seed("000"), seed("001"));
    let args = |c: &'static str| {
        run(
            d.path(),
            &[
                "compare",
                a.to_str().unwrap(),
                b.to_str().unwrap(),
                "--color",
                c,
            ],
        )
    };
    assert!(stdout(&args("always")).contains("\x1b["));
    // Not a terminal: no colour, markers.
    let auto = stdout(&args("auto"));
    assert!(!auto.contains("\x1b[") && auto.contains("[[1 "));
}

/// Every pair of a corpus of copies, wrapped copies and stories: the explanation's
/// relation is the decision `relate` makes, under both tiers.
#[test]
fn explanation_agrees_with_the_decision() {
    let docs: Vec<Document> = corpus(12, 5)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let mut d = Document::new(v["id"].as_str().unwrap(), v["text"].as_str().unwrap());
            // Half with headlines, so that the headline tests are made too.
            if d.id.len().is_multiple_of(2) {
                d.title = Some(v["title"].as_str().unwrap().to_owned());
            }
            d
        })
        .collect();
    for config in [
        Config::default(),
        Config::builder().rewrites(false).build().unwrap(),
        Config::builder().rewrite_threshold(0.05).build().unwrap(),
    ] {
        let fz = Featurizer::new(&config);
        let mut sig = vec![0u32; config.signature_len()];
        let feats: Vec<_> = docs
            .iter()
            .map(|d| fz.featurize(d, &mut Scratch::default(), &mut sig))
            .collect();
        let stats = TermStats::from_features(&feats);
        let v = Verifier::new(&config);
        let view = |i: usize| DocView {
            features: &feats[i],
            rarity: Rarity::Stats(&stats),
            timestamp: docs[i].timestamp,
        };
        let mut related = 0;
        for i in 0..docs.len() {
            for j in 0..docs.len() {
                let e = v.explain(view(i), view(j));
                let r = v.relate(view(i), view(j));
                assert_eq!(e.relation, r.map(|x| x.0), "{} {}", docs[i].id, docs[j].id);
                if let Some((_, s)) = r {
                    related += 1;
                    assert_eq!(e.scores, s);
                }
            }
        }
        assert!(related > docs.len(), "the corpus has related pairs");
    }
}

#[test]
fn reference_rarity_counts_the_seeds_once() {
    let read = |n: &str| Document::new(n, std::fs::read_to_string(seed(n)).unwrap());
    let c = Config::default();
    // Two seeds: the three seeds, as `cluster data/seeds` counts them.
    assert_eq!(reference_stats(&read("000"), &read("001"), &c).docs(), 3);
    // Two other texts: five documents.
    let (x, y) = (Document::new("x", "one two"), Document::new("y", "three"));
    let s = reference_stats(&x, &y, &c);
    assert_eq!(s.docs(), 5);
    let r = compare(x, y, &c, &s, RaritySource::Reference { documents: 5 });
    assert_eq!(r.explanation.relation, None);
}

#[test]
fn passages_mark_both_texts() {
    let a = "Storm closes the harbour. All ferries were cancelled on Monday, officials said.";
    let b = "ALL FERRIES WERE CANCELLED on Monday after a storm closed the harbour";
    let al = align(a, b, 3);
    assert_eq!(al.passages.len(), 1);
    assert_eq!(al.passages[0].words, 6);
    assert_eq!(
        &b[al.b[0].start..al.b[0].end],
        "ALL FERRIES WERE CANCELLED on Monday"
    );
}

#[test]
fn corpus_ids_and_errors() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("c.jsonl");
    std::fs::write(&path, corpus(9, 3)).unwrap();
    let p = path.to_str().unwrap();
    // The relation `compare --corpus` gives is the one `cluster` gives the copy.
    let o = run(
        d.path(),
        &[
            "compare", "--corpus", p, "s3", "s3-wrap", "--format", "json",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["rarity"]["source"], "corpus");
    assert_eq!(v["rarity"]["documents"], 15);
    let o = run(d.path(), &["cluster", p, "--format", "jsonl", "-q"]);
    let line = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|l| l["id"] == "s3-wrap" && l["canonical"] == "s3")
        .unwrap();
    assert_eq!(v["relation"], line["relation"]);
    // An id the corpus lacks, and a file of two records: bad input.
    let o = run(d.path(), &["compare", "--corpus", p, "s3", "nope"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("no document with id \"nope\""),
        "{}",
        stderr(&o)
    );
    let o = run(d.path(), &["compare", p, p]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("holds 15 records"), "{}", stderr(&o));
    // One-record JSON files.
    let one = d.path().join("one.json");
    std::fs::write(
        &one,
        r#"{"id": "a", "title": "T", "text": "alpha beta gamma delta"}"#,
    )
    .unwrap();
    let o = run(
        d.path(),
        &["compare", "one.json", "one.json", "--format", "json"],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["relation"], "exact");
    assert_eq!(v["a"]["title"], "T");
}
