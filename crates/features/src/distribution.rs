//! Distributions of one column, binned at deciles, and the population stability index (PSI)
//! between two of them. Drift between runs and a checkpoint's applicability check both compare
//! distributions this way.

/// Bins per distribution: deciles of the values that define it.
const BINS: usize = 10;
/// Shares are floored at this before the logarithm, so an empty bin gives a large but finite
/// PSI (the usual convention).
const FLOOR: f64 = 1e-4;

/// One distribution: its cut points and the share of values in each bin
/// (`value <= edges[0]`, ..., `value > edges[last]`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Binned {
    /// Ascending, distinct cut points.
    pub edges: Vec<f64>,
    /// `edges.len() + 1` shares summing to 1.
    pub shares: Vec<f64>,
}

fn shares(values: &[f64], edges: &[f64]) -> Vec<f64> {
    let mut counts = vec![0usize; edges.len() + 1];
    for &v in values {
        counts[edges.partition_point(|&e| e < v)] += 1;
    }
    let n = values.len().max(1) as f64;
    counts.into_iter().map(|c| c as f64 / n).collect()
}

/// Deciles of `values` (NaN dropped).
pub fn bin(values: &[f64]) -> Binned {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    sorted.sort_by(f64::total_cmp);
    let mut edges: Vec<f64> = (1..BINS)
        .filter_map(|q| sorted.get(q * sorted.len() / BINS).copied())
        .collect();
    edges.dedup();
    Binned {
        shares: shares(&sorted, &edges),
        edges,
    }
}

