#!/usr/bin/env bash
# Scaling of `neardup cluster`: sketch-stage throughput on 1 and 2 threads, and wall time
# and peak RSS on synthetic corpora of several sizes (is time linear in documents?), with
# the share of synth's rewrites and truncated copies found (grouped with their original)
# and the pairwise precision of the groups against synth's gold.
#
# usage: benches/scale.sh [-n RUNS] [-d WORKDIR] [--corpus PATH] [--small N] [--large N]
#                         [--sizes "N1 N2 ..."] [--mode "no-rewrites default"] [--keep]
#
#   -n RUNS     runs per measurement, medians reported (default 3)
#   --corpus    corpus for the thread scaling (default: the small synthetic corpus; a
#               corpus of many exact copies, like Reuters x5, sketches each text once
#               and so overstates the sketch rate)
#   --small/--large   synthetic corpus sizes (default 100000 and 1000000; synth.py --seed 7)
#   --sizes     all sizes at once, smallest first (e.g. "100000 1000000 4000000"); the
#               ratio to linear is taken against the first. The largest corpus is
#               generated once and the others are its first lines (synth.py writes the
#               same documents in the same order whatever --docs)
#   --mode      which configurations to run at scale (default: "no-rewrites default")
#   -d WORKDIR  corpora and outputs (default: a temp dir removed at the end unless --keep)
#
# Sketch MB/s = input bytes / the `sketch` stage seconds of `--format json` (reading,
# parsing, normalising, shingling, MinHash); the whole run's wall time and peak RSS come
# from /usr/bin/time. environment: NEARDUP, SHARED, PYTHON as in benches/peers.sh.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$REPO/../shared}"
NEARDUP="${NEARDUP:-$REPO/target/release/neardup}"
PYTHON="${PYTHON:-python3}"
RUNS=3
WORK=""
KEEP=0
CORPUS=""
SMALL=100000
LARGE=1000000
MODES="no-rewrites default"
SIZES=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n) RUNS="$2"; shift 2 ;;
    -d) WORK="$2"; shift 2 ;;
    --corpus) CORPUS="$2"; shift 2 ;;
    --small) SMALL="$2"; shift 2 ;;
    --large) LARGE="$2"; shift 2 ;;
    --sizes) SIZES="$2"; shift 2 ;;
    --mode) MODES="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,26p' "$0"; exit 0 ;;
    *) echo "scale.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$NEARDUP" ] || (cd "$REPO" && cargo build --release --quiet)
if [ -z "$WORK" ]; then
  WORK="$(mktemp -d)"
  [ "$KEEP" = 1 ] || trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"
[ -n "$SIZES" ] || SIZES="$SMALL $LARGE"
read -r -a NS <<< "$SIZES"
SMALL="${NS[0]}"
BIG="${NS[${#NS[@]}-1]}"
big="$WORK/synth.$BIG.jsonl"
[ -s "$big" ] && [ -s "$WORK/gold.$BIG.jsonl" ] || "$PYTHON" "$SHARED/corpora/synth.py" --docs "$BIG" --seed 7 \
  --out "$big" --gold "$WORK/gold.$BIG.jsonl" \
  "$SHARED/corpora/reuters21578.jsonl" "$SHARED/corpora/bbc_news.jsonl"
for n in "${NS[@]}"; do
  for f in synth gold; do
    [ -s "$WORK/$f.$n.jsonl" ] || head -n "$n" "$WORK/$f.$BIG.jsonl" > "$WORK/$f.$n.jsonl"
  done
