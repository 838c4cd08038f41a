//! The batch run: read → sketch → weigh → candidates → verify → group.
//!
//! Every parallel stage writes its results by document index and every merge is sorted,
//! so the output is the same at any thread count.

use std::collections::HashMap;
use std::time::Instant;

use rayon::iter::Either;
use rayon::prelude::*;

use crate::closing;
use crate::config::{Config, Method};
use crate::document::Document;
use crate::error::{Error, Location, Result};
use crate::features::{Features, Featurizer, Scratch};
use crate::group::{self, Rank};
use crate::hamming;
use crate::io::read::{FieldNames, InputFile, RawChunk, RecordReader, parse_raw};
use crate::keywords::{self, KeywordParams};
use crate::lsh;
use crate::progress::{Progress, Stage};
use crate::sketch::simhash::from_words;
use crate::verify::{
    DocView, Edge, Judgement, Rarity, Relation, Verifier, Weights, relation_similarity,
};
use crate::weights::{KeyMap, TermStats};

/// How records are read.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Field names of JSON records.
    pub fields: FieldNames,
    /// Skip (and count) malformed records instead of stopping at the first; keep the
    /// records before the damage of a damaged compressed input.
    pub skip_invalid: bool,
    /// Follow symbolic links inside input directories.
    pub follow_links: bool,
    /// The longest record accepted, bytes (see [`RecordReader::max_record_bytes`]).
    pub max_record_bytes: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            fields: FieldNames::default(),
            skip_invalid: false,
            follow_links: false,
            max_record_bytes: crate::io::read::DEFAULT_MAX_RECORD_BYTES,
        }
    }
}

impl ReadOptions {
    /// A reader of `files` with these options.
    #[must_use]
    pub fn reader(&self, files: Vec<InputFile>) -> RecordReader {
        RecordReader::new(files)
            .max_record_bytes(self.max_record_bytes)
            .salvage(self.skip_invalid)
    }
}

/// What is kept of a document once its features are computed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocInfo {
    /// The id.
    pub id: String,
    /// The headline; without one, the first line of the text (at most 100 characters),
    /// so that a report can say what the story is.
    pub title: Option<String>,
    /// Publication time, if known.
    pub timestamp: Option<i64>,
    /// Length of the text in bytes.
    pub len: u64,
    /// Index of the input file it came from.
    pub file: u32,
    /// Its line in that file.
    pub line: u64,
    /// [`crate::io::read::record_digest`] of its record as read (0 for a document not
    /// read from a file), checked when the record is copied back.
    pub digest: u64,
}

/// A document's place in a group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Member {
    /// Document index.
    pub doc: u32,
    /// Relation to the canonical member ([`Role::Canonical`](crate::Role) for the canonical member
    /// itself).
    pub relation: crate::verify::Role,
    /// Similarity to the canonical member (1 for the canonical member).
    pub similarity: f32,
}

/// A syndication group of two or more documents.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Its id: the id of its canonical member (no input position decides it).
    pub id: String,
    /// The canonical member (document index).
    pub canonical: u32,
    /// All members, canonical first, then in input order.
    pub members: Vec<Member>,
}

/// Counters and timings of a run.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct RunStats {
    /// Documents read.
    pub documents: u64,
    /// Bytes of input read.
    pub bytes: u64,
    /// Malformed records skipped (with `skip_invalid`).
    pub skipped_invalid: u64,
    /// The first few skipped records' errors.
    pub invalid_examples: Vec<String>,
    /// Plain-text files decoded lossily because they were not valid UTF-8.
    pub lossy_utf8: u64,
    /// Documents with no words (each is its own group).
    pub empty: u64,
    /// Dates that were present but not understood.
    pub bad_dates: u64,
    /// Candidate pairs from the signatures: LSH buckets (`MinHash`) or fingerprints
    /// within `hamming` bits (`SimHash`).
    pub lsh_pairs: u64,
    /// Candidate pairs from the rare-word index.
    pub keyword_pairs: u64,
    /// Candidate pairs scored (after merging the two sources).
    pub verified_pairs: u64,
    /// Pairs that became edges.
    pub edges: u64,
    /// Groups of two or more documents.
    pub groups: u64,
    /// Documents in such groups.
    pub docs_in_groups: u64,
    /// Seconds spent per stage.
    pub seconds: Vec<(String, f64)>,
    /// Seconds from start to groups.
    pub elapsed: f64,
    /// Peak resident memory of the process up to the end of grouping, in bytes, where
    /// the system tells (Linux); it includes whatever the caller held before the run.
    pub peak_rss_bytes: Option<u64>,
    /// `peak_rss_bytes` per document read.
    pub bytes_per_doc: Option<f64>,
    /// WARC input: records read, pages passed on, records skipped by kind.
    #[serde(skip_serializing_if = "crate::io::warc::WarcStats::is_empty")]
    pub warc: crate::io::warc::WarcStats,
}

