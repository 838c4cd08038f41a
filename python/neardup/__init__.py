"""neardup: near-duplicate and syndication detection for news text, in Rust.

* :class:`Index` — incremental: insert a document, learn at once which held documents
  it copies or rewrites and which group it joins.
* :func:`cluster` — a batch of documents in, one row per document out (its group, the
  group's canonical member, its relation and similarity to it), as ``neardup cluster``.
* :mod:`neardup.spark` — the same grouping over a Spark DataFrame.

Settings (keyword arguments of both): ``threshold`` (Jaccard of shingle sets, 0.5),
``method`` ("minhash" or "simhash"), ``shingle`` ("word:3"), ``perms`` (128), ``seed``,
``containment`` (0.5), ``bands`` ("26x3" or (26, 3)), ``rewrites`` (True),
``rewrite_threshold`` (0.24), ``rewrite_window_days`` (3), ``hamming`` (9).
"""

from __future__ import annotations

from typing import Any, Iterable

from . import _errors
from ._errors import (
    ConfigError,
    DuplicateIdError,
    IdExistsError,
    IndexFileError,
    InvalidInputError,
    NeardupError,
    NeardupIOError,
    NotFoundError,
)
from ._neardup import Index, Match, Verdict, _cluster, parse_date

__all__ = [
    "Index",
    "Match",
    "Verdict",
    "cluster",
    "parse_date",
    "COLUMNS",
    *_errors.__all__,
]

#: The columns of a :func:`cluster` result, in order.
COLUMNS = ("id", "group", "canonical", "relation", "similarity")


def _id(value: Any, i: int) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InvalidInputError(
        f"record {i}: id must be a str or an int, not {type(value).__name__}"
    )


def _columns_of_records(records: Iterable[Any]) -> tuple[list, list, list, list]:
    """(ids, texts, titles, dates) of an iterable of dicts or (id, text[, title[, date]])
    tuples."""
    ids: list = []
    texts: list = []
    titles: list = []
    dates: list = []
    for i, r in enumerate(records):
        if isinstance(r, dict):
            for field in ("id", "text"):
                if field not in r:
                    raise InvalidInputError(f'record {i}: field "{field}" is missing')
            ids.append(_id(r["id"], i))
            texts.append(r["text"])
            titles.append(r.get("title"))
            dates.append(r.get("date"))
        elif isinstance(r, (tuple, list)) and 2 <= len(r) <= 4:
            ids.append(_id(r[0], i))
            texts.append(r[1])
            titles.append(r[2] if len(r) > 2 else None)
            dates.append(r[3] if len(r) > 3 else None)
        else:
            raise InvalidInputError(
                f"record {i}: expected a dict with id and text, or an (id, text) tuple, "
                f"not {type(r).__name__}"
            )
    return ids, texts, titles, dates


def _columns_of_table(names: list[str], column) -> tuple[list, list, list, list]:
    """(ids, texts, titles, dates) of a table whose column ``name`` is ``column(name)``
    (a list)."""
    for field in ("id", "text"):
        if field not in names:
            raise InvalidInputError(f'the table has no "{field}" column (it has {names})')
    ids = [_id(v, i) for i, v in enumerate(column("id"))]
    texts = column("text")
    titles = column("title") if "title" in names else None
    dates = column("date") if "date" in names else None
    return ids, texts, titles, dates


def _kind(records: Any) -> str:
    module = type(records).__module__
    if module.startswith("pandas") and hasattr(records, "columns"):
        return "pandas"
    if module.startswith("pyarrow") and hasattr(records, "column_names"):
        return "arrow"
    return "records"


def _pandas_column(df, name: str) -> list:
    col = df[name]
    # Missing values (NaN, NaT, None) become None.
    return [None if v is None or v != v else v for v in col.tolist()]


def cluster(records: Any, *, on_bad_date: str = "raise", **settings: Any):
    """Groups copies and rewrites among a batch of documents, as ``neardup cluster``.

    ``records``: an iterable of dicts (``id``, ``text``, optional ``title`` and
    ``date``) or of ``(id, text[, title[, date]])`` tuples; or a pandas DataFrame or a
    pyarrow Table with those columns. Dates: ISO-8601 strings (or the other forms
    neardup reads), seconds since the epoch, ``datetime`` or ``date``.

    Returns one row per document, in input order, with the columns of :data:`COLUMNS`:
    ``group`` (the canonical member's id, None when alone), ``canonical``, ``relation``
    ("canonical", "exact", "near_duplicate" or "rewrite") and ``similarity``: a list of
    dicts, or a DataFrame / Table of the input's kind.

    ``on_bad_date``: "raise" (an :class:`InvalidInputError` naming the record) or
    "ignore" (the document is undated, as ``neardup cluster`` and :mod:`neardup.spark`
    take it) for a date string neardup cannot read.

    Raises :class:`ConfigError` for bad settings, :class:`InvalidInputError` for bad
    records, :class:`DuplicateIdError` for a repeated id.
    """
    if on_bad_date not in ("raise", "ignore"):
        raise ValueError(f'on_bad_date must be "raise" or "ignore", not {on_bad_date!r}')
    kind = _kind(records)
    if kind == "pandas":
        cols = _columns_of_table(
            [str(c) for c in records.columns], lambda n: _pandas_column(records, n)
        )
    elif kind == "arrow":
        cols = _columns_of_table(
            list(records.column_names), lambda n: records.column(n).to_pylist()
        )
    else:
        cols = _columns_of_records(records)
    out = _cluster(cols, on_bad_date == "ignore", **settings)
    if kind == "pandas":
        import pandas as pd

        return pd.DataFrame(dict(zip(COLUMNS, out)))
    if kind == "arrow":
        import pyarrow as pa

        return pa.table(dict(zip(COLUMNS, out)))
    return [dict(zip(COLUMNS, row)) for row in zip(*out)]
