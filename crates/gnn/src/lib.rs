//! Graph neural networks on burn: message passing over sparse and dense products (burn backend
//! extensions with a rayon kernel on flex), a registry of graph layers (`conv/`, one per file)
//! and the node-classification model. Training lives in `ringscope-train`, checkpoints and
//! inference in `ringscope-score`.
#![warn(missing_docs)]

pub mod conv;
pub mod dense;
pub mod device;
pub mod digest;
pub mod error;
pub mod graph;
pub mod model;
pub mod mp;
pub mod sparse;
pub mod tensor;

/// The runtime device models run on (flex on the CPU, wgpu on a GPU).
pub use burn::prelude::Device;
pub use device::DeviceChoice;
pub use error::{GnnError, Result};
pub use graph::{GraphEdges, GraphTensors};
pub use model::{Gnn, GnnConfig};
pub use mp::{Aggregation, EdgeIndex};
