//! Gradient-boosted trees over a [`FeatureMatrix`]: `model = "gbdt"` in a model file.
//!
//! Built on `forust-ml`, a pure-Rust histogram booster (XGBoost's second-order objective,
//! depth-wise growth, row and column sampling). The wrapper adds what fraud labels need:
//! - class balance: each class carries half the total sample weight, so a 2% fraud rate does
//!   not leave every leaf predicting "benign";
//! - early stopping on the validation nodes' AUROC, keeping the best iteration;
//! - determinism: the booster draws only from its seeded generator, so a seed gives the same
//!   trees on any thread count.
#![warn(missing_docs)]

use forust_ml::gradientbooster::{GrowPolicy, MissingNodeTreatment};
use forust_ml::metric::Metric;
use forust_ml::objective::ObjectiveType;
use forust_ml::sampler::SampleMethod;
use forust_ml::{GradientBooster, Matrix};
use ringscope_features::FeatureMatrix;
use std::collections::HashSet;

/// What can go wrong.
#[derive(Debug, thiserror::Error)]
pub enum TreesError {
    /// The training or validation nodes miss a class.
    #[error("{0}")]
    Labels(String),
    /// A setting out of range.
    #[error("gbdt: {0}")]
    Config(String),
    /// The booster refused.
    #[error("gbdt: {0}")]
    Booster(#[from] forust_ml::errors::ForustError),
    /// A saved model that does not read back.
    #[error("gbdt model: {0}")]
    Format(String),
}

/// Settings of [`Gbdt::fit`]; the keys of a `model = "gbdt"` file.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GbdtConfig {
    /// Most trees.
    pub iterations: usize,
    /// Shrinkage of each tree's leaf values.
    pub learning_rate: f32,
    /// Deepest split of a tree.
    pub max_depth: usize,
    /// Smallest hessian sum of a leaf.
    pub min_leaf_weight: f32,
    /// L2 penalty on leaf values.
    pub l2: f32,
    /// Share of rows each tree sees (1 for all).
    pub subsample: f32,
    /// Share of columns each tree sees.
    pub colsample_bytree: f64,
    /// Histogram bins per feature.
    pub nbins: u16,
    /// Stop after this many trees without a better validation AUROC.
    pub early_stopping_rounds: usize,
    /// Weigh the classes equally.
    pub balanced: bool,
    /// Seed of row and column sampling.
    pub seed: u64,
    /// Boosters averaged (in log-odds), seeded `seed`, `seed + 1`, ...: a bag smooths the
    /// variance row and column sampling adds, at that many times the cost.
    pub bag: usize,
}

impl Default for GbdtConfig {
    /// GADBench's XGBGraph recipe (shrinkage 0.05, 0.8 row and column sampling, early
    /// stopping after 40 trees, no class weights) with more trees allowed, since early stopping
    /// picks, and depth 4 instead of 6, which did as well or better on tolokers, Reddit and
    /// FDCompCN (docs/results.md) in half the time.
    fn default() -> Self {
        GbdtConfig {
            iterations: 1000,
            learning_rate: 0.05,
            max_depth: 4,
            min_leaf_weight: 1.0,
            l2: 1.0,
            subsample: 0.8,
            colsample_bytree: 0.8,
            nbins: 256,
            early_stopping_rounds: 40,
            balanced: false,
            seed: 42,
            bag: 1,
        }
    }
}

impl GbdtConfig {
    /// Checks the settings once, when a model file is read.
    pub fn validate(&self) -> Result<(), String> {
        let in_unit = |v: f64| v > 0.0 && v <= 1.0;
        if self.iterations == 0
            || self.max_depth == 0
            || self.early_stopping_rounds == 0
            || self.bag == 0
        {
            return Err(
                "iterations, max_depth, early_stopping_rounds and bag must be positive".into(),
            );
        }
        // Written so NaN fails every check.
        let positive = self.learning_rate > 0.0;
        let not_negative = self.l2 >= 0.0 && self.min_leaf_weight >= 0.0;
        if !positive || !not_negative {
            return Err(
                "learning_rate must be positive, l2 and min_leaf_weight not negative".into(),
            );
        }
        if !in_unit(f64::from(self.subsample)) || !in_unit(self.colsample_bytree) {
            return Err("subsample and colsample_bytree must be within (0, 1]".into());
        }
        if self.nbins < 2 {
            return Err(format!("nbins must be at least 2, got {}", self.nbins));
        }
        Ok(())
    }

