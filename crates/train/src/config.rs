//! The TOML model file: `model = "sage"` and the architecture at the top level, optimisation
//! under `[train]`. Every key is optional except `model`; defaults are those of [`GnnConfig`]
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
use ringscope_gnn::error::{GnnError, Result};
use ringscope_gnn::model::GnnConfig;
use serde_json::{Map, Value};
use std::path::Path;

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
    }
}
