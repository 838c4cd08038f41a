"""neardup.cluster from Python, as a peer of ../shared/bench/peers.py (same output format).

    python benches/cluster_peers.py CORPUS.jsonl --out PRED.jsonl [--threshold 0.5]

Reads the JSON Lines corpus, runs neardup.cluster in copies-only mode (classic MinHash
dedup: word 3-shingles, 128 permutations, the threshold on shingle Jaccard), writes one
{"id", "cluster"} per input line (cluster: the group id, or the document's own id when
alone; null for empty texts, as peers.py) and prints one JSON line: wall seconds (read +
cluster), peak RSS.
"""

import argparse
import json
import resource
import time

import neardup


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--out", required=True)
    ap.add_argument("--threshold", type=float, default=0.5)
    a = ap.parse_args()
    t0 = time.perf_counter()
    with open(a.corpus) as f:
        recs = [json.loads(line) for line in f]
    t1 = time.perf_counter()
    rows = neardup.cluster(
        ({"id": r["id"], "text": r.get("text") or ""} for r in recs),
        threshold=a.threshold, rewrites=False,
    )
    t2 = time.perf_counter()
    with open(a.out, "w") as f:
        for r, rec in zip(rows, recs):
            empty = not (rec.get("text") or "").strip()
            cluster = None if empty else (r["group"] or r["id"])
            f.write(json.dumps({"id": r["id"], "cluster": cluster}) + "\n")
    print(json.dumps({
        "tool": "neardup-python", "docs": len(rows), "read_s": round(t1 - t0, 2),
        "cluster_s": round(t2 - t1, 2), "wall_s": round(t2 - t0, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
