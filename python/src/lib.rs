//! `neardup._neardup`: the Python extension. A thin layer over the `neardup` crate:
//! Python values in, `neardup` calls with the GIL released, Python values out. Every
//! `neardup::Error` becomes an exception of the `neardup.NeardupError` hierarchy
//! (defined in `neardup/_errors.py`) carrying the library's message.

use std::path::PathBuf;

use neardup::{Config, Document, Method};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyType};

mod columns;
mod spark;

/// Exception class `name` of `neardup._errors`.
fn error_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    Ok(py
        .import("neardup._errors")?
        .getattr(name)?
        .cast_into::<PyType>()?)
}

/// A Python exception of class `name` (in `neardup._errors`) with `message`.
fn raise(py: Python<'_>, name: &str, message: String) -> PyErr {
    match error_class(py, name) {
        Ok(cls) => PyErr::from_type(cls, message),
        Err(e) => e,
    }
}

/// The exception class of a library error: bad settings and bad input are also
/// `ValueError`s, a missing file a `FileNotFoundError`, other I/O an `OSError`.
fn class_of(e: &neardup::Error) -> &'static str {
    use neardup::Error as E;
    match e {
        E::Config(_) => "ConfigError",
        E::InvalidJson { .. } | E::InvalidRecord { .. } => "InvalidInputError",
        E::DuplicateId { .. } => "DuplicateIdError",
        E::IdExists { .. } => "IdExistsError",
        E::IndexFile { .. } | E::IndexVersion { .. } | E::ConfigMismatch { .. } => "IndexFileError",
        E::EmptyId => "InvalidInputError",
        E::NotFound { .. } => "NotFoundError",
        E::Io { .. } => "NeardupIOError",
        _ => "NeardupError",
    }
}

/// Converts a library error into its Python exception.
pub(crate) fn py_err(py: Python<'_>, e: neardup::Error) -> PyErr {
    raise(py, class_of(&e), e.to_string())
}

/// An `InvalidInputError` with `message`.
pub(crate) fn invalid(py: Python<'_>, message: String) -> PyErr {
    raise(py, "InvalidInputError", message)
}

/// The settings every entry point accepts, by name (see `neardup/__init__.pyi`).
const SETTINGS: &str = "threshold, method, shingle, perms, seed, containment, bands, \
                        rewrites, rewrite_threshold, rewrite_window_days, hamming, footprint";

/// A validated `Config` from keyword settings; unknown names are a `TypeError`, bad
/// values a `ConfigError`.
pub(crate) fn config_from(
    py: Python<'_>,
    settings: Option<&Bound<'_, PyDict>>,
) -> PyResult<Config> {
    let mut b = Config::builder();
    let Some(settings) = settings else {
        return b.build().map_err(|e| py_err(py, e));
    };
    let config_err = |e: neardup::Error| py_err(py, e);
    for (k, v) in settings.iter() {
        let key: String = k.extract()?;
        if v.is_none() {
            continue;
        }
        b = match key.as_str() {
            "threshold" => b.threshold(v.extract()?),
            "method" => {
                let m: String = v.extract()?;
                let method: Method = serde_json::from_value(serde_json::Value::String(m.clone()))
                    .map_err(|_| {
                    raise(
                        py,
                        "ConfigError",
                        format!("invalid configuration: method {m:?}: expected minhash or simhash"),
                    )
                })?;
                b.method(method)
            }
            "shingle" => b.shingle(v.extract::<String>()?.parse().map_err(config_err)?),
            "perms" => b.perms(v.extract()?),
            "seed" => b.seed(v.extract()?),
            "containment" => b.containment(v.extract()?),
            "bands" => {
                let banding = if let Ok((bands, rows)) = v.extract::<(usize, usize)>() {
                    neardup::Banding { bands, rows }
                } else {
                    v.extract::<String>()?.parse().map_err(config_err)?
                };
                b.bands(banding)
            }
            "rewrites" => b.rewrites(v.extract()?),
            "rewrite_threshold" => b.rewrite_threshold(v.extract()?),
            "rewrite_window_days" => b.rewrite_window_days(v.extract()?),
            "hamming" => b.hamming(v.extract()?),
            "footprint" => b.footprint(v.extract::<String>()?.parse().map_err(config_err)?),
            other => {
                return Err(PyTypeError::new_err(format!(
                    "unknown setting {other:?}; the settings are {SETTINGS}"
                )));
            }
        };
    }
    b.build().map_err(config_err)
}

