//! Signatures of documents: a closed set of sketch kinds.

pub mod minhash;
pub mod simhash;
