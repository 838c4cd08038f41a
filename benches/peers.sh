#!/usr/bin/env bash
# Peer comparison: neardup against datasketch, rensa, gaoya and simhash on Reuters-21578 x5
# (speed, memory) and on plain Reuters-21578 (pair recall / doc precision against exact
# Jaccard), same shingles (word 3-grams), 128 permutations, threshold 0.5.
#
# usage: benches/peers.sh [-n RUNS] [-d WORKDIR] [--corpus PATH] [--tools "datasketch rensa gaoya simhash"]
#                         [--methods "minhash simhash"] [--hamming K] [--no-neardup] [--no-quality] [--keep]
#
#   -n RUNS        timed runs per tool on Reuters x5, tools alternating (default 3)
#   --corpus PATH  base corpus (default: SHARED/corpora/reuters21578.jsonl); x5 is built from it
#   -d WORKDIR     where the x5 corpus, predictions and raw measurements go
#                  (default: a new temp dir, removed at the end unless --keep)
#   --tools LIST   peers to run (default: all four)
#   --methods LIST neardup candidate methods to run (default: minhash); each is a tool of
#                  its own: "neardup" (minhash) and "neardup-simhash" (--method simhash)
#   --hamming K    --hamming for neardup-simhash (default: neardup's own default)
#   --no-neardup   run the peers only (e.g. before the CLI exists)
#   --no-quality   skip the plain-Reuters recall/precision part
#   --keep         keep the temp WORKDIR
#
# environment:
#   NEARDUP   neardup binary (default: target/release/neardup under the repo root)
#   SHARED    the shared material (default: ../shared next to the repo root)
#   PYTHON    python used to create the venv (default: python3)
#
# Wall seconds and peak RSS come from /usr/bin/time -v around each whole process (start-up,
# reading, clustering, writing), so every tool is measured the same way. peers.py also
# reports its own in-process seconds_total (reading to clusters, no import or writing);
# that column is given for the peers for comparison with shared/bench/README.md.
# The venv .venv-peers lives in the repo root and is git-ignored.
set -euo pipefail

die() { echo "peers.sh: error: $*" >&2; exit 1; }
say() { echo "peers.sh: $*" >&2; }

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SHARED="${SHARED:-$REPO/../shared}"
NEARDUP="${NEARDUP:-$REPO/target/release/neardup}"
PYTHON="${PYTHON:-python3}"
VENV="$REPO/.venv-peers"
PEER_PKGS=(datasketch rensa gaoya simhash scipy numpy scikit-learn xxhash)

