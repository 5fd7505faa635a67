//! The dense products of linear layers on a tall input (one row per node) as a backend
//! extension, with a hand-written backward pass.
//!
//! burn-flex hands every product to `gemm`, which splits the output over the cores. The weight
//! gradient `xᵀ · grad` of a `[100k, 64]` input has a `[64, 64]` output and a 100k-long inner
//! dimension, so it ran on about one core: 12 ms for a 32-wide input, where splitting the rows
//! into fixed blocks and adding the blocks' products in block order takes 3 ms and gives the
//! same bits on any number of cores. Other backends keep burn's matmul.

#[cfg(feature = "wgpu")]
use burn::backend::Cube;
use burn::backend::TensorMetadata;
use burn::backend::autodiff::NodeId;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::CheckpointStrategy;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::backend::ops::{ActivationOps, FloatTensorOps};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Autodiff, Backend, Dispatch, Flex, backend_extension};
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::{DType, TensorData};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Rows and columns of a matrix.
pub(crate) fn dims2(t: &impl TensorMetadata) -> [usize; 2] {
    let shape = t.shape();
    [shape[0], shape[1]]
}

/// Rows per block of the weight gradient. Fixed, so the sum order (and the result) does not
/// depend on the number of cores.
const ROWS_PER_BLOCK: usize = 8192;
/// Rows per rayon task of the element-wise passes.
const ROWS_PER_TASK: usize = 1024;

/// Products for linear layers on tall inputs.
#[backend_extension(Flex, Cube: cfg(feature = "wgpu"), Autodiff)]
pub trait DenseOps: Backend {
    /// `x · w`, differentiable in both.
    ///
    /// # Shapes
    /// - `x`: `[n, k]`, `w`: `[k, m]` → `[n, m]`
    fn tall_matmul(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_matmul(x, w)
    }

    /// `acc + x · w`, differentiable in all three. Flex adds the product into `acc`'s buffer
    /// when nothing else holds it, which saves writing the product and reading it back.
    ///
    /// # Shapes
    /// - `acc`: `[n, m]`, `x`: `[n, k]`, `w`: `[k, m]` → `[n, m]`
    fn tall_matmul_add(
        acc: FloatTensor<Self>,
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        Self::float_add(acc, Self::tall_matmul(x, w))
    }

    /// `x + b`, `b` added to every row; differentiable in both. Flex adds in place when nothing
    /// else holds `x`'s buffer, over the cores (burn's broadcast add runs on one).
    ///
    /// # Shapes
    /// - `x`: `[n, m]`, `b`: `[m]` → `[n, m]`
    fn tall_add_bias(x: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        let m = b.shape()[0];
        Self::float_add(x, Self::float_reshape(b, Shape::new([1, m])))
    }

    /// `max(x, 0)` (NaN stays NaN), differentiable. Flex rectifies in place when nothing else
    /// holds `x`'s buffer, over the cores (burn's runs on one).
    fn tall_relu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::relu(x)
    }

    /// `xᵀ · g`: the gradient of [`DenseOps::tall_matmul`]'s weight.
    ///
    /// # Shapes
    /// - `x`: `[n, k]`, `g`: `[n, m]` → `[k, m]`
    fn tall_weight_grad(x: FloatTensor<Self>, g: FloatTensor<Self>) -> FloatTensor<Self> {
        Self::float_matmul(Self::float_transpose(x), g)
    }
}

/// `x · W + b` with `lin`'s weight and bias: what [`Linear::forward`] computes for a 2-d input,
/// through [`DenseOps`].
///
/// # Shapes
/// - `x`: `[n, d_input]` → `[n, d_output]`
pub fn linear(lin: &Linear, x: Tensor<2>) -> Tensor<2> {
    add_bias(lin, project(lin, x))
}

/// `acc + x · W + b` with `lin`'s weight and bias, the product added into `acc` (see
/// [`DenseOps::tall_matmul_add`]).
///
/// # Shapes
/// - `acc`: `[n, d_output]`, `x`: `[n, d_input]` → `[n, d_output]`
pub fn linear_add(acc: Tensor<2>, lin: &Linear, x: Tensor<2>) -> Tensor<2> {
    let sum = Tensor::from_dispatch(<Dispatch as DenseOps>::tall_matmul_add(
        acc.into_dispatch(),
        x.into_dispatch(),
        lin.weight.val().into_dispatch(),
    ));
    add_bias(lin, sum)
}

