//! Progress reporting: the library tells, the caller shows (or not).

/// The stages of a run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stage {
    /// Reading, parsing, normalising, shingling and sketching the documents.
    Sketch,
    /// Counting word frequencies and weighting words.
    Weigh,
    /// Finding candidate pairs (LSH buckets and rare-word index); in the nightly job,
    /// finding and verifying them.
    Candidates,
    /// Scoring candidate pairs.
    Verify,
    /// Building groups.
    Cluster,
    /// Loading a saved state (the nightly job).
    Load,
    /// Writing outputs.
    Write,
    /// Saving a state.
    Save,
}

impl Stage {
    /// A short lower-case name.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Stage::Sketch => "sketch",
            Stage::Weigh => "weigh",
            Stage::Candidates => "candidates",
            Stage::Verify => "verify",
            Stage::Cluster => "cluster",
            Stage::Load => "load",
            Stage::Write => "write",
            Stage::Save => "save",
        }
    }
}

/// Receives progress from a run. Every method has an empty default.
pub trait Progress: Sync {
    /// A stage begins; `total` is the amount of work when known (bytes for
    /// [`Stage::Sketch`], items otherwise).
    fn start(&self, _stage: Stage, _total: Option<u64>) {}
    /// `n` more units of the current stage are done.
    fn advance(&self, _n: u64) {}
    /// The current stage is finished.
    fn finish(&self, _stage: Stage) {}
}

/// Progress that goes nowhere.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}
