//! [`SparseOps`] on the cubecl backend (wgpu): CSR kernels written in CubeCL, so a product reads
//! each neighbour row once and writes each output row once. The composed path (`select` then
//! `select_assign`) writes a `[positions, d]` message tensor and reads it back, and scatters
//! with atomics.
//!
//! - `spmm`: one unit per output element `(i, j)`. It walks row `i`'s positions and sums
//!   `weight[edge p, head of j] · x[col p, j]`, so it needs no atomics. Neighbouring units
//!   take neighbouring `j`, so a row of `x` is read in one coalesced sweep. The backward pass
//!   for `x` is the same kernel over the transposed CSR (`Adjacency::backward`).
//! - `sddmm`: one unit per `(position p, head h)`. It computes the dot product of `a[row p]`
//!   and `b[col p]` over head `h`'s columns. Each edge has exactly one position in a CSR
//!   (`EdgeIndex` places it by a counting sort), so the unit writes `out[edge p, h]` alone.
//! - `segment_softmax` and its backward: one unit per `(row, head)`, walking the row's edges
//!   (three passes forward, two backward); each edge belongs to one row, so again no atomics.
//! - `spmm_linear` (SAGE): `spmm`, burn's two matmuls, then one kernel for the sum, the bias and
//!   the ReLU in place, where the composition made three passes over the output.

use super::{Adjacency, Csr, Diagonal, Epilogue, SageWeights, SparseOps, dims2};
use crate::dense::DenseOps;
use burn::backend::Cube;
use burn::backend::TensorMetadata;
use burn::backend::cubecl::dtype_to_storage_type;
use burn::backend::ops::FloatTensorOps;
use burn::backend::tensor::FloatTensor;
use burn::tensor::Shape;
use burn_cubecl::cubecl;
use burn_cubecl::cubecl::calculate_cube_count_elemwise;
use burn_cubecl::cubecl::prelude::*;
use burn_cubecl::kernel::into_contiguous;
use burn_cubecl::ops::numeric::{empty_device_dtype, zeros_client};
use burn_cubecl::tensor::CubeTensor;

#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn spmm_kernel<F: Float, I: Numeric>(
    ptr: &Tensor<I>,
    col: &Tensor<I>,
    edge: &Tensor<I>,
    weight: &Tensor<F>,
    x: &Tensor<F>,
    diagonal: &Tensor<F>,
    out: &mut Tensor<F>,
    width: u32,
    num_heads: u32,
    #[comptime] with_diagonal: bool,
    #[define(F, I)] _dtypes: [ElemType; 2],
) {
    let pos = ABSOLUTE_POS;
    if pos >= out.len() {
        terminate!();
    }
    let d = width as usize;
    let heads = num_heads as usize;
    let i = pos / d;
    let j = pos % d;
    let h = j / (d / heads);
    let start = usize::cast_from(ptr[i]);
    let end = usize::cast_from(ptr[i + 1]);
    let mut sum = F::new(0.0);
    for p in start..end {
        let source = usize::cast_from(col[p]);
        let e = usize::cast_from(edge[p]);
        sum += weight[e * heads + h] * x[source * d + j];
    }
    if with_diagonal {
        sum += diagonal[i * heads + h] * x[pos];
    }
    out[pos] = sum;
}

#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn sddmm_kernel<F: Float, I: Numeric>(
    row: &Tensor<I>,
    col: &Tensor<I>,
    edge: &Tensor<I>,
    a: &Tensor<F>,
    b: &Tensor<F>,
    out: &mut Tensor<F>,
    width: u32,
    num_heads: u32,
    #[define(F, I)] _dtypes: [ElemType; 2],
) {
    let heads = num_heads as usize;
    let pos = ABSOLUTE_POS;
    if pos >= row.len() * heads {
        terminate!();
    }
    let d = width as usize;
    let p = pos / heads;
    let h = pos % heads;
    let c = d / heads;
    let a_start = usize::cast_from(row[p]) * d + h * c;
    let b_start = usize::cast_from(col[p]) * d + h * c;
    let mut sum = F::new(0.0);
    for k in 0..c {
        sum += a[a_start + k] * b[b_start + k];
    }
    out[usize::cast_from(edge[p]) * heads + h] = sum;
}

