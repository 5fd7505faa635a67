//! Mini-batches for graphs too big to train on whole: seed batches (shuffled, or balanced
//! between classes) and per-relation neighbour sampling, as PyG's `NeighborLoader`.
//!
//! A sampled batch is a small graph in its own index space that starts with the seeds. Each hop samples up to `fanout` incoming neighbours per node and relation, without
//! replacement; every model runs on it unchanged, and the loss reads the seed rows only.

use rand::Rng;
use rand::seq::{IndexedRandom, SliceRandom};
use ringscope_gnn::graph::{GraphEdges, RelationEdges};
use rustc_hash::FxHashMap;

/// Incoming neighbours of every node in one relation, compressed by destination.
#[derive(Clone, Debug)]
struct InAdjacency {
    offsets: Vec<u32>,
    sources: Vec<u32>,
}

impl InAdjacency {
    fn new(num_nodes: usize, edges: &RelationEdges) -> Self {
        let mut offsets = vec![0u32; num_nodes + 1];
        edges.dst.iter().for_each(|&d| offsets[d as usize + 1] += 1);
        for i in 0..num_nodes {
            offsets[i + 1] += offsets[i];
        }
        let mut next = offsets.clone();
        let mut sources = vec![0u32; edges.src.len()];
        for (&s, &d) in edges.src.iter().zip(&edges.dst) {
            sources[next[d as usize] as usize] = s;
            next[d as usize] += 1;
        }
        InAdjacency { offsets, sources }
    }

    fn neighbours(&self, v: u32) -> &[u32] {
        &self.sources[self.offsets[v as usize] as usize..self.offsets[v as usize + 1] as usize]
    }
}

/// A sampled batch.
#[derive(Clone, Debug, PartialEq)]
pub struct Subgraph {
    /// Global index of each local node, the seeds first; each node appears once.
    pub nodes: Vec<u32>,
    /// Local index of each seed, in the order given (a seed drawn twice appears twice).
    pub seeds: Vec<u32>,
    /// Sampled edges in local indices, one entry per relation of the full graph.
    pub edges: GraphEdges,
}

/// Samples neighbourhoods of seed batches.
#[derive(Clone, Debug)]
pub struct NeighborSampler {
    /// Relation names and adjacency; a graph with only a homogeneous view has one, `homo`.
    relations: Vec<(String, InAdjacency)>,
    /// Neighbours per node, relation and hop, outermost hop first.
    fanouts: Vec<usize>,
    /// Whether the relations are the graph's own (true) or its homogeneous view.
    relation_aware: bool,
}

impl NeighborSampler {
    /// A sampler over `edges` with one fan-out per layer (`[15, 10]`: 15 neighbours of each
    /// seed per relation, then 10 of each of those).
    pub fn new(edges: &GraphEdges, fanouts: Vec<usize>) -> Self {
        let n = edges.num_nodes;
        let relation_aware = !edges.relations.is_empty();
        let relations = if relation_aware {
            edges
                .relations
                .iter()
                .map(|r| (r.name.clone(), InAdjacency::new(n, r)))
                .collect()
        } else {
            let homo = edges.homogeneous.clone().unwrap_or_default();
            vec![(homo.name.clone(), InAdjacency::new(n, &homo))]
        };
        NeighborSampler {
            relations,
            fanouts,
            relation_aware,
        }
    }

    /// Samples the neighbourhood of `seeds` (global node indices).
    pub fn sample(&self, seeds: &[u32], rng: &mut impl Rng) -> Subgraph {
        let mut local: FxHashMap<u32, u32> = FxHashMap::default();
        let mut nodes: Vec<u32> = Vec::with_capacity(seeds.len() * 4);
        let seed_rows: Vec<u32> = seeds
            .iter()
            .map(|&s| {
                *local.entry(s).or_insert_with(|| {
                    nodes.push(s);
                    (nodes.len() - 1) as u32
                })
            })
            .collect();
        let mut sampled: Vec<RelationEdges> = self
            .relations
            .iter()
            .map(|(name, _)| RelationEdges {
                name: name.clone(),
                ..Default::default()
            })
            .collect();
        let mut frontier: Vec<u32> = (0..nodes.len() as u32).collect();
        let mut picks: Vec<u32> = Vec::new();
        for &fanout in &self.fanouts {
            let mut next = Vec::new();
            for &dst_local in &frontier {
                let dst = nodes[dst_local as usize];
                for ((_, adjacency), out) in self.relations.iter().zip(sampled.iter_mut()) {
                    let neighbours = adjacency.neighbours(dst);
                    picks.clear();
                    if neighbours.len() <= fanout {
                        picks.extend_from_slice(neighbours);
                    } else {
                        picks.extend(neighbours.choose_multiple(rng, fanout).copied());
                    }
                    for &src in &picks {
                        let src_local = *local.entry(src).or_insert_with(|| {
                            nodes.push(src);
                            next.push((nodes.len() - 1) as u32);
                            (nodes.len() - 1) as u32
                        });
                        out.src.push(src_local);
                        out.dst.push(dst_local);
                    }
                }
            }
            frontier = next;
        }
        let edges = if self.relation_aware {
            GraphEdges {
                num_nodes: nodes.len(),
                relations: sampled,
                homogeneous: None,
            }
        } else {
            GraphEdges {
                num_nodes: nodes.len(),
                relations: Vec::new(),
                homogeneous: sampled.pop(),
            }
        };
        Subgraph {
            nodes,
            seeds: seed_rows,
            edges,
        }
    }
}

