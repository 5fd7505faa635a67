//! The ring as a small graph for drawing and for Gephi: its members, the identifiers at least
//! two of them share, the products and sellers at least two of them act on, and every timed
//! edge between members and those nodes.

use ringscope_graph::{HeteroGraph, NO_TIME, NodeKind, Rel};
use std::collections::{BTreeMap, HashMap, HashSet};

/// A node of a ring graph.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RingNode {
    /// `account`, `device`, `ip`, `payment`, `address`, `product` or `seller`.
    pub kind: String,
    /// Its ID.
    pub id: String,
    /// Whether it is a ring member (accounts only).
    pub member: bool,
    /// GNN fraud probability of a member.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Earliest time of its edges in this graph (unix seconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<i64>,
}

/// An edge of a ring graph, from a member to another node.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RingEdge {
    /// Index of the member in [`RingGraph::nodes`].
    pub source: usize,
    /// Index of the other node.
    pub target: usize,
    /// Relation name (`reviewed`, `used_device`, ...).
    pub relation: String,
    /// Unix seconds: the action's time, or an identifier's first use.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
    /// Rating of a review, amount of an order, uses of an identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<f32>,
}

/// A ring's nodes and edges.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RingGraph {
    /// Members first (in `members` order), then the other nodes by kind and ID.
    pub nodes: Vec<RingNode>,
    /// Edges in relation order, then by member and edge order.
    pub edges: Vec<RingEdge>,
}

const RELATIONS: [(Rel, NodeKind); 8] = [
    (Rel::UsedDevice, NodeKind::Device),
    (Rel::UsedIp, NodeKind::Ip),
    (Rel::PaidWith, NodeKind::Payment),
    (Rel::ShipsTo, NodeKind::Address),
    (Rel::Reviewed, NodeKind::Product),
    (Rel::Ordered, NodeKind::Product),
    (Rel::BoughtFrom, NodeKind::Seller),
    (Rel::Operates, NodeKind::Seller),
];

/// The graph of the ring `members` (account indices), with each member's GNN score from
/// `account_scores`. Cost: the members' degrees, not the graph's size.
pub fn ring_graph(
    graph: &HeteroGraph,
    members: &[u32],
    account_scores: Option<&[f64]>,
) -> RingGraph {
    let name = |kind: NodeKind, i: u32| crate::evidence::node_id(graph, kind, i);
    // Per relation, the member edges as (member position, other node, edge index).
    let mut member_edges: Vec<Vec<(usize, u32, usize)>> = vec![Vec::new(); RELATIONS.len()];
    // Which members touch each (kind, node): a node stays when two do, or a member operates it.
    let mut touched: BTreeMap<(&'static str, u32), HashSet<usize>> = BTreeMap::new();
    for (slot, &(rel, kind)) in RELATIONS.iter().enumerate() {
        let Some(r) = graph.relation(rel.name()) else {
            continue;
        };
        let out = graph.out_csr(r);
        for (m, &a) in members.iter().enumerate() {
            let range = out.offsets[a as usize] as usize..out.offsets[a as usize + 1] as usize;
            for (&other, &e) in out.neighbors[range.clone()]
                .iter()
                .zip(&out.edge_ids[range])
            {
                member_edges[slot].push((m, other, e as usize));
                let users = touched.entry((kind.name(), other)).or_default();
                users.insert(m);
                if rel == Rel::Operates {
                    users.insert(usize::MAX); // a ring's own shop always belongs in its picture
                }
            }
        }
    }
    let mut nodes: Vec<RingNode> = members
        .iter()
        .map(|&a| RingNode {
            kind: NodeKind::Account.name().to_string(),
            id: name(NodeKind::Account, a),
            member: true,
            score: account_scores.map(|s| s[a as usize]),
            start: None,
        })
        .collect();
    let kinds: HashMap<&str, NodeKind> = RELATIONS.iter().map(|&(_, k)| (k.name(), k)).collect();
    let mut index: HashMap<(&'static str, u32), usize> = HashMap::new();
    for (&(kind, v), users) in &touched {
        if users.len() >= 2 {
            index.insert((kind, v), nodes.len());
            nodes.push(RingNode {
                kind: kind.to_string(),
                id: name(kinds[kind], v),
                member: false,
                score: None,
                start: None,
            });
        }
    }
    let mut edges = Vec::new();
    for (slot, &(rel, kind)) in RELATIONS.iter().enumerate() {
        let Some(r) = graph.relation(rel.name()) else {
            continue;
        };
        for &(m, other, e) in &member_edges[slot] {
            let Some(&target) = index.get(&(kind.name(), other)) else {
                continue;
            };
            let time = r.time.as_ref().map(|t| t[e]).filter(|&t| t != NO_TIME);
            for node in [m, target] {
                if let Some(t) = time {
                    let start = &mut nodes[node].start;
                    *start = Some(start.map_or(t, |s| s.min(t)));
                }
            }
            edges.push(RingEdge {
                source: m,
                target,
                relation: rel.name().to_string(),
                time,
                weight: r.weight.as_ref().map(|w| w[e]).filter(|w| w.is_finite()),
            });
        }
    }
    RingGraph { nodes, edges }
}