    fn booster(&self, seed: u64) -> Result<GradientBooster, TreesError> {
        let sample_method = match self.subsample < 1.0 {
            true => SampleMethod::Random,
            false => SampleMethod::None,
        };
        Ok(GradientBooster::new(
            ObjectiveType::LogLoss,
            self.iterations,
            self.learning_rate,
            self.max_depth,
            usize::MAX,
            0.0,
            self.l2,
            0.0,
            0.0,
            self.min_leaf_weight,
            0.5,
            self.nbins,
            true,
            true,
            None,
            self.subsample,
            0.2,
            0.1,
            self.colsample_bytree,
            seed,
            f64::NAN,
            false,
            sample_method,
            GrowPolicy::DepthWise,
            Some(Metric::AUC),
            Some(self.early_stopping_rounds),
            true,
            HashSet::new(),
            MissingNodeTreatment::AssignToParent,
            0,
            false,
        )?)
    }
}

/// A fitted booster and the columns it reads.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct Gbdt {
    /// The settings it was fitted with.
    pub config: GbdtConfig,
    /// Feature columns, in order; predicting checks them.
    pub features: Vec<String>,
    /// Trees kept (each booster's best validation iteration), over the bag.
    pub trees: usize,
    /// Trees grown before early stopping, over the bag.
    pub trees_grown: usize,
    boosters: Vec<GradientBooster>,
}

impl std::fmt::Debug for Gbdt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gbdt")
            .field("config", &self.config)
            .field("features", &self.features.len())
            .field("trees", &self.trees)
            .finish()
    }
}

/// Column-major `f64` copy of `rows` of `x`, as the booster reads it.
fn columns(x: &FeatureMatrix, rows: &[u32]) -> Vec<f64> {
    let d = x.cols();
    let mut out = vec![0f64; rows.len() * d];
    for (i, &r) in rows.iter().enumerate() {
        let row = &x.values[r as usize * d..(r as usize + 1) * d];
        for (c, &v) in row.iter().enumerate() {
            out[c * rows.len() + i] = f64::from(v);
        }
    }
    out
}

fn targets(labels: &[i8], rows: &[u32], part: &str) -> Result<Vec<f64>, TreesError> {
    let y: Vec<f64> = rows
        .iter()
        .map(|&r| f64::from(labels[r as usize]))
        .collect();
    let positives = y.iter().filter(|&&v| v == 1.0).count();
    if y.iter().any(|&v| v != 0.0 && v != 1.0) {
        return Err(TreesError::Labels(format!(
            "the {part} nodes must all be labelled 0 or 1"
        )));
    }
    if positives == 0 || positives == y.len() {
        return Err(TreesError::Labels(format!(
            "the {part} nodes hold one class only ({positives} fraud of {})",
            y.len()
        )));
    }
    Ok(y)
}

fn sigmoid(v: f64) -> f32 {
    (1.0 / (1.0 + (-v).exp())) as f32
}

