//! One run, the nightly job: ingest → graph → projection → scores → rings → outputs, under the
//! contract in docs/nightly.md: Hive-style partitions, a staged output directory renamed into
//! place and then marked with `_SUCCESS`, byte-identical outputs for the same inputs
//! (everything but `run_manifest.json`'s timings), a manifest, and drift against the previous
//! partition.

use crate::config::Config;
use crate::drift;
use crate::error::{Context as _, Result};
use crate::load::ingest_and_build;
use crate::report::{self, RunFacts};
use crate::rings::{self, Rings};
use crate::score::{self, Scores};
use crate::shard::ShardScores;
use crate::stages::Stages;
use crate::summary;
use ringscope_export::{
    CheckpointEntry, Counts, Drift, RunManifest, SUCCESS, StagedOutput, digest_files, sha256_hex,
    write_file, write_json,
};
use ringscope_graph::{HeteroGraph, Projection, project_accounts, store};
use ringscope_ingest::IngestReport;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Where a run reads and writes, resolved from the config.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Event directory (with the partition appended).
    pub input: PathBuf,
    /// Output directory (with the partition appended).
    pub out: PathBuf,
    /// The checkpoint directory.
    pub checkpoint: PathBuf,
    /// The previous run's `rings.jsonl`, if any.
    pub previous_rings: Option<PathBuf>,
}

impl Plan {
    /// Resolves the input, output, checkpoint and previous run of `config`; the shipped sample
    /// and checkpoint come from the binary where they are not on disk.
    pub fn of(config: &Config) -> Result<Plan> {
        let run = &config.run;
        let input_root = crate::embedded::resolve(&run.input)?;
        let out_root = run.out.clone().unwrap_or_else(|| {
            Path::new("out").join(input_root.file_name().unwrap_or_else(|| "run".as_ref()))
        });
        let (input, out) = match &run.partition {
            Some(p) => (input_root.join(p), out_root.join(p)),
            None => (input_root, out_root.clone()),
        };
        let previous_rings = run.previous_rings.clone().or_else(|| {
            run.partition
                .as_deref()
                .and_then(|p| previous_partition(&out_root, p))
                .map(|dir| dir.join("rings.jsonl"))
        });
        Ok(Plan {
            input,
            out,
            checkpoint: crate::embedded::resolve(&run.checkpoint)?,
            previous_rings,
        })
    }
}

/// The latest partition under `root` with the same key as `partition`, an earlier value and a
/// `_SUCCESS` marker: the run before this one.
fn previous_partition(root: &Path, partition: &str) -> Option<PathBuf> {
    let (key, value) = partition.split_once('=')?;
    let mut earlier: Vec<(String, PathBuf)> = std::fs::read_dir(root)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let (k, v) = name.split_once('=')?;
            (k == key && v < value && e.path().join(SUCCESS).is_file())
                .then(|| (v.to_string(), e.path()))
        })
        .collect();
    earlier.sort();
    earlier.pop().map(|(_, path)| path)
}

/// The previous run's rings, or none.
fn previous_rings(path: Option<&Path>) -> Result<Vec<ringscope_rings::PreviousRing>> {
    match path {
        Some(path) => ringscope_export::read_previous_rings(path)
            .context(|| "reading the previous run's rings".to_string()),
        None => Ok(Vec::new()),
    }
}

/// Writes the ring outputs into `dir`: `rings.jsonl`, `ring_events.json`, the ring and member
/// tables, and GraphML/GEXF for the top `config.report.rings`. Both `ringscope run` and
/// `ringscope rings` write their rings here. Returns the text of `rings.jsonl`.
pub fn write_ring_outputs(dir: &Path, rings: &Rings, config: &Config) -> Result<String> {
    let jsonl = ringscope_export::rings_jsonl(&rings.records)?;
    write_file(&dir.join("rings.jsonl"), jsonl.as_bytes())?;
    write_json(&dir.join("ring_events.json"), &rings.events)?;
    ringscope_export::write_tables(dir, &rings.records)?;
    ringscope_export::write_ring_graphs(&dir.join("rings"), &rings.records, config.report.rings)?;
    Ok(jsonl)
}

/// The folder of a run's output that holds a checkpoint fitted on the input's labels.
pub const FITTED_MODEL: &str = "model";

/// The ring outputs' file names, for the printed summary.
pub const RING_OUTPUTS: &str =
    "rings.jsonl, rings.csv, rings.parquet, ring_members.parquet, ring_events.json, rings/";

/// What a run produced: its values in memory, and where its files are.
pub struct RunOutputs {
    /// Where it read and wrote.
    pub plan: Plan,
    /// Row accounting of the input.
    pub ingest: IngestReport,
    /// The graph.
    pub graph: HeteroGraph,
    /// The account projection.
    pub projection: Projection,
    /// The scores and the model.
    pub scores: Scores,
    /// The rings.
    pub rings: Rings,
    /// `run_manifest.json`, drift included.
    pub manifest: RunManifest,
}

