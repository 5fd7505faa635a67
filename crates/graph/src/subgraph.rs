//! A capped k-hop neighbourhood of some nodes, as a graph of its own with the same node kinds,
//! relations and attributes, to which new nodes and edges can be added: what online scoring runs
//! the model on.

use crate::error::Result;
use crate::hetero::{AttrValues, HeteroGraph, NodeSet, Relation, TextValues};
use ringscope_ingest::Interner;
use std::collections::{HashMap, HashSet};

/// Collects nodes and edges of `graph`, plus new ones, into a subgraph.
pub struct SubgraphBuilder<'g> {
    graph: &'g HeteroGraph,
    /// Per node kind: the IDs of the subgraph's nodes, existing ones first as picked.
    ids: Vec<Vec<String>>,
    /// Per node kind: the graph's local index of each subgraph node (`None` for new nodes).
    origin: Vec<Vec<Option<u32>>>,
    /// Per node kind: graph local index → subgraph local index.
    picked: Vec<HashMap<u32, u32>>,
    /// Per node kind: new node ID → subgraph local index.
    added: Vec<HashMap<String, u32>>,
    /// Per relation: edges as (src, dst, weight, time) in subgraph local indices.
    edges: Vec<Vec<(u32, u32, f32, i64)>>,
    /// Per relation: graph edge indices already taken.
    taken: Vec<HashSet<u32>>,
    /// Integer attributes set on subgraph nodes: `(kind, node, name) → value`.
    int_attrs: HashMap<(usize, u32, String), i64>,
}

/// What [`SubgraphBuilder::own_edges`] added.
#[derive(Debug, Clone, PartialEq)]
pub struct OwnEdges {
    /// Nodes that joined the subgraph through them, `(kind, graph local index)`.
    pub joined: Vec<(usize, u32)>,
    /// The node's edges now in the subgraph.
    pub kept: usize,
    /// The node's edges in the graph.
    pub total: usize,
}

/// A built subgraph and where its nodes came from.
pub struct Subgraph {
    /// The subgraph.
    pub graph: HeteroGraph,
    /// Per subgraph node (global index): its global index in the source graph, `None` if new.
    pub origin: Vec<Option<u32>>,
}

impl<'g> SubgraphBuilder<'g> {
    /// An empty subgraph of `graph`.
    pub fn new(graph: &'g HeteroGraph) -> Self {
        let kinds = graph.node_sets().len();
        let relations = graph.relations().len();
        SubgraphBuilder {
            graph,
            ids: vec![Vec::new(); kinds],
            origin: vec![Vec::new(); kinds],
            picked: vec![HashMap::new(); kinds],
            added: vec![HashMap::new(); kinds],
            edges: vec![Vec::new(); relations],
            taken: vec![HashSet::new(); relations],
            int_attrs: HashMap::new(),
        }
    }

    /// The subgraph node for the graph's node `local` of `kind`, added if needed.
    pub fn existing(&mut self, kind: usize, local: u32) -> u32 {
        if let Some(&i) = self.picked[kind].get(&local) {
            return i;
        }
        let i = self.ids[kind].len() as u32;
        self.ids[kind].push(self.graph.node_sets()[kind].ids.resolve(local).to_string());
        self.origin[kind].push(Some(local));
        self.picked[kind].insert(local, i);
        i
    }

    /// The subgraph node with ID `id` of `kind`: the graph's node if it has one, else a new one.
    pub fn node(&mut self, kind: usize, id: &str) -> u32 {
        if let Some(local) = self.graph.node_sets()[kind].ids.get(id) {
            return self.existing(kind, local);
        }
        if let Some(&i) = self.added[kind].get(id) {
            return i;
        }
        let i = self.ids[kind].len() as u32;
        self.ids[kind].push(id.to_string());
        self.origin[kind].push(None);
        self.added[kind].insert(id.to_string(), i);
        i
    }

    /// Nodes so far.
    pub fn len(&self) -> usize {
        self.ids.iter().map(Vec::len).sum()
    }

