//! Message passing on burn tensors. Sums over incoming edges go through the sparse products of
//! [`crate::sparse`] ([`EdgeIndex::propagate`]), and GAT's attention through its segment
//! softmax ([`EdgeIndex::softmax_with_self_loops`]); the free reductions here (maximum, and a
//! softmax over any grouping) gather with `select` and reduce with `select_assign`.
//!
//! # Shapes
//! - `x`: `[num_nodes, d]` node features
//! - `msgs`: `[num_edges, d]` one message per edge
//! - `index`: `[num_edges]` the node each edge reads from (`src`) or writes to (`dst`)

use crate::sparse::{self, Adjacency, Csr, Diagonal, SageWeights, SparseOps};
use crate::tensor::indices;
use burn::backend::Dispatch;
use burn::prelude::*;
use burn::tensor::{IndexingUpdateOp, TensorData};

/// One direction of a [`Csr`] as tensors.
#[derive(Clone, Debug)]
struct CsrTensors {
    ptr: Tensor<1, Int>,
    row: Tensor<1, Int>,
    col: Tensor<1, Int>,
    edge: Tensor<1, Int>,
    rows: usize,
}

impl CsrTensors {
    fn dispatch(&self) -> Csr<Dispatch> {
        Csr {
            ptr: self.ptr.clone().into_dispatch(),
            row: self.row.clone().into_dispatch(),
            col: self.col.clone().into_dispatch(),
            edge: self.edge.clone().into_dispatch(),
            rows: self.rows,
        }
    }
}

/// Row offsets of a counting sort of `keys` into `rows` buckets, and the stable order it gives.
fn counting_sort(keys: &[u32], rows: usize) -> (Vec<i32>, Vec<u32>) {
    let mut ptr = vec![0i32; rows + 1];
    keys.iter().for_each(|&k| ptr[k as usize + 1] += 1);
    for i in 0..rows {
        ptr[i + 1] += ptr[i];
    }
    let mut next: Vec<i32> = ptr[..rows].to_vec();
    let mut order = vec![0u32; keys.len()];
    for (e, &k) in keys.iter().enumerate() {
        order[next[k as usize] as usize] = e as u32;
        next[k as usize] += 1;
    }
    (ptr, order)
}

/// The edges of one relation as index tensors on a device, stored in destination order (sorted
/// by `dst`, ties in input order), with the compressed rows the sparse products run on.
///
/// Destinations are either every node or, from [`EdgeIndex::into_rows`], only some of them: then
/// destination `i` is node `dst_nodes[i]`, only edges into those nodes are kept, and every
/// degree and normalisation is still the whole graph's, so a layer's output rows are exactly the
/// rows it would compute on the whole graph.
#[derive(Clone, Debug)]
pub struct EdgeIndex {
    /// Source node of each edge, `[num_edges]`.
    pub src: Tensor<1, Int>,
    /// Destination of each edge, `[num_edges]`, non-decreasing.
    pub dst: Tensor<1, Int>,
    /// Nodes on the source side.
    pub num_src: usize,
    /// Destinations (nodes on the destination side, or the rows kept by `into_rows`).
    pub num_dst: usize,
    /// The node each destination is, `[num_dst]`; `None` when destination `i` is node `i`.
    pub dst_nodes: Option<Tensor<1, Int>>,
    /// Incoming edges per destination, `[num_dst]`.
    pub in_degree: Tensor<1>,
    /// Outgoing edges per source node in the whole graph, `[num_src]`.
    pub out_degree: Tensor<1>,
    /// `1 / in_degree(dst)` per edge, `[num_edges, 1]`: the weights of a mean.
    mean_weight: Tensor<2>,
    /// `1 / sqrt(out_degree(src) · in_degree(dst))` per edge, `[num_edges, 1]`.
    symmetric_weight: Tensor<2>,
    /// GCN's weights, only when sources and destinations are one node set: per edge
    /// `1 / sqrt(d̂(src) · d̂(dst))` with `d̂ = in_degree + 1` (a self-loop), `[num_edges, 1]`, and
    /// the self-loop's own `1 / d̂(dst)`, `[num_dst, 1]`.
    self_loop_weights: Option<(Tensor<2>, Tensor<2>)>,
    by_dst: CsrTensors,
    by_src: CsrTensors,
}