impl Gbdt {
    /// Fits on the `train` rows of `x` with `labels` (1 fraud, 0 benign), stopping early on the
    /// `val` rows' AUROC.
    pub fn fit(
        config: &GbdtConfig,
        x: &FeatureMatrix,
        labels: &[i8],
        train: &[u32],
        val: &[u32],
    ) -> Result<Self, TreesError> {
        config.validate().map_err(TreesError::Config)?;
        assert_eq!(labels.len(), x.rows, "one label per row");
        let y = targets(labels, train, "training")?;
        let y_val = targets(labels, val, "validation")?;
        let weight = |y: &[f64]| -> Vec<f64> {
            let positives = y.iter().filter(|&&v| v == 1.0).count() as f64;
            let negatives = y.len() as f64 - positives;
            let n = y.len() as f64;
            y.iter()
                .map(|&v| match (config.balanced, v == 1.0) {
                    (false, _) => 1.0,
                    (true, true) => n / (2.0 * positives),
                    (true, false) => n / (2.0 * negatives),
                })
                .collect()
        };
        let (w, w_val) = (weight(&y), weight(&y_val));
        let data = columns(x, train);
        let val_data = columns(x, val);
        let train_matrix = Matrix::new(&data, train.len(), x.cols());
        let mut boosters = Vec::with_capacity(config.bag);
        for b in 0..config.bag as u64 {
            let mut booster = config.booster(config.seed.wrapping_add(b))?;
            booster.fit(
                &train_matrix,
                &y,
                &w,
                Some(vec![(
                    Matrix::new(&val_data, val.len(), x.cols()),
                    &y_val,
                    &w_val,
                )]),
            )?;
            boosters.push(booster);
        }
        let trees_grown = boosters.iter().map(|b| b.trees.len()).sum();
        let trees = boosters
            .iter()
            .map(|b| b.prediction_iteration.unwrap_or(b.trees.len()))
            .sum();
        Ok(Gbdt {
            config: config.clone(),
            features: x.names.clone(),
            trees,
            trees_grown,
            boosters,
        })
    }

    /// Fraud probability of every row of `x`, whose columns must be those fitted.
    pub fn predict(&self, x: &FeatureMatrix) -> Result<Vec<f32>, TreesError> {
        if x.names != self.features {
            return Err(TreesError::Format(format!(
                "fitted on {} feature columns, given {} that differ",
                self.features.len(),
                x.cols()
            )));
        }
        let all: Vec<u32> = (0..x.rows as u32).collect();
        let data = columns(x, &all);
        let matrix = Matrix::new(&data, x.rows, x.cols());
        let mut log_odds = vec![0f64; x.rows];
        for booster in &self.boosters {
            for (sum, v) in log_odds.iter_mut().zip(booster.predict(&matrix, true)) {
                *sum += v / self.boosters.len() as f64;
            }
        }
        Ok(log_odds.into_iter().map(sigmoid).collect())
    }

    /// Total gain of the splits on each feature, largest first (names with shares of the total).
    pub fn importance(&self) -> Vec<(String, f32)> {
        let mut gains = vec![0f32; self.features.len()];
        for booster in &self.boosters {
            let method = forust_ml::gradientbooster::ImportanceMethod::TotalGain;
            for (c, g) in booster.calculate_feature_importance(method, true) {
                gains[c] += g / self.boosters.len() as f32;
            }
        }
        let mut out: Vec<(String, f32)> = self
            .features
            .iter()
            .cloned()
            .zip(gains)
            .filter(|(_, g)| *g > 0.0)
            .collect();
        out.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        out
    }

    /// The model as JSON.
    pub fn to_json(&self) -> Result<String, TreesError> {
        serde_json::to_string(self).map_err(|e| TreesError::Format(e.to_string()))
    }

