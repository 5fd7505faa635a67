//! The pipeline's error: the libraries' own errors, passed through unchanged, plus the
//! pipeline's configuration and input-file problems. Which exit code or HTTP status an error
//! gets is decided by the shells (`cli`, `serve`), not here.

use ringscope_export::ExportError;
use ringscope_gnn::GnnError;
use ringscope_graph::GraphError;
use ringscope_ingest::IngestError;
use std::path::PathBuf;

/// A failed stage.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The configuration is invalid; raised before any work starts.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// Reading or validating the input tables.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// Building, storing or loading a graph.
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// The model: device, checkpoint, training or inference.
    #[error(transparent)]
    Model(#[from] GnnError),
    /// Writing or reading a run's files.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// A file the pipeline reads (investigator feedback) does not hold what it should.
    #[error("{file}: line {line}: {message}")]
    BadFile {
        /// The file.
        file: PathBuf,
        /// The line, 1-based.
        line: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// A file the pipeline reads cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The input is outside the checkpoint's training population and `[model]
    /// on_out_of_domain = "fail"`.
    #[error("input out of the model's domain: {0}")]
    OutOfDomain(String),
    /// The shipped sample or checkpoint compiled into the binary is damaged, or could not be
    /// written where the stages read it.
    #[error("embedded default: {0}")]
    Embedded(String),
    /// A shard's output is missing: the shard failed or never ran.
    #[error("shard {shard} has no output: {dir} has no _SUCCESS (the shard failed or did not run)")]
    ShardMissing {
        /// The shard.
        shard: usize,
        /// Where its output should be.
        dir: PathBuf,
    },
    /// A shard, plan, input, checkpoint or config that do not belong together.
    #[error("{0}")]
    Shard(String),
    /// What was being done when `source` happened.
    #[error("{context}")]
    Context {
        /// What was being done.
        context: String,
        /// The failure.
        #[source]
        source: Box<Error>,
    },
}

/// The pipeline's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The innermost error below any [`Error::Context`].
    pub fn root(&self) -> &Error {
        match self {
            Error::Context { source, .. } => source.root(),
            other => other,
        }
    }
}

/// Says what was being done when an error happened.
pub trait Context<T> {
    /// Wraps the error with `context()`.
    fn context(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for std::result::Result<T, E> {
    fn context(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::Context {
            context: context(),
            source: Box::new(e.into()),
        })
    }
}
