//! Node feature matrices for graph models: the features a dataset ships, structural and
//! behavioural features of any weighted, timestamped relation, and z-score normalisation.
#![warn(missing_docs)]

pub mod aggregate;
mod behaviour;
pub mod distribution;
mod temporal;

pub use aggregate::{AggregateOptions, neighbour_aggregates};

use rayon::prelude::*;
use ringscope_graph::{AttrValues, HOMOGENEOUS_RELATION, HeteroGraph, IndexSpace, Relation};
use std::collections::BTreeMap;

/// A dense row-major matrix: one row per node in the graph's global index space (node set after
/// node set), one named column per feature.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeatureMatrix {
    /// Column names; a checkpoint records them and refuses a graph whose names differ.
    pub names: Vec<String>,
    /// Rows (nodes).
    pub rows: usize,
    /// Row-major values, `rows × names.len()`.
    pub values: Vec<f32>,
}

impl FeatureMatrix {
    /// Columns.
    pub fn cols(&self) -> usize {
        self.names.len()
    }

    fn from_columns(rows: usize, columns: Vec<(String, Vec<f32>)>) -> Self {
        let cols = columns.len();
        let mut values = vec![0f32; rows * cols];
        values
            .par_chunks_mut(cols.max(1))
            .enumerate()
            .for_each(|(row, out)| {
                for (c, (_, column)) in columns.iter().enumerate() {
                    out[c] = column[row];
                }
            });
        FeatureMatrix {
            names: columns.into_iter().map(|(n, _)| n).collect(),
            rows,
            values,
        }
    }
}

/// Which feature families to compute; a checkpoint records them so scoring computes the same.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FeatureOptions {
    /// The features the source ships (`nodes.csv` `f0..fN`).
    pub given: bool,
    /// Node kind, numeric attributes, and per relation: degrees, edge-weight means and activity
    /// spans.
    pub structural: bool,
    /// Per weighted or timestamped relation: rating spread, entropy and extremes, burstiness,
    /// and REV2-style fairness/goodness with neighbour aggregates. Needs `structural`.
    #[serde(default)]
    pub behaviour: bool,
    /// Per timestamped relation: deviation from the target's mean rating, early arrival on
    /// targets, first-day and busiest-day/hour activity, focus on one target, and actions on
    /// targets that just appeared. Needs `structural`.
    #[serde(default)]
    pub temporal: bool,
}

impl Default for FeatureOptions {
    fn default() -> Self {
        FeatureOptions {
            given: true,
            structural: true,
            behaviour: true,
            temporal: true,
        }
    }
}

impl FeatureOptions {
    /// The families of checkpoints written before `behaviour` existed.
    pub fn legacy() -> Self {
        FeatureOptions {
            behaviour: false,
            temporal: false,
            ..FeatureOptions::default()
        }
    }

    /// The features the dataset ships, nothing computed.
    pub fn given_only() -> Self {
        FeatureOptions {
            given: true,
            structural: false,
            behaviour: false,
            temporal: false,
        }
    }
}

/// What a node's features read beyond its own edges, taken from a bigger graph: each weighted
/// relation's weight range (ratings are scaled by it) and REV2 reputation (a fixed point over
/// the whole relation). With them, a shard holding every edge of a node computes that node's
/// row exactly as the whole graph would (docs/scale.md).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Fixed {
    /// Per weighted relation, its smallest and largest finite weight (`None`: all equal).
    pub weight_ranges: BTreeMap<String, Option<(f32, f32)>>,
    /// Column values to use instead of the computed ones: per column name, (global row, value).
    pub columns: Vec<(String, Vec<(u32, f32)>)>,
}

impl Fixed {
    /// The weight ranges of `graph`'s weighted relations, and its REV2 columns on the rows of
    /// each relation's node kinds.
    pub fn of(graph: &HeteroGraph) -> Fixed {
        let space = graph.index_space();
        let weighted = || {
            graph
                .relations()
                .iter()
                .filter(|r| r.name != HOMOGENEOUS_RELATION)
                .filter_map(|r| r.weight.as_deref().map(|w| (r, w)))
        };
        let columns = weighted()
            .flat_map(|(r, w)| {
                let range = behaviour::weight_range(w);
                let mut ends: Vec<usize> = space.range(r.src_kind).collect();
                if r.dst_kind != r.src_kind {
                    ends.extend(space.range(r.dst_kind));
                }
                behaviour::reputation_columns(graph, r, w, range, &space)
                    .into_iter()
                    .map(move |(name, values)| {
                        let rows = ends.iter().map(|&i| (i as u32, values[i])).collect();
                        (name, rows)
                    })
            })
            .collect();
        Fixed {
            weight_ranges: weighted()
                .map(|(r, w)| (r.name.clone(), behaviour::weight_range(w)))
                .collect(),
            columns,
        }
    }
}

