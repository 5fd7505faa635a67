//! A generated marketplace ready for ring detection: synth (CSV) → ingest → graph → GNN scores
//! with `checkpoints/default`, and its planted rings as account indices.

use ringscope_graph::{
    HeteroGraph, NodeKind, Projection, ProjectionConfig, build_marketplace, project_accounts,
};
use ringscope_rings::{CandidateConfig, ScoredRing, ScoringConfig, candidates, score_rings};
use ringscope_synth::{AttackKind, Difficulty, OutputFormat, SynthConfig};
use std::path::Path;
use std::time::Instant;

pub struct Market {
    pub graph: HeteroGraph,
    pub projection: Projection,
    /// GNN fraud probability per account.
    pub scores: Vec<f64>,
    /// `(attack, members)` per planted ring.
    pub planted: Vec<(String, Vec<u32>)>,
    pub accounts: usize,
    /// Seconds: synth, ingest and graph, GNN scores, projection.
    pub seconds: [f64; 4],
    /// The process's peak resident memory (KiB, Linux's VmHWM) after the same four stages.
    pub peak_kib: [u64; 4],
}

/// The bench's own arguments (`cargo bench` adds `--bench`).
pub fn args() -> Vec<String> {
    std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect()
}

pub fn families(arg: Option<&str>) -> Vec<AttackKind> {
    match arg {
        None | Some("classic") => AttackKind::CLASSIC.to_vec(),
        Some("all") => AttackKind::ALL.to_vec(),
        Some(list) => list
            .split(',')
            .map(|n| AttackKind::from_name(n).expect("a family name"))
            .collect(),
    }
}

pub fn difficulty(arg: Option<&str>) -> Difficulty {
    match arg {
        Some("easy") => Difficulty::Easy,
        Some("hard") => Difficulty::Hard,
        _ => Difficulty::Medium,
    }
}

pub fn market(
    accounts: usize,
    difficulty: Difficulty,
    seed: u64,
    families: &[AttackKind],
) -> Market {
    let started = Instant::now();
    let config = SynthConfig::for_accounts(accounts, seed)
        .with_difficulty(difficulty)
        .with_families(families);
    let generated = ringscope_synth::generate(&config);
    let dir = tempfile::tempdir().expect("a temporary directory");
    ringscope_synth::write_tables(&generated, dir.path(), OutputFormat::Csv)
        .expect("tables written");
    // The pipeline reads the files, as a run does; the generator's copy is not part of it.
    drop(generated);
    let synth = started.elapsed().as_secs_f64();
    let synth_peak = ringscope_testkit::peak_rss_kib();

    let started = Instant::now();
    let ingested = ringscope_ingest::ingest_dir(dir.path()).expect("ingest");
    let graph = build_marketplace("bench", ingested.batch).expect("graph");
    let build = started.elapsed().as_secs_f64();
    let build_peak = ringscope_testkit::peak_rss_kib();

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
    let score = started.elapsed().as_secs_f64();
    let score_peak = ringscope_testkit::peak_rss_kib();

    let started = Instant::now();
    let projection = project_accounts(&graph, &ProjectionConfig::default());
    let project = started.elapsed().as_secs_f64();

    let planted = ringscope_testkit::planted_rings(dir.path(), &graph);
    let accounts = account_set.len();
    Market {
        graph,
        projection,
        scores,
        planted,
        accounts,
        seconds: [synth, build, score, project],
        peak_kib: [
            synth_peak,
            build_peak,
            score_peak,
            ringscope_testkit::peak_rss_kib(),
        ],
    }
}

impl Market {
    /// Candidates and ring scores under `candidates` and `scoring`.
    pub fn rings(&self, candidate: &CandidateConfig, scoring: &ScoringConfig) -> Vec<ScoredRing> {
        let found = candidates(&self.graph, &self.projection, candidate, Some(&self.scores));
        score_rings(
            &self.graph,
            &self.projection,
            found,
            Some(&self.scores),
            scoring,
        )
    }

    /// Every candidate's members under `candidate`, before scoring.
    pub fn candidate_members(&self, candidate: &CandidateConfig) -> Vec<Vec<u32>> {
        candidates(&self.graph, &self.projection, candidate, Some(&self.scores))
            .into_iter()
            .map(|c| c.members)
            .collect()
    }

    /// The planted rings' members, ring by ring.
    pub fn planted_members(&self) -> Vec<Vec<u32>> {
        self.planted.iter().map(|(_, m)| m.clone()).collect()
    }

    /// Per account: whether it is in any planted ring.
    pub fn fraud(&self) -> Vec<bool> {
        let mut fraud = vec![false; self.accounts];
        for (_, members) in &self.planted {
            members.iter().for_each(|&a| fraud[a as usize] = true);
        }
        fraud
    }
}
