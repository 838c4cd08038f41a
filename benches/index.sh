#!/usr/bin/env bash
# Index benchmark at scale: builds a synthetic corpus with SHARED/corpora/synth.py (real
# sentences, known duplicate groups) and runs `cargo bench --bench index` on it: insert and
# query latency p50/p99 with N documents held, and resident bytes per document.
#
# usage: benches/index.sh [-n DOCS] [-d WORKDIR] [--frozen] [--keep]
#                         [--compact] [--threads "1 2 4"] [--repeat R] [--alternate A,B]
#                         [--independent] [--own-docs] [--mimalloc] [--shuffle]
#
#   -n DOCS     documents (default 1000000)
#   -d WORKDIR  where the corpus goes (default: a new temp dir, removed at the end unless
#               --keep); a corpus already there is reused
#   --frozen    word statistics learnt from the whole corpus first (batch-equivalent mode)
#   --compact   hold documents with Footprint::Compact (small samples, fewer LSH bands)
#   --threads   instead of the latency run: insert the DOCS documents from each of these
#               thread counts (frozen statistics), R rounds
#               (default 5) taken in turn, and print each count's median documents/s and
#               its ratio to the first count's (a shared machine varies from run to run)
#   --alternate instead: fill the index with all but the last tenth of the DOCS documents,
#               then insert that tenth in segments of 10,000, A and B threads taking turns
#               (frozen statistics); each B segment is compared with the A segments
#               beside it, seconds apart (the bench's --alternate; robust to the drift
#               of a shared machine's speed); each segment's line also gives a cache
#               line's round trip between two threads, which says how near the VM's
#               cores are at that moment (the ratio falls when they are far)
#   --independent with --alternate: the same inserts into one index per thread, nothing
#               shared (each index given every document): the machine's ceiling for the
#               shared index's ratio
#   --own-docs  with --alternate: each inserting thread copies the document it inserts, as a
#               crawler's fetcher makes its own (the texts read at the start are freed
#               after the timing; with the system allocator, freeing them from the
#               inserting threads locks the reading thread's arena)
#   --mimalloc  build the bench with mimalloc (`--features mimalloc`; README "Allocator")
#   --shuffle   with --threads or --alternate: insert in a fixed shuffled order, not the
#               file's (synth.py writes a story's versions back to back, so two threads
#               insert versions of one story at once; a crawl meets them among others)
#
# environment: SHARED (default ../shared beside the repo), PYTHON (default python3).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$REPO/../shared}"
PYTHON="${PYTHON:-python3}"
DOCS=1000000
WORK=""
KEEP=0
EXTRA=()
THREADS=""
REPEAT=5
ALTERNATE=
while [ $# -gt 0 ]; do
  case "$1" in
    -n) DOCS="$2"; shift 2 ;;
    -d) WORK="$2"; shift 2 ;;
    --frozen) EXTRA+=(--frozen); shift ;;
    --compact) EXTRA+=(--compact); shift ;;
    --independent) EXTRA+=(--independent); shift ;;
    --shuffle) EXTRA+=(--shuffle); shift ;;
    --own-docs) EXTRA+=(--own-docs); shift ;;
    --keep) KEEP=1; shift ;;
    --threads) THREADS="$2"; shift 2 ;;
    --repeat) REPEAT="$2"; shift 2 ;;
    --alternate) ALTERNATE="$2"; shift 2 ;;
    --mimalloc) FEATURES=(--features mimalloc); shift ;;
    -h|--help) sed -n '2,38p' "$0"; exit 0 ;;
    *) echo "index.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -f "$SHARED/corpora/synth.py" ] || { echo "index.sh: $SHARED/corpora/synth.py not found" >&2; exit 2; }
if [ -z "$WORK" ]; then
  WORK="$(mktemp -d)"
  [ "$KEEP" = 1 ] || trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"
c="$WORK/synth.$DOCS.jsonl"
if [ ! -s "$c" ]; then
  echo "index.sh: building $c ($DOCS documents)" >&2
  "$PYTHON" "$SHARED/corpora/synth.py" --docs "$DOCS" --seed 1 --out "$c.tmp" \
    "$SHARED/corpora/reuters21578.jsonl" "$SHARED/corpora/bbc_news.jsonl"
  mv "$c.tmp" "$c"
fi
cd "$REPO"
if [ -n "$ALTERNATE" ]; then
  cargo bench --bench index "${FEATURES[@]}" -- "$c" --docs "$DOCS" --frozen \
    --alternate "$ALTERNATE" --segment 10000 "${EXTRA[@]}"
  exit 0
fi
if [ -z "$THREADS" ]; then
  cargo bench --bench index "${FEATURES[@]}" -- "$c" "${EXTRA[@]}"
  exit 0
fi
cargo bench --bench index "${FEATURES[@]}" --no-run
out="$WORK/threads.txt"
: > "$out"
for r in $(seq "$REPEAT"); do
  for t in $THREADS; do
    rate=$(cargo bench -q --bench index "${FEATURES[@]}" -- "$c" --docs "$DOCS" --frozen --threads "$t" "${EXTRA[@]}" 2>/dev/null |
      sed -n 's/^index bench: .* \([0-9][0-9]*\) documents\/s$/\1/p')
    echo "round $r: $t threads, $rate documents/s" >&2
    echo "$t $rate" >> "$out"
  done
done
"$PYTHON" - "$out" <<'PY'
import statistics, sys
rates = {}
for line in open(sys.argv[1]):
    t, r = line.split()
    rates.setdefault(int(t), []).append(float(r))
first = None
for t, rs in rates.items():
    m = statistics.median(rs)
    first = first or m
    print(f"{t} threads: median {m:,.0f} documents/s ({m / first:.2f}x), runs {', '.join(f'{r:,.0f}' for r in rs)}")
PY
