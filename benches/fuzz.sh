#!/usr/bin/env bash
# Stable-toolchain fuzzing (tests/it/fuzz.rs): every target runs for SECS seconds
# (default 60) on mutations of tests/fuzz-corpus/; a panic saves its input under
# target/fuzz-crashes/ and fails. Prints the executions per target.
#   benches/fuzz.sh [SECS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-60}"
NEARDUP_FUZZ_SECS="$secs" cargo test --release --test it fuzz:: -- --nocapture --test-threads 1 2>&1 \
  | grep -oE 'fuzz [a-z.]+: [0-9]+ executions.*|test result.*|panicked.*|FAILED.*'
