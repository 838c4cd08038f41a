//! Fixtures made here: a small deterministic corpus of made-up stories with copies.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A tiny deterministic generator (`SplitMix64`).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// A made-up word from syllables, so fixtures contain no real text.
pub fn word(rng: &mut Rng) -> String {
    const SYL: [&str; 16] = [
        "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ba", "de", "fi", "go", "hu", "ja", "pe",
        "zu",
    ];
    let n = 2 + rng.below(3);
    (0..n).map(|_| SYL[rng.below(SYL.len())]).collect()
}

/// A story of `sentences` sentences of made-up words.
pub fn story(rng: &mut Rng, sentences: usize) -> String {
    let mut s = String::new();
    for _ in 0..sentences {
        let n = 8 + rng.below(10);
        let words: Vec<String> = (0..n).map(|_| word(rng)).collect();
        write!(s, "{}. ", words.join(" ")).unwrap();
    }
    s.trim_end().to_owned()
}

/// JSON Lines of `stories` stories, every third with an exact copy and a copy under
/// boilerplate. Ids `s{i}`, `s{i}-copy`, `s{i}-wrap`.
pub fn corpus(stories: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::new();
    for i in 0..stories {
        let text = story(&mut rng, 6);
        let line = |id: String, text: &str| {
            serde_json::json!({"id": id, "text": text, "title": format!("headline {i}")})
                .to_string()
        };
        writeln!(out, "{}", line(format!("s{i}"), &text)).unwrap();
        if i % 3 == 0 {
            writeln!(out, "{}", line(format!("s{i}-copy"), &text)).unwrap();
            let wrapped = format!("Metro Courier staff. {text} All rights reserved.");
            writeln!(out, "{}", line(format!("s{i}-wrap"), &wrapped)).unwrap();
        }
    }
    out
}

/// Path of the bundled seeds.
pub fn seeds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data/seeds")
}

/// Runs the binary with `args` in `dir`.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_neardup"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the binary runs")
}

/// Standard output as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Standard error as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Every record of `files` listed as kept, with the digest of its bytes as read.
pub fn every_record(files: &[neardup::io::read::InputFile]) -> neardup::io::read::KeptRecords {
    use neardup::io::read::{KeptRecords, RecordReader, record_digest};
    let mut kept = KeptRecords::new();
    let mut reader = RecordReader::new(files.to_vec());
    loop {
        let chunk = reader.next_block(1 << 20).unwrap();
        if chunk.is_empty() {
            return kept;
        }
        for r in chunk.iter() {
            kept.insert((r.file, r.line), record_digest(r.bytes));
        }
    }
}

/// `copy_records` of `kept` from `files` into memory: the number copied and the bytes.
pub fn copy_kept(
    files: &[neardup::io::read::InputFile],
    kept: &neardup::io::read::KeptRecords,
) -> neardup::Result<(u64, Vec<u8>)> {
    let reader = neardup::io::read::RecordReader::new(files.to_vec());
    let mut out = Vec::new();
    let n = neardup::io::read::copy_records(reader, kept, &mut out, Path::new("o"))?;
    Ok((n, out))
}

/// The group id and canonical id of a held document, as a pair to compare at once.
pub fn group_of(index: &neardup::Index, id: &str) -> Option<(Option<String>, String)> {
    index.placement(id).map(|p| (p.group, p.canonical))
}
