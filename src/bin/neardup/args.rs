//! Command-line arguments (clap), kept apart from the library's types.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use neardup::{Banding, Config, Method, Relation, Shingle};

/// Find copies and rewrites of news stories and group them into syndication groups.
///
/// neardup normalises and shingles each document, computes `MinHash` signatures, finds
/// candidate pairs with LSH (copies) and a rare-word index (rewrites), scores every
/// candidate, and groups documents without chaining weak links: the same set of documents
/// gives the same groups in any order. Each group has a canonical member: the earliest
/// published, then the one most related to the others, then a content hash.
#[derive(Debug, Parser)]
#[command(name = "neardup", version, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the syndication groups of a corpus.
    ///
    /// Examples:
    ///   neardup cluster data/seeds
    ///   neardup cluster crawl.jsonl.gz --format jsonl -o groups.jsonl
    ///   neardup cluster crawl.jsonl --no-rewrites --threshold 0.8
    #[command(verbatim_doc_comment)]
    Cluster(ClusterArgs),
    /// Score the groups against a gold file (pairwise precision/recall/F1, ARI,
    /// B-cubed F1, per-label merge rates), optionally across a sweep of one setting.
    ///
    /// The gold file is JSON Lines with id, text, title?, date?, cluster (gold group or
    /// null) and optionally `pair_of` + label (a labelled pair). The figures equal those
    /// of shared/eval/score.py on the same predictions.
    ///
    /// Examples:
    ///   neardup eval --gold clough-dev.jsonl
    ///   neardup eval --gold counter-dev.jsonl --sweep rewrite-threshold=0.1:0.5:0.02
    ///   neardup eval --gold clough-dev.jsonl --method simhash --sweep hamming=3:12:1
    ///   neardup eval --gold g.jsonl --corpus c.jsonl --format json
    #[command(verbatim_doc_comment)]
    Eval(EvalArgs),
    /// Keep one copy of each story: write every input record except non-canonical
    /// group members, unchanged, in input order.
    ///
    /// Examples:
    ///   neardup dedup crawl.jsonl -o kept.jsonl --groups groups.jsonl
    ///   neardup dedup crawl.jsonl -o kept.jsonl --min-relation `near_duplicate`
    #[command(verbatim_doc_comment)]
    Dedup(DedupArgs),
    /// Run one night of a nightly dedup job: tonight's articles against each other and
    /// against the last nights' stories, with the state carried in --state.
    ///
    /// Writes into --out: kept.jsonl (the deduplicated records, unchanged), groups.jsonl
    /// (per input document: id, group, canonical, relation, similarity, and whether the
    /// canonical came from an earlier night), report.txt (as `cluster`), report.html (as
    /// `cluster --format html`) and summary.json (counts, seconds per stage, documents/s,
    /// peak memory).
    ///
    /// A night's state is committed only when complete: a run killed at any moment leaves
    /// the previous state usable. Running the last night again (same inputs) recomputes
    /// it from the state before it and gives the same outputs; inputs of an earlier
    /// night are refused. Pass the same similarity options every night (the state
    /// remembers them and refuses others).
    ///
    /// Examples:
    ///   neardup nightly --state state/ --out out/2026-11-21 crawl-2026-11-21.jsonl
    ///   neardup nightly --state state/ --out out/today --window-days 7 --date 2026-11-22 day/
    #[command(verbatim_doc_comment)]
    Nightly(NightlyArgs),
    /// Explain why two documents are one story or not: the relation, every score beside
    /// the threshold it was held to, the rule that decided, then both texts with their
    /// shared passages marked.
    ///
    /// Word rarity (which weighs the rewrite score) is counted, without --corpus, over
    /// the two texts plus the three bundled seed articles: a small reference, so pass
    /// --corpus with the crawl the two came from to weigh words as a run over it does.
    ///
    /// Examples:
    ///   neardup compare a.txt b.txt
    ///   neardup compare a.json b.json --format json
    ///   neardup compare --corpus crawl.jsonl 1234 5678
    #[command(verbatim_doc_comment)]
    Compare(CompareArgs),
}

