//! Reads marketplace event tables (CSV, Parquet or Hive-partitioned Parquet) against the input
//! contract, rejects bad rows with a reason, and interns every ID to a dense `u32`.
//!
//! ```no_run
//! let ingested = ringscope_ingest::ingest_dir("graphs/sample".as_ref())?;
//! for (table, t) in &ingested.report.tables {
//!     assert_eq!(t.rows_read, t.rows_used + t.rows_rejected, "{table}");
//! }
//! ingested.report.write_rejects_csv("rejects.csv".as_ref())?;
//! # Ok::<(), ringscope_ingest::IngestError>(())
//! ```
#![warn(missing_docs)]

pub mod atomic;
mod batch;
mod contract;
mod error;
pub mod guard;
mod intern;
pub mod parquet_check;
pub mod parse;
mod report;
pub mod select;
mod source;
mod tables;

pub use batch::{
    AccountRows, EventBatch, IdSpaces, LabelRows, OrderRows, ProductRows, ReviewRows, SessionRows,
};
pub use contract::{ColumnType, TableKind};
pub use error::{IngestError, Result};
pub use intern::{Interner, NO_ID};
pub use parse::{AccountKind, NO_TIME};
pub use report::{FileSummary, IngestReport, Reject, RejectKind, TableSummary, csv_field};
pub use source::{Format, TableSource, locate};
pub use tables::{Ingested, ingest_dir};
