//! `ringscope train` and `ringscope score`: flags, the progress bar and the printed results
//! around `ringscope_pipeline::{train, score}`.

use anyhow::Result;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use ringscope_gnn::DeviceChoice;
use ringscope_pipeline::config::{Fit, ModelSection, OnOutOfDomain, Scorer};
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
    #[command(flatten)]
    pub model: ModelArgs,
}

/// The scorer flags of `run`, `rings`, `serve` and `score`; they override `[model]`.
#[derive(Args)]
pub struct ModelArgs {
    /// Which scorer gives the account scores [default: checkpoint].
    #[arg(long, value_enum)]
    pub scorer: Option<ScorerArg>,
    /// What to do when the input is outside the checkpoint's training population
    /// [default: label-free].
    #[arg(long, value_enum)]
    pub on_out_of_domain: Option<OutOfDomainArg>,
    /// Flag at most this share of the scored accounts and sellers [default: 0.02].
    #[arg(long)]
    pub max_flag_rate: Option<f64>,
    /// Fit a model on the input's own labels, split by time, and score with it (`run` only)
    /// [default: never].
    #[arg(long, value_enum)]
    pub fit: Option<FitArg>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum FitArg {
    /// When the input has a labels table.
    Auto,
    /// Never.
    Never,
    /// Always; without usable labels, score label-free and say why.
    Always,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum ScorerArg {
    /// The trained model in --checkpoint.
    Checkpoint,
    /// The label-free scorer, fitted on the input itself.
    LabelFree,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum OutOfDomainArg {
    /// Keep the checkpoint's scores and warn.
    Warn,
    /// Score with the label-free scorer instead.
    LabelFree,
    /// Stop with exit code 3.
    Fail,
}

impl ModelArgs {
    /// `section` with these flags applied.
    pub fn apply(&self, section: &mut ModelSection) {
        if let Some(s) = self.scorer {
            section.scorer = match s {
                ScorerArg::Checkpoint => Scorer::Checkpoint,
                ScorerArg::LabelFree => Scorer::LabelFree,
            };
        }
        if let Some(o) = self.on_out_of_domain {
            section.on_out_of_domain = match o {
                OutOfDomainArg::Warn => OnOutOfDomain::Warn,
                OutOfDomainArg::LabelFree => OnOutOfDomain::LabelFree,
                OutOfDomainArg::Fail => OnOutOfDomain::Fail,
            };
        }
        if let Some(r) = self.max_flag_rate {
            section.max_flag_rate = r;
        }
        if let Some(f) = self.fit {
            section.fit = match f {
                FitArg::Auto => Fit::Auto,
                FitArg::Never => Fit::Never,
                FitArg::Always => Fit::Always,
            };
        }
    }
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
    let mut section = ModelSection::default();
    args.model.apply(&mut section);
    section
        .validate()
        .map_err(|e| ringscope_pipeline::Error::Config(format!("[model] {e}")))?;
    let graph = ringscope_pipeline::load_graph(&embedded::resolve(&args.graph)?)?;
    let checkpoint = embedded::resolve(&args.checkpoint)?;
    let scores = ringscope_pipeline::score::score(&graph, &checkpoint, args.device, &section)?;
    ringscope_export::write_file(&args.out, scores.to_csv().as_bytes())?;
    print!("{}", ringscope_pipeline::summary::scores_text(&scores));
    println!("written to {}", args.out.display());
    Ok(())
}
