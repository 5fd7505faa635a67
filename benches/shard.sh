#!/usr/bin/env bash
# A sharded run against one process on a synthetic marketplace (issue 24, docs/scale.md):
# equal scores (within 1e-5) and identical ring memberships, and each step's wall time and
# peak RSS, with the CLI's shards run one after another (halo shards, then layered ones) and,
# where pyspark is installed, with the Spark job (halo shards) under local[2].
#
#   benches/shard.sh [ACCOUNTS=200000] [SHARDS=4] [WORKDIR=/tmp/ringscope-shard-bench]
#
# Results are in benches/README.md ("Sharded runs").
set -euo pipefail
ACCOUNTS="${1:-200000}"
SHARDS="${2:-4}"
WORK="${3:-/tmp/ringscope-shard-bench}"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ringscope-target}"
(cd "$REPO" && cargo test --workspace --test it --no-run -q 2>/dev/null)
BIN="$CARGO_TARGET_DIR/debug/ringscope"
rm -rf "$WORK"
mkdir -p "$WORK"
cd "$WORK"

# Wall seconds and peak RSS (KiB) of a command, into <name>.time; its output into <name>.log.
timed() {
  local name="$1"
  shift
  /usr/bin/time -f "%e %M" -o "$name.time" "$@" >"$name.log" 2>&1 || {
    cat "$name.log"
    exit 1
  }
}

"$BIN" -q synth --out market --accounts "$ACCOUNTS" --seed 21 --format parquet
timed single "$BIN" -q run --input market --out single
timed plan "$BIN" -q shard plan --input market --shards "$SHARDS" --out plan
for i in $(seq 0 $((SHARDS - 1))); do
  timed "shard$i" "$BIN" -q shard run --plan plan --shard "$i" --out "parts/shard=$i"
done
timed merge "$BIN" -q shard merge --plan plan --parts parts --out merged
# Layer by layer: the input rows, then one round per layer (the last writes scores).
timed lplan "$BIN" -q shard plan --input market --shards "$SHARDS" --out lplan --layered
LAYERS="$(python3 -c 'import json; print(json.load(open("lplan/plan.json"))["hops"])')"
for step in $(seq 0 "$LAYERS"); do
  for i in $(seq 0 $((SHARDS - 1))); do
    rows=()
    [ "$step" -gt 0 ] && rows=(--rows "lparts/step=$((step - 1))")
    timed "l${step}_$i" "$BIN" -q shard run --plan lplan --shard "$i" --step "$step" \
      --out "lparts/step=$step/shard=$i" "${rows[@]}"
  done
done
timed lmerge "$BIN" -q shard merge --plan lplan --parts "lparts/step=$LAYERS" --out lmerged
if python3 -c 'import pyspark, pyarrow' 2>/dev/null; then
  timed spark python3 "$REPO/integrations/spark/ringscope_spark.py" --input market \
    --out spark --partition dt=bench --shards "$SHARDS" --work spark-work \
    --ringscope "$BIN" --master 'local[2]'
fi

python3 - "$SHARDS" <<'EOF'
import csv, json, os, sys

shards = int(sys.argv[1])


def scores(run):
    with open(os.path.join(run, "scores.csv")) as f:
        return {(r["kind"], r["id"]): float(r["score"]) for r in csv.DictReader(f)}


def rings(run):
    with open(os.path.join(run, "rings.jsonl")) as f:
        return sorted(
            sorted(m["account"] for m in json.loads(line)["evidence"]["members"]) for line in f
        )


def timing(name):
    with open(name + ".time") as f:
        secs, kib = f.read().split()[-2:]
    return float(secs), int(kib) / 1024 / 1024  # GiB


single = scores("single")
plan = json.load(open("plan/plan.json"))
nodes = json.load(open("single/run_manifest.json"))["counts"]["nodes"]
print(f"one process: {timing('single')[0]:.1f} s, {timing('single')[1]:.2f} GiB, {nodes} nodes")
print(f"plan: {timing('plan')[0]:.1f} s, {timing('plan')[1]:.2f} GiB")
for i in range(shards):
    rec = json.load(open(f"parts/shard={i}/shard.json"))
    secs, gb = timing(f"shard{i}")
    size = plan["sizes"][i]
    print(
        f"shard {i}: {secs:.1f} s, {gb:.2f} GiB; owns {size['owned']}, reach {size['reach']} "
        f"({size['reach'] / nodes:.0%} of the nodes), graph {rec['nodes']} nodes "
        f"({rec['nodes'] / nodes:.0%}), {sum(size['rows'].values())} rows"
    )
print(f"merge: {timing('merge')[0]:.1f} s, {timing('merge')[1]:.2f} GiB")
lplan = json.load(open("lplan/plan.json"))
layers = lplan["hops"]
print(f"layered plan: {timing('lplan')[0]:.1f} s, {timing('lplan')[1]:.2f} GiB")
for i in range(shards):
    steps = [timing(f"l{s}_{i}") for s in range(layers + 1)]
    rec = json.load(open(f"lparts/step={layers}/shard={i}/shard.json"))
    size = lplan["sizes"][i]
    print(
        f"layered shard {i}: steps {' + '.join(f'{t:.1f}' for t, _ in steps)} s, "
        f"peak {max(gb for _, gb in steps):.2f} GiB; owns {size['owned']} nodes, graph "
        f"{rec['nodes']} nodes ({rec['nodes'] / nodes:.0%}), {sum(size['rows'].values())} rows"
    )
print(f"layered merge: {timing('lmerge')[0]:.1f} s, {timing('lmerge')[1]:.2f} GiB")
runs = ["merged", "lmerged"] + (["spark/dt=bench"] if os.path.isdir("spark/dt=bench") else [])
for run in runs:
    other = scores(run)
    assert other.keys() == single.keys(), f"{run}: other nodes scored"
    worst = max(abs(single[k] - other[k]) for k in single)
    same = rings(run) == rings("single")
    print(f"{run}: {len(other)} scores, largest difference {worst:.2e}; "
          f"{len(rings(run))} rings, memberships identical: {same}")
    assert worst <= 1e-5 and same, run
if "spark/dt=bench" in runs:
    out = open("spark.log").read()
    report = json.loads(out[out.index("{"):])
    print(f"spark job: {timing('spark')[0]:.1f} s wall, {report['seconds']}")
EOF
