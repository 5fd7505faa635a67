//! Small graphs with a known answer, shared by the gnn tests.
// Each test crate that includes this module uses only part of it.
#![allow(dead_code)]

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use ringscope_gnn::GnnConfig;
use ringscope_gnn::graph::{GraphEdges, RelationEdges};
use ringscope_train::{Split, TrainData};

/// A graph where fraud is visible only through the neighbourhood: fraud nodes mostly link to
/// each other, and each node's own features are a weak, noisy signal.
pub struct Planted {
    pub edges: GraphEdges,
    pub x: Vec<f32>,
    pub d: usize,
    pub labels: Vec<i8>,
    pub split: Split,
}

impl Planted {
    pub fn data(&self) -> TrainData<'_> {
        TrainData {
            edges: &self.edges,
            x: &self.x,
            labels: &self.labels,
            split: &self.split,
        }
    }
}

pub fn planted(n: usize, seed: u64) -> Planted {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let d = 4;
    let labels: Vec<i8> = (0..n).map(|i| i8::from(i % 10 == 0)).collect();
    let fraud: Vec<u32> = (0..n as u32).filter(|&i| labels[i as usize] == 1).collect();
    let benign: Vec<u32> = (0..n as u32).filter(|&i| labels[i as usize] == 0).collect();
    // Two relations, so relation-aware layers have something to tell apart: "shares" links
    // same-class nodes, "random" links anyone.
    let (mut shares, mut random) = (
        RelationEdges {
            name: "shares".into(),
            ..Default::default()
        },
        RelationEdges {
            name: "random".into(),
            ..Default::default()
        },
    );
    for v in 0..n as u32 {
        let same = if labels[v as usize] == 1 {
            &fraud
        } else {
            &benign
        };
        for _ in 0..6 {
            let u = same[rng.random_range(0..same.len())];
            shares.src.extend([u, v]);
            shares.dst.extend([v, u]);
        }
        let u = rng.random_range(0..n as u32);
        random.src.extend([u, v]);
        random.dst.extend([v, u]);
    }
    let x: Vec<f32> = (0..n * d)
        .map(|k| rng.random_range(-1.0f32..1.0) + 0.15 * f32::from(labels[k / d]))
        .collect();
    // Fraud is every tenth node, so parts are assigned by i / 10 to give each part both classes.
    let part = |i: &u32| (i / 10 + i) % 5;
    let split = Split {
        train: (0..n as u32).filter(|i| part(i) < 3).collect(),
        val: (0..n as u32).filter(|i| part(i) == 3).collect(),
        test: (0..n as u32).filter(|i| part(i) == 4).collect(),
    };
    Planted {
        edges: GraphEdges {
            num_nodes: n,
            relations: vec![shares, random],
            homogeneous: None,
        },
        x,
        d,
        labels,
        split,
    }
}

/// burn's random generator belongs to the device, which every test thread shares; training
/// tests hold this lock so a seeded run is not interleaved with another test's draws.
pub static DEVICE_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());

pub fn config(model: &str, d: usize) -> GnnConfig {
    let config = GnnConfig::new(model.into(), d)
        .with_hidden(16)
        .with_heads(2)
        .with_relations(2);
    config.validate().expect("valid test config");
    config
}