/// Peak resident memory of this process so far (`VmHWM` of `/proc/self/status`), in
/// bytes; `None` where that is not available.
#[must_use]
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(kb * 1024)
}

/// The result of a batch run.
#[derive(Debug, Clone)]
pub struct Clustering {
    /// The documents, in input order.
    pub docs: Vec<DocInfo>,
    /// Groups of two or more documents, largest first, then by canonical's position.
    pub groups: Vec<Group>,
    /// For each document, its group (index into `groups`) and place there.
    pub placement: Vec<Option<(u32, Member)>>,
    /// Every verified edge, sorted by `(a, b)`.
    pub edges: Vec<Edge>,
    /// Counters and timings.
    pub stats: RunStats,
}

impl Clustering {
    /// The group of a document and its place there, if it is in a group.
    #[must_use]
    pub fn group_of(&self, doc: u32) -> Option<(&Group, &Member)> {
        self.placement[doc as usize]
            .as_ref()
            .map(|(g, m)| (&self.groups[*g as usize], m))
    }
}

/// Documents' features, signatures and metadata, as the stages after sketching need them.
struct Corpus {
    docs: Vec<DocInfo>,
    feats: Vec<Features>,
    /// Candidate keys, [`key_len`] per document: LSH bucket keys for `MinHash` (see
    /// [`lsh::band_keys`]), what the candidate stage needs of a signature in a fifth of
    /// its memory; the fingerprint as two words for `SimHash`.
    keys: Vec<u32>,
    /// The banding of `keys` (computed once: finding the optimal one takes a while).
    banding: lsh::Banding,
    /// For each document, the first document with the same text and headline (itself
    /// for the first): their features are equal, so what derives from them alone is
    /// computed once. A copy's own entry in `feats` may hold only `exact` and `words`:
    /// read features through `same`.
    same: Vec<u32>,
}

impl Corpus {
    /// The corpus renumbered by id (xxh3 of the id, then the id), with `order[i]` the
    /// input position of the `i`-th document. `stride` is the number of keys per document.
    fn into_id_order(mut self, stride: usize) -> (Corpus, Vec<u32>) {
        let n = self.docs.len();
        let hashes: Vec<u64> = self
            .docs
            .par_iter()
            .map(|d| xxhash_rust::xxh3::xxh3_64(d.id.as_bytes()))
            .collect();
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.par_sort_unstable_by(|&x, &y| {
            hashes[x as usize]
                .cmp(&hashes[y as usize])
                .then_with(|| self.docs[x as usize].id.cmp(&self.docs[y as usize].id))
        });
        let mut pos = vec![0u32; n];
        for (i, &d) in order.iter().enumerate() {
            pos[d as usize] = i as u32;
        }
        // In place: the corpus is the largest thing in memory.
        permute(&order, |a, b| self.docs.swap(a, b));
        permute(&order, |a, b| self.feats.swap(a, b));
        permute(&order, |a, b| {
            let (lo, hi) = (a.min(b) * stride, a.max(b) * stride);
            let (head, tail) = self.keys.split_at_mut(hi);
            head[lo..lo + stride].swap_with_slice(&mut tail[..stride]);
        });
        permute(&order, |a, b| self.same.swap(a, b));
        for s in &mut self.same {
            *s = pos[*s as usize];
        }
        (self, order)
    }
}

/// Rearranges a sequence in place so that its `i`-th element becomes the one at
/// `order[i]`, through `swap(a, b)` of two positions (following each cycle once).
fn permute(order: &[u32], mut swap: impl FnMut(usize, usize)) {
    let mut done = vec![false; order.len()];
    for start in 0..order.len() {
        if done[start] {
            continue;
        }
        // Walk the cycle: position i takes the element at order[i].
        let mut i = start;
        done[i] = true;
        loop {
            let next = order[i] as usize;
            if next == start {
                break;
            }
            swap(i, next);
            done[next] = true;
            i = next;
        }
    }
}

