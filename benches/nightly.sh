#!/usr/bin/env bash
# Scale evidence for `neardup nightly`: three nights of synthetic news, each built by
# SHARED/corpora/synth.py from real sentences with its own seed, run one after the other
# on one state directory. Prints, per night: wall seconds, documents/s, peak RSS, and the
# documents held.
#
# usage: benches/nightly.sh [-n DOCS] [-d WORKDIR] [--window-days N] [--nights K] [--keep]
#
#   -n DOCS          documents per night (default 1000000)
#   -d WORKDIR       where the corpora, state and outputs go (default: a new temp dir,
#                    removed at the end unless --keep); corpora already there are reused
#   --window-days N  passed to `neardup nightly` (default: its default, 3)
#   --nights K       nights to run (default 5)
#
# environment: NEARDUP (binary, default target/release/neardup), SHARED (default
# ../shared beside the repo), PYTHON (default python3).
#
# Night k is dated 2026-12-28 + k days. The window follows crawl nights: with the default
# 3-night window the state holds the last three nights' articles (whatever their
# publication dates over 2026), so from night 4 on it is as large as it gets: memory and
# time should be flat from there. Ids carry the night (n1-s0-v0, ...).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$REPO/../shared}"
NEARDUP="${NEARDUP:-$REPO/target/release/neardup}"
PYTHON="${PYTHON:-python3}"
DOCS=1000000
NIGHTS=5
WORK=""
KEEP=0
WINDOW=()
while [ $# -gt 0 ]; do
  case "$1" in
    -n) DOCS="$2"; shift 2 ;;
    -d) WORK="$2"; shift 2 ;;
    --window-days) WINDOW=(--window-days "$2"); shift 2 ;;
    --nights) NIGHTS="$2"; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "nightly.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x "$NEARDUP" ] || (cd "$REPO" && cargo build --release --quiet)
[ -f "$SHARED/corpora/synth.py" ] || { echo "nightly.sh: $SHARED/corpora/synth.py not found" >&2; exit 2; }
if [ -z "$WORK" ]; then
  WORK="$(mktemp -d)"
  [ "$KEEP" = 1 ] || trap 'rm -rf "$WORK"' EXIT
fi
mkdir -p "$WORK"
SOURCES=("$SHARED/corpora/reuters21578.jsonl" "$SHARED/corpora/bbc_news.jsonl")

for k in $(seq 1 "$NIGHTS"); do
  c="$WORK/night$k.$DOCS.jsonl"
  if [ ! -s "$c" ]; then
    echo "nightly.sh: building night $k ($DOCS documents, seed $k)" >&2
    "$PYTHON" "$SHARED/corpora/synth.py" --docs "$DOCS" --seed "$k" --out "$c.tmp" "${SOURCES[@]}"
    # A crawl does not see the same URL as a new article every night: ids get the
    # night's prefix (synth.py numbers every corpus from s0).
    sed "s/^{\"id\": \"/{\"id\": \"n$k-/" "$c.tmp" > "$c.ids"
    rm "$c.tmp"
    mv "$c.ids" "$c"
  fi
done

rm -rf "$WORK/state" "$WORK"/out*
printf '%-6s %10s %9s %10s %12s %12s %10s\n' night documents wall_s docs_per_s peak_rss_MB held_after evicted
for k in $(seq 1 "$NIGHTS"); do
  c="$WORK/night$k.$DOCS.jsonl"
  date="$(date -u -d "2026-12-28 + $k days" +%F)"
  /usr/bin/time -f '%e %M' -o "$WORK/time$k" \
    "$NEARDUP" nightly --state "$WORK/state" --out "$WORK/out$k" --date "$date" "${WINDOW[@]}" -q "$c"
  read -r wall kb < "$WORK/time$k"
  "$PYTHON" - "$WORK/out$k/summary.json" "$k" "$wall" "$kb" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
k, wall, kb = sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
print(f"{k:<6} {s['documents']:>10} {wall:>9.1f} {s['documents']/wall:>10.0f} {kb/1024:>12.0f} {s['held_after']:>12} {s['evicted']:>10}")
print("       stages: " + ", ".join(f"{t['stage']} {t['seconds']:.1f} s (peak {(t['peak_rss_bytes'] or 0)/1e6:.0f} MB)" for t in s["stages"]), file=sys.stderr)
EOF
done
du -sh "$WORK/state" | sed 's/^/state on disk: /'
