//! Rendering a [`Marketplace`] as contract tables (CSV with ISO-8601 times, or Parquet with
//! unix-second times, so both accepted time forms are exercised).

use crate::SynthError;
use crate::background::Marketplace;
use chrono::DateTime;
use polars::prelude::*;
use ringscope_ingest::{TableKind, atomic};
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

/// Columns of the contract the generator has no values for, so its files leave them out.
const NOT_GENERATED: [&str; 2] = ["device_model", "user_agent"];

/// The columns written for `kind`: the contract's, in its order, less [`NOT_GENERATED`].
fn written_columns(kind: TableKind) -> Vec<&'static str> {
    let mut columns = kind.columns();
    columns.retain(|c| !NOT_GENERATED.contains(c));
    columns
}

/// A table whose rows are rendered on demand, so even 10M-row tables stream to disk.
struct Table<'a> {
    /// The table; `row` yields its cells in [`written_columns`] order.
    kind: TableKind,
    len: usize,
    row: Box<dyn Fn(usize) -> Vec<Cell> + 'a>,
}

/// SplitMix64's finaliser: a bijection on `u64`, so distinct indices get distinct IDs that
/// reveal neither creation order nor which accounts were planted.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Renders indices of one ID space as opaque IDs.
#[derive(Clone, Copy)]
struct Ids {
    prefix: char,
    salt: u64,
}

impl Ids {
    fn new(prefix: char, seed: u64) -> Self {
        Ids {
            prefix,
            salt: mix(seed ^ u64::from(prefix)),
        }
    }

    fn key(&self, i: u32) -> u64 {
        mix(self.salt ^ u64::from(i))
    }

    fn id(&self, i: u32) -> String {
        format!("{}{:016x}", self.prefix, self.key(i))
    }
}

fn seller_id(i: u32) -> String {
    format!("s{i:05}")
}

fn product_id(i: u32) -> String {
    format!("p{i:06}")
}

fn ip_text(ip: [u8; 4]) -> String {
    format!("{}.{}.{}.{}", ip[0], ip[1], ip[2], ip[3])
}

/// Indices of `times` sorted by time (stable): event logs are written in time order.
fn by_time(times: impl Iterator<Item = i64>) -> Vec<u32> {
    let mut keyed: Vec<(i64, u32)> = times.enumerate().map(|(i, t)| (t, i as u32)).collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, i)| i).collect()
}

/// The ground-truth record of one planted ring in `_rings.json`.
#[derive(serde::Serialize)]
struct RingRecord<'a> {
    ring_id: &'a str,
    attack: &'static str,
    members: Vec<String>,
    seller: Option<String>,
    targets: Vec<String>,
    shared_devices: Vec<String>,
    shared_ips: Vec<String>,
    window_start: i64,
    window_end: i64,
}

