//! Neighbour aggregates of any feature matrix: for each neighbourhood (every relation in each
//! direction, and all relations merged as one undirected graph), the mean, maximum and standard
//! deviation of the neighbours' features at one and two hops, plus the merged degree.
//!
//! This is what GADBench's XGBGraph feeds to boosted trees, generalised to typed relations: a
//! model that sees one row at a time (trees, an MLP) learns from the neighbourhood through
//! these columns.
//!
//! Two hops go out and come back: the second hop of `out.reviewed` averages, over the products
//! an account reviewed, each product's mean over *its* reviewers, so an account sees its
//! co-reviewers. For a relation within one node kind, the same walk reaches those who rated
//! what a node rated. The merged neighbourhood is symmetric, so its two hops are `P²X`.

use crate::FeatureMatrix;
use rayon::prelude::*;
use ringscope_graph::{HOMOGENEOUS_RELATION, HeteroGraph, IndexSpace};

/// Which neighbourhoods and statistics [`neighbour_aggregates`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AggregateOptions {
    /// Hops: 0 (none), 1 or 2.
    pub hops: usize,
    /// Every relation, `out` (whom a node points to) and `in` (who points to it) apart.
    pub per_relation: bool,
    /// All relations in both directions as one undirected graph, duplicates counted once.
    pub merged: bool,
    /// Neighbours' mean.
    pub mean: bool,
    /// Neighbours' maximum.
    pub max: bool,
    /// Neighbours' (population) standard deviation.
    pub std: bool,
}

impl Default for AggregateOptions {
    fn default() -> Self {
        AggregateOptions {
            hops: 2,
            per_relation: true,
            merged: true,
            mean: true,
            max: true,
            std: true,
        }
    }
}

impl AggregateOptions {
    /// No aggregates.
    pub fn none() -> Self {
        AggregateOptions {
            hops: 0,
            ..AggregateOptions::default()
        }
    }

    /// Whether nothing would be computed.
    pub fn is_none(&self) -> bool {
        self.hops == 0
            || !(self.per_relation || self.merged)
            || !(self.mean || self.max || self.std)
    }

    /// Checks the options once, when a model file is read.
    pub fn validate(&self) -> Result<(), String> {
        if self.hops > 2 {
            return Err(format!(
                "aggregates.hops must be 0, 1 or 2, got {}",
                self.hops
            ));
        }
        Ok(())
    }

    fn stats(&self) -> Vec<Stat> {
        [
            (self.mean, Stat::Mean),
            (self.max, Stat::Max),
            (self.std, Stat::Std),
        ]
        .into_iter()
        .filter_map(|(on, s)| on.then_some(s))
        .collect()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stat {
    Mean,
    Max,
    Std,
}

impl Stat {
    fn name(self) -> &'static str {
        match self {
            Stat::Mean => "mean",
            Stat::Max => "max",
            Stat::Std => "std",
        }
    }
}

/// Neighbours of every node in the global index space, each listed once, sorted.
struct Adjacency {
    name: String,
    offsets: Vec<usize>,
    targets: Vec<u32>,
    /// Index of the neighbourhood whose mean the second hop aggregates.
    back: usize,
}

impl Adjacency {
    fn new(name: String, rows: usize, pairs: Vec<(u32, u32)>, back: usize) -> Self {
        let mut pairs = pairs;
        pairs.par_sort_unstable();
        pairs.dedup();
        let mut offsets = vec![0usize; rows + 1];
        pairs
            .iter()
            .for_each(|&(a, _)| offsets[a as usize + 1] += 1);
        for i in 0..rows {
            offsets[i + 1] += offsets[i];
        }
        Adjacency {
            name,
            offsets,
            targets: pairs.into_iter().map(|(_, b)| b).collect(),
            back,
        }
    }

