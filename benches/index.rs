//! Index benchmark: insert and query latency, and resident bytes per document held.
//!
//! ```text
//! cargo bench --bench index -- CORPUS.jsonl [--docs N] [--queries Q] [--frozen] [--simhash]
//! ```
//!
//! Streams the first `N` records of `CORPUS` (default: all) into one [`neardup::Index`]
//! with the default configuration, one `insert` at a time on one thread, timing each call.
//! Every tenth record up to `Q` of them (default 10,000) is not inserted but queried
//! (`query`, timed) against what is held at that moment, so queries meet their copies.
//! Documents are dropped once inserted, so the growth of resident memory (`VmRSS` from
//! `/proc/self/status`, Linux) over the run is what the index holds. `--frozen` first
//! learns word statistics from the whole corpus (`Index::with_stats`, the batch-equivalent
//! mode) instead of learning them online (`Index::new`, the default). `--simhash` uses
//! `SimHash` candidates (`Method::SimHash`, default Hamming distance) instead of `MinHash`.
//!
//! `benches/index.sh` builds a 1,000,000-document corpus with `synth.py` and runs this.
//! Latency is a benchmark, never a timed test.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark reports to its user

use std::path::PathBuf;
use std::time::{Duration, Instant};

use neardup::TermStats;
use neardup::io::read::{FieldNames, RecordReader, expand_inputs, parse_record};
use neardup::{Config, Document, Index, Method};

struct Args {
    corpus: PathBuf,
    docs: usize,
    queries: usize,
    frozen: bool,
    simhash: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo bench --bench index -- CORPUS.jsonl [--docs N] [--queries Q] [--frozen] [--simhash]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut corpus = None;
    let (mut docs, mut queries, mut frozen, mut simhash) = (usize::MAX, 10_000, false, false);
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        let number = |v: Option<String>| -> usize {
            v.and_then(|v| v.replace('_', "").parse().ok())
                .unwrap_or_else(|| usage())
        };
        match a.as_str() {
            "--bench" => {} // passed by `cargo bench`
            "--docs" => docs = number(it.next()),
            "--queries" => queries = number(it.next()),
            "--frozen" => frozen = true,
            "--simhash" => simhash = true,
            "-h" | "--help" => usage(),
            s if s.starts_with('-') => usage(),
            s => corpus = Some(PathBuf::from(s)),
        }
    }
    let Some(corpus) = corpus else { usage() };
    Args {
        corpus,
        docs,
        queries,
        frozen,
        simhash,
    }
}

/// Resident set size of this process, in bytes (0 where `/proc` is missing).
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Streams documents from the corpus to `f` until it returns false.
fn stream(path: &PathBuf, mut f: impl FnMut(Document) -> bool) {
    let files = expand_inputs(std::slice::from_ref(path)).unwrap_or_else(|e| {
        eprintln!("index bench: {e}");
        std::process::exit(2)
    });
    let fields = FieldNames::default();
    let mut reader = RecordReader::new(files.clone());
    loop {
        let chunk = reader.next_chunk(8 << 20).expect("readable corpus");
        if chunk.is_empty() {
            return;
        }
        for raw in &chunk {
            let doc = parse_record(raw, &files, &fields)
                .expect("valid record")
                .doc;
            if !f(doc) {
                return;
            }
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1e6
}

fn report(what: &str, mut t: Vec<Duration>) {
    t.sort_unstable();
    let total: f64 = t.iter().map(Duration::as_secs_f64).sum();
    println!(
        "{what:<7} n={:<9} p50={:>7.1} us  p99={:>7.1} us  p99.9={:>8.1} us  max={:>9.1} us  mean={:>6.1} us",
        t.len(),
        percentile(&t, 0.5),
        percentile(&t, 0.99),
        percentile(&t, 0.999),
        percentile(&t, 1.0),
        total / t.len().max(1) as f64 * 1e6,
    );
}

fn main() {
    let args = parse_args();
    let config = if args.simhash {
        Config::builder()
            .method(Method::SimHash)
            .build()
            .expect("valid configuration")
    } else {
        Config::default()
    };
    let index = if args.frozen {
        let mut docs = Vec::new();
        stream(&args.corpus, |d| {
            docs.push(d);
            docs.len() < args.docs
        });
        let stats = TermStats::from_documents(&docs, &config);
        drop(docs);
        Index::with_stats(config, stats).expect("valid config")
    } else {
        Index::new(config).expect("valid config")
    };
    let before = rss();
    let started = Instant::now();
    let (mut inserts, mut queries) = (Vec::new(), Vec::new());
    let (mut grouped, mut matched) = (0usize, 0usize);
    let mut seen = 0usize;
    stream(&args.corpus, |doc| {
        seen += 1;
        // Every tenth record is held out as a query, so queries meet copies of what is held.
        let query = seen.is_multiple_of(10) && queries.len() < args.queries;
        if query {
            let t = Instant::now();
            let m = index.query(&doc);
            queries.push(t.elapsed());
            matched += usize::from(!m.matches.is_empty());
            true
        } else if inserts.len() < args.docs {
            let t = Instant::now();
            let v = index.insert(doc);
            inserts.push(t.elapsed());
            match v {
                Ok(v) => grouped += usize::from(v.group.is_some()),
                Err(e) => eprintln!("index bench: {e}"),
            }
            if inserts.len() % 100_000 == 0 {
                eprintln!(
                    "index bench: {} inserted, {:.0} s, {:.0} MB resident",
                    inserts.len(),
                    started.elapsed().as_secs_f64(),
                    rss() as f64 / 1e6
                );
            }
            true
        } else {
            false
        }
    });
    let after = rss();
    let held = index.len();
    println!(
        "index bench: {} ({} word statistics), {held} documents held, {grouped} inserted into a group, {matched} of {} queries matched",
        args.corpus.display(),
        if args.frozen { "frozen" } else { "online" },
        queries.len(),
    );
    report("insert", inserts);
    report("query", queries);
    let grown = after.saturating_sub(before);
    println!(
        "memory  resident {:.0} MB after, grown {:.0} MB while inserting = {:.0} bytes per document held",
        after as f64 / 1e6,
        grown as f64 / 1e6,
        grown as f64 / held.max(1) as f64
    );
    println!("wall    {:.1} s", started.elapsed().as_secs_f64());
}
