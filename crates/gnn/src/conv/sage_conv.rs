//! GraphSAGE (Hamilton et al., NeurIPS 2017): `x'_i = W_n · aggr_{j ∈ N(i)} x_j + W_r · x_i`,
//! with mean, max or sum aggregation, as PyG's `SAGEConv`.

use crate::dense::{self, add_bias, linear, linear_add, project};
use crate::mp::{Aggregation, EdgeIndex, Epilogue};
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
        self.forward_then(x_src, x_dst, e, Epilogue::None)
    }

    /// [`SageConv::forward`], then `then`.
    fn forward_then(
        &self,
        x_src: Tensor<2>,
        x_dst: Tensor<2>,
        e: &EdgeIndex,
        then: Epilogue,
    ) -> Tensor<2> {
        let [_, d_input] = x_src.dims();
        let [_, d_output] = self.lin_neigh.weight.dims();
        // Mean and sum commute with the weight (a node without neighbours gets 0 either way,
        // then the bias), so they run on the narrower side: reading one row per edge is what
        // costs. Max does not commute.
        let commutes = matches!(self.aggregation, Aggregation::Mean | Aggregation::Sum);
        let narrower = d_output < d_input;
        // Aggregating the input: the sum, the products, the bias and `then` in one operation.
        if let (true, false, Some(root), Some(bias)) =
            (commutes, narrower, &self.lin_root, &self.lin_neigh.bias)
        {
            let weights = (self.lin_neigh.weight.val(), root.weight.val(), bias.val());
            return e.aggregate_linear((x_src, self.aggregation), x_dst, weights, then);
        }
        let neighbours = if commutes && narrower {
            let projected = project(&self.lin_neigh, x_src);
            add_bias(&self.lin_neigh, e.aggregate(projected, self.aggregation))
        } else {
            linear(&self.lin_neigh, e.aggregate(x_src, self.aggregation))
        };
        let out = match &self.lin_root {
            Some(root) => linear_add(neighbours, root, x_dst),
            None => neighbours,
        };
        match then {
            Epilogue::None => out,
            Epilogue::Relu => dense::relu(out),
            Epilogue::ReluLinear(w, b) => dense::plus_bias(dense::product(dense::relu(out), w), b),
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
        self.forward(x.clone(), graph.dst_rows(x), graph.merged())
    }

    fn forward_graph_relu(&self, x: Tensor<2>, graph: &crate::graph::GraphTensors) -> Tensor<2> {
        self.forward_then(x.clone(), graph.dst_rows(x), graph.merged(), Epilogue::Relu)
    }

    fn forward_graph_relu_linear(
        &self,
        x: Tensor<2>,
        graph: &crate::graph::GraphTensors,
        output: &Linear,
    ) -> Tensor<2> {
        let Some(bias) = &output.bias else {
            return linear(output, self.forward_graph_relu(x, graph));
        };
        let then = Epilogue::ReluLinear(output.weight.val(), bias.val());
        self.forward_then(x.clone(), graph.dst_rows(x), graph.merged(), then)
    }
}
