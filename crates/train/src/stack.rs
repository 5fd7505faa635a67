//! `model = "stack"`: a graph network and boosted trees trained together. The network's
//! out-of-fold scores and embeddings join each node's features and neighbour aggregates as
//! tree inputs.
//!
//! How one split (training nodes T, validation V, test S) trains:
//! 1. T is cut into `folds` stratified folds. For each fold k, the network trains on the other
//!    folds (early stopping on V) and scores every node.
//! 2. A training node in fold k gets fold k's score and embedding, from a network that never
//!    saw its label. Every other node gets the mean score over the fold networks, and the
//!    embedding of one of them, chosen by node index. Fold networks share their initial
//!    weights, so their embedding coordinates stay comparable.
//! 3. The trees train on T with those columns and stop early on V. No column of a training
//!    node depends on its own label, so the trees cannot learn to read it back.
//!
//! Neighbour aggregates are of the label-free features only: a neighbour's score may come from
//! a network that trained on this node's label.

use crate::config::StackFile;
use crate::fit::{TrainData, embed, predict, train};
use crate::split::{Split, stratified_folds};
use burn::prelude::Device;
use ringscope_features::FeatureMatrix;
use ringscope_gnn::graph::{GraphEdges, matrix};

/// Trains `file.folds` networks on `split`'s training folds and returns their out-of-fold
/// columns, `gnn_score` (the fraud log-odds) then `gnn_embedding_<i>`, one row per node. `x`
/// is the standardised feature matrix the network reads.
pub fn network_columns(
    file: &StackFile,
    edges: &GraphEdges,
    x: &FeatureMatrix,
    labels: &[i8],
    split: &Split,
    seed: u64,
    device: &Device,
) -> FeatureMatrix {
    let folds = training_folds(labels, split, file.folds, seed);
    columns_over_folds(file, edges, x, labels, split, &folds, seed, device)
}

/// `split`'s training nodes cut into `folds` stratified folds: fold k's `test` is held out,
/// its `train` is the rest.
pub fn training_folds(labels: &[i8], split: &Split, folds: usize, seed: u64) -> Vec<Split> {
    let mut fold_labels = vec![-1i8; labels.len()];
    for &i in &split.train {
        fold_labels[i as usize] = labels[i as usize];
    }
    stratified_folds(&fold_labels, folds, 0.0, seed)
}

/// [`network_columns`] over given folds (from [`training_folds`]).
#[allow(clippy::too_many_arguments)]
pub fn columns_over_folds(
    file: &StackFile,
    edges: &GraphEdges,
    x: &FeatureMatrix,
    labels: &[i8],
    split: &Split,
    folds: &[Split],
    seed: u64,
    device: &Device,
) -> FeatureMatrix {
    let n = x.rows;
    let hidden = file.network.hidden;
    // The fold each training node is held out in; `None` for every other node.
    let mut fold_of: Vec<Option<usize>> = vec![None; n];
    for (k, fold) in folds.iter().enumerate() {
        fold.test
            .iter()
            .for_each(|&i| fold_of[i as usize] = Some(k));
    }
    let mut score = vec![0f32; n];
    let mut embedding = vec![0f32; n * hidden];
    let x_device = matrix(x.values.clone(), n, x.cols(), device);
    let graph = edges.to_device(device);
    // Same seed for every fold: equal initial weights keep the embeddings comparable.
    let settings = file.train.clone().with_seed(seed);
    for (k, fold) in folds.iter().enumerate() {
        let fold_split = Split {
            train: fold.train.clone(),
            val: split.val.clone(),
            test: fold.test.clone(),
        };
        let data = TrainData {
            edges,
            x: &x.values,
            labels,
            split: &fold_split,
        };
        let trained = train(&file.network, &settings, data, device, None, |_| {});
        let probs = predict(&trained.model, x_device.clone(), &graph);
        let emb = file
            .embeddings
            .then(|| embed(&trained.model, x_device.clone(), &graph));
        for (i, p) in probs.iter().enumerate() {
            let owner = match fold_of[i] {
                Some(held_out_in) => {
                    if held_out_in == k {
                        score[i] = logit(*p);
                    }
                    held_out_in == k
                }
                None => {
                    score[i] += logit(*p) / folds.len() as f32;
                    i % folds.len() == k
                }
            };
            if let (true, Some(emb)) = (owner, &emb) {
                embedding[i * hidden..(i + 1) * hidden]
                    .copy_from_slice(&emb[i * hidden..(i + 1) * hidden]);
            }
        }
    }
    let mut names = vec!["gnn_score".to_string()];
    let width = match file.embeddings {
        true => {
            names.extend((0..hidden).map(|i| format!("gnn_embedding_{i}")));
            1 + hidden
        }
        false => 1,
    };
    let mut values = Vec::with_capacity(n * width);
    for i in 0..n {
        values.push(score[i]);
        if file.embeddings {
            values.extend_from_slice(&embedding[i * hidden..(i + 1) * hidden]);
        }
    }
    FeatureMatrix {
        names,
        rows: n,
        values,
    }
}

/// Log-odds of a probability, clamped so 0 and 1 stay finite.
fn logit(p: f32) -> f32 {
    let p = p.clamp(1e-6, 1.0 - 1e-6);
    (p / (1.0 - p)).ln()
}
