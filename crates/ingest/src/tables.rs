//! Row-by-row validation of each table into an [`EventBatch`].
//!
//! Every row is fully checked before any of its IDs is interned, so a rejected row never
//! creates a node.

use crate::batch::EventBatch;
use crate::contract::TableKind;
use crate::error::{IngestError, Result};
use crate::intern::{Interner, NO_ID};
use crate::parse::{self, NO_TIME};
use crate::report::{FileSummary, IngestReport, Reject, RejectKind};
use crate::source::{Cells, Frame, locate, read_frame};
use std::path::{Path, PathBuf};

/// A validated input directory.
#[derive(Debug)]
pub struct Ingested {
    /// The rows that passed.
    pub batch: EventBatch,
    /// What happened to every row.
    pub report: IngestReport,
}

/// Reads, validates and interns every table in `dir`.
///
/// Fatal problems (missing required column, unreadable or empty file, not a table, a Parquet
/// column of the wrong type, no reviews/orders table) return `Err`. Row problems become
/// [`Reject`]s in the report and the row is left out.
pub fn ingest_dir(dir: &Path) -> Result<Ingested> {
    let (sources, ignored_files) = locate(dir)?;
    if !sources.contains_key(&TableKind::Reviews) && !sources.contains_key(&TableKind::Orders) {
        return Err(IngestError::NoEventTable {
            dir: dir.to_path_buf(),
        });
    }
    let mut state = State {
        batch: EventBatch::default(),
        report: IngestReport {
            input: dir.to_path_buf(),
            ignored_files,
            ..Default::default()
        },
        accounts_closed: false,
        products_closed: false,
        accepted: Vec::new(),
    };
    for table in TableKind::ALL {
        let Some(source) = sources.get(&table) else {
            continue;
        };
        let mut keys = PrimaryKeys::default();
        state.report.tables.entry(table).or_default();
        for (path, format) in source.files() {
            let started = std::time::Instant::now();
            let frame = read_frame(table, &path, format)?;
            let read_secs = started.elapsed().as_secs_f64();
            state.ingest_frame(table, &path, &frame, &mut keys)?;
            tracing::debug!(table = %table, file = %path.display(), rows = frame.height, read_secs,
                check_secs = started.elapsed().as_secs_f64() - read_secs, "file ingested");
        }
        // Master tables are complete once read: later references must resolve against them.
        match table {
            TableKind::Accounts => state.accounts_closed = true,
            TableKind::Products => state.products_closed = true,
            _ => {}
        }
        tracing::debug!(table = %table, summary = ?state.report.tables[&table], "table ingested");
    }
    debug_assert!(state.report.tables.values().all(|t| t.reconciles()));
    Ok(Ingested {
        batch: state.batch,
        report: state.report,
    })
}

struct State {
    batch: EventBatch,
    report: IngestReport,
    accounts_closed: bool,
    products_closed: bool,
    /// Rows of the current file that passed, for the deferred identifier interning.
    accepted: Vec<u32>,
}

/// Primary keys seen so far in one table, with where each was first seen.
#[derive(Default)]
struct PrimaryKeys {
    keys: Interner,
    first_seen: Vec<(u32, u64)>,
    files: Vec<PathBuf>,
}

/// Why a row was not used.
enum RowFail {
    Reject {
        column: &'static str,
        value: String,
        kind: RejectKind,
        reason: String,
    },
    /// An ID space overflowed `u32`.
    Full { column: &'static str },
}

type RowResult<T = ()> = std::result::Result<T, RowFail>;

fn reject(column: &'static str, value: &str, kind: RejectKind, reason: String) -> RowFail {
    let value = match value.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &value[..cut]),
        None => value.to_string(),
    };
    RowFail::Reject {
        column,
        value,
        kind,
        reason,
    }
}

fn need_id<'a>(cells: &'a Cells, row: usize, column: &'static str) -> RowResult<&'a str> {
    cells.text(row).ok_or_else(|| {
        reject(
            column,
            "",
            RejectKind::NullId,
            format!("{column} is null or empty"),
        )
    })
}