/// Splits `train` into seed batches for one epoch.
///
/// Shuffled: every training node once. Balanced: as many draws as there are training nodes,
/// with replacement, each class drawn equally often in expectation, so a 1 % fraud class fills
/// half of each batch.
pub fn seed_batches(
    train: &[u32],
    labels: &[i8],
    batch_size: usize,
    balanced: bool,
    rng: &mut impl Rng,
) -> Vec<Vec<u32>> {
    let order: Vec<u32> = if balanced {
        let (pos, neg): (Vec<u32>, Vec<u32>) =
            train.iter().partition(|&&v| labels[v as usize] == 1);
        if pos.is_empty() || neg.is_empty() {
            return seed_batches(train, labels, batch_size, false, rng);
        }
        (0..train.len())
            .map(|_| {
                if rng.random_bool(0.5) {
                    pos[rng.random_range(0..pos.len())]
                } else {
                    neg[rng.random_range(0..neg.len())]
                }
            })
            .collect()
    } else {
        let mut order = train.to_vec();
        order.shuffle(rng);
        order
    };
    order
        .chunks(batch_size.max(1))
        .map(<[u32]>::to_vec)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    /// A star: nodes 1..=20 point at node 0; node 21 points at node 1.
    fn star() -> GraphEdges {
        let mut src: Vec<u32> = (1..=20).collect();
        let mut dst = vec![0u32; 20];
        src.push(21);
        dst.push(1);
        GraphEdges {
            num_nodes: 22,
            relations: vec![RelationEdges {
                name: "r".into(),
                src,
                dst,
            }],
            homogeneous: None,
        }
    }

    #[test]
    fn fanout_caps_neighbours_per_hop_and_edges_are_real() {
        let g = star();
        let sampler = NeighborSampler::new(&g, vec![5, 3]);
        let sub = sampler.sample(&[0], &mut ChaCha8Rng::seed_from_u64(1));
        assert_eq!(sub.nodes[0], 0);
        assert_eq!(sub.seeds, vec![0]);
        let r = &sub.edges.relations[0];
        let into_seed = r.dst.iter().filter(|&&d| d == 0).count();
        assert_eq!(into_seed, 5, "first hop takes exactly the fan-out");
        let originals: std::collections::HashSet<(u32, u32)> = g.relations[0]
            .src
            .iter()
            .copied()
            .zip(g.relations[0].dst.iter().copied())
            .collect();
        for (&s, &d) in r.src.iter().zip(&r.dst) {
            assert!(
                originals.contains(&(sub.nodes[s as usize], sub.nodes[d as usize])),
                "sampled edge not in graph"
            );
        }
        let distinct: std::collections::HashSet<_> = sub.nodes.iter().collect();
        assert_eq!(distinct.len(), sub.nodes.len(), "each node appears once");
    }

    #[test]
    fn small_neighbourhoods_are_taken_whole_and_sampling_is_seeded() {
        let g = star();
        let sampler = NeighborSampler::new(&g, vec![50, 50]);
        let sub = sampler.sample(&[0], &mut ChaCha8Rng::seed_from_u64(7));
        assert_eq!(sub.nodes.len(), 22, "two hops reach every node");
        assert_eq!(sub.edges.relations[0].src.len(), 21);
        let a =
            NeighborSampler::new(&g, vec![4, 4]).sample(&[0], &mut ChaCha8Rng::seed_from_u64(3));
        let b =
            NeighborSampler::new(&g, vec![4, 4]).sample(&[0], &mut ChaCha8Rng::seed_from_u64(3));
        assert_eq!(a, b);
    }

    #[test]
    fn balanced_batches_draw_the_rare_class_about_half_the_time() {
        let train: Vec<u32> = (0..1000).collect();
        let labels: Vec<i8> = (0..1000).map(|i| i8::from(i < 20)).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let batches = seed_batches(&train, &labels, 100, true, &mut rng);
        let drawn: Vec<u32> = batches.iter().flatten().copied().collect();
        assert_eq!(drawn.len(), 1000);
        let positives = drawn.iter().filter(|&&v| labels[v as usize] == 1).count();
        assert!(
            (430..=570).contains(&positives),
            "{positives} of 1000 draws are positive"
        );
        let sub = NeighborSampler::new(&star(), vec![2]).sample(&[3, 0, 3], &mut rng);
        assert_eq!(sub.seeds, vec![0, 1, 0], "a repeated seed maps to one node");
        assert_eq!(&sub.nodes[..2], &[3, 0]);
        let plain = seed_batches(&train, &labels, 100, false, &mut rng);
        let mut all: Vec<u32> = plain.into_iter().flatten().collect();
        all.sort_unstable();
        assert_eq!(
            all, train,
            "shuffled batches cover every training node once"
        );
    }
}
