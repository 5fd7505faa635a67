//! Finding each table's files in an input directory and reading one file into a [`Frame`].

use crate::contract::{ColumnType, TableKind};
use crate::error::{IngestError, Result};
use polars::prelude::*;
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Where one table's rows live.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableSource {
    /// `<table>.csv`.
    Csv(PathBuf),
    /// `<table>.parquet`.
    Parquet(PathBuf),
    /// `<table>/` with Parquet files below it, Hive-style (`dt=2026-11-01/part-0.parquet`).
    ParquetDir {
        /// The table directory.
        dir: PathBuf,
        /// Its Parquet files, sorted by path so reading order is deterministic.
        files: Vec<PathBuf>,
    },
}

impl TableSource {
    /// The files to read, in order.
    pub fn files(&self) -> Vec<(PathBuf, Format)> {
        match self {
            TableSource::Csv(p) => vec![(p.clone(), Format::Csv)],
            TableSource::Parquet(p) => vec![(p.clone(), Format::Parquet)],
            TableSource::ParquetDir { files, .. } => {
                files.iter().map(|p| (p.clone(), Format::Parquet)).collect()
            }
        }
    }

    fn path(&self) -> &Path {
        match self {
            TableSource::Csv(p) | TableSource::Parquet(p) => p,
            TableSource::ParquetDir { dir, .. } => dir,
        }
    }
}

/// A physical file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated text with a header row.
    Csv,
    /// Apache Parquet.
    Parquet,
}

/// The tables found in `dir`, and the entries that matched no table (reported, never silently skipped).
pub fn locate(dir: &Path) -> Result<(BTreeMap<TableKind, TableSource>, Vec<PathBuf>)> {
    if !dir.is_dir() {
        return Err(IngestError::MissingInput {
            dir: dir.to_path_buf(),
        });
    }
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| IngestError::Unreadable {
            table: TableKind::Reviews,
            file: dir.to_path_buf(),
            message: e.to_string(),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    let mut found: BTreeMap<TableKind, TableSource> = BTreeMap::new();
    let mut ignored = Vec::new();
    for path in entries {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            ignored.push(path);
            continue;
        };
        if name.starts_with('.') || name.starts_with('_') {
            continue; // hidden files and markers such as _SUCCESS
        }
        let (stem, ext) = match name.rsplit_once('.') {
            Some((s, e)) if !path.is_dir() => (s, Some(e.to_ascii_lowercase())),
            _ => (name, None),
        };
        let Some(table) = TableKind::ALL.into_iter().find(|t| t.name() == stem) else {
            ignored.push(path);
            continue;
        };
        let source = match ext.as_deref() {
            Some("csv") => TableSource::Csv(path),
            Some("parquet") | Some("pq") => TableSource::Parquet(path),
            None if path.is_dir() => {
                let mut files = Vec::new();
                collect_parquet_files(table, &path, &mut files, &mut ignored)?;
                files.sort();
                if files.is_empty() {
                    return Err(IngestError::EmptyFile { table, file: path });
                }
                TableSource::ParquetDir { dir: path, files }
            }
            _ => {
                ignored.push(path);
                continue;
            }
        };
        if let Some(previous) = found.get(&table) {
            return Err(IngestError::AmbiguousTable {
                table,
                first: previous.path().to_path_buf(),
                second: source.path().to_path_buf(),
            });
        }
        found.insert(table, source);
    }
    Ok((found, ignored))
}

fn collect_parquet_files(
    table: TableKind,
    dir: &Path,
    files: &mut Vec<PathBuf>,
    ignored: &mut Vec<PathBuf>,
) -> Result<()> {
    let read = fs::read_dir(dir).map_err(|e| IngestError::Unreadable {
        table,
        file: dir.to_path_buf(),
        message: e.to_string(),
    })?;
    for entry in read {
        let path = entry
            .map_err(|e| IngestError::Unreadable {
                table,
                file: dir.to_path_buf(),
                message: e.to_string(),
            })?
            .path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        if path.is_dir() {
            collect_parquet_files(table, &path, files, ignored)?;
        } else if name.ends_with(".parquet") || name.ends_with(".pq") {
            files.push(path);
        } else {
            ignored.push(path);
        }
    }
    Ok(())
}

