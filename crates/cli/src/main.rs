//! The `ringscope` command: a thin shell over `ringscope-pipeline` and `ringscope-serve`. It
//! parses flags, applies them over the TOML config, draws progress bars, prints summaries and
//! turns errors into exit codes (`exit.rs`); every stage and output lives in the libraries.

mod eval;
mod exit;
mod model;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};
use ringscope_export::{StagedOutput, write_json};
use ringscope_graph::store;
use ringscope_pipeline::{Config, Error, Run, Stages, embedded, summary};
use ringscope_synth::{AttackKind, Difficulty, OutputFormat, SynthConfig};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

// Training allocates and frees activation-sized buffers every step. The system allocator hands
// large ones back to the kernel and faults them in again; with mimalloc a SAGE epoch on a
// 100k-node graph went from 0.31 s to 0.18 s (benches/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Finds collusion rings in online marketplaces.
#[derive(Parser)]
#[command(name = "ringscope", version, about, long_about = None)]
struct Cli {
    /// Only print warnings and errors on stderr.
    #[arg(long, short, global = true)]
    quiet: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The nightly job: ingest → graph → scores → rings → tables, GraphML/GEXF, HTML report.
    ///
    /// With no arguments it runs on the embedded sample (graphs/sample) with checkpoints/default
    /// and writes to out/sample. Outputs are staged and renamed into place, then marked with
    /// _SUCCESS; run_manifest.json records inputs, model, config, counts, timings and drift.
    #[command(
        after_help = "Exit codes: 0 ok, 65 bad input data or checkpoint, 66 missing input, 69 no GPU adapter, 74 output not writable, 78 bad config.\n\nExamples:\n  ringscope run\n  ringscope run --config nightly.toml --partition dt=2026-11-02\n  ringscope run --input /data/events --out /data/ringscope --partition dt=2026-11-02\n  ringscope run --input /data/day2 --out /data/out2 --previous-rings /data/out1/rings.jsonl"
    )]
    Run(RunArgs),
    /// Prints the effective config: the file given with --config, overridden by the flags.
    #[command(
        after_help = "Examples:\n  ringscope config --print > nightly.toml\n  ringscope config --print --config nightly.toml --hub-cap 20"
    )]
    Config(ConfigArgs),
    /// A run split into shards that run apart, on a Spark cluster or any scheduler
    /// (docs/scale.md): plan, then run every shard, then merge.
    #[command(
        subcommand,
        after_help = "Exit codes: as `run`; merge exits 66 when a shard has no output and 65 when a shard, the input, the checkpoint or the config is not the plan's.\n\nExample:\n  ringscope shard plan --input graphs/sample --shards 3 --out /tmp/plan\n  for i in 0 1 2; do ringscope shard run --plan /tmp/plan --shard $i --out /tmp/parts/shard=$i; done\n  ringscope shard merge --plan /tmp/plan --parts /tmp/parts --out /tmp/run"
    )]
    Shard(ShardCommand),
    /// The ring stage alone on a graph: rings.jsonl, ring tables and per-ring GraphML/GEXF.
    #[command(
        after_help = "Example:\n  ringscope rings --graph /tmp/sample-graph --checkpoint checkpoints/default --out /tmp/rings"
    )]
    Rings(RingsArgs),
    /// Serves online scoring, rings, neighbourhoods and feedback over HTTP (docs/serve.md).
    ///
    /// Loads a graph and a checkpoint once; POST /v1/admin/reload swaps in a new checkpoint
    /// written to the same directory without dropping requests.
    #[command(
        after_help = "Examples:\n  ringscope serve\n  ringscope serve --graph out/sample/graph --rings out/sample/rings.jsonl --listen 127.0.0.1:9000\n  curl -s localhost:8080/v1/score -d '{\"accounts\":[{\"account_id\":\"new-1\",\"events\":{\"reviews\":[{\"product_id\":\"p000302\",\"rating\":5}]}}]}'"
    )]
    Serve(ServeArgs),
    /// Rebuilds a run's HTML report (report/index.html) from its rings.jsonl and scores.csv.
    #[command(after_help = "Example:\n  ringscope report --run out/sample")]
    Report(ReportArgs),
    /// Ingests an event directory and saves the graph store (Parquet + meta.json).
    #[command(
        after_help = "Example:\n  ringscope build --input graphs/sample --out /tmp/sample-graph"
    )]
    Build(BuildArgs),
    /// Prints the summary of a stored graph or a labelled benchmark dataset directory.
    #[command(
        after_help = "Examples:\n  ringscope inspect /tmp/sample-graph\n  ringscope inspect ../shared/datasets/tolokers"
    )]
    Inspect {
        /// A graph store or a dataset directory (nodes.csv, edges_<relation>.csv, meta.json).
        path: PathBuf,
    },
    /// Writes a synthetic marketplace in the input contract.
    #[command(
        after_help = "Examples:\n  ringscope synth --out /tmp/market --accounts 5000\n  ringscope synth --out /tmp/big --events 10000000 --format parquet"
    )]
    Synth(SynthArgs),
    /// Trains a GNN on a labelled graph and writes a checkpoint.
    #[command(
        after_help = "Examples:\n  ringscope train --graph graphs/sample --config checkpoints/default.toml --out checkpoints/default\n  ringscope train --graph ../shared/datasets/tolokers --config sage.toml --out /tmp/tolokers --device wgpu"
    )]
    Train(model::TrainArgs),
    /// Scores the accounts of a graph with a checkpoint and writes them to a CSV file.
    #[command(
        after_help = "Example:\n  ringscope score --graph graphs/sample --checkpoint checkpoints/default --out /tmp/scores.csv"
    )]
    Score(model::ScoreArgs),
    /// Trains and tests models on labelled benchmark graphs under each one's published
    /// protocol, and writes the results beside the published numbers (results.md, .json).
    #[command(
        after_help = "Protocols: tolokers uses its 10 fixed splits (mean ± std ROC-AUC); pygod_reddit and fdcompcn a stratified 40/20/40 split per seed; rev2_otc and rev2_alpha 5-fold stratified cross-validation over the labelled users. Another directory in the same layout gets its splits.csv, cross-validation when under half its nodes are labelled, or 40/20/40.\n\nExamples:\n  ringscope eval\n  ringscope eval --dataset tolokers --model sage,gat --out /tmp/eval\n  ringscope eval --data /data/my_graph --model my_layer.toml --seeds 10"
    )]
    Eval(eval::EvalArgs),
}

