//! The sparse products on flex: CSR loops, parallel over blocks of rows with rayon.
//!
//! Each position reads one random row of `x` (or of `b`), so the loops wait on memory, not on
//! arithmetic. On x86-64 CPUs with AVX2 and FMA (checked at run time) the same loops are
//! compiled for those instructions. The loops that sum in memory (several heads, fewer than 8
//! columns) and the edge dot products also prefetch the row that the edge [`PREFETCH_AHEAD`]
//! positions later will read, which keeps several cache misses in flight. The register loop
//! does not: its few instructions per edge already let the core run far enough ahead, and the
//! prefetches measured slower there (tolokers, 64 columns: 2.9 → 2.0 ms without them).

use super::{
    Adjacency, Csr, Diagonal, Epilogue, SageWeights, SparseOps, dims2, sddmm_composed,
    segment_softmax_backward_composed, segment_softmax_composed, spmm_composed,
    spmm_linear_composed,
};
use crate::dense;
use burn::backend::flex::FlexTensor;
use burn::backend::ops::IntTensorOps;
use burn::backend::{Flex, TensorMetadata};
use burn::tensor::{DType, Element, IntDType, TensorData};
use rayon::prelude::*;
use std::mem::MaybeUninit;

/// Rows (or positions / 16) per rayon task: enough to amortise scheduling, few enough that
/// skewed degrees still balance over the cores.
const ROWS_PER_TASK: usize = 64;
/// How many positions ahead the row of an upcoming edge is prefetched.
const PREFETCH_AHEAD: usize = 8;

/// An index element: `i32` as the graph builds them, or the device's default `i64`.
trait Index: Element + bytemuck::Pod + Send + Sync {
    fn at(self) -> usize;
}

impl Index for i32 {
    #[inline(always)]
    fn at(self) -> usize {
        self as usize
    }
}

impl Index for i64 {
    #[inline(always)]
    fn at(self) -> usize {
        self as usize
    }
}

fn contiguous(t: FlexTensor) -> FlexTensor {
    if t.layout().contiguous_offsets().is_some() {
        t
    } else {
        t.to_contiguous()
    }
}

/// A [`Csr`]'s index tensors, contiguous and of one integer type.
struct FlexCsr {
    ptr: FlexTensor,
    row: FlexTensor,
    col: FlexTensor,
    edge: FlexTensor,
}

impl FlexCsr {
    fn new(csr: Csr<Flex>) -> Self {
        let dtype = csr.ptr.dtype();
        let uniform = matches!(dtype, DType::I32 | DType::I64)
            && [&csr.row, &csr.col, &csr.edge]
                .iter()
                .all(|t| t.dtype() == dtype);
        let prepare = |t: FlexTensor| {
            contiguous(if uniform {
                t
            } else {
                Flex::int_cast(t, IntDType::I32)
            })
        };
        FlexCsr {
            ptr: prepare(csr.ptr),
            row: prepare(csr.row),
            col: prepare(csr.col),
            edge: prepare(csr.edge),
        }
    }

    fn slices<I: Index>(&self) -> Slices<'_, I> {
        fn slice<I: Index>(t: &FlexTensor) -> &[I] {
            t.as_slice::<I>().expect("contiguous, of one index type")
        }
        Slices {
            ptr: slice(&self.ptr),
            row: slice(&self.row),
            col: slice(&self.col),
            edge: slice(&self.edge),
        }
    }
}

struct Slices<'a, I> {
    ptr: &'a [I],
    row: &'a [I],
    col: &'a [I],
    edge: &'a [I],
}

/// `o += w · x`; fused multiply-adds where the build has them.
#[inline(always)]
fn axpy<const FMA: bool>(o: &mut [f32], w: f32, x: &[f32]) {
    for (o, &x) in o.iter_mut().zip(x) {
        *o = if FMA { w.mul_add(x, *o) } else { *o + w * x };
    }
}

/// `sum += w · x` for a `W`-wide `x`, which the compiler keeps in vector registers.
#[inline(always)]
fn multiply_add<const FMA: bool, const W: usize>(sum: &mut [f32; W], w: f32, x: &[f32]) {
    let x: &[f32; W] = x.try_into().expect("a W-wide slice");
    for l in 0..W {
        sum[l] = if FMA {
            w.mul_add(x[l], sum[l])
        } else {
            sum[l] + w * x[l]
        };
    }
}

