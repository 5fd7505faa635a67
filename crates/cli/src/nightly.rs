//! `ringscope run`, the nightly job: ingest → graph → projection → scores → rings → outputs,
//! under the contract in docs/nightly.md: Hive-style partitions, a staged output directory
//! renamed into place and then marked with `_SUCCESS`, byte-identical outputs for the same
//! inputs (everything but `run_manifest.json`'s timings), a manifest, and drift against the
//! previous partition.

use crate::config::Config;
use crate::drift::{self, Drift, Profile};
use crate::{Stages, rings, summary, write_atomically, write_json};
use anyhow::{Context, Result};
use ringscope_graph::{project_accounts, store};
use ringscope_ingest::atomic;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

/// The marker a complete output directory gets last.
pub const SUCCESS: &str = "_SUCCESS";
/// Environment variable naming a stage after which the job aborts, as if killed there. Used by
/// the crash-safety test; stages: ingest, graph, projection, score, rings, write, rename.
const ABORT_AFTER: &str = "RINGSCOPE_ABORT_AFTER";

/// Where a run reads and writes, resolved from the config.
pub struct Plan {
    /// Event directory (with the partition appended).
    pub input: PathBuf,
    /// Output directory (with the partition appended).
    pub out: PathBuf,
    /// The previous run's `rings.jsonl`, if any.
    pub previous_rings: Option<PathBuf>,
}

impl Plan {
    /// Resolves the input, output and previous run of `config`.
    pub fn of(config: &Config) -> Plan {
        let run = &config.run;
        let input_root = crate::resolve_input(&run.input);
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
        Plan {
            input,
            out,
            previous_rings,
        }
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

fn abort_point(stage: &str) {
    if std::env::var(ABORT_AFTER).is_ok_and(|s| s == stage) {
        eprintln!("{ABORT_AFTER}={stage}: aborting");
        std::process::abort();
    }
}

/// A file the manifest vouches for.
#[derive(serde::Serialize)]
struct FileEntry {
    path: String,
    bytes: u64,
    sha256: String,
}

/// `run_manifest.json`.
#[derive(serde::Serialize)]
struct RunManifest<'a> {
    tool: &'static str,
    version: &'static str,
    partition: Option<&'a str>,
    input: &'a Path,
    output: &'a Path,
    inputs: Vec<FileEntry>,
    checkpoint: Checkpoint<'a>,
    config_sha256: String,
    config: &'a str,
    previous_rings: Option<&'a Path>,
    counts: Counts,
    drift: Option<Drift>,
    outputs: Vec<FileEntry>,
    timings: Vec<(&'static str, f64)>,
}

#[derive(serde::Serialize)]
struct Checkpoint<'a> {
    path: &'a Path,
    model: String,
    files: Vec<FileEntry>,
}

#[derive(serde::Serialize)]
struct Counts {
    rows_read: u64,
    rows_used: u64,
    rows_rejected: u64,
    accounts_scored: usize,
    accounts_flagged: usize,
    nodes: usize,
    edges: usize,
    rings: usize,
    ring_events: usize,
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every file under `root` (recursively, sorted), with sizes and hashes; `skip` names files
/// left out.
fn digest_files(root: &Path, skip: &[&str]) -> Result<Vec<FileEntry>> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries =
            std::fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))?;
        for entry in entries {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap_or(&path);
                let rel = rel.to_string_lossy().replace('\\', "/");
                if !skip.contains(&rel.as_str()) {
                    // Streamed: a day's input can be larger than memory.
                    let mut hasher = Sha256::new();
                    let bytes = std::fs::File::open(&path)
                        .and_then(|mut f| std::io::copy(&mut f, &mut hasher))
                        .with_context(|| format!("reading {}", path.display()))?;
                    files.push(FileEntry {
                        path: rel,
                        bytes,
                        sha256: hex(&hasher.finalize()),
                    });
                }
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(files)
}

