//! The nightly job: one night's articles against the stories of earlier nights, with the
//! state carried from night to night in a directory.
//!
//! [`run_night`] loads the state (an [`Index`] of the last nights' documents with their
//! groups), streams the night's inputs into it, and writes into the output directory:
//!
//! - `kept.jsonl`: the deduplicated articles, records byte for byte: every document that
//!   is alone or canonical at the end of the night, and members related to their canonical
//!   more loosely than `min_relation`;
//! - `groups.jsonl`: one line per input document (see [`GroupLine`]);
//! - `report.txt`: the report of `neardup cluster` for the groups the night touched
//!   (and `report.html`, as `cluster --format html`);
//! - `summary.json`: counts, timings, documents per second and peak memory
//!   ([`NightSummary`]); the only output that differs between two runs of one night.
//!
//! **State directory.** `manifest.json` lists the nights run (number, date, a digest of
//! the inputs, the index file) and is the commit point: a night's index is saved to a new
//! file `night-NNNNNN.ndx`, then the manifest is replaced atomically (temporary file,
//! fsync, rename). A run killed at any moment leaves the previous manifest and the files
//! it names untouched. The index of the night before the last is kept too, so the last
//! night can be run again.
//!
//! **Running a night again.** Inputs whose digest equals the last night's are that night
//! again: it is recomputed from the state before it, with the date it had, and gives
//! byte-identical outputs and state. Inputs equal to an earlier night's are refused.
//! Runs on one state directory exclude each other (a lock the system releases when the
//! process dies).
//!
//! **The window follows crawl nights.** A document stays in the state for `window_days`
//! nights after the night it was last seen, whatever its publication date: a crawl finds
//! old articles every night, and tomorrow's copies of them must still be matched. A
//! record whose id is held already is a repeat sighting: it refreshes the held
//! document's night ([`Index::mark_seen`]). Documents not seen for longer leave the state
//! before the night starts ([`Index::evict_unseen_before`]); their groups keep their ids.
//! Documents of states written before the window followed crawl nights (index format 3)
//! count as seen on their publication date until seen again.
//!
//! **Dates.** Publication dates choose the canonical member (the earliest) and bound
//! rewrites (`Config::rewrite_window`). Undated documents are dated by the night
//! (`date`, midnight UTC).

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use crate::config::Config;
use crate::document::{Document, format_date};
use crate::error::{Error, Result};
use crate::index::Index;
use crate::io::read::{
    InputFile, InputKind, KeptRecords, copy_records, expand_inputs_with, parse_record,
};
use crate::io::write::Format;
use crate::pipeline::{Clustering, DocInfo, Group, Member, ReadOptions, RunStats};
use crate::progress::{Progress, Stage};
use crate::verify::Relation;

/// Name of the manifest in a state directory.
pub const MANIFEST: &str = "manifest.json";
/// Version of the manifest's layout.
const MANIFEST_FORMAT: u32 = 1;
const DAY: i64 = 86_400;

/// How a night runs.
#[derive(Debug, Clone)]
pub struct NightOptions {
    /// The state directory (created on the first night).
    pub state: PathBuf,
    /// Where the night's outputs go (created when missing).
    pub out: PathBuf,
    /// Nights a document stays in the state after the night it was last seen.
    pub window_days: u32,
    /// The night's date (seconds since the epoch, any time of that day); `None` for
    /// today (UTC). A night run again keeps the date it had.
    pub date: Option<i64>,
    /// Members related to their canonical at least this closely are left out of
    /// `kept.jsonl`.
    pub min_relation: Relation,
    /// How records are read.
    pub read: ReadOptions,
    /// Accept a `date` before the last night's, or more than `window_days` after it.
    pub force_date: bool,
}

/// One night in the manifest.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NightRecord {
    /// 1 for the first night.
    pub night: u32,
    /// The night's date, `YYYY-MM-DD`.
    pub date: String,
    /// xxh3-64 digest of the inputs' bytes, in order (hex).
    pub inputs: String,
    /// Documents read.
    pub documents: u64,
    /// The index file after this night (in the state directory).
    pub index: String,
}

/// The state directory's table of contents.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// Layout version.
    pub format: u32,
    /// The nights run, oldest first.
    pub nights: Vec<NightRecord>,
}

