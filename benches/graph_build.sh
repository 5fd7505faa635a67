#!/usr/bin/env bash
# Graph build at scale: generates EVENTS rows of marketplace tables, then times
# `ringscope build` (ingest + validate + intern + graph + store + CSR index) with
# /usr/bin/time for wall time and peak RSS. Usage: benches/graph_build.sh [EVENTS] [csv|parquet]
set -euo pipefail
cd "$(dirname "$0")/.."
EVENTS="${1:-10000000}"
FORMAT="${2:-csv}"
WORK="${BENCH_DIR:-/tmp/ringscope-bench}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ringscope-target}"
cargo build --release -q -p ringscope-cli
BIN="$CARGO_TARGET_DIR/release/ringscope"
mkdir -p "$WORK"
if [ ! -f "$WORK/input-$EVENTS-$FORMAT/orders.$FORMAT" ]; then
  /usr/bin/time -f "synth: %e s wall, %M KiB peak RSS" \
    "$BIN" -q synth --out "$WORK/input-$EVENTS-$FORMAT" --events "$EVENTS" --format "$FORMAT"
fi
du -sh "$WORK/input-$EVENTS-$FORMAT"
/usr/bin/time -f "build: %e s wall, %U s user, %M KiB peak RSS" \
  "$BIN" -q build --input "$WORK/input-$EVENTS-$FORMAT" --out "$WORK/graph-$EVENTS-$FORMAT" \
  | grep -E "^  (accounts|products|reviews|orders|sessions|labels) |^graph |^memory"