fn opt_text(cells: Option<&Cells>, row: usize) -> Option<&str> {
    cells.and_then(|c| c.text(row))
}

fn opt_time(cells: Option<&Cells>, row: usize, column: &'static str) -> RowResult<i64> {
    let bad = |value: &str, reason| reject(column, value, RejectKind::BadTimestamp, reason);
    match cells {
        None => Ok(NO_TIME),
        Some(Cells::Seconds(ca)) => match ca.get(row) {
            None => Ok(NO_TIME),
            Some(v) => parse::check_time_range(v).map_err(|r| bad(&v.to_string(), r)),
        },
        Some(c) => match c.text(row) {
            None => Ok(NO_TIME),
            Some(s) => parse::timestamp(s).map_err(|r| bad(s, r)),
        },
    }
}

fn opt_value<T>(
    cells: Option<&Cells>,
    row: usize,
    column: &'static str,
    kind: RejectKind,
    parse: fn(&str) -> Result<T, String>,
) -> RowResult<Option<T>> {
    match opt_text(cells, row) {
        None => Ok(None),
        Some(s) => parse(s).map(Some).map_err(|r| reject(column, s, kind, r)),
    }
}

fn intern(space: &mut Interner, s: &str, column: &'static str) -> RowResult<u32> {
    space.intern(s).ok_or(RowFail::Full { column })
}

fn intern_opt(space: &mut Interner, s: Option<&str>, column: &'static str) -> RowResult<u32> {
    s.map_or(Ok(NO_ID), |s| intern(space, s, column))
}

/// A checked reference to an ID space: `id` is known when the master table was given (one
/// lookup serves both the check and the row), otherwise the text is interned once the whole row
/// has passed.
#[derive(Clone, Copy)]
struct Ref<'a> {
    text: &'a str,
    id: Option<u32>,
}

/// Fails when `closed` (the master table was given) and `s` is not in it.
fn check_known<'a>(
    space: &Interner,
    closed: bool,
    s: &'a str,
    column: &'static str,
    master: &str,
) -> RowResult<Ref<'a>> {
    if !closed {
        return Ok(Ref { text: s, id: None });
    }
    match space.get(s) {
        Some(id) => Ok(Ref {
            text: s,
            id: Some(id),
        }),
        None => Err(reject(
            column,
            s,
            RejectKind::UnknownReference,
            format!("{column} '{s}' is not in the {master} table"),
        )),
    }
}

/// The id of a checked reference, interning it if its space is open.
fn resolve(space: &mut Interner, r: Ref, column: &'static str) -> RowResult<u32> {
    r.id.map_or_else(|| intern(space, r.text, column), Ok)
}

/// Interns an optional ID column over `rows`; absent or empty cells are [`NO_ID`].
fn intern_column(
    space: &mut Interner,
    cells: Option<&Cells>,
    column: &'static str,
    rows: &[u32],
) -> std::result::Result<Vec<u32>, (&'static str, u32)> {
    let Some(cells) = cells else {
        return Ok(vec![NO_ID; rows.len()]);
    };
    rows.iter()
        .map(|&row| match cells.text(row as usize) {
            None => Ok(NO_ID),
            Some(s) => space.intern(s).ok_or((column, row)),
        })
        .collect()
}

impl PrimaryKeys {
    /// Fails on a key seen before; otherwise returns its hash for [`PrimaryKeys::insert`].
    fn check(&self, s: &str, column: &'static str) -> RowResult<u64> {
        match self.keys.lookup(s) {
            (None, hash) => Ok(hash),
            (Some(id), _) => {
                let (file, row) = self.first_seen[id as usize];
                Err(reject(
                    column,
                    s,
                    RejectKind::DuplicateKey,
                    format!(
                        "{column} '{s}' already used at {} row {row}; the first is kept",
                        self.files[file as usize].display()
                    ),
                ))
            }
        }
    }

