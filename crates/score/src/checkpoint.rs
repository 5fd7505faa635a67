//! A checkpoint is a directory: `model.bpk` (the weights, burnpack format), `manifest.json`
//! (everything needed to apply them to a graph correctly, and to know where they came from) and
//! optionally `optimizer.bpk` (Adam's state, so training resumes exactly where it stopped).
//!
//! Loading checks the manifest's version, each file's size and SHA-256, and that every tensor
//! the model needs is present with the right shape, so a corrupt or truncated checkpoint is an
//! error, never a panic or a half-initialised model. [`Manifest::check_graph`] refuses a graph
//! whose schema version, relations or feature columns differ from those the model was trained on.

use burn::optim::OptimizerRecord;
use burn::prelude::*;
use burn::store::{BurnpackStore, ModuleSnapshot};
use ringscope_features::distribution::Profile;
use ringscope_features::{FeatureMatrix, FeatureOptions, Standardizer};
pub use ringscope_gnn::digest::sha256_hex;
use ringscope_gnn::error::{GnnError, Result};
use ringscope_gnn::graph::GraphEdges;
use ringscope_gnn::model::{Gnn, GnnConfig};
use ringscope_graph::{HeteroGraph, SCHEMA_VERSION};
use ringscope_train::fit::{Epoch, Metrics, Resume, TrainConfig, TrainData, Trained};
use ringscope_train::input::ModelInput;
use std::fs;
use std::path::{Path, PathBuf};

/// Version of the checkpoint layout; bumped when the manifest or weight naming changes.
pub const CHECKPOINT_VERSION: u32 = 1;
/// The burn release the weights were written with (the workspace pins it exactly).
pub const BURN_VERSION: &str = "0.22.1";
/// The weights file of a checkpoint directory.
pub const WEIGHTS: &str = "model.bpk";
/// The manifest file of a checkpoint directory.
pub const MANIFEST: &str = "manifest.json";
/// The optimiser-state file of a checkpoint directory, when it has one.
pub const OPTIMIZER: &str = "optimizer.bpk";

/// Everything a checkpoint records besides the weights.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Manifest {
    /// [`CHECKPOINT_VERSION`] of the writer.
    pub checkpoint_version: u32,
    /// The architecture.
    pub model: GnnConfig,
    /// How it was trained.
    pub train: TrainConfig,
    /// Input feature columns, in order.
    pub features: Vec<String>,
    /// The feature families those columns come from; manifests older than the field used
    /// [`FeatureOptions::legacy`].
    #[serde(default = "FeatureOptions::legacy")]
    pub feature_options: FeatureOptions,
    /// Normalisation fitted on the training graph, applied again at scoring time.
    pub normalisation: Standardizer,
    /// Graph schema version of the training graph.
    pub schema_version: u32,
    /// Relations the model reads, in layer order (reverses included).
    pub relations: Vec<String>,
    /// Whether reverse relations were added when laying out the graph.
    pub add_reverse: bool,
    /// SHA-256 of the training data (edges, features, labels and split).
    pub data_hash: String,
    /// Fraud-probability threshold chosen on validation.
    pub threshold: f32,
    /// Epoch whose weights these are.
    pub best_epoch: usize,
    /// Validation metrics at that epoch.
    pub val: Metrics,
    /// Test metrics of the same weights and threshold.
    pub test: Metrics,
    /// Training curve.
    pub history: Vec<Epoch>,
    /// ringscope version of the writer.
    pub ringscope_version: String,
    /// burn version of the writer.
    pub burn_version: String,
    /// Size in bytes of `model.bpk`.
    pub weights_bytes: u64,
    /// SHA-256 of `model.bpk`.
    pub weights_sha256: String,
    /// Size in bytes and SHA-256 of `optimizer.bpk`, when the checkpoint has one.
    #[serde(default)]
    pub optimizer: Option<FileDigest>,
    /// The training population's feature and score distributions, for the applicability check;
    /// absent in checkpoints written before it, and for graphs without labelled node kinds.
    #[serde(default)]
    pub profile: Option<Profile>,
}

/// The size and SHA-256 of a file a manifest vouches for.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FileDigest {
    /// Size in bytes.
    pub bytes: u64,
    /// Hex SHA-256.
    pub sha256: String,
}

