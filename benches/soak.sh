#!/usr/bin/env bash
# Soak test of the nightly job: NIGHTS small nights (default 30 of 600 documents) back to back, once clean
# and once with faults injected before each night's real run:
#   - kill -9 at a random moment of a run (then the night is run again);
#   - a disk full: --out on a tiny tmpfs, and a copy of the state on a tmpfs with little
#     room (needs root and `mount -t tmpfs`; skipped otherwise);
#   - a corrupted input (a broken line, a truncated gzip): must fail with exit 2;
#   - stale temporary files left in --state and --out.
# After each night: the state is usable (the next run succeeds), a failed run left the
# manifest as it was, no temporary file is left, and kept.jsonl, groups.jsonl and
# report.txt equal the clean run's byte for byte.
#   benches/soak.sh [NIGHTS] [DOCS_PER_NIGHT] [SEED]
set -euo pipefail
cd "$(dirname "$0")/.."
nights="${1:-30}"
docs="${2:-600}"
seed="${3:-18}"
cargo build --release -q
bin="$PWD/target/release/neardup"
work="$(mktemp -d)"
mounts=()
cleanup() {
  for m in "${mounts[@]}"; do umount "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
RANDOM="$seed"

# Nights of made-up stories (no third-party text): each night new stories, copies and
# rewrites of the night's and of the two nights before, some undated.
python3 - "$work" "$nights" "$docs" "$seed" <<'PY'
import json, random, sys, datetime
work, nights, docs, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
syl = ["ka","lo","mi","ne","ru","sa","ti","vo","ba","de","fi","go","hu","ja","pe","zu"]
word = lambda: "".join(rng.choice(syl) for _ in range(rng.randint(2, 4)))
story = lambda: ". ".join(" ".join(word() for _ in range(rng.randint(8, 16))) for _ in range(6)) + "."
past = []
for n in range(1, nights + 1):
    day = datetime.date(2026, 11, 1) + datetime.timedelta(days=n - 1)
    out, tonight = [], []
    for i in range(docs):
        r = rng.random()
        if r < 0.2 and past:
            text = rng.choice(rng.choice(past[-2:]))
        elif r < 0.35 and tonight:
            base = rng.choice(tonight).split()
            k = rng.randrange(len(base))
            base[k] = word()
            text = " ".join(base)
        else:
            text = story()
        tonight.append(text)
        rec = {"id": f"n{n}-{i}", "text": text, "title": f"headline {n} {i}"}
        if rng.random() < 0.9:
            rec["date"] = day.isoformat()
        out.append(json.dumps(rec))
    past.append(tonight)
    with open(f"{work}/night{n}.jsonl", "w") as f:
        f.write("\n".join(out) + "\n")
    with open(f"{work}/dates", "a") as f:
        f.write(day.isoformat() + "\n")
PY
mapfile -t dates < "$work/dates"

night() { # state out input date [more...]
  local state="$1" out="$2" input="$3" date="$4"
  shift 4
  "$bin" nightly --state "$state" --out "$out" --date "$date" -q "$input" "$@"
}
fail() { echo "soak: FAILED at night $1: $2" >&2; exit 1; }
no_temp() { # dir...
  if find "$@" -name '.neardup-tmp-*' 2>/dev/null | grep -q .; then return 1; fi
}

start=$(date +%s)
ms() { echo $(( $(date +%s%N) / 1000000 )); }
t0=$(ms)
for ((n = 1; n <= nights; n++)); do
  night "$work/clean" "$work/clean-out/$n" "$work/night$n.jsonl" "${dates[n-1]}" \
    || fail "$n" "the clean run failed"
done
clean_ms=$(( $(ms) - t0 ))
# Kills land anywhere within the mean night (most before the commit).
kill_window=$(( clean_ms / nights + 1 ))

state="$work/state"
kills=0 committed_kills=0 diskfull=0 corrupt=0 stale=0
can_mount=1
for ((n = 1; n <= nights; n++)); do
  input="$work/night$n.jsonl"
  date="${dates[n-1]}"
  out="$work/out/$n"
  before="$(cat "$state/manifest.json" 2>/dev/null || true)"

  # A corrupted input: a broken line, or a truncated gzip of the night. Exit 2, state as
  # it was.
  if (( RANDOM % 3 == 0 )); then
    bad="$work/bad$n.jsonl"
    if (( RANDOM % 2 )); then
      awk -v k=$((RANDOM % docs + 1)) 'NR == k { print substr($0, 1, length($0) / 2); next } { print }' "$input" > "$bad"
    else
      bad="$work/bad$n.jsonl.gz"
      gzip -c "$input" > "$work/whole.gz"
      head -c $(( $(wc -c < "$work/whole.gz") / 2 )) "$work/whole.gz" > "$bad"
    fi
    set +e; night "$state" "$work/bad-out" "$bad" "$date" 2>/dev/null; rc=$?; set -e
    [[ $rc == 2 ]] || fail "$n" "a corrupted input gave exit $rc, not 2"
    [[ "$(cat "$state/manifest.json" 2>/dev/null || true)" == "$before" ]] || fail "$n" "a corrupted input changed the manifest"
    corrupt=$((corrupt + 1))
  fi

  # A disk full: the outputs on a 64 KB tmpfs, then the state on a tmpfs with a little
  # room. A failure must leave the manifest as it was and no temporary file.
  if (( can_mount && RANDOM % 3 == 0 )); then
    tiny="$work/tiny$n"; mkdir -p "$tiny"
    if mount -t tmpfs -o size=64k tmpfs "$tiny" 2>/dev/null; then
      mounts+=("$tiny")
      set +e; night "$state" "$tiny/out" "$input" "$date" 2>/dev/null; rc=$?; set -e
      [[ $rc == 1 ]] || fail "$n" "a full --out gave exit $rc, not 1"
      [[ "$(cat "$state/manifest.json" 2>/dev/null || true)" == "$before" ]] || fail "$n" "a full --out changed the manifest"
      no_temp "$tiny" || fail "$n" "a temporary file was left on the full disk"
      umount "$tiny"
      if [[ -d "$state" ]]; then
        used=$(du -sk "$state" | cut -f1)
        mount -t tmpfs -o size=$((used + 64))k tmpfs "$tiny"
        cp -a "$state" "$tiny/state"
        set +e; night "$tiny/state" "$work/full-out" "$input" "$date" 2>/dev/null; rc=$?; set -e
        if [[ $rc != 0 ]]; then
          [[ $rc == 1 ]] || fail "$n" "a full --state gave exit $rc, not 1"
          [[ "$(cat "$tiny/state/manifest.json")" == "$before" ]] || fail "$n" "a full --state changed the manifest"
          no_temp "$tiny/state" || fail "$n" "a temporary file was left in the full state"
        fi
        umount "$tiny"
      fi
      diskfull=$((diskfull + 1))
    else
      can_mount=0
      echo "soak: cannot mount tmpfs here; no disk-full faults" >&2
    fi
  fi

  # Stale temporary files, as a kill -9 while saving leaves them.
  if (( RANDOM % 4 == 0 )) && [[ -d "$state" ]]; then
    head -c 100000 /dev/urandom > "$state/.neardup-tmp-99999999-soak$n"
    mkdir -p "$out"
    head -c 1000 /dev/urandom > "$out/.neardup-tmp-99999999-soak$n"
    stale=$((stale + 1))
  fi

  # kill -9 at a random moment, one night in two; then the night is run (again).
  if (( RANDOM % 2 == 0 )); then
    # The binary itself in the background (not a subshell), so that the kill reaches it.
    "$bin" nightly --state "$state" --out "$out" --date "$date" -q "$input" 2>/dev/null &
    pid=$!
    delay=$(( (RANDOM * 32768 + RANDOM) % kill_window ))
    sleep "$((delay / 1000)).$(printf '%03d' $((delay % 1000)))"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    kills=$((kills + 1))
    if [[ "$(cat "$state/manifest.json" 2>/dev/null || true)" != "$before" ]]; then
      committed_kills=$((committed_kills + 1))
    fi
  fi

  night "$state" "$out" "$input" "$date" || fail "$n" "the run after the faults failed"
  for f in kept.jsonl groups.jsonl report.txt; do
    cmp -s "$out/$f" "$work/clean-out/$n/$f" || fail "$n" "$f differs from the clean run's"
  done
  no_temp "$state" "$out" || fail "$n" "a temporary file was left behind"
  python3 -c "import json,sys; m=json.load(open(sys.argv[1])); assert m['nights'][-1]['night']==int(sys.argv[2])" \
    "$state/manifest.json" "$n" || fail "$n" "the manifest does not end with this night"
done
cmp -s "$state/$(ls "$state" | grep -E '^night-.*\.ndx$' | tail -1)" \
  "$work/clean/$(ls "$work/clean" | grep -E '^night-.*\.ndx$' | tail -1)" \
  || fail "$nights" "the last index file differs from the clean run's"
echo "soak: $nights nights of $docs documents passed in $(( $(date +%s) - start )) s (clean run $((clean_ms / 1000)) s):" \
  "$kills kill -9 ($committed_kills after the commit), $diskfull disk-full, $corrupt corrupted inputs, $stale stale temp sets"