/// Initialises `out` with `values`.
#[inline(always)]
fn write(out: &mut [MaybeUninit<f32>], values: impl IntoIterator<Item = f32>) {
    out.iter_mut().zip(values).for_each(|(o, v)| {
        o.write(v);
    });
}

/// `⟨a, b⟩` with eight independent sums, so the loop vectorises without reassociating.
#[inline(always)]
fn dot<const FMA: bool>(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (ca, cb) in a8.zip(b8) {
        for l in 0..8 {
            lanes[l] = if FMA {
                ca[l].mul_add(cb[l], lanes[l])
            } else {
                lanes[l] + ca[l] * cb[l]
            };
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `out[i] = Σ_{p ∈ row i} weight[edge p] · x[col p] + diagonal[i] · x[i]` (per head).
struct Spmm<'a, I> {
    csr: Slices<'a, I>,
    x: &'a [f32],
    weight: &'a [f32],
    diagonal: Option<&'a [f32]>,
    d: usize,
    heads: usize,
}

impl<I: Index> Spmm<'_, I> {
    /// Rows `first ..` of the output, one `d`-wide chunk of `out` each, every value written.
    #[inline(always)]
    fn rows<const FMA: bool>(
        &self,
        first: usize,
        out: &mut [MaybeUninit<f32>],
        prefetch: impl Fn(&[f32]),
    ) {
        if self.heads == 1 {
            match self.d {
                64.. => return self.rows_in_registers::<FMA, 64>(first, out),
                32.. => return self.rows_in_registers::<FMA, 32>(first, out),
                16.. => return self.rows_in_registers::<FMA, 16>(first, out),
                8.. => return self.rows_in_registers::<FMA, 8>(first, out),
                _ => {}
            }
        }
        let mut sums = vec![0f32; out.len()];
        self.rows_in_memory::<FMA>(first, &mut sums, prefetch);
        write(out, sums);
    }

    /// [`Spmm::rows`] for one head and `W ≤ d` (the widest of 64, 32, 16 and 8 that fits). Each
    /// `W`-wide block of an output row is summed in a local array that the compiler keeps in
    /// vector registers, so an edge costs the loads of its source row and the multiply-adds,
    /// without loading and storing the sum. When `W` does not divide `d`, the last block ends at
    /// column `d` and overlaps the one before; the overlap is computed twice, identically.
    /// Blocks of up to 32 columns are summed two per pass over a row's edges, so a row of 10
    /// columns (blocks at 0 and 2) reads its edges once.
    #[inline(always)]
    fn rows_in_registers<const FMA: bool, const W: usize>(
        &self,
        first: usize,
        out: &mut [MaybeUninit<f32>],
    ) {
        let (d, csr) = (self.d, &self.csr);
        let blocks = d.div_ceil(W);
        let start = |block: usize| (block * W).min(d - W);
        for (r, o) in out.chunks_exact_mut(d).enumerate() {
            let i = first + r;
            let positions = csr.ptr[i].at()..csr.ptr[i + 1].at();
            let edges = Edges {
                cols: &csr.col[positions.clone()],
                ids: &csr.edge[positions],
                own: self.diagonal.map(|diagonal| (i, diagonal[i])),
            };
            let mut block = 0;
            while W <= 32 && block + 1 < blocks {
                let starts = [start(block), start(block + 1)];
                let sums = self.sum_edges::<FMA, W, 2>(&edges, starts);
                for (s, sum) in starts.into_iter().zip(sums) {
                    write(&mut o[s..s + W], sum);
                }
                block += 2;
            }
            for block in block..blocks {
                let s = start(block);
                let [sum] = self.sum_edges::<FMA, W, 1>(&edges, [s]);
                write(&mut o[s..s + W], sum);
            }
        }
    }

    /// The `W`-wide blocks at columns `starts` of one output row: the weighted sum of `edges`'
    /// source rows, then the row's own. `B` blocks share one pass over the edges.
    ///
    /// The edges are walked as slices and the row's own term is added after the loop, not
    /// chained onto it: fewer bounds checks and no chain state per edge took about 15% off a
    /// 10-wide product on tolokers.
    #[inline(always)]
    fn sum_edges<const FMA: bool, const W: usize, const B: usize>(
        &self,
        edges: &Edges<'_, I>,
        starts: [usize; B],
    ) -> [[f32; W]; B] {
        let mut sums = [[0f32; W]; B];
        for (&j, &e) in edges.cols.iter().zip(edges.ids) {
            self.add_row::<FMA, W, B>(&mut sums, starts, j.at(), self.weight[e.at()]);
        }
        if let Some((i, w)) = edges.own {
            self.add_row::<FMA, W, B>(&mut sums, starts, i, w);
        }
        sums
    }

    /// `sums += w · x[row]` at columns `starts`. A method rather than a closure: a closure
    /// that captured the sums kept 32-wide ones in memory, and the product ran 40× slower.
    #[inline(always)]
    fn add_row<const FMA: bool, const W: usize, const B: usize>(
        &self,
        sums: &mut [[f32; W]; B],
        starts: [usize; B],
        row: usize,
        w: f32,
    ) {
        for (sum, s) in sums.iter_mut().zip(starts) {
            let x = row * self.d + s;
            multiply_add::<FMA, W>(sum, w, &self.x[x..x + W]);
        }
    }

    /// [`Spmm::rows`] for any width and heads, summing into `out` in place.
    #[inline(always)]
    fn rows_in_memory<const FMA: bool>(
        &self,
        first: usize,
        out: &mut [f32],
        prefetch: impl Fn(&[f32]),
    ) {
        let (d, heads, csr) = (self.d, self.heads, &self.csr);
        let c = d / heads;
        let nnz = csr.col.len();
        for (r, o) in out.chunks_exact_mut(d).enumerate() {
            let i = first + r;
            let edges = (csr.ptr[i].at()..csr.ptr[i + 1].at()).map(|p| {
                if p + PREFETCH_AHEAD < nnz {
                    let ahead = csr.col[p + PREFETCH_AHEAD].at();
                    prefetch(&self.x[ahead * d..(ahead + 1) * d]);
                }
                let e = csr.edge[p].at();
                (csr.col[p].at(), &self.weight[e * heads..(e + 1) * heads])
            });
            let own = self
                .diagonal
                .map(|diagonal| (i, &diagonal[i * heads..(i + 1) * heads]));
            for (j, w) in edges.chain(own) {
                let x = &self.x[j * d..(j + 1) * d];
                if heads == 1 {
                    axpy::<FMA>(o, w[0], x);
                } else {
                    for ((oh, xh), &w) in o.chunks_exact_mut(c).zip(x.chunks_exact(c)).zip(w) {
                        axpy::<FMA>(oh, w, xh);
                    }
                }
            }
        }
    }
}

/// One output row's edges: source rows and edge ids, in position order, and the row's own
/// index and diagonal weight.
struct Edges<'a, I> {
    cols: &'a [I],
    ids: &'a [I],
    own: Option<(usize, f32)>,
}

