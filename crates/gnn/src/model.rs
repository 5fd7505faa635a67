//! A node classifier: an optional input projection, a stack of registered graph layers (with optional skip
//! connections and layer normalisation, which matter on heterophilous fraud graphs), and an
//! output projection. The layer is chosen by name: `model = "sage"`.

use crate::conv::{Conv, LayerSpec};
use crate::dense::{linear, relu};
use crate::graph::{GraphEdges, GraphTensors};
use crate::mp::Aggregation;
use burn::module::{ModuleMapper, Param, ParamId};
use burn::nn::{Dropout, DropoutConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::prelude::*;

/// Architecture of a [`Gnn`]; saved in every checkpoint.
#[derive(Config, Debug, PartialEq)]
pub struct GnnConfig {
    /// Registered layer name (see [`Conv::NAMES`]).
    pub model: String,
    /// Input features per node.
    pub d_input: usize,
    /// Hidden size.
    #[config(default = 64)]
    pub hidden: usize,
    /// Graph layers.
    #[config(default = 2)]
    pub layers: usize,
    /// Output classes.
    #[config(default = 2)]
    pub classes: usize,
    /// Dropout before each layer and the output projection.
    #[config(default = 0.0)]
    pub dropout: f64,
    /// Add each layer's input to its output (residual connections).
    #[config(default = false)]
    pub skip: bool,
    /// Layer-normalise each layer's output.
    #[config(default = false)]
    pub layer_norm: bool,
    /// Attention heads, for attention layers.
    #[config(default = 4)]
    pub heads: usize,
    /// Neighbour aggregation, for layers that have a choice.
    #[config(default = "Aggregation::Mean")]
    pub aggregation: Aggregation,
    /// Relations the graph has, reverses included, for relation-aware layers.
    #[config(default = 1)]
    pub relations: usize,
    /// Project the input to `hidden` with a linear layer before the first graph layer. Without
    /// it the first graph layer reads the raw features, as PyG's `BasicGNN` does.
    #[config(default = true)]
    pub input_projection: bool,
}

impl GnnConfig {
    /// Checks the config once, when it is read; after that [`GnnConfig::init`] cannot fail.
    pub fn validate(&self) -> Result<(), String> {
        if !Conv::NAMES.contains(&self.model.as_str()) {
            return Err(format!(
                "model '{}' is not one of {}",
                self.model,
                Conv::NAMES.join(", ")
            ));
        }
        if self.layers == 0
            || self.hidden == 0
            || self.d_input == 0
            || self.relations == 0
            || self.classes < 2
        {
            return Err(
                "layers, hidden, d_input and relations must be positive and classes at least 2"
                    .into(),
            );
        }
        if self.heads == 0 || !self.hidden.is_multiple_of(self.heads) {
            return Err(format!(
                "hidden ({}) must be a multiple of heads ({})",
                self.hidden, self.heads
            ));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return Err(format!("dropout must be within 0..1, got {}", self.dropout));
        }
        Ok(())
    }

    /// Builds the model. Call [`GnnConfig::validate`] first. Its parameters are numbered in
    /// module order instead of burn's random IDs, so the same training writes the same
    /// `model.bpk` and `optimizer.bpk` bytes (both files store the IDs).
    pub fn init(&self, device: &Device) -> Gnn {
        self.init_random_ids(device).map(&mut StableIds(0))
    }

    fn init_random_ids(&self, device: &Device) -> Gnn {
        let spec = |d_input| LayerSpec {
            d_input,
            d_output: self.hidden,
            heads: self.heads,
            aggregation: self.aggregation,
            relations: self.relations,
        };
        let first_input = if self.input_projection {
            self.hidden
        } else {
            self.d_input
        };
        Gnn {
            input: self
                .input_projection
                .then(|| LinearConfig::new(self.d_input, self.hidden).init(device)),
            convs: (0..self.layers)
                .map(|i| {
                    Conv::new(
                        &self.model,
                        &spec(if i == 0 { first_input } else { self.hidden }),
                        device,
                    )
                    .expect("validated model name")
                })
                .collect(),
            norms: if self.layer_norm {
                (0..self.layers)
                    .map(|_| LayerNormConfig::new(self.hidden).init(device))
                    .collect()
            } else {
                Vec::new()
            },
            output: LinearConfig::new(self.hidden, self.classes).init(device),
            dropout: DropoutConfig::new(self.dropout).init(),
            skip: self.skip,
        }
    }
}

/// Renumbers float parameters 1, 2, ... in traversal order.
struct StableIds(u64);

impl ModuleMapper for StableIds {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (_, value, mapper) = param.consume();
        self.0 += 1;
        Param::from_mapped_value(ParamId::from(self.0), value, mapper)
    }
}