    /// Whether there are no nodes yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Sets the integer attribute `name` (such as an account's `created_at`) of a subgraph
    /// node; ignored when the kind has no such integer attribute.
    pub fn set_int_attr(&mut self, kind: usize, node: u32, name: &str, value: i64) {
        self.int_attrs.insert((kind, node, name.to_string()), value);
    }

    /// Adds a new edge of relation `rel` (index) between subgraph nodes; NaN weight and
    /// `NO_TIME` mark missing values.
    pub fn add_edge(&mut self, rel: usize, src: u32, dst: u32, weight: f32, time: i64) {
        self.edges[rel].push((src, dst, weight, time));
    }

    /// Adds the `hops`-hop neighbourhood of `seeds` (`(kind, graph local index)`), over every
    /// relation in both directions. Each node contributes at most `fanout[hop]` edges per
    /// relation and direction: its last ones in the graph's edge order (event order for a built
    /// marketplace, so the latest). No node joins once the subgraph has `max_nodes` nodes; edges
    /// between nodes already in still do.
    pub fn expand(&mut self, seeds: &[(usize, u32)], fanout: &[usize], max_nodes: usize) {
        let mut frontier: Vec<(usize, u32)> = seeds.to_vec();
        for &cap in fanout {
            let mut next = Vec::new();
            for &(kind, v) in &frontier {
                self.take_edges(kind, v, cap, max_nodes, &mut next);
            }
            frontier = next;
        }
    }

    /// Adds the edges of the graph's node `v` of `kind` over every relation in both directions,
    /// at most `cap` per relation and direction (the latest), whatever the subgraph's size.
    /// Returns the nodes that joined, to expand further, and how many of the node's edges are
    /// in the subgraph against how many it has in the graph.
    pub fn own_edges(&mut self, kind: usize, v: u32, cap: usize) -> OwnEdges {
        let mut joined = Vec::new();
        let (kept, total) = self.take_edges(kind, v, cap, usize::MAX, &mut joined);
        OwnEdges {
            joined,
            kept,
            total,
        }
    }

    /// One node's edges, at most `cap` per relation and direction; nodes that join are pushed on
    /// `joined` unless the subgraph already has `max_nodes`. Returns (edges of the node now in
    /// the subgraph, edges it has).
    fn take_edges(
        &mut self,
        kind: usize,
        v: u32,
        cap: usize,
        max_nodes: usize,
        joined: &mut Vec<(usize, u32)>,
    ) -> (usize, usize) {
        let from = self.existing(kind, v);
        let (mut kept, mut total) = (0, 0);
        for (r, rel) in self.graph.relations().iter().enumerate() {
            for outgoing in [true, false] {
                let (own, other_kind, csr) = if outgoing {
                    (rel.src_kind, rel.dst_kind, self.graph.out_csr(rel))
                } else {
                    (rel.dst_kind, rel.src_kind, self.graph.in_csr(rel))
                };
                if own != kind {
                    continue;
                }
                let range = csr.offsets[v as usize] as usize..csr.offsets[v as usize + 1] as usize;
                total += range.len();
                let start = range.end.saturating_sub(cap).max(range.start);
                for k in start..range.end {
                    let e = csr.edge_ids[k];
                    if !self.taken[r].insert(e) {
                        kept += 1; // taken earlier, so in the subgraph already
                        continue;
                    }
                    let other = csr.neighbors[k];
                    let is_new = !self.picked[other_kind].contains_key(&other);
                    if is_new && self.len() >= max_nodes {
                        self.taken[r].remove(&e);
                        continue;
                    }
                    let to = self.existing(other_kind, other);
                    if is_new {
                        joined.push((other_kind, other));
                    }
                    let (src, dst) = if outgoing { (from, to) } else { (to, from) };
                    let weight = rel.weight.as_ref().map_or(f32::NAN, |w| w[e as usize]);
                    let time = rel.time.as_ref().map_or(crate::NO_TIME, |t| t[e as usize]);
                    self.edges[r].push((src, dst, weight, time));
                    kept += 1;
                }
            }
        }
        (kept, total)
    }

