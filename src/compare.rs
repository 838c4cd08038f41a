//! Two documents side by side: the decision on the pair with every score and test that
//! made it ([`Verifier::explain`]), in words a person can follow, and the passages the
//! two texts share.
//!
//! Word rarity decides the rewrite score. A run learns it from the corpus it groups;
//! two documents alone are too few to tell a rare word from a common one. So
//! [`compare`] takes word statistics: those of a corpus ([`corpus_documents`], which
//! reads the two documents out of it as well), or else [`reference_stats`]: the two
//! documents plus the three bundled seed articles, a small reference of news English in
//! which function words occur everywhere and topical words seldom.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::config::Config;
use crate::document::{Document, format_date};
use crate::error::{Error, Result};
use crate::features::term_key;
use crate::features::{Features, Featurizer, Scratch};
use crate::io::read::{
    FieldNames, InputFile, InputKind, RawRef, RecordReader, expand_inputs, parse_raw,
};
use crate::normalize::{normalize, words};
use crate::shingle::ShingleKind;
use crate::shingle::hash_word;
use crate::verify::{DocView, Explanation, Gate, Rarity, Relation, Rule, Verifier};
use crate::weights::{KeyMap, TermStats};

/// The bundled seed articles (`data/seeds`), the reference of word rarity without a
/// corpus: (id, text).
pub const SEEDS: [(&str, &str); 3] = [
    (
        "000_674dd88529f57a27",
        include_str!("../data/seeds/000_674dd88529f57a27.txt"),
    ),
    (
        "001_e8efe33f63bedb2f",
        include_str!("../data/seeds/001_e8efe33f63bedb2f.txt"),
    ),
    (
        "003_3248d27a2e2ad0ae",
        include_str!("../data/seeds/003_3248d27a2e2ad0ae.txt"),
    ),
];

/// Where the word rarity of a comparison came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "source")]
pub enum RaritySource {
    /// The two documents and the bundled seeds ([`reference_stats`]).
    Reference {
        /// Documents counted.
        documents: u32,
    },
    /// A corpus ([`corpus_documents`]).
    Corpus {
        /// The corpus as given.
        path: PathBuf,
        /// Documents counted.
        documents: u32,
    },
}

fn featurize(config: &Config, doc: &Document) -> Features {
    let mut sig = vec![0u32; config.signature_len()];
    Featurizer::new(config).featurize(doc, &mut Scratch::default(), &mut sig)
}

/// Word statistics without a corpus: the two documents plus the bundled [`SEEDS`], each
/// text counted once (a seed that is one of the two is not counted again). On the seeds
/// this gives the statistics of `neardup cluster data/seeds`, so that `compare` and
/// `cluster` agree there.
#[must_use]
pub fn reference_stats(a: &Document, b: &Document, config: &Config) -> TermStats {
    let (fa, fb) = (featurize(config, a), featurize(config, b));
    let mut stats = TermStats::default();
    stats.add(&fa);
    stats.add(&fb);
    for (id, text) in SEEDS {
        let f = featurize(config, &Document::new(id, text));
        if f.exact != fa.exact && f.exact != fb.exact {
            stats.add(&f);
        }
    }
    stats
}

/// Reads one document from a file: a plain-text file (the id is the file name without
/// extension), or a file of one JSON record (`.json`, or `.jsonl` with one line).
///
/// # Errors
/// [`Error::NotFound`], [`Error::Io`]; a malformed record as [`Error::InvalidJson`] or
/// [`Error::InvalidRecord`]; [`Error::NotOneRecord`] for a JSON Lines file of more
/// records.
pub fn read_document(path: &Path, fields: &FieldNames) -> Result<Document> {
    let bytes = std::fs::read(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::NotFound {
            path: path.to_owned(),
        },
        _ => Error::io(path, e),
    })?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    let name = name.unwrap_or_default();
    let ext = Path::new(&name)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let jsonl = ext.as_deref() == Some("jsonl");
    let json = jsonl || ext.as_deref() == Some("json");
    let kind = if json {
        InputKind::Jsonl
    } else {
        let id = Path::new(&name).with_extension("");
        InputKind::Text {
            id: id.to_string_lossy().into_owned(),
        }
    };
    let mut record: &[u8] = &bytes;
    let mut line = 1;
    if jsonl {
        let lines: Vec<(usize, &[u8])> = bytes
            .split(|&b| b == b'\n')
            .enumerate()
            .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
            .collect();
        if lines.len() != 1 {
            return Err(Error::NotOneRecord {
                path: path.to_owned(),
                found: lines.len(),
            });
        }
        (line, record) = (lines[0].0 as u64 + 1, lines[0].1);
    }
    let files = [InputFile {
        path: path.to_owned(),
        kind,
    }];
    let raw = RawRef {
        file: 0,
        line,
        bytes: record,
    };
    let mut buf = String::new();
    let p = parse_raw(raw, &files, fields, &mut buf)?;
    Ok(Document {
        id: p.id,
        text: p.text.to_owned(),
        title: p.title,
        timestamp: p.timestamp,
    })
}

