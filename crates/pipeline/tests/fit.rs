//! `[model] fit`: a run that trains on the input's own labels, split by time, and one whose
//! labels cannot support that, which falls back to the label-free scorer and says why.

use ringscope_pipeline::Run;
use ringscope_pipeline::config::{Config, Fit};
use ringscope_synth::{OutputFormat, SynthConfig, generate, write_tables};
use std::path::Path;

/// A 1,500-buyer marketplace (seed 13) in `dir`; `relabel` rewrites its labels table.
fn marketplace(dir: &Path, relabel: impl Fn(usize, &str) -> Option<String>) {
    let config = SynthConfig {
        fraud_rate: 0.06,
        ..SynthConfig::for_accounts(1500, 13)
    };
    write_tables(&generate(&config), dir, OutputFormat::Csv).unwrap();
    let path = dir.join("labels.csv");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines = text.lines();
    let mut out = format!("{}\n", lines.next().unwrap());
    for (i, line) in lines.enumerate() {
        if let Some(l) = relabel(i, line) {
            out.push_str(&l);
            out.push('\n');
        }
    }
    std::fs::write(path, out).unwrap();
}

fn config(input: &Path, out: &Path, fit: Fit) -> Config {
    let mut config = Config::default();
    config.run.input = input.to_path_buf();
    config.run.out = Some(out.to_path_buf());
    config.run.checkpoint = ringscope_testkit::default_checkpoint();
    config.model.fit = fit;
    config
}

#[test]
fn auto_fits_on_the_input_labels_and_reports_the_latest_period_only() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    marketplace(&input, |_, l| Some(l.to_string()));
    let out = dir.path().join("out");
    let outputs = Run::new(&config(&input, &out, Fit::Auto))
        .execute()
        .unwrap();
    let record = &outputs.scores.record;
    let fit = record.fit.as_ref().expect("a model was fitted");
    assert_eq!(fit.split, "time");
    assert_eq!(record.scorer, "checkpoint");
    let (_, accounts) = outputs.graph.node_set("account").unwrap();
    let labelled = accounts
        .labels
        .as_ref()
        .unwrap()
        .iter()
        .filter(|&&l| l >= 0)
        .count();
    assert_eq!(fit.train + fit.val + fit.test, labelled);
    assert!(fit.test * 5 >= labelled - 5 && fit.test * 5 <= labelled + 5);
    assert!(fit.test_auroc > 0.85, "{fit:?}");
    assert!(out.join("model/manifest.json").is_file() && out.join("model/model.bpk").is_file());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("run_manifest.json")).unwrap())
            .unwrap();
    assert!(
        manifest["checkpoint"]["path"]
            .as_str()
            .unwrap()
            .ends_with("model")
    );
    assert_eq!(manifest["scoring"]["fit"]["test"], fit.test);
    assert!(outputs.text().contains("out-of-sample test AUROC"));

    // `never` (the default) leaves the shipped checkpoint in charge and writes no model.
    let outputs = Run::new(&config(&input, &out, Fit::Never))
        .execute()
        .unwrap();
    assert!(outputs.scores.record.fit.is_none());
    assert!(!out.join("model").exists());
}

#[test]
fn labels_that_cannot_support_a_fit_fall_back_to_label_free_and_say_why() {
    let dir = tempfile::tempdir().unwrap();
    let one_class = dir.path().join("one-class");
    marketplace(&one_class, |_, l| {
        let mut f: Vec<&str> = l.split(',').collect();
        f[1] = "0";
        f[2] = "";
        Some(f.join(","))
    });
    // Two fraud and two benign labels: too few for three periods with both classes.
    let few = dir.path().join("few");
    let kept = std::cell::RefCell::new([0, 0]);
    marketplace(&few, |_, l| {
        let class = usize::from(l.split(',').nth(1) == Some("1"));
        let mut kept = kept.borrow_mut();
        kept[class] += 1;
        (kept[class] <= 2).then(|| l.to_string())
    });
    for (input, expected) in [
        (one_class, "one class only"),
        (few, "too few labels to split by time"),
    ] {
        let outputs = Run::new(&config(&input, &dir.path().join("out"), Fit::Always))
            .execute()
            .unwrap();
        let record = &outputs.scores.record;
        assert_eq!(record.scorer, "label_free");
        assert!(record.fit.is_none());
        let why = record.fallback.as_deref().unwrap();
        assert!(
            why.starts_with("[model] fit: ") && why.contains(expected),
            "{why}"
        );
        assert!(outputs.text().contains(why));
    }
}

/// Without a labels table, investigator verdicts are what `auto` fits on (each verdict's
/// accounts stay on one side of the split: `Split::keep_together`).
#[test]
fn feedback_alone_is_enough_to_fit() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    marketplace(&input, |_, l| Some(l.to_string()));
    // The verdicts: every planted account confirmed on its own, the first 600 honest buyers
    // dismissed in groups of 20. Then the labels table goes.
    let labels = std::fs::read_to_string(input.join("labels.csv")).unwrap();
    let mut rings: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    let mut honest = Vec::new();
    for line in labels.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        match f[1] {
            "1" => rings
                .entry(f[2].to_string())
                .or_default()
                .push(f[0].to_string()),
            _ => honest.push(f[0].to_string()),
        }
    }
    let mut feedback = String::new();
    for account in rings.values().flatten() {
        feedback += &serde_json::json!({"verdict": "confirm", "accounts": [account]}).to_string();
        feedback.push('\n');
    }
    for chunk in honest[..600].chunks(20) {
        feedback += &serde_json::json!({"verdict": "dismiss", "accounts": chunk}).to_string();
        feedback.push('\n');
    }
    std::fs::remove_file(input.join("labels.csv")).unwrap();
    let path = dir.path().join("feedback.jsonl");
    std::fs::write(&path, feedback).unwrap();

    let mut config = config(&input, &dir.path().join("out"), Fit::Auto);
    config.model.feedback = Some(path);
    let outputs = Run::new(&config).execute().unwrap();
    let record = &outputs.scores.record;
    let fit = record
        .fit
        .as_ref()
        .unwrap_or_else(|| panic!("no fit: {:?}", record.fallback));
    let planted: usize = rings.values().map(Vec::len).sum();
    assert_eq!(fit.from_feedback, planted + 600);
    assert_eq!(fit.train + fit.val + fit.test, planted + 600);
}
