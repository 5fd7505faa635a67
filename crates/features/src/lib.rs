//! Node feature matrices for graph models: the features a dataset ships, structural and
//! behavioural features of any weighted, timestamped relation, and z-score normalisation.
#![warn(missing_docs)]

use rayon::prelude::*;
use ringscope_graph::{AttrValues, HOMOGENEOUS_RELATION, HeteroGraph, Relation};

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

/// Which feature families to compute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeatureOptions {
    /// The features the source ships (`nodes.csv` `f0..fN`).
    pub given: bool,
    /// Node kind, numeric attributes, and per relation: degrees, edge-weight means and activity
    /// spans.
    pub structural: bool,
}

impl Default for FeatureOptions {
    fn default() -> Self {
        FeatureOptions {
            given: true,
            structural: true,
        }
    }
}

/// Computes the feature matrix of `graph`. Degrees, weights and spans are log-scaled
/// (`ln(1 + v)`) because they are heavy-tailed; missing values are 0.
pub fn node_features(graph: &HeteroGraph, options: FeatureOptions) -> FeatureMatrix {
    let sets = graph.node_sets();
    let offsets = graph.node_offsets();
    let rows = graph.num_nodes();
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
            for (set, &offset) in sets.iter().zip(&offsets) {
                let Some(f) = &set.features else { continue };
                let Some(c) = f.names.iter().position(|n| n == name) else {
                    continue;
                };
                let d = f.names.len();
                for i in 0..set.len() {
                    column[offset + i] = f.values[i * d + c];
                }
            }
            columns.push((name.to_string(), column));
        }
    }

    if options.structural {
        if sets.len() > 1 {
            for (set, &offset) in sets.iter().zip(&offsets) {
                let mut column = vec![0f32; rows];
                column[offset..offset + set.len()].fill(1.0);
                columns.push((format!("kind:{}", set.kind), column));
            }
        }
        for (set, &offset) in sets.iter().zip(&offsets) {
            for (name, values) in &set.attrs {
                let mut column = vec![0f32; rows];
                let out = &mut column[offset..offset + set.len()];
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
            .map(|r| relation_columns(r, rows, offsets[r.src_kind], offsets[r.dst_kind]))
            .collect();
        columns.extend(per_relation.into_iter().flatten());
    }
    FeatureMatrix::from_columns(rows, columns)
}

/// Degree, mean weight and activity span of each node on both sides of one relation.
fn relation_columns(
    r: &Relation,
    rows: usize,
    src_offset: usize,
    dst_offset: usize,
) -> Vec<(String, Vec<f32>)> {
    let mut columns = Vec::new();
    for (side, ends, offset) in [("out", &r.src, src_offset), ("in", &r.dst, dst_offset)] {
        let mut degree = vec![0f32; rows];
        ends.iter()
            .for_each(|&v| degree[offset + v as usize] += 1.0);
        if let Some(weights) = &r.weight {
            let mut sum = vec![0f32; rows];
            ends.iter()
                .zip(weights)
                .for_each(|(&v, &w)| sum[offset + v as usize] += w);
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
            for (&v, &t) in ends
                .iter()
                .zip(times)
                .filter(|(_, t)| **t != ringscope_graph::NO_TIME)
            {
                let i = offset + v as usize;
                first[i] = first[i].min(t);
                last[i] = last[i].max(t);
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
    use ringscope_ingest::Interner;

    fn ids(n: usize, prefix: &str) -> Interner {
        let mut i = Interner::new();
        for k in 0..n {
            i.intern(&format!("{prefix}{k}"));
        }
        i
    }

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
        let c = m
            .names
            .iter()
            .position(|n| n == name)
            .unwrap_or_else(|| panic!("no column {name}: {:?}", m.names));
        m.values.chunks(m.cols()).map(|row| row[c]).collect()
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

    #[test]
    fn given_only_keeps_the_dataset_columns() {
        let m = node_features(
            &marketplace(),
            FeatureOptions {
                given: true,
                structural: false,
            },
        );
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
