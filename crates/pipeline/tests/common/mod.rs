//! Shared by the ring tests.

use ringscope_graph::{HeteroGraph, NodeKind};

/// The shipped checkpoint's fraud probability of every account of `graph`.
pub fn account_scores(graph: &HeteroGraph) -> Vec<f64> {
    let dir = ringscope_testkit::default_checkpoint();
    let device = ringscope_gnn::device::open(ringscope_gnn::DeviceChoice::Cpu).unwrap();
    let checkpoint = ringscope_score::checkpoint::load(&dir, &device).unwrap();
    let all = checkpoint.score(graph, &device).unwrap();
    let (kind, _) = graph.node_set(NodeKind::Account.name()).unwrap();
    all[graph.kind_range(kind)]
        .iter()
        .map(|&s| f64::from(s))
        .collect()
}
