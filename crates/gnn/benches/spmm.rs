//! Time of one CSR product (`EdgeIndex::aggregate`, mean) over a dataset's merged graph at
//! several feature widths, on flex: the inner loop of every SAGE, GCN and R-GCN layer. Prints
//! one JSON object per width with the median and fastest of 20 runs.
//!
//! `cargo bench -p ringscope-gnn --bench spmm -- DIR`

use burn::prelude::*;
use burn::tensor::Distribution;
use ringscope_features::FeatureOptions;
use ringscope_gnn::Aggregation;
use ringscope_train::ModelInput;
use std::time::Instant;

// The `ringscope` binary's allocator, so the numbers are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RUNS: usize = 20;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: spmm DIR");
        std::process::exit(2);
    };
    let graph =
        ringscope_graph::store::load(std::path::Path::new(dir)).expect("a dataset directory");
    let input = ModelInput::new(&graph, FeatureOptions::given_only());
    let device = Device::flex();
    let edges = input.edges.to_device(&device).merged;
    let n = input.edges.num_nodes;
    // 10 is tolokers' input width; 8..64 are the loop's register block widths.
    for d in [8usize, 10, 16, 32, 64] {
        let x: Tensor<2> = Tensor::random([n, d], Distribution::Default, &device);
        let mut seconds: Vec<f64> = (0..=RUNS)
            .map(|_| {
                let started = Instant::now();
                std::hint::black_box(edges.aggregate(x.clone(), Aggregation::Mean));
                started.elapsed().as_secs_f64()
            })
            .skip(1)
            .collect();
        seconds.sort_by(f64::total_cmp);
        let result = serde_json::json!({
            "data_dir": dir,
            "nodes": n,
            "edges": edges.num_edges(),
            "width": d,
            "median_seconds": seconds[RUNS / 2],
            "min_seconds": seconds[0],
            "median_ns_per_edge": seconds[RUNS / 2] * 1e9 / edges.num_edges() as f64,
        });
        println!("{result}");
    }
}
