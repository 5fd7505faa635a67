//! Rings on marketplaces the shipped checkpoint never saw, planted with every attack family
//! (seeds used by no tuning run), and on an honest marketplace whose busy targets must not
//! turn into rings.

mod common;

use common::account_scores;
use ringscope_graph::{
    HeteroGraph, NodeKind, Projection, ProjectionConfig, build_marketplace, project_accounts,
};
use ringscope_rings::{
    CandidateConfig, ScoringConfig, Source, candidates, found_rings, is_pure, ring_quality,
    score_rings,
};
use ringscope_synth::{AttackKind, Difficulty, OutputFormat, SynthConfig, generate, write_tables};
use std::collections::BTreeMap;

/// The graph of a generated marketplace and its planted rings as `(attack, members)`.
fn marketplace(config: &SynthConfig) -> (HeteroGraph, Vec<(String, Vec<u32>)>) {
    let dir = tempfile::tempdir().unwrap();
    write_tables(&generate(config), dir.path(), OutputFormat::Csv).unwrap();
    let graph =
        build_marketplace("t", ringscope_ingest::ingest_dir(dir.path()).unwrap().batch).unwrap();
    let planted = ringscope_testkit::planted_rings(dir.path(), &graph);
    (graph, planted)
}

/// The member lists of the rings a run reports on `graph` with `config` and the account
/// `scores`, highest first.
fn reported(
    graph: &HeteroGraph,
    projection: &Projection,
    config: &CandidateConfig,
    scores: &[f64],
) -> Vec<Vec<u32>> {
    let found = candidates(graph, projection, config, Some(scores));
    score_rings(
        graph,
        projection,
        found,
        Some(scores),
        &ScoringConfig::default(),
    )
    .into_iter()
    .map(|r| r.candidate.members)
    .collect()
}

/// A marketplace's planted rings and which accounts they hold, for counting the groups a
/// search forms.
struct Truth {
    rings: Vec<Vec<u32>>,
    fraud: Vec<bool>,
}

impl Truth {
    fn new(planted: &[(String, Vec<u32>)], accounts: usize) -> Self {
        let rings: Vec<Vec<u32>> = planted.iter().map(|(_, m)| m.clone()).collect();
        let mut fraud = vec![false; accounts];
        rings
            .iter()
            .flatten()
            .for_each(|&a| fraud[a as usize] = true);
        Truth { rings, fraud }
    }

    /// Planted rings that one of `groups` finds (`rings::found_rings`).
    fn found(&self, groups: &[Vec<u32>]) -> usize {
        found_rings(&self.rings, groups, &self.fraud)
            .into_iter()
            .filter(|&f| f)
            .count()
    }

    /// Groups at least 80% planted.
    fn pure(&self, groups: &[Vec<u32>]) -> usize {
        groups.iter().filter(|g| is_pure(g, &self.fraud)).count()
    }
}

/// Two held-out seeds at medium difficulty, every family: the reported rings are at least 90%
/// pure, most planted rings are found, and each family is found at least once. Measured when
/// written: 16 of 16 and 11 of 19 found, ring precision 1.00 and 0.94.
#[test]
fn every_family_is_found_on_held_out_marketplaces() {
    let (mut found_total, mut planted_total) = (0, 0);
    let mut by_family: BTreeMap<String, usize> = BTreeMap::new();
    for seed in [61, 62] {
        let config = SynthConfig::for_accounts(8_000, seed)
            .with_difficulty(Difficulty::Medium)
            .with_families(&AttackKind::ALL);
        let (graph, planted) = marketplace(&config);
        let scores = account_scores(&graph);
        let projection = project_accounts(&graph, &ProjectionConfig::default());
        let reported = reported(&graph, &projection, &CandidateConfig::default(), &scores);
        let truth = Truth::new(&planted, projection.graph.node_count());
        let quality = ring_quality(&truth.rings, &reported, truth.fraud.len());
        assert!(quality.ring_precision >= 0.9, "seed {seed}: {quality:?}");
        for ((attack, _), hit) in
            planted
                .iter()
                .zip(found_rings(&truth.rings, &reported, &truth.fraud))
        {
            *by_family.entry(attack.clone()).or_default() += usize::from(hit);
        }
        found_total += quality.found;
        planted_total += quality.planted;
    }
    assert!(
        found_total * 10 >= planted_total * 7,
        "{found_total} of {planted_total} rings found: {by_family:?}"
    );
    for kind in AttackKind::ALL {
        assert!(
            by_family[kind.name()] >= 1,
            "no {} ring found: {by_family:?}",
            kind.name()
        );
    }
}