/// `x · W` with `lin`'s weight alone, for layers that aggregate between the product and the
/// bias.
///
/// # Shapes
/// - `x`: `[n, d_input]` → `[n, d_output]`
pub fn project(lin: &Linear, x: Tensor<2>) -> Tensor<2> {
    product(x, lin.weight.val())
}

/// `x · w` (see [`DenseOps::tall_matmul`]).
///
/// # Shapes
/// - `x`: `[n, k]`, `w`: `[k, m]` → `[n, m]`
pub fn product(x: Tensor<2>, w: Tensor<2>) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as DenseOps>::tall_matmul(
        x.into_dispatch(),
        w.into_dispatch(),
    ))
}

/// `out + b` with `lin`'s bias, if it has one.
pub fn add_bias(lin: &Linear, out: Tensor<2>) -> Tensor<2> {
    match &lin.bias {
        Some(bias) => plus_bias(out, bias.val()),
        None => out,
    }
}

/// `out + bias`, `bias` added to every row (see [`DenseOps::tall_add_bias`]).
///
/// # Shapes
/// - `out`: `[n, m]`, `bias`: `[m]` → `[n, m]`
pub fn plus_bias(out: Tensor<2>, bias: Tensor<1>) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as DenseOps>::tall_add_bias(
        out.into_dispatch(),
        bias.into_dispatch(),
    ))
}

/// `max(x, 0)` over the cores (see [`DenseOps::tall_relu`]).
pub fn relu(x: Tensor<2>) -> Tensor<2> {
    Tensor::from_dispatch(<Dispatch as DenseOps>::tall_relu(x.into_dispatch()))
}

#[cfg(feature = "wgpu")]
impl DenseOps for Cube {}

/// `a · b` for row-major slices, `a` read as `[m, k]` (or, with `a_transposed`, as the transpose
/// of a row-major `[k, m]`) and `b` as `[k, n]`, into a new row-major `[m, n]`.
///
/// The output is not zero-filled first, since gemm overwrites it: perf put the zero-filling of
/// outputs, here and in the sparse products, at about a quarter of a 100k-node inference pass.
fn gemm(
    a: &[f32],
    a_transposed: bool,
    b: &[f32],
    [m, k, n]: [usize; 3],
    parallel: bool,
) -> Vec<f32> {
    let mut out: Vec<f32> = Vec::with_capacity(m * n);
    // SAFETY: `out` has room for m · n values and does not alias `a` or `b`. With `read_dst`
    // false gemm never reads it (its alpha is zeroed, and every kernel then writes without
    // loading, k = 0 included) and writes all m · n values, so they are initialised when the
    // length is set.
    #[allow(unsafe_code)]
    unsafe {
        gemm_into(
            out.as_mut_ptr(),
            false,
            a,
            a_transposed,
            b,
            [m, k, n],
            parallel,
        );
        out.set_len(m * n);
    }
    out
}

/// `out = Σ x · w + bias` over `terms` in order, rectified if `relu`, for one block of `rows`
/// rows, on the calling thread: [`SparseOps::spmm_linear`](crate::sparse::SparseOps::spmm_linear)'s
/// dense side on flex (a SAGE layer's two products, then the output layer's one). Its operations
/// and their order are those of `tall_matmul`, `tall_matmul_add`, `tall_add_bias` and
/// `tall_relu` over the whole tensor, and so are its values: gemm sums each output over `k` in
/// blocks that depend on `k` alone, and takes the same path for any row count above 64.
///
/// # Shapes
/// - each term: `x` `[rows, k]`, `w` `[k, m]` (`k` its own); `bias`: `[m]`; `out`: `[rows, m]`
pub(crate) fn linear_block(
    out: &mut [MaybeUninit<f32>],
    terms: &[(&[f32], &[f32])],
    (bias, relu): (&[f32], bool),
    [rows, m]: [usize; 2],
) {
    assert!(
        out.len() == rows * m && bias.len() == m && !terms.is_empty(),
        "a [rows, m] output, an m-long bias and at least one product"
    );
    if rows == 0 || m == 0 {
        return;
    }
    let dst = out.as_mut_ptr().cast::<f32>();
    // SAFETY: `out` is exclusively borrowed, holds rows · m values and does not alias the
    // inputs. The first product writes every value without reading (see `gemm`), so the later
    // ones read initialised values, and so does the slice made for the bias.
    #[allow(unsafe_code)]
    let out = unsafe {
        for (t, (x, w)) in terms.iter().enumerate() {
            gemm_into(dst, t > 0, x, false, w, [rows, x.len() / rows, m], false);
        }
        std::slice::from_raw_parts_mut(dst, rows * m)
    };
    let rows = out.chunks_exact_mut(m);
    if relu {
        rows.for_each(|row| {
            row.iter_mut()
                .zip(bias)
                .for_each(|(v, b)| *v = rectify(*v + b))
        });
    } else {
        rows.for_each(|row| add_to_row(row, bias));
    }
}

