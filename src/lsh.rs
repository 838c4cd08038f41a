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
    ///
    /// The integrals are those of [`Banding::candidate_probability`] by the trapezoidal
    /// rule; for each row count the powers over the bands are built by one
    /// multiplication per band and grid point, rather than two `powi` per point.
    #[must_use]
    pub fn optimal_weighted(threshold: f64, perms: usize, fp_weight: f64) -> Banding {
        let below = Grid::new(0.0, threshold);
        let above = Grid::new(threshold, 1.0);
        // errors[rows - 1][bands - 1], for bands * rows <= perms.
        let errors: Vec<Vec<f64>> = (1..=perms)
            .map(|rows| {
                let fp = below.integrals(rows, perms / rows, |p| p);
                let fn_ = above.integrals(rows, perms / rows, |p| 1.0 - p);
                fp.iter()
                    .zip(&fn_)
                    .map(|(fp, fn_)| fp_weight * fp + (1.0 - fp_weight) * fn_)
                    .collect()
            })
            .collect();
        let mut best = (
            f64::INFINITY,
            Banding {
                bands: 1,
                rows: perms,
            },
        );
        for bands in 1..=perms {
            for rows in 1..=perms / bands {
                let err = errors[rows - 1][bands - 1];
                if err < best.0 - 1e-12 {
                    best = (err, Banding { bands, rows });
                }
            }
        }
        best.1
    }
}

/// The points of the trapezoidal rule on `[a, b]` with a fixed number of steps, as
/// datasketch integrates.
struct Grid {
    x: Vec<f64>,
    step: f64,
}

impl Grid {
    const STEPS: usize = 1000;

    fn new(a: f64, b: f64) -> Grid {
        let step = (b - a) / Self::STEPS as f64;
        let mut x = Vec::with_capacity(Self::STEPS + 1);
        let mut at = a;
        x.push(at);
        for _ in 0..Self::STEPS {
            at += step;
            x.push(at);
        }
        Grid { x, step }
    }