/// What the graph contributes to a manifest besides its edges.
#[derive(Clone, Debug)]
pub struct FeatureDescription {
    /// Input feature columns, in order.
    pub features: Vec<String>,
    /// The families they were computed with.
    pub options: FeatureOptions,
    /// Normalisation fitted on the training graph.
    pub normalisation: Standardizer,
    /// Graph schema version of the training graph.
    pub schema_version: u32,
    /// Whether reverse relations were added when laying out the graph.
    pub add_reverse: bool,
}

impl Manifest {
    /// Size and SHA-256 of `model.bpk`.
    pub fn weights_digest(&self) -> FileDigest {
        FileDigest {
            bytes: self.weights_bytes,
            sha256: self.weights_sha256.clone(),
        }
    }

    /// What the manifest records for the checkpoint file `name`, if it vouches for one.
    pub fn file_digest(&self, name: &str) -> Option<FileDigest> {
        match name {
            WEIGHTS => Some(self.weights_digest()),
            OPTIMIZER => self.optimizer.clone(),
            _ => None,
        }
    }

    /// The manifest of `trained`, a model of `model` trained with `train` on `data`. The weights'
    /// size and hash are filled in by [`save`].
    pub fn new(
        model: GnnConfig,
        train: TrainConfig,
        trained: &Trained,
        data: TrainData<'_>,
        input: FeatureDescription,
    ) -> Self {
        Manifest {
            checkpoint_version: CHECKPOINT_VERSION,
            model,
            train,
            features: input.features,
            feature_options: input.options,
            normalisation: input.normalisation,
            schema_version: input.schema_version,
            relations: data.edges.relation_names(),
            add_reverse: input.add_reverse,
            data_hash: data.hash(),
            threshold: trained.threshold,
            best_epoch: trained.best_epoch,
            val: trained.val,
            test: trained.test,
            history: trained.history.clone(),
            ringscope_version: env!("CARGO_PKG_VERSION").into(),
            burn_version: BURN_VERSION.into(),
            weights_bytes: 0,
            weights_sha256: String::new(),
            optimizer: None,
            profile: None,
        }
    }

    /// Refuses a graph the model was not trained for: another schema version, other relations,
    /// or other feature columns (by name and order, which also fixes their count).
    pub fn check_graph(
        &self,
        path: &Path,
        schema_version: u32,
        relations: &[String],
        features: &[String],
    ) -> Result<()> {
        let mismatch = |message: String| {
            Err(GnnError::Mismatch {
                path: path.join(MANIFEST),
                message,
            })
        };
        if schema_version != self.schema_version {
            return mismatch(format!(
                "graph schema version {schema_version}, model trained on {}",
                self.schema_version
            ));
        }
        if relations != self.relations.as_slice() {
            return mismatch(format!(
                "graph relations [{}], model trained on [{}]",
                relations.join(", "),
                self.relations.join(", ")
            ));
        }
        if features != self.features.as_slice() {
            let first = features
                .iter()
                .zip(&self.features)
                .position(|(a, b)| a != b);
            let detail = match first {
                Some(i) => format!(
                    "column {i} is '{}' where the model expects '{}'",
                    features[i], self.features[i]
                ),
                None => "one list is a prefix of the other".into(),
            };
            return mismatch(format!(
                "{} feature columns, model trained on {}; {detail}",
                features.len(),
                self.features.len()
            ));
        }
        Ok(())
    }
}

/// A loaded checkpoint.
#[derive(Debug)]
pub struct Checkpoint {
    /// Its directory.
    pub dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// The model, on the device it was loaded to.
    pub model: Gnn,
    /// The optimiser state saved with it, if any.
    pub optimizer: Option<OptimizerRecord>,
}

impl Checkpoint {
    /// Fraud probability of every node of `graph` (global index space), on `device`: the
    /// graph is laid out and featurised as the manifest records, and refused unless it has the
    /// checkpoint's schema, relations and feature columns.
    pub fn score(&self, graph: &HeteroGraph, device: &Device) -> Result<Vec<f32>> {
        let (input, features) = self.features_of(graph, None)?;
        let (rows, cols) = (features.rows, features.cols());
        Ok(self.score_input(&input, features.values, [rows, cols], device))
    }

    /// [`Checkpoint::features`] and [`Checkpoint::score`] of `graph`, featurised once.
    pub fn features_and_scores(
        &self,
        graph: &HeteroGraph,
        device: &Device,
    ) -> Result<(FeatureMatrix, Vec<f32>)> {
        self.features_and_scores_fixed(graph, device, None)
    }

