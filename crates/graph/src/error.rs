//! Graph errors.

use std::path::PathBuf;

/// A graph could not be built, loaded or saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GraphError {
    /// An edge endpoint is not a node of its kind.
    #[error(
        "relation {relation}: edge {edge} has {side} node {node}, but there are only {num_nodes} nodes"
    )]
    NodeOutOfRange {
        /// Relation name.
        relation: String,
        /// `src` or `dst`.
        side: &'static str,
        /// Edge index.
        edge: usize,
        /// The bad node index.
        node: u32,
        /// Size of the node set.
        num_nodes: usize,
    },
    /// Structurally inconsistent input.
    #[error("{0}")]
    Invalid(String),
    /// A stored graph or dataset file is wrong; names the file and, where known, column and row.
    #[error("{}: {message}", file.display())]
    BadFile {
        /// The file.
        file: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The stored graph was written with another schema version.
    #[error("{}: graph schema version {found}, this build reads version {expected}; rebuild the graph with `ringscope build`", file.display())]
    SchemaVersion {
        /// The meta.json file.
        file: PathBuf,
        /// Version in the file.
        found: u32,
        /// Version this build reads.
        expected: u32,
    },
    /// A stored graph or dataset that is missing or cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// Writing failed.
    #[error("{}: {source}", path.display())]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// Result with [`GraphError`].
pub type Result<T, E = GraphError> = std::result::Result<T, E>;
