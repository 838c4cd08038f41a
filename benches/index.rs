//! Index benchmark: insert and query latency, and resident bytes per document held.
//!
//! ```text
//! cargo bench --bench index -- CORPUS.jsonl [--docs N] [--queries Q] [--frozen] [--simhash]
//!                                            [--compact] [--threads T] [--save-every S]
//!                                            [--alternate A,B [--segment K] [--measure M]
//!                                             [--independent] [--own-docs]] [--shuffle]
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
//! `--compact` holds documents with `Footprint::Compact` (small samples, fewer bands).
//!
//! `--threads T` reads the first `N` documents into memory first, then inserts them from
//! `T` threads (no queries) and reports documents per second. `--save-every S` runs a
//! saver thread beside the inserts, writing the index to a temporary file each time `S`
//! more documents are held, and reports each save's duration, the longest insert that
//! overlapped a save (the pause a save causes) and the peak resident memory.
//!
//! `--alternate A,B` measures how inserts scale with threads where the machine's speed
//! drifts (a shared VM varies by ±15% within minutes, so runs taken one after the other
//! compare badly). It reads the first `N` documents into memory, fills the index with all
//! but the last `M` (default a tenth) from the larger thread count, then inserts those
//! `M` in segments of `K` documents (default 5,000), the two counts taking turns
//! (A, B, A, …, A). Each B segment is compared with the mean of the A segments either
//! side of it, taken seconds apart at about the same number held; the bench prints each
//! segment's rate, each count's median and the median of those ratios, with their range.
//! `--independent` runs the same inserts with nothing shared: as many indexes as the
//! larger count, each given every document, each from one thread at a time (with fewer
//! threads, a thread inserts a segment into its indexes one after the other). Its ratio
//! is what the machine gives this work when no lock, table or cache line is shared: the
//! ceiling for the shared index's ratio (a VM's cores may share more than they show).
//! Before each segment, the bench measures the time a cache line takes to go from one
//! thread to the other and back (a few milliseconds, not timed with the segment). A VM's
//! two cores are sometimes near each other and sometimes not; the shared index's ratio
//! falls when they are far (its threads read what the other one wrote), while
//! `--independent`'s does not (BENCHMARKS.md, "Tables grown before the exclusive lock;
//! how far apart the two cores are").
//!
//! `--own-docs` (with `--alternate`) has each inserting thread make the document it
//! inserts (a copy of the record read at the start, made in that thread), as a
//! crawler's fetcher makes what it inserts; the records read at the start are freed
//! after the timing. Without it, every text was allocated by the thread that read the
//! corpus and is freed by the inserting one: with the system allocator, that locks the
//! reading thread's arena, which both inserting threads then wait for (BENCHMARKS.md,
//! "Two threads: less under the locks").
//!
//! `--shuffle` (with `--threads` or `--alternate`) inserts the `N` documents in an order
//! shuffled with a fixed seed instead of the file's. `synth.py` writes a story's versions
//! one after the other, so two threads taking the next documents insert versions of one
//! story at the same moment about half of the time, and each commit finds the other's
//! document new in its buckets and searches again; a crawl meets a story's versions
//! among other stories' (BENCHMARKS.md, "Two threads: the order of the documents").
//!
//! The allocator is the system's, or mimalloc with `--features mimalloc` (the first line
//! printed says which). mimalloc reuses what was freed before the inserts (the
//! statistics of `--frozen`, the texts read by `--threads`), so its resident growth
//! under-counts what the index holds (0 bytes per document, seen): take bytes per
//! document from the system allocator's run.
//!
//! `benches/index.sh` builds a 1,000,000-document corpus with `synth.py` and runs this.
//! Latency is a benchmark, never a timed test.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark reports to its user

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The global allocator this benchmark was built with.
const ALLOCATOR_NAME: &str = if cfg!(feature = "mimalloc") {
    "mimalloc"
} else {
    "system"
};

use std::path::PathBuf;
use std::time::{Duration, Instant};

use neardup::TermStats;
use neardup::io::read::{FieldNames, RecordReader, expand_inputs, parse_record};
use neardup::{Config, Document, Footprint, Index, Method};

