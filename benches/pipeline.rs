//! Stage benchmarks on a seeded synthetic corpus of made-up words (divan).
//! Run: `cargo bench --bench pipeline`. Covers normalise+shingle, featurize (with
//! `MinHash`), `MinHash` alone, LSH candidates (from signatures and from band keys),
//! clustering and the whole run; `benches/index.rs` covers LSH insert and query.

use divan::{Bencher, black_box};
use neardup::features::{Featurizer, Scratch};
use neardup::lsh::{band_keys, candidate_pairs, candidate_pairs_by_keys};
use neardup::sketch::minhash::MinHasher;
use neardup::{Config, Document, cluster_documents};

fn main() {
    divan::main();
}

/// A seeded linear congruential generator (31-bit draws), for the made-up texts.
fn lcg(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed;
    move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    }
}

/// `n` documents of about 300 words; every tenth repeats an earlier one with an edit.
fn corpus(n: usize) -> Vec<Document> {
    let mut next = lcg(0x1234_5678);
    let vocab: Vec<String> = (0..20_000).map(|i| format!("w{i:x}")).collect();
    let mut docs: Vec<Document> = Vec::with_capacity(n);
    for i in 0..n {
        let text = if i % 10 == 9 {
            let src = &docs[(next() as usize) % i].text;
            format!("{src} extra words")
        } else {
            (0..300)
                .map(|_| vocab[(next() as usize) % vocab.len()].as_str())
                .collect::<Vec<_>>()
                .join(" ")
        };
        docs.push(Document::new(i.to_string(), text));
    }
    docs
}

#[divan::bench]
fn featurize(b: Bencher) {
    let docs = corpus(200);
    let f = Featurizer::new(&Config::default());
    let mut sig = vec![0u32; 128];
    let mut s = Scratch::default();
    b.counter(divan::counter::BytesCount::new(
        docs.iter().map(|d| d.text.len()).sum::<usize>(),
    ))
    .bench_local(|| {
        for d in &docs {
            black_box(f.featurize(d, &mut s, &mut sig));
        }
    });
}

/// Reading and parsing JSON Lines from a file (block reads, borrowed or buffered text).
#[divan::bench]
fn read_parse(b: Bencher) {
    use neardup::io::read::{FieldNames, InputFile, InputKind, RecordReader, parse_raw};
    use std::io::Write;
    let docs = corpus(2000);
    let mut file = tempfile::NamedTempFile::new().unwrap();
    for d in &docs {
        let line = serde_json::json!({"id": d.id, "text": format!("{}\n{}", d.id, d.text)});
        writeln!(file, "{line}").unwrap();
    }
    let files = vec![InputFile {
        path: file.path().to_path_buf(),
        kind: InputKind::Jsonl,
    }];
    let fields = FieldNames::default();
    let size = std::fs::metadata(file.path()).unwrap().len();
    b.counter(divan::counter::BytesCount::new(size))
        .bench_local(|| {
            let mut reader = RecordReader::new(files.clone());
            let mut buf = String::new();
            let mut total = 0;
            loop {
                let chunk = reader.next_block(1 << 20).unwrap();
                if chunk.is_empty() {
                    break;
                }
                for raw in chunk.iter() {
                    total += parse_raw(raw, &files, &fields, &mut buf)
                        .unwrap()
                        .text
                        .len();
                }
            }
            black_box(total)
        });
}

#[divan::bench(args = [128, 256])]
fn minhash(b: Bencher, perms: usize) {
    let h = MinHasher::new(perms, 7);
    let shingles: Vec<u64> = (0..500u64)
        .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .collect();
    let mut out = vec![0u32; perms];
    b.bench_local(|| h.sketch_into(black_box(&shingles), &mut out));
}

#[divan::bench]
fn lsh_candidates(b: Bencher) {
    let docs = corpus(2000);
    let config = Config::default();
    let f = Featurizer::new(&config);
    let mut sigs = vec![0u32; docs.len() * 128];
    let mut s = Scratch::default();
    for (d, sig) in docs.iter().zip(sigs.chunks_mut(128)) {
        f.featurize(d, &mut s, sig);
    }
    let ids: Vec<u32> = (0..docs.len() as u32).collect();
    b.bench_local(|| candidate_pairs(&sigs, 128, &ids, config.banding(), 64));
}

