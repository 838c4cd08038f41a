//! The one integration-test binary: CLI behaviour, library API, properties against
//! brute-force oracles, golden snapshots of the reports, and checks on the shared
//! corpora (ignored unless `../shared` is present; `.ci/run` runs them).

mod apart;
mod api;
mod cli;
mod common;
mod compare;
mod fuzz;
mod html;
mod index;
mod misuse;
mod nightly;
mod order;
mod properties;
mod reliability;
mod shard;
mod shared;
mod simhash;
mod snapshots;
mod warc;
