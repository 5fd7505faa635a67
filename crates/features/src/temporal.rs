//! Time-aware behavioural features of any timestamped relation, read the way a fraud analyst
//! reads an account's history: did it rate against the crowd, arrive early on its targets, act
//! in bursts, act only on its first day, keep returning to one target, or jump on targets
//! (products, devices) that had just appeared?
//!
//! The actor side (`out`) gets every column; the target side (`in`) gets its busiest day and
//! hour, which is how a product under a review bomb shows. Columns follow the schema: a
//! relation with times always has the time columns, and one with weights the deviation ones.

use crate::behaviour::{Column, per_node, place, sorted_times};
use ringscope_graph::{Csr, HeteroGraph, IndexSpace, NO_TIME, Relation};

const HOUR: i64 = 3600;
const DAY: i64 = 24 * HOUR;
/// An action is early when it is among the first this many on its target.
const EARLY_RANK: usize = 10;

/// Per edge: where it stands in its target's history (0 for the first), and the target's first
/// time. Untimed edges get `usize::MAX` and [`NO_TIME`].
fn target_history(csr: &Csr, times: &[i64], edges: usize) -> (Vec<usize>, Vec<i64>) {
    let mut rank = vec![usize::MAX; edges];
    let mut first = vec![NO_TIME; edges];
    let per_target = per_node(csr, |ids| {
        let mut timed: Vec<(i64, u32)> = ids
            .iter()
            .map(|&e| (times[e as usize], e))
            .filter(|(t, _)| *t != NO_TIME)
            .collect();
        timed.sort_unstable();
        let start = timed.first().map_or(NO_TIME, |t| t.0);
        timed
            .into_iter()
            .enumerate()
            .map(|(r, (_, e))| (e, r, start))
            .collect::<Vec<_>>()
    });
    for (e, r, start) in per_target.into_iter().flatten() {
        rank[e as usize] = r;
        first[e as usize] = start;
    }
    (rank, first)
}

/// Mean rating of each target, over its edges with a finite weight (0 without).
fn target_means(csr: &Csr, weights: &[f32]) -> Vec<f32> {
    per_node(csr, |ids| {
        let finite: Vec<f32> = ids
            .iter()
            .map(|&e| weights[e as usize])
            .filter(|w| w.is_finite())
            .collect();
        match finite.len() {
            0 => 0.0,
            n => finite.iter().sum::<f32>() / n as f32,
        }
    })
}

/// Most events in one calendar window of `width` seconds, `ln(1 + n)`.
fn log_most_in_window(sorted_times: &[i64], width: i64) -> f32 {
    let most = sorted_times
        .chunk_by(|a, b| a.div_euclid(width) == b.div_euclid(width))
        .map(<[i64]>::len)
        .max()
        .unwrap_or(0);
    (most as f32).ln_1p()
}

/// The time-aware columns of `r` (empty without times).
pub(crate) fn temporal_columns(
    graph: &HeteroGraph,
    r: &Relation,
    space: &IndexSpace,
) -> Vec<Column> {
    let Some(times) = &r.time else {
        return Vec::new();
    };
    let (out_csr, in_csr) = (graph.out_csr(r), graph.in_csr(r));
    let (rank, target_first) = target_history(in_csr, times, r.src.len());
    let means = r.weight.as_deref().map(|w| (w, target_means(in_csr, w)));
    let actor: Vec<Actor> = per_node(out_csr, |edges| {
        Actor::of(
            edges,
            &r.dst,
            times,
            &rank,
            &target_first,
            means.as_ref().map(|(w, m)| (*w, m.as_slice())),
        )
    });
    let mut columns = Vec::new();
    let mut push = |name: &str, kind: usize, values: Vec<f32>| {
        columns.push((
            format!("{name}:{}", r.name),
            place(space, kind, values.into_iter()),
        ));
    };
    let mut actor_columns: Vec<(&str, Field)> = Vec::new();
    if means.is_some() {
        actor_columns.push(("mean_rating_deviation_out", |a| a.deviation));
        actor_columns.push(("mean_abs_rating_deviation_out", |a| a.abs_deviation));
    }
    actor_columns.extend([
        (
            "mean_early_rank_out",
            (|a| a.early_rank) as fn(&Actor) -> f32,
        ),
        ("share_early_out", |a| a.share_early),
        ("share_first_day_out", |a| a.share_first_day),
        ("share_top_target_out", |a| a.share_top_target),
        ("share_on_new_targets_out", |a| a.share_new_targets),
    ]);
    for (name, field) in actor_columns {
        push(name, r.src_kind, actor.iter().map(field).collect());
    }
    for (side, csr, kind) in [("out", out_csr, r.src_kind), ("in", in_csr, r.dst_kind)] {
        let sorted = per_node(csr, |edges| sorted_times(edges, times));
        for (name, width) in [("log_most_in_a_day", DAY), ("log_most_in_an_hour", HOUR)] {
            let values = sorted
                .iter()
                .map(|t| log_most_in_window(t, width))
                .collect();
            push(&format!("{name}_{side}"), kind, values);
        }
    }
    columns
}

