//! One ringscope run as a library. A run is [`Run::execute`]: ingest the event tables, build
//! the graph and its account projection, score every node with a checkpoint, detect, explain
//! and assemble rings, measure drift against the previous run, and write every output through
//! `ringscope-export` into a staged directory that is renamed into place and marked
//! `_SUCCESS`. Each stage is also a function of its own ([`score::score`],
//! [`rings::detect`], [`drift`], [`feedback::apply_feedback`], [`train::train`],
//! [`report::page`], [`online::score_account`]), so `ringscope run`, `rings`, `report`, `train`
//! and `serve` share one implementation of each stage and each output.
//!
//! No clap and no process exit here: errors are [`Error`]s, which the shells map to exit codes
//! or HTTP statuses.
#![warn(missing_docs)]

pub mod config;
pub mod drift;
pub mod embedded;
pub mod error;
pub mod eval;
pub mod feedback;
pub mod fit;
pub mod load;
pub mod neighbourhood;
pub mod online;
pub mod report;
pub mod rings;
pub mod run;
pub mod score;
pub mod shard;
pub mod stages;
pub mod summary;
pub mod train;

pub use config::{Config, ServeSection};
pub use error::{Context, Error, Result};
pub use load::{ingest_and_build, load_graph};
pub use rings::Rings;
pub use run::{Plan, Run, RunOutputs, rings_only, write_ring_outputs};
pub use score::Scores;
pub use stages::Stages;
