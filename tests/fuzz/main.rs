//! Fuzzing of every parser that reads outside input: the CSV and Parquet event tables, the
//! config TOML, checkpoint manifests, and the service's `/v1/score` and `/v1/feedback` bodies.
//! The harness and how to set its time and seed: `ringscope_testkit::fuzz`. The corpora are in
//! `tests/fuzz/corpus/<target>/`.
//!
//! Beyond "no panic", each target checks what a bad input must get: an error that names the
//! file (ingest, config, manifest), a 4xx status (bodies), rows that reconcile
//! (`read = used + rejected`), and a config that prints back to itself.

use ringscope_testkit::fuzz::{Outcome, corpus, fuzz};
use std::path::Path;

const CSV_TOKENS: &[&[u8]] = &[
    b",",
    b"\"",
    b"\n",
    b"\r\n",
    b"\"\"",
    b",,,,",
    b"NaN",
    b"inf",
    b"-1",
    b"1e309",
    b"0x10",
    b"2026-11-01T00:00:00Z",
    b"2026-02-30",
    b"1793520000",
    b"-99999999999999",
    b"\xef\xbb\xbf",
    b"\xf0\x9d\x84\x9e",
    b"\xff\xfe",
    b"account_id",
    b"created_at",
    b"rating",
    b"amount",
    b"ip",
];
const PARQUET_TOKENS: &[&[u8]] = &[
    b"PAR1",
    b"\0\0\0\0",
    b"\xff\xff\xff\x7f",
    b"\x15\x04",
    b"\x19\x1c",
    b"\x00\x00\x00\x80",
];
const TOML_TOKENS: &[&[u8]] = &[
    b"[run]\n",
    b"[serve]\n",
    b"[model]\n",
    b"[scoring.weights]\n",
    b" = ",
    b"\"",
    b"[",
    b"]",
    b"nan",
    b"inf",
    b"-1",
    b"1e400",
    b"0",
    b"\"0.0.0.0:1\"",
    b"true",
    b"\n",
    b"{}",
    b"'''",
    b"max_flag_rate",
    b"token",
    b"fanout",
    b"partition = \"../x\"",
    b"own_edges",
];
const JSON_TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b":",
    b",",
    b"null",
    b"1e999",
    b"-0",
    b"\"\\u0000\"",
    b"\"\\ud800\"",
    b"true",
    b"\"accounts\"",
    b"\"events\"",
    b"\"rating\"",
    b"\"created_at\"",
    b"99999999999999999999",
    b"\"2026-13-45T99:00:00Z\"",
];

/// Event tables: the corpus folder is one input directory, and each round replaces one table
/// with a mutated one.
fn tables(target: &str, tokens: &[&[u8]]) {
    let base = corpus(target);
    let dir = tempfile::tempdir().unwrap();
    let dir = dir.path();
    let report = fuzz(target, tokens, |name, input| {
        for entry in &base {
            let bytes = if entry.name == name {
                input
            } else {
                &entry.bytes[..]
            };
            std::fs::write(dir.join(&entry.name), bytes).unwrap();
        }
        match ringscope_ingest::ingest_dir(dir) {
            Ok(ingested) => {
                for (table, t) in &ingested.report.tables {
                    if t.rows_read != t.rows_used + t.rows_rejected {
                        return Outcome::Broken(format!(
                            "{table:?}: {} read, {} used, {} rejected",
                            t.rows_read, t.rows_used, t.rows_rejected
                        ));
                    }
                }
                Outcome::Accepted
            }
            Err(e) if names_a_path(&e.to_string(), dir) => Outcome::Refused,
            Err(e) => Outcome::Broken(format!("the error names no file: {e}")),
        }
    });
    assert!(report.executions > base.len() as u64, "{report:?}");
}

fn names_a_path(message: &str, dir: &Path) -> bool {
    message.contains(&*dir.to_string_lossy())
}

#[test]
fn csv_tables() {
    tables("csv", CSV_TOKENS);
}

#[test]
fn parquet_tables() {
    tables("parquet", PARQUET_TOKENS);
}

#[test]
fn config_toml() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ringscope.toml");
    let report = fuzz("config", TOML_TOKENS, |_, input| {
        std::fs::write(&path, input).unwrap();
        match ringscope_pipeline::Config::load(Some(&path)) {
            Err(e) if e.to_string().contains("ringscope.toml") => Outcome::Refused,
            Err(e) => Outcome::Broken(format!("the error names no file: {e}")),
            Ok(config) => {
                if config.validate().is_err() {
                    return Outcome::Refused;
                }
                // What `config --print` shows is the config itself.
                let printed = config.to_toml();
                match toml::from_str::<ringscope_pipeline::Config>(&printed) {
                    Ok(again) if again == config => Outcome::Accepted,
                    Ok(again) => Outcome::Broken(format!(
                        "printed config reads back differently:\n{printed}\n{again:?}"
                    )),
                    Err(e) => {
                        Outcome::Broken(format!("printed config does not parse: {e}\n{printed}"))
                    }
                }
            }
        }
    });
    assert!(report.accepted > 0, "{report:?}");
}

