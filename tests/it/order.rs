//! Order-free output: the same set of documents, in any order and at any thread count,
//! gives the same groups, canonical members, relations and similarities (`cluster
//! --format jsonl` and the nightly `groups.jsonl`, compared once sorted by id).

use std::path::Path;

use crate::common::{Rng, corpus, run, stderr};

/// The lines of `text` in an order drawn from `seed`.
fn shuffled(text: &str, seed: u64) -> String {
    let mut lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut rng = Rng::new(seed);
    for i in (1..lines.len()).rev() {
        lines.swap(i, rng.below(i + 1));
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn sorted_lines(p: &Path) -> Vec<String> {
    let mut lines: Vec<String> = std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.sort();
    lines
}

/// `cluster --format jsonl` of `input` (a file in `dir`), sorted.
fn cluster(dir: &Path, input: &str, threads: usize) -> Vec<String> {
    let threads = threads.to_string();
    let o = run(
        dir,
        &[
            "cluster",
            input,
            "--format",
            "jsonl",
            "-o",
            "out.jsonl",
            "-q",
            "--threads",
            &threads,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    sorted_lines(&dir.join("out.jsonl"))
}

/// The first night's `groups.jsonl` for `input` (a file in `dir`), sorted.
fn nightly(dir: &Path, input: &str, threads: usize) -> Vec<String> {
    let _ = std::fs::remove_dir_all(dir.join("state"));
    let threads = threads.to_string();
    let o = run(
        dir,
        &[
            "nightly",
            "--state",
            "state",
            "--out",
            "night",
            "--date",
            "2026-12-01",
            input,
            "-q",
            "--threads",
            &threads,
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    sorted_lines(&dir.join("night/groups.jsonl"))
}

/// `text` (JSON Lines) in file order, reversed and in `orders - 2` shuffled orders, at
/// 1, 2 and 4 threads: every run gives the lines of the first.
fn same_in_every_order(text: &str, orders: u64, with_nightly: bool) {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("in.jsonl"), text).unwrap();
    let batch = cluster(d.path(), "in.jsonl", 2);
    assert!(
        batch.iter().any(|l| !l.contains("\"group\":null")),
        "no group at all"
    );
    let night = with_nightly.then(|| nightly(d.path(), "in.jsonl", 2));
    for threads in [1, 4] {
        assert_eq!(
            cluster(d.path(), "in.jsonl", threads),
            batch,
            "{threads} threads"
        );
    }
    let mut reversed: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    reversed.reverse();
    let mut variants = vec![reversed.join("\n") + "\n"];
    variants.extend((0..orders.saturating_sub(2)).map(|s| shuffled(text, 100 + s)));
    for (i, v) in variants.iter().enumerate() {
        let name = format!("order{i}.jsonl");
        std::fs::write(d.path().join(&name), v).unwrap();
        assert_eq!(cluster(d.path(), &name, 2), batch, "order {i}");
        if let Some(night) = &night {
            assert_eq!(
                &nightly(d.path(), &name, 1 + i % 2),
                night,
                "nightly, order {i}"
            );
        }
    }
}

/// Stories with exact copies and wrapped copies, from the repository's own generator,
/// with rewrites (sentences dropped and reordered) added.
fn generated() -> String {
    let mut text = corpus(60, 31);
    let mut rng = Rng::new(5);
    let mut extra = String::new();
    for line in text.lines().take(40) {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let body = v["text"].as_str().unwrap();
        let mut sentences: Vec<&str> = body.split(". ").collect();
        if sentences.len() > 3 {
            sentences.remove(rng.below(sentences.len()));
            let n = sentences.len();
            sentences.swap(0, n - 1);
        }
        let id = format!("{}-rw", v["id"].as_str().unwrap());
        let rec = serde_json::json!({"id": id, "text": sentences.join(". "), "title": v["title"]});
        extra.push_str(&rec.to_string());
        extra.push('\n');
    }
    text.push_str(&extra);
    text
}

#[test]
fn the_order_of_the_input_does_not_show() {
    same_in_every_order(&generated(), 5, true);
}

#[test]
#[ignore = "needs ../shared"]
fn shared_sets_in_five_orders() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    for set in ["seeds", "clough-dev", "counter-dev"] {
        let text = std::fs::read_to_string(shared.join(format!("eval/{set}.jsonl"))).unwrap();
        same_in_every_order(&text, 5, true);
    }
    // A Reuters sample: its first 4,000 articles.
    let reuters = std::fs::read_to_string(shared.join("corpora/reuters21578.jsonl")).unwrap();
    let mut sample: String = reuters.lines().take(4000).collect::<Vec<_>>().join("\n");
    sample.push('\n');
    same_in_every_order(&sample, 5, true);
}

#[test]
#[ignore = "needs ../shared and python3"]
fn synthetic_corpus_in_five_orders() {
    let shared = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared");
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("c.jsonl");
    let o = std::process::Command::new("python3")
        .arg(shared.join("corpora/synth.py"))
        .args(["--docs", "20000", "--seed", "11", "--out"])
        .arg(&out)
        .arg("--gold")
        .arg(d.path().join("g.jsonl"))
        .arg(shared.join("corpora/reuters21578.jsonl"))
        .arg(shared.join("corpora/bbc_news.jsonl"))
        .output()
        .expect("python3 runs");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    same_in_every_order(&std::fs::read_to_string(&out).unwrap(), 5, true);
}