    /// The subgraph: every node kind and relation of the source graph, in the same order, with
    /// the picked nodes' labels and attributes (missing for new nodes).
    pub fn build(self) -> Result<Subgraph> {
        let sets = self.graph.node_sets();
        let space = self.graph.index_space();
        let mut node_sets = Vec::with_capacity(sets.len());
        let mut origin = Vec::new();
        for (k, set) in sets.iter().enumerate() {
            let mut ids = Interner::new();
            for id in &self.ids[k] {
                ids.intern(id).expect("fewer than u32::MAX nodes");
            }
            let from = &self.origin[k];
            let mut sub = NodeSet::new(set.kind.clone(), ids);
            sub.labels = set.labels.as_ref().map(|y| {
                from.iter()
                    .map(|o| o.map_or(-1, |v| y[v as usize]))
                    .collect()
            });
            sub.features = set.features.as_ref().map(|f| {
                let d = f.names.len();
                let mut values = Vec::with_capacity(from.len() * d);
                for o in from {
                    match o {
                        Some(v) => values.extend_from_slice(&f.values[*v as usize * d..][..d]),
                        None => values.extend(std::iter::repeat_n(0.0, d)),
                    }
                }
                crate::hetero::Features {
                    names: f.names.clone(),
                    values,
                }
            });
            sub.attrs = set
                .attrs
                .iter()
                .map(|(name, values)| {
                    let picked = match values {
                        AttrValues::Int(v) => AttrValues::Int(
                            from.iter()
                                .enumerate()
                                .map(|(node, o)| {
                                    self.int_attrs
                                        .get(&(k, node as u32, name.clone()))
                                        .copied()
                                        .or_else(|| o.and_then(|i| v[i as usize]))
                                })
                                .collect(),
                        ),
                        AttrValues::Float(v) => AttrValues::Float(
                            from.iter().map(|o| o.and_then(|i| v[i as usize])).collect(),
                        ),
                        AttrValues::Text(v) => AttrValues::Text(TextValues::encode(
                            from.iter().map(|o| o.and_then(|i| v.get(i as usize))),
                        )),
                    };
                    (name.clone(), picked)
                })
                .collect();
            origin.extend(from.iter().map(|o| o.map(|v| space.global_of(k, v) as u32)));
            node_sets.push(sub);
        }
        let sizes: Vec<usize> = self.ids.iter().map(Vec::len).collect();
        let mut relations = Vec::with_capacity(self.edges.len());
        for (rel, mut edges) in self.graph.relations().iter().zip(self.edges) {
            // Deterministic, whatever order the expansion met the edges in.
            edges.sort_by_key(|&(s, d, _, t)| (t, s, d));
            relations.push(Relation::new(
                rel.name.clone(),
                (rel.src_kind, sizes[rel.src_kind]),
                (rel.dst_kind, sizes[rel.dst_kind]),
                edges.iter().map(|e| e.0).collect(),
                edges.iter().map(|e| e.1).collect(),
                rel.weight
                    .as_ref()
                    .map(|_| edges.iter().map(|e| e.2).collect()),
                rel.time
                    .as_ref()
                    .map(|_| edges.iter().map(|e| e.3).collect()),
            )?);
        }
        Ok(Subgraph {
            graph: HeteroGraph::new(
                format!("{}-subgraph", self.graph.name),
                node_sets,
                relations,
            )?,
            origin,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NO_TIME;

    fn ids(names: &[&str]) -> Interner {
        let mut i = Interner::new();
        for n in names {
            i.intern(n).unwrap();
        }
        i
    }

    /// Accounts a0..a3 review products p0..p1: a0→p0, a1→p0, a2→p0, a3→p1 (times 10..40).
    fn graph() -> HeteroGraph {
        let mut accounts = NodeSet::new("account", ids(&["a0", "a1", "a2", "a3"]));
        accounts.labels = Some(vec![1, 0, -1, 0]);
        accounts.attrs = vec![(
            "created_at".into(),
            AttrValues::Int(vec![Some(1), Some(2), None, Some(4)]),
        )];
        let products = NodeSet::new("product", ids(&["p0", "p1"]));
        let reviewed = Relation::new(
            "reviewed",
            (0, 4),
            (1, 2),
            vec![0, 1, 2, 3],
            vec![0, 0, 0, 1],
            Some(vec![5.0, 4.0, 3.0, 1.0]),
            Some(vec![10, 20, 30, 40]),
        )
        .unwrap();
        HeteroGraph::new("g", vec![accounts, products], vec![reviewed]).unwrap()
    }

    #[test]
    fn own_edges_are_all_taken_whatever_the_node_cap_and_counted() {
        let g = graph();
        let mut b = SubgraphBuilder::new(&g);
        // p0's three reviewers join though a cap of 2 nodes would stop expand at one.
        let own = b.own_edges(1, 0, 10);
        assert_eq!((own.kept, own.total), (3, 3));
        assert_eq!(own.joined, vec![(0, 0), (0, 1), (0, 2)]);
        b.expand(&own.joined, &[5], 2);
        assert_eq!(
            b.len(),
            4,
            "p0 and its reviewers; a3 (via p1) is beyond max_nodes"
        );
        // A per-relation cap of 2 keeps the latest two and says one is left out.
        let mut b = SubgraphBuilder::new(&g);
        let own = b.own_edges(1, 0, 2);
        assert_eq!((own.kept, own.total), (2, 3));
        assert_eq!(own.joined, vec![(0, 1), (0, 2)]);
    }

    #[test]
    fn expansion_follows_both_directions_with_the_latest_edges_first() {
        let g = graph();
        let mut b = SubgraphBuilder::new(&g);
        // a0 → p0 (hop 1), then p0's reviewers, the latest 2 only: a1 (t=20) and a2 (t=30).
        b.expand(&[(0, 0)], &[5, 2], usize::MAX);
        let sub = b.build().unwrap();
        let accounts = &sub.graph.node_sets()[0];
        let names: Vec<&str> = (0..accounts.len() as u32)
            .map(|i| accounts.ids.resolve(i))
            .collect();
        assert_eq!(names, ["a0", "a1", "a2"]);
        assert_eq!(accounts.labels.as_deref(), Some(&[1, 0, -1][..]));
        assert_eq!(
            accounts.attr("created_at"),
            Some(&AttrValues::Int(vec![Some(1), Some(2), None]))
        );
        let r = &sub.graph.relations()[0];
        assert_eq!(
            r.time.as_deref(),
            Some(&[10, 20, 30][..]),
            "the three reviews of p0"
        );
        assert_eq!(r.weight.as_deref(), Some(&[5.0, 4.0, 3.0][..]));
        // Global indices map back: products come after the source graph's 4 accounts.
        assert_eq!(sub.origin, vec![Some(0), Some(1), Some(2), Some(4)]);

        // With room for 3 nodes, a2 stays out, and so does its review.
        let mut b = SubgraphBuilder::new(&g);
        b.expand(&[(0, 0)], &[5, 2], 3);
        let sub = b.build().unwrap();
        assert_eq!(sub.graph.num_nodes(), 3);
        assert_eq!(
            sub.graph.relations()[0].time.as_deref(),
            Some(&[10, 20][..])
        );
    }

    #[test]
    fn new_nodes_and_edges_join_with_their_attributes() {
        let g = graph();
        let mut b = SubgraphBuilder::new(&g);
        let new = b.node(0, "fresh");
        let p1 = b.node(1, "p1");
        let p9 = b.node(1, "p9");
        b.set_int_attr(0, new, "created_at", 99);
        b.add_edge(0, new, p1, 5.0, NO_TIME);
        b.add_edge(0, new, p9, f32::NAN, 50);
        let sub = b.build().unwrap();
        let accounts = &sub.graph.node_sets()[0];
        assert_eq!(accounts.ids.get("fresh"), Some(0));
        assert_eq!(
            accounts.attr("created_at"),
            Some(&AttrValues::Int(vec![Some(99)]))
        );
        assert_eq!(accounts.labels.as_deref(), Some(&[-1][..]));
        assert_eq!(sub.origin, vec![None, Some(5), None]);
        assert_eq!(sub.graph.relations()[0].len(), 2);
    }
}
