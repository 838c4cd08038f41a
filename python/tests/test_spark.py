"""neardup.spark.dedup on local[2]: the same rows as neardup.cluster (and so as
`neardup cluster`), on a small built corpus and, when ../shared is beside the
repository, on Reuters-21578 in copies-only and default mode."""

import json
import os
import sys
from pathlib import Path

import pytest

pyspark = pytest.importorskip("pyspark")

import neardup  # noqa: E402
import neardup.spark  # noqa: E402

REUTERS = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "reuters21578.jsonl"
STORY = (
    "The central bank raised its key rate by half a point on Tuesday, citing inflation "
    "that has stayed above target for a year. Markets had expected a smaller move, and "
    "the currency rose against the dollar after the announcement in the capital."
)


@pytest.fixture(scope="module")
def spark():
    # Workers run this interpreter, which has neardup installed.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    s = (
        SparkSession.builder.master("local[2]")
        .appName("neardup-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()


def rows_of(df):
    return [r.asDict() for r in df.collect()]


def corpus():
    """Copies, an excerpt, a rewrite-like variant, unrelated texts and an empty one."""
    docs = [
        {"id": "a", "text": STORY, "title": "Rates up", "date": "2026-03-02"},
        {"id": "b", "text": STORY + " Copyright 2026 Daily Ledger.", "title": "Rates up",
         "date": "2026-03-01"},
        {"id": "c", "text": STORY, "title": None, "date": None},
        {"id": "d", "text": "A storm closed the harbour and cancelled every ferry today.",
         "title": None, "date": None},
        {"id": "e", "text": "", "title": None, "date": None},
    ]
    for i in range(30):
        docs.append({"id": f"n{i}", "text": f"Item {i}: " + " ".join(
            f"word{(i * 7 + j) % 97}" for j in range(60)), "title": None, "date": None})
    return docs


@pytest.mark.parametrize("rewrites", [False, True])
def test_small_corpus_matches_cluster(spark, rewrites):
    docs = corpus()
    df = spark.createDataFrame(docs, "id string, text string, title string, date string")
    got = rows_of(neardup.spark.dedup(df, title_col="title", date_col="date", rewrites=rewrites))
    assert got == neardup.cluster(docs, rewrites=rewrites)
    by_id = {r["id"]: r for r in got}
    assert by_id["a"]["group"] == by_id["b"]["group"] == by_id["c"]["group"] is not None
    assert by_id["e"]["group"] is None


def test_bad_settings_and_ids(spark):
    df = spark.createDataFrame([("a", STORY), ("a", STORY)], "id string, text string")
    with pytest.raises(neardup.ConfigError, match="minhash only"):
        neardup.spark.dedup(df, method="simhash")
    with pytest.raises(neardup.ConfigError, match="threshold"):
        neardup.spark.dedup(df, threshold=0)
    with pytest.raises(neardup.DuplicateIdError, match="'a'"):
        neardup.spark.dedup(df)


def test_connected_components(spark):
    e = spark.createDataFrame([(1, 2), (2, 3), (5, 6), (3, 4), (7, 6), (8, 4), (9, 9)],
                              "a long, b long")
    got = {r["node"]: r["component"] for r in neardup.spark.connected_components(e).collect()}
    assert got == {1: 1, 2: 1, 3: 1, 4: 1, 8: 1, 5: 5, 6: 5, 7: 5}


@pytest.mark.skipif(not REUTERS.exists(), reason="../shared/corpora not beside the repository")
@pytest.mark.parametrize("rewrites", [False, True], ids=["copies-only", "default"])
def test_reuters_matches_cluster_exactly(spark, rewrites):
    limit = int(os.environ.get("NEARDUP_SPARK_DOCS", "0")) or None
    with open(REUTERS) as f:
        docs = [json.loads(line) for line in f][:limit]
    df = spark.createDataFrame(
        [(d["id"], d["text"], d.get("title"), d.get("date")) for d in docs],
        "id string, text string, title string, date string",
    )
    got = rows_of(neardup.spark.dedup(df, title_col="title", date_col="date", rewrites=rewrites))
    expected = neardup.cluster(docs, rewrites=rewrites, on_bad_date="ignore")
    assert len(got) == len(expected)
    assert sum(1 for r in expected if r["group"]) > 100
    diffs = [(g, e) for g, e in zip(got, expected) if g != e]
    assert not diffs, f"{len(diffs)} rows differ, e.g. {diffs[:3]}"