/// Reads a corpus (a JSON Lines file, a directory, as `cluster` reads them) for the word
/// statistics of all its documents, as a run over it learns them, and the documents
/// with ids `ids` (the first record of each id).
///
/// # Errors
/// Reading errors; malformed records unless `skip_invalid`; [`Error::IdNotFound`] for
/// an id the corpus lacks.
pub fn corpus_documents(
    corpus: &Path,
    fields: &FieldNames,
    skip_invalid: bool,
    config: &Config,
    ids: [&str; 2],
) -> Result<(TermStats, [Document; 2])> {
    let files = expand_inputs(&[corpus.to_owned()])?;
    let featurizer = Featurizer::new(config);
    let mut reader = RecordReader::new(files.clone());
    let mut stats = TermStats::default();
    let mut found: [Option<Document>; 2] = [None, None];
    loop {
        let chunk = reader.next_block(8 << 20)?;
        if chunk.is_empty() {
            break;
        }
        let parsed: Vec<Result<(Features, Option<Document>)>> = (0..chunk.len())
            .into_par_iter()
            .map_init(
                || {
                    (
                        Scratch::default(),
                        String::new(),
                        vec![0u32; config.signature_len()],
                    )
                },
                |(s, buf, sig), i| {
                    let p = parse_raw(chunk.get(i), &files, fields, buf)?;
                    let f = featurizer.featurize_text(p.text, p.title.as_deref(), s, sig);
                    let wanted = ids.contains(&p.id.as_str()).then(|| Document {
                        text: p.text.to_owned(),
                        id: p.id,
                        title: p.title,
                        timestamp: p.timestamp,
                    });
                    Ok((f, wanted))
                },
            )
            .collect();
        for res in parsed {
            let (f, doc) = match res {
                Ok(x) => x,
                Err(e) if skip_invalid && e.is_bad_input() => continue,
                Err(e) => return Err(e),
            };
            stats.add(&f);
            if let Some(d) = doc {
                for (k, id) in ids.iter().enumerate() {
                    if found[k].is_none() && d.id == *id {
                        found[k] = Some(d.clone());
                    }
                }
            }
        }
    }
    let [a, b] = found;
    let missing = |id: &str| Error::IdNotFound {
        path: corpus.to_owned(),
        id: id.to_owned(),
    };
    Ok((
        stats,
        [
            a.ok_or_else(|| missing(ids[0]))?,
            b.ok_or_else(|| missing(ids[1]))?,
        ],
    ))
}

/// A passage the two texts share: byte ranges of each text and its length in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Passage {
    /// Start of the passage in the first text (bytes).
    pub a_start: usize,
    /// End of the passage in the first text (bytes, exclusive).
    pub a_end: usize,
    /// Start of the passage in the second text.
    pub b_start: usize,
    /// End of the passage in the second text.
    pub b_end: usize,
    /// Words in the passage.
    pub words: usize,
}

/// A highlighted stretch of one text: bytes `start..end` belong to passage `passage`
/// (an index into [`Alignment::passages`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Start (bytes).
    pub start: usize,
    /// End (bytes, exclusive).
    pub end: usize,
    /// The passage.
    pub passage: usize,
}

/// The shared passages of two texts and where each text shows them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Alignment {
    /// Passages in the order of the first text.
    pub passages: Vec<Passage>,
    /// Highlights of the first text, in order, not overlapping.
    pub a: Vec<Span>,
    /// Highlights of the second text, in order, not overlapping (a passage of the
    /// first text repeated in the second is shown once there, at its first match).
    pub b: Vec<Span>,
    /// Words of each text.
    pub words: (usize, usize),
}

/// The words of a text as (normalised hash, start, end) in bytes of the text.
fn word_positions(text: &str) -> Vec<(u64, usize, usize)> {
    use unicode_segmentation::UnicodeSegmentation;
    text.unicode_word_indices()
        .map(|(i, w)| {
            let n = normalize(w);
            (xxhash_rust::xxh3::xxh3_64(n.as_bytes()), i, i + w.len())
        })
        .collect()
}