/// One unit per `(row i, head h)`, over the row's edges and, with `with_self`, its own entry.
/// Forward (`values` the logits): the maximum, the sum of exponentials, then the coefficients,
/// a pass each. Backward (`values` the coefficients): `Σ alpha · grad`, then each entry's
/// `alpha · (grad − Σ)`.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
fn segment_softmax_kernel<F: Float, I: Numeric>(
    ptr: &Tensor<I>,
    edge: &Tensor<I>,
    values: &Tensor<F>,
    grad: &Tensor<F>,
    out: &mut Tensor<F>,
    rows: u32,
    num_edges: u32,
    num_heads: u32,
    #[comptime] with_self: bool,
    #[comptime] backward: bool,
    #[define(F, I)] _dtypes: [ElemType; 2],
) {
    let heads = num_heads as usize;
    let pos = ABSOLUTE_POS;
    if pos >= rows as usize * heads {
        terminate!();
    }
    let i = pos / heads;
    let h = pos % heads;
    let start = usize::cast_from(ptr[i]);
    let end = usize::cast_from(ptr[i + 1]);
    let own = (num_edges as usize + i) * heads + h;
    if backward {
        let mut sum = F::new(0.0);
        for p in start..end {
            let k = usize::cast_from(edge[p]) * heads + h;
            sum += values[k] * grad[k];
        }
        if with_self {
            sum += values[own] * grad[own];
        }
        for p in start..end {
            let k = usize::cast_from(edge[p]) * heads + h;
            out[k] = values[k] * (grad[k] - sum);
        }
        if with_self {
            out[own] = values[own] * (grad[own] - sum);
        }
    } else {
        // WGSL has no infinity literal; the lowest finite value is below every logit.
        let mut max = F::new(f32::MIN);
        if with_self {
            max = values[own];
        }
        for p in start..end {
            max = max.max(values[usize::cast_from(edge[p]) * heads + h]);
        }
        let mut sum = F::new(0.0);
        for p in start..end {
            sum += (values[usize::cast_from(edge[p]) * heads + h] - max).exp();
        }
        if with_self {
            sum += (values[own] - max).exp();
        }
        for p in start..end {
            let k = usize::cast_from(edge[p]) * heads + h;
            out[k] = (values[k] - max).exp() / sum;
        }
        if with_self {
            out[own] = (values[own] - max).exp() / sum;
        }
    }
}

/// SAGE's epilogue in one pass, in place on `own` (the root product):
/// `own + neighbour + bias`, then ReLU with `relu`.
#[cube(launch)]
fn sage_epilogue_kernel<F: Float>(
    own: &mut Tensor<F>,
    neighbour: &Tensor<F>,
    bias: &Tensor<F>,
    #[comptime] relu: bool,
    #[define(F)] _dtype: ElemType,
) {
    let pos = ABSOLUTE_POS;
    if pos >= own.len() {
        terminate!();
    }
    let mut v = own[pos] + neighbour[pos] + bias[pos % bias.len()];
    if relu {
        v = v.max(F::new(0.0));
    }
    own[pos] = v;
}

/// Cubes of the runtime's preferred size covering `units`, as burn's element-wise kernels launch.
fn launch_shape(client: &Client, units: usize) -> (CubeCount, CubeDim) {
    let dim = CubeDim::new(client, units);
    (calculate_cube_count_elemwise(client, units, dim), dim)
}

fn u32_of(n: usize, what: &str) -> u32 {
    u32::try_from(n).unwrap_or_else(|_| panic!("{what} = {n} does not fit a kernel argument"))
}

impl SparseOps for Cube {
    fn spmm(
        csr: Csr<Self>,
        weight: FloatTensor<Self>,
        x: FloatTensor<Self>,
        diagonal: Diagonal<Self>,
    ) -> FloatTensor<Self> {
        let [_, d] = dims2(&x);
        let [_, heads] = dims2(&weight);
        let (x, weight) = (into_contiguous(x), into_contiguous(weight));
        let out: CubeTensor = empty_device_dtype(
            x.client.clone(),
            x.device.clone(),
            Shape::new([csr.rows, d]),
            x.dtype,
        );
        if csr.rows == 0 || d == 0 {
            return out;
        }
        let (with_diagonal, diagonal) = match diagonal {
            Diagonal::Values(values) => (true, into_contiguous(values)),
            // Never read: the kernel is compiled without the diagonal.
            Diagonal::Zero => (false, weight.clone()),
        };
        let dtypes = [
            dtype_to_storage_type(x.dtype),
            dtype_to_storage_type(csr.ptr.dtype),
        ];
        let (count, dim) = launch_shape(&out.client, csr.rows * d);
        spmm_kernel::launch(
            &out.client,
            count,
            dim,
            into_contiguous(csr.ptr).into_tensor_arg(),
            into_contiguous(csr.col).into_tensor_arg(),
            into_contiguous(csr.edge).into_tensor_arg(),
            weight.into_tensor_arg(),
            x.into_tensor_arg(),
            diagonal.into_tensor_arg(),
            out.clone().into_tensor_arg(),
            u32_of(d, "width"),
            u32_of(heads, "heads"),
            with_diagonal,
            dtypes,
        );
        out
    }

