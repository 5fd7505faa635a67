//! Evaluation on labelled benchmark graphs under each one's published protocol
//! ([`crate::datasets`]): every model trained and tested on every split, with mean ± std per
//! metric, elapsed time and the reference numbers beside ours, as JSON and Markdown.

use crate::config::ModelFile;
pub use crate::config::{ModelSpec, PRESETS};
use crate::datasets::{Benchmark, Metric};
use crate::fit::{Metrics, TrainData, train};
use crate::split::Split;
use burn::prelude::Device;
use ringscope_features::{
    AggregateOptions, FeatureMatrix, FeatureOptions, Standardizer, label_features,
    neighbour_aggregates, node_features,
};
use ringscope_gnn::error::{GnnError, Result};
use ringscope_gnn::graph::GraphEdges;
use ringscope_graph::HeteroGraph;
use ringscope_trees::{Gbdt, GbdtConfig};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Settings shared by every run.
#[derive(Clone, Debug)]
pub struct EvalOptions {
    /// Runs per stratified protocol (seeds 0..seeds).
    pub seeds: usize,
    /// Overrides each model file's `[train] epochs` (for a quick look).
    pub epochs: Option<usize>,
    /// Use at most this many of the protocol's splits.
    pub max_splits: Option<usize>,
    /// Feature families.
    pub features: FeatureOptions,
    /// Add [`label_features`] computed from each split's training labels.
    pub label_features: bool,
    /// Leave out feature columns whose name contains any of these (ablations).
    pub drop_features: Vec<String>,
}

impl Default for EvalOptions {
    fn default() -> Self {
        EvalOptions {
            seeds: 5,
            epochs: None,
            max_splits: None,
            features: FeatureOptions::default(),
            label_features: false,
            drop_features: Vec::new(),
        }
    }
}

/// One trained model on one split.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RunResult {
    /// Split name (`split3`, `seed1`, `fold0`).
    pub split: String,
    /// Training seed.
    pub seed: u64,
    /// Epoch with the best validation AUPRC (networks), or trees kept (boosted trees).
    pub best_epoch: usize,
    /// Epochs run (networks), or trees grown (boosted trees), before early stopping.
    pub epochs_run: usize,
    /// Wall-clock seconds of training and evaluation.
    pub seconds: f64,
    /// Validation metrics at the best epoch.
    pub val: Metrics,
    /// Test metrics at the best epoch.
    pub test: Metrics,
}

/// Mean and (sample) standard deviation of one metric over the runs where it is defined,
/// × 100, and how many runs it is undefined in (a test set without both classes, say).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Mean × 100.
    pub mean: f64,
    /// Sample standard deviation × 100 (0 for one run).
    pub std: f64,
    /// Runs left out of the mean because the metric was undefined (NaN) there.
    pub undefined: usize,
}

impl Summary {
    fn of(values: impl Iterator<Item = f64>) -> Self {
        let all: Vec<f64> = values.collect();
        let v: Vec<f64> = all
            .iter()
            .filter(|v| v.is_finite())
            .map(|v| v * 100.0)
            .collect();
        let undefined = all.len() - v.len();
        if v.is_empty() {
            return Summary {
                mean: f64::NAN,
                std: f64::NAN,
                undefined,
            };
        }
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        let var = match v.len() {
            1 => 0.0,
            n => v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64,
        };
        Summary {
            mean,
            std: var.sqrt(),
            undefined,
        }
    }
}

/// One model over every split of one dataset.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ModelResult {
    /// Row label.
    pub model: String,
    /// The model file as read (a network's `d_input` and `relations` from the graph; seeds
    /// as in the file, each run using its split's seed).
    pub config: ModelFile,
    /// Test AUROC over runs.
    pub auroc: Summary,
    /// Test AUPRC over runs.
    pub auprc: Summary,
    /// Test macro-F1 over runs.
    pub macro_f1: Summary,
    /// Test Rec@K over runs.
    pub recall_at_k: Summary,
    /// Total seconds.
    pub seconds: f64,
    /// Every run.
    pub runs: Vec<RunResult>,
}

impl ModelResult {
    /// The summary of `metric`.
    pub fn summary(&self, metric: Metric) -> Summary {
        match metric {
            Metric::Auroc => self.auroc,
            Metric::Auprc => self.auprc,
            Metric::MacroF1 => self.macro_f1,
            Metric::RecallAtK => self.recall_at_k,
        }
    }
}

