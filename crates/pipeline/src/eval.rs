//! The label-free scorer on a benchmark's splits: fitted on the whole graph with no labels, and
//! measured on each split's test nodes, so it stands beside the trained models of
//! `ringscope eval` under the same protocol.

use crate::error::Result;
use ringscope_graph::HeteroGraph;
use ringscope_labelfree::LabelFree;
use ringscope_train::datasets::{Benchmark, Metric, Reference};
use ringscope_train::metrics::{auprc, auroc};
use std::path::Path;

/// Mean test AUROC and AUPRC (× 100) of the label-free scorer over the first `max_splits` of
/// `benchmark`'s splits of `graph` (read from `dir`), as references for the report.
pub fn label_free_references(
    benchmark: &Benchmark,
    dir: &Path,
    graph: &HeteroGraph,
    seeds: usize,
    max_splits: Option<usize>,
) -> Result<Vec<Reference>> {
    // The scale does not change the order, so the default serves every AUROC and AUPRC.
    let half_at = crate::config::ModelSection::default().label_free_half_at;
    let scores = LabelFree::fit_and_score(graph, half_at).1.scores;
    let labels = ringscope_train::split::node_labels(graph);
    let mut splits = benchmark.splits(dir, graph, seeds)?;
    splits.truncate(max_splits.unwrap_or(usize::MAX));
    let mut sums = [0.0, 0.0];
    let mut runs = 0;
    for (_, _, split) in &splits {
        let s: Vec<f32> = split.test.iter().map(|&i| scores[i as usize]).collect();
        let l: Vec<bool> = split
            .test
            .iter()
            .map(|&i| labels[i as usize] == 1)
            .collect();
        if let (Some(roc), Some(pr)) = (auroc(&s, &l), auprc(&s, &l)) {
            sums[0] += roc;
            sums[1] += pr;
            runs += 1;
        }
    }
    if runs == 0 {
        return Ok(Vec::new());
    }
    const SOURCE: &str = "measured in this run: ringscope's label-free scorer (no labels), fitted on the whole graph, mean over the same test splits";
    Ok([(Metric::Auroc, sums[0]), (Metric::Auprc, sums[1])]
        .into_iter()
        .map(|(metric, sum)| Reference {
            model: "ringscope label-free",
            metric,
            value: 100.0 * sum / f64::from(runs),
            source: SOURCE,
        })
        .collect())
}
