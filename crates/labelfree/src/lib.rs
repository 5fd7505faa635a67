//! A label-free account scorer, fitted on the input's own graph.
//!
//! Nothing here needs a label or a trained network. Each signal in `signals/` gives every
//! account a number, higher meaning more suspect: identifier sharing, co-target dense blocks
//! (FRAUDAR-weighted), synchrony at the hour, day and week scales, deviation from each target's
//! mean rating, extreme ratings, early actions, the busiest day's share, a short activity span,
//! low volume and account age at each action. [`LabelFree::fit`] keeps the distribution of each
//! signal that varies on the graph ([`Ecdf`]); [`LabelFree::score`] turns an account's signals
//! into their ranks within those distributions, averages them with equal weights, and ranks the
//! average again: the share `u` of the fitted graph's accounts that look less suspect. The score
//! is `u^k`, with `k` such that the account at rank `half_at` (0.95 by default) scores 0.5, so
//! that most accounts score near 0 as under a fraud probability, and the ring stage's absolute
//! thresholds mean the same for both scorers. The power is monotone: the order, and so every
//! ranking metric, is the rank's. A seller scores as the action-weighted mean of its customers'
//! scores, ranked among sellers and scaled the same way.
//!
//! Equal weights are deliberate: with no labels there is nothing to fit weights to, and a
//! signal that does not apply (no identifiers, no ratings) is dropped at fit time instead.

mod ecdf;
mod signals;

pub use ecdf::Ecdf;
use ringscope_graph::{HeteroGraph, NodeKind};
use signals::{Actions, SIGNALS};

/// Name of the model, as `model = "label_free"` selects it.
pub const NAME: &str = "label_free";

/// One fitted signal.
#[derive(Clone, Debug, PartialEq)]
pub struct FittedSignal {
    /// The signal's name (see the crate docs).
    pub name: String,
    /// Its distribution over the fitted graph's accounts.
    pub ecdf: Ecdf,
}

/// A fitted label-free scorer. It lives for one run or one served graph; nothing writes it to
/// a file.
#[derive(Clone, Debug, PartialEq)]
pub struct LabelFree {
    /// The signals that vary on the fitted graph, in [`SIGNALS`] order.
    pub signals: Vec<FittedSignal>,
    /// The signals that were constant there (dropped).
    pub dropped: Vec<String>,
    /// Distribution of the accounts' mean signal rank.
    pub accounts: Option<Ecdf>,
    /// Distribution of the sellers' customer-weighted mean score.
    pub sellers: Option<Ecdf>,
    /// The rank at which a score is 0.5.
    pub half_at: f64,
}

/// Every account's signal ranks on one graph, for scores and reasons.
pub struct Scored {
    /// Names of the fitted signals, in column order.
    pub names: Vec<String>,
    /// `accounts × names.len()`, row-major: each signal's rank in `[0, 1]`, 0.5 where it does
    /// not apply.
    pub ranks: Vec<f64>,
    /// A score per node in the graph's global index space: accounts and sellers in `[0, 1]`,
    /// other kinds 0.
    pub scores: Vec<f32>,
}

/// The label-free explanation of a group of accounts.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupReasons {
    /// The signals that raise the group's score most: `(signal, mean rank above the median)`.
    pub signals: Vec<(String, f32)>,
    /// The members' mean score.
    pub score: f32,
    /// The members' mean score with those signals set to the median.
    pub score_without_signals: f32,
}

/// Raw signal values: `[signal][account]`.
fn raw_signals(graph: &HeteroGraph) -> Raw {
    let actions = Actions::of(graph);
    SIGNALS
        .iter()
        .map(|&(name, f)| {
            let mut v = f(&actions);
            v.resize(actions.accounts, None);
            (name, v)
        })
        .collect()
}

