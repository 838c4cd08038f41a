//! Signatures of documents: a closed set of sketch kinds.

pub mod minhash;
pub mod simhash;

use crate::config::Method;
use crate::features::Features;

/// True when a document goes into the candidate tables: it has words, and a signature
/// (`MinHash`: not the empty one; `SimHash`: a fingerprint of at least one shingle).
pub(crate) fn listed(method: Method, features: &Features, signature: &[u32]) -> bool {
    features.exact != 0
        && match method {
            Method::MinHash => !minhash::is_empty_signature(signature),
            Method::SimHash => !features.shingles.is_empty(),
        }
}
