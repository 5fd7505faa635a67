//! A [`HeteroGraph`] laid out for message passing: [`GraphEdges`] on the host, [`GraphTensors`]
//! on a device.

use crate::mp::EdgeIndex;
pub use crate::tensor::{indices, matrix};
use burn::prelude::*;
use ringscope_graph::{HOMOGENEOUS_RELATION, HeteroGraph};

/// One relation's edges in the global index space.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RelationEdges {
    /// Relation name (`rev_<name>` for a reverse).
    pub name: String,
    /// Source node of each edge.
    pub src: Vec<u32>,
    /// Destination node of each edge.
    pub dst: Vec<u32>,
}

/// The edges a model sees, on the host. Every node set is laid out in one index space (node set
/// after node set), so homogeneous layers see one graph and relation-aware layers see each
/// relation.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GraphEdges {
    /// Total nodes.
    pub num_nodes: usize,
    /// The relations relation-aware layers use: each relation, then each reverse.
    pub relations: Vec<RelationEdges>,
    /// The homogeneous view, when the source provides one ([`HOMOGENEOUS_RELATION`]; otherwise
    /// the union of `relations`). Relation-aware layers skip it, as the PyG harness does.
    pub homogeneous: Option<RelationEdges>,
}

impl GraphEdges {
    /// Lays out `graph`. With `add_reverse`, messages also flow dst → src, which the bipartite
    /// marketplace relations need; graphs stored symmetric do not.
    pub fn new(graph: &HeteroGraph, add_reverse: bool) -> Self {
        let space = graph.index_space();
        let num_nodes = space.len();
        let mut relations = Vec::new();
        let mut homogeneous = None;
        for r in graph.relations() {
            let edges = RelationEdges {
                name: r.name.clone(),
                src: space.globals(r.src_kind, &r.src),
                dst: space.globals(r.dst_kind, &r.dst),
            };
            if r.name == HOMOGENEOUS_RELATION {
                homogeneous = Some(edges);
            } else {
                relations.push(edges);
            }
        }
        if add_reverse {
            let reverses: Vec<_> = relations
                .iter()
                .map(|r| RelationEdges {
                    name: format!("rev_{}", r.name),
                    src: r.dst.clone(),
                    dst: r.src.clone(),
                })
                .collect();
            relations.extend(reverses);
            if let Some(h) = &mut homogeneous {
                let (src, dst) = (h.src.clone(), h.dst.clone());
                h.src.extend_from_slice(&dst);
                h.dst.extend_from_slice(&src);
            }
        }
        GraphEdges {
            num_nodes,
            relations,
            homogeneous,
        }
    }

    /// Relation names, in layer order.
    pub fn relation_names(&self) -> Vec<String> {
        self.relations.iter().map(|r| r.name.clone()).collect()
    }

    /// Total edges of the homogeneous view.
    pub fn num_merged_edges(&self) -> usize {
        match &self.homogeneous {
            Some(h) => h.src.len(),
            None => self.relations.iter().map(|r| r.src.len()).sum(),
        }
    }

    /// Uploads the edges to `device`.
    pub fn to_device(&self, device: &Device) -> GraphTensors {
        self.upload(None, Views::ALL, device)
    }

    /// Uploads only the views a model reads ([`crate::Gnn::views`]): a relation-aware model on
    /// a marketplace then leaves out the merged edges, which cost as much memory again.
    pub fn to_device_for(&self, views: Views, device: &Device) -> GraphTensors {
        self.upload(None, views, device)
    }

    /// Uploads only the edges into `rows`, for computing just those nodes' outputs (the rows a
    /// loss reads): see [`EdgeIndex::into_rows`] and [`crate::Gnn::forward_rows`].
    ///
    /// # Panics
    /// If a row is out of range or repeated.
    pub fn to_device_rows(&self, rows: &[u32], device: &Device) -> GraphTensors {
        self.upload(Some(rows), Views::ALL, device)
    }

    /// [`GraphEdges::to_device_rows`] with only the views a model reads.
    pub fn to_device_rows_for(&self, rows: &[u32], views: Views, device: &Device) -> GraphTensors {
        self.upload(Some(rows), views, device)
    }

    fn upload(&self, rows: Option<&[u32]>, views: Views, device: &Device) -> GraphTensors {
        let n = self.num_nodes;
        let index = |src: &[u32], dst: &[u32]| match rows {
            Some(rows) => EdgeIndex::into_rows(src, dst, n, n, rows, device),
            None => EdgeIndex::new(src, dst, n, n, device),
        };
        // A graph with only a homogeneous view is its own single relation, sharing the tensors.
        let merged_needed = views.merged || self.relations.is_empty();
        let merged = merged_needed.then(|| match &self.homogeneous {
            Some(h) => index(&h.src, &h.dst),
            None => {
                let mut src = Vec::with_capacity(self.num_merged_edges());
                let mut dst = Vec::with_capacity(self.num_merged_edges());
                for r in &self.relations {
                    src.extend_from_slice(&r.src);
                    dst.extend_from_slice(&r.dst);
                }
                index(&src, &dst)
            }
        });
        let relations = match &merged {
            Some(merged) if self.relations.is_empty() => Some(vec![RelationTensors {
                targets: Tensor::arange(0..merged.num_dst as i64, device),
                edges: merged.clone(),
            }]),
            _ => views.relations.then(|| {
                self.relations
                    .iter()
                    .map(|r| RelationTensors::new(&r.src, &r.dst, n, rows, device))
                    .collect()
            }),
        };
        GraphTensors {
            num_nodes: n,
            rows: rows.map(|r| indices(r, device)),
            merged,
            relations,
        }
    }
}

