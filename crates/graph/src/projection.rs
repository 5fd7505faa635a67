//! Account–account "same actor" projections: accounts linked by shared identifiers (device,
//! IP, payment, address), by addresses in one small network (an IPv4 /24 or IPv6 /64: a near
//! identifier, since a ring's proxies or SIM pool hand out neighbouring addresses), by devices of
//! one model and user agent on one such network (a phone farm's identical handsets; only when
//! the sessions table has `device_model` or `user_agent`), and by co-reviewing a product within
//! a time window.
//!
//! Hubs are the reason this is more than a self-join: a carrier-NAT IP or an office Wi-Fi is
//! shared by hundreds of honest accounts and would join them all into one blob. Identifiers used
//! by more than [`ProjectionConfig::max_accounts_per_identifier`] accounts, and review bursts of
//! more than [`ProjectionConfig::max_reviews_per_window`] reviews, link nobody and are reported.

use crate::hetero::{AttrValues, HeteroGraph, NO_TIME};
use crate::schema::{NodeKind, Rel};
use petgraph::graph::{NodeIndex, UnGraph};
use ringscope_ingest::NO_ID;
use rustc_hash::FxHashMap;
use std::fmt;
use std::net::IpAddr;

/// Rules for [`project_accounts`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProjectionConfig {
    /// Identifier relations that link accounts (any of `used_device`, `used_ip`, `paid_with`,
    /// `ships_to`).
    pub identifier_relations: Vec<String>,
    /// An identifier used by more accounts than this is a hub: it links nobody and is reported.
    pub max_accounts_per_identifier: usize,
    /// Two reviews of one product at most this many seconds apart are a co-review; 0 disables.
    /// A day: rings that spread their reviews over two days are still paired, and each pair's
    /// strength falls with the window's other reviews (the leave-one-family-out protocol,
    /// benches/README.md).
    pub co_review_window_secs: i64,
    /// A window holding more reviews than this is a burst (a viral product): it links nobody.
    pub max_reviews_per_window: usize,
    /// Link accounts whose addresses lie in one IPv4 /24 or IPv6 /64 (with `used_ip` among the
    /// identifier relations).
    pub ip_subnets: bool,
    /// A subnet used by more accounts than this is a hub: it links nobody and is reported. Lower
    /// than for exact identifiers: a residential /24 is shared by chance far more often.
    pub max_accounts_per_subnet: usize,
    /// Link accounts with devices of one model and user agent on one subnet (sessions'
    /// `device_model` and `user_agent`, with `used_device` and `used_ip` among the identifier
    /// relations); capped at `max_accounts_per_identifier`.
    pub device_fingerprints: bool,
}

impl Default for ProjectionConfig {
    fn default() -> Self {
        ProjectionConfig {
            identifier_relations: [Rel::UsedDevice, Rel::UsedIp, Rel::PaidWith, Rel::ShipsTo]
                .map(|r| r.name().to_string())
                .to_vec(),
            max_accounts_per_identifier: 50,
            co_review_window_secs: 86_400,
            max_reviews_per_window: 100,
            ip_subnets: true,
            max_accounts_per_subnet: 20,
            device_fingerprints: true,
        }
    }
}

impl ProjectionConfig {
    /// Checks the rules once, when the config is loaded.
    pub fn validate(&self) -> Result<(), String> {
        let allowed = [Rel::UsedDevice, Rel::UsedIp, Rel::PaidWith, Rel::ShipsTo].map(Rel::name);
        if let Some(bad) = self
            .identifier_relations
            .iter()
            .find(|r| !allowed.contains(&r.as_str()))
        {
            return Err(format!(
                "identifier_relations: '{bad}' is not one of {}",
                allowed.join(", ")
            ));
        }
        if self.max_accounts_per_identifier < 2 {
            return Err("max_accounts_per_identifier must be at least 2".into());
        }
        if self.co_review_window_secs < 0 {
            return Err("co_review_window_secs must be >= 0".into());
        }
        if self.max_reviews_per_window < 2 {
            return Err("max_reviews_per_window must be at least 2".into());
        }
        if self.max_accounts_per_subnet < 2 {
            return Err("max_accounts_per_subnet must be at least 2".into());
        }
        Ok(())
    }
}

