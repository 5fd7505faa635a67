//! Account age at each action: accounts made for a campaign act within days of being created.

use super::{Actions, DAY};
use rayon::prelude::*;
use ringscope_graph::{AttrValues, NO_TIME};

/// Minus the mean of `ln(1 + days since creation)` over an account's timed actions; `None`
/// without a creation time or a timed action.
pub(crate) fn young(actions: &Actions) -> Vec<Option<f64>> {
    let Some(kind) = actions.account_kind else {
        return Vec::new();
    };
    let Some(AttrValues::Int(created)) = actions.graph.node_sets()[kind].attr("created_at") else {
        return vec![None; actions.accounts];
    };
    actions
        .by_account
        .par_iter()
        .zip(created)
        .map(|(acts, born)| {
            let born = (*born)?;
            let logs: Vec<f64> = acts
                .iter()
                .filter(|x| x.time != NO_TIME)
                .map(|x| (((x.time - born).max(0) as f64) / DAY as f64).ln_1p())
                .collect();
            (!logs.is_empty()).then(|| -logs.iter().sum::<f64>() / logs.len() as f64)
        })
        .collect()
}