/// An honest marketplace, viral bursts included, with every account suspicious (the worst
/// case for the co-target and cohort searches): chance co-activity makes no co-target group or
/// cohort, and no candidate beats chance by much.
#[test]
fn organic_traffic_of_busy_targets_forms_no_co_target_ring() {
    let config = SynthConfig {
        fraud_rate: 0.0,
        ..SynthConfig::for_accounts(6_000, 41)
    };
    let (graph, planted) = marketplace(&config);
    assert!(planted.is_empty());
    let accounts = graph.node_set(NodeKind::Account.name()).unwrap().1.len();
    let projection = project_accounts(&graph, &ProjectionConfig::default());
    let everyone = vec![1.0; accounts];
    let found = candidates(
        &graph,
        &projection,
        &CandidateConfig::default(),
        Some(&everyone),
    );
    let searched: Vec<_> = found
        .iter()
        .filter(|c| matches!(c.source, Source::CoTarget | Source::Cohort | Source::Focus))
        .map(|c| (c.members.len(), c.significance))
        .collect();
    assert!(searched.is_empty(), "{searched:?}");
    let strongest = found
        .iter()
        .map(|c| c.significance.value)
        .fold(0.0, f64::max);
    assert!(
        strongest < 3.0,
        "an honest candidate at significance {strongest}"
    );
}

/// Taken-over accounts switch devices, IPs and seller at once; the behaviour-change detector
/// flags most of them and almost nobody else.
#[test]
fn takeovers_are_told_from_their_own_history() {
    let config = SynthConfig::for_accounts(8_000, 63).with_families(&[AttackKind::Takeover]);
    let (graph, planted) = marketplace(&config);
    let actions = ringscope_rings::activity::Actions::of(&graph);
    let change = ringscope_rings::takeover::behaviour_change(&graph, &actions, &Default::default());
    let threshold = ringscope_rings::TakeoverConfig::default().min_share;
    let mut taken = vec![false; change.len()];
    planted
        .iter()
        .flat_map(|(_, m)| m)
        .for_each(|&a| taken[a as usize] = true);
    let flagged = |want: bool| {
        let group: Vec<f64> = (0..change.len())
            .filter(|&a| taken[a] == want)
            .map(|a| change[a])
            .collect();
        group.iter().filter(|&&c| c >= threshold).count() as f64 / group.len() as f64
    };
    let (victims, others) = (flagged(true), flagged(false));
    assert!(
        victims >= 0.6 && others <= 0.01,
        "victims {victims:.3}, others {others:.4}"
    );
}

