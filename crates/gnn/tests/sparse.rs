//! The sparse products against the same sums written with `select` + `select_assign`, which
//! burn differentiates itself: values, the gradient for `x` and the gradient for the weights.

use burn::prelude::*;
use burn::tensor::FloatDType;
use ringscope_gnn::graph::matrix;
use ringscope_gnn::mp::{Epilogue, edge_softmax_with_self_loops, scatter_mean, scatter_sum};
use ringscope_gnn::{Aggregation, EdgeIndex};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_within(1e-5, a, b, what);
}

/// `a` within `tolerance` of `b`, relative (plus `tolerance` absolute), element by element.
fn assert_within(tolerance: f32, a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tolerance * (1.0 + y.abs()),
            "{what}[{i}]: {x} vs {y}"
        );
    }
}

fn pseudo_random(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| (((i as u32).wrapping_mul(2_654_435_761) ^ seed) % 1000) as f32 / 500.0 - 1.0)
        .collect()
}

/// A bipartite relation, 7 sources → 5 destinations: unsorted, with a repeated edge, a
/// destination without edges (3) and a source without edges (6).
fn relation(device: &Device) -> EdgeIndex {
    let src = [4u32, 0, 1, 1, 5, 2, 0, 3, 0, 2];
    let dst = [0u32, 2, 4, 4, 1, 0, 2, 1, 4, 0];
    EdgeIndex::new(&src, &dst, 7, 5, device)
}

/// `Σ_{e: dst e = i} weight[e, h] · x[src e, h·c..]` with differentiable gather and scatter.
fn reference(e: &EdgeIndex, x: Tensor<2>, weight: Tensor<2>) -> Tensor<2> {
    let [_, d] = x.dims();
    let [num_edges, heads] = weight.dims();
    let msgs = x
        .select(0, e.src.clone())
        .reshape([num_edges, heads, d / heads])
        * weight.unsqueeze_dim::<3>(2);
    scatter_sum(msgs.reshape([num_edges, d]), &e.dst, e.num_dst)
}

#[test]
fn edges_are_stored_in_destination_order_with_their_sources() {
    let e = relation(&Device::flex());
    let ints = |t: Tensor<1, Int>| t.into_data().convert::<i64>().try_to_vec::<i64>().unwrap();
    let (src, dst) = (ints(e.src.clone()), ints(e.dst.clone()));
    assert!(dst.windows(2).all(|w| w[0] <= w[1]), "{dst:?}");
    let mut pairs: Vec<(i64, i64)> = src.into_iter().zip(dst).collect();
    pairs.sort();
    let mut expected = vec![
        (4, 0),
        (0, 2),
        (1, 4),
        (1, 4),
        (5, 1),
        (2, 0),
        (0, 2),
        (3, 1),
        (0, 4),
        (2, 0),
    ];
    expected.sort();
    assert_eq!(pairs, expected);
    assert_eq!(values(e.in_degree.clone()), vec![3.0, 2.0, 2.0, 0.0, 3.0]);
    assert_eq!(
        values(e.out_degree.clone()),
        vec![3.0, 2.0, 2.0, 1.0, 1.0, 1.0, 0.0]
    );
}

#[test]
fn propagate_matches_gather_scatter_in_value_and_gradients() {
    let device = Device::flex().autodiff();
    let e = relation(&device);
    // Widths below, at and past the kernels' 8-lane blocks; one head at each register width
    // (8, 16, 32, 64), with several blocks per row (48, 96, 128) and with a last block that
    // overlaps the one before (10, 20, 57, 100).
    for (heads, d) in [
        (1, 3),
        (2, 4),
        (4, 8),
        (2, 36),
        (1, 8),
        (1, 10),
        (1, 20),
        (1, 48),
        (1, 57),
        (1, 64),
        (1, 96),
        (1, 100),
        (1, 128),
    ] {
        let x_values = pseudo_random(7 * d, 17 + heads as u32);
        let w_values = pseudo_random(10 * heads, 91 * d as u32);
        let inputs = || {
            (
                matrix(x_values.clone(), 7, d, &device).require_grad(),
                matrix(w_values.clone(), 10, heads, &device).require_grad(),
            )
        };
        // A non-uniform upstream gradient, so every output element's gradient is distinct.
        let probe = matrix(pseudo_random(5 * d, 5), 5, d, &device);
        let (x, w) = inputs();
        let out = e.propagate(x.clone(), w.clone());
        let grads = (out.clone() * probe.clone()).sum().backward();
        let (rx, rw) = inputs();
        let expected = reference(&e, rx.clone(), rw.clone());
        let expected_grads = (expected.clone() * probe).sum().backward();
        let what = format!("heads {heads}, d {d}");
        assert_close(&values(out), &values(expected), &format!("{what}: value"));
        assert_close(
            &values(x.grad(&grads).unwrap()),
            &values(rx.grad(&expected_grads).unwrap()),
            &format!("{what}: x gradient"),
        );
        assert_close(
            &values(w.grad(&grads).unwrap()),
            &values(rw.grad(&expected_grads).unwrap()),
            &format!("{what}: weight gradient"),
        );
    }
}

