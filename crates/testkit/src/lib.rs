//! Test support shared by the crates' tests: small hand-built graphs whose every edge a test can
//! reason about, and the paths of the committed sample. It links neither burn nor polars' readers
//! beyond what `graph` already needs, so tests that use it build quickly.
#![warn(missing_docs)]

pub mod fuzz;

use ringscope_graph::{HeteroGraph, NodeSet, Relation};
use ringscope_ingest::Interner;
use std::path::PathBuf;

/// IDs `<prefix>0`, `<prefix>1`, ... interned in order.
pub fn interner(n: usize, prefix: &str) -> Interner {
    let mut ids = Interner::new();
    for k in 0..n {
        ids.intern(&format!("{prefix}{k}"))
            .expect("fewer than u32::MAX IDs");
    }
    ids
}

/// These IDs interned in order.
pub fn interner_of(names: &[&str]) -> Interner {
    let mut ids = Interner::new();
    for name in names {
        ids.intern(name).expect("fewer than u32::MAX IDs");
    }
    ids
}

/// `accounts` accounts (`a0`, ...) and `products` products (`p0`, ...), with a `reviewed` edge
/// per `(account, product)` pair: rating 5, at time 60 × the pair's position.
pub fn reviews_graph(accounts: usize, products: usize, reviews: &[(u32, u32)]) -> HeteroGraph {
    let times = (0..reviews.len() as i64).map(|i| i * 60).collect();
    reviews_graph_with(accounts, products, reviews, vec![5.0; reviews.len()], times)
}

/// As [`reviews_graph`], with the ratings and times given per review.
pub fn reviews_graph_with(
    accounts: usize,
    products: usize,
    reviews: &[(u32, u32)],
    ratings: Vec<f32>,
    times: Vec<i64>,
) -> HeteroGraph {
    let account_set = NodeSet::new("account", interner(accounts, "a"));
    let product_set = NodeSet::new("product", interner(products, "p"));
    let reviewed = Relation::new(
        "reviewed",
        (0, accounts),
        (1, products),
        reviews.iter().map(|r| r.0).collect(),
        reviews.iter().map(|r| r.1).collect(),
        Some(ratings),
        Some(times),
    )
    .expect("reviews name existing accounts and products");
    HeteroGraph::new("test", vec![account_set, product_set], vec![reviewed])
        .expect("a consistent graph")
}

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `graphs/sample`, the committed synthetic marketplace.
pub fn sample_dir() -> PathBuf {
    repo_root().join("graphs/sample")
}

/// `checkpoints/default`, the shipped model.
pub fn default_checkpoint() -> PathBuf {
    repo_root().join("checkpoints/default")
}

/// The rings planted in the generated marketplace `dir` (its `_rings.json`, as `ringscope
/// synth` writes it) as `(attack, members)`, members as indices in `graph`'s account set.
///
/// # Panics
/// If the file is missing or malformed, or a member is not an account of `graph`.
pub fn planted_rings(dir: &std::path::Path, graph: &HeteroGraph) -> Vec<(String, Vec<u32>)> {
    let path = dir.join("_rings.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let truth: serde_json::Value = serde_json::from_str(&text).expect("_rings.json is JSON");
    let (_, accounts) = graph.node_set("account").expect("an account node set");
    truth
        .as_array()
        .expect("a list of rings")
        .iter()
        .map(|r| {
            let members = r["members"]
                .as_array()
                .expect("members")
                .iter()
                .map(|m| {
                    let id = m.as_str().expect("an account ID");
                    accounts.ids.get(id).expect("a member is an account")
                })
                .collect();
            (
                r["attack"].as_str().expect("an attack").to_string(),
                members,
            )
        })
        .collect()
}

/// Set to `1` (CI does) to make a missing dataset folder fail the tests that need it instead of
/// skipping them.
pub const REQUIRE_DATASETS: &str = "RINGSCOPE_REQUIRE_DATASETS";

/// The labelled benchmark datasets: `$RINGSCOPE_DATASETS`, else `../shared/datasets` beside the
/// checkout. `None` when absent, so the caller skips (saying so), unless [`REQUIRE_DATASETS`]
/// is set, when this panics.
pub fn datasets_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("RINGSCOPE_DATASETS")
        .map_or_else(|| repo_root().join("../shared/datasets"), PathBuf::from);
    present_or_skip(dir)
}

/// One dataset of [`datasets_dir`], with the same skip-or-fail rule for the dataset itself.
pub fn dataset(name: &str) -> Option<PathBuf> {
    present_or_skip(datasets_dir()?.join(name))
}

/// `dir` if it is a directory; else `None` with a note, or a panic under [`REQUIRE_DATASETS`].
fn present_or_skip(dir: PathBuf) -> Option<PathBuf> {
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os(REQUIRE_DATASETS).is_none_or(|v| v.is_empty() || v == "0"),
        "{REQUIRE_DATASETS} is set but {} is absent",
        dir.display()
    );
    eprintln!("skipping: {} is absent", dir.display());
    None
}

/// Area under the ROC curve of `scores` against `labels` (ties count half), or `None` without
/// both classes. For asserting quality in tests without linking a model crate.
pub fn auroc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j < order.len() && scores[order[j]] == scores[order[i]] {
            j += 1;
        }
        let mid_rank = (i + j + 1) as f64 / 2.0;
        rank_sum += mid_rank * order[i..j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// `truth.csv` of a raw-event dataset (`account_id,label`), as `(id, label)` pairs.
pub fn read_truth(path: &std::path::Path) -> Vec<(String, bool)> {
    let text = std::fs::read_to_string(path).expect("a readable truth.csv");
    text.lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (id, label) = l.split_once(',').expect("account_id,label");
            (id.to_string(), label.trim() == "1")
        })
        .collect()
}

/// The process's peak resident memory so far in KiB (Linux's `VmHWM`), 0 where `/proc` is
/// not there: what the benches report beside their times.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            let line = s.lines().find_map(|l| l.strip_prefix("VmHWM:"))?;
            line.trim().trim_end_matches("kB").trim().parse().ok()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reviews_graph_has_the_edges_asked_for() {
        let g = reviews_graph(3, 2, &[(0, 1), (2, 0)]);
        let r = g.relation("reviewed").unwrap();
        assert_eq!((r.src.clone(), r.dst.clone()), (vec![0, 2], vec![1, 0]));
        assert_eq!(g.node_sets()[0].ids.resolve(2), "a2");
        assert_eq!(r.time.as_deref(), Some(&[0, 60][..]));
        assert!(sample_dir().join("accounts.csv").is_file());
    }
}
