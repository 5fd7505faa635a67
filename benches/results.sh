#!/usr/bin/env bash
# Writes docs/results.md whole: every shipped model on every dataset of ../shared/datasets
# under its protocol, beside GADBench's XGBGraph run on the very same splits in this session.
#
#   1. ringscope writes each dataset's splits (out/results/splits/<dataset>/splits.csv);
#   2. benches/eval_peers.sh runs xgbgraph.py on them (out/results/peers.jsonl);
#   3. ringscope trains and tests every model, and writes the tables with the peers beside.
#
# Usage: benches/results.sh [extra `ringscope eval` flags]   (PEERS_PY as in eval_peers.sh)
# docs/results.md was written by `benches/results.sh --model gbdt,stack,gat --seeds 3`: 95 minutes
# on the 2-core machine. Every preset with 5 seeds (no flags) takes several hours.
set -euo pipefail
cd "$(dirname "$0")/.."
out=out/results
mkdir -p "$out"
ringscope() { cargo run -q -- "$@"; }
ringscope eval --splits-only --write-splits "$out/splits" "$@"
benches/eval_peers.sh xgbgraph "$out/peers.jsonl" "$out/splits"
ringscope eval --peers "$out/peers.jsonl" --doc docs/results.md --out "$out/eval" "$@"