#[test]
fn sum_and_mean_aggregation_match_the_scatter_reductions() {
    let device = Device::flex();
    let e = relation(&device);
    let x = matrix(pseudo_random(7 * 3, 3), 7, 3, &device);
    let msgs = x.clone().select(0, e.src.clone());
    assert_close(
        &values(e.aggregate(x.clone(), Aggregation::Sum)),
        &values(scatter_sum(msgs.clone(), &e.dst, 5)),
        "sum",
    );
    let mean = values(e.aggregate(x, Aggregation::Mean));
    assert_close(
        &mean,
        &values(scatter_mean(msgs, &e.dst, &e.in_degree)),
        "mean",
    );
    assert_eq!(&mean[9..12], &[0.0, 0.0, 0.0], "no incoming edges, mean 0");
}

#[test]
fn propagate_over_no_edges_is_zero() {
    let device = Device::flex().autodiff();
    let e = EdgeIndex::new(&[], &[], 3, 2, &device);
    let x = matrix(vec![1.0; 6], 3, 2, &device).require_grad();
    let out = e.propagate(x.clone(), Tensor::zeros([0, 1], &device));
    assert_eq!(values(out.clone()), vec![0.0; 4]);
    let grads = out.sum().backward();
    assert_eq!(values(x.grad(&grads).unwrap()), vec![0.0; 6]);
}

/// GCN's propagation with self-loops, written out on the host: `Σ_{j→i} x_j / sqrt(d̂_j d̂_i) +
/// x_i / d̂_i` with `d̂ = in-degree + 1`.
fn gcn_reference(src: &[u32], dst: &[u32], x: &[f32], n: usize, d: usize) -> Vec<f32> {
    let mut degree = vec![1f32; n];
    dst.iter().for_each(|&i| degree[i as usize] += 1.0);
    let mut out: Vec<f32> = (0..n * d).map(|k| x[k] / degree[k / d]).collect();
    for (&j, &i) in src.iter().zip(dst) {
        let (i, j) = (i as usize, j as usize);
        let w = 1.0 / (degree[i] * degree[j]).sqrt();
        for k in 0..d {
            out[i * d + k] += w * x[j * d + k];
        }
    }
    out
}