fn degrees(nodes: &[u32], n: usize) -> Vec<f32> {
    let mut degree = vec![0f32; n];
    nodes.iter().for_each(|&v| degree[v as usize] += 1.0);
    degree
}

impl EdgeIndex {
    /// Uploads `src → dst` edges, reordered by destination. Indices must be below
    /// `num_src`/`num_dst`; the graph crate bounds-checks them when a relation is built, so they
    /// are not checked again here.
    pub fn new(src: &[u32], dst: &[u32], num_src: usize, num_dst: usize, device: &Device) -> Self {
        assert_eq!(src.len(), dst.len(), "one destination per source");
        let in_degree = degrees(dst, num_dst);
        let out_degree = degrees(src, num_src);
        Self::build(src, dst, None, &in_degree, out_degree, device)
    }

    /// The edges into `rows` only, for computing just those output rows (the ones a loss
    /// reads): destination `i` is node `rows[i]`. Degrees and normalisations are the whole
    /// graph's.
    ///
    /// # Panics
    /// If a row is out of range or repeated.
    pub fn into_rows(
        src: &[u32],
        dst: &[u32],
        num_src: usize,
        num_dst: usize,
        rows: &[u32],
        device: &Device,
    ) -> Self {
        assert_eq!(src.len(), dst.len(), "one destination per source");
        let mut local = vec![u32::MAX; num_dst];
        for (i, &r) in rows.iter().enumerate() {
            assert_eq!(local[r as usize], u32::MAX, "row {r} repeated");
            local[r as usize] = i as u32;
        }
        let (kept_src, kept_dst): (Vec<u32>, Vec<u32>) = src
            .iter()
            .zip(dst)
            .filter(|&(_, &d)| local[d as usize] != u32::MAX)
            .map(|(&s, &d)| (s, local[d as usize]))
            .unzip();
        let in_degree = degrees(dst, num_dst);
        let out_degree = degrees(src, num_src);
        Self::build(
            &kept_src,
            &kept_dst,
            Some(rows),
            &in_degree,
            out_degree,
            device,
        )
    }