    /// [`Checkpoint::features_and_scores`] of a shard of a bigger graph, with what features
    /// read beyond a node's own edges taken from `fixed` (docs/scale.md).
    pub fn features_and_scores_fixed(
        &self,
        graph: &HeteroGraph,
        device: &Device,
        fixed: Option<&ringscope_features::Fixed>,
    ) -> Result<(FeatureMatrix, Vec<f32>)> {
        let (input, features) = self.features_of(graph, fixed)?;
        let shape = [features.rows, features.cols()];
        let scores = self.score_input(&input, features.values.clone(), shape, device);
        Ok((features, scores))
    }

    /// Scores every node of `input` from its feature values, `[rows, cols]` row-major.
    fn score_input(
        &self,
        input: &ModelInput,
        values: Vec<f32>,
        [rows, cols]: [usize; 2],
        device: &Device,
    ) -> Vec<f32> {
        let x = ringscope_gnn::graph::matrix(values, rows, cols, device);
        let graph = input.edges.to_device_for(self.model.views(), device);
        ringscope_train::predict(&self.model, x, &graph)
    }

    /// `graph`'s edges as the model reads them, without its features: what a layer-by-layer
    /// shard's later steps need (docs/scale.md). The schema and relations are checked; the
    /// feature columns were checked at the shard's first step, on the same rows.
    pub fn edges(&self, graph: &HeteroGraph) -> Result<GraphEdges> {
        let m = &self.manifest;
        let edges = GraphEdges::new(graph, m.add_reverse);
        m.check_graph(
            &self.dir,
            SCHEMA_VERSION,
            &edges.relation_names(),
            &m.features,
        )?;
        Ok(edges)
    }

    /// A layer-by-layer shard's first step (docs/scale.md): the input rows of `rows` (global
    /// indices of `features`), row-major, and their width.
    pub fn input_rows(
        &self,
        features: &FeatureMatrix,
        rows: &[u32],
        device: &Device,
    ) -> (Vec<f32>, usize) {
        let cols = features.cols();
        let mut x = Vec::with_capacity(rows.len() * cols);
        for &v in rows {
            let v = v as usize;
            x.extend_from_slice(&features.values[v * cols..(v + 1) * cols]);
        }
        let x = ringscope_gnn::graph::matrix(x, rows.len(), cols, device);
        host(self.model.input_rows(x))
    }

    /// A layer-by-layer shard's step for layer `layer`: the rows of `rows` from the previous
    /// layer's rows `h` (one per node of `edges`, `width` wide), row-major, and their width.
    pub fn layer_rows(
        &self,
        layer: usize,
        h: Vec<f32>,
        width: usize,
        edges: &GraphEdges,
        rows: &[u32],
        device: &Device,
    ) -> (Vec<f32>, usize) {
        let h = ringscope_gnn::graph::matrix(h, edges.num_nodes, width, device);
        host(self.model.layer_rows(layer, h, edges, rows))
    }

    /// Fraud probabilities from the last layer's rows `h` (`width` wide).
    pub fn scores_of_rows(&self, h: Vec<f32>, width: usize, device: &Device) -> Vec<f32> {
        let n = h.len() / width.max(1);
        let h = ringscope_gnn::graph::matrix(h, n, width, device);
        let probs = burn::tensor::activation::softmax(self.model.output_rows(h), 1);
        host(probs.slice([0..n, 1..2])).0
    }

    /// The normalised feature matrix the model reads for `graph`.
    pub fn features(&self, graph: &HeteroGraph) -> Result<FeatureMatrix> {
        self.features_fixed(graph, None)
    }

    /// [`Checkpoint::features`] of a shard of a bigger graph, with what features read beyond a
    /// node's own edges taken from `fixed` (docs/scale.md).
    pub fn features_fixed(
        &self,
        graph: &HeteroGraph,
        fixed: Option<&ringscope_features::Fixed>,
    ) -> Result<FeatureMatrix> {
        Ok(self.features_of(graph, fixed)?.1)
    }

    /// Scores node `target` of `graph`, a subgraph cut out of a bigger graph, and explains the
    /// score with its `top_k` features and outside nodes. The rows of `known`
    /// (`(node, features)`) come from the bigger graph's [`Checkpoint::features`] instead of
    /// being recomputed: a node at the subgraph's edge has lost most of its edges there.
    pub fn score_subgraph(
        &self,
        graph: &HeteroGraph,
        known: &[(usize, &[f32])],
        target: u32,
        top_k: usize,
        device: &Device,
    ) -> Result<crate::explain::Explanation> {
        let (input, mut features) = self.features_of(graph, None)?;
        let cols = features.cols();
        for &(node, row) in known {
            features.values[node * cols..(node + 1) * cols].copy_from_slice(row);
        }
        Ok(crate::explain::attribute(
            &self.model,
            &features.values,
            cols,
            &input.edges,
            &[target],
            top_k,
            device,
        ))
    }