#[test]
fn self_loops_are_summed_with_the_edges_in_value_and_gradient() {
    let device = Device::flex().autodiff();
    // 6 nodes: a repeated edge, a node without incoming edges (5), one without outgoing (4).
    let src = [0u32, 1, 2, 2, 3, 0, 1, 5, 5, 3, 3];
    let dst = [1u32, 0, 0, 0, 4, 2, 2, 3, 1, 2, 4];
    let e = EdgeIndex::new(&src, &dst, 6, 6, &device);
    // Rows fused in the register loop (10, 64) and in the memory loop (3); the last two rows
    // alone through the rows-only path, which adds the self-loops apart.
    let rows = EdgeIndex::into_rows(&src, &dst, 6, 6, &[5, 2], &device);
    for d in [3, 10, 64] {
        let x_values = pseudo_random(6 * d, d as u32);
        let expected = gcn_reference(&src, &dst, &x_values, 6, d);
        let x = matrix(x_values.clone(), 6, d, &device).require_grad();
        let out = e.propagate_with_self_loops(x.clone());
        assert_close(&values(out.clone()), &expected, &format!("d {d}: value"));
        let picked: Vec<f32> = [5, 2]
            .iter()
            .flat_map(|&i| expected[i * d..(i + 1) * d].to_vec())
            .collect();
        assert_close(
            &values(rows.propagate_with_self_loops(x.clone())),
            &picked,
            &format!("d {d}: rows"),
        );
        // The gradient for x against the same sum composed from select and scatter.
        let probe = matrix(pseudo_random(6 * d, 7), 6, d, &device);
        let grads = (out * probe.clone()).sum().backward();
        let rx = matrix(x_values, 6, d, &device).require_grad();
        let own = rx.clone() / (e.in_degree.clone() + 1.0).unsqueeze_dim::<2>(1);
        let composed = reference(&e, rx.clone(), e.self_loop_norm()) + own;
        let expected_grads = (composed * probe).sum().backward();
        assert_close(
            &values(x.grad(&grads).unwrap()),
            &values(rx.grad(&expected_grads).unwrap()),
            &format!("d {d}: x gradient"),
        );
    }
}

/// `SparseOps::spmm_linear` on flex sums its products block by block; its values must be those
/// of the differentiable composition (the training path) bit for bit: over several blocks, a
/// node without incoming edges, widths below and above the register blocks, mean and sum, a
/// rows-only index whose rows are not its sources, and with each epilogue (ReLU, ReLU and an
/// output layer of 3 columns).
#[test]
fn spmm_linear_in_blocks_equals_the_differentiable_composition() {
    let (plain, tracked) = (Device::flex(), Device::flex().autodiff());
    let n = 1100;
    let hash = |i: usize, salt: usize| (i.wrapping_mul(2_654_435_761) ^ salt) % n;
    // Node 7 has no incoming edges.
    let (src, dst): (Vec<u32>, Vec<u32>) = (0..6000)
        .map(|i| (hash(i, 17) as u32, hash(i, 91) as u32))
        .filter(|&(_, d)| d != 7)
        .unzip();
    let rows: Vec<u32> = (0..n as u32).filter(|r| r % 2 == 0).collect();
    for (k, m) in [(3, 5), (10, 64), (64, 64)] {
        for aggregation in [Aggregation::Mean, Aggregation::Sum] {
            let cases = [
                (None, 0),
                (Some(&rows), 0),
                (None, 1),
                (None, 2),
                (Some(&rows), 2),
            ];
            for (subset, epilogue) in cases {
                let out_rows = subset.map_or(n, |r| r.len());
                let run = |device: &Device, track: bool| {
                    let e = match subset {
                        Some(r) => EdgeIndex::into_rows(&src, &dst, n, n, r, device),
                        None => EdgeIndex::new(&src, &dst, n, n, device),
                    };
                    let t = |v: Vec<f32>, r: usize, c: usize| {
                        let t = matrix(v, r, c, device);
                        if track { t.require_grad() } else { t }
                    };
                    let x_src = t(pseudo_random(n * k, 1), n, k);
                    let x_dst = t(pseudo_random(out_rows * k, 2), out_rows, k);
                    let w_neigh = t(pseudo_random(k * m, 3), k, m);
                    let w_root = t(pseudo_random(k * m, 4), k, m);
                    let bias = t(pseudo_random(m, 5), 1, m).reshape([m]);
                    let weights = (w_neigh.clone(), w_root.clone(), bias);
                    let then = match epilogue {
                        0 => Epilogue::None,
                        1 => Epilogue::Relu,
                        _ => Epilogue::ReluLinear(
                            t(pseudo_random(m * 3, 6), m, 3),
                            t(pseudo_random(3, 7), 1, 3).reshape([3]),
                        ),
                    };
                    let out = e.aggregate_linear(
                        (x_src.clone(), aggregation),
                        x_dst.clone(),
                        weights,
                        then,
                    );
                    let grads = track.then(|| out.clone().sum().backward());
                    let gradient_sizes = grads.map(|g| {
                        [x_src, w_neigh, x_dst, w_root]
                            .map(|p| values(p.grad(&g).unwrap()).iter().map(|v| v.abs()).sum())
                    });
                    (values(out), gradient_sizes)
                };
                let what =
                    format!("k {k}, m {m}, {aggregation:?}, rows {out_rows}, epilogue {epilogue}");
                let (fused, _) = run(&plain, false);
                let (composed, gradients) = run(&tracked, true);
                let width = if epilogue == 2 { 3 } else { m };
                assert_eq!(fused.len(), out_rows * width, "{what}");
                assert!(
                    fused == composed,
                    "{what}: the blocks differ from the composition"
                );
                let gradients: [f32; 4] = gradients.unwrap();
                assert!(gradients.iter().all(|&g| g > 0.0), "{what}: {gradients:?}");
            }
        }
    }
}

