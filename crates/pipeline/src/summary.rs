//! Human-readable summaries printed by the commands, and their JSON twin.

use ringscope_graph::{HeteroGraph, Projection};
use ringscope_ingest::{IngestReport, TableKind};
use serde::Serialize;
use std::fmt::Write;

/// Machine-readable summary of a run (`summary.json`).
#[derive(Serialize)]
pub struct RunSummary<'a> {
    /// Tool version.
    pub version: &'static str,
    /// Row accounting per table.
    pub ingest: &'a IngestReport,
    /// Node and edge counts.
    pub graph: GraphSummary,
    /// Projection counts.
    pub projection: ProjectionSummary,
    /// How the scores were made: scorer, applicability, threshold and cap, fit.
    pub scoring: &'a ringscope_export::ScoringRecord,
    /// Rings reported.
    pub rings: usize,
}

/// Node and edge counts of a graph.
#[derive(Serialize)]
pub struct GraphSummary {
    /// Per node kind: name and count.
    pub nodes: Vec<(String, usize)>,
    /// Per relation: name, src kind, dst kind, edges.
    pub relations: Vec<(String, String, String, usize)>,
    /// Heap bytes of the graph and its CSR indexes.
    pub heap_bytes: usize,
}

impl GraphSummary {
    /// Counts of `g`.
    pub fn of(g: &HeteroGraph) -> Self {
        let sets = g.node_sets();
        GraphSummary {
            nodes: sets.iter().map(|s| (s.kind.clone(), s.len())).collect(),
            relations: g
                .relations()
                .iter()
                .map(|r| {
                    (
                        r.name.clone(),
                        sets[r.src_kind].kind.clone(),
                        sets[r.dst_kind].kind.clone(),
                        r.len(),
                    )
                })
                .collect(),
            heap_bytes: g.heap_bytes(),
        }
    }
}

/// Counts of a projection.
#[derive(Serialize)]
pub struct ProjectionSummary {
    /// Account pairs with evidence.
    pub pairs: usize,
    /// Accounts in at least one pair.
    pub linked_accounts: usize,
    /// Hub identifiers (and `ip_subnet` hubs) that were capped.
    pub hubs: usize,
    /// Products with capped review bursts.
    pub bursts: usize,
    /// Reviews without a time.
    pub untimed_reviews: usize,
}

impl ProjectionSummary {
    /// Counts of `p`.
    pub fn of(p: &Projection) -> Self {
        ProjectionSummary {
            pairs: p.graph.edge_count(),
            linked_accounts: p
                .graph
                .node_indices()
                .filter(|&n| p.graph.neighbors(n).next().is_some())
                .count(),
            hubs: p.hubs.len(),
            bursts: p.bursts.len(),
            untimed_reviews: p.untimed_reviews,
        }
    }
}

/// The ingest table: files, rows read, used, rejected per table.
pub fn ingest_text(report: &IngestReport) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "ingest {}", report.input.display());
    let _ = writeln!(
        s,
        "  {:<10} {:>5} {:>12} {:>12} {:>10}  rejected by reason",
        "table", "files", "read", "used", "rejected"
    );
    for table in TableKind::ALL {
        let Some(t) = report.tables.get(&table) else {
            let _ = writeln!(s, "  {:<10} (absent)", table.name());
            continue;
        };
        let reasons: Vec<String> = t
            .rejected_by_kind
            .iter()
            .map(|(k, n)| format!("{} {n}", k.name()))
            .collect();
        let _ = writeln!(
            s,
            "  {:<10} {:>5} {:>12} {:>12} {:>10}  {}",
            table.name(),
            t.files.len(),
            t.rows_read,
            t.rows_used,
            t.rows_rejected,
            reasons.join(", ")
        );
        for f in t.files.iter().filter(|f| !f.ignored_columns.is_empty()) {
            let _ = writeln!(
                s,
                "  {:<10} {} has columns outside the contract (ignored): {}",
                "",
                f.path.display(),
                f.ignored_columns.join(", ")
            );
        }
    }
    for f in &report.ignored_files {
        let _ = writeln!(
            s,
            "  warning: {} matches no table and was not read",
            f.display()
        );
    }
    s
}

