//! How an input would split across machines (issue 24, docs/scale.md): the connected components
//! of the account projection, and how much of the graph an account's score reads.
//!
//! `cargo bench --profile dev --workspace --bench shard_reach -- ACCOUNTS [SEED] [SHARDS]`
//!
//! On a generated marketplace (medium, the classic families; synth → CSV → ingest → graph →
//! scores with `checkpoints/default` → projection, as `ring_quality`), it prints one JSON object:
//! - `evidence_components`: components of the projection (shared identifiers and subnets under
//!   their hub caps, co-reviews) over every account, and over the accounts scoring ≥ 0.5 that
//!   evidence candidates are made of;
//! - `receptive_field`: nodes within 1 and 2 hops of 2,000 sampled accounts (3 hops of 200 of
//!   them) in the model's graph (every relation, both directions). The 2-layer R-GCN reads the
//!   features of every node within 2 hops; each node's features come from its own edges, so a
//!   machine that computes them itself needs the third hop too;
//! - `shards`: accounts split into SHARDS parts by hash; each part's 2- and 3-hop closure as a
//!   share of the graph's nodes, which is what a shard scoring its own accounts exactly with a
//!   halo would hold;
//! - `layered`: the same shards if every node had one (an identifier with the shard of its
//!   first account, products and sellers by hash) and layers were exchanged instead of halos
//!   (docs/scale.md): each shard's edges (those touching a node it owns, the rows it reads) and
//!   the nodes whose previous-layer rows it receives (neighbours of its nodes that it does not
//!   own), as shares of the graph's.

mod common;

use common::market::market;
use petgraph::unionfind::UnionFind;
use ringscope_graph::{HeteroGraph, NodeKind};
use std::collections::BTreeMap;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Every relation's edges both ways, over the graph's global node index.
struct Adjacency {
    offsets: Vec<usize>,
    neighbours: Vec<u32>,
}