/// A graph neural network node classifier.
#[derive(Module, Debug)]
pub struct Gnn {
    input: Option<Linear>,
    convs: Vec<Conv>,
    norms: Vec<LayerNorm>,
    output: Linear,
    dropout: Dropout,
    #[module(skip)]
    skip: bool,
}

impl Gnn {
    /// The views of the graph the model's layers read: what [`crate::graph::GraphEdges::to_device_for`]
    /// must upload.
    pub fn views(&self) -> crate::graph::Views {
        self.convs
            .iter()
            .fold(crate::graph::Views::NONE, |v, conv| v.union(conv.views()))
    }

    /// How many hops of in-edges a node's logits read: one per layer; `None` where a layer
    /// reads more than its rows' own edges (BWGNN's filters). A sharded run holds every edge
    /// within this many hops of a shard's nodes (docs/scale.md).
    pub fn hops(&self) -> Option<usize> {
        self.convs
            .iter()
            .all(|c| c.rows_from_own_edges())
            .then_some(self.convs.len())
    }

    /// Class logits for every node.
    ///
    /// # Shapes
    /// - `x`: `[num_nodes, d_input]` → `[num_nodes, classes]`
    pub fn forward(&self, x: Tensor<2>, graph: &GraphTensors) -> Tensor<2> {
        self.run(x, graph, None, false)
    }

    /// Every node's embedding: the last graph layer's output, which the output projection
    /// reads (stacking feeds it to trees).
    ///
    /// # Shapes
    /// - `x`: `[num_nodes, d_input]` → `[num_nodes, hidden]`
    pub fn embed(&self, x: Tensor<2>, graph: &GraphTensors) -> Tensor<2> {
        self.run(x, graph, None, true)
    }

    /// Class logits of `rows.rows` only, where `rows` is the same graph uploaded for those rows
    /// ([`crate::graph::GraphEdges::to_device_rows`]): equal to `forward(x, graph)` selected at
    /// those rows, but the last layer computes only them. Training uses it, since the loss
    /// reads only the training nodes.
    ///
    /// # Shapes
    /// - `x`: `[num_nodes, d_input]` → `[rows, classes]`
    pub fn forward_rows(
        &self,
        x: Tensor<2>,
        graph: &GraphTensors,
        rows: &GraphTensors,
    ) -> Tensor<2> {
        self.run(x, graph, Some(rows), false)
    }

    /// Class logits for every node, each layer computed for `blocks` contiguous blocks of rows
    /// in turn from the previous layer's output. A block uploads only the edges into its rows,
    /// with the whole graph's degrees ([`GraphEdges::to_device_rows_for`]), so at most one
    /// block's edges are on the device at a time; a layer whose rows read more than their own
    /// edges (BWGNN) runs on the whole graph. Equal to [`Gnn::forward`] up to float rounding:
    /// every row sums the same terms in the same order. It is the layer-by-layer computation
    /// docs/scale.md plans across machines, in one process. Inference only (no dropout).
    ///
    /// # Shapes
    /// - `x`: `[edges.num_nodes, d_input]` → `[edges.num_nodes, classes]`
    pub fn forward_in_blocks(&self, x: Tensor<2>, edges: &GraphEdges, blocks: usize) -> Tensor<2> {
        let device = x.device();
        let n = edges.num_nodes;
        let blocks = blocks.clamp(1, n.max(1));
        let rows: Vec<Vec<u32>> = (0..blocks)
            .map(|b| (b * n / blocks) as u32..((b + 1) * n / blocks) as u32)
            .map(Iterator::collect)
            .collect();
        let mut h = self.input_rows(x);
        for (i, conv) in self.convs.iter().enumerate() {
            h = if conv.rows_from_own_edges() {
                let parts: Vec<Tensor<2>> = rows
                    .iter()
                    .map(|block| self.layer_rows(i, h.clone(), edges, block))
                    .collect();
                Tensor::cat(parts, 0)
            } else {
                let whole = edges.to_device_for(self.views(), &device);
                self.finish_layer(i, conv.forward(h.clone(), &whole), h)
            };
        }
        self.output_rows(h)
    }