/// Every model on one dataset.
#[derive(Clone, Debug, serde::Serialize)]
pub struct DatasetResult {
    /// Protocol, references and target.
    pub benchmark: Benchmark,
    /// The dataset directory as given.
    pub dir: PathBuf,
    /// Nodes.
    pub nodes: usize,
    /// Edges the models read (reverses included).
    pub edges: usize,
    /// Labelled nodes (fraud, benign).
    pub labelled: (usize, usize),
    /// Input features.
    pub features: usize,
    /// One row per model.
    pub models: Vec<ModelResult>,
}

impl DatasetResult {
    /// The best model's headline mean, and whether it reaches the target.
    pub fn best(&self) -> Option<(&ModelResult, f64)> {
        self.models
            .iter()
            .map(|m| (m, m.summary(self.benchmark.headline).mean))
            .filter(|(_, v)| v.is_finite())
            .max_by(|a, b| a.1.total_cmp(&b.1))
    }
}

/// What `ringscope eval` writes.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Report {
    /// The command line that produced it.
    pub command: String,
    /// ringscope version.
    pub ringscope_version: String,
    /// Device the models ran on.
    pub device: String,
    /// Worker threads.
    pub threads: usize,
    /// One entry per dataset.
    pub datasets: Vec<DatasetResult>,
    /// Peers measured in the same session ([`read_peers`]), shown beside each dataset's best.
    pub peers: Vec<Peer>,
}

/// A peer's result on one dataset, measured beside ours in the same session by
/// `benches/eval_peers.sh`: mean ± std × 100 over the dataset's protocol.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Peer {
    /// Dataset directory name.
    pub dataset: String,
    /// Peer name (`XGBGraph`).
    pub model: String,
    /// The protocol as the peer describes it.
    pub protocol: String,
    /// Runs averaged.
    pub runs: usize,
    /// Test AUROC × 100.
    pub auroc: f64,
    /// Its standard deviation.
    pub auroc_std: f64,
    /// Test AUPRC × 100.
    pub auprc: f64,
    /// Its standard deviation.
    pub auprc_std: f64,
    /// Wall-clock seconds of the whole peer run (load, features, every split).
    pub seconds: f64,
    /// Threads it used.
    pub threads: usize,
    /// Script and how its numbers are computed.
    pub source: String,
}

/// Peers from a JSON-lines file written by `benches/eval_peers.sh`.
pub fn read_peers(path: &Path) -> Result<Vec<Peer>> {
    let text = std::fs::read_to_string(path).map_err(|source| GnnError::Read {
        path: path.into(),
        source,
    })?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| GnnError::Data {
                path: path.into(),
                message: format!("line {}: {e}", i + 1),
            })
        })
        .collect()
}

/// How many AUROC points over a peer the best model must be to count as beating it.
pub const BEAT_MARGIN: f64 = 1.0;

