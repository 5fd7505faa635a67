//! What a model reads from a [`HeteroGraph`]: edges in one index space, a feature matrix and a
//! label per node, plus the names a checkpoint records to check the next graph against.

use crate::graph::GraphEdges;
use crate::train::Split;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use ringscope_features::{FeatureMatrix, FeatureOptions, node_features};
use ringscope_graph::HeteroGraph;

/// A graph laid out for a model.
#[derive(Clone, Debug)]
pub struct ModelInput {
    /// The edges (with reverses for multi-kind graphs).
    pub edges: GraphEdges,
    /// Raw (unnormalised) features, one row per node.
    pub features: FeatureMatrix,
    /// Per node: 1 fraud, 0 benign, -1 unlabelled or a kind without labels.
    pub labels: Vec<i8>,
    /// First global index of each node set, in graph order.
    pub offsets: Vec<usize>,
    /// Whether reverse relations were added.
    pub add_reverse: bool,
}

impl ModelInput {
    /// Lays out `graph`. Graphs with several node kinds (the marketplace) get reverse
    /// relations, so a product hears from its reviewers as well as the other way round; a
    /// single-kind benchmark graph is used as stored.
    pub fn new(graph: &HeteroGraph, options: FeatureOptions) -> Self {
        let add_reverse = graph.node_sets().len() > 1;
        let mut labels = Vec::with_capacity(graph.num_nodes());
        for set in graph.node_sets() {
            match &set.labels {
                Some(l) => labels.extend_from_slice(l),
                None => labels.resize(labels.len() + set.len(), -1),
            }
        }
        ModelInput {
            edges: GraphEdges::new(graph, add_reverse),
            features: node_features(graph, options),
            labels,
            offsets: graph.node_offsets(),
            add_reverse,
        }
    }

    /// Labelled nodes split at random into train/validation/test by the given fractions
    /// (the rest is test), stratified by class so the rare class appears in every part.
    pub fn stratified_split(&self, train: f64, val: f64, seed: u64) -> Split {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut split = Split::default();
        for class in [0i8, 1] {
            let mut nodes: Vec<u32> = (0..self.labels.len() as u32)
                .filter(|&i| self.labels[i as usize] == class)
                .collect();
            nodes.shuffle(&mut rng);
            let n_train = (nodes.len() as f64 * train).round() as usize;
            let n_val = (nodes.len() as f64 * val).round() as usize;
            split.train.extend_from_slice(&nodes[..n_train]);
            split
                .val
                .extend_from_slice(&nodes[n_train..(n_train + n_val).min(nodes.len())]);
            split
                .test
                .extend_from_slice(&nodes[(n_train + n_val).min(nodes.len())..]);
        }
        for part in [&mut split.train, &mut split.val, &mut split.test] {
            part.sort_unstable();
        }
        split
    }
}
