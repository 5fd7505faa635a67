//! Training, full-batch or on sampled mini-batches, with class-imbalance-aware losses and early
//! stopping on validation AUPRC; full-graph inference.

use crate::loader::{NeighborSampler, seed_batches};
use crate::metrics;
use crate::split::Split;
use burn::optim::{
    AdamConfig, GradientsParams, ModuleOptimizer, OptimizerRecord, decay::WeightDecayConfig,
};
use burn::prelude::*;
use burn::tensor::TensorData;
use burn::tensor::activation::{log_softmax, softmax};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use ringscope_gnn::graph::{GraphEdges, GraphTensors, indices, matrix};
use ringscope_gnn::model::{Gnn, GnnConfig};

/// How the loss treats the rare fraud class.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Loss {
    /// Plain cross-entropy.
    CrossEntropy,
    /// Cross-entropy with each class weighted by `n / (2 · n_class)` on the training set.
    WeightedCrossEntropy,
    /// Focal loss (Lin et al. 2017): `-(1 - p)^gamma · log p`, class-weighted like above.
    Focal {
        /// Focusing parameter; 0 is weighted cross-entropy.
        gamma: f32,
    },
}

/// Optimisation settings; saved in every checkpoint.
#[derive(Config, Debug, PartialEq)]
pub struct TrainConfig {
    /// Maximum epochs.
    #[config(default = 200)]
    pub epochs: usize,
    /// Adam learning rate.
    #[config(default = 0.01)]
    pub lr: f64,
    /// Adam weight decay.
    #[config(default = 0.0)]
    pub weight_decay: f32,
    /// Stop after this many epochs without a better validation AUPRC.
    #[config(default = 50)]
    pub patience: usize,
    /// Loss.
    #[config(default = "Loss::WeightedCrossEntropy")]
    pub loss: Loss,
    /// Seed of weight initialisation, dropout, batch order and neighbour sampling.
    #[config(default = 42)]
    pub seed: u64,
    /// Seeds per mini-batch; none trains on the whole graph at once.
    #[config(default = "None")]
    pub batch_size: Option<usize>,
    /// Neighbours sampled per node, relation and hop in mini-batch training, one per layer.
    #[config(default = "vec![15, 10]")]
    pub fanouts: Vec<usize>,
    /// Draw mini-batch seeds so both classes are equally frequent (see [`seed_batches`]).
    #[config(default = false)]
    pub balanced: bool,
}

/// Scores of a node set; NaN where undefined (a set without both classes), which JSON stores
/// as `null`.
#[derive(Clone, Copy, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Metrics {
    /// Area under the ROC curve.
    #[serde(deserialize_with = "null_as_nan")]
    pub auroc: f64,
    /// Average precision.
    #[serde(deserialize_with = "null_as_nan")]
    pub auprc: f64,
    /// Macro-F1 at the threshold chosen on validation.
    #[serde(deserialize_with = "null_as_nan")]
    pub macro_f1: f64,
    /// Recall among the top-k scores, k = number of positives.
    #[serde(deserialize_with = "null_as_nan")]
    pub recall_at_k: f64,
}

fn null_as_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(<Option<f64> as serde::Deserialize>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// One epoch of the training curve.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Epoch {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss.
    pub loss: f64,
    /// Validation AUPRC after the epoch.
    pub val_auprc: f64,
    /// Seconds spent on the training step (forward, backward, optimiser), evaluation excluded.
    pub train_seconds: f64,
}

/// A trained model with its best-validation metrics.
#[derive(Debug)]
pub struct Trained {
    /// The model of the best validation epoch, in evaluation mode on the plain device.
    pub model: Gnn,
    /// That epoch.
    pub best_epoch: usize,
    /// Fraud-probability threshold maximising validation macro-F1.
    pub threshold: f32,
    /// Validation metrics at the best epoch.
    pub val: Metrics,
    /// Test metrics of the same model and threshold.
    pub test: Metrics,
    /// Fraud probability of every node under that model.
    pub scores: Vec<f32>,
    /// The training curve.
    pub history: Vec<Epoch>,
    /// Adam's state after the best epoch, so training can resume where that model left off.
    pub optimizer: OptimizerRecord,
}

