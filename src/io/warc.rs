//! WARC input (`*.warc`, `*.warc.gz`, WET): records read one at a time, classified by
//! kind, and the kept ones copied back out byte for byte.
//!
//! A gzip WARC file is read one gzip member at a time (Common Crawl, Heritrix and wget
//! write one member per record), so that a record's place in the file is the offset of
//! its member and a kept record can be copied as the very same bytes. A member holding
//! several records is read whole and its records share the member's offset. A member cut
//! short or corrupted, or a record with a bad header, is reported with the file and byte
//! offset and skipped; reading goes on at the next member (or, in a plain file, at the
//! next line starting with `WARC/`).
//!
//! The reader only looks at headers: only HTML 200 responses (and WET conversion
//! records) go on to be decoded and extracted, in parallel, by [`parse_page`].

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::document::parse_date;
use crate::error::{Error, Location, Result};
use crate::io::extract;
use crate::io::read::{InputFile, InputKind, KeptRecords, record_digest};

/// The largest record (or gzip member) read; a larger one is reported as broken.
const MAX_RECORD: u64 = 1 << 30;
/// The longest WARC header block read.
const MAX_HEADER: usize = 1 << 20;
/// How many broken records are quoted in [`WarcStats::broken_examples`].
const EXAMPLES: usize = 5;

/// The kind of a file read by its name: `*.warc`, `*.warc.gz` (WARC), `*.wet`,
/// `*.wet.gz`, `*.warc.wet.gz` (WET).
pub(crate) fn kind_of_name(name: &str) -> Option<InputKind> {
    let name = name.to_ascii_lowercase();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    let ext = Path::new(name).extension()?;
    if ext == "wet" {
        Some(InputKind::Wet)
    } else if ext == "warc" {
        Some(InputKind::Warc)
    } else {
        None
    }
}

/// Reads every input (standard input too) as WARC, or as WET when `wet`, whatever its
/// name (`--input-format`).
pub fn set_kind(files: &mut [InputFile], wet: bool) {
    for f in files {
        f.kind = if wet { InputKind::Wet } else { InputKind::Warc };
    }
}

/// The name of the nightly job's file of kept records: `kept.jsonl`, or, when every
/// input is WARC or WET, `kept.warc.gz` (`kept.warc` when none is compressed).
#[must_use]
pub fn kept_name(files: &[InputFile]) -> &'static str {
    let warc = |f: &InputFile| matches!(f.kind, InputKind::Warc | InputKind::Wet);
    if files.is_empty() || !files.iter().all(warc) {
        "kept.jsonl"
    } else if files.iter().any(|f| {
        f.path
            .to_string_lossy()
            .to_ascii_lowercase()
            .ends_with(".gz")
    }) {
        "kept.warc.gz"
    } else {
        "kept.warc"
    }
}

/// What the WARC reader skipped, counted by kind, and the pages it passed on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WarcStats {
    /// WARC records read in all (pages, skipped and broken).
    pub records: u64,
    /// HTML 200 responses (and WET conversion records) passed on as documents.
    pub pages: u64,
    /// `request` records.
    pub request: u64,
    /// `metadata` records.
    pub metadata: u64,
    /// `revisit` records (a re-crawl that stored no new payload).
    pub revisit: u64,
    /// `warcinfo` records.
    pub warcinfo: u64,
    /// Other record types (`resource`, `continuation`, …), and conversion records of a
    /// WARC file read as such.
    pub other: u64,
    /// Responses with a 3xx status.
    pub redirect: u64,
    /// Responses with any other status than 200 (or none).
    pub non_200: u64,
    /// 200 responses that are not HTML (images, scripts, PDFs, `dns:` records, …).
    pub non_html: u64,
    /// Pages whose URI was already read in this run (the first capture is kept).
    pub repeated_uri: u64,
    /// Records that could not be read: cut short, bad header, corrupted gzip member.
    pub broken: u64,
    /// The first broken records, with file and byte offset.
    pub broken_examples: Vec<String>,
}

