//! The signals, one family per file. Each maps the graph to one value per account, oriented so
//! that higher is more suspect, or `None` where it does not apply to that account.

mod activity;
mod age;
mod cotarget;
mod early;
mod identifiers;
mod rating;
mod synchrony;

use ringscope_graph::{HeteroGraph, NO_TIME, NodeKind, Relation};

/// One signal: its name and how it is computed.
pub(crate) type SignalFn = fn(&Actions) -> Vec<Option<f64>>;

/// Every signal, in output order. A signal that is constant on the fitted graph (no ratings, no
/// identifiers, no creation times) is dropped there, so the rest carry the score.
pub(crate) const SIGNALS: &[(&str, SignalFn)] = &[
    ("identifier_sharing", identifiers::sharing),
    ("co_target_block", cotarget::block_density),
    ("synchrony", synchrony::synchrony),
    ("rating_deviation", rating::deviation),
    ("extreme_ratings", rating::extremes),
    ("early_actions", early::early),
    ("peak_day_share", activity::peak_day_share),
    ("short_span", activity::short_span),
    ("low_activity", activity::low_activity),
    ("young_account", age::young),
];

/// Seconds in a day.
pub(crate) const DAY: i64 = 86_400;

/// One action of an account on a target: a review or an order of a product.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Act {
    /// Index into [`Actions::relations`].
    pub rel: usize,
    /// The target's index in its node set.
    pub target: u32,
    /// Rating or amount; NaN when absent.
    pub weight: f32,
    /// Unix seconds, or `NO_TIME`.
    pub time: i64,
}

/// The graph seen from its accounts: each account's actions on targets, and each target's
/// action times, per action relation (every relation from accounts to products).
pub(crate) struct Actions<'g> {
    pub graph: &'g HeteroGraph,
    /// The account node set's index, if the graph has one.
    pub account_kind: Option<usize>,
    /// Number of accounts.
    pub accounts: usize,
    /// The action relations.
    pub relations: Vec<&'g Relation>,
    /// Each account's actions, in relation then edge order.
    pub by_account: Vec<Vec<Act>>,
    /// `[relation][target]`: the target's action times, ascending, without `NO_TIME`.
    pub target_times: Vec<Vec<Vec<i64>>>,
}

impl<'g> Actions<'g> {
    pub fn of(graph: &'g HeteroGraph) -> Self {
        let account_kind = graph.node_set(NodeKind::Account.name()).map(|(k, _)| k);
        let product_kind = graph.node_set(NodeKind::Product.name()).map(|(k, _)| k);
        let accounts = account_kind.map_or(0, |k| graph.node_sets()[k].len());
        let relations: Vec<&Relation> = graph
            .relations()
            .iter()
            .filter(|r| Some(r.src_kind) == account_kind && Some(r.dst_kind) == product_kind)
            .collect();
        let mut by_account = vec![Vec::new(); accounts];
        let mut target_times = Vec::with_capacity(relations.len());
        for (ri, r) in relations.iter().enumerate() {
            let mut times = vec![Vec::new(); graph.node_sets()[r.dst_kind].len()];
            for e in 0..r.len() {
                let time = r.time.as_ref().map_or(NO_TIME, |t| t[e]);
                let act = Act {
                    rel: ri,
                    target: r.dst[e],
                    weight: r.weight.as_ref().map_or(f32::NAN, |w| w[e]),
                    time,
                };
                by_account[r.src[e] as usize].push(act);
                if time != NO_TIME {
                    times[r.dst[e] as usize].push(time);
                }
            }
            for t in &mut times {
                t.sort_unstable();
            }
            target_times.push(times);
        }
        Actions {
            graph,
            account_kind,
            accounts,
            relations,
            by_account,
            target_times,
        }
    }

    /// The relation an action belongs to.
    pub fn relation(&self, act: &Act) -> &Relation {
        self.relations[act.rel]
    }
}

/// `f` of each account's actions, `None` for an account without actions.
pub(crate) fn per_active_account(
    actions: &Actions,
    f: impl Fn(&[Act]) -> Option<f64> + Sync,
) -> Vec<Option<f64>> {
    use rayon::prelude::*;
    actions
        .by_account
        .par_iter()
        .map(|acts| if acts.is_empty() { None } else { f(acts) })
        .collect()
}

/// Times of `acts` that are known, ascending.
pub(crate) fn known_times(acts: &[Act]) -> Vec<i64> {
    let mut t: Vec<i64> = acts
        .iter()
        .map(|a| a.time)
        .filter(|&t| t != NO_TIME)
        .collect();
    t.sort_unstable();
    t
}

#[cfg(test)]
pub(crate) mod tests {
    use ringscope_graph::HeteroGraph;

    /// `accounts` accounts and `products` products with one review per `(account, product,
    /// rating, time)`.
    pub fn reviews(accounts: usize, products: usize, rows: &[(u32, u32, f32, i64)]) -> HeteroGraph {
        let pairs: Vec<(u32, u32)> = rows.iter().map(|r| (r.0, r.1)).collect();
        ringscope_testkit::reviews_graph_with(
            accounts,
            products,
            &pairs,
            rows.iter().map(|r| r.2).collect(),
            rows.iter().map(|r| r.3).collect(),
        )
    }
}
