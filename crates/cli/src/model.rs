//! `ringscope train` and `ringscope score`: flags, the progress bar and the printed results
//! around `ringscope_pipeline::{train, score}`.

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ringscope_gnn::DeviceChoice;
use ringscope_pipeline::embedded::{self, DEFAULT_CHECKPOINT, DEFAULT_INPUT};
use ringscope_pipeline::train::TrainRequest;
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(Args)]
pub struct TrainArgs {
    /// Events directory, graph store or labelled dataset directory.
    #[arg(long, default_value = DEFAULT_INPUT)]
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
    #[arg(long, default_value = DEFAULT_INPUT)]
    pub graph: PathBuf,
    /// Checkpoint directory.
    #[arg(long, default_value = DEFAULT_CHECKPOINT)]
    pub checkpoint: PathBuf,
    /// CSV file to write (replaced atomically).
    #[arg(long)]
    pub out: PathBuf,
    /// Where to run the model.
    #[arg(long, default_value = "cpu")]
    pub device: DeviceChoice,
}

pub fn train(args: TrainArgs) -> Result<()> {
    let request = TrainRequest {
        graph: args.graph,
        model_file: args.config,
        resume: args.resume,
        out: args.out,
        device: args.device,
        epochs: args.epochs,
        seed: args.seed,
        feedback: args.feedback,
    };
    let progress = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::no_length();
        bar.set_style(
            ProgressStyle::with_template("{bar:30} {pos}/{len} epochs {msg} [{elapsed}<{eta}]")
                .expect("valid template"),
        );
        bar
    });
    let outcome = ringscope_pipeline::train::train(&request, |e, planned| match &progress {
        Some(bar) => {
            bar.set_length(planned as u64);
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
    })?;
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if let Some(applied) = &outcome.feedback {
        println!(
            "feedback: {} accounts labelled fraud, {} benign, {} not in the graph",
            applied.fraud, applied.benign, applied.unknown
        );
    }
    let (val, test) = (&outcome.val, &outcome.test);
    println!(
        "best epoch {} of {}: validation AUROC {:.4} AUPRC {:.4}; test AUROC {:.4} AUPRC {:.4} macro-F1 {:.4} recall@k {:.4}",
        outcome.best_epoch,
        outcome.epochs,
        val.auroc,
        val.auprc,
        test.auroc,
        test.auprc,
        test.macro_f1,
        test.recall_at_k
    );
    println!("checkpoint written to {}", request.out.display());
    Ok(())
}

pub fn score_cmd(args: ScoreArgs) -> Result<()> {
    let graph = ringscope_pipeline::load_graph(&embedded::resolve(&args.graph)?)?;
    let checkpoint = embedded::resolve(&args.checkpoint)?;
    let scores = ringscope_pipeline::score::score(&graph, &checkpoint, args.device)?;
    ringscope_export::write_file(&args.out, scores.to_csv().as_bytes())?;
    println!(
        "scored {} nodes, {} at or above the threshold {:.3}; written to {}",
        scores.rows.len(),
        scores.flagged(),
        scores.threshold,
        args.out.display()
    );
    Ok(())
}
