//! The leave-one-family-out protocol for ring settings, so that tuning cannot fit our own
//! generator: for each attack family F and difficulty, ring settings are chosen on a tuning
//! marketplace planted with every family but F, then applied to a test marketplace (another
//! seed) planted with every family, and the recall on F's rings is measured there. Prints one
//! JSON object per (difficulty, family), then a summary line.
//!
//! `cargo bench --workspace --bench ring_lofo -- [ACCOUNTS] [TUNE_SEED] [TEST_SEED] [easy,medium,hard] [focus=off]`
//!
//! `focus=off` turns the within-seller focus search off (`[candidates.co_target] focus`), for
//! a before-and-after on the same marketplaces.
//!
//! The grid: `min_member_score` × `min_significance` × `report_threshold` × the significance
//! signal's weight × the Louvain `resolution` (1 or 2) that splits large evidence components.
//! The choice: the highest ring recall at ring precision >= 0.9 on the tuning marketplace
//! (ties: higher precision, then the grid's order, which puts resolution 1 first); without any
//! setting at 0.9, the most precise.
//!
//! `held_out_formed` counts the held-out rings some candidate forms before scoring: a ring
//! missing there was lost at formation, one formed but not found was lost at scoring.

mod common;

use common::market::{Market, market};
use ringscope_rings::{CandidateConfig, ScoringConfig, SignalWeights, found_rings, ring_quality};
use ringscope_synth::AttackKind;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const MEMBER_SCORES: [f64; 3] = [0.3, 0.5, 0.7];
const SIGNIFICANCES: [f64; 4] = [0.0, 1.0, 2.0, 3.0];
const THRESHOLDS: [f64; 3] = [0.25, 0.3, 0.35];
const SIGNIFICANCE_WEIGHTS: [f64; 2] = [0.0, 0.3];
const RESOLUTIONS: [f64; 2] = [1.0, 2.0];

/// One grid point: `min_member_score`, `min_significance`, `report_threshold`, the
/// significance weight and the Louvain resolution.
type Point = (f64, f64, f64, f64, f64);

/// One grid point, on top of `base`.
fn setting(
    base: &CandidateConfig,
    (member, significance, threshold, weight, resolution): Point,
) -> (CandidateConfig, ScoringConfig) {
    let defaults = ScoringConfig::default();
    (
        CandidateConfig {
            min_member_score: member,
            resolution,
            ..base.clone()
        },
        ScoringConfig {
            min_significance: significance,
            report_threshold: threshold,
            weights: SignalWeights {
                significance: weight,
                ..defaults.weights.clone()
            },
            ..defaults
        },
    )
}

/// Reported member lists of `m` under a setting.
fn reported(m: &Market, (c, s): &(CandidateConfig, ScoringConfig)) -> Vec<Vec<u32>> {
    m.rings(c, s)
        .into_iter()
        .map(|r| r.candidate.members)
        .collect()
}

/// Found / planted among `m`'s rings of `family`, under `reports`.
fn family_recall(m: &Market, reports: &[Vec<u32>], family: &str) -> (usize, usize) {
    let found = found_rings(&m.planted_members(), reports, &m.fraud());
    let mine = m
        .planted
        .iter()
        .zip(&found)
        .filter(|((a, _), _)| a == family);
    mine.fold((0, 0), |(f, n), (_, &hit)| (f + usize::from(hit), n + 1))
}

fn main() {
    let args = common::market::args();
    let accounts: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let tune_seed: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(101);
    let test_seed: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(202);
    let difficulties = args.get(3).map_or("medium,hard", String::as_str);
    let mut base = CandidateConfig::default();
    base.co_target.focus = args.get(4).map(String::as_str) != Some("focus=off");

    let grid: Vec<Point> = MEMBER_SCORES
        .iter()
        .flat_map(|&m| {
            SIGNIFICANCES.iter().flat_map(move |&s| {
                THRESHOLDS.iter().flat_map(move |&t| {
                    SIGNIFICANCE_WEIGHTS
                        .iter()
                        .flat_map(move |&w| RESOLUTIONS.iter().map(move |&r| (m, s, t, w, r)))
                })
            })
        })
        .collect();
    let mut summary = Vec::new();
    for name in difficulties.split(',') {
        let difficulty = common::market::difficulty(Some(name));
        let test = market(accounts, difficulty, test_seed, &AttackKind::ALL);
        for family in AttackKind::ALL {
            let others: Vec<AttackKind> = AttackKind::ALL
                .into_iter()
                .filter(|&k| k != family)
                .collect();
            let tune = market(accounts, difficulty, tune_seed, &others);
            let tune_all = tune.planted_members();
            let mut best: Option<(Point, f64, f64)> = None;
            for &point in &grid {
                let reports = reported(&tune, &setting(&base, point));
                let q = ring_quality(&tune_all, &reports, tune.accounts);
                let key = |recall: f64, precision: f64| {
                    if precision >= 0.9 {
                        (1.0, recall, precision)
                    } else {
                        (0.0, precision, recall)
                    }
                };
                let better =
                    best.is_none_or(|(_, r, p)| key(q.ring_recall, q.ring_precision) > key(r, p));
                if better {
                    best = Some((point, q.ring_recall, q.ring_precision));
                }
            }
            let (point, tune_recall, tune_precision) = best.expect("a grid");
            let chosen = setting(&base, point);
            let reports = reported(&test, &chosen);
            let test_all = test.planted_members();
            let q = ring_quality(&test_all, &reports, test.accounts);
            let (found, planted) = family_recall(&test, &reports, family.name());
            let defaults = reported(&test, &(base.clone(), ScoringConfig::default()));
            let (found_default, _) = family_recall(&test, &defaults, family.name());
            // Every candidate the chosen setting forms, before scoring: a held-out ring missing
            // here was lost at formation, one found here but not above was lost at scoring.
            let formed = test.candidate_members(&chosen.0);
            let (found_formed, _) = family_recall(&test, &formed, family.name());
            let line = serde_json::json!({
                "difficulty": name,
                "held_out": family.name(),
                "chosen": {"min_member_score": point.0, "min_significance": point.1, "report_threshold": point.2, "significance_weight": point.3, "resolution": point.4},
                "tuning": {"ring_recall": tune_recall, "ring_precision": tune_precision},
                "held_out_found": found,
                "held_out_planted": planted,
                "held_out_recall": found as f64 / planted.max(1) as f64,
                "test_ring_precision": q.ring_precision,
                "test_ring_recall_all": q.ring_recall,
                "held_out_found_with_defaults": found_default,
                "held_out_formed": found_formed,
            });
            println!("{line}");
            summary.push(line);
        }
    }
    let pass = |d: &str, recall: f64| {
        summary.iter().filter(|l| l["difficulty"] == d).all(|l| {
            l["held_out_recall"].as_f64() >= Some(recall)
                && l["test_ring_precision"].as_f64() >= Some(0.9)
        })
    };
    println!(
        "{}",
        serde_json::json!({
            "summary": true,
            "accounts": accounts,
            "focus": base.co_target.focus,
            "tune_seed": tune_seed,
            "test_seed": test_seed,
            "medium_meets_0.90_at_0.90": pass("medium", 0.9),
            "hard_meets_0.80_at_0.90": pass("hard", 0.8),
        })
    );
}
