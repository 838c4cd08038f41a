//! Settings shared by the CLI and the library: shingles, signatures, thresholds, tiers.

use crate::error::{Error, Result};
use crate::lsh::Banding;
use crate::shingle::Shingle;

/// The kind of signature used to find candidates. A closed set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Method {
    /// `MinHash` signatures with banded LSH (the default): candidates at a Jaccard
    /// similarity around `threshold` are found with a tunable probability, at
    /// `perms` × 4 bytes of signature per document.
    #[default]
    MinHash,
    /// One weighted 64-bit `SimHash` fingerprint per document (8 bytes) and a
    /// block-permutation Hamming index: candidates are the pairs whose fingerprints
    /// differ in at most `hamming` bits. Smaller to hold than `MinHash`, and aimed at
    /// close copies (shingle Jaccard from about 0.8); verification,
    /// grouping and reports are the same.
    #[serde(rename = "simhash")]
    SimHash,
}

/// How much of each document verification reads, and so how much an
/// [`Index`](crate::Index) holds per document. A closed set.
///
/// Verification reads a document's shingles and body words as sorted hashes (18 and 24
/// bits: [`crate::features::SHINGLE_BITS`], [`crate::features::TERM_BITS`]).
/// A shingle set longer than the footprint's sample size is read as its smallest
/// hashes, a uniform sample (bottom-k `MinHash`), from which Jaccard similarity and
/// containment are estimated on the part of both sets below the smaller of the two
/// samples' largest hashes. A body-word set longer than the sample is read as a
/// weighted sample: its words of smallest `−ln(u) / rarity` (`u` uniform from the word's
/// hash), which keeps the rare words a rewrite is decided on and thins the common ones;
/// the rarity-weighted word overlap is estimated from the words both samples cover,
/// each scaled by the inverse of its chance to be sampled ([`crate::verify`]). The
/// batch run, the nightly job and the Index all read the same samples, so they agree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Footprint {
    /// Whole sets for news-length texts; only very long texts (more than
    /// [`Footprint::Full`]'s [`Sample`]) are sampled, which caps what one document costs
    /// an index (the default).
    #[default]
    Full,
    /// Small samples (64 shingles, 64 words weighted by rarity) and fewer LSH bands: an index holds about
    /// 60% of the bytes per document (0.83 against 1.43 KB with 1,000,000 synthetic news
    /// articles held: BENCHMARKS.md), at the cost of estimated rather than exact
    /// similarities. Copies are still found reliably; borderline pairs and rewrites
    /// less so (QUALITY.md and BENCHMARKS.md give its agreement with `Full`).
    Compact,
}

/// How many of a document's hashes verification reads (see [`Footprint`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sample {
    /// Shingle hashes.
    pub shingles: usize,
    /// Body-word hashes.
    pub words: usize,
}

impl Footprint {
    /// The sample sizes of this footprint.
    #[must_use]
    pub fn sample(self) -> Sample {
        match self {
            // About 1,000 words: longer than nearly every news article (Reuters and BBC
            // hold a few), and 6 KB at most per document held.
            Footprint::Full => Sample {
                shingles: 1024,
                words: 512,
            },
            Footprint::Compact => Sample {
                shingles: 64,
                words: 64,
            },
        }
    }

    /// The name used in JSON and on the command line.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Footprint::Full => "full",
            Footprint::Compact => "compact",
        }
    }
}

impl std::fmt::Display for Footprint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Footprint {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "full" => Ok(Footprint::Full),
            "compact" => Ok(Footprint::Compact),
            _ => Err(Error::Config(format!(
                "unknown footprint {s:?} (expected full or compact)"
            ))),
        }
    }
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
fn is_default_footprint(f: &Footprint) -> bool {
    *f == Footprint::Full
}

/// Default `Config::hamming` (see QUALITY.md, section "`SimHash` beside `MinHash`").
pub const DEFAULT_HAMMING: u32 = 9;