/// `row += bias`, as [`DenseOps::tall_add_bias`] computes it on flex.
#[inline(always)]
fn add_to_row(row: &mut [f32], bias: &[f32]) {
    row.iter_mut().zip(bias).for_each(|(v, b)| *v += b)
}

/// ReLU as [`DenseOps::tall_relu`] computes it on flex: `max` on every value rather than a
/// branch on its sign, which is as good as random; `max` would turn NaN into 0, so NaN (rare,
/// so the branch on it is predicted) is kept, as in burn's relu.
#[inline(always)]
fn rectify(v: f32) -> f32 {
    if v.is_nan() { v } else { v.max(0.0) }
}

/// `out += a · b`, shapes as in [`gemm`].
fn gemm_add(out: &mut [f32], a: &[f32], b: &[f32], [m, k, n]: [usize; 3]) {
    assert_eq!(out.len(), m * n, "gemm output must be [m, n]");
    // SAFETY: `out` is an initialised, exclusively borrowed m · n slice.
    #[allow(unsafe_code)]
    unsafe {
        gemm_into(out.as_mut_ptr(), true, a, false, b, [m, k, n], true);
    }
}

/// `dst = a · b`, or `dst += a · b` with `read_dst`, into a row-major `[m, n]` at `dst`.
///
/// # Safety
/// `dst` must be valid for writes of m · n values (and reads, with `read_dst`) and must not
/// alias `a` or `b`.
#[allow(unsafe_code)]
unsafe fn gemm_into(
    dst: *mut f32,
    read_dst: bool,
    a: &[f32],
    a_transposed: bool,
    b: &[f32],
    [m, k, n]: [usize; 3],
    parallel: bool,
) {
    assert!(
        a.len() == m * k && b.len() == k * n,
        "gemm operands must match [m, k] · [k, n]"
    );
    let (a_cs, a_rs) = if a_transposed { (m, 1) } else { (1, k) };
    let parallelism = if parallel {
        gemm::Parallelism::Rayon(0)
    } else {
        gemm::Parallelism::None
    };
    // SAFETY: the lengths were checked above against the shapes, so every element gemm reads
    // through these strides lies inside `a` and `b`; the caller vouches for `dst`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst,
            1,
            n as isize,
            read_dst,
            a.as_ptr(),
            a_cs as isize,
            a_rs as isize,
            b.as_ptr(),
            1,
            n as isize,
            1.0f32,
            1.0f32,
            false,
            false,
            false,
            parallelism,
        );
    }
}

fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.layout().contiguous_offsets().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

fn contiguous_f32(t: FlexTensor) -> Option<FlexTensor> {
    (t.dtype() == DType::F32).then(|| contiguous(t))
}

fn floats(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("contiguous f32")
}

/// Applies `f` to every `m`-wide row of an f32 `x`, blocks of rows over the cores, in `x`'s own
/// buffer unless something else holds it (then in a copy).
fn in_place_by_rows(x: FlexTensor, m: usize, f: impl Fn(&mut [f32]) + Sync) -> FlexTensor {
    let mut x = contiguous(x);
    let (start, end) = x.layout().contiguous_offsets().expect("contiguous");
    x.storage_mut::<f32>()[start..end]
        .par_chunks_mut(m * ROWS_PER_TASK)
        .for_each(|rows| rows.chunks_exact_mut(m).for_each(&f));
    x
}

