//! Readers: JSON Lines (plain or gzip), plain-text files, directories and stdin, read as
//! a stream of raw records that are parsed in parallel.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};

use crate::document::{Document, parse_date};
use crate::error::{Error, Location, Result};

/// Names of the fields read from JSON records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldNames {
    /// The unique id (string or number). Default `id`.
    pub id: String,
    /// The body. Default `text`.
    pub text: String,
    /// The headline (optional). Default `title`.
    pub title: String,
    /// The publication date (optional, ISO-8601). Default `date`.
    pub date: String,
}

impl Default for FieldNames {
    fn default() -> Self {
        FieldNames {
            id: "id".into(),
            text: "text".into(),
            title: "title".into(),
            date: "date".into(),
        }
    }
}

/// How one input file is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputKind {
    /// One JSON object per line.
    Jsonl,
    /// Gzip-compressed JSON Lines.
    JsonlGz,
    /// A JSON array of records, or one record (`.json`); read whole. The "line" of a
    /// record is its 1-based position in the array.
    Json,
    /// Gzip-compressed [`InputKind::Json`] (`.json.gz`).
    JsonGz,
    /// One document: the whole file is the text; the id is given.
    Text {
        /// The document id (file name or relative path without extension).
        id: String,
    },
    /// JSON Lines on standard input.
    Stdin,
    /// WARC (plain or gzip): one document per HTML 200 response (see [`crate::io::warc`]).
    Warc,
    /// WET (plain or gzip): one document per conversion record, its text as is.
    Wet,
}

impl InputKind {
    /// Gzip-compressed: a read error is damage to the data, not a system error.
    fn compressed(&self) -> bool {
        matches!(self, InputKind::JsonlGz | InputKind::JsonGz)
    }
}

/// One input file after expansion of directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The path (`-` for standard input).
    pub path: PathBuf,
    /// How to read it.
    pub kind: InputKind,
}

/// The default of [`RecordReader::max_record_bytes`]: 64 MiB.
pub const DEFAULT_MAX_RECORD_BYTES: u64 = 64 << 20;

/// The UTF-8 byte order mark, skipped at the start of a file.
const BOM: &[u8] = b"\xEF\xBB\xBF";

#[allow(clippy::case_sensitive_file_extension_comparisons)] // lowercased first
fn kind_of(path: &Path, id_base: Option<&Path>) -> Option<InputKind> {
    // Extensions in any case: `.JSONL`, `.Json.GZ`, `.WARC.GZ`.
    let name = path.file_name()?.to_string_lossy().to_ascii_lowercase();
    if let Some(kind) = crate::io::warc::kind_of_name(&name) {
        Some(kind)
    } else if name.ends_with(".jsonl.gz") {
        Some(InputKind::JsonlGz)
    } else if name.ends_with(".jsonl") {
        Some(InputKind::Jsonl)
    } else if name.ends_with(".json.gz") {
        Some(InputKind::JsonGz)
    } else if name.ends_with(".json") {
        Some(InputKind::Json)
    } else if name.ends_with(".txt") || id_base.is_none() {
        let rel = id_base
            .and_then(|b| path.strip_prefix(b).ok())
            .unwrap_or(path);
        let rel = if id_base.is_some() {
            rel.to_path_buf()
        } else {
            PathBuf::from(path.file_name()?)
        };
        let id = rel.with_extension("").to_string_lossy().replace('\\', "/");
        Some(InputKind::Text { id })
    } else {
        None
    }
}

/// Identity of a file: device and inode (the canonical path where there are none).
fn file_key(path: &Path, meta: &std::fs::Metadata) -> (u64, u64, Option<PathBuf>) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let _ = path;
        (meta.dev(), meta.ino(), None)
    }
    #[cfg(not(unix))]
    {
        let _ = meta;
        (0, 0, std::fs::canonicalize(path).ok())
    }
}

type Visited = std::collections::HashSet<(u64, u64, Option<PathBuf>)>;

/// Lists the files below `dir`. Symbolic links are skipped unless `follow`; directories
/// (and, with `follow`, files) already visited are not entered again, so that a link
/// loop or a link to a parent ends. FIFOs, devices and sockets are skipped.
fn walk(dir: &Path, follow: bool, visited: &mut Visited, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let ft = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if ft.is_symlink() && !follow {
            continue;
        }
        // A dangling link is skipped.
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if visited.insert(file_key(&path, &meta)) {
                walk(&path, follow, visited, out)?;
            }
        } else if meta.is_file() && (!follow || visited.insert(file_key(&path, &meta))) {
            out.push(path);
        }
    }
    Ok(())
}

/// Expands the inputs as given on a command line (see [`expand_inputs_with`]), without
/// following symbolic links inside directories.
///
/// # Errors
/// As [`expand_inputs_with`].
pub fn expand_inputs(paths: &[PathBuf]) -> Result<Vec<InputFile>> {
    expand_inputs_with(paths, false)
}