/// Largest accepted `Config::hamming`: beyond it the block tables key on too few bits
/// to prune, and most unrelated pairs become candidates.
pub const MAX_HAMMING: u32 = 16;

fn default_hamming() -> u32 {
    DEFAULT_HAMMING
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's signature
fn is_default_hamming(k: &u32) -> bool {
    *k == DEFAULT_HAMMING
}

/// Every setting of a run. Build one with [`Config::builder`] or take [`Config::default`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Config {
    /// Signature kind.
    pub method: Method,
    /// What a shingle is (default `word:3`).
    pub shingle: Shingle,
    /// `MinHash` signature length (default 128).
    pub perms: usize,
    /// Seed of every hash (default fixed, so runs are reproducible).
    pub seed: u64,
    /// Jaccard similarity of shingle sets from which a pair is a near-duplicate (default 0.5).
    pub threshold: f64,
    /// Containment (share of the shorter text's shingles found in the longer) from which
    /// an excerpt, a truncation or a partial copy is a near-duplicate (default 0.5, chosen
    /// with the other constants over every labelled set: QUALITY.md).
    pub containment: f64,
    /// LSH banding; `None` derives it from `threshold` and `perms`.
    pub bands: Option<Banding>,
    /// Whether to look for rewrites (same story, new words) beside copies (default on).
    /// Off, the run is classic `MinHash` deduplication: a pair is a near-duplicate when its
    /// shingle Jaccard reaches `threshold`, with no containment, headline or figures test.
    pub rewrites: bool,
    /// Rewrite score (rarity-weighted word Jaccard plus shingle Jaccard) from which a
    /// pair is a rewrite of one story (default 0.24).
    pub rewrite_threshold: f64,
    /// Two dated documents further apart than this many days are not rewrites, nor
    /// excerpts (copies by containment alone), of one story (copies by shingle Jaccard
    /// still are): a wire story is rewritten or cut within days, while the same template
    /// recurs every day, week or quarter (default 3; 0 for no limit).
    pub rewrite_window_days: u32,
    /// With [`Method::SimHash`]: the largest Hamming distance (differing bits of the
    /// 64-bit fingerprints) at which two documents are candidates (default 9, from 0 to
    /// 16). Ignored by `MinHash`.
    /// (Written only when not the default, so that index files of runs without it
    /// stay byte-identical.)
    #[serde(
        default = "default_hamming",
        skip_serializing_if = "is_default_hamming"
    )]
    pub hamming: u32,
    /// How much of each document verification reads and an index holds (default
    /// [`Footprint::Full`]). (Written only when not the default, so that index files of
    /// runs without it stay byte-identical.)
    #[serde(default, skip_serializing_if = "is_default_footprint")]
    pub footprint: Footprint,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            method: Method::MinHash,
            shingle: Shingle::default(),
            perms: 128,
            seed: 0x6e65_6172_6475_7021,
            threshold: 0.5,
            containment: 0.5,
            bands: None,
            rewrites: true,
            rewrite_threshold: 0.24,
            rewrite_window_days: 3,
            hamming: DEFAULT_HAMMING,
            footprint: Footprint::Full,
        }
    }
}

impl Config {
    /// A builder starting from the defaults.
    #[must_use]
    pub fn builder() -> ConfigBuilder {
        ConfigBuilder(Config::default())
    }

    /// The banding in force: the explicit one, else the one minimising
    /// `0.05 * false positives + 0.95 * false negatives` around the threshold. Every
    /// candidate is verified exactly, so a false positive costs one comparison while a
    /// false negative is a copy lost: at 0.5 and 128 values this gives 26×3, which finds
    /// a pair at the threshold with probability 0.97 (datasketch's equal weights: 25×5,
    /// 0.55).
    ///
    /// [`Footprint::Compact`] takes a third of the bands of that banding (rows
    /// unchanged): each band costs an index about 17 bytes per document, and copies
    /// (Jaccard 0.8 and up) are still found with probability above 0.99.
    #[must_use]
    pub fn banding(&self) -> Banding {
        self.bands.unwrap_or_else(|| {
            let b = Banding::optimal_weighted(self.threshold, self.perms, 0.05);
            match self.footprint {
                Footprint::Full => b,
                Footprint::Compact => Banding {
                    bands: b.bands.div_ceil(3),
                    rows: b.rows,
                },
            }
        })
    }