/// One file's rows, with every contract column it has converted to a cell form we can parse.
pub(crate) struct Frame {
    pub height: usize,
    columns: Vec<(&'static str, Cells)>,
    /// Columns in the file that the contract does not know.
    pub extra_columns: Vec<String>,
}

/// A column's cells: text to parse, or timestamps a Parquet file already stored as numbers.
pub(crate) enum Cells {
    Text(StringChunked),
    Seconds(Int64Chunked),
}

impl Frame {
    pub fn column(&self, name: &str) -> Option<&Cells> {
        self.columns
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| c)
    }
}

impl Cells {
    /// The cell as text; `None` for null, empty or all-whitespace cells.
    pub fn text(&self, row: usize) -> Option<&str> {
        match self {
            Cells::Text(ca) => ca.get(row).filter(|s| !s.trim().is_empty()),
            Cells::Seconds(_) => None,
        }
    }
}

/// Reads `path` (a file of `table`) into a [`Frame`], failing on anything that makes the whole
/// file unusable.
pub(crate) fn read_frame(table: TableKind, path: &Path, format: Format) -> Result<Frame> {
    let unreadable = |message: String| IngestError::Unreadable {
        table,
        file: path.to_path_buf(),
        message,
    };
    let not_a_table = |reason: &str| IngestError::NotATable {
        table,
        file: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let meta = fs::metadata(path).map_err(|e| unreadable(e.to_string()))?;
    if meta.len() == 0 {
        return Err(IngestError::EmptyFile {
            table,
            file: path.to_path_buf(),
        });
    }
    let mut file = fs::File::open(path).map_err(|e| unreadable(e.to_string()))?;
    let mut head = vec![0u8; 4096.min(meta.len() as usize)];
    file.read_exact(&mut head)
        .map_err(|e| unreadable(e.to_string()))?;
    let pl_path = PlRefPath::new(path.to_string_lossy().as_ref());
    let df = match format {
        Format::Csv => {
            if head.starts_with(b"PAR1") {
                return Err(not_a_table("Parquet data in a .csv file"));
            }
            match std::str::from_utf8(&head) {
                Err(e) if e.error_len().is_some() => {
                    return Err(not_a_table("binary data, not UTF-8 text"));
                }
                _ if head.contains(&0) => return Err(not_a_table("binary data, not UTF-8 text")),
                _ => {}
            }
            let first = head.iter().copied().find(|b| !b.is_ascii_whitespace());
            if matches!(first, Some(b'{') | Some(b'[')) {
                return Err(not_a_table(
                    "looks like JSON, expected CSV with a header row",
                ));
            }
            LazyCsvReader::new(pl_path)
                .with_has_header(true)
                .with_infer_schema_length(Some(0)) // every column as text: we parse cells ourselves
                .with_missing_is_null(true)
                .finish()
                .and_then(|lf| lf.collect())
                .map_err(|e| not_a_table(&format!("malformed CSV: {}", diagnose_csv(path, &e))))?
        }
        Format::Parquet => {
            let mut tail = [0u8; 4];
            let tail_ok = meta.len() >= 12
                && file.seek(SeekFrom::End(-4)).is_ok()
                && file.read_exact(&mut tail).is_ok()
                && &tail == b"PAR1";
            if !head.starts_with(b"PAR1") {
                return Err(not_a_table("no Parquet magic bytes at the start"));
            }
            if !tail_ok {
                return Err(not_a_table("no Parquet footer (truncated file?)"));
            }
            // polars' Parquet code panics on some corrupt files (found by fuzzing: a footer
            // field of the wrong thrift type, a bitmap shorter than its column); that panic is
            // this file's error, not the end of the process. What it cannot survive, an
            // out-of-bounds range or an absurd count, `parquet_check` refuses first.
            crate::guard::catch_panic(|| {
                crate::parquet_check::check(&mut file)?;
                LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default())
                    .and_then(|lf| lf.collect())
                    .map_err(|e| format!("corrupt Parquet: {e}"))
            })
            .unwrap_or_else(|why| Err(format!("corrupt Parquet: the reader failed ({why})")))
            .map_err(unreadable)?
        }
    };
    let mut df = df;
    df.rechunk_mut();
    frame_from(table, path, df)
}