/// One line of `groups.jsonl`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GroupLine {
    /// Document id.
    pub id: String,
    /// Its group's id, when it is in a group of two or more.
    pub group: Option<String>,
    /// The group's canonical member's id (when in a group).
    pub canonical: Option<String>,
    /// `canonical` for the canonical member, else its relation to it (when in a group).
    pub relation: Option<String>,
    /// Similarity to the canonical member, 4 decimals (when in a group).
    pub similarity: Option<f64>,
    /// The canonical member arrived on an earlier night.
    pub canonical_from_earlier_night: bool,
    /// When tonight moved the group's canonical member (an earlier-published version
    /// arrived): the canonical member before, from an earlier night. The group keeps its id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub replaced_canonical: Option<String>,
    /// The id was already held (an earlier night's, or earlier tonight): the record was
    /// not inserted again; the line gives the held document's group. It is in
    /// `kept.jsonl` when its text is not an exact copy of the held document's (see
    /// [`run_night`]).
    pub repeated_id: bool,
}

/// Counts and timings of a night (`summary.json`).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct NightSummary {
    /// The night's number (1 for the first).
    pub night: u32,
    /// The night's date.
    pub date: String,
    /// Whether this run repeated the last night.
    pub rerun: bool,
    /// Documents read.
    pub documents: u64,
    /// Records skipped as malformed (with `skip_invalid`).
    pub skipped_invalid: u64,
    /// Records whose id was already held (not added to the state).
    pub repeated_ids: u64,
    /// Of those, the ones whose text is not an exact copy of the held document's:
    /// written to `kept.jsonl` all the same.
    pub repeated_ids_changed: u64,
    /// Up to five of the repeated ids, with where they were read.
    pub repeated_examples: Vec<String>,
    /// Up to five of the records skipped (with `skip_invalid`), with file and line.
    pub invalid_examples: Vec<String>,
    /// Documents dated after the night: their date is taken as the night's end (a
    /// mistyped year must not make a copy the earliest-published version forever
    /// after, or put it outside every rewrite window).
    pub future_dates_clamped: u64,
    /// Documents written to `kept.jsonl`.
    pub kept: u64,
    /// Tonight's documents in groups of two or more.
    pub in_groups: u64,
    /// Groups that tonight's documents are in.
    pub groups: u64,
    /// Tonight's documents whose canonical member arrived on an earlier night.
    pub joined_earlier: u64,
    /// Documents held when the night began (after the window's evictions).
    pub held_before: u64,
    /// Documents that left the state before the night: not seen for more than
    /// `window_days` nights.
    pub evicted: u64,
    /// Documents held after the night.
    pub held_after: u64,
    /// Seconds per stage (as in `stages`).
    pub seconds: Vec<(String, f64)>,
    /// Per stage, in order: its seconds and the peak memory of the process by its end.
    pub stages: Vec<StageTime>,
    /// Seconds from start to the committed state.
    pub elapsed: f64,
    /// Documents per second over the whole run.
    pub docs_per_second: f64,
    /// Peak resident memory of the process, bytes (Linux; `None` elsewhere).
    pub peak_rss_bytes: Option<u64>,
}

/// One stage of a night in [`NightSummary::stages`].
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct StageTime {
    /// The stage's name (see [`Stage::name`]).
    pub stage: String,
    /// Its seconds.
    pub seconds: f64,
    /// Peak resident memory of the process by the stage's end, bytes (Linux; `None`
    /// elsewhere).
    pub peak_rss_bytes: Option<u64>,
}

/// Passes progress on, and times each stage (from the end of the one before).
struct Timed<'p> {
    inner: &'p dyn Progress,
    lap: std::sync::Mutex<Instant>,
    stages: std::sync::Mutex<Vec<StageTime>>,
}

impl Progress for Timed<'_> {
    fn start(&self, stage: Stage, total: Option<u64>) {
        self.inner.start(stage, total);
    }
    fn advance(&self, n: u64) {
        self.inner.advance(n);
    }
    fn finish(&self, stage: Stage) {
        self.inner.finish(stage);
        let now = Instant::now();
        let mut lap = self
            .lap
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let seconds = (now - *lap).as_secs_f64();
        *lap = now;
        self.stages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(StageTime {
                stage: stage.name().to_owned(),
                seconds,
                peak_rss_bytes: crate::pipeline::peak_rss_bytes(),
            });
    }
}