impl WarcStats {
    /// True when no WARC record was read.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.records == 0 && self.broken == 0
    }

    /// Adds the counts of `other` to these.
    pub fn add(&mut self, other: &WarcStats) {
        self.records += other.records;
        self.pages += other.pages;
        self.request += other.request;
        self.metadata += other.metadata;
        self.revisit += other.revisit;
        self.warcinfo += other.warcinfo;
        self.other += other.other;
        self.redirect += other.redirect;
        self.non_200 += other.non_200;
        self.non_html += other.non_html;
        self.repeated_uri += other.repeated_uri;
        self.broken += other.broken;
        for e in &other.broken_examples {
            if self.broken_examples.len() < EXAMPLES {
                self.broken_examples.push(e.clone());
            }
        }
    }

    /// The skipped kinds and their counts, in a fixed order, leaving out zeros.
    #[must_use]
    pub fn skipped(&self) -> Vec<(&'static str, u64)> {
        [
            ("request", self.request),
            ("metadata", self.metadata),
            ("revisit", self.revisit),
            ("warcinfo", self.warcinfo),
            ("other type", self.other),
            ("redirect", self.redirect),
            ("non-200", self.non_200),
            ("non-HTML", self.non_html),
            ("repeated URI", self.repeated_uri),
            ("broken", self.broken),
        ]
        .into_iter()
        .filter(|&(_, n)| n > 0)
        .collect()
    }

    fn broken(&mut self, path: &Path, offset: u64, message: String) {
        self.broken += 1;
        if self.broken_examples.len() < EXAMPLES {
            let e = Error::WarcRecord {
                path: path.to_path_buf(),
                offset,
                message,
            };
            self.broken_examples.push(e.to_string());
        }
    }
}

/// A reader that counts the bytes consumed, so that gzip member offsets are known.
struct Counting<R> {
    inner: BufReader<R>,
    pos: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read> BufRead for Counting<R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, n: usize) {
        self.pos += n as u64;
        self.inner.consume(n);
    }
}

/// One record as found in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// A record, now in [`WarcReader::record`]: where its bytes start in the file (its
    /// gzip member's start) and end (its member's end), and its header's length.
    Record {
        offset: u64,
        end: u64,
        header_len: usize,
    },
    /// A record that could not be read (counted in the stats given).
    Broken,
    /// The end of the file.
    End,
}

/// How a record parse ended.
enum Parse {
    Eof,
    Ok { header_len: usize },
    Bad(String),
}

/// Reads the WARC records of one file, gzip (detected by its magic bytes) or plain.
pub(crate) struct WarcReader {
    path: PathBuf,
    src: Counting<Box<dyn Read + Send>>,
    gzip: bool,
    /// The decompressed member being read, its place in the file, and the read position.
    member: Vec<u8>,
    member_at: (u64, u64),
    cursor: usize,
    /// The bytes of the last record returned.
    record: Vec<u8>,
    /// A plain file after a bad record: skip to the next line starting with `WARC/`.
    resync: bool,
    done: bool,
}

impl WarcReader {
    /// A reader of `input`, named `path` in messages.
    ///
    /// # Errors
    /// [`Error::Io`] when the start of the input cannot be read.
    pub(crate) fn new(path: &Path, input: Box<dyn Read + Send>) -> Result<Self> {
        let mut src = Counting {
            inner: BufReader::with_capacity(256 << 10, input),
            pos: 0,
        };
        let head = src.fill_buf().map_err(|e| Error::io(path, e))?;
        let gzip = head.starts_with(&[0x1f, 0x8b]);
        Ok(WarcReader {
            path: path.to_path_buf(),
            src,
            gzip,
            member: Vec::new(),
            member_at: (0, 0),
            cursor: 0,
            record: Vec::new(),
            resync: false,
            done: false,
        })
    }

    /// Bytes of the file consumed so far.
    pub(crate) fn position(&self) -> u64 {
        self.src.pos
    }

    /// The bytes (header and block) of the last record returned by [`Self::next_raw`].
    pub(crate) fn record(&self) -> &[u8] {
        &self.record
    }

    /// The next record of the file, broken ones counted in `stats`.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read (not for bad content).
    pub(crate) fn next_raw(&mut self, stats: &mut WarcStats) -> Result<Next> {
        if self.gzip {
            self.next_gz(stats)
        } else {
            self.next_plain(stats)
        }
    }

    fn next_plain(&mut self, stats: &mut WarcStats) -> Result<Next> {
        let path = self.path.clone();
        let io = |e| Error::io(&path, e);
        if self.done || !skip_to_record(&mut self.src, self.resync).map_err(io)? {
            return Ok(Next::End);
        }
        self.resync = false;
        let offset = self.src.pos;
        self.record.clear();
        match read_record(&mut self.src, &mut self.record).map_err(io)? {
            Parse::Eof => Ok(Next::End),
            Parse::Ok { header_len } => Ok(Next::Record {
                offset,
                end: self.src.pos,
                header_len,
            }),
            Parse::Bad(message) => {
                stats.records += 1;
                stats.broken(&self.path, offset, message);
                self.resync = true;
                Ok(Next::Broken)
            }
        }
    }

