//! One reported ring as the outputs carry it: a line of `rings.jsonl`, a row of `rings.csv`.

use crate::{RingEvidence, RingGraph, Signals, Source};

/// A reported ring: its stable ID, score, evidence and the reasons behind the members' scores.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RingRecord {
    /// Stable ID.
    pub id: String,
    /// Ring score in `[0, 1]`.
    pub score: f64,
    /// The signals behind it.
    pub signals: Signals,
    /// Which candidate path found it.
    pub source: Source,
    /// Significance against chance co-activity: `-log10` of the corrected p-value
    /// ([`crate::significance`]).
    #[serde(default)]
    pub significance: f64,
    /// The test behind it, in words (empty when nothing beat chance).
    #[serde(default)]
    pub significance_test: String,
    /// Members, evidence and timeline.
    pub evidence: RingEvidence,
    /// The members, what they share and target, and their timed edges, for drawing.
    pub graph: RingGraph,
    /// Why the model scored the members high (top rings only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reasons: Option<Reasons>,
}

/// The saliency explanation of a ring's member scores, with its fidelity check.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reasons {
    /// Member features that raised the scores most: `(feature, contribution)`.
    pub features: Vec<(String, f32)>,
    /// Nodes outside the ring whose features raised the scores most: `(kind, id, contribution)`.
    pub nodes: Vec<(String, String, f32)>,
    /// Mean member score.
    pub score: f32,
    /// Mean member score with those features set to the average account's.
    pub score_without_features: f32,
    /// Mean member score with those nodes set to the average.
    pub score_without_nodes: f32,
}
