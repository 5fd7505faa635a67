//! Candidate rings that share no identifier: accounts concentrated on one seller's products
//! over the whole window, not only in bursts, and cohorts of accounts created together that
//! favour the same product or seller. Each candidate must pass its own null-model test
//! ([`crate::significance`]) before it exists.

use crate::activity::{Actions, NO_SELLER};
use crate::significance::{NullModel, Significance, Test};
use crate::stats::poisson_tail_log10;
use petgraph::unionfind::UnionFind;
use std::collections::HashMap;

/// Settings of [`co_target_candidates`], [`cohort_candidates`] and [`focus_candidates`].
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
    /// A second, longer cohort window, for batches registered over a day; each target keeps
    /// the more significant of the two, corrected for both. 0 (or not above `cohort_secs`)
    /// tests `cohort_secs` alone.
    pub cohort_long_secs: i64,
    /// Whether to search for focus groups within sellers ([`focus_candidates`]).
    pub focus: bool,
}

impl Default for CoTargetConfig {
    fn default() -> Self {
        CoTargetConfig {
            min_seller_products: 2,
            min_significance: 3.0,
            cohort_secs: 6 * 3_600,
            cohort_long_secs: 86_400,
            focus: true,
        }
    }
}

impl CoTargetConfig {
    /// The cohort windows tested, seconds.
    pub fn cohort_windows(&self) -> Vec<i64> {
        let mut windows = vec![self.cohort_secs];
        if self.cohort_long_secs > self.cohort_secs {
            windows.push(self.cohort_long_secs);
        }
        windows
    }
}

/// The share of a group chance may not explain.
const MIN_PURITY: f64 = 0.8;

/// Whether a group of `observed` accounts, `expected` of them by chance, with corrected
/// `log10` p, is a candidate: significant enough, and chance explains at most a fifth of it
/// (the purity a found ring needs).
fn beyond_chance(config: &CoTargetConfig, log10: f64, expected: f64, observed: usize) -> bool {
    -log10 >= config.min_significance && expected <= (1.0 - MIN_PURITY) * observed as f64
}

/// A repeat engager with more of one seller's products than this is left out of the pair
/// counts of [`focus_candidates`]: its pairs grow with the square of its catalogue share, and a
/// ring member engages a few.
const MAX_PAIRED_PRODUCTS: usize = 32;

/// One candidate from this module: members (ascending), the target and the test it passed.
pub struct Group {
    /// Account indices, ascending.
    pub members: Vec<u32>,
    /// The target (products, then sellers).
    pub target: u32,
    /// The products the group acts on, ascending, where it is known (a cohort's product, a
    /// focus); empty for a whole seller.
    pub products: Vec<u32>,
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
        if !beyond_chance(config, log10, expected, run.len()) {
            continue;
        }
        let members: Vec<u32> = run.iter().map(|&(_, a)| a).collect();
        out.push(Group {
            target,
            products: Vec::new(),
            significance: Significance {
                members: members.len() as u32,
                value: -log10,
                test: Test::Concentration {
                    target,
                    observed: run.len() as u32,
                    expected,
                },
            },
            members,
        });
    }
    out
}