    fn next_gz(&mut self, stats: &mut WarcStats) -> Result<Next> {
        loop {
            if self.cursor < self.member.len() {
                let mut rest = &self.member[self.cursor..];
                let before = rest.len();
                self.record.clear();
                let parsed = read_record(&mut rest, &mut self.record);
                self.cursor += before - rest.len();
                let (offset, end) = self.member_at;
                match parsed.map_err(|e| Error::io(&self.path, e))? {
                    Parse::Eof => {}
                    Parse::Ok { header_len } => {
                        return Ok(Next::Record {
                            offset,
                            end,
                            header_len,
                        });
                    }
                    Parse::Bad(message) => {
                        // The rest of the member cannot be trusted.
                        self.cursor = self.member.len();
                        stats.records += 1;
                        stats.broken(&self.path, offset, message);
                        return Ok(Next::Broken);
                    }
                }
            }
            if self.done {
                return Ok(Next::End);
            }
            if self
                .src
                .fill_buf()
                .map_err(|e| Error::io(&self.path, e))?
                .is_empty()
            {
                self.done = true;
                return Ok(Next::End);
            }
            let start = self.src.pos;
            self.member.clear();
            self.cursor = 0;
            let res = flate2::bufread::GzDecoder::new(&mut self.src)
                .take(MAX_RECORD + 1)
                .read_to_end(&mut self.member);
            self.member_at = (start, self.src.pos);
            let problem = match res {
                Ok(n) if n as u64 > MAX_RECORD => Some(format!(
                    "gzip member larger than {MAX_RECORD} bytes (write one member per record)"
                )),
                Ok(_) => None,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    self.done = true;
                    Some("gzip member cut short: the file ends inside it".to_owned())
                }
                Err(e) => {
                    // Go on at the next gzip header.
                    self.skip_to_gzip_magic()?;
                    Some(format!("corrupted gzip member: {e}"))
                }
            };
            if let Some(message) = problem {
                self.member.clear();
                stats.records += 1;
                stats.broken(&self.path, start, message);
                return Ok(Next::Broken);
            }
        }
    }

    /// Skips to the next `1f 8b 08` (a gzip member's start), or to the end.
    fn skip_to_gzip_magic(&mut self) -> Result<()> {
        loop {
            let buf = self.src.fill_buf().map_err(|e| Error::io(&self.path, e))?;
            if buf.is_empty() {
                self.done = true;
                return Ok(());
            }
            if let Some(p) = buf.windows(3).position(|w| w == [0x1f, 0x8b, 0x08]) {
                self.src.consume(p);
                return Ok(());
            }
            // Keep the last two bytes: a magic may straddle two reads.
            let n = buf.len().saturating_sub(2).max(1);
            self.src.consume(n);
            if n < 3 {
                // Too little left to hold a member.
                let rest = self
                    .src
                    .fill_buf()
                    .map_err(|e| Error::io(&self.path, e))?
                    .len();
                if rest < 3 {
                    self.src.consume(rest);
                    self.done = true;
                    return Ok(());
                }
            }
        }
    }
}

/// Skips the blank lines between records (and, after a bad record, every line up to the
/// next one starting with `WARC/`). False at the end of the input.
fn skip_to_record(r: &mut impl BufRead, resync: bool) -> std::io::Result<bool> {
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return Ok(false);
        }
        if buf.starts_with(b"WARC/") {
            return Ok(true);
        }
        if matches!(buf[0], b'\r' | b'\n') {
            r.consume(1);
        } else if resync {
            let mut line = Vec::new();
            r.read_until(b'\n', &mut line)?;
        } else {
            return Ok(true);
        }
    }
}