struct Timer {
    seconds: Vec<(String, f64)>,
    at: Instant,
}

impl Timer {
    fn lap(&mut self, stage: Stage) {
        let now = Instant::now();
        self.seconds
            .push((stage.name().to_owned(), (now - self.at).as_secs_f64()));
        self.at = now;
    }
}

/// Runs the whole pipeline over input files.
///
/// # Errors
/// Reading errors ([`Error::Io`], [`Error::NotFound`]); malformed records
/// ([`Error::InvalidJson`], [`Error::InvalidRecord`]) unless `skip_invalid`; a repeated
/// id ([`Error::DuplicateId`]) unless `skip_invalid`; an invalid configuration.
pub fn cluster_files(
    files: Vec<InputFile>,
    config: &Config,
    opts: &ReadOptions,
    progress: &dyn Progress,
) -> Result<Clustering> {
    config.validate()?;
    let start = Instant::now();
    let mut timer = Timer {
        seconds: Vec::new(),
        at: start,
    };
    let mut stats = RunStats::default();
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(&f.path).ok().map(|m| m.len()))
        .sum();
    progress.start(Stage::Sketch, Some(total).filter(|&t| t > 0));
    let corpus = read_corpus(files, config, opts, progress, &mut stats)?;
    progress.finish(Stage::Sketch);
    timer.lap(Stage::Sketch);
    finish(corpus, config, progress, stats, timer, start)
}

/// Runs the whole pipeline over documents in memory.
///
/// # Errors
/// [`Error::DuplicateId`] for a repeated id; [`Error::Config`] for a bad configuration.
pub fn cluster_documents(docs: &[Document], config: &Config) -> Result<Clustering> {
    config.validate()?;
    let start = Instant::now();
    let mut timer = Timer {
        seconds: Vec::new(),
        at: start,
    };
    let mut stats = RunStats::default();
    let featurizer = Featurizer::new(config);
    let (perms, banding) = (config.signature_len(), config.banding());
    let stride = key_len(config, banding);
    let mut keys = vec![0u32; docs.len() * stride];
    let feats: Vec<Features> = docs
        .par_iter()
        .zip(keys.par_chunks_mut(stride))
        .map_init(
            || (Scratch::default(), vec![0u32; perms]),
            |(s, sig), (d, keys)| {
                let f = featurizer.featurize(d, s, sig);
                write_keys(config, banding, sig, keys);
                f
            },
        )
        .collect();
    let mut seen: HashMap<&str, u64> = HashMap::new();
    let mut infos = Vec::with_capacity(docs.len());
    for (i, d) in docs.iter().enumerate() {
        let line = i as u64 + 1;
        if let Some(&first) = seen.get(d.id.as_str()) {
            let at = |line| Location {
                path: "<documents>".into(),
                line,
            };
            return Err(Error::DuplicateId {
                id: d.id.clone(),
                first: at(first),
                second: at(line),
            });
        }
        seen.insert(&d.id, line);
        infos.push(DocInfo {
            id: d.id.clone(),
            title: headline(d),
            timestamp: d.timestamp,
            len: d.text.len() as u64,
            file: 0,
            line,
            digest: 0,
        });
        stats.bytes += d.text.len() as u64;
    }
    stats.documents = docs.len() as u64;
    stats.empty = feats.iter().filter(|f| f.exact == 0).count() as u64;
    timer.lap(Stage::Sketch);
    let corpus = Corpus {
        same: (0..docs.len() as u32).collect(),
        docs: infos,
        feats,
        keys,
        banding,
    };
    finish(
        corpus,
        config,
        &crate::progress::NoProgress,
        stats,
        timer,
        start,
    )
}

