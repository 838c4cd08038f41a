//! neardup finds copies and rewrites of news stories and groups them into syndication
//! groups, each with a canonical member.
//!
//! **What you need is at the crate root.**
//!
//! - Documents: [`Document`] (id and text; [`Document::with_title`],
//!   [`Document::with_timestamp`]) and [`parse_date`], which reads the publication dates
//!   news feeds carry into the timestamps documents hold (strictly: `2026-02-30` is
//!   refused, not rolled over).
//! - Settings: [`Config`] ([`Config::builder`] → [`ConfigBuilder`]), [`Method`],
//!   [`Banding`], [`Shingle`].
//! - A batch of documents or files: [`cluster_documents`] and [`cluster_files`] (with
//!   [`ReadOptions`] and a [`Progress`] such as [`NoProgress`]) give a [`Clustering`]
//!   of [`Group`]s of [`Member`]s and [`RunStats`], written by [`Clustering::write`] in
//!   a [`Format`].
//! - A crawler's incremental index: [`Index`] ([`Index::new`], or [`Index::with_stats`]
//!   with [`TermStats`] of a reference corpus): [`Index::insert`] gives a [`Verdict`],
//!   [`Index::query`] a [`QueryResult`] (with [`QueryOptions`]), [`Index::placement`]
//!   and [`Index::members`] [`Placement`]s; a document's [`Relation`] to another is in
//!   each [`Match`], its [`Role`] in its group in each placement. [`Index::save`],
//!   [`Index::load`] and [`Index::load_with`] keep it in a file.
//! - Errors: one [`Error`] enum (typed variants naming the file, line or id) and its
//!   [`Result`] alias.
//!
//! A batch run is deterministic: the same documents and settings give the same output at
//! any thread count and in any input order.
//!
//! Subsystems with their own entry points are modules: [`index`] (the crawler's index:
//! consistency under threads, memory, removal, file format), [`io`] (readers of JSON
//! Lines, gzip, text, directories and WARC; report writers), [`nightly`] (the nightly
//! job over a state directory), [`shard`] (the stages of a distributed run, used by the
//! Spark package), [`compare`] (one pair explained) and [`eval`] (scores against
//! labelled pairs). The pipeline's stages are public too, for benchmarks and custom
//! pipelines: [`normalize`] → [`shingle`] → [`sketch`] (`MinHash`, `SimHash`) →
//! [`features`] → candidates from [`lsh`], [`hamming`] (copies) and [`keywords`]
//! (rewrites) → [`verify`] (scores and a [`Relation`] per pair) → [`group`] (groups that
//! do not chain).
//!
//! ```
//! use neardup::{Config, Document, cluster_documents};
//!
//! let story = "The central bank raised its key rate by half a point on Tuesday, \
//!              citing inflation that has stayed above target for a year.";
//! let docs = vec![
//!     Document::new("a", story),
//!     Document::new("b", format!("{story} Copyright 2026 Daily Ledger.")),
//!     Document::new("c", "A storm closed the harbour and cancelled every ferry today."),
//! ];
//! let result = cluster_documents(&docs, &Config::default())?;
//! assert_eq!(result.groups.len(), 1);
//! let (group, _) = result.group_of(1).unwrap();
//! assert_eq!(group.members.len(), 2);
//! assert!(result.group_of(2).is_none());
//! # Ok::<(), neardup::Error>(())
//! ```
#![deny(missing_docs)]

mod closing;
pub mod compare;
mod config;
mod document;
mod error;
pub mod eval;
pub mod features;
pub mod group;
pub mod hamming;
pub mod index;
pub mod io;
pub mod keywords;
pub mod lsh;
pub mod nightly;
pub mod normalize;
mod pipeline;
mod progress;
pub mod shard;
pub mod shingle;
pub mod sketch;
pub mod verify;
mod weights;

pub use config::{Config, ConfigBuilder, Footprint, MAX_HAMMING, Method, Sample};
pub use document::{Document, format_date, parse_date};
pub use error::{Error, Location, Result};
pub use index::{FORMAT_VERSION, Index, Match, Placement, QueryOptions, QueryResult, Verdict};
pub use io::write::Format;
pub use lsh::Banding;
pub use pipeline::{
    Clustering, DocInfo, Group, Member, ReadOptions, RunStats, cluster_documents, cluster_files,
};
pub use progress::{NoProgress, Progress, Stage};
pub use shingle::Shingle;
pub use verify::{Relation, Role};
pub use weights::TermStats;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