/// Arguments of `compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The first document: a file (.txt, or .json/.jsonl holding one record), or with
    /// --corpus an id.
    #[arg(value_name = "A")]
    pub a: String,
    /// The second document, as A.
    #[arg(value_name = "B")]
    pub b: String,
    /// Read A and B by id from this corpus (JSON Lines or a directory) and count word
    /// rarity over all its documents.
    #[arg(long, value_name = "FILE")]
    pub corpus: Option<PathBuf>,
    /// Output format: text (for a person) or json.
    #[arg(long, value_enum, default_value_t = EvalFormat::Text)]
    pub format: EvalFormat,
    /// Colour the shared passages: auto (when writing to a terminal and `NO_COLOR` is
    /// unset), always, never (marks them [[n ...]]).
    #[arg(long, value_enum, default_value_t = ColorArg::Auto)]
    pub color: ColorArg,
    #[command(flatten)]
    pub input: InputOpts,
    #[command(flatten)]
    pub sim: SimilarityOpts,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorArg {
    /// On a terminal, unless `NO_COLOR` is set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Arguments of `nightly`.
#[derive(Debug, Args)]
pub struct NightlyArgs {
    /// The state directory: the last nights' documents and groups (created on the first
    /// night).
    #[arg(long, value_name = "DIR")]
    pub state: PathBuf,
    /// Where tonight's outputs go (created when missing; files there are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Days of documents the state keeps, counted back from the night's date; older
    /// ones leave it after the night (their groups keep their ids).
    #[arg(long, default_value_t = 3, value_name = "DAYS")]
    pub window_days: u32,
    /// The night's date, YYYY-MM-DD (default: today, UTC). Undated documents take it.
    #[arg(long, value_name = "DATE", value_parser = parse_day)]
    pub date: Option<i64>,
    /// Leave out of kept.jsonl the members related to their canonical at least this
    /// closely: exact, `near_duplicate`, or rewrite (every non-canonical member).
    #[arg(long, value_name = "RELATION", default_value = "rewrite", value_parser = parse_relation)]
    pub min_relation: Relation,
    /// Accept a --date earlier than the last night's, or more than --window-days after
    /// it (both refused otherwise: a mistyped date would drain or rewind the state).
    #[arg(long)]
    pub force_date: bool,
    #[command(flatten)]
    pub common: Common,
}

fn parse_day(s: &str) -> Result<i64, String> {
    neardup::parse_date(s).ok_or_else(|| format!("{s:?} is not a date (YYYY-MM-DD)"))
}

/// Arguments of `cluster`.
#[derive(Debug, Args)]
pub struct ClusterArgs {
    #[command(flatten)]
    pub common: Common,
    /// Output format: text (report for a person), json (groups for programs), jsonl or
    /// csv (one row per input document: id, group, canonical, relation, similarity), html
    /// (a page to browse: the texts shown are read back from the inputs).
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Write to FILE instead of standard output (written whole or not at all).
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub out: OutputOpts,
}

/// What an output path may be besides a regular file.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Output")]
pub struct OutputOpts {
    /// When an output path is a symbolic link, write to the file it points to (refused
    /// otherwise: the link would be replaced by a file).
    #[arg(long)]
    pub follow_output_links: bool,
    /// When an output path is an existing FIFO or character device, write straight into
    /// it, not atomically (refused otherwise: it would be replaced by a file).
    #[arg(long)]
    pub direct_output: bool,
}

impl OutputOpts {
    /// The library's output policy.
    pub fn policy(&self) -> neardup::io::atomic::OutputPolicy {
        neardup::io::atomic::OutputPolicy {
            follow_links: self.follow_output_links,
            direct: self.direct_output,
        }
    }
}

/// Arguments of `eval`.
#[derive(Debug, Args)]
pub struct EvalArgs {
    /// The gold file (JSON Lines: id, cluster, and optionally `pair_of` + label).
    #[arg(long, value_name = "FILE")]
    pub gold: PathBuf,
    /// Read the documents from this file instead of the gold file (when the gold file
    /// holds labels only).
    #[arg(long, value_name = "FILE")]
    pub corpus: Option<PathBuf>,
    /// Run once per value of one setting and print a table: KNOB=START:END:STEP, with
    /// KNOB one of threshold, rewrite-threshold, containment, rewrite-window, perms,
    /// hamming (with --method simhash).
    #[arg(long, value_name = "KNOB=START:END:STEP")]
    pub sweep: Option<String>,
    /// Output format: text (a table) or json.
    #[arg(long, value_enum, default_value_t = EvalFormat::Text)]
    pub format: EvalFormat,
    #[command(flatten)]
    pub input: InputOpts,
    #[command(flatten)]
    pub sim: SimilarityOpts,
    #[command(flatten)]
    pub run: RunOpts,
}

/// Output formats of `eval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EvalFormat {
    /// Tables for a person.
    Text,
    /// JSON (the keys of score.py).
    Json,
}