fn read_corpus(
    files: Vec<InputFile>,
    config: &Config,
    opts: &ReadOptions,
    progress: &dyn Progress,
    stats: &mut RunStats,
) -> Result<Corpus> {
    let featurizer = Featurizer::new(config);
    let (perms, banding) = (config.signature_len(), config.banding());
    let bands = key_len(config, banding);
    let list = files;
    let files = &list[..];
    let chunks = ChunkReader::spawn(opts.reader(list.clone()));
    let mut corpus = Corpus {
        docs: Vec::new(),
        feats: Vec::new(),
        keys: Vec::new(),
        banding,
        same: Vec::new(),
    };
    // Ids by their hash; ids whose hash an earlier, different id holds go to `collided`.
    let mut seen: KeyMap<u64, u32> = KeyMap::default();
    let mut collided: HashMap<String, u32> = HashMap::new();
    // The first document of each text (see `text_key`), from earlier chunks.
    let mut texts: KeyMap<u128, u32> = KeyMap::default();
    let mut last_bytes = 0;
    loop {
        let (mut chunk, now) = chunks.next()?;
        stats.warc.add(chunk.warc_stats());
        for e in chunk.take_damage() {
            skip(stats, &e);
        }
        if chunk.is_empty() {
            break;
        }
        // Bucket keys are written in place at the end of the corpus; the slots of
        // skipped records are closed up below.
        let base = corpus.keys.len();
        corpus.keys.resize(base + chunk.len() * bands, 0);
        let (done_keys, new_keys) = corpus.keys.split_at_mut(base);
        let (done_keys, done_feats, seen_texts) = (&*done_keys, &corpus.feats, &texts);
        let results: Vec<Result<Sketched>> = (0..chunk.len())
            .into_par_iter()
            .zip(new_keys.par_chunks_mut(bands))
            .map_init(
                || (Scratch::default(), String::new(), vec![0u32; perms]),
                |(s, buf, sig), (i, keys)| {
                    let raw = chunk.get(i);
                    let p = parse_raw(raw, files, &opts.fields, buf)?;
                    // A text (with its headline) seen in an earlier chunk has its features
                    // and signature already: they depend on nothing else.
                    let text_key = text_key(p.text, p.title.as_deref());
                    let feat = if let Some(&first) = seen_texts.get(&text_key) {
                        let first = first as usize;
                        keys.copy_from_slice(&done_keys[first * bands..][..bands]);
                        // Only the counts are kept; the rest is read through
                        // `Corpus::same` from the first.
                        let f = &done_feats[first];
                        Features {
                            exact: f.exact,
                            words: f.words,
                            ..Features::default()
                        }
                    } else {
                        let f = featurizer.featurize_text(p.text, p.title.as_deref(), s, sig);
                        write_keys(config, banding, sig, keys);
                        f
                    };
                    Ok(Sketched {
                        text_key,
                        key: xxhash_rust::xxh3::xxh3_64(p.id.as_bytes()),
                        info: DocInfo {
                            title: report_title(p.title, p.text),
                            id: p.id,
                            timestamp: p.timestamp,
                            len: p.text.len() as u64,
                            file: raw.file,
                            line: raw.line,
                            digest: crate::io::read::record_digest(raw.bytes),
                        },
                        lossy: p.lossy,
                        bad_date: p.bad_date,
                        feat,
                    })
                },
            )
            .collect();
        let mut write = base;
        for (k, res) in results.into_iter().enumerate() {
            let doc = match res {
                Ok(x) => x,
                Err(e) if opts.skip_invalid && e.is_bad_input() => {
                    skip(stats, &e);
                    continue;
                }
                Err(e) => return Err(e),
            };
            let index = u32::try_from(corpus.docs.len()).unwrap_or(u32::MAX);
            let first = match seen.entry(doc.key) {
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(index);
                    None
                }
                std::collections::hash_map::Entry::Occupied(o) => {
                    let holder = *o.get();
                    if corpus.docs[holder as usize].id == doc.info.id {
                        Some(holder)
                    } else if let Some(&other) = collided.get(&doc.info.id) {
                        Some(other)
                    } else {
                        collided.insert(doc.info.id.clone(), index);
                        None
                    }
                }
            };
            if let Some(first) = first {
                let first = &corpus.docs[first as usize];
                let e = Error::DuplicateId {
                    id: doc.info.id.clone(),
                    first: Location {
                        path: files[first.file as usize].path.clone(),
                        line: first.line,
                    },
                    second: Location {
                        path: files[doc.info.file as usize].path.clone(),
                        line: doc.info.line,
                    },
                };
                if opts.skip_invalid {
                    skip(stats, &e);
                    continue;
                }
                return Err(e);
            }
            stats.documents += 1;
            stats.bytes += doc.info.len;
            stats.lossy_utf8 += u64::from(doc.lossy);
            stats.bad_dates += u64::from(doc.bad_date);
            stats.empty += u64::from(doc.feat.exact == 0);
            corpus
                .same
                .push(*texts.entry(doc.text_key).or_insert(index));
            corpus.docs.push(doc.info);
            corpus.feats.push(doc.feat);
            let read = base + k * bands;
            if read != write {
                corpus.keys.copy_within(read..read + bands, write);
            }
            write += bands;
        }
        corpus.keys.truncate(write);
        chunks.recycle(chunk);
        progress.advance(now - last_bytes);
        last_bytes = now;
    }
    Ok(corpus)
}

