//! Sharded runs (`ringscope shard plan|run|merge`, docs/scale.md): equal to one process, refused
//! when the pieces do not belong together, and run by the Spark job in
//! integrations/spark/ under a local Spark.

use super::{repo_sample, ringscope, text};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Command;

/// Score per (kind, id) in a run's `scores.csv`.
fn scores(run: &Path) -> BTreeMap<(String, String), f64> {
    let mut reader = csv::Reader::from_path(run.join("scores.csv")).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            ((r[0].to_string(), r[1].to_string()), r[2].parse().unwrap())
        })
        .collect()
}

/// Each ring's members, sorted, from a run's `rings.jsonl`.
fn memberships(run: &Path) -> Vec<Vec<String>> {
    let mut rings: Vec<Vec<String>> = fs::read_to_string(run.join("rings.jsonl"))
        .unwrap()
        .lines()
        .map(|line| {
            let ring: serde_json::Value = serde_json::from_str(line).unwrap();
            let mut members: Vec<String> = ring["evidence"]["members"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["account"].as_str().unwrap().to_string())
                .collect();
            members.sort();
            members
        })
        .collect();
    rings.sort();
    rings
}

/// Asserts that `sharded` scored every account and seller `single` did within 1e-5, and found
/// the same rings.
fn assert_equal_runs(single: &Path, sharded: &Path) {
    let (a, b) = (scores(single), scores(sharded));
    assert_eq!(
        a.keys().collect::<Vec<_>>(),
        b.keys().collect::<Vec<_>>(),
        "the same nodes are scored"
    );
    let worst = a
        .iter()
        .map(|(k, v)| ((v - b[k]).abs(), k))
        .max_by(|x, y| x.0.total_cmp(&y.0))
        .unwrap();
    assert!(worst.0 <= 1e-5, "largest score difference {worst:?}");
    let rings = memberships(single);
    assert!(rings.len() >= 5, "the sample has rings: {}", rings.len());
    assert_eq!(rings, memberships(sharded), "ring memberships");
}

/// `ringscope run` on the sample into `<dir>/single`.
fn single_run(dir: &Path) {
    let sample = repo_sample();
    ok(&ringscope(
        &[
            "-q",
            "run",
            "--input",
            sample.to_str().unwrap(),
            "--out",
            "single",
        ],
        dir,
    ));
}

fn ok(out: &std::process::Output) {
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// `out` exited with `code` and its stderr says `says`.
fn refused(out: &std::process::Output, code: i32, says: &str) {
    assert_eq!(out.status.code(), Some(code), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains(says), "{}", text(&out.stderr));
}

/// Plans `shards` shards of the sample, runs each and merges them into `<dir>/merged`.
fn sharded_run(dir: &Path, shards: usize) {
    let sample = repo_sample();
    let n = shards.to_string();
    ok(&ringscope(
        &[
            "-q",
            "shard",
            "plan",
            "--input",
            sample.to_str().unwrap(),
            "--shards",
            &n,
            "--out",
            "plan",
        ],
        dir,
    ));
    for i in 0..shards {
        let out = format!("parts/shard={i}");
        ok(&ringscope(
            &[
                "-q",
                "shard",
                "run",
                "--plan",
                "plan",
                "--shard",
                &i.to_string(),
                "--out",
                &out,
            ],
            dir,
        ));
    }
}

fn merge(dir: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "-q", "shard", "merge", "--plan", "plan", "--parts", "parts", "--out", "merged",
    ];
    args.extend_from_slice(extra);
    ringscope(&args, dir)
}