#[derive(Subcommand)]
enum ShardCommand {
    /// Assigns every account and seller to a shard and writes each shard's events: every row
    /// naming a node within the model's reach of the shard's own nodes.
    Plan {
        /// Directory of event tables [default: graphs/sample].
        #[arg(long)]
        input: Option<PathBuf>,
        /// Shards.
        #[arg(long)]
        shards: usize,
        /// The plan directory (replaced atomically): plan.json and shard=<i>/.
        #[arg(long)]
        out: PathBuf,
        /// Accounts' components (`account_id,component` CSV, as the Spark job computes them),
        /// kept together in one shard where they fit [default: the components of the
        /// same-actor projection].
        #[arg(long)]
        components: Option<PathBuf>,
        /// Give every node a shard and exchange each layer's rows between shards, instead of
        /// giving each shard the rows behind its scores (docs/scale.md): then run every shard
        /// with --step 0, then --step 1, … --step <layers>.
        #[arg(long)]
        layered: bool,
        #[command(flatten)]
        settings: SettingArgs,
    },
    /// Scores one shard's own accounts and sellers, as one process scores them.
    Run {
        /// The plan directory.
        #[arg(long)]
        plan: PathBuf,
        /// The shard, from 0.
        #[arg(long)]
        shard: usize,
        /// The shard's events [default: <plan>/shard=<i>/input].
        #[arg(long)]
        input: Option<PathBuf>,
        /// A layered plan's step: 0 the input rows, then each layer; the last writes scores.
        #[arg(long)]
        step: Option<usize>,
        /// A layered plan's previous step: the directory holding every shard's output of it as
        /// shard=<i>/.
        #[arg(long, value_name = "DIR")]
        rows: Option<PathBuf>,
        /// Output directory (replaced atomically, then marked _SUCCESS).
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        settings: SettingArgs,
    },
    /// Checks every shard's output against the plan and writes the run's outputs (as `run`).
    Merge {
        /// The plan directory.
        #[arg(long)]
        plan: PathBuf,
        /// The directory holding each shard's output as shard=<i>/.
        #[arg(long)]
        parts: PathBuf,
        /// Output directory, replaced atomically and marked _SUCCESS.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        settings: SettingArgs,
    },
}

