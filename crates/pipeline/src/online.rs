//! Online scoring: one account's capped k-hop neighbourhood from the loaded graph plus its new
//! events, as a subgraph the model scores (accounts never seen before included): the
//! checkpoint, or the label-free scorer fitted on the loaded graph.

use crate::config::ModelSection;
use crate::error::{Context as _, Error, Result};
use crate::score::{Model as ScoreModel, Scores};
use ringscope_features::FeatureMatrix;
use ringscope_gnn::DeviceChoice;
use ringscope_graph::{HeteroGraph, NO_TIME, NodeKind, Rel, SubgraphBuilder};
use std::path::Path;

/// One account to score, checked.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreAccount {
    /// The account's ID; a new one is scored on its new events alone.
    pub account_id: String,
    /// When it was created (unix seconds), if known.
    pub created_at: Option<i64>,
    /// New reviews.
    pub reviews: Vec<Review>,
    /// New orders.
    pub orders: Vec<Order>,
    /// New sessions.
    pub sessions: Vec<Session>,
}

/// A new review.
#[derive(Debug, Clone, PartialEq)]
pub struct Review {
    /// The product reviewed.
    pub product_id: String,
    /// 1 to 5.
    pub rating: Option<f32>,
    /// Unix seconds.
    pub time: Option<i64>,
    /// The product's seller.
    pub seller_id: Option<String>,
}

/// A new order.
#[derive(Debug, Clone, PartialEq)]
pub struct Order {
    /// The seller bought from.
    pub seller_id: String,
    /// The product bought.
    pub product_id: Option<String>,
    /// The amount paid.
    pub amount: Option<f32>,
    /// Unix seconds.
    pub time: Option<i64>,
    /// The device it was placed from.
    pub device_id: Option<String>,
    /// The IP address it was placed from.
    pub ip: Option<String>,
    /// The payment instrument.
    pub payment_id: Option<String>,
    /// The shipping address.
    pub address_id: Option<String>,
}

/// A new session.
#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    /// The device.
    pub device_id: Option<String>,
    /// The IP address.
    pub ip: Option<String>,
    /// Unix seconds.
    pub time: Option<i64>,
}

/// A loaded model and what it makes of the whole loaded graph: chosen as a run chooses
/// (`[model]`: the checkpoint, or the label-free scorer where the checkpoint does not fit).
pub struct Model {
    /// Every node's score on the loaded graph, the threshold, and the model behind them.
    pub scored: Scores,
    /// Normalised features of every node of the loaded graph, when a checkpoint scores.
    pub features: Option<FeatureMatrix>,
    /// SHA-256 of the weights, first 12 hex digits, or `label_free`.
    pub version: String,
}

impl Model {
    /// Scores the whole `graph` as `section` says, with the checkpoint in `dir`.
    pub fn load(
        graph: &HeteroGraph,
        dir: &Path,
        choice: DeviceChoice,
        section: &ModelSection,
    ) -> Result<Model> {
        let loading = || format!("loading checkpoint {}", dir.display());
        let (scored, features) =
            crate::score::score_with_features(graph, dir, choice, section).context(loading)?;
        let version = match &scored.model {
            ScoreModel::Checkpoint { checkpoint, .. } => checkpoint
                .manifest
                .weights_sha256
                .chars()
                .take(12)
                .collect(),
            ScoreModel::LabelFree { .. } => ringscope_labelfree::NAME.to_string(),
        };
        Ok(Model {
            scored,
            features,
            version,
        })
    }

    /// Every node's score on the loaded graph.
    pub fn scores(&self) -> &[f32] {
        &self.scored.all
    }
}