    fn insert(&mut self, s: &str, hash: u64, column: &'static str, row: u64) -> RowResult {
        self.keys
            .insert_new(s, hash)
            .ok_or(RowFail::Full { column })?;
        self.first_seen.push((self.files.len() as u32 - 1, row));
        Ok(())
    }
}

/// Checks one row of a file and, if it passes, appends it to the batch.
type RowChecker<'f> = Box<dyn FnMut(&mut State, usize, u64, &mut PrimaryKeys) -> RowResult + 'f>;

struct ReviewColumns<'f> {
    id: &'f Cells,
    account: &'f Cells,
    product: &'f Cells,
    rating: Option<&'f Cells>,
    created_at: Option<&'f Cells>,
    seller: Option<&'f Cells>,
    verified: Option<&'f Cells>,
}

struct OrderColumns<'f> {
    id: &'f Cells,
    buyer: &'f Cells,
    seller: &'f Cells,
    product: Option<&'f Cells>,
    amount: Option<&'f Cells>,
    created_at: Option<&'f Cells>,
}

/// Resolves `table`'s columns in `frame` once, so the per-row work does no name lookups.
fn row_checker(table: TableKind, frame: &Frame) -> RowChecker<'_> {
    let col = |name| frame.column(name);
    let must = |name| {
        frame
            .column(name)
            .expect("required columns checked by read_frame")
    };
    match table {
        TableKind::Accounts => {
            let (id, created, kind, country) = (
                must("account_id"),
                col("created_at"),
                col("kind"),
                col("country"),
            );
            Box::new(move |s, row, row_no, keys| {
                s.account_row(row, row_no, id, created, kind, country, keys)
            })
        }
        TableKind::Products => {
            let (id, seller, category, price) = (
                must("product_id"),
                must("seller_id"),
                col("category"),
                col("price"),
            );
            Box::new(move |s, row, row_no, keys| {
                s.product_row(row, row_no, id, seller, category, price, keys)
            })
        }
        TableKind::Reviews => {
            let c = ReviewColumns {
                id: must("review_id"),
                account: must("account_id"),
                product: must("product_id"),
                rating: col("rating"),
                created_at: col("created_at"),
                seller: col("seller_id"),
                verified: col("verified_purchase"),
            };
            Box::new(move |s, row, row_no, keys| s.review_row(row, row_no, &c, keys))
        }
        TableKind::Orders => {
            let c = OrderColumns {
                id: must("order_id"),
                buyer: must("buyer_id"),
                seller: must("seller_id"),
                product: col("product_id"),
                amount: col("amount"),
                created_at: col("created_at"),
            };
            Box::new(move |s, row, row_no, keys| s.order_row(row, row_no, &c, keys))
        }
        TableKind::Sessions => {
            let (account, created, model, agent) = (
                must("account_id"),
                col("created_at"),
                col("device_model"),
                col("user_agent"),
            );
            Box::new(move |s, row, _, _| s.session_row(row, account, created, [model, agent]))
        }
        TableKind::Labels => {
            let (account, label, ring, source) = (
                must("account_id"),
                must("label"),
                col("ring_id"),
                col("source"),
            );
            Box::new(move |s, row, row_no, keys| {
                s.label_row(row, row_no, account, label, ring, source, keys)
            })
        }
    }
}