#[allow(clippy::struct_excessive_bools)] // one per command-line switch
struct Args {
    corpus: PathBuf,
    docs: usize,
    queries: usize,
    frozen: bool,
    simhash: bool,
    compact: bool,
    threads: usize,
    save_every: usize,
    /// `--shuffle`: the in-memory modes insert in a shuffled order.
    shuffle: bool,
    /// `--alternate A,B`, with `--segment` and `--measure` (0: a tenth of the documents),
    /// and whether `--independent` was given.
    alternate: Option<((usize, usize), bool)>,
    segment: usize,
    measure: usize,
    /// `--own-docs`: each inserting thread copies the document it inserts.
    own_docs: bool,
}

fn usage() -> ! {
    eprintln!(
        "usage: cargo bench --bench index -- CORPUS.jsonl [--docs N] [--queries Q] [--frozen] [--simhash] [--compact] [--threads T] [--save-every S] [--alternate A,B [--segment K] [--measure M] [--independent] [--own-docs]] [--shuffle]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut corpus = None;
    let (mut docs, mut queries, mut frozen, mut simhash) = (usize::MAX, 10_000, false, false);
    let (mut threads, mut save_every, mut compact) = (0, 0, false);
    let (mut alternate, mut segment, mut measure, mut independent) = (None, 5_000, 0, false);
    let (mut shuffle, mut own_docs) = (false, false);
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
            "--compact" => compact = true,
            "--threads" => threads = number(it.next()),
            "--save-every" => save_every = number(it.next()),
            "--alternate" => {
                let v = it.next().unwrap_or_else(|| usage());
                let (a, b) = v.split_once(',').unwrap_or_else(|| usage());
                let count = |x: &str| x.parse().ok().filter(|&t| t > 0).unwrap_or_else(|| usage());
                alternate = Some((count(a), count(b)));
            }
            "--segment" => segment = number(it.next()).max(1),
            "--measure" => measure = number(it.next()),
            "--independent" => independent = true,
            "--shuffle" => shuffle = true,
            "--own-docs" => own_docs = true,
            "-h" | "--help" => usage(),
            s if s.starts_with('-') => usage(),
            s => corpus = Some(PathBuf::from(s)),
        }
    }
    let Some(corpus) = corpus else { usage() };
    if shuffle && alternate.is_none() && threads == 0 && save_every == 0 {
        eprintln!(
            "index bench: --shuffle needs --threads, --save-every or --alternate (the latency run streams the corpus)"
        );
        std::process::exit(2)
    }
    if own_docs && alternate.is_none() {
        eprintln!("index bench: --own-docs needs --alternate");
        std::process::exit(2)
    }
    Args {
        corpus,
        docs,
        queries,
        frozen,
        simhash,
        compact,
        threads,
        save_every,
        shuffle,
        alternate: alternate.map(|counts| (counts, independent)),
        segment,
        measure,
        own_docs,
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
    println!("index bench: allocator {ALLOCATOR_NAME}");
    if cfg!(feature = "mimalloc") {
        println!(
            "index bench: bytes per document held below under-count (memory freed before the inserts is reused); take them from a run without --features mimalloc"
        );
    }
    let mut config = Config::builder();
    if args.simhash {
        config = config.method(Method::SimHash);
    }
    if args.compact {
        config = config.footprint(Footprint::Compact);
    }
    let config = config.build().expect("valid configuration");
    let mut stats = args.frozen.then(|| {
        let mut docs = Vec::new();
        stream(&args.corpus, |d| {
            docs.push(d);
            docs.len() < args.docs
        });
        TermStats::from_documents(&docs, &config)
    });
    // The last index made takes the statistics themselves, so that none are left over
    // to free (and reuse) while the inserts are measured.
    let new_index = |stats: Option<TermStats>| match stats {
        Some(stats) => Index::with_stats(config.clone(), stats).expect("valid config"),
        None => Index::new(config.clone()).expect("valid config"),
    };
    if let Some((counts, independent)) = args.alternate {
        let n = if independent {
            counts.0.max(counts.1)
        } else {
            1
        };
        let mut indexes: Vec<Index> = (1..n).map(|_| new_index(stats.clone())).collect();
        indexes.push(new_index(stats.take()));
        alternating(&args, &indexes, counts);
        return;
    }
    let index = new_index(stats.take());
    if args.threads > 0 || args.save_every > 0 {
        threaded(&args, &index);
        return;
    }
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
    let parts = index.memory();
    let total: usize = parts.iter().map(|p| p.1).sum();
    let per_doc = |b: usize| b as f64 / held.max(1) as f64;
    for (part, bytes) in parts {
        println!(
            "memory  {part:<28} {:>6.0} bytes per document",
            per_doc(bytes)
        );
    }
    println!(
        "memory  {:<28} {:>6.0} bytes per document (Index::memory)",
        "total",
        per_doc(total)
    );
    let reach = index.refusal_reach();
    println!(
        "refused {} pairs: {} with both documents joined by edges, {} with a document without edges",
        reach.pairs, reach.connected, reach.lone
    );
}

