#!/usr/bin/env python3
"""Quality baselines for neardup on a gold file: what a simple, well-known method scores.

usage: benches/quality_baselines.py GOLD.jsonl [--corpus CORPUS.jsonl] [--score PATH]
                                    [--baselines minhash,exact] [--keep DIR] [--json]

GOLD is JSON Lines in the format of shared/eval/*.jsonl: "id", "text" (optional when
--corpus gives the texts), "title" (ignored), "cluster" (gold group, null = alone), and
optionally "pair_of" + "label" (a labelled pair). A synthetic gold from shared/corpora/synth.py
has only id/cluster/label (label = how the version was made, "original" for the story's first
version); its texts come from --corpus, joined on "id".

Both baselines read the text only (no title), lowercase it, take regex \\w+ tokens and
compare sets of word 2-grams (a document with one token gets that token as its only
shingle; a document with none is alone):

 (a) minhash: text-dedup's news configuration run through datasketch: MinHash with 256
     permutations (datasketch defaults: sha1_hash32, seed 1), MinHashLSH(threshold=0.45),
     which picks bands x rows itself; every candidate pair the index returns is kept when
     the MinHash-estimated Jaccard is >= 0.45; union-find over kept pairs.
 (b) exact: the true bigram Jaccard of every pair (all pairs with J >= 0.05, from a chunked sparse
     matrix product as shared/bench/exact.py does), connected
     components at each threshold 0.05, 0.10, ..., 0.95; the best threshold by pairwise F1
     from score.py is reported, and the whole sweep is printed.

Predictions {"id","group"} (group = id of the component's first document in input order)
are scored with shared/eval/score.py (--pred-key group), run as a subprocess. For a gold
without labelled pairs (synthetic gold), the per-label figure is the share of each label's
versions that share a predicted group with their story's "original" version; the
"original" row is the share of stand-alone originals (no versions) that were wrongly put
in a group with another document.

Needs numpy, scipy and datasketch: if they are not importable, the script re-runs itself
with the repository's .venv-peers/bin/python (created by benches/peers.sh).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

try:
    import numpy as np
    import scipy.sparse as sp
    from scipy.sparse.csgraph import connected_components
    from datasketch import MinHash, MinHashLSH
except ImportError as e:  # re-run under the peers venv if we are not in it already
    venv_py = os.path.join(REPO, ".venv-peers", "bin", "python")
    in_venv = os.path.realpath(sys.prefix) == os.path.realpath(os.path.join(REPO, ".venv-peers"))
    if os.path.exists(venv_py) and not in_venv and not os.environ.get("QB_REEXEC"):
        os.environ["QB_REEXEC"] = "1"
        os.execv(venv_py, [venv_py, os.path.abspath(__file__)] + sys.argv[1:])
    sys.exit(f"quality_baselines.py: {e}; install numpy scipy datasketch "
             f"(benches/peers.sh creates {venv_py} with them)")

MH_PERMS = 256
MH_THRESHOLD = 0.45
SWEEP = [round(0.05 * i, 2) for i in range(1, 20)]  # 0.05 .. 0.95
_WORD = re.compile(r"\w+")


def log(msg):
    print(f"[quality_baselines] {msg}", file=sys.stderr, flush=True)


def bigrams(text):
    toks = _WORD.findall((text or "").lower())
    if len(toks) < 2:
        return set(toks)
    return {a + " " + b for a, b in zip(toks, toks[1:])}


def read_jsonl(path):
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                try:
                    yield json.loads(line)
                except json.JSONDecodeError as e:
                    sys.exit(f"{path}:{n}: bad JSON: {e}")


def load(gold_path, corpus_path):
    gold = list(read_jsonl(gold_path))
    for r in gold:
        r["id"] = str(r["id"])
    if corpus_path:
        text = {str(r["id"]): r.get("text") or "" for r in read_jsonl(corpus_path)}
        missing = [r["id"] for r in gold if r["id"] not in text]
        if missing:
            sys.exit(f"{corpus_path}: {len(missing)} gold ids have no text, e.g. {missing[0]}")
        texts = [text[r["id"]] for r in gold]
    else:
        if not any("text" in r for r in gold):
            sys.exit(f"{gold_path}: no 'text' field; pass --corpus with the texts")
        texts = [r.get("text") or "" for r in gold]
    return gold, texts


# ---------------------------------------------------------------------------- grouping

class DSU:
    def __init__(self, n):
        self.p = list(range(n))

    def find(self, x):
        p = self.p
        root = x
        while p[root] != root:
            root = p[root]
        while p[x] != root:
            p[x], x = root, p[x]
        return root

    def union(self, a, b):
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.p[rb] = ra  # smaller index is the root: label = first doc in input order


def labels_from_components(n, rows, cols):
    """Component label per doc = index of its first doc in input order."""
    g = sp.coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n, n))
    _, comp = connected_components(g, directed=False)
    first = np.full(comp.max() + 1 if n else 0, n, dtype=np.int64)
    np.minimum.at(first, comp, np.arange(n))
    return first[comp]


# ---------------------------------------------------------------------------- baselines

def minhash_groups(sets):
    n = len(sets)
    keep = [i for i, s in enumerate(sets) if s]
    mhs = MinHash.bulk([[g.encode("utf-8") for g in sets[i]] for i in keep], num_perm=MH_PERMS)
    lsh = MinHashLSH(threshold=MH_THRESHOLD, num_perm=MH_PERMS)
    with lsh.insertion_session() as sess:
        for pos, m in enumerate(mhs):
            sess.insert(pos, m, check_duplication=False)
    dsu = DSU(n)
    cand = kept = 0
    for pos, m in enumerate(mhs):
        for c in lsh.query(m):
            if c > pos:
                cand += 1
                if m.jaccard(mhs[c]) >= MH_THRESHOLD:
                    kept += 1
                    dsu.union(keep[pos], keep[c])
    info = {"perms": MH_PERMS, "threshold": MH_THRESHOLD, "bands": lsh.b, "rows": lsh.r,
            "candidate_pairs": cand, "kept_pairs": kept}
    return [dsu.find(i) for i in range(n)], info


def exact_pairs(sets, tmin):
    """All pairs (i<j) with bigram Jaccard >= tmin, exactly.

    Overlaps come from a chunked sparse product X[lo:hi] @ X[lo:].T of the doc x shingle
    incidence matrix (upper blocks only), as shared/bench/exact.py does. At thresholds as
    low as 0.05 a prefix filter (AllPairs) keeps most pairs as candidates on news text, so
    the plain product is the faster exact method. Cost grows with n^2: 20k docs take a
    quarter minute on one core (synthetic news); 100k docs is ~25x that.
    """
    n = len(sets)
    vocab = {}
    ind, indptr = [], [0]
    for s in sets:
        ind.extend(vocab.setdefault(g, len(vocab)) for g in sorted(s))  # deterministic ids
        indptr.append(len(ind))
    X = sp.csr_matrix((np.ones(len(ind), dtype=np.float32), np.asarray(ind, dtype=np.int64), indptr),
                      shape=(n, len(vocab)))
    del ind, vocab
    sizes = np.diff(X.indptr).astype(np.float64)
    out_r, out_c, out_j = [], [], []
    nnz = 0
    lo, step = 0, 200
    while lo < n:
        hi = min(n, lo + step)
        C = (X[lo:hi] @ X[lo:].T).tocoo()  # upper block only: columns >= lo
        nnz += C.nnz
        r = C.row.astype(np.int64) + lo
        c = C.col.astype(np.int64) + lo
        v = C.data.astype(np.float64)
        del C
        m = c > r
        r, c, v = r[m], c[m], v[m]
        j = v / (sizes[r] + sizes[c] - v)
        k = j >= tmin - 1e-12
        out_r.append(r[k]); out_c.append(c[k]); out_j.append(j[k])
        # adapt the chunk so one product holds about 20M entries
        per_row = max(1.0, len(m) / (hi - lo))
        step = int(max(20, min(5000, 2e7 / per_row)))
        lo = hi
    cat = (lambda a, dt: np.concatenate(a) if a else np.zeros(0, dtype=dt))
    return cat(out_r, np.int64), cat(out_c, np.int64), cat(out_j, np.float64), nnz


# ---------------------------------------------------------------------------- scoring

def score(score_py, gold_path, ids, labels, keep_dir, name):
    fd, path = tempfile.mkstemp(prefix=f"qb_{name}_", suffix=".jsonl", dir=keep_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        for i, g in zip(ids, labels):
            f.write(json.dumps({"id": i, "group": ids[g]}) + "\n")
    try:
        p = subprocess.run([sys.executable, score_py, gold_path, path, "--pred-key", "group"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit(f"{score_py} failed ({p.returncode}): {p.stderr.strip()}")
        return json.loads(p.stdout)
    finally:
        if keep_dir:
            os.replace(path, os.path.join(keep_dir, f"{name}.pred.jsonl"))
        else:
            os.unlink(path)


def synth_label_rates(gold, labels):
    """Share of each label's versions grouped with their story's original (synthetic gold)."""
    orig = {}
    for i, r in enumerate(gold):
        if r.get("label") == "original" and r.get("cluster") is not None:
            orig[r["cluster"]] = i
    size = Counter(labels)
    tot, hit = Counter(), Counter()
    for i, r in enumerate(gold):
        lab = r.get("label")
        if lab is None:
            continue
        if lab == "original":
            if r.get("cluster") is None:  # stand-alone original: merged with anything = wrong
                tot["original (alone, wrongly merged)"] += 1
                hit["original (alone, wrongly merged)"] += size[labels[i]] > 1
            continue
        o = orig.get(r.get("cluster"))
        if o is None:
            continue
        tot[lab] += 1
        hit[lab] += labels[i] == labels[o]
    return {lab: {"versions": tot[lab], "merged": round(hit[lab] / tot[lab], 4)} for lab in sorted(tot)}


def label_rates(gold, labels, s):
    if any(r.get("pair_of") for r in gold):
        return {k: {"pairs": v["pairs"], "merged": v["merged"]} for k, v in s["labelled_pairs"].items()}
    return synth_label_rates(gold, labels)


# ---------------------------------------------------------------------------- report

def fmt_rates(rates):
    return ", ".join(f"{k} {v['merged']:.3f}" for k, v in rates.items()) or "-"


def markdown(res):
    out = [f"### {res['gold']}" + (f" (texts: {res['corpus']})" if res.get("corpus") else ""),
           "", f"{res['docs']} docs, {res['gold_pairs']} gold pairs; word 2-grams, \\w+ tokens, text only.",
           "", "| baseline | threshold | precision | recall | F1 | ARI | B³ F1 | merged share per label | seconds |",
           "|---|---|---|---|---|---|---|---|---|"]
    for name, b in res["baselines"].items():
        s = b["score"]
        out.append(f"| {name} | {b['threshold']} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} "
                   f"| {s['ari']:.3f} | {s['bcubed_f1']:.3f} | {fmt_rates(b['label_rates'])} | {b['seconds']:.1f} |")
    sw = res.get("sweep")
    if sw:
        labs = sorted({k for row in sw for k in row["label_rates"]})
        out += ["", f"Exact bigram Jaccard sweep ({res['exact_pairs_ge_0.05']} pairs with J >= 0.05; "
                    f"merged share per label = {res['label_rate_kind']}):", "",
                "| J >= | precision | recall | F1 | " + " | ".join(labs) + " |",
                "|---|---|---|---|" + "---|" * len(labs)]
        best = res["baselines"]["exact bigram Jaccard (best F1)"]["threshold"]
        for row in sw:
            s = row["score"]
            t = f"**{row['threshold']:.2f}**" if row["threshold"] == best else f"{row['threshold']:.2f}"
            out.append(f"| {t} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | "
                       + " | ".join(f"{row['label_rates'].get(k, {}).get('merged', float('nan')):.3f}" for k in labs) + " |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gold")
    ap.add_argument("--corpus", help="JSONL with id + text when GOLD has no text (synthetic gold)")
    ap.add_argument("--score", default=os.path.normpath(os.path.join(REPO, "..", "shared", "eval", "score.py")),
                    help="path to score.py (default: ../shared/eval/score.py from the repo root)")
    ap.add_argument("--baselines", default="minhash,exact", help="comma list of minhash, exact")
    ap.add_argument("--keep", metavar="DIR", help="keep the prediction files in DIR")
    ap.add_argument("--json", action="store_true", help="print one JSON object instead of markdown")
    a = ap.parse_args()
    if not os.path.exists(a.score):
        sys.exit(f"score.py not found at {a.score}; pass --score PATH")
    if a.keep:
        os.makedirs(a.keep, exist_ok=True)
    which = {b.strip() for b in a.baselines.split(",") if b.strip()}
    if which - {"minhash", "exact"}:
        sys.exit(f"--baselines: unknown {sorted(which - {'minhash', 'exact'})}")

    gold, texts = load(a.gold, a.corpus)
    ids = [r["id"] for r in gold]
    if len(set(ids)) != len(ids):
        sys.exit(f"{a.gold}: duplicate ids")
    t0 = time.perf_counter()
    sets = [bigrams(t) for t in texts]
    log(f"{len(ids)} docs shingled in {time.perf_counter() - t0:.1f}s")
    gsize = Counter(r.get("cluster") for r in gold if r.get("cluster") is not None)
    res = {"gold": a.gold, "corpus": a.corpus, "docs": len(ids),
           "gold_pairs": sum(c * (c - 1) // 2 for c in gsize.values()),
           "label_rate_kind": ("labelled pairs merged (score.py)" if any(r.get("pair_of") for r in gold)
                               else "versions grouped with their story's original"),
           "baselines": {}}

    if "minhash" in which:
        t = time.perf_counter()
        labels, info = minhash_groups(sets)
        secs = time.perf_counter() - t
        log(f"minhash: {secs:.1f}s, {info}")
        s = score(a.score, a.gold, ids, labels, a.keep, "minhash")
        res["baselines"]["MinHashLSH (text-dedup news)"] = {
            "threshold": MH_THRESHOLD, "params": info, "seconds": secs, "score": s,
            "label_rates": label_rates(gold, labels, s)}

    if "exact" in which:
        t = time.perf_counter()
        r, c, j, ncand = exact_pairs(sets, SWEEP[0])
        secs = time.perf_counter() - t
        log(f"exact: {len(r)} pairs with J >= {SWEEP[0]} ({ncand} overlapping pairs) in {secs:.1f}s")
        res["exact_pairs_ge_0.05"] = int(len(r))
        sweep = []
        for thr in SWEEP:
            m = j >= thr - 1e-12
            labels = labels_from_components(len(ids), r[m], c[m])
            s = score(a.score, a.gold, ids, labels, a.keep, f"exact_{thr:.2f}")
            sweep.append({"threshold": thr, "pairs": int(m.sum()), "score": s,
                          "label_rates": label_rates(gold, labels, s)})
        best = max(sweep, key=lambda row: (row["score"]["f1"], -row["threshold"]))
        res["sweep"] = sweep
        res["baselines"]["exact bigram Jaccard (best F1)"] = {
            "threshold": best["threshold"], "seconds": secs, "score": best["score"],
            "label_rates": best["label_rates"]}

    print(json.dumps(res) if a.json else markdown(res))


if __name__ == "__main__":
    main()
