//! Readers of inputs and writers of results.

pub mod atomic;
pub mod extract;
pub mod html;
pub mod read;
pub mod warc;
pub mod write;