/// `out[p, h] = ⟨a[row p], b[col p]⟩` over head `h`'s columns, in position order.
struct Sddmm<'a, I> {
    csr: Slices<'a, I>,
    a: &'a [f32],
    b: &'a [f32],
    d: usize,
    heads: usize,
}

impl<I: Index> Sddmm<'_, I> {
    /// Positions `first ..`, one `heads`-wide chunk of `out` each.
    #[inline(always)]
    fn positions<const FMA: bool>(&self, first: usize, out: &mut [f32], prefetch: impl Fn(&[f32])) {
        let (d, heads, csr) = (self.d, self.heads, &self.csr);
        let c = d / heads;
        let nnz = csr.col.len();
        for (k, o) in out.chunks_exact_mut(heads).enumerate() {
            let p = first + k;
            if p + PREFETCH_AHEAD < nnz {
                let ahead = csr.col[p + PREFETCH_AHEAD].at();
                prefetch(&self.b[ahead * d..(ahead + 1) * d]);
            }
            let (i, j) = (csr.row[p].at(), csr.col[p].at());
            let (a, b) = (&self.a[i * d..(i + 1) * d], &self.b[j * d..(j + 1) * d]);
            for ((o, ah), bh) in o.iter_mut().zip(a.chunks_exact(c)).zip(b.chunks_exact(c)) {
                *o = dot::<FMA>(ah, bh);
            }
        }
    }
}

fn no_prefetch(_: &[f32]) {}

