//! Co-target dense blocks, after FRAUDAR (Hooi et al., KDD 2016): greedy peeling of the
//! account × product graph, where an edge into a product of degree `d` weighs `1 / ln(d + 5)`.
//! Popular products carry little weight, so a ring cannot hide by also reviewing them
//! (camouflage) and organic crowds at busy products do not look dense.
//!
//! Peeling removes, one at a time, the node whose remaining edges weigh least; the subgraphs it
//! passes through are nested. An account's signal is the highest density (edge weight per node)
//! among those that still held it: the density of the densest block it belongs to.

use super::Actions;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The density of the densest peeled block holding each account; `None` without actions.
pub(crate) fn block_density(actions: &Actions) -> Vec<Option<f64>> {
    let accounts = actions.accounts;
    let targets = actions.target_times.first().map_or(0, Vec::len);
    // Distinct (account, product) pairs over every action relation.
    let mut products_of: Vec<Vec<u32>> = actions
        .by_account
        .iter()
        .map(|acts| {
            let mut p: Vec<u32> = acts.iter().map(|a| a.target).collect();
            p.sort_unstable();
            p.dedup();
            p
        })
        .collect();
    let mut accounts_of: Vec<Vec<u32>> = vec![Vec::new(); targets];
    for (a, ps) in products_of.iter().enumerate() {
        for &p in ps {
            accounts_of[p as usize].push(a as u32);
        }
    }
    let column: Vec<f64> = accounts_of
        .iter()
        .map(|a| 1.0 / (a.len() as f64 + 5.0).ln())
        .collect();
    // Nodes 0..accounts are accounts, then products.
    let mut weight: Vec<f64> = products_of
        .iter()
        .map(|ps| ps.iter().map(|&p| column[p as usize]).sum())
        .chain(
            accounts_of
                .iter()
                .zip(&column)
                .map(|(a, c)| a.len() as f64 * c),
        )
        .collect();
    let mut alive: Vec<bool> = products_of
        .iter()
        .map(|p| !p.is_empty())
        .chain(accounts_of.iter().map(|a| !a.is_empty()))
        .collect();
    let mut left = alive.iter().filter(|&&a| a).count();
    let mut total: f64 = products_of
        .iter()
        .flatten()
        .map(|&p| column[p as usize])
        .sum();
    let key = |w: f64| Reverse(w.to_bits());
    let mut heap: BinaryHeap<(Reverse<u64>, Reverse<usize>)> = (0..weight.len())
        .filter(|&v| alive[v])
        .map(|v| (key(weight[v]), Reverse(v)))
        .collect();
    let mut best = if left > 0 { total / left as f64 } else { 0.0 };
    let mut signal = vec![None; accounts];
    while let Some((Reverse(bits), Reverse(v))) = heap.pop() {
        // Stale entries: removed nodes, or weights lowered since they were pushed.
        if !alive[v] || bits != weight[v].to_bits() {
            continue;
        }
        alive[v] = false;
        left -= 1;
        total -= weight[v];
        if v < accounts {
            signal[v] = Some(best);
            for &p in &std::mem::take(&mut products_of[v]) {
                let u = accounts + p as usize;
                if alive[u] {
                    weight[u] = (weight[u] - column[p as usize]).max(0.0) + 0.0;
                    heap.push((key(weight[u]), Reverse(u)));
                }
            }
        } else {
            let c = column[v - accounts];
            for &a in &accounts_of[v - accounts] {
                let u = a as usize;
                if alive[u] {
                    weight[u] = (weight[u] - c).max(0.0) + 0.0;
                    heap.push((key(weight[u]), Reverse(u)));
                }
            }
        }
        if left > 0 {
            best = best.max(total.max(0.0) / left as f64);
        }
    }
    signal
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signals::tests::reviews;

    #[test]
    fn a_dense_block_outranks_a_busy_product_crowd() {
        // Accounts 0-4 each review products 0-3 (a 5 × 4 block). Accounts 5-44 each review
        // popular product 4 once, and the block members review it too (camouflage).
        let mut rows = Vec::new();
        for a in 0..5 {
            for p in 0..4 {
                rows.push((a, p, 5.0, 0));
            }
            rows.push((a, 4, 5.0, 0));
        }
        for a in 5..45 {
            rows.push((a, 4, 4.0, 0));
        }
        let s = block_density(&Actions::of(&reviews(46, 5, &rows)));
        let block = s[0].unwrap();
        assert!(s[1..5].iter().all(|&x| x == Some(block)));
        assert!(s[5..45].iter().all(|&x| x.unwrap() < block));
        assert_eq!(s[45], None);
    }
}