/// Where a resumed training starts: a model (for example a loaded checkpoint's) and, when the
/// checkpoint has one, the optimiser state saved with it.
#[derive(Debug)]
pub struct Resume {
    /// The weights to continue from.
    pub model: Gnn,
    /// Adam's moments and step counts; `None` starts them afresh.
    pub optimizer: Option<OptimizerRecord>,
}

/// What a model is trained on.
#[derive(Clone, Copy, Debug)]
pub struct TrainData<'a> {
    /// The graph.
    pub edges: &'a GraphEdges,
    /// Row-major `[num_nodes, d_input]` features.
    pub x: &'a [f32],
    /// Per node: 1 fraud, 0 benign, -1 unlabelled (nodes in `split` must be 0 or 1).
    pub labels: &'a [i8],
    /// Which nodes train, validate and test.
    pub split: &'a Split,
}

impl TrainData<'_> {
    /// SHA-256 over edges, features, labels and split: two runs on the same data agree.
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        let words = |h: &mut Sha256, v: &[u32]| v.iter().for_each(|w| h.update(w.to_le_bytes()));
        h.update((self.edges.num_nodes as u64).to_le_bytes());
        for r in self.edges.relations.iter().chain(&self.edges.homogeneous) {
            h.update(r.name.as_bytes());
            h.update((r.src.len() as u64).to_le_bytes());
            words(&mut h, &r.src);
            words(&mut h, &r.dst);
        }
        self.x.iter().for_each(|v| h.update(v.to_le_bytes()));
        h.update(self.labels.iter().map(|&l| l as u8).collect::<Vec<u8>>());
        for part in [&self.split.train, &self.split.val, &self.split.test] {
            h.update((part.len() as u64).to_le_bytes());
            words(&mut h, part);
        }
        ringscope_gnn::digest::sha256_hex(&h.finalize())
    }
}

/// Fraud probability (class 1) of every node: layer-wise full-graph inference, each layer run
/// once over every node with no autodiff tape, so memory is one layer's activations and messages.
pub fn predict(model: &Gnn, x: Tensor<2>, graph: &GraphTensors) -> Vec<f32> {
    let probs = softmax(model.forward(x, graph), 1);
    let [n, _] = probs.dims();
    probs
        .slice([0..n, 1..2])
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 probabilities")
}

/// Every node's embedding under `model` ([`Gnn::embed`]), row-major `[num_nodes, hidden]`.
pub fn embed(model: &Gnn, x: Tensor<2>, graph: &GraphTensors) -> Vec<f32> {
    model
        .embed(x, graph)
        .into_data()
        .convert::<f32>()
        .try_to_vec::<f32>()
        .expect("f32 embeddings")
}

fn metrics_at(scores: &[f32], labels: &[bool], threshold: f32) -> Metrics {
    let positives = labels.iter().filter(|&&l| l).count();
    Metrics {
        auroc: metrics::auroc(scores, labels).unwrap_or(f64::NAN),
        auprc: metrics::auprc(scores, labels).unwrap_or(f64::NAN),
        macro_f1: metrics::macro_f1(scores, labels, threshold),
        recall_at_k: metrics::recall_at_k(scores, labels, positives).unwrap_or(f64::NAN),
    }
}

/// The fraud-probability threshold maximising validation macro-F1, and the validation and test
/// metrics of `scores` (one per node) at it.
pub fn split_metrics(scores: &[f32], labels: &[i8], split: &Split) -> (f32, Metrics, Metrics) {
    let part = |nodes: &[u32]| -> (Vec<f32>, Vec<bool>) {
        (
            pick(scores, nodes),
            nodes.iter().map(|&i| labels[i as usize] == 1).collect(),
        )
    };
    let (val_scores, val_labels) = part(&split.val);
    let (test_scores, test_labels) = part(&split.test);
    let (threshold, _) = metrics::best_f1_threshold(&val_scores, &val_labels);
    (
        threshold,
        metrics_at(&val_scores, &val_labels, threshold),
        metrics_at(&test_scores, &test_labels, threshold),
    )
}