impl RunOutputs {
    /// The printed summary of the run.
    pub fn text(&self) -> String {
        let mut s = String::new();
        s.push_str(&summary::ingest_text(&self.ingest));
        s.push_str(&summary::graph_text(&self.graph));
        s.push_str(&summary::projection_text(&self.projection));
        s.push_str(&summary::scores_text(&self.scores));
        s.push_str(&self.rings.text());
        if let Some(d) = &self.manifest.drift {
            let psi: Vec<String> = d
                .psi
                .iter()
                .map(|(k, v)| {
                    let warn = if *v > d.warn_above { " (!)" } else { "" };
                    format!("{k} PSI {v:.3}{warn}")
                })
                .collect();
            let _ = writeln!(s, "drift against {}: {}", d.against, psi.join(", "));
        }
        let _ = writeln!(
            s,
            "outputs in {}: report/index.html, rings.csv, rings.parquet, ring_members.parquet, rings.jsonl, rings/ (GraphML, GEXF), ring_events.json, scores.csv, rejects.csv ({} rows), run_manifest.json, _SUCCESS",
            self.plan.out.display(),
            self.ingest.total_rejected()
        );
        s
    }
}

/// One run of the nightly job under a config.
pub struct Run<'a> {
    config: &'a Config,
    after_stage: Option<&'a (dyn Fn(&str) + Sync)>,
}

impl<'a> Run<'a> {
    /// A run under `config`.
    pub fn new(config: &'a Config) -> Self {
        Run {
            config,
            after_stage: None,
        }
    }

    /// Calls `hook` with each stage's name once it is done: ingest, graph, projection, score,
    /// rings, write, then rename (after the output is in place, before `_SUCCESS`).
    pub fn after_stage(mut self, hook: &'a (dyn Fn(&str) + Sync)) -> Self {
        self.after_stage = Some(hook);
        self
    }

    /// Runs every stage, writes every output into a staging directory, renames it into place
    /// and marks it with `_SUCCESS`.
    pub fn execute(&self) -> Result<RunOutputs> {
        self.execute_with(None)
    }

    /// `ringscope shard merge`: the run with the scores of a sharded run's shards instead of
    /// the model's own pass, refused unless the input, checkpoint and config are the ones the
    /// shards were planned with. Every other stage and output is [`Run::execute`]'s.
    pub fn merge(&self, shards: &ShardScores) -> Result<RunOutputs> {
        self.execute_with(Some(shards))
    }

