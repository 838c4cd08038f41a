//! Readers: JSON Lines (plain or gzip), plain-text files, directories and stdin, read as
//! a stream of raw records that are parsed in parallel.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
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
    /// One document: the whole file is the text; the id is given.
    Text {
        /// The document id (file name or relative path without extension).
        id: String,
    },
    /// JSON Lines on standard input.
    Stdin,
}

/// One input file after expansion of directories.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The path (`-` for standard input).
    pub path: PathBuf,
    /// How to read it.
    pub kind: InputKind,
}

fn kind_of(path: &Path, id_base: Option<&Path>) -> Option<InputKind> {
    let name = path.file_name()?.to_string_lossy();
    if name.ends_with(".jsonl.gz") {
        Some(InputKind::JsonlGz)
    } else if name.ends_with(".jsonl") {
        Some(InputKind::Jsonl)
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

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io(dir, e))?;
        let path = entry.path();
        let ft = entry.file_type().map_err(|e| Error::io(&path, e))?;
        if ft.is_dir() || (ft.is_symlink() && path.is_dir()) {
            walk(&path, out)?;
        } else {
            out.push(path);
        }
    }
    Ok(())
}

/// Expands the inputs as given on a command line: `-` is stdin, a directory stands for
/// every `*.txt`, `*.jsonl` and `*.jsonl.gz` below it in sorted path order, a `.jsonl`
/// or `.jsonl.gz` file is JSON Lines, any other file is one plain-text document.
///
/// # Errors
/// [`Error::NotFound`] naming a path that does not exist; [`Error::Io`] when a
/// directory cannot be listed.
pub fn expand_inputs(paths: &[PathBuf]) -> Result<Vec<InputFile>> {
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
            walk(p, &mut found)?;
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

/// Reads raw records from a list of inputs, in order, in chunks.
pub struct RecordReader {
    files: Vec<InputFile>,
    next_file: usize,
    current: Option<(u32, Box<dyn BufRead + Send>)>,
    line: u64,
    bytes_read: u64,
}

impl RecordReader {
    /// A reader over expanded inputs (see [`expand_inputs`]).
    #[must_use]
    pub fn new(files: Vec<InputFile>) -> Self {
        RecordReader {
            files,
            next_file: 0,
            current: None,
            line: 0,
            bytes_read: 0,
        }
    }

    /// The inputs being read.
    #[must_use]
    pub fn files(&self) -> &[InputFile] {
        &self.files
    }

    /// Bytes consumed so far (compressed size for gzip input).
    #[must_use]
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read
    }

    /// Reads the next records, stopping after `max_bytes` of text or at the end.
    /// An empty chunk means the end of all inputs.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file that could not be opened or read.
    pub fn next_chunk(&mut self, max_bytes: usize) -> Result<Vec<RawRecord>> {
        let mut chunk = Vec::new();
        let mut size = 0;
        while size < max_bytes {
            if self.current.is_none() && !self.open_next(&mut chunk, &mut size)? {
                break;
            }
            let Some((file, reader)) = self.current.as_mut() else {
                continue;
            };
            let file = *file;
            let mut buf = Vec::new();
            let n = reader
                .read_until(b'\n', &mut buf)
                .map_err(|e| Error::io(self.files[file as usize].path.clone(), e))?;
            if n == 0 {
                self.current = None;
                continue;
            }
            self.bytes_read += n as u64;
            self.line += 1;
            while buf.last().is_some_and(|&b| b == b'\n' || b == b'\r') {
                buf.pop();
            }
            if buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            size += buf.len();
            chunk.push(RawRecord {
                file,
                line: self.line,
                bytes: buf,
            });
        }
        Ok(chunk)
    }

    /// Opens the next file; a text file is read whole into `chunk` at once.
    /// Returns false when no file is left.
    fn open_next(&mut self, chunk: &mut Vec<RawRecord>, size: &mut usize) -> Result<bool> {
        let Some(f) = self.files.get(self.next_file) else {
            return Ok(false);
        };
        let idx = u32::try_from(self.next_file).expect("fewer than 2^32 inputs");
        self.next_file += 1;
        self.line = 0;
        let open = |p: &Path| File::open(p).map_err(|e| Error::io(p, e));
        match &f.kind {
            InputKind::Text { .. } => {
                let mut bytes = Vec::new();
                open(&f.path)?
                    .read_to_end(&mut bytes)
                    .map_err(|e| Error::io(&f.path, e))?;
                self.bytes_read += bytes.len() as u64;
                *size += bytes.len();
                chunk.push(RawRecord {
                    file: idx,
                    line: 1,
                    bytes,
                });
            }
            InputKind::Jsonl => {
                let r = BufReader::with_capacity(1 << 20, open(&f.path)?);
                self.current = Some((idx, Box::new(r)));
            }
            InputKind::JsonlGz => {
                let r = BufReader::with_capacity(1 << 20, MultiGzDecoder::new(open(&f.path)?));
                self.current = Some((idx, Box::new(r)));
            }
            InputKind::Stdin => {
                let r = BufReader::with_capacity(1 << 20, std::io::stdin());
                self.current = Some((idx, Box::new(r)));
            }
        }
        Ok(true)
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

/// Parses one raw record.
///
/// # Errors
/// [`Error::InvalidJson`] for a line that is not a JSON object, and
/// [`Error::InvalidRecord`] for one whose id or text is missing or of the wrong type;
/// both name the file and line.
pub fn parse_record(raw: &RawRecord, files: &[InputFile], fields: &FieldNames) -> Result<Parsed> {
    let input = &files[raw.file as usize];
    let at = || Location {
        path: input.path.clone(),
        line: raw.line,
    };
    if let InputKind::Text { id } = &input.kind {
        let (text, lossy) = match std::str::from_utf8(&raw.bytes) {
            Ok(s) => (s.to_owned(), false),
            Err(_) => (String::from_utf8_lossy(&raw.bytes).into_owned(), true),
        };
        return Ok(Parsed {
            doc: Document::new(id.clone(), text),
            lossy,
            bad_date: false,
        });
    }
    let mut de = serde_json::Deserializer::from_slice(&raw.bytes);
    let rec = RecordSeed(fields)
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
        Field::Value(t) => t,
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
    Ok(Parsed {
        doc: Document {
            id,
            text,
            title: rec.title.filter(|t| !t.trim().is_empty()),
            timestamp,
        },
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
enum Field {
    #[default]
    Missing,
    WrongType,
    Value(String),
}

/// The fields of a record.
#[derive(Default)]
struct RawFields {
    id: Field,
    text: Field,
    title: Option<String>,
    date: Option<String>,
}

/// Reads only the named fields of a JSON object and skips the rest without allocating.
struct RecordSeed<'a>(&'a FieldNames);

impl<'de> DeserializeSeed<'de> for RecordSeed<'_> {
    type Value = RawFields;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<RawFields, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RecordSeed<'_> {
    type Value = RawFields;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawFields, A::Error> {
        let mut out = RawFields::default();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let k = key.as_ref();
            if k == self.0.id {
                out.id = match map.next_value::<serde_json::Value>()? {
                    serde_json::Value::String(s) => Field::Value(s),
                    serde_json::Value::Number(n) => Field::Value(n.to_string()),
                    _ => Field::WrongType,
                };
            } else if k == self.0.text {
                out.text = match map.next_value::<Option<String>>()? {
                    Some(t) => Field::Value(t),
                    None => Field::WrongType,
                };
            } else if k == self.0.title {
                out.title = map.next_value::<Option<String>>()?;
            } else if k == self.0.date {
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
}
