//! GraphSAGE (Hamilton et al., NeurIPS 2017): `x'_i = W_n · aggr_{j ∈ N(i)} x_j + W_r · x_i`,
//! with mean, max or sum aggregation, as PyG's `SAGEConv`.

use crate::dense::{add_bias, linear, linear_add, project};
use crate::mp::{Aggregation, EdgeIndex};
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

/// Configuration of [`SageConv`].
#[derive(Config, Debug)]
pub struct SageConvConfig {
    /// Input feature size (of source and destination nodes).
    pub d_input: usize,
    /// Output feature size.
    pub d_output: usize,
    /// How neighbour features are combined.
    #[config(default = "Aggregation::Mean")]
    pub aggregation: Aggregation,
    /// Add a separately weighted copy of the node's own features.
    #[config(default = true)]
    pub root_weight: bool,
}

/// A GraphSAGE layer.
#[derive(Module, Debug)]
pub struct SageConv {
    lin_neigh: Linear,
    lin_root: Option<Linear>,
    #[module(skip)]
    aggregation: Aggregation,
}

impl SageConvConfig {
    /// Creates the layer.
    pub fn init(&self, device: &Device) -> SageConv {
        let lin = || LinearConfig::new(self.d_input, self.d_output);
        SageConv {
            lin_neigh: lin().init(device),
            lin_root: self
                .root_weight
                .then(|| lin().with_bias(false).init(device)),
            aggregation: self.aggregation,
        }
    }
}

impl SageConv {
    /// # Shapes
    /// - `x_src`: `[num_src, d_input]`, `x_dst`: `[num_dst, d_input]` → `[num_dst, d_output]`
    ///   (for a homogeneous graph both are the same `x`).
    pub fn forward(&self, x_src: Tensor<2>, x_dst: Tensor<2>, e: &EdgeIndex) -> Tensor<2> {
        let [_, d_input] = x_src.dims();
        let [_, d_output] = self.lin_neigh.weight.dims();
        // Mean and sum commute with the weight (a node without neighbours gets 0 either way,
        // then the bias), so they run on the narrower side: reading one row per edge is what
        // costs. Max does not commute.
        let commutes = matches!(self.aggregation, Aggregation::Mean | Aggregation::Sum);
        if commutes && d_output < d_input {
            let projected = project(&self.lin_neigh, x_src);
            let out = add_bias(&self.lin_neigh, e.aggregate(projected, self.aggregation));
            return match &self.lin_root {
                Some(root) => linear_add(out, root, x_dst),
                None => out,
            };
        }
        if let (true, Some(root), Some(bias)) = (commutes, &self.lin_root, &self.lin_neigh.bias) {
            let w_neigh = self.lin_neigh.weight.val();
            let (w_root, bias) = (root.weight.val(), bias.val());
            return e.aggregate_linear(x_src, self.aggregation, w_neigh, x_dst, w_root, bias);
        }
        let out = linear(&self.lin_neigh, e.aggregate(x_src, self.aggregation));
        match &self.lin_root {
            Some(root) => linear_add(out, root, x_dst),
            None => out,
        }
    }
}

impl crate::conv::GraphConv for SageConv {
    const NAME: &'static str = "sage";
    const ROWS_FROM_OWN_EDGES: bool = true;

    fn from_spec(spec: &crate::conv::LayerSpec, device: &Device) -> Self {
        SageConvConfig::new(spec.d_input, spec.d_output)
            .with_aggregation(spec.aggregation)
            .init(device)
    }

    fn forward_graph(&self, x: Tensor<2>, graph: &crate::graph::GraphTensors) -> Tensor<2> {
        self.forward(x.clone(), graph.dst_rows(x), &graph.merged)
    }
}
