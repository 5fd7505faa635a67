//! Message passing against hand-computed values, and the contract every registered layer keeps.

mod common;

use burn::optim::GradientsParams;
use burn::prelude::*;
use ringscope_gnn::conv::{Conv, GcnConvConfig, LayerSpec, RgcnConvConfig, SageConvConfig};
use ringscope_gnn::graph::{GraphEdges, RelationEdges, indices, matrix};
use ringscope_gnn::mp::{edge_softmax, scatter_max, scatter_mean, scatter_sum};
use ringscope_gnn::{Aggregation, EdgeIndex};

fn values<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

fn close(a: &[f32], b: &[f32], tol: f32) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| (x - y).abs() <= tol * (1.0 + y.abs()))
}

/// The destinations of edges 0→2, 1→2, 2→0 (node 1 receives nothing).
fn triangle_dst(device: &Device) -> Tensor<1, Int> {
    indices(&[2, 2, 0], device)
}

#[test]
fn scatter_reductions_match_hand_computation() {
    let device = Device::flex();
    let dst = triangle_dst(&device);
    let in_degree = Tensor::<1>::from_floats([1.0, 0.0, 2.0], &device);
    let msgs = matrix(vec![1.0, -2.0, 3.0, 5.0, 7.0, 0.5], 3, 2, &device);
    assert_eq!(
        values(scatter_sum(msgs.clone(), &dst, 3)),
        vec![7.0, 0.5, 0.0, 0.0, 4.0, 3.0]
    );
    assert_eq!(
        values(scatter_mean(msgs.clone(), &dst, &in_degree)),
        vec![7.0, 0.5, 0.0, 0.0, 2.0, 1.5]
    );
    assert_eq!(
        values(scatter_max(msgs, &dst, 3)),
        vec![7.0, 0.5, 0.0, 0.0, 3.0, 5.0]
    );
}

#[test]
fn max_gradient_reaches_only_the_winning_messages() {
    let device = Device::flex().autodiff();
    let msgs = matrix(vec![1.0, -2.0, 3.0, 5.0, 7.0, 0.5], 3, 2, &device).require_grad();
    let grads = scatter_max(msgs.clone(), &triangle_dst(&device), 3)
        .sum()
        .backward();
    let g = values(msgs.grad(&grads).unwrap());
    // Node 2 takes column 0 from edge 1 (3 > 1) and column 1 from edge 1 (5 > -2); node 0 takes edge 2.
    assert_eq!(g, vec![0.0, 0.0, 1.0, 1.0, 1.0, 1.0]);
}

#[test]
fn edge_softmax_normalises_over_each_nodes_incoming_edges() {
    let device = Device::flex();
    let scores = matrix(
        vec![0.0, 100.0, (2f32).ln(), 100.0, 5.0, -3.0],
        3,
        2,
        &device,
    );
    let alpha = values(edge_softmax(scores, &triangle_dst(&device), 3));
    // Into node 2: e^0 : e^ln2 = 1 : 2 in head 0, equal in head 1 (large scores stay finite).
    assert!(
        close(&alpha, &[1.0 / 3.0, 0.5, 2.0 / 3.0, 0.5, 1.0, 1.0], 1e-5),
        "{alpha:?}"
    );
}

/// GCN against the dense formula `D̂^{-1/2} (A + I) D̂^{-1/2} X W + b`.
#[test]
fn gcn_matches_the_dense_formula() {
    let device = Device::flex();
    let (src, dst) = ([0u32, 1, 1, 2, 3], [1u32, 0, 2, 1, 1]);
    let e = EdgeIndex::new(&src, &dst, 4, 4, &device);
    let layer = GcnConvConfig::new(3, 2).init(&device);
    let x: Vec<f32> = (0..12).map(|v| (v as f32 * 0.37).sin()).collect();
    let out = values(layer.forward(matrix(x.clone(), 4, 3, &device), &e));
    // Recover W (and b = 0) by running the layer on one-hot rows with no edges.
    let eye: Vec<f32> = (0..9).map(|k| f32::from(u8::from(k % 4 == 0))).collect();
    let w = values(layer.forward(
        matrix(eye, 3, 3, &device),
        &EdgeIndex::new(&[], &[], 3, 3, &device),
    ));
    let mut a = [[0f32; 4]; 4];
    for (&s, &d) in src.iter().zip(&dst) {
        a[d as usize][s as usize] += 1.0;
    }
    (0..4).for_each(|i| a[i][i] += 1.0);
    let deg: Vec<f32> = a.iter().map(|row| row.iter().sum()).collect();
    let mut expected = vec![0f32; 8];
    for i in 0..4 {
        for j in 0..4 {
            let norm = a[i][j] / (deg[i] * deg[j]).sqrt();
            for o in 0..2 {
                let xw: f32 = (0..3).map(|k| x[j * 3 + k] * w[k * 2 + o]).sum();
                expected[i * 2 + o] += norm * xw;
            }
        }
    }
    assert!(close(&out, &expected, 1e-5), "{out:?} vs {expected:?}");
}

