//! Significance of a ring against a null model of chance co-activity, so that the organic
//! traffic of busy targets does not turn into rings.
//!
//! Two tests of any ring (the co-target searches bring their own: cohorts and focus groups,
//! [`crate::cotarget`]), each a Poisson tail in log10 with a Bonferroni correction for every
//! test the search could have run. A ring's significance is `-log10` of a corrected p-value
//! (0 = nothing beyond chance, 3 = one in a thousand), from the test that explains most of the
//! ring: the highest significance times the members the test counted.
//!
//! - **Concentration** on a seller: under the null an account spreads its `d` engagements
//!   (distinct products it ordered or reviewed, [`crate::activity`]) over sellers by their
//!   popularity `p_t`, so it engages at least `k = min_seller_products` of one seller's products
//!   with probability `P(Binomial(d, p_t) >= k)`. Summed over the eligible accounts (those the model or the
//!   behaviour-change detector already suspects), that is the expected number of suspicious
//!   accounts concentrated on `t`; the observed number is compared with it. A busy target has a
//!   large `p_t`, so many suspicious regulars there are expected and prove nothing. Products are
//!   not tested this way: engaging one product once is no concentration, and which accounts a
//!   model suspects is not independent of which products they review (on YelpChi the test
//!   passed at most busy businesses).
//! - **Burst**: at a time scale `w` (an hour to a week), the most ring members acting on a
//!   target within one window of `w`, against the target's own traffic: its accounts spread over
//!   its active span put `accounts_t * w / span_t` in a window on average. Corrected for the
//!   `span_t / w` windows, the targets and the scales. Scales finer than the data's time
//!   resolution (dates without a time of day) are skipped.
//!
//! Both tests condition on the target, not on the ring, so a ring found *because* its members
//! co-target is not credited twice for it: the burst test asks whether the target's traffic
//! explains the burst, and the concentration test counts every suspicious account on the
//! target, not only the ring's.

use crate::activity::Actions;
use crate::stats::{binomial_at_least, poisson_tail_log10};
use std::collections::HashMap;

/// Time scales of the burst test, seconds: an hour, six hours, a day, a week.
pub const SCALES: [i64; 4] = [3_600, 6 * 3_600, 86_400, 7 * 86_400];

/// Significances are capped here (p below 1e-300 is all the same).
const CAP: f64 = 300.0;

/// Which test gave a ring its significance.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "test")]
pub enum Test {
    /// No test passed chance.
    #[default]
    None,
    /// Suspicious accounts concentrated on one target.
    Concentration {
        /// The target (products, then sellers; see [`crate::activity`]).
        target: u32,
        /// Suspicious accounts with enough actions on it.
        observed: u32,
        /// How many chance would put there.
        expected: f64,
    },
    /// Members acting on one target within one window.
    Burst {
        /// The target.
        target: u32,
        /// The window, seconds.
        scale: i64,
        /// Members inside the busiest window.
        observed: u32,
        /// How many the target's own traffic puts in a window.
        expected: f64,
    },
    /// Repeat engagers of one seller pairing up on a few of its products.
    Focus {
        /// The seller (as a target).
        target: u32,
        /// Products of the seller the members pair up on.
        products: u32,
        /// Accounts engaging at least two of those products.
        observed: u32,
        /// How many chance and the seller's repeat custom put there.
        expected: f64,
    },
    /// Suspicious accounts on one target created within one window.
    Cohort {
        /// The target.
        target: u32,
        /// The window, seconds.
        window: i64,
        /// Accounts of the cohort.
        observed: u32,
        /// How many creation times alone put there.
        expected: f64,
    },
}

/// A ring's significance and the test behind it.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Significance {
    /// `-log10` of the chosen test's corrected p-value, in `[0, 300]`.
    pub value: f64,
    /// The test that gave it.
    pub test: Test,
    /// How many of the ring's members the test counted (concentrated on the target, inside
    /// the burst, in the group): a big candidate holding a small significant ring is not
    /// itself beyond chance.
    #[serde(default)]
    pub members: u32,
}

impl Significance {
    /// How much of a ring the test explains, up to the ring's size: its significance times
    /// the members it counted. Of two tests of one ring, the larger is the better.
    pub fn explained(&self) -> f64 {
        self.value * f64::from(self.members)
    }
}

/// The null model of one graph and one set of suspicious accounts.
pub struct NullModel<'a> {
    actions: &'a Actions<'a>,
    /// Suspicious accounts' engagement counts as `(engagements, accounts)`.
    degrees: Vec<(u64, f64)>,
    /// `(seller target, account)` of every suspicious account concentrated on a seller, sorted.
    pairs: Vec<(u32, u32)>,
    /// Per target: suspicious accounts concentrated on it (0 for products).
    concentrated: Vec<u32>,
    min_seller_products: u64,
    log10_targets: f64,
}

