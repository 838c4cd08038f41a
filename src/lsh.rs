//! Locality-sensitive hashing over `MinHash` signatures: bands of rows, one bucket table
//! per band, candidate pairs from shared buckets.

use rayon::prelude::*;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// A banding of a signature: `bands` bands of `rows` values each (`bands * rows ≤ perms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Banding {
    /// Number of bands (bucket tables).
    pub bands: usize,
    /// Values per band.
    pub rows: usize,
}

impl std::fmt::Display for Banding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.bands, self.rows)
    }
}

impl std::str::FromStr for Banding {
    type Err = crate::Error;

    fn from_str(s: &str) -> crate::Result<Self> {
        let bad = || crate::Error::Config(format!("bands {s:?}: expected BxR, e.g. 32x4"));
        let (b, r) = s.split_once(['x', 'X']).ok_or_else(bad)?;
        let bands: usize = b.trim().parse().map_err(|_| bad())?;
        let rows: usize = r.trim().parse().map_err(|_| bad())?;
        if bands == 0 || rows == 0 {
            return Err(bad());
        }
        Ok(Banding { bands, rows })
    }
}

impl Banding {
    /// Probability that two documents of Jaccard similarity `j` share at least one bucket.
    #[must_use]
    pub fn candidate_probability(&self, j: f64) -> f64 {
        1.0 - (1.0 - j.powi(self.rows as i32)).powi(self.bands as i32)
    }

    /// The banding that minimises the equally weighted sum of the false-positive
    /// probability (integrated over similarities below `threshold`) and the
    /// false-negative probability (integrated above it), as datasketch does.
    #[must_use]
    pub fn optimal(threshold: f64, perms: usize) -> Banding {
        Banding::optimal_weighted(threshold, perms, 0.5)
    }

    /// The banding that minimises `fp_weight * FP + (1 - fp_weight) * FN`, the
    /// integrated false-positive and false-negative probabilities around `threshold`.
    #[must_use]
    pub fn optimal_weighted(threshold: f64, perms: usize, fp_weight: f64) -> Banding {
        let mut best = (
            f64::INFINITY,
            Banding {
                bands: 1,
                rows: perms,
            },
        );
        for bands in 1..=perms {
            for rows in 1..=perms / bands {
                let b = Banding { bands, rows };
                let fp = integrate(|s| b.candidate_probability(s), 0.0, threshold);
                let fn_ = integrate(|s| 1.0 - b.candidate_probability(s), threshold, 1.0);
                let err = fp_weight * fp + (1.0 - fp_weight) * fn_;
                if err < best.0 - 1e-12 {
                    best = (err, b);
                }
            }
        }
        best.1
    }
}

/// Trapezoidal integration with a fixed step, as datasketch does.
fn integrate(f: impl Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    const STEPS: usize = 1000;
    let step = (b - a) / STEPS as f64;
    let mut area = 0.0;
    let mut x = a;
    for _ in 0..STEPS {
        area += 0.5 * (f(x) + f(x + step)) * step;
        x += step;
    }
    area
}

/// Hash of one band of a signature.
#[inline]
#[must_use]
pub fn band_hash(band: &[u32], band_index: usize) -> u64 {
    let mut buf = [0u8; 4 * 32];
    if band.len() <= 32 {
        for (c, v) in buf.chunks_exact_mut(4).zip(band) {
            c.copy_from_slice(&v.to_le_bytes());
        }
        xxh3_64_with_seed(&buf[..band.len() * 4], band_index as u64)
    } else {
        let bytes: Vec<u8> = band.iter().flat_map(|v| v.to_le_bytes()).collect();
        xxh3_64_with_seed(&bytes, band_index as u64)
    }
}

/// Candidate pairs `(i, j)` with `i < j` among `docs` (indices into `signatures`, which
/// holds `perms` values per document), from shared buckets in any band. Sorted, unique.
///
/// A bucket holding more than `max_bucket` documents pairs each with at most
/// `max_bucket` of the documents before it, so a template shared by thousands of
/// documents cannot explode the candidate set (they are still linked as a chain of
/// candidates, which verification then scores one by one).
#[must_use]
pub fn candidate_pairs(
    signatures: &[u32],
    perms: usize,
    docs: &[u32],
    banding: Banding,
    max_bucket: usize,
) -> Vec<(u32, u32)> {
    let per_band: Vec<Vec<(u32, u32)>> = (0..banding.bands)
        .into_par_iter()
        .map(|b| {
            let lo = b * banding.rows;
            let mut keyed: Vec<(u64, u32)> = docs
                .iter()
                .map(|&d| {
                    let s = &signatures[d as usize * perms..(d as usize + 1) * perms];
                    (band_hash(&s[lo..lo + banding.rows], b), d)
                })
                .collect();
            keyed.sort_unstable();
            let mut pairs = Vec::new();
            let mut start = 0;
            while start < keyed.len() {
                let mut end = start + 1;
                while end < keyed.len() && keyed[end].0 == keyed[start].0 {
                    end += 1;
                }
                let bucket = &keyed[start..end];
                for (k, &(_, dj)) in bucket.iter().enumerate().skip(1) {
                    for &(_, di) in &bucket[k.saturating_sub(max_bucket)..k] {
                        pairs.push((di.min(dj), di.max(dj)));
                    }
                }
                start = end;
            }
            pairs
        })
        .collect();
    let mut all: Vec<(u32, u32)> = per_band.into_iter().flatten().collect();
    all.par_sort_unstable();
    all.dedup();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_matches_datasketch() {
        // datasketch's MinHashLSH(threshold=0.5, num_perm=128) picks b=25, r=5 (bench/README).
        assert_eq!(Banding::optimal(0.5, 128), Banding { bands: 25, rows: 5 });
    }

    #[test]
    fn recall_weighted_banding() {
        let b = Banding::optimal_weighted(0.5, 128, 0.05);
        assert_eq!(b, Banding { bands: 26, rows: 3 });
        assert!(b.candidate_probability(0.5) > 0.95);
    }

    #[test]
    fn parse_banding() {
        assert_eq!(
            "32x4".parse::<Banding>().unwrap(),
            Banding { bands: 32, rows: 4 }
        );
        assert!("32".parse::<Banding>().is_err());
        assert!("0x4".parse::<Banding>().is_err());
    }

    #[test]
    fn equal_bands_are_candidates() {
        let perms = 4;
        // doc0 and doc1 share band 0; doc2 shares nothing.
        let sigs = [1, 2, 3, 4, 1, 2, 9, 9, 5, 6, 7, 8];
        let pairs = candidate_pairs(&sigs, perms, &[0, 1, 2], Banding { bands: 2, rows: 2 }, 100);
        assert_eq!(pairs, vec![(0, 1)]);
    }

    #[test]
    fn big_buckets_are_capped() {
        let perms = 2;
        let sigs: Vec<u32> = (0..100).flat_map(|_| [7, 7]).collect();
        let docs: Vec<u32> = (0..100).collect();
        let pairs = candidate_pairs(&sigs, perms, &docs, Banding { bands: 1, rows: 2 }, 3);
        assert!(pairs.len() <= 100 * 3);
        assert!(pairs.contains(&(0, 1)));
    }
}
