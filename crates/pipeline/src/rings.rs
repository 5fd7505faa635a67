//! The ring stage: candidates, scores, explanations, evidence and stable IDs.

use crate::config::Config;
use crate::error::{Context as _, Result};
use crate::score::{Model, Scores};
use ringscope_graph::{HeteroGraph, NodeKind, Projection};
use ringscope_rings::{
    Lineage, PreviousRing, Reasons, RingEvent, RingRecord, Test, candidates, match_rings,
    ring_evidence, ring_graph, score_rings,
};
use std::fmt::Write as _;

/// Detected rings, highest score first, and how they relate to the previous run's.
pub struct Rings {
    /// The rings.
    pub records: Vec<RingRecord>,
    /// Births, deaths, merges, splits and membership changes.
    pub events: Vec<RingEvent>,
}

/// Runs the ring stage on `graph` with every node's GNN score. `previous` are an earlier run's
/// rings, whose IDs continuing rings keep.
pub fn detect(
    graph: &HeteroGraph,
    projection: &Projection,
    model: &Scores,
    previous: &[PreviousRing],
    config: &Config,
) -> Result<Rings> {
    let Some((kind, accounts)) = graph.node_set(NodeKind::Account.name()) else {
        return Ok(Rings {
            records: Vec::new(),
            events: Vec::new(),
        });
    };
    let space = graph.index_space();
    let scores: Vec<f64> = model.all[space.range(kind)]
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
        .map(|r| r.candidate.members.clone())
        .collect();
    let mut explanations = explain(graph, kind, &groups, model, config.rings.reasons)?.into_iter();
    let records = scored
        .into_iter()
        .zip(ids)
        .map(|(r, id)| RingRecord {
            id,
            score: r.score,
            signals: r.signals,
            source: r.candidate.source,
            significance: r.candidate.significance.value,
            significance_test: describe(graph, &r.candidate.significance.test),
            evidence: ring_evidence(graph, &r.candidate.members, Some(&scores), &projection.near),
            graph: ring_graph(graph, &r.candidate.members, Some(&scores)),
            reasons: explanations.next(),
        })
        .collect();
    Ok(Rings { records, events })
}

/// The significance test in words, naming its target by external ID.
fn describe(graph: &HeteroGraph, test: &Test) -> String {
    let name = |target: u32| {
        let products = graph.node_set(NodeKind::Product.name()).map(|(_, s)| s);
        let n = products.map_or(0, |s| s.len()) as u32;
        let (kind, set) = if target < n {
            ("product", products)
        } else {
            (
                "seller",
                graph.node_set(NodeKind::Seller.name()).map(|(_, s)| s),
            )
        };
        let index = if target < n { target } else { target - n };
        let id = set.map_or_else(|| index.to_string(), |s| s.ids.resolve(index).to_string());
        format!("{kind} {id}")
    };
    let window = |secs: i64| match secs {
        s if s % 86_400 == 0 => format!("{} d", s / 86_400),
        s => format!("{} h", s / 3_600),
    };
    match *test {
        Test::None => String::new(),
        Test::Concentration {
            target,
            observed,
            expected,
        } => format!(
            "concentration: {observed} suspicious accounts on {}, {expected:.2} expected by chance",
            name(target)
        ),
        Test::Burst {
            target,
            scale,
            observed,
            expected,
        } => format!(
            "burst: {observed} members on {} within {}, {expected:.2} expected from its traffic",
            name(target),
            window(scale)
        ),
        Test::Focus {
            target,
            products,
            observed,
            expected,
        } => format!(
            "focus: {observed} repeat buyers of {} on {products} of its products, {expected:.2} expected by chance and its repeat custom",
            name(target)
        ),
        Test::Cohort {
            target,
            window: w,
            observed,
            expected,
        } => format!(
            "cohort: {observed} accounts on {} created within {}, {expected:.2} expected",
            name(target),
            window(w)
        ),
    }
}

/// Why each group of accounts (indices in the account set) scores as it does, by the model
/// that scored it: gradient saliency over the checkpoint's features and neighbours, or the
/// label-free signals that rank the members highest.
fn explain(
    graph: &HeteroGraph,
    account_kind: usize,
    groups: &[Vec<u32>],
    model: &Scores,
    top_k: usize,
) -> Result<Vec<Reasons>> {
    let space = graph.index_space();
    match &model.model {
        Model::LabelFree { model, scored } => Ok(groups
            .iter()
            .map(|members| {
                let e = model.explain(scored, members, top_k);
                Reasons {
                    features: e.signals,
                    nodes: Vec::new(),
                    score: e.score,
                    score_without_features: e.score_without_signals,
                    // No neighbour enters a label-free score, so removing none changes nothing.
                    score_without_nodes: e.score,
                }
            })
            .collect()),
        Model::Checkpoint { checkpoint, device } => {
            let global: Vec<Vec<u32>> = groups
                .iter()
                .map(|g| {
                    g.iter()
                        .map(|&a| space.global_of(account_kind, a) as u32)
                        .collect()
                })
                .collect();
            let explanations = checkpoint
                .explain(graph, &global, top_k, device)
                .context(|| "explaining the ring scores".to_string())?;
            let feature_names = &checkpoint.manifest.features;
            let node_name = |v: u32| {
                let node = space
                    .node(v as usize)
                    .expect("explanations name nodes of the graph");
                let set = &graph.node_sets()[usize::from(node.kind)];
                (set.kind.clone(), set.ids.resolve(node.index).to_string())
            };
            Ok(explanations
                .into_iter()
                .map(|e| Reasons {
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
                })
                .collect())
        }
    }
}

impl Rings {
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