/// Slow rings share nothing and spread their reviews over weeks, and the model scores their
/// members low; the seller-wide co-target search (small catalogues) and the focus search (a few
/// products of a big one) find them from who engages which of a seller's products alone, and
/// what they form is planted. Held-out seeds at hard difficulty (6–12 members over 4 weeks).
/// Measured when written: 32 of 54 found, 16 without the focus search, every group pure; with
/// each seller's custom estimated without the pairs it cannot explain, 37 of 54, 35 of 35 pure.
#[test]
fn slow_rings_are_found_by_the_model_free_searches() {
    let (mut found, mut without_focus, mut planted_total, mut groups, mut pure) = (0, 0, 0, 0, 0);
    for seed in [64, 65] {
        let config = SynthConfig::for_accounts(8_000, seed)
            .with_difficulty(Difficulty::Hard)
            .with_families(&[AttackKind::SlowRing]);
        let (graph, planted) = marketplace(&config);
        let actions = ringscope_rings::activity::Actions::of(&graph);
        let everyone = vec![true; actions.accounts()];
        let co_target = ringscope_rings::CoTargetConfig::default();
        let null = ringscope_rings::significance::NullModel::new(
            &actions,
            &everyone,
            co_target.min_seller_products,
        );
        let sizes = (3, 100);
        let focus = ringscope_rings::cotarget::focus_candidates(&null, &actions, &co_target, sizes);
        // Every HashMap hashes differently, so a second search would show an order taken from
        // one.
        let again = ringscope_rings::cotarget::focus_candidates(&null, &actions, &co_target, sizes);
        let lists = |groups: &[ringscope_rings::cotarget::Group]| -> Vec<(Vec<u32>, Vec<u32>)> {
            groups
                .iter()
                .map(|g| (g.members.clone(), g.products.clone()))
                .collect()
        };
        assert_eq!(
            lists(&focus),
            lists(&again),
            "seed {seed}: the same groups in the same order"
        );
        let sellers: Vec<Vec<u32>> =
            ringscope_rings::cotarget::co_target_candidates(&null, &co_target, sizes)
                .into_iter()
                .map(|g| g.members)
                .collect();
        let formed: Vec<Vec<u32>> = focus
            .into_iter()
            .map(|g| g.members)
            .chain(sellers.iter().cloned())
            .collect();
        let truth = Truth::new(&planted, actions.accounts());
        found += truth.found(&formed);
        without_focus += truth.found(&sellers);
        planted_total += truth.rings.len();
        groups += formed.len();
        pure += truth.pure(&formed);
    }
    eprintln!(
        "{found} of {planted_total} slow rings ({without_focus} without focus), {pure} of {groups} groups pure"
    );
    assert!(
        found * 3 >= planted_total * 2,
        "{found} of {planted_total} found"
    );
    assert!(found > without_focus, "the focus search adds rings");
    assert_eq!(pure, groups, "{pure} of {groups} groups pure");
}

/// Sleeper accounts are registered in one batch over several hours (8 h at hard difficulty)
/// and share nothing else. The cohort search tests a 6-hour and a one-day window per target and
/// keeps the more significant: the day's window holds whole batches that the 6-hour one cuts,
/// and what it forms is planted. Chance comes from the births around a window, not in it,
/// which the batch itself fills. Held-out seeds, hard difficulty.
/// Measured when written: 32 of 54 formed, 23 with the 6-hour window alone, 79 of 79 cohorts
/// pure; with chance taken from the births around the window: 47 of 54, 34, and 116 of 117
/// (the other 7 of 9).
#[test]
fn cohorts_registered_over_hours_are_formed_whole() {
    let (mut found, mut short_only, mut planted_total, mut groups, mut pure) = (0, 0, 0, 0, 0);
    for seed in [64, 65] {
        let config = SynthConfig::for_accounts(8_000, seed)
            .with_difficulty(Difficulty::Hard)
            .with_families(&[AttackKind::Sleeper]);
        let (graph, planted) = marketplace(&config);
        let actions = ringscope_rings::activity::Actions::of(&graph);
        let both = ringscope_rings::CoTargetConfig::default();
        let short = ringscope_rings::CoTargetConfig {
            cohort_long_secs: 0,
            ..both.clone()
        };
        assert_eq!(both.cohort_windows(), [6 * 3_600, 86_400]);
        let cohorts = |config| -> Vec<Vec<u32>> {
            ringscope_rings::cotarget::cohort_candidates(&actions, config, (3, 100))
                .into_iter()
                .map(|g| g.members)
                .collect()
        };
        let (formed, formed_short) = (cohorts(&both), cohorts(&short));
        let truth = Truth::new(&planted, actions.accounts());
        found += truth.found(&formed);
        short_only += truth.found(&formed_short);
        planted_total += truth.rings.len();
        groups += formed.len();
        pure += truth.pure(&formed);
    }
    eprintln!(
        "{found} of {planted_total} sleeper rings formed ({short_only} with the 6-hour window alone), {pure} of {groups} cohorts pure"
    );
    assert!(found > short_only, "{found} against {short_only}");
    assert!(found * 4 >= planted_total * 3, "{found} of {planted_total}");
    assert!(pure * 20 >= groups * 19, "{pure} of {groups} cohorts pure");
}