/// The coefficients and both scores' gradients of a softmax with self-loops: by
/// [`EdgeIndex::softmax_with_self_loops`] (the segment kernel) with `segment`, otherwise by
/// [`edge_softmax_with_self_loops`] (gather, scatter-max and scatter-sum, differentiated by
/// burn). The objective weights every coefficient by a probe, so no gradient cancels.
fn softmax_run(e: &EdgeIndex, heads: usize, segment: bool, device: &Device) -> [Vec<f32>; 4] {
    softmax_run_in(e, heads, segment, FloatDType::F32, device)
}

/// [`softmax_run`] on scores of `dtype`: in f64, flex's segment softmax falls back to the
/// default composed from burn's operations, which backends without a kernel run.
fn softmax_run_in(
    e: &EdgeIndex,
    heads: usize,
    segment: bool,
    dtype: FloatDType,
    device: &Device,
) -> [Vec<f32>; 4] {
    let (edges, rows) = (e.num_edges(), e.num_dst);
    let scores = matrix(pseudo_random(edges * heads, 41), edges, heads, device)
        .cast(dtype)
        .require_grad();
    // Self scores from 7 apart, so some rows' maximum is their own score and some an edge's.
    let own: Vec<f32> = pseudo_random(rows * heads, 43)
        .iter()
        .map(|v| 7.0 * v)
        .collect();
    let own = matrix(own, rows, heads, device).cast(dtype).require_grad();
    let (alpha, alpha_own) = if segment {
        e.softmax_with_self_loops(scores.clone(), own.clone())
    } else {
        edge_softmax_with_self_loops(scores.clone(), own.clone(), &e.dst)
    };
    let probe =
        |n: usize, seed: u32| matrix(pseudo_random(n * heads, seed), n, heads, device).cast(dtype);
    let objective =
        (alpha.clone() * probe(edges, 47)).sum() + (alpha_own.clone() * probe(rows, 53)).sum();
    let grads = objective.backward();
    [
        values(alpha),
        values(alpha_own),
        values(scores.grad(&grads).unwrap()),
        values(own.grad(&grads).unwrap()),
    ]
}

/// The segment softmax (flex's row loops, and the composed default in f64) against the
/// gather-scatter one, whole-graph and rows-only, with a destination that has no edges: each
/// row's coefficients sum to 1.
#[test]
fn segment_softmax_matches_gather_scatter_in_value_and_gradient() {
    let device = Device::flex().autodiff();
    let src = [4u32, 0, 1, 1, 5, 2, 0, 3, 0, 2, 6];
    let dst = [0u32, 2, 4, 4, 1, 0, 2, 1, 4, 0, 6];
    for heads in [1, 3] {
        let indices = [
            EdgeIndex::new(&src, &dst, 7, 7, &device),
            EdgeIndex::into_rows(&src, &dst, 7, 7, &[4, 3, 0], &device),
        ];
        for e in &indices {
            let segment = softmax_run(e, heads, true, &device);
            let reference = softmax_run(e, heads, false, &device);
            let composed = softmax_run_in(e, heads, true, FloatDType::F64, &device);
            let names = [
                "edge coefficients",
                "own coefficients",
                "edge gradient",
                "own gradient",
            ];
            for (((a, b), c), name) in segment.iter().zip(&reference).zip(&composed).zip(names) {
                let what = format!("heads {heads}, rows {}: {name}", e.num_dst);
                assert_close(a, b, &what);
                assert_close(c, b, &format!("{what}, composed in f64"));
            }
            // Per row and head the coefficients (edges and own) sum to 1.
            let mut sums = segment[1].clone();
            let dst = e
                .dst
                .clone()
                .into_data()
                .convert::<i64>()
                .try_to_vec::<i64>()
                .unwrap();
            for (k, &d) in dst.iter().enumerate() {
                for h in 0..heads {
                    sums[d as usize * heads + h] += segment[0][k * heads + h];
                }
            }
            assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5), "{sums:?}");
            assert!(
                segment[2].iter().any(|g| g.abs() > 1e-3),
                "edge gradient is zero"
            );
        }
    }
}

