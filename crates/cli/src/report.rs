//! `ringscope report`: the HTML report of a run, from its `rings.jsonl` and `scores.csv`
//! (the nightly job writes the same page with the same code).

use anyhow::{Context, Result};
use clap::Args;
use ringscope_export::{Histogram, ReportData, ReportRing, TrainingCurve};
use ringscope_gnn::checkpoint::{self, Manifest};
use ringscope_graph::GraphError;
use ringscope_rings::RingRecord;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct ReportArgs {
    /// A run's output directory (rings.jsonl, scores.csv, run_manifest.json).
    #[arg(long)]
    run: PathBuf,
    /// Checkpoint whose training curve and threshold the page shows [default: the one named in
    /// the run's run_manifest.json].
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Rings, from the top, that get a page.
    #[arg(long, default_value_t = crate::config::ReportSection::default().rings)]
    rings: usize,
}

/// The report page for `records` (highest score first) and every account's score; `manifest`
/// gives the model, its threshold and training curve. `facts` go after the standard ones.
pub fn page<'a>(
    name: &str,
    records: &'a [RingRecord],
    account_scores: impl Iterator<Item = f64> + Clone,
    manifest: Option<&Manifest>,
    rings: usize,
    facts: Vec<(String, String)>,
) -> ReportData<'a> {
    let threshold = manifest.map_or(0.5, |m| f64::from(m.threshold));
    let flagged = account_scores.clone().filter(|&s| s >= threshold).count();
    let mut all_facts = vec![
        (
            "accounts scored".into(),
            account_scores.clone().count().to_string(),
        ),
        ("flagged".into(), flagged.to_string()),
        ("rings".into(), records.len().to_string()),
    ];
    all_facts.extend(facts);
    if let Some(m) = manifest {
        all_facts.push((
            "model".into(),
            format!("{} (test AUROC {:.3})", m.model.model, m.test.auroc),
        ));
    }
    ReportData {
        title: format!("ringscope — {name}"),
        facts: all_facts,
        total_rings: records.len(),
        rings: records.iter().take(rings).map(ReportRing::new).collect(),
        histogram: Histogram::of(account_scores, 20, threshold),
        training: manifest.map(|m| TrainingCurve {
            model: m.model.model.clone(),
            epochs: m
                .history
                .iter()
                .map(|e| (e.epoch, e.loss, e.val_auprc))
                .collect(),
            best_epoch: m.best_epoch,
        }),
    }
}

fn bad(file: &Path, message: String) -> GraphError {
    GraphError::BadFile {
        file: file.to_path_buf(),
        message,
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path)
        .map_err(|source| GraphError::Io {
            path: path.to_path_buf(),
            source,
        })
        .with_context(|| format!("reading {}", path.display()))
}

/// The rings of a `rings.jsonl`.
pub fn read_rings(path: &Path) -> Result<Vec<RingRecord>> {
    read(path)?
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            serde_json::from_str(line).map_err(|e| bad(path, format!("line {}: {e}", i + 1)).into())
        })
        .collect()
}

/// The `score` column of a `scores.csv`.
fn read_scores(path: &Path) -> Result<Vec<f64>> {
    let text = read(path)?;
    let mut lines = text.lines();
    let header = lines.next().unwrap_or_default();
    let column = header
        .split(',')
        .position(|c| c == "score")
        .ok_or_else(|| bad(path, "no 'score' column in the header".into()))?;
    lines
        .enumerate()
        .map(|(i, line)| {
            // IDs may be quoted and hold commas, so take the score from the right.
            let from_right = header.split(',').count() - column;
            let fields: Vec<&str> = line.rsplitn(from_right + 1, ',').collect();
            fields
                .get(from_right - 1)
                .and_then(|v| v.parse::<f64>().ok())
                .ok_or_else(|| {
                    bad(path, format!("row {}, column 'score': not a number", i + 2)).into()
                })
        })
        .collect()
}

/// The title and the run's own facts for the page (nodes, edges, rejected rows).
pub struct RunFacts {
    /// Input directory name.
    pub name: String,
    /// `(label, value)` pairs.
    pub facts: Vec<(String, String)>,
}

/// Writes `<run>/report/index.html` from the run's `rings.jsonl` and `scores.csv`. The nightly
/// job and `ringscope report` both come here, so a rebuilt page is byte-identical.
pub fn write(run: &Path, checkpoint: Option<&Path>, rings: usize, facts: RunFacts) -> Result<()> {
    let records = read_rings(&run.join("rings.jsonl"))?;
    let scores = read_scores(&run.join("scores.csv"))?;
    let manifest = checkpoint.map(checkpoint::read_manifest).transpose()?;
    let data = page(
        &facts.name,
        &records,
        scores.iter().copied(),
        manifest.as_ref(),
        rings,
        facts.facts,
    );
    let out = run.join("report");
    let staged = ringscope_ingest::atomic::staging_dir(&out)
        .with_context(|| format!("preparing {}", out.display()))?;
    ringscope_export::write_report(staged.path(), &data)?;
    ringscope_ingest::atomic::replace_dir(staged, &out).map_err(|source| {
        ringscope_ingest::IngestError::Write {
            path: out.clone(),
            source,
        }
    })?;
    Ok(())
}

/// The page facts of a run, from its counts.
pub fn run_facts(input: &Path, nodes: usize, edges: usize, rejected: u64) -> RunFacts {
    RunFacts {
        name: input.file_name().map_or_else(
            || input.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        ),
        facts: vec![
            ("nodes".into(), nodes.to_string()),
            ("edges".into(), edges.to_string()),
            ("rejected rows".into(), rejected.to_string()),
        ],
    }
}

pub fn report(args: ReportArgs) -> Result<()> {
    // The run's manifest names its checkpoint and holds the counts the page shows.
    let manifest: Option<serde_json::Value> = std::fs::read(args.run.join("run_manifest.json"))
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    let checkpoint = args.checkpoint.clone().or_else(|| {
        manifest.as_ref()?["checkpoint"]["path"]
            .as_str()
            .map(PathBuf::from)
    });
    let facts = match &manifest {
        Some(m) => {
            let count = |k: &str| m["counts"][k].as_u64().unwrap_or(0);
            run_facts(
                Path::new(m["input"].as_str().unwrap_or_default()),
                count("nodes") as usize,
                count("edges") as usize,
                count("rows_rejected"),
            )
        }
        None => RunFacts {
            name: args.run.display().to_string(),
            facts: Vec::new(),
        },
    };
    let checkpoint = checkpoint.map(|c| crate::resolve_input(&c));
    write(&args.run, checkpoint.as_deref(), args.rings, facts)?;
    println!(
        "report written to {}",
        args.run.join("report/index.html").display()
    );
    Ok(())
}