fn pick<T: Copy>(values: &[T], nodes: &[u32]) -> Vec<T> {
    nodes.iter().map(|&i| values[i as usize]).collect()
}

/// Mean of the (class-weighted, optionally focal) negative log-likelihood of `targets`.
fn loss_of(logits: Tensor<2>, targets: &[i8], class_weight: [f32; 2], loss: Loss) -> Tensor<1> {
    let device = logits.device();
    let n = targets.len();
    let target_ints: Vec<i32> = targets.iter().map(|&t| i32::from(t)).collect();
    let one_hot = Tensor::<1, Int>::from_data(TensorData::new(target_ints, [n]), &device)
        .one_hot(2)
        .float();
    let weight_values: Vec<f32> = targets.iter().map(|&t| class_weight[t as usize]).collect();
    let weights = Tensor::<1>::from_data(TensorData::new(weight_values, [n]), &device);
    let log_p_true = (log_softmax(logits, 1) * one_hot)
        .sum_dim(1)
        .squeeze_dim::<1>(1);
    let per_node = match loss {
        Loss::Focal { gamma } => {
            -((-log_p_true.clone().exp() + 1.0).powf_scalar(gamma)) * log_p_true
        }
        _ => -log_p_true,
    };
    (per_node * weights.clone()).sum() / weights.sum()
}