#[test]
fn a_sharded_run_writes_the_outputs_of_one_process() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    single_run(dir);
    sharded_run(dir, 3);
    let plan: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("plan/plan.json")).unwrap()).unwrap();
    let sizes = plan["sizes"].as_array().unwrap();
    let owned: u64 = sizes.iter().map(|s| s["owned"].as_u64().unwrap()).sum();
    assert_eq!(
        owned as usize,
        scores(&dir.join("single")).len(),
        "every scored node has one shard"
    );
    ok(&merge(dir, &[]));
    let (single, merged) = (dir.join("single"), dir.join("merged"));
    assert_equal_runs(&single, &merged);
    // Scores summed in the same order: the files are byte for byte the same.
    for file in [
        "scores.csv",
        "rings.jsonl",
        "rings.csv",
        "ring_events.json",
        "summary.json",
    ] {
        assert!(
            fs::read(single.join(file)).unwrap() == fs::read(merged.join(file)).unwrap(),
            "{file} differs"
        );
    }
    assert!(merged.join("_SUCCESS").is_file());
    assert!(merged.join("report/index.html").is_file());

    // Lineage against the previous day works after a merge: today's rings continue
    // yesterday's, under the same IDs.
    let previous = single.join("rings.jsonl");
    let out = ringscope(
        &[
            "-q",
            "shard",
            "merge",
            "--plan",
            "plan",
            "--parts",
            "parts",
            "--out",
            "next",
            "--previous-rings",
            previous.to_str().unwrap(),
        ],
        dir,
    );
    ok(&out);
    let ids = |run: &str| -> Vec<String> {
        fs::read_to_string(dir.join(run).join("rings.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["ring_id"].to_string())
            .collect()
    };
    assert_eq!(ids("single"), ids("next"), "every ring keeps its ID");
    let events: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(dir.join("next/ring_events.json")).unwrap())
            .unwrap();
    let births = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["event"] == "born")
        .count();
    assert_eq!(births, 0, "nothing is new against the same day: {events}");
}

/// Runs one step of every shard of the layered plan in `<dir>/plan`.
fn layered_step(dir: &Path, shards: usize, step: usize) {
    for i in 0..shards {
        let out = format!("parts/step={step}/shard={i}");
        let previous = format!("parts/step={}", step.wrapping_sub(1));
        let (i, step) = (i.to_string(), step.to_string());
        let mut args = vec![
            "-q", "shard", "run", "--plan", "plan", "--shard", &i, "--step", &step, "--out", &out,
        ];
        if step != "0" {
            args.extend(["--rows", previous.as_str()]);
        }
        ok(&ringscope(&args, dir));
    }
}

/// The largest graph any shard of `<dir>/<parts>` held, in nodes.
fn largest_shard_graph(dir: &Path, parts: &str, shards: usize) -> u64 {
    (0..shards)
        .map(|i| {
            let record: serde_json::Value = serde_json::from_str(
                &fs::read_to_string(dir.join(format!("{parts}/shard={i}/shard.json"))).unwrap(),
            )
            .unwrap();
            record["nodes"].as_u64().unwrap()
        })
        .max()
        .unwrap()
}

#[test]
fn a_layered_run_exchanges_each_layers_rows_and_scores_as_one_process() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let sample = repo_sample();
    single_run(dir);
    ok(&ringscope(
        &[
            "-q",
            "shard",
            "plan",
            "--input",
            sample.to_str().unwrap(),
            "--shards",
            "3",
            "--out",
            "plan",
            "--layered",
        ],
        dir,
    ));
    // A layered step needs its step, and the previous step's rows after the first.
    let out = ringscope(
        &[
            "-q", "shard", "run", "--plan", "plan", "--shard", "0", "--out", "x",
        ],
        dir,
    );
    refused(&out, 78, "layered plan");
    let out = ringscope(
        &[
            "-q", "shard", "run", "--plan", "plan", "--shard", "0", "--step", "1", "--out", "x",
        ],
        dir,
    );
    assert_eq!(out.status.code(), Some(78), "{}", text(&out.stderr));
    for step in 0..=2 {
        layered_step(dir, 3, step);
    }
    ok(&ringscope(
        &[
            "-q",
            "shard",
            "merge",
            "--plan",
            "plan",
            "--parts",
            "parts/step=2",
            "--out",
            "merged",
        ],
        dir,
    ));
    assert_equal_runs(&dir.join("single"), &dir.join("merged"));

    // Each shard held the rows naming its own nodes, not the rows behind its scores.
    let halo = dir.join("halo");
    fs::create_dir_all(&halo).unwrap();
    sharded_run(&halo, 3);
    let (layered, whole) = (
        largest_shard_graph(dir, "parts/step=2", 3),
        largest_shard_graph(&halo, "parts", 3),
    );
    assert!(layered < whole, "layered {layered} nodes, halo {whole}");
}