/// Finds the passages of at least `min_words` consecutive words (compared once
/// normalised: case, Unicode form and punctuation aside) that two texts share. Greedy
/// in the first text's order: at each word, the longest match in the second text (among
/// at most 64 places its first words occur there) becomes a passage if it is long
/// enough.
#[must_use]
pub fn align(a: &str, b: &str, min_words: usize) -> Alignment {
    const MAX_PLACES: usize = 64;
    let k = min_words.max(1);
    let (wa, wb) = (word_positions(a), word_positions(b));
    let key = |w: &[(u64, usize, usize)]| w.iter().fold(0u64, |h, x| h.rotate_left(7) ^ x.0);
    let mut places: KeyMap<u64, Vec<u32>> = KeyMap::default();
    for (j, win) in wb.windows(k).enumerate() {
        let v = places.entry(key(win)).or_default();
        if v.len() < MAX_PLACES {
            v.push(j as u32);
        }
    }
    let mut passages = Vec::new();
    let mut runs = Vec::new();
    let mut i = 0;
    while i + k <= wa.len() {
        let mut best = (0, 0);
        for &j in places
            .get(&key(&wa[i..i + k]))
            .map_or(&[][..], Vec::as_slice)
        {
            let j = j as usize;
            let len = wa[i..]
                .iter()
                .zip(&wb[j..])
                .take_while(|(x, y)| x.0 == y.0)
                .count();
            if len > best.1 {
                best = (j, len);
            }
        }
        let (j, len) = best;
        if len >= k {
            passages.push(Passage {
                a_start: wa[i].1,
                a_end: wa[i + len - 1].2,
                b_start: wb[j].1,
                b_end: wb[j + len - 1].2,
                words: len,
            });
            runs.push((i, j, len));
            i += len;
        } else {
            i += 1;
        }
    }
    // Each word of the second text belongs to the first passage that covers it.
    let mut label: Vec<Option<usize>> = vec![None; wb.len()];
    for (p, &(_, j, len)) in runs.iter().enumerate() {
        for l in &mut label[j..j + len] {
            l.get_or_insert(p);
        }
    }
    let a_spans = passages
        .iter()
        .enumerate()
        .map(|(p, x)| Span {
            start: x.a_start,
            end: x.a_end,
            passage: p,
        })
        .collect();
    let mut b_spans: Vec<Span> = Vec::new();
    for (w, l) in wb.iter().zip(&label) {
        let Some(p) = *l else { continue };
        match b_spans.last_mut() {
            Some(s) if s.passage == p && s.end <= w.1 && b[s.end..w.1].trim().len() <= 3 => {
                s.end = w.2;
            }
            _ => b_spans.push(Span {
                start: w.1,
                end: w.2,
                passage: p,
            }),
        }
    }
    Alignment {
        passages,
        a: a_spans,
        b: b_spans,
        words: (wa.len(), wb.len()),
    }
}

/// The passage length (in words) shown as shared under `config`: the shingle length for
/// word shingles (at least 2), else 3.
#[must_use]
pub fn passage_words(config: &Config) -> usize {
    match config.shingle.kind {
        ShingleKind::Word => config.shingle.k.max(2),
        ShingleKind::Char => 3,
    }
}

/// The rarest words of a pair: those both texts use and those only one uses, rarest
/// first, with their rarity weight (the idf the rewrite score weighs them by).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RareWords {
    /// In both texts.
    pub shared: Vec<(String, f32)>,
    /// Only in the first.
    pub only_a: Vec<(String, f32)>,
    /// Only in the second.
    pub only_b: Vec<(String, f32)>,
}

/// Words listed per kind in [`RareWords`].
const RARE_LISTED: usize = 12;

/// The distinct normalised body words of `text`: term key, word, occurrences.
fn distinct_words(text: &str, seed: u64) -> Vec<(u32, String, u32)> {
    let norm = normalize(text);
    let mut v: Vec<(u32, String, u32)> = words(&norm)
        .map(|w| (term_key(hash_word(w, seed)), w.to_owned(), 1))
        .collect();
    v.sort_unstable();
    let mut out: Vec<(u32, String, u32)> = Vec::with_capacity(v.len());
    for x in v {
        match out.last_mut() {
            Some(last) if last.0 == x.0 => last.2 += 1,
            _ => out.push(x),
        }
    }
    out
}

