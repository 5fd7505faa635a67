//! A run split into shards (issue 24, docs/scale.md): [`plan`] assigns every account and
//! seller to a shard and writes, per shard, the rows of the input that touch a node within the
//! model's reach of the shard's own nodes, with what features read beyond a node's own edges
//! (weight ranges, REV2) taken from the whole input; [`run_shard`] scores one shard, its own
//! nodes exactly as one process scores them; [`Run::merge`](crate::Run::merge) checks that every
//! shard belongs to the plan and runs the rest of the job over the whole input with their
//! scores.
//!
//! Why a shard's scores equal one process's: the model's logits for a node read its in-edges'
//! sources for `hops` layers; each of those nodes' features reads its own edges, plus the weight
//! ranges and REV2 columns, which come from the plan. The plan keeps every row that names a
//! node within `hops` (one more with time-aware features, which read a target's other
//! ratings), so all those edges are in the shard's graph. Other nodes in the shard's graph have
//! wrong features, but nothing the shard keeps reads them.
//!
//! A layered plan instead gives every node a shard and each shard the rows naming its own
//! nodes only; [`run_shard`] then runs once per step (the input rows, then each layer), every
//! step reading every shard's previous rows, so no shard holds the rows behind its scores.

use crate::config::{Config, Fit, Scorer};
use crate::error::{Context as _, Error, Result};
use crate::stages::Stages;
use ringscope_export::{FileEntry, StagedOutput, digest_files, sha256_hex, write_file, write_json};
use ringscope_features::Fixed;
use ringscope_gnn::graph::GraphEdges;
use ringscope_graph::{HeteroGraph, NodeKind, project_accounts};
use ringscope_ingest::select::{Keys, select_rows};
use ringscope_score::reach::Neighbours;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The plan's file in the plan directory.
pub const PLAN_FILE: &str = "plan.json";
/// A shard's own accounts and sellers (`kind,id`), in its plan folder.
pub const OWNED_FILE: &str = "owned.csv";
/// The nodes whose rows a shard reads (`kind,id`), in its plan folder: what a Spark job joins
/// the events with.
pub const REACH_FILE: &str = "reach.csv";
/// The REV2 columns of a shard's reach (`column,kind,id,value`), in its plan folder.
pub const FIXED_FILE: &str = "fixed.csv";
/// A shard's events, in its plan folder.
pub const INPUT_DIR: &str = "input";
/// A shard's scores of its own nodes (`kind,id,score`), in its output.
pub const SCORES_FILE: &str = "scores.csv";
/// A shard's record of what it read, in its output.
pub const SHARD_FILE: &str = "shard.json";
/// A layered shard's rows of one layer for its own nodes (`kind,id,v0,…`), in its output.
pub const ROWS_FILE: &str = "rows.csv";

/// The folder of shard `i` under a plan or a directory of shard outputs.
pub fn shard_dir(root: &Path, i: usize) -> PathBuf {
    root.join(format!("shard={i}"))
}

/// `plan.json`: what the shards were cut from, and how.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardPlan {
    /// Format version.
    pub version: u32,
    /// Shards.
    pub shards: usize,
    /// Layers of in-edges the model reads.
    pub hops: usize,
    /// Hops within which a shard holds every edge of a node.
    pub complete_hops: usize,
    /// Whether shards exchange each layer's rows (`shard run --step`) instead of holding the
    /// rows behind their nodes' scores: every node then has a shard.
    #[serde(default)]
    pub layered: bool,
    /// The events directory planned.
    pub input: PathBuf,
    /// Its files, as the run manifest lists them.
    pub inputs: Vec<FileEntry>,
    /// The checkpoint directory.
    pub checkpoint: PathBuf,
    /// Its files.
    pub checkpoint_files: Vec<FileEntry>,
    /// SHA-256 of the config's TOML.
    pub config_sha256: String,
    /// Each weighted relation's weight range in the whole input.
    pub weight_ranges: BTreeMap<String, Option<(f32, f32)>>,
    /// Per shard: its own nodes, its reach, and the rows of each table it reads.
    pub sizes: Vec<ShardSize>,
}