/// Why two accounts are linked. Counts are of distinct shared things.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Evidence {
    /// Shared devices.
    pub devices: u32,
    /// Shared IPs.
    pub ips: u32,
    /// Shared payment instruments.
    pub payments: u32,
    /// Shared shipping addresses.
    pub addresses: u32,
    /// Shared subnets: IPv4 /24s or IPv6 /64s in which the accounts used at least two
    /// addresses between them (a pair on one exact address counts here too when its subnet
    /// holds other addresses in use).
    pub subnets: u32,
    /// Shared (device model, user agent, subnet) keys: each account has a device of that model
    /// and user agent and an address in that subnet.
    pub near_devices: u32,
    /// Products both reviewed within the co-review window.
    pub co_reviewed_products: u32,
    /// Adamic–Adar style strength: each shared identifier adds `1 / ln(accounts using it)`, each
    /// subnet [`SUBNET_STRENGTH`] of that, each co-reviewed product `1 / ln(reviews in the
    /// window)`, so rarer evidence counts more.
    pub weight: f32,
}

impl Evidence {
    fn count_mut(&mut self, rel: Rel) -> &mut u32 {
        match rel {
            Rel::UsedDevice => &mut self.devices,
            Rel::UsedIp => &mut self.ips,
            Rel::PaidWith => &mut self.payments,
            Rel::ShipsTo => &mut self.addresses,
            _ => &mut self.co_reviewed_products,
        }
    }
}

/// A subnet's weight relative to an exact identifier used by as many accounts: a /24 is shared
/// by chance (one ISP's customers) far more often than an address.
pub const SUBNET_STRENGTH: f32 = 0.5;

/// An IPv4 /24 or IPv6 /64 network.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Subnet {
    /// The first three octets of an IPv4 address.
    V4([u8; 3]),
    /// The first four 16-bit groups of an IPv6 address.
    V6([u16; 4]),
}

impl Subnet {
    /// The subnet of `ip`; `None` for text that is not an address (IDs are opaque strings in
    /// the contract, so a pseudonymised IP column simply has no subnets). An IPv4-mapped IPv6
    /// address is its IPv4 subnet.
    pub fn of(ip: &str) -> Option<Subnet> {
        match ip.trim().parse::<IpAddr>().ok()?.to_canonical() {
            IpAddr::V4(v4) => {
                let [a, b, c, _] = v4.octets();
                Some(Subnet::V4([a, b, c]))
            }
            IpAddr::V6(v6) => {
                let s = v6.segments();
                Some(Subnet::V6([s[0], s[1], s[2], s[3]]))
            }
        }
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Subnet::V4([a, b, c]) => write!(f, "{a}.{b}.{c}.0/24"),
            Subnet::V6(g) => {
                let v6 = std::net::Ipv6Addr::new(g[0], g[1], g[2], g[3], 0, 0, 0, 0);
                write!(f, "{v6}/64")
            }
        }
    }
}

/// `(key, member)` pairs grouped by key, keys in order, members sorted; only keys with two or
/// more members.
fn shared_groups<K: Ord + Copy>(mut pairs: Vec<(K, u32)>) -> Vec<(K, Vec<u32>)> {
    pairs.sort_unstable();
    pairs
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|group| group.len() >= 2)
        .map(|group| (group[0].0, group.iter().map(|&(_, m)| m).collect()))
        .collect()
}

/// The members of `key` in `groups` (from [`shared_groups`]), or none.
fn group_of<'a, K: Ord>(groups: &'a [(K, Vec<u32>)], key: &K) -> &'a [u32] {
    groups
        .binary_search_by(|(k, _)| k.cmp(key))
        .map_or(&[], |i| &groups[i].1)
}

/// Every IP node's [`Subnet`], and the IP nodes of each subnet that holds two or more.
#[derive(Clone, Debug, Default)]
pub struct SubnetIndex {
    of_ip: Vec<Option<Subnet>>,
    groups: Vec<(Subnet, Vec<u32>)>,
}

