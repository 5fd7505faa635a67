//! Ring detection quality and time on a generated marketplace: synth (CSV) → ingest → graph →
//! projection → GNN scores with `checkpoints/default` → candidates → ring scores, against the
//! planted rings, per attack type. Prints one JSON object.
//!
//! `cargo bench --workspace --bench ring_quality -- ACCOUNTS [easy|medium|hard] [SEED]`

use ringscope_graph::{NodeKind, ProjectionConfig, build_marketplace, project_accounts};
use ringscope_rings::{
    CandidateConfig, ScoringConfig, candidates, found_rings, ring_quality, score_rings,
};
use ringscope_synth::{Difficulty, OutputFormat, SynthConfig};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let accounts: usize = args.first().and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let difficulty = match args.get(1).map(String::as_str) {
        Some("easy") => Difficulty::Easy,
        Some("hard") => Difficulty::Hard,
        _ => Difficulty::Medium,
    };
    let seed: u64 = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(7);

    let started = Instant::now();
    let config = SynthConfig::for_accounts(accounts, seed).with_difficulty(difficulty);
    let market = ringscope_synth::generate(&config);
    let dir = tempfile::tempdir().expect("a temporary directory");
    ringscope_synth::write_tables(&market, dir.path(), OutputFormat::Csv).expect("tables written");
    let synth_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let ingested = ringscope_ingest::ingest_dir(dir.path()).expect("ingest");
    let graph = build_marketplace("bench", ingested.batch).expect("graph");
    let build_seconds = started.elapsed().as_secs_f64();

    let started = Instant::now();
    // `cargo bench` sets CARGO_MANIFEST_DIR; the compile-time path serves a direct run.
    let manifest_dir =
        std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").into());
    let checkpoint_dir = Path::new(&manifest_dir).join("../../checkpoints/default");
    let device = ringscope_gnn::device::open(ringscope_gnn::DeviceChoice::Cpu).expect("cpu");
    let checkpoint =
        ringscope_score::checkpoint::load(&checkpoint_dir, &device).expect("checkpoint");
    let all = checkpoint.score(&graph, &device).expect("scores");
    let (kind, account_set) = graph.node_set(NodeKind::Account.name()).expect("accounts");
    let scores: Vec<f64> = all[graph.kind_range(kind)]
        .iter()
        .map(|&s| f64::from(s))
        .collect();
    let score_seconds = started.elapsed().as_secs_f64();

    // Ring detection proper: projection, candidates, ring scores.
    let started = Instant::now();
    let projection = project_accounts(&graph, &ProjectionConfig::default());
    let projection_seconds = started.elapsed().as_secs_f64();
    let found = candidates(
        &graph,
        &projection,
        &CandidateConfig::default(),
        Some(&scores),
    );
    let candidate_seconds = started.elapsed().as_secs_f64() - projection_seconds;
    let candidate_count = found.len();
    let rings = score_rings(
        &graph,
        &projection,
        found,
        Some(&scores),
        &ScoringConfig::default(),
    );
    let ring_seconds = started.elapsed().as_secs_f64();

    let truth: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("_rings.json")).expect("_rings.json"),
    )
    .expect("ground truth JSON");
    let planted: Vec<(String, Vec<u32>)> = truth
        .as_array()
        .expect("a list of rings")
        .iter()
        .map(|r| {
            let members = r["members"]
                .as_array()
                .expect("members")
                .iter()
                .filter_map(|m| account_set.ids.get(m.as_str().unwrap_or("")))
                .collect();
            (r["attack"].as_str().unwrap_or("").to_string(), members)
        })
        .collect();
    let n = account_set.len();
    let all_planted: Vec<Vec<u32>> = planted.iter().map(|(_, m)| m.clone()).collect();
    let reported: Vec<Vec<u32>> = rings.iter().map(|r| r.candidate.members.clone()).collect();
    let top: Vec<Vec<u32>> = reported.iter().take(planted.len()).cloned().collect();
    let mut fraud = vec![false; n];
    all_planted
        .iter()
        .flatten()
        .for_each(|&a| fraud[a as usize] = true);
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
                    let fraud_share = r
                        .candidate
                        .members
                        .iter()
                        .filter(|&&a| fraud[a as usize])
                        .count() as f64
                        / r.candidate.members.len() as f64;
                    (covered, fraud_share, r)
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
    let report = serde_json::json!({
        "misses": misses,
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
