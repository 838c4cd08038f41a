//! Mutation fuzzing on a stable toolchain (no `cargo fuzz`: it needs nightly). Each
//! target takes the seeds of `tests/fuzz-corpus/` (and inputs made from them), mutates
//! them (bit flips, byte changes, insertions of JSON and line-break tokens, deletions,
//! duplications, truncations, splices), and runs the code under test on each, for a
//! budget of `NEARDUP_FUZZ_SECS` seconds per target (default 1, so that the test suite
//! stays quick; `benches/fuzz.sh` runs longer). Errors are expected; a panic is a
//! finding: the input is saved under `target/fuzz-crashes/` and the test fails.
#![allow(clippy::print_stderr)]

use std::io::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use neardup::io::read::{FieldNames, RecordReader, expand_inputs, parse_raw};
use neardup::{Config, Document, Index};

use crate::common::Rng;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-corpus")
}

/// Seeds: the corpus files whose name ends with one of `exts`.
fn seeds(exts: &[&str]) -> Vec<Vec<u8>> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            exts.iter().any(|x| n.ends_with(x))
        })
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    out.sort();
    assert!(!out.is_empty(), "seeds for {exts:?}");
    out.into_iter().map(|(_, b)| b).collect()
}

fn budget() -> Duration {
    let secs = std::env::var("NEARDUP_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(1.0);
    Duration::from_secs_f64(secs)
}

const TOKENS: &[&[u8]] = &[
    b"\n",
    b"\r\n",
    b"\r",
    b"\"",
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\\",
    b"\\u",
    b"\\ud83d",
    b"\xEF\xBB\xBF",
    b"\xFF",
    b"\x00",
    b"null",
    b"1e999",
    b"-0",
    b"\"id\":",
    b"\"text\":",
    b"\"date\":\"9999-12-31\"",
    b"\xCC\x81",
    b"\xD8\xA7",
];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], base: &[u8]) -> Vec<u8> {
    let mut b = base.to_vec();
    for _ in 0..=rng.below(4) {
        let n = b.len();
        match rng.below(8) {
            0 if n > 0 => {
                let i = rng.below(n);
                b[i] ^= 1 << rng.below(8);
            }
            1 if n > 0 => {
                let i = rng.below(n);
                b[i] = rng.next() as u8;
            }
            2 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                let i = rng.below(n + 1);
                b.splice(i..i, t.iter().copied());
            }
            3 if n > 0 => {
                let i = rng.below(n);
                let j = (i + 1 + rng.below(16)).min(n);
                b.drain(i..j);
            }
            4 if n > 0 => {
                let i = rng.below(n);
                let j = (i + 1 + rng.below(64)).min(n);
                let piece = b[i..j].to_vec();
                let at = rng.below(n + 1);
                b.splice(at..at, piece);
            }
            5 if n > 0 => b.truncate(rng.below(n)),
            6 => {
                let other = &seeds[rng.below(seeds.len())];
                let i = rng.below(n + 1);
                let j = rng.below(other.len() + 1);
                b.truncate(i);
                b.extend_from_slice(&other[j..]);
            }
            _ => {
                let i = rng.below(n + 1);
                let k = rng.below(8);
                let junk: Vec<u8> = (0..k).map(|_| rng.next() as u8).collect();
                b.splice(i..i, junk);
            }
        }
    }
    b
}

/// Runs `target` on mutations of `seeds` for the budget; returns the executions.
fn fuzz(name: &str, seed: u64, seeds: &[Vec<u8>], mut target: impl FnMut(&[u8])) -> u64 {
    let mut rng = Rng::new(seed);
    let start = Instant::now();
    let budget = budget();
    let mut execs = 0u64;
    // The seeds themselves first.
    let mut queue: Vec<Vec<u8>> = seeds.to_vec();
    while start.elapsed() < budget || !queue.is_empty() {
        let input = queue.pop().unwrap_or_else(|| {
            let base = &seeds[rng.below(seeds.len())];
            mutate(&mut rng, seeds, base)
        });
        if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
            let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/fuzz-crashes");
            std::fs::create_dir_all(&dir).unwrap();
            let file = dir.join(format!(
                "{name}-{:016x}.bin",
                xxhash_rust::xxh3::xxh3_64(&input)
            ));
            std::fs::write(&file, &input).unwrap();
            panic!("fuzz {name}: a panic; the input is in {}", file.display());
        }
        execs += 1;
    }
    eprintln!(
        "fuzz {name}: {execs} executions in {:.1} s, no panic",
        start.elapsed().as_secs_f64()
    );
    execs
}

