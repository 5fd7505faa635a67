//! The heterogeneous graph: typed node sets and per-relation columnar edge lists with CSR.

use crate::error::{GraphError, Result};
use ringscope_ingest::{Interner, NO_ID};
use std::sync::OnceLock;

/// Marks an absent edge time (same sentinel as ingest).
pub const NO_TIME: i64 = ringscope_ingest::NO_TIME;

/// Per-node values of one named attribute; `None` is a missing value.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrValues {
    /// Integers (timestamps in unix seconds).
    Int(Vec<Option<i64>>),
    /// Reals.
    Float(Vec<Option<f32>>),
    /// Text, dictionary-encoded: most attributes (country, kind, ring) repeat a few values.
    Text(TextValues),
}

/// Dictionary-encoded text values: node `i` has `dict.resolve(codes[i])`, or none for [`NO_ID`].
#[derive(Clone, Debug, Default)]
pub struct TextValues {
    /// The distinct values.
    pub dict: Interner,
    /// Per node: index into `dict`, or [`NO_ID`].
    pub codes: Vec<u32>,
}

impl TextValues {
    /// Encodes `values`.
    pub fn encode<'a>(values: impl IntoIterator<Item = Option<&'a str>>) -> Self {
        let mut t = TextValues::default();
        for v in values {
            let code = v.map_or(NO_ID, |v| {
                t.dict
                    .intern(v)
                    .expect("fewer than u32::MAX distinct values")
            });
            t.codes.push(code);
        }
        t
    }

    /// The value of node `i`.
    pub fn get(&self, i: usize) -> Option<&str> {
        match self.codes[i] {
            NO_ID => None,
            code => Some(self.dict.resolve(code)),
        }
    }

    /// Values in node order.
    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        (0..self.codes.len()).map(|i| self.get(i))
    }
}

impl PartialEq for TextValues {
    /// Same value per node, whatever the dictionary order.
    fn eq(&self, other: &Self) -> bool {
        self.codes.len() == other.codes.len() && self.iter().eq(other.iter())
    }
}

impl AttrValues {
    fn len(&self) -> usize {
        match self {
            AttrValues::Int(v) => v.len(),
            AttrValues::Float(v) => v.len(),
            AttrValues::Text(v) => v.codes.len(),
        }
    }

    fn heap_bytes(&self) -> usize {
        match self {
            AttrValues::Int(v) => v.capacity() * 16,
            AttrValues::Float(v) => v.capacity() * 8,
            AttrValues::Text(v) => v.codes.capacity() * 4 + v.dict.heap_bytes(),
        }
    }
}

/// A dense row-major feature matrix, `num_nodes × names.len()`.
#[derive(Clone, Debug, PartialEq)]
pub struct Features {
    /// Column names.
    pub names: Vec<String>,
    /// Row-major values.
    pub values: Vec<f32>,
}

/// All nodes of one kind.
#[derive(Clone, Debug, PartialEq)]
pub struct NodeSet {
    /// Kind name (`account`, or `node` for homogeneous benchmark graphs).
    pub kind: String,
    /// External IDs; node `i` has ID `ids.resolve(i)`.
    pub ids: Interner,
    /// Per node: 1 fraud, 0 benign, -1 unlabelled. `None` when the kind carries no labels.
    pub labels: Option<Vec<i8>>,
    /// Input features, if the source has them.
    pub features: Option<Features>,
    /// Named attributes (account creation time, product price, label ring id, ...).
    pub attrs: Vec<(String, AttrValues)>,
}

