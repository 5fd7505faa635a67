#!/usr/bin/env bash
# Peers measured beside ringscope in the same session, for docs/results.md.
#
#   benches/eval_peers.sh xgbgraph [OUT [SPLITS]]   GADBench's XGBGraph
#       (../shared/peers/xgbgraph.py) on every prepared dataset of ../shared/datasets; one JSON
#       line per dataset to OUT (default out/peers.jsonl), which `ringscope eval --peers OUT`
#       puts beside its own rows. With SPLITS (written by `ringscope eval --write-splits
#       SPLITS`), each dataset runs on SPLITS/<dataset>/splits.csv, the very splits ringscope
#       uses, so the comparison is paired; without, on xgbgraph.py's own splits. Needs numpy,
#       scipy, scikit-learn, pandas and xgboost.
#   benches/eval_peers.sh pyg              The PyTorch Geometric rows of FDCompCN and Reddit
#       (crates/train/src/datasets.rs holds the numbers): pyg_bench.py under the stratified
#       40/20/40 protocol, split seeds 0-4, hidden 64, 2 layers, 200 epochs, balanced
#       cross-entropy. Prints mean ± sample std × 100 per model.
#
# PEERS_PY: the peers venv's python (default /tmp/peers-venv/bin/python; install line in
# ../shared/peers/README.md). THREADS: XGBoost threads (default 2, the machine's cores).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PEERS_PY:-/tmp/peers-venv/bin/python}"
PEERS=../shared/peers
DATA=../shared/datasets
mode="${1:-xgbgraph}"

if [ "$mode" = xgbgraph ]; then
  out="${2:-out/peers.jsonl}"
  splits="${3:-}"
  mkdir -p "$(dirname "$out")"
  tmp=$(mktemp)
  for dir in "$DATA"/*/; do
    [ -f "$dir/nodes.csv" ] || continue   # raw-event datasets have no prepared graph
    name=$(basename "$dir")
    run_dir="$dir"
    protocol=""
    if [ -n "$splits" ]; then
      # The dataset's files, linked, with ringscope's splits.csv in place of any other.
      run_dir=$(mktemp -d)
      for f in "$dir"/*; do ln -s "$(realpath "$f")" "$run_dir/"; done
      rm -f "$run_dir/splits.csv"
      cp "$splits/$name/splits.csv" "$run_dir/splits.csv"
      protocol="ringscope's splits ($splits/$name/splits.csv)"
    fi
    start=$(date +%s.%N)
    line=$("$PY" "$PEERS/xgbgraph.py" "$run_dir" --threads "${THREADS:-2}")
    end=$(date +%s.%N)
    "$PY" - "$line" "$start" "$end" "${THREADS:-2}" "$name" "$protocol" >>"$tmp" <<'PY'
import json, re, sys
line, start, end, threads = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), int(sys.argv[4])
name, protocol = sys.argv[5], sys.argv[6]
m = re.match(r"(\S+) xgbgraph (.+) runs=(\d+) auroc=([\d.]+)\+-([\d.]+) auprc=([\d.]+)\+-([\d.]+)", line)
if not m:
    sys.exit(f"unexpected xgbgraph output: {line}")
print(json.dumps({
    "dataset": name, "model": "XGBGraph", "protocol": protocol or m[2], "runs": int(m[3]),
    "auroc": float(m[4]), "auroc_std": float(m[5]), "auprc": float(m[6]), "auprc_std": float(m[7]),
    "seconds": round(end - start, 2), "threads": threads,
    "source": "../shared/peers/xgbgraph.py (XGBoost, population std), benches/eval_peers.sh",
}))
PY
  done
  mv "$tmp" "$out"
  cat "$out"
  exit 0
fi

[ "$mode" = pyg ] || { echo "usage: $0 [xgbgraph [OUT] | pyg]" >&2; exit 2; }
OUT=$(mktemp -d)
for ds in fdcompcn pygod_reddit; do
  models="sage gcn gat"
  [ "$ds" = fdcompcn ] && models="$models hetero-sage"
  for model in $models; do
    for seed in 0 1 2 3 4; do
      "$PY" "$PEERS/pyg_bench.py" "$DATA/$ds" --model "$model" --epochs 200 \
        --eval-every 1 --threads 1 --csv-engine pandas --seed "$seed" --infer-repeats 1 \
        --out "$OUT/$ds-$model-$seed.json" >/dev/null
    done
  done
done
"$PY" - "$OUT" <<'PY'
import glob, json, statistics, sys, collections
runs = collections.defaultdict(list)
for f in sorted(glob.glob(sys.argv[1] + "/*.json")):
    name = f.rsplit("/", 1)[1][:-5]
    ds, rest = name.split("-", 1)
    m = json.load(open(f))["metrics"]
    runs[(ds, rest.rsplit("-", 1)[0])].append((m["test_auc"], m["test_auprc"], m["test_f1_macro"]))
for (ds, model), v in runs.items():
    cells = []
    for i, metric in enumerate(["AUROC", "AUPRC", "macro-F1"]):
        x = [r[i] * 100 for r in v]
        cells.append(f"{metric} {statistics.mean(x):.2f} ± {statistics.stdev(x):.2f}")
    print(ds, model, len(v), "runs:", ", ".join(cells))
PY