impl State {
    fn ingest_frame(
        &mut self,
        table: TableKind,
        path: &Path,
        frame: &Frame,
        keys: &mut PrimaryKeys,
    ) -> Result<()> {
        keys.files.push(path.to_path_buf());
        let summary = self
            .report
            .tables
            .get_mut(&table)
            .expect("summary created before reading");
        summary.files.push(FileSummary {
            path: path.to_path_buf(),
            rows: frame.height as u64,
            ignored_columns: frame.extra_columns.clone(),
        });
        let mut check_row = row_checker(table, frame);
        let mut rejects = Vec::new();
        let mut used = 0u64;
        for row in 0..frame.height {
            let row_no = row as u64 + 1;
            let outcome = check_row(self, row, row_no, keys);
            match outcome {
                Ok(()) => used += 1,
                Err(RowFail::Reject {
                    column,
                    value,
                    kind,
                    reason,
                }) => rejects.push(Reject {
                    table,
                    file: path.to_path_buf(),
                    row: row_no,
                    column,
                    value,
                    kind,
                    reason,
                }),
                Err(RowFail::Full { column }) => {
                    return Err(IngestError::TooManyIds {
                        table,
                        file: path.to_path_buf(),
                        column,
                        row: row_no,
                    });
                }
            }
        }
        self.intern_identifiers(table, path, frame)?;
        let summary = self
            .report
            .tables
            .get_mut(&table)
            .expect("summary created before reading");
        summary.rows_read += frame.height as u64;
        summary.rows_used += used;
        summary.rows_rejected += rejects.len() as u64;
        for r in &rejects {
            *summary.rejected_by_kind.entry(r.kind).or_default() += 1;
        }
        self.report.rejects.extend(rejects);
        Ok(())
    }

