//! The Rust side of `neardup.spark`: each function is one stage of `neardup::shard` over
//! a batch of rows (Python lists from an Arrow record batch), run inside Spark's Python
//! workers. Features and word statistics travel between stages as postcard bytes; u32
//! hashes as Spark longs, u64 hashes bit-cast to signed longs.

use neardup::Config;
use neardup::Document;
use neardup::TermStats;
use neardup::features::Features;
use neardup::shard::{self, ComponentDoc, PairVerdict, Side, Sketcher};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::{config_from, invalid, timestamp_of};

fn encode<T: serde::Serialize>(py: Python<'_>, v: &T) -> PyResult<Vec<u8>> {
    postcard::to_allocvec(v).map_err(|e| invalid(py, format!("cannot encode: {e}")))
}

fn decode<'a, T: serde::Deserialize<'a>>(py: Python<'_>, b: &'a [u8]) -> PyResult<T> {
    postcard::from_bytes(b).map_err(|e| invalid(py, format!("cannot decode: {e}")))
}

fn config(py: Python<'_>, json: &str) -> PyResult<Config> {
    let c: Config = serde_json::from_str(json)
        .map_err(|e| invalid(py, format!("bad configuration JSON: {e}")))?;
    c.validate().map_err(|e| crate::py_err(py, e))?;
    Ok(c)
}

/// The configuration of keyword settings as JSON, checked, and refused for a method the
/// distributed run does not support.
#[pyfunction]
#[pyo3(signature = (**settings))]
fn config_json(py: Python<'_>, settings: Option<&Bound<'_, PyDict>>) -> PyResult<String> {
    let c = config_from(py, settings)?;
    Sketcher::new(&c).map_err(|e| crate::py_err(py, e))?;
    serde_json::to_string(&c).map_err(|e| invalid(py, e.to_string()))
}

/// Sketch columns of one batch.
type Sketched = (
    Vec<i64>,
    Vec<Option<i64>>,
    Vec<u64>,
    Vec<i64>,
    Vec<Vec<i64>>,
    Vec<Py<PyBytes>>,
    Option<Vec<Vec<i64>>>,
);

/// Stage 1: for each document, (id hash, timestamp, text length, exact hash, bucket
/// keys, features, distinct terms when rewrites are on). The id hash has its top bit
/// flipped, so that Spark's signed longs sort as the batch's unsigned hashes.
#[pyfunction]
fn sketch(
    py: Python<'_>,
    config_json: &str,
    ids: Vec<String>,
    texts: Vec<String>,
    titles: Vec<Option<String>>,
    dates: &Bound<'_, PyList>,
) -> PyResult<Sketched> {
    let c = config(py, config_json)?;
    let mut timestamps = Vec::with_capacity(texts.len());
    for d in dates.iter() {
        // An unreadable date is no date, as `neardup cluster` counts it (bad_dates).
        timestamps.push(timestamp_of(Some(&d)).unwrap_or(None));
    }
    let lens: Vec<u64> = texts.iter().map(|t| t.len() as u64).collect();
    let docs: Vec<Document> = texts
        .into_iter()
        .zip(titles)
        .zip(&timestamps)
        .map(|((text, title), &timestamp)| Document {
            id: String::new(),
            text,
            title,
            timestamp,
        })
        .collect();
    let sketches = py.detach(|| -> neardup::Result<Vec<shard::Sketch>> {
        let mut s = Sketcher::new(&c)?;
        Ok(docs.iter().map(|d| s.sketch(d)).collect())
    });
    let sketches = sketches.map_err(|e| crate::py_err(py, e))?;
    let id_keys = ids
        .iter()
        .map(|id| (shard::id_hash(id) ^ (1 << 63)) as i64)
        .collect();
    let mut out: Sketched = (
        id_keys,
        timestamps,
        lens,
        Vec::new(),
        Vec::new(),
        Vec::new(),
        None,
    );
    let mut terms = Vec::new();
    for s in &sketches {
        out.3.push(s.features.exact as i64);
        out.4.push(s.keys.iter().map(|&k| i64::from(k)).collect());
        out.5
            .push(PyBytes::new(py, &encode(py, &s.features)?).unbind());
        if c.rewrites {
            terms.push(
                shard::distinct_terms(&s.features)
                    .into_iter()
                    .map(i64::from)
                    .collect(),
            );
        }
    }
    if c.rewrites {
        out.6 = Some(terms);
    }
    Ok(out)
}

