//! Candidate rings from two independent sources, so a ring missed by one is caught by the other:
//!
//! 1. **Evidence components**: connected components of the "same actor" account projection
//!    (shared devices, IPs, payments, addresses, co-reviews; hubs already capped), keeping only
//!    links at least `min_evidence_weight` strong.
//!    A component larger than `max_members` is split into Louvain communities.
//! 2. **Dense blocks** of the account × product graph (reviews and orders), which catch
//!    lockstep accounts that share no identifier at all ([`crate::dense`]). A block is split
//!    into its connected parts: peeling keeps disjoint blocks of equal density together.
//! 3. **Co-target groups** and **cohorts** ([`crate::cotarget`]): accounts concentrated on one
//!    seller over the whole window (among the suspicious accounts, and again among all), or
//!    created together and favouring one target, when more than chance allows.
//!
//! "Suspicious" is the model's score at least `min_member_score`, or a behaviour change
//! ([`crate::takeover`]) at least `takeover.min_share`: a taken-over account keeps its old
//! honest history, which reassures the model.
//!
//! Every candidate carries its significance against the null model of chance co-activity
//! ([`crate::significance`]).
//!
//! Members are account indices (the graph's `account` node set).

use crate::activity::Actions;
use crate::cotarget::{CoTargetConfig, co_target_candidates, cohort_candidates, focus_candidates};
use crate::dense::{DenseConfig, dense_blocks};
use crate::louvain::{Adjacency, louvain, modularity};
use crate::significance::{NullModel, Significance};
use crate::takeover::{TakeoverConfig, behaviour_change};
use petgraph::unionfind::UnionFind;
use petgraph::visit::EdgeRef;
use ringscope_graph::{HeteroGraph, NodeKind, Projection, Rel};

/// Where a candidate came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// A connected component of the evidence projection.
    Evidence,
    /// A Louvain community of an evidence component too large to be one ring.
    Community,
    /// A dense block of the account × product graph.
    DenseBlock,
    /// Accounts concentrated on one seller's products.
    CoTarget,
    /// Accounts created together that favour one target.
    Cohort,
    /// Repeat engagers of one seller pairing up on a few of its products.
    Focus,
}

/// A group of accounts that may be one ring.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Candidate {
    /// Account indices, ascending.
    pub members: Vec<u32>,
    /// Where it came from.
    pub source: Source,
    /// Product indices the block is dense on (dense blocks only).
    pub targets: Vec<u32>,
    /// The block's suspiciousness density (dense blocks only; 0 for components).
    pub density: f64,
    /// Its significance against chance co-activity.
    pub significance: Significance,
}

/// Rules for [`candidates`].
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CandidateConfig {
    /// Projection links weaker than this are ignored.
    pub min_evidence_weight: f32,
    /// With account scores, only accounts scoring at least this join evidence components: a
    /// ring is a group of suspicious accounts, and honest neighbours sharing an office IP or a
    /// co-review would otherwise chain rings and bystanders into one blob.
    pub min_member_score: f64,
    /// Smaller groups are not rings.
    pub min_members: usize,
    /// Larger evidence components are split into Louvain communities ([`crate::louvain`]).
    pub max_members: usize,
    /// Louvain resolution for that split.
    pub resolution: f64,
    /// A candidate whose own Louvain communities reach this modularity is split into them,
    /// and each again (see `refine`); 1 never splits.
    pub min_split_modularity: f64,
    /// Evidence candidates drop, round after round, members whose evidence weight inside the
    /// candidate is below this share of the candidate's median: bystanders (often honest
    /// accounts the GNN scores high next to a ring) hang on by a co-review or two, while ring
    /// members are tied to many others. 0 keeps every member.
    pub min_core_share: f64,
    /// Dense-block detection on the account × product graph.
    pub dense: DenseConfig,
    /// Co-target groups and cohorts.
    pub co_target: CoTargetConfig,
    /// Behaviour change (takeovers).
    pub takeover: TakeoverConfig,
}

impl Default for CandidateConfig {
    fn default() -> Self {
        CandidateConfig {
            min_evidence_weight: 0.0,
            min_member_score: 0.5,
            min_members: 3,
            max_members: 100,
            resolution: 1.0,
            min_split_modularity: 0.4,
            min_core_share: 0.3,
            dense: DenseConfig::default(),
            co_target: CoTargetConfig::default(),
            takeover: TakeoverConfig::default(),
        }
    }
}