/// One shard's size in a plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardSize {
    /// Nodes of its own: the accounts and sellers it scores (every kind in a layered plan).
    pub owned: usize,
    /// Nodes whose every row it reads.
    pub reach: usize,
    /// Rows per table of its input.
    pub rows: BTreeMap<String, usize>,
}

/// `shard.json`: what one shard read and wrote.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardRecord {
    /// Its number.
    pub shard: usize,
    /// SHA-256 of the `plan.json` it ran under.
    pub plan_sha256: String,
    /// Its events.
    pub inputs: Vec<FileEntry>,
    /// Nodes and edges of its graph.
    pub nodes: usize,
    /// Edges.
    pub edges: usize,
    /// Nodes it scored.
    pub scored: usize,
    /// Seconds per stage.
    pub timings: Vec<(String, f64)>,
}

/// SHA-256 of the config without `[run]` (where the input, output and device are, which differ
/// between the plan, its shards and the merge; the checkpoint's files are hashed on their own).
pub fn config_sha256(config: &Config) -> String {
    let mut c = config.clone();
    c.run = Default::default();
    sha256_hex(c.to_toml().as_bytes())
}

/// Refuses what a sharded run cannot give exactly: scores that rank within the whole input
/// (the label-free scorer) and a model fitted on the input's labels.
fn check_config(config: &Config) -> Result<()> {
    if config.model.scorer == Scorer::LabelFree {
        return Err(Error::Config(
            "a sharded run scores with a checkpoint: the label-free scorer ranks each account within the whole input ([model] scorer)".into(),
        ));
    }
    if config.model.fit != Fit::Never || config.model.feedback.is_some() {
        return Err(Error::Config(
            "a sharded run scores with a checkpoint: [model] fit must be \"never\", with no feedback".into(),
        ));
    }
    Ok(())
}