#[derive(Args)]
struct RunArgs {
    /// Directory of event tables (CSV, Parquet or Hive-partitioned Parquet), or the root of
    /// the partitions with --partition [default: graphs/sample].
    #[arg(long)]
    input: Option<PathBuf>,
    /// Output directory, replaced atomically, or the root of the partitions with --partition
    /// [default: out/<input directory name>].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Hive-style partition such as dt=2026-11-01: read <input>/<partition>, write
    /// <out>/<partition>, and compare with the latest earlier partition that has _SUCCESS.
    #[arg(long)]
    partition: Option<String>,
    /// Investigator verdicts (feedback.jsonl) to add to the input's labels when fitting a model
    /// on them (--fit auto fits when they are given).
    #[arg(long, value_name = "FEEDBACK_JSONL")]
    feedback: Option<PathBuf>,
    #[command(flatten)]
    settings: SettingArgs,
}

/// Settings shared by the commands that detect rings.
#[derive(Args)]
struct SettingArgs {
    /// TOML config (see `ringscope config --print`); the flags override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Model checkpoint that scores the accounts [default: checkpoints/default].
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Where to run the model [default: cpu].
    #[arg(long)]
    device: Option<ringscope_gnn::DeviceChoice>,
    /// The previous run's rings.jsonl: rings that continue keep their IDs, the changes go to
    /// ring_events.json, and drift is measured against that run.
    #[arg(long, value_name = "RINGS_JSONL")]
    previous_rings: Option<PathBuf>,
    /// Identifiers (device, IP, payment, address) used by more accounts than this link nobody.
    #[arg(long)]
    hub_cap: Option<usize>,
    /// Seconds within which two reviews of one product count as a co-review (0 disables).
    #[arg(long)]
    co_review_window: Option<i64>,
    /// Review windows holding more reviews than this (viral bursts) link nobody.
    #[arg(long)]
    burst_cap: Option<usize>,
    #[command(flatten)]
    model: model::ModelArgs,
}

impl RunArgs {
    /// The config file (or the defaults) with these flags applied, validated.
    fn config(&self) -> Result<Config> {
        self.settings.config_with(|c| {
            let run = &mut c.run;
            if let Some(v) = &self.input {
                run.input.clone_from(v);
            }
            if self.out.is_some() {
                run.out.clone_from(&self.out);
            }
            if self.partition.is_some() {
                run.partition.clone_from(&self.partition);
            }
            if self.feedback.is_some() {
                c.model.feedback.clone_from(&self.feedback);
            }
        })
    }
}

impl SettingArgs {
    /// The config file (or the defaults) with the command's `own` flags and these applied,
    /// validated.
    fn config_with(&self, own: impl FnOnce(&mut Config)) -> Result<Config> {
        let mut c = Config::load(self.config.as_deref())?;
        own(&mut c);
        let run = &mut c.run;
        if let Some(v) = &self.checkpoint {
            run.checkpoint.clone_from(v);
        }
        if let Some(v) = self.device {
            run.device = v;
        }
        if self.previous_rings.is_some() {
            run.previous_rings.clone_from(&self.previous_rings);
        }
        let p = &mut c.projection;
        p.max_accounts_per_identifier = self.hub_cap.unwrap_or(p.max_accounts_per_identifier);
        p.co_review_window_secs = self.co_review_window.unwrap_or(p.co_review_window_secs);
        p.max_reviews_per_window = self.burst_cap.unwrap_or(p.max_reviews_per_window);
        self.model.apply(&mut c.model);
        c.validate()?;
        Ok(c)
    }
}

