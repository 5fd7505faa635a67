#!/usr/bin/env bash
# ringscope on a GPU through wgpu, against PyG on CUDA, in one device call (issue 25).
#
#   benches/gpu.sh prepare   here: builds and strips the bench binaries and packs them, tolokers
#                            and the peers' loader and generator into .gpu/bundle.tar.xz;
#                            downloads the Vulkan loader into .gl (both folders git-ignored
#                            locally); fails if what travels passes the device tool's 64 MiB
#   benches/gpu.sh run       on the device (the `run` tool, carry [".gpu", ".gl"],
#                            timeout_s 600): JSON lines into $OUT/gpu.jsonl
#   benches/gpu.sh smoke     here, on lavapipe and the CPU: every step of `run` on small graphs,
#                            to check the script before spending device time
#
# `run` writes, in this order, so that a call cut short keeps the numbers that matter most:
#   1. the device (nvidia-smi) and its copy bandwidth, from burn (spmm bench) and from torch;
#   2. the ~2M-node / 50M-edge graph: the CSR product's bandwidth, then SAGE and GCN epochs and
#      inference, ringscope (wgpu) and PyG (CUDA) in turn, with peak GPU memory sampled from
#      nvidia-smi around each run;
#   3. tolokers and the 100k / 1M-edge graph: SAGE, GCN and GAT, both tools;
#   4. GAT on the 50M-edge graph.
# Each step runs under `timeout`, and its line says so if it was cut.
#
# The binaries are the dev profile's (the project's one build profile: dependencies at
# opt-level 2, our crates at 1). Kernels are compiled at run time by cubecl, so the profile
# affects host-side work only.
set -uo pipefail
cd "$(dirname "$0")/.."
MODE="${1:-run}"
GPU_DIR=.gpu
# The Python with torch and torch-geometric (the device image has them in python3).
PY="${PYTHON:-python3}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/ringscope-target}"

prepare() {
  set -e
  grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo /.gpu/ >>.git/info/exclude
  grep -qx '/.gl/' .git/info/exclude 2>/dev/null || echo /.gl/ >>.git/info/exclude
  local stage
  stage=$(mktemp -d)
  mkdir -p "$stage/bin" "$stage/data" "$stage/peers" "$GPU_DIR"
  cargo bench --profile dev --workspace --bench gnn_epoch --no-run
  cargo bench --profile dev --workspace --bench spmm --no-run
  for b in gnn_epoch spmm; do
    bin=$(ls -t "$CARGO_TARGET_DIR"/debug/deps/"$b"-* | grep -v '\.d$' | head -1)
    strip -o "$stage/bin/$b" "$bin"
  done
  cp -r ../shared/datasets/tolokers "$stage/data/tolokers"
  cp ../shared/peers/peers_common.py ../shared/peers/make_synth.py "$stage/peers/"
  # Stripped, the two binaries are about 260 MB (burn's backends, polars); xz brings the bundle
  # to about 50 MB, inside the device tool's 64 MiB for everything that travels.
  rm -f "$GPU_DIR/bundle.tar.xz"
  XZ_OPT=-6T0 tar -C "$stage" -cJf "$GPU_DIR/bundle.tar.xz" .
  rm -rf "$stage"
  mkdir -p .gl /tmp/amd64/partial
  local o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  # shellcheck disable=SC2086
  apt-get $o update -qq
  # shellcheck disable=SC2086
  (cd .gl && apt-get $o download -qq libvulkan1)
  local tree travels
  tree=$(git ls-files -z | du -cb --files0-from=- | tail -1 | cut -f1)
  travels=$(( tree + $(du -sb "$GPU_DIR" .gl | awk '{s += $1} END {print s}') ))
  echo "travels: $(( travels / 1048576 )) MiB of 64 (tree $(( tree / 1048576 )) MiB, $(du -sh "$GPU_DIR/bundle.tar.xz" | cut -f1) bundle)"
  [ "$travels" -lt $(( 64 * 1048576 )) ] || { echo "over the device tool's 64 MiB" >&2; exit 1; }
}

OUT="${OUT:-/tmp/gpu-out}"
mkdir -p "$OUT"
LOG="$OUT/gpu.jsonl"
SECONDS_LEFT_AT_START=$(date +%s)

