//! Every bad input of the data contract, fed to `ingest_dir`: fatal problems must name the
//! table, file and column; row problems must land in the rejects report with their row, and
//! every table must reconcile (read = used + rejected).

use polars::prelude::*;
use ringscope_ingest::{IngestError, Ingested, RejectKind, TableKind, ingest_dir};
use std::fs;
use std::path::Path;

fn dir_with(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (name, content) in files {
        let path = dir.path().join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    dir
}

fn write_parquet(path: &Path, columns: Vec<Column>) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut df = DataFrame::new_infer_height(columns).unwrap();
    ParquetWriter::new(fs::File::create(path).unwrap())
        .finish(&mut df)
        .unwrap();
}

fn ingest_ok(dir: &Path) -> Ingested {
    let ingested = ingest_dir(dir).unwrap_or_else(|e| panic!("ingest failed: {e}"));
    for (table, t) in &ingested.report.tables {
        assert!(t.reconciles(), "{table} does not reconcile: {t:?}");
    }
    ingested
}

/// The single reject of `table`, asserting there is exactly one.
fn only_reject(ingested: &Ingested, table: TableKind) -> &ringscope_ingest::Reject {
    let rejects: Vec<_> = ingested
        .report
        .rejects
        .iter()
        .filter(|r| r.table == table)
        .collect();
    assert_eq!(rejects.len(), 1, "{rejects:#?}");
    rejects[0]
}

const ACCOUNTS: &str = "account_id,created_at,kind\na1,2026-01-01,buyer\na2,1767225600,buyer\ns1,2025-06-01T00:00:00Z,seller\n";
const PRODUCTS: &str = "product_id,seller_id,price\np1,s1,10.5\np2,s1,3\n";

#[test]
fn clean_input_is_used_whole() {
    let dir = dir_with(&[
        ("accounts.csv", ACCOUNTS),
        ("products.csv", PRODUCTS),
        (
            "reviews.csv",
            "review_id,account_id,product_id,rating,created_at\nr1,a1,p1,5,2026-11-01T10:00:00Z\nr2,a2,p1,4,\n",
        ),
        (
            "orders.csv",
            "order_id,buyer_id,seller_id,product_id,amount,device_id,ip\no1,a1,s1,p2,3.0,d1,1.2.3.4\n",
        ),
        (
            "sessions.csv",
            "account_id,device_id,ip,created_at\na2,d1,,1793521800\n",
        ),
        (
            "labels.csv",
            "account_id,label,ring_id\na1,1,ring-7\na2,0,\n",
        ),
    ]);
    let ingested = ingest_ok(dir.path());
    assert_eq!(ingested.report.total_rejected(), 0);
    let b = &ingested.batch;
    assert_eq!(b.ids.accounts.len(), 3);
    assert_eq!(b.reviews.rating, vec![5, 4]);
    assert_eq!(
        b.reviews.created_at,
        vec![1_793_521_800 + 5_400, ringscope_ingest::NO_TIME]
    );
    assert_eq!(
        b.accounts.created_at[0], b.accounts.created_at[1],
        "ISO date and unix seconds agree"
    );
    assert_eq!(
        b.orders.device, b.sessions.device,
        "device d1 is interned once"
    );
    assert_eq!(
        b.sessions.ip,
        vec![ringscope_ingest::NO_ID],
        "an empty optional ID is absent"
    );
    assert_eq!(b.labels.label, vec![1, 0]);
    assert_eq!(b.ids.rings.resolve(b.labels.ring[0]), "ring-7");
}

#[test]
fn missing_required_column_is_fatal_and_names_file_and_column() {
    let dir = dir_with(&[("reviews.csv", "review_id,account_id,rating\nr1,a1,5\n")]);
    let err = ingest_dir(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            IngestError::MissingColumn {
                table: TableKind::Reviews,
                column: "product_id",
                ..
            }
        ),
        "{err}"
    );
    let msg = err.to_string();
    assert!(
        msg.contains("reviews.csv") && msg.contains("product_id") && msg.contains("rating"),
        "{msg}"
    );
}