/// Computes the feature matrix of `graph`. Degrees, weights and spans are log-scaled
/// (`ln(1 + v)`) because they are heavy-tailed; missing values are 0.
pub fn node_features(graph: &HeteroGraph, options: FeatureOptions) -> FeatureMatrix {
    node_features_fixed(graph, options, None)
}

/// [`node_features`] with what reaches beyond a node's own edges taken from `fixed` where given.
pub fn node_features_fixed(
    graph: &HeteroGraph,
    options: FeatureOptions,
    fixed: Option<&Fixed>,
) -> FeatureMatrix {
    let sets = graph.node_sets();
    let space = graph.index_space();
    let rows = space.len();
    let mut columns: Vec<(String, Vec<f32>)> = Vec::new();

    if options.given {
        let mut names: Vec<&str> = Vec::new();
        for f in sets.iter().filter_map(|s| s.features.as_ref()) {
            for name in &f.names {
                if !names.contains(&name.as_str()) {
                    names.push(name);
                }
            }
        }
        for name in names {
            let mut column = vec![0f32; rows];
            for (kind, set) in sets.iter().enumerate() {
                let Some(f) = &set.features else { continue };
                let Some(c) = f.names.iter().position(|n| n == name) else {
                    continue;
                };
                let d = f.names.len();
                for (i, slot) in column[space.range(kind)].iter_mut().enumerate() {
                    *slot = f.values[i * d + c];
                }
            }
            columns.push((name.to_string(), column));
        }
    }

    if options.structural {
        if sets.len() > 1 {
            for (kind, set) in sets.iter().enumerate() {
                let mut column = vec![0f32; rows];
                column[space.range(kind)].fill(1.0);
                columns.push((format!("kind:{}", set.kind), column));
            }
        }
        for (kind, set) in sets.iter().enumerate() {
            for (name, values) in &set.attrs {
                let mut column = vec![0f32; rows];
                let out = &mut column[space.range(kind)];
                match values {
                    AttrValues::Int(v) => out
                        .iter_mut()
                        .zip(v)
                        .for_each(|(o, v)| *o = v.map_or(0.0, |v| v as f32)),
                    AttrValues::Float(v) => out
                        .iter_mut()
                        .zip(v)
                        .for_each(|(o, v)| *o = v.unwrap_or(0.0)),
                    AttrValues::Text(_) => continue, // identifiers and categories, not magnitudes
                }
                columns.push((format!("attr:{}.{name}", set.kind), column));
            }
        }
        let per_relation: Vec<Vec<(String, Vec<f32>)>> = graph
            .relations()
            .par_iter()
            .filter(|r| r.name != HOMOGENEOUS_RELATION)
            .map(|r| {
                let mut columns = relation_columns(r, &space);
                if options.behaviour {
                    let range = fixed.and_then(|f| f.weight_ranges.get(&r.name).copied());
                    columns.extend(behaviour::behaviour_columns(graph, r, &space, range));
                }
                if options.temporal {
                    columns.extend(temporal::temporal_columns(graph, r, &space));
                }
                columns
            })
            .collect();
        columns.extend(per_relation.into_iter().flatten());
    }
    for (name, values) in fixed.iter().flat_map(|f| &f.columns) {
        if let Some((_, column)) = columns.iter_mut().find(|(n, _)| n == name) {
            for &(row, v) in values {
                column[row as usize] = v;
            }
        }
    }
    FeatureMatrix::from_columns(rows, columns)
}

