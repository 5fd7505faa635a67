//! The TOML model file: `model = "sage"` and the architecture at the top level, optimisation
//! under `[train]`, and optionally the feature families under `[features]`
//! ([`feature_options`]). Every key is optional except `model`; defaults are those of [`GnnConfig`]
//! and [`TrainConfig`], and an unknown key is an error rather than silently ignored.
//!
//! ```toml
//! model = "rgcn"
//! hidden = 64
//! skip = true
//! layer_norm = true
//!
//! [train]
//! epochs = 200
//! loss = { kind = "focal", gamma = 2.0 }
//! batch_size = 1024
//! fanouts = [15, 10]
//! balanced = true
//! ```

use crate::fit::TrainConfig;
use ringscope_features::{AggregateOptions, FeatureOptions};
use ringscope_gnn::error::{GnnError, Result};
use ringscope_gnn::model::GnnConfig;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// A model to evaluate: a model file's text (`model = "sage"` and `[train]`), under a label.
#[derive(Clone, Debug)]
pub struct ModelSpec {
    /// Row label in the tables (the preset name or the file stem).
    pub label: String,
    /// The TOML text.
    pub toml: String,
    /// Where it was read from, for error messages.
    pub file: Option<PathBuf>,
}

/// The model files shipped for evaluation, by name (`ringscope eval --model sage`).
pub const PRESETS: &[(&str, &str)] = &[
    ("sage", include_str!("../presets/sage.toml")),
    ("gcn", include_str!("../presets/gcn.toml")),
    ("gat", include_str!("../presets/gat.toml")),
    ("bwgnn", include_str!("../presets/bwgnn.toml")),
    ("rgcn", include_str!("../presets/rgcn.toml")),
    ("mlp", include_str!("../presets/mlp.toml")),
    ("gbdt", include_str!("../presets/gbdt.toml")),
    ("stack", include_str!("../presets/stack.toml")),
];

impl ModelSpec {
    /// A shipped preset by name, or a model file by path.
    pub fn resolve(name_or_path: &str) -> Result<Self> {
        if let Some((label, toml)) = PRESETS.iter().find(|(n, _)| *n == name_or_path) {
            return Ok(ModelSpec {
                label: (*label).into(),
                toml: (*toml).into(),
                file: None,
            });
        }
        let path = Path::new(name_or_path);
        let toml =
            std::fs::read_to_string(path).map_err(|source| ringscope_gnn::GnnError::Read {
                path: path.into(),
                source,
            })?;
        Ok(ModelSpec {
            label: path
                .file_stem()
                .map_or(name_or_path.into(), |s| s.to_string_lossy().into_owned()),
            toml,
            file: Some(path.into()),
        })
    }
}

/// The model name of boosted trees ([`ringscope_trees`]).
pub const GBDT: &str = "gbdt";
/// The model name of a network stacked under boosted trees ([`crate::stack`]).
pub const STACK: &str = "stack";

/// What a model file describes.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum ModelFile {
    /// A graph network (`model = "sage"` and the other registered layers).
    Gnn {
        /// The architecture.
        model: GnnConfig,
        /// The optimisation.
        train: TrainConfig,
    },
    /// Boosted trees over each node's features and their neighbour aggregates
    /// (`model = "gbdt"`).
    Gbdt(TreesFile),
    /// A network's out-of-fold scores and embeddings as extra tree inputs (`model = "stack"`).
    Stack(StackFile),
}

