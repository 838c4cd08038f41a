"""Python `Index.insert` overhead over the Rust call, on a JSON Lines corpus.

    python benches/insert_overhead.py CORPUS.jsonl [--docs N] [--runs 3]

Inserts the same documents (id, text, title, date) into a fresh index three ways, in one
process, and prints the median seconds of each:
  rust    Index::insert in a Rust loop (no Python at all),
  python  Index.insert called from a Python loop (argument conversion, GIL release,
          Verdict objects),
and the overhead (python - rust) / rust.
"""

import argparse
import json
import statistics
import time

import neardup
from neardup import _neardup


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("corpus")
    ap.add_argument("--docs", type=int, default=0)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    with open(a.corpus) as f:
        recs = [json.loads(line) for line in f]
    if a.docs:
        recs = recs[: a.docs]
    for r in recs:  # dates as epoch seconds (None when unreadable), the same for both
        r["date"] = neardup.parse_date(r["date"]) if r.get("date") else None
    cols = neardup._columns_of_records(recs)
    rust, python = [], []
    for _ in range(a.runs):
        rust.append(_neardup._rust_insert_seconds(cols))
        ix = neardup.Index()
        ins = ix.insert
        t = time.perf_counter()
        for r in recs:
            ins(r["id"], r["text"], r.get("title"), r.get("date"))
        python.append(time.perf_counter() - t)
    r, p = statistics.median(rust), statistics.median(python)
    print(json.dumps({
        "docs": len(recs), "runs": a.runs, "rust_s": round(r, 3), "python_s": round(p, 3),
        "rust_us_per_doc": round(r / len(recs) * 1e6, 1),
        "python_us_per_doc": round(p / len(recs) * 1e6, 1),
        "overhead": round((p - r) / r, 4),
    }))


if __name__ == "__main__":
    main()
