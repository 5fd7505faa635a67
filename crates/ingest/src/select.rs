//! The rows of an input that touch chosen nodes, written as an input of their own: a shard of a
//! sharded run (docs/scale.md) reads every row naming one of its nodes, and nothing else.
//!
//! A row is kept when one of its ID columns names a chosen node, when it shares a primary key
//! with such a row (so duplicates are rejected in the shard as in the whole input), or, for the
//! master tables, when a kept row refers to it (so rows are checked against the same masters:
//! products by `product_id`, accounts by account, buyer and seller IDs). Cells are copied as they are, rows stay in input order, and Hive partition folders
//! keep their paths, so ingest reads the selection as it reads the whole input.

use crate::contract::TableKind;
use crate::error::{IngestError, Result};
use crate::source::{Format, TableSource, locate};
use polars::prelude::*;
use std::collections::{BTreeMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The node kind (as the graph names it) each ID column of `table` refers to.
pub fn id_columns(table: TableKind) -> &'static [(&'static str, &'static str)] {
    match table {
        TableKind::Accounts => &[("account_id", "account")],
        TableKind::Products => &[("product_id", "product"), ("seller_id", "seller")],
        TableKind::Reviews => &[
            ("account_id", "account"),
            ("product_id", "product"),
            ("seller_id", "seller"),
        ],
        TableKind::Orders => &[
            ("buyer_id", "account"),
            ("seller_id", "seller"),
            ("product_id", "product"),
            ("device_id", "device"),
            ("ip", "ip"),
            ("payment_id", "payment"),
            ("address_id", "address"),
        ],
        TableKind::Sessions => &[
            ("account_id", "account"),
            ("device_id", "device"),
            ("ip", "ip"),
        ],
        TableKind::Labels => &[("account_id", "account")],
    }
}

/// Chosen node IDs per node kind.
pub type Keys = BTreeMap<String, HashSet<String>>;

/// Writes the rows of the input in `dir` that touch `keys` to `out` (created), one file per
/// file read; returns the rows written per table.
pub fn select_rows(dir: &Path, keys: &Keys, out: &Path) -> Result<BTreeMap<TableKind, usize>> {
    let (tables, _) = locate(dir)?;
    let write = |path: &Path, source: std::io::Error| IngestError::Write {
        path: path.to_path_buf(),
        source,
    };
    fs::create_dir_all(out).map_err(|e| write(out, e))?;
    // Events first, then products, then accounts: the master rows a kept row refers to are
    // kept with it.
    let mut referenced = Keys::new();
    let mut written = BTreeMap::new();
    let order = [
        TableKind::Reviews,
        TableKind::Orders,
        TableKind::Sessions,
        TableKind::Labels,
        TableKind::Products,
        TableKind::Accounts,
    ];
    for table in order {
        let Some(source) = tables.get(&table) else {
            continue;
        };
        let frames: Vec<(PathBuf, Format, DataFrame)> = source
            .files()
            .into_iter()
            .map(|(path, format)| read(table, &path, format).map(|df| (path, format, df)))
            .collect::<Result<_>>()?;
        let is_master = matches!(table, TableKind::Accounts | TableKind::Products);
        let touches = |df: &DataFrame| -> Vec<bool> {
            let mut keep = vec![false; df.height()];
            for &(column, kind) in id_columns(table) {
                let own = keys.get(kind);
                // A master row is also kept for the events that refer to it, by its own key.
                let refs = (is_master && Some(column) == table.primary_key())
                    .then(|| referenced.get(kind))
                    .flatten();
                for_each_id(df, column, |row, id| {
                    keep[row] |=
                        own.is_some_and(|s| s.contains(id)) || refs.is_some_and(|s| s.contains(id));
                });
            }
            keep
        };
        let masks: Vec<Vec<bool>> = frames.iter().map(|(_, _, df)| touches(df)).collect();
        // Rows sharing a primary key with a kept row come along.
        let keys_kept: HashSet<String> = match table.primary_key() {
            Some(pk) => frames
                .iter()
                .zip(&masks)
                .flat_map(|((_, _, df), mask)| {
                    let mut ids = Vec::new();
                    for_each_id(df, pk, |row, id| {
                        if mask[row] {
                            ids.push(id.to_string());
                        }
                    });
                    ids
                })
                .collect(),
            None => HashSet::new(),
        };
        let mut rows = 0;
        for ((path, format, df), mut mask) in frames.into_iter().zip(masks) {
            if let Some(pk) = table.primary_key() {
                for_each_id(&df, pk, |row, id| mask[row] |= keys_kept.contains(id));
            }
            let mut kept = df
                .filter(&BooleanChunked::from_slice("keep".into(), &mask))
                .map_err(|e| unreadable(table, &path, e))?;
            if table != TableKind::Accounts {
                for &(column, kind) in id_columns(table) {
                    // A seller is an account: ingest checks seller IDs against `accounts`.
                    let master = if kind == "seller" { "account" } else { kind };
                    let set = referenced.entry(master.to_string()).or_default();
                    for_each_id(&kept, column, |_, id| {
                        set.insert(id.to_string());
                    });
                }
            }
            rows += kept.height();
            let target = out.join(relative(dir, source, &path));
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(|e| write(parent, e))?;
            }
            let file = fs::File::create(&target).map_err(|e| write(&target, e))?;
            let written_ok = match format {
                Format::Csv => CsvWriter::new(file).include_header(true).finish(&mut kept),
                Format::Parquet => ParquetWriter::new(file).finish(&mut kept).map(|_| ()),
            };
            written_ok.map_err(|e| write(&target, std::io::Error::other(e.to_string())))?;
        }
        written.insert(table, rows);
    }
    Ok(written)
}

fn unreadable(table: TableKind, path: &Path, e: PolarsError) -> IngestError {
    IngestError::Unreadable {
        table,
        file: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// A file's rows as stored: CSV cells as text (as ingest reads them), Parquet with its types.
fn read(table: TableKind, path: &Path, format: Format) -> Result<DataFrame> {
    let pl_path = PlRefPath::new(path.to_string_lossy().as_ref());
    let df = match format {
        Format::Csv => LazyCsvReader::new(pl_path)
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_missing_is_null(true)
            .finish()
            .and_then(|lf| lf.collect()),
        Format::Parquet => {
            LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default()).and_then(|lf| lf.collect())
        }
    };
    df.map_err(|e| unreadable(table, path, e))
}

/// Calls `f(row, id)` for each non-empty cell of `column` (absent columns have none), with the
/// ID as ingest interns it: trimmed text, integers in decimal.
fn for_each_id(df: &DataFrame, column: &str, mut f: impl FnMut(usize, &str)) {
    let Ok(col) = df.column(column) else { return };
    let Ok(text) = col.cast(&DataType::String) else {
        return;
    };
    let Ok(text) = text.str() else { return };
    for (row, cell) in text.iter().enumerate() {
        if let Some(id) = cell.map(str::trim).filter(|s| !s.is_empty()) {
            f(row, id);
        }
    }
}

/// Where a file of `source` goes under the selection's directory: its path below the input.
fn relative(dir: &Path, source: &TableSource, path: &Path) -> PathBuf {
    match source {
        TableSource::ParquetDir { .. } => path.strip_prefix(dir).unwrap_or(path).to_path_buf(),
        _ => PathBuf::from(path.file_name().unwrap_or_default()),
    }
}