impl NodeSet {
    /// A node set with IDs only.
    pub fn new(kind: impl Into<String>, ids: Interner) -> Self {
        NodeSet {
            kind: kind.into(),
            ids,
            labels: None,
            features: None,
            attrs: Vec::new(),
        }
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no nodes.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The attribute called `name`.
    pub fn attr(&self, name: &str) -> Option<&AttrValues> {
        self.attrs.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    fn heap_bytes(&self) -> usize {
        self.ids.heap_bytes()
            + self.labels.as_ref().map_or(0, Vec::capacity)
            + self
                .features
                .as_ref()
                .map_or(0, |f| f.values.capacity() * 4)
            + self
                .attrs
                .iter()
                .map(|(_, v)| v.heap_bytes())
                .sum::<usize>()
    }
}

/// Compressed sparse rows over one relation, grouped by one endpoint.
#[derive(Clone, Debug, PartialEq)]
pub struct Csr {
    /// `offsets[v]..offsets[v + 1]` indexes `neighbors` and `edge_ids` for node `v`.
    pub offsets: Vec<u32>,
    /// The other endpoint of each edge.
    pub neighbors: Vec<u32>,
    /// The edge's index in the relation's `src`/`dst`/`weight`/`time` columns.
    pub edge_ids: Vec<u32>,
}

impl Csr {
    /// Groups edges `keys[e] → others[e]` by key with a stable counting sort (O(E + N)),
    /// so each node's neighbours keep edge order.
    pub fn build(num_keys: usize, keys: &[u32], others: &[u32]) -> Csr {
        // Relation::new caps a relation at u32::MAX edges, so u32 offsets cannot overflow.
        let mut offsets = vec![0u32; num_keys + 1];
        for &k in keys {
            offsets[k as usize + 1] += 1;
        }
        for i in 0..num_keys {
            offsets[i + 1] += offsets[i];
        }
        let mut cursor = offsets[..num_keys].to_vec();
        let mut neighbors = vec![0u32; keys.len()];
        let mut edge_ids = vec![0u32; keys.len()];
        for (e, (&k, &o)) in keys.iter().zip(others).enumerate() {
            let slot = &mut cursor[k as usize];
            neighbors[*slot as usize] = o;
            edge_ids[*slot as usize] = e as u32;
            *slot += 1;
        }
        Csr {
            offsets,
            neighbors,
            edge_ids,
        }
    }

    /// Positions of `v`'s edges in `neighbors` and `edge_ids`.
    pub fn range(&self, v: u32) -> std::ops::Range<usize> {
        self.offsets[v as usize] as usize..self.offsets[v as usize + 1] as usize
    }

    /// Neighbours of `v`.
    pub fn neighbors(&self, v: u32) -> &[u32] {
        &self.neighbors[self.range(v)]
    }

    /// Edge ids of `v`'s edges, aligned with [`Csr::neighbors`].
    pub fn edges(&self, v: u32) -> &[u32] {
        &self.edge_ids[self.range(v)]
    }

    /// Number of edges at `v`.
    pub fn degree(&self, v: u32) -> usize {
        self.range(v).len()
    }

    fn heap_bytes(&self) -> usize {
        self.offsets.capacity() * 4 + self.neighbors.capacity() * 4 + self.edge_ids.capacity() * 4
    }
}

/// The edges of one relation as parallel columns, plus lazily built CSR indexes.
#[derive(Debug)]
pub struct Relation {
    /// Relation name.
    pub name: String,
    /// Index of the source node set.
    pub src_kind: usize,
    /// Index of the destination node set.
    pub dst_kind: usize,
    /// Source node of each edge.
    pub src: Vec<u32>,
    /// Destination node of each edge.
    pub dst: Vec<u32>,
    /// Edge weight (rating, amount, use count); NaN marks a missing value.
    pub weight: Option<Vec<f32>>,
    /// Edge time in unix seconds, or [`NO_TIME`].
    pub time: Option<Vec<i64>>,
    out_csr: OnceLock<Csr>,
    in_csr: OnceLock<Csr>,
}

impl Clone for Relation {
    fn clone(&self) -> Self {
        Relation {
            name: self.name.clone(),
            src_kind: self.src_kind,
            dst_kind: self.dst_kind,
            src: self.src.clone(),
            dst: self.dst.clone(),
            weight: self.weight.clone(),
            time: self.time.clone(),
            out_csr: OnceLock::new(),
            in_csr: OnceLock::new(),
        }
    }
}

impl PartialEq for Relation {
    /// Equality of content; NaN weights compare equal to NaN, so a store round trip can be checked.
    fn eq(&self, other: &Self) -> bool {
        let weights_eq = match (&self.weight, &other.weight) {
            (Some(a), Some(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits())
            }
            (None, None) => true,
            _ => false,
        };
        self.name == other.name
            && self.src_kind == other.src_kind
            && self.dst_kind == other.dst_kind
            && self.src == other.src
            && self.dst == other.dst
            && self.time == other.time
            && weights_eq
    }
}

impl Relation {
    /// A relation from its columns. Endpoints are bounds-checked against the node-set sizes.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: impl Into<String>,
        (src_kind, num_src): (usize, usize),
        (dst_kind, num_dst): (usize, usize),
        src: Vec<u32>,
        dst: Vec<u32>,
        weight: Option<Vec<f32>>,
        time: Option<Vec<i64>>,
    ) -> Result<Relation> {
        let name = name.into();
        let n = src.len();
        if dst.len() != n
            || weight.as_ref().is_some_and(|w| w.len() != n)
            || time.as_ref().is_some_and(|t| t.len() != n)
        {
            return Err(GraphError::Invalid(format!(
                "relation {name}: columns differ in length"
            )));
        }
        if n > u32::MAX as usize {
            return Err(GraphError::Invalid(format!(
                "relation {name}: more than u32::MAX edges"
            )));
        }
        check_bounds(&name, "src", &src, num_src)?;
        check_bounds(&name, "dst", &dst, num_dst)?;
        Ok(Relation {
            name,
            src_kind,
            dst_kind,
            src,
            dst,
            weight,
            time,
            out_csr: OnceLock::new(),
            in_csr: OnceLock::new(),
        })
    }

    /// Number of edges.
    pub fn len(&self) -> usize {
        self.src.len()
    }

    /// Whether the relation has no edges.
    pub fn is_empty(&self) -> bool {
        self.src.is_empty()
    }

    fn heap_bytes(&self) -> usize {
        self.src.capacity() * 4
            + self.dst.capacity() * 4
            + self.weight.as_ref().map_or(0, |w| w.capacity() * 4)
            + self.time.as_ref().map_or(0, |t| t.capacity() * 8)
            + self.out_csr.get().map_or(0, Csr::heap_bytes)
            + self.in_csr.get().map_or(0, Csr::heap_bytes)
    }
}

/// Fails with [`GraphError::NodeOutOfRange`] on the first endpoint `>= limit`.
fn check_bounds(relation: &str, side: &'static str, nodes: &[u32], limit: usize) -> Result<()> {
    match nodes.iter().position(|&v| v as usize >= limit) {
        None => Ok(()),
        Some(edge) => Err(GraphError::NodeOutOfRange {
            relation: relation.to_string(),
            side,
            edge,
            node: nodes[edge],
            num_nodes: limit,
        }),
    }
}

/// A graph with typed node sets and named relations between them.
#[derive(Clone, Debug, PartialEq)]
pub struct HeteroGraph {
    /// Name (the dataset or input directory).
    pub name: String,
    node_sets: Vec<NodeSet>,
    relations: Vec<Relation>,
}

impl HeteroGraph {
    /// A graph from node sets and relations; relation endpoints must index `node_sets`.
    pub fn new(
        name: impl Into<String>,
        node_sets: Vec<NodeSet>,
        relations: Vec<Relation>,
    ) -> Result<Self> {
        for set in &node_sets {
            let n = set.len();
            let wrong = |what: &str, len: usize| {
                GraphError::Invalid(format!(
                    "node set {}: {what} has {len} values for {n} nodes",
                    set.kind
                ))
            };
            if let Some(y) = set.labels.as_ref().filter(|y| y.len() != n) {
                return Err(wrong("labels", y.len()));
            }
            if let Some(f) = set
                .features
                .as_ref()
                .filter(|f| f.values.len() != n * f.names.len())
            {
                return Err(wrong("features", f.values.len()));
            }
            if let Some((name, v)) = set.attrs.iter().find(|(_, v)| v.len() != n) {
                return Err(wrong(&format!("attribute {name}"), v.len()));
            }
        }
        for r in &relations {
            for kind in [r.src_kind, r.dst_kind] {
                if kind >= node_sets.len() {
                    return Err(GraphError::Invalid(format!(
                        "relation {} refers to node set {kind}, but there are {}",
                        r.name,
                        node_sets.len()
                    )));
                }
            }
            // Relations are public and mutable, so bounds are checked again against these sets.
            check_bounds(&r.name, "src", &r.src, node_sets[r.src_kind].len())?;
            check_bounds(&r.name, "dst", &r.dst, node_sets[r.dst_kind].len())?;
        }
        Ok(HeteroGraph {
            name: name.into(),
            node_sets,
            relations,
        })
    }

