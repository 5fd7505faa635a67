//! Process exit codes (sysexits.h values, so schedulers can tell bad data from a bad config).
//! A command-line usage error exits with clap's code 2.

use ringscope_gnn::GnnError;
use ringscope_graph::GraphError;
use ringscope_ingest::IngestError;

/// Success.
pub const OK: u8 = 0;
/// Anything not classified below (a bug, or an unexpected failure).
pub const FAILURE: u8 = 1;
/// The input data is malformed: a fatal ingest problem, a corrupt stored graph or checkpoint,
/// or a checkpoint that does not fit the graph.
pub const DATA_ERROR: u8 = 65;
/// The input directory or file does not exist.
pub const NO_INPUT: u8 = 66;
/// A service the command needs is unavailable (`--device wgpu` without a GPU adapter).
pub const UNAVAILABLE: u8 = 69;
/// An output could not be written.
pub const IO_ERROR: u8 = 74;
/// The configuration is invalid.
pub const CONFIG_ERROR: u8 = 78;

/// A configuration problem, raised before any work starts.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub String);

/// Picks the exit code for an error by looking through its chain for a known cause.
pub fn code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<IngestError>() {
            return match e {
                IngestError::MissingInput { .. } => NO_INPUT,
                IngestError::Write { .. } => IO_ERROR,
                _ => DATA_ERROR,
            };
        }
        if let Some(e) = cause.downcast_ref::<GraphError>() {
            return match e {
                GraphError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                    NO_INPUT
                }
                GraphError::Io { .. } => IO_ERROR,
                _ => DATA_ERROR,
            };
        }
        if let Some(e) = cause.downcast_ref::<GnnError>() {
            return match e {
                GnnError::NoGpu { .. } => UNAVAILABLE,
                GnnError::Config { .. } => CONFIG_ERROR,
                GnnError::Io { .. } => IO_ERROR,
                GnnError::Checkpoint { path, .. } if !path.exists() => NO_INPUT,
                _ => DATA_ERROR,
            };
        }
        if cause.downcast_ref::<ConfigError>().is_some() {
            return CONFIG_ERROR;
        }
        if cause
            .downcast_ref::<ringscope_synth::SynthError>()
            .is_some()
            || cause
                .downcast_ref::<ringscope_export::ExportError>()
                .is_some()
        {
            return IO_ERROR;
        }
    }
    FAILURE
}
