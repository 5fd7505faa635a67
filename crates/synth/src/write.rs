//! Rendering a [`Marketplace`] as contract tables (CSV with ISO-8601 times, or Parquet with
//! unix-second times, so both accepted time forms are exercised).

use crate::SynthError;
use crate::background::Marketplace;
use chrono::DateTime;
use polars::prelude::*;
use ringscope_ingest::atomic;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

/// File format of generated tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// One `<table>.csv` per table.
    #[default]
    Csv,
    /// One `<table>.parquet` per table.
    Parquet,
}

/// A cell value of a generated row.
enum Cell {
    Text(String),
    Int(i64),
    Real(f32),
    Time(i64),
}

/// A table whose rows are rendered on demand, so even 10M-row tables stream to disk.
struct Table<'a> {
    name: &'static str,
    columns: &'static [&'static str],
    len: usize,
    row: Box<dyn Fn(usize) -> Vec<Cell> + 'a>,
}

fn buyer_id(i: u32) -> String {
    format!("u{i:07}")
}

fn seller_id(i: u32) -> String {
    format!("s{i:05}")
}

fn product_id(i: u32) -> String {
    format!("p{i:06}")
}

fn ip(m: &Marketplace, i: u32) -> String {
    if i < m.home_ips {
        format!("81.{}.{}.{}", (i >> 16) & 255, (i >> 8) & 255, i & 255)
    } else {
        let h = i - m.home_ips; // carrier-grade NAT range
        format!("100.64.{}.{}", (h >> 8) & 255, h & 255)
    }
}

fn tables(m: &Marketplace) -> Vec<Table<'_>> {
    use Cell::*;
    let buyers = m.buyer_created.len();
    vec![
        Table {
            name: "accounts",
            columns: &["account_id", "created_at", "kind", "country"],
            len: buyers + m.seller_created.len(),
            row: Box::new(move |i| match i.checked_sub(buyers) {
                None => vec![
                    Text(buyer_id(i as u32)),
                    Time(m.buyer_created[i]),
                    Text("buyer".into()),
                    Text(Marketplace::country_name(m.buyer_country[i]).into()),
                ],
                Some(s) => vec![
                    Text(seller_id(s as u32)),
                    Time(m.seller_created[s]),
                    Text("seller".into()),
                    Text("DE".into()),
                ],
            }),
        },
        Table {
            name: "products",
            columns: &["product_id", "seller_id", "category", "price"],
            len: m.products.len(),
            row: Box::new(|i| {
                let (s, c, price) = m.products[i];
                vec![
                    Text(product_id(i as u32)),
                    Text(seller_id(s)),
                    Text(Marketplace::category_name(c).into()),
                    Real(price),
                ]
            }),
        },
        Table {
            name: "reviews",
            columns: &[
                "review_id",
                "account_id",
                "product_id",
                "rating",
                "created_at",
                "seller_id",
                "verified_purchase",
            ],
            len: m.reviews.len(),
            row: Box::new(|i| {
                let r = &m.reviews[i];
                vec![
                    Text(format!("r{i:08}")),
                    Text(buyer_id(r.buyer)),
                    Text(product_id(r.product)),
                    Int(i64::from(r.rating)),
                    Time(r.time),
                    Text(seller_id(r.seller)),
                    Text("true".into()),
                ]
            }),
        },
        Table {
            name: "orders",
            columns: &[
                "order_id",
                "buyer_id",
                "seller_id",
                "product_id",
                "amount",
                "created_at",
                "device_id",
                "ip",
                "payment_id",
                "address_id",
            ],
            len: m.orders.len(),
            row: Box::new(|i| {
                let o = &m.orders[i];
                vec![
                    Text(format!("o{i:08}")),
                    Text(buyer_id(o.buyer)),
                    Text(seller_id(o.seller)),
                    Text(product_id(o.product)),
                    Real(o.amount),
                    Time(o.time),
                    Text(format!("d{:07}", o.device)),
                    Text(ip(m, o.ip)),
                    Text(format!("pm{:07}", o.payment)),
                    Text(format!("a{:07}", o.address)),
                ]
            }),
        },
        Table {
            name: "sessions",
            columns: &["account_id", "device_id", "ip", "created_at"],
            len: m.sessions.len(),
            row: Box::new(|i| {
                let s = &m.sessions[i];
                vec![
                    Text(buyer_id(s.buyer)),
                    Text(format!("d{:07}", s.device)),
                    Text(ip(m, s.ip)),
                    Time(s.time),
                ]
            }),
        },
        Table {
            name: "labels",
            columns: &["account_id", "label", "ring_id", "source"],
            len: buyers,
            row: Box::new(|i| {
                vec![
                    Text(buyer_id(i as u32)),
                    Int(0),
                    Text(String::new()),
                    Text("synth".into()),
                ]
            }),
        },
    ]
}