impl SubnetIndex {
    /// Parses every IP node's ID once; IDs that are not addresses have no subnet.
    pub fn new(graph: &HeteroGraph) -> Self {
        let of_ip: Vec<Option<Subnet>> =
            graph
                .node_set(NodeKind::Ip.name())
                .map_or_else(Vec::new, |(_, ips)| {
                    (0..ips.len() as u32)
                        .map(|i| Subnet::of(ips.ids.resolve(i)))
                        .collect()
                });
        let groups = shared_groups(
            of_ip
                .iter()
                .enumerate()
                .filter_map(|(ip, s)| s.map(|s| (s, ip as u32)))
                .collect(),
        );
        SubnetIndex { of_ip, groups }
    }

    /// The subnet of IP node `ip`.
    pub fn subnet(&self, ip: u32) -> Option<Subnet> {
        self.of_ip.get(ip as usize).copied().flatten()
    }

    /// The IP nodes of `subnet` when it holds two or more, else none.
    pub fn ips(&self, subnet: Subnet) -> &[u32] {
        group_of(&self.groups, &subnet)
    }

    /// The subnets holding two or more IP nodes, in order, with their IP nodes.
    pub fn groups(&self) -> &[(Subnet, Vec<u32>)] {
        &self.groups
    }
}

/// A device fingerprint on a network: codes into the device set's `device_model` and
/// `user_agent` dictionaries ([`NO_ID`] for a missing one, not both), and the subnet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceKey {
    /// `device_model` code.
    pub model: u32,
    /// `user_agent` code.
    pub agent: u32,
    /// The network.
    pub subnet: Subnet,
}

/// The near identifiers of a graph's accounts: the [`SubnetIndex`], and the [`DeviceKey`]s two
/// or more accounts share, each with its accounts, keys in order.
#[derive(Clone, Debug, Default)]
pub struct NearIdentifiers {
    /// Subnets of the IP nodes.
    pub subnets: SubnetIndex,
    /// Shared device keys and their accounts (sorted), in key order.
    pub devices: Vec<(DeviceKey, Vec<u32>)>,
}

/// The `device_model` and `user_agent` codes of the device nodes, if the graph has any.
fn device_codes(graph: &HeteroGraph) -> Option<(&[u32], &[u32])> {
    let (_, devices) = graph.node_set(NodeKind::Device.name())?;
    let codes = |name: &str| match devices.attrs.iter().find(|(n, _)| n == name) {
        Some((_, AttrValues::Text(t))) => Some(t.codes.as_slice()),
        _ => None,
    };
    let (model, agent) = (codes("device_model")?, codes("user_agent")?);
    let any = model.iter().chain(agent).any(|&c| c != NO_ID);
    any.then_some((model, agent))
}

/// `(account, key)` for `accounts` (every account when `None`): each fingerprint of the
/// account's devices on each subnet of its addresses, sorted and distinct.
pub fn device_keys(
    graph: &HeteroGraph,
    subnets: &SubnetIndex,
    accounts: Option<&std::collections::HashSet<u32>>,
) -> Vec<(u32, DeviceKey)> {
    let Some((model, agent)) = device_codes(graph) else {
        return Vec::new();
    };
    let (Some(devices), Some(ips)) = (
        graph.relation(Rel::UsedDevice.name()),
        graph.relation(Rel::UsedIp.name()),
    ) else {
        return Vec::new();
    };
    let wanted = |a: &u32| accounts.is_none_or(|set| set.contains(a));
    let mut prints: Vec<(u32, (u32, u32))> = devices
        .src
        .iter()
        .zip(&devices.dst)
        .filter(|(a, _)| wanted(a))
        .map(|(&a, &d)| (a, (model[d as usize], agent[d as usize])))
        .filter(|&(_, f)| f != (NO_ID, NO_ID))
        .collect();
    prints.sort_unstable();
    prints.dedup();
    let mut nets: Vec<(u32, Subnet)> = ips
        .src
        .iter()
        .zip(&ips.dst)
        .filter(|(a, _)| wanted(a))
        .filter_map(|(&a, &ip)| Some((a, subnets.subnet(ip)?)))
        .collect();
    nets.sort_unstable();
    nets.dedup();
    let mut keys = Vec::new();
    let mut n = 0;
    for group in prints.chunk_by(|x, y| x.0 == y.0) {
        let account = group[0].0;
        while n < nets.len() && nets[n].0 < account {
            n += 1;
        }
        let end = n + nets[n..].iter().take_while(|x| x.0 == account).count();
        for &(_, (model, agent)) in group {
            for &(_, subnet) in &nets[n..end] {
                keys.push((
                    account,
                    DeviceKey {
                        model,
                        agent,
                        subnet,
                    },
                ));
            }
        }
    }
    keys
}