/// Within one seller, the few products its repeat engagers pair up on more than chance
/// allows: a ring that spreads its members over a handful of a big catalogue's products, where
/// the seller-wide group of [`co_target_candidates`] is mostly honest repeat buyers and fails
/// its purity. The model's scores play no part.
///
/// Under the configuration model an account with `d` engagements engages two given products
/// `i` and `j` with probability `d(d - 1) n_i n_j / E²` (`n` their accounts, `E` all
/// engagements). A seller whose buyers come back pairs up more on every product; that repeat
/// custom, the seller's observed pairs over the chance ones when above 1, scales every
/// expectation. Pairs more frequent than that at a per-seller corrected `p ≤ 0.1` join
/// their products; each joined set of at least two products (a *focus*) makes a group of the
/// repeat engagers with `min_seller_products` of its products, tested against how many
/// accounts chance puts there, Bonferroni-corrected over every within-seller product pair.
pub fn focus_candidates(
    null: &NullModel<'_>,
    actions: &Actions,
    config: &CoTargetConfig,
    (min_members, max_members): (usize, usize),
) -> Vec<Group> {
    let engagements = actions.product.len() as f64;
    if !config.focus || engagements == 0.0 {
        return Vec::new();
    }
    let slots = null.pair_slots() / (engagements * engagements);
    let mut catalogue: Vec<Vec<u32>> = vec![Vec::new(); actions.targets() - actions.products];
    for (p, &s) in actions.seller_of.iter().enumerate() {
        if s != NO_SELLER {
            catalogue[s as usize].push(p as u32);
        }
    }
    let pairs_of = |m: usize| (m * m.saturating_sub(1) / 2) as f64;
    let searched = catalogue
        .iter()
        .map(|c| pairs_of(c.len()))
        .sum::<f64>()
        .max(1.0)
        .log10();
    let engagers = |p: u32| f64::from(actions.target_accounts[p as usize]);
    let mut out = Vec::new();
    for run in null.groups() {
        let target = run[0].0;
        let seller = target - actions.products as u32;
        let products = &catalogue[seller as usize];
        if products.len() < 3 || run.len() < min_members {
            continue;
        }
        let mine: Vec<(u32, Vec<u32>)> = run
            .iter()
            .map(|&(_, a)| {
                let mut ps: Vec<u32> = actions
                    .of_account(a)
                    .map(|(p, _)| p)
                    .filter(|&p| actions.seller_of[p as usize] == seller)
                    .collect();
                ps.sort_unstable();
                (a, ps)
            })
            .collect();
        let mut together: HashMap<(u32, u32), u32> = HashMap::new();
        for (_, ps) in mine
            .iter()
            .filter(|(_, ps)| ps.len() <= MAX_PAIRED_PRODUCTS)
        {
            for (x, &i) in ps.iter().enumerate() {
                for &j in &ps[x + 1..] {
                    *together.entry((i, j)).or_default() += 1;
                }
            }
        }
        let observed_pairs: f64 = together.values().map(|&k| f64::from(k)).sum();
        let (sum, sum_sq) = products.iter().fold((0.0, 0.0), |(s, q), &p| {
            (s + engagers(p), q + engagers(p) * engagers(p))
        });
        let chance_pairs = slots * (sum * sum - sum_sq) / 2.0;
        let custom = repeat_custom(&together, observed_pairs, chance_pairs, |i, j| {
            slots * engagers(i) * engagers(j)
        });
        let per_seller = pairs_of(products.len()).log10();
        let at = |p: u32| products.binary_search(&p).expect("a product of its seller");
        let mut union = UnionFind::<usize>::new(products.len());
        let mut joined = false;
        for (&(i, j), &k) in &together {
            let expected = custom * slots * engagers(i) * engagers(j);
            if k >= 2 && poisson_tail_log10(expected, u64::from(k)) + per_seller <= -1.0 {
                union.union(at(i), at(j));
                joined = true;
            }
        }
        if !joined {
            continue;
        }
        let mut parts: HashMap<usize, Vec<u32>> = HashMap::new();
        for (x, &p) in products.iter().enumerate() {
            parts.entry(union.find(x)).or_default().push(p);
        }
        // The roots depend on the pairs' hash order; the foci's own order does not.
        let mut foci: Vec<Vec<u32>> = parts.into_values().filter(|f| f.len() >= 2).collect();
        foci.sort_unstable();
        for focus in foci {
            let members: Vec<u32> = mine
                .iter()
                .filter(|(_, ps)| {
                    ps.iter().filter(|p| focus.binary_search(p).is_ok()).count()
                        >= config.min_seller_products
                })
                .map(|&(a, _)| a)
                .collect();
            if !(min_members..=max_members).contains(&members.len()) {
                continue;
            }
            let share: f64 = focus.iter().map(|&p| actions.popularity(p)).sum();
            let expected = custom * null.expected_concentrated(share);
            let observed = members.len();
            let log10 = poisson_tail_log10(expected, observed as u64) + searched;
            if !beyond_chance(config, log10, expected, observed) {
                continue;
            }
            out.push(Group {
                members,
                target,
                significance: Significance {
                    members: observed as u32,
                    value: (-log10).min(300.0),
                    test: Test::Focus {
                        target,
                        products: focus.len() as u32,
                        observed: observed as u32,
                        expected,
                    },
                },
                products: focus,
            });
        }
    }
    out
}