/// Coordinated rings share no identifier and spread their reviews over two days at hard
/// difficulty; with co-reviews paired within a day (the projection's default) more of them are
/// reported than with the old 6-hour window, at ring precision >= 0.9. Held-out seeds.
/// Measured when written: 38 of 47 found (precision 1.00 and 0.96), 21 with six hours.
#[test]
fn coordinated_rings_spread_over_days_are_paired_by_the_day_window() {
    let (mut found_day, mut found_six, mut planted_total) = (0, 0, 0);
    for seed in [64, 65] {
        let config = SynthConfig::for_accounts(8_000, seed)
            .with_difficulty(Difficulty::Hard)
            .with_families(&[AttackKind::Coordinated]);
        let (graph, planted) = marketplace(&config);
        let scores = account_scores(&graph);
        let all: Vec<Vec<u32>> = planted.iter().map(|(_, m)| m.clone()).collect();
        let run = |window: i64| {
            let projection = project_accounts(
                &graph,
                &ProjectionConfig {
                    co_review_window_secs: window,
                    ..ProjectionConfig::default()
                },
            );
            let reported = reported(&graph, &projection, &CandidateConfig::default(), &scores);
            ring_quality(&all, &reported, projection.graph.node_count())
        };
        let (day, six) = (
            run(ProjectionConfig::default().co_review_window_secs),
            run(6 * 3_600),
        );
        eprintln!("seed {seed}: one day {day:?}; six hours {six:?}");
        assert!(day.ring_precision >= 0.9, "seed {seed}: {day:?}");
        found_day += day.found;
        found_six += six.found;
        planted_total += day.planted;
    }
    eprintln!("{found_day} (one day) and {found_six} (six hours) of {planted_total} found");
    assert!(found_day > found_six, "{found_day} against {found_six}");
    assert!(
        found_day * 3 >= planted_total * 2,
        "{found_day} of {planted_total}"
    );
}

/// At hard difficulty every family's members also review popular products (camouflage), and
/// those co-reviews glue rings into components of several rings, where each ring is no more
/// than a fragment; splitting a component whose own communities reach
/// `min_split_modularity` reports them apart. Held-out seeds, every family. Measured when
/// written: 68 of 73 found with the split, 62 without, ring precision 1.00 on every seed.
#[test]
fn rings_glued_by_camouflage_are_split_apart() {
    let (mut found_split, mut found_whole, mut planted_total) = (0, 0, 0);
    for seed in [63, 64, 65] {
        let config = SynthConfig::for_accounts(8_000, seed).with_difficulty(Difficulty::Hard);
        let (graph, planted) = marketplace(&config);
        let scores = account_scores(&graph);
        let projection = project_accounts(&graph, &ProjectionConfig::default());
        let all: Vec<Vec<u32>> = planted.iter().map(|(_, m)| m.clone()).collect();
        let run = |min_split_modularity: f64| {
            let config = CandidateConfig {
                min_split_modularity,
                ..CandidateConfig::default()
            };
            let reported = reported(&graph, &projection, &config, &scores);
            ring_quality(&all, &reported, projection.graph.node_count())
        };
        let (split, whole) = (
            run(CandidateConfig::default().min_split_modularity),
            run(1.0),
        );
        eprintln!("seed {seed}: split {split:?}; whole {whole:?}");
        assert!(split.ring_precision >= 0.9, "seed {seed}: {split:?}");
        found_split += split.found;
        found_whole += whole.found;
        planted_total += split.planted;
    }
    eprintln!("{found_split} (split) and {found_whole} (whole) of {planted_total} found");
    assert!(
        found_split > found_whole,
        "{found_split} against {found_whole}"
    );
}
