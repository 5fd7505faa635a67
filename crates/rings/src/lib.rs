//! Groups suspicious accounts into collusion rings: candidate rings from shared-identifier
//! evidence, dense lockstep blocks, co-target groups and creation cohorts, each tested against
//! a null model of chance co-activity, scored from the members' GNN scores and the ring's own
//! evidence, and measured against planted ground truth.
#![warn(missing_docs)]

pub mod activity;
pub mod candidates;
pub mod cotarget;
pub mod dense;
pub mod evidence;
pub mod lineage;
pub mod louvain;
pub mod record;
pub mod score;
pub mod significance;
pub mod stats;
pub mod subgraph;
pub mod takeover;

pub use candidates::{
    Candidate, CandidateConfig, RingQuality, Source, candidates, found_rings, is_pure, ring_quality,
};
pub use cotarget::CoTargetConfig;
pub use dense::{DenseBlock, DenseConfig, dense_blocks};
pub use evidence::{RingEvidence, Role, ring_evidence};
pub use lineage::{Lineage, PreviousRing, RingEvent, match_rings, new_ring_id};
pub use record::{Reasons, RingRecord};
pub use score::{ScoredRing, ScoringConfig, SignalWeights, Signals, score_rings};
pub use significance::{Significance, Test};
pub use subgraph::{RingEdge, RingGraph, RingNode, ring_graph};
pub use takeover::TakeoverConfig;