/// Reads `path` as the reader would and parses every record.
fn read_all(path: &Path, salvage: bool) {
    let Ok(files) = expand_inputs(&[path.to_path_buf()]) else {
        return;
    };
    let mut reader = RecordReader::new(files.clone())
        .max_record_bytes(1 << 16)
        .salvage(salvage);
    let fields = FieldNames::default();
    let mut buf = String::new();
    for _ in 0..10_000 {
        let Ok(mut chunk) = reader.next_block(512) else {
            return;
        };
        let _ = chunk.take_damage();
        if chunk.is_empty() {
            return;
        }
        for i in 0..chunk.len() {
            // A terminator is line-break bytes only; a record holds no line break.
            assert!(
                chunk
                    .terminator(i)
                    .iter()
                    .all(|b| matches!(b, b'\r' | b'\n'))
            );
            let raw = chunk.get(i);
            assert!(!raw.bytes.contains(&b'\n') || path.extension().is_some_and(|x| x == "txt"));
            if let Ok(p) = parse_raw(raw, &files, &fields, &mut buf) {
                // Unescaping or lossy decoding makes at most 3 bytes of one.
                assert!(p.text.len() <= 3 * raw.bytes.len());
            }
        }
    }
    panic!("the reader did not end");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

#[test]
fn fuzz_readers() {
    let d = tempfile::tempdir().unwrap();
    for (name, exts, file, seed) in [
        ("jsonl", &[".jsonl"][..], "in.jsonl", 1),
        ("json", &[".json"][..], "in.json", 2),
        ("txt", &[".txt"][..], "in.txt", 3),
    ] {
        let path = d.path().join(file);
        fuzz(name, seed, &seeds(exts), |b| {
            std::fs::write(&path, b).unwrap();
            read_all(&path, seed % 2 == 0);
        });
    }
    // Gzip: the compressed bytes are mutated (truncations, flips), read with and
    // without salvaging.
    let gz: Vec<Vec<u8>> = seeds(&[".jsonl", ".json"])
        .iter()
        .map(|s| gzip(s))
        .collect();
    for (name, file) in [("jsonl.gz", "in.jsonl.gz"), ("json.gz", "in.json.gz")] {
        let path = d.path().join(file);
        let mut flip = false;
        fuzz(name, 4, &gz, |b| {
            std::fs::write(&path, b).unwrap();
            flip = !flip;
            read_all(&path, flip);
        });
    }
}

#[test]
fn fuzz_normaliser() {
    let config = Config::default();
    let featurizer = neardup::features::Featurizer::new(&config);
    let mut scratch = neardup::features::Scratch::default();
    let mut sig = vec![0u32; config.signature_len()];
    fuzz("normalise", 5, &seeds(&[".jsonl", ".txt", ".json"]), |b| {
        let text = String::from_utf8_lossy(b);
        let n = neardup::normalize::normalize(&text);
        // Normalising is idempotent on what it produces.
        let again = neardup::normalize::normalize(&n);
        let words = neardup::normalize::words(&n).count();
        assert_eq!(neardup::normalize::words(&again).count(), words);
        featurizer.featurize_text(&text, Some(&text), &mut scratch, &mut sig);
    });
}

/// An index of a few documents, saved, as the seed of the loader's target.
fn saved_index(dir: &Path) -> Vec<u8> {
    let index = Index::new(Config::default()).unwrap();
    for (i, t) in [
        "the council approved the budget after a long debate on monday",
        "the council approved the budget after a long debate on monday night",
        "a storm closed the coast road and schools stayed shut",
    ]
    .iter()
    .enumerate()
    {
        index
            .insert(Document {
                id: format!("d{i}"),
                text: (*t).to_owned(),
                title: None,
                timestamp: Some(1_790_000_000 + i as i64),
            })
            .unwrap();
    }
    let p = dir.join("seed.ndx");
    index.save(&p).unwrap();
    std::fs::read(p).unwrap()
}

/// What the index target does with bytes: load them as they are, and with a valid
/// checksum (so that the decoder behind the checksum is reached), and use the index
/// when it loads.
fn exercise_index(bytes: &[u8], dir: &Path) {
    let mut fixed = bytes.to_vec();
    if fixed.len() > 8 {
        let n = fixed.len() - 8;
        let sum = xxhash_rust::xxh3::xxh3_64(&fixed[..n]);
        fixed[n..].copy_from_slice(&sum.to_le_bytes());
    }
    let path = dir.join("in.ndx");
    for b in [bytes, &fixed[..]] {
        std::fs::write(&path, b).unwrap();
        if let Ok(index) = Index::load(&path) {
            let doc = Document {
                id: "new".into(),
                text: "the council approved the budget after a debate".into(),
                title: None,
                timestamp: Some(1_790_000_100),
            };
            let _ = index.query(&doc);
            let _ = index.insert(doc);
            let _ = index.evict_before(1_790_000_001);
            let _ = index.save(dir.join("out.ndx"));
        }
    }
}

/// The inputs the fuzzer found a panic with (`tests/fuzz-corpus/crashes/`): each is now
/// an error or a usable index.
#[test]
fn fuzz_findings_stay_fixed() {
    let d = tempfile::tempdir().unwrap();
    let mut n = 0;
    for e in std::fs::read_dir(corpus_dir().join("crashes"))
        .unwrap()
        .flatten()
    {
        let p = e.path();
        if p.extension().is_some_and(|x| x == "ndx") {
            exercise_index(&std::fs::read(&p).unwrap(), d.path());
            n += 1;
        }
    }
    assert!(n > 0);
}

#[test]
fn fuzz_index_loader() {
    let d = tempfile::tempdir().unwrap();
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut seeds = vec![saved_index(d.path())];
    for f in ["index-v1.ndx", "index-v2.ndx"] {
        if let Ok(b) = std::fs::read(data.join(f)) {
            seeds.push(b);
        }
    }
    fuzz("index", 6, &seeds, |b| exercise_index(b, d.path()));
}

#[test]
fn fuzz_state_loader() {
    use neardup::nightly::{NightOptions, read_manifest, run_night};
    let d = tempfile::tempdir().unwrap();
    let p = d.path();
    std::fs::write(
        p.join("n1.jsonl"),
        "{\"id\":\"a\",\"text\":\"the council approved the budget after a long debate\"}\n",
    )
    .unwrap();
    std::fs::write(
        p.join("n2.jsonl"),
        "{\"id\":\"b\",\"text\":\"the council approved the budget after a long debate on monday\"}\n",
    )
    .unwrap();
    let opts = |state: &Path, out: &Path, date: &str| NightOptions {
        state: state.to_owned(),
        out: out.to_owned(),
        window_days: 3,
        date: neardup::parse_date(date),
        min_relation: neardup::Relation::Rewrite,
        read: neardup::ReadOptions::default(),
        force_date: true,
    };
    let config = Config::default();
    let good = p.join("good");
    run_night(
        &[p.join("n1.jsonl")],
        &config,
        &opts(&good, &p.join("o"), "2026-11-20"),
        &neardup::NoProgress,
    )
    .unwrap();
    let index = std::fs::read(good.join("night-000001.ndx")).unwrap();
    let mut manifests = seeds(&["manifest.json"]);
    manifests.push(std::fs::read(good.join("manifest.json")).unwrap());
    let state = p.join("state");
    let mut k = 0u32;
    fuzz("state", 7, &manifests, |b| {
        let _ = std::fs::remove_dir_all(&state);
        std::fs::create_dir_all(&state).unwrap();
        std::fs::write(state.join("manifest.json"), b).unwrap();
        std::fs::write(state.join("night-000001.ndx"), &index).unwrap();
        let _ = read_manifest(&state);
        // A full night on one state in eight (a night costs milliseconds).
        k += 1;
        if k.is_multiple_of(8) {
            let _ = run_night(
                &[p.join("n2.jsonl")],
                &config,
                &opts(&state, &p.join("o2"), "2026-11-21"),
                &neardup::NoProgress,
            );
        }
    });
}
