//! Saving and loading graphs: the ringscope Parquet store, and the labelled benchmark layout
//! of `shared/datasets/` (`nodes.csv`, `edges_<relation>.csv`, `meta.json`).
//!
//! Store layout under `graphs/<name>/`:
//! - `meta.json`: `format = "ringscope-graph"`, `schema_version`, node kinds with counts,
//!   feature and attribute names, relations with endpoint kinds and counts.
//! - `nodes_<kind>.parquet`: `id` (text), `label` (int32, if labelled), attributes, features.
//! - `edges_<relation>.parquet`: `src`, `dst` (uint32 node indices), `weight` (float32),
//!   `time` (int64 unix seconds, null when unknown).

use crate::error::{GraphError, Result};
use crate::hetero::{AttrValues, Features, HeteroGraph, NO_TIME, NodeSet, Relation, TextValues};
use crate::schema::SCHEMA_VERSION;
use polars::prelude::*;
use ringscope_ingest::{Interner, atomic};
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

const FORMAT: &str = "ringscope-graph";

/// Benchmark datasets ship a precomputed homogeneous view as `edges_homo.csv`, loaded as the
/// relation of this name. It repeats the other relations' edges, so consumers that read every
/// relation skip it.
pub const HOMOGENEOUS_RELATION: &str = "homo";

#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct Meta {
    format: String,
    schema_version: u32,
    name: String,
    created_by: String,
    node_kinds: Vec<KindMeta>,
    relations: Vec<RelationMeta>,
}

#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct KindMeta {
    name: String,
    count: usize,
    labelled: bool,
    features: Vec<String>,
    attrs: Vec<(String, AttrType)>,
}

#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(rename_all = "snake_case")]
enum AttrType {
    Int,
    Float,
    Text,
}

#[derive(Serialize, Deserialize, Debug)]
#[serde(deny_unknown_fields)]
struct RelationMeta {
    name: String,
    src: String,
    dst: String,
    edges: usize,
    weight: bool,
    time: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> GraphError + '_ {
    move |source| GraphError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn read(path: &Path) -> impl FnOnce(std::io::Error) -> GraphError + '_ {
    move |source| GraphError::Read {
        path: path.to_path_buf(),
        source,
    }
}

fn bad(file: &Path, message: impl Into<String>) -> GraphError {
    GraphError::BadFile {
        file: file.to_path_buf(),
        message: message.into(),
    }
}