/// The rarest words of two texts under `stats` (see [`RareWords`]); among words of one
/// rarity, those the texts repeat most come first.
#[must_use]
pub fn rare_words(a: &str, b: &str, config: &Config, stats: &TermStats) -> RareWords {
    let (wa, wb) = (
        distinct_words(a, config.seed),
        distinct_words(b, config.seed),
    );
    let count = |v: &[(u32, String, u32)], k: u32| {
        v.binary_search_by_key(&k, |x| x.0).map_or(0, |i| v[i].2)
    };
    let top = |v: Vec<(&(u32, String, u32), u32)>| {
        let mut v: Vec<(String, f32, u32)> = v
            .into_iter()
            .map(|((k, w, _), n)| (w.clone(), (stats.idf(*k) * 1000.0).round() / 1000.0, n))
            .collect();
        v.sort_by(|x, y| {
            y.1.total_cmp(&x.1)
                .then_with(|| y.2.cmp(&x.2))
                .then_with(|| x.0.cmp(&y.0))
        });
        v.into_iter()
            .take(RARE_LISTED)
            .map(|x| (x.0, x.1))
            .collect()
    };
    RareWords {
        shared: top(wa
            .iter()
            .filter_map(|x| {
                let n = count(&wb, x.0);
                (n > 0).then_some((x, x.2 + n))
            })
            .collect()),
        only_a: top(wa
            .iter()
            .filter(|x| count(&wb, x.0) == 0)
            .map(|x| (x, x.2))
            .collect()),
        only_b: top(wb
            .iter()
            .filter(|x| count(&wa, x.0) == 0)
            .map(|x| (x, x.2))
            .collect()),
    }
}

/// The comparison of two documents.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The first document.
    pub a: Document,
    /// The second document.
    pub b: Document,
    /// The decision and its reasons.
    pub explanation: Explanation,
    /// The shared passages.
    pub alignment: Alignment,
    /// The rarest words they share and do not (empty without the rewrite tier).
    pub rare: RareWords,
    /// Where word rarity came from.
    pub rarity: RaritySource,
    /// The settings the pair was held to.
    pub config: Config,
}

/// Compares two documents under `config`, with word rarity from `stats`.
#[must_use]
pub fn compare(
    a: Document,
    b: Document,
    config: &Config,
    stats: &TermStats,
    rarity: RaritySource,
) -> Comparison {
    let (fa, fb) = (featurize(config, &a), featurize(config, &b));
    let view = |f, d: &Document| DocView {
        features: f,
        rarity: Rarity::Stats(stats),
        timestamp: d.timestamp,
    };
    let explanation = Verifier::new(config).explain(view(&fa, &a), view(&fb, &b));
    let alignment = align(&a.text, &b.text, passage_words(config));
    let rare = if config.rewrites {
        rare_words(&a.text, &b.text, config, stats)
    } else {
        RareWords::default()
    };
    Comparison {
        a,
        b,
        explanation,
        alignment,
        rare,
        rarity,
        config: config.clone(),
    }
}

/// Shared passages listed by the text report (all are marked in the texts).
const LISTED: usize = 12;

