//! Evaluation against a gold file: pairwise precision, recall and F1, adjusted Rand
//! index, B-cubed F1, and per-label merge rates of labelled pairs. The figures are
//! computed exactly as `shared/eval/score.py` computes them.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::Path;

use crate::error::{Error, Location, Result};
use crate::pipeline::Clustering;

/// The gold standard: each document's gold group (or none) and the labelled pairs.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gold {
    /// Gold group of each id (`None`: alone), in file order.
    pub clusters: Vec<(String, Option<String>)>,
    /// Labelled pairs: `(id, pair_of, label)`.
    pub pairs: Vec<(String, String, String)>,
}

/// Share of one label's pairs that were put in one group.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LabelRate {
    /// Number of labelled pairs.
    pub pairs: u64,
    /// Share merged.
    pub merged: f64,
}

/// The scores of a prediction against a gold standard.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EvalScores {
    /// Gold documents scored.
    pub docs: u64,
    /// Pairs in one gold group.
    pub gold_pairs: u64,
    /// Pairs in one predicted group.
    pub pred_pairs: u64,
    /// Pairs in both.
    pub true_pairs: u64,
    /// `true_pairs / pred_pairs` (1 when nothing is predicted).
    pub precision: f64,
    /// `true_pairs / gold_pairs` (1 when the gold has no pairs).
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Adjusted Rand index.
    pub ari: f64,
    /// B-cubed F1.
    pub bcubed_f1: f64,
    /// Merge rate per label of the labelled pairs.
    pub labelled_pairs: BTreeMap<String, LabelRate>,
    /// Predicted ids that the gold does not have.
    pub pred_ids_not_in_gold: u64,
    /// Gold ids that the prediction does not have.
    pub gold_ids_not_in_pred: u64,
}

fn str_field(v: &serde_json::Value, key: &str) -> Option<String> {
    match v.get(key)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Gold {
    /// Reads a gold file: JSON Lines with `id`, `cluster` (gold group or null) and,
    /// optionally, `pair_of` + `label`.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::InvalidJson`] or
    /// [`Error::InvalidRecord`] naming the line of a bad record.
    pub fn read(path: &Path) -> Result<Gold> {
        let file = std::fs::File::open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::NotFound {
                path: path.to_owned(),
            },
            _ => Error::io(path, e),
        })?;
        let mut gold = Gold::default();
        for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| Error::io(path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            let at = || Location {
                path: path.to_owned(),
                line: i as u64 + 1,
            };
            let v: serde_json::Value =
                serde_json::from_str(&line).map_err(|e| Error::InvalidJson {
                    at: at(),
                    message: e.to_string(),
                })?;
            let id = str_field(&v, "id").ok_or_else(|| Error::InvalidRecord {
                at: at(),
                message: "field \"id\" is missing".into(),
            })?;
            let cluster = str_field(&v, "cluster");
            if let (Some(p), Some(l)) = (str_field(&v, "pair_of"), str_field(&v, "label"))
                && !p.is_empty()
                && !l.is_empty()
            {
                gold.pairs.push((id.clone(), p, l));
            }
            gold.clusters.push((id, cluster));
        }
        Ok(gold)
    }

    /// Scores predicted groups (`id → group`, `None`: alone).
    #[must_use]
    pub fn score(&self, pred: &HashMap<String, Option<String>>) -> EvalScores {
        let gold: HashMap<&str, Option<&str>> = self
            .clusters
            .iter()
            .map(|(id, c)| (id.as_str(), c.as_deref()))
            .collect();
        let mut ids: Vec<&str> = gold.keys().copied().collect();
        ids.sort_unstable();
        // Documents alone get a group of their own (score.py's "\0tag\0id").
        let label = |id: &str, g: Option<&str>, tag: char| match g {
            Some(g) => format!("={g}"),
            None => format!("\0{tag}\0{id}"),
        };
        let g: Vec<String> = ids.iter().map(|id| label(id, gold[id], 'g')).collect();
        let p: Vec<String> = ids
            .iter()
            .map(|id| label(id, pred.get(*id).and_then(|x| x.as_deref()), 'p'))
            .collect();
        let mut both: HashMap<(&str, &str), u64> = HashMap::new();
        let mut gs: HashMap<&str, u64> = HashMap::new();
        let mut ps: HashMap<&str, u64> = HashMap::new();
        for (a, b) in g.iter().zip(&p) {
            *both.entry((a, b)).or_default() += 1;
            *gs.entry(a).or_default() += 1;
            *ps.entry(b).or_default() += 1;
        }
        let comb2 = |c: u64| c * c.saturating_sub(1) / 2;
        let tp: u64 = both.values().map(|&c| comb2(c)).sum();
        let gp: u64 = gs.values().map(|&c| comb2(c)).sum();
        let pp: u64 = ps.values().map(|&c| comb2(c)).sum();
        let n = ids.len() as u64;
        let (tpf, gpf, ppf) = (tp as f64, gp as f64, pp as f64);
        let precision = if pp > 0 { tpf / ppf } else { 1.0 };
        let recall = if gp > 0 { tpf / gpf } else { 1.0 };
        let f1 = if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        };
        let expected = if n > 1 {
            gpf * ppf / comb2(n) as f64
        } else {
            0.0
        };
        let mean = f64::midpoint(gpf, ppf);
        #[allow(clippy::float_cmp)] // score.py compares exactly
        let ari = if mean == expected {
            1.0
        } else {
            (tpf - expected) / (mean - expected)
        };
        let (mut bp, mut br) = (0.0, 0.0);
        for (a, b) in g.iter().zip(&p) {
            let k = both[&(a.as_str(), b.as_str())] as f64;
            bp += k / ps[b.as_str()] as f64;
            br += k / gs[a.as_str()] as f64;
        }
        let nf = n.max(1) as f64;
        let (bp, br) = (bp / nf, br / nf);
        let bcubed_f1 = if bp + br > 0.0 {
            2.0 * bp * br / (bp + br)
        } else {
            0.0
        };
        let mut counts: BTreeMap<String, (u64, u64)> = BTreeMap::new();
        for (id, other, lab) in &self.pairs {
            let e = counts.entry(lab.clone()).or_default();
            e.0 += 1;
            let a = pred.get(id).and_then(|x| x.as_ref());
            let b = pred.get(other).and_then(|x| x.as_ref());
            e.1 += u64::from(a.is_some() && a == b);
        }
        let labelled_pairs = counts
            .into_iter()
            .map(|(k, (t, m))| {
                (
                    k,
                    LabelRate {
                        pairs: t,
                        merged: round4(m as f64 / t as f64),
                    },
                )
            })
            .collect();
        EvalScores {
            docs: n,
            gold_pairs: gp,
            pred_pairs: pp,
            true_pairs: tp,
            precision: round4(precision),
            recall: round4(recall),
            f1: round4(f1),
            ari: round4(ari),
            bcubed_f1: round4(bcubed_f1),
            labelled_pairs,
            pred_ids_not_in_gold: pred
                .keys()
                .filter(|k| !gold.contains_key(k.as_str()))
                .count() as u64,
            gold_ids_not_in_pred: ids.iter().filter(|k| !pred.contains_key(**k)).count() as u64,
        }
    }
}

