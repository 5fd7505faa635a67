//! Graph neural networks on burn for fraud scoring: message passing, a registry of graph layers
//! (`conv/`), node-classification models, training, sampling, metrics and checkpoints.
#![warn(missing_docs)]

pub mod checkpoint;
pub mod config;
pub mod conv;
pub mod datasets;
pub mod dense;
pub mod device;
pub mod error;
pub mod eval;
pub mod explain;
pub mod graph;
pub mod input;
pub mod loader;
pub mod metrics;
pub mod model;
pub mod mp;
pub mod sparse;
pub mod train;

/// The runtime device models run on (flex on the CPU, wgpu on a GPU).
pub use burn::prelude::Device;
pub use checkpoint::{Checkpoint, Manifest};
pub use device::DeviceChoice;
pub use error::{GnnError, Result};
pub use graph::{GraphEdges, GraphTensors};
pub use input::ModelInput;
pub use model::{Gnn, GnnConfig};
pub use mp::{Aggregation, EdgeIndex};
pub use train::{
    Epoch, Loss, Metrics, Resume, Split, TrainConfig, TrainData, Trained, predict, train,
};