/// The loops built for AVX2 and FMA, with prefetching.
#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Index, Sddmm, Spmm};
    use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    use std::mem::MaybeUninit;

    pub fn available() -> bool {
        is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
    }

    /// One prefetch per 64-byte cache line of `row`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn prefetch(row: &[f32]) {
        row.chunks(16)
            .for_each(|line| _mm_prefetch::<_MM_HINT_T0>(line.as_ptr().cast()));
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn spmm_rows<I: Index>(job: &Spmm<'_, I>, first: usize, out: &mut [MaybeUninit<f32>]) {
        job.rows::<true>(first, out, |row| prefetch(row));
    }

    #[target_feature(enable = "avx2,fma")]
    pub fn sddmm_positions<I: Index>(job: &Sddmm<'_, I>, first: usize, out: &mut [f32]) {
        job.positions::<true>(first, out, |row| prefetch(row));
    }
}

fn spmm_rows<I: Index>(job: &Spmm<'_, I>, first: usize, out: &mut [MaybeUninit<f32>]) {
    #[cfg(target_arch = "x86_64")]
    if x86::available() {
        // SAFETY: the only precondition of a `target_feature` function is that the CPU has the
        // features, and `available` has just checked AVX2 and FMA.
        #[allow(unsafe_code)]
        return unsafe { x86::spmm_rows(job, first, out) };
    }
    job.rows::<false>(first, out, no_prefetch);
}

fn sddmm_positions<I: Index>(job: &Sddmm<'_, I>, first: usize, out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if x86::available() {
        // SAFETY: as in `spmm_rows`: AVX2 and FMA were just checked.
        #[allow(unsafe_code)]
        return unsafe { x86::sddmm_positions(job, first, out) };
    }
    job.positions::<false>(first, out, no_prefetch);
}

/// The output is written once by the row loops, without a zero-fill first (see `dense::gemm`
/// for what the fill cost).
fn spmm<I: Index>(job: &Spmm<'_, I>, rows: usize) -> Vec<f32> {
    let len = rows * job.d;
    let mut out: Vec<f32> = Vec::with_capacity(len);
    if job.d > 0 {
        out.spare_capacity_mut()[..len]
            .par_chunks_mut(job.d * ROWS_PER_TASK)
            .enumerate()
            .for_each(|(task, block)| spmm_rows(job, task * ROWS_PER_TASK, block));
    }
    // SAFETY: the chunks cover the first `len` values of the spare capacity and `Spmm::rows`
    // writes every value of its chunk (with `d = 0`, `len` is 0).
    #[allow(unsafe_code)]
    unsafe {
        out.set_len(len);
    }
    out
}

/// Rows per block of [`spmm_linear`]: the block's aggregate, own rows and output (64 wide:
/// 64 KiB each) stay in a core's L2 between the sparse product and the dense ones. A block
/// holds at least this many rows, or all of them (see [`dense::linear_block`] for why that
/// matters to the values).
const LINEAR_ROWS_PER_BLOCK: usize = 256;

/// The dense side of [`SparseOps::spmm_linear`], as slices.
struct TwoSided<'a> {
    x_dst: &'a [f32],
    w_root: &'a [f32],
    w_neigh: &'a [f32],
    bias: &'a [f32],
    relu: bool,
    /// The output layer's weight and bias, applied after the ReLU.
    head: Option<(&'a [f32], &'a [f32])>,
}

/// [`SparseOps::spmm_linear`] over blocks of rows in parallel: each block's aggregate is
/// summed into a buffer of its own, then multiplied and added while it is still in cache.
fn spmm_linear<I: Index>(job: &Spmm<'_, I>, rows: usize, dense: &TwoSided<'_>) -> Vec<f32> {
    let (k, m) = (job.d, dense.bias.len());
    let width = dense.head.map_or(m, |(_, bias)| bias.len());
    let mut out: Vec<f32> = Vec::with_capacity(rows * width);
    if rows == 0 || width == 0 {
        return out;
    }
    // Block boundaries spread evenly, so no block is a short remainder.
    let blocks = (rows / LINEAR_ROWS_PER_BLOCK).max(1);
    let bound = |b: usize| b * rows / blocks;
    let mut parts = Vec::with_capacity(blocks);
    let mut rest = &mut out.spare_capacity_mut()[..rows * width];
    for b in 0..blocks {
        let (part, tail) = rest.split_at_mut((bound(b + 1) - bound(b)) * width);
        parts.push((bound(b), part));
        rest = tail;
    }
    parts.into_par_iter().for_each(|(first, part)| {
        let r = part.len() / width;
        // SAFETY: `spmm_rows` writes every value of the rows it is given (there are none when
        // k = 0).
        #[allow(unsafe_code)]
        let aggregate = unsafe {
            filled(r * k, |buffer| {
                if k > 0 {
                    spmm_rows(job, first, buffer);
                }
            })
        };
        let own = &dense.x_dst[first * k..(first + r) * k];
        let layer = |out: &mut [MaybeUninit<f32>], relu: bool| {
            let terms = [(own, dense.w_root), (&aggregate[..], dense.w_neigh)];
            dense::linear_block(out, &terms, (dense.bias, relu), [r, m])
        };
        match dense.head {
            None => layer(part, dense.relu),
            Some((w, bias)) => {
                // SAFETY: `linear_block` writes every value of its output.
                #[allow(unsafe_code)]
                let hidden = unsafe { filled(r * m, |buffer| layer(buffer, true)) };
                dense::linear_block(part, &[(&hidden, w)], (bias, false), [r, width]);
            }
        }
    });
    // SAFETY: the parts cover the first rows · width values and each part is written whole.
    #[allow(unsafe_code)]
    unsafe {
        out.set_len(rows * width);
    }
    out
}