    /// Interns the device, IP, payment and address columns of the rows that passed. These ID
    /// spaces depend on nothing else, so this runs after the row checks, two spaces per core,
    /// each still in row order (IDs stay deterministic).
    fn intern_identifiers(&mut self, table: TableKind, path: &Path, frame: &Frame) -> Result<()> {
        let rows = std::mem::take(&mut self.accepted);
        let ids = &mut self.batch.ids;
        let full = |(column, row): (&'static str, u32)| IngestError::TooManyIds {
            table,
            file: path.to_path_buf(),
            column,
            row: u64::from(row) + 1,
        };
        let run = |space: &mut Interner, column: &'static str| {
            intern_column(space, frame.column(column), column, &rows)
        };
        match table {
            TableKind::Orders => {
                let ((device, ip), (payment, address)) = rayon::join(
                    || (run(&mut ids.devices, "device_id"), run(&mut ids.ips, "ip")),
                    || {
                        (
                            run(&mut ids.payments, "payment_id"),
                            run(&mut ids.addresses, "address_id"),
                        )
                    },
                );
                let o = &mut self.batch.orders;
                o.device.extend(device.map_err(full)?);
                o.ip.extend(ip.map_err(full)?);
                o.payment.extend(payment.map_err(full)?);
                o.address.extend(address.map_err(full)?);
            }
            TableKind::Sessions => {
                let (device, ip) = rayon::join(
                    || run(&mut ids.devices, "device_id"),
                    || run(&mut ids.ips, "ip"),
                );
                let s = &mut self.batch.sessions;
                s.device.extend(device.map_err(full)?);
                s.ip.extend(ip.map_err(full)?);
            }
            _ => debug_assert!(rows.is_empty()),
        }
        Ok(())
    }

    /// Checks an account reference; interning happens later in [`State::account_id`].
    fn check_account<'a>(&self, s: &'a str, column: &'static str) -> RowResult<Ref<'a>> {
        check_known(
            &self.batch.ids.accounts,
            self.accounts_closed,
            s,
            column,
            "accounts",
        )
    }

    fn account_id(&mut self, r: Ref, column: &'static str) -> RowResult<u32> {
        resolve(&mut self.batch.ids.accounts, r, column)
    }

    /// Interns a seller, and its account when there is no accounts table to have listed it.
    fn seller_id(&mut self, r: Ref, column: &'static str) -> RowResult<u32> {
        self.account_id(r, column)?;
        intern(&mut self.batch.ids.sellers, r.text, column)
    }

    #[allow(clippy::too_many_arguments)]
    fn account_row(
        &mut self,
        row: usize,
        row_no: u64,
        id: &Cells,
        created: Option<&Cells>,
        kind: Option<&Cells>,
        country: Option<&Cells>,
        keys: &mut PrimaryKeys,
    ) -> RowResult {
        let id = need_id(id, row, "account_id")?;
        let key_hash = keys.check(id, "account_id")?;
        let created_at = opt_time(created, row, "created_at")?;
        let kind = opt_value(
            kind,
            row,
            "kind",
            RejectKind::WrongType,
            parse::account_kind,
        )?
        .unwrap_or_default();
        let country = opt_text(country, row);
        keys.insert(id, key_hash, "account_id", row_no)?;
        let b = &mut self.batch;
        let account = intern(&mut b.ids.accounts, id, "account_id")?;
        let country = intern_opt(&mut b.ids.countries, country, "country")?;
        b.accounts.account.push(account);
        b.accounts.created_at.push(created_at);
        b.accounts.kind.push(kind);
        b.accounts.country.push(country);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn product_row(
        &mut self,
        row: usize,
        row_no: u64,
        id: &Cells,
        seller: &Cells,
        category: Option<&Cells>,
        price: Option<&Cells>,
        keys: &mut PrimaryKeys,
    ) -> RowResult {
        let id = need_id(id, row, "product_id")?;
        let key_hash = keys.check(id, "product_id")?;
        let seller = need_id(seller, row, "seller_id")?;
        let seller = self.check_account(seller, "seller_id")?;
        let price = opt_value(
            price,
            row,
            "price",
            RejectKind::WrongType,
            parse::non_negative,
        )?;
        let category = opt_text(category, row);
        keys.insert(id, key_hash, "product_id", row_no)?;
        let seller = self.seller_id(seller, "seller_id")?;
        let b = &mut self.batch;
        let product = intern(&mut b.ids.products, id, "product_id")?;
        let category = intern_opt(&mut b.ids.categories, category, "category")?;
        b.products.product.push(product);
        b.products.seller.push(seller);
        b.products.category.push(category);
        b.products.price.push(price.unwrap_or(f32::NAN));
        Ok(())
    }

    fn check_product<'a>(&self, s: &'a str, column: &'static str) -> RowResult<Ref<'a>> {
        check_known(
            &self.batch.ids.products,
            self.products_closed,
            s,
            column,
            "products",
        )
    }

    fn review_row(
        &mut self,
        row: usize,
        row_no: u64,
        f: &ReviewColumns,
        keys: &mut PrimaryKeys,
    ) -> RowResult {
        let id = need_id(f.id, row, "review_id")?;
        let key_hash = keys.check(id, "review_id")?;
        let account = need_id(f.account, row, "account_id")?;
        let account = self.check_account(account, "account_id")?;
        let product = need_id(f.product, row, "product_id")?;
        let product = self.check_product(product, "product_id")?;
        let rating = match opt_text(f.rating, row) {
            None => 0,
            Some(s) => match s.trim().parse::<f64>() {
                Err(_) => {
                    return Err(reject(
                        "rating",
                        s,
                        RejectKind::WrongType,
                        format!("rating '{s}' is not a number"),
                    ));
                }
                Ok(_) => parse::rating(s)
                    .map_err(|r| reject("rating", s, RejectKind::RatingOutOfRange, r))?,
            },
        };
        let created_at = opt_time(f.created_at, row, "created_at")?;
        let seller = match opt_text(f.seller, row) {
            Some(s) => Some(self.check_account(s, "seller_id")?),
            None => None,
        };
        let verified = opt_value(
            f.verified,
            row,
            "verified_purchase",
            RejectKind::WrongType,
            parse::boolean,
        )?;
        keys.insert(id, key_hash, "review_id", row_no)?;
        let account = self.account_id(account, "account_id")?;
        let seller = match seller {
            Some(s) => self.seller_id(s, "seller_id")?,
            None => NO_ID,
        };
        let b = &mut self.batch;
        let product = resolve(&mut b.ids.products, product, "product_id")?;
        b.reviews.account.push(account);
        b.reviews.product.push(product);
        b.reviews.rating.push(rating);
        b.reviews.created_at.push(created_at);
        b.reviews.seller.push(seller);
        b.reviews.verified.push(verified.map_or(2, u8::from));
        Ok(())
    }

    fn order_row(
        &mut self,
        row: usize,
        row_no: u64,
        f: &OrderColumns,
        keys: &mut PrimaryKeys,
    ) -> RowResult {
        let id = need_id(f.id, row, "order_id")?;
        let key_hash = keys.check(id, "order_id")?;
        let buyer = need_id(f.buyer, row, "buyer_id")?;
        let buyer = self.check_account(buyer, "buyer_id")?;
        let seller = need_id(f.seller, row, "seller_id")?;
        let seller = self.check_account(seller, "seller_id")?;
        let product = match opt_text(f.product, row) {
            Some(p) => Some(self.check_product(p, "product_id")?),
            None => None,
        };
        let amount = opt_value(
            f.amount,
            row,
            "amount",
            RejectKind::WrongType,
            parse::non_negative,
        )?;
        let created_at = opt_time(f.created_at, row, "created_at")?;
        keys.insert(id, key_hash, "order_id", row_no)?;
        let buyer = self.account_id(buyer, "buyer_id")?;
        let seller = self.seller_id(seller, "seller_id")?;
        let ids = &mut self.batch.ids;
        let product = match product {
            Some(p) => resolve(&mut ids.products, p, "product_id")?,
            None => NO_ID,
        };
        self.accepted.push(row as u32);
        let o = &mut self.batch.orders;
        o.buyer.push(buyer);
        o.seller.push(seller);
        o.product.push(product);
        o.amount.push(amount.unwrap_or(f32::NAN));
        o.created_at.push(created_at);
        Ok(())
    }

    /// `[model, agent]`: the optional `device_model` and `user_agent` columns.
    fn session_row(
        &mut self,
        row: usize,
        account: &Cells,
        created: Option<&Cells>,
        [model, agent]: [Option<&Cells>; 2],
    ) -> RowResult {
        let account = need_id(account, row, "account_id")?;
        let account = self.check_account(account, "account_id")?;
        let created_at = opt_time(created, row, "created_at")?;
        let account = self.account_id(account, "account_id")?;
        let ids = &mut self.batch.ids;
        let model = intern_opt(&mut ids.device_models, opt_text(model, row), "device_model")?;
        let agent = intern_opt(&mut ids.user_agents, opt_text(agent, row), "user_agent")?;
        self.accepted.push(row as u32);
        let s = &mut self.batch.sessions;
        s.account.push(account);
        s.created_at.push(created_at);
        s.device_model.push(model);
        s.user_agent.push(agent);
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    fn label_row(
        &mut self,
        row: usize,
        row_no: u64,
        account: &Cells,
        label: &Cells,
        ring: Option<&Cells>,
        source: Option<&Cells>,
        keys: &mut PrimaryKeys,
    ) -> RowResult {
        let account = need_id(account, row, "account_id")?;
        let key_hash = keys.check(account, "account_id")?;
        let Some(id) = self.batch.ids.accounts.get(account) else {
            return Err(reject(
                "account_id",
                account,
                RejectKind::UnknownReference,
                format!("account_id '{account}' appears in no accounts or event row"),
            ));
        };
        let label = match label.text(row) {
            None => {
                return Err(reject(
                    "label",
                    "",
                    RejectKind::WrongType,
                    "label is null or empty".into(),
                ));
            }
            Some(s) => parse::label(s).map_err(|r| reject("label", s, RejectKind::WrongType, r))?,
        };
        keys.insert(account, key_hash, "account_id", row_no)?;
        let ids = &mut self.batch.ids;
        let ring = intern_opt(&mut ids.rings, opt_text(ring, row), "ring_id")?;
        let source = intern_opt(&mut ids.label_sources, opt_text(source, row), "source")?;
        let l = &mut self.batch.labels;
        l.account.push(id);
        l.label.push(label);
        l.ring.push(ring);
        l.source.push(source);
        Ok(())
    }
}
