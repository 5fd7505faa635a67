//! Errors of the gnn crate.

use std::path::PathBuf;

/// What can go wrong opening a device, reading a config or using a checkpoint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GnnError {
    /// `--device wgpu` on a machine without a usable adapter.
    #[error(
        "no GPU adapter found for --device wgpu ({reason}); use --device cpu, or install a Vulkan driver (mesa-vulkan-drivers provides a software one)"
    )]
    NoGpu {
        /// What wgpu reported.
        reason: String,
    },
    /// `--device wgpu` in a build without the `wgpu` feature.
    #[error(
        "--device wgpu: this ringscope was built without the wgpu backend (--no-default-features); use --device cpu, or a default build"
    )]
    NoGpuBackend,
    /// A model or training configuration that cannot be used.
    #[error("{file}: {message}", file = file.as_ref().map_or("config".into(), |f| f.display().to_string()))]
    Config {
        /// The file it came from, if any.
        file: Option<PathBuf>,
        /// What is wrong.
        message: String,
    },
    /// A checkpoint that is missing, corrupt, truncated or of another version.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A checkpoint that does not fit the graph it is applied to.
    #[error("checkpoint {} does not match this graph: {message}", path.display())]
    Mismatch {
        /// The checkpoint's manifest.
        path: PathBuf,
        /// What differs.
        message: String,
    },
    /// A dataset file with a bad row or column (a split file, for example).
    #[error("{}: {message}", path.display())]
    Data {
        /// The file at fault.
        path: PathBuf,
        /// What is wrong, naming the column and row.
        message: String,
    },
    /// Writing a file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Reading a file that is missing or unreadable.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Result of the gnn crate.
pub type Result<T, E = GnnError> = std::result::Result<T, E>;
