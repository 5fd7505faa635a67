//! Process exit codes (sysexits.h values, so schedulers can tell bad data from a bad config),
//! and the one function that picks them for an error. A command-line usage error exits with
//! clap's code 2.

use ringscope_export::ExportError;
use ringscope_gnn::GnnError;
use ringscope_graph::GraphError;
use ringscope_ingest::IngestError;
use ringscope_pipeline::Error;
use ringscope_serve::ServeError;

/// Success.
pub const OK: u8 = 0;
/// Anything not classified below (a bug, or an unexpected failure).
pub const FAILURE: u8 = 1;
/// The input is outside the checkpoint's training population (`on_out_of_domain = "fail"`).
pub const OUT_OF_DOMAIN: u8 = 3;
/// The input data is malformed: a fatal ingest problem, a corrupt stored graph, run file or
/// checkpoint, or a checkpoint that does not fit the graph.
pub const DATA_ERROR: u8 = 65;
/// An input directory or file does not exist or cannot be read.
pub const NO_INPUT: u8 = 66;
/// A service the command needs is unavailable (`--device wgpu` without a GPU adapter, or in a
/// build without wgpu).
pub const UNAVAILABLE: u8 = 69;
/// An output could not be written (or the service's address could not be bound).
pub const IO_ERROR: u8 = 74;
/// Another run holds the output's lock; retry when it is done.
pub const LOCKED: u8 = 75;
/// The configuration is invalid.
pub const CONFIG_ERROR: u8 = 78;

fn ingest(e: &IngestError) -> u8 {
    match e {
        IngestError::MissingInput { .. } => NO_INPUT,
        IngestError::Write { .. } => IO_ERROR,
        _ => DATA_ERROR,
    }
}

fn graph(e: &GraphError) -> u8 {
    match e {
        GraphError::Read { .. } => NO_INPUT,
        GraphError::Io { .. } => IO_ERROR,
        _ => DATA_ERROR,
    }
}

fn model(e: &GnnError) -> u8 {
    match e {
        GnnError::NoGpu { .. } | GnnError::NoGpuBackend => UNAVAILABLE,
        GnnError::Config { .. } => CONFIG_ERROR,
        GnnError::Io { .. } => IO_ERROR,
        GnnError::Read { .. } => NO_INPUT,
        GnnError::Checkpoint { path, .. } if !path.exists() => NO_INPUT,
        _ => DATA_ERROR,
    }
}

fn export(e: &ExportError) -> u8 {
    match e {
        ExportError::Read { .. } => NO_INPUT,
        ExportError::BadFile { .. } => DATA_ERROR,
        ExportError::Io { .. } | ExportError::Table { .. } | ExportError::Encode { .. } => IO_ERROR,
        ExportError::Locked { .. } => LOCKED,
    }
}

fn pipeline(e: &Error) -> u8 {
    match e.root() {
        Error::Config(_) => CONFIG_ERROR,
        Error::Ingest(e) => ingest(e),
        Error::Graph(e) => graph(e),
        Error::Model(e) => model(e),
        Error::Export(e) => export(e),
        Error::BadFile { .. } | Error::Embedded(_) => DATA_ERROR,
        Error::OutOfDomain(_) => OUT_OF_DOMAIN,
        Error::Read { .. } | Error::ShardMissing { .. } => NO_INPUT,
        Error::Shard(_) => DATA_ERROR,
        // root() looks through contexts, so this arm is never taken.
        Error::Context { .. } => FAILURE,
    }
}

/// The exit code for an error: the first cause in its chain that a library defines decides.
pub fn code_for(err: &anyhow::Error) -> u8 {
    for cause in err.chain() {
        if let Some(e) = cause.downcast_ref::<Error>() {
            return pipeline(e);
        }
        if let Some(e) = cause.downcast_ref::<ServeError>() {
            return match e {
                ServeError::Pipeline(e) => pipeline(e),
                ServeError::Listen { .. } => IO_ERROR,
                ServeError::Runtime(_) => FAILURE,
            };
        }
        if let Some(e) = cause.downcast_ref::<IngestError>() {
            return ingest(e);
        }
        if let Some(e) = cause.downcast_ref::<GraphError>() {
            return graph(e);
        }
        if let Some(e) = cause.downcast_ref::<GnnError>() {
            return model(e);
        }
        if let Some(e) = cause.downcast_ref::<ExportError>() {
            return export(e);
        }
        if cause
            .downcast_ref::<ringscope_synth::SynthError>()
            .is_some()
        {
            return IO_ERROR;
        }
    }
    FAILURE
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn the_innermost_library_error_picks_the_code_through_contexts() {
        let read = Error::Read {
            path: PathBuf::from("feedback.jsonl"),
            source: std::io::Error::from(std::io::ErrorKind::NotFound),
        };
        let wrapped: Result<(), Error> = Err(read);
        let wrapped = ringscope_pipeline::Context::context(wrapped, || "training".into());
        let err = anyhow::Error::from(wrapped.unwrap_err());
        assert_eq!(code_for(&err), NO_INPUT);
        assert!(format!("{err:#}").contains("training: cannot read feedback.jsonl"));

        let bad = ExportError::BadFile {
            file: PathBuf::from("rings.jsonl"),
            line: 3,
            message: "x".into(),
        };
        assert_eq!(code_for(&anyhow::Error::from(Error::from(bad))), DATA_ERROR);
        let write = ExportError::Io {
            path: PathBuf::from("out"),
            source: std::io::Error::from(std::io::ErrorKind::PermissionDenied),
        };
        assert_eq!(code_for(&anyhow::Error::from(write)), IO_ERROR);
        let config = ServeError::Pipeline(Error::Config("x".into()));
        assert_eq!(code_for(&anyhow::Error::from(config)), CONFIG_ERROR);
        let no_backend = Error::Context {
            context: "scoring".into(),
            source: Box::new(Error::Model(GnnError::NoGpuBackend)),
        };
        assert_eq!(code_for(&anyhow::Error::from(no_backend)), UNAVAILABLE);
        assert_eq!(code_for(&anyhow::anyhow!("unclassified")), FAILURE);
        // Reads are inputs (66) whatever the I/O error; writes are outputs (74).
        let denied = || std::io::Error::from(std::io::ErrorKind::PermissionDenied);
        let graph = GraphError::Read {
            path: PathBuf::from("g/meta.json"),
            source: denied(),
        };
        assert_eq!(code_for(&anyhow::Error::from(graph)), NO_INPUT);
        let store = GraphError::Io {
            path: PathBuf::from("g"),
            source: denied(),
        };
        assert_eq!(code_for(&anyhow::Error::from(store)), IO_ERROR);
        let model_file = GnnError::Read {
            path: PathBuf::from("x.toml"),
            source: denied(),
        };
        assert_eq!(code_for(&anyhow::Error::from(model_file)), NO_INPUT);
        let locked = ExportError::Locked {
            path: PathBuf::from("out/dt=1"),
            lock: "held".into(),
        };
        assert_eq!(code_for(&anyhow::Error::from(locked)), LOCKED);
    }
}