/// A share as a percentage for a person.
fn pct(x: f64) -> String {
    format!("{:.0}%", 100.0 * x)
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// One row of the table of tests.
struct Row {
    what: String,
    value: String,
    held_to: String,
    result: &'static str,
}

impl Comparison {
    fn phrases(&self) -> String {
        match self.config.shingle.kind {
            ShingleKind::Word => format!("{}-word phrases", self.config.shingle.k),
            ShingleKind::Char => format!("{}-character pieces", self.config.shingle.k),
        }
    }

    /// The verdict in a few words.
    #[must_use]
    pub fn verdict(&self) -> &'static str {
        match self.explanation.relation {
            Some(Relation::Exact) => "one story: exact copy",
            Some(Relation::NearDuplicate) => "one story: near-duplicate (a copy with changes)",
            Some(Relation::Rewrite) => "one story: rewrite (the same story in other words)",
            None => "not one story",
        }
    }

    /// Why, in words a person can follow: the rule that gave the verdict and its figures.
    #[must_use]
    pub fn reason(&self) -> String {
        let e = &self.explanation;
        let s = &e.scores;
        let c = &self.config;
        let j = pct(f64::from(s.jaccard));
        let phrases = self.phrases();
        let value = |g: Gate| e.check(g).and_then(|c| c.value).unwrap_or(0.0);
        let held = |g: Gate| e.check(g).and_then(|c| c.threshold).unwrap_or(0.0);
        let rewrite = format!(
            "rewrite score {:.3} (rare words shared {:.3} + {phrases} shared {:.3})",
            s.rewrite_score(),
            s.content,
            s.jaccard
        );
        match (e.rule, e.relation.is_some()) {
            (Rule::ExactCopy, _) => {
                "The two texts are the same once letter case, punctuation and spacing are set aside."
                    .to_owned()
            }
            (Rule::CopiesOnly, true) => format!(
                "They share {j} of their {phrases}, at least the {} asked (copies only: no rewrite, headline or figures tests).",
                pct(c.threshold)
            ),
            (Rule::CopiesOnly, false) => format!(
                "They share {j} of their {phrases}, less than the {} a copy needs (copies only: rewrites are not looked for).",
                pct(c.threshold)
            ),
            (Rule::DifferentHeadlines, _) => {
                let (side, g) = if e.check(Gate::HeadlineBest).is_some_and(|c| !c.passed) {
                    ("better-covered", Gate::HeadlineBest)
                } else {
                    ("worse-covered", Gate::HeadlineWorst)
                };
                format!(
                    "The headlines do not cover each other: the {side} headline has {} of its rare words in the other text, at least {} needed. Headlines naming different things mean different stories, however alike the bodies.",
                    pct(value(g)),
                    pct(held(g)),
                )
            }
            (Rule::CloseCopy, _) => format!(
                "{j} of their {phrases} are the same ({} makes a close copy): one text is a copy of the other with small changes, whatever the headlines and figures.",
                pct(held(Gate::CloseCopy))
            ),
            (Rule::Copy, _) => {
                let by = if f64::from(s.jaccard) >= c.threshold {
                    format!("they share {j} of their {phrases} (a copy from {})", pct(c.threshold))
                } else {
                    format!(
                        "{} of the shorter text's {phrases} are in the longer (an excerpt from {})",
                        pct(f64::from(s.containment)),
                        pct(c.containment)
                    )
                };
                format!("A copy: {by}, and their headlines and figures agree.")
            }
            (Rule::HeadlinesTooLoose, _) => format!(
                "Not a copy ({j} of their {phrases} shared), and the headlines agree too little for a rewrite: {} of the better-covered headline's rare words are in the other text, {} needed.",
                pct(value(Gate::HeadlinesAgree)),
                pct(held(Gate::HeadlinesAgree))
            ),
            (Rule::OutsideWindow, _) => {
                let what = if e.check(Gate::Containment).is_some_and(|c| c.passed)
                    && e.check(Gate::ExcerptLength).is_some_and(|c| c.passed)
                {
                    format!(
                        "An excerpt ({} of the shorter text's {phrases} in the longer) but not a copy ({j} shared)",
                        pct(f64::from(s.containment))
                    )
                } else {
                    format!("Not a copy ({j} of their {phrases} shared)")
                };
                format!(
                    "{what}, and published {:.1} days apart: a story is rewritten or cut within {} days, while the same template recurs days or weeks later.",
                    value(Gate::DateWindow),
                    c.rewrite_window_days
                )
            }
            (Rule::FiguresDiffer, _) => format!(
                "Not a copy ({j} of their {phrases} shared), and they report different figures: {} shared where {:.0} are needed (half of the smaller set). Another item, or another day.",
                e.figures.shared,
                held(Gate::Figures).ceil()
            ),
            (Rule::RewriteScore, true) => format!(
                "Not a copy ({j} of their {phrases} shared), but the same story in other words: the {rewrite} reaches {:.2}, and nothing sets them apart ({}; {}; {}).",
                c.rewrite_threshold,
                match s.title {
                    Some((_, hi)) => format!("headlines agree, {} covered", pct(f64::from(hi))),
                    None => "headlines not compared: one or both have none".to_owned(),
                },
                if e.check(Gate::Figures).is_some_and(|c| c.threshold.is_some()) {
                    format!("{} figures shared", e.figures.shared)
                } else {
                    "too few figures to compare".to_owned()
                },
                match s.days_apart {
                    Some(d) => format!("{d:.1} days apart"),
                    None => "dates unknown".to_owned(),
                }
            ),
            (Rule::RewriteScore, false) => format!(
                "Not a copy ({j} of their {phrases} shared), and too few of their rare words in common for a rewrite: the {rewrite} stays below {:.2}.",
                c.rewrite_threshold
            ),
        }
    }

    fn rows(&self) -> Vec<Row> {
        let e = &self.explanation;
        let s = &e.scores;
        let result = |g: Gate| match e.check(g) {
            Some(c) if c.threshold.is_none() && g != Gate::DateWindow => "n/a",
            Some(c) if c.passed => "pass",
            Some(_) => "FAIL",
            None => "-",
        };
        let num = |x: f64| format!("{x:.3}");
        let opt = |x: Option<f32>| x.map_or_else(|| "-".to_owned(), |v| num(v.into()));
        let at_least = |what: &str, g: Gate| {
            e.check(g)
                .and_then(|c| c.threshold)
                .map_or_else(String::new, |t| format!("{what}at least {t:.2}"))
        };
        let threshold = |t: f64| format!("{t:.2}");
        let c = &self.config;
        let mut rows = vec![
            Row {
                what: "same text once normalised".into(),
                value: if e.check(Gate::SameBody).is_some_and(|c| c.passed) {
                    "yes".into()
                } else {
                    "no".into()
                },
                held_to: "exact copy".into(),
                result: result(Gate::SameBody),
            },
            Row {
                what: format!("{} shared (shingle Jaccard)", self.phrases()),
                value: num(s.jaccard.into()),
                held_to: format!("copy: at least {}", threshold(c.threshold)),
                result: result(Gate::Jaccard),
            },
            Row {
                what: "  same, for a close copy".into(),
                value: num(s.jaccard.into()),
                held_to: at_least("close copy: ", Gate::CloseCopy),
                result: result(Gate::CloseCopy),
            },
            Row {
                what: "shorter text found in the longer (containment)".into(),
                value: num(s.containment.into()),
                held_to: format!("excerpt: at least {}", threshold(c.containment)),
                result: result(Gate::Containment),
            },
        ];
        if !c.rewrites {
            rows.truncate(2);
            return rows;
        }
        rows.extend([
            Row {
                what: "headline of A found in B".into(),
                value: opt(e.headline_a_in_b),
                held_to: if s.title.is_none() {
                    "needs a headline on both".into()
                } else {
                    String::new()
                },
                result: "",
            },
            Row {
                what: "headline of B found in A".into(),
                value: opt(e.headline_b_in_a),
                held_to: String::new(),
                result: "",
            },
        ]);
        if let Some((lo, hi)) = s.title {
            rows.extend([
                Row {
                    what: "  better of the two".into(),
                    value: num(hi.into()),
                    held_to: at_least("same story: ", Gate::HeadlineBest),
                    result: result(Gate::HeadlineBest),
                },
                Row {
                    what: "  worse of the two".into(),
                    value: num(lo.into()),
                    held_to: at_least("same story: ", Gate::HeadlineWorst),
                    result: result(Gate::HeadlineWorst),
                },
                Row {
                    what: "  better, for a rewrite".into(),
                    value: num(hi.into()),
                    held_to: at_least("headlines agree: ", Gate::HeadlinesAgree),
                    result: result(Gate::HeadlinesAgree),
                },
            ]);
        }
        rows.extend([
            Row {
                what: "figures shared".into(),
                value: format!(
                    "{} (A {}, B {})",
                    e.figures.shared, e.figures.a, e.figures.b
                ),
                held_to: e
                    .check(Gate::Figures)
                    .and_then(|c| c.threshold)
                    .map_or_else(
                        || "compared from 5 each".into(),
                        |t| format!("at least {}", t.ceil()),
                    ),
                result: result(Gate::Figures),
            },
            Row {
                what: "days apart".into(),
                value: s
                    .days_apart
                    .map_or_else(|| "undated".into(), |d| format!("{d:.1}")),
                held_to: if c.rewrite_window_days == 0 {
                    "no limit".into()
                } else {
                    format!("rewrite, excerpt: at most {}", c.rewrite_window_days)
                },
                result: result(Gate::DateWindow),
            },
            Row {
                what: "rare words shared (rarity-weighted Jaccard)".into(),
                value: num(s.content.into()),
                held_to: String::new(),
                result: "",
            },
            Row {
                what: "rewrite score (rare words + phrases)".into(),
                value: num(s.rewrite_score().into()),
                held_to: format!("rewrite: at least {}", threshold(c.rewrite_threshold)),
                result: result(Gate::RewriteScore),
            },
        ]);
        rows
    }

    fn describe(d: &Document, words: usize) -> String {
        let date = d
            .timestamp
            .map_or_else(|| "undated".to_owned(), format_date);
        let head = d
            .title
            .clone()
            .or_else(|| {
                d.text
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .map(str::to_owned)
            })
            .unwrap_or_default();
        format!("{} · {words} words · {date}\n     {}", d.id, cut(&head, 90))
    }

    /// Writes the comparison for a person: the verdict and why, the table of scores and
    /// tests, the shared passages, then both texts with the passages marked: in colour
    /// when `color`, else as `[[n …]]` (n numbers the passage in both texts).
    ///
    /// # Errors
    /// Whatever writing to `out` returns.
    pub fn write_text(&self, out: &mut dyn Write, color: bool) -> io::Result<()> {
        let e = &self.explanation;
        let al = &self.alignment;
        writeln!(out, "A  {}", Self::describe(&self.a, al.words.0))?;
        writeln!(out, "B  {}", Self::describe(&self.b, al.words.1))?;
        writeln!(out)?;
        writeln!(out, "verdict  {}", self.verdict())?;
        writeln!(out, "rule     {}", rule_name(e.rule))?;
        for line in wrap(&self.reason(), 88) {
            writeln!(out, "         {line}")?;
        }
        writeln!(out)?;
        let rows = self.rows();
        let w0 = rows
            .iter()
            .map(|r| r.what.chars().count())
            .max()
            .unwrap_or(0);
        let w1 = rows
            .iter()
            .map(|r| r.value.chars().count())
            .max()
            .unwrap_or(0)
            .max(5);
        let w2 = rows
            .iter()
            .map(|r| r.held_to.chars().count())
            .max()
            .unwrap_or(0);
        writeln!(
            out,
            "{:<w0$}  {:>w1$}  {:<w2$}  result",
            "test", "score", "held to"
        )?;
        for r in &rows {
            let line = format!(
                "{:<w0$}  {:>w1$}  {:<w2$}  {}",
                r.what, r.value, r.held_to, r.result
            );
            writeln!(out, "{}", line.trim_end())?;
        }
        writeln!(out)?;
        writeln!(
            out,
            "result: pass or FAIL against what the score is held to; n/a: the test does not apply;\n        -: not needed for this verdict"
        )?;
        if self.config.rewrites {
            writeln!(
                out,
                "rare words shared: the share of the two texts' words that both use, each word weighed by\n                   its rarity, so that names and places count more than \"the\" or \"said\""
            )?;
        }
        if self.config.rewrites {
            let list = |v: &[(String, f32)]| {
                if v.is_empty() {
                    "-".to_owned()
                } else {
                    v.iter()
                        .map(|x| x.0.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            };
            writeln!(out, "rarest words in both   {}", list(&self.rare.shared))?;
            writeln!(out, "rarest only in A       {}", list(&self.rare.only_a))?;
            writeln!(out, "rarest only in B       {}", list(&self.rare.only_b))?;
        }
        writeln!(out, "{}", self.rarity_note())?;
        writeln!(out)?;
        let shared_a: usize = al.passages.iter().map(|p| p.words).sum();
        writeln!(
            out,
            "shared passages: {} ({shared_a} of A's {} words), at least {} words each, numbered in A's order",
            al.passages.len(),
            al.words.0,
            passage_words(&self.config)
        )?;
        for (n, p) in al.passages.iter().enumerate().take(LISTED) {
            writeln!(
                out,
                "  {:>2}. {:>3} words  \"{}\"",
                n + 1,
                p.words,
                cut(&self.a.text[p.a_start..p.a_end], 76)
            )?;
        }
        if al.passages.len() > LISTED {
            writeln!(out, "      and {} more", al.passages.len() - LISTED)?;
        }
        for (name, d, spans) in [("A", &self.a, &al.a), ("B", &self.b, &al.b)] {
            writeln!(out)?;
            writeln!(out, "── {name}: {} ──", d.id)?;
            write_marked(out, &d.text, spans, color)?;
            writeln!(out)?;
        }
        Ok(())
    }

    fn rarity_note(&self) -> String {
        match &self.rarity {
            RaritySource::Reference { documents } => format!(
                "word rarity: counted over {documents} documents, the two texts and the bundled seed articles (a small reference;\n             pass --corpus FILE ID1 ID2 to weigh words as a run over that crawl does)"
            ),
            RaritySource::Corpus { path, documents } => format!(
                "word rarity: counted over the {documents} documents of {}, as a run over it counts it",
                path.display()
            ),
        }
    }

    /// Writes the comparison as one JSON document (passages as byte ranges of each
    /// text).
    ///
    /// # Errors
    /// Whatever writing to `out` returns.
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        #[derive(Serialize)]
        struct Doc<'a> {
            id: &'a str,
            title: Option<&'a str>,
            date: Option<String>,
            words: usize,
            figures: usize,
        }
        #[derive(Serialize)]
        struct JCheck {
            gate: Gate,
            value: Option<f64>,
            threshold: Option<f64>,
            passed: bool,
        }
        #[derive(Serialize)]
        struct JScores {
            jaccard: f64,
            containment: f64,
            content: f64,
            rewrite_score: f64,
            headline_a_in_b: Option<f64>,
            headline_b_in_a: Option<f64>,
            figures_shared: usize,
            days_apart: Option<f64>,
        }
        #[derive(Serialize)]
        struct JPassage<'a> {
            #[serde(flatten)]
            at: Passage,
            text: &'a str,
        }
        #[derive(Serialize)]
        struct Top<'a> {
            a: Doc<'a>,
            b: Doc<'a>,
            relation: Option<Relation>,
            verdict: &'a str,
            rule: Rule,
            reason: String,
            scores: JScores,
            checks: Vec<JCheck>,
            settings: &'a Config,
            rarity: &'a RaritySource,
            rare_words: &'a RareWords,
            passages: Vec<JPassage<'a>>,
        }
        fn doc(d: &Document, words: usize, figures: usize) -> Doc<'_> {
            Doc {
                id: &d.id,
                title: d.title.as_deref(),
                date: d.timestamp.map(format_date),
                words,
                figures,
            }
        }
        let e = &self.explanation;
        let s = &e.scores;
        let r = |x: f32| round4(f64::from(x));
        let top = Top {
            a: doc(&self.a, self.alignment.words.0, e.figures.a),
            b: doc(&self.b, self.alignment.words.1, e.figures.b),
            relation: e.relation,
            verdict: self.verdict(),
            rule: e.rule,
            reason: self.reason(),
            scores: JScores {
                jaccard: r(s.jaccard),
                containment: r(s.containment),
                content: r(s.content),
                rewrite_score: r(s.rewrite_score()),
                headline_a_in_b: e.headline_a_in_b.map(r),
                headline_b_in_a: e.headline_b_in_a.map(r),
                figures_shared: e.figures.shared,
                days_apart: s.days_apart.map(r),
            },
            checks: e
                .checks
                .iter()
                .map(|c| JCheck {
                    gate: c.gate,
                    value: c.value.map(round4),
                    threshold: c.threshold.map(round4),
                    passed: c.passed,
                })
                .collect(),
            settings: &self.config,
            rarity: &self.rarity,
            rare_words: &self.rare,
            passages: self
                .alignment
                .passages
                .iter()
                .map(|p| JPassage {
                    at: *p,
                    text: &self.a.text[p.a_start..p.a_end],
                })
                .collect(),
        };
        serde_json::to_writer_pretty(&mut *out, &top)?;
        out.write_all(b"\n")
    }
}

