//! Behavioural features of any weighted, timestamped relation: how a node rates and is rated
//! (spread, entropy, extremes), how bursty its activity is, and REV2-style fairness and
//! goodness with the neighbour aggregates built on them.
//!
//! Everything is computed per node from the relation's CSR in both directions, in parallel.

use rayon::prelude::*;
use ringscope_graph::{Csr, HeteroGraph, IndexSpace, NO_TIME, Relation};

/// One named feature column over the graph's global index space.
pub(crate) type Column = (String, Vec<f32>);

/// Rating spread, entropy, extremes and activity burstiness of each node on both sides of `r`,
/// plus [`reputation_columns`] when `r` has weights. Ratings are scaled by the relation's
/// weight range, or by `range` where given (a shard's relation is part of a bigger one).
pub(crate) fn behaviour_columns(
    graph: &HeteroGraph,
    r: &Relation,
    space: &IndexSpace,
    range: Option<Option<(f32, f32)>>,
) -> Vec<Column> {
    let mut columns = Vec::new();
    let range = range.unwrap_or_else(|| r.weight.as_deref().and_then(weight_range));
    let sides = [
        ("out", graph.out_csr(r), r.src_kind),
        ("in", graph.in_csr(r), r.dst_kind),
    ];
    for (side, csr, kind) in sides {
        // Columns follow the relation's schema (it has weights), never their values: a graph
        // whose ratings are all equal, or a small online subgraph, has the same columns as
        // the training graph, with the zeros of "no spread".
        if let Some(weights) = &r.weight {
            let stats: Vec<WeightStats> = per_node(csr, |edges| match range {
                Some((lo, hi)) => {
                    WeightStats::of(edges.iter().map(|&e| weights[e as usize]), lo, hi)
                }
                None => WeightStats::default(),
            });
            let mut push = |name: &str, f: fn(&WeightStats) -> f32| {
                columns.push((
                    format!("{name}_{side}:{}", r.name),
                    place(space, kind, stats.iter().map(f)),
                ))
            };
            push("weight_std", |s| s.std);
            push("weight_entropy", |s| s.entropy);
            push("share_lowest_weight", |s| s.share_low);
            push("share_highest_weight", |s| s.share_high);
        }
        if let Some(times) = &r.time {
            let gaps: Vec<GapStats> =
                per_node(csr, |edges| GapStats::of(&sorted_times(edges, times)));
            columns.push((
                format!("log_mean_gap_hours_{side}:{}", r.name),
                place(space, kind, gaps.iter().map(|g| g.log_mean_hours)),
            ));
            columns.push((
                format!("burstiness_{side}:{}", r.name),
                place(space, kind, gaps.iter().map(|g| g.burstiness)),
            ));
        }
    }
    if let Some(weights) = &r.weight {
        columns.extend(reputation_columns(graph, r, weights, range, space));
    }
    columns
}

/// Smallest and largest finite weight, if they differ (a constant weight carries no rating).
pub(crate) fn weight_range(weights: &[f32]) -> Option<(f32, f32)> {
    let (lo, hi) = weights
        .iter()
        .filter(|w| w.is_finite())
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &w| {
            (lo.min(w), hi.max(w))
        });
    (lo < hi).then_some((lo, hi))
}

/// The known times of `edges`, sorted.
pub(crate) fn sorted_times(edges: &[u32], times: &[i64]) -> Vec<i64> {
    let mut t: Vec<i64> = edges
        .iter()
        .map(|&e| times[e as usize])
        .filter(|&t| t != NO_TIME)
        .collect();
    t.sort_unstable();
    t
}

/// `f` of each node's edge ids, in parallel.
pub(crate) fn per_node<T: Send>(csr: &Csr, f: impl Fn(&[u32]) -> T + Sync) -> Vec<T> {
    (0..csr.offsets.len() - 1)
        .into_par_iter()
        .map(|v| f(&csr.edge_ids[csr.offsets[v] as usize..csr.offsets[v + 1] as usize]))
        .collect()
}

/// Node set `kind`'s values placed in a column of zeros over the whole index space.
pub(crate) fn place(
    space: &IndexSpace,
    kind: usize,
    values: impl Iterator<Item = f32>,
) -> Vec<f32> {
    let mut column = vec![0f32; space.len()];
    for (slot, v) in column[space.range(kind)].iter_mut().zip(values) {
        *slot = v;
    }
    column
}

/// How one node's edge weights are spread. All zero without finite weights.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct WeightStats {
    /// Population standard deviation.
    std: f32,
    /// Shannon entropy (nats) of the weights rounded to integers: 0 when a node always gives
    /// the same rating, high when it spreads them.
    entropy: f32,
    /// Share of weights at the relation's minimum.
    share_low: f32,
    /// Share of weights at the relation's maximum.
    share_high: f32,
}