/// The wgpu device (lavapipe in CI), or `None` with a note when there is no adapter, unless
/// `RINGSCOPE_REQUIRE_GPU=1` (CI sets it).
#[cfg(feature = "wgpu")]
fn wgpu_or_skip() -> Option<Device> {
    match ringscope_gnn::device::open(ringscope_gnn::DeviceChoice::Wgpu) {
        Ok(device) => Some(device),
        Err(e) => {
            assert!(
                std::env::var("RINGSCOPE_REQUIRE_GPU").is_err(),
                "RINGSCOPE_REQUIRE_GPU is set but: {e}"
            );
            eprintln!("skipping: {e}");
            None
        }
    }
}

/// `wgpu` (values from the kernels) within 1e-4 relative of `cpu`: the summation orders differ
/// between the backends.
#[cfg(feature = "wgpu")]
fn wgpu_close(wgpu: &[f32], cpu: &[f32], what: &str) {
    assert_within(1e-4, wgpu, cpu, &format!("{what} (wgpu vs cpu)"));
}

/// A random relation of `n` nodes: rows without edges (every node divisible by 5 receives
/// none), and node 1 receiving `hub` edges, far more than a cube of units or a plane.
#[cfg(feature = "wgpu")]
fn random_relation(n: usize, edges: usize, hub: usize) -> (Vec<u32>, Vec<u32>) {
    let hash = |i: usize, salt: usize| (i.wrapping_mul(2_654_435_761) ^ salt) % n;
    (0..edges)
        .map(|i| (hash(i, 17) as u32, hash(i, 91) as u32))
        .filter(|&(_, d)| d % 5 != 0)
        .chain((0..hub).map(|i| (hash(i, 5) as u32, 1)))
        .unzip()
}

/// The CubeCL kernels (`spmm`, its backward over the transposed CSR, `sddmm` for the weights)
/// against flex's CSR loops: values and both gradients, for several head counts and widths,
/// with empty rows and a row of 5,000 edges. Tolerance: 1e-4 relative (the summation orders
/// differ between the backends).
#[test]
#[cfg(feature = "wgpu")]
fn wgpu_kernels_equal_the_cpu_path_on_random_graphs() {
    let Some(gpu) = wgpu_or_skip() else { return };
    let (gpu, cpu) = (gpu.autodiff(), Device::flex().autodiff());
    let n = 700;
    let (src, dst) = random_relation(n, 6000, 5000);
    let edges = src.len();
    for (heads, d) in [(1, 1), (1, 7), (1, 64), (2, 6), (4, 64), (8, 128)] {
        let x_values = pseudo_random(n * d, 3 + d as u32);
        let w_values = pseudo_random(edges * heads, 11 * heads as u32);
        let probe_values = pseudo_random(n * d, 29);
        let run = |device: &Device| {
            let e = EdgeIndex::new(&src, &dst, n, n, device);
            let x = matrix(x_values.clone(), n, d, device).require_grad();
            let w = matrix(w_values.clone(), edges, heads, device).require_grad();
            let out = e.propagate(x.clone(), w.clone());
            let probe = matrix(probe_values.clone(), n, d, device);
            let grads = (out.clone() * probe).sum().backward();
            (
                values(out),
                values(x.grad(&grads).unwrap()),
                values(w.grad(&grads).unwrap()),
            )
        };
        let (g, c) = (run(&gpu), run(&cpu));
        let what = format!("heads {heads}, d {d}");
        wgpu_close(&g.0, &c.0, &format!("{what}: value"));
        wgpu_close(&g.1, &c.1, &format!("{what}: x gradient"));
        wgpu_close(&g.2, &c.2, &format!("{what}: weight gradient"));
        // The empty rows are exactly zero, and the hub row is not.
        assert!(g.0[5 * d..6 * d].iter().all(|&v| v == 0.0), "{what}: row 5");
        assert!(g.0[d..2 * d].iter().any(|&v| v != 0.0), "{what}: hub row");
    }
}

