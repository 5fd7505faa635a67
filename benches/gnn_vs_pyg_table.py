"""Summarises benches/gnn_vs_pyg.sh output as the markdown table in benches/README.md.

Each ringscope line is paired with the PyG line that follows it (same dataset and model, run
right after). Per dataset and model: the median over rounds of each tool's epoch time,
inference time and peak RSS, and the median and range of the per-round ratios ringscope/PyG.

Usage: python3 benches/gnn_vs_pyg_table.py runs.jsonl [more.jsonl ...]
"""
import json
import statistics
import sys

NAMES = {"tolokers": "tolokers", "synth_100k": "synth 100k/1M"}
METRICS = [
    ("median_epoch_seconds", "{:.4f}"),
    ("median_inference_seconds", "{:.4f}"),
    ("peak_rss_bytes", "{:.0f}"),
]


def main(paths):
    lines = [json.loads(l) for p in paths for l in open(p) if l.startswith("{")]
    pairs = {}
    for ours, theirs in zip(lines[::2], lines[1::2]):
        key = (ours["data_dir"], ours["model"])
        if (ours["tool"], theirs["tool"]) != ("ringscope", "pyg") or key != (
            theirs["data_dir"],
            theirs["model"],
        ):
            sys.exit(f"unpaired lines: {ours} / {theirs}")
        pairs.setdefault(key, []).append((ours, theirs))
    print(
        "| graph | model | rounds | epoch s | PyG | **ratio** (range) | inference s | PyG "
        "| **ratio** (range) | peak RSS MB | PyG | **ratio** (range) | test AUROC | PyG |"
    )
    print("|---" * 14 + "|")
    for (data_dir, model), runs in pairs.items():
        graph = NAMES.get(data_dir.rstrip("/").split("/")[-1], data_dir)
        cells = [graph, model.upper(), str(len(runs))]
        for metric, fmt in METRICS:
            scale = 2**20 if metric == "peak_rss_bytes" else 1
            ours = statistics.median(o[metric] for o, _ in runs) / scale
            theirs = statistics.median(t[metric] for _, t in runs) / scale
            ratios = [o[metric] / t[metric] for o, t in runs]
            spread = f"{min(ratios):.2f}–{max(ratios):.2f}"
            cells += [fmt.format(ours), fmt.format(theirs),
                      f"**{statistics.median(ratios):.2f}** ({spread})"]
        cells += [f"{statistics.median(o['test_auroc'] for o, _ in runs):.3f}",
                  f"{statistics.median(t['test_auroc'] for _, t in runs):.3f}"]
        print("| " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
