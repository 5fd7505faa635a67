//! Sparse adjacency products as a burn backend extension, so aggregation never builds the
//! `[num_edges, d]` message tensor that `select` + `select_assign` would.
//!
//! - [`SparseOps::spmm`]: `out[i] = Σ_{p ∈ row i} w[edge p] · x[col p]` over a CSR adjacency.
//! - [`SparseOps::sddmm`]: `out[edge p] = ⟨a[row p], b[col p]⟩`, the gradient of `spmm` with
//!   respect to the edge weights.
//! - [`SparseOps::propagate`]: `spmm` with a hand-written backward pass: the gradient for `x` is
//!   `spmm` over the transposed adjacency, the gradient for the weights is `sddmm`.
//!
//! Weights have `heads` columns; head `h` scales feature columns `h·c .. (h+1)·c` (`c = d / heads`),
//! which is multi-head attention. One column is a plain weighted sum.
//!
//! On flex these are row-parallel CSR loops ([`cpu`]). Every other backend composes them from
//! `select` and `select_assign`, the same operations the layers used before, so wgpu keeps one
//! code path and gradients are still checked against flex in the tests.

mod cpu;

use burn::backend::TensorMetadata;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::{FloatTensor, IntTensor};
use burn::backend::{Autodiff, Backend, Cube, ExtensionType, backend_extension};
use burn::tensor::{IndexingUpdateOp, Shape};

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

/// Sparse products over an [`Adjacency`].
#[backend_extension(Flex, Cube, Autodiff)]
pub trait SparseOps: Backend {
    /// `out[i, h·c + k] = Σ_{p ∈ row i} weight[edge p, h] · x[col p, h·c + k]`.
    ///
    /// # Shapes
    /// - `weight`: `[num_edges, heads]`, `x`: `[num_cols, heads · c]` → `[rows, heads · c]`
    fn spmm(
        #[extension_type] csr: Csr<Self>,
        weight: FloatTensor<Self>,
        x: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        spmm_composed::<Self>(csr, weight, x)
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

    /// [`SparseOps::spmm`] over `adj.forward`, differentiable in `weight` and `x`.
    fn propagate(
        #[extension_type] adj: Adjacency<Self>,
        weight: FloatTensor<Self>,
        x: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::spmm(adj.forward, weight, x)
    }
}

pub(crate) fn dims2(t: &impl TensorMetadata) -> [usize; 2] {
    let shape = t.shape();
    [shape[0], shape[1]]
}

pub(crate) fn spmm_composed<B: Backend>(
    csr: Csr<B>,
    weight: FloatTensor<B>,
    x: FloatTensor<B>,
) -> FloatTensor<B> {
    let [_, d] = dims2(&x);
    let [_, heads] = dims2(&weight);
    let nnz = csr.col.shape()[0];
    let dtype = x.dtype().into();
    let device = x.device();
    let out = B::float_zeros(Shape::new([csr.rows, d]), &device, dtype);
    if nnz == 0 {
        return out;
    }
    let msgs = B::float_reshape(
        B::float_select(x, 0, csr.col),
        Shape::new([nnz, heads, d / heads]),
    );
    let w = B::float_reshape(
        B::float_select(weight, 0, csr.edge),
        Shape::new([nnz, heads, 1]),
    );
    let msgs = B::float_reshape(B::float_mul(msgs, w), Shape::new([nnz, d]));
    B::float_select_assign(out, 0, csr.row, msgs, IndexingUpdateOp::Add)
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

impl SparseOps for Cube {}

fn inner_csr<B: Backend, C: CheckpointStrategy>(csr: Csr<Autodiff<B, C>>) -> Csr<B> {
    Csr {
        ptr: csr.ptr,
        row: csr.row,
        col: csr.col,
        edge: csr.edge,
        rows: csr.rows,
    }
}

impl<B: Backend + SparseOps, C: CheckpointStrategy> SparseOps for Autodiff<B, C> {
    fn propagate(
        adj: Adjacency<Self>,
        weight: FloatTensor<Self>,
        x: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct Propagate;

        /// The adjacency, the weights (needed for `x`'s gradient), `x` (for the weights') and
        /// the number of heads.
        type State<B> = (
            Adjacency<B>,
            Option<FloatTensor<B>>,
            Option<FloatTensor<B>>,
            usize,
        );

        impl<B: Backend + SparseOps> Backward<B, 2> for Propagate {
            type State = State<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let (adj, weight, x, heads) = ops.state;
                let [weight_node, x_node] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                if let (Some(node), Some(x)) = (weight_node, x) {
                    let g = B::sddmm(adj.forward.clone(), grad.clone(), x, heads);
                    grads.register::<B>(node.id, g);
                }
                if let (Some(node), Some(weight)) = (x_node, weight) {
                    grads.register::<B>(node.id, B::spmm(adj.backward, weight, grad));
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
        let out = B::spmm(adj.forward.clone(), weight.clone(), x.clone());
        match Propagate.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                let state = (
                    adj,
                    x_tracked.then_some(weight),
                    weight_tracked.then_some(x),
                    heads,
                );
                prep.finish(state, out)
            }
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}