impl WeightStats {
    fn of(weights: impl Iterator<Item = f32>, lo: f32, hi: f32) -> Self {
        let mut values: Vec<f32> = weights.filter(|w| w.is_finite()).collect();
        if values.is_empty() {
            return WeightStats::default();
        }
        let n = values.len() as f64;
        let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
        let var = values
            .iter()
            .map(|&v| (f64::from(v) - mean).powi(2))
            .sum::<f64>()
            / n;
        let share = |target: f32| values.iter().filter(|&&v| v == target).count() as f64 / n;
        let (share_low, share_high) = (share(lo), share(hi));
        values.iter_mut().for_each(|v| *v = v.round());
        values.sort_unstable_by(f32::total_cmp);
        let mut entropy = 0.0f64;
        for run in values.chunk_by(|a, b| a == b) {
            let p = run.len() as f64 / n;
            entropy -= p * p.ln();
        }
        WeightStats {
            std: var.sqrt() as f32,
            entropy: entropy as f32,
            share_low: share_low as f32,
            share_high: share_high as f32,
        }
    }
}

/// Inter-event times of one node. All zero with fewer than two timed events.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct GapStats {
    /// `ln(1 + mean gap in hours)`.
    log_mean_hours: f32,
    /// Goh and Barabási's burstiness `(σ − μ) / (σ + μ)` of the gaps: −1 for clockwork
    /// regularity, 0 for a Poisson process, towards 1 for bursts separated by long silences.
    burstiness: f32,
}

impl GapStats {
    fn of(sorted_times: &[i64]) -> Self {
        if sorted_times.len() < 2 {
            return GapStats::default();
        }
        let gaps: Vec<f64> = sorted_times
            .windows(2)
            .map(|w| (w[1] - w[0]) as f64 / 3600.0)
            .collect();
        let n = gaps.len() as f64;
        let mean = gaps.iter().sum::<f64>() / n;
        let sd = (gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / n).sqrt();
        GapStats {
            log_mean_hours: mean.ln_1p() as f32,
            burstiness: if sd + mean > 0.0 {
                ((sd - mean) / (sd + mean)) as f32
            } else {
                0.0
            },
        }
    }
}

/// Iterations of the fairness/goodness fixed point; REV2 reports convergence within a few
/// dozen on the Bitcoin graphs.
const REPUTATION_ITERATIONS: usize = 50;
/// Stop when no score moves by more than this.
const REPUTATION_TOLERANCE: f64 = 1e-5;

/// REV2-style reputation (Kumar et al., WSDM 2018) of the two ends of a rating relation.
///
/// With each rating scaled to `s ∈ [−1, 1]`, iterate from 1 to a fixed point:
/// - goodness of a rated node `G(p) = Σ R(u,p) · s(u,p) / |In(p)|`,
/// - reliability of a rating `R(u,p) = (F(u) + 1 − |s(u,p) − G(p)| / 2) / 2`,
/// - fairness of a rater `F(u) = (μ_F + Σ R(u,p)) / (1 + |Out(u)|)`, smoothed towards the mean
///   fairness `μ_F` so a one-rating account is not judged on one rating (REV2's cold-start
///   prior with α = 1).
///
/// Columns: fairness and mean reliability on the rater side, goodness on the rated side, and
/// the label-free neighbour aggregates "mean goodness of what I rated" and "mean fairness of
/// those who rated me".
pub(crate) fn reputation_columns(
    graph: &HeteroGraph,
    r: &Relation,
    weights: &[f32],
    range: Option<(f32, f32)>,
    space: &IndexSpace,
) -> Vec<Column> {
    // Without a spread of weights every rating is neutral.
    let score: Vec<f64> = weights
        .iter()
        .map(|&w| match (w.is_finite(), range) {
            (true, Some((lo, hi))) => 2.0 * f64::from(w - lo) / f64::from(hi - lo) - 1.0,
            _ => 0.0,
        })
        .collect();
    let (out, inc) = (graph.out_csr(r), graph.in_csr(r));
    let n_src = out.offsets.len() - 1;
    let n_dst = inc.offsets.len() - 1;
    let mut fairness = vec![1.0f64; n_src];
    let mut goodness = vec![1.0f64; n_dst];
    let mut reliability = vec![1.0f64; r.src.len()];
    for _ in 0..REPUTATION_ITERATIONS {
        let next_goodness: Vec<f64> = per_node(inc, |edges| {
            let sum: f64 = edges
                .iter()
                .map(|&e| reliability[e as usize] * score[e as usize])
                .sum();
            sum / edges.len().max(1) as f64
        });
        reliability = (0..r.src.len())
            .into_par_iter()
            .map(|e| {
                let (u, p) = (r.src[e] as usize, r.dst[e] as usize);
                (fairness[u] + 1.0 - (score[e] - next_goodness[p]).abs() / 2.0) / 2.0
            })
            .collect();
        let active = out
            .offsets
            .windows(2)
            .filter(|w| w[1] > w[0])
            .count()
            .max(1);
        let mean_fairness = (0..n_src)
            .filter(|&u| out.offsets[u + 1] > out.offsets[u])
            .map(|u| fairness[u])
            .sum::<f64>()
            / active as f64;
        let next_fairness: Vec<f64> = per_node(out, |edges| {
            let sum: f64 = edges.iter().map(|&e| reliability[e as usize]).sum();
            (mean_fairness + sum) / (1.0 + edges.len() as f64)
        });
        let change =
            max_change(&fairness, &next_fairness).max(max_change(&goodness, &next_goodness));
        fairness = next_fairness;
        goodness = next_goodness;
        if change < REPUTATION_TOLERANCE {
            break;
        }
    }
    let mean_over = |csr: &Csr, value: &(dyn Fn(usize) -> f64 + Sync)| -> Vec<f32> {
        per_node(csr, |edges| {
            let sum: f64 = edges.iter().map(|&e| value(e as usize)).sum();
            (sum / edges.len().max(1) as f64) as f32
        })
    };
    let reliability_out = mean_over(out, &|e| reliability[e]);
    let goodness_of_targets = mean_over(out, &|e| goodness[r.dst[e] as usize]);
    let fairness_of_raters = mean_over(inc, &|e| fairness[r.src[e] as usize]);
    let name = &r.name;
    vec![
        (
            format!("fairness:{name}"),
            place(space, r.src_kind, fairness.iter().map(|&f| f as f32)),
        ),
        (
            format!("mean_reliability_out:{name}"),
            place(space, r.src_kind, reliability_out.into_iter()),
        ),
        (
            format!("mean_goodness_of_targets:{name}"),
            place(space, r.src_kind, goodness_of_targets.into_iter()),
        ),
        (
            format!("goodness:{name}"),
            place(space, r.dst_kind, goodness.iter().map(|&g| g as f32)),
        ),
        (
            format!("mean_fairness_of_raters:{name}"),
            place(space, r.dst_kind, fairness_of_raters.into_iter()),
        ),
    ]
}