#[derive(Args)]
struct ServeArgs {
    /// A graph store (from `ringscope build` or a run's graph/) or an events directory
    /// [default: the config's run input, graphs/sample].
    #[arg(long)]
    graph: Option<PathBuf>,
    /// A run's rings.jsonl to serve [default: the config's serve.rings].
    #[arg(long)]
    rings: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<String>,
    /// File that investigator feedback is appended to [default: feedback.jsonl].
    #[arg(long)]
    feedback: Option<PathBuf>,
    #[command(flatten)]
    settings: SettingArgs,
}

#[derive(Args)]
struct ConfigArgs {
    /// Print the effective config as TOML.
    #[arg(long, required = true)]
    print: bool,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Args)]
struct RingsArgs {
    /// A graph store (from `ringscope build`) or a directory of event tables.
    #[arg(long)]
    graph: PathBuf,
    /// Output directory (replaced atomically).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    settings: SettingArgs,
}

#[derive(Args)]
struct ReportArgs {
    /// A run's output directory (rings.jsonl, scores.csv, run_manifest.json).
    #[arg(long)]
    run: PathBuf,
    /// Checkpoint whose training curve and threshold the page shows [default: the one named in
    /// the run's run_manifest.json].
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Rings, from the top, that get a page.
    #[arg(long, default_value_t = ringscope_pipeline::config::ReportSection::default().rings)]
    rings: usize,
}

#[derive(Args)]
struct BuildArgs {
    /// Directory of event tables.
    #[arg(long)]
    input: PathBuf,
    /// Graph store directory to write (replaced atomically).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args)]
struct SynthArgs {
    /// Output directory (replaced atomically).
    #[arg(long)]
    out: PathBuf,
    /// Seed; the same seed gives byte-identical files.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Buyer accounts (ignored with --events).
    #[arg(long)]
    accounts: Option<usize>,
    /// Scale everything so the tables hold about this many rows in total.
    #[arg(long, conflicts_with = "accounts")]
    events: Option<usize>,
    /// Length of the event window in days.
    #[arg(long)]
    days: Option<u32>,
    /// File format.
    #[arg(long, value_enum, default_value = "csv")]
    format: FormatArg,
    /// How hard the planted rings are to tell from honest buyers.
    #[arg(long, value_enum, default_value = "medium")]
    difficulty: DifficultyArg,
    /// Share of buyer accounts that belong to planted rings (0 = honest background only).
    #[arg(long, default_value_t = SynthConfig::default().fraud_rate)]
    fraud_rate: f64,
    /// Attack families to plant: `classic` (fake_review, brushing, device_farm, coordinated),
    /// `all` (adds slow_ring, takeover, self_dealing, sleeper), or a comma-separated list.
    #[arg(long, default_value = "classic")]
    families: String,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum DifficultyArg {
    Easy,
    Medium,
    Hard,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum FormatArg {
    Csv,
    Parquet,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.quiet);
    let result = match cli.command {
        Command::Run(args) => args.config().and_then(|c| run(&c)),
        Command::Config(args) => args.run.config().map(|c| print!("{}", c.to_toml())),
        Command::Shard(command) => shard_cmd(command),
        Command::Rings(args) => rings_cmd(args),
        Command::Serve(args) => serve_cmd(args),
        Command::Report(args) => report_cmd(args),
        Command::Build(args) => build(args),
        Command::Inspect { path } => inspect(&path),
        Command::Synth(args) => synth(args),
        Command::Train(args) => model::train(args),
        Command::Score(args) => model::score_cmd(args),
        Command::Eval(args) => eval::eval(args),
    };
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(exit::code_for(&err))
        }
    }
}