/// Trains and tests every model on every split of `benchmark` over `graph` (read from `dir`).
/// `on_run` hears about each finished run (for progress and logs).
pub fn evaluate(
    benchmark: &Benchmark,
    dir: &Path,
    graph: &HeteroGraph,
    models: &[ModelSpec],
    options: &EvalOptions,
    device: &Device,
    mut on_run: impl FnMut(&str, &RunResult),
) -> Result<DatasetResult> {
    let edges = GraphEdges::new(graph, benchmark.add_reverse);
    let labels = crate::split::node_labels(graph);
    let mut splits = benchmark.splits(dir, graph, options.seeds)?;
    splits.truncate(options.max_splits.unwrap_or(usize::MAX));
    let base_of = |families: FeatureOptions| {
        let mut base = node_features(graph, families);
        base.drop_matching(&options.drop_features);
        base
    };
    // What a network reads, per split: label features depend on the split, since each split
    // sees its own training labels only.
    let network_features = |base: &FeatureMatrix| -> Vec<FeatureMatrix> {
        splits
            .iter()
            .map(|(_, _, split)| {
                let mut x = base.clone();
                if options.label_features {
                    let mut known = vec![-1i8; labels.len()];
                    for &i in &split.train {
                        known[i as usize] = labels[i as usize];
                    }
                    x.append(&label_features(graph, &known));
                }
                // Transductive: every node's features are observed, so all are standardised
                // together.
                Standardizer::fit(&x).apply(&mut x);
                x
            })
            .collect()
    };
    let base = base_of(options.features);
    let split_features = network_features(&base);
    let d_input = split_features
        .first()
        .map_or(base.cols(), FeatureMatrix::cols);
    let relations = edges.relations.len().max(1);
    let mut results = Vec::new();
    for spec in models {
        // A network's model file may choose its own feature families (`[features]`).
        let families = crate::config::feature_options(&spec.toml, spec.file.as_deref())?;
        let own_features =
            (families != options.features).then(|| network_features(&base_of(families)));
        let split_features = own_features.as_ref().unwrap_or(&split_features);
        let d_input = split_features.first().map_or(d_input, FeatureMatrix::cols);
        let mut config =
            crate::config::read_model_file(&spec.toml, spec.file.as_deref(), d_input, relations)?;
        let started = Instant::now();
        let trees = TreeData {
            graph,
            dir,
            base: &base,
            labels: &labels,
            label_features: options.label_features,
        };
        let runs = match &mut config {
            ModelFile::Gnn {
                model,
                train: train_config,
            } => {
                if let Some(epochs) = options.epochs {
                    train_config.epochs = epochs;
                }
                let mut runs = Vec::new();
                for ((name, seed, split), features) in splits.iter().zip(split_features) {
                    let run_started = Instant::now();
                    let settings = train_config.clone().with_seed(*seed);
                    let data = TrainData {
                        edges: &edges,
                        x: &features.values,
                        labels: &labels,
                        split,
                    };
                    let trained = train(model, &settings, data, device, None, |_| {});
                    let run = RunResult {
                        split: name.clone(),
                        seed: *seed,
                        best_epoch: trained.best_epoch,
                        epochs_run: trained.history.len(),
                        seconds: run_started.elapsed().as_secs_f64(),
                        val: trained.val,
                        test: trained.test,
                    };
                    on_run(&spec.label, &run);
                    runs.push(run);
                }
                runs
            }
            ModelFile::Gbdt(file) => {
                let no_columns = |_: usize| None;
                trees.runs(&file.trees, &file.aggregates, &splits, no_columns, |run| {
                    on_run(&spec.label, run)
                })?
            }
            ModelFile::Stack(file) => {
                if let Some(epochs) = options.epochs {
                    file.train.epochs = epochs;
                }
                let file = &*file;
                let network = |i: usize| {
                    let (_, seed, split) = &splits[i];
                    Some(crate::stack::network_columns(
                        file,
                        &edges,
                        &split_features[i],
                        &labels,
                        split,
                        *seed,
                        device,
                    ))
                };
                trees.runs(&file.trees, &file.aggregates, &splits, network, |run| {
                    on_run(&spec.label, run)
                })?
            }
        };
        let over = |f: fn(&Metrics) -> f64| Summary::of(runs.iter().map(|r| f(&r.test)));
        results.push(ModelResult {
            model: spec.label.clone(),
            auroc: over(|m| m.auroc),
            auprc: over(|m| m.auprc),
            macro_f1: over(|m| m.macro_f1),
            recall_at_k: over(|m| m.recall_at_k),
            seconds: started.elapsed().as_secs_f64(),
            config,
            runs,
        });
    }
    let count = |class| labels.iter().filter(|&&l| l == class).count();
    Ok(DatasetResult {
        benchmark: benchmark.clone(),
        dir: dir.to_path_buf(),
        nodes: graph.num_nodes(),
        edges: edges.num_merged_edges(),
        labelled: (count(1), count(0)),
        features: d_input,
        models: results,
    })
}

/// What boosted trees read: the graph's raw node features (trees need no scaling) with their
/// neighbour aggregates, and per split the label features of its training labels.
struct TreeData<'a> {
    graph: &'a HeteroGraph,
    dir: &'a Path,
    base: &'a FeatureMatrix,
    labels: &'a [i8],
    label_features: bool,
}

