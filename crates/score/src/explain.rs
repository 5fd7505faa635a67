//! Why a group of nodes scored high: gradient × input saliency of their mean fraud probability,
//! with a fidelity check.
//!
//! One backward pass gives, for every node and input feature, `∂ mean score / ∂ x · x` (on
//! standardised features, so `x = 0` is the average node). Summed over the group's own rows per
//! feature it names the features behind the scores; summed over features per node outside the
//! group it names the neighbours (devices, IPs, products, other accounts) whose features pushed
//! the scores up. Fidelity: set those top features of the group, or those top nodes' rows, to the
//! average (0) and score again; a faithful explanation lowers the score.

use burn::prelude::*;
use burn::tensor::activation::softmax;
use ringscope_gnn::graph::{GraphEdges, matrix};
use ringscope_gnn::model::Gnn;

/// The explanation of one group.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Explanation {
    /// Mean fraud probability of the group.
    pub score: f32,
    /// `(feature column, contribution)` of the group's own features, strongest push up first.
    pub features: Vec<(usize, f32)>,
    /// `(global node, contribution)` of nodes outside the group, strongest push up first.
    pub nodes: Vec<(u32, f32)>,
    /// Mean score with the listed features of the group set to the average.
    pub score_without_features: f32,
    /// Mean score with the listed nodes' features set to the average.
    pub score_without_nodes: f32,
}

/// Mean fraud probability of `group` under `model` for features `x` (`[n, d]`, row-major).
fn mean_score(
    model: &Gnn,
    x: Vec<f32>,
    d: usize,
    graph: &GraphEdges,
    group: &[u32],
    device: &Device,
) -> f32 {
    let n = graph.num_nodes;
    let probs = ringscope_train::predict(model, matrix(x, n, d, device), &graph.to_device(device));
    group.iter().map(|&v| probs[v as usize]).sum::<f32>() / group.len().max(1) as f32
}

/// Explains the scores of `group` (global node indices) with the `top_k` strongest features
/// and nodes, and checks the explanation's fidelity. `x` are the standardised features the
/// model scores (`[n, d]`, row-major).
///
/// # Panics
/// If `group` is empty or `x` is not `n × d`.
pub fn explain(
    model: &Gnn,
    x: &[f32],
    d: usize,
    graph: &GraphEdges,
    group: &[u32],
    top_k: usize,
    device: &Device,
) -> Explanation {
    let mut e = attribute(model, x, d, graph, group, top_k, device);
    let plain = model.valid();
    let mut without_features = x.to_vec();
    for &v in group {
        for &(f, _) in &e.features {
            without_features[v as usize * d + f] = 0.0;
        }
    }
    let mut without_nodes = x.to_vec();
    for &(v, _) in &e.nodes {
        without_nodes[v as usize * d..(v as usize + 1) * d].fill(0.0);
    }
    e.score_without_features = mean_score(&plain, without_features, d, graph, group, device);
    e.score_without_nodes = mean_score(&plain, without_nodes, d, graph, group, device);
    e
}

/// The attribution half of [`explain`], one forward and one backward pass: the score and the
/// strongest features and nodes, without the fidelity check (its scores are NaN). What online
/// scoring returns as reasons.
///
/// # Panics
/// If `group` is empty or `x` is not `n × d`.
pub fn attribute(
    model: &Gnn,
    x: &[f32],
    d: usize,
    graph: &GraphEdges,
    group: &[u32],
    top_k: usize,
    device: &Device,
) -> Explanation {
    assert!(!group.is_empty(), "explain needs a group");
    let n = graph.num_nodes;
    assert_eq!(x.len(), n * d, "features must be n × d");
    let ad = device.clone().autodiff();
    // Validation mode on the autodiff device: no dropout and no parameter gradients; only the
    // input's gradient is wanted.
    let traced = model.valid().fork(&ad);
    let x_ad = matrix(x.to_vec(), n, d, &ad).require_grad();
    let logits = traced.forward(x_ad.clone(), &graph.to_device(&ad));
    let fraud = softmax(logits, 1).slice([0..n, 1..2]);
    // The mean over the group as a weighted sum over every node.
    let mut weights = vec![0f32; n];
    group
        .iter()
        .for_each(|&v| weights[v as usize] = 1.0 / group.len() as f32);
    let objective = (fraud * matrix(weights, n, 1, &ad)).sum();
    // The mean fraud probability of the group, from the same forward pass.
    let score = objective.clone().into_scalar::<f32>();
    let grads = objective.backward();
    let gradient: Vec<f32> = x_ad
        .grad(&grads)
        .expect("the input takes part in the score")
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 gradient");
    let contribution = |i: usize| gradient[i] * x[i];

    let in_group = {
        let mut m = vec![false; n];
        group.iter().for_each(|&v| m[v as usize] = true);
        m
    };
    let mut features: Vec<(usize, f32)> = (0..d)
        .map(|f| {
            (
                f,
                group
                    .iter()
                    .map(|&v| contribution(v as usize * d + f))
                    .sum(),
            )
        })
        .filter(|(_, c)| *c > 0.0)
        .collect();
    features.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    features.truncate(top_k);
    let mut nodes: Vec<(u32, f32)> = (0..n)
        .filter(|&v| !in_group[v])
        .map(|v| {
            (
                v as u32,
                (0..d).map(|f| contribution(v * d + f)).sum::<f32>(),
            )
        })
        .filter(|(_, c)| *c > 0.0)
        .collect();
    nodes.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    nodes.truncate(top_k);

    Explanation {
        score,
        score_without_features: f32::NAN,
        score_without_nodes: f32::NAN,
        features,
        nodes,
    }
}
