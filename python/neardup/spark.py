"""neardup on Apache Spark: the batch run's groups over a DataFrame of any size.

:func:`dedup` runs ``neardup cluster``'s stages as Spark stages. The per-document and
per-pair work (sketching, keywords, verification, the grouping rule) runs in Rust inside
the executors' Python workers (``mapInArrow``); Spark shuffles the LSH band keys and
keywords to find candidate pairs (buckets capped as the batch caps them) and computes the
connected components of the verified edges itself (large-star / small-star), so no edge
is collected on the driver. The driver collects only the word statistics (one row per
distinct word) when rewrites are on.

On the same documents with the same settings, the rows are those of ``neardup cluster``
(and :func:`neardup.cluster`): like the batch, the stages number documents by id (hash,
then id), so neither the input order nor the partitioning changes a group. Only
``method="minhash"`` is supported.

Executors need this package installed (``pip install ./python`` on every node, or ship
the wheel with ``--py-files`` / an archived virtualenv).
"""

from __future__ import annotations

import json
from typing import Any, Iterator, Optional



def _stages() -> Any:
    """The Rust stages (looked up at call time, so that the functions shipped to the
    executors refer to this module, which they import, not to the extension's
    submodule)."""
    from ._neardup import _spark

    return _spark

__all__ = ["dedup", "SCHEMA"]

#: The schema of :func:`dedup`'s result.
SCHEMA = "id string, group string, canonical string, relation string, similarity double"

_SKETCH = (
    "inpos long, idh long, id string, ts long, len long, exact long, keys array<long>, "
    "feats binary, terms array<long>"
)


def _sketcher(config: str) -> Any:
    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for b in batches:
            d = b.to_pydict()
            idh, ts, lens, exact, keys, feats, terms = _stages().sketch(
                config, d["id"], d["text"], d["title"], d["date"]
            )
            n = len(exact)
            yield pa.RecordBatch.from_pydict(
                {
                    "inpos": pa.array(d["inpos"], pa.int64()),
                    "idh": pa.array(idh, pa.int64()),
                    "id": pa.array(d["id"], pa.string()),
                    "ts": pa.array(ts, pa.int64()),
                    "len": pa.array(lens, pa.int64()),
                    "exact": pa.array(exact, pa.int64()),
                    "keys": pa.array(keys, pa.list_(pa.int64())),
                    "feats": pa.array(feats, pa.binary()),
                    "terms": pa.array(terms if terms is not None else [None] * n,
                                      pa.list_(pa.int64())),
                }
            )

    return run


def _keyworder(stats: Any, config: str) -> Any:
    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for b in batches:
            d = b.to_pydict()
            kw = _stages().keywords(stats.value, d["feats"])
            # Keyword pairs are made within the rewrite window: each document's time slice.
            slices = _stages().keyword_slices(config, d["ts"])
            yield pa.RecordBatch.from_pydict(
                {
                    "pos": pa.array(d["pos"], pa.int64()),
                    "slice": pa.array(slices, pa.int32()),
                    "kw": pa.array(kw, pa.list_(pa.int64())),
                }
            )

    return run


def _pairer(keyword: bool) -> Any:
    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for b in batches:
            if keyword:
                # Runs of (pos, slice) structs.
                runs = b.column("run").to_pylist()
                a, c = _stages().run_pairs(
                    [[m["pos"] for m in r] for r in runs],
                    True,
                    [[m["slice"] for m in r] for r in runs],
                )
            else:
                a, c = _stages().run_pairs(b.column("run").to_pylist(), False)
            yield pa.RecordBatch.from_pydict(
                {"a": pa.array(a, pa.int64()), "b": pa.array(c, pa.int64())}
            )

    return run


def _verifier(config: str, stats: Any) -> Any:
    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for b in batches:
            d = b.to_pydict()
            rel, sim = _stages().verify(
                config,
                stats.value if stats is not None else None,
                d["fa"], d["ta"], d["fb"], d["tb"],
            )
            yield pa.RecordBatch.from_pydict(
                {
                    "a": pa.array(d["a"], pa.int64()),
                    "b": pa.array(d["b"], pa.int64()),
                    "relation": pa.array(rel, pa.string()),
                    "similarity": pa.array(sim, pa.float32()),
                }
            )

    return run


def _grouper(config: str, stats: Any) -> Any:
    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        for b in batches:
            out: dict[str, list] = {k: [] for k in ("pos", "group", "canonical", "relation", "similarity")}
            for comp in b.to_pylist():
                docs, edges = comp["docs"], comp["edges"]
                rows = _stages().group(
                    config,
                    stats.value if stats is not None else None,
                    [x["pos"] for x in docs],
                    [x["id"] for x in docs],
                    [x["ts"] for x in docs],
                    [x["len"] for x in docs],
                    [x["feats"] for x in docs],
                    [e["a"] for e in edges],
                    [e["b"] for e in edges],
                )
                for k, col in zip(out, rows):
                    out[k].extend(col)
            yield pa.RecordBatch.from_pydict(
                {
                    "pos": pa.array(out["pos"], pa.int64()),
                    "group": pa.array(out["group"], pa.string()),
                    "canonical": pa.array(out["canonical"], pa.string()),
                    "relation": pa.array(out["relation"], pa.string()),
                    "similarity": pa.array(out["similarity"], pa.float64()),
                }
            )

    return run


