#!/usr/bin/env bash
# Index benchmark at scale: builds a synthetic corpus with SHARED/corpora/synth.py (real
# sentences, known duplicate groups) and runs `cargo bench --bench index` on it: insert and
# query latency p50/p99 with N documents held, and resident bytes per document.
#
# usage: benches/index.sh [-n DOCS] [-d WORKDIR] [--frozen] [--keep]
#
#   -n DOCS     documents (default 1000000)
#   -d WORKDIR  where the corpus goes (default: a new temp dir, removed at the end unless
#               --keep); a corpus already there is reused
#   --frozen    word statistics learnt from the whole corpus first (batch-equivalent mode)
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
while [ $# -gt 0 ]; do
  case "$1" in
    -n) DOCS="$2"; shift 2 ;;
    -d) WORK="$2"; shift 2 ;;
    --frozen) EXTRA+=(--frozen); shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
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
cargo bench --bench index -- "$c" "${EXTRA[@]}"