impl<'a> NullModel<'a> {
    /// The null model over `actions`, with `eligible` marking the suspicious accounts and
    /// `min_seller_products` the distinct products of one seller that make an account
    /// concentrated on the seller.
    pub fn new(actions: &'a Actions<'a>, eligible: &[bool], min_seller_products: usize) -> Self {
        let mut histogram: HashMap<u64, f64> = HashMap::new();
        for a in (0..actions.accounts() as u32).filter(|&a| eligible[a as usize]) {
            *histogram.entry(actions.degree(a) as u64).or_default() += 1.0;
        }
        let mut degrees: Vec<(u64, f64)> = histogram.into_iter().collect();
        degrees.sort_by_key(|d| d.0);
        let pairs = actions.engaged(eligible, min_seller_products, false);
        let mut concentrated = vec![0u32; actions.targets()];
        for &(t, _) in &pairs {
            concentrated[t as usize] += 1;
        }
        NullModel {
            actions,
            degrees,
            pairs,
            concentrated,
            min_seller_products: min_seller_products as u64,
            log10_targets: (actions.targets().max(1) as f64).log10(),
        }
    }

    /// Per seller with a concentrated suspicious account, those `(target, account)` pairs.
    pub fn groups(&self) -> impl Iterator<Item = &[(u32, u32)]> {
        self.pairs.chunk_by(|x, y| x.0 == y.0)
    }

    /// How many of the null's accounts chance puts on at least `min_seller_products` of a set
    /// of products that takes the share `p` of all engagements.
    pub fn expected_concentrated(&self, p: f64) -> f64 {
        self.degrees
            .iter()
            .map(|&(d, n)| n * binomial_at_least(d, p, self.min_seller_products))
            .sum()
    }

    /// `Σ d(d - 1)` over the null's accounts: with the engagement count, what the configuration
    /// model needs for the chance that one account engages two given products.
    pub fn pair_slots(&self) -> f64 {
        self.degrees
            .iter()
            .map(|&(d, n)| n * d as f64 * d.saturating_sub(1) as f64)
            .sum()
    }

    /// The concentration test of the seller `target`: corrected log10 p, and the expected
    /// count.
    pub fn concentration(&self, target: u32) -> (f64, f64) {
        let expected = self.expected_concentrated(self.actions.popularity(target));
        let observed = u64::from(self.concentrated[target as usize]);
        (
            poisson_tail_log10(expected, observed) + self.log10_targets,
            expected,
        )
    }

    /// The significance of the ring `members` (account indices).
    pub fn ring(&self, members: &[u32]) -> Significance {
        let actions = self.actions;
        // Per target: (time, member) of every member action, and per member its action count.
        let mut hits: HashMap<u32, Vec<(i64, u32)>> = HashMap::new();
        for &a in members {
            for (p, t) in actions.of_account(a) {
                for target in actions.targets_of(p) {
                    hits.entry(target).or_default().push((t, a));
                }
            }
        }
        // The best test is the one that explains most of the ring (what the `significance`
        // signal reads).
        let mut best = Significance::default();
        let mut keep = |log10: f64, test: Test, counted: usize| {
            let this = Significance {
                value: (-log10).min(CAP),
                test,
                members: counted as u32,
            };
            if this.explained() > best.explained() {
                best = this;
            }
        };
        let mut targets: Vec<u32> = hits.keys().copied().collect();
        targets.sort_unstable();
        for target in targets {
            let events = hits.get_mut(&target).expect("listed");
            events.sort_unstable();
            let mut per_member: HashMap<u32, u64> = HashMap::new();
            for &(_, a) in events.iter() {
                *per_member.entry(a).or_default() += 1;
            }
            if per_member.len() < 2 {
                continue;
            }
            let k = self.min_seller_products;
            let concentrated = per_member.values().filter(|&&n| n >= k).count();
            if actions.is_seller(target) && concentrated >= 2 {
                let (log10, expected) = self.concentration(target);
                let observed = self.concentrated[target as usize];
                keep(
                    log10,
                    Test::Concentration {
                        target,
                        observed,
                        expected,
                    },
                    concentrated,
                );
            }
            let (first, last) = actions.target_span[target as usize];
            let timed: Vec<(i64, u32)> = events
                .iter()
                .copied()
                .filter(|&(t, _)| t != ringscope_graph::NO_TIME)
                .collect();
            if first > last || timed.len() < 2 {
                continue;
            }
            for scale in SCALES.into_iter().filter(|&s| s >= actions.resolution) {
                let span = (last - first).max(scale) as f64;
                let observed = most_members_within(&timed, scale);
                let expected =
                    f64::from(actions.target_accounts[target as usize]) * scale as f64 / span;
                let windows = span / scale as f64;
                let log10 = poisson_tail_log10(expected, observed as u64)
                    + windows.log10()
                    + self.log10_targets
                    + (SCALES.len() as f64).log10();
                keep(
                    log10,
                    Test::Burst {
                        target,
                        scale,
                        observed,
                        expected,
                    },
                    observed as usize,
                );
            }
        }
        best
    }
}

/// The most distinct accounts among `events` (time-sorted `(time, account)`) inside one window
/// of `scale` seconds.
fn most_members_within(events: &[(i64, u32)], scale: i64) -> u32 {
    let mut inside: HashMap<u32, u32> = HashMap::new();
    let (mut lo, mut best) = (0, 0);
    for &(t, a) in events {
        *inside.entry(a).or_default() += 1;
        while t - events[lo].0 > scale {
            let out = events[lo].1;
            let n = inside.get_mut(&out).expect("counted");
            *n -= 1;
            if *n == 0 {
                inside.remove(&out);
            }
            lo += 1;
        }
        best = best.max(inside.len() as u32);
    }
    best
}
