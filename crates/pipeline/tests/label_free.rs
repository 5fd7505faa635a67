//! The label-free scorer through the whole run, on inputs nothing here was fitted or trained on:
//! synthetic marketplaces scored for their planted rings, and YelpChi's real review events read
//! against the platform's filter labels kept outside the input.

use ringscope_pipeline::config::{Config, Scorer};
use ringscope_pipeline::{Run, RunOutputs};
use ringscope_rings::ring_quality;
use ringscope_synth::{Difficulty, OutputFormat, SynthConfig, generate, write_tables};
use std::path::Path;

fn run(input: &Path, out: &Path, scorer: Scorer) -> RunOutputs {
    let mut config = Config::default();
    config.run.input = input.to_path_buf();
    config.run.out = Some(out.to_path_buf());
    config.run.checkpoint = ringscope_testkit::default_checkpoint();
    config.model.scorer = scorer;
    Run::new(&config).execute().unwrap()
}

/// Planted rings of `input` (`_rings.json`) and the reported ones, as account indices.
fn ring_recall(input: &Path, outputs: &RunOutputs) -> ringscope_rings::RingQuality {
    let (_, accounts) = outputs.graph.node_set("account").unwrap();
    let index = |id: &str| accounts.ids.get(id).expect("a member is an account");
    let planted: Vec<Vec<u32>> = ringscope_testkit::planted_rings(input, &outputs.graph)
        .into_iter()
        .map(|(_, mut m)| {
            m.sort_unstable();
            m
        })
        .collect();
    let reported: Vec<Vec<u32>> = outputs
        .rings
        .records
        .iter()
        .map(|r| {
            let mut m: Vec<u32> = r
                .evidence
                .members
                .iter()
                .map(|m| index(&m.account))
                .collect();
            m.sort_unstable();
            m
        })
        .collect();
    ring_quality(&planted, &reported, accounts.len())
}

/// The label-free scorer alone, on medium-difficulty marketplaces (the shipped sample and
/// another seed): the rings it reports are planted ones, and it finds some of them. The issue's
/// target, ring recall 0.9, is not met (docs/studies.md, "Label-free scoring").
#[test]
fn label_free_scores_report_planted_rings_at_medium_difficulty() {
    let dir = tempfile::tempdir().unwrap();
    let other = dir.path().join("seed11");
    let config = SynthConfig {
        fraud_rate: 0.04,
        ..SynthConfig::for_accounts(4000, 11)
    }
    .with_difficulty(Difficulty::Medium);
    write_tables(&generate(&config), &other, OutputFormat::Csv).unwrap();
    for input in [ringscope_testkit::sample_dir(), other] {
        let outputs = run(&input, &dir.path().join("out"), Scorer::LabelFree);
        assert_eq!(outputs.scores.record.scorer, "label_free");
        let quality = ring_recall(&input, &outputs);
        eprintln!("{}: {quality:?}", input.display());
        assert!(
            quality.ring_precision >= 0.7,
            "{}: {quality:?}",
            input.display()
        );
        assert!(
            quality.ring_recall >= 0.4,
            "{}: {quality:?}",
            input.display()
        );
        // The reasons name label-free signals, and removing them lowers the members' score.
        let reasons = outputs.rings.records[0].reasons.as_ref().unwrap();
        assert!(!reasons.features.is_empty());
        assert!(
            reasons.score_without_features < reasons.score,
            "{reasons:?}"
        );
    }
}