/// Degree, mean weight and activity span of each node on both sides of one relation.
fn relation_columns(r: &Relation, space: &IndexSpace) -> Vec<(String, Vec<f32>)> {
    let rows = space.len();
    let mut columns = Vec::new();
    for (side, ends, kind) in [("out", &r.src, r.src_kind), ("in", &r.dst, r.dst_kind)] {
        let own = space.range(kind);
        let mut degree = vec![0f32; rows];
        let own_degree = &mut degree[own.clone()];
        ends.iter().for_each(|&v| own_degree[v as usize] += 1.0);
        if let Some(weights) = &r.weight {
            let mut sum = vec![0f32; rows];
            let own_sum = &mut sum[own.clone()];
            ends.iter()
                .zip(weights)
                .for_each(|(&v, &w)| own_sum[v as usize] += w);
            let mean = sum
                .iter()
                .zip(&degree)
                .map(|(&s, &d)| if d > 0.0 { s / d } else { 0.0 })
                .collect();
            columns.push((format!("mean_weight_{side}:{}", r.name), mean));
        }
        if let Some(times) = &r.time {
            let mut first = vec![i64::MAX; rows];
            let mut last = vec![i64::MIN; rows];
            let (own_first, own_last) = (&mut first[own.clone()], &mut last[own.clone()]);
            for (&v, &t) in ends
                .iter()
                .zip(times)
                .filter(|(_, t)| **t != ringscope_graph::NO_TIME)
            {
                let i = v as usize;
                own_first[i] = own_first[i].min(t);
                own_last[i] = own_last[i].max(t);
            }
            let span_hours = first
                .iter()
                .zip(&last)
                .map(|(&a, &b)| {
                    if b >= a {
                        ((b - a) as f32 / 3600.0).ln_1p()
                    } else {
                        0.0
                    }
                })
                .collect();
            columns.push((format!("log_span_hours_{side}:{}", r.name), span_hours));
        }
        columns.push((
            format!("log_degree_{side}:{}", r.name),
            degree.into_iter().map(f32::ln_1p).collect(),
        ));
    }
    columns
}

/// Label-aware features: per relation and direction, how many of a node's neighbours are known
/// fraud and known benign (`ln(1 + n)`), and the smoothed share of known fraud among them,
/// `(fraud + p) / (known + 1)` with `p` the known fraud rate.
///
/// `known` holds the labels that may be used (1 fraud, 0 benign, −1 unknown): in evaluation
/// the training labels only, so no node sees a validation or test label, and a node never
/// sees its own label, since only neighbours count.
pub fn label_features(graph: &HeteroGraph, known: &[i8]) -> FeatureMatrix {
    assert_eq!(known.len(), graph.num_nodes(), "one label per node");
    let space = graph.index_space();
    let rows = space.len();
    let labelled = known.iter().filter(|&&l| l >= 0).count().max(1);
    let prior = known.iter().filter(|&&l| l == 1).count() as f32 / labelled as f32;
    let columns: Vec<Vec<(String, Vec<f32>)>> = graph
        .relations()
        .par_iter()
        .map(|r| {
            let (src, dst) = (space.range(r.src_kind), space.range(r.dst_kind));
            let mut columns = Vec::new();
            // "out": the labels of the nodes a node points to; "in": of those pointing to it.
            let sides = [
                ("out", &r.src, src.clone(), &r.dst, dst.clone()),
                ("in", &r.dst, dst, &r.src, src),
            ];
            for (side, ends, own, others, other_kind) in sides {
                let mut fraud = vec![0f32; rows];
                let mut benign = vec![0f32; rows];
                let other_labels = &known[other_kind];
                let (own_fraud, own_benign) = (&mut fraud[own.clone()], &mut benign[own]);
                for (&v, &u) in ends.iter().zip(others.iter()) {
                    match other_labels[u as usize] {
                        1 => own_fraud[v as usize] += 1.0,
                        0 => own_benign[v as usize] += 1.0,
                        _ => {}
                    }
                }
                let share = fraud
                    .iter()
                    .zip(&benign)
                    .map(|(&f, &b)| (f + prior) / (f + b + 1.0))
                    .collect();
                columns.push((format!("known_fraud_share_{side}:{}", r.name), share));
                columns.push((
                    format!("log_known_fraud_{side}:{}", r.name),
                    fraud.into_iter().map(f32::ln_1p).collect(),
                ));
                columns.push((
                    format!("log_known_benign_{side}:{}", r.name),
                    benign.into_iter().map(f32::ln_1p).collect(),
                ));
            }
            columns
        })
        .collect();
    FeatureMatrix::from_columns(rows, columns.into_iter().flatten().collect())
}

impl FeatureMatrix {
    /// The values of the column named `name`, one per row.
    pub fn column(&self, name: &str) -> Option<Vec<f32>> {
        let c = self.names.iter().position(|n| n == name)?;
        Some(self.values.chunks(self.cols()).map(|row| row[c]).collect())
    }

