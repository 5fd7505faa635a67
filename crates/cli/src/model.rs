//! `ringscope train` and `ringscope score`, and the scoring stage of `ringscope run`.

use crate::exit::ConfigError;
use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ringscope_features::{FeatureOptions, Standardizer};
use ringscope_gnn::checkpoint::{self, FeatureDescription, Manifest};
use ringscope_gnn::{DeviceChoice, ModelInput, TrainData, device};
use ringscope_graph::{HeteroGraph, SCHEMA_VERSION};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// The model file `train` uses when none is given: the relation-aware layer, which keeps the
/// marketplace's device, IP, payment and review relations apart.
const DEFAULT_MODEL: &str = "model = \"rgcn\"\nskip = true\nlayer_norm = true\n";

#[derive(Args)]
pub struct TrainArgs {
    /// Events directory, graph store or labelled dataset directory.
    #[arg(long, default_value = "graphs/sample")]
    pub graph: PathBuf,
    /// Model file (TOML): `model = "sage"` and optional `[train]` settings.
    #[arg(long, conflicts_with = "resume")]
    pub config: Option<PathBuf>,
    /// Continue training a checkpoint: its weights, optimiser state, model and training
    /// settings and feature normalisation; the graph must match it.
    #[arg(long, value_name = "CHECKPOINT")]
    pub resume: Option<PathBuf>,
    /// Checkpoint directory to write (replaced atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Where to train.
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
    /// Overrides `[train] epochs`.
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Overrides `[train] seed` (also seeds the train/validation/test split).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Investigator verdicts from `ringscope serve` (feedback.jsonl): a confirmed account or
    /// ring member is labelled fraud, a dismissed one benign, the latest verdict winning.
    #[arg(long, value_name = "FEEDBACK_JSONL")]
    pub feedback: Option<PathBuf>,
}

#[derive(Args)]
pub struct ScoreArgs {
    /// Events directory, graph store or labelled dataset directory.
    #[arg(long, default_value = "graphs/sample")]
    pub graph: PathBuf,
    /// Checkpoint directory.
    #[arg(long, default_value = "checkpoints/default")]
    pub checkpoint: PathBuf,
    /// CSV file to write (replaced atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Where to run the model.
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
}

/// Node scores of the labelled node kinds, highest first, with the model that gave them.
pub struct Scores {
    /// `(node kind, id, score, ground-truth label)`.
    pub rows: Vec<(String, String, f32, i8)>,
    /// The checkpoint's decision threshold.
    pub threshold: f32,
    /// Every node's score, in the graph's global index space.
    pub all: Vec<f32>,
    /// The checkpoint, for explaining the scores.
    pub checkpoint: checkpoint::Checkpoint,
    /// The device it runs on.
    pub device: ringscope_gnn::Device,
}

impl Scores {
    /// CSV with a header: `kind,id,score,flagged,label`.
    pub fn to_csv(&self) -> String {
        let mut out = String::from("kind,id,score,flagged,label\n");
        for (kind, id, score, label) in &self.rows {
            let flagged = u8::from(*score >= self.threshold);
            let id = ringscope_ingest::csv_field(id);
            out.push_str(&format!("{kind},{id},{score:.6},{flagged},{label}\n"));
        }
        out
    }

    /// AUROC against the ground truth, where there are both classes.
    pub fn auroc(&self) -> Option<f64> {
        let labelled: Vec<_> = self.rows.iter().filter(|r| r.3 >= 0).collect();
        let scores: Vec<f32> = labelled.iter().map(|r| r.2).collect();
        let labels: Vec<bool> = labelled.iter().map(|r| r.3 == 1).collect();
        ringscope_gnn::metrics::auroc(&scores, &labels)
    }
}

/// What [`apply_feedback`] did.
#[derive(Debug, Default, PartialEq)]
pub struct FeedbackApplied {
    pub fraud: usize,
    pub benign: usize,
    pub unknown: usize,
}