/// Structured JSON lines when stderr is not a terminal (nightly jobs), plain text otherwise.
fn init_logging(quiet: bool) {
    let default = if quiet { "warn" } else { "info" };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::io::stderr().is_terminal() {
        builder.init();
    } else {
        builder.json().init();
    }
}

/// Environment variable naming a stage after which `ringscope run` kills itself with SIGKILL,
/// as `kill -9` would there (no destructor, no cleanup). Used by the crash-safety test; stages:
/// ingest, graph, projection, score, rings, write, rename.
const ABORT_AFTER: &str = "RINGSCOPE_ABORT_AFTER";

fn abort_after(stage: &str) {
    if std::env::var(ABORT_AFTER).is_ok_and(|s| s == stage) {
        eprintln!("{ABORT_AFTER}={stage}: killing this process");
        #[cfg(unix)]
        let _ =
            rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
        std::process::abort();
    }
}

fn run(config: &Config) -> Result<()> {
    let outputs = Run::new(config).after_stage(&abort_after).execute()?;
    print!("{}", outputs.text());
    Ok(())
}

fn report_cmd(args: ReportArgs) -> Result<()> {
    let page =
        ringscope_pipeline::report::rebuild(&args.run, args.checkpoint.as_deref(), args.rings)?;
    println!("report written to {}", page.display());
    Ok(())
}

fn serve_cmd(args: ServeArgs) -> Result<()> {
    let config = args.settings.config_with(|c| {
        let s = &mut c.serve;
        if args.rings.is_some() {
            s.rings.clone_from(&args.rings);
        }
        if let Some(v) = &args.listen {
            s.listen.clone_from(v);
        }
        if let Some(v) = &args.feedback {
            s.feedback.clone_from(v);
        }
    })?;
    let graph = embedded::resolve(args.graph.as_ref().unwrap_or(&config.run.input))?;
    let checkpoint = embedded::resolve(&config.run.checkpoint)?;
    ringscope_serve::serve(
        &graph,
        checkpoint,
        config.run.device,
        config.model,
        config.serve,
    )?;
    Ok(())
}

fn shard_cmd(command: ShardCommand) -> Result<()> {
    use ringscope_pipeline::shard;
    match command {
        ShardCommand::Plan {
            input,
            shards,
            out,
            components,
            layered,
            settings,
        } => {
            let config = settings.config_with(|c| {
                if let Some(v) = input {
                    c.run.input = v;
                }
            })?;
            let plan = shard::plan(&config, shards, components.as_deref(), layered, &out)?;
            for (i, s) in plan.sizes.iter().enumerate() {
                let rows: usize = s.rows.values().sum();
                println!(
                    "shard {i}: {} nodes of its own, {} whose rows it reads, {rows} rows",
                    s.owned, s.reach
                );
            }
            println!("plan written to {}", out.display());
        }
        ShardCommand::Run {
            plan,
            shard,
            input,
            step,
            rows,
            out,
            settings,
        } => {
            let config = settings.config_with(|_| {})?;
            let record = shard::run_shard(
                &config,
                &plan,
                shard,
                input.as_deref(),
                step,
                rows.as_deref(),
                &out,
            )?;
            println!(
                "shard {shard}: {} rows written of {} nodes in its graph, to {}",
                record.scored,
                record.nodes,
                out.display()
            );
        }
        ShardCommand::Merge {
            plan,
            parts,
            out,
            settings,
        } => {
            let shards = shard::ShardScores::read(&plan, &parts)?;
            let config = settings.config_with(|c| {
                c.run.input.clone_from(&shards.plan.input);
                c.run.out = Some(out);
            })?;
            let outputs = Run::new(&config).merge(&shards)?;
            print!("{}", outputs.text());
        }
    }
    Ok(())
}

