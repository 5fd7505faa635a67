//! The scoring stage: every node of the labelled kinds scored with a checkpoint.

use crate::error::{Context as _, Result};
use ringscope_export::ScoreRow;
use ringscope_gnn::{DeviceChoice, device};
use ringscope_graph::HeteroGraph;
use ringscope_score::checkpoint;
use std::path::Path;

/// Node scores of the labelled node kinds, highest first, with the model that gave them.
pub struct Scores {
    /// One row per node of a labelled kind, highest score first, ties by ID.
    pub rows: Vec<ScoreRow>,
    /// The checkpoint's decision threshold.
    pub threshold: f32,
    /// Every node's score, in the graph's global index space.
    pub all: Vec<f32>,
    /// The checkpoint, for explaining the scores.
    pub checkpoint: checkpoint::Checkpoint,
    /// The device it runs on.
    pub device: ringscope_gnn::Device,
}

impl Scores {
    /// `scores.csv`.
    pub fn to_csv(&self) -> String {
        ringscope_export::scores_csv(&self.rows, self.threshold)
    }

    /// Rows at or above the threshold.
    pub fn flagged(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.score >= self.threshold)
            .count()
    }

    /// AUROC against the ground truth, where there are both classes.
    pub fn auroc(&self) -> Option<f64> {
        let labelled: Vec<&ScoreRow> = self.rows.iter().filter(|r| r.label >= 0).collect();
        let scores: Vec<f32> = labelled.iter().map(|r| r.score).collect();
        let labels: Vec<bool> = labelled.iter().map(|r| r.label == 1).collect();
        ringscope_train::metrics::auroc(&scores, &labels)
    }
}

/// Scores every node of the labelled kinds of `graph` with the checkpoint in `dir`.
pub fn score(graph: &HeteroGraph, dir: &Path, choice: DeviceChoice) -> Result<Scores> {
    let scoring = || format!("scoring with {}", dir.display());
    let device = device::open(choice).context(scoring)?;
    let checkpoint = checkpoint::load(dir, &device).context(scoring)?;
    let all = checkpoint.score(graph, &device).context(scoring)?;
    let mut rows = Vec::new();
    for (kind, set) in graph.node_sets().iter().enumerate() {
        let Some(labels) = &set.labels else { continue };
        let scores = &all[graph.kind_range(kind)];
        for (i, (&label, &score)) in labels.iter().zip(scores).enumerate() {
            rows.push(ScoreRow {
                kind: set.kind.clone(),
                id: set.ids.resolve(i as u32).to_string(),
                score,
                label,
            });
        }
    }
    rows.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    Ok(Scores {
        rows,
        threshold: checkpoint.manifest.threshold,
        all,
        checkpoint,
        device,
    })
}