    /// `dst` is local (a position in `rows` when given); `in_degree` is indexed by node and
    /// `out_degree` by source node, both over the whole graph.
    fn build(
        src: &[u32],
        dst: &[u32],
        rows: Option<&[u32]>,
        in_degree: &[f32],
        out_degree: Vec<f32>,
        device: &Device,
    ) -> Self {
        let num_edges = src.len();
        let (num_src, num_dst) = (out_degree.len(), rows.map_or(in_degree.len(), <[u32]>::len));
        let node = |d: u32| rows.map_or(d, |r| r[d as usize]) as usize;
        let (dst_ptr, order) = counting_sort(dst, num_dst);
        let src: Vec<u32> = order.iter().map(|&e| src[e as usize]).collect();
        let dst: Vec<u32> = order.iter().map(|&e| dst[e as usize]).collect();
        // The transpose: a row per source node; its positions name edges in destination order.
        let (src_ptr, by_src_edge) = counting_sort(&src, num_src);
        let gathered =
            |v: &[u32]| -> Vec<u32> { by_src_edge.iter().map(|&e| v[e as usize]).collect() };
        let per_edge = |f: &dyn Fn(usize, usize) -> f32| -> Tensor<2> {
            let w: Vec<f32> = src
                .iter()
                .zip(&dst)
                .map(|(&s, &d)| f(s as usize, node(d)))
                .collect();
            Tensor::from_data(TensorData::new(w, [num_edges, 1]), device)
        };
        // The normalisations are constants of the graph, so they are computed once here.
        let mean_weight = per_edge(&|_, d| 1.0 / in_degree[d]);
        let symmetric_weight =
            per_edge(&|s, d| 1.0 / (out_degree[s].max(1.0) * in_degree[d].max(1.0)).sqrt());
        let local_in_degree: Vec<f32> = (0..num_dst as u32).map(|d| in_degree[node(d)]).collect();
        let self_loop_weights = (num_src == in_degree.len()).then(|| {
            let own: Vec<f32> = local_in_degree.iter().map(|d| 1.0 / (d + 1.0)).collect();
            (
                per_edge(&|s, d| 1.0 / ((in_degree[s] + 1.0) * (in_degree[d] + 1.0)).sqrt()),
                Tensor::from_data(TensorData::new(own, [num_dst, 1]), device),
            )
        });
        let int = |v: Vec<i32>| {
            let n = v.len();
            Tensor::<1, Int>::from_data(TensorData::new(v, [n]), device)
        };
        let identity: Vec<u32> = (0..num_edges as u32).collect();
        let (src_t, dst_t) = (indices(&src, device), indices(&dst, device));
        EdgeIndex {
            by_dst: CsrTensors {
                ptr: int(dst_ptr),
                row: dst_t.clone(),
                col: src_t.clone(),
                edge: indices(&identity, device),
                rows: num_dst,
            },
            by_src: CsrTensors {
                ptr: int(src_ptr),
                row: indices(&gathered(&src), device),
                col: indices(&gathered(&dst), device),
                edge: indices(&by_src_edge, device),
                rows: num_src,
            },
            src: src_t,
            dst: dst_t,
            num_src,
            num_dst,
            dst_nodes: rows.map(|r| indices(r, device)),
            in_degree: Tensor::from_data(TensorData::new(local_in_degree, [num_dst]), device),
            out_degree: Tensor::from_data(TensorData::new(out_degree, [num_src]), device),
            mean_weight,
            symmetric_weight,
            self_loop_weights,
        }
    }

    /// The rows of `x` (one per source node) that are this index's destinations: `x` itself
    /// unless the index keeps only some rows.
    ///
    /// # Shapes
    /// - `x`: `[num_src, d]` → `[num_dst, d]`
    pub fn dst_rows(&self, x: Tensor<2>) -> Tensor<2> {
        match &self.dst_nodes {
            Some(nodes) => x.select(0, nodes.clone()),
            None => x,
        }
    }

    /// Number of edges.
    pub fn num_edges(&self) -> usize {
        self.src.dims()[0]
    }

    /// `out[i] = Σ_{e: dst e = i} weight[e] · x[src e]`, differentiable in `x` and `weight`,
    /// without materialising one message per edge.
    ///
    /// # Shapes
    /// - `x`: `[num_src, heads · c]`, `weight`: `[num_edges, heads]` (edges in this index's
    ///   order; head `h` scales columns `h·c .. (h+1)·c`) → `[num_dst, heads · c]`
    pub fn propagate(&self, x: Tensor<2>, weight: Tensor<2>) -> Tensor<2> {
        self.propagate_with_diagonal(x, weight, None)
    }

    fn propagate_with_diagonal(
        &self,
        x: Tensor<2>,
        weight: Tensor<2>,
        diagonal: Option<Tensor<2>>,
    ) -> Tensor<2> {
        Tensor::from_dispatch(<Dispatch as SparseOps>::propagate(
            self.adjacency(),
            weight.into_dispatch(),
            x.into_dispatch(),
            diagonal.map_or(Diagonal::Zero, |d| Diagonal::Values(d.into_dispatch())),
        ))
    }

    /// Softmax of per-edge scores over each destination's incoming edges, per head, where
    /// every destination also attends to itself with score `self_scores[i]`; the self-loops'
    /// coefficients come back separately, so the edge list need not include them. One pass of
    /// [`SparseOps::segment_softmax`] over the rows, differentiable in both scores.
    ///
    /// # Shapes
    /// - `scores`: `[num_edges, heads]` (this index's order), `self_scores`: `[num_dst, heads]`
    ///   → (`[num_edges, heads]`, `[num_dst, heads]`)
    pub fn softmax_with_self_loops(
        &self,
        scores: Tensor<2>,
        self_scores: Tensor<2>,
    ) -> (Tensor<2>, Tensor<2>) {
        let num_edges = self.num_edges();
        let logits = Tensor::cat(vec![scores, self_scores], 0);
        let alpha: Tensor<2> = Tensor::from_dispatch(<Dispatch as SparseOps>::segment_softmax(
            self.by_dst.dispatch(),
            logits.into_dispatch(),
            true,
        ));
        let end = alpha.dims()[0];
        (
            alpha.clone().slice(0..num_edges),
            alpha.slice(num_edges..end),
        )
    }

