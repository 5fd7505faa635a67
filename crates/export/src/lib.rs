//! Writes scored rings for investigators: ring and member tables (Parquet, CSV), one GraphML
//! and one GEXF file per ring, and the self-contained offline HTML report.
#![warn(missing_docs)]

pub mod graphml;
pub mod report;
pub mod tables;

pub use graphml::{to_gexf, to_graphml};
pub use report::{Histogram, ReportData, ReportRing, TrainingCurve, write_report};
pub use tables::{member_table, ring_table, write_tables};

use ringscope_rings::RingRecord;
use std::path::{Path, PathBuf};

/// A failure to write an output.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A file could not be written.
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
