//! The published protocols on the real benchmark graphs in ../shared/datasets (skipped when the
//! folder is absent, failed instead under RINGSCOPE_REQUIRE_DATASETS=1).

use ringscope_testkit::dataset;
use ringscope_train::datasets::{Benchmark, Protocol, write_splits};
use ringscope_train::split::node_labels;

#[test]
fn tolokers_uses_its_ten_fixed_splits_over_every_node() {
    let Some(dir) = dataset("tolokers") else {
        return;
    };
    let graph = ringscope_graph::store::load(&dir).unwrap();
    let benchmark = Benchmark::for_dataset("tolokers", &dir, &graph);
    assert!(matches!(benchmark.protocol, Protocol::FixedSplits { .. }));
    let splits = benchmark.splits(&dir, &graph, 5).unwrap();
    assert_eq!(splits.len(), 10, "the file's splits, not the seed count");
    let n = graph.num_nodes();
    for (i, (name, seed, split)) in splits.iter().enumerate() {
        assert_eq!(
            (name.as_str(), *seed),
            (format!("split{i}").as_str(), i as u64)
        );
        let mut all: Vec<u32> = [&split.train, &split.val, &split.test]
            .into_iter()
            .flatten()
            .copied()
            .collect();
        all.sort_unstable();
        assert_eq!(
            all,
            (0..n as u32).collect::<Vec<_>>(),
            "{name} partitions the nodes"
        );
        // Platonov et al.'s splits are 50/25/25.
        let share = split.train.len() as f64 / n as f64;
        assert!((share - 0.5).abs() < 0.01, "{name}: train share {share}");
    }
    assert_ne!(splits[0].2, splits[1].2);
}

#[test]
fn bitcoin_alpha_folds_cover_the_labelled_users_once() {
    let Some(dir) = dataset("rev2_alpha") else {
        return;
    };
    let graph = ringscope_graph::store::load(&dir).unwrap();
    let benchmark = Benchmark::for_dataset("rev2_alpha", &dir, &graph);
    assert!(
        benchmark.add_reverse,
        "raters must hear from whom they rated"
    );
    let labels = node_labels(&graph);
    let folds = benchmark.splits(&dir, &graph, 5).unwrap();
    assert_eq!(folds.len(), 5);
    let mut tested: Vec<u32> = folds.iter().flat_map(|(_, _, f)| f.test.clone()).collect();
    tested.sort_unstable();
    let labelled: Vec<u32> = (0..labels.len() as u32)
        .filter(|&i| labels[i as usize] >= 0)
        .collect();
    assert_eq!(tested, labelled);
    assert_eq!(labelled.len(), 237);
}

#[test]
fn written_splits_read_back_as_fixed_splits() {
    let Some(dir) = dataset("fdcompcn") else {
        return;
    };
    let graph = ringscope_graph::store::load(&dir).unwrap();
    let benchmark = Benchmark::for_dataset("fdcompcn", &dir, &graph);
    let splits = benchmark.splits(&dir, &graph, 3).unwrap();
    let out = tempfile::tempdir().unwrap();
    write_splits(&out.path().join("splits.csv"), &graph, &splits).unwrap();
    let fixed = Benchmark {
        protocol: Protocol::FixedSplits {
            file: "splits.csv".into(),
        },
        ..benchmark
    };
    let back = fixed.splits(out.path(), &graph, 3).unwrap();
    assert_eq!(back.len(), 3);
    for ((_, _, written), (name, _, read)) in splits.iter().zip(&back) {
        assert_eq!(written, read, "{name}");
    }
}
