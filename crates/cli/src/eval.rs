//! `ringscope eval`: models against published results on labelled benchmark graphs.

use anyhow::{Context, Result};
use clap::Args;
use ringscope_gnn::{DeviceChoice, device};
use ringscope_graph::{GraphError, store};
use ringscope_pipeline::load;
use ringscope_train::datasets::Benchmark;
use ringscope_train::eval::{self, EvalOptions, ModelSpec, Report};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct EvalArgs {
    /// A dataset directory (nodes.csv, edges_<relation>.csv, meta.json; or raw events in
    /// input/ with truth.csv beside it), or a folder of them.
    #[arg(long, default_value = "../shared/datasets")]
    pub data: PathBuf,
    /// Only these datasets of the folder, by directory name (repeatable, or comma-separated).
    #[arg(long = "dataset", value_delimiter = ',')]
    pub datasets: Vec<String>,
    /// Models: shipped presets (sage, gcn, gat, bwgnn, rgcn, mlp, gbdt, stack) or model files (TOML),
    /// repeatable or comma-separated [default: every preset].
    #[arg(long = "model", value_delimiter = ',')]
    pub models: Vec<String>,
    /// Runs of a stratified-split protocol (seeds 0..N).
    #[arg(long, default_value_t = EvalOptions::default().seeds)]
    pub seeds: usize,
    /// Use only the first N splits or folds of each protocol (a quick look, not the protocol).
    #[arg(long)]
    pub max_splits: Option<usize>,
    /// Overrides each model file's `[train] epochs`.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Add label-aware features: per relation, the known fraud and benign neighbours, counted
    /// from each split's training labels only.
    #[arg(long)]
    pub label_features: bool,
    /// Leave out feature columns whose name contains any of these (repeatable or
    /// comma-separated), for ablations.
    #[arg(long, value_delimiter = ',')]
    pub drop_features: Vec<String>,
    /// Where to train.
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
    /// Directory for results.md and results.json (replaced atomically).
    #[arg(long, default_value = "out/eval")]
    pub out: PathBuf,
    /// Peers measured in this session (JSON lines from `benches/eval_peers.sh xgbgraph`),
    /// shown beside each dataset's best model.
    #[arg(long)]
    pub peers: Option<PathBuf>,
    /// Also write results.md to this file (atomically), for example docs/results.md.
    #[arg(long)]
    pub doc: Option<PathBuf>,
    /// Write each single-kind dataset's splits to DIR/<dataset>/splits.csv (id,split0..;
    /// 0 train, 1 validation, 2 test), so a peer runs on the very same splits.
    #[arg(long, value_name = "DIR")]
    pub write_splits: Option<PathBuf>,
    /// Only write the splits (with --write-splits); train nothing.
    #[arg(long, requires = "write_splits")]
    pub splits_only: bool,
}

/// Dataset directories under `data`: itself if it is one, else its subdirectories holding a
/// `meta.json`, sorted by name, filtered by `only`.
fn dataset_dirs(data: &Path, only: &[String]) -> Result<Vec<PathBuf>> {
    let is_dataset = |p: &Path| p.join("meta.json").is_file() || load::is_raw_dataset(p);
    if is_dataset(data) {
        return Ok(vec![data.to_path_buf()]);
    }
    let entries = std::fs::read_dir(data).map_err(|source| GraphError::Read {
        path: data.to_path_buf(),
        source,
    })?;
    let mut dirs: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| is_dataset(p))
        .filter(|p| {
            only.is_empty()
                || p.file_name()
                    .is_some_and(|n| only.iter().any(|o| o.as_str() == n))
        })
        .collect();
    dirs.sort();
    if let Some(missing) = only.iter().find(|o| {
        !dirs
            .iter()
            .any(|d| d.file_name().is_some_and(|n| n == o.as_str()))
    }) {
        return Err(ringscope_pipeline::Error::Config(format!(
            "--dataset {missing}: no such dataset directory in {}",
            data.display()
        ))
        .into());
    }
    if dirs.is_empty() {
        return Err(ringscope_pipeline::Error::Config(format!(
            "{} holds no dataset directory (nodes.csv, edges_<relation>.csv, meta.json)",
            data.display()
        ))
        .into());
    }
    Ok(dirs)
}