impl Adjacency {
    fn of(graph: &HeteroGraph) -> Self {
        let n = graph.num_nodes();
        let pairs = || {
            graph.relations().iter().flat_map(|r| {
                let (s, d) = (
                    graph.kind_range(r.src_kind).start as u32,
                    graph.kind_range(r.dst_kind).start as u32,
                );
                r.src.iter().zip(&r.dst).map(move |(&a, &b)| (a + s, b + d))
            })
        };
        let mut offsets = vec![0usize; n + 1];
        for (a, b) in pairs() {
            offsets[a as usize + 1] += 1;
            offsets[b as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut next = offsets[..n].to_vec();
        let mut neighbours = vec![0u32; offsets[n]];
        for (a, b) in pairs() {
            neighbours[next[a as usize]] = b;
            next[a as usize] += 1;
            neighbours[next[b as usize]] = a;
            next[b as usize] += 1;
        }
        Adjacency {
            offsets,
            neighbours,
        }
    }

    /// Nodes within 1..=`hops` hops of `sources` (the sources included), per hop count.
    fn reach(&self, sources: &[u32], hops: usize, seen: &mut [u32], stamp: u32) -> Vec<usize> {
        let mut frontier: Vec<u32> = sources
            .iter()
            .copied()
            .filter(|&v| std::mem::replace(&mut seen[v as usize], stamp) != stamp)
            .collect();
        let mut total = frontier.len();
        let mut reached = Vec::with_capacity(hops);
        for _ in 0..hops {
            let mut next = Vec::new();
            for &v in &frontier {
                let v = v as usize;
                for &w in &self.neighbours[self.offsets[v]..self.offsets[v + 1]] {
                    if std::mem::replace(&mut seen[w as usize], stamp) != stamp {
                        next.push(w);
                    }
                }
            }
            total += next.len();
            reached.push(total);
            frontier = next;
        }
        reached
    }
}

/// The shard of an account under the bench's hash.
fn account_shard(a: u32, shards: usize) -> usize {
    (a.wrapping_mul(2_654_435_761) >> 7) as usize % shards
}

/// Per shard, with every node owned (accounts by hash, an identifier node with its first
/// account, products and sellers by hash): edges touching its nodes, and the nodes outside it
/// whose rows it receives each layer, as shares of all edges and nodes.
fn layered_shards(
    graph: &HeteroGraph,
    adjacency: &Adjacency,
    first_account: u32,
    accounts: usize,
    shards: usize,
) -> Vec<serde_json::Value> {
    let nodes = graph.num_nodes();
    let is_account =
        |v: usize| (first_account as usize..first_account as usize + accounts).contains(&v);
    let neighbours =
        |v: usize| &adjacency.neighbours[adjacency.offsets[v]..adjacency.offsets[v + 1]];
    let identifier_kinds: Vec<std::ops::Range<usize>> = ["device", "ip", "payment", "address"]
        .iter()
        .filter_map(|k| graph.node_set(k).map(|(kind, _)| graph.kind_range(kind)))
        .collect();
    let owner: Vec<usize> = (0..nodes)
        .map(|v| {
            if is_account(v) {
                return account_shard(v as u32 - first_account, shards);
            }
            if identifier_kinds.iter().any(|r| r.contains(&v))
                && let Some(&a) = neighbours(v)
                    .iter()
                    .filter(|&&a| is_account(a as usize))
                    .min()
            {
                return account_shard(a - first_account, shards);
            }
            account_shard(v as u32, shards)
        })
        .collect();
    let edges = adjacency.neighbours.len() / 2;
    (0..shards)
        .map(|shard| {
            let (mut touching, mut both) = (0usize, 0usize);
            let mut received = vec![false; nodes];
            for v in (0..nodes).filter(|&v| owner[v] == shard) {
                for &w in neighbours(v) {
                    if owner[w as usize] == shard {
                        both += 1;
                    } else {
                        touching += 1;
                        received[w as usize] = true;
                    }
                }
            }
            let own_edges = touching + both / 2;
            serde_json::json!({
                "nodes": owner.iter().filter(|&&o| o == shard).count(),
                "edge_share": own_edges as f64 / edges as f64,
                "received_share": received.iter().filter(|&&r| r).count() as f64 / nodes as f64,
            })
        })
        .collect()
}

/// Sizes of the groups `labels` makes of `members`, largest first.
fn component_sizes(labels: &[u32], members: impl Iterator<Item = usize>) -> Vec<usize> {
    let mut sizes: BTreeMap<u32, usize> = BTreeMap::new();
    for a in members {
        *sizes.entry(labels[a]).or_default() += 1;
    }
    let mut sizes: Vec<usize> = sizes.into_values().collect();
    sizes.sort_unstable_by(|a, b| b.cmp(a));
    sizes
}

fn summary(sizes: &[usize], of: usize) -> serde_json::Value {
    let singletons = sizes.iter().filter(|&&s| s == 1).count();
    serde_json::json!({
        "accounts": of,
        "components": sizes.len(),
        "singletons": singletons,
        "largest": sizes.first().copied().unwrap_or(0),
        "largest_share": sizes.first().map_or(0.0, |&s| s as f64 / of.max(1) as f64),
        "top_10": &sizes[..sizes.len().min(10)],
    })
}

fn quantiles(mut v: Vec<usize>) -> serde_json::Value {
    v.sort_unstable();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    serde_json::json!({"median": at(0.5), "p90": at(0.9), "p99": at(0.99), "max": at(1.0)})
}

fn main() {
    let args = common::market::args();
    let accounts: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let seed: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(7);
    let shards: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10);
    let families = common::market::families(Some("classic"));
    let m = market(
        accounts,
        common::market::difficulty(Some("medium")),
        seed,
        &families,
    );
    let graph = &m.graph;
    let n_accounts = m.accounts;

    let mut union = UnionFind::<u32>::new(n_accounts);
    let mut suspicious_union = UnionFind::<u32>::new(n_accounts);
    for e in m.projection.graph.edge_indices() {
        let (a, b) = m.projection.graph.edge_endpoints(e).expect("edge exists");
        let (a, b) = (a.index(), b.index());
        union.union(a as u32, b as u32);
        if m.scores[a] >= 0.5 && m.scores[b] >= 0.5 {
            suspicious_union.union(a as u32, b as u32);
        }
    }
    let all = component_sizes(&union.into_labeling(), 0..n_accounts);
    let suspicious: Vec<usize> = (0..n_accounts).filter(|&a| m.scores[a] >= 0.5).collect();
    let suspicious_sizes = component_sizes(
        &suspicious_union.into_labeling(),
        suspicious.iter().copied(),
    );

    let adjacency = Adjacency::of(graph);
    let nodes = graph.num_nodes();
    let (kind, _) = graph.node_set(NodeKind::Account.name()).expect("accounts");
    let first = graph.kind_range(kind).start as u32;
    let mut seen = vec![0u32; nodes];
    let mut stamp = 0;
    let sample = 2000.min(n_accounts);
    let mut by_hop: [Vec<usize>; 3] = Default::default();
    for i in 0..sample {
        // Evenly spread over the accounts, so no random generator is needed. Three hops reach
        // most of the graph, so only every tenth account walks them.
        let account = first + (i * n_accounts / sample) as u32;
        let hops = if i % 10 == 0 { 3 } else { 2 };
        stamp += 1;
        let reached = adjacency.reach(&[account], hops, &mut seen, stamp);
        for (hop, &r) in reached.iter().enumerate() {
            by_hop[hop].push(r);
        }
    }
    let mut shard_closure = Vec::new();
    for shard in 0..shards {
        let owned: Vec<u32> = (0..n_accounts as u32)
            .filter(|&a| account_shard(a, shards) == shard)
            .map(|a| first + a)
            .collect();
        stamp += 1;
        let reached = adjacency.reach(&owned, 3, &mut seen, stamp);
        shard_closure.push(serde_json::json!({
            "accounts": owned.len(),
            "two_hop_share": reached[1] as f64 / nodes as f64,
            "three_hop_share": reached[2] as f64 / nodes as f64,
        }));
    }
    let layered = layered_shards(graph, &adjacency, first, n_accounts, shards);
    let [h1, h2, h3] = by_hop;
    let by_hop_three_len = h3.len();
    let result = serde_json::json!({
        "accounts": n_accounts,
        "nodes": nodes,
        "edges": graph.num_edges(),
        "projection_edges": m.projection.graph.edge_count(),
        "evidence_components": {
            "all_accounts": summary(&all, n_accounts),
            "scoring_at_least_0_5": summary(&suspicious_sizes, suspicious.len()),
        },
        "receptive_field": {
            "sampled_accounts": sample,
            "sampled_for_three_hops": by_hop_three_len,
            "one_hop": quantiles(h1),
            "two_hops": quantiles(h2),
            "three_hops": quantiles(h3),
        },
        "shards": shard_closure,
        "layered": layered,
        "seconds": {"synth": m.seconds[0], "ingest_and_graph": m.seconds[1], "gnn_scores": m.seconds[2], "projection": m.seconds[3]},
        "peak_rss_kib_after": {"ingest_and_graph": m.peak_kib[1], "gnn_scores": m.peak_kib[2], "projection": m.peak_kib[3]},
    });
    println!("{result}");
}
