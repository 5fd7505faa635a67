//! Fatal ingest errors: problems that make a whole table unusable. Row-level problems are
//! [`crate::Reject`]s instead.

use crate::TableKind;
use std::path::PathBuf;

/// A problem that stops ingest. Every variant names the file (and column where there is one).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// The input directory does not exist or is not a directory.
    #[error("input directory {} not found", dir.display())]
    MissingInput {
        /// The directory asked for.
        dir: PathBuf,
    },
    /// Neither `reviews` nor `orders` is present.
    #[error(
        "{}: no reviews or orders table (expected reviews.csv, reviews.parquet, reviews/, or the same for orders)",
        dir.display()
    )]
    NoEventTable {
        /// The input directory.
        dir: PathBuf,
    },
    /// Two sources claim the same table (`reviews.csv` and `reviews.parquet`).
    #[error("table {table} is given twice: {} and {}", first.display(), second.display())]
    AmbiguousTable {
        /// The table.
        table: TableKind,
        /// One source.
        first: PathBuf,
        /// The other source.
        second: PathBuf,
    },
    /// The file has zero bytes, or a partition directory holds no Parquet file.
    #[error("table {table}: {} is empty", file.display())]
    EmptyFile {
        /// The table.
        table: TableKind,
        /// The file or directory.
        file: PathBuf,
    },
    /// The file could not be opened or read.
    #[error("table {table}: cannot read {}: {message}", file.display())]
    Unreadable {
        /// The table.
        table: TableKind,
        /// The file.
        file: PathBuf,
        /// The underlying error.
        message: String,
    },
    /// The file exists but is not a CSV or Parquet table.
    #[error("table {table}: {} is not a table: {reason}", file.display())]
    NotATable {
        /// The table.
        table: TableKind,
        /// The file.
        file: PathBuf,
        /// What it looks like instead.
        reason: String,
    },
    /// A required column is absent.
    #[error("table {table}: {} has no required column '{column}' (found: {})", file.display(), found.join(", "))]
    MissingColumn {
        /// The table.
        table: TableKind,
        /// The file.
        file: PathBuf,
        /// The missing column.
        column: &'static str,
        /// The columns the file has.
        found: Vec<String>,
    },
    /// A Parquet column's type cannot hold what the contract says (a list of IDs, a float ID).
    #[error("table {table}: {} column '{column}' has type {dtype}, expected {expected}", file.display())]
    WrongColumnType {
        /// The table.
        table: TableKind,
        /// The file.
        file: PathBuf,
        /// The column.
        column: &'static str,
        /// Its type in the file.
        dtype: String,
        /// What the contract accepts.
        expected: &'static str,
    },
    /// More distinct IDs than fit in a `u32`.
    #[error("table {table}: {} row {row}: more than 4,294,967,294 distinct {column} values", file.display())]
    TooManyIds {
        /// The table.
        table: TableKind,
        /// The file.
        file: PathBuf,
        /// The column.
        column: &'static str,
        /// The 1-based row.
        row: u64,
    },
    /// Writing the rejects report failed.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// Where.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// Result with [`IngestError`].
pub type Result<T, E = IngestError> = std::result::Result<T, E>;