/// A configuration as a Python dict (its JSON form, as index files store it).
fn config_dict<'py>(py: Python<'py>, config: &Config) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_string(config).map_err(|e| PyTypeError::new_err(e.to_string()))?;
    py.import("json")?.call_method1("loads", (json,))
}

/// A publication time from `None`, seconds since the epoch (int or float), a
/// `datetime.datetime` (naive means UTC), a `datetime.date`, or a string
/// `neardup::parse_date` reads.
pub(crate) fn timestamp_of(date: Option<&Bound<'_, PyAny>>) -> PyResult<Option<i64>> {
    let Some(date) = date.filter(|d| !d.is_none()) else {
        return Ok(None);
    };
    let py = date.py();
    if let Ok(s) = date.extract::<String>() {
        return neardup::parse_date(&s).map(Some).ok_or_else(|| {
            invalid(
                py,
                format!(
                    "date {s:?} is not a date neardup reads (ISO-8601 like 2026-03-01 or \
                     2026-03-01T12:30:00Z, 26-FEB-1987 15:01:01, 01.12.2014)"
                ),
            )
        });
    }
    if date.is_instance_of::<pyo3::types::PyBool>() {
        return Err(invalid(py, "date must not be a bool".into()));
    }
    if let Ok(t) = date.extract::<i64>() {
        return Ok(Some(t));
    }
    if let Ok(t) = date.extract::<f64>() {
        return Ok(Some(t.floor() as i64));
    }
    let dt = py.import("datetime")?;
    if date.is_instance(&dt.getattr("datetime")?)? {
        // Naive datetimes are taken as UTC, like dates without a zone in JSON Lines.
        let aware = if date.getattr("tzinfo")?.is_none() {
            let utc = dt.getattr("timezone")?.getattr("utc")?;
            let kw = PyDict::new(py);
            kw.set_item("tzinfo", utc)?;
            date.call_method("replace", (), Some(&kw))?
        } else {
            date.clone()
        };
        let t: f64 = aware.call_method0("timestamp")?.extract()?;
        return Ok(Some(t.floor() as i64));
    }
    if date.is_instance(&dt.getattr("date")?)? {
        let s: String = date.call_method0("isoformat")?.extract()?;
        return Ok(neardup::parse_date(&s));
    }
    Err(invalid(
        py,
        format!(
            "date must be a str, an int or float (seconds since the epoch), a datetime or a \
             date, not {}",
            date.get_type().name()?
        ),
    ))
}

/// A document from the Python arguments.
fn document(
    id: String,
    text: String,
    title: Option<String>,
    date: Option<&Bound<'_, PyAny>>,
) -> PyResult<Document> {
    Ok(Document {
        id,
        text,
        title,
        timestamp: timestamp_of(date)?,
    })
}

/// A document the index holds related to the one inserted or queried.
#[pyclass(frozen, module = "neardup", name = "Match")]
#[derive(Clone)]
struct PyMatch {
    /// Its id.
    #[pyo3(get)]
    id: String,
    /// How the two are related: "exact", "near_duplicate" or "rewrite".
    #[pyo3(get)]
    relation: &'static str,
    /// Their similarity (Jaccard, containment or rewrite score, by relation).
    #[pyo3(get)]
    similarity: f32,
}

