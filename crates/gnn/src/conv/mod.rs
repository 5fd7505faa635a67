//! Graph convolution layers, one per file. Adding a layer: write `<name>_conv.rs` with a burn
//! `Module` + `Config` that implements [`GraphConv`], then add one line to `registry!` below.

mod bwgnn_conv;
mod gat_conv;
mod gcn_conv;
mod mlp_conv;
mod rgcn_conv;
mod sage_conv;

pub use bwgnn_conv::{BwgnnConv, BwgnnConvConfig, beta_wavelet_coefficients};
pub use gat_conv::{GatConv, GatConvConfig};
pub use gcn_conv::{GcnConv, GcnConvConfig};
pub use mlp_conv::{MlpConv, MlpConvConfig};
pub use rgcn_conv::{RgcnConv, RgcnConvConfig};
pub use sage_conv::{SageConv, SageConvConfig};

use crate::graph::GraphTensors;
use crate::mp::Aggregation;
use burn::prelude::*;

/// What a layer is told when a model builds it.
#[derive(Clone, Debug)]
pub struct LayerSpec {
    /// Input feature size.
    pub d_input: usize,
    /// Output feature size the model expects.
    pub d_output: usize,
    /// Attention heads (for attention layers; `d_output` is divisible by it).
    pub heads: usize,
    /// Neighbour aggregation (for layers that have a choice).
    pub aggregation: Aggregation,
    /// Relations, reverses included (for relation-aware layers).
    pub relations: usize,
}

/// A layer a model can stack: built from a [`LayerSpec`], run on a whole [`GraphTensors`].
pub trait GraphConv: Module + Sized {
    /// The name used in configs (`model = "sage"`).
    const NAME: &'static str;
    /// Builds the layer.
    fn from_spec(spec: &LayerSpec, device: &Device) -> Self;
    /// # Shapes
    /// - `x`: `[num_nodes, spec.d_input]` → `[num_nodes, spec.d_output]`
    fn forward_graph(&self, x: Tensor<2>, graph: &GraphTensors) -> Tensor<2>;

    /// `relu(forward_graph(x, graph))`, as a model stacks layers without normalisation. A layer
    /// that can rectify its output as it writes it, saving a pass over it, overrides this.
    fn forward_graph_relu(&self, x: Tensor<2>, graph: &GraphTensors) -> Tensor<2> {
        crate::dense::relu(self.forward_graph(x, graph))
    }

    /// `output(relu(forward_graph(x, graph)))`, a model's last layer and its output layer. A
    /// layer that can apply both to each block of rows as it writes it, so that the layer's
    /// own output is never stored, overrides this.
    ///
    /// # Shapes
    /// - `x`: `[num_nodes, spec.d_input]` → `[num_nodes, output's d_output]`
    fn forward_graph_relu_linear(
        &self,
        x: Tensor<2>,
        graph: &GraphTensors,
        output: &burn::nn::Linear,
    ) -> Tensor<2> {
        crate::dense::linear(output, self.forward_graph_relu(x, graph))
    }

    /// The views of the graph the layer reads; the others need not be uploaded.
    const VIEWS: crate::graph::Views = crate::graph::Views::MERGED;

    /// Whether an output row depends only on the row's own incoming edges, so that
    /// [`GraphConv::forward_rows`] can run the layer on the rows' edges alone. Off by default,
    /// which is always correct.
    const ROWS_FROM_OWN_EDGES: bool = false;

    /// The outputs of `rows.rows` only, where `rows` is `graph` uploaded for those rows
    /// ([`crate::graph::GraphEdges::to_device_rows`]): the layer on those edges alone when
    /// [`GraphConv::ROWS_FROM_OWN_EDGES`], otherwise every row computed and those kept.
    ///
    /// # Shapes
    /// - `x`: `[num_nodes, spec.d_input]` → `[rows, spec.d_output]`
    fn forward_rows(&self, x: Tensor<2>, graph: &GraphTensors, rows: &GraphTensors) -> Tensor<2> {
        if Self::ROWS_FROM_OWN_EDGES {
            self.forward_graph(x, rows)
        } else {
            rows.dst_rows(self.forward_graph(x, graph))
        }
    }
}

macro_rules! registry {
    ($($variant:ident => $layer:ty),* $(,)?) => {
        /// Any registered layer.
        #[derive(Module, Debug)]
        pub enum Conv {
            $(
                #[doc = concat!("[`", stringify!($layer), "`]")]
                $variant($layer),
            )*
        }

        impl Conv {
            /// Names of every registered layer.
            pub const NAMES: &'static [&'static str] = &[$(<$layer as GraphConv>::NAME),*];

            /// The layer called `name`, or `None` if no layer has that name.
            pub fn new(name: &str, spec: &LayerSpec, device: &Device) -> Option<Self> {
                $(
                    if name == <$layer as GraphConv>::NAME {
                        return Some(Conv::$variant(<$layer as GraphConv>::from_spec(spec, device)));
                    }
                )*
                None
            }

            /// Whether an output row reads only its own incoming edges; see
            /// [`GraphConv::ROWS_FROM_OWN_EDGES`].
            pub fn rows_from_own_edges(&self) -> bool {
                match self {
                    $(Conv::$variant(_) => <$layer as GraphConv>::ROWS_FROM_OWN_EDGES,)*
                }
            }

            /// The views of the graph the layer reads; see [`GraphConv::VIEWS`].
            pub fn views(&self) -> crate::graph::Views {
                match self {
                    $(Conv::$variant(_) => <$layer as GraphConv>::VIEWS,)*
                }
            }

            /// Runs the layer.
            pub fn forward(&self, x: Tensor<2>, graph: &GraphTensors) -> Tensor<2> {
                match self {
                    $(Conv::$variant(layer) => layer.forward_graph(x, graph),)*
                }
            }

            /// Runs the layer and rectifies its output; see [`GraphConv::forward_graph_relu`].
            pub fn forward_relu(&self, x: Tensor<2>, graph: &GraphTensors) -> Tensor<2> {
                match self {
                    $(Conv::$variant(layer) => layer.forward_graph_relu(x, graph),)*
                }
            }

            /// Runs the layer, rectifies its output and applies `output`; see
            /// [`GraphConv::forward_graph_relu_linear`].
            pub fn forward_relu_linear(
                &self,
                x: Tensor<2>,
                graph: &GraphTensors,
                output: &burn::nn::Linear,
            ) -> Tensor<2> {
                match self {
                    $(Conv::$variant(layer) => layer.forward_graph_relu_linear(x, graph, output),)*
                }
            }

            /// Runs the layer for some rows only; see [`GraphConv::forward_rows`].
            pub fn forward_rows(
                &self,
                x: Tensor<2>,
                graph: &GraphTensors,
                rows: &GraphTensors,
            ) -> Tensor<2> {
                match self {
                    $(Conv::$variant(layer) => layer.forward_rows(x, graph, rows),)*
                }
            }
        }
    };
}

registry! {
    Gcn => GcnConv,
    Sage => SageConv,
    Gat => GatConv,
    Rgcn => RgcnConv,
    Bwgnn => BwgnnConv,
    Mlp => MlpConv,
}