/// Expands the inputs as given on a command line: `-` is stdin, a directory stands for
/// every `*.txt`, `*.jsonl`, `*.jsonl.gz`, `*.json` and `*.json.gz` below it (extensions
/// in any case) in sorted path order, a `.jsonl` or `.jsonl.gz` file is JSON Lines, a
/// `.json` or `.json.gz` file a JSON array of records (or one record), any other file is
/// one plain-text document. Inside directories, symbolic links are followed only with
/// `follow_links`, and never into a directory already visited.
///
/// # Errors
/// [`Error::NotFound`] naming a path that does not exist; [`Error::Io`] when a
/// directory cannot be listed.
pub fn expand_inputs_with(paths: &[PathBuf], follow_links: bool) -> Result<Vec<InputFile>> {
    let mut files = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            files.push(InputFile {
                path: p.clone(),
                kind: InputKind::Stdin,
            });
            continue;
        }
        let meta = std::fs::metadata(p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound { path: p.clone() },
            _ => Error::io(p, e),
        })?;
        if meta.is_dir() {
            let mut found = Vec::new();
            let mut visited = Visited::new();
            visited.insert(file_key(p, &meta));
            walk(p, follow_links, &mut visited, &mut found)?;
            found.sort();
            for f in found {
                if let Some(kind) = kind_of(&f, Some(p)) {
                    files.push(InputFile { path: f, kind });
                }
            }
        } else if let Some(kind) = kind_of(p, None) {
            files.push(InputFile {
                path: p.clone(),
                kind,
            });
        }
    }
    Ok(files)
}

/// An unparsed record: a JSON line or a whole text file, with where it came from.
#[derive(Debug, Clone)]
pub struct RawRecord {
    /// Index of the input file in the expanded list.
    pub file: u32,
    /// 1-based line number (1 for a text file).
    pub line: u64,
    /// The bytes, without the line terminator.
    pub bytes: Vec<u8>,
}

/// An unparsed record borrowed from a [`RawChunk`].
#[derive(Debug, Clone, Copy)]
pub struct RawRef<'a> {
    /// Index of the input file in the expanded list.
    pub file: u32,
    /// 1-based line number (1 for a text file).
    pub line: u64,
    /// The bytes, without the line terminator.
    pub bytes: &'a [u8],
}

/// Where one record lies in a chunk's block.
#[derive(Debug, Clone, Copy)]
struct Span {
    file: u32,
    line: u64,
    start: usize,
    end: usize,
    /// End of the line terminator that followed the record (`end` when none).
    term: usize,
}

/// Raw records read as one block of bytes: the records are ranges of the block, so
/// that reading allocates per chunk, not per record. A chunk can be handed back to
/// [`RecordReader::next_block_into`] to reuse its memory.
#[derive(Debug, Default)]
pub struct RawChunk {
    data: Vec<u8>,
    spans: Vec<Span>,
    /// Damaged inputs left early (with [`RecordReader::salvage`]).
    damage: Vec<Error>,
    warc: crate::io::warc::WarcStats,
}

impl RawChunk {
    /// Number of records.
    #[must_use]
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True when there is no record (the end of all inputs, from the reader).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    /// Record `i`.
    ///
    /// # Panics
    /// When `i` is out of range.
    #[must_use]
    pub fn get(&self, i: usize) -> RawRef<'_> {
        let s = self.spans[i];
        RawRef {
            file: s.file,
            line: s.line,
            bytes: &self.data[s.start..s.end],
        }
    }

    /// The line terminator that followed record `i` in its input, byte for byte (`\n`,
    /// `\r\n`, …; empty for a last line without one and for records of `.json` files).
    ///
    /// # Panics
    /// When `i` is out of range.
    #[must_use]
    pub fn terminator(&self, i: usize) -> &[u8] {
        let s = self.spans[i];
        &self.data[s.end..s.term]
    }

    /// The inputs found damaged while reading this chunk (with
    /// [`RecordReader::salvage`]): each [`Error::Damaged`] names the file and the first
    /// line not read. The records before the damage are in the chunk.
    pub fn take_damage(&mut self) -> Vec<Error> {
        std::mem::take(&mut self.damage)
    }

    /// The records in order.
    #[must_use = "an iterator does nothing unless consumed"]
    pub fn iter(&self) -> impl ExactSizeIterator<Item = RawRef<'_>> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// The WARC records skipped (by kind) and passed on while reading this chunk.
    #[must_use]
    pub fn warc_stats(&self) -> &crate::io::warc::WarcStats {
        &self.warc
    }

    /// The records as owned [`RawRecord`]s.
    #[must_use]
    pub fn to_records(&self) -> Vec<RawRecord> {
        self.iter()
            .map(|r| RawRecord {
                file: r.file,
                line: r.line,
                bytes: r.bytes.to_vec(),
            })
            .collect()
    }
}