/// One scored account.
#[derive(Debug, serde::Serialize)]
pub struct Scored {
    /// The account's ID.
    pub account_id: String,
    /// The model's score.
    pub score: f32,
    /// Whether it reaches the threshold of the loaded graph's scores (the model's, capped by
    /// `[model] max_flag_rate`).
    pub flagged: bool,
    /// Whether the loaded graph has the account.
    pub known: bool,
    /// New events applied.
    pub new_events: usize,
    /// Nodes of the subgraph the score came from.
    pub subgraph_nodes: usize,
    /// Its edges.
    pub subgraph_edges: usize,
    /// The account's edges in the loaded graph that are in the subgraph: all of them unless
    /// `own_edges_in_graph` is larger (over `[serve] own_edges` per relation and direction).
    pub own_edges: usize,
    /// The account's edges in the loaded graph.
    pub own_edges_in_graph: usize,
    /// Features (or label-free signals) of the account that raised its score most:
    /// `(name, contribution)`.
    pub reasons: Vec<(String, f32)>,
}

fn kind_index(graph: &HeteroGraph, kind: NodeKind) -> Option<usize> {
    graph.node_set(kind.name()).map(|(k, _)| k)
}

fn rel_index(graph: &HeteroGraph, rel: Rel) -> Option<usize> {
    graph.relations().iter().position(|r| r.name == rel.name())
}

/// Adds an edge of `rel` from `src` to the node `dst_id` of `kind`, if the graph has both.
fn link(
    b: &mut SubgraphBuilder,
    graph: &HeteroGraph,
    (rel, kind): (Rel, NodeKind),
    src: u32,
    dst_id: &str,
    weight: f32,
    time: Option<i64>,
) {
    if let (Some(r), Some(k)) = (rel_index(graph, rel), kind_index(graph, kind)) {
        let dst = b.node(k, dst_id);
        b.add_edge(r, src, dst, weight, time.unwrap_or(NO_TIME));
    }
}

/// How much of the graph one scored account reads.
#[derive(Clone, Debug, PartialEq)]
pub struct Reach {
    /// The account's own edges taken, per relation and direction, the latest first: all of them
    /// up to this, whatever `max_nodes` says.
    pub own_edges: usize,
    /// Edges per node, relation and direction at each further hop, the latest first.
    pub fanout: Vec<usize>,
    /// Most nodes those further hops may bring.
    pub max_nodes: usize,
}

