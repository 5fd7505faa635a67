//! What an investigator reads about one ring: who is in it and in what role, what the members
//! share (devices, IPs, payment instruments, addresses) and how many accounts outside the ring
//! use the same thing, which products and sellers they target, and when they acted.

use ringscope_graph::{HeteroGraph, NO_TIME, NearIdentifiers, NodeKind, Rel, Subnet, device_keys};
use std::collections::{BTreeMap, HashSet};

/// What a member does in the ring.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Operates a seller account (the beneficiary of a fake-review or brushing ring).
    Seller,
    /// Reviews and orders.
    BuyerReviewer,
    /// Reviews without orders (typical of fake reviews).
    Reviewer,
    /// Orders without reviews (typical of brushing).
    Buyer,
    /// Shares identifiers but has no reviews or orders in the data.
    Inactive,
}

/// One member.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Member {
    /// Account ID.
    pub account: String,
    /// GNN fraud probability (NaN without scores, written as null).
    #[serde(deserialize_with = "nan_if_null")]
    pub score: f64,
    /// Role.
    pub role: Role,
    /// Reviews written.
    pub reviews: u32,
    /// Orders placed.
    pub orders: u32,
}

fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    let v: Option<f64> = serde::Deserialize::deserialize(d)?;
    Ok(v.unwrap_or(f64::NAN))
}

/// An identifier at least two members use.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SharedIdentifier {
    /// `device`, `ip`, `payment`, `address`, `ip_subnet` (an IPv4 /24 or IPv6 /64 in which
    /// the members used two or more addresses) or `device_on_subnet` (devices of one model and
    /// user agent, on one subnet).
    pub kind: String,
    /// Its ID.
    pub id: String,
    /// Members using it.
    pub in_ring: u32,
    /// Accounts outside the ring using it: few means it is the ring's own.
    pub outside: u32,
}

/// A product or seller the ring acts on.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Target {
    /// `product` or `seller`.
    pub kind: String,
    /// Its ID.
    pub id: String,
    /// Members that acted on it.
    pub members: u32,
    /// Their reviews and orders of it.
    pub actions: u32,
}

/// One member action on the timeline.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Action {
    /// Unix seconds.
    pub time: i64,
    /// Account ID.
    pub account: String,
    /// `review` or `order`.
    pub action: String,
    /// Product ID.
    pub product: String,
    /// Rating of a review.
    pub rating: Option<f32>,
}

/// Everything known about one ring.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RingEvidence {
    /// Members, highest score first.
    pub members: Vec<Member>,
    /// Identifiers shared by at least two members, most shared first.
    pub shared: Vec<SharedIdentifier>,
    /// Products and sellers at least two members acted on, most members first.
    pub targets: Vec<Target>,
    /// First timed action.
    pub first_activity: Option<i64>,
    /// Last timed action.
    pub last_activity: Option<i64>,
    /// Every timed member review and order, in time order.
    pub timeline: Vec<Action>,
}

/// The ID of node `i` of `kind`.
pub(crate) fn node_id(graph: &HeteroGraph, kind: NodeKind, i: u32) -> String {
    graph
        .node_set(kind.name())
        .map_or_else(String::new, |(_, s)| s.ids.resolve(i).to_string())
}