/// Words of candidate keys per document: the LSH band keys of a `MinHash` signature, or
/// a `SimHash` fingerprint as two words.
fn key_len(config: &Config, banding: lsh::Banding) -> usize {
    match config.method {
        Method::MinHash => banding.bands,
        Method::SimHash => 2,
    }
}

/// Writes a document's candidate keys ([`key_len`] words) from its signature.
fn write_keys(config: &Config, banding: lsh::Banding, sig: &[u32], keys: &mut [u32]) {
    match config.method {
        Method::MinHash => lsh::band_keys(sig, banding, keys),
        Method::SimHash => keys.copy_from_slice(sig),
    }
}

/// A 128-bit hash of a body and its headline: documents with equal keys have equal
/// features and signatures, so a copy takes them from the first of its kind instead of
/// sketching again (a collision of 128-bit hashes is not a practical concern).
fn text_key(text: &str, title: Option<&str>) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(text.as_bytes());
    if let Some(t) = title {
        // 0xff never occurs in UTF-8: the boundary between body and headline is unique.
        h.update(&[0xff]);
        h.update(t.as_bytes());
    }
    h.digest128()
}

/// One record after sketching, before its id is checked against earlier ones.
struct Sketched {
    /// See [`text_key`].
    text_key: u128,
    /// Hash of the id.
    key: u64,
    info: DocInfo,
    lossy: bool,
    bad_date: bool,
    feat: Features,
}

/// The headline of a document for reports: its title, else its first non-blank line
/// cut to 100 characters.
fn report_title(title: Option<String>, text: &str) -> Option<String> {
    if title.is_some() {
        return title;
    }
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    let mut cut: String = line.chars().take(100).collect();
    if cut.len() < line.len() {
        cut.push('…');
    }
    Some(cut)
}

/// Reads chunks on a thread of its own, one ahead of the one being sketched, so that
/// reading overlaps with parsing and sketching. Used chunks go back to the reader for
/// their memory.
struct ChunkReader {
    chunks: std::sync::mpsc::Receiver<Result<(RawChunk, u64)>>,
    spent: std::sync::mpsc::SyncSender<RawChunk>,
}

impl ChunkReader {
    /// Bytes of input per chunk.
    const CHUNK_BYTES: usize = 8 << 20;

    /// Starts reading. The thread stops at the end of the input, after an error, or
    /// when the `ChunkReader` is dropped (at its next chunk).
    fn spawn(mut reader: RecordReader) -> Self {
        let (tx, chunks) = std::sync::mpsc::sync_channel(1);
        let (spent, rx) = std::sync::mpsc::sync_channel::<RawChunk>(2);
        std::thread::spawn(move || {
            loop {
                let reuse = rx.try_recv().unwrap_or_default();
                let res = reader
                    .next_block_into(Self::CHUNK_BYTES, reuse)
                    .map(|c| (c, reader.bytes_read()));
                let last = !matches!(&res, Ok((c, _)) if !c.is_empty());
                if tx.send(res).is_err() || last {
                    return;
                }
            }
        });
        ChunkReader { chunks, spent }
    }

    /// The next chunk (empty at the end) and the bytes read up to its end.
    fn next(&self) -> Result<(RawChunk, u64)> {
        // The reader sends its last chunk or its error before it ends, so a closed
        // channel means that it panicked.
        self.chunks.recv().expect("the reader thread panicked")
    }

