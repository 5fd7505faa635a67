//! An account's neighbourhood for investigators: breadth-first over every relation both ways.

use ringscope_graph::{HeteroGraph, NO_TIME};
use std::collections::{HashMap, HashSet};

/// A node as `(node set, index within it)`.
pub type Node = (usize, u32);

/// An edge among the nodes of a [`Neighbourhood`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HoodEdge {
    /// Position of its source in [`Neighbourhood::nodes`].
    pub source: usize,
    /// Position of its target.
    pub target: usize,
    /// Relation index.
    pub relation: usize,
    /// Unix seconds, or [`NO_TIME`].
    pub time: i64,
}

/// The nodes met, the start first, and the edges among them, each once.
#[derive(Clone, Debug, PartialEq)]
pub struct Neighbourhood {
    /// Nodes in the order met.
    pub nodes: Vec<Node>,
    /// Edges between them.
    pub edges: Vec<HoodEdge>,
}

/// Breadth-first from `start` over every relation both ways, `hops` deep: at most `limit`
/// nodes, and every edge met between two of them.
pub fn neighbourhood(graph: &HeteroGraph, start: Node, hops: usize, limit: usize) -> Neighbourhood {
    let mut index: HashMap<Node, usize> = HashMap::from([(start, 0)]);
    let mut nodes = vec![start];
    let mut edges = Vec::new();
    let mut seen: HashSet<(usize, u32)> = HashSet::new();
    let mut frontier = vec![start];
    for _ in 0..hops {
        let mut next = Vec::new();
        for &(kind, v) in &frontier {
            let from = index[&(kind, v)];
            for (r, rel) in graph.relations().iter().enumerate() {
                for (outgoing, own, other_kind, csr) in [
                    (true, rel.src_kind, rel.dst_kind, graph.out_csr(rel)),
                    (false, rel.dst_kind, rel.src_kind, graph.in_csr(rel)),
                ] {
                    if own != kind {
                        continue;
                    }
                    for k in csr.range(v) {
                        let other = (other_kind, csr.neighbors[k]);
                        let j = match index.get(&other) {
                            Some(&j) => j,
                            None if nodes.len() < limit => {
                                index.insert(other, nodes.len());
                                nodes.push(other);
                                next.push(other);
                                nodes.len() - 1
                            }
                            None => continue,
                        };
                        let e = csr.edge_ids[k];
                        if !seen.insert((r, e)) {
                            continue;
                        }
                        let time = rel.time.as_ref().map_or(NO_TIME, |t| t[e as usize]);
                        let (source, target) = if outgoing { (from, j) } else { (j, from) };
                        edges.push(HoodEdge {
                            source,
                            target,
                            relation: r,
                            time,
                        });
                    }
                }
            }
        }
        frontier = next;
    }
    Neighbourhood { nodes, edges }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_both_directions_counts_each_edge_once_and_stops_at_the_limit() {
        // accounts 0,1 review product 0; account 1 also reviews product 1.
        let graph = ringscope_testkit::reviews_graph(2, 2, &[(0, 0), (1, 0), (1, 1)]);
        let (accounts, _) = graph.node_set("account").unwrap();
        let (products, _) = graph.node_set("product").unwrap();
        let hood = neighbourhood(&graph, (accounts, 0), 2, 100);
        assert_eq!(hood.nodes[0], (accounts, 0));
        assert_eq!(hood.nodes.len(), 3, "{:?}", hood.nodes);
        assert!(!hood.nodes.contains(&(products, 1)), "three hops away");
        assert_eq!(hood.edges.len(), 2);
        assert!(
            hood.edges
                .iter()
                .all(|e| hood.nodes[e.source].0 == accounts)
        );
        let three = neighbourhood(&graph, (accounts, 0), 3, 100);
        assert_eq!(three.nodes.len(), 4);
        assert_eq!(three.edges.len(), 3);
        let capped = neighbourhood(&graph, (accounts, 0), 3, 2);
        assert_eq!(capped.nodes.len(), 2);
        assert_eq!(capped.edges.len(), 1);
    }
}
