//! Ring detection quality and time on a generated marketplace: synth (CSV) → ingest → graph →
//! projection → GNN scores with `checkpoints/default` → candidates → ring scores, against the
//! planted rings, per attack type. Prints one JSON object.
//!
//! `cargo bench --workspace --bench ring_quality -- ACCOUNTS [easy|medium|hard] [SEED] [classic|all|FAMILY,...]`

mod common;

use common::market::market;
use ringscope_rings::{
    CandidateConfig, ScoringConfig, candidates, found_rings, ring_quality, score_rings,
};
use std::collections::BTreeMap;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args = common::market::args();
    let accounts: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let difficulty = common::market::difficulty(args.get(1).map(String::as_str));
    let seed: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(7);
    let families = common::market::families(args.get(3).map(String::as_str));
    let m = market(accounts, difficulty, seed, &families);
    let [
        synth_seconds,
        build_seconds,
        score_seconds,
        projection_seconds,
    ] = m.seconds;
    let (graph, projection, scores, planted) = (&m.graph, &m.projection, &m.scores, &m.planted);

    // Ring detection proper: candidates and ring scores (the projection is timed in `market`).
    let started = Instant::now();
    let found = candidates(graph, projection, &CandidateConfig::default(), Some(scores));
    let candidate_seconds = started.elapsed().as_secs_f64();
    let candidate_count = found.len();
    let rings = score_rings(
        graph,
        projection,
        found,
        Some(scores),
        &ScoringConfig::default(),
    );
    let ring_seconds = started.elapsed().as_secs_f64() + projection_seconds;

    let n = m.accounts;
    let all_planted = m.planted_members();
    let reported: Vec<Vec<u32>> = rings.iter().map(|r| r.candidate.members.clone()).collect();
    let top: Vec<Vec<u32>> = reported.iter().take(planted.len()).cloned().collect();
    let fraud = m.fraud();
    let fraud_share = |members: &[u32]| {
        members.iter().filter(|&&a| fraud[a as usize]).count() as f64 / members.len() as f64
    };
    let found_flags = found_rings(&all_planted, &reported, &fraud);
    let mut by_attack: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for ((attack, _), &f) in planted.iter().zip(&found_flags) {
        let e = by_attack.entry(attack).or_default();
        e.0 += usize::from(f);
        e.1 += 1;
    }
    // Why each planted ring was missed: its members' scores (evidence components only take
    // accounts scoring >= min_member_score) and the reported ring covering most of it.
    let misses: Vec<serde_json::Value> = planted
        .iter()
        .zip(&found_flags)
        .filter(|(_, f)| !**f)
        .map(|((attack, members), _)| {
            let member_scores: Vec<f64> = members.iter().map(|&a| scores[a as usize]).collect();
            let suspicious = member_scores
                .iter()
                .filter(|&&s| s >= CandidateConfig::default().min_member_score)
                .count();
            let best = rings
                .iter()
                .map(|r| {
                    let covered = members
                        .iter()
                        .filter(|m| r.candidate.members.contains(m))
                        .count();
                    (covered, fraud_share(&r.candidate.members), r)
                })
                .max_by_key(|(covered, _, _)| *covered);
            serde_json::json!({
                "attack": attack,
                "size": members.len(),
                "mean_score": member_scores.iter().sum::<f64>() / members.len().max(1) as f64,
                "scoring_suspicious": suspicious,
                "best_ring": best.map(|(covered, fraud_share, r)| serde_json::json!({
                    "covers": covered,
                    "size": r.candidate.members.len(),
                    "fraud_share": fraud_share,
                    "source": r.candidate.source,
                    "score": r.score,
                })),
            })
        })
        .collect();
    // Reported rings per source, and how many of them are at least 80% planted fraud.
    let mut by_source: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in &rings {
        let pure = fraud_share(&r.candidate.members) >= 0.8;
        let e = by_source
            .entry(format!("{:?}", r.candidate.source))
            .or_default();
        e.0 += 1;
        e.1 += usize::from(pure);
    }
    let report = serde_json::json!({
        "misses": misses,
        "reported_by_source": by_source
            .iter()
            .map(|(s, (n, pure))| (s.clone(), serde_json::json!({"reported": n, "pure": pure})))
            .collect::<serde_json::Map<_, _>>(),
        "accounts": n,
        "edges": graph.num_edges(),
        "difficulty": format!("{difficulty:?}").to_lowercase(),
        "seed": seed,
        "planted_rings": planted.len(),
        "candidates": candidate_count,
        "reported_rings": reported.len(),
        "all_reported": ring_quality(&all_planted, &reported, n),
        "top_n_reported": ring_quality(&all_planted, &top, n),
        "recall_by_attack": by_attack
            .iter()
            .map(|(a, (f, p))| (a.to_string(), serde_json::json!({"found": f, "planted": p})))
            .collect::<serde_json::Map<_, _>>(),
        "peak_rss_kib_after": {
            "synth": m.peak_kib[0],
            "ingest_and_graph": m.peak_kib[1],
            "gnn_scores": m.peak_kib[2],
            "projection": m.peak_kib[3],
            "rings": ringscope_testkit::peak_rss_kib(),
        },
        "seconds": {
            "synth": synth_seconds,
            "ingest_and_graph": build_seconds,
            "gnn_scores": score_seconds,
            "projection": projection_seconds,
            "candidates": candidate_seconds,
            "ring_detection_total": ring_seconds,
        },
    });
    println!("{report}");
}
