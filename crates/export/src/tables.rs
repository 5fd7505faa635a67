//! One row per ring (`rings.parquet`, `rings.csv`) and one row per member with its evidence
//! columns (`ring_members.parquet`).

use crate::ExportError;
use polars::prelude::*;
use ringscope_rings::RingRecord;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// How many shared identifiers, targets and reasons a ring row lists in its text columns.
const LISTED: usize = 5;

/// Unix seconds as a UTC datetime column (milliseconds, which every Parquet reader knows).
fn datetime(name: &str, secs: Vec<Option<i64>>) -> PolarsResult<Column> {
    Column::new(
        name.into(),
        secs.into_iter()
            .map(|s| s.map(|s| s * 1000))
            .collect::<Vec<_>>(),
    )
    .cast(&DataType::Datetime(TimeUnit::Milliseconds, None))
}

/// One row per ring, in `records` order (highest score first).
pub fn ring_table(records: &[RingRecord]) -> PolarsResult<DataFrame> {
    let text =
        |f: &dyn Fn(&RingRecord) -> String| -> Vec<String> { records.iter().map(f).collect() };
    let float = |f: &dyn Fn(&RingRecord) -> f64| -> Vec<f64> { records.iter().map(f).collect() };
    let count = |f: &dyn Fn(&RingRecord) -> usize| -> Vec<u32> {
        records.iter().map(|r| f(r) as u32).collect()
    };
    let columns =
        vec![
            Column::new("ring_id".into(), text(&|r| r.id.clone())),
            Column::new("score".into(), float(&|r| r.score)),
            Column::new("source".into(), text(&|r| serde_name(&r.source))),
            Column::new("members".into(), count(&|r| r.evidence.members.len())),
            Column::new("mean_member_score".into(), float(&|r| r.signals.gnn)),
            Column::new("evidence_density".into(), float(&|r| r.signals.density)),
            Column::new("synchrony".into(), float(&|r| r.signals.synchrony)),
            Column::new(
                "rating_deviation".into(),
                float(&|r| r.signals.rating_deviation),
            ),
            Column::new("fresh_share".into(), float(&|r| r.signals.fresh)),
            Column::new("significance".into(), float(&|r| r.significance)),
            Column::new(
                "significance_test".into(),
                text(&|r| r.significance_test.clone()),
            ),
            Column::new(
                "shared_identifiers".into(),
                count(&|r| r.evidence.shared.len()),
            ),
            Column::new(
                "top_shared".into(),
                text(&|r| {
                    join(r.evidence.shared.iter().map(|s| {
                        format!("{}:{} ({} in, {} out)", s.kind, s.id, s.in_ring, s.outside)
                    }))
                }),
            ),
            Column::new("targets".into(), count(&|r| r.evidence.targets.len())),
            Column::new(
                "top_targets".into(),
                text(&|r| {
                    join(r.evidence.targets.iter().map(|t| {
                        format!(
                            "{}:{} ({} members, {} actions)",
                            t.kind, t.id, t.members, t.actions
                        )
                    }))
                }),
            ),
            datetime(
                "first_activity",
                records.iter().map(|r| r.evidence.first_activity).collect(),
            )?,
            datetime(
                "last_activity",
                records.iter().map(|r| r.evidence.last_activity).collect(),
            )?,
            Column::new("actions".into(), count(&|r| r.evidence.timeline.len())),
            Column::new(
                "top_reasons".into(),
                text(&|r| {
                    r.reasons.as_ref().map_or_else(String::new, |e| {
                        join(e.features.iter().map(|(f, c)| format!("{f} ({c:+.3})")))
                    })
                }),
            ),
            Column::new(
                "score_without_reasons".into(),
                records
                    .iter()
                    .map(|r| r.reasons.as_ref().map(|e| e.score_without_features))
                    .collect::<Vec<_>>(),
            ),
        ];
    DataFrame::new_infer_height(columns)
}

fn join(items: impl Iterator<Item = String>) -> String {
    items.take(LISTED).collect::<Vec<_>>().join("; ")
}

