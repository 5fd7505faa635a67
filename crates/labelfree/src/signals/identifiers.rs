//! Identifier sharing: devices, IPs, payment instruments and addresses used by other accounts.
//! Each shared identifier counts its other accounts, discounted like FRAUDAR's columns
//! (`1 / ln(degree + 5)`), so an office IP or a popular payment processor does not outweigh a
//! device shared by five accounts.

use super::Actions;
use ringscope_graph::NodeKind;

/// `ln(1 + Σ (accounts on the identifier - 1) / ln(accounts on it + 5))` over the account's
/// identifiers; `None` for every account when the graph has no identifier edges.
pub(crate) fn sharing(actions: &Actions) -> Vec<Option<f64>> {
    let graph = actions.graph;
    let Some(account) = actions.account_kind else {
        return Vec::new();
    };
    let identifier_kinds: Vec<usize> = [
        NodeKind::Device,
        NodeKind::Ip,
        NodeKind::Payment,
        NodeKind::Address,
    ]
    .iter()
    .filter_map(|k| graph.node_set(k.name()).map(|(i, _)| i))
    .collect();
    let mut total = vec![0f64; actions.accounts];
    let mut any = false;
    for r in graph.relations() {
        if r.src_kind != account || !identifier_kinds.contains(&r.dst_kind) || r.is_empty() {
            continue;
        }
        any = true;
        let incoming = graph.in_csr(r);
        for (&a, &id) in r.src.iter().zip(&r.dst) {
            // Distinct accounts on the identifier: the relation keeps one edge per pair.
            let degree = incoming.degree(id) as f64;
            total[a as usize] += (degree - 1.0) / (degree + 5.0).ln();
        }
    }
    total.into_iter().map(|t| any.then(|| t.ln_1p())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ringscope_graph::{HeteroGraph, NodeSet, Relation};
    use ringscope_testkit::interner;

    #[test]
    fn shared_devices_count_and_hubs_are_discounted() {
        // Device 0: accounts 0-2. Device 1: account 3 alone. Accounts 0 and 4 also share the
        // 20-account device 2.
        let mut src = vec![0, 1, 2, 3];
        let mut dst = vec![0, 0, 0, 1];
        src.extend([0, 4]);
        dst.extend([2, 2]);
        for a in 5..23 {
            src.push(a);
            dst.push(2);
        }
        let rel = Relation::new("used_device", (0, 23), (1, 3), src, dst, None, None).unwrap();
        let g = HeteroGraph::new(
            "t",
            vec![
                NodeSet::new("account", interner(23, "a")),
                NodeSet::new("device", interner(3, "d")),
            ],
            vec![rel],
        )
        .unwrap();
        let s = sharing(&Actions::of(&g));
        let three = 2.0 / 8f64.ln();
        assert!((s[1].unwrap() - three.ln_1p()).abs() < 1e-12);
        assert_eq!(s[3], Some(0.0));
        let hub = 19.0 / 25f64.ln();
        assert!((s[0].unwrap() - (three + hub).ln_1p()).abs() < 1e-12);
        // A device of three counts more per other account than one of twenty.
        assert!(three / 2.0 > hub / 19.0);
    }

    #[test]
    fn without_identifiers_the_signal_does_not_apply() {
        let g = crate::signals::tests::reviews(2, 1, &[(0, 0, 5.0, 0)]);
        assert_eq!(sharing(&Actions::of(&g)), vec![None, None]);
    }
}