    fn segment_softmax(
        csr: Csr<Self>,
        logits: FloatTensor<Self>,
        with_self: bool,
    ) -> FloatTensor<Self> {
        let logits = into_contiguous(logits);
        segment_launch(csr, logits, None, with_self)
    }

    fn segment_softmax_backward(
        csr: Csr<Self>,
        alpha: FloatTensor<Self>,
        grad: FloatTensor<Self>,
        with_self: bool,
    ) -> FloatTensor<Self> {
        let alpha = into_contiguous(alpha);
        segment_launch(csr, alpha, Some(into_contiguous(grad)), with_self)
    }

    /// The composition's products (burn's matmul), with the sum, bias and ReLU in one pass.
    fn spmm_linear(
        adj: Adjacency<Self>,
        weight: FloatTensor<Self>,
        x_src: FloatTensor<Self>,
        x_dst: FloatTensor<Self>,
        weights: SageWeights<Self>,
        then: Epilogue<Self>,
    ) -> FloatTensor<Self> {
        let aggregate = Self::spmm(adj.forward, weight, x_src, Diagonal::Zero);
        let own = into_contiguous(Self::float_matmul(x_dst, weights.root));
        let neighbour = into_contiguous(Self::float_matmul(aggregate, weights.neigh));
        let bias = into_contiguous(weights.bias);
        let relu = !matches!(then, Epilogue::None);
        let units = own.shape().num_elements();
        if units > 0 {
            let (count, dim) = launch_shape(&own.client, units);
            sage_epilogue_kernel::launch(
                &own.client,
                count,
                dim,
                own.clone().into_tensor_arg(),
                neighbour.into_tensor_arg(),
                bias.into_tensor_arg(),
                relu,
                dtype_to_storage_type(own.dtype),
            );
        }
        match then {
            Epilogue::ReluLinear(w, b) => Self::tall_add_bias(Self::float_matmul(own, w), b),
            Epilogue::None | Epilogue::Relu => own,
        }
    }

    fn sddmm(
        csr: Csr<Self>,
        a: FloatTensor<Self>,
        b: FloatTensor<Self>,
        heads: usize,
    ) -> FloatTensor<Self> {
        let [_, d] = dims2(&a);
        let positions = csr.col.shape()[0];
        // Edges are positions: each edge has one place in the CSR.
        let out: CubeTensor = zeros_client(
            a.client.clone(),
            a.device.clone(),
            Shape::new([positions, heads]),
            a.dtype,
        );
        if positions == 0 || heads == 0 {
            return out;
        }
        let dtypes = [
            dtype_to_storage_type(a.dtype),
            dtype_to_storage_type(csr.row.dtype),
        ];
        let (count, dim) = launch_shape(&out.client, positions * heads);
        sddmm_kernel::launch(
            &out.client,
            count,
            dim,
            into_contiguous(csr.row).into_tensor_arg(),
            into_contiguous(csr.col).into_tensor_arg(),
            into_contiguous(csr.edge).into_tensor_arg(),
            into_contiguous(a).into_tensor_arg(),
            into_contiguous(b).into_tensor_arg(),
            out.clone().into_tensor_arg(),
            u32_of(d, "width"),
            u32_of(heads, "heads"),
            dtypes,
        );
        out
    }
}

/// Launches the segment softmax on `values` (the logits), or with `grad` its backward pass
/// (`values` then being the coefficients).
fn segment_launch(
    csr: Csr<Cube>,
    values: CubeTensor,
    grad: Option<CubeTensor>,
    with_self: bool,
) -> CubeTensor {
    let [total, heads] = dims2(&values);
    let rows = csr.rows;
    let num_edges = total - if with_self { rows } else { 0 };
    let out: CubeTensor = zeros_client(
        values.client.clone(),
        values.device.clone(),
        Shape::new([total, heads]),
        values.dtype,
    );
    if rows == 0 || heads == 0 {
        return out;
    }
    let dtypes = [
        dtype_to_storage_type(values.dtype),
        dtype_to_storage_type(csr.ptr.dtype),
    ];
    let (count, dim) = launch_shape(&out.client, rows * heads);
    let backward = grad.is_some();
    // Never read forward: the kernel is compiled without the backward pass.
    let grad = grad.unwrap_or_else(|| values.clone());
    segment_softmax_kernel::launch(
        &out.client,
        count,
        dim,
        into_contiguous(csr.ptr).into_tensor_arg(),
        into_contiguous(csr.edge).into_tensor_arg(),
        values.into_tensor_arg(),
        grad.into_tensor_arg(),
        out.clone().into_tensor_arg(),
        u32_of(rows, "rows"),
        u32_of(num_edges, "edges"),
        u32_of(heads, "heads"),
        with_self,
        backward,
        dtypes,
    );
    out
}
