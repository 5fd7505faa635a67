#!/usr/bin/env bash
# The PyTorch Geometric baselines that docs/results.md lists beside ringscope on FDCompCN and
# Reddit (crates/train/src/datasets.rs holds the numbers): ../shared/peers/pyg_bench.py under
# the same stratified 40/20/40 protocol, split seeds 0-4, hidden 64, 2 layers, 200 epochs,
# balanced cross-entropy, evaluated every epoch. Prints mean ± sample std × 100 per model.
#
# Usage: benches/eval_peers.sh    (PEERS_PY: the peers venv's python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PEERS_PY:-/tmp/peers-venv/bin/python}"
PEERS=../shared/peers
OUT=$(mktemp -d)
for ds in fdcompcn pygod_reddit; do
  models="sage gcn gat"
  [ "$ds" = fdcompcn ] && models="$models hetero-sage"
  for model in $models; do
    for seed in 0 1 2 3 4; do
      "$PY" "$PEERS/pyg_bench.py" "../shared/datasets/$ds" --model "$model" --epochs 200 \
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