#[pymethods]
impl PyMatch {
    fn __repr__(&self) -> String {
        format!(
            "Match(id={:?}, relation={:?}, similarity={:.4})",
            self.id, self.relation, self.similarity
        )
    }
}

impl From<neardup::Match> for PyMatch {
    fn from(m: neardup::Match) -> Self {
        PyMatch {
            id: m.id,
            relation: m.relation.as_str(),
            similarity: m.similarity,
        }
    }
}

/// What inserting a document found: its group, the group's canonical member, its
/// relation and similarity to that member, and its verified matches.
#[pyclass(frozen, module = "neardup", name = "Verdict")]
struct PyVerdict {
    /// The group's id, or None while the document is alone.
    #[pyo3(get)]
    group: Option<String>,
    /// The id of the group's canonical member (the document itself when alone).
    #[pyo3(get)]
    canonical: String,
    /// Relation to the canonical member, None for the canonical member itself.
    #[pyo3(get)]
    relation: Option<&'static str>,
    /// Similarity to the canonical member, None for the canonical member itself.
    #[pyo3(get)]
    similarity: Option<f32>,
    matches: Vec<PyMatch>,
}

#[pymethods]
impl PyVerdict {
    /// Verified matches among the documents held, strongest first.
    #[getter]
    fn matches(&self) -> Vec<PyMatch> {
        self.matches.clone()
    }

    /// True when the document joined a group (it is a copy or rewrite of one held).
    #[getter]
    fn is_duplicate(&self) -> bool {
        self.relation.is_some()
    }

    fn __repr__(&self) -> String {
        let opt = |o: Option<String>| o.unwrap_or_else(|| "None".to_owned());
        format!(
            "Verdict(group={}, canonical={:?}, relation={}, similarity={}, matches={})",
            opt(self.group.as_ref().map(|g| format!("{g:?}"))),
            self.canonical,
            opt(self.relation.map(|r| format!("{r:?}"))),
            opt(self.similarity.map(|s| format!("{s:.4}"))),
            self.matches.len()
        )
    }
}

impl From<neardup::Verdict> for PyVerdict {
    fn from(v: neardup::Verdict) -> Self {
        let relation = v.relation.relation();
        PyVerdict {
            group: v.group,
            canonical: v.canonical,
            relation: relation.map(neardup::Relation::as_str),
            similarity: relation.map(|_| v.similarity),
            matches: v.matches.into_iter().map(PyMatch::from).collect(),
        }
    }
}

impl From<neardup::Placement> for PyVerdict {
    fn from(p: neardup::Placement) -> Self {
        let relation = p.relation.relation();
        PyVerdict {
            group: p.group,
            canonical: p.canonical,
            relation: relation.map(neardup::Relation::as_str),
            similarity: relation.map(|_| p.similarity),
            matches: Vec::new(),
        }
    }
}

/// An incremental near-duplicate and rewrite index (see `neardup/__init__.pyi`).
#[pyclass(frozen, module = "neardup", name = "Index")]
struct PyIndex {
    inner: neardup::Index,
}

/// Writes an index to a file in a new temporary directory and returns the bytes.
fn index_bytes(index: &neardup::Index) -> neardup::Result<Vec<u8>> {
    let dir = tempfile::tempdir().map_err(|e| neardup::Error::io(std::env::temp_dir(), e))?;
    let path = dir.path().join("index.ndx");
    index.save(&path)?;
    std::fs::read(&path).map_err(|e| neardup::Error::io(&path, e))
}

/// Reads an index from bytes written by [`index_bytes`].
fn index_from(bytes: &[u8]) -> neardup::Result<neardup::Index> {
    let dir = tempfile::tempdir().map_err(|e| neardup::Error::io(std::env::temp_dir(), e))?;
    let path = dir.path().join("index.ndx");
    std::fs::write(&path, bytes).map_err(|e| neardup::Error::io(&path, e))?;
    neardup::Index::load(&path)
}

