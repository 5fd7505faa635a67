//! Scoring with a trained model: the checkpoint format (`checkpoint.rs`: weights, optimiser
//! state and a manifest checked against the graph), whole-graph and subgraph inference, and
//! gradient-saliency explanations with a fidelity check (`explain.rs`).
#![warn(missing_docs)]

pub mod checkpoint;
pub mod explain;
pub mod reach;

pub use checkpoint::{Checkpoint, Manifest};