    /// All node sets.
    pub fn node_sets(&self) -> &[NodeSet] {
        &self.node_sets
    }

    /// All relations.
    pub fn relations(&self) -> &[Relation] {
        &self.relations
    }

    /// The node set called `kind`, with its index.
    pub fn node_set(&self, kind: &str) -> Option<(usize, &NodeSet)> {
        self.node_sets
            .iter()
            .enumerate()
            .find(|(_, n)| n.kind == kind)
    }

    /// The relation called `name`.
    pub fn relation(&self, name: &str) -> Option<&Relation> {
        self.relations.iter().find(|r| r.name == name)
    }

    /// Out-neighbours per source node of `rel` (built on first use, then cached).
    pub fn out_csr<'a>(&'a self, rel: &'a Relation) -> &'a Csr {
        rel.out_csr
            .get_or_init(|| Csr::build(self.node_sets[rel.src_kind].len(), &rel.src, &rel.dst))
    }

    /// In-neighbours per destination node of `rel` (built on first use, then cached).
    pub fn in_csr<'a>(&'a self, rel: &'a Relation) -> &'a Csr {
        rel.in_csr
            .get_or_init(|| Csr::build(self.node_sets[rel.dst_kind].len(), &rel.dst, &rel.src))
    }

    /// Builds the CSR index of every relation in both directions (otherwise built on first use).
    pub fn index_all(&self) {
        for r in &self.relations {
            self.out_csr(r);
            self.in_csr(r);
        }
    }