/// A `len`-long buffer, filled by `fill`.
///
/// # Safety
/// `fill` must write every value of the slice it is given.
#[allow(unsafe_code)]
unsafe fn filled(len: usize, fill: impl FnOnce(&mut [MaybeUninit<f32>])) -> Vec<f32> {
    let mut buffer: Vec<f32> = Vec::with_capacity(len);
    fill(&mut buffer.spare_capacity_mut()[..len]);
    // SAFETY: `fill` has written every value, as the caller vouches.
    unsafe {
        buffer.set_len(len);
    }
    buffer
}

fn sddmm<I: Index>(job: &Sddmm<'_, I>, nnz: usize) -> Vec<f32> {
    let heads = job.heads;
    let per_task = 16 * ROWS_PER_TASK;
    let mut by_position = vec![0f32; nnz * heads];
    if heads > 0 {
        by_position
            .par_chunks_mut(heads * per_task)
            .enumerate()
            .for_each(|(task, block)| sddmm_positions(job, task * per_task, block));
    }
    // Placed by edge id, which is the position itself in a forward CSR.
    let edge = job.csr.edge;
    if edge.iter().enumerate().all(|(p, &e)| e.at() == p) {
        return by_position;
    }
    let mut out = vec![0f32; nnz * heads];
    for (p, &e) in edge.iter().enumerate() {
        let e = e.at();
        out[e * heads..(e + 1) * heads].copy_from_slice(&by_position[p * heads..(p + 1) * heads]);
    }
    out
}

/// Runs `row(i, edges of row i, its outputs by position, its own output)` for every row, by
/// blocks of rows in parallel, into `[nnz, heads]` values placed by edge followed, with
/// `with_self`, by `[rows, heads]` values for the rows' own entries: the layout of
/// [`SparseOps::segment_softmax`].
fn by_segments<I: Index>(
    csr: &Slices<'_, I>,
    rows: usize,
    heads: usize,
    with_self: bool,
    row: impl Fn(usize, &[I], &mut [f32], &mut [f32]) + Sync,
) -> Vec<f32> {
    let nnz = csr.col.len();
    let own_width = if with_self { heads } else { 0 };
    let mut out = vec![0f32; nnz * heads + rows * own_width];
    let (mut positions, mut own) = out.split_at_mut(nnz * heads);
    let mut blocks = Vec::with_capacity(rows.div_ceil(ROWS_PER_TASK));
    for first in (0..rows).step_by(ROWS_PER_TASK) {
        let last = (first + ROWS_PER_TASK).min(rows);
        let span = csr.ptr[last].at() - csr.ptr[first].at();
        let (block, rest) = std::mem::take(&mut positions).split_at_mut(span * heads);
        let (own_block, own_rest) =
            std::mem::take(&mut own).split_at_mut((last - first) * own_width);
        (positions, own) = (rest, own_rest);
        blocks.push((first..last, block, own_block));
    }
    blocks
        .into_par_iter()
        .for_each(|(range, block, own_block)| {
            let base = csr.ptr[range.start].at();
            for i in range.clone() {
                let (start, end) = (csr.ptr[i].at(), csr.ptr[i + 1].at());
                let k = i - range.start;
                row(
                    i,
                    &csr.edge[start..end],
                    &mut block[(start - base) * heads..(end - base) * heads],
                    &mut own_block[k * own_width..(k + 1) * own_width],
                );
            }
        });
    // Placed by edge, which is the position itself in a forward CSR.
    if csr.edge.iter().enumerate().all(|(p, &e)| e.at() == p) {
        return out;
    }
    let mut placed = out.clone();
    for (p, &e) in csr.edge.iter().enumerate() {
        let e = e.at();
        placed[e * heads..(e + 1) * heads].copy_from_slice(&out[p * heads..(p + 1) * heads]);
    }
    placed
}