impl TreeData<'_> {
    /// One tree model per split over the features, their aggregates, and the `extra` columns
    /// of split `i` (a stacked network's), if any.
    fn runs(
        &self,
        trees: &GbdtConfig,
        aggregates: &AggregateOptions,
        splits: &[(String, u64, Split)],
        mut extra: impl FnMut(usize) -> Option<FeatureMatrix>,
        mut on_run: impl FnMut(&RunResult),
    ) -> Result<Vec<RunResult>> {
        // Aggregates of the label-free features only: a neighbour's label features count
        // this node's own training label, which would leak it into its own row.
        let mut x = self.base.clone();
        x.append(&neighbour_aggregates(self.graph, self.base, aggregates));
        let mut runs = Vec::new();
        for (i, (name, seed, split)) in splits.iter().enumerate() {
            let started = Instant::now();
            let extra = extra(i);
            let with_split;
            let x = match (self.label_features, extra) {
                (false, None) => &x,
                (with_labels, extra) => {
                    let mut m = x.clone();
                    if with_labels {
                        let mut known = vec![-1i8; self.labels.len()];
                        for &i in &split.train {
                            known[i as usize] = self.labels[i as usize];
                        }
                        m.append(&label_features(self.graph, &known));
                    }
                    if let Some(extra) = extra {
                        m.append(&extra);
                    }
                    with_split = m;
                    &with_split
                }
            };
            let config = GbdtConfig {
                seed: *seed,
                ..trees.clone()
            };
            let failed = |e: ringscope_trees::TreesError| GnnError::Data {
                path: self.dir.to_path_buf(),
                message: format!("gbdt on {name}: {e}"),
            };
            let model =
                Gbdt::fit(&config, x, self.labels, &split.train, &split.val).map_err(failed)?;
            let scores = model.predict(x).map_err(failed)?;
            let (_, val, test) = crate::fit::split_metrics(&scores, self.labels, split);
            let run = RunResult {
                split: name.clone(),
                seed: *seed,
                best_epoch: model.trees,
                epochs_run: model.trees_grown,
                seconds: started.elapsed().as_secs_f64(),
                val,
                test,
            };
            on_run(&run);
            runs.push(run);
        }
        Ok(runs)
    }
}

const COLUMNS: [Metric; 4] = [
    Metric::Auroc,
    Metric::Auprc,
    Metric::MacroF1,
    Metric::RecallAtK,
];

fn cell(s: Summary) -> String {
    let value = match s.mean.is_finite() {
        true => format!("{:.2} ± {:.2}", s.mean, s.std),
        false => "n/a".into(),
    };
    match s.undefined {
        0 => value,
        1 => format!("{value} (undefined in 1 run)"),
        k => format!("{value} (undefined in {k} runs)"),
    }
}

impl Report {
    /// The table of each dataset's best model by AUROC beside the peers measured on it.
    fn peers_markdown(&self) -> String {
        let mut md = format!(
            "\nBeside the peers measured in the same session (`benches/eval_peers.sh`). A peer \
             is beaten when the best model's AUROC is at least {BEAT_MARGIN:.1} above it **and** its \
             AUPRC is at least the peer's.\n\n\
             | dataset | best ours by AUROC | its AUPRC | peer | peer AUROC | peer AUPRC | peer seconds | beaten |\n\
             |---|---|---|---|---|---|---|---|\n"
        );
        for d in &self.datasets {
            let dir_name = d.dir.file_name().map(|n| n.to_string_lossy().into_owned());
            let best = d
                .models
                .iter()
                .filter(|m| m.auroc.mean.is_finite())
                .max_by(|a, b| a.auroc.mean.total_cmp(&b.auroc.mean));
            for p in self
                .peers
                .iter()
                .filter(|p| Some(&p.dataset) == dir_name.as_ref() || p.dataset == d.benchmark.name)
            {
                let (ours, auprc, beaten) = match best {
                    Some(m) => (
                        format!("{} ({})", cell(m.auroc), m.model),
                        cell(m.auprc),
                        match m.auroc.mean >= p.auroc + BEAT_MARGIN && m.auprc.mean >= p.auprc {
                            true => "yes",
                            false => "**no**",
                        },
                    ),
                    None => ("n/a".into(), "n/a".into(), "n/a"),
                };
                md.push_str(&format!(
                    "| {} | {ours} | {auprc} | {} | {:.2} ± {:.2} | {:.2} ± {:.2} | {:.0} | {beaten} |\n",
                    d.benchmark.name, p.model, p.auroc, p.auroc_std, p.auprc, p.auprc_std, p.seconds
                ));
            }
        }
        md
    }