/// Arguments of `dedup`.
#[derive(Debug, Args)]
pub struct DedupArgs {
    #[command(flatten)]
    pub common: Common,
    /// Where to write the kept records (JSON Lines; written whole or not at all).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Also write one line per input document with its group (as `cluster --format jsonl`).
    #[arg(long, value_name = "FILE")]
    pub groups: Option<PathBuf>,
    /// What `-o` holds: the kept records as read (JSON Lines lines, or WARC records byte
    /// for byte, with their request and metadata records), or `jsonl`: one line per kept
    /// document with its group columns and, for WARC input, the extracted `url`,
    /// `title`, `date` and `text`.
    #[arg(long, value_name = "FORMAT", default_value = "same")]
    pub format: KeptFormat,
    /// Drop members related to their canonical at least this closely: `exact` drops only
    /// verbatim copies, `near_duplicate` copies with small changes too, `rewrite` (the
    /// default) every non-canonical member.
    #[arg(long, value_name = "RELATION", default_value = "rewrite", value_parser = parse_relation)]
    pub min_relation: Relation,
    #[command(flatten)]
    pub out: OutputOpts,
}

fn parse_relation(s: &str) -> Result<Relation, String> {
    s.parse().map_err(|e: neardup::Error| e.to_string())
}

/// Options shared by the subcommands that read inputs.
#[derive(Debug, Clone, Args)]
pub struct Common {
    /// Inputs: JSON Lines files (.jsonl, .jsonl.gz), JSON files (.json, .json.gz: an
    /// array of records or one record), WARC and WET files (.warc, .warc.gz, .wet,
    /// .warc.wet.gz: one document per HTML 200 response or conversion record), plain-text
    /// files (one document each; id = file name without extension), directories (every
    /// .txt, .jsonl, .jsonl.gz, .json, .json.gz, .warc, .warc.gz, .wet and .wet.gz below,
    /// extensions in any case, in path order), or - for JSON Lines on standard input.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
    #[command(flatten)]
    pub input: InputOpts,
    #[command(flatten)]
    pub sim: SimilarityOpts,
    #[command(flatten)]
    pub run: RunOpts,
}