/// Peak resident memory of this process so far, in bytes (`VmHWM`; 0 without `/proc`).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// The first `--docs` documents of the corpus, in memory, shuffled with `--shuffle`
/// (Fisher–Yates, a fixed xorshift seed: every run the same order).
fn read_docs(args: &Args) -> Vec<Document> {
    let mut docs = Vec::new();
    stream(&args.corpus, |d| {
        docs.push(d);
        docs.len() < args.docs
    });
    if args.shuffle {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in (1..docs.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            docs.swap(i, (x % (i as u64 + 1)) as usize);
        }
    }
    docs
}

/// `--threads` / `--save-every`: inserts from several threads, saves beside them.
fn threaded(args: &Args, index: &Index) {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let docs = read_docs(args);
    let docs: Vec<Mutex<Option<Document>>> =
        docs.into_iter().map(|d| Mutex::new(Some(d))).collect();
    let threads = args.threads.max(1);
    let next = AtomicUsize::new(0);
    let held = AtomicUsize::new(0);
    let origin = Instant::now();
    // Each insert as (start, end) since `origin`; each save likewise.
    let spans: Mutex<Vec<(Duration, Duration)>> = Mutex::new(Vec::new());
    let saves: Mutex<Vec<(Duration, Duration)>> = Mutex::new(Vec::new());
    let dir = tempfile::tempdir().expect("a temporary directory");
    let before = rss();
    std::thread::scope(|s| {
        if args.save_every > 0 {
            s.spawn(|| {
                let mut at = args.save_every;
                let path = dir.path().join("bench.ndx");
                while at <= docs.len() {
                    while held.load(Ordering::Relaxed) < at {
                        std::thread::sleep(Duration::from_millis(1));
                    }
                    let t0 = origin.elapsed();
                    index.save(&path).expect("saved");
                    saves.lock().unwrap().push((t0, origin.elapsed()));
                    at += args.save_every;
                }
            });
        }
        for _ in 0..threads {
            s.spawn(|| {
                let mut mine = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = docs.get(i) else { break };
                    let doc = slot.lock().unwrap().take().expect("each document once");
                    let t0 = origin.elapsed();
                    if let Err(e) = index.insert(doc) {
                        eprintln!("index bench: {e}");
                    }
                    mine.push((t0, origin.elapsed()));
                    held.fetch_add(1, Ordering::Relaxed);
                }
                spans.lock().unwrap().extend(mine);
            });
        }
    });
    let spans = spans.into_inner().unwrap();
    let wall = spans
        .iter()
        .map(|s| s.1)
        .max()
        .unwrap_or_default()
        .as_secs_f64();
    let latencies: Vec<Duration> = spans.iter().map(|(a, b)| b.saturating_sub(*a)).collect();
    println!(
        "index bench: {} ({} word statistics), {} documents from {threads} threads: {:.1} s, {:.0} documents/s",
        args.corpus.display(),
        if args.frozen { "frozen" } else { "online" },
        spans.len(),
        wall,
        spans.len() as f64 / wall,
    );
    report("insert", latencies);
    let saves = saves.into_inner().unwrap();
    if !saves.is_empty() {
        let during = |(a, b): &(Duration, Duration)| saves.iter().any(|(s, e)| a < e && b > s);
        let longest = spans
            .iter()
            .filter(|x| during(x))
            .map(|(a, b)| (b.saturating_sub(*a)).as_secs_f64() * 1e3)
            .fold(0.0, f64::max);
        let durations: Vec<String> = saves
            .iter()
            .map(|(s, e)| format!("{:.2}", e.saturating_sub(*s).as_secs_f64()))
            .collect();
        println!(
            "saves   {} saves, seconds each: {}; inserts during saves: {}, the longest {longest:.1} ms",
            saves.len(),
            durations.join(" "),
            spans.iter().filter(|x| during(x)).count(),
        );
    }
    println!(
        "memory  resident {:.0} MB after (grown {:.0} MB = {:.0} bytes per document held), peak {:.0} MB",
        rss() as f64 / 1e6,
        rss().saturating_sub(before) as f64 / 1e6,
        rss().saturating_sub(before) as f64 / index.len().max(1) as f64,
        peak_rss() as f64 / 1e6,
    );
}