/// Fuzzes the JSON file `file` that `read` loads from a folder: it is accepted, or refused by
/// an error that names the file.
fn json_file_names_itself<T, E: std::fmt::Display>(
    target: &str,
    file: &str,
    read: impl Fn(&std::path::Path) -> Result<T, E>,
) {
    let dir = tempfile::tempdir().unwrap();
    let report = fuzz(target, JSON_TOKENS, |_, input| {
        std::fs::write(dir.path().join(file), input).unwrap();
        match read(dir.path()) {
            Ok(_) => Outcome::Accepted,
            Err(e) if e.to_string().contains(file) => Outcome::Refused,
            Err(e) => Outcome::Broken(format!("the error names no file: {e}")),
        }
    });
    assert!(report.accepted > 0, "{report:?}");
}

#[test]
fn checkpoint_manifest() {
    json_file_names_itself(
        "manifest",
        "manifest.json",
        ringscope_score::checkpoint::read_manifest,
    );
}

#[test]
fn shard_plan() {
    json_file_names_itself(
        "shard_plan",
        "plan.json",
        ringscope_pipeline::shard::read_plan,
    );
}

/// A body gets a value or a 4xx, never a 5xx.
fn status_is_4xx(status: u16) -> Outcome {
    if (400..500).contains(&status) {
        Outcome::Refused
    } else {
        Outcome::Broken(format!("answered {status}"))
    }
}

#[test]
fn score_body() {
    let report =
        fuzz(
            "score_body",
            JSON_TOKENS,
            |_, input| match ringscope_serve::api::score_request(input, 100) {
                Ok(_) => Outcome::Accepted,
                Err(r) => status_is_4xx(r.status),
            },
        );
    assert!(report.accepted > 0, "{report:?}");
}

#[test]
fn feedback_body() {
    let report =
        fuzz(
            "feedback_body",
            JSON_TOKENS,
            |_, input| match ringscope_serve::api::feedback_request(input) {
                Ok(_) => Outcome::Accepted,
                Err(r) => status_is_4xx(r.status),
            },
        );
    assert!(report.accepted > 0, "{report:?}");
}

/// An input directory of the parquet corpus with `table` (a file name) replaced by `bytes`.
fn parquet_input_with(table: &str, bytes: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in corpus("parquet") {
        let content = if entry.name == table {
            bytes
        } else {
            &entry.bytes[..]
        };
        std::fs::write(dir.path().join(&entry.name), content).unwrap();
    }
    dir
}

/// Inputs the fuzzer found, each once a panic, an out-of-bounds read or an abort in polars'
/// Parquet reader: each is now refused as corrupt, naming the file and what is wrong.
#[test]
fn parquet_findings_are_refused_as_corrupt() {
    let dir = ringscope_testkit::repo_root().join("tests/fuzz/regressions/parquet");
    let expected = [
        // Once a panic in polars' bitmap, now refused at its page header.
        ("accounts-short-bitmap.parquet", "column 2: page 0's header"),
        ("labels-thrift-bool.parquet", "corrupt Parquet footer"),
        // Each of these aborted the process on an allocation of 2^61 or 10^11 bytes.
        (
            "orders-negative-count.parquet",
            "page 0: a negative value count (-303)",
        ),
        (
            "accounts-footer-list-count.parquet",
            "corrupt Parquet footer",
        ),
        ("labels-footer-list-count.parquet", "corrupt Parquet footer"),
    ];
    let mut found: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    found.sort();
    let mut listed: Vec<String> = expected.iter().map(|(n, _)| n.to_string()).collect();
    listed.sort();
    assert_eq!(
        found, listed,
        "every regression file has its expected error"
    );
    for (name, what) in expected {
        let table = format!("{}.parquet", name.split('-').next().unwrap());
        let input = parquet_input_with(&table, &std::fs::read(dir.join(name)).unwrap());
        let err = ringscope_ingest::ingest_dir(input.path())
            .err()
            .unwrap_or_else(|| panic!("{name} was accepted"));
        let message = err.to_string();
        assert!(
            message.contains("corrupt Parquet")
                && message.contains(&table)
                && message.contains(what),
            "{name}: {message}"
        );
    }

    // A file with 3,000 bytes of column data cut out keeps its footer, whose offsets (the
    // data ends at byte 6,934 of 9,382) then point past the end of the 6,382 left: polars
    // would slice the file with them unchecked.
    let orders = corpus("parquet")
        .into_iter()
        .find(|e| e.name == "orders.parquet")
        .unwrap()
        .bytes;
    let mut cut = orders[..4].to_vec();
    cut.extend_from_slice(&orders[4 + 3000..]);
    let input = parquet_input_with("orders.parquet", &cut);
    let Err(err) = ringscope_ingest::ingest_dir(input.path()) else {
        panic!("a file cut short was accepted");
    };
    let message = err.to_string();
    assert!(
        message.contains("orders.parquet") && message.contains("points at bytes"),
        "{message}"
    );
}