impl NearIdentifiers {
    /// Parses the IP nodes' subnets and groups the accounts by device key.
    pub fn new(graph: &HeteroGraph) -> Self {
        let subnets = SubnetIndex::new(graph);
        let by_key = device_keys(graph, &subnets, None)
            .into_iter()
            .map(|(a, k)| (k, a))
            .collect();
        let devices = shared_groups(by_key);
        NearIdentifiers { subnets, devices }
    }

    /// The accounts sharing `key`, when two or more do.
    pub fn device_accounts(&self, key: &DeviceKey) -> &[u32] {
        group_of(&self.devices, key)
    }

    /// `key` in words: `model / user agent on subnet`.
    pub fn describe(graph: &HeteroGraph, key: &DeviceKey) -> String {
        let text = |name: &str, code: u32| {
            let set = graph.node_set(NodeKind::Device.name()).map(|(_, s)| s);
            match set.and_then(|s| s.attrs.iter().find(|(n, _)| n == name)) {
                Some((_, AttrValues::Text(t))) if code != NO_ID => t.dict.resolve(code).to_string(),
                _ => "?".to_string(),
            }
        };
        format!(
            "{} / {} on {}",
            text("device_model", key.model),
            text("user_agent", key.agent),
            key.subnet
        )
    }
}

/// An identifier left out for being shared by too many accounts.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Hub {
    /// Node kind (`device`, `ip`, `payment`, `address`), or `ip_subnet` or `device_on_subnet`.
    pub kind: String,
    /// Its external ID.
    pub id: String,
    /// Accounts using it.
    pub accounts: usize,
}

/// A review burst left out for holding too many reviews in one window.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Burst {
    /// Product ID.
    pub product: String,
    /// Reviews of the product that fell inside an over-full window.
    pub reviews: usize,
}

/// The projection: node `i` is account `i`; each edge carries its [`Evidence`].
#[derive(Clone, Debug)]
pub struct Projection {
    /// Undirected account graph.
    pub graph: UnGraph<(), Evidence>,
    /// Hub identifiers, most-shared first.
    pub hubs: Vec<Hub>,
    /// Review bursts, largest first.
    pub bursts: Vec<Burst>,
    /// Reviews without a time, which cannot take part in co-review.
    pub untimed_reviews: usize,
    /// The accounts' subnets and device keys, also what ring evidence lists; built whatever
    /// the config links by.
    pub near: NearIdentifiers,
}

/// Links the accounts of each subnet that holds at least two addresses in use (one address
/// alone adds nothing to the exact identifier), unless more than
/// [`ProjectionConfig::max_accounts_per_subnet`] accounts use it: then it is a hub (`ip_subnet`).
fn subnet_links(
    graph: &HeteroGraph,
    subnets: &SubnetIndex,
    config: &ProjectionConfig,
    pairs: &mut FxHashMap<(u32, u32), Evidence>,
    hubs: &mut Vec<Hub>,
) {
    let Some(relation) = graph.relation(Rel::UsedIp.name()) else {
        return;
    };
    let csr = graph.in_csr(relation);
    for (subnet, ips) in subnets.groups() {
        let mut accounts: Vec<u32> = ips
            .iter()
            .flat_map(|&ip| csr.neighbors(ip).iter().copied())
            .collect();
        accounts.sort_unstable();
        accounts.dedup();
        link_or_hub(
            pairs,
            hubs,
            (&accounts, config.max_accounts_per_subnet),
            SUBNET_STRENGTH,
            || ("ip_subnet".into(), subnet.to_string()),
            |e| &mut e.subnets,
        );
    }
}