done
[ -n "$CORPUS" ] || CORPUS="$WORK/synth.$SMALL.jsonl"

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# run OUT_PREFIX ARGS...: one timed run; prints "wall_s peak_MB sketch_s bytes"
run() {
  local out="$1"; shift
  /usr/bin/time -f '%e %M' -o "$out.time" "$NEARDUP" cluster "$@" --format json -o "$out.json" -q
  "$PYTHON" - "$out.json" "$out.time" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["summary"]
wall, kb = open(sys.argv[2]).read().split()
sk = dict(s["seconds"])["sketch"]
print(wall, int(kb) // 1024, sk, s["bytes"])
PY
}
# recall OUT.json GOLD: "rewrite truncated precision" of one run against synth's gold
recall() {
  "$PYTHON" - "$1" "$2" <<'PY'
import json, sys
from collections import Counter, defaultdict
pred = {}
for g in json.load(open(sys.argv[1]))["groups"]:
    for m in g["members"]:
        pred[m["id"]] = g["id"]
gold = [json.loads(l) for l in open(sys.argv[2])]
orig = {g["cluster"]: g["id"] for g in gold if g["label"] == "original" and g["cluster"]}
hit, tot, members = Counter(), Counter(), defaultdict(list)
for g in gold:
    p = pred.get(g["id"])
    if g["cluster"] in orig and g["label"] != "original":
        tot[g["label"]] += 1
        hit[g["label"]] += p is not None and p == pred.get(orig[g["cluster"]])
    if p is not None:
        members[p].append(g["cluster"])
pp = tp = 0
for ms in members.values():
    pp += len(ms) * (len(ms) - 1) // 2
    tp += sum(v * (v - 1) // 2 for k, v in Counter(ms).items() if k is not None)
r = lambda k: hit[k] / tot[k] if tot[k] else 1.0
print(f"{r('rewrite'):.4f} {r('truncated'):.4f} {tp / pp if pp else 1.0:.4f}")
PY
}

echo "## Sketch stage by threads: $(basename "$CORPUS"), --no-rewrites, medians of $RUNS"
printf '%-8s %10s %12s\n' threads sketch_s sketch_MB/s
declare -A MBS
for t in 1 2; do
  for i in $(seq 1 "$RUNS"); do
    run "$WORK/t$t.$i" "$CORPUS" --shingle word:3 --perms 128 --threshold 0.5 --no-rewrites --threads "$t"
  done > "$WORK/t$t.runs"
  sk=$(awk '{print $3}' "$WORK/t$t.runs" | median)
  bytes=$(awk 'NR==1{print $4}' "$WORK/t$t.runs")
  MBS[$t]=$(awk -v b="$bytes" -v s="$sk" 'BEGIN{printf "%.1f", b/s/1e6}')
  printf '%-8s %10.3f %12s\n' "$t" "$sk" "${MBS[$t]}"
done
awk -v a="${MBS[1]}" -v b="${MBS[2]}" 'BEGIN{printf "2 threads / 1 thread: %.2fx\n", b/a}'

echo
echo "## Scale: synth.py --seed 7, medians of $RUNS"
printf '%-12s %10s %9s %9s %12s %9s %10s %10s\n' mode documents wall_s peak_MB linear_ratio rewrite truncated precision
for mode in $MODES; do
  extra=()
  [ "$mode" = no-rewrites ] && extra=(--no-rewrites)
  declare -A W
  for n in "${NS[@]}"; do
    for i in $(seq 1 "$RUNS"); do
      run "$WORK/s.$mode.$n.$i" "$WORK/synth.$n.jsonl" "${extra[@]}"
    done > "$WORK/s.$mode.$n.runs"
    W[$n]=$(awk '{print $1}' "$WORK/s.$mode.$n.runs" | median)
    mb=$(awk '{print $2}' "$WORK/s.$mode.$n.runs" | median)
    ratio=$(awk -v s="${W[$SMALL]}" -v l="${W[$n]}" -v ns="$SMALL" -v nl="$n" 'BEGIN{printf "%.2f", (l/s)/(nl/ns)}')
    read -r rw tr pr <<< "$(recall "$WORK/s.$mode.$n.1.json" "$WORK/gold.$n.jsonl")"
    printf '%-12s %10s %9s %9s %12s %9s %10s %10s\n' "$mode" "$n" "${W[$n]}" "$mb" "$ratio" "$rw" "$tr" "$pr"
  done
done
