//! Sparse adjacency products as a burn backend extension, so aggregation never builds the
//! `[num_edges, d]` message tensor that `select` + `select_assign` would.
//!
//! - [`SparseOps::spmm`]: `out[i] = Σ_{p ∈ row i} w[edge p] · x[col p]` over a CSR adjacency,
//!   plus `diagonal[i] · x[i]` when a diagonal is given (self-loops without edges for them).
//! - [`SparseOps::sddmm`]: `out[edge p] = ⟨a[row p], b[col p]⟩`, the gradient of `spmm` with
//!   respect to the edge weights.
//! - [`SparseOps::propagate`]: `spmm` with a hand-written backward pass: the gradient for `x` is
//!   `spmm` over the transposed adjacency, the gradient for the weights is `sddmm`.
//! - [`SparseOps::segment_softmax`]: a softmax over each row's edges (and its self-loop), GAT's
//!   attention, with [`SparseOps::segment_softmax_backward`] as its backward pass.
//! - [`SparseOps::spmm_linear`]: a GraphSAGE layer, `x_dst · root + spmm(x_src) · neigh + bias`
//!   (and ReLU, and a model's output layer), which flex computes block by block so that the
//!   aggregate never leaves the cache.
//!
//! Weights have `heads` columns; head `h` scales feature columns `h·c .. (h+1)·c` (`c = d / heads`),
//! which is multi-head attention. One column is a plain weighted sum.
//!
//! On flex these are row-parallel CSR loops ([`cpu`]); on the cubecl backend (wgpu), `spmm`,
//! `sddmm` and the segment softmax are CubeCL kernels ([`cube`]), and `spmm_linear` is `spmm`,
//! burn's matmul and one kernel for the sum, bias and ReLU. A backend without its own
//! implementation (or flex on other than f32) composes them from `select` and `select_assign`.

mod cpu;
#[cfg(feature = "wgpu")]
mod cube;

use crate::dense::DenseOps;
use burn::backend::TensorMetadata;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Autodiff, Backend, ExtensionType, backend_extension};
use burn::tensor::{IndexingUpdateOp, Shape, Slice};

/// One direction of an adjacency in compressed sparse row form. Row `i` owns the positions
/// `ptr[i] .. ptr[i + 1]`; position `p` reads node `col[p]` with the weights of edge `edge[p]`.
#[derive(ExtensionType, Debug)]
pub struct Csr<B: Backend> {
    /// Row offsets, `[rows + 1]`.
    pub ptr: IntTensor<B>,
    /// The row of each position, `[nnz]` (the composed path scatters by it).
    pub row: IntTensor<B>,
    /// The column of each position, `[nnz]`.
    pub col: IntTensor<B>,
    /// The edge (weight row) of each position, `[nnz]`.
    pub edge: IntTensor<B>,
    /// Number of rows.
    pub rows: usize,
}

impl<B: Backend> Clone for Csr<B> {
    fn clone(&self) -> Self {
        Csr {
            ptr: self.ptr.clone(),
            row: self.row.clone(),
            col: self.col.clone(),
            edge: self.edge.clone(),
            rows: self.rows,
        }
    }
}

/// An adjacency in both directions: `forward` has a row per destination node, `backward` a row
/// per source node. Both index the same edges.
#[derive(ExtensionType, Debug)]
pub struct Adjacency<B: Backend> {
    /// Rows are destination nodes, columns source nodes.
    #[extension_type]
    pub forward: Csr<B>,
    /// Rows are source nodes, columns destination nodes.
    #[extension_type]
    pub backward: Csr<B>,
}

impl<B: Backend> Clone for Adjacency<B> {
    fn clone(&self) -> Self {
        Adjacency {
            forward: self.forward.clone(),
            backward: self.backward.clone(),
        }
    }
}