/// Labels the accounts named in a feedback file (`accounts` of each line): `confirm` → 1,
/// `dismiss` → 0, later lines over earlier ones. `labels` are per node of `graph`.
pub fn apply_feedback(
    graph: &HeteroGraph,
    labels: &mut [i8],
    path: &Path,
) -> Result<FeedbackApplied> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ringscope_graph::GraphError::Io {
            path: path.to_path_buf(),
            source,
        })
        .context("reading investigator feedback")?;
    let bad = |line: usize, message: &str| ringscope_graph::GraphError::BadFile {
        file: path.to_path_buf(),
        message: format!("line {line}: {message}"),
    };
    let Some((kind, accounts)) = graph.node_set(ringscope_graph::NodeKind::Account.name()) else {
        return Ok(FeedbackApplied::default());
    };
    let offset = graph.node_offsets()[kind];
    // account → verdict, the latest line winning
    let mut verdicts: std::collections::BTreeMap<String, i8> = std::collections::BTreeMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| bad(i + 1, &e.to_string()))?;
        let label = match v["verdict"].as_str() {
            Some("confirm") => 1,
            Some("dismiss") => 0,
            _ => return Err(bad(i + 1, "verdict must be \"confirm\" or \"dismiss\"").into()),
        };
        let members = v["accounts"]
            .as_array()
            .ok_or_else(|| bad(i + 1, "no array 'accounts'"))?;
        for m in members {
            let id = m
                .as_str()
                .ok_or_else(|| bad(i + 1, "an account that is not a string"))?;
            verdicts.insert(id.to_string(), label);
        }
    }
    let mut applied = FeedbackApplied::default();
    for (id, label) in verdicts {
        match accounts.ids.get(&id) {
            Some(local) => {
                labels[offset + local as usize] = label;
                if label == 1 {
                    applied.fraud += 1;
                } else {
                    applied.benign += 1;
                }
            }
            None => applied.unknown += 1,
        }
    }
    Ok(applied)
}

/// A graph store or dataset directory (has `meta.json`), else an events directory to ingest.
pub fn load_graph(path: &Path) -> Result<HeteroGraph> {
    if path.join("meta.json").is_file() {
        ringscope_graph::store::load(path).with_context(|| format!("loading {}", path.display()))
    } else {
        let (_, graph) = crate::ingest_and_build(path, &mut crate::Stages::new())?;
        Ok(graph)
    }
}

