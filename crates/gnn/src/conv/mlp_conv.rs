//! A graph-free layer, `x'_i = W · x_i + b`: stacked with skip connections and layer norm it is
//! the ResNet/MLP baseline of the heterophily and fraud benchmarks, which tells how much a graph
//! layer adds over the node's own features.

use crate::dense::linear;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

/// Configuration of [`MlpConv`].
#[derive(Config, Debug)]
pub struct MlpConvConfig {
    /// Input feature size.
    pub d_input: usize,
    /// Output feature size.
    pub d_output: usize,
}

/// A linear layer that ignores the edges.
#[derive(Module, Debug)]
pub struct MlpConv {
    linear: Linear,
}

impl MlpConvConfig {
    /// Creates the layer.
    pub fn init(&self, device: &Device) -> MlpConv {
        MlpConv {
            linear: LinearConfig::new(self.d_input, self.d_output).init(device),
        }
    }
}

impl crate::conv::GraphConv for MlpConv {
    const NAME: &'static str = "mlp";
    const ROWS_FROM_OWN_EDGES: bool = true;

    const VIEWS: crate::graph::Views = crate::graph::Views::NONE;

    fn from_spec(spec: &crate::conv::LayerSpec, device: &Device) -> Self {
        MlpConvConfig::new(spec.d_input, spec.d_output).init(device)
    }

    fn forward_graph(&self, x: Tensor<2>, graph: &crate::graph::GraphTensors) -> Tensor<2> {
        linear(&self.linear, graph.dst_rows(x))
    }
}