#[pymethods]
impl PyIndex {
    #[new]
    #[pyo3(signature = (threshold = 0.5, method = "minhash", **settings))]
    fn new(
        py: Python<'_>,
        threshold: f64,
        method: &str,
        settings: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        let all = PyDict::new(py);
        all.set_item("threshold", threshold)?;
        all.set_item("method", method)?;
        if let Some(s) = settings {
            all.update(s.as_mapping())?;
        }
        let config = config_from(py, Some(&all))?;
        let inner = neardup::Index::new(config).map_err(|e| py_err(py, e))?;
        Ok(PyIndex { inner })
    }

    /// Inserts a document and returns its Verdict.
    #[pyo3(signature = (id, text, title = None, date = None))]
    fn insert(
        &self,
        py: Python<'_>,
        id: String,
        text: String,
        title: Option<String>,
        date: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyVerdict> {
        let doc = document(id, text, title, date)?;
        py.detach(|| self.inner.insert(doc))
            .map(PyVerdict::from)
            .map_err(|e| py_err(py, e))
    }

    /// Inserts documents in order (features computed in parallel); one Verdict each.
    fn insert_many(&self, py: Python<'_>, records: &Bound<'_, PyAny>) -> PyResult<Vec<PyVerdict>> {
        let cols = py
            .import("neardup")?
            .getattr("_columns_of_records")?
            .call1((records,))?;
        let docs = columns::documents(&cols, false)?;
        let results = py.detach(|| self.inner.insert_batch(docs));
        results
            .into_iter()
            .map(|r| r.map(PyVerdict::from).map_err(|e| py_err(py, e)))
            .collect()
    }

    /// The verified matches of a text among the documents held (every exact copy of a
    /// matched body included), without inserting it.
    #[pyo3(signature = (text, title = None, date = None))]
    fn query(
        &self,
        py: Python<'_>,
        text: String,
        title: Option<String>,
        date: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Vec<PyMatch>> {
        let doc = document(String::new(), text, title, date)?;
        let matches = py.detach(|| self.inner.query(&doc).matches);
        Ok(matches.into_iter().map(PyMatch::from).collect())
    }

    /// Removes a document; False when no document has this id.
    fn remove(&self, py: Python<'_>, id: &str) -> bool {
        py.detach(|| self.inner.remove(id))
    }

    /// Where a held document stands (a Verdict without matches), or None.
    fn placement(&self, py: Python<'_>, id: &str) -> Option<PyVerdict> {
        py.detach(|| self.inner.placement(id)).map(PyVerdict::from)
    }

    /// Removes every document dated before `date`; returns how many were removed.
    fn evict_before(&self, py: Python<'_>, date: &Bound<'_, PyAny>) -> PyResult<usize> {
        let Some(t) = timestamp_of(Some(date))? else {
            return Err(invalid(py, "evict_before needs a date".into()));
        };
        Ok(py.detach(|| self.inner.evict_before(t)))
    }

    /// The settings of the index, as a dict.
    #[getter]
    fn settings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        config_dict(py, self.inner.config())
    }

    fn len(&self) -> usize {
        self.inner.len()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __contains__(&self, id: &str) -> bool {
        self.inner.contains(id)
    }

    /// Writes the index to a file (atomically).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| self.inner.save(&path))
            .map_err(|e| py_err(py, e))
    }

    /// Reads an index written by `save`.
    #[classmethod]
    fn load(_cls: &Bound<'_, PyType>, py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        py.detach(|| neardup::Index::load(&path))
            .map(|inner| PyIndex { inner })
            .map_err(|e| py_err(py, e))
    }

    /// The index as bytes (the file format of `save`).
    fn to_bytes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let bytes = py
            .detach(|| index_bytes(&self.inner))
            .map_err(|e| py_err(py, e))?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// An index from bytes written by `to_bytes`.
    #[classmethod]
    fn from_bytes(_cls: &Bound<'_, PyType>, py: Python<'_>, data: &[u8]) -> PyResult<Self> {
        load_bytes(py, data)
    }

    fn __reduce__<'py>(
        &self,
        py: Python<'py>,
    ) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let f = py
            .import("neardup._neardup")?
            .getattr("_index_from_bytes")?;
        Ok((f, (self.to_bytes(py)?,)))
    }

    fn __repr__(&self) -> String {
        format!("Index(len={})", self.inner.len())
    }
}