/// Reads one record (version line, headers, `Content-Length` bytes of block, and the
/// blank lines after it) into `out`.
fn read_record(r: &mut impl BufRead, out: &mut Vec<u8>) -> std::io::Result<Parse> {
    // Blank lines before a record (some writers put more than the two CRLFs).
    loop {
        let buf = r.fill_buf()?;
        match buf.first() {
            None => return Ok(Parse::Eof),
            Some(b'\r' | b'\n') => r.consume(1),
            Some(_) => break,
        }
    }
    let n = r.read_until(b'\n', out)?;
    if !out.starts_with(b"WARC/") {
        let line = String::from_utf8_lossy(&out[..n.min(40)]);
        return Ok(Parse::Bad(format!(
            "not a WARC record: starts with {:?}",
            line.trim_end()
        )));
    }
    loop {
        let start = out.len();
        let n = r.read_until(b'\n', out)?;
        if n == 0 {
            return Ok(Parse::Bad("record cut short in its header".into()));
        }
        if matches!(&out[start..], b"\r\n" | b"\n") {
            break;
        }
        if out.len() > MAX_HEADER {
            return Ok(Parse::Bad(format!(
                "WARC header longer than {MAX_HEADER} bytes"
            )));
        }
    }
    let header_len = out.len();
    let Some(len) = header(&out[..header_len], "content-length") else {
        return Ok(Parse::Bad("no Content-Length header".into()));
    };
    let Ok(len) = len.trim().parse::<u64>() else {
        return Ok(Parse::Bad(format!("bad Content-Length {len:?}")));
    };
    if len > MAX_RECORD {
        return Ok(Parse::Bad(format!(
            "Content-Length {len} larger than {MAX_RECORD}"
        )));
    }
    let got = r.take(len).read_to_end(out)? as u64;
    if got < len {
        return Ok(Parse::Bad(format!(
            "record cut short: {got} of {len} bytes of block"
        )));
    }
    // The two CRLFs that end a record (leniently: up to four CR or LF bytes).
    for _ in 0..4 {
        match r.fill_buf()?.first() {
            Some(b'\r' | b'\n') => r.consume(1),
            _ => break,
        }
    }
    Ok(Parse::Ok { header_len })
}

/// The header lines of a WARC or HTTP header block (after its first line).
fn header_lines(block: &[u8]) -> impl Iterator<Item = (&str, &str)> {
    block.split(|&b| b == b'\n').skip(1).filter_map(|line| {
        let line = std::str::from_utf8(line).ok()?;
        let (name, value) = line.split_once(':')?;
        Some((name.trim(), value.trim()))
    })
}

/// The value of the first header `name` (case-insensitive) of a header block.
fn header<'a>(block: &'a [u8], name: &str) -> Option<&'a str> {
    header_lines(block)
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
}

/// `<uri>` (WARC/0.17–0.18 and some writers) or `uri`.
fn strip_angle(uri: &str) -> &str {
    uri.strip_prefix('<')
        .and_then(|u| u.strip_suffix('>'))
        .unwrap_or(uri)
}

/// The HTTP response in a response record's block: status, header block, body.
struct Http<'a> {
    status: Option<u16>,
    head: &'a [u8],
    body: &'a [u8],
}

fn http(block: &[u8]) -> Http<'_> {
    let end = find(block, b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| find(block, b"\n\n").map(|p| p + 2))
        .unwrap_or(block.len());
    let head = &block[..end];
    let status = head
        .strip_prefix(b"HTTP/")
        .and_then(|s| s.split(|&b| b == b' ').nth(1))
        .and_then(|s| std::str::from_utf8(s).ok())
        .and_then(|s| s.trim().parse().ok());
    Http {
        status,
        head,
        body: &block[end..],
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The `charset` parameter of a `Content-Type` value.
fn charset_of(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']))
    })
}

/// True when a body with this `Content-Type` (or none) is HTML.
fn is_html(content_type: Option<&str>, body: &[u8]) -> bool {
    if let Some(ct) = content_type {
        let mime = ct.split(';').next().unwrap_or("").trim();
        mime.eq_ignore_ascii_case("text/html") || mime.eq_ignore_ascii_case("application/xhtml+xml")
    } else {
        let start = String::from_utf8_lossy(&body[..body.len().min(512)]).to_lowercase();
        let start = start.trim_start_matches('\u{feff}').trim_start();
        start.starts_with("<!doctype html") || start.starts_with("<html")
    }
}

/// What a record is, as far as the reader can tell from its headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Page,
    Request,
    Metadata,
    Revisit,
    Warcinfo,
    Other,
    Redirect,
    Non200,
    NonHtml,
}

fn classify(record: &[u8], header_len: usize, wet: bool) -> Kind {
    let head = &record[..header_len];
    let ty = header(head, "warc-type").unwrap_or("");
    match ty.to_ascii_lowercase().as_str() {
        "response" if !wet => {
            let h = http(&record[header_len..]);
            match h.status {
                Some(200) if is_html(header(h.head, "content-type"), h.body) => Kind::Page,
                Some(200) => Kind::NonHtml,
                Some(300..=399) => Kind::Redirect,
                _ => Kind::Non200,
            }
        }
        "conversion" if wet => Kind::Page,
        "request" => Kind::Request,
        "metadata" => Kind::Metadata,
        "revisit" => Kind::Revisit,
        "warcinfo" => Kind::Warcinfo,
        _ => Kind::Other,
    }
}