/// A document read tonight.
struct NightDoc {
    info: DocInfo,
    repeated: bool,
    /// A repeated id whose text differs from the held document's: kept.
    changed: bool,
}

fn state_error(path: &Path, message: impl Into<String>) -> Error {
    Error::State {
        path: path.to_owned(),
        message: message.into(),
    }
}

/// Writes `path` atomically: a temporary file beside it, flushed to disk, renamed
/// (refusing to replace anything but a regular file).
fn write_atomic(path: &Path, write: impl FnOnce(&mut dyn Write) -> Result<()>) -> Result<()> {
    crate::io::atomic::write_file(path, write)
}

/// Reads the manifest of a state directory (empty when there is none yet).
///
/// # Errors
/// [`Error::State`] when it cannot be parsed or has another layout version.
pub fn read_manifest(state: &Path) -> Result<Manifest> {
    let path = state.join(MANIFEST);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            check_no_orphan_nights(state, &path)?;
            return Ok(Manifest {
                format: MANIFEST_FORMAT,
                nights: Vec::new(),
            });
        }
        Err(e) => return Err(Error::io(&path, e)),
    };
    let m: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| state_error(&path, format!("corrupted manifest: {e}")))?;
    if m.format != MANIFEST_FORMAT {
        return Err(state_error(
            &path,
            format!(
                "manifest format {}; this build reads format {MANIFEST_FORMAT}",
                m.format
            ),
        ));
    }
    Ok(m)
}

/// A state directory without a manifest must hold no night: index files without the
/// manifest that names them are a lost or deleted manifest, not a first night (a fresh
/// start would overwrite them and forget every held story).
#[allow(clippy::case_sensitive_file_extension_comparisons)] // our own names
fn check_no_orphan_nights(state: &Path, manifest: &Path) -> Result<()> {
    let Ok(entries) = std::fs::read_dir(state) else {
        return Ok(());
    };
    let mut nights: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("night-") && n.ends_with(".ndx"))
        .collect();
    if nights.is_empty() {
        return Ok(());
    }
    nights.sort();
    Err(state_error(
        manifest,
        format!(
            "is missing, but the state holds night files ({}); restore manifest.json from a \
             backup, or, to start afresh on purpose, move the night files out of the state \
             directory",
            nights.join(", ")
        ),
    ))
}

/// Refuses a night's date that is not plausible after the last night: earlier than it
/// (the state would go back in time), or more than the window after it (every held
/// document would leave the state: a mistyped year drains it). `force` accepts it.
fn check_date(
    state: &Path,
    last: &NightRecord,
    date: i64,
    window_days: u32,
    force: bool,
) -> Result<()> {
    if force {
        return Ok(());
    }
    let Some(last_date) = crate::document::parse_date(&last.date) else {
        return Err(state_error(
            state,
            format!("bad date {:?} in the manifest", last.date),
        ));
    };
    let last_night = format!("the last night's (night {}, {})", last.night, last.date);
    let problem = if date < last_date {
        Some(format!("is earlier than {last_night}"))
    } else if date > last_date + i64::from(window_days) * DAY {
        Some(format!(
            "is {} days after {last_night}, more than --window-days ({window_days}): every \
             held document would leave the state",
            (date - last_date) / DAY
        ))
    } else {
        None
    };
    match problem {
        Some(p) => Err(state_error(
            state,
            format!(
                "the night's date {} {p}; pass --force-date if this is meant",
                format_date(date)
            ),
        )),
        None => Ok(()),
    }
}

/// A publication date after the night's day is taken as the night's end (a date in 9999
/// is a typo, not news from the future). Returns whether it was clamped.
fn clamp_future(timestamp: &mut Option<i64>, night: i64) -> bool {
    let end = night + DAY - 1;
    match timestamp {
        Some(t) if *t > end => {
            *t = end;
            true
        }
        _ => false,
    }
}

