//! Early actions: where an account's actions fall in each target's history. Campaigns seed new
//! listings, so their reviews come first.

use super::{Actions, per_active_account};
use ringscope_graph::NO_TIME;

/// One minus the mean share of each target's earlier actions: 1 when every action was its
/// target's first.
pub(crate) fn early(actions: &Actions) -> Vec<Option<f64>> {
    per_active_account(actions, |acts| {
        let ranks: Vec<f64> = acts
            .iter()
            .filter(|a| a.time != NO_TIME)
            .map(|a| {
                let times = &actions.target_times[a.rel][a.target as usize];
                times.partition_point(|&t| t < a.time) as f64 / times.len() as f64
            })
            .collect();
        (!ranks.is_empty()).then(|| 1.0 - ranks.iter().sum::<f64>() / ranks.len() as f64)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::tests::reviews;

    #[test]
    fn first_reviewers_score_highest() {
        let g = reviews(
            4,
            1,
            &[
                (0, 0, 5.0, 10),
                (1, 0, 5.0, 20),
                (2, 0, 5.0, 30),
                (3, 0, 5.0, 40),
            ],
        );
        let e = early(&Actions::of(&g));
        assert_eq!(e, vec![Some(1.0), Some(0.75), Some(0.5), Some(0.25)]);
    }
}