impl CandidateConfig {
    /// Checks the config once, when it is loaded.
    pub fn validate(&self) -> Result<(), String> {
        if !(0.0..=1.0).contains(&self.min_member_score) {
            return Err("candidates.min_member_score must be within 0..1".into());
        }
        if self.min_members < 2 || self.max_members < self.min_members {
            return Err("candidates need 2 <= min_members <= max_members".into());
        }
        if !(0.0..1.0).contains(&self.min_core_share) {
            return Err("candidates.min_core_share must be within [0, 1)".into());
        }
        if self.resolution.is_nan() || self.resolution <= 0.0 {
            return Err("candidates.resolution must be positive".into());
        }
        if !(0.0..=1.0).contains(&self.min_split_modularity) {
            return Err("candidates.min_split_modularity must be within 0..=1".into());
        }
        if self.dense.min_rows < 2 || self.dense.min_density_ratio.is_nan() {
            return Err("candidates.dense needs min_rows >= 2 and a min_density_ratio".into());
        }
        let c = &self.co_target;
        if c.min_seller_products == 0
            || c.min_significance.is_nan()
            || c.cohort_secs < 0
            || c.cohort_long_secs < 0
        {
            return Err("candidates.co_target needs min_seller_products >= 1, a min_significance, cohort_secs >= 0 and cohort_long_secs >= 0".into());
        }
        let t = &self.takeover;
        if t.min_new_actions == 0
            || t.min_history_days.is_nan()
            || t.min_history_days < 0.0
            || t.min_share.is_nan()
        {
            return Err(
                "candidates.takeover needs min_new_actions >= 1, min_history_days >= 0 and a min_share"
                    .into(),
            );
        }
        Ok(())
    }
}