/// One column of [`Actor`].
type Field = fn(&Actor) -> f32;

/// One actor's history over one relation. All zero without timed edges.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Actor {
    /// Mean of (own rating − the target's mean rating).
    deviation: f32,
    /// Mean of |own rating − the target's mean rating|.
    abs_deviation: f32,
    /// Mean of `1 / (1 + rank)` over its actions, rank 0 being a target's first: 1 for an
    /// account that is always first, near 0 for one that always comes late.
    early_rank: f32,
    /// Share of its actions among the first [`EARLY_RANK`] on their target.
    share_early: f32,
    /// Share of its actions within a day of its own first.
    share_first_day: f32,
    /// Share of its actions on its most frequent target.
    share_top_target: f32,
    /// Share of its actions within an hour of the target's first appearance.
    share_new_targets: f32,
}

impl Actor {
    /// `targets` is the relation's `dst` column, indexed by edge.
    fn of(
        edges: &[u32],
        targets: &[u32],
        times: &[i64],
        rank: &[usize],
        target_first: &[i64],
        ratings: Option<(&[f32], &[f32])>,
    ) -> Self {
        let timed: Vec<(usize, u32)> = edges
            .iter()
            .map(|&e| (e as usize, targets[e as usize]))
            .filter(|&(e, _)| times[e] != NO_TIME)
            .collect();
        if timed.is_empty() {
            return Actor::default();
        }
        let n = timed.len() as f32;
        let share =
            |f: &dyn Fn(usize) -> bool| timed.iter().filter(|(e, _)| f(*e)).count() as f32 / n;
        let start = timed.iter().map(|&(e, _)| times[e]).min().unwrap_or(0);
        let mut counts: Vec<u32> = timed.iter().map(|&(_, t)| t).collect();
        counts.sort_unstable();
        let top = counts
            .chunk_by(|a, b| a == b)
            .map(<[u32]>::len)
            .max()
            .unwrap_or(0);
        let (mut deviation, mut abs_deviation) = (0f32, 0f32);
        if let Some((weights, means)) = ratings {
            let rated: Vec<f32> = timed
                .iter()
                .filter(|&&(e, _)| weights[e].is_finite())
                .map(|&(e, t)| weights[e] - means[t as usize])
                .collect();
            if !rated.is_empty() {
                deviation = rated.iter().sum::<f32>() / rated.len() as f32;
                abs_deviation = rated.iter().map(|d| d.abs()).sum::<f32>() / rated.len() as f32;
            }
        }
        Actor {
            deviation,
            abs_deviation,
            early_rank: timed
                .iter()
                .map(|&(e, _)| 1.0 / (1.0 + rank[e] as f32))
                .sum::<f32>()
                / n,
            share_early: share(&|e| rank[e] < EARLY_RANK),
            share_first_day: share(&|e| times[e] - start < DAY),
            share_top_target: top as f32 / n,
            share_new_targets: share(&|e| times[e] - target_first[e] < HOUR),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringscope_graph::NodeSet;
    use ringscope_testkit::interner as ids;

    /// Products p0 and p1. Account a0 (the spammer) reviews p0 first with 1 star, p0 again
    /// 10 minutes later with 1 star, and p1 within the hour of its first review, all in one
    /// hour. Account a1 reviews p0 with 5 stars two days later; a2 reviews p1 first with 5
    /// stars, and p0 three days later with 5 stars.
    fn reviews() -> HeteroGraph {
        let h = HOUR;
        let rel = Relation::new(
            "reviewed",
            (0, 3),
            (1, 2),
            vec![0, 0, 0, 1, 2, 2],
            vec![0, 0, 1, 0, 1, 0],
            Some(vec![1.0, 1.0, 1.0, 5.0, 5.0, 5.0]),
            Some(vec![
                10 * h,
                10 * h + 600,
                10 * h + 1200,
                58 * h,
                10 * h - 1800,
                82 * h,
            ]),
        )
        .unwrap();
        HeteroGraph::new(
            "m",
            vec![
                NodeSet::new("account", ids(3, "a")),
                NodeSet::new("product", ids(2, "p")),
            ],
            vec![rel],
        )
        .unwrap()
    }

    fn column(columns: &[Column], name: &str) -> Vec<f32> {
        columns
            .iter()
            .find(|(n, _)| n == name)
            .unwrap_or_else(|| panic!("no column {name}"))
            .1
            .clone()
    }

    #[test]
    fn an_early_bursty_dissenting_account_stands_out() {
        let g = reviews();
        let c = temporal_columns(&g, &g.relations()[0], &g.index_space());
        // p0's ratings 1, 1, 5, 5 average 3; p1's 1 and 5 average 3.
        let dev = column(&c, "mean_rating_deviation_out:reviewed");
        assert_eq!(&dev[..3], &[-2.0, 2.0, 2.0]);
        assert_eq!(column(&c, "mean_abs_rating_deviation_out:reviewed")[0], 2.0);
        // a0 was first and second on p0 and second on p1: (1 + 1/2 + 1/2) / 3.
        let early = column(&c, "mean_early_rank_out:reviewed");
        assert!((early[0] - 2.0 / 3.0).abs() < 1e-6, "{early:?}");
        // a1 came third on p0.
        assert!((early[1] - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(column(&c, "share_early_out:reviewed")[1], 1.0);
        // a2 acted 3 days apart: half its actions on its first day; a0 all of them.
        let first_day = column(&c, "share_first_day_out:reviewed");
        assert_eq!(&first_day[..3], &[1.0, 1.0, 0.5]);
        let top = column(&c, "share_top_target_out:reviewed");
        assert!((top[0] - 2.0 / 3.0).abs() < 1e-6 && top[2] == 0.5);
        // p1 first appeared (a2) at 9:30; a0 reviewed it at 10:20, within the hour; a0's
        // two p0 reviews opened p0. a1 and a2's p0 reviews came days after p0 appeared.
        let new_targets = column(&c, "share_on_new_targets_out:reviewed");
        assert_eq!(&new_targets[..3], &[1.0, 0.0, 0.5]);
        let ln = |v: f32| v.ln_1p();
        assert_eq!(column(&c, "log_most_in_an_hour_out:reviewed")[0], ln(3.0));
        assert_eq!(column(&c, "log_most_in_a_day_out:reviewed")[2], ln(1.0));
        // p0 got a0's two reviews within one hour; products have no "out" columns.
        assert_eq!(column(&c, "log_most_in_an_hour_in:reviewed")[3], ln(2.0));
        assert_eq!(column(&c, "share_first_day_out:reviewed")[3], 0.0);
    }

    #[test]
    fn columns_follow_the_schema() {
        let g = reviews();
        let mut untimed = g.relations()[0].clone();
        untimed.time = None;
        assert!(temporal_columns(&g, &untimed, &g.index_space()).is_empty());
        let mut unrated = g.relations()[0].clone();
        unrated.weight = None;
        let names: Vec<String> = temporal_columns(&g, &unrated, &g.index_space())
            .into_iter()
            .map(|(n, _)| n)
            .collect();
        assert!(names.iter().all(|n| !n.contains("deviation")));
        assert_eq!(names.len(), 9);
    }
}
