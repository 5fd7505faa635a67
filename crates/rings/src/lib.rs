//! Groups suspicious accounts into collusion rings: candidate rings from shared-identifier
//! evidence and from dense lockstep blocks, and their quality against planted ground truth.
#![warn(missing_docs)]

pub mod candidates;
pub mod dense;
pub mod louvain;

pub use candidates::{Candidate, CandidateConfig, RingQuality, Source, candidates, ring_quality};
pub use dense::{DenseBlock, DenseConfig, dense_blocks};