/// Evidence components, then dense blocks, then co-target groups and cohorts (a group with
/// exactly an earlier candidate's members is kept once, as the earlier one). `account_scores`
/// (GNN fraud probabilities), if given, keep accounts below `min_member_score` (and without a
/// behaviour change) out of evidence components and the first co-target pass, and are the
/// dense detector's row priors, so accounts the model already suspects weigh more; the dense
/// path, the second co-target pass and cohorts see every account, so a ring the model missed
/// can be found there.
pub fn candidates(
    graph: &HeteroGraph,
    projection: &Projection,
    config: &CandidateConfig,
    account_scores: Option<&[f64]>,
) -> Vec<Candidate> {
    let accounts = projection.graph.node_count();
    let actions = Actions::of(graph);
    let changed = behaviour_change(graph, &actions, &config.takeover);
    let eligible: Vec<bool> = (0..accounts)
        .map(|a| {
            account_scores.is_none_or(|s| s[a] >= config.min_member_score)
                || changed[a] >= config.takeover.min_share
        })
        .collect();
    let link = |a: usize, b: usize, weight: f32| {
        eligible[a] && eligible[b] && weight >= config.min_evidence_weight
    };
    let mut union = UnionFind::<u32>::new(accounts);
    for e in projection.graph.edge_indices() {
        let (a, b) = projection.graph.edge_endpoints(e).expect("edge exists");
        if link(a.index(), b.index(), projection.graph[e].weight) {
            union.union(a.index() as u32, b.index() as u32);
        }
    }
    let labels = union.into_labeling();
    let mut groups: Vec<Vec<u32>> = vec![Vec::new(); accounts];
    for (account, &root) in labels.iter().enumerate() {
        if eligible[account] {
            groups[root as usize].push(account as u32);
        }
    }
    let mut out = Vec::new();
    for members in groups.into_iter().filter(|g| g.len() >= config.min_members) {
        let (parts, source) = if members.len() <= config.max_members {
            (vec![members], Source::Evidence)
        } else {
            (
                split(projection, &members, &link, config),
                Source::Community,
            )
        };
        for part in parts
            .into_iter()
            .flat_map(|p| refine(projection, p, &link, config))
        {
            let members = trim_weak_members(
                projection,
                part,
                &link,
                config.min_core_share,
                config.min_evidence_weight,
            );
            if members.len() >= config.min_members {
                out.push(Candidate {
                    members,
                    source,
                    targets: Vec::new(),
                    density: 0.0,
                    significance: Significance::default(),
                });
            }
        }
    }

    let products = graph
        .node_set(NodeKind::Product.name())
        .map_or(0, |(_, s)| s.len());
    let mut edges = Vec::new();
    for rel in [Rel::Reviewed, Rel::Ordered] {
        if let Some(r) = graph.relation(rel.name()) {
            edges.extend(r.src.iter().copied().zip(r.dst.iter().copied()));
        }
    }
    // Sorted, so each block's rows find their edges without a pass over the whole graph.
    edges.sort_unstable();
    edges.dedup();
    let mut dense_config = config.dense.clone();
    dense_config.min_rows = dense_config.min_rows.max(config.min_members);
    for block in dense_blocks(accounts, products, &edges, account_scores, &dense_config) {
        for (rows, cols) in connected_parts(&block.rows, &block.cols, &edges) {
            // A part larger than any ring is camouflage and popular products peeled together
            // (794 accounts, 36% planted, on the hard 20k bench); as a candidate it swallowed
            // the pure rings inside it as its fragments.
            if !(dense_config.min_rows..=config.max_members).contains(&rows.len())
                || out.iter().any(|c| c.members == rows)
            {
                continue;
            }
            out.push(Candidate {
                members: rows,
                source: Source::DenseBlock,
                targets: cols,
                density: block.density,
                significance: Significance::default(),
            });
        }
    }

    let null = NullModel::new(&actions, &eligible, config.co_target.min_seller_products);
    let sizes = (config.min_members, config.max_members);
    // The same search over every account, whatever the model says: a ring the model missed
    // can still be too concentrated on one seller for chance.
    let everyone = vec![true; accounts];
    let null_everyone = NullModel::new(&actions, &everyone, config.co_target.min_seller_products);
    let groups = co_target_candidates(&null, &config.co_target, sizes)
        .into_iter()
        .chain(co_target_candidates(
            &null_everyone,
            &config.co_target,
            sizes,
        ))
        .map(|g| (g, Source::CoTarget))
        .chain(
            cohort_candidates(&actions, &config.co_target, sizes)
                .into_iter()
                .map(|g| (g, Source::Cohort)),
        )
        .chain(
            focus_candidates(&null_everyone, &actions, &config.co_target, sizes)
                .into_iter()
                .map(|g| (g, Source::Focus)),
        );
    for (group, source) in groups {
        if out.iter().any(|c| c.members == group.members) {
            continue;
        }
        out.push(Candidate {
            members: group.members,
            source,
            targets: group.products,
            density: 0.0,
            significance: group.significance,
        });
    }
    // The stronger of the search's test and the ring's own, by how much of the ring each
    // explains.
    for c in &mut out {
        let own = null.ring(&c.members);
        if own.explained() > c.significance.explained() {
            c.significance = own;
        }
    }
    out
}

/// The connected parts of the block `rows` × `cols` over `edges` (sorted `(row, col)`): peeling
/// keeps two disjoint blocks of equal density together, and they are two rings, not one.
fn connected_parts(rows: &[u32], cols: &[u32], edges: &[(u32, u32)]) -> Vec<(Vec<u32>, Vec<u32>)> {
    let col_at = |c: u32| cols.binary_search(&c).ok();
    let mut union = UnionFind::<usize>::new(rows.len() + cols.len());
    for (i, &r) in rows.iter().enumerate() {
        let from = edges.partition_point(|e| e.0 < r);
        let to = edges.partition_point(|e| e.0 <= r);
        for j in edges[from..to].iter().filter_map(|&(_, c)| col_at(c)) {
            union.union(i, rows.len() + j);
        }
    }
    let mut parts: std::collections::BTreeMap<usize, (Vec<u32>, Vec<u32>)> = Default::default();
    for (i, &r) in rows.iter().enumerate() {
        parts.entry(union.find(i)).or_default().0.push(r);
    }
    for (j, &c) in cols.iter().enumerate() {
        parts
            .entry(union.find(rows.len() + j))
            .or_default()
            .1
            .push(c);
    }
    parts.into_values().filter(|(r, _)| !r.is_empty()).collect()
}