fn rings_cmd(args: RingsArgs) -> Result<()> {
    let config = args.settings.config_with(|_| {})?;
    let rings = ringscope_pipeline::rings_only(&args.graph, &args.out, &config)?;
    print!("{}", rings.text());
    println!(
        "rings written to {}: {}",
        args.out.display(),
        ringscope_pipeline::run::RING_OUTPUTS
    );
    Ok(())
}

fn build(args: BuildArgs) -> Result<()> {
    let mut stages = Stages::new();
    let (report, graph) = ringscope_pipeline::ingest_and_build(&args.input, &mut stages)?;
    let staged = StagedOutput::new(&args.out)?;
    store::save(&graph, staged.path())?;
    report.write_rejects_csv(&staged.path().join("rejects.csv"))?;
    write_json(&staged.path().join("ingest_report.json"), &report)?;
    staged.commit()?;
    stages.done("write");
    print!("{}", summary::ingest_text(&report));
    print!("{}", summary::graph_text(&graph));
    let columns = graph.heap_bytes();
    graph.index_all();
    stages.done("index");
    let per_edge = |bytes: usize| bytes as f64 / graph.num_edges().max(1) as f64;
    println!(
        "memory: {:.1} bytes/edge as stored, {:.1} bytes/edge with CSR in both directions",
        per_edge(columns),
        per_edge(graph.heap_bytes())
    );
    println!("graph store written to {}", args.out.display());
    Ok(())
}

fn inspect(path: &Path) -> Result<()> {
    let graph = store::load(path).with_context(|| format!("loading {}", path.display()))?;
    print!("{}", summary::graph_text(&graph));
    Ok(())
}

fn synth(args: SynthArgs) -> Result<()> {
    let mut config = match (args.events, args.accounts) {
        (Some(events), _) => SynthConfig::for_events(events, args.seed),
        (None, Some(accounts)) => SynthConfig::for_accounts(accounts, args.seed),
        (None, None) => SynthConfig {
            seed: args.seed,
            ..SynthConfig::default()
        },
    };
    if let Some(days) = args.days {
        config.days = days;
    }
    config.fraud_rate = args.fraud_rate;
    config = config.with_difficulty(match args.difficulty {
        DifficultyArg::Easy => Difficulty::Easy,
        DifficultyArg::Medium => Difficulty::Medium,
        DifficultyArg::Hard => Difficulty::Hard,
    });
    let families: Vec<AttackKind> = match args.families.as_str() {
        "classic" => AttackKind::CLASSIC.to_vec(),
        "all" => AttackKind::ALL.to_vec(),
        list => list
            .split(',')
            .map(|name| {
                AttackKind::from_name(name.trim()).ok_or_else(|| {
                    Error::Config(format!(
                        "--families: unknown family '{name}' (classic, all, or a list of {})",
                        AttackKind::ALL.map(AttackKind::name).join(", ")
                    ))
                })
            })
            .collect::<std::result::Result<_, Error>>()?,
    };
    config = config.with_families(&families);
    config.validate().map_err(Error::Config)?;
    let format = match args.format {
        FormatArg::Csv => OutputFormat::Csv,
        FormatArg::Parquet => OutputFormat::Parquet,
    };
    let started = Instant::now();
    let market = ringscope_synth::generate(&config);
    ringscope_synth::write_tables(&market, &args.out, format)?;
    let planted = market.ring_of_buyer().iter().flatten().count();
    println!(
        "wrote {} buyers ({planted} in {} planted rings), {} sellers, {} products, {} orders, {} reviews, {} sessions to {} in {:.1}s",
        market.buyer_created.len(),
        market.rings.len(),
        market.seller_created.len(),
        market.products.len(),
        market.orders.len(),
        market.reviews.len(),
        market.sessions.len(),
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn command_line_definition_is_consistent() {
        <super::Cli as clap::CommandFactory>::command().debug_assert();
    }
}