def connected_components(edges: Any, max_iterations: int = 64) -> Any:
    """Connected components of an undirected graph given as a DataFrame of edges
    ``(a long, b long)``, by large-star / small-star iterations (Kiveris et al. 2014),
    all in Spark. Returns ``(node, component)`` for every node on an edge; the component
    is its smallest node. Each round checks convergence with one count on the driver."""
    from pyspark.sql import functions as F

    def star(e: Any, large: bool) -> Any:
        if large:
            # Every node links its larger neighbours to the smallest of its neighbourhood.
            both = e.union(e.select(F.col("b").alias("a"), F.col("a").alias("b")))
        else:
            # Every node links its smaller neighbours and itself to the smallest of them.
            both = e.select(F.greatest("a", "b").alias("a"), F.least("a", "b").alias("b"))
        g = both.groupBy("a").agg(F.collect_set("b").alias("nb"))
        g = g.withColumn("m", F.least(F.col("a"), F.array_min("nb")))
        if large:
            out = g.select("a", "m", F.explode("nb").alias("n")).filter(F.col("n") > F.col("a"))
        else:
            out = g.select(
                "m", F.explode(F.array_union("nb", F.array(F.col("a")))).alias("n")
            ).filter(F.col("n") != F.col("m"))
        return out.select(F.col("n").alias("a"), F.col("m").alias("b")).distinct()

    e = edges.select("a", "b").filter(F.col("a") != F.col("b")).distinct()
    for _ in range(max_iterations):
        after = star(star(e, True), False).localCheckpoint(eager=False)
        # One job per round: it materialises the round's edges and counts the edges in
        # one of the two sets only (both are sets, so a count of 1 is a change).
        changed = (
            after.union(e).groupBy("a", "b").count().filter(F.col("count") == 1).limit(1).count()
        )
        e = after
        if changed == 0:
            break
    roots = e.select(F.col("b").alias("node")).distinct().withColumn("component", F.col("node"))
    return e.select(F.col("a").alias("node"), F.col("b").alias("component")).union(roots)