/// How two documents are compared.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Similarity")]
pub struct SimilarityOpts {
    /// How candidate pairs are found (every candidate is then scored the same way):
    /// minhash (128 `MinHash` values and LSH bands: finds pairs down to --threshold, the
    /// choice for rewrites and loose copies) or simhash (one 64-bit fingerprint per
    /// document, 8 bytes instead of 512, and an exact Hamming index: less memory and a
    /// little less CPU, for copies with small edits, shingle Jaccard from about 0.8;
    /// see --hamming). Rewrites are found the same way with either.
    #[arg(long, value_enum, default_value_t = MethodArg::Minhash)]
    pub method: MethodArg,
    /// With --method simhash: the most fingerprint bits two candidates may differ in, 0
    /// to 16. Lower is faster and finds only closer copies; 9 finds about 0.92 of the
    /// pairs with shingle Jaccard ≥ 0.8 on Reuters (see QUALITY.md).
    #[arg(long, default_value_t = neardup::Config::default().hamming, value_name = "K")]
    pub hamming: u32,
    /// How much of each document is compared and held: full (whole shingle and word
    /// sets up to about 1,000 words; longer texts are read as a sample of 1,024
    /// shingles and 512 words) or compact (samples of 64 of each and a third of the LSH
    /// bands: the state of `nightly` and an index hold about 40% less per document,
    /// with estimated similarities: copies are still found, rewrites and borderline
    /// pairs less reliably; see BENCHMARKS.md). With `nightly`, compact word statistics
    /// drift as documents leave the state: a leaving document's words outside its sample
    /// stay counted (ARCHITECTURE.md, "index").
    #[arg(long, value_enum, default_value_t = FootprintArg::Full)]
    pub footprint: FootprintArg,
    /// Shingles: word:K (K consecutive words) or char:K (K consecutive characters).
    #[arg(long, default_value = "word:3", value_parser = parse_shingle)]
    pub shingle: Shingle,
    /// `MinHash` signature length: more is more precise and slower.
    #[arg(long, default_value_t = 128)]
    pub perms: usize,
    /// Seed of every hash; the same seed gives the same output.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Shingle Jaccard similarity from which two documents are near-duplicates.
    #[arg(long, default_value_t = 0.5)]
    pub threshold: f64,
    /// Share of the shorter text's shingles found in the longer from which an excerpt or
    /// a truncated copy is a near-duplicate.
    #[arg(long, default_value_t = 0.5)]
    pub containment: f64,
    /// LSH bands x rows, e.g. 32x4 (default: derived from --threshold and --perms).
    #[arg(long, value_name = "BxR", value_parser = parse_bands)]
    pub bands: Option<Banding>,
    /// Classic `MinHash` deduplication: copies only; a pair is a near-duplicate when its
    /// shingle Jaccard reaches --threshold (no rewrites, containment, headline or figures
    /// tests).
    #[arg(long)]
    pub no_rewrites: bool,
    /// Rewrite score (rarity-weighted word Jaccard + shingle Jaccard, 0 to 2) from which
    /// two documents are rewrites of one story [default: 0.24].
    #[arg(long)]
    pub rewrite_threshold: Option<f64>,
    /// Dated documents more than this many days apart are not rewrites or excerpts of one
    /// story (copies still are); 0 for no limit.
    #[arg(long, default_value_t = 3, value_name = "DAYS")]
    pub rewrite_window: u32,
}

/// How records are read.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Input")]
pub struct InputOpts {
    /// JSON field holding the id.
    #[arg(long, default_value = "id")]
    pub id_field: String,
    /// JSON field holding the body.
    #[arg(long, default_value = "text")]
    pub text_field: String,
    /// JSON field holding the headline (optional in records).
    #[arg(long, default_value = "title")]
    pub title_field: String,
    /// JSON field holding the publication date, ISO-8601 (optional in records).
    #[arg(long, default_value = "date")]
    pub date_field: String,
    /// Skip malformed records (bad JSON, missing id or text, repeated id), count them and
    /// report them in the summary, instead of stopping at the first; keep the records
    /// before the damage of a truncated or corrupted .gz input.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Follow symbolic links inside input directories (each directory and file is read
    /// once, whatever the links).
    #[arg(long)]
    pub follow_links: bool,
    /// The longest record accepted (a JSON line, a .json or a text file), in bytes, or
    /// with K, M or G (binary units); a longer one is an error naming file and line.
    #[arg(long, default_value = "64M", value_name = "BYTES", value_parser = parse_bytes)]
    pub max_record_bytes: u64,
    /// Read every input (standard input too) as WARC (HTML 200 responses, main text
    /// extracted) or WET (conversion records), whatever its name. By default `*.warc`,
    /// `*.warc.gz` are WARC and `*.wet`, `*.wet.gz`, `*.warc.wet.gz` are WET.
    #[arg(long, value_name = "FORMAT")]
    pub input_format: Option<InputFormat>,
}

/// What `dedup -o` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeptFormat {
    /// The kept records as read.
    Same,
    /// One JSON line per kept document, with the extracted fields of WARC pages.
    Jsonl,
}

/// Input formats given by `--input-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// WARC: one document per HTML 200 response.
    Warc,
    /// WET: one document per conversion record.
    Wet,
}

fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], 10),
        Some((i, 'M' | 'm')) => (&t[..i], 20),
        Some((i, 'G' | 'g')) => (&t[..i], 30),
        _ => (t, 0),
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(1 << shift))
        .filter(|&n| n > 0)
        .ok_or_else(|| format!("{s:?} is not a size (bytes, or a number with K, M or G)"))
}

