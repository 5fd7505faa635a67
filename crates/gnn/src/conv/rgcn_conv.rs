//! Relation-aware convolution, R-GCN (Schlichtkrull et al., ESWC 2018) in its HeteroSAGE form:
//! `x'_i = W_0 · x_i + Σ_r W_r · aggr_{j ∈ N_r(i)} x_j`, one weight per relation (reverse
//! relations included), as PyG's `HeteroConv({r: SAGEConv}, aggr="sum")`.
//!
//! On the marketplace graph this keeps "shares a device with" apart from "reviewed the same
//! product as", which a homogeneous layer mixes into one average.

use crate::dense::linear;
use crate::graph::RelationTensors;
use crate::mp::Aggregation;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::IndexingUpdateOp;

/// Configuration of [`RgcnConv`].
#[derive(Config, Debug)]
pub struct RgcnConvConfig {
    /// Input feature size.
    pub d_input: usize,
    /// Output feature size.
    pub d_output: usize,
    /// Number of relations, reverse relations included.
    pub relations: usize,
    /// How each relation's neighbour features are combined.
    #[config(default = "Aggregation::Mean")]
    pub aggregation: Aggregation,
}

/// A relation-aware graph convolution.
#[derive(Module, Debug)]
pub struct RgcnConv {
    lin_root: Linear,
    lin_relations: Vec<Linear>,
    #[module(skip)]
    aggregation: Aggregation,
}

impl RgcnConvConfig {
    /// Creates the layer: a root weight with bias, and one bias-free weight per relation.
    pub fn init(&self, device: &Device) -> RgcnConv {
        let lin = || LinearConfig::new(self.d_input, self.d_output);
        RgcnConv {
            lin_root: lin().init(device),
            lin_relations: (0..self.relations)
                .map(|_| lin().with_bias(false).init(device))
                .collect(),
            aggregation: self.aggregation,
        }
    }
}

impl RgcnConv {
    /// # Shapes
    /// - `x`: `[num_nodes, d_input]`, `x_dst`: `[num_dst, d_input]` (the output rows of `x`)
    ///   → `[num_dst, d_output]`; `relations` holds one relation per relation weight, in the
    ///   order the layer was built with, its targets rows of the output.
    pub fn forward(
        &self,
        x: Tensor<2>,
        x_dst: Tensor<2>,
        relations: &[RelationTensors],
    ) -> Tensor<2> {
        assert_eq!(
            relations.len(),
            self.lin_relations.len(),
            "one relation per relation weight"
        );
        let mut out = linear(&self.lin_root, x_dst);
        for (lin, r) in self.lin_relations.iter().zip(relations) {
            if r.edges.num_edges() == 0 {
                continue; // an empty relation contributes nothing, and empty selects are avoided
            }
            let reached = linear(lin, r.edges.aggregate(x.clone(), self.aggregation));
            out = out.select_assign(0, r.targets.clone(), reached, IndexingUpdateOp::Add);
        }
        out
    }
}

impl crate::conv::GraphConv for RgcnConv {
    const NAME: &'static str = "rgcn";
    const ROWS_FROM_OWN_EDGES: bool = true;

    const VIEWS: crate::graph::Views = crate::graph::Views::RELATIONS;

    fn from_spec(spec: &crate::conv::LayerSpec, device: &Device) -> Self {
        RgcnConvConfig::new(spec.d_input, spec.d_output, spec.relations)
            .with_aggregation(spec.aggregation)
            .init(device)
    }

    fn forward_graph(&self, x: Tensor<2>, graph: &crate::graph::GraphTensors) -> Tensor<2> {
        self.forward(x.clone(), graph.dst_rows(x), graph.relations())
    }
}