/// Says where a CSV that polars refused goes wrong, by re-reading it with a strict record
/// reader: polars' own message names no line and suggests options of its Python API.
fn diagnose_csv(path: &Path, polars_error: &PolarsError) -> String {
    let first_line = || {
        polars_error
            .to_string()
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    };
    let Ok(mut reader) = csv::ReaderBuilder::new().has_headers(true).from_path(path) else {
        return first_line();
    };
    for record in reader.records() {
        let Err(e) = record else { continue };
        let line = e.position().map_or(0, |p| p.line());
        return match e.kind() {
            csv::ErrorKind::UnequalLengths {
                expected_len, len, ..
            } => {
                format!("line {line} has {len} fields, the header has {expected_len}")
            }
            csv::ErrorKind::Utf8 { .. } => format!("line {line} is not valid UTF-8"),
            _ => format!("line {line}: {e}"),
        };
    }
    first_line()
}

fn frame_from(table: TableKind, path: &Path, df: DataFrame) -> Result<Frame> {
    let found: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    for &column in table.required_columns() {
        if !found.iter().any(|f| f == column) {
            return Err(IngestError::MissingColumn {
                table,
                file: path.to_path_buf(),
                column,
                found,
            });
        }
    }
    let known: Vec<&'static str> = table
        .required_columns()
        .iter()
        .chain(table.optional_columns())
        .copied()
        .collect();
    let extra_columns = found
        .iter()
        .filter(|f| !known.contains(&f.as_str()))
        .cloned()
        .collect();
    let mut columns = Vec::new();
    for name in known {
        let Ok(col) = df.column(name) else { continue };
        columns.push((name, cells(table, path, name, col)?));
    }
    Ok(Frame {
        height: df.height(),
        columns,
        extra_columns,
    })
}

/// Converts a column to [`Cells`], or fails if its physical type cannot hold the contract type.
fn cells(table: TableKind, path: &Path, name: &'static str, col: &Column) -> Result<Cells> {
    let ctype = table.column_type(name);
    let dtype = col.dtype().clone();
    let wrong = |expected: &'static str| IngestError::WrongColumnType {
        table,
        file: path.to_path_buf(),
        column: name,
        dtype: dtype.to_string(),
        expected,
    };
    let polars_err = |e: PolarsError| IngestError::Unreadable {
        table,
        file: path.to_path_buf(),
        message: format!("column '{name}': {e}"),
    };
    let as_text = |col: &Column| -> Result<Cells> {
        let s = col.cast(&DataType::String).map_err(polars_err)?;
        Ok(Cells::Text(s.str().map_err(polars_err)?.clone()))
    };
    match (&dtype, ctype) {
        (DataType::String | DataType::Null, _) => as_text(col),
        (d, ColumnType::Timestamp) if d.is_integer() => {
            let s = col.cast(&DataType::Int64).map_err(polars_err)?;
            Ok(Cells::Seconds(s.i64().map_err(polars_err)?.clone()))
        }
        (DataType::Datetime(unit, _), ColumnType::Timestamp) => {
            let per_second = match unit {
                TimeUnit::Nanoseconds => 1_000_000_000,
                TimeUnit::Microseconds => 1_000_000,
                TimeUnit::Milliseconds => 1_000,
            };
            let raw = col.cast(&DataType::Int64).map_err(polars_err)?;
            let secs: Int64Chunked = raw
                .i64()
                .map_err(polars_err)?
                .apply_values(|v| v.div_euclid(per_second));
            Ok(Cells::Seconds(secs))
        }
        (DataType::Date, ColumnType::Timestamp) => {
            let days = col.cast(&DataType::Int64).map_err(polars_err)?;
            let secs: Int64Chunked = days.i64().map_err(polars_err)?.apply_values(|d| d * 86_400);
            Ok(Cells::Seconds(secs))
        }
        (_, ColumnType::Timestamp) if dtype.is_float() => as_text(col),
        (_, ColumnType::Timestamp) => Err(wrong("text, integer seconds, Date or Datetime")),
        (d, ColumnType::Id) if d.is_integer() => as_text(col),
        (_, ColumnType::Id) => Err(wrong("text or integer IDs")),
        (d, ColumnType::Rating | ColumnType::NonNegativeNumber) if d.is_primitive_numeric() => {
            as_text(col)
        }
        (_, ColumnType::Rating | ColumnType::NonNegativeNumber) => Err(wrong("a number")),
        (d, ColumnType::Bool | ColumnType::Label)
            if d.is_primitive_numeric() || *d == DataType::Boolean =>
        {
            as_text(col)
        }
        (_, ColumnType::Bool | ColumnType::Label) => Err(wrong("a boolean or 0/1")),
        (d, ColumnType::Text | ColumnType::AccountKind) if d.is_primitive_numeric() => as_text(col),
        (_, ColumnType::Text | ColumnType::AccountKind) => Err(wrong("text")),
    }
}