    fn execute_with(&self, shards: Option<&ShardScores>) -> Result<RunOutputs> {
        let config = self.config;
        config.validate()?;
        // A missing GPU fails the job now, not after the day's input has been read.
        ringscope_gnn::device::open(config.run.device)?;
        let plan = Plan::of(config)?;
        let planned_files = shards
            .map(|s| s.check(&plan.input, &plan.checkpoint, config))
            .transpose()?;
        // Locked first: a second run of this partition fails now, not after its ingest.
        let staged = StagedOutput::new(&plan.out)?;
        let mut stages = Stages::with_hook(self.after_stage);
        let (ingest, graph) = ingest_and_build(&plan.input, &mut stages)?;
        let projection = project_accounts(&graph, &config.projection);
        stages.done("projection");
        let dir = staged.path();
        let model_scores = |dir: &Path| -> Result<Scores> {
            match shards {
                Some(shards) => score::from_shards(
                    &graph,
                    dir,
                    config.run.device,
                    &config.model,
                    shards.all(&graph)?,
                ),
                None => score::score(&graph, dir, config.run.device, &config.model),
            }
        };
        // A checkpoint fitted on the input's labels is written with the outputs.
        let fitted_dir = dir.join(FITTED_MODEL);
        let fit = match shards {
            Some(_) => None,
            None => crate::fit::stage(&config.model, &graph, &fitted_dir, config.run.device)?,
        };
        let (mut scores, checkpoint) = match &fit {
            Some(Ok(_)) => (
                model_scores(&fitted_dir)?,
                (plan.out.join(FITTED_MODEL), fitted_dir.clone()),
            ),
            Some(Err(why)) => (
                score::label_free_because(&graph, &config.model, format!("[model] fit: {why}")),
                (plan.checkpoint.clone(), plan.checkpoint.clone()),
            ),
            None => (
                model_scores(&plan.checkpoint)?,
                (plan.checkpoint.clone(), plan.checkpoint.clone()),
            ),
        };
        scores.record.fit = fit.and_then(Result::ok);
        stages.done("score");
        let previous = previous_rings(plan.previous_rings.as_deref())?;
        let rings = rings::detect(&graph, &projection, &scores, &previous, config)?;
        stages.done("rings");

        let tracked = drift::tracked(&graph, &scores.all);
        let drift = self.drift(&plan, &tracked)?;
        ingest.write_rejects_csv(&dir.join("rejects.csv"))?;
        store::save(&graph, &dir.join("graph"))?;
        write_json(
            &dir.join("hubs.json"),
            &(&projection.hubs, &projection.bursts),
        )?;
        write_file(&dir.join("scores.csv"), scores.to_csv().as_bytes())?;
        let jsonl = write_ring_outputs(dir, &rings, config)?;
        let account_scores: Vec<f64> = scores
            .rows
            .iter()
            .map(|r| ringscope_export::as_written(r.score))
            .collect();
        let facts = RunFacts::of(
            &plan.input,
            graph.num_nodes(),
            graph.num_edges(),
            ingest.total_rejected(),
        );
        // The page shows what the files hold, so `ringscope report` rebuilds it byte for byte.
        let shown = ringscope_export::parse_rings(&jsonl, &dir.join("rings.jsonl"))?;
        let page = report::page(
            &shown,
            &account_scores,
            scores.flagged(),
            Some(&scores.record),
            scores.model.manifest(),
            config.report.rings,
            facts,
        );
        ringscope_export::write_report(&dir.join("report"), &page)?;
        write_json(&dir.join("drift_profile.json"), &drift::profile(&tracked))?;
        let run_summary = summary::RunSummary {
            version: env!("CARGO_PKG_VERSION"),
            ingest: &ingest,
            graph: summary::GraphSummary::of(&graph),
            projection: summary::ProjectionSummary::of(&projection),
            scoring: &scores.record,
            rings: rings.records.len(),
        };
        write_json(&dir.join("summary.json"), &run_summary)?;
        stages.done("write");

        let config_toml = config.to_toml();
        let tables = ingest.tables.values();
        let manifest = RunManifest {
            tool: "ringscope".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            partition: config.run.partition.clone(),
            input: plan.input.clone(),
            output: plan.out.clone(),
            inputs: match &planned_files {
                Some((inputs, _)) => inputs.clone(),
                None => digest_files(&plan.input, &[])?,
            },
            checkpoint: CheckpointEntry {
                path: checkpoint.0,
                model: scores.model.name(),
                // A merge scores with the planned checkpoint, never a fitted one.
                files: match &planned_files {
                    Some((_, files)) => files.clone(),
                    None => digest_files(&checkpoint.1, &[])?,
                },
            },
            config_sha256: sha256_hex(config_toml.as_bytes()),
            config: config_toml,
            previous_rings: plan.previous_rings.clone(),
            counts: Counts {
                rows_read: tables.clone().map(|t| t.rows_read).sum(),
                rows_used: tables.clone().map(|t| t.rows_used).sum(),
                rows_rejected: ingest.total_rejected(),
                accounts_scored: scores.rows.len(),
                accounts_flagged: scores.flagged(),
                nodes: graph.num_nodes(),
                edges: graph.num_edges(),
                rings: rings.records.len(),
                ring_events: rings.events.len(),
            },
            scoring: Some(scores.record.clone()),
            drift,
            outputs: digest_files(dir, &["run_manifest.json"])?,
            timings: stages
                .timings()
                .iter()
                .map(|&(stage, secs)| (stage.to_string(), secs))
                .collect(),
        };
        write_json(&dir.join("run_manifest.json"), &manifest)?;
        let out = staged.commit()?;
        stages.reached("rename");
        out.mark_success()?;
        Ok(RunOutputs {
            plan,
            ingest,
            graph,
            projection,
            scores,
            rings,
            manifest,
        })
    }

    /// PSI against the drift profile beside the previous run's rings, if there is one.
    fn drift(
        &self,
        plan: &Plan,
        tracked: &std::collections::BTreeMap<String, Vec<f64>>,
    ) -> Result<Option<Drift>> {
        let Some(dir) = plan.previous_rings.as_deref().and_then(Path::parent) else {
            return Ok(None);
        };
        let path = dir.join("drift_profile.json");
        if !path.is_file() {
            return Ok(None);
        }
        let previous = ringscope_export::read_drift_profile(&path)?;
        let d = drift::compare(
            &previous,
            tracked,
            dir.display().to_string(),
            self.config.drift.psi_warn,
        );
        for name in &d.warnings {
            tracing::warn!(
                distribution = name.as_str(),
                psi = d.psi[name],
                threshold = d.warn_above,
                against = d.against.as_str(),
                "distribution drifted since the previous run"
            );
        }
        Ok(Some(d))
    }
}

/// `ringscope rings`: the ring stage alone on a stored graph or events directory, written to
/// `out` (replaced atomically) with [`write_ring_outputs`].
pub fn rings_only(graph: &Path, out: &Path, config: &Config) -> Result<Rings> {
    config.validate()?;
    let graph = crate::load::load_graph(&crate::embedded::resolve(graph)?)?;
    let projection = project_accounts(&graph, &config.projection);
    let checkpoint = crate::embedded::resolve(&config.run.checkpoint)?;
    let scores = score::score(&graph, &checkpoint, config.run.device, &config.model)?;
    let previous = previous_rings(config.run.previous_rings.as_deref())?;
    let rings = rings::detect(&graph, &projection, &scores, &previous, config)?;
    let staged = StagedOutput::new(out)?;
    write_ring_outputs(staged.path(), &rings, config)?;
    staged.commit()?;
    Ok(rings)
}
