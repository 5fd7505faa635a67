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
