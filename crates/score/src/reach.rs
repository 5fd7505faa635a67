//! The part of a graph a group's scores read: the nodes within a model's hops of the group,
//! with every edge of each, as a graph of its own. Explanations run on it instead of the whole
//! graph; a node's logits there equal its logits on the whole graph, since every edge into
//! every node they read (and every degree those edges are normalised by) is kept. A sharded
//! run's plan finds each shard's reach with the same [`Neighbours::within`].

use ringscope_gnn::graph::{GraphEdges, RelationEdges};

/// Every node's neighbours over every relation, both directions.
pub struct Neighbours(Vec<Vec<u32>>);

impl Neighbours {
    /// The neighbours in `edges` (relations, and the homogeneous view where there is one).
    pub fn of(edges: &GraphEdges) -> Neighbours {
        let mut adjacency = vec![Vec::new(); edges.num_nodes];
        for r in edges.relations.iter().chain(&edges.homogeneous) {
            for (&s, &d) in r.src.iter().zip(&r.dst) {
                adjacency[s as usize].push(d);
                adjacency[d as usize].push(s);
            }
        }
        Neighbours(adjacency)
    }

    /// The neighbours of node `v`.
    pub fn of_node(&self, v: u32) -> &[u32] {
        &self.0[v as usize]
    }

    /// Which nodes lie within `hops` of `from`.
    pub fn within(&self, from: &[u32], hops: usize) -> Vec<bool> {
        let mut seen = vec![false; self.0.len()];
        let mut frontier: Vec<u32> = from.to_vec();
        frontier.iter().for_each(|&v| seen[v as usize] = true);
        for _ in 0..hops {
            let mut next = Vec::new();
            for &v in &frontier {
                for &u in &self.0[v as usize] {
                    if !std::mem::replace(&mut seen[u as usize], true) {
                        next.push(u);
                    }
                }
            }
            frontier = next;
        }
        seen
    }
}

/// A group's part of a graph, in an index space of its own.
pub struct Cut {
    /// Global index of each local node, ascending (so local order is global order).
    pub nodes: Vec<u32>,
    /// The edges between them: every edge touching a node within the hops.
    pub edges: GraphEdges,
    local: Vec<u32>,
}

const OUT: u32 = u32::MAX;

impl Cut {
    /// The nodes within `hops` of `group` with all their edges (so their other ends come too).
    pub fn around(edges: &GraphEdges, neighbours: &Neighbours, group: &[u32], hops: usize) -> Cut {
        let within = neighbours.within(group, hops);
        let mut kept = within.clone();
        for (v, _) in within.iter().enumerate().filter(|(_, w)| **w) {
            neighbours.0[v]
                .iter()
                .for_each(|&u| kept[u as usize] = true);
        }
        let nodes: Vec<u32> = (0..edges.num_nodes as u32)
            .filter(|&v| kept[v as usize])
            .collect();
        let mut local = vec![OUT; edges.num_nodes];
        for (i, &v) in nodes.iter().enumerate() {
            local[v as usize] = i as u32;
        }
        let cut = |r: &RelationEdges| {
            let (mut src, mut dst) = (Vec::new(), Vec::new());
            for (&s, &d) in r.src.iter().zip(&r.dst) {
                if within[s as usize] || within[d as usize] {
                    src.push(local[s as usize]);
                    dst.push(local[d as usize]);
                }
            }
            RelationEdges {
                name: r.name.clone(),
                src,
                dst,
            }
        };
        Cut {
            edges: GraphEdges {
                num_nodes: nodes.len(),
                relations: edges.relations.iter().map(cut).collect(),
                homogeneous: edges.homogeneous.as_ref().map(cut),
            },
            nodes,
            local,
        }
    }

    /// The rows of `x` (`cols` wide, global order) of the cut's nodes.
    pub fn rows(&self, x: &[f32], cols: usize) -> Vec<f32> {
        let mut rows = Vec::with_capacity(self.nodes.len() * cols);
        for &v in &self.nodes {
            rows.extend_from_slice(&x[v as usize * cols..(v as usize + 1) * cols]);
        }
        rows
    }

    /// `group` (global indices, all in the cut) in the cut's index space.
    pub fn local(&self, group: &[u32]) -> Vec<u32> {
        group.iter().map(|&v| self.local[v as usize]).collect()
    }
}