/// Saves `graph` under `dir`, replacing what is there atomically (see
/// [`ringscope_ingest::atomic::replace_dir`]): a crash never leaves a half-written graph.
pub fn save(graph: &HeteroGraph, dir: &Path) -> Result<()> {
    let tmp = atomic::staging_dir(dir).map_err(io(dir))?;
    let mut meta = Meta {
        format: FORMAT.into(),
        schema_version: SCHEMA_VERSION,
        name: graph.name.clone(),
        created_by: concat!("ringscope ", env!("CARGO_PKG_VERSION")).into(),
        node_kinds: Vec::new(),
        relations: Vec::new(),
    };
    for set in graph.node_sets() {
        let mut cols = vec![Column::new(
            "id".into(),
            set.ids.iter().collect::<Vec<&str>>(),
        )];
        if let Some(y) = &set.labels {
            cols.push(Column::new(
                "label".into(),
                y.iter().map(|&v| i32::from(v)).collect::<Vec<i32>>(),
            ));
        }
        let mut attrs = Vec::new();
        for (name, values) in &set.attrs {
            let (col, t) = match values {
                AttrValues::Int(v) => (Column::new(name.into(), v), AttrType::Int),
                AttrValues::Float(v) => (Column::new(name.into(), v), AttrType::Float),
                AttrValues::Text(v) => (
                    Column::new(name.into(), v.iter().collect::<Vec<Option<&str>>>()),
                    AttrType::Text,
                ),
            };
            cols.push(col);
            attrs.push((name.clone(), t));
        }
        let mut features = Vec::new();
        if let Some(f) = &set.features {
            let d = f.names.len();
            for (j, name) in f.names.iter().enumerate() {
                let values: Vec<f32> = f.values.iter().skip(j).step_by(d).copied().collect();
                cols.push(Column::new(name.into(), values));
            }
            features = f.names.clone();
        }
        let path = tmp.path().join(format!("nodes_{}.parquet", set.kind));
        write_parquet(&path, cols)?;
        meta.node_kinds.push(KindMeta {
            name: set.kind.clone(),
            count: set.len(),
            labelled: set.labels.is_some(),
            features,
            attrs,
        });
    }
    for r in graph.relations() {
        let mut cols = vec![
            Column::new("src".into(), &r.src),
            Column::new("dst".into(), &r.dst),
        ];
        if let Some(w) = &r.weight {
            cols.push(Column::new("weight".into(), w));
        }
        if let Some(t) = &r.time {
            let t: Vec<Option<i64>> = t.iter().map(|&v| (v != NO_TIME).then_some(v)).collect();
            cols.push(Column::new("time".into(), t));
        }
        write_parquet(&tmp.path().join(format!("edges_{}.parquet", r.name)), cols)?;
        meta.relations.push(RelationMeta {
            name: r.name.clone(),
            src: graph.node_sets()[r.src_kind].kind.clone(),
            dst: graph.node_sets()[r.dst_kind].kind.clone(),
            edges: r.len(),
            weight: r.weight.is_some(),
            time: r.time.is_some(),
        });
    }
    let meta_path = tmp.path().join("meta.json");
    let json = serde_json::to_string_pretty(&meta).expect("meta serialises");
    fs::write(&meta_path, json + "\n").map_err(io(&meta_path))?;

    atomic::replace_dir(tmp, dir).map_err(io(dir))
}

fn write_parquet(path: &Path, cols: Vec<Column>) -> Result<()> {
    let mut df = DataFrame::new_infer_height(cols).map_err(|e| bad(path, e.to_string()))?;
    let file = fs::File::create(path).map_err(io(path))?;
    ParquetWriter::new(file)
        .finish(&mut df)
        .map_err(|e| bad(path, e.to_string()))?;
    Ok(())
}

/// Loads a graph from a ringscope store directory or a labelled benchmark directory
/// (detected by `meta.json`'s `format`, else by the presence of `nodes.csv`).
pub fn load(dir: &Path) -> Result<HeteroGraph> {
    if !dir.is_dir() {
        let source = std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory");
        return Err(GraphError::Read {
            path: dir.to_path_buf(),
            source,
        });
    }
    let meta_path = dir.join("meta.json");
    if !meta_path.is_file() {
        return Err(bad(
            &meta_path,
            "missing: not a ringscope graph store or a labelled dataset directory",
        ));
    }
    let text = fs::read_to_string(&meta_path).map_err(read(&meta_path))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).map_err(|e| bad(&meta_path, format!("not JSON: {e}")))?;
    if value.get("format").and_then(|f| f.as_str()) == Some(FORMAT) {
        load_store(dir, &meta_path, value)
    } else if dir.join("nodes.csv").is_file() {
        load_dataset(dir, &meta_path, &value)
    } else {
        Err(bad(
            &meta_path,
            format!(
                "neither a ringscope graph (format = \"{FORMAT}\") nor a dataset with nodes.csv"
            ),
        ))
    }
}

fn read_parquet(path: &Path) -> Result<DataFrame> {
    if !path.is_file() {
        return Err(bad(path, "missing"));
    }
    // Opened first, so an unreadable file is a read error and not a bad one.
    let mut file = fs::File::open(path).map_err(read(path))?;
    // polars panics on some corrupt Parquet, and reads out of bounds or aborts on worse (see
    // ingest's `parquet_check`); that is this file's error.
    ringscope_ingest::guard::catch_panic(|| {
        ringscope_ingest::parquet_check::check(&mut file)?;
        LazyFrame::scan_parquet(
            PlRefPath::new(path.to_string_lossy().as_ref()),
            ScanArgsParquet::default(),
        )
        .and_then(|lf| lf.collect())
        .map_err(|e| e.to_string())
    })
    .unwrap_or_else(|why| Err(format!("the reader failed ({why})")))
    .map_err(|e| bad(path, format!("unreadable Parquet: {e}")))
}

