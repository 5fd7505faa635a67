//! Behaviour change measured against an account's own history: the signature of a takeover.
//!
//! An old account that from one moment on acts from a device and an IP it never used before,
//! on a seller it never dealt with, scores high even when the model, which sees the whole
//! account, finds its long honest history reassuring. For each moment `τ` at which a new device
//! and a new IP first appear within a day of each other, with history at least
//! `min_history_days` before it, the score is the share of the account's actions from `τ` on
//! that go to the one seller it had never dealt with before `τ` and now hits most, counted only
//! when that seller takes at least `min_new_actions` of them. An account's score is the highest
//! over its moments; 0 without one.

use crate::activity::{Actions, NO_SELLER};
use ringscope_graph::{HeteroGraph, NO_TIME, Rel};
use std::collections::{HashMap, HashSet};

/// Settings of [`behaviour_change`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TakeoverConfig {
    /// The account must have acted at least this many days before the switch.
    pub min_history_days: f64,
    /// Actions on the new seller that make a switch (an order and its review are two).
    pub min_new_actions: usize,
    /// Accounts scoring at least this are suspicious whatever the model says; above 1 turns
    /// the detector off.
    pub min_share: f64,
}

impl Default for TakeoverConfig {
    fn default() -> Self {
        TakeoverConfig {
            min_history_days: 7.0,
            min_new_actions: 3,
            min_share: 0.5,
        }
    }
}

const DAY: i64 = 86_400;

/// Every account's behaviour-change score in `[0, 1]` (see the module docs).
pub fn behaviour_change(
    graph: &HeteroGraph,
    actions: &Actions<'_>,
    config: &TakeoverConfig,
) -> Vec<f64> {
    let accounts = actions.accounts();
    // Per account: first-use times of its devices and of its IPs.
    let mut first_use: [Vec<Vec<i64>>; 2] =
        [vec![Vec::new(); accounts], vec![Vec::new(); accounts]];
    for (k, rel) in [Rel::UsedDevice, Rel::UsedIp].into_iter().enumerate() {
        let Some(r) = graph.relation(rel.name()) else {
            continue;
        };
        let Some(times) = r.time.as_ref() else {
            continue;
        };
        for (&a, &t) in r.src.iter().zip(times) {
            if t != NO_TIME {
                first_use[k][a as usize].push(t);
            }
        }
    }
    // Every order and review as `(product, time)` per account: here an order and its review
    // are two actions, as a switch shows in how much the account does.
    let mut raw: Vec<Vec<(u32, i64)>> = vec![Vec::new(); accounts];
    for rel in [Rel::Reviewed, Rel::Ordered] {
        let Some(r) = graph.relation(rel.name()) else {
            continue;
        };
        let Some(times) = r.time.as_ref() else {
            continue;
        };
        for e in 0..r.src.len() {
            if times[e] != NO_TIME {
                raw[r.src[e] as usize].push((r.dst[e], times[e]));
            }
        }
    }
    let history = (config.min_history_days * DAY as f64) as i64;
    (0..accounts)
        .map(|a| {
            let [devices, ips] = [&first_use[0][a], &first_use[1][a]];
            let moments: HashSet<i64> = devices
                .iter()
                .copied()
                .filter(|&d| ips.iter().any(|&i| (i - d).abs() <= DAY))
                .collect();
            let timed = &raw[a];
            let Some(first) = timed.iter().map(|&(_, t)| t).min() else {
                return 0.0;
            };
            let mut best = 0.0f64;
            for &tau in &moments {
                if tau - first < history {
                    continue;
                }
                let seller = |p: u32| actions.seller_of[p as usize];
                let known: HashSet<u32> = timed
                    .iter()
                    .filter(|&&(_, t)| t < tau)
                    .map(|&(p, _)| seller(p))
                    .collect();
                let after: Vec<u32> = timed
                    .iter()
                    .filter(|&&(_, t)| t >= tau)
                    .map(|&(p, _)| seller(p))
                    .collect();
                let mut new: HashMap<u32, usize> = HashMap::new();
                for &s in after
                    .iter()
                    .filter(|&&s| s != NO_SELLER && !known.contains(&s))
                {
                    *new.entry(s).or_default() += 1;
                }
                let top = new.values().copied().max().unwrap_or(0);
                if top >= config.min_new_actions {
                    best = best.max(top as f64 / after.len() as f64);
                }
            }
            best
        })
        .collect()
}