/// The digest of a record's bytes kept with its document, so that the copy of the kept
/// records can check it copies what was analysed (see [`copy_records`]).
#[must_use]
pub fn record_digest(bytes: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(bytes)
}

/// Position of the first `\n` in `hay`, eight bytes at a time.
fn find_newline(hay: &[u8]) -> Option<usize> {
    const LO: u64 = 0x0101_0101_0101_0101;
    const HI: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = LO * b'\n' as u64;
    let mut chunks = hay.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let x = u64::from_le_bytes(c.try_into().expect("8 bytes")) ^ NL;
        // The lowest byte flagged is the first zero byte of `x` (borrows only run up).
        let zero = x.wrapping_sub(LO) & !x & HI;
        if zero != 0 {
            return Some(at + (zero.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks
        .remainder()
        .iter()
        .position(|&b| b == b'\n')
        .map(|p| at + p)
}

/// Reads raw records from a list of inputs, in order, in chunks.
pub struct RecordReader {
    files: Vec<InputFile>,
    next_file: usize,
    current: Option<(u32, Box<dyn Read + Send>)>,
    /// The WARC file being read: its index, whether WET, the reader, bytes counted.
    warc: Option<(u32, bool, crate::io::warc::WarcReader, u64)>,
    pages: crate::io::warc::PageFilter,
    /// The start of a line not yet complete, read past the end of the last chunk.
    carry: Vec<u8>,
    line: u64,
    bytes_read: u64,
    /// The longest record accepted.
    limit: u64,
    /// Keep the records before the damage of a damaged compressed input.
    salvage: bool,
    /// The current file's first bytes are still to come (a BOM is skipped there).
    at_start: bool,
}

impl RecordReader {
    /// A reader over expanded inputs (see [`expand_inputs`]), with records up to
    /// [`DEFAULT_MAX_RECORD_BYTES`], stopping at a damaged input.
    #[must_use]
    pub fn new(files: Vec<InputFile>) -> Self {
        RecordReader {
            files,
            next_file: 0,
            current: None,
            warc: None,
            pages: crate::io::warc::PageFilter::default(),
            carry: Vec::new(),
            line: 0,
            bytes_read: 0,
            limit: DEFAULT_MAX_RECORD_BYTES,
            salvage: false,
            at_start: false,
        }
    }

    /// Refuses records (a line, a `.json` file, a text file) longer than `bytes` with
    /// [`Error::RecordTooLong`], before holding much more than that in memory.
    #[must_use]
    pub fn max_record_bytes(mut self, bytes: u64) -> Self {
        self.limit = bytes.max(1);
        self
    }

    /// With `yes`, a compressed input that ends early or is corrupted gives the records
    /// read whole before the damage, and the damage is listed in the chunk (see
    /// [`RawChunk::take_damage`]); without, it is an [`Error::Damaged`].
    #[must_use]
    pub fn salvage(mut self, yes: bool) -> Self {
        self.salvage = yes;
        self
    }

    /// The inputs being read.
    #[must_use]
    pub fn files(&self) -> &[InputFile] {
        &self.files
    }

    /// A reader with the same options over input `i` alone, whose records keep their
    /// index `i`.
    fn only(&self, i: usize) -> RecordReader {
        let mut r = RecordReader::new(self.files[..=i].to_vec())
            .max_record_bytes(self.limit)
            .salvage(self.salvage);
        r.next_file = i;
        r
    }

    /// Bytes consumed so far (decompressed size for gzip input).
    #[must_use]
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads the next records, stopping after about `max_bytes` or at the end.
    /// An empty chunk means the end of all inputs.
    ///
    /// # Errors
    /// As [`RecordReader::next_block_into`].
    pub fn next_chunk(&mut self, max_bytes: usize) -> Result<Vec<RawRecord>> {
        Ok(self.next_block(max_bytes)?.to_records())
    }

    /// Reads the next records as one block, stopping after about `max_bytes` or at the
    /// end. An empty chunk means the end of all inputs.
    ///
    /// # Errors
    /// As [`RecordReader::next_block_into`].
    pub fn next_block(&mut self, max_bytes: usize) -> Result<RawChunk> {
        self.next_block_into(max_bytes, RawChunk::default())
    }

    fn location(&self, file: u32, line: u64) -> Location {
        Location {
            path: self.files[file as usize].path.clone(),
            line,
        }
    }

    /// [`RecordReader::next_block`] into the memory of a chunk done with.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file that could not be opened or read;
    /// [`Error::RecordTooLong`] for a record over the limit; [`Error::Damaged`] for a
    /// compressed input that ends early or is corrupted (unless salvaging);
    /// [`Error::InvalidJson`] for a `.json` file that is not JSON (unless salvaging).
    pub fn next_block_into(&mut self, max_bytes: usize, mut chunk: RawChunk) -> Result<RawChunk> {
        /// The least read from a file at a time.
        const MIN_READ: usize = 64 << 10;
        chunk.data.clear();
        chunk.spans.clear();
        chunk.damage.clear();
        chunk.warc = crate::io::warc::WarcStats::default();
        while chunk.data.len() < max_bytes {
            if let Some((file, wet, reader, counted)) = self.warc.as_mut() {
                let start = chunk.data.len();
                let page = self
                    .pages
                    .next_page(reader, *wet, &mut chunk.data, &mut chunk.warc)?;
                self.bytes_read += reader.position() - *counted;
                *counted = reader.position();
                match page {
                    Some(offset) => chunk.spans.push(Span {
                        file: *file,
                        line: offset,
                        start,
                        end: chunk.data.len(),
                        term: chunk.data.len(),
                    }),
                    None => self.warc = None,
                }
                continue;
            }
            if self.current.is_none() && !self.open_next(&mut chunk)? {
                break;
            }
            let Some((file, reader)) = self.current.as_mut() else {
                continue;
            };
            let file = *file;
            let start = chunk.data.len();
            chunk.data.extend_from_slice(&self.carry);
            // At least as much as carried over, so that a very long line is read in
            // geometrically growing pieces.
            let want = (max_bytes.saturating_sub(chunk.data.len()))
                .max(MIN_READ)
                .max(self.carry.len());
            self.carry.clear();
            let before = chunk.data.len();
            let damaged = match reader.take(want as u64).read_to_end(&mut chunk.data) {
                Ok(_) => None,
                Err(e) if self.files[file as usize].kind.compressed() => Some(e),
                Err(e) => return Err(Error::io(self.files[file as usize].path.clone(), e)),
            };
            let n = chunk.data.len() - before;
            self.bytes_read += n as u64;
            if self.at_start {
                self.at_start = false;
                if chunk.data[start..].starts_with(BOM) {
                    chunk.data.drain(start..start + BOM.len());
                }
            }
            let eof = n < want || damaged.is_some();
            // Whole lines only; the start of an unfinished one waits for the next read
            // (or, in a damaged input, is dropped).
            let end = if eof && damaged.is_none() {
                chunk.data.len()
            } else {
                match chunk.data[start..].iter().rposition(|&b| b == b'\n') {
                    Some(p) => start + p + 1,
                    None => start,
                }
            };
            if damaged.is_none() {
                self.carry.extend_from_slice(&chunk.data[end..]);
            }
            chunk.data.truncate(end);
            let mut at = start;
            while at < end {
                let stop = find_newline(&chunk.data[at..end]).map_or(end, |p| at + p);
                let next = (stop + 1).min(end);
                self.line += 1;
                let mut last = stop;
                while last > at && matches!(chunk.data[last - 1], b'\n' | b'\r') {
                    last -= 1;
                }
                if (last - at) as u64 > self.limit {
                    return Err(Error::RecordTooLong {
                        at: self.location(file, self.line),
                        limit: self.limit,
                    });
                }
                if !chunk.data[at..last].iter().all(u8::is_ascii_whitespace) {
                    chunk.spans.push(Span {
                        file,
                        line: self.line,
                        start: at,
                        end: last,
                        term: next,
                    });
                }
                at = next;
            }
            if self.carry.len() as u64 > self.limit {
                return Err(Error::RecordTooLong {
                    at: self.location(file, self.line + 1),
                    limit: self.limit,
                });
            }
            if let Some(e) = damaged {
                self.carry.clear();
                let err = Error::Damaged {
                    at: self.location(file, self.line + 1),
                    message: format!(
                        "compressed data ends early or is corrupted ({e}); {} lines before it were read",
                        self.line
                    ),
                };
                if !self.salvage {
                    return Err(err);
                }
                chunk.damage.push(err);
            }
            if eof {
                self.current = None;
            }
        }
        Ok(chunk)
    }

    /// Reads a whole file (a text document or a `.json` file) through `reader`, up to
    /// the limit. `Ok(None)` when a compressed file is damaged and salvaging (the
    /// damage is listed in `chunk`).
    fn read_whole(
        &mut self,
        idx: u32,
        reader: &mut dyn Read,
        chunk: &mut RawChunk,
    ) -> Result<Option<Vec<u8>>> {
        let f = &self.files[idx as usize];
        let mut bytes = Vec::new();
        if let Err(e) = reader.take(self.limit + 1).read_to_end(&mut bytes) {
            if !f.kind.compressed() {
                return Err(Error::io(&f.path, e));
            }
            let err = Error::Damaged {
                at: self.location(idx, 1),
                message: format!("compressed data ends early or is corrupted ({e})"),
            };
            if !self.salvage {
                return Err(err);
            }
            chunk.damage.push(err);
            return Ok(None);
        }
        self.bytes_read += bytes.len() as u64;
        if bytes.len() as u64 > self.limit {
            return Err(Error::RecordTooLong {
                at: self.location(idx, 1),
                limit: self.limit,
            });
        }
        if bytes.starts_with(BOM) {
            bytes.drain(..BOM.len());
        }
        Ok(Some(bytes))
    }

    /// Splits a `.json` file into its records: the elements of an array, or the one
    /// value. Line breaks between tokens become spaces, so that each record is one line
    /// of JSON Lines when copied.
    fn push_json(&self, idx: u32, bytes: &[u8], chunk: &mut RawChunk) -> Result<()> {
        use serde_json::value::RawValue;
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        let parsed: std::result::Result<Vec<&RawValue>, _> = if first == Some(&b'[') {
            serde_json::from_slice(bytes)
        } else {
            serde_json::from_slice::<&RawValue>(bytes).map(|v| vec![v])
        };
        let values = match parsed {
            Ok(v) => v,
            Err(e) => {
                let err = Error::InvalidJson {
                    at: self.location(idx, e.line() as u64),
                    message: format!(
                        "{} (a .json file holds an array of records)",
                        strip_position(&e.to_string())
                    ),
                };
                if !self.salvage {
                    return Err(err);
                }
                chunk.damage.push(err);
                return Ok(());
            }
        };
        for (k, v) in values.into_iter().enumerate() {
            let start = chunk.data.len();
            chunk.data.extend(
                v.get()
                    .bytes()
                    .map(|b| if b == b'\n' || b == b'\r' { b' ' } else { b }),
            );
            let end = chunk.data.len();
            chunk.spans.push(Span {
                file: idx,
                line: k as u64 + 1,
                start,
                end,
                term: end,
            });
        }
        Ok(())
    }

    /// Opens the next file; a text or `.json` file is read whole into `chunk` at once.
    /// Returns false when no file is left.
    fn open_next(&mut self, chunk: &mut RawChunk) -> Result<bool> {
        let Some(f) = self.files.get(self.next_file).cloned() else {
            return Ok(false);
        };
        let idx = u32::try_from(self.next_file).expect("fewer than 2^32 inputs");
        self.next_file += 1;
        self.line = 0;
        self.at_start = true;
        let open = |p: &Path| File::open(p).map_err(|e| Error::io(p, e));
        match &f.kind {
            InputKind::Text { .. } => {
                let Some(bytes) = self.read_whole(idx, &mut open(&f.path)?, chunk)? else {
                    return Ok(true);
                };
                let start = chunk.data.len();
                chunk.data.extend_from_slice(&bytes);
                chunk.spans.push(Span {
                    file: idx,
                    line: 1,
                    start,
                    end: chunk.data.len(),
                    term: chunk.data.len(),
                });
            }
            InputKind::Json | InputKind::JsonGz => {
                let file = open(&f.path)?;
                let read = if f.kind == InputKind::JsonGz {
                    self.read_whole(idx, &mut MultiGzDecoder::new(file), chunk)?
                } else {
                    self.read_whole(idx, &mut { file }, chunk)?
                };
                if let Some(bytes) = read {
                    self.push_json(idx, &bytes, chunk)?;
                }
            }
            InputKind::Jsonl => {
                self.current = Some((idx, Box::new(open(&f.path)?)));
            }
            InputKind::JsonlGz => {
                self.current = Some((idx, Box::new(MultiGzDecoder::new(open(&f.path)?))));
            }
            InputKind::Stdin => {
                self.current = Some((idx, Box::new(std::io::stdin())));
            }
            InputKind::Warc | InputKind::Wet => {
                let input: Box<dyn Read + Send> = if f.path.as_os_str() == "-" {
                    Box::new(std::io::stdin())
                } else {
                    Box::new(open(&f.path)?)
                };
                let reader = crate::io::warc::WarcReader::new(&f.path, input)?;
                self.warc = Some((idx, f.kind == InputKind::Wet, reader, 0));
            }
        }
        Ok(true)
    }
}

/// The records to copy: (input file, line) → [`record_digest`] of the bytes analysed.
pub type KeptRecords = std::collections::HashMap<(u32, u64), u64>;

/// Copies the records of `reader`'s inputs listed in `kept` to `out`, byte for byte with
/// their line terminators (`\r\n` stays `\r\n`; a last line without one gets `\n`),
/// one per line. A plain-text document has no record and is written as `{"id", "text"}`.
/// A WARC or WET file's kept pages are copied as their very bytes (the same gzip
/// members), with the request and metadata records that go with them and the file's
/// `warcinfo` records (see [`crate::io::warc`]).
/// Each record copied is checked against its digest, and every record listed must be
/// found: an input changed since the analysis is an error, never a wrong output.
/// Returns the number of records copied.
///
/// # Errors
/// [`Error::InputChanged`] naming the record that differs or is gone; the reader's
/// errors; what writing to `out` returns (as [`Error::Io`] naming `out_name`).
///
/// # Panics
/// With 2^32 inputs or more (the reader cannot have that many).
pub fn copy_records(
    reader: RecordReader,
    kept: &KeptRecords,
    out: &mut dyn std::io::Write,
    out_name: &Path,
) -> Result<u64> {
    let files = reader.files().to_vec();
    let warc = |f: &InputFile| matches!(f.kind, InputKind::Warc | InputKind::Wet);
    let mut met = std::collections::HashSet::with_capacity(kept.len());
    if files.iter().any(warc) {
        // File by file, in order: a WARC file is copied by records, the others by lines.
        for (i, f) in files.iter().enumerate() {
            if warc(f) {
                let idx = u32::try_from(i).expect("fewer than 2^32 inputs");
                crate::io::warc::copy_kept(f, idx, kept, &mut met, out, out_name)?;
            } else {
                copy_lines(reader.only(i), kept, &mut met, out, out_name)?;
            }
        }
    } else {
        copy_lines(reader, kept, &mut met, out, out_name)?;
    }
    if met.len() != kept.len() {
        // Which record is gone: the first listed that was not met.
        let (file, line) = kept
            .keys()
            .filter(|k| !met.contains(k))
            .min()
            .copied()
            .unwrap_or_default();
        return Err(Error::InputChanged {
            at: Location {
                path: files[file as usize].path.clone(),
                line,
            },
            message: format!(
                "{} of the {} records kept are gone or changed since the analysis (the input \
                 changed during the run)",
                kept.len() - met.len(),
                kept.len()
            ),
        });
    }
    Ok(met.len() as u64)
}

/// [`copy_records`] of line-based inputs: the records copied are added to `met`.
fn copy_lines(
    mut reader: RecordReader,
    kept: &KeptRecords,
    met: &mut std::collections::HashSet<(u32, u64)>,
    out: &mut dyn std::io::Write,
    out_name: &Path,
) -> Result<()> {
    let w = |e| Error::io(out_name, e);
    let files = reader.files().to_vec();
    loop {
        let chunk = reader.next_block(8 << 20)?;
        if chunk.is_empty() {
            return Ok(());
        }
        for i in 0..chunk.len() {
            let raw = chunk.get(i);
            let Some(&digest) = kept.get(&(raw.file, raw.line)) else {
                continue;
            };
            if record_digest(raw.bytes) != digest {
                return Err(Error::InputChanged {
                    at: Location {
                        path: files[raw.file as usize].path.clone(),
                        line: raw.line,
                    },
                    message: "this record changed since it was analysed; nothing was written"
                        .into(),
                });
            }
            met.insert((raw.file, raw.line));
            if let InputKind::Text { id } = &files[raw.file as usize].kind {
                let text = String::from_utf8_lossy(raw.bytes);
                serde_json::to_writer(&mut *out, &serde_json::json!({"id": id, "text": text}))
                    .map_err(|e| w(e.into()))?;
                out.write_all(b"\n").map_err(w)?;
            } else {
                out.write_all(raw.bytes).map_err(w)?;
                let term = chunk.terminator(i);
                out.write_all(term).map_err(w)?;
                if term.last() != Some(&b'\n') {
                    out.write_all(b"\n").map_err(w)?;
                }
            }
        }
    }
}

/// A parsed record and what was noticed while parsing it.
#[derive(Debug, Clone)]
pub struct Parsed {
    /// The document.
    pub doc: Document,
    /// The text file was not valid UTF-8 and was decoded lossily.
    pub lossy: bool,
    /// A date was present but not understood (the document has no timestamp).
    pub bad_date: bool,
}

/// A parsed record whose text is borrowed: from the raw bytes when it needed no
/// unescaping, else from a buffer of the caller's.
#[derive(Debug, Clone)]
pub struct ParsedRef<'a> {
    /// The id.
    pub id: String,
    /// The body.
    pub text: &'a str,
    /// The headline, when present and not blank.
    pub title: Option<String>,
    /// Publication time, if known.
    pub timestamp: Option<i64>,
    /// The text file was not valid UTF-8 and was decoded lossily.
    pub lossy: bool,
    /// A date was present but not understood (the document has no timestamp).
    pub bad_date: bool,
}

/// Parses one raw record.
///
/// # Errors
/// [`Error::InvalidJson`] for a line that is not a JSON object, and
/// [`Error::InvalidRecord`] for one whose id or text is missing or of the wrong type;
/// both name the file and line.
pub fn parse_record(raw: &RawRecord, files: &[InputFile], fields: &FieldNames) -> Result<Parsed> {
    let mut buf = String::new();
    let raw = RawRef {
        file: raw.file,
        line: raw.line,
        bytes: &raw.bytes,
    };
    let p = parse_raw(raw, files, fields, &mut buf)?;
    Ok(Parsed {
        doc: Document {
            id: p.id,
            text: p.text.to_owned(),
            title: p.title,
            timestamp: p.timestamp,
        },
        lossy: p.lossy,
        bad_date: p.bad_date,
    })
}

/// [`parse_record`] without copying the text: it is borrowed from `raw` when it needs
/// no unescaping, else unescaped into `buf` (whose memory is reused).
///
/// # Errors
/// As [`parse_record`].
pub fn parse_raw<'a>(
    raw: RawRef<'a>,
    files: &[InputFile],
    fields: &FieldNames,
    buf: &'a mut String,
) -> Result<ParsedRef<'a>> {
    let input = &files[raw.file as usize];
    let at = || Location {
        path: input.path.clone(),
        line: raw.line,
    };
    if matches!(input.kind, InputKind::Warc | InputKind::Wet) {
        let (id, title, timestamp, bad_date) = crate::io::warc::page_fields(raw.bytes, buf);
        return Ok(ParsedRef {
            id,
            text: buf.as_str(),
            title,
            timestamp,
            lossy: false,
            bad_date,
        });
    }
    if let InputKind::Text { id } = &input.kind {
        let (text, lossy) = if let Ok(s) = std::str::from_utf8(raw.bytes) {
            (s, false)
        } else {
            buf.clear();
            buf.push_str(&String::from_utf8_lossy(raw.bytes));
            (buf.as_str(), true)
        };
        return Ok(ParsedRef {
            id: id.clone(),
            text,
            title: None,
            timestamp: None,
            lossy,
            bad_date: false,
        });
    }
    let mut de = serde_json::Deserializer::from_slice(raw.bytes);
    let rec = RecordSeed {
        fields,
        text: &mut *buf,
    }
    .deserialize(&mut de)
    .and_then(|r| de.end().map(|()| r))
    .map_err(|e| Error::InvalidJson {
        at: at(),
        message: strip_position(&e.to_string()),
    })?;
    let missing = |field: &str, what: &str| Error::InvalidRecord {
        at: at(),
        message: format!("field {field:?} {what}"),
    };
    let id = match rec.id {
        Field::Value(id) => id,
        Field::WrongType => return Err(missing(&fields.id, "must be a string or a number")),
        Field::Missing => return Err(missing(&fields.id, "is missing")),
    };
    let text = match rec.text {
        Field::Value(Text::Borrowed(t)) => t,
        Field::Value(Text::Buffered) => buf.as_str(),
        Field::WrongType => return Err(missing(&fields.text, "must be a string")),
        Field::Missing => return Err(missing(&fields.text, "is missing")),
    };
    let (timestamp, bad_date) = match rec.date.as_deref() {
        Some(d) if !d.trim().is_empty() => match parse_date(d) {
            Some(t) => (Some(t), false),
            None => (None, true),
        },
        _ => (None, false),
    };
    Ok(ParsedRef {
        id,
        text,
        title: rec.title.filter(|t| !t.trim().is_empty()),
        timestamp,
        lossy: false,
        bad_date,
    })
}