    /// Total nodes over all kinds.
    pub fn num_nodes(&self) -> usize {
        self.node_sets.iter().map(NodeSet::len).sum()
    }

    /// The global index space of the nodes (the layout of model inputs, feature matrices and
    /// score vectors).
    pub fn index_space(&self) -> crate::IndexSpace {
        crate::IndexSpace::of(self)
    }

    /// The global indices of node set `kind`.
    pub fn kind_range(&self, kind: usize) -> std::ops::Range<usize> {
        self.index_space().range(kind)
    }

    /// Total edges over all relations.
    pub fn num_edges(&self) -> usize {
        self.relations.iter().map(Relation::len).sum()
    }

    /// Heap bytes held by the graph, CSR indexes built so far included.
    pub fn heap_bytes(&self) -> usize {
        self.node_sets
            .iter()
            .map(NodeSet::heap_bytes)
            .sum::<usize>()
            + self
                .relations
                .iter()
                .map(Relation::heap_bytes)
                .sum::<usize>()
    }

    /// A copy as a petgraph directed graph, for petgraph's algorithms (BFS, components,
    /// shortest paths). Node weights say which node set and index a node is; edge weights say
    /// which relation and edge. Node `NodeIndex` order is node-set order, then index.
    pub fn to_petgraph(&self) -> petgraph::Graph<NodeRef, EdgeRef> {
        let mut g = petgraph::Graph::with_capacity(self.num_nodes(), self.num_edges());
        let mut base = Vec::with_capacity(self.node_sets.len());
        for (kind, set) in self.node_sets.iter().enumerate() {
            base.push(g.node_count());
            for index in 0..set.len() as u32 {
                g.add_node(NodeRef {
                    kind: kind as u16,
                    index,
                });
            }
        }
        for (relation, r) in self.relations.iter().enumerate() {
            for (edge, (&s, &d)) in r.src.iter().zip(&r.dst).enumerate() {
                g.add_edge(
                    petgraph::graph::NodeIndex::new(base[r.src_kind] + s as usize),
                    petgraph::graph::NodeIndex::new(base[r.dst_kind] + d as usize),
                    EdgeRef {
                        relation: relation as u16,
                        edge: edge as u32,
                    },
                );
            }
        }
        g
    }
}

/// A node of a [`HeteroGraph`] in its petgraph copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NodeRef {
    /// Node-set index.
    pub kind: u16,
    /// Index within the node set.
    pub index: u32,
}