/// Node and edge counts, and memory per edge.
pub fn graph_text(g: &HeteroGraph) -> String {
    let sum = GraphSummary::of(g);
    let mut s = String::new();
    let edges = g.num_edges();
    let _ = writeln!(
        s,
        "graph {}: {} nodes, {} edges, {:.1} MiB ({:.1} bytes/edge)",
        g.name,
        g.num_nodes(),
        edges,
        sum.heap_bytes as f64 / (1 << 20) as f64,
        sum.heap_bytes as f64 / edges.max(1) as f64
    );
    let nodes: Vec<String> = sum.nodes.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let _ = writeln!(s, "  nodes: {}", nodes.join(", "));
    for (name, src, dst, n) in &sum.relations {
        let _ = writeln!(s, "  {:<12} {:>10}  {src} → {dst}", name, n);
    }
    for set in g.node_sets() {
        if let Some(y) = &set.labels {
            let pos = y.iter().filter(|&&v| v == 1).count();
            let neg = y.iter().filter(|&&v| v == 0).count();
            let _ = writeln!(
                s,
                "  labels on {}: {pos} fraud, {neg} benign, {} unlabelled",
                set.kind,
                y.len() - pos - neg
            );
        }
        if let Some(f) = &set.features {
            let _ = writeln!(s, "  features on {}: {}", set.kind, f.names.len());
        }
    }
    s
}

/// Projection counts with the largest hubs and bursts.
pub fn projection_text(p: &Projection) -> String {
    let sum = ProjectionSummary::of(p);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "account projection: {} linked pairs over {} accounts",
        sum.pairs, sum.linked_accounts
    );
    let _ = writeln!(s, "  hub identifiers capped: {}", sum.hubs);
    for h in p.hubs.iter().take(5) {
        let _ = writeln!(
            s,
            "    {} {} shared by {} accounts",
            h.kind, h.id, h.accounts
        );
    }
    let _ = writeln!(s, "  review bursts capped: {}", sum.bursts);
    for b in p.bursts.iter().take(3) {
        let _ = writeln!(
            s,
            "    product {}: {} reviews in over-full windows",
            b.product, b.reviews
        );
    }
    if sum.untimed_reviews > 0 {
        let _ = writeln!(
            s,
            "  reviews without a time (no co-review evidence): {}",
            sum.untimed_reviews
        );
    }
    s
}

/// The highest-scoring accounts, and how the scores compare with the ground truth if any.
pub fn scores_text(scores: &crate::score::Scores) -> String {
    let mut out = String::new();
    let r = &scores.record;
    let scorer = match scores.model.manifest() {
        Some(m) if r.fit.is_some() => format!("model fitted on this input ({})", m.model.model),
        Some(m) => format!("checkpoint ({})", m.model.model),
        None => format!(
            "label-free scorer, fitted on this input ({} signals: {})",
            r.signals.len(),
            r.signals.join(", ")
        ),
    };
    let _ = writeln!(
        out,
        "scores: {} accounts and sellers, by the {scorer}",
        scores.rows.len()
    );
    if let Some(a) = &r.applicability {
        let _ = writeln!(out, "  applicability: {}", a.text());
    }
    if let Some(why) = &r.fallback {
        let _ = writeln!(
            out,
            "  the label-free scorer replaced the checkpoint: {why}"
        );
    }
    if let Some(f) = &r.fit {
        let _ = writeln!(
            out,
            "  fitted on the input's labels ({}, {} split: {} train, {} validation, {} test): out-of-sample test AUROC {:.4}, AUPRC {:.4}",
            f.model, f.split, f.train, f.val, f.test, f.test_auroc, f.test_auprc
        );
    }
    let _ = writeln!(
        out,
        "  flagged: {} at threshold {:.4} (at most {:.1}% by [model] max_flag_rate)",
        scores.flagged(),
        scores.threshold,
        100.0 * r.max_flag_rate
    );
    if let (true, Some(t), Some(n)) = (
        r.cap_cut_in,
        r.model_threshold,
        r.flagged_at_model_threshold,
    ) {
        let _ = writeln!(
            out,
            "  the cap cut in: the model's own threshold {t:.3} would flag {n}"
        );
    }
    if let Some(auroc) = scores.auroc() {
        let note = match scores.model {
            crate::score::Model::LabelFree { .. } => "the scorer saw no labels",
            crate::score::Model::Checkpoint { .. } if r.fit.is_some() => {
                "in-sample: the model trained on most of these labels; its test AUROC above is the quality figure"
            }
            crate::score::Model::Checkpoint { .. } => {
                "in-sample if the checkpoint was trained on these labels, so not a quality figure"
            }
        };
        let _ = writeln!(
            out,
            "  AUROC against the labels in the input: {auroc:.4} ({note})"
        );
    }
    for r in scores.rows.iter().take(5) {
        let _ = writeln!(out, "  {:.4}  {} {}", r.score, r.kind, r.id);
    }
    out
}