pub fn eval(args: EvalArgs) -> Result<()> {
    let dirs = dataset_dirs(&args.data, &args.datasets)?;
    let names: Vec<String> = match args.models.is_empty() {
        true => eval::PRESETS
            .iter()
            .map(|(n, _)| (*n).to_string())
            .collect(),
        false => args.models.clone(),
    };
    let models = names
        .iter()
        .map(|n| ModelSpec::resolve(n))
        .collect::<ringscope_gnn::Result<Vec<_>>>()?;
    let options = EvalOptions {
        seeds: args.seeds,
        epochs: args.epochs,
        max_splits: args.max_splits,
        label_features: args.label_features,
        drop_features: args.drop_features.clone(),
        ..EvalOptions::default()
    };
    let device = device::open(args.device)?;
    let mut report = Report {
        command: std::iter::once("ringscope".to_string())
            .chain(std::env::args().skip(1))
            .collect::<Vec<_>>()
            .join(" "),
        ringscope_version: env!("CARGO_PKG_VERSION").into(),
        device: args.device.to_string(),
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        datasets: Vec::new(),
        peers: match &args.peers {
            Some(path) => eval::read_peers(path)?,
            None => Vec::new(),
        },
    };
    for dir in dirs {
        let raw = load::is_raw_dataset(&dir);
        let graph = match raw {
            true => load::load_raw_dataset(&dir)?,
            false => store::load(&dir)?,
        };
        let name = dir
            .file_name()
            .map_or(graph.name.clone(), |n| n.to_string_lossy().into_owned());
        let mut benchmark = Benchmark::for_dataset(&name, &dir, &graph);
        if let Some(root) = &args.write_splits {
            match graph.node_sets().len() {
                1 => {
                    let mut splits = benchmark.splits(&dir, &graph, args.seeds)?;
                    splits.truncate(args.max_splits.unwrap_or(usize::MAX));
                    let path = root.join(&name).join("splits.csv");
                    ringscope_train::datasets::write_splits(&path, &graph, &splits)?;
                    tracing::info!(dataset = %name, path = %path.display(), "splits written");
                }
                _ => tracing::info!(
                    dataset = %name,
                    "splits not written: a splits file covers graphs with one node set"
                ),
            }
        }
        if args.splits_only {
            continue;
        }
        if raw {
            benchmark
                .references
                .extend(ringscope_pipeline::eval::label_free_references(
                    &benchmark,
                    &dir,
                    &graph,
                    args.seeds,
                    args.max_splits,
                )?);
        }
        tracing::info!(dataset = %name, protocol = %benchmark.protocol.describe(), "evaluating");
        let result = eval::evaluate(
            &benchmark,
            &dir,
            &graph,
            &models,
            &options,
            &device,
            |model, run| {
                tracing::info!(
                    dataset = %name,
                    model,
                    split = %run.split,
                    auroc = run.test.auroc,
                    auprc = run.test.auprc,
                    best_epoch = run.best_epoch,
                    secs = run.seconds,
                    "run done"
                )
            },
        )
        .with_context(|| format!("evaluating {}", dir.display()))?;
        report.datasets.push(result);
    }
    if args.splits_only {
        return Ok(());
    }
    let markdown = report.to_markdown();
    let staged = ringscope_export::StagedOutput::new(&args.out)?;
    ringscope_export::write_json(&staged.path().join("results.json"), &report)?;
    ringscope_export::write_file(&staged.path().join("results.md"), markdown.as_bytes())?;
    staged.commit()?;
    if let Some(doc) = &args.doc {
        ringscope_export::write_file(doc, markdown.as_bytes())?;
    }
    print!("{markdown}");
    println!(
        "\nresults in {}: results.md, results.json",
        args.out.display()
    );
    Ok(())
}