#[test]
fn wrong_cell_types_are_rejected_rows() {
    let dir = dir_with(&[
        (
            "reviews.csv",
            "review_id,account_id,product_id,rating,verified_purchase\nr1,a1,p1,five,true\nr2,a1,p1,4,maybe\nr3,a1,p2,3,no\n",
        ),
        (
            "orders.csv",
            "order_id,buyer_id,seller_id,amount\no1,a1,s1,12.x\no2,a1,s1,-4\no3,a1,s1,7\n",
        ),
    ]);
    let ingested = ingest_ok(dir.path());
    let rejects = &ingested.report.rejects;
    let summary = |t| &ingested.report.tables[&t];
    assert_eq!(
        (
            summary(TableKind::Reviews).rows_used,
            summary(TableKind::Reviews).rows_rejected
        ),
        (1, 2)
    );
    assert_eq!(
        (
            summary(TableKind::Orders).rows_used,
            summary(TableKind::Orders).rows_rejected
        ),
        (1, 2)
    );
    let r = &rejects[0];
    assert_eq!(
        (r.table, r.row, r.column, r.kind, r.value.as_str()),
        (
            TableKind::Reviews,
            1,
            "rating",
            RejectKind::WrongType,
            "five"
        )
    );
    assert_eq!(
        (rejects[1].row, rejects[1].column),
        (2, "verified_purchase")
    );
    assert!(
        rejects
            .iter()
            .all(|r| r.file.ends_with(format!("{}.csv", r.table)))
    );
    assert_eq!(rejects.iter().filter(|r| r.column == "amount").count(), 2);
}

#[test]
fn parquet_column_of_an_impossible_type_is_fatal() {
    let dir = tempfile::tempdir().unwrap();
    write_parquet(
        &dir.path().join("reviews.parquet"),
        vec![
            Column::new("review_id".into(), ["r1"]),
            Column::new("account_id".into(), [1.5f64]),
            Column::new("product_id".into(), ["p1"]),
        ],
    );
    let err = ingest_dir(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            IngestError::WrongColumnType {
                column: "account_id",
                ..
            }
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("reviews.parquet") && err.to_string().contains("f64"),
        "{err}"
    );
}

#[test]
fn parquet_native_types_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let created = Column::new("created_at".into(), [1_793_521_800_000i64, 0])
        .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
        .unwrap();
    write_parquet(
        &dir.path().join("reviews.parquet"),
        vec![
            Column::new("review_id".into(), [10i64, 11]),
            Column::new("account_id".into(), [7i32, 8]),
            Column::new("product_id".into(), ["p1", "p2"]),
            Column::new("rating".into(), [5i64, 9]),
            created,
        ],
    );
    let ingested = ingest_ok(dir.path());
    assert_eq!(
        ingested.batch.ids.accounts.resolve(0),
        "7",
        "integer IDs become their decimal text"
    );
    assert_eq!(ingested.batch.reviews.created_at, vec![1_793_521_800]);
    assert_eq!(
        only_reject(&ingested, TableKind::Reviews).kind,
        RejectKind::RatingOutOfRange
    );
}

#[test]
fn null_or_empty_ids_are_rejected() {
    let dir = dir_with(&[(
        "reviews.csv",
        "review_id,account_id,product_id\nr1,,p1\nr2,a1,\"  \"\nr3,a1,p1\n",
    )]);
    let ingested = ingest_ok(dir.path());
    let kinds: Vec<_> = ingested
        .report
        .rejects
        .iter()
        .map(|r| (r.row, r.column, r.kind))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (1, "account_id", RejectKind::NullId),
            (2, "product_id", RejectKind::NullId)
        ]
    );
    assert_eq!(
        ingested.batch.ids.accounts.len(),
        1,
        "rejected rows create no nodes"
    );
}

#[test]
fn unparseable_timestamps_are_rejected() {
    let dir = dir_with(&[(
        "orders.csv",
        "order_id,buyer_id,seller_id,created_at\no1,a1,s1,last tuesday\no2,a1,s1,1793521800123\no3,a1,s1,2026-11-01 08:30:00\n",
    )]);
    let ingested = ingest_ok(dir.path());
    let rejects = &ingested.report.rejects;
    assert_eq!(rejects.len(), 2);
    assert!(
        rejects
            .iter()
            .all(|r| r.kind == RejectKind::BadTimestamp && r.column == "created_at")
    );
    assert!(
        rejects[1].reason.contains("milliseconds"),
        "{}",
        rejects[1].reason
    );
    assert_eq!(ingested.batch.orders.created_at, vec![1_793_521_800]);
}

#[test]
fn ratings_outside_one_to_five_are_rejected() {
    let dir = dir_with(&[(
        "reviews.csv",
        "review_id,account_id,product_id,rating\nr1,a1,p1,0\nr2,a1,p1,6\nr3,a1,p1,4.5\nr4,a1,p1,1\n",
    )]);
    let ingested = ingest_ok(dir.path());
    assert_eq!(
        ingested.report.tables[&TableKind::Reviews].rejected_by_kind[&RejectKind::RatingOutOfRange],
        3
    );
    assert_eq!(ingested.batch.reviews.rating, vec![1]);
}