/// Trains `config` on `data`: on the whole graph at once, or on sampled mini-batches when
/// `train.batch_size` is set. Evaluation is full-graph inference after every epoch, and the
/// epoch with the best validation AUPRC wins (training stops `train.patience` epochs after it).
///
/// `device` is the plain device; training runs on its autodiff twin. `resume` continues from a
/// model and optimiser state (for example a loaded checkpoint's) instead of fresh weights. With
/// a fixed seed a CPU run is reproducible, as long as nothing else in the process draws from
/// the same device's random generator meanwhile (burn keeps one per device). Initial weights
/// are drawn on the CPU on every backend, so without dropout a GPU run follows the CPU run up
/// to rounding.
pub fn train(
    config: &GnnConfig,
    train: &TrainConfig,
    data: TrainData<'_>,
    device: &Device,
    resume: Option<Resume>,
    mut on_epoch: impl FnMut(&Epoch),
) -> Trained {
    let ad = device.clone().autodiff();
    ad.seed(train.seed);
    device.seed(train.seed);
    let mut rng = ChaCha8Rng::seed_from_u64(train.seed);
    let n = data.edges.num_nodes;
    let d = config.d_input;
    assert_eq!(data.x.len(), n * d, "features must be num_nodes × d_input");
    let graph_eval = data.edges.to_device(device);
    let x_eval = matrix(data.x.to_vec(), n, d, device);
    let x_ad = matrix(data.x.to_vec(), n, d, &ad);

    let train_labels = pick(data.labels, &data.split.train);
    let positives = train_labels.iter().filter(|&&l| l == 1).count().max(1) as f32;
    let negatives = (train_labels.len() as f32 - positives).max(1.0);
    let class_weight = match train.loss {
        Loss::CrossEntropy => [1.0, 1.0],
        _ => {
            let total = train_labels.len() as f32;
            [total / (2.0 * negatives), total / (2.0 * positives)]
        }
    };
    let mode = match train.batch_size {
        None => Mode::Full {
            graph: data.edges.to_device(&ad),
            rows: data.edges.to_device_rows(&data.split.train, &ad),
        },
        Some(size) => Mode::Sampled {
            sampler: NeighborSampler::new(data.edges, train.fanouts.clone()),
            batch_size: size,
        },
    };
    let val_labels: Vec<bool> = pick(data.labels, &data.split.val)
        .into_iter()
        .map(|l| l == 1)
        .collect();

    let mut optimizer = AdamConfig::new()
        .with_weight_decay(
            (train.weight_decay > 0.0).then(|| WeightDecayConfig::new(train.weight_decay)),
        )
        .init();
    // The optimiser state is keyed by parameter id, which the checkpoint's weights keep.
    let mut model = match resume {
        Some(Resume {
            model,
            optimizer: state,
        }) => {
            if let Some(state) = state {
                optimizer = optimizer.load_record(state);
            }
            model.fork(&ad).train()
        }
        // Fresh weights are drawn on the CPU and moved to the device, so that a seed gives the
        // same initial model on every backend (each has its own random generator).
        None => {
            let cpu = Device::flex().autodiff();
            cpu.seed(train.seed);
            config.init(&cpu).fork(&ad)
        }
    };
    let step = |optimizer: &mut ModuleOptimizer, model: Gnn, logits: Tensor<2>, targets: &[i8]| {
        let loss = loss_of(logits, targets, class_weight, train.loss);
        let value = f64::from(loss.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        (optimizer.step(train.lr, model, grads), value)
    };
    let mut best: Option<(f64, usize, Gnn, Vec<f32>, OptimizerRecord)> = None;
    let mut history = Vec::new();
    for epoch in 1..=train.epochs {
        let started = std::time::Instant::now();
        let loss = match &mode {
            Mode::Full { graph, rows } => {
                let logits = model.forward_rows(x_ad.clone(), graph, rows);
                let (next, loss) = step(&mut optimizer, model, logits, &train_labels);
                model = next;
                loss
            }
            Mode::Sampled {
                sampler,
                batch_size,
            } => {
                let batches = seed_batches(
                    &data.split.train,
                    data.labels,
                    *batch_size,
                    train.balanced,
                    &mut rng,
                );
                let mut total = 0.0;
                for seeds in &batches {
                    let sub = sampler.sample(seeds, &mut rng);
                    let x = x_ad.clone().select(0, indices(&sub.nodes, &ad));
                    // The subgraph starts with its distinct seeds, and a repeated seed is one node.
                    let distinct: Vec<u32> =
                        (0..=sub.seeds.iter().copied().max().unwrap_or(0)).collect();
                    let logits = model
                        .forward_rows(
                            x,
                            &sub.edges.to_device(&ad),
                            &sub.edges.to_device_rows(&distinct, &ad),
                        )
                        .select(0, indices(&sub.seeds, &ad));
                    let (next, loss) =
                        step(&mut optimizer, model, logits, &pick(data.labels, seeds));
                    model = next;
                    total += loss;
                }
                total / batches.len().max(1) as f64
            }
        };
        let train_seconds = started.elapsed().as_secs_f64();
        let eval_model = model.valid();
        let scores = predict(&eval_model, x_eval.clone(), &graph_eval);
        let val_auprc = metrics::auprc(&pick(&scores, &data.split.val), &val_labels).unwrap_or(0.0);
        let record = Epoch {
            epoch,
            loss,
            val_auprc,
            train_seconds,
        };
        on_epoch(&record);
        history.push(record);
        if best.as_ref().is_none_or(|b| val_auprc > b.0) {
            best = Some((val_auprc, epoch, eval_model, scores, optimizer.to_record()));
        } else if epoch - best.as_ref().map_or(0, |b| b.1) >= train.patience {
            break;
        }
    }
    let (_, best_epoch, model, scores, optimizer) = best.expect("at least one epoch");
    let (threshold, val, test) = split_metrics(&scores, data.labels, data.split);
    Trained {
        val,
        test,
        model,
        best_epoch,
        threshold,
        scores,
        history,
        optimizer,
    }
}

// One value per training run, so the variants' size difference costs nothing.
#[allow(clippy::large_enum_variant)]
enum Mode {
    Full {
        graph: GraphTensors,
        /// The same graph for the training rows only: the loss reads no other rows.
        rows: GraphTensors,
    },
    Sampled {
        sampler: NeighborSampler,
        batch_size: usize,
    },
}
