//! neardup finds copies and rewrites of news stories and groups them into syndication
//! groups, each with a canonical member.
//!
//! The data flows one way, one module per stage:
//! [`normalize`] → [`shingle`] → [`sketch`] (`MinHash`) → [`features`] and [`weights`]
//! (rarity) → candidates from [`lsh`] (copies) and [`keywords`] (rewrites) → [`verify`]
//! (scores and a [`Relation`] per pair) → [`group`] (groups that do not chain) →
//! [`io::write`] (reports). [`pipeline`] runs the whole flow in batch; [`io::read`] reads
//! JSON Lines, gzip, text files and directories.
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

pub mod closing;
pub mod compare;
pub mod config;
pub mod document;
pub mod error;
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
pub mod pipeline;
pub mod progress;
pub mod shard;
pub mod shingle;
pub mod sketch;
pub mod verify;
pub mod weights;

pub use config::{Config, ConfigBuilder, Method};
pub use document::Document;
pub use error::{Error, Result};
pub use index::{Index, Match, Verdict};
pub use io::write::Format;
pub use lsh::Banding;
pub use pipeline::{Clustering, Group, Member, cluster_documents, cluster_files};
pub use shingle::Shingle;
pub use verify::Relation;