/// The tensors a model runs on.
#[derive(Clone, Debug)]
pub struct GraphTensors {
    /// Total nodes.
    pub num_nodes: usize,
    /// The nodes whose outputs a layer computes on these edges, in output order; `None` for
    /// every node.
    pub rows: Option<Tensor<1, Int>>,
    /// The homogeneous view (for GCN, SAGE, GAT, BWGNN), unless left out by [`Views`].
    merged: Option<EdgeIndex>,
    /// Each relation, as [`GraphEdges::relations`] orders them (for relation-aware layers),
    /// unless left out by [`Views`].
    relations: Option<Vec<RelationTensors>>,
}

/// Which views of a graph to upload: what a model's layers read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Views {
    /// The homogeneous view, [`GraphTensors::merged`].
    pub merged: bool,
    /// The relations, [`GraphTensors::relations`].
    pub relations: bool,
}

impl Views {
    /// Both views.
    pub const ALL: Views = Views {
        merged: true,
        relations: true,
    };
    /// Neither (a layer that reads no edges).
    pub const NONE: Views = Views {
        merged: false,
        relations: false,
    };
    /// The homogeneous view alone.
    pub const MERGED: Views = Views {
        merged: true,
        relations: false,
    };
    /// The relations alone.
    pub const RELATIONS: Views = Views {
        merged: false,
        relations: true,
    };

    /// Both views' needs together.
    pub const fn union(self, other: Views) -> Views {
        Views {
            merged: self.merged || other.merged,
            relations: self.relations || other.relations,
        }
    }
}

/// One relation's edges on a device, into only the output rows it reaches. A relation of a
/// typed graph ends at one node type, so a relation-aware layer aggregates and projects those
/// rows alone and adds them into its output, instead of a product over every node per relation.
#[derive(Clone, Debug)]
pub struct RelationTensors {
    /// The edges; destination `i` is output row `targets[i]`. Degrees and normalisations are
    /// the whole graph's.
    pub edges: EdgeIndex,
    /// The output row of each of `edges`' destinations, `[edges.num_dst]`, increasing.
    pub targets: Tensor<1, Int>,
}

impl RelationTensors {
    /// `src → dst` over `n` nodes, for the outputs `rows` (every node when `None`).
    fn new(src: &[u32], dst: &[u32], n: usize, rows: Option<&[u32]>, device: &Device) -> Self {
        let mut reached = vec![false; n];
        dst.iter().for_each(|&d| reached[d as usize] = true);
        let (nodes, targets): (Vec<u32>, Vec<u32>) = match rows {
            Some(rows) => (0u32..)
                .zip(rows)
                .filter(|&(_, &node)| reached[node as usize])
                .map(|(i, &node)| (node, i))
                .unzip(),
            None => (0..n as u32)
                .filter(|&v| reached[v as usize])
                .map(|v| (v, v))
                .unzip(),
        };
        RelationTensors {
            edges: EdgeIndex::into_rows(src, dst, n, n, &nodes, device),
            targets: indices(&targets, device),
        }
    }
}

impl GraphTensors {
    /// Lays out `graph` on `device`; see [`GraphEdges::new`].
    pub fn new(graph: &HeteroGraph, add_reverse: bool, device: &Device) -> Self {
        GraphEdges::new(graph, add_reverse).to_device(device)
    }

    /// The homogeneous view (for GCN, SAGE, GAT, BWGNN).
    ///
    /// # Panics
    /// If it was left out by [`GraphEdges::to_device_for`]: a model's [`crate::Gnn::views`]
    /// names what it reads, so this is a bug in a layer's `VIEWS`.
    pub fn merged(&self) -> &EdgeIndex {
        self.merged
            .as_ref()
            .expect("the homogeneous view was not uploaded: the layer's VIEWS must name it")
    }

    /// Each relation (for relation-aware layers).
    ///
    /// # Panics
    /// As [`GraphTensors::merged`], if the relations were left out.
    pub fn relations(&self) -> &[RelationTensors] {
        self.relations
            .as_deref()
            .expect("the relations were not uploaded: the layer's VIEWS must name them")
    }

    /// The rows of `x` (one per node) that are this graph's outputs: `x` itself unless it was
    /// uploaded for some rows only.
    ///
    /// # Shapes
    /// - `x`: `[num_nodes, d]` → `[rows, d]`
    pub fn dst_rows(&self, x: Tensor<2>) -> Tensor<2> {
        match &self.rows {
            Some(rows) => x.select(0, rows.clone()),
            None => x,
        }
    }
}