/// What [`SparseOps::spmm`] adds to row `i` besides its edges: nothing, or `values[i] · x[i]`
/// (per head; self-loops without an edge each). An enum rather than an `Option`, which a
/// backend extension cannot take.
#[derive(ExtensionType, Debug)]
pub enum Diagonal<B: Backend> {
    /// The edges alone.
    Zero,
    /// `values[i, h]` scales row `i`'s own head-`h` columns, `[rows, heads]`.
    Values(FloatTensor<B>),
}

impl<B: Backend> Clone for Diagonal<B> {
    fn clone(&self) -> Self {
        match self {
            Diagonal::Zero => Diagonal::Zero,
            Diagonal::Values(values) => Diagonal::Values(values.clone()),
        }
    }
}

impl<B: Backend> Diagonal<B> {
    /// The values, if any.
    pub fn values(self) -> Option<FloatTensor<B>> {
        match self {
            Diagonal::Zero => None,
            Diagonal::Values(values) => Some(values),
        }
    }
}

/// A GraphSAGE layer's parameters, for [`SparseOps::spmm_linear`].
#[derive(ExtensionType, Debug)]
pub struct SageWeights<B: Backend> {
    /// Applied to the aggregated neighbours, `[k, m]`.
    pub neigh: FloatTensor<B>,
    /// Applied to the node's own row, `[k, m]`.
    pub root: FloatTensor<B>,
    /// Added to every row, `[m]`.
    pub bias: FloatTensor<B>,
}

impl<B: Backend> Clone for SageWeights<B> {
    fn clone(&self) -> Self {
        SageWeights {
            neigh: self.neigh.clone(),
            root: self.root.clone(),
            bias: self.bias.clone(),
        }
    }
}

/// What [`SparseOps::spmm_linear`] does to its output rows before writing them. An enum rather
/// than `Option`s, which a backend extension cannot take.
#[derive(ExtensionType, Debug)]
pub enum Epilogue<B: Backend> {
    /// Nothing.
    None,
    /// ReLU, as [`DenseOps::tall_relu`].
    Relu,
    /// ReLU, then `· weight + bias` (a model's output layer): `weight` `[m, c]`, `bias` `[c]`.
    ReluLinear(FloatTensor<B>, FloatTensor<B>),
}

impl<B: Backend> Clone for Epilogue<B> {
    fn clone(&self) -> Self {
        match self {
            Epilogue::None => Epilogue::None,
            Epilogue::Relu => Epilogue::Relu,
            Epilogue::ReluLinear(w, b) => Epilogue::ReluLinear(w.clone(), b.clone()),
        }
    }
}

/// Sparse products over an [`Adjacency`].
#[backend_extension(Flex, Cube: cfg(feature = "wgpu"), Autodiff)]
pub trait SparseOps: Backend {
    /// `out[i, h·c + k] = Σ_{p ∈ row i} weight[edge p, h] · x[col p, h·c + k]`, plus
    /// `values[i, h] · x[i, h·c + k]` with [`Diagonal::Values`] (then rows and columns must be
    /// one node set).
    ///
    /// # Shapes
    /// - `weight`: `[num_edges, heads]`, `x`: `[num_cols, heads · c]`,
    ///   [`Diagonal::Values`]: `[rows, heads]` → `[rows, heads · c]`
    fn spmm(
        #[extension_type] csr: Csr<Self>,
        weight: FloatTensor<Self>,
        x: FloatTensor<Self>,
        #[extension_type] diagonal: Diagonal<Self>,
    ) -> FloatTensor<Self> {
        spmm_composed::<Self>(csr, weight, x, diagonal.values())
    }

    /// `out[edge p, h] = Σ_k a[row p, h·c + k] · b[col p, h·c + k]`.
    ///
    /// # Shapes
    /// - `a`: `[rows, heads · c]`, `b`: `[num_cols, heads · c]` → `[num_edges, heads]`
    fn sddmm(
        #[extension_type] csr: Csr<Self>,
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        heads: usize,
    ) -> FloatTensor<Self> {
        sddmm_composed::<Self>(csr, a, b, heads)
    }