/// Runs the nightly job under `config`.
pub fn run(config: &Config) -> Result<()> {
    config.validate()?;
    let plan = Plan::of(config);
    let checkpoint_dir = crate::resolve_input(&config.run.checkpoint);
    let mut stages = Stages::new();
    let (report, graph) = crate::ingest_and_build(&plan.input, &mut stages)?;
    abort_point("ingest");
    abort_point("graph");
    let projection = project_accounts(&graph, &config.projection);
    stages.done("projection");
    abort_point("projection");
    let scores = crate::model::score(&graph, &checkpoint_dir, config.run.device)
        .with_context(|| format!("scoring with {}", checkpoint_dir.display()))?;
    stages.done("score");
    abort_point("score");
    let previous = match &plan.previous_rings {
        Some(path) => rings::read_previous(path)?,
        None => Vec::new(),
    };
    let rings = rings::detect(&graph, &projection, &scores, &previous, config)?;
    stages.done("rings");
    abort_point("rings");

    let tracked = drift::tracked(&graph, &scores.all);
    let drift = plan
        .previous_rings
        .as_deref()
        .and_then(Path::parent)
        .map(|dir| (dir, dir.join("drift_profile.json")))
        .filter(|(_, path)| path.is_file())
        .map(|(dir, path)| -> Result<Drift> {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {}", path.display()))?;
            let previous: Profile =
                serde_json::from_str(&text).map_err(|e| ringscope_graph::GraphError::BadFile {
                    file: path.clone(),
                    message: e.to_string(),
                })?;
            Ok(drift::compare(
                &previous,
                &tracked,
                dir.display().to_string(),
                config.drift.psi_warn,
            ))
        })
        .transpose()?;
    if let Some(d) = &drift {
        for name in &d.warnings {
            tracing::warn!(
                distribution = name.as_str(),
                psi = d.psi[name],
                threshold = d.warn_above,
                against = d.against.as_str(),
                "distribution drifted since the previous run"
            );
        }
    }

    let staged = atomic::staging_dir(&plan.out)
        .with_context(|| format!("preparing {}", plan.out.display()))?;
    let dir = staged.path();
    report.write_rejects_csv(&dir.join("rejects.csv"))?;
    store::save(&graph, &dir.join("graph"))?;
    write_json(
        &dir.join("hubs.json"),
        &(&projection.hubs, &projection.bursts),
    )?;
    write_atomically(&dir.join("scores.csv"), scores.to_csv().as_bytes())?;
    write_atomically(&dir.join("rings.jsonl"), rings.to_jsonl()?.as_bytes())?;
    write_json(&dir.join("ring_events.json"), &rings.events)?;
    ringscope_export::write_tables(dir, &rings.records)?;
    ringscope_export::write_ring_graphs(&dir.join("rings"), &rings.records, config.report.rings)?;
    crate::report::write(
        dir,
        Some(&checkpoint_dir),
        config.report.rings,
        crate::report::run_facts(
            &plan.input,
            graph.num_nodes(),
            graph.num_edges(),
            report.total_rejected(),
        ),
    )?;
    write_json(&dir.join("drift_profile.json"), &drift::profile(&tracked))?;
    let summary = summary::RunSummary {
        version: env!("CARGO_PKG_VERSION"),
        ingest: &report,
        graph: summary::GraphSummary::of(&graph),
        projection: summary::ProjectionSummary::of(&projection),
        rings: rings.records.len(),
    };
    write_json(&dir.join("summary.json"), &summary)?;
    stages.done("write");
    abort_point("write");

    let config_toml = config.to_toml();
    let flagged = scores
        .rows
        .iter()
        .filter(|r| r.2 >= scores.threshold)
        .count();
    let tables = report.tables.values();
    let manifest = RunManifest {
        tool: "ringscope",
        version: env!("CARGO_PKG_VERSION"),
        partition: config.run.partition.as_deref(),
        input: &plan.input,
        output: &plan.out,
        inputs: digest_files(&plan.input, &[])?,
        checkpoint: Checkpoint {
            path: &checkpoint_dir,
            model: scores.checkpoint.manifest.model.model.clone(),
            files: digest_files(&checkpoint_dir, &[])?,
        },
        config_sha256: hex(&Sha256::digest(config_toml.as_bytes())),
        config: &config_toml,
        previous_rings: plan.previous_rings.as_deref(),
        counts: Counts {
            rows_read: tables.clone().map(|t| t.rows_read).sum(),
            rows_used: tables.clone().map(|t| t.rows_used).sum(),
            rows_rejected: report.total_rejected(),
            accounts_scored: scores.rows.len(),
            accounts_flagged: flagged,
            nodes: graph.num_nodes(),
            edges: graph.num_edges(),
            rings: rings.records.len(),
            ring_events: rings.events.len(),
        },
        drift,
        outputs: digest_files(dir, &["run_manifest.json"])?,
        timings: stages.0.clone(),
    };
    write_json(&dir.join("run_manifest.json"), &manifest)?;
    atomic::replace_dir(staged, &plan.out).map_err(|source| {
        ringscope_ingest::IngestError::Write {
            path: plan.out.clone(),
            source,
        }
    })?;
    abort_point("rename");
    write_atomically(&plan.out.join(SUCCESS), b"")?;

    print!("{}", summary::ingest_text(&report));
    print!("{}", summary::graph_text(&graph));
    print!("{}", summary::projection_text(&projection));
    print!("{}", summary::scores_text(&scores));
    print!("{}", rings.text());
    if let Some(d) = &manifest.drift {
        println!(
            "drift against {}: {}",
            d.against,
            d.psi
                .iter()
                .map(|(k, v)| format!(
                    "{k} PSI {v:.3}{}",
                    if *v > d.warn_above { " (!)" } else { "" }
                ))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    println!(
        "outputs in {}: report/index.html, rings.csv, rings.parquet, ring_members.parquet, rings.jsonl, rings/ (GraphML, GEXF), ring_events.json, scores.csv, rejects.csv ({} rows), run_manifest.json, _SUCCESS",
        plan.out.display(),
        report.total_rejected()
    );
    Ok(())
}
