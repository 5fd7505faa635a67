//! GAT (Veličković et al., ICLR 2018), multi-head:
//! `x'_i = ‖_h Σ_{j ∈ N(i) ∪ {i}} α^h_ij W^h x_j`, with
//! `α^h_ij = softmax_j(LeakyReLU(a^h_src · W^h x_j + a^h_dst · W^h x_i))`, as PyG's `GATConv`.

use crate::mp::{EdgeIndex, edge_softmax, scatter_sum};
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
    /// - `x`: `[num_nodes, d_input]` → `[num_nodes, heads · d_head]` (concat) or
    ///   `[num_nodes, d_head]`; `e` must be square. Self-loops are added here.
    pub fn forward(&self, x: Tensor<2>, e: &EdgeIndex) -> Tensor<2> {
        let n = e.num_dst;
        let (heads, d_head) = (self.heads, self.d_head);
        let device = x.device();
        let h = self.lin.forward(x).reshape([n, heads, d_head]);
        let score = |att: &Param<Tensor<2>>| {
            (h.clone() * att.val().unsqueeze_dim::<3>(0))
                .sum_dim(2)
                .reshape([n, heads])
        };
        let (score_src, score_dst) = (score(&self.att_src), score(&self.att_dst));
        let loops = Tensor::<1, Int>::arange(0..n as i64, &device);
        let src = Tensor::cat(vec![e.src.clone(), loops.clone()], 0);
        let dst = Tensor::cat(vec![e.dst.clone(), loops], 0);
        let logits = score_src.select(0, src.clone()) + score_dst.select(0, dst.clone());
        let alpha = edge_softmax(leaky_relu(logits, self.negative_slope), &dst, n);
        let alpha = self.dropout.forward(alpha);
        let num_edges = src.dims()[0];
        let msgs = h
            .reshape([n, heads * d_head])
            .select(0, src)
            .reshape([num_edges, heads, d_head])
            * alpha.unsqueeze_dim::<3>(2);
        let out = scatter_sum(msgs.reshape([num_edges, heads * d_head]), &dst, n);
        let out = if self.concat {
            out
        } else {
            out.reshape([n, heads, d_head])
                .mean_dim(1)
                .reshape([n, d_head])
        };
        out + self.bias.val().unsqueeze_dim::<2>(0)
    }
}

impl crate::conv::GraphConv for GatConv {
    const NAME: &'static str = "gat";

    /// Heads are concatenated, `spec.d_output / spec.heads` features each.
    fn from_spec(spec: &crate::conv::LayerSpec, device: &Device) -> Self {
        GatConvConfig::new(spec.d_input, spec.d_output / spec.heads)
            .with_heads(spec.heads)
            .init(device)
    }

    fn forward_graph(&self, x: Tensor<2>, graph: &crate::graph::GraphTensors) -> Tensor<2> {
        self.forward(x, &graph.merged)
    }
}