/// Inserts `docs` from `threads` threads; returns the seconds it took. With `own`, a
/// thread inserts a copy it makes of each document, and the documents are given back to
/// `docs`, to be freed after the timing (`--own-docs`).
fn insert_from(index: &Index, records: &mut [Option<Document>], threads: usize, own: bool) -> f64 {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let docs: Vec<Mutex<Option<Document>>> =
        records.iter_mut().map(|d| Mutex::new(d.take())).collect();
    let next = AtomicUsize::new(0);
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(slot) = docs.get(i) else { break };
                    let mut slot = slot.lock().unwrap();
                    let doc = if own {
                        slot.clone().expect("each document once")
                    } else {
                        slot.take().expect("each document once")
                    };
                    drop(slot);
                    if let Err(e) = index.insert(doc) {
                        eprintln!("index bench: {e}");
                    }
                }
            });
        }
    });
    let secs = started.elapsed().as_secs_f64();
    for (record, doc) in records.iter_mut().zip(docs) {
        *record = doc.into_inner().unwrap();
    }
    secs
}

/// One thread's indexes, each with its copy of the documents.
type Share<'a> = Vec<(&'a Index, &'a mut [Option<Document>])>;

/// Inserts `range` of the documents into each index from its own copy of them; returns
/// the seconds it took. One index is shared by `threads` threads; several are shared
/// out, thread `j` inserting into indexes `j`, `j + threads`, … one after the other.
fn insert_into(
    indexes: &[Index],
    copies: &mut [Vec<Option<Document>>],
    range: std::ops::Range<usize>,
    threads: usize,
    own: bool,
) -> f64 {
    if let [index] = indexes {
        return insert_from(index, &mut copies[0][range], threads, own);
    }
    let mut shares: Vec<Share<'_>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, (index, docs)) in indexes.iter().zip(copies.iter_mut()).enumerate() {
        shares[i % threads].push((index, &mut docs[range.clone()]));
    }
    let started = Instant::now();
    std::thread::scope(|s| {
        for share in shares {
            s.spawn(move || {
                for (index, docs) in share {
                    insert_from(index, docs, 1, own);
                }
            });
        }
    });
    started.elapsed().as_secs_f64()
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => f64::midpoint(v[n / 2 - 1], v[n / 2]),
    }
}

/// The smallest and the largest of `v`.
fn range(v: &[f64]) -> (f64, f64) {
    v.iter()
        .fold((f64::MAX, f64::MIN), |(l, h), &r| (l.min(r), h.max(r)))
}

/// Nanoseconds a cache line takes to go from one thread to another and back: two
/// threads take turns at a counter, each waiting for the other's write. What sharing a
/// line costs the index's threads on this machine, now: the fastest of a few short
/// trials (a trial that shared a core with another thread waits for it).
fn round_trip_ns() -> f64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    const ROUNDS: u64 = 2_000;
    let trial = || {
        let turn = AtomicU64::new(0);
        let start = Instant::now();
        std::thread::scope(|s| {
            for me in 0..2 {
                let turn = &turn;
                s.spawn(move || {
                    for i in 0..ROUNDS {
                        let mine = 2 * i + me;
                        let mut spins = 0u32;
                        while turn.load(Ordering::Acquire) != mine {
                            spins += 1;
                            // Both on one core: let the other one run.
                            if spins.is_multiple_of(4096) {
                                std::thread::yield_now();
                            } else {
                                std::hint::spin_loop();
                            }
                        }
                        turn.store(mine + 1, Ordering::Release);
                    }
                });
            }
        });
        start.elapsed().as_secs_f64() * 1e9 / ROUNDS as f64
    };
    (0..8).map(|_| trial()).fold(f64::MAX, f64::min)
}