fn typed<'a>(df: &'a DataFrame, path: &Path, name: &str, dtype: &DataType) -> Result<&'a Column> {
    let col = df
        .column(name)
        .map_err(|_| bad(path, format!("no column '{name}'")))?;
    if col.dtype() != dtype {
        return Err(bad(
            path,
            format!("column '{name}' has type {}, expected {dtype}", col.dtype()),
        ));
    }
    Ok(col)
}

fn load_store(dir: &Path, meta_path: &Path, value: serde_json::Value) -> Result<HeteroGraph> {
    let version = value
        .get("schema_version")
        .and_then(|v| v.as_u64())
        .unwrap_or(0) as u32;
    if version != SCHEMA_VERSION {
        return Err(GraphError::SchemaVersion {
            file: meta_path.to_path_buf(),
            found: version,
            expected: SCHEMA_VERSION,
        });
    }
    let meta: Meta = serde_json::from_value(value).map_err(|e| bad(meta_path, e.to_string()))?;
    let mut sets = Vec::new();
    for k in &meta.node_kinds {
        let path = dir.join(format!("nodes_{}.parquet", k.name));
        let df = read_parquet(&path)?;
        if df.height() != k.count {
            return Err(bad(
                &path,
                format!("{} rows, meta.json says {}", df.height(), k.count),
            ));
        }
        let pe = |e: PolarsError| bad(&path, e.to_string());
        let ids_col = typed(&df, &path, "id", &DataType::String)?
            .str()
            .map_err(pe)?;
        let mut ids = Interner::new();
        for (row, id) in ids_col.iter().enumerate() {
            let id = id.ok_or_else(|| bad(&path, format!("column 'id' row {}: null", row + 1)))?;
            if ids.intern(id) != Some(row as u32) {
                return Err(bad(
                    &path,
                    format!("column 'id' row {}: duplicate id '{id}'", row + 1),
                ));
            }
        }
        let mut set = NodeSet::new(k.name.clone(), ids);
        if k.labelled {
            let y = typed(&df, &path, "label", &DataType::Int32)?
                .i32()
                .map_err(pe)?;
            let labels = y.iter().enumerate().map(|(row, v)| match v {
                None => Ok(-1),
                Some(v @ -1..=1) => Ok(v as i8),
                Some(v) => Err(bad(
                    &path,
                    format!("column 'label' row {}: {v} is not -1, 0 or 1", row + 1),
                )),
            });
            set.labels = Some(labels.collect::<Result<_>>()?);
        }
        for (name, t) in &k.attrs {
            let values = match t {
                AttrType::Int => AttrValues::Int(
                    typed(&df, &path, name, &DataType::Int64)?
                        .i64()
                        .map_err(pe)?
                        .iter()
                        .collect(),
                ),
                AttrType::Float => AttrValues::Float(
                    typed(&df, &path, name, &DataType::Float32)?
                        .f32()
                        .map_err(pe)?
                        .iter()
                        .collect(),
                ),
                AttrType::Text => AttrValues::Text(TextValues::encode(
                    typed(&df, &path, name, &DataType::String)?
                        .str()
                        .map_err(pe)?
                        .iter(),
                )),
            };
            set.attrs.push((name.clone(), values));
        }
        if !k.features.is_empty() {
            let d = k.features.len();
            let mut values = vec![0f32; k.count * d];
            for (j, name) in k.features.iter().enumerate() {
                let col = typed(&df, &path, name, &DataType::Float32)?
                    .f32()
                    .map_err(pe)?;
                for (i, v) in col.iter().enumerate() {
                    values[i * d + j] = v.ok_or_else(|| {
                        bad(&path, format!("column '{name}' row {}: null", i + 1))
                    })?;
                }
            }
            set.features = Some(Features {
                names: k.features.clone(),
                values,
            });
        }
        sets.push(set);
    }
    let kind_index = |name: &str| {
        sets.iter().position(|s| s.kind == name).ok_or_else(|| {
            bad(
                meta_path,
                format!("relation endpoint kind '{name}' is not a node kind"),
            )
        })
    };
    let mut relations = Vec::new();
    for r in &meta.relations {
        let path = dir.join(format!("edges_{}.parquet", r.name));
        let df = read_parquet(&path)?;
        if df.height() != r.edges {
            return Err(bad(
                &path,
                format!("{} rows, meta.json says {}", df.height(), r.edges),
            ));
        }
        let pe = |e: PolarsError| bad(&path, e.to_string());
        let u32s = |name: &str| -> Result<Vec<u32>> {
            let col = typed(&df, &path, name, &DataType::UInt32)?
                .u32()
                .map_err(pe)?;
            col.iter()
                .enumerate()
                .map(|(row, v)| {
                    v.ok_or_else(|| bad(&path, format!("column '{name}' row {}: null", row + 1)))
                })
                .collect()
        };
        let (src, dst) = (u32s("src")?, u32s("dst")?);
        let weight = match r.weight {
            true => Some(
                typed(&df, &path, "weight", &DataType::Float32)?
                    .f32()
                    .map_err(pe)?
                    .iter()
                    .map(|v| v.unwrap_or(f32::NAN))
                    .collect(),
            ),
            false => None,
        };
        let time = match r.time {
            true => Some(
                typed(&df, &path, "time", &DataType::Int64)?
                    .i64()
                    .map_err(pe)?
                    .iter()
                    .map(|v| v.unwrap_or(NO_TIME))
                    .collect(),
            ),
            false => None,
        };
        let (s, d) = (kind_index(&r.src)?, kind_index(&r.dst)?);
        let rel = Relation::new(
            r.name.clone(),
            (s, sets[s].len()),
            (d, sets[d].len()),
            src,
            dst,
            weight,
            time,
        )
        .map_err(|e| bad(&path, e.to_string()))?;
        relations.push(rel);
    }
    HeteroGraph::new(meta.name, sets, relations)
}