/// PSI of `values` against `binned`: Σ (today − before) · ln(today / before).
pub fn psi(binned: &Binned, values: &[f64]) -> f64 {
    let values: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    shares(&values, &binned.edges)
        .iter()
        .zip(&binned.shares)
        .map(|(&now, &before)| {
            let (now, before) = (now.max(FLOOR), before.max(FLOOR));
            (now - before) * (now / before).ln()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_distribution_has_no_drift_and_a_shift_has_a_large_one() {
        let before: Vec<f64> = (0..1000).map(|i| f64::from(i) / 1000.0).collect();
        let binned = bin(&before);
        assert_eq!(binned.shares.len(), 10);
        assert!(psi(&binned, &before) < 1e-9);
        // A sample of the same uniform distribution drifts little; a shifted one a lot.
        let resampled: Vec<f64> = (0..500).map(|i| f64::from(i) / 500.0 + 0.0005).collect();
        assert!(psi(&binned, &resampled) < 0.01);
        let shifted: Vec<f64> = before.iter().map(|v| v * 0.5 + 0.5).collect();
        assert!(psi(&binned, &shifted) > 1.0, "{}", psi(&binned, &shifted));
    }

    /// A graph of `n` labelled accounts with one feature column `x` and scores `x / n`.
    fn profiled(n: usize, shift: f32) -> (ringscope_graph::HeteroGraph, crate::FeatureMatrix) {
        let mut accounts =
            ringscope_graph::NodeSet::new("account", ringscope_testkit::interner(n, "a"));
        accounts.labels = Some(vec![0; n]);
        let products =
            ringscope_graph::NodeSet::new("product", ringscope_testkit::interner(3, "p"));
        let graph =
            ringscope_graph::HeteroGraph::new("t", vec![accounts, products], vec![]).unwrap();
        let mut values: Vec<f32> = (0..n).map(|i| i as f32 + shift).collect();
        // The products' rows are not profiled: far-off values there change nothing.
        values.extend([1e6; 3]);
        let m = crate::FeatureMatrix {
            names: vec!["x".into(), "constant".into()],
            rows: n + 3,
            values: values.iter().flat_map(|&v| [v, 1.0]).collect(),
        };
        (graph, m)
    }

    #[test]
    fn a_profile_knows_its_own_population_and_flags_a_shifted_one() {
        let (graph, features) = profiled(1000, 0.0);
        let scores: Vec<f32> = (0..1003).map(|i| i as f32 / 1003.0).collect();
        let profile = Profile::of(&graph, &features, &scores).unwrap();
        assert_eq!(
            (profile.kinds.clone(), profile.rows),
            (vec!["account".into()], 1000)
        );
        let same = profile.check(&graph, &features, &scores, Limits::default());
        assert!(
            same.in_domain && same.features_shifted.is_empty(),
            "{same:?}"
        );
        assert!(same.score_psi.unwrap() < 1e-9);

        let (graph, moved) = profiled(1000, 800.0);
        let shifted = profile.check(&graph, &moved, &scores, Limits::default());
        assert!(!shifted.in_domain, "{shifted:?}");
        assert_eq!(shifted.features_shifted.len(), 1);
        assert_eq!(shifted.features_shifted[0].0, "x");
        assert!(
            shifted.text().starts_with("OUT OF DOMAIN"),
            "{}",
            shifted.text()
        );
        // Half the columns shifted is within a limit of 0.5, not of 0.25.
        let lenient = Limits {
            max_shifted_share: 0.5,
            ..Limits::default()
        };
        assert!(profile.check(&graph, &moved, &scores, lenient).in_domain);
    }

    #[test]
    fn a_graph_without_labelled_kinds_has_no_profile() {
        let (mut graph, features) = profiled(10, 0.0);
        graph = ringscope_graph::HeteroGraph::new(
            "t",
            graph
                .node_sets()
                .iter()
                .map(|s| ringscope_graph::NodeSet::new(s.kind.clone(), s.ids.clone()))
                .collect(),
            vec![],
        )
        .unwrap();
        assert!(Profile::of(&graph, &features, &[0.0; 13]).is_none());
    }

    #[test]
    fn psi_matches_the_formula_on_two_bins() {
        // Half the values at 0 and half at 1: one cut point, shares 0.5 / 0.5.
        let binned = bin(&[0.0, 0.0, 1.0, 1.0]);
        assert_eq!(binned.edges, vec![0.0, 1.0]);
        // Today 3 of 4 at 0: shares 0.75 / 0.25 / 0 against 0.5 / 0.5 / 0.
        let psi = psi(&binned, &[0.0, 0.0, 0.0, 1.0]);
        let expected = (0.75 - 0.5) * (0.75f64 / 0.5).ln() + (0.25 - 0.5) * (0.25f64 / 0.5).ln();
        assert!((psi - expected).abs() < 1e-12, "{psi} vs {expected}");
    }
}

/// A model's training population: the distribution of each input feature and of the model's
/// scores over the nodes it was trained to score. A checkpoint keeps it so that scoring can tell
/// an input the model knows from one it has never seen.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    /// The node kinds scored (those with labels in training).
    pub kinds: Vec<String>,
    /// Nodes profiled.
    pub rows: usize,
    /// Each feature column's distribution, in the feature matrix's order.
    pub features: Vec<(String, Binned)>,
    /// The scores' distribution.
    pub scores: Binned,
}

/// When an input counts as out of domain.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// A distribution with a PSI above this has shifted (0.25 is the usual "major shift").
    pub psi: f64,
    /// Out of domain when more than this share of the feature columns has shifted, or the
    /// scores have.
    pub max_shifted_share: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            psi: 0.25,
            max_shifted_share: 0.25,
        }
    }
}

/// How an input compares with a model's training population.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Applicability {
    /// Whether the input is within the limits.
    pub in_domain: bool,
    /// Why the model cannot read this input at all (its feature columns or relations are not
    /// there), when that is so.
    pub mismatch: Option<String>,
    /// Nodes compared.
    pub rows: usize,
    /// PSI of the scores (none when the model could not score the input).
    pub score_psi: Option<f64>,
    /// Feature columns compared.
    pub features_checked: usize,
    /// Columns whose PSI is above the limit, highest first.
    pub features_shifted: Vec<(String, f64)>,
    /// The limits applied.
    pub limits: Limits,
}

impl Applicability {
    /// The verdict on an input the model cannot read at all.
    pub fn unreadable(why: String, limits: Limits) -> Self {
        Applicability {
            in_domain: false,
            mismatch: Some(why),
            rows: 0,
            score_psi: None,
            features_checked: 0,
            features_shifted: Vec::new(),
            limits,
        }
    }

