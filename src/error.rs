//! The one error type of the library and its `Result` alias.
//!
//! Every variant names what it is about: the file and line of a bad record, the id of a
//! repeated document, the option with a bad value. The binary maps them to exit codes.

use std::path::PathBuf;

/// Where a record came from: the input's path (or `-` for stdin) and its 1-based line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The input file (`-` for standard input).
    pub path: PathBuf,
    /// 1-based line number in that input (1 for a plain-text document).
    pub line: u64,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.path.display(), self.line)
    }
}

/// Everything that can go wrong in neardup's library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// An input path does not exist.
    #[error("{}: no such file or directory", path.display())]
    NotFound {
        /// The path as given.
        path: PathBuf,
    },
    /// A JSON Lines record could not be parsed.
    #[error("{at}: invalid JSON: {message}")]
    InvalidJson {
        /// File and line of the record.
        at: Location,
        /// What the JSON parser said.
        message: String,
    },
    /// A record lacks a required field or has it with the wrong type.
    #[error("{at}: {message}")]
    InvalidRecord {
        /// File and line of the record.
        at: Location,
        /// What is wrong, naming the field.
        message: String,
    },
    /// Two records carry the same id.
    #[error("{second}: id {id:?} repeats the id of the record at {first}")]
    DuplicateId {
        /// The repeated id.
        id: String,
        /// Where the id was first seen.
        first: Location,
        /// Where it was seen again.
        second: Location,
    },
    /// A document with this id is already in the index.
    #[error("id {id:?} is already in the index")]
    IdExists {
        /// The id.
        id: String,
    },
    /// An index file cannot be read: it is not an index file, or it is truncated or
    /// corrupted (checksum mismatch, undecodable state, documents and groups that
    /// disagree).
    #[error("{}: {message}", path.display())]
    IndexFile {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// An index file was written in a format version this build does not read.
    #[error("{}: index format version {found}; this build reads versions 1 to {supported}", path.display())]
    IndexVersion {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The newest version this build reads (it reads every earlier one).
        supported: u32,
    },
    /// An index file was built with another configuration than the one given to
    /// `Index::load_with`: the first setting that differs, with both values (as JSON).
    #[error("{}: built with another configuration: {field} is {stored} in the file, {given} here", path.display())]
    ConfigMismatch {
        /// The file.
        path: PathBuf,
        /// The configuration field that differs (e.g. `threshold`).
        field: String,
        /// Its value in the file.
        stored: String,
        /// Its value in the configuration given.
        given: String,
    },
    /// A document has an empty id (ids name documents in verdicts, groups and files).
    #[error("a document id must not be empty")]
    EmptyId,
    /// A WARC record that cannot be read (cut short, bad header, corrupted gzip member).
    #[error("{}: byte {offset}: {message}", path.display())]
    WarcRecord {
        /// The WARC file.
        path: PathBuf,
        /// Where the record (its gzip member, in a compressed file) starts.
        offset: u64,
        /// What is wrong.
        message: String,
    },
    /// A file given as one document holds another number of records.
    #[error("{}: holds {found} records where one document was expected (compare documents of one file with --corpus FILE ID1 ID2)", path.display())]
    NotOneRecord {
        /// The file.
        path: PathBuf,
        /// Records found.
        found: usize,
    },
    /// No document of a corpus has the id asked for.
    #[error("{}: no document with id {id:?}", path.display())]
    IdNotFound {
        /// The corpus.
        path: PathBuf,
        /// The id.
        id: String,
    },
    /// A configuration value is out of range or inconsistent.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// An output path cannot be written safely: it is a directory, a device, a FIFO, a
    /// symbolic link (without the option to follow it), one of the inputs, or in a
    /// directory that cannot be written.
    #[error("{}: {message}", path.display())]
    Output {
        /// The output path as given.
        path: PathBuf,
        /// Why it is refused.
        message: String,
    },
    /// A record (a JSON line, a `.json` file, a text file) is longer than the limit.
    #[error("{at}: record longer than {limit} bytes (see --max-record-bytes)")]
    RecordTooLong {
        /// File and line of the record.
        at: Location,
        /// The limit, bytes.
        limit: u64,
    },
    /// A compressed input ends early or is corrupted.
    #[error("{at}: {message}")]
    Damaged {
        /// The file, and the line of the first record not read whole.
        at: Location,
        /// What the decompressor said.
        message: String,
    },
    /// An input changed between the analysis and the copy of the kept records.
    #[error("{at}: {message}")]
    InputChanged {
        /// File and line of the record that differs or is gone.
        at: Location,
        /// What differs.
        message: String,
    },
    /// The state directory of the nightly job cannot be used as asked: corrupted,
    /// locked by another run, or the inputs were already processed.
    #[error("state {}: {message}", path.display())]
    State {
        /// The state directory or the file in it.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// `Result` with neardup's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// True for errors caused by the content of the input (bad JSON, missing field,
    /// repeated id), as opposed to the system or the configuration.
    #[must_use]
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            Error::InvalidJson { .. }
                | Error::InvalidRecord { .. }
                | Error::DuplicateId { .. }
                | Error::Damaged { .. }
                | Error::RecordTooLong { .. }
                | Error::NotOneRecord { .. }
                | Error::IdNotFound { .. }
                | Error::EmptyId
        )
    }
}