#[test]
fn a_merge_refuses_a_missing_shard_or_pieces_of_another_plan() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    sharded_run(dir, 2);

    // A shard the plan does not have: exit 78.
    let out = ringscope(
        &[
            "-q", "shard", "run", "--plan", "plan", "--shard", "2", "--out", "wrong",
        ],
        dir,
    );
    refused(&out, 78, "shard 2 is not in the plan");

    // Another shard's events given to a shard: exit 65, and nothing written.
    let out = ringscope(
        &[
            "-q",
            "shard",
            "run",
            "--plan",
            "plan",
            "--shard",
            "0",
            "--input",
            "plan/shard=1/input",
            "--out",
            "wrong",
        ],
        dir,
    );
    refused(&out, 65, "not this plan's events");
    assert!(!dir.join("wrong").exists());

    // A shard without _SUCCESS (it failed or never ran): exit 66, naming the shard, and no
    // output at all.
    fs::remove_file(dir.join("parts/shard=1/_SUCCESS")).unwrap();
    let out = merge(dir, &[]);
    refused(&out, 66, "shard 1 has no output");
    assert!(!dir.join("merged").exists());
    fs::write(dir.join("parts/shard=1/_SUCCESS"), "").unwrap();

    // A shard's output from another plan: exit 65.
    let other = dir.join("other");
    fs::create_dir_all(&other).unwrap();
    let sample = repo_sample();
    ok(&ringscope(
        &[
            "-q",
            "shard",
            "plan",
            "--input",
            sample.to_str().unwrap(),
            "--shards",
            "2",
            "--out",
            "plan",
            "--hub-cap",
            "40",
        ],
        &other,
    ));
    let out = ringscope(
        &[
            "-q",
            "shard",
            "run",
            "--plan",
            "plan",
            "--shard",
            "1",
            "--out",
            "../parts/shard=1",
            "--hub-cap",
            "40",
        ],
        &other,
    );
    ok(&out);
    let out = merge(dir, &[]);
    refused(&out, 65, "not shard 1 of");
    assert!(!dir.join("merged").exists());

    // A config other than the plan's, for a shard or the merge: exit 65.
    let out = ringscope(
        &[
            "-q",
            "shard",
            "run",
            "--plan",
            "plan",
            "--shard",
            "1",
            "--out",
            "parts/shard=1",
            "--hub-cap",
            "40",
        ],
        dir,
    );
    refused(&out, 65, "config differs");
    ok(&ringscope(
        &[
            "-q",
            "shard",
            "run",
            "--plan",
            "plan",
            "--shard",
            "1",
            "--out",
            "parts/shard=1",
        ],
        dir,
    ));
    let out = merge(dir, &["--hub-cap", "40"]);
    assert_eq!(out.status.code(), Some(65), "{}", text(&out.stderr));

    // An input changed since the plan: exit 65, naming the input.
    let input = dir.join("input");
    fs::create_dir_all(&input).unwrap();
    for entry in fs::read_dir(&sample).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, input.join(path.file_name().unwrap())).unwrap();
    }
    let plan_path = dir.join("plan/plan.json");
    let mut plan: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(&plan_path).unwrap()).unwrap();
    plan["input"] = serde_json::json!(input);
    fs::write(&plan_path, plan.to_string()).unwrap();
    // The plan file changed, so its shards are refused first; run them again under it.
    for i in 0..2 {
        ok(&ringscope(
            &[
                "-q",
                "shard",
                "run",
                "--plan",
                "plan",
                "--shard",
                &i.to_string(),
                "--out",
                &format!("parts/shard={i}"),
            ],
            dir,
        ));
    }
    ok(&merge(dir, &[]));
    let mut reviews = fs::read_to_string(input.join("reviews.csv")).unwrap();
    reviews.push_str("r-late,u-late,p000001,5,2026-10-20T00:00:00Z,,\n");
    fs::write(input.join("reviews.csv"), reviews).unwrap();
    fs::remove_dir_all(dir.join("merged")).unwrap();
    let out = merge(dir, &[]);
    refused(
        &out,
        65,
        "differs from the one the shards were planned with",
    );
    assert!(!dir.join("merged").exists());
}

#[test]
fn a_shard_plan_refuses_the_label_free_scorer() {
    let tmp = tempfile::tempdir().unwrap();
    let out = ringscope(
        &[
            "-q",
            "shard",
            "plan",
            "--shards",
            "2",
            "--out",
            "plan",
            "--scorer",
            "label-free",
        ],
        tmp.path(),
    );
    refused(&out, 78, "label-free scorer ranks");
}