/// A pair at least this unlikely (log10 p, uncorrected) under the seller's custom is left out
/// of the next estimate of that custom.
const OUTLIER_PAIR_LOG10: f64 = -2.0;

/// A seller's repeat custom: its observed product pairs over the chance ones (at least 1),
/// estimated again without the pairs that custom cannot explain, twice. A ring's own pairs
/// would otherwise count as the seller's custom and hide the ring: on a 20k marketplace a slow
/// ring was 12 of a seller's 25 repeat engagers and made its custom 8.2.
fn repeat_custom(
    together: &HashMap<(u32, u32), u32>,
    observed_pairs: f64,
    chance_pairs: f64,
    chance: impl Fn(u32, u32) -> f64,
) -> f64 {
    let ratio = |observed: f64, chance: f64| (observed / chance.max(f64::MIN_POSITIVE)).max(1.0);
    // In a fixed order: the sums below are floating point.
    let mut pairs: Vec<((u32, u32), u32)> = together.iter().map(|(&p, &k)| (p, k)).collect();
    pairs.sort_unstable();
    let mut custom = ratio(observed_pairs, chance_pairs);
    for _ in 0..2 {
        let (mut observed, mut expected) = (observed_pairs, chance_pairs);
        for &((i, j), k) in &pairs {
            let e = chance(i, j);
            if poisson_tail_log10(custom * e, u64::from(k)) <= OUTLIER_PAIR_LOG10 {
                observed -= f64::from(k);
                expected -= e;
            }
        }
        custom = ratio(observed, expected);
    }
    custom
}