    /// Graph layers.
    pub fn layers(&self) -> usize {
        self.convs.len()
    }

    /// The rows the first layer reads: `x`'s rows through the input projection, each from
    /// its own features alone. A shard of a layer-by-layer run computes them for its own nodes
    /// (docs/scale.md).
    pub fn input_rows(&self, x: Tensor<2>) -> Tensor<2> {
        match &self.input {
            Some(input) => relu(linear(input, x)),
            None => x,
        }
    }

    /// Layer `i`'s output for `rows` of `edges`, from the previous layer's rows `h` (one per
    /// node of `edges`; only the sources of the edges into `rows` are read), with the degrees
    /// `edges` holds. Only for a layer whose rows read their own in-edges alone
    /// (`rows_from_own_edges`). Inference only.
    ///
    /// # Shapes
    /// - `h`: `[edges.num_nodes, width]` → `[rows.len(), hidden]`
    pub fn layer_rows(
        &self,
        i: usize,
        h: Tensor<2>,
        edges: &GraphEdges,
        rows: &[u32],
    ) -> Tensor<2> {
        let part = edges.to_device_rows_for(rows, self.views(), &h.device());
        let out = self.convs[i].forward_rows(h.clone(), &part, &part);
        self.finish_layer(i, out, part.dst_rows(h))
    }

    /// Whether layer `i`'s rows read their own in-edges alone.
    pub fn layer_reads_own_edges(&self, i: usize) -> bool {
        self.convs[i].rows_from_own_edges()
    }

    /// Normalisation, ReLU and the residual after layer `i`, given its output `out` and its
    /// rows' input `own`.
    fn finish_layer(&self, i: usize, out: Tensor<2>, own: Tensor<2>) -> Tensor<2> {
        let out = match self.norms.get(i) {
            Some(norm) => relu(norm.forward(out)),
            None => relu(out),
        };
        // A residual needs equal widths, as in `run`.
        if self.skip && out.dims() == own.dims() {
            out + own
        } else {
            out
        }
    }

    /// Class logits of rows of the last layer's output.
    pub fn output_rows(&self, h: Tensor<2>) -> Tensor<2> {
        linear(&self.output, h)
    }

    /// Whether nothing sits between the last layer's ReLU and the output layer (no
    /// normalisation, residual or active dropout), given the last layer's input `h`: the layer
    /// may then apply both as it writes.
    fn output_follows_directly(&self, h: &Tensor<2>) -> bool {
        // `lazy_shape`: reading the weight would initialise it here, before the layers', and
        // change which random values each parameter draws.
        let hidden = self.output.weight.lazy_shape()[0];
        let dropout_off = self.dropout.prob == 0.0 || !h.device().is_autodiff();
        let residual = self.skip && h.dims()[1] == hidden;
        self.norms.is_empty() && dropout_off && !residual
    }

    /// Logits, or with `embed` the last layer's output before the output projection.
    fn run(
        &self,
        x: Tensor<2>,
        graph: &GraphTensors,
        rows: Option<&GraphTensors>,
        embed: bool,
    ) -> Tensor<2> {
        let mut h = match &self.input {
            Some(input) => relu(linear(input, x)),
            None => x,
        };
        let last = self.convs.len() - 1;
        for (i, conv) in self.convs.iter().enumerate() {
            let input = self.dropout.forward(h.clone());
            if i == last && rows.is_none() && !embed && self.output_follows_directly(&h) {
                return conv.forward_relu_linear(input, graph, &self.output);
            }
            let norm_relu = |out: Tensor<2>| match self.norms.get(i) {
                Some(norm) => relu(norm.forward(out)),
                None => relu(out),
            };
            let out = match rows {
                Some(rows) if i == last => {
                    h = rows.dst_rows(h);
                    norm_relu(conv.forward_rows(input, graph, rows))
                }
                // With nothing between them, the layer may rectify as it writes its output.
                _ if self.norms.is_empty() => conv.forward_relu(input, graph),
                _ => norm_relu(conv.forward(input, graph)),
            };
            // A residual needs equal widths; without an input projection the first layer has none.
            h = if self.skip && out.dims() == h.dims() {
                out + h
            } else {
                out
            };
        }
        match embed {
            true => h,
            false => linear(&self.output, self.dropout.forward(h)),
        }
    }
}
