//! Acceptance checks on the shared corpora beside the repository (`../shared`). Ignored
//! by default (the data is not part of the repository); `.ci/run` runs them with
//! `--ignored` when `../shared` is present.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{run, stderr};

fn shared() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    assert!(p.is_dir(), "../shared is not beside the repository");
    p
}

fn read_jsonl(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn score(gold: &Path, pred: &Path) -> serde_json::Value {
    let o = Command::new("python3")
        .arg(shared().join("eval/score.py"))
        .arg(gold)
        .arg(pred)
        .args(["--pred-key", "group"])
        .output()
        .expect("python3 runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
#[ignore = "needs ../shared"]
fn seeds_score() {
    let d = tempfile::tempdir().unwrap();
    let gold = shared().join("eval/seeds.jsonl");
    let pred = d.path().join("p.jsonl");
    let o = run(
        d.path(),
        &[
            "cluster",
            gold.to_str().unwrap(),
            "--format",
            "jsonl",
            "-o",
            "p.jsonl",
            "-q",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let s = score(&gold, &pred);
    assert_eq!(s["labelled_pairs"]["rewrite"]["merged"], 1.0);
    assert_eq!(s["labelled_pairs"]["different_story"]["merged"], 0.0);
}

#[test]
#[ignore = "needs ../shared"]
fn reuters_exact_copies_grouped_and_deterministic() {
    let d = tempfile::tempdir().unwrap();
    let corpus = shared().join("corpora/reuters21578.jsonl");
    let c = corpus.to_str().unwrap();
    let mut outs = Vec::new();
    for threads in ["1", "2"] {
        let o = Command::new(env!("CARGO_BIN_EXE_neardup"))
            .current_dir(d.path())
            .env("RAYON_NUM_THREADS", threads)
            .args(["cluster", c, "--format", "jsonl", "-q"])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        outs.push(o.stdout);
    }
    assert!(outs[0] == outs[1], "RAYON_NUM_THREADS=1 and =2 differ");
    std::fs::write(d.path().join("p.jsonl"), &outs[0]).unwrap();
    let pred: HashMap<String, Option<String>> = read_jsonl(&d.path().join("p.jsonl"))
        .into_iter()
        .map(|v| {
            (
                v["id"].as_str().unwrap().to_owned(),
                v["group"].as_str().map(str::to_owned),
            )
        })
        .collect();
    let mut exact: HashMap<String, HashSet<Option<String>>> = HashMap::new();
    for v in read_jsonl(&corpus) {
        if let Some(g) = v["exact_dup_group"].as_str() {
            let id = v["id"].as_str().unwrap();
            exact
                .entry(g.to_owned())
                .or_default()
                .insert(pred[id].clone());
        }
    }
    assert!(!exact.is_empty());
    for (g, groups) in &exact {
        assert!(
            groups.len() == 1 && !groups.contains(&None),
            "exact-duplicate set {g} split over {groups:?}"
        );
    }
}

/// `neardup eval` prints what `score.py` prints for the same predictions.
#[test]
#[ignore = "needs ../shared"]
fn eval_equals_score_py() {
    let d = tempfile::tempdir().unwrap();
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/eval-fixture.jsonl");
    let sets =
        ["seeds", "clough-dev", "counter-dev"].map(|s| shared().join(format!("eval/{s}.jsonl")));
    for gold in std::iter::once(fixture).chain(sets) {
        let set = gold.display().to_string();
        let g = gold.to_str().unwrap();
        let o = run(d.path(), &["eval", "--gold", g, "--format", "json", "-q"]);
        assert!(o.status.success(), "{}", stderr(&o));
        let ours: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        let o = run(
            d.path(),
            &["cluster", g, "--format", "jsonl", "-o", "p.jsonl", "-q"],
        );
        assert!(o.status.success(), "{}", stderr(&o));
        let theirs = score(&gold, &d.path().join("p.jsonl"));
        assert_eq!(ours, theirs, "{set}");
    }
}

/// An index fed the Reuters documents one by one, with the corpus's word statistics,
/// groups them as `cluster_documents` does, with `MinHash` and with `SimHash` candidates.
#[test]
#[ignore = "needs ../shared"]
fn index_matches_batch_on_a_reuters_sample() {
    use neardup::Config;
    use neardup::io::read::{FieldNames, InputFile, InputKind, RawRecord, parse_record};
    let path = shared().join("corpora/reuters21578.jsonl");
    let files = vec![InputFile {
        path: path.clone(),
        kind: InputKind::Jsonl,
    }];
    let docs: Vec<neardup::Document> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .take(3000)
        .enumerate()
        .map(|(i, l)| {
            let raw = RawRecord {
                file: 0,
                line: i as u64 + 1,
                bytes: l.as_bytes().to_vec(),
            };
            parse_record(&raw, &files, &FieldNames::default())
                .unwrap()
                .doc
        })
        .collect();
    // The batch pairs keyword candidates only within the rewrite window (issue 13), the
    // Index's keyword candidates do not follow that rule yet: without a window both
    // count and link every earlier document. TODO(lead): back to the defaults once the
    // Index counts and links keywords by `keywords::time_slice` too.
    for config in [
        Config::builder().rewrite_window_days(0).build().unwrap(),
        Config::builder()
            .method(neardup::Method::SimHash)
            .rewrite_window_days(0)
            .build()
            .unwrap(),
    ] {
        index_matches_batch(&docs, &config);
    }
}

fn index_matches_batch(docs: &[neardup::Document], config: &neardup::Config) {
    use neardup::weights::TermStats;
    use neardup::{Index, cluster_documents};
    let batch = cluster_documents(docs, config).unwrap();
    let index = Index::with_stats(config.clone(), TermStats::from_documents(docs, config)).unwrap();
    for d in docs {
        index.insert(d.clone()).unwrap();
    }
    let mut grouped = 0;
    for (i, d) in docs.iter().enumerate() {
        let line = batch.doc_line(i as u32);
        let (g, c) = index.group_of(&d.id).unwrap();
        assert_eq!(g.as_deref(), line.group, "{}", d.id);
        if g.is_some() {
            grouped += 1;
            assert_eq!(Some(c.as_str()), line.canonical, "{}", d.id);
        }
    }
    assert!(
        grouped > 100,
        "the sample has groups to compare ({grouped}, {:?})",
        config.method
    );
}