def dedup(
    df: Any,
    id_col: str = "id",
    text_col: str = "text",
    title_col: Optional[str] = None,
    date_col: Optional[str] = None,
    **settings: Any,
) -> Any:
    """Groups copies and rewrites among the rows of ``df``, as ``neardup cluster`` does.

    Rows come back in ``df``'s order (partition by partition, e.g. the lines of the JSONL
    files read); the groups do not depend on it. Dates: ISO-8601 strings, timestamps or seconds since the epoch; a date
    neardup cannot read counts as none. Settings as :func:`neardup.cluster`.

    Returns a DataFrame ``id, group, canonical, relation, similarity`` (:data:`SCHEMA`),
    one row per input row, in input order. Raises :class:`neardup.ConfigError` for bad
    settings and :class:`neardup.DuplicateIdError` when two rows share an id.
    """
    from pyspark.sql import functions as F

    from ._errors import DuplicateIdError

    config = _stages().config_json(**settings)
    rewrites = json.loads(config)["rewrites"]
    spark = df.sparkSession
    sc = spark.sparkContext

    docs = df.select(
        F.col(id_col).cast("string").alias("id"),
        F.col(text_col).cast("string").alias("text"),
        (F.col(title_col) if title_col else F.lit(None)).cast("string").alias("title"),
        (F.col(date_col) if date_col else F.lit(None).cast("string")).alias("date"),
    ).withColumn("inpos", F.monotonically_increasing_id())
    # Positions as the batch numbers documents: by id hash, then id (Spark compares
    # strings by their UTF-8 bytes, as Rust does); ids increasing along the sorted
    # partitions keep that order.
    sketched = (
        docs.mapInArrow(_sketcher(config), _SKETCH)
        .orderBy("idh", "id")
        .withColumn("pos", F.monotonically_increasing_id())
        .persist()
    )

    dup = sketched.groupBy("id").count().filter(F.col("count") > 1).limit(1).collect()
    if dup:
        sketched.unpersist()
        raise DuplicateIdError(f"id {dup[0]['id']!r} repeats the id of another row")

    stats = None
    if rewrites:
        n_docs = sketched.count()
        vocab = sketched.select(F.explode("terms").alias("t")).groupBy("t").count().collect()
        stats = sc.broadcast(
            _stages().stats_bytes(n_docs, [r["t"] for r in vocab], [r["count"] for r in vocab])
        )

    # Representatives: the first document of each body; later ones are exact copies.
    body = sketched.filter(F.col("exact") != 0).select("pos", "exact", "keys", "feats", "ts")
    first = body.groupBy("exact").agg(F.min("pos").alias("rep"))
    body = body.join(first, "exact")
    exact_edges = body.filter(F.col("pos") != F.col("rep")).select(
        F.col("rep").alias("a"), F.col("pos").alias("b")
    )
    reps = body.filter(F.col("pos") == F.col("rep"))

    buckets = (
        reps.select("pos", F.posexplode("keys").alias("band", "key"))
        .groupBy("band", "key")
        .agg(F.collect_list("pos").alias("run"))
        .filter(F.size("run") > 1)
    )
    pairs = buckets.select("run").mapInArrow(_pairer(False), "a long, b long")
    if rewrites:
        from pyspark.sql import Window

        kw = reps.select("pos", "feats", "ts").mapInArrow(
            _keyworder(stats, config), "pos long, slice int, kw array<long>"
        )
        runs = (
            kw.select("pos", "slice", F.explode("kw").alias("t"))
            .groupBy("t")
            .agg(F.collect_list(F.struct("pos", "slice")).alias("run"))
            .filter(F.size("run") > 1)
        )
        kpairs = (
            runs.select("run")
            .mapInArrow(_pairer(True), "a long, b long")
            .groupBy("a", "b")
            .count()
            .filter(F.col("count") >= _stages().min_shared_keywords())
        )
        cap = _stages().max_keyword_partners()
        if cap is not None:
            # A later document keeps the earlier ones sharing the most keywords with it.
            best = Window.partitionBy("b").orderBy(F.col("count").desc(), F.col("a"))
            kpairs = kpairs.withColumn("rank", F.row_number().over(best)).filter(
                F.col("rank") <= cap
            )
        kpairs = kpairs.select("a", "b")
        pairs = pairs.union(kpairs)
    pairs = pairs.distinct()

    side = sketched.select("pos", "feats", "ts")

    def verify(candidates: Any) -> Any:
        joined = candidates.join(
            side.select(F.col("pos").alias("a"), F.col("feats").alias("fa"),
                        F.col("ts").alias("ta")), "a"
        ).join(
            side.select(F.col("pos").alias("b"), F.col("feats").alias("fb"),
                        F.col("ts").alias("tb")), "b"
        )
        return (
            joined.select("a", "b", "fa", "ta", "fb", "tb")
            .mapInArrow(_verifier(config, stats),
                        "a long, b long, relation string, similarity float")
            .filter(F.col("relation").isNotNull())
            .select("a", "b", "relation")
        )

    # Edges, and the pairs refused as different stories ("apart"): no edges, but the
    # grouping of a component keeps them apart.
    def split(judged: Any) -> tuple[Any, Any]:
        apart = F.col("relation") == "apart"
        return judged.filter(~apart).select("a", "b"), judged.filter(apart).select("a", "b")

    judged = verify(pairs).persist()
    verified, refused = split(judged)
    if rewrites:
        # Closing: neighbours of a document with few neighbours are verified against each
        # other too, when they were no candidates.
        verified = verified.persist()
        nb = verified.union(verified.select(F.col("b").alias("a"), F.col("a").alias("b")))
        adj = (
            nb.groupBy("a")
            .agg(F.collect_set("b").alias("nb"))
            .filter(F.size("nb") <= _stages().max_degree())
        )
        more = (
            adj.select(F.explode("nb").alias("x"), "nb")
            .select("x", F.explode("nb").alias("y"))
            .filter(F.col("x") < F.col("y"))
            .select(F.col("x").alias("a"), F.col("y").alias("b"))
            .distinct()
            .join(pairs, ["a", "b"], "left_anti")
        )
        more_verified, more_refused = split(verify(more).persist())
        verified = verified.union(more_verified)
        refused = refused.union(more_refused)
    edges = verified.union(exact_edges).persist()

    comps = connected_components(edges)
    members = comps.join(
        sketched.select(F.col("pos").alias("node"), "id", "ts", "len", "feats"), "node"
    ).groupBy("component").agg(
        F.collect_list(
            F.struct(F.col("node").alias("pos"), "id", "ts", "len", "feats")
        ).alias("docs")
    )
    comp_of = comps.select(F.col("node").alias("a"), "component")
    inside = refused.join(comp_of, "a").join(
        comps.select(F.col("node").alias("b"), F.col("component").alias("cb")), "b"
    ).filter(F.col("component") == F.col("cb"))
    comp_edges = (
        edges.join(comp_of, "a")
        .select("a", "b", "component")
        .union(inside.select("a", "b", "component"))
        .groupBy("component")
        .agg(F.collect_list(F.struct("a", "b")).alias("edges"))
    )
    grouped = members.join(comp_edges, "component").select("docs", "edges").mapInArrow(
        _grouper(config, stats),
        "pos long, group string, canonical string, relation string, similarity double",
    )
    out = (
        sketched.select("pos", "inpos", "id")
        .join(grouped, "pos", "left")
        .orderBy("inpos")
        .select("id", "group", "canonical", "relation", "similarity")
    )
    return out
