//! Drift between runs: the population stability index (PSI) of the account-score distribution
//! and of key per-account features, against the previous run's `drift_profile.json`.

use ringscope_export::{Drift, DriftProfile};
use ringscope_features::distribution::{bin, psi};
use ringscope_graph::{HeteroGraph, NodeKind, Rel};
use std::collections::BTreeMap;

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