/// `ringscope shard plan`: cuts `config.run.input` into `shards` shards under `out` (replaced
/// atomically), keeping together the accounts of each component: those in `components`
/// (`account_id,component`) where given, else of the same-actor projection.
///
/// With `layered`, every node gets a shard and a shard holds only the rows naming its own
/// nodes: `run_shard` then runs once per layer, each step reading the previous step's rows of
/// every shard (docs/scale.md).
pub fn plan(
    config: &Config,
    shards: usize,
    components: Option<&Path>,
    layered: bool,
    out: &Path,
) -> Result<ShardPlan> {
    config.validate()?;
    check_config(config)?;
    if shards == 0 {
        return Err(Error::Config("shards must be at least 1".into()));
    }
    let input = crate::embedded::resolve(&config.run.input)?;
    let checkpoint_dir = crate::embedded::resolve(&config.run.checkpoint)?;
    let device = ringscope_gnn::device::open(config.run.device)?;
    let checkpoint = ringscope_score::checkpoint::load(&checkpoint_dir, &device)
        .context(|| format!("reading {}", checkpoint_dir.display()))?;
    let hops = checkpoint.model.hops().ok_or_else(|| {
        Error::Config(format!(
            "{} has a layer that reads beyond its nodes' own edges, so it cannot be sharded",
            checkpoint_dir.display()
        ))
    })?;
    // GCN divides by its neighbours' degrees too, which a layered shard does not hold.
    if layered && checkpoint.manifest.model.model == "gcn" {
        return Err(Error::Config(format!(
            "{}: a GCN reads its neighbours' degrees, so it cannot run layer by layer; plan without --layered",
            checkpoint_dir.display()
        )));
    }
    let temporal = usize::from(checkpoint.manifest.feature_options.temporal);
    let complete_hops = if layered { temporal } else { hops + temporal };
    let (_, graph) = crate::load::ingest_and_build(&input, &mut Stages::new())?;
    let neighbours = Neighbours::of(&GraphEdges::new(&graph, false));
    let mut owner = assign(
        &graph,
        &component_labels(&graph, config, components)?,
        shards,
    );
    if layered {
        assign_the_rest(&graph, &neighbours, &mut owner, shards);
    }
    let space = graph.index_space();
    let staged = StagedOutput::new(out)?;
    let fixed = Fixed::of(&graph);
    let node = |v: usize| {
        let n = space.node(v).expect("a node of the graph");
        let set = &graph.node_sets()[n.kind as usize];
        (set.kind.as_str(), set.ids.resolve(n.index))
    };
    let mut sizes = Vec::with_capacity(shards);
    for shard in 0..shards {
        let own: Vec<u32> = (0..owner.len() as u32)
            .filter(|&v| owner[v as usize] == Some(shard))
            .collect();
        let reach = with_partners(&graph, neighbours.within(&own, complete_hops));
        let dir = shard_dir(staged.path(), shard);
        std::fs::create_dir_all(&dir).map_err(|source| ringscope_export::ExportError::Io {
            path: dir.clone(),
            source,
        })?;
        write_file(&dir.join(OWNED_FILE), node_list(&own, node).as_bytes())?;
        let reached: Vec<u32> = (0..reach.len() as u32)
            .filter(|&v| reach[v as usize])
            .collect();
        write_file(&dir.join(REACH_FILE), node_list(&reached, node).as_bytes())?;
        let mut text = String::from("column,kind,id,value\n");
        for (column, rows) in &fixed.columns {
            for &(v, value) in rows.iter().filter(|(v, _)| reach[*v as usize]) {
                let (kind, id) = node(v as usize);
                let id = ringscope_ingest::csv_field(id);
                let _ = writeln!(text, "{column},{kind},{id},{value}");
            }
        }
        write_file(&dir.join(FIXED_FILE), text.as_bytes())?;
        let mut keys = Keys::new();
        for &v in &reached {
            let (kind, id) = node(v as usize);
            keys.entry(kind.to_string())
                .or_default()
                .insert(id.to_string());
        }
        let rows = select_rows(&input, &keys, &dir.join(INPUT_DIR))?;
        sizes.push(ShardSize {
            owned: own.len(),
            reach: reached.len(),
            rows: rows
                .into_iter()
                .map(|(t, n)| (t.name().to_string(), n))
                .collect(),
        });
    }
    let plan = ShardPlan {
        version: 1,
        shards,
        hops,
        complete_hops,
        layered,
        inputs: digest_files(&input, &[])?,
        input,
        checkpoint_files: digest_files(&checkpoint_dir, &[])?,
        checkpoint: checkpoint_dir,
        config_sha256: config_sha256(config),
        weight_ranges: fixed.weight_ranges,
        sizes,
    };
    write_json(&staged.path().join(PLAN_FILE), &plan)?;
    staged.commit()?.mark_success()?;
    Ok(plan)
}

/// `kind,id` lines.
fn node_list<'a>(nodes: &[u32], node: impl Fn(usize) -> (&'a str, &'a str)) -> String {
    let mut text = String::from("kind,id\n");
    for &v in nodes {
        let (kind, id) = node(v as usize);
        let _ = writeln!(text, "{kind},{}", ringscope_ingest::csv_field(id));
    }
    text
}

/// Each account's component label: from `given` (`account_id,component`, as the Spark job
/// computes them; an account it does not name is a component of its own), else the connected
/// components of the same-actor projection (hub caps as configured).
fn component_labels(
    graph: &HeteroGraph,
    config: &Config,
    given: Option<&Path>,
) -> Result<Vec<String>> {
    let Some((_, accounts)) = graph.node_set(NodeKind::Account.name()) else {
        return Ok(Vec::new());
    };
    if let Some(path) = given {
        let mut labels: Vec<String> = (0..accounts.len() as u32)
            .map(|a| format!("\u{0}{}", accounts.ids.resolve(a)))
            .collect();
        for row in read_rows(path, 2)? {
            if let Some(a) = accounts.ids.get(&row[0]) {
                labels[a as usize] = row[1].clone();
            }
        }
        return Ok(labels);
    }
    let projection = project_accounts(graph, &config.projection);
    let mut sets = petgraph::unionfind::UnionFind::<usize>::new(accounts.len());
    for e in projection.graph.edge_indices() {
        if let Some((a, b)) = projection.graph.edge_endpoints(e) {
            sets.union(a.index(), b.index());
        }
    }
    Ok((0..accounts.len())
        .map(|a| sets.find_mut(a).to_string())
        .collect())
}