/// Stage 2: word statistics as bytes, from the number of documents and each word's count.
#[pyfunction]
fn stats_bytes(
    py: Python<'_>,
    docs: u32,
    terms: Vec<i64>,
    counts: Vec<u32>,
) -> PyResult<Bound<'_, PyBytes>> {
    let stats = shard::stats_from_counts(docs, terms.into_iter().map(|t| t as u32).zip(counts));
    Ok(PyBytes::new(py, &encode(py, &stats)?))
}

fn stats(py: Python<'_>, b: Option<&[u8]>) -> PyResult<TermStats> {
    b.map_or_else(|| Ok(TermStats::default()), |b| decode(py, b))
}

/// Stage 4b: the keywords of documents (features as bytes) under the word statistics.
#[pyfunction]
fn keywords(py: Python<'_>, stats_bytes: &[u8], feats: Vec<Vec<u8>>) -> PyResult<Vec<Vec<i64>>> {
    let stats = stats(py, Some(stats_bytes))?;
    feats
        .iter()
        .map(|b| {
            let f: Features = decode(py, b)?;
            Ok(shard::keywords_of(&f, &stats)
                .into_iter()
                .map(i64::from)
                .collect())
        })
        .collect()
}

/// Stage 4: candidate pairs of buckets (`keyword` false: LSH buckets, capped) or keyword
/// runs, each given as its members' positions (any order), with, for keyword runs, each
/// member's time slice (`slices`, see `keyword_slices`; undated without them). Returns
/// (earlier, later).
#[pyfunction]
#[pyo3(signature = (runs, keyword, slices = None))]
fn run_pairs(
    mut runs: Vec<Vec<u64>>,
    keyword: bool,
    slices: Option<Vec<Vec<i32>>>,
) -> (Vec<u64>, Vec<u64>) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for (i, r) in runs.iter_mut().enumerate() {
        let pairs = if keyword {
            let mut run: Vec<(u64, i32)> = match slices.as_ref().and_then(|s| s.get(i)) {
                Some(s) => r.iter().copied().zip(s.iter().copied()).collect(),
                None => r.iter().map(|&p| (p, shard::UNDATED_SLICE)).collect(),
            };
            run.sort_unstable();
            shard::keyword_run_pairs(&run)
        } else {
            r.sort_unstable();
            shard::bucket_pairs(r)
        };
        for (x, y) in pairs {
            a.push(x);
            b.push(y);
        }
    }
    (a, b)
}

/// The time slices under which documents dated `ts` (seconds, or None) list keywords.
#[pyfunction]
fn keyword_slices(py: Python<'_>, config_json: &str, ts: Vec<Option<i64>>) -> PyResult<Vec<i32>> {
    let c = config(py, config_json)?;
    Ok(ts
        .into_iter()
        .map(|t| shard::keyword_slice(&c, t))
        .collect())
}

/// The most keyword candidates a later document keeps (those sharing the most keywords),
/// or None for all of them.
#[pyfunction]
fn max_keyword_partners() -> Option<usize> {
    shard::max_keyword_partners()
}

/// Keywords two documents must share to be a candidate pair.
#[pyfunction]
fn min_shared_keywords() -> usize {
    shard::min_shared_keywords()
}

/// A document with more verified neighbours than this pairs none of them (closing).
#[pyfunction]
fn max_degree() -> usize {
    neardup::shard::MAX_DEGREE
}

/// The relation [`verify`] gives a pair refused as two different stories: no edge, but
/// [`group`] keeps it apart when given it with a component's edges.
const APART: &str = "apart";