/// `serde_json` appends "at line 1 column N"; the line is ours, the column is kept.
fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line 1 column ") {
        Some(i) => format!(
            "{} (column {})",
            &msg[..i],
            &msg[i + " at line 1 column ".len()..]
        ),
        None => msg.to_owned(),
    }
}

/// A required field as found in a record.
#[derive(Default)]
enum Field<T> {
    #[default]
    Missing,
    WrongType,
    Value(T),
}

/// Where a record's text is: in the record itself (no escapes), or unescaped into the
/// caller's buffer.
enum Text<'de> {
    Borrowed(&'de str),
    Buffered,
}

/// The fields of a record.
#[derive(Default)]
struct RawFields<'de> {
    id: Field<String>,
    text: Field<Text<'de>>,
    title: Option<String>,
    date: Option<String>,
}

/// Reads only the named fields of a JSON object and skips the rest without allocating.
struct RecordSeed<'a> {
    fields: &'a FieldNames,
    /// Where an escaped text is unescaped to.
    text: &'a mut String,
}

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = RawFields<'de>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<RawFields<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = RawFields<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFields<'de>, A::Error> {
        let mut out = RawFields::default();
        let names = self.fields;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let k = key.as_ref();
            if k == names.id {
                out.id = match map.next_value::<serde_json::Value>()? {
                    serde_json::Value::String(s) => Field::Value(s),
                    serde_json::Value::Number(n) => Field::Value(n.to_string()),
                    _ => Field::WrongType,
                };
            } else if k == names.text {
                out.text = match map.next_value_seed(TextSeed(&mut *self.text))? {
                    Some(t) => Field::Value(t),
                    None => Field::WrongType,
                };
            } else if k == names.title {
                out.title = map.next_value::<Option<String>>()?;
            } else if k == names.date {
                out.date = match map.next_value::<serde_json::Value>()? {
                    serde_json::Value::String(s) => Some(s),
                    _ => None,
                };
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(out)
    }
}