/// The shard of each node (global index): accounts by component (`labels`), largest first
/// onto the emptiest shard, a component too big for one shard cut into pieces; sellers with
/// the account of their ID where there is one, else by position. Other kinds belong to no
/// shard: only accounts and sellers are scored outputs.
fn assign(graph: &HeteroGraph, labels: &[String], shards: usize) -> Vec<Option<usize>> {
    let space = graph.index_space();
    let mut owner = vec![None; space.len()];
    let Some((account_kind, accounts)) = graph.node_set(NodeKind::Account.name()) else {
        return owner;
    };
    let mut components: HashMap<&str, Vec<usize>> = HashMap::new();
    for (a, label) in labels.iter().enumerate() {
        components.entry(label).or_default().push(a);
    }
    let mut components: Vec<Vec<usize>> = components.into_values().collect();
    components.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a[0].cmp(&b[0])));
    let capacity = accounts.len().div_ceil(shards).max(1);
    let mut load = vec![0usize; shards];
    for component in &components {
        for piece in component.chunks(capacity) {
            let shard = (0..shards).min_by_key(|&s| (load[s], s)).unwrap_or(0);
            load[shard] += piece.len();
            for &a in piece {
                owner[space.global_of(account_kind, a as u32)] = Some(shard);
            }
        }
    }
    if let Some((seller_kind, sellers)) = graph.node_set(NodeKind::Seller.name()) {
        for s in 0..sellers.len() {
            let shard = accounts
                .ids
                .get(sellers.ids.resolve(s as u32))
                .and_then(|a| owner[space.global_of(account_kind, a)])
                .unwrap_or(s % shards);
            owner[space.global_of(seller_kind, s as u32)] = Some(shard);
        }
    }
    owner
}

/// Gives every node without a shard one: an identifier (device, IP, card, address) the shard of
/// its first account, so an account's rows and its identifiers' rows mostly fall in one shard;
/// anything else by position.
fn assign_the_rest(
    graph: &HeteroGraph,
    neighbours: &Neighbours,
    owner: &mut [Option<usize>],
    shards: usize,
) {
    let space = graph.index_space();
    let accounts = graph
        .node_set(NodeKind::Account.name())
        .map(|(k, _)| space.range(k));
    let identifiers = [
        NodeKind::Device,
        NodeKind::Ip,
        NodeKind::Payment,
        NodeKind::Address,
    ]
    .map(|k| graph.node_set(k.name()).map(|(k, _)| space.range(k)));
    for v in 0..owner.len() {
        if owner[v].is_some() {
            continue;
        }
        let is_identifier = identifiers.iter().flatten().any(|r| r.contains(&v));
        let first_account = neighbours
            .of_node(v as u32)
            .iter()
            .filter(|&&a| accounts.as_ref().is_some_and(|r| r.contains(&(a as usize))))
            .min();
        owner[v] = Some(match (is_identifier, first_account) {
            (true, Some(&a)) => owner[a as usize].unwrap_or(v % shards),
            _ => v % shards,
        });
    }
}

/// `reach` with the seller of each reached account's ID and the account of each reached
/// seller's: the `operates` edge between them exists only when rows name both.
fn with_partners(graph: &HeteroGraph, mut reach: Vec<bool>) -> Vec<bool> {
    let space = graph.index_space();
    let (Some((ak, accounts)), Some((sk, sellers))) = (
        graph.node_set(NodeKind::Account.name()),
        graph.node_set(NodeKind::Seller.name()),
    ) else {
        return reach;
    };
    for s in 0..sellers.len() as u32 {
        if let Some(a) = accounts.ids.get(sellers.ids.resolve(s)) {
            let (gs, ga) = (space.global_of(sk, s), space.global_of(ak, a));
            let either = reach[gs] || reach[ga];
            reach[gs] = either;
            reach[ga] = either;
        }
    }
    reach
}