/// Stage 5: verifies pairs; for each, (relation, `"apart"` or None, similarity).
#[pyfunction]
#[pyo3(signature = (config_json, stats_bytes, feats_a, ts_a, feats_b, ts_b))]
fn verify(
    py: Python<'_>,
    config_json: &str,
    stats_bytes: Option<Vec<u8>>,
    feats_a: Vec<Vec<u8>>,
    ts_a: Vec<Option<i64>>,
    feats_b: Vec<Vec<u8>>,
    ts_b: Vec<Option<i64>>,
) -> PyResult<(Vec<Option<&'static str>>, Vec<f32>)> {
    let c = config(py, config_json)?;
    let stats = stats(py, stats_bytes.as_deref())?;
    let decoded: Vec<(Features, Features)> = feats_a
        .iter()
        .zip(&feats_b)
        .map(|(a, b)| Ok((decode(py, a)?, decode(py, b)?)))
        .collect::<PyResult<_>>()?;
    Ok(py.detach(|| {
        let mut rel = Vec::with_capacity(decoded.len());
        let mut sim = Vec::with_capacity(decoded.len());
        for (i, (fa, fb)) in decoded.iter().enumerate() {
            let left = Side {
                features: fa,
                timestamp: ts_a[i],
            };
            let right = Side {
                features: fb,
                timestamp: ts_b[i],
            };
            let (r, s) = match shard::judge_pair(&c, &stats, left, right) {
                PairVerdict::Edge(r, s) => (Some(r.as_str()), s),
                PairVerdict::Apart => (Some(APART), 0.0),
                PairVerdict::Unrelated => (None, 0.0),
            };
            rel.push(r);
            sim.push(s);
        }
        (rel, sim)
    }))
}

/// Rows of a component's grouping: (pos, group, canonical, relation, similarity).
type GroupRows = (
    Vec<u64>,
    Vec<String>,
    Vec<String>,
    Vec<&'static str>,
    Vec<f64>,
);

/// Stage 6: the grouping of one connected component: its members (positions, ids,
/// timestamps, lengths, features) and edges (positions), with the pairs inside it that
/// [`verify`] refused (`"apart"`). Rows for members in groups.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
#[pyo3(signature = (config_json, stats_bytes, pos, ids, ts, lens, feats, edge_a, edge_b))]
fn group(
    py: Python<'_>,
    config_json: &str,
    stats_bytes: Option<Vec<u8>>,
    pos: Vec<u64>,
    ids: Vec<String>,
    ts: Vec<Option<i64>>,
    lens: Vec<u64>,
    feats: Vec<Vec<u8>>,
    edge_a: Vec<u64>,
    edge_b: Vec<u64>,
) -> PyResult<GroupRows> {
    let c = config(py, config_json)?;
    let stats = stats(py, stats_bytes.as_deref())?;
    let mut docs = Vec::with_capacity(pos.len());
    for (i, f) in feats.iter().enumerate() {
        docs.push(ComponentDoc {
            pos: pos[i],
            id: ids[i].clone(),
            timestamp: ts[i],
            len: lens[i],
            features: decode(py, f)?,
        });
    }
    let edges: Vec<(u64, u64)> = edge_a.into_iter().zip(edge_b).collect();
    let placed = py
        .detach(|| shard::group_component(&c, &stats, &docs, &edges))
        .map_err(|e| crate::py_err(py, e))?;
    let mut rows: GroupRows = Default::default();
    for (d, p) in docs.iter().zip(placed) {
        if let Some(p) = p {
            rows.0.push(d.pos);
            rows.1.push(p.group);
            rows.2.push(p.canonical);
            rows.3.push(p.relation.as_str());
            // Rounded as `neardup cluster` writes it.
            rows.4
                .push((f64::from(p.similarity) * 10_000.0).round() / 10_000.0);
        }
    }
    Ok(rows)
}

/// Adds the stages as `neardup._neardup.spark_*` functions.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let sub = PyModule::new(m.py(), "_spark")?;
    sub.add_function(wrap_pyfunction!(config_json, &sub)?)?;
    sub.add_function(wrap_pyfunction!(sketch, &sub)?)?;
    sub.add_function(wrap_pyfunction!(stats_bytes, &sub)?)?;
    sub.add_function(wrap_pyfunction!(keywords, &sub)?)?;
    sub.add_function(wrap_pyfunction!(run_pairs, &sub)?)?;
    sub.add_function(wrap_pyfunction!(min_shared_keywords, &sub)?)?;
    sub.add_function(wrap_pyfunction!(keyword_slices, &sub)?)?;
    sub.add_function(wrap_pyfunction!(max_keyword_partners, &sub)?)?;
    sub.add_function(wrap_pyfunction!(max_degree, &sub)?)?;
    sub.add_function(wrap_pyfunction!(verify, &sub)?)?;
    sub.add_function(wrap_pyfunction!(group, &sub)?)?;
    m.add_submodule(&sub)?;
    Ok(())
}