/// SAGE against `mean_{j→i} x_j · W_n + b + x_i · W_r`, with the layer narrowing (it projects
/// before aggregating) and widening (it aggregates first), for mean and sum.
#[test]
fn sage_matches_the_formula_whichever_side_it_aggregates_on() {
    let device = Device::flex();
    let (src, dst) = ([0u32, 2, 3, 3, 1, 4], [1u32, 1, 1, 0, 4, 2]);
    for (d_in, d_out) in [(5, 2), (2, 5)] {
        for aggregation in [Aggregation::Mean, Aggregation::Sum] {
            let layer = SageConvConfig::new(d_in, d_out)
                .with_aggregation(aggregation)
                .init(&device);
            // Parameters in field order: W_n `[d_in, d_out]`, b, W_r.
            let mut params = Params(Vec::new());
            burn::module::Module::visit(&layer, &mut params);
            let [w_n, bias, w_r] = &params.0[..] else {
                panic!("SAGE with a root weight has three parameters");
            };
            let w_neigh = |k: usize, o: usize| w_n[k * d_out + o];
            let w_root = |k: usize, o: usize| w_r[k * d_out + o];

            let x: Vec<f32> = (0..5 * d_in).map(|v| (v as f32 * 0.61).cos()).collect();
            let e = EdgeIndex::new(&src, &dst, 5, 5, &device);
            let xt = matrix(x.clone(), 5, d_in, &device);
            let out = values(layer.forward(xt.clone(), xt, &e));
            let mut expected = vec![0f32; 5 * d_out];
            for i in 0..5 {
                let from: Vec<usize> = (0..src.len())
                    .filter(|&k| dst[k] as usize == i)
                    .map(|k| src[k] as usize)
                    .collect();
                let scale = match aggregation {
                    Aggregation::Mean if !from.is_empty() => 1.0 / from.len() as f32,
                    _ => 1.0,
                };
                for o in 0..d_out {
                    let mut v = bias[o];
                    for k in 0..d_in {
                        let neigh: f32 = from.iter().map(|&j| x[j * d_in + k]).sum();
                        v += scale * neigh * w_neigh(k, o) + x[i * d_in + k] * w_root(k, o);
                    }
                    expected[i * d_out + o] = v;
                }
            }
            assert!(
                close(&out, &expected, 1e-5),
                "{d_in}→{d_out} {aggregation:?}: {out:?} vs {expected:?}"
            );
        }
    }
}