/// Reads a plan and the SHA-256 of its file.
pub fn read_plan(dir: &Path) -> Result<(ShardPlan, String)> {
    let (plan, bytes) = read_json(&dir.join(PLAN_FILE))?;
    Ok((plan, sha256_hex(&bytes)))
}

/// A JSON file a plan or a shard wrote, and its bytes.
fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<(T, Vec<u8>)> {
    let bytes = std::fs::read(path).map_err(|source| Error::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let value = serde_json::from_slice(&bytes).map_err(|e| Error::BadFile {
        file: path.to_path_buf(),
        line: e.line(),
        message: e.to_string(),
    })?;
    Ok((value, bytes))
}

/// Calls `each` with every record of a CSV file a plan or a shard wrote (below its header)
/// and the error naming that record's line.
fn each_record(
    path: &Path,
    mut each: impl FnMut(&csv::StringRecord, &dyn Fn(String) -> Error) -> Result<()>,
) -> Result<()> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| Error::Read {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })?;
    for (i, record) in reader.records().enumerate() {
        let bad = |message: String| Error::BadFile {
            file: path.to_path_buf(),
            line: i + 2,
            message,
        };
        each(&record.map_err(|e| bad(e.to_string()))?, &bad)?;
    }
    Ok(())
}

/// The rows of a CSV file a plan or a shard wrote, below its header, each `columns` fields.
fn read_rows(path: &Path, columns: usize) -> Result<Vec<Vec<String>>> {
    let mut rows = Vec::new();
    each_record(path, |record, bad| {
        if record.len() != columns {
            return Err(bad(format!("{} fields, expected {columns}", record.len())));
        }
        rows.push(record.iter().map(str::to_string).collect());
        Ok(())
    })?;
    Ok(rows)
}

/// The global index of node (`kind`, `id`) in `graph`.
fn find(graph: &HeteroGraph, kind: &str, id: &str) -> Option<usize> {
    let (k, set) = graph.node_set(kind)?;
    set.ids
        .get(id)
        .map(|local| graph.index_space().global_of(k, local))
}