    /// Length in 32-bit words of the per-document signature the pipeline and the index
    /// compute: `perms` for `MinHash`, 2 (one 64-bit fingerprint) for `SimHash`.
    #[must_use]
    pub fn signature_len(&self) -> usize {
        match self.method {
            Method::MinHash => self.perms,
            Method::SimHash => 2,
        }
    }

    /// The first setting (in declaration order) where `self` and `other` differ: its
    /// name and both values as JSON (`self`'s first). `None` when they are equal.
    /// Compared through serde, so every field counts, including those added later.
    pub(crate) fn first_difference(&self, other: &Config) -> Option<(String, String, String)> {
        if self == other {
            return None;
        }
        let fields = |c: &Config| match serde_json::to_value(c) {
            Ok(serde_json::Value::Object(m)) => m,
            _ => serde_json::Map::new(),
        };
        let (mine, theirs) = (fields(self), fields(other));
        // A field left out when it has its default value (see `hamming`) reads as absent.
        let value = |m: &serde_json::Map<String, serde_json::Value>, k: &str| {
            m.get(k)
                .map_or_else(|| "(default)".to_owned(), ToString::to_string)
        };
        mine.keys()
            .chain(theirs.keys().filter(|k| !mine.contains_key(*k)))
            .find(|k| mine.get(*k) != theirs.get(*k))
            .map(|k| (k.clone(), value(&mine, k), value(&theirs, k)))
            .or_else(|| {
                // Equal as JSON but not as values (e.g. a NaN): name no single field.
                Some((
                    "configuration".to_owned(),
                    serde_json::to_string(self).unwrap_or_default(),
                    serde_json::to_string(other).unwrap_or_default(),
                ))
            })
    }

    /// Checks ranges and consistency.
    ///
    /// # Errors
    /// [`Error::Config`] naming the setting that is out of range.
    pub fn validate(&self) -> Result<()> {
        let unit = |name: &str, v: f64| {
            if v > 0.0 && v <= 1.0 {
                Ok(())
            } else {
                Err(Error::Config(format!("{name} must be in (0, 1], got {v}")))
            }
        };
        unit("threshold", self.threshold)?;
        unit("containment", self.containment)?;
        if !(self.rewrite_threshold > 0.0 && self.rewrite_threshold <= 2.0) {
            return Err(Error::Config(format!(
                "rewrite threshold must be in (0, 2], got {}",
                self.rewrite_threshold
            )));
        }
        if !(1..=4096).contains(&self.perms) {
            return Err(Error::Config(format!(
                "perms must be from 1 to 4096, got {}",
                self.perms
            )));
        }
        if self.hamming > MAX_HAMMING {
            return Err(Error::Config(format!(
                "hamming must be from 0 to {MAX_HAMMING}, got {}",
                self.hamming
            )));
        }
        if let Some(b) = self.bands
            && b.bands * b.rows > self.perms
        {
            return Err(Error::Config(format!(
                "bands {b} need {} signature values but perms is {}",
                b.bands * b.rows,
                self.perms
            )));
        }
        Ok(())
    }
}

/// Builds a validated [`Config`].
#[derive(Debug, Clone)]
pub struct ConfigBuilder(Config);