/// A `model = "stack"` file: `network` names a shipped network preset or a model file,
/// `folds` and `embeddings` at the top level, the trees under `[trees]` and the neighbour
/// aggregates under `[aggregates]`.
///
/// ```toml
/// model = "stack"
/// network = "gcn"
/// folds = 3
/// embeddings = true
///
/// [trees]
/// max_depth = 4
/// ```
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct StackFile {
    /// Always `"stack"`.
    pub model: &'static str,
    /// The network as named in the file.
    pub network_name: String,
    /// Its architecture.
    pub network: GnnConfig,
    /// Its training.
    pub train: TrainConfig,
    /// Folds of the training nodes, one network each.
    pub folds: usize,
    /// Feed the networks' embeddings to the trees besides their scores.
    pub embeddings: bool,
    /// The trees.
    pub trees: ringscope_trees::GbdtConfig,
    /// Neighbour aggregates of the label-free features.
    pub aggregates: AggregateOptions,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct StackKeys {
    #[serde(default = "default_network")]
    network: String,
    #[serde(default = "default_folds")]
    folds: usize,
    #[serde(default = "default_true")]
    embeddings: bool,
    #[serde(default)]
    trees: ringscope_trees::GbdtConfig,
    #[serde(default)]
    aggregates: AggregateOptions,
}

fn default_network() -> String {
    "gcn".into()
}

fn default_folds() -> usize {
    3
}

fn default_true() -> bool {
    true
}

/// A `model = "gbdt"` file: the booster's keys at the top level, the neighbour aggregates under
/// `[aggregates]`.
///
/// ```toml
/// model = "gbdt"
/// max_depth = 6
/// learning_rate = 0.05
///
/// [aggregates]
/// hops = 2
/// per_relation = true
/// ```
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct TreesFile {
    /// Always `"gbdt"`.
    pub model: &'static str,
    /// The booster.
    pub trees: ringscope_trees::GbdtConfig,
    /// Which neighbour aggregates join the node's own features.
    pub aggregates: AggregateOptions,
}

/// Reads a model file of any kind; `d_input` and `relations` are the graph's, for networks.
pub fn read_model_file(
    text: &str,
    file: Option<&Path>,
    d_input: usize,
    relations: usize,
) -> Result<ModelFile> {
    let bad = |message: String| GnnError::Config {
        file: file.map(Path::to_path_buf),
        message,
    };
    let mut table: toml::Table =
        toml::from_str(text).map_err(|e| bad(format!("not valid TOML: {e}")))?;
    let kind = table.get("model").and_then(toml::Value::as_str);
    if kind == Some(STACK) {
        table.remove("model");
        let keys: StackKeys = toml::Value::Table(table)
            .try_into()
            .map_err(|e| bad(e.to_string()))?;
        if keys.folds < 2 {
            return Err(bad(format!("folds must be at least 2, got {}", keys.folds)));
        }
        keys.trees
            .validate()
            .map_err(|e| bad(format!("[trees] {e}")))?;
        keys.aggregates.validate().map_err(bad)?;
        let spec = ModelSpec::resolve(&keys.network)?;
        let (network, train) = from_toml(&spec.toml, spec.file.as_deref(), d_input, relations)
            .map_err(|e| bad(format!("network '{}': {e}", keys.network)))?;
        return Ok(ModelFile::Stack(StackFile {
            model: STACK,
            network_name: keys.network,
            network,
            train,
            folds: keys.folds,
            embeddings: keys.embeddings,
            trees: keys.trees,
            aggregates: keys.aggregates,
        }));
    }
    if kind != Some(GBDT) {
        let (model, train) = from_toml(text, file, d_input, relations)?;
        return Ok(ModelFile::Gnn { model, train });
    }
    table.remove("model");
    let aggregates: AggregateOptions = match table.remove("aggregates") {
        None => AggregateOptions::default(),
        Some(value) => value
            .try_into()
            .map_err(|e| bad(format!("[aggregates] {e}")))?,
    };
    aggregates.validate().map_err(bad)?;
    let trees: ringscope_trees::GbdtConfig = toml::Value::Table(table)
        .try_into()
        .map_err(|e| bad(e.to_string()))?;
    trees.validate().map_err(bad)?;
    Ok(ModelFile::Gbdt(TreesFile {
        model: GBDT,
        trees,
        aggregates,
    }))
}

/// The feature families a network's model file asks for under `[features]` (any of `given`,
/// `structural`, `behaviour`, `temporal`), over [`FeatureOptions::default`].
pub fn feature_options(text: &str, file: Option<&Path>) -> Result<FeatureOptions> {
    let bad = |message: String| GnnError::Config {
        file: file.map(Path::to_path_buf),
        message,
    };
    let table: toml::Table =
        toml::from_str(text).map_err(|e| bad(format!("not valid TOML: {e}")))?;
    match table.get("features") {
        None => Ok(FeatureOptions::default()),
        Some(toml::Value::Table(t)) => {
            let user = serde_json::to_value(t).map_err(|e| bad(e.to_string()))?;
            let user = user.as_object().expect("a TOML table is an object");
            overlay(&FeatureOptions::default(), user, "features.").map_err(bad)
        }
        Some(_) => Err(bad("'features' must be a table ([features])".into())),
    }
}

/// Keys the graph decides, not the user.
const DERIVED: [&str; 2] = ["d_input", "relations"];

/// Reads a model file. `d_input` and `relations` come from the graph it will be trained on.
pub fn from_toml(
    text: &str,
    file: Option<&Path>,
    d_input: usize,
    relations: usize,
) -> Result<(GnnConfig, TrainConfig)> {
    let bad = |message: String| GnnError::Config {
        file: file.map(Path::to_path_buf),
        message,
    };
    let table: toml::Table =
        toml::from_str(text).map_err(|e| bad(format!("not valid TOML: {e}")))?;
    let mut user = serde_json::to_value(table).map_err(|e| bad(e.to_string()))?;
    let user = user.as_object_mut().expect("a TOML document is a table");
    // Read by `feature_options`; not an architecture key.
    user.remove("features");
    let train_user = match user.remove("train") {
        None => Map::new(),
        Some(Value::Object(t)) => t,
        Some(_) => return Err(bad("'train' must be a table ([train])".into())),
    };
    let Some(model) = user.get("model").and_then(Value::as_str).map(str::to_owned) else {
        return Err(bad(
            "missing key 'model' (one of the registered layers, for example model = \"sage\")"
                .into(),
        ));
    };
    if model == GBDT || model == STACK {
        return Err(bad(format!(
            "model '{model}' (boosted trees) is evaluated by `ringscope eval`; a checkpoint holds a graph network"
        )));
    }
    if let Some(key) = DERIVED.iter().find(|k| user.contains_key(**k)) {
        return Err(bad(format!(
            "'{key}' is set from the graph and cannot be configured"
        )));
    }
    let defaults = GnnConfig::new(model, d_input).with_relations(relations);
    let gnn: GnnConfig = overlay(&defaults, user, "").map_err(bad)?;
    gnn.validate().map_err(bad)?;
    let train: TrainConfig = overlay(&TrainConfig::new(), &train_user, "train.").map_err(bad)?;
    if let Some(size) = train.batch_size.filter(|s| *s == 0) {
        return Err(bad(format!(
            "train.batch_size must be positive, got {size}"
        )));
    }
    if train.batch_size.is_some() && train.fanouts.len() != gnn.layers {
        return Err(bad(format!(
            "train.fanouts has {} entries for {} layers",
            train.fanouts.len(),
            gnn.layers
        )));
    }
    Ok((gnn, train))
}

/// `defaults` with the user's keys written over it.
fn overlay<T: serde::Serialize + serde::de::DeserializeOwned>(
    defaults: &T,
    user: &Map<String, Value>,
    prefix: &str,
) -> std::result::Result<T, String> {
    let mut merged = serde_json::to_value(defaults).expect("configs serialise");
    let fields = merged.as_object_mut().expect("configs are structs");
    for (key, value) in user {
        if !fields.contains_key(key) || DERIVED.contains(&key.as_str()) {
            let known: Vec<&str> = fields
                .keys()
                .map(String::as_str)
                .filter(|k| !DERIVED.contains(k))
                .collect();
            return Err(format!(
                "unknown key '{prefix}{key}'; known keys: {}",
                known.join(", ")
            ));
        }
        fields.insert(key.clone(), value.clone());
    }
    serde_json::from_value(merged).map_err(|e| match prefix {
        "" => e.to_string(),
        section => format!("[{}] {e}", section.trim_end_matches('.')),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::Loss;

    #[test]
    fn a_minimal_file_takes_every_default() {
        let (gnn, train) = from_toml("model = \"sage\"", None, 12, 3).unwrap();
        assert_eq!(gnn, GnnConfig::new("sage".into(), 12).with_relations(3));
        assert_eq!(train, TrainConfig::new());
    }

    #[test]
    fn keys_override_defaults() {
        let text = "model = \"gat\"\nhidden = 32\nheads = 8\nskip = true\n[train]\nepochs = 5\nloss = { kind = \"focal\", gamma = 2.0 }\nbatch_size = 256\nfanouts = [10, 5]\n";
        let (gnn, train) = from_toml(text, None, 4, 1).unwrap();
        assert_eq!((gnn.hidden, gnn.heads, gnn.skip), (32, 8, true));
        assert_eq!(
            (train.epochs, train.batch_size, train.fanouts),
            (5, Some(256), vec![10, 5])
        );
        assert_eq!(train.loss, Loss::Focal { gamma: 2.0 });
    }

    #[test]
    fn mistakes_are_named() {
        let err = |text: &str| {
            from_toml(text, Some(Path::new("m.toml")), 4, 1)
                .unwrap_err()
                .to_string()
        };
        assert!(err("hidden = 3").contains("missing key 'model'"));
        assert!(err("model = \"sage\"\nhiden = 3").contains("unknown key 'hiden'"));
        assert!(err("model = \"sage\"\n[train]\nepoch = 3").contains("unknown key 'train.epoch'"));
        assert!(err("model = \"sage\"\nhidden = \"big\"").contains("m.toml"));
        assert!(err("model = \"nope\"").contains("model 'nope' is not one of"));
        assert!(err("model = \"sage\"\nd_input = 3").contains("set from the graph"));
        assert!(
            err("model = \"sage\"\n[train]\nbatch_size = 8\nfanouts = [3]")
                .contains("1 entries for 2 layers")
        );
        assert!(err("model = [").contains("not valid TOML"));
        assert!(err("model = \"gbdt\"").contains("ringscope eval"));
    }

    #[test]
    fn features_are_chosen_by_family() {
        let text = "model = \"sage\"\n[features]\ntemporal = false\n";
        assert!(
            from_toml(text, None, 4, 1).is_ok(),
            "[features] is not an architecture key"
        );
        let options = feature_options(text, None).unwrap();
        assert_eq!(
            options,
            FeatureOptions {
                temporal: false,
                ..FeatureOptions::default()
            }
        );
        assert_eq!(
            feature_options("model = \"sage\"", None).unwrap(),
            FeatureOptions::default()
        );
        let err = feature_options("model = \"sage\"\n[features]\ntemporl = false\n", None);
        assert!(err.unwrap_err().to_string().contains("features.temporl"));
    }

    #[test]
    fn a_gbdt_file_reads_its_trees_and_aggregates() {
        let text = "model = \"gbdt\"\nmax_depth = 4\n[aggregates]\nhops = 1\nstd = false\n";
        let ModelFile::Gbdt(file) = read_model_file(text, None, 8, 2).unwrap() else {
            panic!("not trees")
        };
        assert_eq!(file.trees.max_depth, 4);
        assert_eq!(
            file.trees.learning_rate,
            ringscope_trees::GbdtConfig::default().learning_rate
        );
        assert_eq!(
            (
                file.aggregates.hops,
                file.aggregates.std,
                file.aggregates.max
            ),
            (1, false, true)
        );
        let err = |text: &str| {
            read_model_file(text, Some(Path::new("t.toml")), 8, 2)
                .unwrap_err()
                .to_string()
        };
        assert!(err("model = \"gbdt\"\nmax_dept = 4").contains("max_dept"));
        assert!(err("model = \"gbdt\"\n[aggregates]\nhops = 3").contains("hops"));
        assert!(err("model = \"gbdt\"\nsubsample = 2.0").contains("t.toml"));
        let text = "model = \"stack\"\nnetwork = \"sage\"\nfolds = 4\n[trees]\nmax_depth = 3\n";
        let ModelFile::Stack(stack) = read_model_file(text, None, 8, 2).unwrap() else {
            panic!("not a stack")
        };
        assert_eq!(
            (
                stack.network.model.as_str(),
                stack.folds,
                stack.trees.max_depth
            ),
            ("sage", 4, 3)
        );
        assert_eq!(stack.network.d_input, 8);
        assert!(err("model = \"stack\"\nfolds = 1").contains("folds"));
        assert!(err("model = \"stack\"\nnetwork = \"nope\"").contains("nope"));
        assert!(err("model = \"stack\"\nnetwork = \"gbdt\"").contains("network 'gbdt'"));
        let gnn = read_model_file("model = \"sage\"", None, 8, 2).unwrap();
        assert!(matches!(gnn, ModelFile::Gnn { model, .. } if model.model == "sage"));
    }
}
