//! GCN (Kipf & Welling, ICLR 2017): `x'_i = Σ_{j ∈ N(i) ∪ {i}} x_j W / sqrt(d̂_i d̂_j) + b`, with
//! `d̂ = in-degree + 1` (the self-loop), as PyG's `GCNConv` with `add_self_loops=True`.

use crate::dense::{linear, plus_bias};
use crate::mp::EdgeIndex;
use burn::module::Param;
use burn::nn::{Linear, LinearConfig};
use burn::prelude::*;

/// Configuration of [`GcnConv`].
#[derive(Config, Debug)]
pub struct GcnConvConfig {
    /// Input feature size.
    pub d_input: usize,
    /// Output feature size.
    pub d_output: usize,
}

/// A graph convolution layer.
#[derive(Module, Debug)]
pub struct GcnConv {
    lin: Linear,
    bias: Param<Tensor<1>>,
}

impl GcnConvConfig {
    /// Creates the layer with Kaiming-uniform weights and a zero bias.
    pub fn init(&self, device: &Device) -> GcnConv {
        GcnConv {
            lin: LinearConfig::new(self.d_input, self.d_output)
                .with_bias(false)
                .init(device),
            bias: Param::from_tensor(Tensor::zeros([self.d_output], device)),
        }
    }
}

impl GcnConv {
    /// # Shapes
    /// - `x`: `[num_nodes, d_input]` → `[e.num_dst, d_output]`; `e`'s sources and
    ///   destinations are one node set (all of it, or the rows of [`EdgeIndex::into_rows`]).
    pub fn forward(&self, x: Tensor<2>, e: &EdgeIndex) -> Tensor<2> {
        let propagate = |h: Tensor<2>| e.propagate_with_self_loops(h);
        // Propagation is linear, so it commutes with the weight: run it on the narrower side,
        // since reading one row per edge is what costs.
        let [_, d_input] = x.dims();
        let [_, d_output] = self.lin.weight.dims();
        let out = if d_output <= d_input {
            propagate(linear(&self.lin, x))
        } else {
            linear(&self.lin, propagate(x))
        };
        plus_bias(out, self.bias.val())
    }
}

impl crate::conv::GraphConv for GcnConv {
    const NAME: &'static str = "gcn";
    const ROWS_FROM_OWN_EDGES: bool = true;

    fn from_spec(spec: &crate::conv::LayerSpec, device: &Device) -> Self {
        GcnConvConfig::new(spec.d_input, spec.d_output).init(device)
    }

    fn forward_graph(&self, x: Tensor<2>, graph: &crate::graph::GraphTensors) -> Tensor<2> {
        self.forward(x, graph.merged())
    }
}
