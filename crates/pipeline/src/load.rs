//! Getting a graph: ingest an events directory and build it, or load a stored one.

use crate::error::{Context as _, Result};
use crate::stages::Stages;
use ringscope_graph::{HeteroGraph, build_marketplace};
use ringscope_ingest::{IngestReport, ingest_dir};
use std::path::Path;

/// Ingests the event tables in `input` and builds the marketplace graph, timing both stages.
pub fn ingest_and_build(input: &Path, stages: &mut Stages) -> Result<(IngestReport, HeteroGraph)> {
    let ingested = ingest_dir(input).context(|| format!("ingesting {}", input.display()))?;
    stages.done("ingest");
    let name = input
        .file_name()
        .map_or("graph".into(), |n| n.to_string_lossy().into_owned());
    let graph =
        build_marketplace(&name, ingested.batch).context(|| "building the graph".to_string())?;
    stages.done("graph");
    Ok((ingested.report, graph))
}

/// A graph store or dataset directory (has `meta.json`), else an events directory to ingest.
pub fn load_graph(path: &Path) -> Result<HeteroGraph> {
    if path.join("meta.json").is_file() {
        ringscope_graph::store::load(path).context(|| format!("loading {}", path.display()))
    } else {
        let (_, graph) = ingest_and_build(path, &mut Stages::new())?;
        Ok(graph)
    }
}

/// Whether `dir` is a raw-event dataset: an `input/` events directory and a `truth.csv` kept
/// beside it (`account_id,label`), as `../shared/datasets/yelpchi_reviews`.
pub fn is_raw_dataset(dir: &Path) -> bool {
    dir.join("input").is_dir() && dir.join(TRUTH).is_file()
}

/// The truth file of a raw-event dataset.
pub const TRUTH: &str = "truth.csv";

/// A raw-event dataset's graph, built from `input/` as a run builds it, with the accounts'
/// labels from `truth.csv` for evaluation; an account the truth does not name stays unlabelled.
pub fn load_raw_dataset(dir: &Path) -> Result<HeteroGraph> {
    let (_, graph) = ingest_and_build(&dir.join("input"), &mut Stages::new())?;
    let path = dir.join(TRUTH);
    let text = std::fs::read_to_string(&path).map_err(|source| crate::Error::Read {
        path: path.clone(),
        source,
    })?;
    let bad = |line: usize, message: String| crate::Error::BadFile {
        file: path.clone(),
        line,
        message,
    };
    let (kind, accounts) = graph
        .node_set(ringscope_graph::NodeKind::Account.name())
        .ok_or_else(|| bad(1, "the input has no accounts to label".into()))?;
    let mut labels = vec![-1i8; accounts.len()];
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, header)) if header.trim() == "account_id,label" => {}
        _ => return Err(bad(1, "the header must be account_id,label".into())),
    }
    for (i, line) in lines.filter(|(_, l)| !l.is_empty()) {
        let (id, label) = line
            .split_once(',')
            .ok_or_else(|| bad(i + 1, "expected account_id,label".into()))?;
        let label = match label.trim() {
            "0" => 0,
            "1" => 1,
            other => {
                return Err(bad(
                    i + 1,
                    format!("column 'label': '{other}' is not 0 or 1"),
                ));
            }
        };
        let index = accounts.ids.get(id).ok_or_else(|| {
            bad(
                i + 1,
                format!("column 'account_id': '{id}' is not an account of the input"),
            )
        })?;
        labels[index as usize] = label;
    }
    let mut sets = graph.node_sets().to_vec();
    sets[kind].labels = Some(labels);
    Ok(HeteroGraph::new(
        &graph.name,
        sets,
        graph.relations().to_vec(),
    )?)
}
