"""A PySpark job: neardup's groups for a folder of JSON Lines or Parquet files.

    spark-submit --master local[2] python/examples/spark_dedup.py IN_DIR OUT_DIR \
        [--format json|parquet] [--no-rewrites] [--threshold 0.5]

Reads records with `id`, `text` and optional `title` / `date` fields and writes one row per
document (id, group, canonical, relation, similarity) as Parquet to OUT_DIR. Every
executor needs the neardup package (`pip install ./python`) in the Python it runs.
"""

import argparse

from pyspark.sql import SparkSession

import neardup.spark


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("input")
    p.add_argument("output")
    p.add_argument("--format", choices=["json", "parquet"], default="json")
    p.add_argument("--no-rewrites", action="store_true", help="copies only")
    p.add_argument("--threshold", type=float, default=0.5)
    a = p.parse_args()

    spark = SparkSession.builder.appName("neardup").getOrCreate()
    df = spark.read.format(a.format).load(a.input)
    cols = set(df.columns)
    result = neardup.spark.dedup(
        df,
        title_col="title" if "title" in cols else None,
        date_col="date" if "date" in cols else None,
        threshold=a.threshold,
        rewrites=not a.no_rewrites,
    )
    result.write.mode("overwrite").parquet(a.output)
    spark.stop()


if __name__ == "__main__":
    main()
