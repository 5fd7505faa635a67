#!/usr/bin/env bash
# Training time of the gbdt preset against XGBoost on tolokers' 10 fixed splits, whole
# commands, alternated so both see the same machine: GADBench's XGBGraph
# (../shared/peers/xgbgraph.py: load, features, 10 fits and predictions) against
# `ringscope eval --model gbdt` (load, features with neighbour aggregates, 10 fits and
# predictions). Prints each wall time and the ratio of the medians.
#
# Usage: benches/gbdt_vs_xgboost.sh [ROUNDS]   (PEERS_PY as in eval_peers.sh; THREADS, default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PEERS_PY:-/tmp/peers-venv/bin/python}"
threads="${THREADS:-2}"
cargo build -q
bin="${CARGO_TARGET_DIR:-target}/debug/ringscope"
out=$(mktemp -d)
for round in $(seq "${1:-3}"); do
  /usr/bin/time -f "%e" -o "$out/xgb.$round" "$PY" ../shared/peers/xgbgraph.py \
    ../shared/datasets/tolokers --threads "$threads" >/dev/null
  RAYON_NUM_THREADS="$threads" /usr/bin/time -f "%e" -o "$out/gbdt.$round" "$bin" -q eval \
    --dataset tolokers --model gbdt --out "$out/eval" >/dev/null
  echo "round $round: xgbgraph $(cat "$out/xgb.$round") s, ringscope gbdt $(cat "$out/gbdt.$round") s"
done
median() { sort -n "$@" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
x=$(cat "$out"/xgb.* | median); g=$(cat "$out"/gbdt.* | median)
echo "median: xgbgraph $x s, ringscope gbdt $g s, ratio gbdt/xgboost $(awk "BEGIN { printf \"%.2f\", $g / $x }")"