/// Reads the text as `Option<String>` would (same errors), but borrows it when it has no
/// escapes and otherwise unescapes it into a reused buffer.
struct TextSeed<'a>(&'a mut String);

impl<'de> DeserializeSeed<'de> for TextSeed<'_> {
    type Value = Option<Text<'de>>;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_option(self)
    }
}

impl<'de> Visitor<'de> for TextSeed<'_> {
    type Value = Option<Text<'de>>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("option")
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_string(TextVisitor(self.0)).map(Some)
    }
}

/// The string inside [`TextSeed`].
struct TextVisitor<'a>(&'a mut String);

impl<'de> Visitor<'de> for TextVisitor<'_> {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: serde::de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
        Ok(Text::Borrowed(v))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Text<'de>, E> {
        self.0.clear();
        self.0.push_str(v);
        Ok(Text::Buffered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<Parsed> {
        let files = vec![InputFile {
            path: "in.jsonl".into(),
            kind: InputKind::Jsonl,
        }];
        let raw = RawRecord {
            file: 0,
            line: 7,
            bytes: line.as_bytes().to_vec(),
        };
        parse_record(&raw, &files, &FieldNames::default())
    }

    #[test]
    fn reads_fields() {
        let p = parse(r#"{"id": 5, "text": "hi", "title": "T", "date": "2026-01-02", "x": [1]}"#)
            .unwrap();
        assert_eq!(p.doc.id, "5");
        assert_eq!(p.doc.text, "hi");
        assert_eq!(p.doc.title.as_deref(), Some("T"));
        assert!(p.doc.timestamp.is_some());
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = parse("{not json").unwrap_err().to_string();
        assert!(e.starts_with("in.jsonl:7: invalid JSON"), "{e}");
        let e = parse(r#"{"id": "a"}"#).unwrap_err().to_string();
        assert_eq!(e, r#"in.jsonl:7: field "text" is missing"#);
        let e = parse(r#"{"id": "a", "text": 3}"#).unwrap_err().to_string();
        assert!(e.starts_with("in.jsonl:7: invalid JSON"), "{e}");
        let e = parse(r#"{"text": "x"}"#).unwrap_err().to_string();
        assert_eq!(e, r#"in.jsonl:7: field "id" is missing"#);
        let e = parse(r#"{"id": "a", "text": null}"#)
            .unwrap_err()
            .to_string();
        assert_eq!(e, r#"in.jsonl:7: field "text" must be a string"#);
        assert!(parse("[1,2]").is_err());
    }

    #[test]
    fn unknown_date_is_flagged() {
        let p = parse(r#"{"id": "a", "text": "x", "date": "someday"}"#).unwrap();
        assert!(p.bad_date);
        assert_eq!(p.doc.timestamp, None);
    }

    #[test]
    fn blocks_split_lines_as_read_until_would() {
        use std::io::BufRead;
        let dir = tempfile::tempdir().unwrap();
        let long = "x".repeat(200_000);
        let text = format!("a\r\n\n  \t\nb\r\r\n{long}\n\nc\rd\n \nlast\r");
        let mut files = Vec::new();
        for (k, body) in [text.as_str(), "", "one\n", "tail"].iter().enumerate() {
            let path = dir.path().join(format!("{k}.jsonl"));
            std::fs::write(&path, body).unwrap();
            files.push(InputFile {
                path,
                kind: InputKind::Jsonl,
            });
        }
        // The reference: one `read_until` per line, as the reader used to.
        let mut want = Vec::new();
        for (k, f) in files.iter().enumerate() {
            let mut r = std::io::BufReader::new(File::open(&f.path).unwrap());
            let mut line = 0;
            loop {
                let mut buf = Vec::new();
                if r.read_until(b'\n', &mut buf).unwrap() == 0 {
                    break;
                }
                line += 1;
                while buf.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                    buf.pop();
                }
                if !buf.iter().all(u8::is_ascii_whitespace) {
                    want.push((k as u32, line, buf));
                }
            }
        }
        for max in [1, 7, 64, 100_000, 1 << 20] {
            let mut reader = RecordReader::new(files.clone());
            let mut got = Vec::new();
            loop {
                let chunk = reader.next_block(max).unwrap();
                if chunk.is_empty() {
                    break;
                }
                got.extend(chunk.iter().map(|r| (r.file, r.line, r.bytes.to_vec())));
            }
            assert_eq!(got, want, "max {max}");
        }
    }
}