/// The `link`ed evidence edges among `members`, weighted by strength, in local indices.
fn induced(
    projection: &Projection,
    members: &[u32],
    link: &dyn Fn(usize, usize, f32) -> bool,
) -> Adjacency {
    let local: std::collections::HashMap<u32, u32> = members
        .iter()
        .enumerate()
        .map(|(i, &a)| (a, i as u32))
        .collect();
    let mut adjacency: Adjacency = vec![Vec::new(); members.len()];
    for (i, &a) in members.iter().enumerate() {
        for e in projection
            .graph
            .edges(petgraph::graph::NodeIndex::new(a as usize))
        {
            let evidence = e.weight();
            let other = if e.source().index() == a as usize {
                e.target()
            } else {
                e.source()
            };
            let Some(&j) = local.get(&(other.index() as u32)) else {
                continue;
            };
            if link(a as usize, other.index(), evidence.weight) {
                adjacency[i].push((j, f64::from(evidence.weight)));
            }
        }
    }
    adjacency
}

/// `members` grouped by `community`, groups under `min_members` dropped.
fn grouped(members: &[u32], community: &[u32], min_members: usize) -> Vec<Vec<u32>> {
    let count = community.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
    let mut groups: Vec<Vec<u32>> = vec![Vec::new(); count];
    for (i, &c) in community.iter().enumerate() {
        groups[c as usize].push(members[i]);
    }
    groups.retain(|g| g.len() >= min_members);
    groups
}

/// Louvain communities (at least `min_members` strong) of the component `members`, over its
/// `link`ed evidence edges weighted by strength.
fn split(
    projection: &Projection,
    members: &[u32],
    link: &dyn Fn(usize, usize, f32) -> bool,
    config: &CandidateConfig,
) -> Vec<Vec<u32>> {
    let community = louvain(&induced(projection, members, link), config.resolution);
    grouped(members, &community, config.min_members)
}

/// `members` as one group, or, when Louvain finds communities in it with modularity at least
/// `min_split_modularity`, each community refined in turn: rings that camouflage co-reviews of
/// the same popular products glue into one component are separate groups joined by weak
/// links, while one ring's members are tied to each other about evenly.
fn refine(
    projection: &Projection,
    members: Vec<u32>,
    link: &dyn Fn(usize, usize, f32) -> bool,
    config: &CandidateConfig,
) -> Vec<Vec<u32>> {
    if members.len() < 2 * config.min_members || config.min_split_modularity >= 1.0 {
        return vec![members];
    }
    let adjacency = induced(projection, &members, link);
    let community = louvain(&adjacency, 1.0);
    if modularity(&adjacency, &community, 1.0) < config.min_split_modularity {
        return vec![members];
    }
    let groups = grouped(&members, &community, config.min_members);
    if groups.len() < 2 {
        return vec![members];
    }
    groups
        .into_iter()
        .flat_map(|g| refine(projection, g, link, config))
        .collect()
}

/// Drops members of `members` whose linked evidence weight to the others is below `share` of
/// the median member's, and repeats on what is left until nothing drops: peeling a bystander
/// lowers the weight of whoever hung on through it. O(rounds × the members' degrees).
fn trim_weak_members(
    projection: &Projection,
    members: Vec<u32>,
    link: &dyn Fn(usize, usize, f32) -> bool,
    share: f64,
    min_weight: f32,
) -> Vec<u32> {
    if share <= 0.0 {
        return members;
    }
    let mut inside: std::collections::HashSet<u32> = members.iter().copied().collect();
    let mut kept = members;
    loop {
        let strength: Vec<f64> = kept
            .iter()
            .map(|&a| {
                projection
                    .graph
                    .edges(petgraph::graph::NodeIndex::new(a as usize))
                    .filter_map(|e| {
                        let other = if e.source().index() == a as usize {
                            e.target().index()
                        } else {
                            e.source().index()
                        };
                        let w = e.weight().weight;
                        (inside.contains(&(other as u32)) && link(a as usize, other, w))
                            .then_some(f64::from(w))
                    })
                    .sum()
            })
            .collect();
        let mut sorted = strength.clone();
        sorted.sort_by(f64::total_cmp);
        let cut = share * sorted.get(sorted.len() / 2).copied().unwrap_or(0.0);
        let before = kept.len();
        let mut i = 0;
        kept.retain(|a| {
            let keep = strength[i] >= cut;
            i += 1;
            if !keep {
                inside.remove(a);
            }
            keep
        });
        if kept.len() == before {
            return expand(projection, kept, cut, min_weight);
        }
    }
}