/// Links the accounts sharing a [`DeviceKey`], at an exact identifier's strength, unless more
/// than [`ProjectionConfig::max_accounts_per_identifier`] share it: then it is a hub
/// (`device_on_subnet`).
fn device_links(
    graph: &HeteroGraph,
    near: &NearIdentifiers,
    config: &ProjectionConfig,
    pairs: &mut FxHashMap<(u32, u32), Evidence>,
    hubs: &mut Vec<Hub>,
) {
    for (key, accounts) in &near.devices {
        link_or_hub(
            pairs,
            hubs,
            (accounts, config.max_accounts_per_identifier),
            1.0,
            || {
                (
                    "device_on_subnet".into(),
                    NearIdentifiers::describe(graph, key),
                )
            },
            |e| &mut e.near_devices,
        );
    }
}

/// One shared thing's `accounts`: above `cap` of them it is a hub (`hub` gives its kind and
/// ID) and links nobody; otherwise every pair gets `scale / ln(accounts)` added to its weight
/// and one to the count that `count` picks.
fn link_or_hub(
    pairs: &mut FxHashMap<(u32, u32), Evidence>,
    hubs: &mut Vec<Hub>,
    (accounts, cap): (&[u32], usize),
    scale: f32,
    hub: impl FnOnce() -> (String, String),
    count: impl Fn(&mut Evidence) -> &mut u32,
) {
    let k = accounts.len();
    if k > cap {
        let (kind, id) = hub();
        hubs.push(Hub {
            kind,
            id,
            accounts: k,
        });
        return;
    }
    let strength = scale / (k as f32).ln();
    for (i, &a) in accounts.iter().enumerate() {
        for &b in &accounts[i + 1..] {
            let e = pairs.entry(ordered(a, b)).or_default();
            *count(e) += 1;
            e.weight += strength;
        }
    }
}

/// Builds the account projection of a marketplace graph (see the module docs).
///
/// Cost: Σ over non-hub identifiers of k² for k accounts, plus per product the pairs inside each
/// window, which the burst cap bounds by `max_reviews_per_window` per review.
pub fn project_accounts(graph: &HeteroGraph, config: &ProjectionConfig) -> Projection {
    let n_accounts = graph
        .node_set(NodeKind::Account.name())
        .map_or(0, |(_, s)| s.len());
    let mut pairs: FxHashMap<(u32, u32), Evidence> = FxHashMap::default();
    let mut hubs = Vec::new();
    for rel in Rel::ALL
        .into_iter()
        .filter(|r| config.identifier_relations.iter().any(|n| n == r.name()))
    {
        let Some(relation) = graph.relation(rel.name()) else {
            continue;
        };
        let kind = &graph.node_sets()[relation.dst_kind];
        let csr = graph.in_csr(relation);
        for id in 0..kind.len() as u32 {
            // Distinct: identifier edges are collapsed per pair.
            let accounts = csr.neighbors(id);
            link_or_hub(
                &mut pairs,
                &mut hubs,
                (accounts, config.max_accounts_per_identifier),
                1.0,
                || (kind.kind.clone(), kind.ids.resolve(id).to_string()),
                |e| e.count_mut(rel),
            );
        }
    }
    let uses = |rel: Rel| config.identifier_relations.iter().any(|n| n == rel.name());
    let near = NearIdentifiers::new(graph);
    if uses(Rel::UsedIp) {
        if config.ip_subnets {
            subnet_links(graph, &near.subnets, config, &mut pairs, &mut hubs);
        }
        if config.device_fingerprints && uses(Rel::UsedDevice) {
            device_links(graph, &near, config, &mut pairs, &mut hubs);
        }
    }
    hubs.sort_by(|a, b| {
        b.accounts
            .cmp(&a.accounts)
            .then_with(|| (&a.kind, &a.id).cmp(&(&b.kind, &b.id)))
    });

    let (bursts, untimed_reviews) = co_reviews(graph, config, &mut pairs);

    let mut edges: Vec<((u32, u32), Evidence)> = pairs.into_iter().collect();
    edges.sort_unstable_by_key(|(k, _)| *k);
    let mut g = UnGraph::with_capacity(n_accounts, edges.len());
    for _ in 0..n_accounts {
        g.add_node(());
    }
    for ((a, b), ev) in edges {
        g.add_edge(NodeIndex::new(a as usize), NodeIndex::new(b as usize), ev);
    }
    Projection {
        graph: g,
        hubs,
        bursts,
        untimed_reviews,
        near,
    }
}