RUNS=3
REUTERS=""
WORK=""
TOOLS="datasketch rensa gaoya simhash"
METHODS="minhash"
HAMMING=""
WITH_NEARDUP=1
WITH_QUALITY=1
KEEP=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) [[ $# -ge 2 ]] || die "-n needs a value"; RUNS="$2"; shift 2 ;;
    -d) [[ $# -ge 2 ]] || die "-d needs a value"; WORK="$2"; shift 2 ;;
    --corpus) [[ $# -ge 2 ]] || die "--corpus needs a value"; REUTERS="$2"; shift 2 ;;
    --tools) [[ $# -ge 2 ]] || die "--tools needs a value"; TOOLS="$2"; shift 2 ;;
    --methods) [[ $# -ge 2 ]] || die "--methods needs a value"; METHODS="$2"; shift 2 ;;
    --hamming) [[ $# -ge 2 ]] || die "--hamming needs a value"; HAMMING="$2"; shift 2 ;;
    --no-neardup) WITH_NEARDUP=0; shift ;;
    --no-quality) WITH_QUALITY=0; shift ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$RUNS" =~ ^[1-9][0-9]*$ ]] || die "-n must be a positive integer, got '$RUNS'"
for t in $TOOLS; do
  case "$t" in datasketch|rensa|gaoya|simhash) ;; *) die "unknown peer '$t' (datasketch rensa gaoya simhash)" ;; esac
done
for m in $METHODS; do
  case "$m" in minhash|simhash) ;; *) die "unknown method '$m' (minhash simhash)" ;; esac
done
[[ -z "$HAMMING" || "$HAMMING" =~ ^[0-9]+$ ]] || die "--hamming must be a number, got '$HAMMING'"

BENCH="$SHARED/bench"
REUTERS="${REUTERS:-$SHARED/corpora/reuters21578.jsonl}"
for f in "$BENCH/peers.py" "$BENCH/make_x5.py" "$BENCH/exact.py" "$BENCH/compare.py" "$REUTERS"; do
  [[ -f "$f" ]] || die "missing $f (set SHARED to the shared material directory)"
done
if [[ $WITH_NEARDUP -eq 1 ]]; then
  [[ -x "$NEARDUP" ]] || die "neardup binary not found at $NEARDUP: run 'cargo build --release' or set NEARDUP (or pass --no-neardup)"
fi

# ---- /usr/bin/time
if [[ ! -x /usr/bin/time ]]; then
  say "/usr/bin/time missing; installing the 'time' package"
  if [[ $(id -u) -eq 0 ]]; then
    { apt-get update -qq && apt-get install -y -qq time; } >&2 || die "apt-get install time failed"
  elif command -v sudo >/dev/null; then
    { sudo apt-get update -qq && sudo apt-get install -y -qq time; } >&2 || die "apt-get install time failed"
  else
    die "/usr/bin/time is missing and we are not root: install the 'time' package"
  fi
fi

# ---- venv with the peers
PY="$VENV/bin/python"
if [[ ! -x "$PY" ]]; then
  say "creating $VENV"
  "$PYTHON" -m venv "$VENV" || die "'$PYTHON -m venv $VENV' failed"
fi
if ! "$PY" -c 'import datasketch, rensa, gaoya, simhash, scipy, numpy, sklearn, xxhash' 2>/dev/null; then
  say "installing ${PEER_PKGS[*]} into $VENV"
  "$PY" -m pip install -q "${PEER_PKGS[@]}" >&2 || die "pip install into $VENV failed"
fi

# ---- work dir and Reuters x5
if [[ -z "$WORK" ]]; then
  WORK="$(mktemp -d -t neardup-peers.XXXXXX)"
  [[ $KEEP -eq 1 ]] || trap 'rm -rf "$WORK"' EXIT
else
  mkdir -p "$WORK"
fi
X5="$WORK/$(basename "$REUTERS" .jsonl)_x5.jsonl"
if [[ ! -s "$X5" || "$X5" -ot "$REUTERS" ]]; then
  say "building $X5"
  "$PY" "$BENCH/make_x5.py" "$REUTERS" "$X5"
fi
say "work dir: $WORK"

# Convert neardup's {"id","group"} JSONL to peers.py's {"id","cluster"}, one line per corpus
# record in corpus order. Ids neardup does not list (or lists with a null group) are alone;
# docs with empty text get null, as peers.py writes them.
to_cluster() { # CORPUS NEARDUP_OUT OUT
  "$PY" - "$1" "$2" "$3" <<'EOF'
import json, sys
corpus, pred, out = sys.argv[1:]
grp = {}
with open(pred, encoding="utf-8") as f:
    for n, line in enumerate(f, 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            sys.exit(f"{pred}:{n}: not JSON ({e}); is neardup writing --format jsonl?")
        if "id" not in d or "group" not in d:
            sys.exit(f"{pred}:{n}: expected fields id and group, got {sorted(d)}")
        if d["group"] is not None:
            grp[str(d["id"])] = "g:" + str(d["group"])
with open(corpus, encoding="utf-8") as f, open(out, "w", encoding="utf-8") as o:
    for line in f:
        if not line.strip():
            continue
        d = json.loads(line)
        i = str(d["id"])
        c = grp.get(i) or (("d:" + i) if (d.get("text") or "").strip() else None)
        o.write(json.dumps({"id": d["id"], "cluster": c}) + "\n")
EOF
}

# run_tool TOOL CORPUS TAG TSV -> WORK/TAG.pred.jsonl (id, cluster), WORK/TAG.time, WORK/TAG.json;
# appends a line to WORK/TSV
run_tool() {
  local tool="$1" corpus="$2" tag="$3" tsv="$WORK/$4"
  local pred="$WORK/$tag.pred.jsonl" tfile="$WORK/$tag.time" out="$WORK/$tag.json" err="$WORK/$tag.stderr"
  if [[ "$tool" == neardup* ]]; then
    local method=()
    if [[ "$tool" == neardup-simhash ]]; then
      method=(--method simhash)
      [[ -n "$HAMMING" ]] && method+=(--hamming "$HAMMING")
    fi
    /usr/bin/time -v -o "$tfile" "$NEARDUP" cluster "$corpus" --shingle word:3 --perms 128 \
      --threshold 0.5 --no-rewrites "${method[@]}" --format jsonl -o "$WORK/$tag.neardup.jsonl" >"$out" 2>"$err" \
      || die "neardup failed on $corpus (exit $?); see $err: $(tail -n 3 "$err")"
    to_cluster "$corpus" "$WORK/$tag.neardup.jsonl" "$pred" || die "converting neardup output $WORK/$tag.neardup.jsonl failed"
  else
    /usr/bin/time -v -o "$tfile" "$PY" "$BENCH/peers.py" "$corpus" --tool "$tool" --out "$pred" \
      --shingle word --k 3 --perms 128 --threshold 0.5 >"$out" 2>"$err" \
      || die "peers.py --tool $tool failed on $corpus; see $err: $(tail -n 3 "$err")"
  fi
  printf '%s\t%s\t%s\t%s\n' "$tool" "$tag" "$tfile" "$out" >>"$tsv"
}

ALL=()
if [[ $WITH_NEARDUP -eq 1 ]]; then
  for m in $METHODS; do
    if [[ "$m" == minhash ]]; then ALL+=(neardup); else ALL+=("neardup-$m"); fi
  done
fi
for t in $TOOLS; do ALL+=("$t"); done
[[ ${#ALL[@]} -gt 0 ]] || die "nothing to run"

: >"$WORK/runs_x5.tsv"
: >"$WORK/runs1.tsv"
rm -f "$WORK"/exact_0.*.json "$WORK"/copies_*.json
for ((r = 1; r <= RUNS; r++)); do
  for t in "${ALL[@]}"; do
    say "x5 run $r/$RUNS: $t"
    run_tool "$t" "$X5" "x5_${t}_run$r" runs_x5.tsv
  done
done
if [[ $WITH_QUALITY -eq 1 ]]; then
  for t in "${ALL[@]}"; do
    say "plain corpus ($(basename "$REUTERS")): $t"
    run_tool "$t" "$REUTERS" "r1_$t" runs1.tsv
  done
  say "exact Jaccard >= 0.5 on the plain corpus (exact.py)"
  specs=()
  for t in "${ALL[@]}"; do specs+=("$t=$WORK/r1_$t.pred.jsonl"); done
  "$PY" "$BENCH/exact.py" "$REUTERS" --k 3 --threshold 0.5 --out "$WORK/exact_pairs_0.5.jsonl" "${specs[@]}" \
    >"$WORK/exact_0.5.json" || die "exact.py failed"
  if [[ " ${ALL[*]} " == *" simhash "* || " ${ALL[*]} " == *" neardup-simhash "* ]]; then
    # SimHash is meant for close copies: every tool is scored at J >= 0.8 too.
    say "exact Jaccard >= 0.8 on the plain corpus (exact.py)"
    "$PY" "$BENCH/exact.py" "$REUTERS" --k 3 --threshold 0.8 --out "$WORK/exact_pairs_0.8.jsonl" \
      "${specs[@]}" >"$WORK/exact_0.8.json" || die "exact.py failed"
  fi
  for t in "${ALL[@]}"; do
    "$PY" "$BENCH/compare.py" copies "$WORK/r1_$t.pred.jsonl" "$WORK/x5_${t}_run1.pred.jsonl" \
      >"$WORK/copies_$t.json" || die "compare.py copies failed for $t"
  done
  "$PY" "$BENCH/compare.py" agree "${specs[@]}" >"$WORK/agree.json" || die "compare.py agree failed"
fi

# ---- report
KEPT=1
[[ -n "$(trap -p EXIT)" ]] && KEPT=0
"$PY" - "$WORK" "$RUNS" "$KEPT" "$REUTERS" "${ALL[@]}" <<'EOF'
import json, os, re, statistics, sys
work, runs, kept, corpus, tools = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1", sys.argv[4], sys.argv[5:]
name = os.path.basename(corpus).removesuffix(".jsonl")

def gnu_time(path):
    txt = open(path).read()
    wall = re.search(r"Elapsed \(wall clock\) time.*: (\S+)", txt).group(1)
    secs = 0.0
    for part in wall.split(":"):
        secs = secs * 60 + float(part)
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", txt).group(1))
    return secs, rss_kb / 1024.0

def load_tsv(name):
    rows = {}
    p = os.path.join(work, name)
    if os.path.exists(p):
        for line in open(p):
            tool, tag, tfile, out = line.rstrip("\n").split("\t")
            wall, rss = gnu_time(tfile)
            inner = None
            if not tool.startswith("neardup"):
                inner = json.loads(open(out).read().strip().splitlines()[-1])["seconds_total"]
            rows.setdefault(tool, []).append((wall, rss, inner))
    return rows

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None

def f(x, d=2):
    return "-" if x is None else f"{x:.{d}f}"

x5, r1 = load_tsv("runs_x5.tsv"), load_tsv("runs1.tsv")
ex = json.load(open(os.path.join(work, "exact_0.5.json"))) if os.path.exists(os.path.join(work, "exact_0.5.json")) else None
ex8 = json.load(open(os.path.join(work, "exact_0.8.json"))) if os.path.exists(os.path.join(work, "exact_0.8.json")) else None
base = "neardup" if "neardup" in x5 else None
m = {t: (med(v[0] for v in x5[t]), med(v[1] for v in x5[t]), med(v[2] for v in x5[t])) for t in tools if t in x5}

print(f"## Peers on {name} x5 (medians of {runs} runs, tools alternating; word 3-grams, 128 perms, threshold 0.5)\n")
print(f"{os.cpu_count()} cores. wall s / peak RSS: /usr/bin/time -v over the whole process; "
      "in-process s: peers.py seconds_total (reading to clusters).\n")
hdr = "| tool | wall s | peak RSS MB | in-process s |"
sep = "|---|---|---|---|"
if base:
    hdr += " wall vs neardup | RSS vs neardup |"; sep += "---|---|"
if ex:
    hdr += " pair recall (1x) | doc recall (1x) | doc precision (1x) | x5 copy recall |"; sep += "---|---|---|---|"
print(hdr); print(sep)
for t in tools:
    if t not in m:
        continue
    w, r, i = m[t]
    row = f"| {t} | {f(w)} | {f(r, 0)} | {f(i)} |"
    if base:
        bw, br, _ = m[base]
        row += f" {w / bw:.2f}x | {r / br:.2f}x |"
    if ex:
        s = ex["tools"].get(t, {})
        cp = os.path.join(work, f"copies_{t}.json")
        cr = json.load(open(cp))["copy_recall"] if os.path.exists(cp) else None
        row += f" {f(s.get('pair_recall'), 4)} | {f(s.get('doc_recall'), 4)} | {f(s.get('doc_precision'), 4)} | {f(cr, 4)} |"
    print(row)
if r1:
    print(f"\nPlain {name}, one run each (wall s / peak RSS): " + ", ".join(
        f"{t} {r1[t][0][0]:.2f} s / {r1[t][0][1]:.0f} MB" for t in tools if t in r1))
if ex:
    print(f"\nExact Jaccard >= 0.5 (word 3-grams) on plain {name}: {ex['exact_pairs']} pairs, "
          f"{ex['docs_with_partner']} docs with a partner, {ex['docs']} docs.")
if ex8:
    print(f"\nAgainst exact Jaccard >= 0.8 on plain {name}: {ex8['exact_pairs']} pairs, "
          f"{ex8['docs_with_partner']} docs with a partner.\n")
    print("| tool | pair recall (J >= 0.8) | doc recall | doc precision |")
    print("|---|---|---|---|")
    for t in tools:
        s = ex8["tools"].get(t)
        if s:
            print(f"| {t} | {f(s['pair_recall'], 4)} | {f(s['doc_recall'], 4)} | {f(s['doc_precision'], 4)} |")
print(f"\nRaw measurements: {work}" + ("" if kept else " (temporary, removed on exit; pass --keep or -d DIR to keep)"))
EOF