/// Per target, the accounts engaging it that were created within one window (`cohort_secs`, or
/// `cohort_long_secs`, whichever is more significant), when more than chance: the null spreads
/// the target's accounts over creation time as all accounts are spread in the days around the
/// window (not in it, which a batch fills); the correction counts
/// every target, every window position and both lengths. The model's score plays no part, so a
/// cohort the model missed is found.
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
    if all.is_empty() {
        return Vec::new();
    }
    let windows = config.cohort_windows();
    let log10_tests = (actions.targets().max(1) as f64 * windows.len() as f64).log10();
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
        // The most significant of the windows: a batch registered over a day is spread too
        // thin for the shortest, a tight one is diluted in the longest.
        let Some(cohort) = windows
            .iter()
            .filter_map(|&w| busiest_cohort(&births, &all, w, run.len(), min_members))
            .min_by(|x, y| x.log10.total_cmp(&y.log10))
        else {
            continue;
        };
        let Cohort {
            log10: uncorrected,
            observed,
            expected,
            from,
            to,
            born_between,
            window: w,
        } = cohort;
        let log10 = uncorrected + log10_tests;
        if !beyond_chance(config, log10, expected, observed) {
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
        if (hi - lo) as f64 * born_between > (1.0 - MIN_PURITY) * members.len() as f64 {
            members = run.iter().map(|&(_, a)| a).filter(within).collect();
        }
        if members.len() > max_members {
            continue;
        }
        out.push(Group {
            members,
            target,
            products: if actions.is_seller(target) {
                Vec::new()
            } else {
                vec![target]
            },
            significance: Significance {
                // The cohort itself; accounts it grew to were not tested.
                members: observed as u32,
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

/// The busiest window of one target's engagers' creation times.
struct Cohort {
    /// Uncorrected log10 p of `observed` against chance, plus the windows of this length.
    log10: f64,
    /// Engagers created inside it.
    observed: usize,
    /// How many of the target's engagers chance puts inside it.
    expected: f64,
    /// First and last creation time inside it.
    from: i64,
    to: i64,
    /// Share of all accounts chance puts between `from` and `to`, from the births around them
    /// ([`background_births`]).
    born_between: f64,
    /// The window, seconds.
    window: i64,
}

/// How far each side of a cohort [`background_births`] looks.
const BACKGROUND_SECS: i64 = 3 * 86_400;

/// How many accounts are created between `from` and `to` in the background: the rate in the
/// `BACKGROUND_SECS` on either side, outside the span and inside the data (`all`, sorted),
/// times its length. The span's own births are no estimate of it when a batch registered
/// there: on a 20k marketplace one sleeper ring was 11 of the 26 accounts created in its 7
/// hours, which made chance look like it explained 4 of the ring's 13 seller engagers.
fn background_births(all: &[i64], from: i64, to: i64) -> f64 {
    let (first, last) = (all[0], all[all.len() - 1]);
    // The sides, clipped to the data: a window may run past its end.
    let (lo, hi) = (
        (from - BACKGROUND_SECS).max(first),
        (to + BACKGROUND_SECS).min(last),
    );
    let (before_secs, after_secs) = ((from - lo).max(0), (hi - to).max(0));
    if before_secs + after_secs == 0 {
        // Nothing was created outside the span: the span is all the data has.
        let inside = all.partition_point(|&t| t <= to) - all.partition_point(|&t| t < from);
        return inside as f64;
    }
    let before = all.partition_point(|&t| t < from) - all.partition_point(|&t| t < lo);
    let after = if after_secs > 0 {
        all.partition_point(|&t| t <= hi) - all.partition_point(|&t| t <= to)
    } else {
        0
    };
    // One birth more than seen, so a quiet neighbourhood never makes chance zero.
    (before + after + 1) as f64 * (to - from).max(1) as f64 / (before_secs + after_secs) as f64
}

/// The window of `w` seconds holding the most of `births` (a target's engagers' creation
/// times, sorted), tested against `all` creation times (sorted): chance puts each engager in
/// it with the share of all accounts created there at the rate around it
/// ([`background_births`]). `None` below `min_members`.
fn busiest_cohort(
    births: &[i64],
    all: &[i64],
    w: i64,
    engagers: usize,
    min_members: usize,
) -> Option<Cohort> {
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
        return None;
    }
    let (from, to) = (births[best.0], births[best.1 - 1]);
    // Chance from the births around the window: a batch registration fills the window itself.
    let born_then = background_births(all, from, from + w) / all.len() as f64;
    let born_between = background_births(all, from, to) / all.len() as f64;
    let span = (all[all.len() - 1] - all[0]).max(w) as f64;
    let expected = engagers as f64 * born_then;
    let log10 = poisson_tail_log10(expected, observed as u64) + (span / w as f64).log10();
    Some(Cohort {
        log10,
        observed,
        expected,
        from,
        to,
        born_between,
        window: w,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn background_births_leave_out_the_batch_in_the_span() {
        const HOUR: i64 = 3_600;
        // One account an hour for 20 days, and a batch of 10 inside hour 240.
        let mut all: Vec<i64> = (0..480).map(|h| h * HOUR).collect();
        all.extend((0..10).map(|i| 240 * HOUR + 60 + i * 300));
        all.sort_unstable();
        let (from, to) = (240 * HOUR, 241 * HOUR);
        // The span holds 12 births, the background one an hour.
        assert!((background_births(&all, from, to) - 1.0).abs() < 0.02);
        // At the data's start only the later side counts, at the same rate.
        assert!((background_births(&all, 0, HOUR) - 1.0).abs() < 0.02);
        // A window running past the data's end: only the earlier side counts.
        assert!((background_births(&all, 479 * HOUR, 485 * HOUR) - 6.0).abs() < 0.1);
        // A span that is all the data: its own births.
        assert_eq!(background_births(&all, all[0], all[all.len() - 1]), 490.0);
    }
}