/// The candidate stage of the batch run: buckets of 32-bit band keys (computed while
/// sketching there, so outside the timed part here).
#[divan::bench]
fn lsh_candidates_by_keys(b: Bencher) {
    let docs = corpus(2000);
    let config = Config::default();
    let banding = config.banding();
    let f = Featurizer::new(&config);
    let mut sig = vec![0u32; 128];
    let mut keys = vec![0u32; docs.len() * banding.bands];
    let mut s = Scratch::default();
    for (d, k) in docs.iter().zip(keys.chunks_mut(banding.bands)) {
        f.featurize(d, &mut s, &mut sig);
        band_keys(&sig, banding, k);
    }
    let ids: Vec<u32> = (0..docs.len() as u32).collect();
    b.bench_local(|| candidate_pairs_by_keys(black_box(&keys), banding.bands, &ids, 64));
}

/// Normalising, word splitting and word-3 shingling alone (no `MinHash`).
#[divan::bench]
fn normalize_shingle(b: Bencher) {
    use neardup::normalize::{normalize_into, words};
    use neardup::shingle::{hash_word, word_shingles};
    let docs = corpus(200);
    let (mut norm, mut hashes, mut shingles) = (String::new(), Vec::new(), Vec::new());
    b.counter(divan::counter::BytesCount::new(
        docs.iter().map(|d| d.text.len()).sum::<usize>(),
    ))
    .bench_local(|| {
        for d in &docs {
            normalize_into(&d.text, &mut norm);
            hashes.clear();
            hashes.extend(words(&norm).map(|w| hash_word(w, 0)));
            shingles.clear();
            word_shingles(&hashes, 3, 0, &mut shingles);
            black_box(&shingles);
        }
    });
}

/// Normalising and splitting into words, by script: ASCII text; Latin text with
/// typographic quotes, dashes and accented letters (most web news); Arabic-script text
/// (Urdu news). Made-up words of about 300 per document, as [`corpus`].
#[divan::bench(args = ["ascii", "typographic", "arabic"])]
fn normalize_words(b: Bencher, script: &str) {
    use neardup::normalize::{normalize_into, words};
    let mut draw = lcg(0x8765_4321);
    let mut next = move || draw() as usize;
    let letters: Vec<char> = match script {
        "arabic" => ('\u{0627}'..='\u{064A}')
            .chain(['\u{06CC}', '\u{06A9}', '\u{06BE}'])
            .collect(),
        _ => ('a'..='z').collect(),
    };
    let texts: Vec<String> = (0..200)
        .map(|_| {
            let mut text = String::new();
            for i in 0..300 {
                let word: String = (0..3 + next() % 5)
                    .map(|_| letters[next() % letters.len()])
                    .collect();
                let (before, after) = match (script, i % 25) {
                    ("typographic", 0) => ("\u{201c}", "\u{201d}"),
                    ("typographic", 7) => ("caf\u{e9} \u{2014} ", "\u{2019}s"),
                    _ => ("", ""),
                };
                for part in [before, word.as_str(), after, " "] {
                    text.push_str(part);
                }
            }
            text
        })
        .collect();
    let mut norm = String::new();
    b.counter(divan::counter::BytesCount::new(
        texts.iter().map(String::len).sum::<usize>(),
    ))
    .bench_local(|| {
        for t in &texts {
            normalize_into(t, &mut norm);
            black_box(words(&norm).count());
        }
    });
}

/// Grouping verified edges (copy components, then pivots in rank order), with rewrites
/// and without (`--no-rewrites`: connected components).
#[divan::bench(args = [true, false])]
fn clustering(b: Bencher, rewrites: bool) {
    use neardup::group::{self, Rank};
    let docs = corpus(2000);
    let config = Config {
        rewrites,
        ..Config::default()
    };
    let edges = cluster_documents(&docs, &config).unwrap().edges;
    let links = group::links(&edges);
    b.bench_local(|| {
        let related = group::relatedness(docs.len(), &edges);
        let rank = |d: u32| Rank {
            timestamp: None,
            related: related[d as usize],
            hash: 0,
            id: &docs[d as usize].id,
        };
        black_box(
            group::cluster(docs.len(), &links, &[], rank)
                .canonical
                .len(),
        )
    });
}

/// The whole batch run, with rewrites (the default) and without.
#[divan::bench(args = [true, false], sample_count = 10)]
fn end_to_end(b: Bencher, rewrites: bool) {
    let docs = corpus(2000);
    let config = Config {
        rewrites,
        ..Config::default()
    };
    b.bench_local(|| cluster_documents(black_box(&docs), &config).unwrap());
}