/// Whether a dataset's `meta.json` says each undirected edge is stored once.
fn stored_once(meta: &serde_json::Value) -> bool {
    let note = meta
        .pointer("/notes/edge_storage")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    note.contains("undirected") && note.contains("once")
}

fn read_csv(path: &Path) -> Result<DataFrame> {
    fs::File::open(path).map_err(read(path))?;
    LazyCsvReader::new(PlRefPath::new(path.to_string_lossy().as_ref()))
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .finish()
        .and_then(|lf| lf.collect())
        .map_err(|e| bad(path, format!("unreadable CSV: {e}")))
}

fn parse_cells<T>(
    df: &DataFrame,
    path: &Path,
    name: &str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Vec<T>> {
    let col = typed(df, path, name, &DataType::String)?
        .str()
        .map_err(|e| bad(path, e.to_string()))?;
    col.iter()
        .enumerate()
        .map(|(row, v)| {
            v.and_then(&parse).ok_or_else(|| {
                bad(
                    path,
                    format!(
                        "column '{name}' row {}: cannot read '{}'",
                        row + 1,
                        v.unwrap_or("")
                    ),
                )
            })
        })
        .collect()
}

fn load_dataset(dir: &Path, meta_path: &Path, meta: &serde_json::Value) -> Result<HeteroGraph> {
    let name = meta
        .get("name")
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| {
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
    let nodes_path = dir.join("nodes.csv");
    let nodes = read_csv(&nodes_path)?;
    let ids: Vec<String> = parse_cells(&nodes, &nodes_path, "id", |s| Some(s.to_string()))?;
    let mut interner = Interner::new();
    for (row, id) in ids.iter().enumerate() {
        if interner.intern(id) != Some(row as u32) {
            return Err(bad(
                &nodes_path,
                format!("column 'id' row {}: duplicate id '{id}'", row + 1),
            ));
        }
    }
    let labels: Vec<i8> = parse_cells(&nodes, &nodes_path, "label", |s| match s.trim() {
        "-1" => Some(-1),
        "0" => Some(0),
        "1" => Some(1),
        _ => None,
    })?;
    let feature_names: Vec<String> = nodes
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .filter(|c| c != "id" && c != "label")
        .collect();
    let n = ids.len();
    let d = feature_names.len();
    let mut values = vec![0f32; n * d];
    for (j, fname) in feature_names.iter().enumerate() {
        let col = parse_cells(&nodes, &nodes_path, fname, |s| {
            s.trim().parse::<f32>().ok().filter(|v| v.is_finite())
        })?;
        for (i, v) in col.into_iter().enumerate() {
            values[i * d + j] = v;
        }
    }
    let mut set = NodeSet::new("node", interner);
    set.labels = Some(labels);
    if d > 0 {
        set.features = Some(Features {
            names: feature_names,
            values,
        });
    }

    let mut edge_files: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(read(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let f = p.file_name().and_then(|f| f.to_str()).unwrap_or("");
            f.starts_with("edges_") && f.ends_with(".csv")
        })
        .collect();
    edge_files.sort();
    if edge_files.is_empty() {
        return Err(bad(meta_path, "dataset has no edges_<relation>.csv file"));
    }
    let symmetrise = stored_once(meta);
    let mut relations = Vec::new();
    for path in edge_files {
        let rel_name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .trim_start_matches("edges_")
            .to_string();
        let df = read_csv(&path)?;
        let node = |s: &str| set.ids.get(s.trim());
        let mut src = parse_cells(&df, &path, "src", node)?;
        let mut dst = parse_cells(&df, &path, "dst", node)?;
        let has = |c: &str| df.get_column_names().iter().any(|n| n.as_str() == c);
        let mut weight = match has("weight") {
            true => Some(parse_cells(&df, &path, "weight", |s| {
                s.trim().parse::<f32>().ok()
            })?),
            false => None,
        };
        let mut time = match has("timestamp") {
            true => Some(parse_cells(&df, &path, "timestamp", |s| {
                s.trim().parse::<f64>().ok().map(|t| t.floor() as i64)
            })?),
            false => None,
        };
        if symmetrise {
            let loops: Vec<bool> = src.iter().zip(&dst).map(|(a, b)| a == b).collect();
            let rev = |col: &[u32], other: &[u32]| -> Vec<u32> {
                other
                    .iter()
                    .zip(col)
                    .zip(&loops)
                    .filter(|(_, l)| !**l)
                    .map(|((o, _), _)| *o)
                    .collect()
            };
            let (rs, rd) = (rev(&src, &dst), rev(&dst, &src));
            if let Some(w) = weight.as_mut() {
                let extra: Vec<f32> = w
                    .iter()
                    .zip(&loops)
                    .filter(|(_, l)| !**l)
                    .map(|(v, _)| *v)
                    .collect();
                w.extend(extra);
            }
            if let Some(t) = time.as_mut() {
                let extra: Vec<i64> = t
                    .iter()
                    .zip(&loops)
                    .filter(|(_, l)| !**l)
                    .map(|(v, _)| *v)
                    .collect();
                t.extend(extra);
            }
            src.extend(rs);
            dst.extend(rd);
        }
        relations.push(Relation::new(
            rel_name,
            (0, n),
            (0, n),
            src,
            dst,
            weight,
            time,
        )?);
    }
    HeteroGraph::new(name, vec![set], relations)
}
