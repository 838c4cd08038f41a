#!/usr/bin/env bash
# What a compact index near 200 bytes per document would cost (issue 14): for each way of
# holding less (smaller samples, fewer LSH bands, fewer keywords, no headline words, the
# rewrite tier off), the Index's bytes per document held and its agreement with the exact
# mode. The knobs are not settings of neardup: a study build (the commit below with
# benches/studies/compact-floor.patch, which reads them from NDX_* variables) is made in a
# temporary tree, so the figures can be made again whatever main has become since.
#
# usage: benches/compact_floor.sh [-n DOCS] [-d WORKDIR]
#
#   -n DOCS     documents held for the bytes per document (default 1000000)
#   -d WORKDIR  where the tree, the build and the corpora go (default: a new temp dir,
#               removed at the end); corpora already there are reused
#
# Per configuration (one markdown row): resident bytes per document held and
# `Index::memory`'s total (`cargo bench --bench index -- synth.DOCS.jsonl --compact`,
# one thread, online statistics); agreement with the exact mode on Reuters + BBC
# (`index_vs_batch 1 --compact`: ARI, pair precision and recall of the with_stats index
# against the batch run's default footprint); the seeds (does 000 join 001 and 003 stay
# out), clough-dev and counter-dev F1 and synth (seed 7, 20,000 documents) ARI against
# their gold, from `neardup cluster --footprint compact` scored by SHARED/eval/score.py.
#
# environment: SHARED (default ../shared beside the repo), PYTHON (default python3).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$REPO/../shared}"
PYTHON="${PYTHON:-python3}"
# The commit the patch applies to.
BASE=0b0b6ea
DOCS=1000000
WORK=""
while [ $# -gt 0 ]; do
  case "$1" in
    -n) DOCS="$2"; shift 2 ;;
    -d) WORK="$2"; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "compact_floor.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -f "$SHARED/corpora/synth.py" ] || { echo "compact_floor.sh: $SHARED/corpora/synth.py not found" >&2; exit 2; }
if [ -z "$WORK" ]; then
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"
tree="$WORK/tree"
if [ ! -d "$tree" ]; then
  mkdir -p "$tree.tmp"
  git -C "$REPO" archive "$BASE" | tar -x -C "$tree.tmp"
  (cd "$tree.tmp" && git apply "$REPO/benches/studies/compact-floor.patch")
  mv "$tree.tmp" "$tree"
fi
export CARGO_TARGET_DIR="$WORK/target"
(cd "$tree" && cargo build -q --release --bin neardup --example index_vs_batch &&
  cargo bench -q --bench index --no-run) >&2
bin="$CARGO_TARGET_DIR/release/neardup"
vs="$CARGO_TARGET_DIR/release/examples/index_vs_batch"
corpus() { # DOCS SEED OUT [GOLD]
  [ -s "$3" ] && return
  echo "compact_floor.sh: building $3" >&2
  "$PYTHON" "$SHARED/corpora/synth.py" --docs "$1" --seed "$2" --out "$3.tmp" ${4:+--gold "$4"} \
    "$SHARED/corpora/reuters21578.jsonl" "$SHARED/corpora/bbc_news.jsonl"
  mv "$3.tmp" "$3"
}
big="$WORK/synth.$DOCS.jsonl"
corpus "$DOCS" 1 "$big"
corpus 20000 7 "$WORK/synth20k.jsonl" "$WORK/synth20k.gold.jsonl"

score() { # GOLD PRED -> "F1 ARI different_story rewrite"
  "$PYTHON" "$SHARED/eval/score.py" "$1" "$2" --pred-key group | "$PYTHON" -c '
import json, sys
d = json.load(sys.stdin)
l = d.get("labelled_pairs", {})
print("%.3f %.4f %s %s" % (d["f1"], d["ari"], l.get("different_story", {}).get("merged", "-"), l.get("rewrite", {}).get("merged", "-")))'
}

echo "| configuration | bytes/doc held (Index::memory) | Reuters + BBC: ARI, P, R | seeds: 000+001, 003 apart | clough-dev F1 | counter-dev F1 | synth 20k ARI |"
echo "|---|---|---|---|---|---|---|"
while IFS='|' read -r name vars; do
  [ -n "$name" ] || continue
  env=(NDX_STUDY=1 $vars)
  flags=()
  case " $vars " in *" NDX_NOREWRITES=1 "*) flags=(--no-rewrites) ;; esac
  mem=$(cd "$tree" && env "${env[@]}" cargo bench -q --bench index -- "$big" --compact 2>/dev/null |
    "$PYTHON" -c '
import re, sys
t = sys.stdin.read()
held = re.search(r"= (\d+) bytes per document held", t).group(1)
total = re.search(r"total\s+(\d+) bytes", t).group(1)
print(f"{held} ({total})")')
  agree=$(env "${env[@]}" "$vs" 1 --compact "$SHARED/corpora/reuters21578.jsonl" "$SHARED/corpora/bbc_news.jsonl" |
    sed -n 's/^with_stats (compact): ARI \([0-9.]*\), pair precision \([0-9.]*\) recall \([0-9.]*\).*/\1, \2, \3/p')
  cells=()
  for set in seeds clough-dev counter-dev; do
    env "${env[@]}" "$bin" cluster "$SHARED/eval/$set.jsonl" --footprint compact "${flags[@]}" \
      --format jsonl -q -o "$WORK/$set.pred.jsonl"
    read -r f1 ari diff rw < <(score "$SHARED/eval/$set.jsonl" "$WORK/$set.pred.jsonl")
    if [ "$set" = seeds ]; then
      cells+=("$([ "$rw" = 1.0 ] && echo joined || echo split), $([ "$diff" = 0.0 ] && echo apart || echo merged)")
    else
      cells+=("$f1")
    fi
  done
  env "${env[@]}" "$bin" cluster "$WORK/synth20k.jsonl" --footprint compact "${flags[@]}" \
    --format jsonl -q -o "$WORK/synth20k.pred.jsonl"
  read -r _ sari _ _ < <(score "$WORK/synth20k.gold.jsonl" "$WORK/synth20k.pred.jsonl")
  echo "| $name | $mem | $agree | ${cells[0]} | ${cells[1]} | ${cells[2]} | $sari |"
done <<'CONFIGS'
today's compact: 64 shingles, 64 words, 9 bands, 20 keywords|
6 bands|NDX_BANDS=6
32 shingles|NDX_SH=32
16 shingles|NDX_SH=16
48 words|NDX_WO=48
32 words|NDX_WO=32
16 words|NDX_WO=16
12 keywords|NDX_K=12
8 keywords|NDX_K=8
no headline words or figures|NDX_NOHEAD=1
32 shingles, 32 words, 6 bands, 8 keywords|NDX_SH=32 NDX_WO=32 NDX_BANDS=6 NDX_K=8
16 shingles, 16 words, 6 bands, 4 keywords|NDX_SH=16 NDX_WO=16 NDX_BANDS=6 NDX_K=4
the same, no headline words or figures|NDX_SH=16 NDX_WO=16 NDX_BANDS=6 NDX_K=4 NDX_NOHEAD=1
copies only (rewrite tier off)|NDX_NOREWRITES=1
copies only, 16 shingles, 6 bands|NDX_NOREWRITES=1 NDX_SH=16 NDX_BANDS=6
CONFIGS