impl DenseOps for Flex {
    fn tall_matmul(x: FlexTensor, w: FlexTensor) -> FlexTensor {
        let ([n, k], [_, m]) = (dims2(&x), dims2(&w));
        let (Some(x), Some(w)) = (contiguous_f32(x.clone()), contiguous_f32(w.clone())) else {
            return Flex::float_matmul(x, w);
        };
        let out = gemm(floats(&x), false, floats(&w), [n, k, m], true);
        FlexTensor::from_data(TensorData::new(out, [n, m]))
    }

    fn tall_matmul_add(acc: FlexTensor, x: FlexTensor, w: FlexTensor) -> FlexTensor {
        let ([n, k], [_, m]) = (dims2(&x), dims2(&w));
        if [&acc, &x, &w].iter().any(|t| t.dtype() != DType::F32) || dims2(&acc) != [n, m] {
            return Flex::float_add(acc, Flex::float_matmul(x, w));
        }
        let (mut acc, x, w) = (contiguous(acc), contiguous(x), contiguous(w));
        let (start, end) = acc.layout().contiguous_offsets().expect("contiguous");
        // Copied first only if something else holds `acc`'s buffer.
        let out = &mut acc.storage_mut::<f32>()[start..end];
        gemm_add(out, floats(&x), floats(&w), [n, k, m]);
        acc
    }

    fn tall_add_bias(x: FlexTensor, b: FlexTensor) -> FlexTensor {
        let [_, m] = dims2(&x);
        if x.dtype() != DType::F32 || b.dtype() != DType::F32 || m == 0 {
            return Flex::float_add(x, Flex::float_reshape(b, Shape::new([1, m])));
        }
        let b = contiguous(b);
        let b = floats(&b);
        in_place_by_rows(x, m, |row| add_to_row(row, b))
    }

    fn tall_relu(x: FlexTensor) -> FlexTensor {
        let [_, m] = dims2(&x);
        if x.dtype() != DType::F32 || m == 0 {
            return Flex::relu(x);
        }
        in_place_by_rows(x, m, |row| row.iter_mut().for_each(|v| *v = rectify(*v)))
    }

    fn tall_weight_grad(x: FlexTensor, g: FlexTensor) -> FlexTensor {
        let ([n, k], [_, m]) = (dims2(&x), dims2(&g));
        let (Some(x), Some(g)) = (contiguous_f32(x.clone()), contiguous_f32(g.clone())) else {
            return Flex::float_matmul(Flex::float_transpose(x), g);
        };
        let (x, g) = (floats(&x), floats(&g));
        let blocks: Vec<Vec<f32>> = (0..n.div_ceil(ROWS_PER_BLOCK))
            .into_par_iter()
            .map(|block| {
                let rows = block * ROWS_PER_BLOCK..((block + 1) * ROWS_PER_BLOCK).min(n);
                gemm(
                    &x[rows.start * k..rows.end * k],
                    true,
                    &g[rows.start * m..rows.end * m],
                    [k, rows.len(), m],
                    false,
                )
            })
            .collect();
        let mut out = vec![0f32; k * m];
        for partial in &blocks {
            out.iter_mut().zip(partial).for_each(|(o, p)| *o += p);
        }
        FlexTensor::from_data(TensorData::new(out, [k, m]))
    }
}

/// Registers the gradients of `x · w` given the output's `grad`: `grad · wᵀ` for `x` and
/// `xᵀ · grad` for `w`, each when its node is tracked. `kept` is `(w, x)`, each kept only when
/// the other's gradient needs it.
fn register_product_grads<B: Backend + DenseOps>(
    grads: &mut Gradients,
    grad: FloatTensor<B>,
    x_node: Option<NodeId>,
    w_node: Option<NodeId>,
    kept: (Option<FloatTensor<B>>, Option<FloatTensor<B>>),
) {
    let (w, x) = kept;
    if let (Some(node), Some(x)) = (w_node, x) {
        grads.register::<B>(node, B::tall_weight_grad(x, grad.clone()));
    }
    if let (Some(node), Some(w)) = (x_node, w) {
        grads.register::<B>(node, B::tall_matmul(grad, B::float_transpose(w)));
    }
}