/// Raw signal values of one graph, by name.
type Raw = Vec<(&'static str, Vec<Option<f64>>)>;

impl LabelFree {
    /// Fits the scorer on `graph`'s accounts; the account at rank `half_at` (in `(0, 1)`) will
    /// score 0.5.
    pub fn fit(graph: &HeteroGraph, half_at: f64) -> LabelFree {
        Self::fit_and_score(graph, half_at).0
    }

    /// [`LabelFree::fit`] and [`LabelFree::score`] of the same graph, its signals computed once.
    pub fn fit_and_score(graph: &HeteroGraph, half_at: f64) -> (LabelFree, Scored) {
        let raw = raw_signals(graph);
        let mut signals = Vec::new();
        let mut dropped = Vec::new();
        for (name, values) in &raw {
            match Ecdf::fit(values.iter().flatten().copied()) {
                Some(ecdf) => signals.push(FittedSignal {
                    name: name.to_string(),
                    ecdf,
                }),
                None => dropped.push(name.to_string()),
            }
        }
        let accounts = raw.first().map_or(0, |(_, v)| v.len());
        let mut model = LabelFree {
            signals,
            dropped,
            accounts: None,
            sellers: None,
            half_at,
        };
        let ranks = model.ranks_of(&raw);
        let means = model.mean_ranks(&ranks, accounts);
        model.accounts = Ecdf::fit(means.iter().copied());
        let account_scores: Vec<f64> = means.iter().map(|&m| model.account_score(m)).collect();
        model.sellers = Ecdf::fit(seller_means(graph, &account_scores).into_iter().flatten());
        let scored = model.scored(graph, ranks);
        (model, scored)
    }

    /// Scores every account and seller of `graph` on the fitted scale.
    pub fn score(&self, graph: &HeteroGraph) -> Scored {
        self.scored(graph, self.ranks_of(&raw_signals(graph)))
    }

    /// The scores of `graph` from its accounts' signal ranks.
    fn scored(&self, graph: &HeteroGraph, ranks: Vec<f64>) -> Scored {
        let accounts = graph
            .node_set(NodeKind::Account.name())
            .map_or(0, |(_, set)| set.len());
        let account_scores: Vec<f64> = self
            .mean_ranks(&ranks, accounts)
            .iter()
            .map(|&m| self.account_score(m))
            .collect();
        let space = graph.index_space();
        let mut scores = vec![0f32; space.len()];
        if let Some((kind, _)) = graph.node_set(NodeKind::Account.name()) {
            for (slot, &s) in scores[space.range(kind)].iter_mut().zip(&account_scores) {
                *slot = s as f32;
            }
        }
        if let Some((kind, _)) = graph.node_set(NodeKind::Seller.name()) {
            let means = seller_means(graph, &account_scores);
            for (slot, m) in scores[space.range(kind)].iter_mut().zip(means) {
                *slot = match (m, &self.sellers) {
                    (Some(m), Some(e)) => self.scaled(e.rank(m)) as f32,
                    (Some(m), None) => m as f32,
                    (None, _) => 0.0,
                };
            }
        }
        Scored {
            names: self.signals.iter().map(|s| s.name.clone()).collect(),
            ranks,
            scores,
        }
    }

    /// Each account's rank on each fitted signal, row-major, from the graph's raw signals.
    fn ranks_of(&self, raw: &Raw) -> Vec<f64> {
        let accounts = raw.first().map_or(0, |(_, v)| v.len());
        let k = self.signals.len();
        let mut ranks = vec![0.5; accounts * k];
        for (j, signal) in self.signals.iter().enumerate() {
            let Some((_, values)) = raw.iter().find(|(name, _)| *name == signal.name) else {
                continue;
            };
            for (a, v) in values.iter().enumerate() {
                if let Some(v) = v {
                    ranks[a * k + j] = signal.ecdf.rank(*v);
                }
            }
        }
        ranks
    }

    /// Each of `accounts` accounts' mean signal rank; the median where no signal varies (a
    /// graph of one account, say).
    fn mean_ranks(&self, ranks: &[f64], accounts: usize) -> Vec<f64> {
        let k = self.signals.len();
        if k == 0 {
            return vec![0.5; accounts];
        }
        ranks
            .chunks(k)
            .map(|r| r.iter().sum::<f64>() / k as f64)
            .collect()
    }

    /// An account's score from its mean rank.
    fn account_score(&self, mean: f64) -> f64 {
        self.scaled(self.accounts.as_ref().map_or(0.5, |e| e.rank(mean)))
    }

    /// `rank^k`, 0.5 at `half_at`.
    fn scaled(&self, rank: f64) -> f64 {
        rank.powf(0.5f64.ln() / self.half_at.ln())
    }

    /// Why `members` (account indices of the scored graph) score as they do: the `top_k`
    /// signals whose mean member rank is furthest above the median, and the members' mean score
    /// with those signals at the median, which should fall.
    pub fn explain(&self, scored: &Scored, members: &[u32], top_k: usize) -> GroupReasons {
        let k = scored.names.len();
        let mean_of = |col: usize| {
            members
                .iter()
                .map(|&a| scored.ranks[a as usize * k + col])
                .sum::<f64>()
                / members.len().max(1) as f64
        };
        let mut by_signal: Vec<(usize, f64)> = (0..k).map(|j| (j, mean_of(j) - 0.5)).collect();
        by_signal.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        by_signal.retain(|&(_, lift)| lift > 0.0);
        by_signal.truncate(top_k);
        let member_score = |a: u32, neutral: &[usize]| {
            let row = &scored.ranks[a as usize * k..(a as usize + 1) * k];
            let mean = row
                .iter()
                .enumerate()
                .map(|(j, &r)| if neutral.contains(&j) { 0.5 } else { r })
                .sum::<f64>()
                / k.max(1) as f64;
            self.account_score(mean)
        };
        let chosen: Vec<usize> = by_signal.iter().map(|&(j, _)| j).collect();
        let mean_score = |neutral: &[usize]| {
            (members
                .iter()
                .map(|&a| member_score(a, neutral))
                .sum::<f64>()
                / members.len().max(1) as f64) as f32
        };
        GroupReasons {
            signals: by_signal
                .iter()
                .map(|&(j, lift)| (scored.names[j].clone(), lift as f32))
                .collect(),
            score: mean_score(&[]),
            score_without_signals: mean_score(&chosen),
        }
    }
}

/// Each seller's customers' mean score, weighted by their actions on its products (reviews and
/// orders) and orders from it; `None` for a seller without customers.
fn seller_means(graph: &HeteroGraph, account_scores: &[f64]) -> Vec<Option<f64>> {
    let (Some((account, _)), Some((seller, sellers))) = (
        graph.node_set(NodeKind::Account.name()),
        graph.node_set(NodeKind::Seller.name()),
    ) else {
        return Vec::new();
    };
    let product = graph.node_set(NodeKind::Product.name()).map(|(k, _)| k);
    // Which seller sells each product.
    let mut seller_of: Vec<Option<u32>> =
        vec![None; product.map_or(0, |p| graph.node_sets()[p].len())];
    for r in graph.relations() {
        if Some(r.src_kind) == product && r.dst_kind == seller {
            for (&p, &s) in r.src.iter().zip(&r.dst) {
                seller_of[p as usize].get_or_insert(s);
            }
        }
    }
    if account_scores.is_empty() {
        return vec![None; sellers.len()];
    }
    let mut sum = vec![0f64; sellers.len()];
    let mut n = vec![0u32; sellers.len()];
    for r in graph.relations() {
        if r.src_kind != account {
            continue;
        }
        for (&a, &d) in r.src.iter().zip(&r.dst) {
            let s = if r.dst_kind == seller {
                Some(d)
            } else if Some(r.dst_kind) == product {
                seller_of[d as usize]
            } else {
                None
            };
            if let Some(s) = s {
                sum[s as usize] += account_scores[a as usize];
                n[s as usize] += 1;
            }
        }
    }
    sum.iter()
        .zip(&n)
        .map(|(s, &k)| (k > 0).then(|| s / f64::from(k)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::tests::reviews;

    /// 60 honest accounts each review three of 20 products over a year, with ratings near the
    /// product's; accounts 60-65 review products 0-3 within one hour, all 5 stars.
    fn marketplace() -> HeteroGraph {
        let day = 86_400;
        let mut rows = Vec::new();
        for a in 0..60u32 {
            for k in 0..3u32 {
                let p = (a + 7 * k) % 20;
                let t = i64::from(a) * 5 * day + i64::from(k) * 40 * day;
                rows.push((a, p, 3.0 + ((a + k) % 2) as f32, t));
            }
        }
        for a in 60..66u32 {
            for p in 0..4 {
                rows.push((a, p, 5.0, 200 * day + i64::from(a * 4 + p) * 60));
            }
        }
        reviews(66, 20, &rows)
    }

    #[test]
    fn a_synchronised_block_outranks_honest_accounts_and_is_explained() {
        let graph = marketplace();
        let (model, scored) = LabelFree::fit_and_score(&graph, 0.95);
        assert!(model.dropped.contains(&"identifier_sharing".to_string()));
        // Scoring the fitted graph again gives the same scores.
        assert_eq!(model.score(&graph).scores, scored.scores);
        let ring_min = scored.scores[60..66].iter().copied().fold(1.0, f32::min);
        let honest_above = scored.scores[..60]
            .iter()
            .filter(|&&s| s >= ring_min)
            .count();
        assert!(
            honest_above <= 3,
            "{honest_above} honest accounts at or above the ring"
        );
        let members: Vec<u32> = (60..66).collect();
        let reasons = model.explain(&scored, &members, 3);
        assert_eq!(reasons.signals.len(), 3);
        assert!(reasons.signals.windows(2).all(|w| w[0].1 >= w[1].1));
        assert!(reasons.score_without_signals < reasons.score);
    }

    #[test]
    fn a_single_account_gets_the_median_and_no_panic() {
        let graph = reviews(1, 1, &[(0, 0, 5.0, 0)]);
        let model = LabelFree::fit(&graph, 0.95);
        assert!(model.signals.is_empty());
        let scored = model.score(&graph);
        // The median rank, scaled: below 0.5, like any account short of the 95th percentile.
        assert!(
            (f64::from(scored.scores[0]) - 0.5f64.powf(0.5f64.ln() / 0.95f64.ln())).abs() < 1e-6
        );
        let reasons = model.explain(&scored, &[0], 3);
        assert!(reasons.signals.is_empty());
    }
}