/// The rule's name in the output (as in JSON).
fn rule_name(rule: Rule) -> &'static str {
    match rule {
        Rule::ExactCopy => "exact_copy: same text",
        Rule::CopiesOnly => "copies_only: shingle Jaccard alone",
        Rule::DifferentHeadlines => "different_headlines: the headlines name different stories",
        Rule::CloseCopy => "close_copy: most phrases the same",
        Rule::Copy => "copy: phrases shared, headlines and figures agree",
        Rule::HeadlinesTooLoose => "headlines_too_loose: not a copy, headlines agree too little",
        Rule::OutsideWindow => "outside_window: not a copy, too far apart in time",
        Rule::FiguresDiffer => "figures_differ: not a copy, other figures",
        Rule::RewriteScore => "rewrite_score: not a copy, rare words decide",
    }
}

/// `text` with the spans marked: ANSI reverse video with the passage number when
/// `color`, else `[[n …]]`.
fn write_marked(out: &mut dyn Write, text: &str, spans: &[Span], color: bool) -> io::Result<()> {
    let mut at = 0;
    for s in spans {
        out.write_all(&text.as_bytes()[at..s.start])?;
        let inner = &text[s.start..s.end];
        if color {
            // Alternate two colours so that neighbouring passages stay apart.
            let bg = if s.passage % 2 == 0 { 43 } else { 46 };
            write!(
                out,
                "\x1b[1m{}\x1b[0m\x1b[30;{bg}m{inner}\x1b[0m",
                s.passage + 1
            )?;
        } else {
            write!(out, "[[{} {inner}]]", s.passage + 1)?;
        }
        at = s.end;
    }
    out.write_all(&text.as_bytes()[at..])
}

