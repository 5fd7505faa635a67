//! Evaluation on labelled benchmark graphs under each one's published protocol
//! ([`crate::datasets`]): every model trained and tested on every split, with mean ± std per
//! metric, elapsed time and the reference numbers beside ours, as JSON and Markdown.

use crate::datasets::{Benchmark, Metric};
use crate::fit::{Metrics, TrainConfig, TrainData, train};
use burn::prelude::Device;
use ringscope_features::{
    FeatureMatrix, FeatureOptions, Standardizer, label_features, node_features,
};
use ringscope_gnn::GnnConfig;
use ringscope_gnn::error::Result;
use ringscope_gnn::graph::GraphEdges;
use ringscope_graph::HeteroGraph;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// A model to evaluate: a model file's text (`model = "sage"` and `[train]`), under a label.
#[derive(Clone, Debug)]
pub struct ModelSpec {
    /// Row label in the tables (the preset name or the file stem).
    pub label: String,
    /// The TOML text.
    pub toml: String,
    /// Where it was read from, for error messages.
    pub file: Option<PathBuf>,
}

/// The model files shipped for evaluation, by name (`ringscope eval --model sage`).
pub const PRESETS: &[(&str, &str)] = &[
    ("sage", include_str!("../presets/sage.toml")),
    ("gcn", include_str!("../presets/gcn.toml")),
    ("gat", include_str!("../presets/gat.toml")),
    ("bwgnn", include_str!("../presets/bwgnn.toml")),
    ("rgcn", include_str!("../presets/rgcn.toml")),
    ("mlp", include_str!("../presets/mlp.toml")),
];

impl ModelSpec {
    /// A shipped preset by name, or a model file by path.
    pub fn resolve(name_or_path: &str) -> Result<Self> {
        if let Some((label, toml)) = PRESETS.iter().find(|(n, _)| *n == name_or_path) {
            return Ok(ModelSpec {
                label: (*label).into(),
                toml: (*toml).into(),
                file: None,
            });
        }
        let path = Path::new(name_or_path);
        let toml = std::fs::read_to_string(path).map_err(|source| ringscope_gnn::GnnError::Io {
            path: path.into(),
            source,
        })?;
        Ok(ModelSpec {
            label: path
                .file_stem()
                .map_or(name_or_path.into(), |s| s.to_string_lossy().into_owned()),
            toml,
            file: Some(path.into()),
        })
    }
}

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
    /// Epoch with the best validation AUPRC.
    pub best_epoch: usize,
    /// Epochs run before early stopping.
    pub epochs_run: usize,
    /// Wall-clock seconds of training and evaluation.
    pub seconds: f64,
    /// Validation metrics at the best epoch.
    pub val: Metrics,
    /// Test metrics at the best epoch.
    pub test: Metrics,
}

/// Mean and (sample) standard deviation of one metric over runs, × 100.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Summary {
    /// Mean × 100.
    pub mean: f64,
    /// Sample standard deviation × 100 (0 for one run).
    pub std: f64,
}

impl Summary {
    fn of(values: impl Iterator<Item = f64>) -> Self {
        let v: Vec<f64> = values
            .filter(|v| v.is_finite())
            .map(|v| v * 100.0)
            .collect();
        if v.is_empty() {
            return Summary {
                mean: f64::NAN,
                std: f64::NAN,
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
        }
    }
}

/// One model over every split of one dataset.
#[derive(Clone, Debug, serde::Serialize)]
pub struct ModelResult {
    /// Row label.
    pub model: String,
    /// The architecture (with `d_input` and `relations` from the graph).
    pub config: GnnConfig,
    /// The training settings (seed as in the first run).
    pub train: TrainConfig,
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
}

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
    let mut base = node_features(graph, options.features);
    base.drop_matching(&options.drop_features);
    let labels = crate::split::node_labels(graph);
    let mut splits = benchmark.splits(dir, graph, options.seeds)?;
    splits.truncate(options.max_splits.unwrap_or(usize::MAX));
    // Label features depend on the split: each split sees its own training labels only.
    let split_features: Vec<FeatureMatrix> = splits
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
            // Transductive: every node's features are observed, so all are standardised together.
            Standardizer::fit(&x).apply(&mut x);
            x
        })
        .collect();
    let d_input = split_features
        .first()
        .map_or(base.cols(), FeatureMatrix::cols);
    let relations = edges.relations.len().max(1);
    let mut results = Vec::new();
    for spec in models {
        let (config, mut train_config) =
            crate::config::from_toml(&spec.toml, spec.file.as_deref(), d_input, relations)?;
        if let Some(epochs) = options.epochs {
            train_config.epochs = epochs;
        }
        let started = Instant::now();
        let mut runs = Vec::new();
        for ((name, seed, split), features) in splits.iter().zip(&split_features) {
            let run_started = Instant::now();
            let settings = train_config.clone().with_seed(*seed);
            let data = TrainData {
                edges: &edges,
                x: &features.values,
                labels: &labels,
                split,
            };
            let trained = train(&config, &settings, data, device, None, |_| {});
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
        let over = |f: fn(&Metrics) -> f64| Summary::of(runs.iter().map(|r| f(&r.test)));
        results.push(ModelResult {
            model: spec.label.clone(),
            auroc: over(|m| m.auroc),
            auprc: over(|m| m.auprc),
            macro_f1: over(|m| m.macro_f1),
            recall_at_k: over(|m| m.recall_at_k),
            seconds: started.elapsed().as_secs_f64(),
            config,
            train: train_config,
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

const COLUMNS: [Metric; 4] = [
    Metric::Auroc,
    Metric::Auprc,
    Metric::MacroF1,
    Metric::RecallAtK,
];

fn cell(s: Summary) -> String {
    if s.mean.is_finite() {
        format!("{:.2} ± {:.2}", s.mean, s.std)
    } else {
        "n/a".into()
    }
}

impl Report {
    /// The Markdown results document.
    pub fn to_markdown(&self) -> String {
        let mut md = String::from("# Benchmark results\n\n");
        md.push_str(&format!(
            "Produced by ringscope {} on {} with {} threads:\n\n```\n{}\n```\n\n",
            self.ringscope_version, self.device, self.threads, self.command
        ));
        md.push_str(
            "Numbers are test-set metrics × 100, mean ± sample standard deviation over the protocol's runs. \
             Each run keeps the epoch with the best validation AUPRC; macro-F1 uses the threshold that \
             maximises validation macro-F1; Rec@K is recall among the K highest scores, K = positives.\n\n",
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
            md.push_str(" | runs | mean best epoch | seconds |\n|---|");
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
        assert!((s.std - 50f64.sqrt()).abs() < 1e-9);
        assert_eq!(Summary::of([0.5].into_iter()).std, 0.0);
        assert!(Summary::of(std::iter::empty()).mean.is_nan());
    }

    #[test]
    fn every_preset_is_a_valid_model_file() {
        for (name, _) in PRESETS {
            let spec = ModelSpec::resolve(name).unwrap();
            let (config, _) = crate::config::from_toml(&spec.toml, None, 8, 2)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&config.model, name);
        }
    }
}