#[test]
fn duplicate_primary_keys_keep_the_first_and_reject_the_rest() {
    let dir = dir_with(&[
        ("accounts.csv", "account_id\na1\na1\n"),
        (
            "reviews.csv",
            "review_id,account_id,product_id,rating\nr1,a1,p1,5\nr1,a1,p2,1\n",
        ),
    ]);
    let ingested = ingest_ok(dir.path());
    let dup = only_reject(&ingested, TableKind::Reviews);
    assert_eq!((dup.row, dup.kind), (2, RejectKind::DuplicateKey));
    assert!(dup.reason.contains("row 1"), "{}", dup.reason);
    assert_eq!(
        ingested.batch.reviews.rating,
        vec![5],
        "the first occurrence is kept"
    );
    assert_eq!(
        only_reject(&ingested, TableKind::Accounts).kind,
        RejectKind::DuplicateKey
    );
}

#[test]
fn references_to_unknown_accounts_and_products_are_rejected() {
    let dir = dir_with(&[
        ("accounts.csv", ACCOUNTS),
        ("products.csv", PRODUCTS),
        (
            "reviews.csv",
            "review_id,account_id,product_id\nr1,ghost,p1\nr2,a1,p404\nr3,a1,p1\n",
        ),
        ("orders.csv", "order_id,buyer_id,seller_id\no1,a1,s404\n"),
        ("labels.csv", "account_id,label\nnobody,1\na1,1\n"),
    ]);
    let ingested = ingest_ok(dir.path());
    let unknown: Vec<_> = ingested
        .report
        .rejects
        .iter()
        .map(|r| (r.table, r.column, r.value.as_str(), r.kind))
        .collect();
    assert_eq!(
        unknown,
        vec![
            (
                TableKind::Reviews,
                "account_id",
                "ghost",
                RejectKind::UnknownReference
            ),
            (
                TableKind::Reviews,
                "product_id",
                "p404",
                RejectKind::UnknownReference
            ),
            (
                TableKind::Orders,
                "seller_id",
                "s404",
                RejectKind::UnknownReference
            ),
            (
                TableKind::Labels,
                "account_id",
                "nobody",
                RejectKind::UnknownReference
            ),
        ]
    );
    assert_eq!(ingested.batch.ids.accounts.get("ghost"), None);
}

#[test]
fn without_master_tables_references_define_the_ids() {
    let dir = dir_with(&[(
        "orders.csv",
        "order_id,buyer_id,seller_id,product_id\no1,a1,s1,p1\n",
    )]);
    let ingested = ingest_ok(dir.path());
    let ids = &ingested.batch.ids;
    assert_eq!(
        (ids.accounts.len(), ids.sellers.len(), ids.products.len()),
        (2, 1, 1),
        "the seller is an account too"
    );
}