/// A new user's first run on real data: YelpChi's raw review events, no labels, the shipped
/// checkpoint. The checkpoint cannot vouch for this input, so the label-free scorer takes over,
/// scores every account and seller, flags at most `max_flag_rate` of them, and ranks the
/// platform's filtered reviewers (kept outside the input) above chance.
#[test]
fn yelp_out_of_the_box_is_scored_label_free_and_flags_little() {
    let Some(dir) = ringscope_testkit::dataset("yelpchi_reviews") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let outputs = run(&dir.join("input"), out.path(), Scorer::Checkpoint);
    let scores = &outputs.scores;
    let record = &scores.record;
    let applicability = record.applicability.as_ref().expect("the check ran");
    assert!(!applicability.in_domain, "{applicability:?}");
    assert!(record.fallback.is_some());
    assert_eq!(record.scorer, "label_free");

    let (_, accounts) = outputs.graph.node_set("account").unwrap();
    let (_, sellers) = outputs.graph.node_set("seller").unwrap();
    assert_eq!(scores.rows.len(), accounts.len() + sellers.len());
    assert!(scores.rows.iter().all(|r| r.label == -1), "no labels given");
    let flagged = scores.flagged();
    assert!(flagged > 0);
    assert!(
        flagged as f64 <= 0.02 * scores.rows.len() as f64,
        "{flagged} of {} flagged",
        scores.rows.len()
    );
    let csv = std::fs::read_to_string(out.path().join("scores.csv")).unwrap();
    assert!(
        csv.lines().skip(1).all(|l| l.ends_with(',')),
        "empty labels"
    );
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(out.path().join("run_manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["scoring"]["scorer"], "label_free");
    assert_eq!(manifest["counts"]["accounts_flagged"], flagged);

    // The scores as `scores.csv` holds them (six decimals), so ties there count.
    let by_id: std::collections::HashMap<&str, f64> = scores
        .rows
        .iter()
        .map(|r| (r.id.as_str(), ringscope_export::as_written(r.score)))
        .collect();
    let truth = ringscope_testkit::read_truth(&dir.join("truth.csv"));
    let values: Vec<f64> = truth.iter().map(|(id, _)| by_id[id.as_str()]).collect();
    let labels: Vec<bool> = truth.iter().map(|(_, l)| *l).collect();
    let auroc = ringscope_testkit::auroc(&values, &labels).unwrap();
    eprintln!("yelpchi_reviews, label-free through the run: AUROC {auroc:.4}, {flagged} flagged");
    assert!(auroc >= 0.65, "label-free AUROC {auroc:.4}");

    // Its rings are not co-review coincidences: their members are filtered reviewers far more
    // often than the base rate.
    let truth: std::collections::HashMap<&str, bool> =
        truth.iter().map(|(id, l)| (id.as_str(), *l)).collect();
    let members: Vec<bool> = outputs
        .rings
        .records
        .iter()
        .flat_map(|r| r.evidence.members.iter().map(|m| truth[m.account.as_str()]))
        .collect();
    let share = members.iter().filter(|&&l| l).count() as f64 / members.len() as f64;
    let base = labels.iter().filter(|&&l| l).count() as f64 / labels.len() as f64;
    eprintln!(
        "{} rings, members {share:.3} spam against a base rate of {base:.3}",
        outputs.rings.records.len()
    );
    assert!(
        share > 2.0 * base,
        "ring members {share:.3} spam, base rate {base:.3}"
    );
}

/// With `on_out_of_domain = "fail"` the same run stops before writing anything.
#[test]
fn yelp_with_fail_stops_as_out_of_domain() {
    let Some(dir) = ringscope_testkit::dataset("yelpchi_reviews") else {
        return;
    };
    let out = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.run.input = dir.join("input");
    config.run.out = Some(out.path().join("o"));
    config.run.checkpoint = ringscope_testkit::default_checkpoint();
    config.model.on_out_of_domain = ringscope_pipeline::config::OnOutOfDomain::Fail;
    let err = Run::new(&config).execute().err().expect("refused");
    assert!(
        matches!(err.root(), ringscope_pipeline::Error::OutOfDomain(_)),
        "{err}"
    );
    assert!(!out.path().join("o").exists());
}

/// The cap holds on an input the checkpoint knows, and the record says whether it cut in.
#[test]
fn the_flag_cap_bounds_the_checkpoint_too() {
    let out = tempfile::tempdir().unwrap();
    let mut config = Config::default();
    config.run.input = ringscope_testkit::sample_dir();
    config.run.out = Some(out.path().join("o"));
    config.run.checkpoint = ringscope_testkit::default_checkpoint();
    for rate in [0.005, 0.5] {
        config.model.max_flag_rate = rate;
        let outputs = Run::new(&config).execute().unwrap();
        let s = &outputs.scores;
        let r = &s.record;
        assert_eq!(r.scorer, "checkpoint");
        assert!(r.applicability.as_ref().unwrap().in_domain);
        let at_model = r.flagged_at_model_threshold.unwrap();
        assert!(s.flagged() as f64 <= rate * s.rows.len() as f64);
        assert_eq!(r.cap_cut_in, s.flagged() < at_model, "{rate}: {r:?}");
        if rate == 0.5 {
            assert_eq!(
                s.flagged(),
                at_model,
                "a loose cap leaves the model's threshold"
            );
        }
    }
}