pub fn train(args: TrainArgs) -> Result<()> {
    let graph = load_graph(&crate::resolve_input(&args.graph))?;
    let device = device::open(args.device)?;
    let resumed = match &args.resume {
        Some(dir) => Some(checkpoint::load(dir, &device)?),
        None => None,
    };
    let mut input = match &resumed {
        Some(c) => {
            ModelInput::with_reverse(&graph, c.manifest.feature_options, c.manifest.add_reverse)
        }
        None => ModelInput::new(&graph, FeatureOptions::default()),
    };
    let relations = input.edges.relations.len().max(1);
    let (model_config, mut train_config, normalisation, resume) = match (resumed, &args.resume) {
        (Some(checkpoint), Some(dir)) => {
            let manifest = checkpoint.manifest.clone();
            check_fits(&manifest, dir, &input)?;
            let resume = Some(checkpoint.into_resume());
            (
                manifest.model,
                manifest.train,
                manifest.normalisation,
                resume,
            )
        }
        _ => {
            let (text, file) = match &args.config {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .map_err(|e| ConfigError(format!("{}: {e}", path.display())))?;
                    (text, Some(path.as_path()))
                }
                None => (DEFAULT_MODEL.to_string(), None),
            };
            let (model, train) =
                ringscope_gnn::config::from_toml(&text, file, input.features.cols(), relations)?;
            (model, train, Standardizer::fit(&input.features), None)
        }
    };
    normalisation.apply(&mut input.features);
    if let Some(path) = &args.feedback {
        let applied = apply_feedback(&graph, &mut input.labels, path)?;
        println!(
            "feedback: {} accounts labelled fraud, {} benign, {} not in the graph",
            applied.fraud, applied.benign, applied.unknown
        );
    }
    let features = &input.features;
    if let Some(epochs) = args.epochs {
        train_config.epochs = epochs;
    }
    if let Some(seed) = args.seed {
        train_config.seed = seed;
    }
    let split = input.stratified_split(0.6, 0.2, train_config.seed);
    if split.train.iter().all(|&i| input.labels[i as usize] == 0) || split.val.is_empty() {
        return Err(ConfigError(format!(
            "{} has too few labelled nodes of each class to train on",
            args.graph.display()
        ))
        .into());
    }
    let data = TrainData {
        edges: &input.edges,
        x: &features.values,
        labels: &input.labels,
        split: &split,
    };
    tracing::info!(model = %model_config.model, nodes = input.edges.num_nodes, features = features.cols(), relations, train = split.train.len(), device = %args.device, "training");

    let progress = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(train_config.epochs as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} epochs {msg} [{elapsed}<{eta}]")
                .expect("valid template"),
        );
        bar
    });
    let trained = ringscope_gnn::train(&model_config, &train_config, data, &device, resume, |e| {
        match &progress {
            Some(bar) => {
                bar.set_message(format!("loss {:.4} val AUPRC {:.4}", e.loss, e.val_auprc));
                bar.inc(1);
            }
            None => tracing::info!(
                epoch = e.epoch,
                loss = e.loss,
                val_auprc = e.val_auprc,
                secs = e.train_seconds,
                "epoch"
            ),
        }
    });
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    let description = FeatureDescription {
        features: features.names.clone(),
        options: input.options,
        normalisation,
        schema_version: SCHEMA_VERSION,
        add_reverse: input.add_reverse,
    };
    let manifest = Manifest::new(model_config, train_config, &trained, data, description);
    checkpoint::save(&args.out, &trained.model, Some(trained.optimizer), manifest)?;
    println!(
        "best epoch {} of {}: validation AUROC {:.4} AUPRC {:.4}; test AUROC {:.4} AUPRC {:.4} macro-F1 {:.4} recall@k {:.4}",
        trained.best_epoch,
        trained.history.len(),
        trained.val.auroc,
        trained.val.auprc,
        trained.test.auroc,
        trained.test.auprc,
        trained.test.macro_f1,
        trained.test.recall_at_k
    );
    println!("checkpoint written to {}", args.out.display());
    Ok(())
}

/// Refuses `input` unless the checkpoint in `dir` was trained on its schema, relations and
/// feature columns.
fn check_fits(manifest: &Manifest, dir: &Path, input: &ModelInput) -> Result<()> {
    manifest.check_graph(
        dir,
        SCHEMA_VERSION,
        &input.edges.relation_names(),
        &input.features.names,
    )?;
    Ok(())
}

/// Scores every node of the labelled kinds of `graph` with the checkpoint in `dir`.
pub fn score(graph: &HeteroGraph, dir: &Path, choice: DeviceChoice) -> Result<Scores> {
    let device = device::open(choice)?;
    let checkpoint = checkpoint::load(dir, &device)?;
    let all = checkpoint.score(graph, &device)?;
    let mut rows = Vec::new();
    for (set, &offset) in graph.node_sets().iter().zip(&graph.node_offsets()) {
        let Some(labels) = &set.labels else { continue };
        for (i, &label) in labels.iter().enumerate() {
            rows.push((
                set.kind.clone(),
                set.ids.resolve(i as u32).to_string(),
                all[offset + i],
                label,
            ));
        }
    }
    rows.sort_by(|a, b| b.2.total_cmp(&a.2).then_with(|| a.1.cmp(&b.1)));
    Ok(Scores {
        rows,
        threshold: checkpoint.manifest.threshold,
        all,
        checkpoint,
        device,
    })
}

pub fn score_cmd(args: ScoreArgs) -> Result<()> {
    let graph = load_graph(&crate::resolve_input(&args.graph))?;
    let scores = score(&graph, &crate::resolve_input(&args.checkpoint), args.device)?;
    crate::write_atomically(&args.out, scores.to_csv().as_bytes())?;
    let flagged = scores
        .rows
        .iter()
        .filter(|r| r.2 >= scores.threshold)
        .count();
    println!(
        "scored {} nodes, {flagged} at or above the threshold {:.3}; written to {}",
        scores.rows.len(),
        scores.threshold,
        args.out.display()
    );
    Ok(())
}