/// Rounds to 4 decimals, as the reference scorer prints.
fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

impl Clustering {
    /// Each document's group id (`None` when alone), by document id.
    #[must_use]
    pub fn predictions(&self) -> HashMap<String, Option<String>> {
        (0..self.docs.len() as u32)
            .map(|d| {
                let l = self.doc_line(d);
                (l.id.to_owned(), l.group.map(str::to_owned))
            })
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // the figures are rounded to 4 decimals, as score.py prints
mod tests {
    use super::*;

    fn gold() -> Gold {
        Gold {
            clusters: vec![
                ("a".into(), Some("x".into())),
                ("b".into(), Some("x".into())),
                ("c".into(), None),
                ("d".into(), Some("y".into())),
                ("e".into(), Some("y".into())),
            ],
            pairs: vec![
                ("b".into(), "a".into(), "copy".into()),
                ("c".into(), "a".into(), "other".into()),
                ("e".into(), "d".into(), "copy".into()),
            ],
        }
    }

    fn pred(groups: &[(&str, Option<&str>)]) -> HashMap<String, Option<String>> {
        groups
            .iter()
            .map(|(i, g)| ((*i).to_owned(), g.map(str::to_owned)))
            .collect()
    }

    #[test]
    fn perfect_prediction() {
        let s = gold().score(&pred(&[
            ("a", Some("1")),
            ("b", Some("1")),
            ("c", None),
            ("d", Some("2")),
            ("e", Some("2")),
        ]));
        assert_eq!(
            (s.precision, s.recall, s.f1, s.ari, s.bcubed_f1),
            (1.0, 1.0, 1.0, 1.0, 1.0)
        );
        assert_eq!(s.labelled_pairs["copy"].merged, 1.0);
        assert_eq!(s.labelled_pairs["other"].merged, 0.0);
    }

    #[test]
    fn one_merge_too_many() {
        // Predicted: {a, b, c}, {d}, {e}. Gold pairs: ab, de. Predicted: ab, ac, bc.
        let s = gold().score(&pred(&[
            ("a", Some("1")),
            ("b", Some("1")),
            ("c", Some("1")),
            ("d", None),
            ("e", None),
            ("z", Some("9")),
        ]));
        assert_eq!((s.gold_pairs, s.pred_pairs, s.true_pairs), (2, 3, 1));
        assert_eq!(s.precision, 0.3333);
        assert_eq!(s.recall, 0.5);
        assert_eq!(s.f1, 0.4);
        // ARI: expected = 2*3/10 = 0.6, mean = 2.5: (1 - 0.6) / (2.5 - 0.6).
        assert_eq!(s.ari, round4(0.4 / 1.9));
        assert_eq!(s.labelled_pairs["copy"].merged, 0.5);
        assert_eq!(s.labelled_pairs["other"].merged, 1.0);
        assert_eq!(s.pred_ids_not_in_gold, 1);
    }
}