impl<B: Backend + DenseOps, C: CheckpointStrategy> DenseOps for Autodiff<B, C> {
    fn tall_add_bias(x: FloatTensor<Self>, b: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct TallAddBias;

        impl<B: Backend + DenseOps> Backward<B, 2> for TallAddBias {
            type State = ();

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [x_node, b_node] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                if let Some(node) = b_node {
                    let [_, m] = dims2(&grad);
                    let sums = B::float_sum_dim(grad.clone(), 0);
                    grads.register::<B>(node.id, B::float_reshape(sums, Shape::new([m])));
                }
                if let Some(node) = x_node {
                    grads.register::<B>(node.id, grad);
                }
            }
        }

        let nodes = [x.node(), b.node()];
        let out = B::tall_add_bias(x.into_primitive(), b.into_primitive());
        TallAddBias
            .prepare::<C>(nodes)
            .compute_bound()
            .stateless(out)
    }

    fn tall_relu(x: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct TallRelu;

        impl<B: Backend + DenseOps> Backward<B, 1> for TallRelu {
            /// The output, which is where the gradient passes.
            type State = FloatTensor<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 1>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [x_node] = ops.parents;
                let grad = grads.consume::<B>(&ops.node);
                if let Some(node) = x_node {
                    grads.register::<B>(node.id, B::relu_backward(ops.state, grad));
                }
            }
        }

        let nodes = [x.node()];
        let out = B::tall_relu(x.into_primitive());
        match TallRelu.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => prep.finish(out.clone(), out),
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn tall_matmul(x: FloatTensor<Self>, w: FloatTensor<Self>) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct TallMatmul;

        /// `w` (for `x`'s gradient) and `x` (for `w`'s), kept only when that gradient is needed.
        type State<B> = (Option<FloatTensor<B>>, Option<FloatTensor<B>>);

        impl<B: Backend + DenseOps> Backward<B, 2> for TallMatmul {
            type State = State<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 2>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [x_node, w_node] = ops.parents.map(|node| node.map(|n| n.id));
                let grad = grads.consume::<B>(&ops.node);
                register_product_grads::<B>(grads, grad, x_node, w_node, ops.state);
            }
        }

        let (x_tracked, w_tracked) = (x.is_tracked(), w.is_tracked());
        let nodes = [x.node(), w.node()];
        let (x, w) = (x.into_primitive(), w.into_primitive());
        let out = B::tall_matmul(x.clone(), w.clone());
        match TallMatmul.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                prep.finish((x_tracked.then_some(w), w_tracked.then_some(x)), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }

    fn tall_matmul_add(
        acc: FloatTensor<Self>,
        x: FloatTensor<Self>,
        w: FloatTensor<Self>,
    ) -> FloatTensor<Self> {
        #[derive(Debug)]
        struct TallMatmulAdd;

        /// As [`DenseOps::tall_matmul`]'s state; `acc`'s gradient is the output's.
        type State<B> = (Option<FloatTensor<B>>, Option<FloatTensor<B>>);

        impl<B: Backend + DenseOps> Backward<B, 3> for TallMatmulAdd {
            type State = State<B>;

            fn backward(
                self,
                ops: Ops<Self::State, 3>,
                grads: &mut Gradients,
                _checkpointer: &mut Checkpointer,
            ) {
                let [acc_node, x_node, w_node] = ops.parents.map(|node| node.map(|n| n.id));
                let grad = grads.consume::<B>(&ops.node);
                if let Some(node) = acc_node {
                    grads.register::<B>(node, grad.clone());
                }
                register_product_grads::<B>(grads, grad, x_node, w_node, ops.state);
            }
        }

        let (x_tracked, w_tracked) = (x.is_tracked(), w.is_tracked());
        let nodes = [acc.node(), x.node(), w.node()];
        let (x, w) = (x.into_primitive(), w.into_primitive());
        let out = B::tall_matmul_add(acc.into_primitive(), x.clone(), w.clone());
        match TallMatmulAdd.prepare::<C>(nodes).compute_bound().stateful() {
            OpsKind::Tracked(prep) => {
                prep.finish((x_tracked.then_some(w), w_tracked.then_some(x)), out)
            }
            OpsKind::UnTracked(prep) => prep.finish(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;

    fn values(t: Tensor<2>) -> Vec<f32> {
        t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
    }

    /// Forward and both gradients equal burn's own linear layer, on a tall input spanning
    /// several blocks (so the blocked weight gradient is exercised) and on a transposed view.
    #[test]
    fn linear_matches_burn_linear_forward_and_backward() {
        let device = Device::flex().autodiff();
        let n = ROWS_PER_BLOCK * 2 + 77;
        let lin = LinearConfig::new(5, 3).init(&device);
        let data: Vec<f32> = (0..n * 5)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        let x = || {
            Tensor::<2>::from_data(TensorData::new(data.clone(), [n, 5]), &device).require_grad()
        };
        let (xa, xb) = (x(), x());
        let (ours, theirs) = (linear(&lin, xa.clone()), lin.forward(xb.clone()));
        let close = |a: Vec<f32>, b: Vec<f32>| {
            a.len() == b.len()
                && a.iter()
                    .zip(&b)
                    .all(|(p, q)| (p - q).abs() <= 1e-3 * (1.0 + q.abs()))
        };
        assert!(close(values(ours.clone()), values(theirs.clone())));
        let weights = Tensor::<2>::from_data(
            TensorData::new(
                (0..n * 3).map(|i| (i % 7) as f32).collect::<Vec<f32>>(),
                [n, 3],
            ),
            &device,
        );
        let (ga, gb) = (
            (ours * weights.clone()).sum().backward(),
            (theirs * weights).sum().backward(),
        );
        let (xa, xb) = (xa.grad(&ga).unwrap(), xb.grad(&gb).unwrap());
        assert!(close(values(xa), values(xb)), "input gradient");
        let w = lin.weight.val();
        let (wa, wb) = (w.grad(&ga).unwrap(), w.grad(&gb).unwrap());
        assert!(close(values(wa), values(wb)), "weight gradient");

        let plain = Device::flex();
        let x_t = Tensor::<2>::from_data(TensorData::new(data[..15].to_vec(), [5, 3]), &plain)
            .transpose();
        let w = Tensor::<2>::from_data(
            TensorData::new(vec![1.0f32, 2.0, 3.0, 4.0, 5.0], [5, 1]),
            &plain,
        );
        let ours = Tensor::<2>::from_dispatch(<Dispatch as DenseOps>::tall_matmul(
            x_t.clone().into_dispatch(),
            w.clone().into_dispatch(),
        ));
        assert!(
            close(values(ours), values(x_t.matmul(w))),
            "a transposed input"
        );
    }

    /// `acc + x · W + b` equals burn's `acc + lin.forward(x)` with every gradient, and leaves a
    /// shared `acc` as it was.
    #[test]
    fn linear_add_matches_burn_and_leaves_a_shared_accumulator_alone() {
        let device = Device::flex().autodiff();
        let n = ROWS_PER_BLOCK + 31;
        let lin = LinearConfig::new(4, 3).init(&device);
        let data = |len: usize, seed: usize| -> Vec<f32> {
            (0..len)
                .map(|i| (((i + seed) * 37 % 101) as f32 - 50.0) / 50.0)
                .collect()
        };
        let leaf = |values: Vec<f32>, d: usize| {
            Tensor::<2>::from_data(TensorData::new(values, [n, d]), &device).require_grad()
        };
        let (xa, xb) = (leaf(data(n * 4, 1), 4), leaf(data(n * 4, 1), 4));
        let (acc_a, acc_b) = (leaf(data(n * 3, 2), 3), leaf(data(n * 3, 2), 3));
        // The accumulators are intermediate results, as in a layer; `kept` shares `acc_a`'s.
        let acc = acc_a.clone() * 2.0;
        let kept = acc.clone();
        let ours = linear_add(acc, &lin, xa.clone());
        let theirs = acc_b.clone() * 2.0 + lin.forward(xb.clone());
        let close = |a: Tensor<2>, b: Tensor<2>| {
            let (a, b) = (values(a), values(b));
            a.len() == b.len()
                && a.iter()
                    .zip(&b)
                    .all(|(p, q)| (p - q).abs() <= 1e-3 * (1.0 + q.abs()))
        };
        assert!(close(ours.clone(), theirs.clone()), "value");
        assert!(close(kept, acc_b.clone() * 2.0), "the shared accumulator");
        let probe = Tensor::<2>::from_data(TensorData::new(data(n * 3, 3), [n, 3]), &device);
        let (ga, gb) = (
            (ours * probe.clone()).sum().backward(),
            (theirs * probe).sum().backward(),
        );
        let grads = |t: &Tensor<2>, g| t.grad(g).unwrap();
        assert!(close(grads(&xa, &ga), grads(&xb, &gb)), "input gradient");
        assert!(
            close(grads(&acc_a, &ga), grads(&acc_b, &gb)),
            "accumulator gradient"
        );
        let w = lin.weight.val();
        assert!(close(grads(&w, &ga), grads(&w, &gb)), "weight gradient");
        let b = lin.bias.as_ref().unwrap().val();
        let (ba, bb) = (b.grad(&ga).unwrap(), b.grad(&gb).unwrap());
        assert!(
            close(ba.unsqueeze_dim::<2>(0), bb.unsqueeze_dim::<2>(0)),
            "bias gradient"
        );
    }

    /// `relu(x + b)` through the in-place passes equals burn's broadcast add and relu in value
    /// and in the gradients for `x` and `b`, over several row blocks, with a NaN kept and a
    /// shared input left as it was.
    #[test]
    fn bias_and_relu_match_burn_and_leave_a_shared_input_alone() {
        let device = Device::flex().autodiff();
        let (n, m) = (ROWS_PER_TASK * 3 + 5, 6);
        let mut data: Vec<f32> = (0..n * m)
            .map(|i| ((i * 37 % 101) as f32 - 50.0) / 50.0)
            .collect();
        data[7] = f32::NAN;
        let leaf = |values: Vec<f32>, shape: [usize; 2]| {
            Tensor::<2>::from_data(TensorData::new(values, shape), &device).require_grad()
        };
        let (xa, xb) = (leaf(data.clone(), [n, m]), leaf(data.clone(), [n, m]));
        let bias: Vec<f32> = (0..m).map(|j| j as f32 * 0.3 - 0.8).collect();
        let bias_leaf =
            || Tensor::<1>::from_data(TensorData::new(bias.clone(), [m]), &device).require_grad();
        let (ba, bb) = (bias_leaf(), bias_leaf());
        // An intermediate result, as in a layer; `kept` shares its buffer.
        let input = xa.clone() * 2.0;
        let kept = input.clone();
        let ours = relu(plus_bias(input, ba.clone()));
        let theirs =
            burn::tensor::activation::relu(xb.clone() * 2.0 + bb.clone().unsqueeze_dim::<2>(0));
        let same = |a: Vec<f32>, b: Vec<f32>| {
            a.len() == b.len()
                && a.iter()
                    .zip(&b)
                    .all(|(p, q)| (p.is_nan() && q.is_nan()) || (p - q).abs() <= 1e-6)
        };
        let (ours_values, theirs_values) = (values(ours.clone()), values(theirs.clone()));
        assert!(ours_values[7].is_nan(), "NaN stays NaN");
        assert!(ours_values.contains(&0.0), "some rectified");
        assert!(same(ours_values, theirs_values), "value");
        assert!(
            same(values(kept), values(xb.clone() * 2.0)),
            "the shared input"
        );
        let probe_values: Vec<f32> = (0..n * m).map(|i| (i % 5) as f32 - 2.0).collect();
        let probe = Tensor::<2>::from_data(TensorData::new(probe_values, [n, m]), &device);
        let (ga, gb) = (
            (ours * probe.clone()).sum().backward(),
            (theirs * probe).sum().backward(),
        );
        let grad = |t: &Tensor<2>, g| values(t.grad(g).unwrap());
        assert!(same(grad(&xa, &ga), grad(&xb, &gb)), "input gradient");
        let bias_grad = |t: &Tensor<1>, g| values(t.grad(g).unwrap().unsqueeze_dim::<2>(0));
        let (bias_a, bias_b) = (bias_grad(&ba, &ga), bias_grad(&bb, &gb));
        assert!(
            bias_a
                .iter()
                .zip(&bias_b)
                .all(|(p, q)| (p.is_nan() && q.is_nan()) || (p - q).abs() <= 1e-3 * (1.0 + q.abs())),
            "bias gradient: {bias_a:?} vs {bias_b:?}"
        );
    }
}
