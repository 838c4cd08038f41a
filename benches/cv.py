#!/usr/bin/env python3
"""Chooses neardup's verification constants once, for every labelled set together.

For each setting on the grid (containment x rewrite threshold), clusters every labelled
set of ../shared/eval plus a synthetic corpus and scores it with ../shared/eval/score.py.
Prints each set's pairwise F1 per setting, the setting with the best mean F1 over all
sets (the one to ship), and a leave-one-set-out estimate: for each set, the setting
chosen on the other sets alone, scored on it (the pooled held-out estimate).

usage: benches/cv.py [--bin target/release/neardup] [--shared ../shared] [--synth-docs 20000]
"""
import argparse, itertools, json, os, subprocess, sys, tempfile

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/neardup")
    ap.add_argument("--shared", default="../shared")
    ap.add_argument("--synth-docs", type=int, default=20000)
    ap.add_argument("--containment", default="0.4,0.5,0.6,0.7,0.8")
    ap.add_argument("--rewrite-threshold", default="0.16,0.20,0.24,0.28")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp()
    sets = {s: os.path.join(a.shared, "eval", s + ".jsonl") for s in ["seeds", "clough-dev", "counter-dev"]}
    synth, gold = os.path.join(tmp, "synth.jsonl"), os.path.join(tmp, "synth-gold.jsonl")
    subprocess.run([sys.executable, os.path.join(a.shared, "corpora/synth.py"), "--docs", str(a.synth_docs),
                    "--seed", "13", "--out", synth, "--gold", gold,
                    os.path.join(a.shared, "corpora/reuters21578.jsonl"),
                    os.path.join(a.shared, "corpora/bbc_news.jsonl")], check=True)
    inputs = {s: (p, p) for s, p in sets.items()}
    inputs["synth"] = (synth, gold)
    grid = list(itertools.product([float(x) for x in a.containment.split(",")],
                                  [float(x) for x in a.rewrite_threshold.split(",")]))
    f1 = {}
    for (c, r) in grid:
        for s, (inp, g) in inputs.items():
            out = os.path.join(tmp, "p.jsonl")
            subprocess.run([a.bin, "cluster", inp, "--format", "jsonl", "-o", out, "-q",
                            "--containment", str(c), "--rewrite-threshold", str(r)], check=True)
            res = json.loads(subprocess.run([sys.executable, os.path.join(a.shared, "eval/score.py"), g, out,
                                             "--pred-key", "group"], check=True, capture_output=True, text=True).stdout)
            f1[(c, r, s)] = res["f1"]
        print(f"containment {c:.2f} rewrite {r:.2f}: " + ", ".join(f"{s} {f1[(c, r, s)]:.4f}" for s in inputs), flush=True)
    names = list(inputs)
    mean = lambda cr, ss: sum(f1[(cr[0], cr[1], s)] for s in ss) / len(ss)
    best = max(grid, key=lambda cr: (round(mean(cr, names), 4), cr[1], cr[0]))
    print(f"\nbest on all sets: containment {best[0]:.2f}, rewrite threshold {best[1]:.2f}, mean F1 {mean(best, names):.4f}")
    held = []
    for s in names:
        rest = [t for t in names if t != s]
        cr = max(grid, key=lambda cr: (round(mean(cr, rest), 4), cr[1], cr[0]))
        held.append(f1[(cr[0], cr[1], s)])
        print(f"held out {s}: chosen on the others containment {cr[0]:.2f} rewrite {cr[1]:.2f} -> F1 {f1[(cr[0], cr[1], s)]:.4f}")
    print(f"pooled held-out F1 (mean over sets): {sum(held) / len(held):.4f}")

if __name__ == "__main__":
    main()