fn max_change(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Column names depend on the relation's schema, not its values: a model trained where
    /// ratings vary can read a graph (or an online subgraph) where they are all equal.
    #[test]
    fn constant_ratings_give_the_same_columns_as_varied_ones() {
        let columns = |ratings: Vec<f32>| {
            let g = ringscope_testkit::reviews_graph_with(
                2,
                2,
                &[(0, 0), (1, 1)],
                ratings,
                vec![0, 60],
            );
            let space = g.index_space();
            behaviour_columns(&g, &g.relations()[0], &space, None)
        };
        let varied = columns(vec![1.0, 5.0]);
        let constant = columns(vec![4.0, 4.0]);
        let names = |c: &[Column]| c.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        assert_eq!(names(&varied), names(&constant));
        assert!(names(&varied).iter().any(|n| n.starts_with("fairness")));
        let spread = constant
            .iter()
            .find(|(n, _)| n.starts_with("weight_std_out"))
            .unwrap();
        assert!(spread.1.iter().all(|&v| v == 0.0));
    }

    #[test]
    fn weight_stats_on_a_known_case() {
        // Ratings 1, 1, 5, 3 on a 1..5 scale.
        let s = WeightStats::of([1.0, 1.0, 5.0, 3.0].into_iter(), 1.0, 5.0);
        assert_eq!(s.share_low, 0.5);
        assert_eq!(s.share_high, 0.25);
        // mean 2.5, deviations −1.5, −1.5, 2.5, 0.5 → variance 11/4
        assert!((s.std - (2.75f32).sqrt()).abs() < 1e-6);
        let h = -(0.5f64 * 0.5f64.ln() + 2.0 * 0.25 * 0.25f64.ln());
        assert!((f64::from(s.entropy) - h).abs() < 1e-6);
        let same = WeightStats::of([4.0, 4.0].into_iter(), 1.0, 5.0);
        assert_eq!((same.std, same.entropy), (0.0, 0.0));
        assert_eq!(
            WeightStats::of([f32::NAN].into_iter(), 1.0, 5.0),
            WeightStats::default()
        );
    }

    #[test]
    fn burstiness_separates_clockwork_from_bursts() {
        let hour = 3600;
        let regular: Vec<i64> = (0..10).map(|i| i * hour).collect();
        let g = GapStats::of(&regular);
        assert!((g.burstiness + 1.0).abs() < 1e-6, "{g:?}");
        assert!((g.log_mean_hours - 1f32.ln_1p()).abs() < 1e-6);
        // Nine events within nine seconds, then one a month later: nine gaps cap burstiness at
        // (√9 − 1) / (√9 + 1) = 0.5.
        let mut bursty: Vec<i64> = (0..9).collect();
        bursty.push(30 * 24 * hour);
        let b = GapStats::of(&bursty).burstiness;
        assert!(b > 0.45 && b < 0.5, "{b}");
        assert_eq!(GapStats::of(&[5]), GapStats::default());
    }
}
