//! Every file a run writes, in one place: typed writers and readers for `scores.csv`,
//! `rings.jsonl`, `drift_profile.json` and `run_manifest.json`, the staged output directory,
//! ring and member tables (Parquet, CSV), one GraphML and one GEXF file per ring, and the
//! self-contained offline HTML report.
#![warn(missing_docs)]

pub mod drift;
pub mod graphml;
pub mod manifest;
pub mod report;
pub mod rings_file;
pub mod scores;
pub mod staged;
pub mod tables;

pub use drift::{Binned, DRIFT_SCHEMA_VERSION, Drift, DriftProfile, read_drift_profile};
pub use graphml::{to_gexf, to_graphml};
pub use manifest::{
    CheckpointEntry, Counts, FileEntry, FitRecord, RunManifest, ScoringRecord, digest_files,
    read_run_manifest, sha256_hex,
};
pub use report::{Histogram, ReportData, ReportRing, TrainingCurve, write_report};
pub use rings_file::{
    RINGS_SCHEMA_VERSION, RingLine, parse_rings, read_previous_rings, read_rings, rings_jsonl,
};
pub use scores::{SCORES_HEADER, ScoreRow, as_written, read_scores, scores_csv};
pub use staged::{Committed, SUCCESS, StagedOutput, mark_success, write_file, write_json};
pub use tables::{member_table, ring_table, write_tables};

use ringscope_rings::RingRecord;
use std::path::{Path, PathBuf};

/// A failure to write or read an output.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A file or directory could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A table could not be built or encoded.
    #[error("cannot write {path}: {source}")]
    Table {
        /// The file.
        path: PathBuf,
        /// Why.
        source: polars::error::PolarsError,
    },
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file does not hold what its format says.
    #[error("{file}: line {line}: {message}")]
    BadFile {
        /// The file.
        file: PathBuf,
        /// The line (1-based; the header is line 1 of a CSV file).
        line: usize,
        /// What is wrong, naming the field or column.
        message: String,
    },
    /// A value could not be encoded.
    #[error("cannot encode {what}: {message}")]
    Encode {
        /// What was being encoded.
        what: String,
        /// Why.
        message: String,
    },
    /// Another process holds the output's lock: it is writing the same partition now.
    #[error("{path} is locked: {lock}")]
    Locked {
        /// The output directory.
        path: PathBuf,
        /// Who holds it, as the lock says.
        lock: String,
    },
}

impl ExportError {
    /// Whether this is a missing input file.
    pub fn is_not_found(&self) -> bool {
        matches!(self, ExportError::Read { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

/// A whole text file.
pub(crate) fn read_text(path: &Path) -> Result<String, ExportError> {
    std::fs::read_to_string(path).map_err(|source| ExportError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// `YYYY-MM-DDTHH:MM:SS` (UTC) of unix seconds.
pub(crate) fn iso_time(secs: i64) -> String {
    chrono::DateTime::from_timestamp(secs, 0).map_or_else(
        || secs.to_string(),
        |t| t.format("%Y-%m-%dT%H:%M:%S").to_string(),
    )
}

pub(crate) fn write(path: PathBuf, bytes: &[u8]) -> Result<(), ExportError> {
    std::fs::write(&path, bytes).map_err(|source| ExportError::Io { path, source })
}

/// Writes `<id>.graphml` and `<id>.gexf` into `dir` for the first `limit` of `records`.
/// Characters of an ID outside `[A-Za-z0-9_-]` become `_` in its file names.
pub fn write_ring_graphs(
    dir: &Path,
    records: &[RingRecord],
    limit: usize,
) -> Result<(), ExportError> {
    std::fs::create_dir_all(dir).map_err(|source| ExportError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    for r in records.iter().take(limit) {
        let stem = file_stem(&r.id);
        write(
            dir.join(format!("{stem}.graphml")),
            to_graphml(&r.id, &r.graph).as_bytes(),
        )?;
        write(
            dir.join(format!("{stem}.gexf")),
            to_gexf(&r.id, &r.graph).as_bytes(),
        )?;
    }
    Ok(())
}

/// A ring ID as a file name.
pub fn file_stem(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