/// R-GCN against `x_i · W_0 + b + Σ_r mean_{j →_r i} x_j · W_r`, with relations that reach only
/// some nodes (as typed relations do), one of them none, on the whole graph and on some rows;
/// and on a graph with only a homogeneous view, which is its one relation.
#[test]
fn rgcn_matches_the_formula_with_relations_that_reach_some_nodes() {
    let device = Device::flex();
    let relation = |name: &str, src: Vec<u32>, dst: Vec<u32>| RelationEdges {
        name: name.into(),
        src,
        dst,
    };
    let typed = vec![
        relation("a", vec![0, 3, 4, 0], vec![1, 1, 2, 2]),
        relation("b", vec![2, 1], vec![0, 0]),
        relation("none", vec![], vec![]),
    ];
    let homogeneous = relation("all", vec![0, 3, 4, 0, 2, 1], vec![1, 1, 2, 2, 0, 0]);
    let cases = [
        (typed.clone(), None, typed),
        (Vec::new(), Some(homogeneous.clone()), vec![homogeneous]),
    ];
    let (d_in, d_out) = (3, 2);
    let x: Vec<f32> = (0..5 * d_in).map(|v| (v as f32 * 0.83).sin()).collect();
    for (relations, homogeneous, read) in cases {
        let edges = GraphEdges {
            num_nodes: 5,
            relations,
            homogeneous,
        };
        let layer = RgcnConvConfig::new(d_in, d_out, read.len()).init(&device);
        let mut params = Params(Vec::new());
        burn::module::Module::visit(&layer, &mut params);
        let [w_0, bias, w_r @ ..] = &params.0[..] else {
            panic!("a root weight, its bias and one weight per relation");
        };
        let expected_row = |i: usize| -> Vec<f32> {
            (0..d_out)
                .map(|o| {
                    let mut v = bias[o]
                        + (0..d_in)
                            .map(|k| x[i * d_in + k] * w_0[k * d_out + o])
                            .sum::<f32>();
                    for (r, w) in read.iter().zip(w_r) {
                        let from: Vec<usize> = (0..r.src.len())
                            .filter(|&e| r.dst[e] as usize == i)
                            .map(|e| r.src[e] as usize)
                            .collect();
                        for &j in &from {
                            let xw: f32 =
                                (0..d_in).map(|k| x[j * d_in + k] * w[k * d_out + o]).sum();
                            v += xw / from.len() as f32;
                        }
                    }
                    v
                })
                .collect()
        };
        let xt = matrix(x.clone(), 5, d_in, &device);
        let all = edges.to_device(&device);
        let out = values(layer.forward(xt.clone(), xt.clone(), all.relations()));
        let expected: Vec<f32> = (0..5).flat_map(expected_row).collect();
        assert!(close(&out, &expected, 1e-5), "{out:?} vs {expected:?}");

        let rows = [4u32, 1, 0];
        let some = edges.to_device_rows(&rows, &device);
        let out = values(layer.forward(xt.clone(), some.dst_rows(xt), some.relations()));
        let expected: Vec<f32> = rows
            .iter()
            .flat_map(|&i| expected_row(i as usize))
            .collect();
        assert!(
            close(&out, &expected, 1e-5),
            "rows {rows:?}: {out:?} vs {expected:?}"
        );
    }
}

/// Every registered layer: right shape, finite output, a gradient for every parameter, output
/// that depends on the neighbours, and nothing read from nodes outside a node's neighbourhood.
#[test]
fn every_registered_layer_keeps_the_layer_contract() {
    let device = Device::flex().autodiff();
    // Nodes 0..4 in a path 0-1-2-3 (both directions); node 4 isolated.
    let path = RelationEdges {
        name: "path".into(),
        src: vec![0, 1, 1, 2, 2, 3],
        dst: vec![1, 0, 2, 1, 3, 2],
    };
    let empty = RelationEdges {
        name: "none".into(),
        ..Default::default()
    };
    let edges = GraphEdges {
        num_nodes: 5,
        relations: vec![path, empty],
        homogeneous: None,
    };
    let graph = edges.to_device(&device);
    let plain = Device::flex();
    assert!(Conv::NAMES.len() >= 5, "{:?}", Conv::NAMES);
    // Narrower and wider outputs: layers may aggregate on either side of their product.
    for (d_in, d_out) in [(6, 4), (4, 6)] {
        let spec = LayerSpec {
            d_input: d_in,
            d_output: d_out,
            heads: 2,
            aggregation: Aggregation::Mean,
            relations: 2,
        };
        for &name in Conv::NAMES {
            let label = format!("{name} {d_in}→{d_out}");
            let layer = Conv::new(name, &spec, &device).unwrap();
            let x_values: Vec<f32> = (0..5 * d_in)
                .map(|v| ((v * 7 % 11) as f32 - 5.0) / 5.0)
                .collect();
            let x = matrix(x_values.clone(), 5, d_in, &device).require_grad();
            let out = layer.forward(x.clone(), &graph);
            assert_eq!(out.dims(), [5, d_out], "{label}");
            let out_values = values(out.clone());
            assert!(
                out_values.iter().all(|v| v.is_finite()),
                "{label}: {out_values:?}"
            );

            // Inference runs the layer untracked on the inner device, where a layer may order
            // or overlap its parts differently; the values must be training's, bit for bit.
            let inferred = layer.valid().forward(
                matrix(x_values.clone(), 5, d_in, &plain),
                &edges.to_device(&plain),
            );
            assert_eq!(values(inferred), out_values, "{label}: inference differs");

            let grads = out.clone().sum().backward();
            let x_grad = values(x.grad(&grads).unwrap());
            assert!(
                x_grad.iter().any(|g| *g != 0.0),
                "{label}: no gradient reaches the input"
            );

            // Changing node 0's features must change node 1's output (a neighbour) but not
            // node 4's.
            let mut moved = x_values.clone();
            moved[..d_in].iter_mut().for_each(|v| *v += 3.0);
            let out2 = values(layer.forward(matrix(moved, 5, d_in, &device), &graph));
            let row = |v: &[f32], i: usize| v[i * d_out..(i + 1) * d_out].to_vec();
            if name == "mlp" {
                // The graph-free baseline: each row depends on its own features only.
                assert_eq!(row(&out_values, 1), row(&out2, 1), "mlp read a neighbour");
                assert_ne!(row(&out_values, 0), row(&out2, 0), "mlp ignores its input");
            } else {
                assert_ne!(
                    row(&out_values, 1),
                    row(&out2, 1),
                    "{label}: node 1 ignores neighbour 0"
                );
            }
            assert!(
                close(&row(&out_values, 4), &row(&out2, 4), 1e-6),
                "{label}: isolated node 4 changed"
            );
        }
    }
}