/// The kernels' gradients against finite differences on wgpu: the product is linear in `x`
/// and in the weights, so a central difference is exact up to rounding.
#[test]
#[cfg(feature = "wgpu")]
fn wgpu_kernel_gradients_agree_with_finite_differences() {
    let Some(gpu) = wgpu_or_skip() else { return };
    let (plain, tracked) = (gpu.clone(), gpu.autodiff());
    let (n, d, heads) = (40, 6, 2);
    let (src, dst) = random_relation(n, 160, 30);
    let edges = src.len();
    let x_values = pseudo_random(n * d, 1);
    let w_values = pseudo_random(edges * heads, 2);
    let probe_values = pseudo_random(n * d, 3);
    let objective = |device: &Device, x: &[f32], w: &[f32]| -> Tensor<1> {
        let e = EdgeIndex::new(&src, &dst, n, n, device);
        let out = e.propagate(
            matrix(x.to_vec(), n, d, device),
            matrix(w.to_vec(), edges, heads, device),
        );
        (out * matrix(probe_values.clone(), n, d, device)).sum()
    };
    let e = EdgeIndex::new(&src, &dst, n, n, &tracked);
    let x = matrix(x_values.clone(), n, d, &tracked).require_grad();
    let w = matrix(w_values.clone(), edges, heads, &tracked).require_grad();
    let out = e.propagate(x.clone(), w.clone());
    let grads = (out * matrix(probe_values.clone(), n, d, &tracked))
        .sum()
        .backward();
    let (gx, gw) = (
        values(x.grad(&grads).unwrap()),
        values(w.grad(&grads).unwrap()),
    );
    let eps = 0.05;
    let difference = |x: &[f32], w: &[f32], x2: &[f32], w2: &[f32]| {
        let (hi, lo) = (
            values(objective(&plain, x, w))[0],
            values(objective(&plain, x2, w2))[0],
        );
        (hi - lo) / (2.0 * eps)
    };
    // `values` moved by ±eps at `k`.
    let nudged = |values: &[f32], k: usize| {
        let (mut hi, mut lo) = (values.to_vec(), values.to_vec());
        hi[k] += eps;
        lo[k] -= eps;
        (hi, lo)
    };
    let mut checked = 0;
    let mut check = |what: &str, k: usize, fd: f32, analytic: f32| {
        assert!(
            (fd - analytic).abs() <= 2e-3 * (1.0 + fd.abs()),
            "{what}[{k}]: {fd} vs {analytic}"
        );
        checked += 1;
    };
    for k in (0..n * d).step_by(7) {
        let (hi, lo) = nudged(&x_values, k);
        check("x", k, difference(&hi, &w_values, &lo, &w_values), gx[k]);
    }
    for k in (0..edges * heads).step_by(5) {
        let (hi, lo) = nudged(&w_values, k);
        check("w", k, difference(&x_values, &hi, &x_values, &lo), gw[k]);
    }
    assert!(checked > 60);
}

