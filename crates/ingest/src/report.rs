//! What ingest did with every row: per-table reconciliation and the rejects report.

use crate::contract::TableKind;
use crate::error::{IngestError, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Why a row was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectKind {
    /// A required ID is null or empty.
    NullId,
    /// A cell cannot be read as its column's type (a rating of `five`, an amount of `-3`).
    WrongType,
    /// A timestamp that is neither ISO-8601 nor unix seconds in 1970..2100.
    BadTimestamp,
    /// A rating outside 1..=5.
    RatingOutOfRange,
    /// A primary key seen earlier in the table; the first occurrence is kept.
    DuplicateKey,
    /// An account, seller or product not present in its master table.
    UnknownReference,
}

impl RejectKind {
    /// The snake-case name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            RejectKind::NullId => "null_id",
            RejectKind::WrongType => "wrong_type",
            RejectKind::BadTimestamp => "bad_timestamp",
            RejectKind::RatingOutOfRange => "rating_out_of_range",
            RejectKind::DuplicateKey => "duplicate_key",
            RejectKind::UnknownReference => "unknown_reference",
        }
    }
}

/// One rejected row: a line of `rejects.csv`.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Reject {
    /// The table.
    pub table: TableKind,
    /// The file the row came from.
    pub file: PathBuf,
    /// 1-based data row within the file (the header is not counted; in a CSV this is line `row + 1`).
    pub row: u64,
    /// The offending column.
    pub column: &'static str,
    /// The offending value as read (truncated to 120 characters).
    pub value: String,
    /// The category.
    pub kind: RejectKind,
    /// A sentence saying what is wrong.
    pub reason: String,
}

/// One file read for a table.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct FileSummary {
    /// The file.
    pub path: PathBuf,
    /// Data rows in it.
    pub rows: u64,
    /// Columns it has that the contract does not use.
    pub ignored_columns: Vec<String>,
}

/// Row accounting for one table. `rows_read == rows_used + rows_rejected` always holds.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct TableSummary {
    /// The files read, in order.
    pub files: Vec<FileSummary>,
    /// Data rows read.
    pub rows_read: u64,
    /// Rows that made it into the batch.
    pub rows_used: u64,
    /// Rows listed in the rejects report.
    pub rows_rejected: u64,
    /// Rejected rows by reason.
    pub rejected_by_kind: BTreeMap<RejectKind, u64>,
}

impl TableSummary {
    /// Whether every row read is accounted for.
    pub fn reconciles(&self) -> bool {
        self.rows_read == self.rows_used + self.rows_rejected
            && self.rejected_by_kind.values().sum::<u64>() == self.rows_rejected
    }
}

/// Everything ingest has to say about an input directory.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct IngestReport {
    /// The input directory.
    pub input: PathBuf,
    /// Per present table.
    pub tables: BTreeMap<TableKind, TableSummary>,
    /// Every rejected row, in table then file then row order.
    pub rejects: Vec<Reject>,
    /// Entries in the input directory that match no table; listed so a misspelt
    /// `review.csv` is noticed instead of silently skipped.
    pub ignored_files: Vec<PathBuf>,
}

impl IngestReport {
    /// Total rows rejected across tables.
    pub fn total_rejected(&self) -> u64 {
        self.tables.values().map(|t| t.rows_rejected).sum()
    }

    /// Writes `rejects.csv` (header only when nothing was rejected) atomically: a temporary file
    /// in the same directory is renamed into place, so readers never see half a report.
    pub fn write_rejects_csv(&self, path: &Path) -> Result<()> {
        let mut out = String::from("table,file,row,column,value,kind,reason\n");
        for r in &self.rejects {
            out.push_str(&format!(
                "{},{},{},{},{},{},{}\n",
                r.table,
                csv_field(&r.file.to_string_lossy()),
                r.row,
                r.column,
                csv_field(&r.value),
                r.kind.name(),
                csv_field(&r.reason)
            ));
        }
        crate::atomic::write_file(path, out.as_bytes()).map_err(|source| IngestError::Write {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Quotes a CSV field when it needs it (RFC 4180).
pub fn csv_field(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\"")).into()
    } else {
        s.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
    }
}