/// Pages of WARC files, for [`crate::io::read::RecordReader`]: only HTML 200 responses
/// (WET: conversion records) are passed on, the rest counted; a URI already read in
/// this run is skipped.
#[derive(Default)]
pub(crate) struct PageFilter {
    seen: HashSet<u64>,
}

impl PageFilter {
    /// The next page of `reader`, appended to `out`; returns its offset, or `None` at the
    /// end of the file.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read.
    pub(crate) fn next_page(
        &mut self,
        reader: &mut WarcReader,
        wet: bool,
        out: &mut Vec<u8>,
        stats: &mut WarcStats,
    ) -> Result<Option<u64>> {
        loop {
            let (offset, header_len) = match reader.next_raw(stats)? {
                Next::End => return Ok(None),
                Next::Broken => continue,
                Next::Record {
                    offset, header_len, ..
                } => (offset, header_len),
            };
            stats.records += 1;
            let record = reader.record();
            let counter = match classify(record, header_len, wet) {
                Kind::Page => {
                    let uri =
                        header(&record[..header_len], "warc-target-uri").map_or("", strip_angle);
                    if self.seen.insert(xxhash_rust::xxh3::xxh3_64(uri.as_bytes())) {
                        stats.pages += 1;
                        out.extend_from_slice(record);
                        return Ok(Some(offset));
                    }
                    &mut stats.repeated_uri
                }
                Kind::Request => &mut stats.request,
                Kind::Metadata => &mut stats.metadata,
                Kind::Revisit => &mut stats.revisit,
                Kind::Warcinfo => &mut stats.warcinfo,
                Kind::Other => &mut stats.other,
                Kind::Redirect => &mut stats.redirect,
                Kind::Non200 => &mut stats.non_200,
                Kind::NonHtml => &mut stats.non_html,
            };
            *counter += 1;
        }
    }
}

/// A page read from a WARC record: the fields of a document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page {
    /// `WARC-Target-URI`.
    pub url: String,
    /// The headline (`og:title`, else `<title>` without the site name).
    pub title: Option<String>,
    /// The publication date as written in the page, else the `WARC-Date`.
    pub date: Option<String>,
    /// The main text.
    pub text: String,
}

/// Decodes and extracts a page record (an HTML 200 response, or a WET conversion record)
/// given whole (WARC header and block): transfer and content encodings undone, the
/// charset found (HTTP header, `<meta>`, then the bytes), the main text extracted.
#[must_use]
pub fn parse_page(record: &[u8]) -> Page {
    let header_len = find(record, b"\r\n\r\n")
        .map(|p| p + 4)
        .or_else(|| find(record, b"\n\n").map(|p| p + 2))
        .unwrap_or(record.len());
    let head = &record[..header_len];
    let block = &record[header_len..];
    let url = header(head, "warc-target-uri")
        .map_or("", strip_angle)
        .to_owned();
    let warc_date = header(head, "warc-date").map(str::to_owned);
    let ty = header(head, "warc-type").unwrap_or("");
    if ty.eq_ignore_ascii_case("conversion") {
        return Page {
            url,
            title: None,
            date: warc_date,
            text: String::from_utf8_lossy(block).into_owned(),
        };
    }
    let h = http(block);
    let mut body = std::borrow::Cow::Borrowed(h.body);
    // `X-Crawler-Transfer-Encoding` (Common Crawl) means the body is stored decoded.
    if header(h.head, "transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked"))
        && let Some(b) = dechunk(&body)
    {
        body = b.into();
    }
    if let Some(ce) = header(h.head, "content-encoding")
        && let Some(b) = decompress(ce, &body)
    {
        body = b.into();
    }
    let charset = header(h.head, "content-type").and_then(charset_of);
    let x = extract::extract(&body, charset, &url);
    Page {
        url,
        title: x.title,
        date: x.date.or(warc_date),
        text: x.text,
    }
}