    fn of(&self, row: usize) -> &[u32] {
        &self.targets[self.offsets[row]..self.offsets[row + 1]]
    }
}

fn neighbourhoods(
    graph: &HeteroGraph,
    space: &IndexSpace,
    options: &AggregateOptions,
) -> Vec<Adjacency> {
    let rows = space.len();
    let global = |kind: usize, v: u32| (space.range(kind).start + v as usize) as u32;
    let mut out = Vec::new();
    let mut merged = Vec::new();
    // A benchmark's homogeneous view repeats its typed relations: merged, it changes nothing
    // (duplicates count once); per relation, it is kept only when it is all there is.
    let only_homogeneous = graph
        .relations()
        .iter()
        .all(|r| r.name == HOMOGENEOUS_RELATION);
    for r in graph.relations() {
        let pairs: Vec<(u32, u32)> = r
            .src
            .iter()
            .zip(&r.dst)
            .map(|(&s, &d)| (global(r.src_kind, s), global(r.dst_kind, d)))
            .collect();
        if options.merged {
            merged.extend(pairs.iter().flat_map(|&(a, b)| [(a, b), (b, a)]));
        }
        if options.per_relation && (only_homogeneous || r.name != HOMOGENEOUS_RELATION) {
            let at = out.len();
            let reversed = pairs.iter().map(|&(a, b)| (b, a)).collect();
            out.push(Adjacency::new(
                format!("out.{}", r.name),
                rows,
                pairs,
                at + 1,
            ));
            out.push(Adjacency::new(format!("in.{}", r.name), rows, reversed, at));
        }
    }
    if options.merged {
        let at = out.len();
        out.push(Adjacency::new("all".into(), rows, merged, at));
    }
    out
}

/// `stats` of the rows of `x` (width `d`) listed in `neighbours`, written to `out`
/// (`stats.len() × d`, stat-major); zeros without neighbours.
fn aggregate_row(x: &[f32], d: usize, neighbours: &[u32], stats: &[Stat], out: &mut [f32]) {
    if neighbours.is_empty() {
        return;
    }
    let n = neighbours.len() as f64;
    for c in 0..d {
        let (mut sum, mut sum_sq, mut max) = (0f64, 0f64, f32::NEG_INFINITY);
        for &u in neighbours {
            let v = x[u as usize * d + c];
            sum += f64::from(v);
            sum_sq += f64::from(v) * f64::from(v);
            max = max.max(v);
        }
        let mean = sum / n;
        for (s, stat) in stats.iter().enumerate() {
            out[s * d + c] = match stat {
                Stat::Mean => mean as f32,
                Stat::Max => max,
                Stat::Std => (sum_sq / n - mean * mean).max(0.0).sqrt() as f32,
            };
        }
    }
}

/// One matrix of `stats` over `adjacency` for every row of `x`.
fn aggregate(x: &[f32], d: usize, rows: usize, adjacency: &Adjacency, stats: &[Stat]) -> Vec<f32> {
    let width = stats.len() * d;
    let mut values = vec![0f32; rows * width];
    values
        .par_chunks_mut(width.max(1))
        .enumerate()
        .for_each(|(row, out)| aggregate_row(x, d, adjacency.of(row), stats, out));
    values
}

/// The neighbour aggregates of `x` over `graph` (see the module documentation). Columns are
/// named `<feature>@<stat><hop>:<neighbourhood>`, for example `f3@max2:out.reviewed` or
/// `log_degree_in:reviewed@mean1:all`, plus `log_degree@all` for the merged degree.
pub fn neighbour_aggregates(
    graph: &HeteroGraph,
    x: &FeatureMatrix,
    options: &AggregateOptions,
) -> FeatureMatrix {
    let space = graph.index_space();
    let rows = space.len();
    assert_eq!(x.rows, rows, "features of another graph");
    if options.is_none() {
        return FeatureMatrix {
            names: Vec::new(),
            rows,
            values: Vec::new(),
        };
    }
    let d = x.cols();
    let stats = options.stats();
    let adjacencies = neighbourhoods(graph, &space, options);
    let means: Vec<Vec<f32>> = match options.hops {
        // The second hop reads each neighbour's first-hop mean over the way back.
        2 => adjacencies
            .iter()
            .map(|a| aggregate(&x.values, d, rows, a, &[Stat::Mean]))
            .collect(),
        _ => Vec::new(),
    };
    let mut blocks: Vec<FeatureMatrix> = Vec::new();
    for adjacency in &adjacencies {
        for hop in 1..=options.hops {
            let source = match hop {
                1 => &x.values,
                _ => &means[adjacency.back],
            };
            let names: Vec<String> = stats
                .iter()
                .flat_map(|s| {
                    x.names
                        .iter()
                        .map(move |f| format!("{f}@{}{hop}:{}", s.name(), adjacency.name))
                })
                .collect();
            blocks.push(FeatureMatrix {
                names,
                rows,
                values: aggregate(source, d, rows, adjacency, &stats),
            });
        }
        if adjacency.name == "all" {
            let degree = (0..rows)
                .map(|r| (adjacency.of(r).len() as f32).ln_1p())
                .collect();
            blocks.push(FeatureMatrix {
                names: vec!["log_degree@all".into()],
                rows,
                values: degree,
            });
        }
    }
    FeatureMatrix::concat(rows, &blocks.iter().collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringscope_graph::{NodeSet, Relation};
    use ringscope_testkit::interner as ids;

    /// Accounts a0, a1, a2 review products p0, p1: a0 → p0, a1 → p0 and p1, a2 → p1.
    /// One feature per node: a0 1, a1 2, a2 6, p0 10, p1 20.
    fn reviews() -> (HeteroGraph, FeatureMatrix) {
        let rel = Relation::new(
            "reviewed",
            (0, 3),
            (1, 2),
            vec![0, 1, 1, 2],
            vec![0, 0, 1, 1],
            None,
            None,
        )
        .unwrap();
        let graph = HeteroGraph::new(
            "m",
            vec![
                NodeSet::new("account", ids(3, "a")),
                NodeSet::new("product", ids(2, "p")),
            ],
            vec![rel],
        )
        .unwrap();
        let x = FeatureMatrix {
            names: vec!["f".into()],
            rows: 5,
            values: vec![1.0, 2.0, 6.0, 10.0, 20.0],
        };
        (graph, x)
    }

    fn column(m: &FeatureMatrix, name: &str) -> Vec<f32> {
        m.column(name)
            .unwrap_or_else(|| panic!("no column {name}: {:?}", m.names))
    }

    #[test]
    fn one_hop_statistics_per_direction() {
        let (g, x) = reviews();
        let m = neighbour_aggregates(&g, &x, &AggregateOptions::default());
        assert_eq!(m.values.len(), m.rows * m.cols());
        // a1 reviewed p0 (10) and p1 (20).
        assert_eq!(
            column(&m, "f@mean1:out.reviewed"),
            vec![10.0, 15.0, 20.0, 0.0, 0.0]
        );
        assert_eq!(column(&m, "f@max1:out.reviewed")[1], 20.0);
        assert_eq!(column(&m, "f@std1:out.reviewed")[1], 5.0);
        // p0 was reviewed by a0 (1) and a1 (2); products have no "out" neighbours.
        assert_eq!(
            column(&m, "f@mean1:in.reviewed"),
            vec![0.0, 0.0, 0.0, 1.5, 4.0]
        );
        assert_eq!(column(&m, "f@max1:in.reviewed")[4], 6.0);
    }

    #[test]
    fn two_hops_go_out_and_come_back() {
        let (g, x) = reviews();
        let m = neighbour_aggregates(&g, &x, &AggregateOptions::default());
        // a0's only product p0 has reviewers' mean 1.5; a1's products have 1.5 and 4.
        let co_reviewers = column(&m, "f@mean2:out.reviewed");
        assert_eq!(&co_reviewers[..3], &[1.5, 2.75, 4.0]);
        assert_eq!(column(&m, "f@max2:out.reviewed")[1], 4.0);
        // p1's reviewers a1 and a2 reviewed, on average, 15 and 20.
        assert_eq!(column(&m, "f@mean2:in.reviewed")[4], 17.5);
    }

    #[test]
    fn the_merged_graph_is_undirected_with_degrees() {
        let (g, x) = reviews();
        let m = neighbour_aggregates(&g, &x, &AggregateOptions::default());
        assert_eq!(column(&m, "f@mean1:all"), vec![10.0, 15.0, 20.0, 1.5, 4.0]);
        let ln = |v: f32| v.ln_1p();
        assert_eq!(
            column(&m, "log_degree@all"),
            vec![ln(1.0), ln(2.0), ln(1.0), ln(2.0), ln(2.0)]
        );
        // P²X at a0: its one neighbour p0 has merged mean 1.5.
        assert_eq!(column(&m, "f@mean2:all")[0], 1.5);
    }

    #[test]
    fn options_choose_the_columns() {
        let (g, x) = reviews();
        let only_merged_means = AggregateOptions {
            hops: 1,
            per_relation: false,
            max: false,
            std: false,
            ..AggregateOptions::default()
        };
        let m = neighbour_aggregates(&g, &x, &only_merged_means);
        assert_eq!(m.names, vec!["f@mean1:all", "log_degree@all"]);
        let none = neighbour_aggregates(&g, &x, &AggregateOptions::none());
        assert_eq!((none.cols(), none.rows), (0, 5));
        assert!(
            AggregateOptions {
                hops: 3,
                ..AggregateOptions::default()
            }
            .validate()
            .is_err()
        );
    }
}
