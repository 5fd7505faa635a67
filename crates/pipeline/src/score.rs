//! The scoring stage: every account and seller (and every node of a labelled kind) scored by
//! the checkpoint or by the label-free scorer, after an applicability check of the input
//! against the checkpoint's training population, with at most `[model] max_flag_rate` flagged.

use crate::config::{ModelSection, OnOutOfDomain, Scorer};
use crate::error::{Context as _, Error, Result};
use ringscope_export::{ScoreRow, ScoringRecord};
use ringscope_features::FeatureMatrix;
use ringscope_features::distribution::Applicability;
use ringscope_gnn::{DeviceChoice, GnnError, device};
use ringscope_graph::{HeteroGraph, NodeKind};
use ringscope_labelfree::{LabelFree, Scored};
use ringscope_score::checkpoint;
use std::path::Path;

/// The model behind a run's scores.
pub enum Model {
    /// A trained checkpoint, on the device it runs on.
    Checkpoint {
        /// The checkpoint.
        checkpoint: Box<checkpoint::Checkpoint>,
        /// Its device.
        device: ringscope_gnn::Device,
    },
    /// The label-free scorer fitted on this input, with every account's signal ranks.
    LabelFree {
        /// The fitted scorer.
        model: LabelFree,
        /// Its signal ranks and scores on the input.
        scored: Scored,
    },
}

impl Model {
    /// The model's name, as the manifest records it.
    pub fn name(&self) -> String {
        match self {
            Model::Checkpoint { checkpoint, .. } => checkpoint.manifest.model.model.clone(),
            Model::LabelFree { .. } => ringscope_labelfree::NAME.to_string(),
        }
    }

    /// The checkpoint's manifest, when a checkpoint scored.
    pub fn manifest(&self) -> Option<&checkpoint::Manifest> {
        match self {
            Model::Checkpoint { checkpoint, .. } => Some(&checkpoint.manifest),
            Model::LabelFree { .. } => None,
        }
    }
}

/// Node scores, highest first, with the model that gave them and how they were thresholded.
pub struct Scores {
    /// One row per account, seller and node of a labelled kind, highest score first, ties by ID.
    pub rows: Vec<ScoreRow>,
    /// The threshold applied: the model's, raised where the flag-rate cap cut in.
    pub threshold: f32,
    /// Every node's score, in the graph's global index space.
    pub all: Vec<f32>,
    /// The model, for explaining the scores.
    pub model: Model,
    /// How the scores were made, for the manifest, the summary and the report.
    pub record: ScoringRecord,
}

impl Scores {
    /// `scores.csv`.
    pub fn to_csv(&self) -> String {
        ringscope_export::scores_csv(&self.rows, self.threshold)
    }

    /// Rows at or above the threshold.
    pub fn flagged(&self) -> usize {
        flagged(&self.rows, self.threshold)
    }

    /// AUROC against the labels in the input, where there are both classes. Not a quality
    /// figure when those labels trained the checkpoint; the summary says so.
    pub fn auroc(&self) -> Option<f64> {
        let labelled: Vec<&ScoreRow> = self.rows.iter().filter(|r| r.label >= 0).collect();
        let scores: Vec<f32> = labelled.iter().map(|r| r.score).collect();
        let labels: Vec<bool> = labelled.iter().map(|r| r.label == 1).collect();
        ringscope_train::metrics::auroc(&scores, &labels)
    }
}

fn flagged(rows: &[ScoreRow], threshold: f32) -> usize {
    rows.iter().filter(|r| r.score >= threshold).count()
}

/// Scores `graph` as `[model]` says, with the checkpoint in `dir` unless the label-free scorer
/// is chosen or takes over.
pub fn score(
    graph: &HeteroGraph,
    dir: &Path,
    choice: DeviceChoice,
    section: &ModelSection,
) -> Result<Scores> {
    Ok(score_with_features(graph, dir, choice, section)?.0)
}

/// [`score`], and the normalised feature matrix the checkpoint read when it is the one that
/// scored (online scoring reuses its rows).
pub fn score_with_features(
    graph: &HeteroGraph,
    dir: &Path,
    choice: DeviceChoice,
    section: &ModelSection,
) -> Result<(Scores, Option<FeatureMatrix>)> {
    if section.scorer == Scorer::LabelFree {
        return Ok((label_free(graph, section, None, None), None));
    }
    checked(graph, dir, choice, section, |checkpoint, device| {
        checkpoint.features_and_scores(graph, device)
    })
}

/// The scores of a sharded run: `all` holds the shards' scores (`graph`'s index space), which
/// are checked against the checkpoint's training population, capped and recorded as [`score`]
/// does with its own. The check reads the whole graph's features.
pub fn from_shards(
    graph: &HeteroGraph,
    dir: &Path,
    choice: DeviceChoice,
    section: &ModelSection,
    all: Vec<f32>,
) -> Result<Scores> {
    let (scores, _) = checked(graph, dir, choice, section, |checkpoint, _| {
        Ok((checkpoint.features(graph)?, all))
    })?;
    Ok(scores)
}