    /// `self` with the columns of `other` (same rows) appended.
    pub fn append(&mut self, other: &FeatureMatrix) {
        *self = FeatureMatrix::concat(self.rows, &[&*self, other]);
    }

    /// The columns of `parts` side by side, in order; every part has `rows` rows.
    pub fn concat(rows: usize, parts: &[&FeatureMatrix]) -> FeatureMatrix {
        assert!(
            parts.iter().all(|p| p.rows == rows),
            "concatenating matrices of other rows"
        );
        let names: Vec<String> = parts.iter().flat_map(|p| p.names.iter().cloned()).collect();
        let cols = names.len();
        let mut values = vec![0f32; rows * cols];
        values
            .par_chunks_mut(cols.max(1))
            .enumerate()
            .for_each(|(row, out)| {
                let mut at = 0;
                for part in parts {
                    let w = part.cols();
                    out[at..at + w].copy_from_slice(&part.values[row * w..(row + 1) * w]);
                    at += w;
                }
            });
        FeatureMatrix {
            names,
            rows,
            values,
        }
    }

    /// `self` without the columns whose name contains any of `patterns`.
    pub fn drop_matching(&mut self, patterns: &[String]) {
        let keep: Vec<usize> = (0..self.cols())
            .filter(|&c| !patterns.iter().any(|p| self.names[c].contains(p.as_str())))
            .collect();
        let d = self.cols();
        self.values = self
            .values
            .chunks(d.max(1))
            .flat_map(|row| keep.iter().map(move |&c| row[c]))
            .collect();
        self.names = keep.iter().map(|&c| self.names[c].clone()).collect();
    }
}

/// Per-column z-score statistics, fitted once on training data and saved with a checkpoint so
/// scoring applies exactly the same transform.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Standardizer {
    /// Column means.
    pub mean: Vec<f32>,
    /// Column standard deviations (1 where a column is constant).
    pub std: Vec<f32>,
}