# step NAME LIMIT_S COMMAND...: runs the command with nvidia-smi sampling the GPU's memory,
# appends its JSON lines to $LOG with the step's name and peak GPU memory (MiB) added.
step() {
  local name="$1" limit="$2"
  shift 2
  local smi=""
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 100 >"$OUT/smi.tmp" 2>/dev/null &
    smi=$!
  fi
  local started rc
  started=$(date +%s.%N)
  timeout "$limit" "$@" >"$OUT/step.tmp" 2>>"$OUT/stderr.log"
  rc=$?
  [ -n "$smi" ] && kill "$smi" 2>/dev/null && wait "$smi" 2>/dev/null
  local peak
  peak=$( (sort -n "$OUT/smi.tmp" 2>/dev/null || true) | tail -1)
  # The script comes on standard input, so the step's output is read from its file.
  python3 - "$name" "$rc" "${peak:-}" "$started" "$OUT/step.tmp" >>"$LOG" <<'EOF'
import json, sys, time
name, rc, peak, started = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
lines = [l for l in open(sys.argv[5]) if l.strip().startswith("{")]
extra = {"step": name, "exit": rc, "timed_out": rc == 124,
         "peak_gpu_mib_smi": int(peak) if peak.strip().isdigit() else None,
         "wall_s": round(time.time() - started, 2)}
for l in lines or ["{}"]:
    row = json.loads(l)
    row.update(extra)
    print(json.dumps(row))
EOF
  echo "$name: exit $rc after $(( $(date +%s) - SECONDS_LEFT_AT_START )) s" >&2
}

run() {
  local unpacked=/tmp/ringscope-gpu
  local bin="$unpacked/bin" data="$unpacked/data" synth_small="$1" synth_big="$2" epochs="$3" big_epochs="$4" limit="$5"
  rm -rf "$unpacked" && mkdir -p "$unpacked" && tar -C "$unpacked" -xJf "$GPU_DIR/bundle.tar.xz" || exit 1
  export PEERS_DIR="$unpacked/peers"
  if [ -d .gl ] && ls .gl/*.deb >/dev/null 2>&1; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
  fi
  if [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ]; then
    export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  fi
  (nvidia-smi -L || echo "no nvidia-smi") >"$OUT/device.txt" 2>&1
  # 1. copy bandwidth, both tools.
  step copy-torch 60 "$PY" benches/pyg_cuda.py --copy-only
  # 2. the big graph first.
  [ -d "$synth_big" ] || "$PY" "$PEERS_DIR/make_synth.py" $SYNTH_BIG_ARGS --out "$synth_big" >/dev/null
  [ -d "$synth_small" ] || "$PY" "$PEERS_DIR/make_synth.py" $SYNTH_SMALL_ARGS --out "$synth_small" >/dev/null
  step "spmm-big" "$limit" "$bin/spmm" "$synth_big" wgpu
  for model in sage gcn; do
    step "ringscope-$model-big" "$limit" "$bin/gnn_epoch" "$synth_big" "$model" "$big_epochs" wgpu
    step "pyg-$model-big" "$limit" "$PY" benches/pyg_cuda.py "$synth_big" --model "$model" --epochs "$big_epochs"
  done
  # 3. tolokers (stored once per undirected edge: PyG symmetrises as ringscope does) and 100k.
  step "spmm-tolokers" "$limit" "$bin/spmm" "$data/tolokers" wgpu
  for model in sage gcn gat; do
    step "ringscope-$model-tolokers" "$limit" "$bin/gnn_epoch" "$data/tolokers" "$model" "$epochs" wgpu
    step "pyg-$model-tolokers" "$limit" "$PY" benches/pyg_cuda.py "$data/tolokers" --model "$model" --epochs "$epochs" --symmetrize
    step "ringscope-$model-100k" "$limit" "$bin/gnn_epoch" "$synth_small" "$model" "$epochs" wgpu
    step "pyg-$model-100k" "$limit" "$PY" benches/pyg_cuda.py "$synth_small" --model "$model" --epochs "$epochs"
  done
  # 4. GAT on the big graph, last.
  step "ringscope-gat-big" "$limit" "$bin/gnn_epoch" "$synth_big" gat "$big_epochs" wgpu
  step "pyg-gat-big" "$limit" "$PY" benches/pyg_cuda.py "$synth_big" --model gat --epochs "$big_epochs"
  rm -f "$OUT/smi.tmp" "$OUT/step.tmp"
  echo "done in $(( $(date +%s) - SECONDS_LEFT_AT_START )) s: $LOG" >&2
}

case "$MODE" in
  prepare) prepare ;;
  run)
    SYNTH_SMALL_ARGS="--nodes 100000 --edges 1000000" \
    SYNTH_BIG_ARGS="--nodes 2000000 --edges 50000000" \
      run /tmp/synth_100k /tmp/synth_2m 10 5 150 ;;
  smoke)
    # Small graphs and few epochs, on lavapipe (wgpu) and PyG on the CPU.
    SYNTH_SMALL_ARGS="--nodes 2000 --edges 20000" \
    SYNTH_BIG_ARGS="--nodes 5000 --edges 60000" \
      run /tmp/gpu-smoke-small /tmp/gpu-smoke-big 3 3 300 ;;
  *) echo "usage: benches/gpu.sh prepare|run|smoke" >&2; exit 2 ;;
esac