/// `ringscope shard run`: scores shard `shard` of the plan in `plan_dir` from `input` (its
/// events; the plan's copy when `None`) and writes its scores to `out` (replaced atomically,
/// then marked `_SUCCESS`).
pub fn run_shard(
    config: &Config,
    plan_dir: &Path,
    shard: usize,
    input: Option<&Path>,
    step: Option<usize>,
    rows: Option<&Path>,
    out: &Path,
) -> Result<ShardRecord> {
    config.validate()?;
    check_config(config)?;
    let (plan, plan_sha256) = read_plan(plan_dir)?;
    let Some(size) = plan.sizes.get(shard).filter(|_| shard < plan.shards) else {
        return Err(Error::Config(format!(
            "shard {shard} is not in the plan in {} ({} shards, numbered from 0)",
            plan_dir.display(),
            plan.shards
        )));
    };
    if config_sha256(config) != plan.config_sha256 {
        return Err(Error::Shard(format!(
            "shard {shard}: the config differs from the one {} was planned with",
            plan_dir.display()
        )));
    }
    let own_dir = shard_dir(plan_dir, shard);
    let input = input.map_or_else(|| own_dir.join(INPUT_DIR), Path::to_path_buf);
    let mut stages = Stages::new();
    let staged = StagedOutput::new(out)?;
    let (report, graph) = crate::load::ingest_and_build(&input, &mut stages)?;
    // Events other than the ones the plan cut would score silently wrong: their row counts
    // per table must be the plan's.
    // A table without rows may be an empty file or no file at all.
    let planned: BTreeMap<&str, usize> = size
        .rows
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(t, n)| (t.as_str(), *n))
        .collect();
    let read: BTreeMap<&str, usize> = report
        .tables
        .iter()
        .map(|(t, s)| (t.name(), s.rows_read as usize))
        .filter(|(_, n)| *n > 0)
        .collect();
    if read != planned {
        return Err(Error::Shard(format!(
            "shard {shard}: {} holds {read:?} rows per table, the plan cut {planned:?}: they are not this plan's events",
            input.display()
        )));
    }
    let missing = |what: &str, kind: &str, id: &str| {
        Error::Shard(format!(
            "shard {shard}: {kind} {id} of its {what} is not in its events ({}): they were not cut by this plan",
            input.display()
        ))
    };
    let mut owned = Vec::new();
    for row in read_rows(&own_dir.join(OWNED_FILE), 2)? {
        let v =
            find(&graph, &row[0], &row[1]).ok_or_else(|| missing("own nodes", &row[0], &row[1]))?;
        owned.push((row, v));
    }
    let mut columns: BTreeMap<String, Vec<(u32, f32)>> = BTreeMap::new();
    let fixed_path = own_dir.join(FIXED_FILE);
    for (i, row) in read_rows(&fixed_path, 4)?.into_iter().enumerate() {
        let v = find(&graph, &row[1], &row[2]).ok_or_else(|| missing("reach", &row[1], &row[2]))?;
        let value: f32 = row[3].parse().map_err(|_| Error::BadFile {
            file: fixed_path.clone(),
            line: i + 2,
            message: format!("value '{}' is not a number", row[3]),
        })?;
        columns
            .entry(row[0].clone())
            .or_default()
            .push((v as u32, value));
    }
    let fixed = Fixed {
        weight_ranges: plan.weight_ranges.clone(),
        columns: columns.into_iter().collect(),
    };
    let checkpoint_dir = crate::embedded::resolve(&config.run.checkpoint)?;
    if digest_files(&checkpoint_dir, &[])? != plan.checkpoint_files {
        return Err(Error::Shard(format!(
            "shard {shard}: checkpoint {} differs from the one {} was planned with",
            checkpoint_dir.display(),
            plan_dir.display()
        )));
    }
    let device = ringscope_gnn::device::open(config.run.device)?;
    let checkpoint = ringscope_score::checkpoint::load(&checkpoint_dir, &device)
        .context(|| format!("reading {}", checkpoint_dir.display()))?;
    let scoring = || format!("scoring shard {shard}");
    let (file, text, scored) = if plan.layered {
        let step = Step::of(&plan, plan_dir, checkpoint.model.layers(), step, rows)?;
        let own: Vec<u32> = owned.iter().map(|(_, v)| *v as u32).collect();
        // Only the first step reads features; the later ones read the edges and rows.
        let (h, width) = match step {
            Step::Input => {
                let features = checkpoint
                    .features_fixed(&graph, Some(&fixed))
                    .context(scoring)?;
                checkpoint.input_rows(&features, &own, &device)
            }
            Step::Layer { layer, rows, .. } => {
                let edges = checkpoint.edges(&graph).context(scoring)?;
                let (h, width) = previous_rows(rows, &plan, &plan_sha256, &graph)?;
                checkpoint.layer_rows(layer, h, width, &edges, &own, &device)
            }
        };
        if step.is_last() {
            scores_csv(&owned, &checkpoint.scores_of_rows(h, width, &device))
        } else {
            let mut text = String::from("kind,id");
            (0..width).for_each(|c| {
                let _ = write!(text, ",v{c}");
            });
            text.push('\n');
            for (i, (row, _)) in owned.iter().enumerate() {
                let _ = write!(text, "{},{}", row[0], ringscope_ingest::csv_field(&row[1]));
                for value in &h[i * width..(i + 1) * width] {
                    let _ = write!(text, ",{value}");
                }
                text.push('\n');
            }
            (ROWS_FILE, text, owned.len())
        }
    } else {
        if step.is_some() || rows.is_some() {
            return Err(Error::Config(format!(
                "--step and --rows are for a plan made with --layered, and {} was not",
                plan_dir.display()
            )));
        }
        let (_, all) = checkpoint
            .features_and_scores_fixed(&graph, &device, Some(&fixed))
            .context(scoring)?;
        let scores: Vec<f32> = owned.iter().map(|(_, v)| all[*v]).collect();
        scores_csv(&owned, &scores)
    };
    stages.done("score");
    write_file(&staged.path().join(file), text.as_bytes())?;
    let record = ShardRecord {
        shard,
        plan_sha256,
        inputs: digest_files(&input, &[])?,
        nodes: graph.num_nodes(),
        edges: graph.num_edges(),
        scored,
        timings: stages
            .timings()
            .iter()
            .map(|&(stage, secs)| (stage.to_string(), secs))
            .collect(),
    };
    write_json(&staged.path().join(SHARD_FILE), &record)?;
    staged.commit()?.mark_success()?;
    Ok(record)
}