/// Adds to the trimmed `core` every account, whatever its GNN score, whose evidence weight to
/// the core reaches `cut`: a ring member the model scored low is still tied to the ring as
/// strongly as the ring's own members are.
fn expand(projection: &Projection, mut core: Vec<u32>, cut: f64, min_weight: f32) -> Vec<u32> {
    let inside: std::collections::HashSet<u32> = core.iter().copied().collect();
    let mut weight: std::collections::BTreeMap<u32, f64> = std::collections::BTreeMap::new();
    for &a in &core {
        for e in projection
            .graph
            .edges(petgraph::graph::NodeIndex::new(a as usize))
        {
            let other = if e.source().index() == a as usize {
                e.target().index()
            } else {
                e.source().index()
            } as u32;
            if !inside.contains(&other) && e.weight().weight >= min_weight {
                *weight.entry(other).or_default() += f64::from(e.weight().weight);
            }
        }
    }
    core.extend(
        weight
            .into_iter()
            .filter(|&(_, w)| w >= cut)
            .map(|(a, _)| a),
    );
    core.sort_unstable();
    core
}

/// Ring-level quality against planted ground truth, with the matching rule: a planted
/// ring is found when one reported ring covers at least 80% of its members and at least 80% of
/// that reported ring's members are planted fraud.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RingQuality {
    /// Planted rings found.
    pub found: usize,
    /// Planted rings.
    pub planted: usize,
    /// `found / planted`.
    pub ring_recall: f64,
    /// Share of reported rings whose members are at least 80% planted fraud.
    pub ring_precision: f64,
    /// Share of reported members (union) that are planted fraud.
    pub member_precision: f64,
    /// Share of planted members (union) that some reported ring holds.
    pub member_recall: f64,
}

/// Share of a ring's members a match needs on either side.
const MATCH_SHARE: f64 = 0.8;

/// Whether at least 80% of `ring`'s members are planted fraud (`fraud` marks them): what a
/// reported ring needs to count as found, or as precise.
pub fn is_pure(ring: &[u32], fraud: &[bool]) -> bool {
    !ring.is_empty()
        && ring.iter().filter(|&&a| fraud[a as usize]).count() as f64
            >= MATCH_SHARE * ring.len() as f64
}

/// Whether each planted ring is found by `reported` (see [`RingQuality`]); `fraud` marks every
/// planted account, of any ring.
pub fn found_rings(planted: &[Vec<u32>], reported: &[Vec<u32>], fraud: &[bool]) -> Vec<bool> {
    let pure_reports: Vec<&Vec<u32>> = reported.iter().filter(|r| is_pure(r, fraud)).collect();
    planted
        .iter()
        .map(|p| {
            let mine: std::collections::HashSet<u32> = p.iter().copied().collect();
            pure_reports.iter().any(|r| {
                r.iter().filter(|a| mine.contains(a)).count() as f64 >= MATCH_SHARE * p.len() as f64
            })
        })
        .collect()
}