/// Checks the night's outputs before the work starts (none may be an input, a link, a
/// directory or a device) and removes the temporary files of killed runs from the state
/// and output directories.
fn prepare_dirs(state: &Path, out: &Path, files: &[crate::io::read::InputFile]) -> Result<()> {
    use crate::io::atomic::{OutputPolicy, check_output, clean_stale_temp_files};
    let inputs: Vec<PathBuf> = files.iter().map(|f| f.path.clone()).collect();
    let mut checked = Vec::new();
    let kept = crate::io::warc::kept_name(files);
    for name in [kept, "groups.jsonl", "report.txt", "summary.json"] {
        let t = check_output(&out.join(name), &inputs, &checked, OutputPolicy::default())?;
        checked.push(t);
    }
    check_output(&state.join(MANIFEST), &inputs, &[], OutputPolicy::default())?;
    // The state is locked: earlier versions' temporary files there are stale too.
    clean_stale_temp_files(state, true);
    clean_stale_temp_files(out, false);
    Ok(())
}

/// A new state gets an empty manifest before anything else, so that a night file
/// without a manifest always means a lost manifest (see [`check_no_orphan_nights`]),
/// never a first night killed between its index file and its commit.
fn start_manifest(state: &Path, manifest: &Manifest) -> Result<()> {
    let path = state.join(MANIFEST);
    if manifest.nights.is_empty() && !path.exists() {
        write_atomic(&path, |w| {
            serde_json::to_writer_pretty(&mut *w, manifest)
                .map_err(|e| Error::io(&path, e.into()))?;
            w.write_all(b"\n").map_err(|e| Error::io(&path, e))
        })?;
    }
    Ok(())
}

/// xxh3-64 of the inputs' bytes, in order.
fn digest_inputs(files: &[crate::io::read::InputFile]) -> Result<String> {
    use std::io::Read;
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    for f in files {
        let mut file = std::fs::File::open(&f.path).map_err(|e| Error::io(&f.path, e))?;
        loop {
            let n = file.read(&mut buf).map_err(|e| Error::io(&f.path, e))?;
            if n == 0 {
                break;
            }
            h.update(&buf[..n]);
        }
    }
    Ok(format!("{:016x}", h.digest()))
}

/// Midnight (UTC) of the day of `t`.
fn midnight(t: i64) -> i64 {
    t.div_euclid(DAY) * DAY
}

