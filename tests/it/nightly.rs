//! The nightly contract: partitions, `_SUCCESS`, idempotence, the manifest, drift, and a run
//! killed mid-write.

use crate::{repo_sample, ringscope, text};
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

/// Every file under `dir` with its bytes, by relative path.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                files.insert(rel, fs::read(&path).unwrap());
            }
        }
    }
    files
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

fn copy_sample(to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(repo_sample()).unwrap() {
        let path = entry.unwrap().path();
        fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
    }
}

#[test]
fn partitions_rerun_byte_identically_compare_with_the_previous_day_and_survive_a_kill() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    copy_sample(&root.join("events/dt=2026-11-01"));
    copy_sample(&root.join("events/dt=2026-11-02"));
    let run = |partition: &str, abort_after: Option<&str>| {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ringscope"));
        cmd.args([
            "run",
            "--input",
            "events",
            "--out",
            "scored",
            "--partition",
            partition,
        ])
        .current_dir(root)
        .env("RUST_LOG", "warn");
        if let Some(stage) = abort_after {
            cmd.env("RINGSCOPE_ABORT_AFTER", stage);
        }
        cmd.output().unwrap()
    };

    let o = run("dt=2026-11-01", None);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let day1 = root.join("scored/dt=2026-11-01");
    assert!(day1.join("_SUCCESS").is_file());
    let m1 = json(&day1.join("run_manifest.json"));
    assert_eq!(m1["partition"], "dt=2026-11-01");
    assert!(m1["previous_rings"].is_null(), "no earlier partition");
    assert!(m1["drift"].is_null());
    // The manifest vouches for every output but itself, with the hashes of the bytes written.
    let outputs = m1["outputs"].as_array().unwrap();
    let files = snapshot(&day1);
    assert_eq!(
        outputs.len(),
        files.len() - 2,
        "all but the manifest and _SUCCESS"
    );
    for o in outputs {
        let bytes = &files[o["path"].as_str().unwrap()];
        assert_eq!(o["bytes"].as_u64().unwrap(), bytes.len() as u64);
    }
    let inputs: Vec<&str> = m1["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(inputs.contains(&"reviews.csv"), "{inputs:?}");
    assert_eq!(m1["checkpoint"]["files"].as_array().unwrap().len(), 3);
    assert_eq!(m1["config_sha256"].as_str().unwrap().len(), 64);
    let stages: Vec<&str> = m1["timings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t[0].as_str().unwrap())
        .collect();
    assert_eq!(
        stages,
        ["ingest", "graph", "projection", "score", "rings", "write"]
    );
    assert_eq!(
        m1["counts"]["rings"].as_u64().unwrap() as usize,
        fs::read_to_string(day1.join("rings.jsonl"))
            .unwrap()
            .lines()
            .count()
    );

    // The next day finds day 1 on its own: same data, so the rings continue and nothing drifts.
    let o = run("dt=2026-11-02", None);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let day2 = root.join("scored/dt=2026-11-02");
    let m2 = json(&day2.join("run_manifest.json"));
    assert!(
        m2["previous_rings"]
            .as_str()
            .unwrap()
            .ends_with("dt=2026-11-01/rings.jsonl")
    );
    let psi = m2["drift"]["psi"].as_object().unwrap();
    assert!(psi.contains_key("account_score") && psi.contains_key("reviewed_per_account"));
    assert!(psi.values().all(|v| v.as_f64().unwrap() < 1e-9), "{psi:?}");
    assert_eq!(
        fs::read_to_string(day2.join("ring_events.json")).unwrap(),
        "[]\n"
    );

    // Re-running a partition gives the same bytes; only the manifest's timings differ.
    let before = snapshot(&day2);
    let o = run("dt=2026-11-02", None);
    assert!(o.status.success(), "{}", text(&o.stderr));
    let after = snapshot(&day2);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    for (file, bytes) in &before {
        if file != "run_manifest.json" {
            assert!(bytes == &after[file], "{file} differs on a rerun");
        }
    }
    let (mut a, mut b) = (json(&day2.join("run_manifest.json")), m2.clone());
    a["timings"] = serde_json::Value::Null;
    b["timings"] = serde_json::Value::Null;
    assert_eq!(a, b);

    // Killed (SIGKILL) after each stage up to the rename: the previous output is intact, and
    // the killed run's staging directory is what it leaves.
    let staging = |root: &Path| -> Vec<String> {
        fs::read_dir(root.join("scored"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|n| n.starts_with(".staging-"))
            .collect()
    };
    for stage in ["ingest", "graph", "projection", "score", "rings", "write"] {
        let o = run("dt=2026-11-02", Some(stage));
        assert_eq!(o.status.code(), None, "{stage}: killed by a signal");
        assert_eq!(
            snapshot(&day2),
            after,
            "{stage}: the previous good output is untouched"
        );
        let left = staging(root);
        assert_eq!(left.len(), 1, "{stage}: {left:?}");
        assert!(left[0].starts_with(".staging-dt=2026-11-02-"), "{left:?}");
    }
    // The next run cleans up the killed run's staging under the partition lock and succeeds.
    let o = run("dt=2026-11-02", None);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(staging(root).is_empty());
    assert_eq!(
        snapshot(&day2).keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>()
    );
    // Killed between the rename and the marker: the output is there but not marked complete,
    // and a rerun completes it.
    let o = run("dt=2026-11-02", Some("rename"));
    assert_eq!(o.status.code(), None);
    assert!(day2.join("rings.jsonl").is_file());
    assert!(
        !day2.join("_SUCCESS").exists(),
        "an unfinished run is never marked complete"
    );
    let o = run("dt=2026-11-02", None);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert!(day2.join("_SUCCESS").is_file());

    // A second run of a partition while another holds its lock exits 75 at once, naming the
    // partition, and writes nothing.
    let lock = fs::File::create(root.join("scored/.dt=2026-11-02.lock")).unwrap();
    lock.try_lock().unwrap();
    let o = run("dt=2026-11-02", None);
    assert_eq!(o.status.code(), Some(75), "{}", text(&o.stderr));
    assert!(
        text(&o.stderr).contains("dt=2026-11-02"),
        "{}",
        text(&o.stderr)
    );
    assert!(staging(root).is_empty());
    drop(lock);
    // Another partition is not blocked by it.
    let o = run("dt=2026-11-01", None);
    assert!(o.status.success(), "{}", text(&o.stderr));
}

#[test]
fn config_file_and_flags_make_the_effective_config() {
    let tmp = tempfile::tempdir().unwrap();
    let o = ringscope(&["config", "--print"], tmp.path());
    assert!(o.status.success(), "{}", text(&o.stderr));
    let defaults: toml::Table = text(&o.stdout).parse().unwrap();
    assert_eq!(
        defaults["projection"]["max_accounts_per_identifier"].as_integer(),
        Some(50)
    );
    assert_eq!(
        defaults["run"]["checkpoint"].as_str(),
        Some("checkpoints/default")
    );

    fs::write(
        tmp.path().join("nightly.toml"),
        "[run]\npartition = \"dt=2026-11-01\"\n[projection]\nmax_accounts_per_identifier = 20\n[scoring.weights]\ngnn = 2.0\n",
    )
    .unwrap();
    let o = ringscope(
        &[
            "config",
            "--print",
            "--config",
            "nightly.toml",
            "--hub-cap",
            "30",
        ],
        tmp.path(),
    );
    assert!(o.status.success(), "{}", text(&o.stderr));
    let effective: toml::Table = text(&o.stdout).parse().unwrap();
    assert_eq!(
        effective["projection"]["max_accounts_per_identifier"].as_integer(),
        Some(30),
        "the flag wins"
    );
    assert_eq!(
        effective["scoring"]["weights"]["gnn"].as_float(),
        Some(2.0),
        "the file's value stays"
    );
    assert_eq!(
        effective["run"]["partition"].as_str(),
        Some("dt=2026-11-01")
    );

    for (file, needle) in [
        ("[scoring]\nweigths = 1\n", "weigths"),
        ("[candidates]\nmin_members = 1\n", "min_members"),
        ("[run]\npartition = \"../etc\"\n", "partition"),
        ("not toml at all", "nightly.toml"),
    ] {
        fs::write(tmp.path().join("nightly.toml"), file).unwrap();
        let o = ringscope(
            &["run", "--config", "nightly.toml", "--out", "out"],
            tmp.path(),
        );
        assert_eq!(o.status.code(), Some(78), "{file}: {}", text(&o.stderr));
        assert!(
            text(&o.stderr).contains(needle),
            "{file}: {}",
            text(&o.stderr)
        );
    }
    assert!(!tmp.path().join("out").exists());
}

/// A run that fills its disk exits 74 and leaves the previous output as it was. The output
/// lives on an 8 MiB tmpfs mounted in a private mount namespace (`unshare`), so the test needs
/// no privileges where user namespaces are allowed.
#[test]
fn a_full_disk_fails_the_run_with_74_and_keeps_the_previous_output() {
    let tmp = tempfile::tempdir().unwrap();
    let disk = tmp.path().join("disk");
    fs::create_dir(&disk).unwrap();
    let script = r#"
set -u
mount -t tmpfs -o size=8m tmpfs "$DISK" || exit 90
cd "$DISK"
"$BIN" run --input "$SAMPLE" --out out >/dev/null 2>&1; echo "first=$?"
(cd out && find . -type f | sort | xargs sha256sum) > "$HOLD/before"
# Fill the disk, then free 1 MiB: room to start the next run's outputs but not to finish them.
dd if=/dev/zero of=fill bs=64k >/dev/null 2>&1
truncate -s -1M fill
"$BIN" run --input "$SAMPLE" --out out >/dev/null 2>"$HOLD/stderr"; echo "second=$?"
(cd out && find . -type f | sort | xargs sha256sum) > "$HOLD/after"
ls -a "$DISK" > "$HOLD/entries"
"#;
    let o = std::process::Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", script])
        .env("DISK", &disk)
        .env("HOLD", tmp.path())
        .env("BIN", env!("CARGO_BIN_EXE_ringscope"))
        .env("SAMPLE", repo_sample())
        .env("RUST_LOG", "warn")
        .output()
        .expect("unshare (util-linux) runs");
    assert_ne!(
        o.status.code(),
        Some(90),
        "cannot mount a tmpfs in a user namespace here: {}",
        text(&o.stderr)
    );
    let stdout = text(&o.stdout);
    assert!(stdout.contains("first=0"), "{stdout}{}", text(&o.stderr));
    let stderr = fs::read_to_string(tmp.path().join("stderr")).unwrap();
    assert!(stdout.contains("second=74"), "{stdout}: {stderr}");
    assert!(stderr.contains("No space left on device"), "{stderr}");
    let before = fs::read_to_string(tmp.path().join("before")).unwrap();
    assert!(
        before.contains("./_SUCCESS") && before.contains("./rings.jsonl"),
        "{before}"
    );
    assert_eq!(
        before,
        fs::read_to_string(tmp.path().join("after")).unwrap(),
        "the previous output is byte for byte as it was"
    );
    let entries = fs::read_to_string(tmp.path().join("entries")).unwrap();
    assert!(
        !entries.contains(".staging-"),
        "the failed run removed its staging: {entries}"
    );
}
