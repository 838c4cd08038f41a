"""neardup.spark.dedup on local[N]: wall time and shuffle bytes per document.

    python benches/spark_bench.py CORPUS.jsonl [--master local[2]] [--no-rewrites]

Reads the JSON Lines corpus with spark.read.json, runs dedup to a no-op sink, and prints
one JSON line: wall seconds (read to last row), documents, groups' documents, shuffle
bytes written (from this application's stages, via the Spark UI's REST API on
localhost) and per document, stage count.
"""

import argparse
import json
import os
import sys
import time
import urllib.request

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

from pyspark.sql import SparkSession  # noqa: E402

import neardup.spark  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--partitions", type=int, default=8)
    ap.add_argument("--no-rewrites", action="store_true")
    a = ap.parse_args()
    spark = (
        SparkSession.builder.master(a.master)
        .config("spark.sql.shuffle.partitions", str(a.partitions))
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.driver.memory", "4g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    t = time.perf_counter()
    df = spark.read.json(a.corpus)
    cols = set(df.columns)
    out = neardup.spark.dedup(
        df,
        title_col="title" if "title" in cols else None,
        date_col="date" if "date" in cols else None,
        rewrites=not a.no_rewrites,
    ).persist()
    docs = out.count()
    grouped = out.filter("group is not null").count()
    wall = time.perf_counter() - t
    sc = spark.sparkContext
    url = f"{sc.uiWebUrl}/api/v1/applications/{sc.applicationId}/stages"
    stages = json.load(urllib.request.urlopen(url))
    shuffle = sum(s.get("shuffleWriteBytes", 0) for s in stages)
    print(json.dumps({
        "tool": "neardup.spark", "master": a.master, "rewrites": not a.no_rewrites,
        "docs": docs, "docs_in_groups": grouped, "wall_s": round(wall, 1),
        "shuffle_write_bytes": shuffle, "shuffle_bytes_per_doc": round(shuffle / docs, 1),
        "stages": len(stages),
    }))
    spark.stop()


if __name__ == "__main__":
    main()