/// The segment softmax kernels (coefficients and their backward pass) and SAGE's fused
/// epilogue on wgpu against flex, on a random graph with empty rows and a row of 5,000 edges.
#[test]
#[cfg(feature = "wgpu")]
fn wgpu_softmax_and_sage_epilogue_equal_the_cpu_path() {
    let Some(gpu) = wgpu_or_skip() else { return };
    let n = 700;
    let (src, dst) = random_relation(n, 6000, 5000);
    let rows: Vec<u32> = (0..n as u32).filter(|r| r % 3 != 0).collect();
    for heads in [1, 4] {
        for subset in [None, Some(&rows)] {
            let index = |device: &Device| match subset {
                Some(r) => EdgeIndex::into_rows(&src, &dst, n, n, r, device),
                None => EdgeIndex::new(&src, &dst, n, n, device),
            };
            let (g_device, c_device) = (gpu.clone().autodiff(), Device::flex().autodiff());
            let g = softmax_run(&index(&g_device), heads, true, &g_device);
            let c = softmax_run(&index(&c_device), heads, true, &c_device);
            let names = [
                "edge coefficients",
                "own coefficients",
                "edge gradient",
                "own gradient",
            ];
            for ((a, b), name) in g.iter().zip(&c).zip(names) {
                wgpu_close(
                    a,
                    b,
                    &format!("heads {heads}, subset {}: {name}", subset.is_some()),
                );
            }
        }
    }
    let (k, m) = (10, 64);
    for epilogue in 0..3 {
        let run = |device: &Device| {
            let e = EdgeIndex::new(&src, &dst, n, n, device);
            let t =
                |seed: u32, r: usize, c: usize| matrix(pseudo_random(r * c, seed), r, c, device);
            let bias = t(5, 1, m).reshape([m]);
            let then = match epilogue {
                0 => Epilogue::None,
                1 => Epilogue::Relu,
                _ => Epilogue::ReluLinear(t(6, m, 3), t(7, 1, 3).reshape([3])),
            };
            let out = e.aggregate_linear(
                (t(1, n, k), Aggregation::Mean),
                t(2, n, k),
                (t(3, k, m), t(4, k, m), bias),
                then,
            );
            values(out)
        };
        let (g, c) = (run(&gpu), run(&Device::flex()));
        wgpu_close(&g, &c, &format!("sage epilogue {epilogue}"));
        if epilogue == 1 {
            assert!(g.iter().all(|&v| v >= 0.0) && g.contains(&0.0));
        }
    }
}

/// The segment softmax's gradient on wgpu against central differences of the coefficients.
#[test]
#[cfg(feature = "wgpu")]
fn wgpu_softmax_gradient_agrees_with_finite_differences() {
    let Some(gpu) = wgpu_or_skip() else { return };
    let (n, heads) = (30, 2);
    let (src, dst) = random_relation(n, 120, 20);
    let edges = src.len();
    let scores = pseudo_random(edges * heads, 61);
    let own = pseudo_random(n * heads, 67);
    let (probe_edges, probe_own) = (
        pseudo_random(edges * heads, 71),
        pseudo_random(n * heads, 73),
    );
    let objective = |device: &Device, scores: Tensor<2>, own: Tensor<2>| -> Tensor<1> {
        let e = EdgeIndex::new(&src, &dst, n, n, device);
        let (alpha, alpha_own) = e.softmax_with_self_loops(scores, own);
        (alpha * matrix(probe_edges.clone(), edges, heads, device)).sum()
            + (alpha_own * matrix(probe_own.clone(), n, heads, device)).sum()
    };
    let tracked = gpu.clone().autodiff();
    let s = matrix(scores.clone(), edges, heads, &tracked).require_grad();
    let o = matrix(own.clone(), n, heads, &tracked).require_grad();
    let grads = objective(&tracked, s.clone(), o.clone()).backward();
    let analytic = [
        values(s.grad(&grads).unwrap()),
        values(o.grad(&grads).unwrap()),
    ];
    let at = |[scores, own]: &[Vec<f32>; 2]| {
        let scores = matrix(scores.clone(), edges, heads, &gpu);
        values(objective(&gpu, scores, matrix(own.clone(), n, heads, &gpu)))[0]
    };
    let eps = 0.01;
    let mut checked = 0;
    // Input 0 is the edges' scores, input 1 the rows' own.
    for (input, step) in [(0, 3), (1, 2)] {
        let base = [scores.clone(), own.clone()];
        for k in (0..base[input].len()).step_by(step) {
            let (mut hi, mut lo) = (base.clone(), base.clone());
            hi[input][k] += eps;
            lo[input][k] -= eps;
            let fd = (at(&hi) - at(&lo)) / (2.0 * eps);
            let g = analytic[input][k];
            assert!(
                (fd - g).abs() <= 2e-3 * (1.0 + fd.abs()),
                "input {input}[{k}]: {fd} vs {g}"
            );
            checked += 1;
        }
    }
    assert!(checked > 60, "{checked}");
    assert!(
        analytic[0].iter().any(|g| g.abs() > 1e-2),
        "the gradient is not trivially zero"
    );
}
