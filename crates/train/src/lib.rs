//! Training the models of `ringscope-gnn`: the loop with early stopping and Adam
//! (`fit.rs`), neighbour sampling (`loader.rs`), metrics, train/validation/test splits
//! (`split.rs`), a graph laid out as model input (`input.rs`), TOML model files (`config.rs`,
//! presets in `presets/`), and the benchmark protocols with their published numbers
//! (`datasets.rs`) and evaluation runner (`eval.rs`), and boosted trees stacked on a network's
//! out-of-fold scores (`stack.rs`).
#![warn(missing_docs)]

pub mod config;
pub mod datasets;
pub mod eval;
pub mod fit;
pub mod input;
pub mod loader;
pub mod metrics;
pub mod split;
pub mod stack;

pub use fit::{Epoch, Loss, Metrics, Resume, TrainConfig, TrainData, Trained, predict, train};
pub use input::ModelInput;
pub use split::Split;
