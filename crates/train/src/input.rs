//! What a model reads from a [`HeteroGraph`]: edges in one index space, a feature matrix and a
//! label per node, plus the names a checkpoint records to check the next graph against.

use crate::split::{Split, node_labels, stratified_split};
use ringscope_features::{FeatureMatrix, FeatureOptions, Fixed, node_features_fixed};
use ringscope_gnn::graph::GraphEdges;
use ringscope_graph::HeteroGraph;

/// A graph laid out for a model.
#[derive(Clone, Debug)]
pub struct ModelInput {
    /// The edges (with reverses for multi-kind graphs).
    pub edges: GraphEdges,
    /// Raw (unnormalised) features, one row per node.
    pub features: FeatureMatrix,
    /// The feature families computed.
    pub options: FeatureOptions,
    /// Per node: 1 fraud, 0 benign, -1 unlabelled or a kind without labels.
    pub labels: Vec<i8>,
    /// Where each node set's rows are.
    pub space: ringscope_graph::IndexSpace,
    /// Whether reverse relations were added.
    pub add_reverse: bool,
}

impl ModelInput {
    /// Lays out `graph`. Graphs with several node kinds (the marketplace) get reverse
    /// relations, so a product hears from its reviewers as well as the other way round; a
    /// single-kind benchmark graph is used as stored.
    pub fn new(graph: &HeteroGraph, options: FeatureOptions) -> Self {
        Self::with_reverse(graph, options, graph.node_sets().len() > 1)
    }

    /// Lays out `graph`, adding reverse relations or not as told: a directed single-kind graph
    /// such as a rating network needs them so raters also hear from whom they rated.
    pub fn with_reverse(graph: &HeteroGraph, options: FeatureOptions, add_reverse: bool) -> Self {
        Self::with_fixed(graph, options, add_reverse, None)
    }

    /// [`ModelInput::with_reverse`], with what features read beyond a node's own edges taken
    /// from `fixed` (a shard of a bigger graph).
    pub fn with_fixed(
        graph: &HeteroGraph,
        options: FeatureOptions,
        add_reverse: bool,
        fixed: Option<&Fixed>,
    ) -> Self {
        ModelInput {
            edges: GraphEdges::new(graph, add_reverse),
            features: node_features_fixed(graph, options, fixed),
            options,
            labels: node_labels(graph),
            space: graph.index_space(),
            add_reverse,
        }
    }

    /// Labelled nodes split at random into train/validation/test by the given fractions
    /// (the rest is test), stratified by class so the rare class appears in every part.
    pub fn stratified_split(&self, train: f64, val: f64, seed: u64) -> Split {
        stratified_split(&self.labels, train, val, seed)
    }
}