/// `--alternate A,B`: the last documents in segments, the two thread counts taking turns,
/// into one shared index or (`--independent`) into one index per thread.
fn alternating(args: &Args, indexes: &[Index], (a, b): (usize, usize)) {
    let n = indexes.len();
    if n > 1 && !(n.is_multiple_of(a) && n.is_multiple_of(b)) {
        eprintln!("index bench: --independent needs each thread count to divide the larger");
        std::process::exit(2)
    }
    let docs: Vec<Option<Document>> = read_docs(args).into_iter().map(Some).collect();
    let measure = if args.measure == 0 {
        docs.len() / 10
    } else {
        args.measure.min(docs.len())
    };
    // An odd number of segments, so that every B segment has an A segment on each side.
    let mut segments = (measure / args.segment)
        .max(3)
        .min(docs.len() / args.segment);
    if segments.is_multiple_of(2) {
        segments -= 1;
    }
    if segments < 3 {
        eprintln!(
            "index bench: --alternate needs three segments of {} documents; the corpus gave {}",
            args.segment,
            docs.len()
        );
        std::process::exit(2)
    }
    let fill = docs.len().saturating_sub(segments * args.segment);
    // Each index its own copy of every document.
    let mut copies: Vec<Vec<Option<Document>>> = (1..n).map(|_| docs.clone()).collect();
    copies.insert(0, docs);
    let filled = insert_into(indexes, &mut copies, 0..fill, n.max(a.max(b)), false);
    println!(
        "index bench: {} ({} word statistics): filled {} with {fill} documents from {} threads in {filled:.1} s",
        args.corpus.display(),
        if args.frozen { "frozen" } else { "online" },
        if n == 1 {
            "the index".to_string()
        } else {
            format!("{n} independent indexes, each")
        },
        n.max(a.max(b)),
    );
    let mut rates = Vec::with_capacity(segments);
    let mut trips = Vec::with_capacity(segments);
    for k in 0..segments {
        let trip = round_trip_ns();
        trips.push(trip);
        let threads = if k % 2 == 0 { a } else { b };
        let lo = fill + k * args.segment;
        let held = indexes[0].len();
        let secs = insert_into(
            indexes,
            &mut copies,
            lo..lo + args.segment,
            threads,
            args.own_docs,
        );
        let rate = (n * args.segment) as f64 / secs;
        println!(
            "segment {k:>3}: {threads} threads, {held} held before, {rate:>8.0} documents/s (a cache line's round trip {trip:.0} ns)"
        );
        rates.push(rate);
    }
    let of =
        |parity: usize| -> Vec<f64> { rates.iter().skip(parity).step_by(2).copied().collect() };
    let (ra, rb) = (of(0), of(1));
    let ratios: Vec<f64> = (1..segments)
        .step_by(2)
        .map(|k| rates[k] / f64::midpoint(rates[k - 1], rates[k + 1]))
        .collect();
    let (lo, hi) = range(&ratios);
    println!(
        "index bench: {} documents held at the end{}; {a} threads median {:.0} documents/s, {b} threads median {:.0}; {b}/{a} ratio median {:.2} (each {b}-thread segment against the {a}-thread segments beside it; {} ratios, {lo:.2}-{hi:.2})",
        indexes[0].len(),
        if n == 1 {
            String::new()
        } else {
            format!(" by each of {n} independent indexes")
        },
        median(&ra),
        median(&rb),
        median(&ratios),
        ratios.len(),
    );
    let (tlo, thi) = range(&trips);
    println!(
        "index bench: a cache line's round trip between two threads: median {:.0} ns, {tlo:.0}-{thi:.0}",
        median(&trips)
    );
}