    /// Explains the scores of each group of nodes of `graph` (global indices) with its `top_k`
    /// features and outside nodes; see [`crate::explain`]. Each group is explained on the part
    /// of the graph its scores read (every edge of every node within the model's hops), which
    /// gives the whole graph's scores and gradients at a fraction of the cost; a model whose
    /// layers read further runs on the whole graph.
    pub fn explain(
        &self,
        graph: &HeteroGraph,
        groups: &[Vec<u32>],
        top_k: usize,
        device: &Device,
    ) -> Result<Vec<crate::explain::Explanation>> {
        let (input, features) = self.features_of(graph, None)?;
        let cols = features.cols();
        let explain = |x: &[f32], edges: &GraphEdges, group: &[u32]| {
            crate::explain::explain(&self.model, x, cols, edges, group, top_k, device)
        };
        let Some(hops) = self.model.hops() else {
            return Ok(groups
                .iter()
                .map(|g| explain(&features.values, &input.edges, g))
                .collect());
        };
        let neighbours = crate::reach::Neighbours::of(&input.edges);
        Ok(groups
            .iter()
            .map(|g| {
                let cut = crate::reach::Cut::around(&input.edges, &neighbours, g, hops);
                let mut e = explain(&cut.rows(&features.values, cols), &cut.edges, &cut.local(g));
                for (node, _) in &mut e.nodes {
                    *node = cut.nodes[*node as usize];
                }
                e
            })
            .collect())
    }

    /// `graph` laid out and featurised as the manifest records, features normalised; refused
    /// unless it has the checkpoint's schema, relations and feature columns.
    fn features_of(
        &self,
        graph: &HeteroGraph,
        fixed: Option<&ringscope_features::Fixed>,
    ) -> Result<(ModelInput, FeatureMatrix)> {
        let m = &self.manifest;
        let mut input = ModelInput::with_fixed(graph, m.feature_options, m.add_reverse, fixed);
        m.check_graph(
            &self.dir,
            SCHEMA_VERSION,
            &input.edges.relation_names(),
            &input.features.names,
        )?;
        let mut features = std::mem::take(&mut input.features);
        m.normalisation.apply(&mut features);
        Ok((input, features))
    }

    /// The starting point for training on from this checkpoint.
    pub fn into_resume(self) -> Resume {
        Resume {
            model: self.model,
            optimizer: self.optimizer,
        }
    }
}

/// Writes `model`, the `optimizer` state when given, and `manifest` to `dir`, replacing any
/// checkpoint there atomically. The manifest's sizes and hashes are filled in here.
pub fn save(
    dir: &Path,
    model: &Gnn,
    optimizer: Option<OptimizerRecord>,
    mut manifest: Manifest,
) -> Result<()> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GnnError::Io { path, source }
    };
    let staged = ringscope_ingest::atomic::staging_dir(dir).map_err(io(dir))?;
    let weights_path = staged.path().join(WEIGHTS);
    let mut store = BurnpackStore::from_file(&weights_path)
        .overwrite(true)
        .auto_extension(false);
    model
        .save_into(&mut store)
        .map_err(|e| GnnError::Checkpoint {
            path: weights_path.clone(),
            message: format!("cannot write weights: {e}"),
        })?;
    let weights = fs::read(&weights_path).map_err(io(&weights_path))?;
    manifest.weights_bytes = weights.len() as u64;
    manifest.weights_sha256 = sha256_hex(&weights);
    manifest.optimizer = match optimizer {
        Some(record) => {
            let path = staged.path().join(OPTIMIZER);
            let bytes = record.into_bytes().map_err(|e| GnnError::Checkpoint {
                path: path.clone(),
                message: format!("cannot encode the optimizer state: {e}"),
            })?;
            fs::write(&path, &bytes[..]).map_err(io(&path))?;
            Some(FileDigest {
                bytes: bytes.len() as u64,
                sha256: sha256_hex(&bytes),
            })
        }
        None => None,
    };
    manifest.checkpoint_version = CHECKPOINT_VERSION;
    let json = serde_json::to_string_pretty(&manifest).expect("manifest serialises");
    let manifest_path = staged.path().join(MANIFEST);
    fs::write(&manifest_path, json + "\n").map_err(io(&manifest_path))?;
    ringscope_ingest::atomic::replace_dir(staged, dir).map_err(io(dir))
}