    /// `x_dst · root + spmm(adj.forward, weight, x_src) · neigh + bias` with `weights`, a
    /// GraphSAGE layer's output, added in that order, then `then`. On the autodiff backend it
    /// is the composition of [`SparseOps::propagate`] and the [`DenseOps`] operations,
    /// differentiable in everything but the adjacency. Flex computes it in blocks of rows, each
    /// block's aggregate and output staying in cache for its products, bias and epilogue, so
    /// that the aggregation (waiting on memory) and the products (on arithmetic) share the
    /// cores; the values are the composition's.
    ///
    /// # Shapes
    /// - `weight`: `[num_edges, 1]`, `x_src`: `[num_cols, k]`, `x_dst`: `[rows, k]` →
    ///   `[rows, m]`, or `[rows, c]` with [`Epilogue::ReluLinear`]
    fn spmm_linear(
        #[extension_type] adj: Adjacency<Self>,
        weight: FloatTensor<Self>,
        x_src: FloatTensor<Self>,
        x_dst: FloatTensor<Self>,
        #[extension_type] weights: SageWeights<Self>,
        #[extension_type] then: Epilogue<Self>,
    ) -> FloatTensor<Self> {
        spmm_linear_composed::<Self>(adj.forward, weight, x_src, x_dst, weights, then)
    }

    /// Softmax per row and head over the logits of the row's edges and, with `with_self`, the
    /// row's own logit (a self-loop that has no edge): `out[e, h] = exp(l[e, h] − m) / Σ`, the
    /// sum over the same set. On the autodiff backend its backward pass is
    /// [`SparseOps::segment_softmax_backward`].
    ///
    /// # Shapes
    /// - `logits`: `[num_edges, heads]` by edge, followed with `with_self` by `[rows, heads]`
    ///   self-loop logits → the same shape
    fn segment_softmax(
        #[extension_type] csr: Csr<Self>,
        logits: FloatTensor<Self>,
        with_self: bool,
    ) -> FloatTensor<Self> {
        segment_softmax_composed::<Self>(csr, logits, with_self)
    }

    /// The gradient of [`SparseOps::segment_softmax`]'s logits from its output `alpha` and the
    /// output's gradient `grad`: `alpha ⊙ (grad − Σ alpha ⊙ grad)`, the sum over each row.
    ///
    /// # Shapes
    /// - `alpha`, `grad`: as [`SparseOps::segment_softmax`]'s output → the same shape
    fn segment_softmax_backward(
        #[extension_type] csr: Csr<Self>,
        alpha: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        with_self: bool,
    ) -> FloatTensor<Self> {
        segment_softmax_backward_composed::<Self>(csr, alpha, grad, with_self)
    }

    /// [`SparseOps::spmm`] over `adj.forward`, differentiable in `weight` and `x`. The diagonal
    /// is a constant (such as GCN's self-loop weights); a tracked one is refused.
    fn propagate(
        #[extension_type] adj: Adjacency<Self>,
        weight: FloatTensor<Self>,
        x: FloatTensor<Self>,
        #[extension_type] diagonal: Diagonal<Self>,
    ) -> FloatTensor<Self> {
        Self::spmm(adj.forward, weight, x, diagonal)
    }
}

pub(crate) use crate::dense::dims2;

/// `x · w` with `w` scaling each head's `d / heads` columns of the matching row.
fn scale_heads<B: Backend>(x: FloatTensor<B>, w: FloatTensor<B>) -> FloatTensor<B> {
    let [n, d] = dims2(&x);
    let [_, heads] = dims2(&w);
    let x = B::float_reshape(x, Shape::new([n, heads, d / heads]));
    let w = B::float_reshape(w, Shape::new([n, heads, 1]));
    B::float_reshape(B::float_mul(x, w), Shape::new([n, d]))
}

