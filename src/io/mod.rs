//! Readers of inputs and writers of results.

pub mod read;
pub mod write;