/// An edge of a [`HeteroGraph`] in its petgraph copy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct EdgeRef {
    /// Relation index.
    pub relation: u16,
    /// Edge index within the relation.
    pub edge: u32,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(n: usize) -> Interner {
        (0..n)
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .iter()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn csr_groups_edges_by_endpoint_in_edge_order() {
        let csr = Csr::build(4, &[2, 0, 2, 1, 2], &[7, 8, 9, 10, 11]);
        assert_eq!(csr.neighbors(2), &[7, 9, 11]);
        assert_eq!(csr.edges(2), &[0, 2, 4]);
        assert_eq!(csr.neighbors(0), &[8]);
        assert_eq!(csr.degree(3), 0);
        assert_eq!(csr.offsets, vec![0u32, 1, 2, 5, 5]);
    }

    #[test]
    fn out_of_range_endpoints_are_refused() {
        let err =
            Relation::new("r", (0, 3), (1, 2), vec![0, 1], vec![1, 2], None, None).unwrap_err();
        assert!(
            matches!(
                err,
                GraphError::NodeOutOfRange {
                    side: "dst",
                    edge: 1,
                    node: 2,
                    num_nodes: 2,
                    ..
                }
            ),
            "{err}"
        );
        let sets = vec![NodeSet::new("a", ids(2))];
        let ok = Relation::new("r", (0, 2), (0, 2), vec![0, 1], vec![1, 0], None, None).unwrap();
        let mut bad = ok.clone();
        bad.src[1] = 5;
        assert!(HeteroGraph::new("g", sets.clone(), vec![ok]).is_ok());
        assert!(HeteroGraph::new("g", sets, vec![bad]).is_err());
    }

    #[test]
    fn petgraph_copy_keeps_every_edge_and_its_endpoints() {
        let sets = vec![NodeSet::new("a", ids(3)), NodeSet::new("b", ids(2))];
        let r = Relation::new(
            "ab",
            (0, 3),
            (1, 2),
            vec![0, 2, 2],
            vec![1, 0, 1],
            None,
            None,
        )
        .unwrap();
        let g = HeteroGraph::new("g", sets, vec![r]).unwrap();
        let pg = g.to_petgraph();
        assert_eq!(pg.node_count(), 5);
        assert_eq!(pg.edge_count(), 3);
        let e = pg.edge_indices().nth(1).unwrap();
        let (s, d) = pg.edge_endpoints(e).unwrap();
        assert_eq!(pg[s], NodeRef { kind: 0, index: 2 });
        assert_eq!(pg[d], NodeRef { kind: 1, index: 0 });
        assert_eq!(
            petgraph::algo::connected_components(&pg),
            2,
            "a1 is isolated, the rest is one component"
        );
    }
}