pub(crate) fn spmm_composed<B: Backend>(
    csr: Csr<B>,
    weight: FloatTensor<B>,
    x: FloatTensor<B>,
    diagonal: Option<FloatTensor<B>>,
) -> FloatTensor<B> {
    let [_, d] = dims2(&x);
    let nnz = csr.col.shape()[0];
    let dtype = x.dtype().into();
    let device = x.device();
    let mut out = B::float_zeros(Shape::new([csr.rows, d]), &device, dtype);
    if nnz > 0 {
        let msgs = scale_heads::<B>(
            B::float_select(x.clone(), 0, csr.col),
            B::float_select(weight, 0, csr.edge),
        );
        out = B::float_select_assign(out, 0, csr.row, msgs, IndexingUpdateOp::Add);
    }
    match diagonal {
        Some(diagonal) => B::float_add(out, scale_heads::<B>(x, diagonal)),
        None => out,
    }
}

pub(crate) fn spmm_linear_composed<B: SparseOps>(
    csr: Csr<B>,
    weight: FloatTensor<B>,
    x_src: FloatTensor<B>,
    x_dst: FloatTensor<B>,
    weights: SageWeights<B>,
    then: Epilogue<B>,
) -> FloatTensor<B> {
    let plus_bias = |x: FloatTensor<B>, bias: FloatTensor<B>| {
        let m = bias.shape()[0];
        B::float_add(x, B::float_reshape(bias, Shape::new([1, m])))
    };
    let aggregate = B::spmm(csr, weight, x_src, Diagonal::Zero);
    let sum = B::float_add(
        B::float_matmul(x_dst, weights.root),
        B::float_matmul(aggregate, weights.neigh),
    );
    let out = plus_bias(sum, weights.bias);
    match then {
        Epilogue::None => out,
        Epilogue::Relu => B::relu(out),
        Epilogue::ReluLinear(w, b) => plus_bias(B::float_matmul(B::relu(out), w), b),
    }
}

pub(crate) fn sddmm_composed<B: Backend>(
    csr: Csr<B>,
    a: FloatTensor<B>,
    b: FloatTensor<B>,
    heads: usize,
) -> FloatTensor<B> {
    let [_, d] = dims2(&a);
    let nnz = csr.col.shape()[0];
    let dtype = a.dtype().into();
    let device = a.device();
    let out = B::float_zeros(Shape::new([nnz, heads]), &device, dtype);
    if nnz == 0 {
        return out;
    }
    let prod = B::float_mul(
        B::float_select(a, 0, csr.row),
        B::float_select(b, 0, csr.col),
    );
    let prod = B::float_sum_dim(
        B::float_reshape(prod, Shape::new([nnz, heads, d / heads])),
        2,
    );
    let prod = B::float_reshape(prod, Shape::new([nnz, heads]));
    B::float_select_assign(out, 0, csr.edge, prod, IndexingUpdateOp::Add)
}

/// `t`'s first `edges` rows and, with `with_self`, the rest (one per CSR row).
fn split_self<B: Backend>(
    t: FloatTensor<B>,
    edges: usize,
    with_self: bool,
) -> (FloatTensor<B>, Option<FloatTensor<B>>) {
    if !with_self {
        return (t, None);
    }
    let total = t.shape()[0];
    (
        B::float_slice(t.clone(), &[Slice::from(0..edges)]),
        Some(B::float_slice(t, &[Slice::from(edges..total)])),
    )
}

fn join_self<B: Backend>(edges: FloatTensor<B>, own: Option<FloatTensor<B>>) -> FloatTensor<B> {
    match own {
        Some(own) => B::float_cat(vec![edges, own], 0),
        None => edges,
    }
}

/// `values` (by position, `[nnz, heads]`) placed by edge.
fn by_edge<B: Backend>(csr: &Csr<B>, values: FloatTensor<B>) -> FloatTensor<B> {
    let dtype = values.dtype().into();
    let zeros = B::float_zeros(values.shape(), &values.device(), dtype);
    B::float_select_assign(zeros, 0, csr.edge.clone(), values, IndexingUpdateOp::Add)
}

