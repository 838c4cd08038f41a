//! Documents from Python columns, shared by `neardup.cluster`, `Index.insert_many` and
//! the Spark stages.

use neardup::Document;
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::{invalid, timestamp_of};

/// `(ids, texts, titles, dates)` as Python lists.
type Columns<'py> = (
    Bound<'py, PyList>,
    Bound<'py, PyList>,
    Option<Bound<'py, PyList>>,
    Option<Bound<'py, PyList>>,
);

/// Documents from columns `(ids, texts, titles, dates)`: lists of equal length, titles
/// and dates optional (None for the whole column or per row). With `lenient_dates`, a
/// date string neardup cannot read is no date (as `neardup cluster` counts it), else an
/// `InvalidInputError`.
pub(crate) fn documents(cols: &Bound<'_, PyAny>, lenient_dates: bool) -> PyResult<Vec<Document>> {
    let py = cols.py();
    let (ids, texts, titles, dates): Columns<'_> = cols.extract()?;
    let n = ids.len();
    if texts.len() != n
        || titles.as_ref().is_some_and(|t| t.len() != n)
        || dates.as_ref().is_some_and(|t| t.len() != n)
    {
        return Err(invalid(py, "columns of different lengths".into()));
    }
    let mut docs = Vec::with_capacity(n);
    for i in 0..n {
        let id = ids.get_item(i)?;
        let id: String = id.extract().map_err(|_| {
            invalid(
                py,
                format!(
                    "record {i}: id must be a str or an int, not {}",
                    type_name(&id)
                ),
            )
        })?;
        let text = texts.get_item(i)?;
        let text: String = text.extract().map_err(|_| {
            invalid(
                py,
                format!(
                    "record {i} (id {id:?}): text must be a str, not {}",
                    type_name(&text)
                ),
            )
        })?;
        let title = match &titles {
            Some(t) => {
                let t = t.get_item(i)?;
                if t.is_none() {
                    None
                } else {
                    Some(t.extract::<String>().map_err(|_| {
                        invalid(
                            py,
                            format!(
                                "record {i} (id {id:?}): title must be a str, not {}",
                                type_name(&t)
                            ),
                        )
                    })?)
                }
            }
            None => None,
        };
        let timestamp = match &dates {
            Some(d) => {
                let d = d.get_item(i)?;
                match timestamp_of(Some(&d)) {
                    Ok(t) => t,
                    // An unreadable date string is no date, as `neardup cluster` takes it.
                    Err(_) if lenient_dates && d.extract::<String>().is_ok() => None,
                    Err(e) => {
                        return Err(invalid(
                            py,
                            format!("record {i} (id {id:?}): {}", e.value(py)),
                        ));
                    }
                }
            }
            None => None,
        };
        docs.push(Document {
            id,
            text,
            title,
            timestamp,
        });
    }
    Ok(docs)
}

fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string())
}