/// Reads and checks `dir/manifest.json`, without loading weights.
pub fn read_manifest(dir: &Path) -> Result<Manifest> {
    let path = dir.join(MANIFEST);
    let text = fs::read_to_string(&path).map_err(|e| GnnError::Checkpoint {
        path: path.clone(),
        message: format!("cannot read: {e}"),
    })?;
    parse_manifest(&path, &text)
}

/// Checks a manifest's text (`path` names it in errors): its version, fields and model config.
pub fn parse_manifest(path: &Path, text: &str) -> Result<Manifest> {
    let bad = |message: String| GnnError::Checkpoint {
        path: path.to_path_buf(),
        message,
    };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let version = value.get("checkpoint_version").and_then(|v| v.as_u64());
    if version != Some(u64::from(CHECKPOINT_VERSION)) {
        let found = version.map_or("none".to_string(), |v| v.to_string());
        return Err(bad(format!(
            "checkpoint version {found}, this build reads version {CHECKPOINT_VERSION}"
        )));
    }
    let manifest: Manifest =
        serde_json::from_value(value).map_err(|e| bad(format!("malformed manifest: {e}")))?;
    manifest
        .model
        .validate()
        .map_err(|e| bad(format!("model config: {e}")))?;
    Ok(manifest)
}

/// Loads the checkpoint in `dir` onto `device` (either backend; add `.autodiff()` to resume
/// training).
pub fn load(dir: &Path, device: &Device) -> Result<Checkpoint> {
    let manifest = read_manifest(dir)?;
    let path = dir.join(WEIGHTS);
    let bad = |message: String| GnnError::Checkpoint {
        path: path.clone(),
        message,
    };
    let bytes = read_vouched(&path, &manifest.weights_digest())?;
    let mut model = manifest.model.init(device);
    let mut store =
        BurnpackStore::from_bytes(Some(burn::tensor::Bytes::from_bytes_vec(bytes))).validate(true);
    let applied = model
        .load_from(&mut store)
        .map_err(|e| bad(format!("unreadable weights: {e}")))?;
    if !applied.errors.is_empty() || !applied.missing.is_empty() || !applied.unused.is_empty() {
        return Err(bad(format!(
            "weights do not fit the model config: {} missing, {} unused, errors: {:?}",
            applied.missing.len(),
            applied.unused.len(),
            applied.errors
        )));
    }
    let optimizer = match &manifest.optimizer {
        Some(digest) => {
            let path = dir.join(OPTIMIZER);
            let bytes = read_vouched(&path, digest)?;
            let record = OptimizerRecord::from_bytes(burn::tensor::Bytes::from_bytes_vec(bytes))
                .map_err(|e| GnnError::Checkpoint {
                    path,
                    message: format!("unreadable optimizer state: {e}"),
                })?;
            Some(record)
        }
        None => None,
    };
    Ok(Checkpoint {
        dir: dir.to_path_buf(),
        manifest,
        model,
        optimizer,
    })
}

/// The contents of `path`, refused unless they have the size and SHA-256 of `digest`.
fn read_vouched(path: &Path, digest: &FileDigest) -> Result<Vec<u8>> {
    let bytes = fs::read(path).map_err(|e| GnnError::Checkpoint {
        path: path.to_path_buf(),
        message: format!("cannot read: {e}"),
    })?;
    vouch(path, &bytes, digest)?;
    Ok(bytes)
}

/// Refuses `bytes` (the contents of `path`) unless they have the size and SHA-256 of `digest`.
pub fn vouch(path: &Path, bytes: &[u8], digest: &FileDigest) -> Result<()> {
    let bad = |message: String| GnnError::Checkpoint {
        path: path.to_path_buf(),
        message,
    };
    if bytes.len() as u64 != digest.bytes {
        return Err(bad(format!(
            "{} bytes, the manifest says {} (truncated or replaced)",
            bytes.len(),
            digest.bytes
        )));
    }
    if sha256_hex(bytes) != digest.sha256 {
        return Err(bad(
            "contents do not match the manifest's SHA-256 (corrupt)".into(),
        ));
    }
    Ok(())
}

/// A matrix's values, row-major, and its width.
fn host(t: Tensor<2>) -> (Vec<f32>, usize) {
    let [_, width] = t.dims();
    let values = t
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 values");
    (values, width)
}