/// `[rows, heads]` of `values` summed over each row's positions.
fn row_sums<B: Backend>(csr: &Csr<B>, values: FloatTensor<B>) -> FloatTensor<B> {
    let [_, heads] = dims2(&values);
    let dtype = values.dtype().into();
    let zeros = B::float_zeros(Shape::new([csr.rows, heads]), &values.device(), dtype);
    B::float_select_assign(zeros, 0, csr.row.clone(), values, IndexingUpdateOp::Add)
}

pub(crate) fn segment_softmax_composed<B: Backend>(
    csr: Csr<B>,
    logits: FloatTensor<B>,
    with_self: bool,
) -> FloatTensor<B> {
    let [_, heads] = dims2(&logits);
    let nnz = csr.col.shape()[0];
    let (device, dtype) = (logits.device(), logits.dtype().into());
    let (edges, own) = split_self::<B>(logits, nnz, with_self);
    if nnz == 0 {
        // A row's own logit alone has coefficient 1.
        let own = own.map(|own| B::float_ones(own.shape(), &device, dtype));
        return join_self::<B>(edges, own);
    }
    let floor = own.clone().unwrap_or_else(|| {
        let shape = Shape::new([csr.rows, heads]);
        B::float_full(shape, f64::NEG_INFINITY.into(), &device, dtype)
    });
    let at_position = B::float_select(edges, 0, csr.edge.clone());
    // Subtracting each row's maximum keeps exp() finite; the softmax is unchanged by the shift.
    let max = B::float_select_assign(
        floor,
        0,
        csr.row.clone(),
        at_position.clone(),
        IndexingUpdateOp::Max,
    );
    let row_max = B::float_select(max.clone(), 0, csr.row.clone());
    let exp = B::float_exp(B::float_sub(at_position, row_max));
    let own_exp = own.map(|own| B::float_exp(B::float_sub(own, max)));
    let mut denominator = row_sums(&csr, exp.clone());
    if let Some(own_exp) = &own_exp {
        denominator = B::float_add(denominator, own_exp.clone());
    }
    let alpha = B::float_div(
        exp,
        B::float_select(denominator.clone(), 0, csr.row.clone()),
    );
    let own_alpha = own_exp.map(|own_exp| B::float_div(own_exp, denominator));
    join_self::<B>(by_edge(&csr, alpha), own_alpha)
}

pub(crate) fn segment_softmax_backward_composed<B: Backend>(
    csr: Csr<B>,
    alpha: FloatTensor<B>,
    grad: FloatTensor<B>,
    with_self: bool,
) -> FloatTensor<B> {
    let nnz = csr.col.shape()[0];
    let (alpha, own_alpha) = split_self::<B>(alpha, nnz, with_self);
    let (grad, own_grad) = split_self::<B>(grad, nnz, with_self);
    let product = B::float_mul(alpha.clone(), grad.clone());
    let mut sums = row_sums(&csr, B::float_select(product, 0, csr.edge.clone()));
    let own = own_alpha.zip(own_grad);
    if let Some((own_alpha, own_grad)) = &own {
        sums = B::float_add(sums, B::float_mul(own_alpha.clone(), own_grad.clone()));
    }
    let edge_sums = by_edge(&csr, B::float_select(sums.clone(), 0, csr.row.clone()));
    let edges = B::float_mul(alpha, B::float_sub(grad, edge_sums));
    let own =
        own.map(|(own_alpha, own_grad)| B::float_mul(own_alpha, B::float_sub(own_grad, sums)));
    join_self::<B>(edges, own)
}

fn inner_csr<B: Backend, C: CheckpointStrategy>(csr: Csr<Autodiff<B, C>>) -> Csr<B> {
    Csr {
        ptr: csr.ptr,
        row: csr.row,
        col: csr.col,
        edge: csr.edge,
        rows: csr.rows,
    }
}