fn load_bytes(py: Python<'_>, data: &[u8]) -> PyResult<PyIndex> {
    py.detach(|| index_from(data))
        .map(|inner| PyIndex { inner })
        .map_err(|e| py_err(py, e))
}

/// Unpickles an Index (the callable `Index.__reduce__` names).
#[pyfunction]
fn _index_from_bytes(py: Python<'_>, data: &[u8]) -> PyResult<PyIndex> {
    load_bytes(py, data)
}

/// Columns of `neardup.cluster`'s result: id, group, canonical, relation, similarity.
type Rows = (
    Vec<String>,
    Vec<Option<String>>,
    Vec<Option<String>>,
    Vec<Option<String>>,
    Vec<Option<f64>>,
);

/// Clusters a batch of documents, as `neardup cluster` does, and returns one row per
/// document in input order (columns: id, group, canonical, relation, similarity).
#[pyfunction]
#[pyo3(signature = (records, lenient_dates, **settings))]
fn _cluster(
    py: Python<'_>,
    records: &Bound<'_, PyAny>,
    lenient_dates: bool,
    settings: Option<&Bound<'_, PyDict>>,
) -> PyResult<Rows> {
    let config = config_from(py, settings)?;
    let docs = columns::documents(records, lenient_dates)?;
    let c = py
        .detach(|| neardup::cluster_documents(&docs, &config))
        .map_err(|e| py_err(py, e))?;
    let n = c.docs.len();
    let mut rows: Rows = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for d in 0..n as u32 {
        let l = c.doc_line(d);
        rows.0.push(l.id.to_owned());
        rows.1.push(l.group.map(str::to_owned));
        rows.2.push(l.canonical.map(str::to_owned));
        rows.3.push(l.relation.map(str::to_owned));
        rows.4.push(l.similarity);
    }
    Ok(rows)
}

/// Seconds since the Unix epoch (UTC) of a date string, as neardup reads dates
/// (ISO-8601, `26-FEB-1987 15:01:01`, `01.12.2014`), or None when it reads none.
#[pyfunction]
fn parse_date(s: &str) -> Option<i64> {
    neardup::parse_date(s)
}

/// Benchmark helper: inserts the documents (columns as for `cluster`) one by one into
/// a new index in a Rust loop and returns the seconds spent in `Index::insert` alone,
/// the baseline of the Python `insert` overhead (python/benches/insert_overhead.py).
#[pyfunction]
#[pyo3(signature = (records, **settings))]
fn _rust_insert_seconds(
    py: Python<'_>,
    records: &Bound<'_, PyAny>,
    settings: Option<&Bound<'_, PyDict>>,
) -> PyResult<f64> {
    let config = config_from(py, settings)?;
    let docs = columns::documents(records, true)?;
    py.detach(|| {
        let index = neardup::Index::new(config)?;
        let start = std::time::Instant::now();
        for d in docs {
            index.insert(d)?;
        }
        Ok(start.elapsed().as_secs_f64())
    })
    .map_err(|e| py_err(py, e))
}

/// The extension module.
#[pymodule]
fn _neardup(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyIndex>()?;
    m.add_class::<PyVerdict>()?;
    m.add_class::<PyMatch>()?;
    m.add_function(wrap_pyfunction!(_cluster, m)?)?;
    m.add_function(wrap_pyfunction!(_index_from_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(_rust_insert_seconds, m)?)?;
    m.add_function(wrap_pyfunction!(parse_date, m)?)?;
    spark::register(m)?;
    Ok(())
}