/// `scores.csv` of the owned accounts and sellers among `owned` (other kinds are no output).
fn scores_csv(owned: &[(Vec<String>, usize)], scores: &[f32]) -> (&'static str, String, usize) {
    let mut text = String::from("kind,id,score\n");
    let mut n = 0;
    let scored = [NodeKind::Account.name(), NodeKind::Seller.name()];
    for ((row, _), score) in owned.iter().zip(scores) {
        if scored.contains(&row[0].as_str()) {
            let _ = writeln!(
                text,
                "{},{},{score}",
                row[0],
                ringscope_ingest::csv_field(&row[1])
            );
            n += 1;
        }
    }
    (SCORES_FILE, text, n)
}

/// One step of a layered shard.
enum Step<'a> {
    /// The input projection of the shard's own nodes.
    Input,
    /// Layer `layer` (from 0) of its own nodes from every shard's previous `rows`.
    Layer {
        layer: usize,
        rows: &'a Path,
        last: bool,
    },
}

impl<'a> Step<'a> {
    /// `--step` and `--rows` of a layered plan: step 0 is the input, step `i` layer `i - 1`.
    fn of(
        plan: &ShardPlan,
        plan_dir: &Path,
        layers: usize,
        step: Option<usize>,
        rows: Option<&'a Path>,
    ) -> Result<Step<'a>> {
        let usage = || {
            Error::Config(format!(
                "{} is a layered plan: run each shard with --step 0, then --step 1 to {layers} with --rows <the previous step's outputs>",
                plan_dir.display()
            ))
        };
        match (step.ok_or_else(usage)?, rows) {
            (0, _) if layers == 0 || plan.shards == 0 => Err(usage()),
            (0, None) => Ok(Step::Input),
            (i, Some(rows)) if (1..=layers).contains(&i) => Ok(Step::Layer {
                layer: i - 1,
                rows,
                last: i == layers,
            }),
            _ => Err(usage()),
        }
    }

    fn is_last(&self) -> bool {
        matches!(self, Step::Layer { last: true, .. })
    }
}

/// The rows every shard of the plan wrote in the previous step (`<rows>/shard=<i>/rows.csv`),
/// laid out over `graph`'s nodes (zero where no shard gave one: nothing reads them), and
/// their width.
fn previous_rows(
    rows: &Path,
    plan: &ShardPlan,
    plan_sha256: &str,
    graph: &HeteroGraph,
) -> Result<(Vec<f32>, usize)> {
    let mut width = None;
    let mut h = Vec::new();
    for shard in 0..plan.shards {
        let dir = shard_dir(rows, shard);
        read_record(&dir, shard, plan_sha256)?;
        each_record(&dir.join(ROWS_FILE), |record, bad| {
            let w = *width.get_or_insert(record.len().saturating_sub(2));
            if record.len() != w + 2 || w == 0 {
                return Err(bad(format!("{} fields, expected {}", record.len(), w + 2)));
            }
            if h.is_empty() {
                h = vec![0f32; graph.num_nodes() * w];
            }
            let Some(v) = find(graph, &record[0], &record[1]) else {
                return Ok(());
            };
            for (c, cell) in record.iter().skip(2).enumerate() {
                h[v * w + c] = cell
                    .parse()
                    .map_err(|_| bad(format!("'{cell}' is not a number")))?;
            }
            Ok(())
        })?;
    }
    match width {
        Some(w) => Ok((h, w)),
        None => Err(Error::Shard(format!(
            "{}: no shard wrote rows for the previous step",
            rows.display()
        ))),
    }
}

