//! GAT (Veličković et al., ICLR 2018), multi-head:
//! `x'_i = ‖_h Σ_{j ∈ N(i) ∪ {i}} α^h_ij W^h x_j`, with
//! `α^h_ij = softmax_j(LeakyReLU(a^h_src · W^h x_j + a^h_dst · W^h x_i))`, as PyG's `GATConv`.

use crate::dense::{linear, plus_bias};
use crate::mp::EdgeIndex;
use burn::module::Param;
use burn::nn::{Dropout, DropoutConfig, Initializer, Linear, LinearConfig};
use burn::prelude::*;
use burn::tensor::activation::leaky_relu;

/// Configuration of [`GatConv`].
#[derive(Config, Debug)]
pub struct GatConvConfig {
    /// Input feature size.
    pub d_input: usize,
    /// Output size per head.
    pub d_head: usize,
    /// Attention heads.
    #[config(default = 4)]
    pub heads: usize,
    /// Concatenate heads (`heads · d_head` outputs); otherwise average them (`d_head`).
    #[config(default = true)]
    pub concat: bool,
    /// Dropout on attention coefficients during training.
    #[config(default = 0.0)]
    pub attention_dropout: f64,
    /// Negative slope of the LeakyReLU on attention scores.
    #[config(default = 0.2)]
    pub negative_slope: f64,
}

/// A multi-head graph attention layer.
#[derive(Module, Debug)]
pub struct GatConv {
    lin: Linear,
    att_src: Param<Tensor<2>>,
    att_dst: Param<Tensor<2>>,
    bias: Param<Tensor<1>>,
    dropout: Dropout,
    #[module(skip)]
    heads: usize,
    #[module(skip)]
    d_head: usize,
    #[module(skip)]
    concat: bool,
    #[module(skip)]
    negative_slope: f64,
}

impl GatConvConfig {
    /// Creates the layer with Xavier-uniform attention vectors, as PyG.
    pub fn init(&self, device: &Device) -> GatConv {
        let d_out = if self.concat {
            self.heads * self.d_head
        } else {
            self.d_head
        };
        let att = || {
            Initializer::XavierUniform { gain: 1.0 }.init_with(
                [self.heads, self.d_head],
                Some(self.d_head),
                Some(self.heads),
                device,
            )
        };
        GatConv {
            lin: LinearConfig::new(self.d_input, self.heads * self.d_head)
                .with_bias(false)
                .init(device),
            att_src: att(),
            att_dst: att(),
            bias: Param::from_tensor(Tensor::zeros([d_out], device)),
            dropout: DropoutConfig::new(self.attention_dropout).init(),
            heads: self.heads,
            d_head: self.d_head,
            concat: self.concat,
            negative_slope: self.negative_slope,
        }
    }
}

impl GatConv {
    /// # Shapes
    /// - `x`: `[num_nodes, d_input]` → `[e.num_dst, heads · d_head]` (concat) or
    ///   `[e.num_dst, d_head]`; `e`'s sources and destinations are one node set (all of it, or
    ///   the rows of [`EdgeIndex::into_rows`]). Self-loops are added here.
    pub fn forward(&self, x: Tensor<2>, e: &EdgeIndex) -> Tensor<2> {
        let n = e.num_dst;
        let (heads, d_head) = (self.heads, self.d_head);
        let h_src = linear(&self.lin, x);
        let h = e.dst_rows(h_src.clone()).reshape([n, heads, d_head]);
        let score = |h: Tensor<3>, att: &Param<Tensor<2>>| {
            let rows = h.dims()[0];
            (h * att.val().unsqueeze_dim::<3>(0))
                .sum_dim(2)
                .reshape([rows, heads])
        };
        let score_src = score(
            h_src.clone().reshape([e.num_src, heads, d_head]),
            &self.att_src,
        );
        let score_dst = score(h.clone(), &self.att_dst);
        let attention = |logits: Tensor<2>| leaky_relu(logits, self.negative_slope);
        let edge_logits = attention(
            score_src.clone().select(0, e.src.clone()) + score_dst.clone().select(0, e.dst.clone()),
        );
        // The self-loops are kept apart from the edge list, so the edges stay in the order the
        // sparse product runs in and no edge list is concatenated per call.
        let loop_logits = attention(e.dst_rows(score_src) + score_dst);
        let (alpha, alpha_loop) = e.softmax_with_self_loops(edge_logits, loop_logits);
        let (alpha, alpha_loop) = (
            self.dropout.forward(alpha),
            self.dropout.forward(alpha_loop),
        );
        let out = e.propagate(h_src, alpha)
            + (h * alpha_loop.unsqueeze_dim::<3>(2)).reshape([n, heads * d_head]);
        let out = if self.concat {
            out
        } else {
            out.reshape([n, heads, d_head])
                .mean_dim(1)
                .reshape([n, d_head])
        };
        plus_bias(out, self.bias.val())
    }
}

impl crate::conv::GraphConv for GatConv {
    const NAME: &'static str = "gat";
    const ROWS_FROM_OWN_EDGES: bool = true;

    /// Heads are concatenated, `spec.d_output / spec.heads` features each.
    fn from_spec(spec: &crate::conv::LayerSpec, device: &Device) -> Self {
        GatConvConfig::new(spec.d_input, spec.d_output / spec.heads)
            .with_heads(spec.heads)
            .init(device)
    }

    fn forward_graph(&self, x: Tensor<2>, graph: &crate::graph::GraphTensors) -> Tensor<2> {
        self.forward(x, graph.merged())
    }
}