    /// For `bands` from 1 to `max_bands`: the integral over the grid of
    /// `f(candidate probability)` with `rows` rows.
    fn integrals(&self, rows: usize, max_bands: usize, f: impl Fn(f64) -> f64) -> Vec<f64> {
        let miss: Vec<f64> = self.x.iter().map(|x| 1.0 - x.powi(rows as i32)).collect();
        // (1 - x^rows)^bands, one band more each round.
        let mut all_miss = vec![1.0; miss.len()];
        let mut values = vec![0.0; miss.len()];
        (1..=max_bands)
            .map(|_| {
                for ((q, m), v) in all_miss.iter_mut().zip(&miss).zip(&mut values) {
                    *q *= m;
                    *v = f(1.0 - *q);
                }
                values
                    .windows(2)
                    .fold(0.0, |area, w| area + 0.5 * (w[0] + w[1]) * self.step)
            })
            .collect()
    }
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

/// Writes the 32-bit bucket key of each band of `signature` into `out` (`bands` long):
/// the low half of [`band_hash`]. The batch run keeps these instead of signatures.
///
/// # Panics
/// When `out` is not `banding.bands` long or the signature is shorter than the banding.
pub fn band_keys(signature: &[u32], banding: Banding, out: &mut [u32]) {
    assert_eq!(out.len(), banding.bands);
    for (i, key) in out.iter_mut().enumerate() {
        let lo = i * banding.rows;
        *key = band_hash(&signature[lo..lo + banding.rows], i) as u32;
    }
}

/// Candidate pairs `(i, j)` with `i < j` among `docs` (indices into `signatures`, which
/// holds `perms` values per document), from shared buckets in any band. Sorted, unique.
/// See [`candidate_pairs_by_keys`], which this calls with the [`band_keys`].
#[must_use]
pub fn candidate_pairs(
    signatures: &[u32],
    perms: usize,
    docs: &[u32],
    banding: Banding,
    max_bucket: usize,
) -> Vec<(u32, u32)> {
    let mut keys = vec![0u32; signatures.len() / perms * banding.bands];
    keys.par_chunks_mut(banding.bands)
        .zip(signatures.par_chunks(perms))
        .for_each(|(k, s)| band_keys(s, banding, k));
    candidate_pairs_by_keys(&keys, banding.bands, docs, max_bucket)
}

/// Candidate pairs `(i, j)` with `i < j` among `docs` (ascending indices into `keys`,
/// which holds `bands` bucket keys per document), from shared buckets in any band.
/// Sorted, unique.
///
/// A bucket holding more than `max_bucket` documents pairs each with at most
/// `max_bucket` of the documents before it, so a template shared by thousands of
/// documents cannot explode the candidate set (they are still linked as a chain of
/// candidates, which verification then scores one by one).
#[must_use]
pub fn candidate_pairs_by_keys(
    keys: &[u32],
    bands: usize,
    docs: &[u32],
    max_bucket: usize,
) -> Vec<(u32, u32)> {
    debug_assert!(docs.windows(2).all(|w| w[0] < w[1]), "docs ascending");
    let per_band: Vec<Vec<(u32, u32)>> = (0..bands)
        .into_par_iter()
        .map_init(
            || (Vec::new(), Vec::new()),
            |(keyed, tmp): &mut (Vec<u64>, Vec<u64>), b| {
                keyed.clear();
                keyed.extend(
                    docs.iter()
                        .map(|&d| (u64::from(keys[d as usize * bands + b]) << 32) | u64::from(d)),
                );
                // Stable on the key, so documents stay ascending within a bucket.
                radix_sort_high(keyed, tmp);
                let mut pairs = Vec::new();
                let mut start = 0;
                while start < keyed.len() {
                    let key = keyed[start] >> 32;
                    let mut end = start + 1;
                    while end < keyed.len() && keyed[end] >> 32 == key {
                        end += 1;
                    }
                    let bucket = &keyed[start..end];
                    for (k, &dj) in bucket.iter().enumerate().skip(1) {
                        for &di in &bucket[k.saturating_sub(max_bucket)..k] {
                            pairs.push((di as u32, dj as u32));
                        }
                    }
                    start = end;
                }
                pairs
            },
        )
        .collect();
    let mut all: Vec<(u32, u32)> = per_band.into_iter().flatten().collect();
    all.par_sort_unstable();
    all.dedup();
    all
}

/// Sorts by the high 32 bits, stably (LSD radix sort, three passes of 11 bits).
fn radix_sort_high(v: &mut Vec<u64>, tmp: &mut Vec<u64>) {
    if v.len() < 256 {
        v.sort_by_key(|&x| x >> 32);
        return;
    }
    tmp.clear();
    tmp.resize(v.len(), 0);
    for shift in [32, 43, 54] {
        let mut counts = vec![0usize; 1 << 11];
        for &x in v.iter() {
            counts[((x >> shift) & 0x7ff) as usize] += 1;
        }
        let mut sum = 0;
        for c in &mut counts {
            let here = *c;
            *c = sum;
            sum += here;
        }
        for &x in v.iter() {
            let slot = &mut counts[((x >> shift) & 0x7ff) as usize];
            tmp[*slot] = x;
            *slot += 1;
        }
        std::mem::swap(v, tmp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn optimal_matches_datasketch() {
        // datasketch's MinHashLSH(threshold=0.5, num_perm=128) picks b=25, r=5 (bench/README).
        assert_eq!(Banding::optimal(0.5, 128), Banding { bands: 25, rows: 5 });
    }

    /// The search as first written: two `powi` per grid point and banding.
    fn direct_search(threshold: f64, perms: usize, fp_weight: f64) -> Banding {
        let integrate = |f: &dyn Fn(f64) -> f64, a: f64, b: f64| {
            let step = (b - a) / 1000.0;
            let (mut area, mut x) = (0.0, a);
            for _ in 0..1000 {
                area += 0.5 * (f(x) + f(x + step)) * step;
                x += step;
            }
            area
        };
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
                let fp = integrate(&|s| b.candidate_probability(s), 0.0, threshold);
                let fn_ = integrate(&|s| 1.0 - b.candidate_probability(s), threshold, 1.0);
                let err = fp_weight * fp + (1.0 - fp_weight) * fn_;
                if err < best.0 - 1e-12 {
                    best = (err, b);
                }
            }
        }
        best.1
    }

    #[test]
    fn optimal_equals_direct_search() {
        for perms in [8, 64, 128, 200] {
            for threshold in [0.3, 0.5, 0.72, 0.9] {
                for w in [0.5, 0.05] {
                    assert_eq!(
                        Banding::optimal_weighted(threshold, perms, w),
                        direct_search(threshold, perms, w),
                        "{perms} {threshold} {w}"
                    );
                }
            }
        }
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
    fn radix_sort_is_stable_on_the_key() {
        let mut x = 0x9e37_79b9_7f4a_7c15_u64;
        let mut v: Vec<u64> = (0..5000u64)
            .map(|d| {
                x = crate::sketch::minhash::mix64(x);
                ((x % 300) << 32) | d
            })
            .collect();
        let mut want = v.clone();
        want.sort_unstable();
        radix_sort_high(&mut v, &mut Vec::new());
        assert_eq!(v, want);
    }

    #[test]
    fn keys_give_the_pairs_of_signatures() {
        let perms = 4;
        let sigs = [1, 2, 3, 4, 1, 2, 9, 9, 5, 6, 7, 8, 5, 6, 3, 4];
        let banding = Banding { bands: 2, rows: 2 };
        let mut keys = vec![0; 8];
        for (s, k) in sigs.chunks(perms).zip(keys.chunks_mut(2)) {
            band_keys(s, banding, k);
        }
        let docs = [0, 1, 2, 3];
        let by_keys = candidate_pairs_by_keys(&keys, 2, &docs, 100);
        assert_eq!(by_keys, vec![(0, 1), (0, 3), (2, 3)]);
        assert_eq!(by_keys, candidate_pairs(&sigs, perms, &docs, banding, 100));
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