/// One row per ring member, rings in `records` order and members highest score first, with
/// what ties the member to the ring: the shared identifiers it uses and the ring's targets it
/// acted on (from the ring's graph), and its active period.
pub fn member_table(records: &[RingRecord]) -> PolarsResult<DataFrame> {
    let mut ring_id = Vec::new();
    let mut ring_score = Vec::new();
    let mut account = Vec::new();
    let mut score = Vec::new();
    let mut role = Vec::new();
    let (mut reviews, mut orders) = (Vec::new(), Vec::new());
    let (mut shared, mut targets) = (Vec::new(), Vec::new());
    let (mut first, mut last) = (Vec::new(), Vec::new());
    for r in records {
        let g = &r.graph;
        // member ID → (shared identifiers, targets) it touches in the ring graph
        let mut ties: HashMap<&str, (BTreeSet<String>, BTreeSet<String>)> = HashMap::new();
        for e in &g.edges {
            let other = &g.nodes[e.target];
            let entry = ties.entry(g.nodes[e.source].id.as_str()).or_default();
            let label = format!("{}:{}", other.kind, other.id);
            if matches!(other.kind.as_str(), "product" | "seller") {
                entry.1.insert(label);
            } else {
                entry.0.insert(label);
            }
        }
        let mut active: HashMap<&str, (i64, i64)> = HashMap::new();
        for a in &r.evidence.timeline {
            let span = active.entry(a.account.as_str()).or_insert((a.time, a.time));
            span.0 = span.0.min(a.time);
            span.1 = span.1.max(a.time);
        }
        for m in &r.evidence.members {
            ring_id.push(r.id.clone());
            ring_score.push(r.score);
            account.push(m.account.clone());
            score.push(m.score);
            role.push(serde_name(&m.role));
            reviews.push(m.reviews);
            orders.push(m.orders);
            let (s, t) = ties.remove(m.account.as_str()).unwrap_or_default();
            shared.push(s.into_iter().collect::<Vec<_>>().join("; "));
            targets.push(t.into_iter().collect::<Vec<_>>().join("; "));
            let span = active.get(m.account.as_str());
            first.push(span.map(|s| s.0));
            last.push(span.map(|s| s.1));
        }
    }
    DataFrame::new_infer_height(vec![
        Column::new("ring_id".into(), ring_id),
        Column::new("ring_score".into(), ring_score),
        Column::new("account".into(), account),
        Column::new("score".into(), score),
        Column::new("role".into(), role),
        Column::new("reviews".into(), reviews),
        Column::new("orders".into(), orders),
        Column::new("shared_identifiers".into(), shared),
        Column::new("targets".into(), targets),
        datetime("first_activity", first)?,
        datetime("last_activity", last)?,
    ])
}

/// A unit enum's name as `rings.jsonl` spells it (`buyer_reviewer`, `dense_block`).
fn serde_name(value: &impl serde::Serialize) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Writes `rings.parquet`, `rings.csv` and `ring_members.parquet` into `dir`.
pub fn write_tables(dir: &Path, records: &[RingRecord]) -> Result<(), ExportError> {
    let table_err = |name: &str| {
        let path = dir.join(name);
        move |source| ExportError::Table { path, source }
    };
    let mut rings = ring_table(records).map_err(table_err("rings.parquet"))?;
    let mut members = member_table(records).map_err(table_err("ring_members.parquet"))?;
    for (name, df) in [
        ("rings.parquet", &mut rings),
        ("ring_members.parquet", &mut members),
    ] {
        let mut bytes = Vec::new();
        ParquetWriter::new(&mut bytes)
            .finish(df)
            .map_err(table_err(name))?;
        crate::write(dir.join(name), &bytes)?;
    }
    let mut csv = Vec::new();
    CsvWriter::new(&mut csv)
        .finish(&mut rings)
        .map_err(table_err("rings.csv"))?;
    crate::write(dir.join("rings.csv"), &csv)
}