/// Scores from the checkpoint in `dir`, as `read` gives them with the features they came
/// from, after the applicability check: kept, refused or replaced by the label-free scorer as
/// `[model] on_out_of_domain` says.
fn checked(
    graph: &HeteroGraph,
    dir: &Path,
    choice: DeviceChoice,
    section: &ModelSection,
    read: impl FnOnce(
        &checkpoint::Checkpoint,
        &ringscope_gnn::Device,
    ) -> std::result::Result<(FeatureMatrix, Vec<f32>), GnnError>,
) -> Result<(Scores, Option<FeatureMatrix>)> {
    let scoring = || format!("scoring with {}", dir.display());
    let device = device::open(choice).context(scoring)?;
    let checkpoint = checkpoint::load(dir, &device).context(scoring)?;
    let limits = section.applicability;
    // A model that cannot read the input (its feature columns or relations are missing there)
    // is the plainest case of an input out of its domain.
    let (applicability, read) = match read(&checkpoint, &device) {
        Ok((features, all)) => {
            let profile = checkpoint.manifest.profile.as_ref();
            (
                profile.map(|p| p.check(graph, &features, &all, limits)),
                Some((features, all)),
            )
        }
        Err(GnnError::Mismatch { message, .. }) => {
            (Some(Applicability::unreadable(message, limits)), None)
        }
        Err(e) => return Err(Error::from(e)).context(scoring),
    };
    match &applicability {
        None => tracing::warn!(
            checkpoint = %dir.display(),
            "the checkpoint has no training profile, so its fit to this input is unchecked"
        ),
        Some(a) if !a.in_domain => {
            let why = format!("{} ({})", a.text(), dir.display());
            match (section.on_out_of_domain, &read) {
                // `warn` keeps the checkpoint's scores; where there are none, it cannot.
                (OnOutOfDomain::Fail, _) | (OnOutOfDomain::Warn, None) => {
                    return Err(Error::OutOfDomain(why));
                }
                (OnOutOfDomain::Warn, Some(_)) => {
                    tracing::warn!("{why}; scoring with it anyway")
                }
                (OnOutOfDomain::LabelFree, _) => {
                    tracing::warn!("{why}; scoring with the label-free scorer instead");
                    let reason = format!(
                        "the input is out of the domain of {} ([model] on_out_of_domain = \"label_free\")",
                        dir.display()
                    );
                    let scores = label_free(graph, section, applicability, Some(reason));
                    return Ok((scores, None));
                }
            }
        }
        Some(_) => {}
    }
    let (features, all) =
        read.expect("a checkpoint that cannot read the input has been replaced above");
    let model_threshold = checkpoint.manifest.threshold;
    let model = Model::Checkpoint {
        checkpoint: Box::new(checkpoint),
        device,
    };
    let scores = finish(
        graph,
        all,
        model,
        section,
        Some(model_threshold),
        applicability,
        None,
    );
    Ok((scores, Some(features)))
}

/// Scores `graph` with the label-free scorer because `why` (a fit the labels could not support).
pub fn label_free_because(graph: &HeteroGraph, section: &ModelSection, why: String) -> Scores {
    label_free(graph, section, None, Some(why))
}

/// Scores with the label-free scorer fitted on `graph`.
fn label_free(
    graph: &HeteroGraph,
    section: &ModelSection,
    applicability: Option<Applicability>,
    fallback: Option<String>,
) -> Scores {
    let (model, scored) = LabelFree::fit_and_score(graph, section.label_free_half_at);
    let all = scored.scores.clone();
    let model = Model::LabelFree { model, scored };
    finish(graph, all, model, section, None, applicability, fallback)
}

/// The rows, the capped threshold and the record of a run's scores.
fn finish(
    graph: &HeteroGraph,
    all: Vec<f32>,
    model: Model,
    section: &ModelSection,
    model_threshold: Option<f32>,
    applicability: Option<Applicability>,
    fallback: Option<String>,
) -> Scores {
    let rows = rows(graph, &all);
    let cap = (section.max_flag_rate * rows.len() as f64).floor() as usize;
    // The cap: a threshold just above the score of the row after the last one allowed, so
    // ties at the boundary are all left out rather than flagged beyond the cap.
    let cap_threshold = rows
        .get(cap)
        .map_or(f32::NEG_INFINITY, |r| r.score.next_up());
    let threshold = match model_threshold {
        Some(t) => t.max(cap_threshold),
        None => cap_threshold,
    };
    let flagged_at_model_threshold = model_threshold.map(|t| flagged(&rows, t));
    let record = ScoringRecord {
        scorer: match model {
            Model::Checkpoint { .. } => "checkpoint".into(),
            Model::LabelFree { .. } => ringscope_labelfree::NAME.into(),
        },
        fallback,
        applicability,
        signals: match &model {
            Model::LabelFree { scored, .. } => scored.names.clone(),
            Model::Checkpoint { .. } => Vec::new(),
        },
        threshold,
        model_threshold,
        max_flag_rate: section.max_flag_rate,
        cap_cut_in: flagged_at_model_threshold.is_some_and(|n| n > flagged(&rows, threshold)),
        fit: None,
        flagged_at_model_threshold,
    };
    Scores {
        rows,
        threshold,
        all,
        model,
        record,
    }
}

/// One row per account, seller and node of a labelled kind, highest score first, ties by ID;
/// the label is -1 where unknown.
fn rows(graph: &HeteroGraph, all: &[f32]) -> Vec<ScoreRow> {
    let scored = [NodeKind::Account.name(), NodeKind::Seller.name()];
    let mut rows = Vec::new();
    for (kind, set) in graph.node_sets().iter().enumerate() {
        if set.labels.is_none() && !scored.contains(&set.kind.as_str()) {
            continue;
        }
        let scores = &all[graph.kind_range(kind)];
        for (i, &score) in scores.iter().enumerate() {
            rows.push(ScoreRow {
                kind: set.kind.clone(),
                id: set.ids.resolve(i as u32).to_string(),
                score,
                label: set.labels.as_ref().map_or(-1, |l| l[i]),
            });
        }
    }
    rows.sort_by(|a, b| b.score.total_cmp(&a.score).then_with(|| a.id.cmp(&b.id)));
    rows
}