    /// One line for the summary and the report.
    pub fn text(&self) -> String {
        if let Some(why) = &self.mismatch {
            return format!("OUT OF DOMAIN for the model, which cannot read this input: {why}");
        }
        let verdict = if self.in_domain {
            "within the model's training population"
        } else {
            "OUT OF DOMAIN for the model"
        };
        let mut top: Vec<String> = self
            .features_shifted
            .iter()
            .take(3)
            .map(|(name, psi)| format!("{name} {psi:.2}"))
            .collect();
        if self.features_shifted.len() > 3 {
            top.push("...".into());
        }
        format!(
            "{verdict}: score PSI {:.2}, {} of {} features shifted (PSI > {}){}{}",
            self.score_psi.unwrap_or(f64::NAN),
            self.features_shifted.len(),
            self.features_checked,
            self.limits.psi,
            if top.is_empty() { "" } else { ": " },
            top.join(", ")
        )
    }
}

/// Row ranges of the node sets named `kinds` in `graph`'s index space.
fn rows_of(graph: &ringscope_graph::HeteroGraph, kinds: &[String]) -> Vec<usize> {
    graph
        .node_sets()
        .iter()
        .enumerate()
        .filter(|(_, set)| kinds.contains(&set.kind))
        .flat_map(|(k, _)| graph.kind_range(k))
        .collect()
}

/// Column `c` of `features` at `rows`.
fn column(features: &crate::FeatureMatrix, rows: &[usize], c: usize) -> Vec<f64> {
    let cols = features.cols();
    rows.iter()
        .map(|&r| f64::from(features.values[r * cols + c]))
        .collect()
}

impl Profile {
    /// The profile of `features` and `scores` (both over `graph`'s index space) on the nodes of
    /// the kinds that carry labels; `None` when no kind does.
    pub fn of(
        graph: &ringscope_graph::HeteroGraph,
        features: &crate::FeatureMatrix,
        scores: &[f32],
    ) -> Option<Profile> {
        let kinds: Vec<String> = graph
            .node_sets()
            .iter()
            .filter(|s| s.labels.is_some())
            .map(|s| s.kind.clone())
            .collect();
        let rows = rows_of(graph, &kinds);
        if rows.is_empty() {
            return None;
        }
        let features = (0..features.cols())
            .map(|c| (features.names[c].clone(), bin(&column(features, &rows, c))))
            .collect();
        let scores: Vec<f64> = rows.iter().map(|&r| f64::from(scores[r])).collect();
        Some(Profile {
            kinds,
            rows: rows.len(),
            features,
            scores: bin(&scores),
        })
    }

    /// Compares the nodes of the profiled kinds in `graph` with the profile. `features` must
    /// have the profile's columns (a checkpoint checks that before scoring).
    pub fn check(
        &self,
        graph: &ringscope_graph::HeteroGraph,
        features: &crate::FeatureMatrix,
        scores: &[f32],
        limits: Limits,
    ) -> Applicability {
        let rows = rows_of(graph, &self.kinds);
        if rows.is_empty() {
            let why = format!("it has no {} nodes to compare", self.kinds.join(" or "));
            return Applicability::unreadable(why, limits);
        }
        let mut shifted: Vec<(String, f64)> = self
            .features
            .iter()
            .enumerate()
            .map(|(c, (name, binned))| (name.clone(), psi(binned, &column(features, &rows, c))))
            .filter(|(_, p)| *p > limits.psi)
            .collect();
        shifted.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let today: Vec<f64> = rows.iter().map(|&r| f64::from(scores[r])).collect();
        let score_psi = psi(&self.scores, &today);
        let share = shifted.len() as f64 / self.features.len().max(1) as f64;
        Applicability {
            mismatch: None,
            in_domain: score_psi <= limits.psi && share <= limits.max_shifted_share,
            rows: rows.len(),
            score_psi: Some(score_psi),
            features_checked: self.features.len(),
            features_shifted: shifted,
            limits,
        }
    }
}