/// Whether `python3` can start a local Spark; `false` with a note unless
/// `RINGSCOPE_REQUIRE_SPARK=1` (CI), which makes its absence a failure.
fn spark_available() -> bool {
    let found = Command::new("python3")
        .args(["-c", "import pyspark, pyarrow"])
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("java")
            .arg("-version")
            .output()
            .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("RINGSCOPE_REQUIRE_SPARK").is_none_or(|v| v.is_empty() || v == "0"),
            "RINGSCOPE_REQUIRE_SPARK is set but python3 cannot import pyspark and pyarrow, or java is missing"
        );
        eprintln!(
            "skipped: no pyspark, pyarrow or java (RINGSCOPE_REQUIRE_SPARK=1 makes this a failure)"
        );
    }
    found
}

/// Runs integrations/spark/ringscope_spark.py on the sample under `local[2,2]` (two attempts
/// per task), writing partition dt=2026-12-05 under `<dir>/out`.
fn spark_job(dir: &Path, fail_shard: Option<&str>, layered: bool) -> std::process::Output {
    let job =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../integrations/spark/ringscope_spark.py");
    let sample = repo_sample();
    let mut cmd = Command::new("python3");
    cmd.arg(job)
        .args(["--input", sample.to_str().unwrap()])
        .args([
            "--out",
            "out",
            "--partition",
            "dt=2026-12-05",
            "--shards",
            "3",
        ])
        .args(["--work", "work", "--master", "local[2,2]"])
        .args(["--ringscope", env!("CARGO_BIN_EXE_ringscope")])
        .current_dir(dir)
        .env("RUST_LOG", "warn");
    if let Some(shard) = fail_shard {
        cmd.env("RINGSCOPE_SPARK_FAIL_SHARD", shard);
    }
    if layered {
        cmd.arg("--layered");
    }
    cmd.output().expect("python3 runs")
}

#[test]
fn the_spark_job_gives_one_process_scores_and_rings_in_both_modes_and_retries_a_failed_shard() {
    if !spark_available() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    single_run(dir);
    // Shard 1's first attempt fails; Spark runs it again.
    let out = spark_job(dir, Some("1:once"), false);
    ok(&out);
    assert!(
        dir.join("work/parts/.failed-1").is_file(),
        "shard 1 failed once"
    );
    let partition = dir.join("out/dt=2026-12-05");
    assert!(partition.join("_SUCCESS").is_file());
    assert_equal_runs(&dir.join("single"), &partition);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["shards"].as_array().unwrap().len(), 3, "{report}");
    // The components came from Spark SQL's label propagation, and the plan kept each one that
    // fits in a shard together.
    assert!(
        report["components_rounds"].as_u64().unwrap() >= 2,
        "{report}"
    );
    let labels = fs::read_dir(dir.join("work/components"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "csv"))
        .expect("the components file");
    let mut component: BTreeMap<String, String> = BTreeMap::new();
    for r in csv::Reader::from_path(labels).unwrap().records() {
        let r = r.unwrap();
        component.insert(r[0].to_string(), r[1].to_string());
    }
    let mut shard_of: BTreeMap<String, usize> = BTreeMap::new();
    for i in 0..3 {
        let owned = dir.join(format!("work/plan/shard={i}/owned.csv"));
        for r in csv::Reader::from_path(owned).unwrap().records() {
            let r = r.unwrap();
            if &r[0] == "account" {
                shard_of.insert(r[1].to_string(), i);
            }
        }
    }
    let mut members: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (account, label) in &component {
        members.entry(label).or_default().push(shard_of[account]);
    }
    let capacity = shard_of.len().div_ceil(3);
    let linked = members.values().filter(|m| m.len() >= 2).count();
    assert!(
        linked >= 10,
        "the sample has linked accounts: {linked} components"
    );
    for (label, shards) in &members {
        if shards.len() <= capacity {
            assert!(
                shards.iter().all(|&s| s == shards[0]),
                "component {label} split: {shards:?}"
            );
        }
    }

    // Layer by layer: three rounds of three tasks, the same scores and rings.
    fs::remove_dir_all(dir.join("out")).unwrap();
    let out = spark_job(dir, None, true);
    ok(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["shards"].as_array().unwrap().len(), 9, "{report}");
    assert_equal_runs(&dir.join("single"), &partition);

    // A shard that fails every attempt: the job fails, names it, and writes no _SUCCESS.
    fs::remove_dir_all(dir.join("out")).unwrap();
    let out = spark_job(dir, Some("2"), false);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("shard 2"),
        "{}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("no _SUCCESS written"),
        "{}",
        text(&out.stderr)
    );
    assert!(!partition.join("_SUCCESS").exists());
}