/// Evaluates `body` with `$slices` bound to `$csr`'s index slices in their integer type.
macro_rules! by_index_type {
    ($csr:ident, |$slices:ident| $body:expr) => {
        if $csr.ptr.dtype() == DType::I64 {
            let $slices = $csr.slices::<i64>();
            $body
        } else {
            let $slices = $csr.slices::<i32>();
            $body
        }
    };
}

fn floats(t: &FlexTensor) -> &[f32] {
    t.as_slice::<f32>().expect("contiguous f32")
}

impl SparseOps for Flex {
    fn spmm(
        csr: Csr<Flex>,
        weight: FlexTensor,
        x: FlexTensor,
        diagonal: Diagonal<Flex>,
    ) -> FlexTensor {
        let diagonal = diagonal.values();
        let all_f32 = [Some(&x), Some(&weight), diagonal.as_ref()]
            .into_iter()
            .flatten()
            .all(|t| t.dtype() == DType::F32);
        if !all_f32 {
            return spmm_composed::<Flex>(csr, weight, x, diagonal);
        }
        let rows = csr.rows;
        let ([num_cols, d], [_, heads]) = (dims2(&x), dims2(&weight));
        if let Some(diagonal) = &diagonal {
            assert_eq!(num_cols, rows, "a diagonal needs as many columns as rows");
            assert_eq!(
                dims2(diagonal),
                [rows, heads],
                "one diagonal value per row and head"
            );
        }
        let (x, weight, csr) = (contiguous(x), contiguous(weight), FlexCsr::new(csr));
        let diagonal = diagonal.map(contiguous);
        let (x, weight) = (floats(&x), floats(&weight));
        let out = by_index_type!(csr, |csr| spmm(
            &Spmm {
                csr,
                x,
                weight,
                diagonal: diagonal.as_ref().map(floats),
                d,
                heads,
            },
            rows
        ));
        FlexTensor::from_data(TensorData::new(out, [rows, d]))
    }

    fn spmm_linear(
        adj: Adjacency<Flex>,
        weight: FlexTensor,
        x_src: FlexTensor,
        x_dst: FlexTensor,
        weights: SageWeights<Flex>,
        then: Epilogue<Flex>,
    ) -> FlexTensor {
        let csr = adj.forward;
        let ([_, k], [_, heads], [_, m]) = (dims2(&x_src), dims2(&weight), dims2(&weights.neigh));
        let SageWeights { neigh, root, bias } = weights;
        let head = match &then {
            Epilogue::ReluLinear(w, b) => Some((w.clone(), b.clone())),
            Epilogue::None | Epilogue::Relu => None,
        };
        let all_f32 = [&weight, &x_src, &x_dst, &neigh, &root, &bias]
            .into_iter()
            .chain(head.iter().flat_map(|(w, b)| [w, b]))
            .all(|t| t.dtype() == DType::F32);
        if !all_f32 || heads != 1 {
            let weights = SageWeights { neigh, root, bias };
            return spmm_linear_composed::<Flex>(csr, weight, x_src, x_dst, weights, then);
        }
        let rows = csr.rows;
        assert!(
            dims2(&x_dst) == [rows, k] && dims2(&root) == [k, m] && bias.shape()[0] == m,
            "spmm_linear: x_dst [rows, k], root and neigh [k, m], bias [m]"
        );
        let width = match &head {
            Some((w, b)) => {
                let [_, c] = dims2(w);
                assert!(
                    dims2(w) == [m, c] && b.shape()[0] == c,
                    "spmm_linear: output layer weight [m, c], bias [c]"
                );
                c
            }
            None => m,
        };
        let [x_src, weight, x_dst, neigh, root, bias] =
            [x_src, weight, x_dst, neigh, root, bias].map(contiguous);
        let head = head.map(|(w, b)| (contiguous(w), contiguous(b)));
        let csr = FlexCsr::new(csr);
        let dense = TwoSided {
            x_dst: floats(&x_dst),
            w_root: floats(&root),
            w_neigh: floats(&neigh),
            bias: floats(&bias),
            relu: !matches!(then, Epilogue::None),
            head: head.as_ref().map(|(w, b)| (floats(w), floats(b))),
        };
        let out = by_index_type!(csr, |csr| spmm_linear(
            &Spmm {
                csr,
                x: floats(&x_src),
                weight: floats(&weight),
                diagonal: None,
                d: k,
                heads: 1,
            },
            rows,
            &dense
        ));
        FlexTensor::from_data(TensorData::new(out, [rows, width]))
    }

