//! Candidate rings that share no identifier: accounts concentrated on one seller's products
//! over the whole window, not only in bursts, and cohorts of accounts created together that
//! favour the same product or seller. Each candidate must pass its own null-model test
//! ([`crate::significance`]) before it exists.

use crate::activity::Actions;
use crate::significance::{NullModel, Significance, Test};
use crate::stats::poisson_tail_log10;

/// Settings of [`co_target_candidates`] and [`cohort_candidates`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CoTargetConfig {
    /// Distinct products of one seller an account must have ordered or reviewed to be
    /// concentrated on the seller (one engagement is enough for a product).
    pub min_seller_products: usize,
    /// A target's group, or a cohort, becomes a candidate only at this significance
    /// (`-log10` of its corrected p-value).
    pub min_significance: f64,
    /// Accounts created at most this many seconds apart form a cohort; 0 turns cohorts off.
    pub cohort_secs: i64,
}

impl Default for CoTargetConfig {
    fn default() -> Self {
        CoTargetConfig {
            min_seller_products: 2,
            min_significance: 3.0,
            cohort_secs: 6 * 3_600,
        }
    }
}

/// The share of a group chance may not explain.
const MIN_PURITY: f64 = 0.8;

/// One candidate from this module: members (ascending), the target and the test it passed.
pub struct Group {
    /// Account indices, ascending.
    pub members: Vec<u32>,
    /// The target (products, then sellers).
    pub target: u32,
    /// The test that made it a candidate.
    pub significance: Significance,
}

/// Sellers on which more of the null model's suspicious accounts concentrate than chance
/// allows; the group is every such account (between `min_members` and `max_members` of them).
/// Products are not searched (see [`crate::significance`]).
pub fn co_target_candidates(
    null: &NullModel<'_>,
    config: &CoTargetConfig,
    (min_members, max_members): (usize, usize),
) -> Vec<Group> {
    let mut out: Vec<Group> = Vec::new();
    for run in null.groups() {
        let target = run[0].0;
        if !(min_members..=max_members).contains(&run.len()) {
            continue;
        }
        let (log10, expected) = null.concentration(target);
        // Chance explains `expected` of the group: keep it only when that leaves it mostly a
        // ring (the purity a found ring needs).
        if -log10 < config.min_significance || expected > (1.0 - MIN_PURITY) * run.len() as f64 {
            continue;
        }
        let members: Vec<u32> = run.iter().map(|&(_, a)| a).collect();
        out.push(Group {
            members,
            target,
            significance: Significance {
                value: -log10,
                test: Test::Concentration {
                    target,
                    observed: run.len() as u32,
                    expected,
                },
            },
        });
    }
    out
}

/// Per target, the accounts engaging it that were created within one window of `cohort_secs`,
/// when more than chance: the null spreads the target's accounts over creation time as all
/// accounts are spread. The model's score plays no part, so a cohort the model missed is found.
/// A significant cohort on a product grows to every account created in the same window that
/// engages the product's seller: a cohort splits its reviews over the seller's products.
pub fn cohort_candidates(
    actions: &Actions,
    config: &CoTargetConfig,
    (min_members, max_members): (usize, usize),
) -> Vec<Group> {
    let Some(created) = actions.created else {
        return Vec::new();
    };
    if config.cohort_secs <= 0 {
        return Vec::new();
    }
    let mut all: Vec<i64> = created.iter().flatten().copied().collect();
    all.sort_unstable();
    let (Some(&first), Some(&last)) = (all.first(), all.last()) else {
        return Vec::new();
    };
    let w = config.cohort_secs;
    let windows = ((last - first).max(w) as f64 / w as f64).log10();
    let log10_targets = (actions.targets().max(1) as f64).log10();
    let created_within =
        |from: i64| all.partition_point(|&t| t <= from + w) - all.partition_point(|&t| t < from);
    let with_birth: Vec<bool> = created.iter().map(Option::is_some).collect();
    let engaged = actions.engaged(&with_birth, 1, true);
    let mut out = Vec::new();
    for run in engaged.chunk_by(|x, y| x.0 == y.0) {
        if run.len() < min_members {
            continue;
        }
        let target = run[0].0;
        let mut births: Vec<i64> = run
            .iter()
            .filter_map(|&(_, a)| created[a as usize])
            .collect();
        births.sort_unstable();
        let (mut lo, mut best) = (0, (0usize, 0usize));
        for hi in 0..births.len() {
            while births[hi] - births[lo] > w {
                lo += 1;
            }
            if hi + 1 - lo > best.1 - best.0 {
                best = (lo, hi + 1);
            }
        }
        let observed = best.1 - best.0;
        if observed < min_members {
            continue;
        }
        let (from, to) = (births[best.0], births[best.1 - 1]);
        let born_then = created_within(from) as f64 / all.len() as f64;
        let expected = run.len() as f64 * born_then;
        let log10 = poisson_tail_log10(expected, observed as u64) + windows + log10_targets;
        if -log10 < config.min_significance || expected > (1.0 - MIN_PURITY) * observed as f64 {
            continue;
        }
        let within = |a: &u32| created[*a as usize].is_some_and(|b| (from..=to).contains(&b));
        let grown = (!actions.is_seller(target))
            .then(|| actions.seller_of[target as usize])
            .filter(|&s| s != crate::activity::NO_SELLER)
            .map_or(target, |s| actions.products as u32 + s);
        let lo = engaged.partition_point(|&(t, _)| t < grown);
        let hi = engaged.partition_point(|&(t, _)| t <= grown);
        let mut members: Vec<u32> = engaged[lo..hi]
            .iter()
            .map(|&(_, a)| a)
            .filter(within)
            .collect();
        // Grown to the seller only while chance still explains at most a fifth of it.
        if (hi - lo) as f64 * born_then > (1.0 - MIN_PURITY) * members.len() as f64 {
            members = run.iter().map(|&(_, a)| a).filter(within).collect();
        }
        if members.len() > max_members {
            continue;
        }
        out.push(Group {
            members,
            target,
            significance: Significance {
                value: -log10,
                test: Test::Cohort {
                    target,
                    window: w,
                    observed: observed as u32,
                    expected,
                },
            },
        });
    }
    out
}
