//! Building the marketplace [`HeteroGraph`] from a validated [`EventBatch`].

use crate::error::Result;
use crate::hetero::{AttrValues, HeteroGraph, NO_TIME, NodeSet, Relation, TextValues};
use crate::schema::{NodeKind, Rel};
use rayon::prelude::*;
use ringscope_ingest::{EventBatch, NO_ID};

/// Builds the marketplace graph. Node sets follow [`NodeKind::ALL`], relations [`Rel::ALL`].
///
/// Review and order edges are kept one per event (their times matter); identifier edges
/// (`used_device`, `used_ip`, `paid_with`, `ships_to`) are collapsed to one edge per distinct
/// account–identifier pair with the use count as weight and the first use as time.
pub fn build_marketplace(name: &str, batch: EventBatch) -> Result<HeteroGraph> {
    let EventBatch {
        ids,
        accounts,
        products,
        reviews,
        orders,
        sessions,
        labels,
    } = batch;
    let n_accounts = ids.accounts.len();

    let mut account_set = NodeSet::new(NodeKind::Account.name(), ids.accounts);
    // Text attributes reuse ingest's interners as their dictionaries.
    let by_node = |rows: &[u32], codes: &[u32], n: usize| {
        let mut per_node = vec![NO_ID; n];
        for (&node, &code) in rows.iter().zip(codes) {
            per_node[node as usize] = code;
        }
        per_node
    };
    // Attributes exist even when their table is empty, so every marketplace graph has the same
    // columns (a model's feature list depends on them).
    {
        let mut created = vec![None; n_accounts];
        let mut kind = vec![None; n_accounts];
        for (i, &a) in accounts.account.iter().enumerate() {
            let a = a as usize;
            created[a] = (accounts.created_at[i] != NO_TIME).then_some(accounts.created_at[i]);
            kind[a] = Some(accounts.kind[i].as_str()).filter(|s| !s.is_empty());
        }
        let country = by_node(&accounts.account, &accounts.country, n_accounts);
        account_set.attrs.extend([
            ("created_at".into(), AttrValues::Int(created)),
            ("kind".into(), AttrValues::Text(TextValues::encode(kind))),
            (
                "country".into(),
                AttrValues::Text(TextValues {
                    dict: ids.countries,
                    codes: country,
                }),
            ),
        ]);
    }
    if !labels.account.is_empty() {
        let mut y = vec![-1i8; n_accounts];
        for (&a, &label) in labels.account.iter().zip(&labels.label) {
            y[a as usize] = label as i8;
        }
        account_set.labels = Some(y);
        let ring = by_node(&labels.account, &labels.ring, n_accounts);
        let source = by_node(&labels.account, &labels.source, n_accounts);
        account_set.attrs.extend([
            (
                "ring_id".into(),
                AttrValues::Text(TextValues {
                    dict: ids.rings,
                    codes: ring,
                }),
            ),
            (
                "label_source".into(),
                AttrValues::Text(TextValues {
                    dict: ids.label_sources,
                    codes: source,
                }),
            ),
        ]);
    }

    let mut product_set = NodeSet::new(NodeKind::Product.name(), ids.products);
    {
        let n = product_set.len();
        let mut price = vec![None; n];
        for (&p, &v) in products.product.iter().zip(&products.price) {
            price[p as usize] = Some(v).filter(|v| !v.is_nan());
        }
        let category = by_node(&products.product, &products.category, n);
        product_set.attrs.extend([
            (
                "category".into(),
                AttrValues::Text(TextValues {
                    dict: ids.categories,
                    codes: category,
                }),
            ),
            ("price".into(), AttrValues::Float(price)),
        ]);
    }

    // A device's model and user agent: the first session row (in input order) naming each.
    let mut device_set = NodeSet::new(NodeKind::Device.name(), ids.devices);
    {
        let n = device_set.len();
        let (mut model, mut agent) = (vec![NO_ID; n], vec![NO_ID; n]);
        let rows = sessions
            .device
            .iter()
            .zip(&sessions.device_model)
            .zip(&sessions.user_agent);
        for ((&device, &m), &a) in rows {
            if device == NO_ID {
                continue;
            }
            let d = device as usize;
            if model[d] == NO_ID {
                model[d] = m;
            }
            if agent[d] == NO_ID {
                agent[d] = a;
            }
        }
        device_set.attrs.extend([
            (
                "device_model".into(),
                AttrValues::Text(TextValues {
                    dict: ids.device_models,
                    codes: model,
                }),
            ),
            (
                "user_agent".into(),
                AttrValues::Text(TextValues {
                    dict: ids.user_agents,
                    codes: agent,
                }),
            ),
        ]);
    }

    let seller_accounts: Vec<(u32, u32)> = ids
        .sellers
        .iter()
        .enumerate()
        .filter_map(|(s, sid)| account_set.ids.get(sid).map(|a| (a, s as u32)))
        .collect();
    let sets = vec![
        account_set,
        product_set,
        NodeSet::new(NodeKind::Seller.name(), ids.sellers),
        device_set,
        NodeSet::new(NodeKind::Ip.name(), ids.ips),
        NodeSet::new(NodeKind::Payment.name(), ids.payments),
        NodeSet::new(NodeKind::Address.name(), ids.addresses),
    ];
    let size = |k: NodeKind| (k as usize, sets[k as usize].len());

    let mut relations = Vec::with_capacity(Rel::ALL.len());
    for rel in Rel::ALL {
        let (s, d) = rel.endpoints();
        let (src, dst, weight, time) = match rel {
            Rel::Reviewed => (
                reviews.account.clone(),
                reviews.product.clone(),
                Some(
                    reviews
                        .rating
                        .iter()
                        .map(|&r| if r == 0 { f32::NAN } else { f32::from(r) })
                        .collect(),
                ),
                Some(reviews.created_at.clone()),
            ),
            Rel::Ordered => {
                let keep: Vec<usize> = (0..orders.product.len())
                    .filter(|&i| orders.product[i] != NO_ID)
                    .collect();
                (
                    keep.iter().map(|&i| orders.buyer[i]).collect(),
                    keep.iter().map(|&i| orders.product[i]).collect(),
                    Some(keep.iter().map(|&i| orders.amount[i]).collect()),
                    Some(keep.iter().map(|&i| orders.created_at[i]).collect()),
                )
            }
            Rel::BoughtFrom => (
                orders.buyer.clone(),
                orders.seller.clone(),
                Some(orders.amount.clone()),
                Some(orders.created_at.clone()),
            ),
            Rel::Sells => {
                let mut pairs: Vec<u64> = products
                    .product
                    .iter()
                    .zip(&products.seller)
                    .chain(reviews.product.iter().zip(&reviews.seller))
                    .chain(orders.product.iter().zip(&orders.seller))
                    .filter(|(p, s)| **p != NO_ID && **s != NO_ID)
                    .map(|(&p, &s)| pack(p, s))
                    .collect();
                pairs.par_sort_unstable();
                pairs.dedup();
                (
                    pairs.iter().map(|&k| (k >> 32) as u32).collect(),
                    pairs.iter().map(|&k| k as u32).collect(),
                    None,
                    None,
                )
            }
            Rel::UsedDevice => collapse(
                orders
                    .buyer
                    .iter()
                    .zip(&orders.device)
                    .zip(&orders.created_at)
                    .chain(
                        sessions
                            .account
                            .iter()
                            .zip(&sessions.device)
                            .zip(&sessions.created_at),
                    ),
            ),
            Rel::UsedIp => collapse(
                orders
                    .buyer
                    .iter()
                    .zip(&orders.ip)
                    .zip(&orders.created_at)
                    .chain(
                        sessions
                            .account
                            .iter()
                            .zip(&sessions.ip)
                            .zip(&sessions.created_at),
                    ),
            ),
            Rel::PaidWith => collapse(
                orders
                    .buyer
                    .iter()
                    .zip(&orders.payment)
                    .zip(&orders.created_at),
            ),
            Rel::ShipsTo => collapse(
                orders
                    .buyer
                    .iter()
                    .zip(&orders.address)
                    .zip(&orders.created_at),
            ),
            Rel::Operates => (
                seller_accounts.iter().map(|p| p.0).collect(),
                seller_accounts.iter().map(|p| p.1).collect(),
                None,
                None,
            ),
        };
        relations.push(Relation::new(
            rel.name(),
            size(s),
            size(d),
            src,
            dst,
            weight,
            time,
        )?);
    }
    HeteroGraph::new(name, sets, relations)
}

type Columns = (Vec<u32>, Vec<u32>, Option<Vec<f32>>, Option<Vec<i64>>);

fn pack(a: u32, b: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

/// One edge per distinct (account, identifier) pair, sorted by pair; weight = uses,
/// time = earliest known use ([`NO_TIME`] if no use had a time).
fn collapse<'a>(uses: impl Iterator<Item = ((&'a u32, &'a u32), &'a i64)>) -> Columns {
    let mut keyed: Vec<(u64, i64)> = uses
        .filter(|((_, id), _)| **id != NO_ID)
        // NO_TIME is i64::MIN; map it above every real time so "earliest" ignores it.
        .map(|((&a, &id), &t)| (pack(a, id), if t == NO_TIME { i64::MAX } else { t }))
        .collect();
    keyed.par_sort_unstable();
    let (mut src, mut dst, mut weight, mut time) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for run in keyed.chunk_by(|a, b| a.0 == b.0) {
        let (key, first) = run[0];
        src.push((key >> 32) as u32);
        dst.push(key as u32);
        weight.push(run.len() as f32);
        time.push(if first == i64::MAX { NO_TIME } else { first });
    }
    (src, dst, Some(weight), Some(time))
}