#[test]
fn an_unknown_model_name_is_refused_with_the_choices() {
    let config = ringscope_gnn::GnnConfig::new("sagee".into(), 4);
    let err = config.validate().unwrap_err();
    assert!(
        err.contains("sagee") && err.contains("sage") && err.contains("bwgnn"),
        "{err}"
    );
}

/// Computing only some output rows (what training does for its loss) gives the same logits and
/// the same parameter gradients as computing every row and selecting, for every model: with
/// skip connections and layer normalisation, with skip connections alone, and with neither
/// (where the whole-graph forward may fold the output layer into the last graph layer).
#[test]
fn output_rows_alone_match_the_whole_graph_forward_and_backward() {
    let device = Device::flex().autodiff();
    let data = common::planted(60, 3);
    let graph = data.edges.to_device(&device);
    // Unsorted, so both the row order and the renumbering of destinations are exercised.
    let rows: Vec<u32> = vec![17, 3, 40, 0, 59, 22, 8];
    let row_graph = data.edges.to_device_rows(&rows, &device);
    let variants = [(true, true, 3), (true, false, 2), (false, false, 2)];
    for (&name, (skip, layer_norm, layers)) in Conv::NAMES
        .iter()
        .flat_map(|name| variants.iter().map(move |v| (name, *v)))
    {
        let config = common::config(name, data.d)
            .with_skip(skip)
            .with_layer_norm(layer_norm)
            .with_layers(layers);
        let model = config.init(&device);
        let x = || matrix(data.x.clone(), 60, data.d, &device);
        let whole = model
            .forward(x(), &graph)
            .select(0, indices(&rows, &device));
        let part = model.forward_rows(x(), &graph, &row_graph);
        assert_eq!(part.dims(), [rows.len(), 2], "{name}");
        let (whole_values, part_values) = (values(whole.clone()), values(part.clone()));
        assert!(
            close(&whole_values, &part_values, 1e-5),
            "{name}: {whole_values:?} vs {part_values:?}"
        );
        let weights = || {
            // Distinct weights per row, so a row mix-up changes the gradient.
            let w: Vec<f32> = (0..rows.len() * 2).map(|i| 1.0 + i as f32 * 0.37).collect();
            matrix(w, rows.len(), 2, &device)
        };
        let grads_whole = GradientsParams::from_grads((whole * weights()).sum().backward(), &model);
        let grads_part = GradientsParams::from_grads((part * weights()).sum().backward(), &model);
        let mut compared = 0;
        model.visit(&mut ParamGrads {
            a: &grads_whole,
            b: &grads_part,
            name,
            compared: &mut compared,
        });
        assert!(compared >= 4, "{name}: only {compared} parameters compared");
    }
}

/// Every float parameter's values, in visiting order.
struct Params(Vec<Vec<f32>>);

impl burn::module::ModuleVisitor for Params {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        self.0.push(values(param.val()));
    }
}

struct ParamGrads<'a> {
    a: &'a GradientsParams,
    b: &'a GradientsParams,
    name: &'a str,
    compared: &'a mut usize,
}

impl burn::module::ModuleVisitor for ParamGrads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<D>>) {
        let grad = |g: &GradientsParams| {
            g.get::<D>(param.id)
                .map(|t| t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap())
        };
        match (grad(self.a), grad(self.b)) {
            (Some(a), Some(b)) => {
                assert!(close(&a, &b, 1e-4), "{}: gradients differ", self.name);
                *self.compared += 1;
            }
            (a, b) => assert_eq!(a.is_some(), b.is_some(), "{}: gradient presence", self.name),
        }
    }
}