/// The page of a record as a document's fields: id, text into `buf`, title, timestamp,
/// and whether a date was present but not understood.
pub(crate) fn page_fields(
    record: &[u8],
    buf: &mut String,
) -> (String, Option<String>, Option<i64>, bool) {
    let p = parse_page(record);
    buf.clear();
    buf.push_str(&p.text);
    let (ts, bad) = match p.date.as_deref() {
        Some(d) => match parse_date(d) {
            Some(t) => (Some(t), false),
            None => (None, true),
        },
        None => (None, false),
    };
    (p.url, p.title, ts, bad)
}

/// Undoes `Transfer-Encoding: chunked`; `None` when the body is not well chunked.
fn dechunk(mut body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(body.len());
    loop {
        let nl = body.iter().position(|&b| b == b'\n')?;
        let line = std::str::from_utf8(&body[..nl]).ok()?;
        let size = line.split(';').next()?.trim();
        let size = usize::from_str_radix(size, 16).ok()?;
        body = &body[nl + 1..];
        if size == 0 {
            return Some(out);
        }
        out.extend_from_slice(body.get(..size)?);
        body = &body[size..];
        body = body
            .strip_prefix(b"\r\n")
            .or_else(|| body.strip_prefix(b"\n"))
            .unwrap_or(body);
        if body.is_empty() {
            return Some(out);
        }
    }
}

/// Undoes a `Content-Encoding` (gzip, deflate); `None` when not possible.
fn decompress(encoding: &str, body: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let limit = MAX_RECORD;
    let ok = match encoding.trim().to_ascii_lowercase().as_str() {
        "gzip" | "x-gzip" => flate2::read::MultiGzDecoder::new(body)
            .take(limit)
            .read_to_end(&mut out)
            .is_ok(),
        "deflate" => {
            flate2::read::ZlibDecoder::new(body)
                .take(limit)
                .read_to_end(&mut out)
                .is_ok()
                || {
                    out.clear();
                    flate2::read::DeflateDecoder::new(body)
                        .take(limit)
                        .read_to_end(&mut out)
                        .is_ok()
                }
        }
        _ => false,
    };
    ok.then_some(out)
}

/// Hashes of the record ids a record names in `WARC-Concurrent-To` and `WARC-Refers-To`.
fn links(head: &[u8]) -> Vec<u64> {
    header_lines(head)
        .filter(|(n, _)| {
            n.eq_ignore_ascii_case("warc-concurrent-to") || n.eq_ignore_ascii_case("warc-refers-to")
        })
        .map(|(_, v)| xxhash_rust::xxh3::xxh3_64(strip_angle(v).as_bytes()))
        .collect()
}

/// What the copy needs to know of a record.
struct Entry {
    offset: u64,
    end: u64,
    kind: Kind,
    id: u64,
    links: Vec<u64>,
    uri: u64,
    keep: bool,
}