    /// Hands a chunk's memory back to the reader.
    fn recycle(&self, chunk: RawChunk) {
        // A full queue or a finished reader: the memory is simply freed.
        let _ = self.spent.try_send(chunk);
    }
}

/// The headline of a document for reports (see [`report_title`]).
fn headline(doc: &Document) -> Option<String> {
    report_title(doc.title.clone(), &doc.text)
}

fn skip(stats: &mut RunStats, e: &Error) {
    stats.skipped_invalid += 1;
    if stats.invalid_examples.len() < 5 {
        stats.invalid_examples.push(e.to_string());
    }
}

/// Settings of the stages after sketching that are not user options.
const MAX_BUCKET: usize = 64;

fn finish(
    corpus: Corpus,
    config: &Config,
    progress: &dyn Progress,
    mut stats: RunStats,
    mut timer: Timer,
    start: Instant,
) -> Result<Clustering> {
    let n = corpus.docs.len();
    let banding = corpus.banding;
    let n32 = u32::try_from(n).map_err(|_| Error::Config("more than 2^32 documents".into()))?;
    // Every stage below sees the documents in an order of their own (by id), never in
    // input order: caps on bucket and posting lengths, the first of a body's copies and
    // ties then depend on the set of documents alone. `order[i]` is the input position of
    // document `i`, `pos` the inverse.
    let (corpus, order) = corpus.into_id_order(key_len(config, banding));
    let mut pos = vec![0u32; n];
    for (i, &d) in order.iter().enumerate() {
        pos[d as usize] = i as u32;
    }

    // Weigh: word statistics and weighted vectors (rewrite tier only).
    progress.start(Stage::Weigh, None);
    // Copies of a text are weighed once, through its first document (`corpus.same`).
    let first = |d: usize| corpus.same[d] as usize == d;
    let term_stats = if config.rewrites {
        let mut copies = vec![0u32; n];
        for &s in &corpus.same {
            copies[s as usize] += 1;
        }
        TermStats::from_counted_features(
            corpus.feats.par_iter().zip(copies).filter(|&(_, c)| c > 0),
        )
    } else {
        TermStats::default()
    };
    let weights: Vec<Weights> = if config.rewrites {
        corpus
            .feats
            .par_iter()
            .enumerate()
            .map(|(d, f)| {
                if first(d) {
                    Weights::new(f, &term_stats)
                } else {
                    Weights::default()
                }
            })
            .collect()
    } else {
        vec![Weights::default(); n]
    };
    let weights_of = |d: u32| &weights[corpus.same[d as usize] as usize];
    progress.finish(Stage::Weigh);
    timer.lap(Stage::Weigh);

    // Candidates. Exact copies are linked to the first of their kind and left out of
    // the indexes, so a story copied a thousand times costs a thousand edges, not a
    // million pairs.
    progress.start(Stage::Candidates, None);
    let mut first_of: KeyMap<u64, u32> = KeyMap::default();
    let mut reps = Vec::new();
    let mut exact_pairs = Vec::new();
    for d in 0..n32 {
        let f = &corpus.feats[d as usize];
        // No words (`exact` 0) is no shingles: an empty signature.
        if f.exact == 0 {
            continue;
        }
        if let Some(&r) = first_of.get(&f.exact) {
            exact_pairs.push((r, d));
        } else {
            first_of.insert(f.exact, d);
            reps.push(d);
        }
    }
    // The signature stage: LSH buckets of MinHash signatures, or fingerprints within
    // `hamming` bits (exact, by block-permutation tables).
    let lsh_pairs = match config.method {
        Method::MinHash => {
            lsh::candidate_pairs_by_keys(&corpus.keys, banding.bands, &reps, MAX_BUCKET)
        }
        Method::SimHash => {
            let fps: Vec<u64> = corpus.keys.par_chunks(2).map(from_words).collect();
            hamming::pairs_within(&fps, &reps, config.hamming)
        }
    };
    stats.lsh_pairs = lsh_pairs.len() as u64;
    let mut pairs = lsh_pairs;
    if config.rewrites {
        let params = KeywordParams::default();
        // Only a body's representative is listed; it reads its features through `same`
        // (the representative need not be the copy whose features were computed).
        let mut kw: Vec<Vec<u32>> = vec![Vec::new(); n];
        let listed: Vec<Vec<u32>> = reps
            .par_iter()
            .map(|&d| {
                let f = &corpus.feats[corpus.same[d as usize] as usize];
                keywords::keywords(f, weights_of(d), &term_stats, params)
            })
            .collect();
        for (&d, k) in reps.iter().zip(listed) {
            kw[d as usize] = k;
        }
        // Rewrites are paired within the rewrite window only: keywords count, and link,
        // the documents near each one in time.
        let slices: Vec<i32> = corpus
            .docs
            .iter()
            .map(|i| keywords::time_slice(i.timestamp, config.rewrite_window_days))
            .collect();
        let kp = keywords::candidate_pairs(&kw, &reps, &slices, params);
        stats.keyword_pairs = kp.len() as u64;
        pairs.extend(kp);
        pairs.par_sort_unstable();
        pairs.dedup();
    }
    stats.verified_pairs = pairs.len() as u64;
    progress.finish(Stage::Candidates);
    timer.lap(Stage::Candidates);

    // Verify.
    progress.start(Stage::Verify, Some(pairs.len() as u64));
    let verifier = Verifier::new(config);
    let view = |d: u32| DocView {
        features: &corpus.feats[corpus.same[d as usize] as usize],
        rarity: Rarity::Weights(weights_of(d)),
        timestamp: corpus.docs[d as usize].timestamp,
    };
    let relate = |a: u32, b: u32| verifier.relate(view(a), view(b)).map(|r| r.0);
    // Each pair verified: an edge, or a pair refused as different stories (kept apart
    // in grouping), or nothing.
    let judge = |&(a, b): &(u32, u32)| match verifier.judge(view(a), view(b)) {
        Judgement::Related(relation, scores) => Some(Either::Left(Edge {
            a,
            b,
            relation,
            scores,
        })),
        Judgement::Apart => Some(Either::Right((a, b))),
        Judgement::Unrelated => None,
    };
    let (mut edges, mut apart): (Vec<Edge>, Vec<group::Apart>) = pairs
        .par_chunks(4096)
        .flat_map_iter(|chunk| {
            progress.advance(chunk.len() as u64);
            chunk.iter().filter_map(judge)
        })
        .partition_map(|x| x);
    if config.rewrites {
        // Documents verified against a same third one are verified against each other.
        let linked: Vec<(u32, u32)> = edges.iter().map(|e| (e.a, e.b)).collect();
        let more = closing::pairs(n, &linked, &pairs);
        stats.verified_pairs += more.len() as u64;
        let (more_edges, more_apart): (Vec<Edge>, Vec<group::Apart>) =
            more.par_iter().filter_map(judge).partition_map(|x| x);
        edges.extend(more_edges);
        apart.extend(more_apart);
    }
    for &(a, b) in &exact_pairs {
        let scores = verifier.score(view(a), view(b));
        edges.push(Edge {
            a,
            b,
            relation: Relation::Exact,
            scores,
        });
    }
    stats.edges = edges.len() as u64;
    progress.finish(Stage::Verify);
    timer.lap(Stage::Verify);

    // Group: a function of the edges and of each document's rank, never of positions.
    progress.start(Stage::Cluster, Some(n as u64));
    let mut related = group::relatedness(n, &edges);
    // A copy of a body counts what its representative counts: the same text is as
    // related to the others whichever copy the indexes hold.
    for &(r, d) in &exact_pairs {
        related[d as usize] = related[r as usize];
    }
    let rank = |d: u32| {
        let info = &corpus.docs[d as usize];
        Rank {
            timestamp: info.timestamp,
            related: related[d as usize],
            hash: corpus.feats[corpus.same[d as usize] as usize].exact,
            id: &info.id,
        }
    };
    let partition = group::cluster(n, &group::links(&edges), &apart, rank);
    drop(apart);
    edges.par_sort_unstable_by_key(|e| (e.a, e.b));
    let find_edge = |a: u32, b: u32| {
        let (a, b) = (a.min(b), a.max(b));
        edges
            .binary_search_by_key(&(a, b), |e| (e.a, e.b))
            .ok()
            .map(|i| &edges[i])
    };
    // Documents by group (one allocation): each group's members are a run.
    let mut by_group: Vec<u32> = (0..n32).collect();
    by_group.par_sort_unstable_by_key(|&d| (partition.group_of[d as usize], d));
    let runs: Vec<&[u32]> = by_group
        .chunk_by(|&x, &y| partition.group_of[x as usize] == partition.group_of[y as usize])
        .filter(|ms| ms.len() >= 2)
        .collect();
    let mut groups: Vec<Group> = runs
        .par_iter()
        .map(|ms| {
            let canon = partition.canonical[partition.group_of[ms[0] as usize] as usize];
            let mut members: Vec<Member> = ms
                .iter()
                .filter(|&&m| m != canon)
                .map(|&m| {
                    let exact = corpus.feats[corpus.same[m as usize] as usize].exact;
                    let (relation, similarity) = if let Some(e) = find_edge(canon, m) {
                        (e.relation, e.similarity())
                    } else if exact != 0
                        && exact == corpus.feats[corpus.same[canon as usize] as usize].exact
                    {
                        // Copies of the canonical's body: nothing to verify.
                        (Relation::Exact, 1.0)
                    } else {
                        let s = verifier.score(view(canon), view(m));
                        let r = relate(canon, m).unwrap_or_else(|| partition.tie(m));
                        (r, relation_similarity(r, &s))
                    };
                    Member {
                        doc: order[m as usize],
                        relation: crate::verify::Role::Member(relation),
                        similarity,
                    }
                })
                .collect();
            // Closest first; ids break ties, so the order is the same in any input order.
            members.sort_by(|x, y| {
                x.relation
                    .cmp(&y.relation)
                    .then(y.similarity.total_cmp(&x.similarity))
                    .then_with(|| {
                        corpus.docs[pos[x.doc as usize] as usize]
                            .id
                            .cmp(&corpus.docs[pos[y.doc as usize] as usize].id)
                    })
            });
            members.insert(
                0,
                Member {
                    doc: order[canon as usize],
                    relation: crate::verify::Role::Canonical,
                    similarity: 1.0,
                },
            );
            Group {
                id: corpus.docs[canon as usize].id.clone(),
                canonical: order[canon as usize],
                members,
            }
        })
        .collect();
    // Largest first, then by the canonical's id: no input position decides.
    groups.sort_by(|x, y| {
        y.members
            .len()
            .cmp(&x.members.len())
            .then_with(|| x.id.cmp(&y.id))
    });
    let mut placement = vec![None; n];
    for (gi, g) in groups.iter().enumerate() {
        for m in &g.members {
            placement[m.doc as usize] = Some((gi as u32, *m));
        }
    }
    stats.groups = groups.len() as u64;
    stats.docs_in_groups = groups.iter().map(|g| g.members.len() as u64).sum();
    progress.finish(Stage::Cluster);
    timer.lap(Stage::Cluster);
    stats.seconds = timer.seconds;
    stats.elapsed = start.elapsed().as_secs_f64();
    stats.peak_rss_bytes = peak_rss_bytes();
    stats.bytes_per_doc = stats
        .peak_rss_bytes
        .filter(|_| stats.documents > 0)
        .map(|b| b as f64 / stats.documents as f64);
    // Back to input order.
    let mut docs = corpus.docs;
    permute(&pos, |a, b| docs.swap(a, b));
    for e in &mut edges {
        let (a, b) = (order[e.a as usize], order[e.b as usize]);
        (e.a, e.b) = (a.min(b), a.max(b));
    }
    edges.par_sort_unstable_by_key(|e| (e.a, e.b));
    Ok(Clustering {
        docs,
        groups,
        placement,
        edges,
        stats,
    })
}

#[cfg(test)]
mod tests {
    use super::permute;

    #[test]
    fn permute_takes_each_element_from_its_order() {
        let mut x = 99u64;
        for n in [0usize, 1, 2, 7, 50] {
            // A permutation drawn from a seed.
            let mut order: Vec<u32> = (0..n as u32).collect();
            for i in (1..n).rev() {
                x = crate::sketch::minhash::mix64(x);
                order.swap(i, (x % (i as u64 + 1)) as usize);
            }
            let old: Vec<u32> = (0..n as u32).map(|i| i * 10).collect();
            let mut v = old.clone();
            permute(&order, |a, b| v.swap(a, b));
            let want: Vec<u32> = order.iter().map(|&o| old[o as usize]).collect();
            assert_eq!(v, want);
        }
    }
}
