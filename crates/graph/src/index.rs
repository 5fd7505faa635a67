//! The global node index: every node set's nodes in turn, node set after node set. Model inputs,
//! feature matrices and score vectors are laid out this way; [`IndexSpace`] is the one place
//! that converts between it and a [`NodeRef`] (node set, index within it).

use crate::hetero::{HeteroGraph, NodeRef};
use std::ops::Range;

/// The global index space of a graph's nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexSpace {
    /// Start of each node set, then the total: `kinds + 1` ascending values.
    starts: Vec<usize>,
}

impl IndexSpace {
    /// The index space of `graph`.
    pub fn of(graph: &HeteroGraph) -> Self {
        Self::from_sizes(graph.node_sets().iter().map(|s| s.len()))
    }

    /// The index space of node sets of these sizes, in order.
    pub fn from_sizes(sizes: impl IntoIterator<Item = usize>) -> Self {
        let mut starts = vec![0];
        for size in sizes {
            starts.push(starts.last().copied().unwrap_or(0) + size);
        }
        IndexSpace { starts }
    }

    /// Nodes over all kinds.
    pub fn len(&self) -> usize {
        *self.starts.last().unwrap_or(&0)
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of node sets.
    pub fn kinds(&self) -> usize {
        self.starts.len() - 1
    }

    /// The first global index of node set `kind`.
    pub fn start(&self, kind: usize) -> usize {
        self.starts[kind]
    }

    /// The global indices of node set `kind`.
    pub fn range(&self, kind: usize) -> Range<usize> {
        self.starts[kind]..self.starts[kind + 1]
    }

    /// The global index of `node`.
    pub fn global(&self, node: NodeRef) -> usize {
        let kind = usize::from(node.kind);
        debug_assert!((node.index as usize) < self.range(kind).len());
        self.starts[kind] + node.index as usize
    }

    /// The global index of the node `local` of set `kind`.
    pub fn global_of(&self, kind: usize, local: u32) -> usize {
        self.global(NodeRef {
            kind: kind as u16,
            index: local,
        })
    }

    /// The global indices of the nodes `locals` of set `kind`, as a column.
    pub fn globals(&self, kind: usize, locals: &[u32]) -> Vec<u32> {
        let start = self.starts[kind] as u32;
        locals.iter().map(|&v| start + v).collect()
    }

    /// The node at global index `global`, if there is one.
    pub fn node(&self, global: usize) -> Option<NodeRef> {
        if global >= self.len() {
            return None;
        }
        // The last start at or below `global`; empty node sets share their start with the next.
        let kind = self.starts.partition_point(|&s| s <= global) - 1;
        Some(NodeRef {
            kind: kind as u16,
            index: (global - self.starts[kind]) as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_indices_round_trip_and_skip_empty_node_sets() {
        let space = IndexSpace::from_sizes([2, 0, 3]);
        assert_eq!(space.len(), 5);
        assert_eq!(space.kinds(), 3);
        assert_eq!(space.range(1), 2..2);
        assert_eq!(space.range(2), 2..5);
        for g in 0..5 {
            let node = space.node(g).unwrap();
            assert_ne!(node.kind, 1, "the empty set owns no index");
            assert_eq!(space.global(node), g);
        }
        assert_eq!(space.node(2), Some(NodeRef { kind: 2, index: 0 }));
        assert_eq!(space.global_of(2, 2), 4);
        assert_eq!(space.node(5), None);
    }
}
