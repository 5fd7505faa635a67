//! Ratings against the crowd: how far an account's ratings sit from each target's mean, and how
//! often they are at the scale's ends. Paid reviews push a target up or down, so they are
//! extreme and disagree with organic opinion.

use super::{Act, Actions, per_active_account};
use ringscope_graph::Rel;

/// Finite ratings of `a`, when its relation carries ratings (reviews).
fn rating(actions: &Actions, a: &Act) -> Option<f32> {
    (actions.relation(a).name == Rel::Reviewed.name() && a.weight.is_finite()).then_some(a.weight)
}

/// Each reviewed target's mean rating, per action relation (NaN without ratings).
fn target_means(actions: &Actions) -> Vec<Vec<f64>> {
    actions
        .relations
        .iter()
        .enumerate()
        .map(|(ri, r)| {
            let targets = actions.target_times[ri].len();
            let (mut sum, mut n) = (vec![0f64; targets], vec![0u32; targets]);
            if r.name == Rel::Reviewed.name()
                && let Some(w) = &r.weight
            {
                for (e, &d) in r.dst.iter().enumerate() {
                    if w[e].is_finite() {
                        sum[d as usize] += f64::from(w[e]);
                        n[d as usize] += 1;
                    }
                }
            }
            sum.iter()
                .zip(&n)
                .map(|(s, &k)| if k > 0 { s / f64::from(k) } else { f64::NAN })
                .collect()
        })
        .collect()
}

/// Mean absolute difference between an account's ratings and the targets' mean ratings.
pub(crate) fn deviation(actions: &Actions) -> Vec<Option<f64>> {
    let means = target_means(actions);
    per_active_account(actions, |acts| {
        let devs: Vec<f64> = acts
            .iter()
            .filter_map(|a| {
                let r = rating(actions, a)?;
                Some((f64::from(r) - means[a.rel][a.target as usize]).abs())
            })
            .collect();
        (!devs.is_empty()).then(|| devs.iter().sum::<f64>() / devs.len() as f64)
    })
}

/// The share of an account's ratings at the lowest or highest rating given anywhere.
pub(crate) fn extremes(actions: &Actions) -> Vec<Option<f64>> {
    let all = actions
        .by_account
        .iter()
        .flatten()
        .filter_map(|a| rating(actions, a));
    let (lo, hi) = all.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), r| {
        (lo.min(r), hi.max(r))
    });
    per_active_account(actions, |acts| {
        let ratings: Vec<f32> = acts.iter().filter_map(|a| rating(actions, a)).collect();
        let extreme = ratings.iter().filter(|&&r| r == lo || r == hi).count();
        (!ratings.is_empty() && lo < hi).then(|| extreme as f64 / ratings.len() as f64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::tests::reviews;

    #[test]
    fn deviation_from_the_target_mean_and_extremes() {
        // Product 0 is rated 4, 4, 4 and 1 (mean 3.25); account 3 gives the 1 and a 5.
        let g = reviews(
            5,
            2,
            &[
                (0, 0, 4.0, 0),
                (1, 0, 4.0, 0),
                (2, 0, 4.0, 0),
                (3, 0, 1.0, 0),
                (3, 1, 5.0, 0),
                (4, 1, 3.0, 0),
            ],
        );
        let actions = Actions::of(&g);
        let dev = deviation(&actions);
        assert!((dev[0].unwrap() - 0.75).abs() < 1e-12);
        // |1 - 3.25| = 2.25 and |5 - 4| = 1.
        assert!((dev[3].unwrap() - 1.625).abs() < 1e-12);
        let ext = extremes(&actions);
        assert_eq!(ext[3], Some(1.0));
        assert_eq!(ext[0], Some(0.0));
        assert_eq!(ext[4], Some(0.0));
    }
}