fn ordered(a: u32, b: u32) -> (u32, u32) {
    if a < b { (a, b) } else { (b, a) }
}

fn co_reviews(
    graph: &HeteroGraph,
    config: &ProjectionConfig,
    pairs: &mut FxHashMap<(u32, u32), Evidence>,
) -> (Vec<Burst>, usize) {
    let Some(reviewed) = graph.relation(Rel::Reviewed.name()) else {
        return (Vec::new(), 0);
    };
    let Some(times) = reviewed.time.as_ref() else {
        return (Vec::new(), reviewed.len());
    };
    if config.co_review_window_secs == 0 {
        return (Vec::new(), 0);
    }
    let products = &graph.node_sets()[reviewed.dst_kind];
    let csr = graph.in_csr(reviewed);
    let window = config.co_review_window_secs;
    let mut untimed = 0;
    let mut bursts = Vec::new();
    let mut events: Vec<(i64, u32)> = Vec::new();
    let mut product_pairs: Vec<((u32, u32), f32)> = Vec::new();
    let (mut window_end, mut in_burst): (Vec<usize>, Vec<bool>) = (Vec::new(), Vec::new());
    for p in 0..products.len() as u32 {
        events.clear();
        for (&account, &e) in csr.neighbors(p).iter().zip(csr.edges(p)) {
            match times[e as usize] {
                NO_TIME => untimed += 1,
                t => events.push((t, account)),
            }
        }
        events.sort_unstable();
        // Pass 1: each review's forward window; every review inside an over-full window is a
        // burst review and links nobody.
        window_end.clear();
        in_burst.clear();
        in_burst.resize(events.len(), false);
        let (mut end, mut marked_until) = (0, 0);
        for i in 0..events.len() {
            end = end.max(i + 1);
            while end < events.len() && events[end].0 - events[i].0 <= window {
                end += 1;
            }
            window_end.push(end);
            if end - i > config.max_reviews_per_window {
                in_burst[marked_until.max(i)..end].fill(true);
                marked_until = end;
            }
        }
        // Pass 2: pairs of non-burst reviews by different accounts within the window.
        product_pairs.clear();
        for i in (0..events.len()).filter(|&i| !in_burst[i]) {
            let strength = 1.0 / ((window_end[i] - i).max(2) as f32).ln();
            for j in (i + 1..window_end[i]).filter(|&j| !in_burst[j]) {
                if events[j].1 != events[i].1 {
                    product_pairs.push((ordered(events[i].1, events[j].1), strength));
                }
            }
        }
        let in_bursts = in_burst.iter().filter(|&&b| b).count();
        if in_bursts > 0 {
            bursts.push(Burst {
                product: products.ids.resolve(p).to_string(),
                reviews: in_bursts,
            });
        }
        // One product counts once per pair, with its strongest (sparsest-window) strength.
        product_pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.total_cmp(&a.1)));
        product_pairs.dedup_by_key(|p| p.0);
        for &(pair, strength) in &product_pairs {
            let e = pairs.entry(pair).or_default();
            e.co_reviewed_products += 1;
            e.weight += strength;
        }
    }
    bursts.sort_by(|a, b| {
        b.reviews
            .cmp(&a.reviews)
            .then_with(|| a.product.cmp(&b.product))
    });
    (bursts, untimed)
}