    fn segment_softmax(csr: Csr<Flex>, logits: FlexTensor, with_self: bool) -> FlexTensor {
        if logits.dtype() != DType::F32 {
            return segment_softmax_composed::<Flex>(csr, logits, with_self);
        }
        let (rows, [total, heads]) = (csr.rows, dims2(&logits));
        let nnz = csr.col.shape()[0];
        let (logits, csr) = (contiguous(logits), FlexCsr::new(csr));
        let logits = floats(&logits);
        let out = by_index_type!(csr, |csr| by_segments(
            &csr,
            rows,
            heads,
            with_self,
            |i, edges, out, own_out| for h in 0..heads {
                let logit = |e: usize| logits[e * heads + h];
                let own = with_self.then(|| logit(nnz + i));
                let max = edges
                    .iter()
                    .map(|e| logit(e.at()))
                    .chain(own)
                    .fold(f32::NEG_INFINITY, f32::max);
                let mut sum = 0.0;
                for (k, e) in edges.iter().enumerate() {
                    let v = (logit(e.at()) - max).exp();
                    out[k * heads + h] = v;
                    sum += v;
                }
                let own = own.map(|own| (own - max).exp());
                sum += own.unwrap_or(0.0);
                for k in 0..edges.len() {
                    out[k * heads + h] /= sum;
                }
                if let Some(own) = own {
                    own_out[h] = own / sum;
                }
            }
        ));
        FlexTensor::from_data(TensorData::new(out, [total, heads]))
    }

    fn segment_softmax_backward(
        csr: Csr<Flex>,
        alpha: FlexTensor,
        grad: FlexTensor,
        with_self: bool,
    ) -> FlexTensor {
        if alpha.dtype() != DType::F32 || grad.dtype() != DType::F32 {
            return segment_softmax_backward_composed::<Flex>(csr, alpha, grad, with_self);
        }
        let (rows, [total, heads]) = (csr.rows, dims2(&alpha));
        let nnz = csr.col.shape()[0];
        let (alpha, grad, csr) = (contiguous(alpha), contiguous(grad), FlexCsr::new(csr));
        let (alpha, grad) = (floats(&alpha), floats(&grad));
        let out = by_index_type!(csr, |csr| by_segments(
            &csr,
            rows,
            heads,
            with_self,
            |i, edges, out, own_out| for h in 0..heads {
                let at = |e: usize| e * heads + h;
                let own = with_self.then(|| at(nnz + i));
                let sum: f32 = edges
                    .iter()
                    .map(|e| at(e.at()))
                    .chain(own)
                    .map(|k| alpha[k] * grad[k])
                    .sum();
                for (k, e) in edges.iter().enumerate() {
                    let e = at(e.at());
                    out[k * heads + h] = alpha[e] * (grad[e] - sum);
                }
                if let Some(own) = own {
                    own_out[h] = alpha[own] * (grad[own] - sum);
                }
            }
        ));
        FlexTensor::from_data(TensorData::new(out, [total, heads]))
    }

    fn sddmm(csr: Csr<Flex>, a: FlexTensor, b: FlexTensor, heads: usize) -> FlexTensor {
        if a.dtype() != DType::F32 || b.dtype() != DType::F32 {
            return sddmm_composed::<Flex>(csr, a, b, heads);
        }
        let [_, d] = dims2(&a);
        let nnz = csr.col.shape()[0];
        let (a, b, csr) = (contiguous(a), contiguous(b), FlexCsr::new(csr));
        let (a, b) = (floats(&a), floats(&b));
        let out = by_index_type!(csr, |csr| sddmm(
            &Sddmm {
                csr,
                a,
                b,
                d,
                heads
            },
            nnz
        ));
        FlexTensor::from_data(TensorData::new(out, [nnz, heads]))
    }
}