impl Standardizer {
    /// Fits the statistics of every column of `m`.
    pub fn fit(m: &FeatureMatrix) -> Self {
        let d = m.cols();
        let n = m.rows.max(1) as f64;
        let mut sum = vec![0f64; d];
        let mut sum_sq = vec![0f64; d];
        for row in m.values.chunks(d.max(1)) {
            for (c, &v) in row.iter().enumerate() {
                sum[c] += f64::from(v);
                sum_sq[c] += f64::from(v) * f64::from(v);
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / n).collect();
        let std = sum_sq
            .iter()
            .zip(&mean)
            .map(|(sq, m)| {
                let sd = (sq / n - m * m).max(0.0).sqrt();
                if sd > 1e-12 { sd as f32 } else { 1.0 }
            })
            .collect();
        Standardizer {
            mean: mean.into_iter().map(|m| m as f32).collect(),
            std,
        }
    }

    /// Applies `(v − mean) / std` to every row of `m`, which must have the fitted columns.
    pub fn apply(&self, m: &mut FeatureMatrix) {
        assert_eq!(
            m.cols(),
            self.mean.len(),
            "standardizer fitted on another column count"
        );
        let d = m.cols().max(1);
        m.values.par_chunks_mut(d).for_each(|row| {
            for (c, v) in row.iter_mut().enumerate() {
                *v = (*v - self.mean[c]) / self.std[c];
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringscope_graph::{Features, NodeSet};
    use ringscope_testkit::interner as ids;

    /// Two accounts, three products; account 0 reviews all three over 2 hours with ratings
    /// 1, 2, 3, account 1 reviews product 0 once.
    fn marketplace() -> HeteroGraph {
        let mut accounts = NodeSet::new("account", ids(2, "a"));
        accounts.features = Some(Features {
            names: vec!["f0".into()],
            values: vec![5.0, 7.0],
        });
        let products = NodeSet::new("product", ids(3, "p"));
        let reviews = Relation::new(
            "reviewed",
            (0, 2),
            (1, 3),
            vec![0, 0, 0, 1],
            vec![0, 1, 2, 0],
            Some(vec![1.0, 2.0, 3.0, 5.0]),
            Some(vec![0, 3600, 7200, 100]),
        )
        .unwrap();
        HeteroGraph::new("m", vec![accounts, products], vec![reviews]).unwrap()
    }

    fn column(m: &FeatureMatrix, name: &str) -> Vec<f32> {
        m.column(name)
            .unwrap_or_else(|| panic!("no column {name}: {:?}", m.names))
    }

    /// Account 0's row on a graph holding only its own edges, given the whole graph's weight
    /// ranges and REV2 columns, is its row on the whole graph (what a shard relies on); without
    /// them it is not, since account 1's 5-star rating widens the scale and moves REV2.
    #[test]
    fn a_cut_graph_with_the_whole_graphs_fixed_columns_gives_a_nodes_own_row() {
        let whole = marketplace();
        // Time-aware features read a target's other ratings: a shard holds one hop more for them.
        let options = FeatureOptions {
            given: false,
            temporal: false,
            ..FeatureOptions::default()
        };
        let cut = HeteroGraph::new(
            "cut",
            vec![
                NodeSet::new("account", ids(1, "a")),
                NodeSet::new("product", ids(3, "p")),
            ],
            vec![
                Relation::new(
                    "reviewed",
                    (0, 1),
                    (1, 3),
                    vec![0, 0, 0],
                    vec![0, 1, 2],
                    Some(vec![1.0, 2.0, 3.0]),
                    Some(vec![0, 3600, 7200]),
                )
                .unwrap(),
            ],
        )
        .unwrap();
        let mut fixed = Fixed::of(&whole);
        // The whole graph's rows in the cut's index space: account 1 is not in it, products
        // move up by one.
        for (_, rows) in &mut fixed.columns {
            *rows = rows
                .iter()
                .filter(|&&(v, _)| v != 1)
                .map(|&(v, x)| (if v == 0 { 0 } else { v - 1 }, x))
                .collect();
        }
        let expected = node_features(&whole, options);
        let row = |m: &FeatureMatrix| m.values[..m.cols()].to_vec();
        assert_eq!(
            row(&node_features_fixed(&cut, options, Some(&fixed))),
            row(&expected)
        );
        assert_ne!(row(&node_features(&cut, options)), row(&expected));
    }

    #[test]
    fn structural_features_follow_the_edges() {
        let m = node_features(&marketplace(), FeatureOptions::default());
        assert_eq!(m.rows, 5);
        assert_eq!(m.values.len(), 5 * m.cols());
        assert_eq!(column(&m, "f0"), vec![5.0, 7.0, 0.0, 0.0, 0.0]);
        assert_eq!(column(&m, "kind:product"), vec![0.0, 0.0, 1.0, 1.0, 1.0]);
        let ln = |v: f32| v.ln_1p();
        assert_eq!(
            column(&m, "log_degree_out:reviewed"),
            vec![ln(3.0), ln(1.0), 0.0, 0.0, 0.0]
        );
        assert_eq!(
            column(&m, "log_degree_in:reviewed"),
            vec![0.0, 0.0, ln(2.0), ln(1.0), ln(1.0)]
        );
        assert_eq!(
            column(&m, "mean_weight_out:reviewed"),
            vec![2.0, 5.0, 0.0, 0.0, 0.0]
        );
        assert_eq!(
            column(&m, "mean_weight_in:reviewed"),
            vec![0.0, 0.0, 3.0, 2.0, 3.0]
        );
        assert_eq!(column(&m, "log_span_hours_out:reviewed")[0], ln(2.0));
    }

    /// Users 0–3 rate users 4 and 5: 0, 1 and 2 agree (5 is good, 4 is bad); user 3 rates
    /// against everyone. User 5 also rates user 4.
    fn ratings() -> HeteroGraph {
        let users = NodeSet::new("user", ids(6, "u"));
        let (src, dst, w) = (
            vec![0, 0, 1, 1, 2, 2, 3, 3, 5],
            vec![4, 5, 4, 5, 4, 5, 4, 5, 4],
            vec![-10.0, 10.0, -9.0, 9.0, -10.0, 10.0, 10.0, -10.0, -8.0],
        );
        let t: Vec<i64> = (0..src.len() as i64).map(|i| i * 60).collect();
        let rel = Relation::new("rating", (0, 6), (0, 6), src, dst, Some(w), Some(t)).unwrap();
        HeteroGraph::new("r", vec![users], vec![rel]).unwrap()
    }

    #[test]
    fn reputation_finds_the_rater_against_the_consensus() {
        let m = node_features(&ratings(), FeatureOptions::default());
        let fairness = column(&m, "fairness:rating");
        let goodness = column(&m, "goodness:rating");
        for honest in 0..3 {
            assert!(
                fairness[3] < fairness[honest] - 0.1,
                "dissenter {} vs honest {}",
                fairness[3],
                fairness[honest]
            );
        }
        assert!(goodness[5] > 0.3 && goodness[4] < -0.3, "{goodness:?}");
        assert!(fairness.iter().all(|f| (0.0..=1.0).contains(f)));
        // Who rated user 4 on average is less fair than who rated... the same raters plus 5.
        let raters = column(&m, "mean_fairness_of_raters:rating");
        assert!(raters[4] > 0.0 && raters[0] == 0.0);
        assert_eq!(
            column(&m, "share_lowest_weight_in:rating")[4],
            2.0 / 5.0,
            "two of five ratings of user 4 are the minimum −10"
        );
        assert_eq!(column(&m, "share_highest_weight_out:rating")[3], 0.5);
        assert_eq!(column(&m, "burstiness_out:rating")[0], -1.0);
        let legacy = node_features(&ratings(), FeatureOptions::legacy());
        assert!(legacy.names.iter().all(|n| !n.starts_with("fairness")));
        assert!(legacy.cols() < m.cols());
    }

    #[test]
    fn label_features_count_known_neighbours_only() {
        // Users 0, 1, 2 and 3 all rated user 4; user 5 rated user 4 too. Known: 0 fraud,
        // 1 benign, 4 fraud; the rest (including 5) unknown.
        let g = ratings();
        let mut known = vec![-1i8; 6];
        known[0] = 1;
        known[1] = 0;
        known[4] = 1;
        let m = label_features(&g, &known);
        let ln = |v: f32| v.ln_1p();
        // Into user 4: raters 0..=3 and 5, of whom 0 is known fraud and 1 known benign.
        assert_eq!(column(&m, "log_known_fraud_in:rating")[4], ln(1.0));
        assert_eq!(column(&m, "log_known_benign_in:rating")[4], ln(1.0));
        let prior = 2.0 / 3.0;
        let share = column(&m, "known_fraud_share_in:rating");
        assert!((share[4] - (1.0 + prior) / 3.0).abs() < 1e-6);
        // User 0's own label never reaches user 0: it rated 4 (fraud) and 5 (unknown).
        assert_eq!(column(&m, "log_known_fraud_out:rating")[0], ln(1.0));
        assert_eq!(column(&m, "log_known_benign_out:rating")[0], 0.0);
        // Nobody rated user 0, so its "in" side is the prior alone.
        assert!((share[0] - prior).abs() < 1e-6);
        assert_eq!(column(&m, "log_known_fraud_in:rating")[0], 0.0);
    }

    #[test]
    fn append_and_drop_keep_rows_aligned() {
        let mut m = node_features(&ratings(), FeatureOptions::legacy());
        let extra = label_features(&ratings(), &[1, 0, -1, -1, 1, -1]);
        let before = column(&m, "mean_weight_in:rating");
        m.append(&extra);
        assert_eq!(m.values.len(), m.rows * m.cols());
        assert_eq!(column(&m, "mean_weight_in:rating"), before);
        assert_eq!(
            column(&m, "log_known_fraud_in:rating"),
            column(&extra, "log_known_fraud_in:rating")
        );
        m.drop_matching(&["_in:".into(), "known".into()]);
        assert!(
            m.names
                .iter()
                .all(|n| !n.contains("_in:") && !n.contains("known"))
        );
        assert_eq!(m.values.len(), m.rows * m.cols());
        assert!(m.names.contains(&"mean_weight_out:rating".to_string()));
        assert_eq!(
            column(&m, "mean_weight_out:rating"),
            column(
                &node_features(&ratings(), FeatureOptions::legacy()),
                "mean_weight_out:rating"
            )
        );
    }

    #[test]
    fn given_only_keeps_the_dataset_columns() {
        let m = node_features(&marketplace(), FeatureOptions::given_only());
        assert_eq!(m.names, vec!["f0".to_string()]);
    }

    #[test]
    fn standardizing_gives_zero_mean_unit_variance() {
        let mut m = node_features(&marketplace(), FeatureOptions::default());
        let s = Standardizer::fit(&m);
        s.apply(&mut m);
        for c in 0..m.cols() {
            let col: Vec<f32> = m.values.chunks(m.cols()).map(|r| r[c]).collect();
            let mean = col.iter().sum::<f32>() / col.len() as f32;
            let var = col.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / col.len() as f32;
            assert!(mean.abs() < 1e-5, "{}: mean {mean}", m.names[c]);
            assert!(
                (var - 1.0).abs() < 1e-4 || var == 0.0,
                "{}: var {var}",
                m.names[c]
            );
        }
    }
}