#[test]
fn empty_unreadable_and_non_table_files_are_fatal() {
    type IsExpected = fn(&IngestError) -> bool;
    let cases: Vec<(&str, &[u8], IsExpected)> = vec![
        ("reviews.csv", b"", |e| {
            matches!(e, IngestError::EmptyFile { .. })
        }),
        ("reviews.csv", b"\x00\x01\x02garbage\xff\xfe", |e| {
            matches!(e, IngestError::NotATable { .. })
        }),
        ("reviews.csv", b"{\"review_id\": 1}\n", |e| {
            matches!(e, IngestError::NotATable { .. })
        }),
        ("reviews.csv", b"PAR1\x00\x00", |e| {
            matches!(e, IngestError::NotATable { .. })
        }),
        (
            "reviews.parquet",
            b"review_id,account_id,product_id\nr1,a1,p1\n",
            |e| matches!(e, IngestError::NotATable { .. }),
        ),
        ("reviews.csv", b"just one line of prose\n", |e| {
            matches!(e, IngestError::MissingColumn { .. })
        }),
    ];
    for (name, content, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(name), content).unwrap();
        let err = ingest_dir(dir.path()).unwrap_err();
        assert!(expected(&err), "{name} {content:?}: {err}");
        assert!(
            err.to_string().contains(name),
            "error must name the file: {err}"
        );
    }
    // A broken symlink cannot be opened.
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/nonexistent/reviews", dir.path().join("reviews.csv")).unwrap();
    let err = ingest_dir(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            IngestError::Unreadable {
                table: TableKind::Reviews,
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn truncated_parquet_is_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("reviews.parquet");
    write_parquet(
        &path,
        vec![
            Column::new("review_id".into(), ["r1"]),
            Column::new("account_id".into(), ["a"]),
            Column::new("product_id".into(), ["p"]),
        ],
    );
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = ingest_dir(dir.path()).unwrap_err();
    assert!(matches!(err, IngestError::NotATable { .. }), "{err}");
}

#[test]
fn hive_partitioned_parquet_directories_are_read_in_path_order() {
    let dir = tempfile::tempdir().unwrap();
    for (day, ids) in [
        ("dt=2026-11-02", ["r3", "r1"]),
        ("dt=2026-11-01", ["r1", "r2"]),
    ] {
        write_parquet(
            &dir.path().join("reviews").join(day).join("part-0.parquet"),
            vec![
                Column::new("review_id".into(), ids),
                Column::new("account_id".into(), ["a1", "a2"]),
                Column::new("product_id".into(), ["p1", "p1"]),
            ],
        );
    }
    fs::write(dir.path().join("reviews").join("_SUCCESS"), "").unwrap();
    let ingested = ingest_ok(dir.path());
    let t = &ingested.report.tables[&TableKind::Reviews];
    assert_eq!(t.files.len(), 2);
    assert!(t.files[0].path.to_string_lossy().contains("dt=2026-11-01"));
    assert_eq!((t.rows_read, t.rows_used, t.rows_rejected), (4, 3, 1));
    let dup = only_reject(&ingested, TableKind::Reviews);
    assert!(
        dup.file.to_string_lossy().contains("dt=2026-11-02") && dup.row == 2,
        "{dup:?}"
    );
    // A partition directory without any Parquet file is an empty table.
    let empty = tempfile::tempdir().unwrap();
    fs::create_dir_all(empty.path().join("orders/dt=2026-11-01")).unwrap();
    assert!(matches!(
        ingest_dir(empty.path()).unwrap_err(),
        IngestError::EmptyFile {
            table: TableKind::Orders,
            ..
        }
    ));
}

#[test]
fn directory_level_problems() {
    let missing = ingest_dir(Path::new("/nonexistent/input")).unwrap_err();
    assert!(
        matches!(missing, IngestError::MissingInput { .. }),
        "{missing}"
    );
    let no_events = dir_with(&[("accounts.csv", "account_id\na1\n")]);
    assert!(matches!(
        ingest_dir(no_events.path()).unwrap_err(),
        IngestError::NoEventTable { .. }
    ));
    let twice = dir_with(&[
        ("reviews.csv", "review_id,account_id,product_id\n"),
        ("reviews.parquet", "x"),
    ]);
    assert!(matches!(
        ingest_dir(twice.path()).unwrap_err(),
        IngestError::AmbiguousTable { .. }
    ));
    let typo = dir_with(&[
        (
            "orders.csv",
            "order_id,buyer_id,seller_id,coupon\no1,a1,s1,X\n",
        ),
        ("review.csv", "x"),
    ]);
    let ingested = ingest_ok(typo.path());
    assert!(
        ingested.report.ignored_files[0].ends_with("review.csv"),
        "a misspelt table is reported"
    );
    assert_eq!(
        ingested.report.tables[&TableKind::Orders].files[0].ignored_columns,
        vec!["coupon"]
    );
}

#[test]
fn header_only_table_is_an_empty_table() {
    let dir = dir_with(&[
        ("reviews.csv", "review_id,account_id,product_id\n"),
        ("orders.csv", "order_id,buyer_id,seller_id\no1,a,s\n"),
    ]);
    let ingested = ingest_ok(dir.path());
    assert_eq!(ingested.report.tables[&TableKind::Reviews].rows_read, 0);
}

#[test]
fn rejects_report_has_one_quoted_line_per_rejected_row() {
    let dir = dir_with(&[(
        "reviews.csv",
        "review_id,account_id,product_id,rating\nr1,a1,p1,\"5,5\"\nr2,,p1,5\nr3,a1,p1,5\n",
    )]);
    let ingested = ingest_ok(dir.path());
    let out = dir.path().join("rejects.csv");
    ingested.report.write_rejects_csv(&out).unwrap();
    let report = polars::prelude::CsvReader::new(fs::File::open(&out).unwrap())
        .finish()
        .unwrap();
    assert_eq!(report.height(), 2);
    assert_eq!(
        report.column("value").unwrap().str().unwrap().get(0),
        Some("5,5")
    );
    assert_eq!(
        report.column("kind").unwrap().str().unwrap().get(1),
        Some("null_id")
    );
}

#[test]
fn malformed_csv_names_the_offending_line() {
    let dir = dir_with(&[(
        "reviews.csv",
        "review_id,account_id,product_id\nr1,a1,p1\nr2,a2,p2,EXTRA,MORE\n",
    )]);
    let err = ingest_dir(dir.path()).unwrap_err();
    assert!(matches!(err, IngestError::NotATable { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("reviews.csv") && msg.contains("line 3 has 5 fields, the header has 3"),
        "{msg}"
    );
    assert!(
        !msg.contains("truncate_ragged_lines"),
        "no advice for another API: {msg}"
    );
}
