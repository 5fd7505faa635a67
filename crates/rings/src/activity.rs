//! Who acted on what, and when: every product an account ordered or reviewed, once, at its
//! first order or review (an *engagement*), counted on the product and on its seller, gathered
//! once per graph. An order and its review are one engagement: counting them twice would make
//! every reviewed purchase look like a concentration on its seller. The co-target search ([`crate::cotarget`]), the
//! behaviour-change detector ([`crate::takeover`]) and ring significance
//! ([`crate::significance`]) all read it.
//!
//! Targets share one index space: products `0..products`, then sellers.

use ringscope_graph::{AttrValues, HeteroGraph, NO_TIME, NodeKind, Rel};

/// Marks a product without a known seller.
pub const NO_SELLER: u32 = u32::MAX;

/// The account creation times of `graph`, if its accounts have them.
pub fn created_at(graph: &HeteroGraph) -> Option<&[Option<i64>]> {
    graph
        .node_set(NodeKind::Account.name())
        .and_then(|(_, s)| match s.attr("created_at") {
            Some(AttrValues::Int(v)) => Some(v.as_slice()),
            _ => None,
        })
}

/// The engagement index of one graph.
pub struct Actions<'g> {
    /// `offsets[a]..offsets[a + 1]` are account `a`'s engagements in `product` and `time`, time
    /// order (untimed ones first).
    pub offsets: Vec<usize>,
    /// Product of each action.
    pub product: Vec<u32>,
    /// Time of each action ([`NO_TIME`] if unknown).
    pub time: Vec<i64>,
    /// Seller of each product ([`NO_SELLER`] if unknown).
    pub seller_of: Vec<u32>,
    /// Products; sellers follow them in the target index.
    pub products: usize,
    /// Per target: engagements on it.
    pub target_actions: Vec<u32>,
    /// Per target: distinct accounts acting on it.
    pub target_accounts: Vec<u32>,
    /// Per target: first and last action time (`(i64::MAX, i64::MIN)` if none was timed).
    pub target_span: Vec<(i64, i64)>,
    /// Per account: creation time, if the input has one.
    pub created: Option<&'g [Option<i64>]>,
    /// The coarsest of a second, an hour and a day that every engagement time is a multiple
    /// of: dates without a time of day make every same-day pair look simultaneous.
    pub resolution: i64,
}