/// How the run behaves.
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Run")]
pub struct RunOpts {
    /// Worker threads (default: one per core; at most 4 per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bars and no closing summary line on standard error.
    #[arg(short, long)]
    pub quiet: bool,
}

fn parse_shingle(s: &str) -> Result<Shingle, String> {
    s.parse().map_err(|e: neardup::Error| e.to_string())
}

fn parse_bands(s: &str) -> Result<Banding, String> {
    s.parse().map_err(|e: neardup::Error| e.to_string())
}

/// Candidate methods (see `--method`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    /// `MinHash` signatures with LSH bands.
    Minhash,
    /// A 64-bit `SimHash` fingerprint and a Hamming-distance index.
    Simhash,
}

/// `--footprint` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FootprintArg {
    /// Whole sets (samples only for very long texts).
    Full,
    /// Small samples and fewer LSH bands.
    Compact,
}

impl From<FootprintArg> for neardup::Footprint {
    fn from(f: FootprintArg) -> Self {
        match f {
            FootprintArg::Full => neardup::Footprint::Full,
            FootprintArg::Compact => neardup::Footprint::Compact,
        }
    }
}

impl From<MethodArg> for Method {
    fn from(m: MethodArg) -> Self {
        match m {
            MethodArg::Minhash => Method::MinHash,
            MethodArg::Simhash => Method::SimHash,
        }
    }
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Report for a person.
    Text,
    /// Groups with their members, for programs.
    Json,
    /// One line per input document.
    Jsonl,
    /// One row per input document.
    Csv,
    /// One self-contained web page: summary, histograms, a searchable table of groups,
    /// the largest groups' members beside their canonical with shared passages marked.
    Html,
}

impl FormatArg {
    /// The library's format, or `None` for HTML (written with the inputs at hand).
    pub fn library(self) -> Option<neardup::Format> {
        match self {
            FormatArg::Text => Some(neardup::Format::Text),
            FormatArg::Json => Some(neardup::Format::Json),
            FormatArg::Jsonl => Some(neardup::Format::Jsonl),
            FormatArg::Csv => Some(neardup::Format::Csv),
            FormatArg::Html => None,
        }
    }
}

impl SimilarityOpts {
    /// The library configuration these options describe.
    pub fn config(&self) -> neardup::Result<Config> {
        let mut b = Config::builder()
            .method(self.method.into())
            .hamming(self.hamming)
            .footprint(self.footprint.into())
            .shingle(self.shingle)
            .perms(self.perms)
            .threshold(self.threshold)
            .containment(self.containment)
            .rewrites(!self.no_rewrites)
            .rewrite_window_days(self.rewrite_window);
        if let Some(s) = self.seed {
            b = b.seed(s);
        }
        if let Some(bands) = self.bands {
            b = b.bands(bands);
        }
        if let Some(t) = self.rewrite_threshold {
            b = b.rewrite_threshold(t);
        }
        b.build()
    }
}

impl InputOpts {
    /// How records are read.
    pub fn read_options(&self) -> neardup::ReadOptions {
        neardup::ReadOptions {
            fields: self.fields(),
            skip_invalid: self.skip_invalid,
            follow_links: self.follow_links,
            max_record_bytes: self.max_record_bytes,
        }
    }

    /// The input files of `paths` (links followed as asked), read as `--input-format`
    /// says.
    pub fn expand(&self, paths: &[PathBuf]) -> neardup::Result<Vec<neardup::io::read::InputFile>> {
        let mut files = neardup::io::read::expand_inputs_with(paths, self.follow_links)?;
        if let Some(f) = self.input_format {
            neardup::io::warc::set_kind(&mut files, f == InputFormat::Wet);
        }
        Ok(files)
    }

    /// The field names to read.
    pub fn fields(&self) -> neardup::io::read::FieldNames {
        neardup::io::read::FieldNames {
            id: self.id_field.clone(),
            text: self.text_field.clone(),
            title: self.title_field.clone(),
            date: self.date_field.clone(),
        }
    }
}