/// Copies the kept page records of WARC file `f` (input `file`), the `request` and
/// `metadata` records that go with them and the file's `warcinfo` records to `out`, byte
/// for byte (the same gzip members), in file order.
/// A page is kept when `kept` lists its offset (as the reader gave it); its bytes must
/// have the digest listed (else it is not copied, and [`crate::io::read::copy_records`]
/// reports it gone), and the page is added to `met`. A request or metadata record goes
/// with a page when one names the other in `WARC-Concurrent-To`, or both name the same
/// record, or, with no such link, when it is a request for the same URI just before the
/// page.
///
/// # Errors
/// [`Error::Io`] naming the file that cannot be read, or `out_name` when writing fails;
/// [`Error::InputChanged`] when the file changes while it is copied.
pub(crate) fn copy_kept(
    f: &InputFile,
    file: u32,
    kept: &KeptRecords,
    met: &mut HashSet<(u32, u64)>,
    out: &mut dyn Write,
    out_name: &Path,
) -> Result<()> {
    let path = f.path.as_path();
    let wet = f.kind == InputKind::Wet;
    let open = || std::fs::File::open(path).map_err(|e| Error::io(path, e));
    // The bytes are copied in a second pass over the file: it must not change between.
    let stamp = |file: &std::fs::File| {
        file.metadata()
            .map(|m| (m.len(), m.modified().ok()))
            .map_err(|e| Error::io(path, e))
    };
    let first_open = open()?;
    let before = stamp(&first_open)?;
    let mut reader = WarcReader::new(path, Box::new(first_open))?;
    let mut stats = WarcStats::default();
    let mut entries: Vec<Entry> = Vec::new();
    let mut filter = PageFilter::default();
    loop {
        let (offset, end, header_len) = match reader.next_raw(&mut stats)? {
            Next::End => break,
            Next::Broken => continue,
            Next::Record {
                offset,
                end,
                header_len,
            } => (offset, end, header_len),
        };
        let record = reader.record();
        let head = &record[..header_len];
        let kind = classify(record, header_len, wet);
        let uri = header(head, "warc-target-uri").map_or("", strip_angle);
        let uri = xxhash_rust::xxh3::xxh3_64(uri.as_bytes());
        // Only the first capture of a URI was a document (as in `PageFilter`).
        let first = kind == Kind::Page && filter.seen.insert(uri);
        let keep = first
            && kept
                .get(&(file, offset))
                .is_some_and(|&d| d == record_digest(record));
        if keep {
            met.insert((file, offset));
        }
        entries.push(Entry {
            offset,
            end,
            kind,
            id: header(head, "warc-record-id")
                .map_or(0, |v| xxhash_rust::xxh3::xxh3_64(strip_angle(v).as_bytes())),
            links: links(head),
            uri,
            keep,
        });
    }
    // Ids of the kept pages and the records they or their partners name.
    let mut ids: HashSet<u64> = HashSet::new();
    for e in entries.iter().filter(|e| e.keep) {
        ids.insert(e.id);
        ids.extend(e.links.iter().copied());
    }
    let linked: HashSet<u64> = entries
        .iter()
        .filter(|e| e.kind != Kind::Page)
        .flat_map(|e| e.links.iter().copied())
        .collect();
    let mut take = vec![false; entries.len()];
    for (i, e) in entries.iter().enumerate() {
        take[i] = e.keep
            || e.kind == Kind::Warcinfo
            || (matches!(e.kind, Kind::Request | Kind::Metadata)
                && (ids.contains(&e.id) || e.links.iter().any(|l| ids.contains(l))));
        // A request with no link, just before its page.
        if e.keep && i > 0 {
            let prev = &entries[i - 1];
            if prev.kind == Kind::Request
                && prev.uri == e.uri
                && prev.links.is_empty()
                && !linked.contains(&prev.id)
            {
                take[i - 1] = true;
            }
        }
    }
    let mut file = open()?;
    let mut at = 0u64;
    let w = |e| Error::io(out_name, e);
    // Records sharing a gzip member share its bytes: each member is written once.
    let mut last_end = 0u64;
    for (e, _) in entries.iter().zip(&take).filter(|(_, t)| **t) {
        if e.end <= last_end {
            continue;
        }
        let start = e.offset.max(last_end);
        std::io::copy(&mut (&mut file).take(start - at), &mut std::io::sink())
            .map_err(|err| Error::io(path, err))?;
        let n = std::io::copy(&mut (&mut file).take(e.end - start), out).map_err(w)?;
        if n != e.end - start {
            return Err(Error::InputChanged {
                at: Location {
                    path: path.to_path_buf(),
                    line: e.offset,
                },
                message: "the file ends early: it changed while its kept records were copied"
                    .into(),
            });
        }
        at = e.end;
        last_end = e.end;
    }
    if stamp(&file)? != before {
        // Named by the first record copied (WARC records are named by byte offset).
        let first = entries.iter().zip(&take).find(|(_, t)| **t);
        return Err(Error::InputChanged {
            at: Location {
                path: path.to_path_buf(),
                line: first.map_or(0, |(e, _)| e.offset),
            },
            message: "the file changed while its kept records were copied".into(),
        });
    }
    Ok(())
}

/// A row of [`write_page_rows`]: the group columns, then the page's fields.
#[derive(Serialize)]
struct Row<'a> {
    #[serde(flatten)]
    line: crate::io::write::DocLine<'a>,
    #[serde(flatten)]
    page: Option<Page>,
}