    fn adjacency(&self) -> Adjacency<Dispatch> {
        Adjacency {
            forward: self.by_dst.dispatch(),
            backward: self.by_src.dispatch(),
        }
    }

    /// GCN's propagation `D̂^{-1/2} (A + I) D̂^{-1/2} x` with `D̂ = in_degree + 1`: the
    /// [`EdgeIndex::self_loop_norm`] sum over the edges plus each destination's own row over
    /// `D̂`. With every node as a destination the self-loops are summed in the same pass as the
    /// edges, without a pass of their own.
    ///
    /// # Shapes
    /// - `x`: `[num_src, d]` → `[num_dst, d]`
    ///
    /// # Panics
    /// If sources and destinations are different node sets.
    pub fn propagate_with_self_loops(&self, x: Tensor<2>) -> Tensor<2> {
        let (norm, diagonal) = self.self_loop_weights();
        match &self.dst_nodes {
            None => self.propagate_with_diagonal(x, norm, Some(diagonal)),
            Some(_) => self.propagate(x.clone(), norm) + self.dst_rows(x) * diagonal,
        }
    }

    /// `1 / sqrt(out_degree(src) · in_degree(dst))` per edge (degrees clamped to 1), the
    /// symmetric normalisation of `D^{-1/2} A D^{-1/2}`, `[num_edges, 1]`.
    pub fn symmetric_norm(&self) -> Tensor<2> {
        self.symmetric_weight.clone()
    }

    /// GCN's normalisation with self-loops, `1 / sqrt(d̂(src) · d̂(dst))` for `d̂ = in_degree + 1`,
    /// `[num_edges, 1]`.
    ///
    /// # Panics
    /// If sources and destinations are different node sets.
    pub fn self_loop_norm(&self) -> Tensor<2> {
        self.self_loop_weights().0
    }

    fn self_loop_weights(&self) -> (Tensor<2>, Tensor<2>) {
        self.self_loop_weights
            .clone()
            .expect("GCN normalisation needs a square edge index")
    }

    /// Neighbour features of each destination node combined by `aggregation` (0 for a node
    /// without incoming edges).
    ///
    /// # Shapes
    /// - `x`: `[num_src, d]` → `[num_dst, d]`
    pub fn aggregate(&self, x: Tensor<2>, aggregation: Aggregation) -> Tensor<2> {
        match self.sum_weight(aggregation, &x.device()) {
            Some(weight) => self.propagate(x, weight),
            None => scatter_max(x.select(0, self.src.clone()), &self.dst, self.num_dst),
        }
    }

    /// `x_dst · root + aggregate(x_src) · neigh + bias` with `(neigh, root, bias)`, a GraphSAGE
    /// layer, then `then`, in one pass over blocks of rows on flex (see
    /// [`SparseOps::spmm_linear`]).
    ///
    /// # Shapes
    /// - `x_src`: `[num_src, k]`, `x_dst`: `[num_dst, k]`, `neigh`, `root`: `[k, m]`, `bias`:
    ///   `[m]` → `[num_dst, m]`, or `[num_dst, c]` with [`Epilogue::ReluLinear`]
    ///
    /// # Panics
    /// For max aggregation, which is not a sparse product.
    pub fn aggregate_linear(
        &self,
        (x_src, aggregation): (Tensor<2>, Aggregation),
        x_dst: Tensor<2>,
        (neigh, root, bias): (Tensor<2>, Tensor<2>, Tensor<1>),
        then: Epilogue,
    ) -> Tensor<2> {
        let weight = self
            .sum_weight(aggregation, &x_src.device())
            .expect("mean or sum aggregation");
        let weights = SageWeights {
            neigh: neigh.into_dispatch(),
            root: root.into_dispatch(),
            bias: bias.into_dispatch(),
        };
        let then = match then {
            Epilogue::None => sparse::Epilogue::None,
            Epilogue::Relu => sparse::Epilogue::Relu,
            Epilogue::ReluLinear(w, b) => {
                sparse::Epilogue::ReluLinear(w.into_dispatch(), b.into_dispatch())
            }
        };
        Tensor::from_dispatch(<Dispatch as SparseOps>::spmm_linear(
            self.adjacency(),
            weight.into_dispatch(),
            x_src.into_dispatch(),
            x_dst.into_dispatch(),
            weights,
            then,
        ))
    }

