//! Time of one CSR product (`EdgeIndex::aggregate`, mean) over a dataset's merged graph at
//! several feature widths: the inner loop of every SAGE, GCN and R-GCN layer. Prints one JSON
//! object per width with the median and fastest of 20 runs, and the bandwidth the median
//! achieves. It also prints the device's copy bandwidth, measured the same way on a 128 MiB
//! tensor (read once, written once), as the bound to compare against.
//!
//! `cargo bench -p ringscope-gnn --bench spmm -- DIR [cpu|wgpu]`
//!
//! Bytes per product are the least it must move: per position its column, edge and weight (4
//! bytes each) and one row of `x`, then one output row per destination and the row offsets.
//! Rows of `x` that a cache serves twice count twice, so a high number is not impossible.

use burn::prelude::*;
use burn::tensor::Distribution;
use ringscope_features::FeatureOptions;
use ringscope_gnn::graph::Views;
use ringscope_gnn::{Aggregation, DeviceChoice, device};
use ringscope_train::ModelInput;
use std::time::Instant;

// The `ringscope` binary's allocator, so the numbers are the product's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RUNS: usize = 20;
const COPIES_PER_RUN: usize = 8;

/// Median and fastest of `RUNS` timed runs of `work` after one untimed run, each ended by a
/// device sync (kernels on a GPU return before they finish). The last result is read back, and
/// a failure ends the bench: cubecl reports a failed kernel (a buffer past the device's binding
/// limit, say) only when its output is read, and the failed launches take no time at all.
fn timed<const D: usize>(device: &Device, mut work: impl FnMut() -> Tensor<D>) -> (f64, f64) {
    let mut last = None;
    let mut seconds: Vec<f64> = (0..=RUNS)
        .map(|_| {
            let started = Instant::now();
            let out = work();
            device.sync().expect("the device finishes its work");
            let seconds = started.elapsed().as_secs_f64();
            last = Some(out);
            seconds
        })
        .skip(1)
        .collect();
    let last = last.expect("at least one run");
    let elements = last.shape().num_elements();
    if let Err(e) = last.reshape([elements]).slice(0..1).try_into_data() {
        eprintln!("spmm: the device failed a kernel: {e}");
        std::process::exit(1);
    }
    seconds.sort_by(f64::total_cmp);
    (seconds[RUNS / 2], seconds[0])
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let Some(dir) = args.first() else {
        eprintln!("usage: spmm DIR [cpu|wgpu]");
        std::process::exit(2);
    };
    let choice: DeviceChoice = args
        .get(1)
        .map_or(Ok(DeviceChoice::Cpu), |d| d.parse())
        .expect("cpu or wgpu");
    let device = device::open(choice).expect("device");
    // 128 MiB: the largest storage buffer lavapipe binds (256 MiB fails there).
    let copy_elements = 32 << 20;
    let big: Tensor<1> = Tensor::random([copy_elements], Distribution::Default, &device);
    // Several copies per sync, so that a fast device's sync round trip does not count.
    let (copy_median, _) = timed(&device, || {
        (1..COPIES_PER_RUN).fold(big.clone() * 1.5, |_, _| big.clone() * 1.5)
    });
    let copy_gb_per_s = (COPIES_PER_RUN * 8 * copy_elements) as f64 / copy_median / 1e9;
    println!(
        "{}",
        serde_json::json!({"device": choice.to_string(), "copy_bytes": 8 * copy_elements, "copy_gb_per_s": copy_gb_per_s})
    );
    drop(big);

    let graph =
        ringscope_graph::store::load(std::path::Path::new(dir)).expect("a dataset directory");
    let input = ModelInput::new(&graph, FeatureOptions::given_only());
    let edges = input
        .edges
        .to_device_for(Views::MERGED, &device)
        .merged()
        .clone();
    let n = input.edges.num_nodes;
    let nnz = edges.num_edges();
    // 10 is tolokers' input width; 8..64 are flex's register block widths, 64 the hidden width.
    for d in [8usize, 10, 16, 32, 64] {
        let x: Tensor<2> = Tensor::random([n, d], Distribution::Default, &device);
        let (median, fastest) = timed(&device, || edges.aggregate(x.clone(), Aggregation::Mean));
        let bytes = nnz * (12 + 4 * d) + n * 4 * d + (n + 1) * 4;
        let result = serde_json::json!({
            "data_dir": dir,
            "device": choice.to_string(),
            "nodes": n,
            "edges": nnz,
            "width": d,
            "median_seconds": median,
            "min_seconds": fastest,
            "median_ns_per_edge": median * 1e9 / nnz as f64,
            "bytes": bytes,
            "achieved_gb_per_s": bytes as f64 / median / 1e9,
            "of_copy_bandwidth": bytes as f64 / median / 1e9 / copy_gb_per_s,
        });
        println!("{result}");
    }
}