impl ConfigBuilder {
    /// Sets the signature kind.
    #[must_use]
    pub fn method(mut self, m: Method) -> Self {
        self.0.method = m;
        self
    }
    /// Sets the shingle definition.
    #[must_use]
    pub fn shingle(mut self, s: Shingle) -> Self {
        self.0.shingle = s;
        self
    }
    /// Sets the `MinHash` signature length.
    #[must_use]
    pub fn perms(mut self, n: usize) -> Self {
        self.0.perms = n;
        self
    }
    /// Sets the hash seed.
    #[must_use]
    pub fn seed(mut self, s: u64) -> Self {
        self.0.seed = s;
        self
    }
    /// Sets the near-duplicate Jaccard threshold.
    #[must_use]
    pub fn threshold(mut self, t: f64) -> Self {
        self.0.threshold = t;
        self
    }
    /// Sets the excerpt containment threshold.
    #[must_use]
    pub fn containment(mut self, c: f64) -> Self {
        self.0.containment = c;
        self
    }
    /// Sets an explicit LSH banding.
    #[must_use]
    pub fn bands(mut self, b: Banding) -> Self {
        self.0.bands = Some(b);
        self
    }
    /// Turns the rewrite tier on or off.
    #[must_use]
    pub fn rewrites(mut self, on: bool) -> Self {
        self.0.rewrites = on;
        self
    }
    /// Sets the rewrite similarity threshold.
    #[must_use]
    pub fn rewrite_threshold(mut self, t: f64) -> Self {
        self.0.rewrite_threshold = t;
        self
    }
    /// Sets the rewrite time window in days (0: no limit).
    #[must_use]
    pub fn rewrite_window_days(mut self, days: u32) -> Self {
        self.0.rewrite_window_days = days;
        self
    }
    /// Sets the Hamming distance of `SimHash` candidates.
    #[must_use]
    pub fn hamming(mut self, k: u32) -> Self {
        self.0.hamming = k;
        self
    }

    /// How much of each document verification reads and an index holds.
    #[must_use]
    pub fn footprint(mut self, f: Footprint) -> Self {
        self.0.footprint = f;
        self
    }
    /// Validates and returns the configuration.
    ///
    /// # Errors
    /// [`Error::Config`] when a value is out of range (see [`Config::validate`]).
    pub fn build(self) -> Result<Config> {
        self.0.validate()?;
        Ok(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
        assert_eq!(Config::default().banding(), Banding { bands: 26, rows: 3 });
    }

    #[test]
    fn builder_rejects_out_of_range() {
        assert!(Config::builder().threshold(0.0).build().is_err());
        assert!(Config::builder().perms(0).build().is_err());
        let b = Banding { bands: 64, rows: 4 };
        assert!(Config::builder().perms(128).bands(b).build().is_err());
        assert!(Config::builder().perms(256).bands(b).build().is_ok());
        let e = Config::builder().hamming(17).build().unwrap_err();
        assert!(e.to_string().contains("hamming"), "{e}");
        assert!(Config::builder().hamming(0).build().is_ok());
    }

    #[test]
    fn first_difference_names_the_field() {
        let a = Config::default();
        assert_eq!(a.first_difference(&a.clone()), None);
        let b = Config::builder().threshold(0.7).build().unwrap();
        assert_eq!(
            a.first_difference(&b),
            Some(("threshold".into(), "0.5".into(), "0.7".into()))
        );
        let c = Config::builder().hamming(7).build().unwrap();
        assert_eq!(
            a.first_difference(&c),
            Some(("hamming".into(), "(default)".into(), "7".into()))
        );
        let d = Config::builder().method(Method::SimHash).rewrites(false);
        let d = d.build().unwrap();
        assert_eq!(a.first_difference(&d).unwrap().0, "method");
    }

    #[test]
    fn method_and_hamming_serde() {
        let c = Config::builder()
            .method(Method::SimHash)
            .hamming(7)
            .build()
            .unwrap();
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains("\"method\":\"simhash\""), "{json}");
        assert_eq!(serde_json::from_str::<Config>(&json).unwrap(), c);
        // A configuration written before `hamming` existed reads with the default.
        let mut v: serde_json::Value = serde_json::to_value(Config::default()).unwrap();
        v.as_object_mut().unwrap().remove("hamming");
        let old: Config = serde_json::from_value(v).unwrap();
        assert_eq!(old.hamming, DEFAULT_HAMMING);
        assert_eq!(old, Config::default());
    }
}
