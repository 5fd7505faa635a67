#!/usr/bin/env python3
"""PyG on CUDA: the peer side of benches/gpu.sh. It runs on the GPU the same full-batch model as
../shared/peers/pyg_bench.py (2 layers, hidden 64, ReLU, a linear 2-class head, class-balanced
cross-entropy, Adam with weight decay 5e-4, features standardised) and reads the graph with that
harness's loader (peers_common.py, found through PEERS_DIR). Edges are used as stored: pass
--symmetrize for tolokers, as the CPU comparison does.

It prints one JSON line: the median epoch and inference time (each ended by
torch.cuda.synchronize), peak GPU memory, and the time and bandwidth of one CSR product
(torch.sparse.mm, mean weights) at width 64, counted in bytes as crates/gnn/benches/spmm.rs
counts them. With --copy-only it prints the device's copy bandwidth and exits.

Without CUDA it runs on the CPU, so the script itself can be tried anywhere.
"""
import argparse
import json
import os
import sys
import time

import numpy as np


def synced(torch, device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(torch, device, work, runs):
    work()
    synced(torch, device)
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        work()
        synced(torch, device)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def copy_bandwidth(torch, device):
    # 128 MiB read and 128 MiB written, as the spmm bench's copy.
    x = torch.rand(32 << 20, device=device)
    y = torch.empty_like(x)
    copies = 8  # per sync, as the spmm bench, so the sync's round trip does not count

    def work():
        for _ in range(copies):
            y.copy_(x)

    seconds = timed(torch, device, work, 20)
    return {"tool": "pyg", "device": str(device), "copy_bytes": 2 * x.numel() * 4,
            "copy_gb_per_s": copies * 2 * x.numel() * 4 / seconds / 1e9}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data_dir", nargs="?")
    ap.add_argument("--model", choices=["sage", "gcn", "gat"], default="sage")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--symmetrize", action="store_true")
    ap.add_argument("--copy-only", action="store_true")
    a = ap.parse_args()

    import torch
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if a.copy_only:
        print(json.dumps(copy_bandwidth(torch, device)))
        return
    sys.path.insert(0, os.environ.get("PEERS_DIR", "../shared/peers"))
    import peers_common as pc
    import torch.nn.functional as F
    from torch_geometric.nn import GATConv, GCNConv, SAGEConv

    torch.manual_seed(0)
    rels = pc.pick_relations(pc.list_relations(a.data_dir), "homo")
    g = pc.load_graph(a.data_dir, rels, engine="pyarrow", threads=os.cpu_count())
    n = len(g["y"])
    src = np.concatenate([g["rel_edges"][r][0] for r in rels]).astype(np.int64)
    dst = np.concatenate([g["rel_edges"][r][1] for r in rels]).astype(np.int64)
    if a.symmetrize:
        src, dst = np.concatenate([src, dst]), np.concatenate([dst, src])
    key = np.unique(dst * n + src)
    src_t = torch.from_numpy(key % n).to(device)
    dst_t = torch.from_numpy(key // n).to(device)
    x = torch.from_numpy(g["x"]).float()
    x = ((x - x.mean(0, keepdim=True)) / x.std(0, keepdim=True).clamp_min(1e-6)).to(device)
    y = torch.from_numpy(np.where(g["y"] > 0, 1, 0)).long().to(device)
    tr, va, te = pc.care_split(g["y"], 0.4, 2)
    tr_t = torch.from_numpy(tr).long().to(device)
    counts = torch.bincount(dst_t, minlength=n)
    crow = torch.zeros(n + 1, dtype=torch.int64, device=device)
    torch.cumsum(counts, 0, out=crow[1:])
    ones = torch.ones(src_t.numel(), device=device)
    adj_t = torch.sparse_csr_tensor(crow, src_t, ones, size=(n, n))
    edge_index = torch.stack([src_t, dst_t])
    graph = edge_index if a.model == "gat" else adj_t

    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            d, self.convs = x.size(1), torch.nn.ModuleList()
            for _ in range(2):
                if a.model == "sage":
                    self.convs.append(SAGEConv(d, 64, aggr="mean"))
                elif a.model == "gcn":
                    self.convs.append(GCNConv(d, 64, cached=True))
                else:
                    self.convs.append(GATConv(d, 16, heads=4))
                d = 64
            self.head = torch.nn.Linear(64, 2)

        def forward(self, h):
            for conv in self.convs:
                h = F.relu(conv(h, graph))
            return self.head(h)

    model = Net().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=0.01, weight_decay=5e-4)
    cnt = torch.bincount(y[tr_t], minlength=2).float()
    cw = cnt.sum() / (2 * cnt.clamp_min(1))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    epochs = []
    for _ in range(a.epochs):
        t = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x)[tr_t], y[tr_t], weight=cw)
        loss.backward()
        opt.step()
        synced(torch, device)
        epochs.append(time.perf_counter() - t)
    model.eval()
    with torch.no_grad():
        inference = timed(torch, device, lambda: model(x), 5)
        # One mean aggregation at width 64, the spmm bench's product.
        mean_adj = torch.sparse_csr_tensor(crow, src_t, (1.0 / counts.clamp_min(1))[dst_t],
                                           size=(n, n))
        h = torch.rand(n, 64, device=device)
        spmm = timed(torch, device, lambda: torch.sparse.mm(mean_adj, h), 20)
    nnz = src_t.numel()
    spmm_bytes = nnz * (12 + 4 * 64) + n * 4 * 64 + (n + 1) * 4
    print(json.dumps({
        "tool": "pyg", "device": str(device), "data_dir": a.data_dir, "model": a.model,
        "nodes": n, "edges": nnz,
        # The first epoch includes one-off work (allocation, kernel selection), as in gnn_epoch.
        "median_epoch_seconds": float(np.median(epochs[1:])),
        "median_inference_seconds": inference,
        "peak_gpu_bytes": torch.cuda.max_memory_allocated() if device.type == "cuda" else None,
        "spmm_width": 64, "spmm_seconds": spmm, "spmm_bytes": spmm_bytes,
        "spmm_gb_per_s": spmm_bytes / spmm / 1e9,
        "versions": {"torch": torch.__version__},
    }))


if __name__ == "__main__":
    main()