/// Scores `reported` against `planted` (both lists of account-index member lists).
pub fn ring_quality(planted: &[Vec<u32>], reported: &[Vec<u32>], accounts: usize) -> RingQuality {
    let mut fraud = vec![false; accounts];
    planted
        .iter()
        .flatten()
        .for_each(|&a| fraud[a as usize] = true);
    let found = found_rings(planted, reported, &fraud)
        .into_iter()
        .filter(|&f| f)
        .count();
    let mut reported_member = vec![false; accounts];
    reported
        .iter()
        .flatten()
        .for_each(|&a| reported_member[a as usize] = true);
    let reported_total = reported_member.iter().filter(|&&r| r).count();
    let planted_total = fraud.iter().filter(|&&f| f).count();
    let both = (0..accounts)
        .filter(|&a| reported_member[a] && fraud[a])
        .count();
    let share = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    RingQuality {
        found,
        planted: planted.len(),
        ring_recall: share(found, planted.len()),
        ring_precision: share(
            reported.iter().filter(|r| is_pure(r, &fraud)).count(),
            reported.len(),
        ),
        member_precision: share(both, reported_total),
        member_recall: share(both, planted_total),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A projection of `accounts` accounts with the evidence links `(a, b, weight)`.
    fn projection(accounts: usize, links: &[(u32, u32, f32)]) -> Projection {
        let mut graph = petgraph::graph::UnGraph::<(), ringscope_graph::Evidence>::new_undirected();
        let nodes: Vec<_> = (0..accounts).map(|_| graph.add_node(())).collect();
        for &(a, b, weight) in links {
            let evidence = ringscope_graph::Evidence {
                weight,
                ..Default::default()
            };
            graph.add_edge(nodes[a as usize], nodes[b as usize], evidence);
        }
        Projection {
            graph,
            hubs: Vec::new(),
            bursts: Vec::new(),
            untimed_reviews: 0,
            near: Default::default(),
        }
    }

    /// Every pair of `from..to` linked at `weight`.
    fn clique(from: u32, to: u32, weight: f32) -> Vec<(u32, u32, f32)> {
        (from..to)
            .flat_map(|a| (a + 1..to).map(move |b| (a, b, weight)))
            .collect()
    }

    #[test]
    fn the_matching_rule_needs_coverage_and_purity() {
        let planted = vec![(0..10).collect::<Vec<u32>>(), (10..20).collect()];
        // Covers 8 of ring 0 with 2 honest extras (80% pure): found. Ring 1: only 7 covered.
        let reported = vec![
            (0..8).chain([30, 31]).collect::<Vec<u32>>(),
            (10..17).collect(),
            vec![40, 41, 42],
        ];
        let q = ring_quality(&planted, &reported, 50);
        assert_eq!((q.found, q.planted), (1, 2));
        assert_eq!(q.ring_recall, 0.5);
        assert!((q.ring_precision - 2.0 / 3.0).abs() < 1e-12);
        assert!((q.member_precision - 15.0 / 20.0).abs() < 1e-12);
        assert!((q.member_recall - 15.0 / 20.0).abs() < 1e-12);
        // 3 honest extras make the first report impure: nothing found.
        let impure = vec![(0..8).chain([30, 31, 32]).collect::<Vec<u32>>()];
        assert_eq!(ring_quality(&planted, &impure, 50).found, 0);
    }

    #[test]
    fn bystanders_are_trimmed_and_strongly_tied_low_scorers_join() {
        // Accounts 0..6 form a ring (every pair linked, weight 1). Account 6 hangs on by one weak
        // co-review to 0, and 7 by one to 6: a chain of bystanders. Account 8 scores low but is
        // tied to four members as strongly as they are to each other.
        let mut links = clique(0, 6, 1.0);
        links.extend([(0, 6, 0.4), (6, 7, 0.4)]);
        links.extend((0..4).map(|a| (a, 8, 1.0)));
        let projection = projection(9, &links);
        let scores = [0.9, 0.9, 0.9, 0.9, 0.9, 0.9, 0.8, 0.8, 0.1];
        let eligible = |a: usize| scores[a] >= 0.5;
        let link = |a: usize, b: usize, _: f32| eligible(a) && eligible(b);
        let ring = trim_weak_members(&projection, (0..8).collect(), &link, 0.3, 0.0);
        assert_eq!(ring, vec![0, 1, 2, 3, 4, 5, 8]);
        let untouched = trim_weak_members(&projection, (0..8).collect(), &link, 0.0, 0.0);
        assert_eq!(untouched, (0..8).collect::<Vec<u32>>());
    }

    #[test]
    fn joined_rings_are_refined_apart_and_one_ring_is_not() {
        // Three 6-cliques (weight 1), each tied to the next by two weak co-reviews (0.2), and a
        // 12-clique on its own: the first is three rings, the second one ring.
        let mut links: Vec<(u32, u32, f32)> =
            (0..3).flat_map(|k| clique(k * 6, k * 6 + 6, 1.0)).collect();
        links.extend([(0, 6, 0.2), (1, 7, 0.2), (6, 12, 0.2), (7, 13, 0.2)]);
        links.extend(clique(18, 30, 1.0));
        let projection = projection(30, &links);
        let link = |_: usize, _: usize, _: f32| true;
        let config = CandidateConfig::default();
        let joined = refine(&projection, (0..18).collect(), &link, &config);
        let expected: Vec<Vec<u32>> = (0..3).map(|k| (k * 6..k * 6 + 6).collect()).collect();
        assert_eq!(joined, expected);
        let one: Vec<u32> = (18..30).collect();
        assert_eq!(refine(&projection, one.clone(), &link, &config), vec![one]);
        let off = CandidateConfig {
            min_split_modularity: 1.0,
            ..config
        };
        assert_eq!(
            refine(&projection, (0..18).collect(), &link, &off),
            vec![(0..18).collect::<Vec<u32>>()]
        );
    }
}