    /// The edge weights that make [`EdgeIndex::propagate`] a mean or a sum; `None` for max.
    fn sum_weight(&self, aggregation: Aggregation, device: &Device) -> Option<Tensor<2>> {
        match aggregation {
            Aggregation::Sum => Some(Tensor::ones([self.num_edges(), 1], device)),
            Aggregation::Mean => Some(self.mean_weight.clone()),
            Aggregation::Max => None,
        }
    }
}

/// What [`EdgeIndex::aggregate_linear`] does to its output rows before writing them.
#[derive(Clone, Debug)]
#[allow(
    clippy::large_enum_variant,
    reason = "one is built per layer call and moved in; none are stored"
)]
pub enum Epilogue {
    /// Nothing.
    None,
    /// ReLU.
    Relu,
    /// ReLU, then `· weight + bias` (a model's output layer): `weight` `[m, c]`, `bias` `[c]`.
    ReluLinear(Tensor<2>, Tensor<1>),
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

/// Softmax of edge scores over each destination's incoming edges, per head.
///
/// # Shapes
/// - `scores`: `[num_edges, heads]` → `[num_edges, heads]`
pub fn edge_softmax(scores: Tensor<2>, index: &Tensor<1, Int>, n: usize) -> Tensor<2> {
    let [_, heads] = scores.dims();
    let floor = Tensor::<2>::full([n, heads], f32::NEG_INFINITY, &scores.device());
    grouped_softmax(scores, floor, None, index).0
}

/// [`edge_softmax`] where every node also attends to itself, with score `self_scores[i]`; the
/// self-loops' coefficients come back separately, so the edge list need not include them.
///
/// # Shapes
/// - `scores`: `[num_edges, heads]`, `self_scores`: `[n, heads]` → (`[num_edges, heads]`,
///   `[n, heads]`)
pub fn edge_softmax_with_self_loops(
    scores: Tensor<2>,
    self_scores: Tensor<2>,
    index: &Tensor<1, Int>,
) -> (Tensor<2>, Tensor<2>) {
    let floor = self_scores.clone().detach();
    let (alpha, alpha_self) = grouped_softmax(scores, floor, Some(self_scores), index);
    (alpha, alpha_self.expect("self scores given"))
}

fn grouped_softmax(
    scores: Tensor<2>,
    floor: Tensor<2>,
    self_scores: Option<Tensor<2>>,
    index: &Tensor<1, Int>,
) -> (Tensor<2>, Option<Tensor<2>>) {
    let n = floor.dims()[0];
    // Subtracting each node's maximum keeps exp() finite; softmax is unchanged by the shift.
    let max = floor.select_assign(
        0,
        index.clone(),
        scores.clone().detach(),
        IndexingUpdateOp::Max,
    );
    let exp = (scores - max.clone().select(0, index.clone())).exp();
    let self_exp = self_scores.map(|s| (s - max).exp());
    let mut denom = scatter_sum(exp.clone(), index, n);
    if let Some(s) = &self_exp {
        denom = denom + s.clone();
    }
    let alpha = exp / denom.clone().select(0, index.clone());
    (alpha, self_exp.map(|s| s / denom))
}
