//! Stage benchmarks on a seeded synthetic corpus of made-up words (divan).
//! Run: `cargo bench --bench pipeline`.

use divan::{Bencher, black_box};
use neardup::features::{Featurizer, Scratch};
use neardup::lsh::candidate_pairs;
use neardup::sketch::minhash::MinHasher;
use neardup::{Config, Document, cluster_documents};

fn main() {
    divan::main();
}

/// `n` documents of about 300 words; every tenth repeats an earlier one with an edit.
fn corpus(n: usize) -> Vec<Document> {
    let mut state = 0x1234_5678_u64;
    let mut next = move || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        state >> 33
    };
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

#[divan::bench(sample_count = 10)]
fn end_to_end(b: Bencher) {
    let docs = corpus(2000);
    let config = Config::default();
    b.bench_local(|| cluster_documents(black_box(&docs), &config).unwrap());
}
