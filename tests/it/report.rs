//! Investigator outputs of `ringscope run`: ring tables, per-ring GraphML/GEXF, the HTML
//! report (checked in headless Chromium), and the `rings` and `report` commands that rebuild
//! them.

use crate::{repo_sample, ringscope, text};
use polars::prelude::*;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn parquet(path: &Path) -> DataFrame {
    ParquetReader::new(fs::File::open(path).unwrap())
        .finish()
        .unwrap()
}

/// Elements named `name` in an XML document, which must be well formed.
fn count_elements(xml: &str, name: &[u8]) -> usize {
    let mut reader = quick_xml::Reader::from_str(xml);
    let mut n = 0;
    loop {
        match reader.read_event().expect("well-formed XML") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.name().as_ref() == name =>
            {
                n += 1;
            }
            quick_xml::events::Event::Eof => return n,
            _ => {}
        }
    }
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            std::env::var_os("PATH").and_then(|paths| {
                std::env::split_paths(&paths)
                    .map(|p| p.join(name))
                    .find(|p| p.is_file())
            })
        })
}

#[test]
fn run_writes_tables_gephi_files_and_a_report_that_draws_in_a_browser() {
    let tmp = tempfile::tempdir().unwrap();
    let sample = repo_sample();
    let o = ringscope(
        &["run", "--input", sample.to_str().unwrap(), "--out", "out"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let out = tmp.path().join("out");
    let jsonl = fs::read_to_string(out.join("rings.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(records.len() >= 3, "the sample has rings");

    // One row per ring, in rings.jsonl's order, in both table formats.
    let rings = parquet(&out.join("rings.parquet"));
    assert_eq!(rings.height(), records.len());
    let ids: Vec<String> = rings
        .column("ring_id")
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|v| v.unwrap().to_string())
        .collect();
    let expected: Vec<String> = records
        .iter()
        .map(|r| r["id"].as_str().unwrap().into())
        .collect();
    assert_eq!(ids, expected);
    let csv = fs::read_to_string(out.join("rings.csv")).unwrap();
    assert_eq!(csv.lines().count(), records.len() + 1);
    assert!(csv.starts_with("ring_id,score,source,members,"), "{csv}");
    assert!(
        rings
            .column("first_activity")
            .unwrap()
            .dtype()
            .is_temporal(),
        "times are timestamps in Parquet"
    );

    // One row per member, each tied to its ring by what it shares and targets.
    let members = parquet(&out.join("ring_members.parquet"));
    let total: usize = records
        .iter()
        .map(|r| r["evidence"]["members"].as_array().unwrap().len())
        .sum();
    assert_eq!(members.height(), total);
    let shared = members
        .column("shared_identifiers")
        .unwrap()
        .str()
        .unwrap()
        .clone();
    let targets = members.column("targets").unwrap().str().unwrap().clone();
    let tied = shared
        .iter()
        .zip(targets.iter())
        .filter(|(s, t)| s.is_some_and(|s| !s.is_empty()) || t.is_some_and(|t| !t.is_empty()))
        .count();
    assert!(
        tied * 10 >= total * 9,
        "{tied} of {total} members show what ties them to the ring"
    );

    // A GraphML and a dynamic GEXF per ring, with the ring graph's nodes and edges.
    for r in &records {
        let id = r["id"].as_str().unwrap();
        let (nodes, edges) = (
            r["graph"]["nodes"].as_array().unwrap().len(),
            r["graph"]["edges"].as_array().unwrap().len(),
        );
        assert!(
            nodes > r["evidence"]["members"].as_array().unwrap().len(),
            "{id}"
        );
        let gexf = fs::read_to_string(out.join(format!("rings/{id}.gexf"))).unwrap();
        assert_eq!(count_elements(&gexf, b"node"), nodes, "{id}");
        assert_eq!(count_elements(&gexf, b"edge"), edges, "{id}");
        assert!(gexf.contains("mode=\"dynamic\"") && gexf.contains(" start=\""));
        let graphml = fs::read_to_string(out.join(format!("rings/{id}.graphml"))).unwrap();
        assert_eq!(count_elements(&graphml, b"node"), nodes, "{id}");
    }

    // `report` and `rings` rebuild the same outputs from the run's files and graph store.
    let page = fs::read(out.join("report/index.html")).unwrap();
    let o = ringscope(&["report", "--run", "out"], tmp.path());
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(
        fs::read(out.join("report/index.html")).unwrap() == page,
        "report rebuilds the same page"
    );
    let o = ringscope(
        &["rings", "--graph", "out/graph", "--out", "again"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(
        fs::read_to_string(tmp.path().join("again/rings.jsonl")).unwrap(),
        jsonl
    );
    assert!(
        fs::read(tmp.path().join("again/rings.parquet")).unwrap()
            == fs::read(out.join("rings.parquet")).unwrap()
    );

    // The page in headless Chromium: no console errors, the ring list is filled, and clicking
    // the first ring draws its graph, timeline and member table. `?selftest` makes the page
    // click the ring itself and print what it drew.
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("RINGSCOPE_REQUIRE_BROWSER").is_none(),
            "RINGSCOPE_REQUIRE_BROWSER is set but no chromium is on PATH"
        );
        eprintln!("skipping the browser check: no chromium on PATH");
        return;
    };
    let url = format!(
        "file://{}?selftest",
        out.join("report/index.html").display()
    );
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--virtual-time-budget=5000",
    ];
    let o = Command::new(&browser)
        .args(common)
        .args(["--enable-logging=stderr", "--v=0", "--dump-dom", &url])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let dom = text(&o.stdout);
    let start = dom
        .find("<pre id=\"selftest\"")
        .expect("the page ran its script");
    let start = start + dom[start..].find('>').unwrap() + 1;
    let end = start + dom[start..].find("</pre>").unwrap();
    // Chromium logs the page's console on stderr: an uncaught error stops the script before
    // its self-test report, so look there first.
    let stderr = text(&o.stderr);
    let console_errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("CONSOLE") && (l.contains("Uncaught") || l.contains("Error")))
        .collect();
    assert!(console_errors.is_empty(), "{console_errors:#?}");
    let result: serde_json::Value =
        serde_json::from_str(&dom[start..end]).expect("the page's script ran to the end");
    assert_eq!(result["errors"], serde_json::json!([]), "{result}");
    assert_eq!(
        result["rings_listed"].as_u64().unwrap() as usize,
        records.len()
    );
    let first = &records[0];
    assert!(result["graph_nodes"].as_u64().unwrap() > 0, "{result}");
    assert_eq!(
        result["member_rows"].as_u64().unwrap() as usize,
        first["evidence"]["members"].as_array().unwrap().len()
    );
    assert_eq!(
        result["timeline_marks"].as_u64().unwrap() as usize,
        first["evidence"]["timeline"]
            .as_array()
            .unwrap()
            .len()
            .min(2000)
    );
    // RINGSCOPE_SCREENSHOT=docs/img/report.png refreshes the README's picture.
    if let Some(shot) = std::env::var_os("RINGSCOPE_SCREENSHOT") {
        let shot = std::path::absolute(PathBuf::from(shot)).unwrap();
        let o = Command::new(&browser)
            .args(common)
            .args([
                "--window-size=1400,1250",
                &format!("--screenshot={}", shot.display()),
                &url,
            ])
            .output()
            .unwrap();
        assert!(o.status.success() && shot.is_file(), "{}", text(&o.stderr));
    }
}

/// A run scored label-free because the checkpoint does not fit the input shows why, in a banner
/// that `ringscope report` rebuilds byte for byte from the run's files.
#[test]
fn the_out_of_domain_banner_survives_a_rebuild() {
    let Some(yelp) = ringscope_testkit::dataset("yelpchi_reviews") else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let input = yelp.join("input");
    let o = ringscope(
        &["run", "--input", input.to_str().unwrap(), "--out", "out"],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let page = tmp.path().join("out/report/index.html");
    let first = std::fs::read_to_string(&page).unwrap();
    assert!(
        first.contains("\"banner\":\"The label-free scorer made these scores"),
        "no banner"
    );
    assert!(first.contains("OUT OF DOMAIN"));
    let o = ringscope(&["report", "--run", "out"], tmp.path());
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(std::fs::read_to_string(&page).unwrap(), first);
}
