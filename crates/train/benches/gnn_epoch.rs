//! Per-epoch training time, full-graph inference time and peak memory of one model on one
//! labelled dataset directory, printed as one JSON object: the ringscope side of
//! `benches/gnn_vs_pyg.sh`. The architecture matches the PyG harness (`../shared/peers`): graph
//! layers read the standardised raw features directly, ReLU after each, a linear 2-class head,
//! class-balanced cross-entropy, Adam with weight decay 5e-4.
//!
//! `cargo bench -p ringscope-gnn --bench gnn_epoch -- DIR MODEL [EPOCHS] [cpu|wgpu]`

use ringscope_features::{FeatureOptions, Standardizer};
use ringscope_gnn::graph::matrix;
use ringscope_gnn::{DeviceChoice, GnnConfig, device};
use ringscope_train::{ModelInput, TrainConfig, TrainData, predict, train};
use std::time::Instant;

// The `ringscope` binary's allocator, so the numbers are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (Some(dir), Some(model)) = (args.first(), args.get(1)) else {
        eprintln!("usage: gnn_epoch DIR MODEL [EPOCHS] [cpu|wgpu]");
        std::process::exit(2);
    };
    let epochs: usize = args
        .get(2)
        .map_or(20, |e| e.parse().expect("EPOCHS is a number"));
    let choice: DeviceChoice = args
        .get(3)
        .map_or(Ok(DeviceChoice::Cpu), |d| d.parse())
        .expect("cpu or wgpu");
    let started = Instant::now();
    let graph =
        ringscope_graph::store::load(std::path::Path::new(dir)).expect("a dataset directory");
    let load_seconds = started.elapsed().as_secs_f64();
    let mut input = ModelInput::new(&graph, FeatureOptions::given_only());
    Standardizer::fit(&input.features).apply(&mut input.features);
    let features = &input.features;
    let split = input.stratified_split(0.4, 0.2, 2);
    let config = GnnConfig::new(model.clone(), features.cols())
        .with_input_projection(false)
        .with_relations(input.edges.relations.len().max(1));
    config.validate().expect("a registered model");
    let settings = TrainConfig::new()
        .with_epochs(epochs)
        .with_patience(epochs)
        .with_weight_decay(5e-4);
    let device = device::open(choice).expect("device");
    let data = TrainData {
        edges: &input.edges,
        x: &features.values,
        labels: &input.labels,
        split: &split,
    };
    let trained = train(&config, &settings, data, &device, None, |_| {});
    // The first epoch includes one-off allocation (and shader compilation on wgpu).
    let epoch_times: Vec<f64> = trained
        .history
        .iter()
        .skip(1)
        .map(|e| e.train_seconds)
        .collect();
    // Graph and features are on the device before timing, as in the PyG harness.
    let graph_tensors = input.edges.to_device(&device);
    let x = matrix(
        features.values.clone(),
        features.rows,
        features.cols(),
        &device,
    );
    let inference: Vec<f64> = (0..5)
        .map(|_| {
            let t = Instant::now();
            let scores = predict(&trained.model, x.clone(), &graph_tensors);
            assert_eq!(scores.len(), features.rows);
            t.elapsed().as_secs_f64()
        })
        .collect();
    let result = serde_json::json!({
        "tool": "ringscope",
        "data_dir": dir,
        "model": model,
        "device": choice.to_string(),
        "nodes": input.edges.num_nodes,
        "edges": input.edges.num_merged_edges(),
        "features": features.cols(),
        "epochs": trained.history.len(),
        "load_seconds": load_seconds,
        "median_epoch_seconds": median(epoch_times),
        "median_inference_seconds": median(inference),
        "peak_rss_bytes": ringscope_testkit::peak_rss_kib() * 1024,
        // On a GPU: what the allocator holds after training and inference (its pools keep
        // pages for reuse). benches/gpu.sh also samples nvidia-smi for the process's peak.
        "device_reserved_bytes": device.memory_pool_usage().map(|u| u.bytes_reserved),
        "test_auroc": trained.test.auroc,
        "test_auprc": trained.test.auprc,
    });
    println!("{result}");
}
