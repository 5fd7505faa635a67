//! Stacking must not leak: a training node's network columns come from the one fold network
//! that never saw its label.

use burn::prelude::Device;
use ringscope_features::{FeatureOptions, Standardizer};
use ringscope_graph::{HeteroGraph, NodeSet, Relation};
use ringscope_train::config::{ModelFile, read_model_file};
use ringscope_train::input::ModelInput;
use ringscope_train::split::stratified_split;
use ringscope_train::stack::{columns_over_folds, training_folds};

/// 120 accounts and 30 products; every fifth account is fraud and reviews only products 0–4,
/// the rest review anywhere. A small LCG keeps it deterministic.
fn marketplace() -> (HeteroGraph, Vec<i8>) {
    let mut state = 11u64;
    let mut next = move |m: u64| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) % m
    };
    let mut reviews = Vec::new();
    for a in 0..120u32 {
        for _ in 0..4 {
            let p = if a % 5 == 0 { next(5) } else { next(30) };
            reviews.push((a, p as u32));
        }
    }
    reviews.sort_unstable();
    reviews.dedup();
    let mut accounts = NodeSet::new("account", ringscope_testkit::interner(120, "a"));
    accounts.labels = Some((0..120).map(|a| i8::from(a % 5 == 0)).collect());
    let products = NodeSet::new("product", ringscope_testkit::interner(30, "p"));
    let reviewed = Relation::new(
        "reviewed",
        (0, 120),
        (1, 30),
        reviews.iter().map(|r| r.0).collect(),
        reviews.iter().map(|r| r.1).collect(),
        None,
        None,
    )
    .unwrap();
    let graph = HeteroGraph::new("m", vec![accounts, products], vec![reviewed]).unwrap();
    let labels = ringscope_train::split::node_labels(&graph);
    (graph, labels)
}

#[test]
fn a_training_nodes_columns_never_see_its_own_label() {
    let (graph, labels) = marketplace();
    let mut input = ModelInput::new(&graph, FeatureOptions::default());
    Standardizer::fit(&input.features).apply(&mut input.features);
    let text = "model = \"stack\"\nnetwork = \"gcn\"\nfolds = 3\n";
    let ModelFile::Stack(mut file) = read_model_file(
        text,
        None,
        input.features.cols(),
        input.edges.relations.len(),
    )
    .unwrap() else {
        panic!("a stack file")
    };
    file.train.epochs = 4;
    let split = stratified_split(&labels, 0.6, 0.2, 1);
    let folds = training_folds(&labels, &split, 3, 1);
    let device = Device::flex();
    let columns = |labels: &[i8]| {
        columns_over_folds(
            &file,
            &input.edges,
            &input.features,
            labels,
            &split,
            &folds,
            1,
            &device,
        )
    };
    let before = columns(&labels);
    assert_eq!(before.cols(), 1 + file.network.hidden);
    // Flip one held-out node of fold 0: its row must not move; the rows the other folds'
    // networks wrote, trained on its flipped label, do.
    let v = folds[0].test[0] as usize;
    let mut flipped = labels.clone();
    flipped[v] = 1 - flipped[v];
    let after = columns(&flipped);
    let row = |m: &ringscope_features::FeatureMatrix, i: usize| {
        m.values[i * m.cols()..(i + 1) * m.cols()].to_vec()
    };
    assert_eq!(
        row(&before, v),
        row(&after, v),
        "node {v} read its own label"
    );
    let moved = folds[1]
        .test
        .iter()
        .filter(|&&u| row(&before, u as usize) != row(&after, u as usize))
        .count();
    assert!(
        moved > 0,
        "flipping a training label changed no other fold's rows"
    );
}