/// Scores `account` on its neighbourhood as `reach` bounds it.
pub fn score_account(
    graph: &HeteroGraph,
    model: &Model,
    account: &ScoreAccount,
    reach: &Reach,
    reasons: usize,
) -> Result<Scored> {
    let (fanout, max_nodes) = (&reach.fanout[..], reach.max_nodes);
    let accounts = kind_index(graph, NodeKind::Account)
        .ok_or_else(|| Error::Config("the loaded graph has no accounts".into()))?;
    let known_local = graph.node_sets()[accounts].ids.get(&account.account_id);
    let mut b = SubgraphBuilder::new(graph);
    let me = b.node(accounts, &account.account_id);
    let (mut own_edges, mut own_edges_in_graph) = (0, 0);
    if let Some(local) = known_local {
        let own = b.own_edges(accounts, local, reach.own_edges);
        (own_edges, own_edges_in_graph) = (own.kept, own.total);
        b.expand(&own.joined, fanout, max_nodes);
    }
    if let Some(t) = account.created_at {
        b.set_int_attr(accounts, me, "created_at", t);
    }
    // New nodes the events touch are expanded too, so a new account's products and devices
    // bring their neighbourhoods (one hop less than the account's own).
    let mut touched: Vec<(usize, String)> = Vec::new();
    let mut touch = |kind: NodeKind, id: &str| {
        if let Some(k) = kind_index(graph, kind) {
            touched.push((k, id.to_string()));
        }
    };
    for r in &account.reviews {
        let rating = r.rating.unwrap_or(f32::NAN);
        link(
            &mut b,
            graph,
            (Rel::Reviewed, NodeKind::Product),
            me,
            &r.product_id,
            rating,
            r.time,
        );
        touch(NodeKind::Product, &r.product_id);
    }
    for o in &account.orders {
        let amount = o.amount.unwrap_or(f32::NAN);
        link(
            &mut b,
            graph,
            (Rel::BoughtFrom, NodeKind::Seller),
            me,
            &o.seller_id,
            amount,
            o.time,
        );
        touch(NodeKind::Seller, &o.seller_id);
        if let Some(p) = &o.product_id {
            link(
                &mut b,
                graph,
                (Rel::Ordered, NodeKind::Product),
                me,
                p,
                amount,
                o.time,
            );
            touch(NodeKind::Product, p);
        }
        for (rel, kind, id) in [
            (Rel::UsedDevice, NodeKind::Device, &o.device_id),
            (Rel::UsedIp, NodeKind::Ip, &o.ip),
            (Rel::PaidWith, NodeKind::Payment, &o.payment_id),
            (Rel::ShipsTo, NodeKind::Address, &o.address_id),
        ] {
            if let Some(id) = id {
                link(&mut b, graph, (rel, kind), me, id, 1.0, o.time);
                touch(kind, id);
            }
        }
    }
    for s in &account.sessions {
        for (rel, kind, id) in [
            (Rel::UsedDevice, NodeKind::Device, &s.device_id),
            (Rel::UsedIp, NodeKind::Ip, &s.ip),
        ] {
            if let Some(id) = id {
                link(&mut b, graph, (rel, kind), me, id, 1.0, s.time);
                touch(kind, id);
            }
        }
    }
    let seeds: Vec<(usize, u32)> = touched
        .iter()
        .filter_map(|(k, id)| graph.node_sets()[*k].ids.get(id).map(|local| (*k, local)))
        .collect();
    if !seeds.is_empty() {
        b.expand(&seeds, fanout, max_nodes);
    }
    let sub = b.build()?;
    let new_events = account.reviews.len() + account.orders.len() + account.sessions.len();
    let (score, reasons) = match (&model.scored.model, &model.features) {
        (ScoreModel::Checkpoint { checkpoint, device }, Some(features)) => {
            let target = sub.graph.index_space().global_of(accounts, me) as u32;
            // Every node keeps its loaded-graph features, except the account itself when it is
            // new or has new events: its own edges are in the subgraph (all of them up to
            // `own_edges` per relation and direction, which the answer reports), so recomputing
            // them is exact.
            let cols = features.cols();
            let known: Vec<(usize, &[f32])> = sub
                .origin
                .iter()
                .enumerate()
                .filter(|&(node, _)| node != target as usize || new_events == 0)
                .filter_map(|(node, origin)| {
                    origin.map(|g| (node, &features.values[g as usize * cols..][..cols]))
                })
                .collect();
            let e = checkpoint.score_subgraph(&sub.graph, &known, target, reasons, device)?;
            let names = &checkpoint.manifest.features;
            let named = e.features.iter().map(|&(f, c)| (names[f].clone(), c));
            (e.score, named.collect())
        }
        (ScoreModel::LabelFree { model: lf, scored }, _) => match known_local {
            // A known account without new events scores as on the whole graph.
            Some(local) if new_events == 0 => {
                let e = lf.explain(scored, &[local], reasons);
                (e.score, e.signals)
            }
            // Otherwise on its neighbourhood, on the loaded graph's scale: the neighbourhood's
            // targets are capped, so their rates are estimates.
            _ => {
                let sub_scored = lf.score(&sub.graph);
                let e = lf.explain(&sub_scored, &[me], reasons);
                (e.score, e.signals)
            }
        },
        (ScoreModel::Checkpoint { .. }, None) => {
            unreachable!("a checkpoint model is loaded with its features")
        }
    };
    Ok(Scored {
        account_id: account.account_id.clone(),
        score,
        flagged: score >= model.scored.threshold,
        known: known_local.is_some(),
        new_events,
        subgraph_nodes: sub.graph.num_nodes(),
        subgraph_edges: sub.graph.num_edges(),
        own_edges,
        own_edges_in_graph,
        reasons,
    })
}