    /// A model written by [`Gbdt::to_json`].
    pub fn from_json(text: &str) -> Result<Self, TreesError> {
        serde_json::from_str(text).map_err(|e| TreesError::Format(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows whose label is whether `a + noise > b`; a third column is noise. Rows 0..n/2
    /// train, the rest validate.
    fn data(n: usize) -> (FeatureMatrix, Vec<i8>) {
        let mut state = 7u64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32) / (1u64 << 31) as f32
        };
        let mut values = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..n {
            let (a, b, noise) = (next(), next(), next());
            values.extend([a, b, noise]);
            // A rare class: about one row in ten.
            labels.push(i8::from(a - b + 0.3 * (noise - 0.5) > 0.55));
        }
        let x = FeatureMatrix {
            names: vec!["a".into(), "b".into(), "noise".into()],
            rows: n,
            values,
        };
        (x, labels)
    }

    fn auroc(scores: &[f32], labels: &[i8]) -> f64 {
        let (mut pairs, mut wins) = (0f64, 0f64);
        for (s, l) in scores.iter().zip(labels) {
            if *l != 1 {
                continue;
            }
            for (t, m) in scores.iter().zip(labels) {
                if *m == 0 {
                    pairs += 1.0;
                    wins += if s > t {
                        1.0
                    } else if s == t {
                        0.5
                    } else {
                        0.0
                    };
                }
            }
        }
        wins / pairs
    }

    #[test]
    fn learns_a_rare_class_and_ranks_held_out_rows() {
        let (x, labels) = data(3000);
        let train: Vec<u32> = (0..1000).collect();
        let val: Vec<u32> = (1000..1500).collect();
        let model = Gbdt::fit(&GbdtConfig::default(), &x, &labels, &train, &val).unwrap();
        let scores = model.predict(&x).unwrap();
        let auc = auroc(&scores[1500..], &labels[1500..]);
        assert!(auc > 0.95, "held-out AUROC {auc}");
        assert!(model.trees <= model.trees_grown && model.trees > 0);
        let importance = model.importance();
        let mut top: Vec<&str> = importance.iter().take(2).map(|(n, _)| n.as_str()).collect();
        top.sort();
        assert_eq!(top, ["a", "b"], "{importance:?}");
    }

    #[test]
    fn a_seed_gives_the_same_model_and_json_reads_back() {
        let (x, labels) = data(1200);
        let (train, val): (Vec<u32>, Vec<u32>) = ((0..600).collect(), (600..900).collect());
        let fit = |config: GbdtConfig| Gbdt::fit(&config, &x, &labels, &train, &val).unwrap();
        let config = GbdtConfig::default;
        let (a, b) = (fit(config()), fit(config()));
        assert_eq!(a.predict(&x).unwrap(), b.predict(&x).unwrap());
        let back = Gbdt::from_json(&a.to_json().unwrap()).unwrap();
        assert_eq!(back.predict(&x).unwrap(), a.predict(&x).unwrap());
        let other = fit(GbdtConfig {
            seed: 9,
            ..config()
        });
        assert_ne!(other.predict(&x).unwrap(), a.predict(&x).unwrap());
        // A bag of two averages the log-odds of seeds 42 and 43.
        let bag = fit(GbdtConfig { bag: 2, ..config() });
        let second = fit(GbdtConfig {
            seed: 43,
            ..config()
        });
        let logit = |p: f32| f64::from(p / (1.0 - p)).ln();
        let (pa, pb, pbag) = (
            a.predict(&x).unwrap(),
            second.predict(&x).unwrap(),
            bag.predict(&x).unwrap(),
        );
        for i in [0, 7, 100] {
            let expected = (logit(pa[i]) + logit(pb[i])) / 2.0;
            assert!((logit(pbag[i]) - expected).abs() < 1e-3, "row {i}");
        }
        assert_eq!(bag.trees, a.trees + second.trees);
    }

    #[test]
    fn bad_input_is_named() {
        let (x, mut labels) = data(200);
        let train: Vec<u32> = (0..100).collect();
        let val: Vec<u32> = (100..200).collect();
        labels[..100].fill(0);
        let err = Gbdt::fit(&GbdtConfig::default(), &x, &labels, &train, &val).unwrap_err();
        assert!(
            err.to_string()
                .contains("training nodes hold one class only"),
            "{err}"
        );
        let bad = GbdtConfig {
            subsample: 0.0,
            ..GbdtConfig::default()
        };
        assert!(bad.validate().unwrap_err().contains("subsample"));
        let (x, labels) = data(400);
        let model = Gbdt::fit(
            &GbdtConfig::default(),
            &x,
            &labels,
            &(0..200).collect::<Vec<_>>(),
            &(200..400).collect::<Vec<_>>(),
        )
        .unwrap();
        let mut renamed = x.clone();
        renamed.names[2] = "other".into();
        assert!(
            model
                .predict(&renamed)
                .unwrap_err()
                .to_string()
                .contains("differ")
        );
        assert!(Gbdt::from_json("{").is_err());
    }
}
