//! Drift between runs: the population stability index (PSI) of the account-score distribution
//! and of key per-account features, against the previous run's `drift_profile.json`.

use ringscope_export::{Binned, Drift, DriftProfile};
use ringscope_graph::{HeteroGraph, NodeKind, Rel};
use std::collections::BTreeMap;

/// Bins per profile: deciles of the run that writes it.
const BINS: usize = 10;
/// Shares are floored at this before the logarithm, so an empty bin gives a large but finite
/// PSI (the usual convention).
const FLOOR: f64 = 1e-4;

fn shares(values: &[f64], edges: &[f64]) -> Vec<f64> {
    let mut counts = vec![0usize; edges.len() + 1];
    for &v in values {
        counts[edges.partition_point(|&e| e < v)] += 1;
    }
    let n = values.len().max(1) as f64;
    counts.into_iter().map(|c| c as f64 / n).collect()
}

/// Deciles of `values` (NaN dropped).
pub fn bin(values: &[f64]) -> Binned {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    sorted.sort_by(f64::total_cmp);
    let mut edges: Vec<f64> = (1..BINS)
        .filter_map(|q| sorted.get(q * sorted.len() / BINS).copied())
        .collect();
    edges.dedup();
    Binned {
        shares: shares(&sorted, &edges),
        edges,
    }
}

/// PSI of `values` against `binned`: Σ (today − before) · ln(today / before).
pub fn psi(binned: &Binned, values: &[f64]) -> f64 {
    let values: Vec<f64> = values.iter().copied().filter(|v| !v.is_nan()).collect();
    shares(&values, &binned.edges)
        .iter()
        .zip(&binned.shares)
        .map(|(&now, &before)| {
            let (now, before) = (now.max(FLOOR), before.max(FLOOR));
            (now - before) * (now / before).ln()
        })
        .sum()
}

/// The tracked per-account values of a run: the GNN score and the review, order, device and
/// IP degrees.
pub fn tracked(graph: &HeteroGraph, all_scores: &[f32]) -> BTreeMap<String, Vec<f64>> {
    let mut out = BTreeMap::new();
    let Some((kind, accounts)) = graph.node_set(NodeKind::Account.name()) else {
        return out;
    };
    out.insert(
        "account_score".to_string(),
        all_scores[graph.kind_range(kind)]
            .iter()
            .map(|&s| f64::from(s))
            .collect(),
    );
    for rel in [Rel::Reviewed, Rel::Ordered, Rel::UsedDevice, Rel::UsedIp] {
        if let Some(r) = graph.relation(rel.name()) {
            let csr = graph.out_csr(r);
            let degrees = (0..accounts.len() as u32)
                .map(|a| csr.degree(a) as f64)
                .collect();
            out.insert(format!("{}_per_account", rel.name()), degrees);
        }
    }
    out
}

/// This run's profile of `values`.
pub fn profile(values: &BTreeMap<String, Vec<f64>>) -> DriftProfile {
    DriftProfile::new(
        values
            .iter()
            .map(|(name, v)| (name.clone(), bin(v)))
            .collect(),
    )
}

/// PSI of today's `values` against `previous`, flagging those above `warn_above`.
pub fn compare(
    previous: &DriftProfile,
    values: &BTreeMap<String, Vec<f64>>,
    against: String,
    warn_above: f64,
) -> Drift {
    let psi: BTreeMap<String, f64> = previous
        .distributions
        .iter()
        .filter_map(|(name, binned)| values.get(name).map(|v| (name.clone(), psi(binned, v))))
        .collect();
    let warnings = psi
        .iter()
        .filter(|(_, p)| **p > warn_above)
        .map(|(name, _)| name.clone())
        .collect();
    Drift {
        against,
        psi,
        warn_above,
        warnings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_distribution_has_no_drift_and_a_shift_has_a_large_one() {
        let before: Vec<f64> = (0..1000).map(|i| f64::from(i) / 1000.0).collect();
        let binned = bin(&before);
        assert_eq!(binned.shares.len(), 10);
        assert!(psi(&binned, &before) < 1e-9);
        // A sample of the same uniform distribution drifts little; a shifted one a lot.
        let resampled: Vec<f64> = (0..500).map(|i| f64::from(i) / 500.0 + 0.0005).collect();
        assert!(psi(&binned, &resampled) < 0.01);
        let shifted: Vec<f64> = before.iter().map(|v| v * 0.5 + 0.5).collect();
        assert!(psi(&binned, &shifted) > 1.0, "{}", psi(&binned, &shifted));
    }

    #[test]
    fn psi_matches_the_formula_on_two_bins() {
        // Half the values at 0 and half at 1: one cut point, shares 0.5 / 0.5.
        let binned = bin(&[0.0, 0.0, 1.0, 1.0]);
        assert_eq!(binned.edges, vec![0.0, 1.0]);
        // Today 3 of 4 at 0: shares 0.75 / 0.25 / 0 against 0.5 / 0.5 / 0.
        let psi = psi(&binned, &[0.0, 0.0, 0.0, 1.0]);
        let expected = (0.75 - 0.5) * (0.75f64 / 0.5).ln() + (0.25 - 0.5) * (0.25f64 / 0.5).ln();
        assert!((psi - expected).abs() < 1e-12, "{psi} vs {expected}");
    }
}
