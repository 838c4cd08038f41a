//! Readers of inputs and writers of results.

pub mod atomic;
pub mod html;
pub mod read;
pub mod write;