impl<'g> Actions<'g> {
    /// Gathers the reviews and orders of `graph`.
    pub fn of(graph: &'g HeteroGraph) -> Self {
        let accounts = graph
            .node_set(NodeKind::Account.name())
            .map_or(0, |(_, s)| s.len());
        let products = graph
            .node_set(NodeKind::Product.name())
            .map_or(0, |(_, s)| s.len());
        let sellers = graph
            .node_set(NodeKind::Seller.name())
            .map_or(0, |(_, s)| s.len());
        let mut seller_of = vec![NO_SELLER; products];
        if let Some(sells) = graph.relation(Rel::Sells.name()) {
            for (&p, &s) in sells.src.iter().zip(&sells.dst) {
                if seller_of[p as usize] == NO_SELLER {
                    seller_of[p as usize] = s;
                }
            }
        }
        let relations: Vec<_> = [Rel::Reviewed, Rel::Ordered]
            .into_iter()
            .filter_map(|r| graph.relation(r.name()))
            .collect();
        let mut offsets = vec![0usize; accounts + 1];
        for r in &relations {
            for &a in &r.src {
                offsets[a as usize + 1] += 1;
            }
        }
        for a in 0..accounts {
            offsets[a + 1] += offsets[a];
        }
        let total = offsets[accounts];
        let (mut product, mut time) = (vec![0u32; total], vec![NO_TIME; total]);
        let mut cursor = offsets[..accounts].to_vec();
        for r in &relations {
            for e in 0..r.src.len() {
                let a = r.src[e] as usize;
                product[cursor[a]] = r.dst[e];
                time[cursor[a]] = r.time.as_ref().map_or(NO_TIME, |t| t[e]);
                cursor[a] += 1;
            }
        }
        let targets = products + sellers;
        let mut target_actions = vec![0u32; targets];
        let mut target_accounts = vec![0u32; targets];
        let mut target_span = vec![(i64::MAX, i64::MIN); targets];
        let mut last_account = vec![u32::MAX; targets];
        // Compact in place: each account keeps one engagement per product, at its earliest
        // time (untimed only when no use had a time).
        let mut write = 0;
        let mut mine: Vec<(u32, i64)> = Vec::new();
        for a in 0..accounts {
            let (lo, hi) = (offsets[a], offsets[a + 1]);
            mine.clear();
            mine.extend((lo..hi).map(|i| {
                let t = if time[i] == NO_TIME {
                    i64::MAX
                } else {
                    time[i]
                };
                (product[i], t)
            }));
            mine.sort_unstable();
            mine.dedup_by_key(|e| e.0);
            for e in &mut mine {
                if e.1 == i64::MAX {
                    e.1 = NO_TIME;
                }
            }
            mine.sort_unstable_by_key(|&(p, t)| (t, p));
            offsets[a] = write;
            for (i, &(p, t)) in mine.iter().enumerate() {
                product[write + i] = p;
                time[write + i] = t;
            }
            write += mine.len();
            for &(p, t) in &mine {
                let seller = seller_of[p as usize];
                let both = [
                    Some(p as usize),
                    (seller != NO_SELLER).then(|| products + seller as usize),
                ];
                for target in both.into_iter().flatten() {
                    target_actions[target] += 1;
                    if last_account[target] != a as u32 {
                        last_account[target] = a as u32;
                        target_accounts[target] += 1;
                    }
                    if t != NO_TIME {
                        let span = &mut target_span[target];
                        *span = (span.0.min(t), span.1.max(t));
                    }
                }
            }
        }
        offsets[accounts] = write;
        product.truncate(write);
        time.truncate(write);
        let created = created_at(graph);
        let resolution = [86_400, 3_600]
            .into_iter()
            .find(|&r| time.iter().all(|&t| t == NO_TIME || t % r == 0))
            .unwrap_or(1);
        Actions {
            resolution,
            offsets,
            product,
            time,
            seller_of,
            products,
            target_actions,
            target_accounts,
            target_span,
            created,
        }
    }

    /// Accounts.
    pub fn accounts(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Targets (products, then sellers).
    pub fn targets(&self) -> usize {
        self.target_actions.len()
    }

    /// Account `a`'s engagements as `(product, time)`, in time order.
    pub fn of_account(&self, a: u32) -> impl Iterator<Item = (u32, i64)> + '_ {
        let range = self.offsets[a as usize]..self.offsets[a as usize + 1];
        self.product[range.clone()]
            .iter()
            .copied()
            .zip(self.time[range].iter().copied())
    }

    /// Account `a`'s engagement count (distinct products).
    pub fn degree(&self, a: u32) -> usize {
        self.offsets[a as usize + 1] - self.offsets[a as usize]
    }

    /// The targets one engagement with `product` hits: the product, and its seller if known.
    pub fn targets_of(&self, product: u32) -> impl Iterator<Item = u32> {
        let seller = self.seller_of[product as usize];
        let products = self.products as u32;
        std::iter::once(product).chain((seller != NO_SELLER).then(|| products + seller))
    }

    /// Share of all engagements that land on `target`: the chance that one engagement of a
    /// random account hits it (products and sellers are two views of the same draw).
    pub fn popularity(&self, target: u32) -> f64 {
        f64::from(self.target_actions[target as usize]) / self.product.len().max(1) as f64
    }

    /// Every `(target, account)` of the `eligible` accounts, sorted, where the account engaged
    /// at least `per_seller` distinct products of a seller, or, with `products`, a product.
    pub fn engaged(&self, eligible: &[bool], per_seller: usize, products: bool) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        let mut mine: Vec<u32> = Vec::new();
        for a in (0..self.accounts() as u32).filter(|&a| eligible[a as usize]) {
            mine.clear();
            for (p, _) in self.of_account(a) {
                mine.extend(self.targets_of(p));
            }
            mine.sort_unstable();
            for run in mine.chunk_by(|x, y| x == y) {
                let enough = if self.is_seller(run[0]) {
                    run.len() >= per_seller
                } else {
                    products
                };
                if enough {
                    out.push((run[0], a));
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// Whether `target` is a seller.
    pub fn is_seller(&self, target: u32) -> bool {
        target as usize >= self.products
    }
}