    /// The Markdown results document.
    pub fn to_markdown(&self) -> String {
        let mut md = String::from("# Benchmark results\n\n");
        md.push_str(&format!(
            "Produced by ringscope {} on {} with {} threads:\n\n```\n{}\n```\n\n",
            self.ringscope_version, self.device, self.threads, self.command
        ));
        md.push_str(
            "Numbers are test-set metrics × 100, mean ± sample standard deviation over the protocol's runs \
             (a run where a metric is undefined is counted and named, not averaged). A network keeps the \
             epoch with the best validation AUPRC; boosted trees (`gbdt`, and `stack` over a network's \
             out-of-fold scores) keep the iteration with the best validation AUROC, and their \"best \
             epoch\" column counts trees. Macro-F1 uses the threshold that maximises validation \
             macro-F1; Rec@K is recall among the K highest scores, K = positives.\n\n",
        );
        md.push_str("| dataset | target | best ours | reached |\n|---|---|---|---|\n");
        for d in &self.datasets {
            let metric = d.benchmark.headline.label();
            let best = d.best();
            let (best_text, reached) = match (best, d.benchmark.target) {
                (Some((m, v)), Some(t)) => (
                    format!("{v:.2} ({})", m.model),
                    if v >= t { "yes" } else { "**no**" }.to_string(),
                ),
                (Some((m, v)), None) => (format!("{v:.2} ({})", m.model), "no target".into()),
                (None, _) => ("n/a".into(), "n/a".into()),
            };
            let target = d
                .benchmark
                .target
                .map_or("none published".into(), |t| format!("{metric} ≥ {t:.2}"));
            md.push_str(&format!(
                "| {} | {target} | {best_text} | {reached} |\n",
                d.benchmark.name
            ));
        }
        if !self.peers.is_empty() {
            md.push_str(&self.peers_markdown());
        }
        for d in &self.datasets {
            md.push_str(&format!(
                "\n## {}\n\n{} nodes, {} edges as the models read them, {} fraud and {} benign labelled, {} input features. Protocol: {}.\n\n",
                d.benchmark.name,
                d.nodes,
                d.edges,
                d.labelled.0,
                d.labelled.1,
                d.features,
                d.benchmark.protocol.describe()
            ));
            md.push_str("| model | ");
            md.push_str(&COLUMNS.map(Metric::label).join(" | "));
            md.push_str(" | runs | mean best epoch (trees) | seconds |\n|---|");
            md.push_str(&"---|".repeat(COLUMNS.len() + 3));
            md.push('\n');
            for m in &d.models {
                let cells: Vec<String> = COLUMNS.iter().map(|&c| cell(m.summary(c))).collect();
                let best_epoch = m.runs.iter().map(|r| r.best_epoch as f64).sum::<f64>()
                    / m.runs.len().max(1) as f64;
                md.push_str(&format!(
                    "| {} | {} | {} | {best_epoch:.0} | {:.0} |\n",
                    m.model,
                    cells.join(" | "),
                    m.runs.len(),
                    m.seconds
                ));
            }
            if !d.benchmark.references.is_empty() {
                md.push_str("\nReference numbers, same protocol:\n\n| model | metric | value | source |\n|---|---|---|---|\n");
                for r in &d.benchmark.references {
                    md.push_str(&format!(
                        "| {} | {} | {:.2} | {} |\n",
                        r.model,
                        r.metric.label(),
                        r.value,
                        r.source
                    ));
                }
            }
            if let Some(note) = d.benchmark.note {
                md.push_str(&format!("\n{note}\n"));
            }
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_is_mean_and_sample_std_in_percent() {
        let s = Summary::of([0.8, 0.9, f64::NAN].into_iter());
        assert!((s.mean - 85.0).abs() < 1e-9);
        assert_eq!(s.undefined, 1);
        assert_eq!(
            cell(s),
            format!("85.00 ± {:.2} (undefined in 1 run)", 50f64.sqrt())
        );
        assert!((s.std - 50f64.sqrt()).abs() < 1e-9);
        assert_eq!(Summary::of([0.5].into_iter()).std, 0.0);
        assert!(Summary::of(std::iter::empty()).mean.is_nan());
    }

    #[test]
    fn every_preset_is_a_valid_model_file() {
        for (name, _) in PRESETS {
            let spec = ModelSpec::resolve(name).unwrap();
            let file = crate::config::read_model_file(&spec.toml, None, 8, 2)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            let model = match file {
                ModelFile::Gnn { model, .. } => model.model,
                ModelFile::Gbdt(trees) => trees.model.to_string(),
                ModelFile::Stack(stack) => stack.model.to_string(),
            };
            assert_eq!(&model, name);
        }
    }
}