/// Writes every table of `m` into `dir` (replacing it atomically).
pub fn write_tables(m: &Marketplace, dir: &Path, format: OutputFormat) -> Result<(), SynthError> {
    let err = |path: &Path, message: String| SynthError {
        path: path.to_path_buf(),
        message,
    };
    let staged = atomic::staging_dir(dir).map_err(|e| err(dir, e.to_string()))?;
    for table in tables(m) {
        match format {
            OutputFormat::Csv => {
                let path = staged.path().join(format!("{}.csv", table.name));
                write_csv(&table, &path).map_err(|e| err(&path, e.to_string()))?;
            }
            OutputFormat::Parquet => {
                let path = staged.path().join(format!("{}.parquet", table.name));
                write_parquet(table, &path).map_err(|e| err(&path, e.to_string()))?;
            }
        }
    }
    atomic::replace_dir(staged, dir).map_err(|e| err(dir, e.to_string()))
}

fn write_csv(table: &Table, path: &Path) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    writeln!(w, "{}", table.columns.join(","))?;
    for i in 0..table.len {
        for (j, cell) in (table.row)(i).iter().enumerate() {
            if j > 0 {
                w.write_all(b",")?;
            }
            match cell {
                Cell::Text(s) => w.write_all(s.as_bytes())?,
                Cell::Int(v) => write!(w, "{v}")?,
                Cell::Real(v) => write!(w, "{v}")?,
                Cell::Time(t) => match DateTime::from_timestamp(*t, 0) {
                    Some(d) => write!(w, "{}", d.format("%Y-%m-%dT%H:%M:%SZ"))?,
                    None => write!(w, "{t}")?,
                },
            }
        }
        w.write_all(b"\n")?;
    }
    w.flush()
}

fn write_parquet(table: Table<'_>, path: &Path) -> PolarsResult<()> {
    enum Builder {
        Int(Vec<i64>),
        Real(Vec<f32>),
        Text(Vec<Option<String>>),
    }
    let first = if table.len > 0 {
        (table.row)(0)
    } else {
        Vec::new()
    };
    let mut builders: Vec<Builder> = (0..table.columns.len())
        .map(|j| match first.get(j) {
            Some(Cell::Int(_)) | Some(Cell::Time(_)) => Builder::Int(Vec::with_capacity(table.len)),
            Some(Cell::Real(_)) => Builder::Real(Vec::with_capacity(table.len)),
            _ => Builder::Text(Vec::with_capacity(table.len)),
        })
        .collect();
    for i in 0..table.len {
        for (b, cell) in builders.iter_mut().zip((table.row)(i)) {
            match (b, cell) {
                (Builder::Int(v), Cell::Int(x) | Cell::Time(x)) => v.push(x),
                (Builder::Real(v), Cell::Real(x)) => v.push(x),
                (Builder::Text(v), Cell::Text(s)) => v.push(Some(s).filter(|s| !s.is_empty())),
                _ => unreachable!("a generated column keeps one cell type"),
            }
        }
    }
    let columns = table
        .columns
        .iter()
        .zip(builders)
        .map(|(&name, b)| match b {
            Builder::Int(v) => Column::new(name.into(), v),
            Builder::Real(v) => Column::new(name.into(), v),
            Builder::Text(v) => Column::new(name.into(), v),
        })
        .collect();
    let mut df = DataFrame::new_infer_height(columns)?;
    ParquetWriter::new(File::create(path)?).finish(&mut df)?;
    Ok(())
}