/// Shard `shard`'s `shard.json` in `dir`, refused unless it has `_SUCCESS` and ran under the
/// plan whose hash is `plan_sha256`.
fn read_record(dir: &Path, shard: usize, plan_sha256: &str) -> Result<ShardRecord> {
    if !dir.join(ringscope_export::SUCCESS).is_file() {
        return Err(Error::ShardMissing {
            shard,
            dir: dir.to_path_buf(),
        });
    }
    let (record, _): (ShardRecord, _) = read_json(&dir.join(SHARD_FILE))?;
    if record.shard != shard || record.plan_sha256 != plan_sha256 {
        return Err(Error::Shard(format!(
            "{} is shard {} of plan {}, not shard {shard} of plan {plan_sha256}",
            dir.display(),
            record.shard,
            record.plan_sha256,
        )));
    }
    Ok(record)
}

/// Every shard's scores, checked against the plan they were cut by.
pub struct ShardScores {
    /// The plan.
    pub plan: ShardPlan,
    /// Score per (kind, id).
    pub scores: HashMap<(String, String), f32>,
}

impl ShardScores {
    /// Reads the plan in `plan_dir` and the output of each of its shards under `parts`
    /// (`shard=<i>/`), refusing a shard that is missing, failed or ran under another plan.
    pub fn read(plan_dir: &Path, parts: &Path) -> Result<ShardScores> {
        let (plan, sha) = read_plan(plan_dir)?;
        let mut scores = HashMap::new();
        for shard in 0..plan.shards {
            let dir = shard_dir(parts, shard);
            read_record(&dir, shard, &sha)?;
            let path = dir.join(SCORES_FILE);
            for (i, row) in read_rows(&path, 3)?.into_iter().enumerate() {
                let score: f32 = row[2].parse().map_err(|_| Error::BadFile {
                    file: path.clone(),
                    line: i + 2,
                    message: format!("score '{}' is not a number", row[2]),
                })?;
                scores.insert((row[0].clone(), row[1].clone()), score);
            }
        }
        Ok(ShardScores { plan, scores })
    }

    /// Refuses an input, checkpoint or config other than the plan's; returns the input's and
    /// the checkpoint's files as the run manifest lists them, so they are hashed once.
    pub fn check(
        &self,
        input: &Path,
        checkpoint: &Path,
        config: &Config,
    ) -> Result<(Vec<FileEntry>, Vec<FileEntry>)> {
        let differs = |what: &str| {
            Err(Error::Shard(format!(
                "the {what} differs from the one the shards were planned with"
            )))
        };
        let inputs = digest_files(input, &[])?;
        if inputs != self.plan.inputs {
            return differs(&format!("input {}", input.display()));
        }
        let checkpoint_files = digest_files(checkpoint, &[])?;
        if checkpoint_files != self.plan.checkpoint_files {
            return differs(&format!("checkpoint {}", checkpoint.display()));
        }
        if config_sha256(config) != self.plan.config_sha256 {
            return differs("config");
        }
        Ok((inputs, checkpoint_files))
    }

    /// Every node's score in `graph`'s index space: accounts and sellers from the shards
    /// (each must have one), other kinds 0, as they are no output.
    pub fn all(&self, graph: &HeteroGraph) -> Result<Vec<f32>> {
        let mut all = vec![0f32; graph.num_nodes()];
        let space = graph.index_space();
        for kind in [NodeKind::Account, NodeKind::Seller] {
            let Some((k, set)) = graph.node_set(kind.name()) else {
                continue;
            };
            for i in 0..set.len() as u32 {
                let id = set.ids.resolve(i);
                let score = self
                    .scores
                    .get(&(kind.name().to_string(), id.to_string()))
                    .ok_or_else(|| Error::Shard(format!("no shard scored {} {id}", kind.name())))?;
                all[space.global_of(k, i)] = *score;
            }
        }
        Ok(all)
    }
}