/// Writes one JSON line per document of `result` for which `keep(doc)` holds, in input
/// order: the columns of `cluster --format jsonl` and, for a document read from a WARC
/// or WET file, the page's `url`, `title`, `date` and `text` (the pages are read and
/// extracted again, in parallel, a chunk at a time: memory does not grow with the input).
///
/// # Errors
/// [`Error::Io`] naming the input that cannot be read or `out_name` when writing fails.
pub fn write_page_rows(
    result: &crate::pipeline::Clustering,
    files: &[InputFile],
    keep: &(dyn Fn(u32) -> bool + Sync),
    out: &mut dyn Write,
    out_name: &Path,
) -> Result<()> {
    use rayon::prelude::*;
    let docs: std::collections::HashMap<(u32, u64), u32> = result
        .docs
        .iter()
        .enumerate()
        .map(|(i, d)| ((d.file, d.line), i as u32))
        .collect();
    let mut reader = crate::io::read::RecordReader::new(files.to_vec());
    loop {
        let chunk = reader.next_block(8 << 20)?;
        if chunk.is_empty() {
            return Ok(());
        }
        let rows: Vec<Vec<u8>> = (0..chunk.len())
            .into_par_iter()
            .filter_map(|i| {
                let raw = chunk.get(i);
                let doc = *docs.get(&(raw.file, raw.line))?;
                if !keep(doc) {
                    return None;
                }
                let page = matches!(
                    files[raw.file as usize].kind,
                    InputKind::Warc | InputKind::Wet
                )
                .then(|| parse_page(raw.bytes));
                let row = Row {
                    line: result.doc_line(doc),
                    page,
                };
                let mut line = serde_json::to_vec(&row).ok()?;
                line.push(b'\n');
                Some(line)
            })
            .collect();
        for r in rows {
            out.write_all(&r).map_err(|e| Error::io(out_name, e))?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ty: &str, uri: &str, block: &[u8]) -> Vec<u8> {
        let mut r = format!(
            "WARC/1.0\r\nWARC-Type: {ty}\r\nWARC-Target-URI: {uri}\r\nWARC-Date: 2026-01-02T03:04:05Z\r\nContent-Length: {}\r\n\r\n",
            block.len()
        )
        .into_bytes();
        r.extend_from_slice(block);
        r.extend_from_slice(b"\r\n\r\n");
        r
    }

    #[test]
    fn kinds_by_name() {
        for (name, kind) in [
            ("a.warc", Some(InputKind::Warc)),
            ("a.WARC.GZ", Some(InputKind::Warc)),
            ("CC-NEWS-1.warc.wet.gz", Some(InputKind::Wet)),
            ("a.wet", Some(InputKind::Wet)),
            ("a.jsonl.gz", None),
            ("warc", None),
        ] {
            assert_eq!(kind_of_name(name), kind, "{name}");
        }
    }

    #[test]
    fn dechunks() {
        assert_eq!(
            dechunk(b"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\n\r\n").unwrap(),
            b"Wikipedia"
        );
        assert_eq!(dechunk(b"zz\r\nab"), None);
    }

    #[test]
    fn classifies_by_kind() {
        let page = record(
            "response",
            "http://a/",
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>x</p>",
        );
        let redirect = record(
            "response",
            "http://a/",
            b"HTTP/1.1 301 Moved\r\nLocation: /b\r\n\r\n",
        );
        let image = record(
            "response",
            "http://a/i.png",
            b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n\x89PNG",
        );
        let gone = record("response", "http://a/", b"HTTP/1.1 404 Not Found\r\n\r\n");
        let hl = |r: &[u8]| find(r, b"\r\n\r\n").unwrap() + 4;
        assert_eq!(classify(&page, hl(&page), false), Kind::Page);
        assert_eq!(classify(&redirect, hl(&redirect), false), Kind::Redirect);
        assert_eq!(classify(&image, hl(&image), false), Kind::NonHtml);
        assert_eq!(classify(&gone, hl(&gone), false), Kind::Non200);
        let req = record("request", "http://a/", b"GET / HTTP/1.1\r\n\r\n");
        assert_eq!(classify(&req, hl(&req), false), Kind::Request);
    }

    #[test]
    fn plain_reader_resyncs_after_a_bad_record() {
        let mut data = record("warcinfo", "", b"x");
        data.extend_from_slice(b"WARC/1.0\r\nWARC-Type: response\r\n\r\njunk\r\n");
        let good = record(
            "response",
            "http://a/",
            b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<p>x</p>",
        );
        let at = data.len() as u64;
        data.extend_from_slice(&good);
        let mut r =
            WarcReader::new(Path::new("t.warc"), Box::new(std::io::Cursor::new(data))).unwrap();
        let mut stats = WarcStats::default();
        let mut out = Vec::new();
        let mut f = PageFilter::default();
        assert_eq!(
            f.next_page(&mut r, false, &mut out, &mut stats).unwrap(),
            Some(at)
        );
        assert_eq!(
            f.next_page(&mut r, false, &mut out, &mut stats).unwrap(),
            None
        );
        assert_eq!((stats.warcinfo, stats.broken, stats.pages), (1, 1, 1));
        assert!(
            stats.broken_examples[0].starts_with("t.warc: byte "),
            "{:?}",
            stats.broken_examples
        );
        assert_eq!(out, &good[..good.len() - 4]);
    }
}