fn tables(m: &Marketplace) -> Vec<Table<'_>> {
    use Cell::*;
    let [account, device, payment, address] = ['u', 'd', 'c', 'a'].map(|p| Ids::new(p, m.seed));
    let buyers = m.buyer_created.len();
    let mut buyer_order: Vec<u32> = (0..buyers as u32).collect();
    buyer_order.sort_unstable_by_key(|&b| account.key(b));
    let ring_of = m.ring_of_buyer();
    let orders = by_time(m.orders.iter().map(|o| o.time));
    let reviews = by_time(m.reviews.iter().map(|r| r.time));
    let sessions = by_time(m.sessions.iter().map(|s| s.time));
    vec![
        Table {
            kind: TableKind::Accounts,
            len: buyers + m.seller_created.len(),
            row: Box::new({
                let buyer_order = buyer_order.clone();
                move |i| match i.checked_sub(buyers) {
                    None => {
                        let b = buyer_order[i];
                        vec![
                            Text(account.id(b)),
                            Time(m.buyer_created[b as usize]),
                            Text("buyer".into()),
                            Text(Marketplace::country_name(m.buyer_country[b as usize]).into()),
                        ]
                    }
                    Some(s) => vec![
                        Text(seller_id(s as u32)),
                        Time(m.seller_created[s]),
                        Text("seller".into()),
                        Text("DE".into()),
                    ],
                }
            }),
        },
        Table {
            kind: TableKind::Products,
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
            kind: TableKind::Reviews,
            len: m.reviews.len(),
            row: Box::new(move |i| {
                let r = &m.reviews[reviews[i] as usize];
                vec![
                    Text(format!("r{i:09}")),
                    Text(account.id(r.buyer)),
                    Text(product_id(r.product)),
                    Int(i64::from(r.rating)),
                    Time(r.time),
                    Text(seller_id(r.seller)),
                    Text("true".into()),
                ]
            }),
        },
        Table {
            kind: TableKind::Orders,
            len: m.orders.len(),
            row: Box::new(move |i| {
                let o = &m.orders[orders[i] as usize];
                vec![
                    Text(format!("o{i:09}")),
                    Text(account.id(o.buyer)),
                    Text(seller_id(o.seller)),
                    Text(product_id(o.product)),
                    Real(o.amount),
                    Time(o.time),
                    Text(device.id(o.device)),
                    Text(ip_text(m.ips[o.ip as usize])),
                    Text(payment.id(o.payment)),
                    Text(address.id(o.address)),
                ]
            }),
        },
        Table {
            kind: TableKind::Sessions,
            len: m.sessions.len(),
            row: Box::new(move |i| {
                let s = &m.sessions[sessions[i] as usize];
                vec![
                    Text(account.id(s.buyer)),
                    Text(device.id(s.device)),
                    Text(ip_text(m.ips[s.ip as usize])),
                    Time(s.time),
                ]
            }),
        },
        Table {
            kind: TableKind::Labels,
            len: buyers,
            row: Box::new(move |i| {
                let b = buyer_order[i];
                let ring = ring_of[b as usize].map(|r| m.rings[r].id.clone());
                vec![
                    Text(account.id(b)),
                    Int(i64::from(ring.is_some())),
                    Text(ring.unwrap_or_default()),
                    Text("synth".into()),
                ]
            }),
        },
    ]
}

/// `_rings.json`: every planted ring with its attack, members and evidence, for ring-level
/// evaluation. The leading underscore keeps ingest from reading it as a table.
fn rings_json(m: &Marketplace) -> String {
    let [account, device] = ['u', 'd'].map(|p| Ids::new(p, m.seed));
    let records: Vec<RingRecord> = m
        .rings
        .iter()
        .map(|r| RingRecord {
            ring_id: &r.id,
            attack: r.attack.name(),
            members: r.members.iter().map(|&b| account.id(b)).collect(),
            seller: r.seller.map(seller_id),
            targets: r.targets.iter().map(|&p| product_id(p)).collect(),
            shared_devices: r.shared_devices.iter().map(|&d| device.id(d)).collect(),
            shared_ips: r
                .shared_ips
                .iter()
                .map(|&ip| ip_text(m.ips[ip as usize]))
                .collect(),
            window_start: r.window.0,
            window_end: r.window.1,
        })
        .collect();
    serde_json::to_string_pretty(&records).expect("ring records serialise") + "\n"
}

/// Writes every table of `m` into `dir` (replacing it atomically), with opaque IDs derived from
/// its seed, event tables in time order, and the ring ground truth in `_rings.json`.
pub fn write_tables(m: &Marketplace, dir: &Path, format: OutputFormat) -> Result<(), SynthError> {
    let err = |path: &Path, message: String| SynthError {
        path: path.to_path_buf(),
        message,
    };
    let staged = atomic::staging_dir(dir).map_err(|e| err(dir, e.to_string()))?;
    let truth = staged.path().join("_rings.json");
    std::fs::write(&truth, rings_json(m)).map_err(|e| err(&truth, e.to_string()))?;
    for table in tables(m) {
        match format {
            OutputFormat::Csv => {
                let path = staged.path().join(format!("{}.csv", table.kind.name()));
                write_csv(&table, &path).map_err(|e| err(&path, e.to_string()))?;
            }
            OutputFormat::Parquet => {
                let path = staged.path().join(format!("{}.parquet", table.kind.name()));
                write_parquet(table, &path).map_err(|e| err(&path, e.to_string()))?;
            }
        }
    }
    atomic::replace_dir(staged, dir).map_err(|e| err(dir, e.to_string()))
}

fn write_csv(table: &Table, path: &Path) -> std::io::Result<()> {
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path)?);
    writeln!(w, "{}", written_columns(table.kind).join(","))?;
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
    let columns = written_columns(table.kind);
    let mut builders: Vec<Builder> = (0..columns.len())
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
    let columns = columns
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