impl<B: Backend + SparseOps + DenseOps, C: CheckpointStrategy> SparseOps for Autodiff<B, C> {
    fn spmm_linear(
        adj: Adjacency<Self>,
        weight: FloatTensor<Self>,
        x_src: FloatTensor<Self>,
        x_dst: FloatTensor<Self>,
        weights: SageWeights<Self>,
        then: Epilogue<Self>,
    ) -> FloatTensor<Self> {
        let aggregate = Self::propagate(adj, weight, x_src, Diagonal::Zero);
        let own = Self::tall_matmul(x_dst, weights.root);
        let sum = Self::tall_matmul_add(own, aggregate, weights.neigh);
        let out = Self::tall_add_bias(sum, weights.bias);
        match then {
            Epilogue::None => out,
            Epilogue::Relu => Self::tall_relu(out),
            Epilogue::ReluLinear(w, b) => {
                Self::tall_add_bias(Self::tall_matmul(Self::tall_relu(out), w), b)
            }
        }
    }

    fn segment_softmax(
        csr: Csr<Self>,
        logits: FloatTensor<Self>,
        with_self: bool,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct SegmentSoftmax;

        impl<B: Backend + SparseOps> Backward<B, 1> for SegmentSoftmax {
            /// The adjacency, the output and whether the rows' own logits follow the edges'.
            type State = (Csr<B>, FloatTensor<B>, bool);

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let (csr, alpha, with_self) = ops.state;
                let [logits_node] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                if let Some(node) = logits_node {
                    let g = B::segment_softmax_backward(csr, alpha, grad, with_self);
                    grads.register::<B>(node.id, g);
                }
            }
        }

        let csr = inner_csr(csr);
        let nodes = [logits.node()];
        let out = B::segment_softmax(csr.clone(), logits.into_primitive(), with_self);
        match SegmentSoftmax
            .prepare::<C>(nodes)
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish((csr, out.clone(), with_self), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn propagate(
        adj: Adjacency<Self>,
        weight: FloatTensor<Self>,
        x: FloatTensor<Self>,
        diagonal: Diagonal<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Propagate;

        /// The adjacency, the weights (needed for `x`'s gradient), `x` (for the weights'), the
        /// number of heads and the diagonal (for `x`'s).
        type State<B> = (
            Adjacency<B>,
            Option<FloatTensor<B>>,
            Option<FloatTensor<B>>,
            usize,
            Diagonal<B>,
        );

        impl<B: Backend + SparseOps> Backward<B, 2> for Propagate {
            type State = State<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let (adj, weight, x, heads, diagonal) = ops.state;
                let [weight_node, x_node] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                if let (Some(node), Some(x)) = (weight_node, x) {
                    let g = B::sddmm(adj.forward.clone(), grad.clone(), x, heads);
                    grads.register::<B>(node.id, g);
                }
                if let (Some(node), Some(weight)) = (x_node, weight) {
                    // The transpose of a diagonal is itself.
                    let g = B::spmm(adj.backward, weight, grad, diagonal);
                    grads.register::<B>(node.id, g);
                }
            }
        }

        let adj = Adjacency {
            forward: inner_csr(adj.forward),
            backward: inner_csr(adj.backward),
        };
        let (weight_tracked, x_tracked) = (weight.is_tracked(), x.is_tracked());
        let [_, heads] = dims2(&weight);
        let nodes = [weight.node(), x.node()];
        let (weight, x) = (weight.into_primitive(), x.into_primitive());
        let diagonal = match diagonal {
            Diagonal::Zero => Diagonal::Zero,
            Diagonal::Values(values) => {
                assert!(
                    !values.is_tracked(),
                    "the diagonal of a sparse product is a constant; detach it"
                );
                Diagonal::Values(values.into_primitive())
            }
        };
        let out = B::spmm(
            adj.forward.clone(),
            weight.clone(),
            x.clone(),
            diagonal.clone(),
        );
        match Propagate.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let state = (
                    adj,
                    x_tracked.then_some(weight),
                    weight_tracked.then_some(x),
                    heads,
                    diagonal,
                );
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}