/// Gathers the evidence for the ring `members` (account indices) of `graph`.
/// `account_scores` are the GNN probabilities per account.
pub fn ring_evidence(
    graph: &HeteroGraph,
    members: &[u32],
    account_scores: Option<&[f64]>,
    near: &NearIdentifiers,
) -> RingEvidence {
    let name = |kind: NodeKind, i: u32| node_id(graph, kind, i);
    let in_ring: HashSet<u32> = members.iter().copied().collect();
    let count_by_member = |rel: Rel| -> BTreeMap<u32, u32> {
        let mut counts = BTreeMap::new();
        if let Some(r) = graph.relation(rel.name()) {
            for &a in r.src.iter().filter(|a| in_ring.contains(a)) {
                *counts.entry(a).or_insert(0) += 1;
            }
        }
        counts
    };
    let (reviews, orders, operates) = (
        count_by_member(Rel::Reviewed),
        count_by_member(Rel::Ordered),
        count_by_member(Rel::Operates),
    );
    let mut member_rows: Vec<Member> = members
        .iter()
        .map(|&a| {
            let (r, o) = (
                reviews.get(&a).copied().unwrap_or(0),
                orders.get(&a).copied().unwrap_or(0),
            );
            let role = match (operates.contains_key(&a), r > 0, o > 0) {
                (true, _, _) => Role::Seller,
                (_, true, true) => Role::BuyerReviewer,
                (_, true, false) => Role::Reviewer,
                (_, false, true) => Role::Buyer,
                _ => Role::Inactive,
            };
            Member {
                account: name(NodeKind::Account, a),
                score: account_scores.map_or(f64::NAN, |s| s[a as usize]),
                role,
                reviews: r,
                orders: o,
            }
        })
        .collect();
    member_rows.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.account.cmp(&b.account))
    });

    let mut shared = Vec::new();
    for (rel, kind) in [
        (Rel::UsedDevice, NodeKind::Device),
        (Rel::UsedIp, NodeKind::Ip),
        (Rel::PaidWith, NodeKind::Payment),
        (Rel::ShipsTo, NodeKind::Address),
    ] {
        let Some(r) = graph.relation(rel.name()) else {
            continue;
        };
        let users = graph.in_csr(r);
        let mut used: Vec<u32> = (0..r.src.len())
            .filter(|&e| in_ring.contains(&r.src[e]))
            .map(|e| r.dst[e])
            .collect();
        used.sort_unstable();
        used.dedup();
        for id in used {
            let accounts: HashSet<u32> = users.neighbors
                [users.offsets[id as usize] as usize..users.offsets[id as usize + 1] as usize]
                .iter()
                .copied()
                .collect();
            let inside = accounts.iter().filter(|a| in_ring.contains(a)).count() as u32;
            if inside >= 2 {
                shared.push(SharedIdentifier {
                    kind: kind.name().into(),
                    id: name(kind, id),
                    in_ring: inside,
                    outside: accounts.len() as u32 - inside,
                });
            }
        }
    }
    // Near identifiers: subnets holding two or more addresses, at least two members on them,
    // and device fingerprints on a subnet.
    let subnets = &near.subnets;
    if let Some(r) = graph.relation(Rel::UsedIp.name()) {
        let users = graph.in_csr(r);
        let mut ring_subnets: Vec<Subnet> = (0..r.src.len())
            .filter(|&e| in_ring.contains(&r.src[e]))
            .filter_map(|e| subnets.subnet(r.dst[e]))
            .collect();
        ring_subnets.sort_unstable();
        ring_subnets.dedup();
        for subnet in ring_subnets {
            let accounts: HashSet<u32> = subnets
                .ips(subnet)
                .iter()
                .flat_map(|&ip| users.neighbors(ip).iter().copied())
                .collect();
            let inside = accounts.iter().filter(|a| in_ring.contains(a)).count() as u32;
            if inside >= 2 {
                shared.push(SharedIdentifier {
                    kind: "ip_subnet".into(),
                    id: subnet.to_string(),
                    in_ring: inside,
                    outside: accounts.len() as u32 - inside,
                });
            }
        }
    }
    let mut keys: Vec<_> = device_keys(graph, subnets, Some(&in_ring))
        .into_iter()
        .map(|(_, key)| key)
        .collect();
    keys.sort_unstable();
    for group in keys.chunk_by(|a, b| a == b).filter(|g| g.len() >= 2) {
        let sharing = near.device_accounts(&group[0]).len() as u32;
        let inside = group.len() as u32;
        shared.push(SharedIdentifier {
            kind: "device_on_subnet".into(),
            id: NearIdentifiers::describe(graph, &group[0]),
            in_ring: inside,
            outside: sharing.saturating_sub(inside),
        });
    }
    shared.sort_by(|a, b| {
        b.in_ring
            .cmp(&a.in_ring)
            .then_with(|| a.outside.cmp(&b.outside))
            .then_with(|| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)))
    });

    let mut targets = Vec::new();
    let mut timeline = Vec::new();
    for (rels, kind) in [
        (&[Rel::Reviewed, Rel::Ordered][..], NodeKind::Product),
        (&[Rel::BoughtFrom][..], NodeKind::Seller),
    ] {
        // target → (members, actions)
        let mut acted: BTreeMap<u32, (HashSet<u32>, u32)> = BTreeMap::new();
        for &rel in rels {
            let Some(r) = graph.relation(rel.name()) else {
                continue;
            };
            for e in (0..r.src.len()).filter(|&e| in_ring.contains(&r.src[e])) {
                let entry = acted.entry(r.dst[e]).or_default();
                entry.0.insert(r.src[e]);
                entry.1 += 1;
                let time = r.time.as_ref().map_or(NO_TIME, |t| t[e]);
                if kind == NodeKind::Product && time != NO_TIME {
                    timeline.push(Action {
                        time,
                        account: name(NodeKind::Account, r.src[e]),
                        action: if rel == Rel::Reviewed {
                            "review"
                        } else {
                            "order"
                        }
                        .to_string(),
                        product: name(NodeKind::Product, r.dst[e]),
                        rating: (rel == Rel::Reviewed)
                            .then(|| r.weight.as_ref().map(|w| w[e]))
                            .flatten()
                            .filter(|w| w.is_finite()),
                    });
                }
            }
        }
        targets.extend(acted.into_iter().filter(|(_, (m, _))| m.len() >= 2).map(
            |(t, (m, actions))| Target {
                kind: kind.name().into(),
                id: name(kind, t),
                members: m.len() as u32,
                actions,
            },
        ));
    }
    targets.sort_by(|a, b| {
        b.members
            .cmp(&a.members)
            .then_with(|| b.actions.cmp(&a.actions))
            .then_with(|| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)))
    });
    timeline.sort_by(|a, b| {
        (a.time, &a.account, &a.action, &a.product)
            .cmp(&(b.time, &b.account, &b.action, &b.product))
    });
    RingEvidence {
        members: member_rows,
        shared,
        targets,
        first_activity: timeline.first().map(|a| a.time),
        last_activity: timeline.last().map(|a| a.time),
        timeline,
    }
}