/// Runs one night: see the module docs.
///
/// # Errors
/// [`Error::State`] for a state directory that is locked, corrupted, or has seen these
/// inputs on a night before the last; [`Error::ConfigMismatch`] for a state built with
/// another configuration; reading errors of the inputs (naming file and line); [`Error::Io`] for
/// outputs that cannot be written. On error the state is the one before the run.
///
/// # Panics
/// Only on a broken invariant (every document read tonight is held by the index).
#[allow(clippy::too_many_lines)] // one night, in the order it happens
pub fn run_night(
    inputs: &[PathBuf],
    config: &Config,
    opts: &NightOptions,
    progress: &dyn Progress,
) -> Result<NightSummary> {
    let started = Instant::now();
    let timed = Timed {
        inner: progress,
        lap: std::sync::Mutex::new(started),
        stages: std::sync::Mutex::new(Vec::new()),
    };
    let progress: &dyn Progress = &timed;
    if inputs.iter().any(|p| p.as_os_str() == "-") {
        return Err(Error::Config(
            "the nightly job reads files (it reads them twice); standard input is not one".into(),
        ));
    }
    config.validate()?;
    if opts.window_days == 0 {
        return Err(Error::Config(
            "--window-days 0 would evict every document before the night starts; the window \
             is at least 1 day"
                .into(),
        ));
    }
    let state_dir = &opts.state;
    std::fs::create_dir_all(state_dir).map_err(|e| Error::io(state_dir, e))?;
    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    let lock_path = state_dir.join("lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::io(&lock_path, e))?;
    if lock.try_lock().is_err() {
        return Err(state_error(
            state_dir,
            "another nightly run is using this state directory",
        ));
    }

    // Which night is this, and from which state?
    progress.start(Stage::Load, None);
    let mut manifest = read_manifest(state_dir)?;
    start_manifest(state_dir, &manifest)?;
    let files = expand_inputs_with(inputs, opts.read.follow_links)?;
    prepare_dirs(state_dir, &opts.out, &files)?;
    let digest = digest_inputs(&files)?;
    let last = manifest.nights.last().cloned();
    let rerun = last.as_ref().is_some_and(|l| l.inputs == digest);
    if !rerun && let Some(old) = manifest.nights.iter().find(|n| n.inputs == digest) {
        return Err(state_error(
            state_dir,
            format!(
                "these inputs were night {} ({}); only the last night (night {}) can be run again",
                old.night,
                old.date,
                last.as_ref().map_or(0, |l| l.night)
            ),
        ));
    }
    let (night, base, date) = if rerun {
        let l = last.clone().expect("a last night");
        let recorded = crate::document::parse_date(&l.date).ok_or_else(|| {
            state_error(state_dir, format!("bad date {:?} in the manifest", l.date))
        })?;
        if let Some(d) = opts.date
            && midnight(d) != recorded
        {
            return Err(state_error(
                state_dir,
                format!(
                    "these inputs were night {} dated {}; run it again with that date or none",
                    l.night, l.date
                ),
            ));
        }
        manifest.nights.pop();
        (l.night, manifest.nights.last().cloned(), recorded)
    } else {
        let today = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(0));
        let date = midnight(opts.date.unwrap_or(today));
        if let Some(l) = &last {
            check_date(state_dir, l, date, opts.window_days, opts.force_date)?;
        }
        (last.as_ref().map_or(1, |l| l.night + 1), last, date)
    };
    let index = match &base {
        Some(b) => {
            let path = state_dir.join(&b.index);
            if !path.exists() {
                return Err(state_error(
                    &path,
                    format!(
                        "the index of night {} named by the manifest is missing",
                        b.night
                    ),
                ));
            }
            Index::load_with(&path, config)?
        }
        None => Index::new(config.clone())?,
    };
    // The window: documents not seen for `window_days` nights leave before tonight.
    let cutoff = date - i64::from(opts.window_days) * DAY;
    let evicted = index.evict_unseen_before(cutoff) as u64;
    let held_before = index.len() as u64;
    progress.finish(Stage::Load);

    // Read and insert, block by block.
    let total: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(&f.path).ok())
        .map(|m| m.len())
        .sum();
    progress.start(Stage::Sketch, Some(total));
    let mut reader = opts.read.reader(files.clone());
    let mut docs: Vec<NightDoc> = Vec::new();
    // Tonight's documents, sketched block by block (their texts dropped), enter the index
    // together once all are read: their groups depend on the night's set of documents,
    // not on the order of its files or lines.
    let mut prepared = Vec::new();
    let mut skipped = 0u64;
    let mut invalid_examples = Vec::new();
    let mut future_dates_clamped = 0u64;
    // Documents whose id may be held already (an earlier night's, or tonight's: by id
    // hash), kept whole so that a repeat can be compared with the held text.
    let mut ids_tonight: HashSet<u64> = HashSet::new();
    let mut maybe_repeats: std::collections::HashMap<usize, Document> =
        std::collections::HashMap::new();
    loop {
        let before = reader.bytes_read();
        let mut block = reader.next_block(4 << 20)?;
        for e in block.take_damage() {
            skipped += 1;
            if invalid_examples.len() < 5 {
                invalid_examples.push(e.to_string());
            }
        }
        let chunk = block.to_records();
        drop(block);
        if chunk.is_empty() {
            break;
        }
        let parsed: Vec<Result<Document>> = chunk
            .par_iter()
            .map(|raw| parse_record(raw, &files, &opts.read.fields).map(|p| p.doc))
            .collect();
        let mut batch = Vec::with_capacity(parsed.len());
        for (raw, p) in chunk.iter().zip(parsed) {
            let mut doc = match p {
                Ok(d) => d,
                Err(e) if opts.read.skip_invalid && e.is_bad_input() => {
                    skipped += 1;
                    if invalid_examples.len() < 5 {
                        invalid_examples.push(e.to_string());
                    }
                    continue;
                }
                Err(e) => return Err(e),
            };
            let title = match &files[raw.file as usize].kind {
                InputKind::Text { .. } => None,
                _ => doc.title.clone(),
            };
            doc.timestamp.get_or_insert(date);
            future_dates_clamped += u64::from(clamp_future(&mut doc.timestamp, date));
            docs.push(NightDoc {
                info: DocInfo {
                    id: doc.id.clone(),
                    title: title.or_else(|| {
                        doc.text
                            .lines()
                            .map(str::trim)
                            .find(|l| !l.is_empty())
                            .map(|l| l.chars().take(100).collect())
                    }),
                    timestamp: doc.timestamp,
                    len: doc.text.len() as u64,
                    file: raw.file,
                    line: raw.line,
                    digest: crate::io::read::record_digest(&raw.bytes),
                },
                repeated: false,
                changed: false,
            });
            let id_hash = xxhash_rust::xxh3::xxh3_64(doc.id.as_bytes());
            if !ids_tonight.insert(id_hash) || index.contains(&doc.id) {
                maybe_repeats.insert(docs.len() - 1, doc.clone());
            }
            batch.push(doc);
        }
        prepared.extend(index.prepare_all(batch).into_iter().map(|mut p| {
            p.seen = Some(date);
            p
        }));
        progress.advance(reader.bytes_read() - before);
    }
    progress.finish(Stage::Sketch);
    let mut replaced: Vec<Option<String>> = Vec::with_capacity(docs.len());
    let verdicts = index.insert_prepared_with(prepared, progress);
    for (i, r) in verdicts.into_iter().enumerate() {
        match r {
            Ok(v) => replaced.push(v.replaced_canonical),
            Err(Error::IdExists { .. }) => {
                // A repeat sighting keeps the held document in the window.
                index.mark_seen(&docs[i].info.id, date);
                docs[i].repeated = true;
                docs[i].changed = maybe_repeats
                    .get(&i)
                    .is_none_or(|d| repeat_changed(&index, d));
                replaced.push(None);
            }
            Err(e) => return Err(e),
        }
    }

    // Where each of tonight's documents ends up.
    progress.start(Stage::Write, None);
    let tonight: HashSet<&str> = docs
        .iter()
        .filter(|d| !d.repeated)
        .map(|d| d.info.id.as_str())
        .collect();
    let placements: Vec<_> = docs
        .par_iter()
        .map(|d| index.placement(&d.info.id))
        .collect();
    let round4 = |x: f32| (f64::from(x) * 10_000.0).round() / 10_000.0;
    let lines: Vec<GroupLine> = docs
        .iter()
        .zip(&placements)
        .zip(replaced)
        .map(|((d, p), replaced)| {
            let p = p.as_ref().expect("every document read is held");
            let grouped = p.group.is_some();
            GroupLine {
                id: d.info.id.clone(),
                group: p.group.clone(),
                canonical: grouped.then(|| p.canonical.clone()),
                relation: grouped.then(|| p.relation.as_str().to_owned()),
                similarity: grouped.then(|| round4(p.similarity)),
                canonical_from_earlier_night: grouped && !tonight.contains(p.canonical.as_str()),
                replaced_canonical: replaced.filter(|_| grouped),
                repeated_id: d.repeated,
            }
        })
        .collect();
    let kept_set: KeptRecords = docs
        .iter()
        .zip(&placements)
        .filter(|(d, p)| {
            let p = p.as_ref().expect("held");
            if d.repeated {
                d.changed
            } else {
                p.relation.relation().is_none_or(|r| r > opts.min_relation)
            }
        })
        .map(|(d, _)| ((d.info.file, d.info.line), d.info.digest))
        .collect();

    // The report: tonight's groups, with an earlier night's canonical member when the
    // group has one.
    let report = night_report(&docs, &placements, &lines);
    let mut summary = NightSummary {
        night,
        date: format_date(date),
        rerun,
        documents: docs.len() as u64,
        skipped_invalid: skipped,
        repeated_ids: docs.iter().filter(|d| d.repeated).count() as u64,
        repeated_ids_changed: docs.iter().filter(|d| d.changed).count() as u64,
        repeated_examples: repeated_examples(&docs, &files),
        invalid_examples,
        future_dates_clamped,
        kept: kept_set.len() as u64,
        in_groups: lines
            .iter()
            .filter(|l| l.group.is_some() && !l.repeated_id)
            .count() as u64,
        groups: report.groups.len() as u64,
        joined_earlier: lines
            .iter()
            .filter(|l| l.canonical_from_earlier_night && !l.repeated_id)
            .count() as u64,
        held_before,
        ..NightSummary::default()
    };
    let out = &opts.out;
    let kept_path = out.join(crate::io::warc::kept_name(&files));
    write_atomic(&kept_path, |w| {
        copy_records(opts.read.reader(files.clone()), &kept_set, w, &kept_path).map(|_| ())
    })?;
    let groups_path = out.join("groups.jsonl");
    write_atomic(&groups_path, |w| {
        for l in &lines {
            serde_json::to_writer(&mut *w, l).map_err(|e| Error::io(&groups_path, e.into()))?;
            w.write_all(b"\n").map_err(|e| Error::io(&groups_path, e))?;
        }
        Ok(())
    })?;
    let report_path = out.join("report.txt");
    write_atomic(&report_path, |w| {
        writeln!(w, "night            {night} ({})", summary.date)
            .and_then(|()| report.write(Format::Text, w))
            .and_then(|()| write_replaced(&lines, w))
            .map_err(|e| Error::io(&report_path, e))
    })?;
    let html_path = out.join("report.html");
    let html = crate::io::html::HtmlOptions {
        title: format!("neardup night {night} ({})", summary.date),
        ..crate::io::html::HtmlOptions::default()
    };
    write_atomic(&html_path, |w| {
        crate::io::html::write_html(&report, &files, &opts.read.fields, &html, w, &html_path)
    })?;
    drop(placements);
    progress.finish(Stage::Write);

    // The window, then the new state: index file first, the manifest last (the commit).
    progress.start(Stage::Save, None);
    summary.evicted = evicted;
    summary.held_after = index.len() as u64;
    let name = format!("night-{night:06}.ndx");
    index.save(state_dir.join(&name))?;
    manifest.nights.push(NightRecord {
        night,
        date: summary.date.clone(),
        inputs: digest,
        documents: summary.documents,
        index: name,
    });
    manifest.format = MANIFEST_FORMAT;
    let manifest_path = state_dir.join(MANIFEST);
    write_atomic(&manifest_path, |w| {
        serde_json::to_writer_pretty(&mut *w, &manifest)
            .map_err(|e| Error::io(&manifest_path, e.into()))?;
        w.write_all(b"\n").map_err(|e| Error::io(&manifest_path, e))
    })?;
    // Index files no longer needed: all but the last two nights'.
    let keep: HashSet<&str> = manifest
        .nights
        .iter()
        .rev()
        .take(2)
        .map(|n| n.index.as_str())
        .collect();
    if let Ok(entries) = std::fs::read_dir(state_dir) {
        for e in entries.flatten() {
            let file = e.file_name();
            let file = file.to_string_lossy();
            if file.starts_with("night-") && file.ends_with(".ndx") && !keep.contains(&*file) {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
    progress.finish(Stage::Save);

    summary.elapsed = started.elapsed().as_secs_f64();
    summary.docs_per_second = if summary.elapsed > 0.0 {
        summary.documents as f64 / summary.elapsed
    } else {
        0.0
    };
    summary.stages = timed
        .stages
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    summary.seconds = summary
        .stages
        .iter()
        .map(|s| (s.stage.clone(), s.seconds))
        .collect();
    summary.peak_rss_bytes = crate::pipeline::peak_rss_bytes();
    let summary_path = out.join("summary.json");
    write_atomic(&summary_path, |w| {
        serde_json::to_writer_pretty(&mut *w, &summary)
            .map_err(|e| Error::io(&summary_path, e.into()))?;
        w.write_all(b"\n").map_err(|e| Error::io(&summary_path, e))
    })?;
    drop(lock);
    Ok(summary)
}

/// The groups whose canonical member tonight replaced (an earlier-published version
/// arrived), for the text report.
fn write_replaced(lines: &[GroupLine], w: &mut dyn Write) -> std::io::Result<()> {
    let mut replaced: Vec<(&str, &str, &str)> = lines
        .iter()
        .filter_map(|l| {
            let group = l.group.as_deref()?;
            let before = l.replaced_canonical.as_deref()?;
            Some((group, before, l.canonical.as_deref()?))
        })
        .collect();
    if replaced.is_empty() {
        return Ok(());
    }
    replaced.sort_unstable();
    replaced.dedup();
    writeln!(
        w,
        "\ncanonical members replaced tonight (an earlier-published version arrived; the group keeps its id):"
    )?;
    for (group, before, now) in replaced {
        writeln!(w, "  group {group}: {before} -> {now}")?;
    }
    Ok(())
}

/// Whether a record whose id is held has another text than the held document: it is
/// then kept (new content under a reused id must not be lost); an exact copy is a
/// resend and is left out.
fn repeat_changed(index: &Index, doc: &Document) -> bool {
    !index
        .query(doc)
        .matches
        .iter()
        .any(|m| m.id == doc.id && m.relation == Relation::Exact)
}

/// Up to five repeated ids with where they were read, for the summary and stderr.
fn repeated_examples(docs: &[NightDoc], files: &[InputFile]) -> Vec<String> {
    docs.iter()
        .filter(|d| d.repeated)
        .take(5)
        .map(|d| {
            format!(
                "{}:{}: id {:?} is already held ({})",
                files[d.info.file as usize].path.display(),
                d.info.line,
                d.info.id,
                if d.changed {
                    "another text: kept"
                } else {
                    "the same text: left out"
                }
            )
        })
        .collect()
}

/// The night's groups as a [`Clustering`], for the text report: tonight's documents,
/// then the earlier nights' canonical members they joined (without a title: the state
/// keeps none).
fn night_report(
    docs: &[NightDoc],
    placements: &[Option<crate::index::Placement>],
    lines: &[GroupLine],
) -> Clustering {
    let mut infos: Vec<DocInfo> = docs.iter().map(|d| d.info.clone()).collect();
    let mut number: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
    for (i, d) in docs.iter().enumerate() {
        if !d.repeated {
            number.insert(d.info.id.clone(), i as u32);
        }
    }
    // Group id → (canonical, members); in order of first appearance tonight.
    let mut order: Vec<String> = Vec::new();
    let mut groups: std::collections::HashMap<String, (u32, Vec<Member>)> =
        std::collections::HashMap::new();
    for (i, (d, (p, l))) in docs.iter().zip(placements.iter().zip(lines)).enumerate() {
        let (Some(p), Some(g)) = (p, &l.group) else {
            continue;
        };
        if d.repeated {
            continue;
        }
        let canon = *number.entry(p.canonical.clone()).or_insert_with(|| {
            infos.push(DocInfo {
                id: p.canonical.clone(),
                title: None,
                timestamp: None,
                len: 0,
                file: u32::MAX,
                line: 0,
                digest: 0,
            });
            (infos.len() - 1) as u32
        });
        let entry = groups.entry(g.clone()).or_insert_with(|| {
            order.push(g.clone());
            (canon, Vec::new())
        });
        entry.1.push(Member {
            doc: i as u32,
            relation: p.relation,
            similarity: p.similarity,
        });
    }
    let mut out: Vec<Group> = order
        .into_iter()
        .map(|id| {
            let (canon, mut members) = groups.remove(&id).expect("listed group");
            // Closest first, ties by id: the order of the night's input does not show.
            members.sort_by(|x, y| {
                x.relation
                    .cmp(&y.relation)
                    .then(y.similarity.total_cmp(&x.similarity))
                    .then_with(|| infos[x.doc as usize].id.cmp(&infos[y.doc as usize].id))
            });
            if let Some(at) = members.iter().position(|m| m.doc == canon) {
                let c = members.remove(at);
                members.insert(0, c);
            } else {
                members.insert(
                    0,
                    Member {
                        doc: canon,
                        relation: crate::verify::Role::Canonical,
                        similarity: 1.0,
                    },
                );
            }
            Group {
                id,
                canonical: canon,
                members,
            }
        })
        .collect();
    out.sort_by(|x, y| {
        y.members
            .len()
            .cmp(&x.members.len())
            .then_with(|| x.id.cmp(&y.id))
    });
    let mut placement = vec![None; infos.len()];
    for (gi, g) in out.iter().enumerate() {
        for m in &g.members {
            placement[m.doc as usize] = Some((gi as u32, *m));
        }
    }
    let docs_in_groups = out.iter().map(|g| g.members.len() as u64).sum();
    let stats = RunStats {
        documents: docs.len() as u64,
        groups: out.len() as u64,
        docs_in_groups,
        ..RunStats::default()
    };
    Clustering {
        docs: infos,
        groups: out,
        placement,
        edges: Vec::new(),
        stats,
    }
}
