//! Message passing on burn tensors: gather messages from source nodes with `select`, reduce them
//! at destination nodes with `select_assign(.., IndexingUpdateOp::Add)`.
//!
//! # Shapes
//! - `x`: `[num_nodes, d]` node features
//! - `msgs`: `[num_edges, d]` one message per edge
//! - `index`: `[num_edges]` the node each edge reads from (`src`) or writes to (`dst`)

use crate::graph::indices;
use burn::prelude::*;
use burn::tensor::{IndexingUpdateOp, TensorData};

/// The edges of one relation as index tensors on a device.
#[derive(Clone, Debug)]
pub struct EdgeIndex {
    /// Source node of each edge, `[num_edges]`.
    pub src: Tensor<1, Int>,
    /// Destination node of each edge, `[num_edges]`.
    pub dst: Tensor<1, Int>,
    /// Nodes on the source side.
    pub num_src: usize,
    /// Nodes on the destination side.
    pub num_dst: usize,
    /// Incoming edges per destination node, `[num_dst]`.
    pub in_degree: Tensor<1>,
    /// Outgoing edges per source node, `[num_src]`.
    pub out_degree: Tensor<1>,
}

impl EdgeIndex {
    /// Uploads `src → dst` edges. Indices must be below `num_src`/`num_dst`; the graph crate
    /// bounds-checks them when a relation is built, so they are not checked again here.
    pub fn new(src: &[u32], dst: &[u32], num_src: usize, num_dst: usize, device: &Device) -> Self {
        assert_eq!(src.len(), dst.len(), "one destination per source");
        let degree = |v: &[u32], n: usize| {
            let mut counts = vec![0f32; n];
            v.iter().for_each(|&i| counts[i as usize] += 1.0);
            Tensor::<1>::from_data(TensorData::new(counts, [n]), device)
        };
        EdgeIndex {
            src: indices(src, device),
            dst: indices(dst, device),
            num_src,
            num_dst,
            in_degree: degree(dst, num_dst),
            out_degree: degree(src, num_src),
        }
    }

    /// Number of edges.
    pub fn num_edges(&self) -> usize {
        self.src.dims()[0]
    }
}

/// How messages arriving at one node are combined.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Aggregation {
    /// Sum of the messages.
    Sum,
    /// Mean of the messages (0 for a node without messages).
    Mean,
    /// Element-wise maximum (0 for a node without messages).
    Max,
}

/// `msgs[e]` added into row `index[e]` of an `[n, d]` zero tensor.
pub fn scatter_sum(msgs: Tensor<2>, index: &Tensor<1, Int>, n: usize) -> Tensor<2> {
    let [_, d] = msgs.dims();
    Tensor::zeros([n, d], &msgs.device()).select_assign(
        0,
        index.clone(),
        msgs,
        IndexingUpdateOp::Add,
    )
}

/// Mean of the messages per node; `count` is the number of messages each node receives.
pub fn scatter_mean(msgs: Tensor<2>, index: &Tensor<1, Int>, count: &Tensor<1>) -> Tensor<2> {
    let n = count.dims()[0];
    scatter_sum(msgs, index, n) / count.clone().clamp_min(1.0).unsqueeze_dim::<2>(1)
}

/// Element-wise maximum of the messages per node, 0 where a node receives none.
///
/// The maximum itself is found with `IndexingUpdateOp::Max` on detached values; it is then
/// rebuilt as a sum of the winning messages so the gradient flows to the arg-max edges (split
/// evenly between ties), which `Max`'s own backward does not define for repeated indices.
pub fn scatter_max(msgs: Tensor<2>, index: &Tensor<1, Int>, n: usize) -> Tensor<2> {
    let [_, d] = msgs.dims();
    let device = msgs.device();
    let max = Tensor::<2>::full([n, d], f32::NEG_INFINITY, &device).select_assign(
        0,
        index.clone(),
        msgs.clone().detach(),
        IndexingUpdateOp::Max,
    );
    let winners = msgs
        .clone()
        .detach()
        .equal(max.clone().select(0, index.clone()))
        .float();
    let ties = scatter_sum(winners.clone(), index, n).clamp_min(1.0);
    (scatter_sum(msgs * winners, index, n) / ties).mask_fill(max.is_inf(), 0.0)
}

/// Combines `msgs` (one per edge of `e`) at the destination nodes.
pub fn aggregate(msgs: Tensor<2>, e: &EdgeIndex, aggregation: Aggregation) -> Tensor<2> {
    match aggregation {
        Aggregation::Sum => scatter_sum(msgs, &e.dst, e.num_dst),
        Aggregation::Mean => scatter_mean(msgs, &e.dst, &e.in_degree),
        Aggregation::Max => scatter_max(msgs, &e.dst, e.num_dst),
    }
}

/// Softmax of edge scores over each destination's incoming edges, per head.
///
/// # Shapes
/// - `scores`: `[num_edges, heads]` → `[num_edges, heads]`
pub fn edge_softmax(scores: Tensor<2>, index: &Tensor<1, Int>, n: usize) -> Tensor<2> {
    let [_, heads] = scores.dims();
    // Subtracting each node's maximum keeps exp() finite; softmax is unchanged by the shift.
    let max = Tensor::<2>::full([n, heads], f32::NEG_INFINITY, &scores.device()).select_assign(
        0,
        index.clone(),
        scores.clone().detach(),
        IndexingUpdateOp::Max,
    );
    let exp = (scores - max.select(0, index.clone())).exp();
    let denom = scatter_sum(exp.clone(), index, n);
    exp / denom.select(0, index.clone())
}

/// Symmetric degree normalisation `1 / sqrt(deg(src) · deg(dst))` per edge, as in GCN.
/// Degrees are clamped to 1 so isolated nodes do not divide by zero.
pub fn symmetric_norm(e: &EdgeIndex) -> Tensor<1> {
    let inv_sqrt = |deg: &Tensor<1>| deg.clone().clamp_min(1.0).sqrt().recip();
    inv_sqrt(&e.out_degree).select(0, e.src.clone())
        * inv_sqrt(&e.in_degree).select(0, e.dst.clone())
}