/// `s` on one line, cut to `max` characters.
fn cut(s: &str, max: usize) -> String {
    let flat = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let c: String = flat.chars().take(max - 1).collect();
        format!("{c}…")
    }
}

/// `s` in lines of at most `width` characters, broken at spaces.
fn wrap(s: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for w in s.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + w.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rarest_words_first() {
        let c = Config::default();
        let docs = [
            "the harbour closed the ferries",
            "the storm closed the harbour",
            "the market rose",
            "the bank said",
        ];
        let mut stats = TermStats::default();
        for d in docs {
            stats.add(&featurize(&c, &Document::new("x", d)));
        }
        let r = rare_words(docs[0], docs[1], &c, &stats);
        let names = |v: &[(String, f32)]| v.iter().map(|x| x.0.clone()).collect::<Vec<_>>();
        // "harbour" and "closed" are in two documents, "the" in all four.
        assert_eq!(names(&r.shared), ["closed", "harbour", "the"]);
        assert!(r.shared[0].1 > r.shared[2].1);
        assert_eq!(names(&r.only_a), ["ferries"]);
        assert_eq!(names(&r.only_b), ["storm"]);
    }

    #[test]
    fn passages_are_shared_runs() {
        let a = "The cat sat on the mat today. Nothing else happened here at all.";
        let b = "Yesterday THE CAT sat on the mat; nothing else happened.";
        let al = align(a, b, 3);
        let texts: Vec<&str> = al.passages.iter().map(|p| &a[p.a_start..p.a_end]).collect();
        assert_eq!(texts, ["The cat sat on the mat", "Nothing else happened"]);
        assert_eq!(&b[al.b[0].start..al.b[0].end], "THE CAT sat on the mat");
        assert_eq!(al.b.len(), 2);
        assert_eq!(al.words, (13, 10));
        // Nothing shared, or too short a run: no passage.
        assert!(align(a, "dogs bark loudly", 3).passages.is_empty());
        assert!(align("a b", "a b", 3).passages.is_empty());
    }
}
