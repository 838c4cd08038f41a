//! Readers of inputs and writers of results.

pub mod atomic;
pub mod read;
pub mod write;
