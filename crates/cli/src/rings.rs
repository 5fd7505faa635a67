//! The ring stage of `ringscope run`: candidates, scores, evidence and stable IDs, written as
//! `rings.jsonl` (one ring per line, nested evidence) and `ring_events.json`.

use crate::config::Config;
use anyhow::{Context, Result};
use ringscope_graph::{HeteroGraph, NodeKind, Projection};
use ringscope_rings::{
    Lineage, PreviousRing, Reasons, RingEvent, RingRecord, candidates, match_rings, ring_evidence,
    ring_graph, score_rings,
};
use std::fmt::Write as _;
use std::path::Path;

/// Detected rings, highest score first, and how they relate to the previous run's.
pub struct Rings {
    /// The rings.
    pub records: Vec<RingRecord>,
    /// Births, deaths, merges, splits and membership changes.
    pub events: Vec<RingEvent>,
}

/// Runs the ring stage on `graph` with every node's GNN score (`all_scores`, global index).
/// `previous` are an earlier run's rings, whose IDs continuing rings keep.
pub fn detect(
    graph: &HeteroGraph,
    projection: &Projection,
    model: &crate::model::Scores,
    previous: &[PreviousRing],
    config: &Config,
) -> Result<Rings> {
    let all_scores = &model.all;
    let Some((kind, accounts)) = graph.node_set(NodeKind::Account.name()) else {
        return Ok(Rings {
            records: Vec::new(),
            events: Vec::new(),
        });
    };
    let offset = graph.node_offsets()[kind];
    let scores: Vec<f64> = all_scores[offset..offset + accounts.len()]
        .iter()
        .map(|&s| f64::from(s))
        .collect();
    let found = candidates(graph, projection, &config.candidates, Some(&scores));
    let scored = score_rings(graph, projection, found, Some(&scores), &config.scoring);
    let member_ids: Vec<Vec<String>> = scored
        .iter()
        .map(|r| {
            r.candidate
                .members
                .iter()
                .map(|&a| accounts.ids.resolve(a).to_string())
                .collect()
        })
        .collect();
    let Lineage { ids, events } = match_rings(previous, &member_ids, config.rings.min_share);
    let groups: Vec<Vec<u32>> = scored
        .iter()
        .take(config.rings.explained)
        .map(|r| {
            r.candidate
                .members
                .iter()
                .map(|&a| a + offset as u32)
                .collect()
        })
        .collect();
    let explanations = model
        .checkpoint
        .explain(graph, &groups, config.rings.reasons, &model.device)
        .context("explaining the ring scores")?;
    let feature_names = &model.checkpoint.manifest.features;
    let node_name = |v: u32| {
        let offsets = graph.node_offsets();
        let kind = offsets.partition_point(|&o| o <= v as usize) - 1;
        let set = &graph.node_sets()[kind];
        (
            set.kind.clone(),
            set.ids.resolve(v - offsets[kind] as u32).to_string(),
        )
    };
    let mut explanations = explanations.into_iter();
    let records = scored
        .into_iter()
        .zip(ids)
        .map(|(r, id)| RingRecord {
            id,
            score: r.score,
            signals: r.signals,
            source: r.candidate.source,
            evidence: ring_evidence(graph, &r.candidate.members, Some(&scores)),
            graph: ring_graph(graph, &r.candidate.members, Some(&scores)),
            reasons: explanations.next().map(|e| Reasons {
                features: e
                    .features
                    .iter()
                    .map(|&(f, c)| (feature_names[f].clone(), c))
                    .collect(),
                nodes: e
                    .nodes
                    .iter()
                    .map(|&(v, c)| {
                        let (kind, id) = node_name(v);
                        (kind, id, c)
                    })
                    .collect(),
                score: e.score,
                score_without_features: e.score_without_features,
                score_without_nodes: e.score_without_nodes,
            }),
        })
        .collect();
    Ok(Rings { records, events })
}

/// The IDs and member account IDs of an earlier `rings.jsonl`.
pub fn read_previous(path: &Path) -> Result<Vec<PreviousRing>> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| ringscope_graph::GraphError::Io {
            path: path.to_path_buf(),
            source,
        })
        .context("reading the previous run's rings")?;
    let bad = |line: usize, message: String| ringscope_graph::GraphError::BadFile {
        file: path.to_path_buf(),
        message: format!("line {line}: {message}"),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, line)| {
            let v: serde_json::Value =
                serde_json::from_str(line).map_err(|e| bad(i + 1, e.to_string()))?;
            let id = v["id"]
                .as_str()
                .ok_or_else(|| bad(i + 1, "no string field 'id'".into()))?;
            let members = v["evidence"]["members"]
                .as_array()
                .ok_or_else(|| bad(i + 1, "no array 'evidence.members'".into()))?
                .iter()
                .map(|m| {
                    m["account"]
                        .as_str()
                        .map(str::to_string)
                        .ok_or_else(|| bad(i + 1, "a member without 'account'".into()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok(PreviousRing {
                id: id.to_string(),
                members,
            })
        })
        .collect::<Result<_, ringscope_graph::GraphError>>()
        .context("reading the previous run's rings")
}

impl Rings {
    /// One JSON object per ring, highest score first.
    pub fn to_jsonl(&self) -> Result<String> {
        let mut out = String::new();
        for r in &self.records {
            out.push_str(&serde_json::to_string(r).context("serialising a ring")?);
            out.push('\n');
        }
        Ok(out)
    }

    /// The printed summary: counts and the top rings.
    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "rings: {} reported", self.records.len());
        for r in self.records.iter().take(5) {
            let e = &r.evidence;
            let _ = writeln!(
                s,
                "  {}  score {:.3}  {} members, {} shared identifiers, {} targets ({:?})",
                r.id,
                r.score,
                e.members.len(),
                e.shared.len(),
                e.targets.len(),
                r.source
            );
        }
        s
    }
}
