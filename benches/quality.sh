#!/usr/bin/env bash
# Quality on the labelled sets in ../shared/eval with the default configuration:
# pairwise precision/recall/F1 and per-label merge rates from ../shared/eval/score.py.
# usage: benches/quality.sh [--quick]   (--quick: the eval sets only, no synthetic corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${SHARED:-../shared}
[ -d "$shared" ] || { echo "quality.sh: $shared not found" >&2; exit 1; }
cargo build --release --quiet
bin=target/release/neardup
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "| set | precision | recall | F1 | merged per label |"
echo "|---|---|---|---|---|"
for set in seeds clough-dev counter-dev; do
  gold="$shared/eval/$set.jsonl"
  "$bin" cluster "$gold" --format jsonl -o "$tmp/$set.jsonl" -q
  python3 "$shared/eval/score.py" "$gold" "$tmp/$set.jsonl" --pred-key group \
    | python3 -c '
import json, sys
d = json.load(sys.stdin)
labels = ", ".join("%s %s" % (k, v["merged"]) for k, v in d["labelled_pairs"].items())
print("| %s | %s | %s | %s | %s |" % (sys.argv[1], d["precision"], d["recall"], d["f1"], labels))
' "$set"
done

if [ "${1:-}" != "--quick" ]; then
  docs=${SYNTH_DOCS:-100000}
  python3 "$shared/corpora/synth.py" --docs "$docs" --seed 7 --out "$tmp/c.jsonl" --gold "$tmp/g.jsonl" \
    "$shared/corpora/reuters21578.jsonl" "$shared/corpora/bbc_news.jsonl"
  "$bin" cluster "$tmp/c.jsonl" --format jsonl -o "$tmp/p.jsonl" -q
  python3 - "$tmp/g.jsonl" "$tmp/p.jsonl" "$docs" <<'PY'
import json, sys
from collections import Counter, defaultdict
gold = [json.loads(l) for l in open(sys.argv[1])]
pred = {d["id"]: d["group"] for d in map(json.loads, open(sys.argv[2]))}
orig = {g["cluster"]: g["id"] for g in gold if g["label"] == "original" and g["cluster"]}
hit, tot = Counter(), Counter()
for g in gold:
    if g["cluster"] and g["label"] != "original":
        tot[g["label"]] += 1
        o = orig[g["cluster"]]
        hit[g["label"]] += pred[g["id"]] is not None and pred[g["id"]] == pred[o]
# pairwise precision over predicted groups
members = defaultdict(list)
for g in gold:
    if pred[g["id"]] is not None:
        members[pred[g["id"]]].append(g["cluster"])
pp = tp = 0
for ms in members.values():
    c = Counter(ms)
    n = len(ms)
    pp += n * (n - 1) // 2
    tp += sum(v * (v - 1) // 2 for k, v in c.items() if k is not None)
rates = ", ".join(f"{k} {hit[k] / tot[k]:.4f}" for k in sorted(tot))
print(f"| synth {sys.argv[3]} docs | {tp / pp if pp else 1:.4f} | | | {rates} |")
PY
fi
